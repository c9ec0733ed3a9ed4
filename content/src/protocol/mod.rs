//! The MQTT contract between controller and players, written once for both sides.
//!
//! Topics are versioned (`signage/v1/...`) so a later `v2` can run beside `v1` during a rolling
//! upgrade. Payloads are JSON; every payload is size-checked *before* it is parsed, so a hostile
//! or broken client cannot make either side allocate without bound. Unknown JSON fields are
//! ignored (newer senders may add fields within `v1`); missing required fields are errors.
//!
//! The topics, who sends and reads each, QoS, retain flags, signatures and checks are one
//! table, [`contract::CONTRACT`]; the broker ACLs and `docs/protocol.md` are derived from it.
//!
//! Alerts are published once per target of the alert, retained, on [`AlertScope`] topics
//! (`all`, `ward/{ward}`, `group/{group}`, `player/{id}`), so a player that (re)connects gets
//! every active alert addressed to it at once. Their payload is an `alerts::signing::
//! SignedEnvelope` (this crate does not parse it): a broker may be shared or hold stolen player
//! credentials, so players trust only what the controller's Ed25519 key signed. A cleared
//! alert's topics keep a signed `clear` (a tombstone), so a player that was offline during the
//! cancel learns of it on reconnecting.
//!
//! The manifest itself ([`Manifest`]: the player's subset of the schedule set and the files it
//! needs over the next days) can exceed [`MAX_PAYLOAD_BYTES`] (500 entries with their layouts
//! and playlists already do), so MQTT carries only a small [`ManifestRef`]: revision, SHA-256
//! and URL. The player fetches the body over HTTP from the controller and checks its SHA-256
//! before using it. The MQTT payload limit therefore stays one number for every topic.
//!
//! Everything a player reports is retained: a controller that (re)subscribes later, after a
//! restart or before it got its own connection, still learns each player's latest state.
//!
//! `docs/protocol.md` describes the same contract for people who do not read Rust.

use std::fmt;
use std::str::FromStr;

pub use crate::ids::{PlayerId, PlayerIdError};

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

use crate::asset::Sha256;
use crate::ids::{AlertId, AssetId, EntryId, GroupId, LayoutId, PlaylistId, WardId, ZoneId};
use crate::schedule::{PlayerTarget, Target};
use crate::schedule_set::ScheduleSetParts;
use serde::{Deserialize, Serialize};

pub mod contract;
pub use contract::{CONTRACT, Client, Direction, MessageSpec, Refusal};

/// Every topic of this contract starts with this prefix.
pub const ROOT: &str = "signage/v1";

/// Largest payload either side accepts on any topic. Configurations and hellos are small; the
/// limit is generous for growth and small enough that a flood of them cannot exhaust memory.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

/// The MQTT username the controller itself uses on the embedded broker; no player may take it.
pub const CONTROLLER_USERNAME: &str = crate::ids::RESERVED_PLAYER_ID;

/// Most proof-of-play records in one [`PlayBatch`]; with ids, names and two timestamps each
/// record stays well under 400 bytes, so a full batch fits [`MAX_PAYLOAD_BYTES`].
pub const MAX_PLAYS_PER_BATCH: usize = 100;

/// Everything that can be wrong with a topic or a payload.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum WireError {
    #[error(transparent)]
    PlayerId(#[from] PlayerIdError),
    #[error("topic {0:?} is not part of the signage/v1 contract")]
    UnknownTopic(String),
    #[error("payload of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("malformed {kind} payload: {reason}")]
    Malformed { kind: &'static str, reason: String },
    #[error("{kind} refused: {reason}")]
    Signature { kind: &'static str, reason: String },
    #[error("{kind} payload names player {inner} but arrived on the topic of player {topic}")]
    IdMismatch {
        kind: &'static str,
        topic: String,
        inner: String,
    },
}

/// The kind of a per-player topic: the last topic level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayerTopic {
    Presence,
    Hello,
    Config,
    Ack,
    Manifest,
    Now,
    Plays,
    PlaysAck,
    Health,
    ScreenshotRequest,
    Counts,
    CountsAck,
    AlertAck,
    AlertReady,
}

impl PlayerTopic {
    pub const ALL: [PlayerTopic; 14] = [
        PlayerTopic::Presence,
        PlayerTopic::Hello,
        PlayerTopic::Config,
        PlayerTopic::Ack,
        PlayerTopic::Manifest,
        PlayerTopic::Now,
        PlayerTopic::Plays,
        PlayerTopic::PlaysAck,
        PlayerTopic::Health,
        PlayerTopic::ScreenshotRequest,
        PlayerTopic::Counts,
        PlayerTopic::CountsAck,
        PlayerTopic::AlertAck,
        PlayerTopic::AlertReady,
    ];
}

/// A parsed topic of the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topic {
    Player(PlayerId, PlayerTopic),
    ControllerPresence,
    /// One alert addressed to one scope.
    Alert(AlertScope, AlertId),
}

/// Whom an alert topic addresses; one retained message per target of the alert.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlertScope {
    All,
    Ward(WardId),
    Group(GroupId),
    Player(PlayerId),
}

impl AlertScope {
    pub fn from_target(target: &Target) -> AlertScope {
        match target {
            Target::All => AlertScope::All,
            Target::Ward(w) => AlertScope::Ward(w.clone()),
            Target::Group(g) => AlertScope::Group(g.clone()),
            Target::Player(p) => AlertScope::Player(p.clone()),
        }
    }

    /// The topic levels after `signage/v1/alerts/`.
    fn levels(&self) -> String {
        match self {
            AlertScope::All => "all".to_string(),
            AlertScope::Ward(w) => format!("ward/{w}"),
            AlertScope::Group(g) => format!("group/{g}"),
            AlertScope::Player(p) => format!("player/{p}"),
        }
    }

    /// The filter subscribing to every alert of this scope.
    pub fn filter(&self) -> String {
        format!("{ROOT}/alerts/{}/+", self.levels())
    }
}

/// The alert filters a player subscribes to: everyone's, its ward's, its groups' and its own.
pub fn alert_subscriptions(player: &PlayerTarget) -> Vec<String> {
    let mut scopes = vec![
        AlertScope::All,
        AlertScope::Ward(player.ward.clone()),
        AlertScope::Player(player.id.clone()),
    ];
    scopes.extend(player.groups.iter().cloned().map(AlertScope::Group));
    scopes.iter().map(AlertScope::filter).collect()
}

/// Whether `text` can be one topic level (alert ids, wards and groups are not checked as
/// strictly as player ids elsewhere, so the alert path checks them before publishing).
pub fn is_topic_level(text: &str) -> bool {
    !text.is_empty() && text.len() <= 128 && !text.contains(['/', '+', '#', '\0'])
}

impl Topic {
    pub fn player(id: &PlayerId, kind: PlayerTopic) -> Topic {
        Topic::Player(id.clone(), kind)
    }

    pub fn parse(topic: &str) -> Result<Topic, WireError> {
        let unknown = || WireError::UnknownTopic(topic.chars().take(200).collect());
        let rest = topic
            .strip_prefix(ROOT)
            .and_then(|r| r.strip_prefix('/'))
            .ok_or_else(unknown)?;
        let levels: Vec<&str> = rest.split('/').collect();
        match levels.as_slice() {
            ["controller", "presence"] => Ok(Topic::ControllerPresence),
            ["alerts", "all", id] => Ok(Topic::Alert(AlertScope::All, AlertId::from(*id))),
            ["alerts", "ward", ward, id] => Ok(Topic::Alert(
                AlertScope::Ward(WardId::from(*ward)),
                AlertId::from(*id),
            )),
            ["alerts", "group", group, id] => Ok(Topic::Alert(
                AlertScope::Group(GroupId::from(*group)),
                AlertId::from(*id),
            )),
            ["alerts", "player", player, id] => Ok(Topic::Alert(
                AlertScope::Player(player.parse()?),
                AlertId::from(*id),
            )),
            ["players", id, kind] => {
                let kind = PlayerTopic::ALL
                    .into_iter()
                    .find(|k| k.level() == *kind)
                    .ok_or_else(unknown)?;
                Ok(Topic::Player(id.parse()?, kind))
            }
            _ => Err(unknown()),
        }
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Topic::Player(id, kind) => write!(f, "{ROOT}/players/{id}/{}", kind.level()),
            Topic::ControllerPresence => write!(f, "{ROOT}/controller/presence"),
            Topic::Alert(scope, id) => write!(f, "{ROOT}/alerts/{}/{id}", scope.levels()),
        }
    }
}

/// Whether a participant is connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PresenceState {
    Online,
    Offline,
}

/// Retained presence. The offline form is also the Last Will, registered at connect time, so
/// the broker announces a crashed or unplugged participant by itself.
///
/// `session` is random per connection: a Last Will of an old session that arrives after the
/// new session announced itself is recognisably stale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Presence {
    pub state: PresenceState,
    pub session: String,
}

/// What a player can do; the controller only asks for what is announced here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    pub id: PlayerId,
    /// The player's software version (semver of the `player` crate).
    pub version: String,
    /// Feature names such as `"render"` or `"camera"`.
    #[serde(default)]
    pub capabilities: Vec<String>,
    pub screen: Screen,
    pub display: DisplayMode,
    pub started_at: DateTime<Utc>,
    /// The desired-configuration revision the player holds (from its cache), if any.
    #[serde(default)]
    pub config_revision: Option<u64>,
    /// The last offered build that did not take (refused, or rolled back), and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_build: Option<FailedBuild>,
}

/// An offered player build that the player refused or rolled back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedBuild {
    pub version: String,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// What the controller vouches for about a player build (signed in its own domain; see
/// `alerts::signing::sign_build`): a player runs a downloaded build only if its size and
/// SHA-256 match a statement signed with the key it was provisioned with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildStatement {
    /// A label staff give the build (e.g. `1.4.0`): 1-40 of `A-Z a-z 0-9 . _ + -`.
    pub version: String,
    pub sha256: Sha256,
    pub size_bytes: u64,
}

/// Whether `version` is a usable build label (it also names a directory on the player).
pub fn valid_build_version(version: &str) -> bool {
    (1..=40).contains(&version.len())
        && !version.starts_with('.')
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Screen {
    pub width: u32,
    pub height: u32,
}

/// Where the player draws: a window or display of its own, or offscreen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DisplayMode {
    Window,
    #[default]
    Headless,
}

impl FromStr for DisplayMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "window" => Ok(DisplayMode::Window),
            "headless" => Ok(DisplayMode::Headless),
            other => Err(format!(
                "unknown display mode {other:?}: use \"window\" or \"headless\""
            )),
        }
    }
}

/// The controller's desired configuration for one player (retained). The controller is the
/// source of truth: it republishes this whenever its broker connection is (re)established.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredConfig {
    pub id: PlayerId,
    /// Increases with every change; a player ignores revisions older than what it holds.
    pub revision: u64,
    #[serde(default)]
    pub ward: Option<String>,
    /// A screen may be in several groups (e.g. `lobby-1f` and `counters`).
    #[serde(default)]
    pub groups: Vec<String>,
    /// What staff call the screen (e.g. 北区役所 1F 総合案内).
    #[serde(default)]
    pub name: Option<String>,
    /// Restarts requested so far: a player restarts once when this grows past the value in
    /// the configuration it already held (a fresh player does not restart).
    #[serde(default)]
    pub restarts: u64,
    /// The player build it should run: a [`BuildStatement`] signed in the build domain,
    /// fetched from `/api/v1/player-builds/{version}/file` on the pinned controller. None
    /// keeps what runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<SignedEnvelope>,
    pub issued_at: DateTime<Utc>,
}

/// What an acknowledgement refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AckSubject {
    Config,
    /// The player fetched the manifest of this revision, holds every file it lists (verified)
    /// and follows it.
    Manifest,
}

/// Points a player at its current manifest (retained). Small on purpose: the manifest itself
/// travels over HTTP (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestRef {
    pub id: PlayerId,
    /// Increases whenever the manifest's content changes.
    pub revision: u64,
    /// SHA-256 of the manifest body exactly as served at `url`.
    pub sha256: Sha256,
    pub size_bytes: u64,
    /// Absolute `http://` URL of the manifest body.
    pub url: String,
    pub issued_at: DateTime<Utc>,
}

/// Everything a player may need over the next `horizon_days`: the part of the schedule set
/// that targets it (a valid [`ScheduleSetParts`] on its own, with the fallback layout), and
/// every file to download. Served over HTTP as JSON; its SHA-256 is in the [`ManifestRef`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub player: PlayerId,
    pub revision: u64,
    /// Who the player is for the selection (ward, groups).
    pub target: PlayerTarget,
    /// The controller computed it from this instant on.
    pub valid_from: DateTime<Utc>,
    pub horizon_days: u32,
    pub schedule: ScheduleSetParts,
    /// Sorted by asset id.
    pub files: Vec<ManifestFile>,
}

/// One file of a manifest. `url` is relative to the controller's base URL (the manifest URL's
/// origin), e.g. `/api/v1/content/{sha256}`, and supports HTTP range requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    pub asset: AssetId,
    pub sha256: Sha256,
    pub size_bytes: u64,
    pub url: String,
}

/// What a player shows right now (retained), as decided by its own run of
/// [`crate::selection::select`] on its cached manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NowShowing {
    /// The player's clock (including any test offset) when this was decided.
    pub at: DateTime<Utc>,
    /// The manifest revision followed, `None` before the first manifest arrived.
    pub manifest_revision: Option<u64>,
    /// `scheduled`, `fallback`, `alert` or `nothing` (no manifest yet).
    pub kind: String,
    #[serde(default)]
    pub entry: Option<EntryId>,
    #[serde(default)]
    pub layout: Option<LayoutId>,
    #[serde(default)]
    pub zones: Vec<ZoneShowing>,
    /// Why: which alert, entry and audience condition chose this (see
    /// `content::selection::Reason`), e.g. `entry crowd: occupancy 17 >= 15`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZoneShowing {
    pub zone: ZoneId,
    pub asset: AssetId,
    /// False while the file is missing or being repaired: the zone then shows nothing rather
    /// than a corrupt or partial file.
    pub ready: bool,
    pub since: DateTime<Utc>,
}

/// One finished play of one playlist item in one zone. `id` is chosen by the player when the
/// play is logged and never changes, so a batch sent twice is stored once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayRecord {
    pub id: String,
    pub layout: LayoutId,
    pub zone: ZoneId,
    pub playlist: PlaylistId,
    pub item: usize,
    pub asset: AssetId,
    #[serde(default)]
    pub entry: Option<EntryId>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Proof-of-play records, sent until acknowledged (at least once; stored exactly once).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlayBatch {
    pub batch: String,
    pub records: Vec<PlayRecord>,
}

/// The controller stored these records (new or already known); the player may delete them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlayBatchAck {
    pub batch: String,
    pub ids: Vec<String>,
}

/// A player's answer to a controller message: applied, or refused with the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ack {
    pub subject: AckSubject,
    pub revision: u64,
    pub ok: bool,
    #[serde(default)]
    pub error: Option<String>,
}

/// Widest screenshot a controller may ask for.
pub const MAX_SCREENSHOT_WIDTH: u32 = 7680;

/// The controller asks a player for a picture of the frame it composed (not retained: an old
/// request must not fire again after a reconnection). The PNG does not travel over MQTT (it can
/// exceed [`MAX_PAYLOAD_BYTES`]): the player sends it with HTTP `PUT` to
/// `/api/v1/players/{id}/screenshot/{request_id}` at the controller origin pinned in its
/// configuration by `player add`, logging in
/// with its MQTT credentials (HTTP basic auth); a player that cannot take it sends
/// `{"error": "..."}` as JSON to the same URL instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreenshotRequest {
    /// The player asked: a signed request for one screen cannot be replayed to another.
    pub id: PlayerId,
    /// Random, chosen by the controller; 1-64 characters of `a-z 0-9 - _`.
    pub request_id: String,
    /// The picture is scaled down to at most this width (aspect kept).
    pub max_width: u32,
}

impl ScreenshotRequest {
    /// Safe as a URL path segment and a sensible size.
    pub fn is_well_formed(&self) -> bool {
        (1..=64).contains(&self.request_id.len())
            && self
                .request_id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            && (1..=MAX_SCREENSHOT_WIDTH).contains(&self.max_width)
    }
}

/// A player's health (retained): host figures and the renderer's counters. Published
/// periodically and at once when the renderer's watchdog reports a fault or a recovery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlayerHealth {
    /// The player's wall clock when this was measured.
    pub at: DateTime<Utc>,
    /// Whole machine, percent of all cores, since the previous report.
    #[serde(default)]
    pub cpu_percent: Option<f32>,
    /// The player process, percent of one core, since the previous report.
    #[serde(default)]
    pub process_cpu_percent: Option<f32>,
    #[serde(default)]
    pub memory_total_bytes: Option<u64>,
    #[serde(default)]
    pub memory_available_bytes: Option<u64>,
    #[serde(default)]
    pub process_rss_bytes: Option<u64>,
    /// Hottest thermal zone, where the board exposes one.
    #[serde(default)]
    pub temperature_celsius: Option<f32>,
    /// Free space on the cache directory's file system.
    #[serde(default)]
    pub disk_free_bytes: Option<u64>,
    #[serde(default)]
    pub disk_total_bytes: Option<u64>,
    /// `stopped`, `starting`, `paused` or `playing`.
    pub pipeline_state: String,
    pub frames_rendered: u64,
    pub frames_dropped: u64,
    /// Pipeline rebuilds by the watchdog since the player started.
    pub rebuilds: u64,
    /// Seconds since the renderer started.
    pub uptime_s: u64,
    /// The latest renderer events (fault, recovered, item_failed), oldest first, at most
    /// [`MAX_HEALTH_EVENTS`].
    #[serde(default)]
    pub events: Vec<HealthEvent>,
}

/// Most events one [`PlayerHealth`] carries.
pub const MAX_HEALTH_EVENTS: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthEvent {
    pub at: DateTime<Utc>,
    /// `fault`, `recovered` or `item_failed`.
    pub kind: String,
    /// The zone, for `item_failed`.
    #[serde(default)]
    pub zone: Option<String>,
    pub message: String,
}

/// Most counts records in one [`CountsBatch`] (and sequence numbers in one [`CountsAck`]).
pub const MAX_COUNTS_PER_BATCH: usize = 10;
/// Most lines plus zones one [`CountsRecord`] may name.
pub const MAX_COUNTERS: usize = 8;
/// Longest line or zone name, in bytes.
pub const MAX_COUNTER_NAME_BYTES: usize = 32;
/// Most dwell-time histogram buckets (bounds) per zone.
pub const MAX_DWELL_BUCKETS: usize = 10;

/// People counted by a player's camera over one period (`start`..`end`, the player's clock).
/// Only numbers: no picture, no box, no track ever leaves the player. `seq` increases by one
/// per record (gaps are possible after a crash, never repeats), so a record sent twice is
/// stored once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountsRecord {
    pub seq: u64,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Camera frames analysed in the period; 0 when the camera gave none.
    pub frames: u64,
    /// Crossings per line in this period.
    #[serde(default)]
    pub lines: std::collections::BTreeMap<String, LineTally>,
    #[serde(default)]
    pub zones: std::collections::BTreeMap<String, ZoneTally>,
}

/// Crossings of one directed line (see `analytics::line_counter` for the direction).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineTally {
    #[serde(rename = "in")]
    pub inbound: u64,
    #[serde(rename = "out")]
    pub outbound: u64,
}

/// One zone over one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZoneTally {
    /// People inside at the end of the period; `None` when the camera was not counting then.
    #[serde(default)]
    pub occupancy: Option<u32>,
    /// Highest and mean occupancy over the period's frames (0 without frames).
    pub max: u32,
    pub mean: f64,
    /// Entries and exits in the period.
    pub entries: u64,
    pub exits: u64,
    /// Visits that ended in the period.
    pub dwell: DwellSummary,
}

/// Dwell times of the visits that ended in a period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DwellSummary {
    pub visits: u64,
    pub mean_s: f64,
    pub max_s: f64,
    /// Upper bounds (seconds, inclusive) of the histogram buckets.
    pub bounds_s: Vec<f64>,
    /// Visits per bucket: one more than `bounds_s`, the last for longer visits.
    pub counts: Vec<u64>,
}

/// Counts records, oldest first, sent until acknowledged (at least once; stored exactly once).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountsBatch {
    pub records: Vec<CountsRecord>,
}

impl CountsBatch {
    /// The limits a receiver enforces beyond the payload size.
    pub fn check(&self) -> Result<(), String> {
        if self.records.len() > MAX_COUNTS_PER_BATCH {
            return Err(format!(
                "{} records in one batch; at most {MAX_COUNTS_PER_BATCH}",
                self.records.len()
            ));
        }
        for r in &self.records {
            if r.lines.len() + r.zones.len() > MAX_COUNTERS {
                return Err(format!(
                    "record {} names {} lines and zones; at most {MAX_COUNTERS}",
                    r.seq,
                    r.lines.len() + r.zones.len()
                ));
            }
            if let Some(name) = r
                .lines
                .keys()
                .chain(r.zones.keys())
                .find(|n| n.is_empty() || n.len() > MAX_COUNTER_NAME_BYTES)
            {
                return Err(format!(
                    "record {}: the name {:?} is empty or longer than {MAX_COUNTER_NAME_BYTES} bytes",
                    r.seq,
                    name.chars().take(40).collect::<String>()
                ));
            }
            if r.end < r.start {
                return Err(format!("record {} ends before it starts", r.seq));
            }
            if i64::try_from(r.seq).is_err() {
                return Err(format!("sequence number {} is too large", r.seq));
            }
            for (name, z) in &r.zones {
                let d = &z.dwell;
                if d.bounds_s.len() > MAX_DWELL_BUCKETS || d.counts.len() != d.bounds_s.len() + 1 {
                    return Err(format!(
                        "record {}, zone {name}: a dwell histogram needs at most \
                         {MAX_DWELL_BUCKETS} bounds and one count more than bounds",
                        r.seq
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The controller stored these records (new or already known); the player may delete them.
///
/// `conflicts` names records of the batch whose sequence number the controller already holds
/// for another period of this player (a replaced device, or a wiped cache, counting again from
/// an old number). They were not stored: the player numbers them again from `next_seq` (above
/// every number the controller holds for it) and sends them again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountsAck {
    pub seqs: Vec<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_seq: Option<u64>,
}

/// What a player did with an alert revision. `showing` carries the instant its output displayed
/// the first frame of the alert (the renderer's clock; the decision instant when the player
/// does not draw); `failed` says why (e.g. a bad signature never gets this far: that is a
/// health event, since the player cannot trust the alert id in a forged message).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertAck {
    pub alert: AlertId,
    pub revision: u32,
    pub state: AlertAckState,
    /// When the first alert frame was displayed (`showing` only).
    #[serde(default)]
    pub displayed_at: Option<DateTime<Utc>>,
    /// When the player sent this.
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertAckState {
    Showing,
    Failed,
    /// The player stopped showing it (cleared or expired).
    Cleared,
}

/// Sent by a player on its `alert_ack` topic once per connection, after subscribing to its
/// alert topics, not retained (it never replaces the retained last [`AlertAck`]). It tells the
/// controller whether the player can verify alerts at all; and it is the first message on that
/// topic, so a broker that matches a topic against every subscription the first time it sees
/// it (rumqttd, the embedded broker, does) pays that when the player connects rather than in
/// the middle of an alert reaching a thousand screens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertReady {
    /// Whether the player holds the controller's alert public key (without it every alert is
    /// refused).
    pub can_verify: bool,
    /// How many alerts the player holds (shown or about to be) as it connects.
    pub held: u32,
    pub at: DateTime<Utc>,
}

/// A payload and the controller's Ed25519 signature over its exact bytes, as published on
/// every signed topic (alerts, and what changes what a screen does). `alerts::signing` makes
/// and checks the signatures; this crate only carries them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedEnvelope {
    /// The exact JSON text that was signed.
    pub payload: String,
    /// Ed25519 signature, 64 bytes as lowercase hex; empty means unsigned.
    #[serde(default)]
    pub signature: String,
}

/// A payload that travels signed, checked against the topic it arrived on once opened.
pub trait SignedPayload: DeserializeOwned {
    const KIND: &'static str;
    fn check(&self, topic_player: &PlayerId) -> Result<(), WireError>;
}

fn check_id(kind: &'static str, topic: &PlayerId, inner: &PlayerId) -> Result<(), WireError> {
    if topic == inner {
        Ok(())
    } else {
        Err(WireError::IdMismatch {
            kind,
            topic: topic.to_string(),
            inner: inner.to_string(),
        })
    }
}

impl SignedPayload for DesiredConfig {
    const KIND: &'static str = "config";
    fn check(&self, topic_player: &PlayerId) -> Result<(), WireError> {
        check_id(Self::KIND, topic_player, &self.id)
    }
}

impl SignedPayload for ManifestRef {
    const KIND: &'static str = "manifest";
    fn check(&self, topic_player: &PlayerId) -> Result<(), WireError> {
        check_id(Self::KIND, topic_player, &self.id)
    }
}

impl SignedPayload for ScreenshotRequest {
    const KIND: &'static str = "screenshot_request";
    fn check(&self, topic_player: &PlayerId) -> Result<(), WireError> {
        check_id(Self::KIND, topic_player, &self.id)?;
        if self.is_well_formed() {
            Ok(())
        } else {
            Err(WireError::Malformed {
                kind: Self::KIND,
                reason: format!(
                    "request_id must be 1-64 characters of a-z 0-9 - _ and max_width \
                     1-{MAX_SCREENSHOT_WIDTH}"
                ),
            })
        }
    }
}

/// A signed message as it arrives: nothing inside is read before [`Signed::open`] has had
/// the signature checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Signed<T> {
    envelope: SignedEnvelope,
    topic_player: PlayerId,
    kind: std::marker::PhantomData<T>,
}

impl<T: SignedPayload> Signed<T> {
    pub fn envelope(&self) -> &SignedEnvelope {
        &self.envelope
    }

    /// Checks the signature with `verify` (which returns the signed text), then parses and
    /// validates the payload against the topic it came on.
    pub fn open<E: fmt::Display>(
        &self,
        verify: impl for<'a> FnOnce(&'a SignedEnvelope) -> Result<&'a str, E>,
    ) -> Result<T, WireError> {
        let text = verify(&self.envelope).map_err(|e| WireError::Signature {
            kind: T::KIND,
            reason: e.to_string(),
        })?;
        let value: T = decode(T::KIND, text.as_bytes())?;
        value.check(&self.topic_player)?;
        Ok(value)
    }
}

/// Serialises a signed envelope for publishing.
pub fn encode_signed(envelope: &SignedEnvelope) -> Vec<u8> {
    encode(envelope)
}

/// A message a player sent, as the controller receives it.
#[derive(Debug, Clone, PartialEq)]
pub enum FromPlayer {
    Presence(Presence),
    Hello(Hello),
    Ack(Ack),
    Now(NowShowing),
    Plays(PlayBatch),
    Health(Box<PlayerHealth>),
    Counts(CountsBatch),
    AlertAck(AlertAck),
    AlertReady(AlertReady),
    /// An empty retained message the sender may use to clear its own topic (see
    /// [`MessageSpec::sender_clears`]); there is nothing in it to act on.
    Cleared(PlayerTopic),
}

/// A message the controller sent, as a player receives it.
#[derive(Debug, Clone, PartialEq)]
pub enum ToPlayer {
    Config(Signed<DesiredConfig>),
    Manifest(Signed<ManifestRef>),
    PlaysAck(PlayBatchAck),
    /// The player's own presence, echoed back: lets it notice a stale Last Will.
    Presence(Presence),
    ScreenshotRequest(Signed<ScreenshotRequest>),
    CountsAck(CountsAck),
}

/// Serialises a payload. Payloads are plain data, so this cannot fail.
pub fn encode<T: Serialize>(payload: &T) -> Vec<u8> {
    serde_json::to_vec(payload).expect("protocol payloads always serialise")
}

fn decode<T: DeserializeOwned>(kind: &'static str, payload: &[u8]) -> Result<T, WireError> {
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(WireError::TooLarge {
            size: payload.len(),
            limit: MAX_PAYLOAD_BYTES,
        });
    }
    serde_json::from_slice(payload).map_err(|e| WireError::Malformed {
        kind,
        reason: e.to_string(),
    })
}

/// The topic's player and kind, if the topic is one of `direction`'s per-player topics.
fn player_topic(topic: &str, direction: Direction) -> Result<(PlayerId, PlayerTopic), WireError> {
    match Topic::parse(topic)? {
        Topic::Player(id, kind) if kind.spec().direction == direction => Ok((id, kind)),
        _ => Err(WireError::UnknownTopic(topic.chars().take(200).collect())),
    }
}

/// Decodes what arrives on a topic the controller subscribes to.
pub fn decode_from_player(
    topic: &str,
    payload: &[u8],
) -> Result<(PlayerId, FromPlayer), WireError> {
    let (id, kind) = player_topic(topic, Direction::PlayerToController)?;
    if payload.is_empty() && kind.spec().sender_clears {
        return Ok((id, FromPlayer::Cleared(kind)));
    }
    let message = match kind {
        PlayerTopic::Presence => FromPlayer::Presence(decode("presence", payload)?),
        PlayerTopic::Hello => {
            let hello: Hello = decode("hello", payload)?;
            check_id("hello", &id, &hello.id)?;
            FromPlayer::Hello(hello)
        }
        PlayerTopic::Ack => FromPlayer::Ack(decode("ack", payload)?),
        PlayerTopic::Now => FromPlayer::Now(decode("now", payload)?),
        PlayerTopic::Plays => {
            let batch: PlayBatch = decode("plays", payload)?;
            if batch.records.len() > MAX_PLAYS_PER_BATCH {
                return Err(WireError::Malformed {
                    kind: "plays",
                    reason: format!(
                        "{} records in one batch; at most {MAX_PLAYS_PER_BATCH}",
                        batch.records.len()
                    ),
                });
            }
            FromPlayer::Plays(batch)
        }
        PlayerTopic::Health => FromPlayer::Health(Box::new(decode("health", payload)?)),
        PlayerTopic::Counts => {
            let batch: CountsBatch = decode("counts", payload)?;
            batch.check().map_err(|reason| WireError::Malformed {
                kind: "counts",
                reason,
            })?;
            FromPlayer::Counts(batch)
        }
        PlayerTopic::AlertAck => {
            let ack: AlertAck = decode("alert_ack", payload)?;
            if !is_topic_level(&ack.alert.0) {
                return Err(WireError::Malformed {
                    kind: "alert_ack",
                    reason: "the alert id is not a valid id".to_string(),
                });
            }
            FromPlayer::AlertAck(ack)
        }
        PlayerTopic::AlertReady => FromPlayer::AlertReady(decode("alert_ready", payload)?),
        PlayerTopic::Config
        | PlayerTopic::Manifest
        | PlayerTopic::PlaysAck
        | PlayerTopic::ScreenshotRequest
        | PlayerTopic::CountsAck => unreachable!("player_topic checked the direction"),
    };
    Ok((id, message))
}

fn signed<T: SignedPayload>(id: &PlayerId, payload: &[u8]) -> Result<Signed<T>, WireError> {
    Ok(Signed {
        envelope: decode(T::KIND, payload)?,
        topic_player: id.clone(),
        kind: std::marker::PhantomData,
    })
}

/// Decodes what arrives on a topic a player subscribes to. Signed messages come back still
/// sealed: [`Signed::open`] checks them.
pub fn decode_to_player(topic: &str, payload: &[u8]) -> Result<(PlayerId, ToPlayer), WireError> {
    let (id, kind) = match Topic::parse(topic)? {
        Topic::Player(id, PlayerTopic::Presence) => (id, PlayerTopic::Presence),
        _ => player_topic(topic, Direction::ControllerToPlayer)?,
    };
    let message = match kind {
        PlayerTopic::Config => ToPlayer::Config(signed(&id, payload)?),
        PlayerTopic::Manifest => ToPlayer::Manifest(signed(&id, payload)?),
        PlayerTopic::ScreenshotRequest => ToPlayer::ScreenshotRequest(signed(&id, payload)?),
        PlayerTopic::PlaysAck => ToPlayer::PlaysAck(decode("plays_ack", payload)?),
        PlayerTopic::CountsAck => {
            let ack: CountsAck = decode("counts_ack", payload)?;
            let named = ack.seqs.len() + ack.conflicts.len();
            if named > MAX_COUNTS_PER_BATCH {
                return Err(WireError::Malformed {
                    kind: "counts_ack",
                    reason: format!("{named} sequence numbers; at most {MAX_COUNTS_PER_BATCH}"),
                });
            }
            if !ack.conflicts.is_empty() && ack.next_seq.is_none() {
                return Err(WireError::Malformed {
                    kind: "counts_ack",
                    reason: "conflicts without next_seq".into(),
                });
            }
            ToPlayer::CountsAck(ack)
        }
        PlayerTopic::Presence => ToPlayer::Presence(decode("presence", payload)?),
        _ => unreachable!("player_topic checked the direction"),
    };
    Ok((id, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_versions_are_short_plain_labels_that_cannot_name_another_directory() {
        for good in ["1.4.0", "9.9.9-test", "2027.1+osaka_b2", "a"] {
            assert!(valid_build_version(good), "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "1.0 beta",
            ".hidden",
            "ä",
            &"1".repeat(41),
        ] {
            assert!(!valid_build_version(bad), "{bad}");
        }
    }
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn id(s: &str) -> PlayerId {
        s.parse().unwrap()
    }

    #[test]
    fn alert_topics_round_trip_and_player_subscriptions_cover_its_targets() {
        let player = PlayerTarget {
            id: id("kita-1f"),
            ward: WardId::from("kita"),
            groups: vec![GroupId::from("lobby")],
        };
        for target in [
            Target::All,
            Target::Ward("kita".into()),
            Target::Group("lobby".into()),
            Target::Player(id("kita-1f")),
        ] {
            let topic = Topic::Alert(AlertScope::from_target(&target), AlertId::from("a-1"));
            let text = topic.to_string();
            assert_eq!(Topic::parse(&text).unwrap(), topic);
            let Topic::Alert(scope, _) = &topic else {
                unreachable!()
            };
            assert!(
                alert_subscriptions(&player).contains(&scope.filter()),
                "{text}"
            );
        }
        let other = Topic::Alert(AlertScope::Ward("naniwa".into()), AlertId::from("a-1"));
        assert!(!alert_subscriptions(&player).contains(&match &other {
            Topic::Alert(scope, _) => scope.filter(),
            _ => unreachable!(),
        }));
        assert!(!is_topic_level("a/b") && !is_topic_level("#") && !is_topic_level(""));
        assert!(is_topic_level("quake-2026-11-25"));
    }

    #[test]
    fn alert_acks_decode_and_bad_ids_are_refused() {
        let ack = AlertAck {
            alert: AlertId::from("a-1"),
            revision: 2,
            state: AlertAckState::Showing,
            displayed_at: Some(Utc::now()),
            at: Utc::now(),
            error: None,
        };
        let topic = Topic::player(&id("p1"), PlayerTopic::AlertAck).to_string();
        let (who, decoded) = decode_from_player(&topic, &encode(&ack)).unwrap();
        assert_eq!(who, id("p1"));
        assert_eq!(decoded, FromPlayer::AlertAck(ack.clone()));
        let bad = AlertAck {
            alert: AlertId::from("x/#"),
            ..ack
        };
        assert!(decode_from_player(&topic, &encode(&bad)).is_err());
        // The readiness note has a topic of its own; on the ack topic it is a malformed ack.
        let ready = AlertReady {
            can_verify: true,
            held: 1,
            at: Utc::now(),
        };
        let err = decode_from_player(&topic, &encode(&ready)).unwrap_err();
        assert!(err.to_string().contains("missing field `alert`"), "{err}");
        let ready_topic = Topic::player(&id("p1"), PlayerTopic::AlertReady).to_string();
        let (_, decoded) = decode_from_player(&ready_topic, &encode(&ready)).unwrap();
        assert_eq!(decoded, FromPlayer::AlertReady(ready));
        // The player's clearing of its retained ack topic carries nothing to act on.
        let (_, decoded) = decode_from_player(&topic, b"").unwrap();
        assert_eq!(decoded, FromPlayer::Cleared(PlayerTopic::AlertAck));
        assert!(decode_from_player(&ready_topic, b"").is_err());
    }

    /// A sealed envelope whose "signature" `open_unchecked` accepts: the signature itself is
    /// `alerts::signing`'s business, tested there.
    fn seal<T: Serialize>(payload: &T) -> Vec<u8> {
        encode(&SignedEnvelope {
            payload: serde_json::to_string(payload).unwrap(),
            signature: "s".into(),
        })
    }

    fn open_unchecked<T: SignedPayload>(signed: &Signed<T>) -> Result<T, WireError> {
        signed.open(|e| {
            if e.signature == "s" {
                Ok(e.payload.as_str())
            } else {
                Err("forged")
            }
        })
    }

    #[test]
    fn signed_messages_are_opened_only_through_the_signature_check() {
        let config = DesiredConfig {
            id: id("a"),
            revision: 3,
            ward: Some("kita".into()),
            groups: vec![],
            name: None,
            restarts: 0,
            build: None,
            issued_at: Utc::now(),
        };
        // A bare payload is not an envelope.
        assert!(decode_to_player("signage/v1/players/a/config", &encode(&config)).is_err());
        let forged = encode(&SignedEnvelope {
            payload: serde_json::to_string(&config).unwrap(),
            signature: "x".into(),
        });
        let (_, got) = decode_to_player("signage/v1/players/a/config", &forged).unwrap();
        let ToPlayer::Config(sealed) = got else {
            panic!("{got:?}")
        };
        let err = open_unchecked(&sealed).unwrap_err();
        assert!(matches!(err, WireError::Signature { .. }), "{err}");
        // Signed for one player, replayed on another's topic.
        let (_, got) = decode_to_player("signage/v1/players/b/config", &seal(&config)).unwrap();
        let ToPlayer::Config(sealed) = got else {
            panic!("{got:?}")
        };
        let err = open_unchecked(&sealed).unwrap_err();
        assert!(matches!(err, WireError::IdMismatch { .. }), "{err}");
    }

    fn hello(player: &str) -> Hello {
        Hello {
            id: id(player),
            version: "0.1.0".into(),
            capabilities: vec!["render".into()],
            screen: Screen {
                width: 1920,
                height: 1080,
            },
            display: DisplayMode::Headless,
            started_at: Utc.with_ymd_and_hms(2026, 11, 25, 3, 0, 0).unwrap(),
            config_revision: None,
            failed_build: None,
        }
    }

    #[test]
    fn player_ids_accept_only_safe_topic_levels() {
        for ok in ["kita-1", "a", "ward_24", &"x".repeat(64)] {
            assert!(ok.parse::<PlayerId>().is_ok(), "{ok} should be valid");
        }
        for bad in [
            "",
            "Kita",
            "a/b",
            "+",
            "#",
            "kita 1",
            "北区",
            &"x".repeat(65),
            "controller",
        ] {
            assert!(
                bad.parse::<PlayerId>().is_err(),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn topics_round_trip() {
        let p = id("kita-1");
        for kind in PlayerTopic::ALL {
            let t = Topic::player(&p, kind);
            assert_eq!(Topic::parse(&t.to_string()).unwrap(), t);
        }
        assert_eq!(
            Topic::ControllerPresence.to_string(),
            "signage/v1/controller/presence"
        );
        assert_eq!(
            Topic::player(&p, PlayerTopic::Presence).to_string(),
            "signage/v1/players/kita-1/presence"
        );
    }

    #[test]
    fn foreign_and_malformed_topics_are_refused() {
        for bad in [
            "signage/v2/players/a/presence",
            "signage/v1/players/a/unknown",
            "signage/v1/players/A/hello",
            "signage/v1/players/a/b/hello",
            "signage/v1",
            "other/topic",
        ] {
            assert!(Topic::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hello_round_trips_and_must_match_its_topic() {
        let h = hello("kita-1");
        let (who, msg) =
            decode_from_player("signage/v1/players/kita-1/hello", &encode(&h)).unwrap();
        assert_eq!(who, id("kita-1"));
        assert_eq!(msg, FromPlayer::Hello(h.clone()));
        let err = decode_from_player("signage/v1/players/naka-1/hello", &encode(&h)).unwrap_err();
        assert!(matches!(err, WireError::IdMismatch { .. }), "{err}");
    }

    #[test]
    fn oversized_payloads_are_refused_before_parsing() {
        let big = vec![b' '; MAX_PAYLOAD_BYTES + 1];
        let err = decode_from_player("signage/v1/players/a/presence", &big).unwrap_err();
        assert_eq!(
            err,
            WireError::TooLarge {
                size: MAX_PAYLOAD_BYTES + 1,
                limit: MAX_PAYLOAD_BYTES
            }
        );
    }

    #[test]
    fn malformed_payloads_name_their_kind() {
        let cases: [(&str, &[u8]); 4] = [
            ("signage/v1/players/a/presence", b"{\"state\":\"sleeping\"}"),
            ("signage/v1/players/a/hello", b"not json"),
            ("signage/v1/players/a/ack", b"{\"subject\":\"config\"}"),
            ("signage/v1/players/a/presence", &[0xff, 0xfe]),
        ];
        for (topic, payload) in cases {
            let err = decode_from_player(topic, payload).unwrap_err();
            assert!(matches!(err, WireError::Malformed { .. }), "{topic}: {err}");
        }
    }

    #[test]
    fn players_do_not_accept_controller_only_topics_from_the_wrong_direction() {
        let h = hello("a");
        assert!(decode_to_player("signage/v1/players/a/hello", &encode(&h)).is_err());
        let config = DesiredConfig {
            id: id("a"),
            revision: 3,
            ward: Some("kita".into()),
            groups: vec![],
            name: None,
            restarts: 0,
            build: None,
            issued_at: Utc::now(),
        };
        assert!(decode_from_player("signage/v1/players/a/config", &seal(&config)).is_err());
        let (_, got) = decode_to_player("signage/v1/players/a/config", &seal(&config)).unwrap();
        let ToPlayer::Config(sealed) = got else {
            panic!("{got:?}")
        };
        assert_eq!(open_unchecked(&sealed).unwrap(), config);
    }

    #[test]
    fn manifest_references_must_match_their_topic_and_plays_are_bounded() {
        let reference = ManifestRef {
            id: id("a"),
            revision: 4,
            sha256: "0".repeat(64).parse().unwrap(),
            size_bytes: 10,
            url: "http://127.0.0.1:8080/api/v1/players/a/manifest".into(),
            issued_at: Utc::now(),
        };
        let open = |topic: &str| match decode_to_player(topic, &seal(&reference)).unwrap() {
            (_, ToPlayer::Manifest(sealed)) => open_unchecked(&sealed),
            other => panic!("{other:?}"),
        };
        assert_eq!(open("signage/v1/players/a/manifest").unwrap(), reference);
        let err = open("signage/v1/players/b/manifest").unwrap_err();
        assert!(matches!(err, WireError::IdMismatch { .. }), "{err}");
        assert!(decode_from_player("signage/v1/players/a/manifest", &seal(&reference)).is_err());

        let record = PlayRecord {
            id: "r1".into(),
            layout: "l".into(),
            zone: "z".into(),
            playlist: "p".into(),
            item: 0,
            asset: "x".into(),
            entry: None,
            start: Utc::now(),
            end: Utc::now(),
        };
        let full = PlayBatch {
            batch: "b".into(),
            records: vec![record.clone(); MAX_PLAYS_PER_BATCH],
        };
        assert!(encode(&full).len() <= MAX_PAYLOAD_BYTES);
        assert!(decode_from_player("signage/v1/players/a/plays", &encode(&full)).is_ok());
        let too_many = PlayBatch {
            batch: "b".into(),
            records: vec![record; MAX_PLAYS_PER_BATCH + 1],
        };
        let err = decode_from_player("signage/v1/players/a/plays", &encode(&too_many));
        assert!(matches!(err, Err(WireError::Malformed { .. })), "{err:?}");
    }

    #[test]
    fn screenshot_requests_and_health_travel_their_own_way() {
        let open = |payload: Vec<u8>| match decode_to_player(
            "signage/v1/players/a/screenshot_request",
            &payload,
        )
        .unwrap()
        {
            (_, ToPlayer::ScreenshotRequest(sealed)) => open_unchecked(&sealed),
            other => panic!("{other:?}"),
        };
        let request = ScreenshotRequest {
            id: id("a"),
            request_id: "0f3a9c".into(),
            max_width: 640,
        };
        assert_eq!(open(seal(&request)).unwrap(), request);
        for bad in [
            r#"{"id":"a","request_id":"../x","max_width":640}"#,
            r#"{"id":"a","request_id":"a","max_width":0}"#,
        ] {
            let payload = encode(&SignedEnvelope {
                payload: bad.into(),
                signature: "s".into(),
            });
            let err = open(payload);
            assert!(matches!(err, Err(WireError::Malformed { .. })), "{bad}");
        }
        let health: PlayerHealth = serde_json::from_str(
            r#"{"at":"2026-11-25T03:00:00Z","pipeline_state":"playing","frames_rendered":30,
                "frames_dropped":0,"rebuilds":0,"uptime_s":1}"#,
        )
        .unwrap();
        let (_, got) = decode_from_player("signage/v1/players/a/health", &encode(&health)).unwrap();
        assert_eq!(got, FromPlayer::Health(Box::new(health.clone())));
        assert!(decode_to_player("signage/v1/players/a/health", &encode(&health)).is_err());
    }

    #[test]
    fn counts_batches_are_bounded_and_a_full_one_fits_the_payload_limit() {
        use std::collections::BTreeMap;
        let name = |i: usize| format!("{i:0>width$}", width = MAX_COUNTER_NAME_BYTES);
        let zone = ZoneTally {
            occupancy: Some(u32::MAX),
            max: u32::MAX,
            mean: 1_234.567_891_234,
            entries: u64::MAX,
            exits: u64::MAX,
            dwell: DwellSummary {
                visits: u64::MAX,
                mean_s: 86_399.123_456_789,
                max_s: 86_399.123_456_789,
                bounds_s: vec![86_399.123_456_789; MAX_DWELL_BUCKETS],
                counts: vec![u64::MAX; MAX_DWELL_BUCKETS + 1],
            },
        };
        let record = CountsRecord {
            seq: i64::MAX as u64,
            start: Utc::now(),
            end: Utc::now() + chrono::TimeDelta::seconds(1),
            frames: u64::MAX,
            lines: BTreeMap::new(),
            zones: (0..MAX_COUNTERS).map(|i| (name(i), zone.clone())).collect(),
        };
        let full = CountsBatch {
            records: vec![record.clone(); MAX_COUNTS_PER_BATCH],
        };
        let size = encode(&full).len();
        assert!(size <= MAX_PAYLOAD_BYTES, "{size} bytes");
        let (_, got) = decode_from_player("signage/v1/players/a/counts", &encode(&full)).unwrap();
        assert_eq!(got, FromPlayer::Counts(full.clone()));
        assert!(decode_to_player("signage/v1/players/a/counts", &encode(&full)).is_err());

        let mut too_many = full.clone();
        too_many.records.push(record.clone());
        let mut long_name = record.clone();
        long_name
            .lines
            .insert("x".repeat(MAX_COUNTER_NAME_BYTES + 1), LineTally::default());
        let mut crowded = record.clone();
        crowded.zones.insert("one-more".into(), zone.clone());
        for bad in [
            too_many,
            CountsBatch {
                records: vec![long_name],
            },
            CountsBatch {
                records: vec![crowded],
            },
        ] {
            let err = decode_from_player("signage/v1/players/a/counts", &encode(&bad));
            assert!(matches!(err, Err(WireError::Malformed { .. })), "{err:?}");
        }

        let ack = CountsAck {
            seqs: vec![1, 2, 3],
            conflicts: vec![],
            next_seq: None,
        };
        assert_eq!(
            encode(&ack),
            br#"{"seqs":[1,2,3]}"#,
            "as before conflicts existed"
        );
        let (_, got) = decode_to_player("signage/v1/players/a/counts_ack", &encode(&ack)).unwrap();
        assert_eq!(got, ToPlayer::CountsAck(ack));
        let renumber = CountsAck {
            seqs: vec![4],
            conflicts: vec![1, 2],
            next_seq: Some(90),
        };
        let (_, got) =
            decode_to_player("signage/v1/players/a/counts_ack", &encode(&renumber)).unwrap();
        assert_eq!(got, ToPlayer::CountsAck(renumber));
        let flood = CountsAck {
            seqs: (0..MAX_COUNTS_PER_BATCH as u64).collect(),
            conflicts: vec![99],
            next_seq: Some(100),
        };
        assert!(decode_to_player("signage/v1/players/a/counts_ack", &encode(&flood)).is_err());
        let nowhere = br#"{"seqs":[],"conflicts":[1]}"#;
        assert!(decode_to_player("signage/v1/players/a/counts_ack", nowhere).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(topic in ".{0,80}", payload in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_from_player(&topic, &payload);
            let _ = decode_to_player(&topic, &payload);
        }

        #[test]
        fn valid_ids_always_form_parseable_topics(s in "[a-z0-9_-]{1,64}") {
            prop_assume!(s != CONTROLLER_USERNAME);
            let p: PlayerId = s.parse().unwrap();
            let t = Topic::player(&p, PlayerTopic::Ack);
            prop_assert_eq!(Topic::parse(&t.to_string()).unwrap(), t);
        }
    }
}

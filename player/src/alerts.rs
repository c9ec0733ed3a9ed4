//! Emergency alerts on the player: the thin IO layer around `alerts::message::HeldAlerts`.
//!
//! ```text
//! MQTT signage/v1/alerts/{scope}/{id} ─► verify (Ed25519, before parsing) ─► HeldAlerts
//!    refused: warn + health event `alert_rejected`, no ack        │
//!                                        renderer takeover ◄──────┤ (at once, event-driven)
//!                                        screen selection  ◄──────┤ (watch: NowShowing "alert")
//!                                 alert_ack showing / failed / cleared ◄┤
//!                                 alerts.json (writer task, fsync) ◄────┘
//! ```
//! Nothing here waits for the screen loop's next wake-up: an alert is handed to the renderer the moment
//! its signature verifies, and acknowledged as soon as it is on screen. What the player holds
//! survives reboots (`alerts.json`, written atomically and fsynced by a writer task of its own,
//! in order, so the disk never delays an acknowledgement: the ack reports the screen, and a
//! rebooted player gets the controller's retained signed messages anyway), is shown before
//! anything else at start, and expires on its own timer with or without the controller.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use alerts::message::{Applied, Broadcast, HeldAlerts};
use alerts::signing::{PublicKey, SignedEnvelope};
use chrono::{DateTime, Utc};
use content::alert::ActiveAlert;
use content::ids::{AlertId, GroupId, WardId};
use content::protocol::{
    self, AlertAck, AlertAckState, AlertReady, AlertScope, HealthEvent, MAX_HEALTH_EVENTS,
    MAX_PAYLOAD_BYTES, PlayerHealth, PlayerId, PlayerTopic, Topic,
};
use content::schedule::PlayerTarget;
use rumqttc::AsyncClient;
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

use crate::clock::Clock;
use crate::display::Display;

/// The held alerts, in the cache directory.
pub const FILE: &str = "alerts.json";
/// Health event kind for an alert message that failed its signature check.
pub const REJECTED: &str = "alert_rejected";
/// Health event kind for desired state (configuration, manifest reference, screenshot
/// request) that failed its signature check or went backwards.
pub const DESIRED_REJECTED: &str = "desired_rejected";
/// How long the renderer may take to put the first alert frame on screen before the player
/// reports `failed`.
const DISPLAY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a late first frame is still waited for after `failed` was reported.
const LATE_DISPLAY_TIMEOUT: Duration = Duration::from_secs(60);

/// Whom this player is, as far as alert targets go (from its desired configuration).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Audience {
    pub ward: Option<WardId>,
    pub groups: Vec<GroupId>,
}

impl Audience {
    pub fn from_config(config: Option<&protocol::DesiredConfig>) -> Audience {
        Audience {
            ward: config
                .and_then(|c| c.ward.as_deref())
                .filter(|w| !w.is_empty())
                .map(WardId::from),
            groups: config
                .map(|c| c.groups.as_slice())
                .unwrap_or_default()
                .iter()
                .filter(|g| !g.is_empty())
                .map(|g| GroupId::from(g.as_str()))
                .collect(),
        }
    }

    /// The alert topic filters this player subscribes to: everyone's, its own, its ward's and
    /// its groups' (the ward and groups only once the configuration named them).
    pub fn subscriptions(&self, me: &PlayerId) -> Vec<String> {
        let mut scopes = vec![AlertScope::All, AlertScope::Player(me.clone())];
        scopes.extend(self.ward.clone().map(AlertScope::Ward));
        scopes.extend(self.groups.iter().cloned().map(AlertScope::Group));
        scopes.iter().map(AlertScope::filter).collect()
    }

    fn target(&self, me: &PlayerId) -> PlayerTarget {
        PlayerTarget {
            id: me.clone(),
            // No ward yet: an empty ward matches no `Ward` target (ids are never empty).
            ward: self.ward.clone().unwrap_or_else(|| WardId::from("")),
            groups: self.groups.clone(),
        }
    }
}

/// Whether `topic` is an alert topic (the session routes those here).
pub fn is_alert_topic(topic: &str) -> bool {
    topic
        .strip_prefix(protocol::ROOT)
        .is_some_and(|rest| rest.starts_with("/alerts/"))
}

/// The alerts that take this screen at `now`, highest level first, then the newest, then by
/// id (the same order as `content::selection`).
pub fn showing(held: &HeldAlerts, target: &PlayerTarget, now: DateTime<Utc>) -> Vec<ActiveAlert> {
    let mut active: Vec<ActiveAlert> = held
        .active(now)
        .into_iter()
        .filter(|a| a.applies_to(target, now))
        .collect();
    active.sort_by(|a, b| {
        b.level
            .cmp(&a.level)
            .then(b.issued_at.cmp(&a.issued_at))
            .then(a.id.cmp(&b.id))
    });
    active
}

/// Why a message on an alert topic was refused.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error(
        "this player has no alert_public_key in its configuration, so it cannot trust any alert; \
         provision it with `signage-controller player add`"
    )]
    NoKey,
    #[error("payload of {0} bytes exceeds the limit of {MAX_PAYLOAD_BYTES} bytes")]
    TooLarge(usize),
    #[error("not a signed alert envelope: {0}")]
    NotAnEnvelope(String),
    #[error(transparent)]
    Signature(#[from] alerts::signing::SignatureError),
    #[error(
        "signed alert {inner} arrived on the topic of alert {topic}: replayed onto another topic"
    )]
    WrongTopic { topic: AlertId, inner: AlertId },
}

/// Checks a message from an alert topic: size, envelope, signature over the exact payload
/// bytes (before anything of the payload is parsed), then that the topic names the same alert.
pub fn open(topic: &str, payload: &[u8], key: Option<&PublicKey>) -> Result<Broadcast, Refusal> {
    let key = key.ok_or(Refusal::NoKey)?;
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(Refusal::TooLarge(payload.len()));
    }
    let envelope: SignedEnvelope =
        serde_json::from_slice(payload).map_err(|e| Refusal::NotAnEnvelope(e.to_string()))?;
    let broadcast = alerts::signing::verify(&envelope, key)?;
    let inner = match &broadcast {
        Broadcast::Show(m) => &m.id,
        Broadcast::Clear { id, .. } => id,
    };
    if let Ok(Topic::Alert(_, id)) = Topic::parse(topic)
        && id != *inner
    {
        return Err(Refusal::WrongTopic {
            topic: id,
            inner: inner.clone(),
        });
    }
    Ok(broadcast)
}

/// Reads `alerts.json`; a missing file is an empty hold, an unreadable one is kept aside
/// (renamed `.corrupt`, never deleted) and the controller's retained messages refill the hold.
pub fn load(cache_dir: &Path) -> HeldAlerts {
    let path = cache_dir.join(FILE);
    match std::fs::read(&path) {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(held) => held,
            Err(e) => {
                warn!(path = %path.display(), %e, "held alerts unreadable; kept as alerts.json.corrupt, waiting for the controller's retained alerts");
                let _ = std::fs::rename(&path, path.with_extension("json.corrupt"));
                HeldAlerts::default()
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => HeldAlerts::default(),
        Err(e) => {
            warn!(path = %path.display(), %e, "cannot read the held alerts");
            HeldAlerts::default()
        }
    }
}

/// What the session hands the alert task.
#[derive(Debug)]
pub enum Input {
    Message {
        topic: String,
        payload: mqtt_link::Bytes,
    },
    /// The desired configuration changed the player's ward or groups.
    Audience(Audience),
    /// (Re)connected: acknowledgements are sent again (the broker may have lost them).
    Connected,
    /// The session refused a controller message (see [`DESIRED_REJECTED`]); reported in
    /// health beside refused alerts.
    Rejected { topic: String, reason: String },
}

/// The alert task: owns the held alerts, the takeover and the acknowledgements.
pub struct AlertKeeper {
    pub me: PlayerId,
    pub key: Option<PublicKey>,
    pub cache_dir: PathBuf,
    pub clock: Clock,
    pub client: AsyncClient,
    pub display: Option<Arc<Display>>,
    /// The alerts that take the screen, for the `screen` loop's selection.
    pub active: watch::Sender<Vec<ActiveAlert>>,
    pub audience: Audience,
    held: HeldAlerts,
    /// What this player acknowledged as showing: id -> (revision, displayed at; `None` while
    /// the renderer has not said yet).
    acked: BTreeMap<AlertId, (u32, Option<DateTime<Utc>>)>,
    displayed: mpsc::Sender<Displayed>,
    displayed_rx: Option<mpsc::Receiver<Displayed>>,
    /// The alert the renderer shows now (id, revision).
    on_screen: Option<(AlertId, u32)>,
    /// Rejections, reported in `health` when the player does not render.
    rejections: VecDeque<HealthEvent>,
    started: std::time::Instant,
    /// The renderer's notice for the alerts shown at start, acknowledged once running.
    startup: Option<Takeover>,
    /// The newest held alerts to write to `alerts.json` (the writer task takes it from here).
    persist: watch::Sender<Option<HeldAlerts>>,
    /// Why a write of `alerts.json` failed, from the writer task.
    persist_failed: Option<mpsc::Receiver<String>>,
}

/// What the renderer did with a change of the alert on screen.
enum Takeover {
    Shown(render::AlertShown),
    Unchanged,
    Refused(String),
    NotDrawing,
}

/// The renderer's answer for alerts that came on screen.
struct Displayed {
    alerts: Vec<(AlertId, u32)>,
    at: Option<DateTime<Utc>>,
}

impl AlertKeeper {
    /// Loads the held alerts and shows them at once, before anything else runs.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        me: PlayerId,
        key: Option<PublicKey>,
        cache_dir: PathBuf,
        clock: Clock,
        client: AsyncClient,
        display: Option<Arc<Display>>,
        audience: Audience,
    ) -> (AlertKeeper, watch::Receiver<Vec<ActiveAlert>>) {
        if key.is_none() {
            warn!(
                "no alert_public_key in the configuration: every emergency alert will be refused; \
                 provision this player again with `signage-controller player add`"
            );
        }
        let mut held = load(&cache_dir);
        held.prune(clock.now());
        let (active, active_rx) = watch::channel(Vec::new());
        let (displayed_tx, displayed_rx) = mpsc::channel(16);
        let (persist, persist_failed) = spawn_writer(cache_dir.join(FILE));
        let mut keeper = AlertKeeper {
            me,
            key,
            cache_dir,
            clock,
            client,
            display,
            active,
            audience,
            held,
            acked: BTreeMap::new(),
            on_screen: None,
            rejections: VecDeque::new(),
            started: std::time::Instant::now(),
            startup: None,
            displayed: displayed_tx,
            displayed_rx: Some(displayed_rx),
            persist,
            persist_failed: Some(persist_failed),
        };
        keeper.startup = Some(keeper.refresh_screen());
        if let Some((top, _)) = &keeper.on_screen {
            info!(alert = %top, "showing a held alert from before the restart");
        }
        (keeper, active_rx)
    }

    pub async fn run(mut self, mut inbox: mpsc::Receiver<Input>) {
        let mut displayed = self.displayed_rx.take().expect("run once");
        let mut persist_failed = self.persist_failed.take().expect("run once");
        if let Some(startup) = self.startup.take() {
            self.acknowledge(startup).await;
        }
        loop {
            let next_expiry = self
                .held
                .active(self.clock.now())
                .iter()
                .filter_map(|a| a.expires_at)
                .min();
            let sleep = next_expiry.map(|end| {
                (end - self.clock.now())
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .saturating_add(Duration::from_millis(1))
            });
            tokio::select! {
                input = inbox.recv() => match input {
                    Some(Input::Message { topic, payload }) => self.on_message(&topic, &payload).await,
                    Some(Input::Audience(audience)) => {
                        self.audience = audience;
                        self.settle().await;
                    }
                    Some(Input::Connected) => {
                        self.ready();
                        self.ack_again();
                    }
                    Some(Input::Rejected { topic, reason }) => {
                        self.reject(&topic, DESIRED_REJECTED, &reason);
                    }
                    None => return,
                },
                Some(done) = displayed.recv() => self.on_displayed(done),
                Some(why) = persist_failed.recv() => self.on_persist_failed(&why),
                () = async { tokio::time::sleep(sleep.unwrap_or_default()).await }, if sleep.is_some() => {
                    let now = self.clock.now();
                    info!(at = %now, "an alert expired");
                    self.held.prune(now);
                    self.settle().await;
                }
            }
        }
    }

    async fn on_message(&mut self, topic: &str, payload: &[u8]) {
        if payload.is_empty() {
            // A retained message being deleted from the broker: nothing to act on.
            return;
        }
        let broadcast = match open(topic, payload, self.key.as_ref()) {
            Ok(b) => b,
            Err(refusal) => {
                self.reject(topic, REJECTED, &refusal.to_string());
                return;
            }
        };
        if let Broadcast::Show(message) = &broadcast {
            let target = self.audience.target(&self.me);
            if content::schedule::best_match(&message.targets, &target).is_none() {
                debug!(alert = %message.id, "a signed alert for other screens; not shown here");
                return;
            }
        }
        if let Broadcast::Show(message) = &broadcast {
            let now = self.clock.now();
            let problem = match message.valid_until {
                None => Some(format!(
                    "signed alert {} carries no validity (valid_until); the controller always sets one",
                    message.id
                )),
                Some(end) if end <= now => Some(format!(
                    "signed alert {} was valid until {end}: an old copy replayed, or this screen's clock is wrong",
                    message.id
                )),
                Some(_) => None,
            };
            if let Some(problem) = problem {
                self.reject(topic, REJECTED, &problem);
                return;
            }
        }
        let id = match &broadcast {
            Broadcast::Show(m) => m.id.clone(),
            Broadcast::Clear { id, .. } => id.clone(),
        };
        let applied = self.held.apply(broadcast);
        debug!(alert = %id, ?applied, "alert message applied");
        match applied {
            Applied::IgnoredStale | Applied::IgnoredCleared => {
                // A replay (retained message after a reconnect): repeat the acknowledgement.
                if let Some(&(revision, Some(displayed))) = self.acked.get(&id) {
                    self.ack(&id, revision, AlertAckState::Showing, Some(displayed), None);
                }
            }
            Applied::ClearedUnknown => {
                self.settle().await;
                // A replayed tombstone: the controller may have missed the `cleared`
                // (acknowledgements are QoS 0, see [`publish_ack`]), also before a restart:
                // the revision that left the screen is kept in `alerts.json`.
                if let Some(revision) = self.held.left_at_revision(&id) {
                    self.ack(&id, revision, AlertAckState::Cleared, None, None);
                }
            }
            Applied::Shown | Applied::Replaced | Applied::Renewed | Applied::Cleared => {
                self.settle().await;
            }
        }
    }

    /// After any change: the takeover first (fast), then the acknowledgements of what
    /// changed, then `alerts.json` is queued for the writer task (never waited for).
    async fn settle(&mut self) {
        self.held.prune(self.clock.now());
        let shown = self.refresh_screen();
        self.acknowledge(shown).await;
        self.persist();
    }

    /// Acknowledges what changed since the last acknowledgements: `cleared` for what left the
    /// screen, `showing` (with the display time) or `failed` for what came on. Never waits for
    /// the renderer: its display notice is awaited on a task of its own and comes back as
    /// [`Displayed`], so a cancel right after an alert is never held up.
    async fn acknowledge(&mut self, takeover: Takeover) {
        let decided = self.clock.now();
        let active = self.active.borrow().clone();
        // Cleared or expired: no longer on this screen.
        let gone: Vec<(AlertId, u32)> = self
            .acked
            .iter()
            .filter(|(id, _)| !active.iter().any(|a| &a.id == *id))
            .map(|(id, (rev, _))| (id.clone(), *rev))
            .collect();
        for (id, revision) in gone {
            self.acked.remove(&id);
            info!(alert = %id, "alert no longer shown");
            self.ack(&id, revision, AlertAckState::Cleared, None, None);
        }
        let fresh: Vec<(AlertId, u32)> = active
            .iter()
            .filter_map(|a| self.held.get(&a.id).map(|m| (a.id.clone(), m.revision)))
            .filter(|(id, rev)| self.acked.get(id).is_none_or(|(r, _)| r != rev))
            .collect();
        if fresh.is_empty() {
            return;
        }
        for (id, revision) in &fresh {
            self.acked.insert(id.clone(), (*revision, None));
        }
        match takeover {
            // Rendering: the renderer says when the first alert frame left the compositor.
            Takeover::Shown(waiter) => {
                let back = self.displayed.clone();
                let offset = self.clock.offset();
                tokio::spawn(async move {
                    // A renderer slower than DISPLAY_TIMEOUT (an overloaded machine) is
                    // reported as failed at once, and as showing when the frame does come.
                    let waiter = std::sync::Arc::new(waiter);
                    for timeout in [DISPLAY_TIMEOUT, LATE_DISPLAY_TIMEOUT] {
                        let w = waiter.clone();
                        let at = tokio::task::spawn_blocking(move || w.wait(timeout))
                            .await
                            .ok()
                            .flatten()
                            // The renderer's wall clock, shifted like the player's clock.
                            .map(|at| DateTime::<Utc>::from(at) + offset);
                        let shown = at.is_some();
                        let _ = back
                            .send(Displayed {
                                alerts: fresh.clone(),
                                at,
                            })
                            .await;
                        if shown {
                            break;
                        }
                    }
                });
            }
            Takeover::Refused(why) => {
                for (id, revision) in fresh {
                    self.acked.remove(&id);
                    self.ack(
                        &id,
                        revision,
                        AlertAckState::Failed,
                        None,
                        Some(why.clone()),
                    );
                }
            }
            // Not drawing (or the takeover already up for a higher alert): the decision instant.
            Takeover::Unchanged | Takeover::NotDrawing => {
                let at = self
                    .on_screen
                    .as_ref()
                    .and_then(|(top, _)| self.acked.get(top))
                    .and_then(|(_, at)| *at)
                    .filter(|_| matches!(takeover, Takeover::Unchanged) && self.display.is_some())
                    .unwrap_or(decided);
                for (id, revision) in fresh {
                    self.acked.insert(id.clone(), (revision, Some(at)));
                    self.ack(&id, revision, AlertAckState::Showing, Some(at), None);
                }
            }
        }
    }

    fn on_displayed(&mut self, done: Displayed) {
        for (id, revision) in done.alerts {
            // Cleared or replaced meanwhile: that later change was acknowledged instead.
            if self.acked.get(&id) != Some(&(revision, None)) {
                continue;
            }
            match done.at {
                Some(at) => {
                    self.acked.insert(id.clone(), (revision, Some(at)));
                    self.ack(&id, revision, AlertAckState::Showing, Some(at), None);
                }
                None => {
                    // Still waiting for the frame: a late one is acknowledged `showing`.
                    self.ack(
                        &id,
                        revision,
                        AlertAckState::Failed,
                        None,
                        Some(format!(
                            "the renderer did not display the alert within {} s",
                            DISPLAY_TIMEOUT.as_secs()
                        )),
                    );
                }
            }
        }
    }

    /// Recomputes what takes the screen, tells the `screen` loop and the renderer.
    fn refresh_screen(&mut self) -> Takeover {
        let target = self.audience.target(&self.me);
        let active = showing(&self.held, &target, self.clock.now());
        let top = active
            .first()
            .and_then(|a| self.held.get(&a.id))
            .map(|m| (m.id.clone(), m.revision));
        self.active.send_replace(active);
        let Some(display) = &self.display else {
            self.on_screen = top;
            return Takeover::NotDrawing;
        };
        if top == self.on_screen {
            return Takeover::Unchanged;
        }
        self.on_screen = top.clone();
        let message = top.and_then(|(id, _)| self.held.get(&id));
        match display.show_alert(message) {
            Ok(Some(waiter)) => Takeover::Shown(waiter),
            Ok(None) => Takeover::Unchanged,
            Err(e) => Takeover::Refused(format!("the renderer refused the alert takeover: {e}")),
        }
    }

    /// Hands a copy of the held alerts (their messages shared, not copied) to the writer task;
    /// replaces a state it has not started writing yet (the newer one contains its changes).
    /// The disk thread serialises it: a thousand screens taking an alert at once in one
    /// process (the `alert-fanout` benchmark) spent 4 % of their CPU here.
    fn persist(&self) {
        self.persist.send_replace(Some(self.held.clone()));
    }

    /// `alerts.json` could not be written: what is on screen is acknowledged again with the
    /// reason, so the controller knows a reboot would lose it until the broker redelivers.
    fn on_persist_failed(&self, why: &str) {
        let note = format!("shown, but not persisted (a reboot would lose it): {why}");
        for (id, (revision, displayed)) in &self.acked {
            if let Some(at) = displayed {
                self.ack(
                    id,
                    *revision,
                    AlertAckState::Showing,
                    Some(*at),
                    Some(note.clone()),
                );
            }
        }
    }

    fn ack(
        &self,
        id: &AlertId,
        revision: u32,
        state: AlertAckState,
        displayed_at: Option<DateTime<Utc>>,
        error: Option<String>,
    ) {
        let topic = Topic::player(&self.me, PlayerTopic::AlertAck);
        let ack = AlertAck {
            alert: id.clone(),
            revision,
            state,
            displayed_at,
            at: self.clock.now(),
            error,
        };
        publish_ack(&self.client, &topic, &ack);
    }

    /// Says, once per connection, that this player follows alerts (see `AlertReady`), and
    /// clears its acknowledgement topic with an empty retained message: that deletes any
    /// acknowledgement a persistent broker still keeps from when they were retained, and it
    /// is the first message on that topic, which rumqttd matches against every subscription
    /// the first time it sees a topic: better now than amid an alert to a thousand screens.
    fn ready(&self) {
        let ack_topic = Topic::player(&self.me, PlayerTopic::AlertAck);
        if let Err(e) = mqtt_link::try_clear(&self.client, &ack_topic) {
            warn!(%e, "cannot queue the clearing of the acknowledgement topic");
        }
        let topic = Topic::player(&self.me, PlayerTopic::AlertReady);
        let ready = AlertReady {
            can_verify: self.key.is_some(),
            held: self.held.active(self.clock.now()).len() as u32,
            at: self.clock.now(),
        };
        if let Err(e) = mqtt_link::try_publish(&self.client, &topic, protocol::encode(&ready)) {
            warn!(%e, "cannot queue the alert readiness note");
        }
    }

    fn ack_again(&self) {
        for (id, (revision, displayed)) in &self.acked {
            if let Some(at) = displayed {
                self.ack(id, *revision, AlertAckState::Showing, Some(*at), None);
            }
        }
    }

    /// A refused message: a warning, and a health event published at once. No acknowledgement:
    /// nothing in a message that failed its check can be trusted, not even its alert id.
    fn reject(&mut self, topic: &str, kind: &str, reason: &str) {
        let topic: String = topic.chars().take(200).collect();
        if kind == REJECTED {
            warn!(%topic, %reason, "refused an alert message");
        } else {
            warn!(%topic, %reason, kind, "refused a controller message");
        }
        let event = HealthEvent {
            at: Utc::now(),
            kind: kind.into(),
            zone: None,
            message: format!("{topic}: {reason}"),
        };
        let health = match &self.display {
            Some(display) => {
                display.note(event);
                display.health()
            }
            None => {
                self.rejections.push_back(event);
                while self.rejections.len() > MAX_HEALTH_EVENTS {
                    self.rejections.pop_front();
                }
                PlayerHealth {
                    at: Utc::now(),
                    cpu_percent: None,
                    process_cpu_percent: None,
                    memory_total_bytes: None,
                    memory_available_bytes: None,
                    process_rss_bytes: None,
                    temperature_celsius: None,
                    disk_free_bytes: None,
                    disk_total_bytes: None,
                    pipeline_state: "stopped".into(),
                    frames_rendered: 0,
                    frames_dropped: 0,
                    rebuilds: 0,
                    uptime_s: self.started.elapsed().as_secs(),
                    events: self.rejections.iter().cloned().collect(),
                }
            }
        };
        let topic = Topic::player(&self.me, PlayerTopic::Health);
        if let Err(e) = mqtt_link::try_publish(&self.client, &topic, protocol::encode(&health)) {
            warn!(%e, "cannot queue the health report of a refused message");
        }
    }
}

/// The `alerts.json` writer: one write at a time, each fsynced before the next starts, always
/// the newest state queued, so an older state never overwrites a newer one. Ends when the
/// keeper is gone and the last state is written.
fn spawn_writer(path: PathBuf) -> (watch::Sender<Option<HeldAlerts>>, mpsc::Receiver<String>) {
    let (tx, mut rx) = watch::channel::<Option<HeldAlerts>>(None);
    let (failed_tx, failed_rx) = mpsc::channel(4);
    tokio::spawn(async move {
        // `changed` still yields a state sent just before the keeper went away.
        while rx.changed().await.is_ok() {
            let Some(held) = rx.borrow_and_update().clone() else {
                continue;
            };
            let contents = move || serde_json::to_vec(&held).expect("held alerts serialise");
            if let Err(e) = crate::disk::replace_synced(path.clone(), contents).await {
                warn!(%e, "cannot persist the held alerts");
                let _ = failed_tx.try_send(e.to_string());
            }
        }
    });
    (tx, failed_rx)
}

/// Never waits: the MQTT link's queue is bounded, and an ack that does not fit is repeated on
/// the next connection (`Input::Connected`).
///
/// QoS 0, not retained: the controller subscribes at QoS 0 anyway, and what a lost
/// acknowledgement said is sent again when it matters: `showing` after every reconnection,
/// `showing` and `cleared` whenever the controller replays the alert (it republishes every
/// alert and tombstone on each of its connections). A thousand screens answering at once then
/// cost the broker no PUBACK each, and no retained copy.
fn publish_ack(client: &AsyncClient, topic: &Topic, ack: &AlertAck) {
    if let Err(e) = mqtt_link::try_publish(client, topic, protocol::encode(ack)) {
        warn!(%e, alert = %ack.alert, "cannot queue an alert acknowledgement");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alerts::message::{AlertMessage, ClearReason};
    use alerts::model::Alert;
    use alerts::signing::SigningKey;
    use alerts::templates::{Placeholders, TemplateKind, WarningLevel, cap_infos};
    use chrono::TimeZone;
    use content::schedule::Target;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 3, 0, 0).unwrap() + chrono::TimeDelta::seconds(secs)
    }

    fn message(id: &str, revision: u32, level: u8, targets: Vec<Target>) -> AlertMessage {
        let status = alerts::model::Status::Actual;
        let expires = Some(at(600).fixed_offset());
        let infos = cap_infos(
            TemplateKind::Earthquake,
            &Placeholders {
                area: "北区".into(),
                shelter: None,
                ..Default::default()
            },
            status,
            expires,
        )
        .unwrap();
        AlertMessage {
            id: AlertId::from(id),
            revision,
            targets,
            level: WarningLevel::new(level).unwrap(),
            issued_at: at(0),
            cap: Alert::new(
                format!("{id}-{revision}"),
                "osaka@example.jp".into(),
                at(0).fixed_offset(),
                status,
                infos,
            ),
            valid_until: Some(at(3600)),
        }
    }

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[3; 32])
    }

    fn topic(id: &str) -> String {
        Topic::Alert(AlertScope::All, AlertId::from(id)).to_string()
    }

    #[test]
    fn only_alert_topics_go_to_the_alert_task() {
        assert!(is_alert_topic("signage/v1/alerts/all/quake-1"));
        assert!(is_alert_topic("signage/v1/alerts/ward/kita/quake-1"));
        for other in [
            "signage/v1/players/kita-1/alert_ack",
            "signage/v1/alertsx/all/quake-1",
            "signage/v2/alerts/all/quake-1",
            "alerts/all/quake-1",
        ] {
            assert!(!is_alert_topic(other), "{other}");
        }
    }

    #[test]
    fn only_messages_signed_by_the_controller_key_open() {
        let good = alerts::signing::sign(
            &Broadcast::Show(Box::new(message("a1", 1, 3, vec![Target::All]))),
            &key(),
        );
        let bytes = serde_json::to_vec(&good).unwrap();
        let public = PublicKey::from(&key());
        assert!(matches!(
            open(&topic("a1"), &bytes, Some(&public)),
            Ok(Broadcast::Show(_))
        ));
        assert!(matches!(
            open(&topic("a1"), &bytes, None),
            Err(Refusal::NoKey)
        ));
        let forged = alerts::signing::sign(
            &Broadcast::Show(Box::new(message("a1", 1, 3, vec![Target::All]))),
            &SigningKey::from_bytes(&[4; 32]),
        );
        let err = open(
            &topic("a1"),
            &serde_json::to_vec(&forged).unwrap(),
            Some(&public),
        )
        .unwrap_err();
        assert!(err.to_string().contains("does not match"), "{err}");
        let unsigned = SignedEnvelope {
            payload: good.payload.clone(),
            signature: String::new(),
        };
        let err = open(
            &topic("a1"),
            &serde_json::to_vec(&unsigned).unwrap(),
            Some(&public),
        )
        .unwrap_err();
        assert!(err.to_string().contains("unsigned"), "{err}");
        // A genuine message replayed onto another alert's topic.
        assert!(matches!(
            open(&topic("other"), &bytes, Some(&public)),
            Err(Refusal::WrongTopic { .. })
        ));
        assert!(matches!(
            open(&topic("a1"), b"not json", Some(&public)),
            Err(Refusal::NotAnEnvelope(_))
        ));
        assert!(matches!(
            open(
                &topic("a1"),
                &vec![b' '; MAX_PAYLOAD_BYTES + 1],
                Some(&public)
            ),
            Err(Refusal::TooLarge(_))
        ));
    }

    #[test]
    fn the_screen_shows_targeted_alerts_highest_level_first_until_they_expire() {
        let me: PlayerId = "kita-1".parse().unwrap();
        let audience = Audience {
            ward: Some(WardId::from("kita")),
            groups: vec![],
        };
        let target = audience.target(&me);
        let mut held = HeldAlerts::default();
        held.apply(Broadcast::Show(Box::new(message(
            "low",
            1,
            2,
            vec![Target::Ward(WardId::from("kita"))],
        ))));
        held.apply(Broadcast::Show(Box::new(message(
            "high",
            1,
            5,
            vec![Target::All],
        ))));
        held.apply(Broadcast::Show(Box::new(message(
            "elsewhere",
            1,
            5,
            vec![Target::Ward(WardId::from("naniwa"))],
        ))));
        let ids = |v: Vec<ActiveAlert>| v.into_iter().map(|a| a.id.0).collect::<Vec<_>>();
        assert_eq!(ids(showing(&held, &target, at(10))), ["high", "low"]);
        held.apply(Broadcast::Clear {
            id: AlertId::from("high"),
            reason: ClearReason::Cancelled,
            at: at(20),
            expires: None,
        });
        assert_eq!(ids(showing(&held, &target, at(30))), ["low"]);
        assert!(showing(&held, &target, at(600)).is_empty(), "expired");
        // Without a ward (no configuration yet) only `all` and its own id reach it.
        let nowhere = Audience::default().target(&me);
        assert!(showing(&held, &nowhere, at(30)).is_empty());
    }

    #[test]
    fn subscriptions_follow_the_ward_and_groups() {
        let me: PlayerId = "kita-1".parse().unwrap();
        assert_eq!(
            Audience::default().subscriptions(&me),
            [
                "signage/v1/alerts/all/+",
                "signage/v1/alerts/player/kita-1/+"
            ]
        );
        let config: protocol::DesiredConfig = serde_json::from_value(serde_json::json!({
            "id": "kita-1", "revision": 2, "ward": "kita", "groups": ["lobby"],
            "issued_at": "2026-11-25T03:00:00Z"
        }))
        .unwrap();
        let audience = Audience::from_config(Some(&config));
        assert_eq!(
            audience.subscriptions(&me),
            [
                "signage/v1/alerts/all/+",
                "signage/v1/alerts/player/kita-1/+",
                "signage/v1/alerts/ward/kita/+",
                "signage/v1/alerts/group/lobby/+"
            ]
        );
    }

    #[test]
    fn the_writer_ends_on_the_newest_state_and_reports_failures() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        runtime.block_on(async {
            let (states, mut failed) = spawn_writer(path.clone());
            let mut held = HeldAlerts::default();
            for i in 0..50 {
                held.apply(Broadcast::Clear {
                    id: AlertId::from(format!("a-{i}").as_str()),
                    reason: ClearReason::Cancelled,
                    at: at(i),
                    expires: None,
                });
                states.send_replace(Some(held.clone()));
                if i % 7 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            drop(states);
            // The writer stops (closing its failure channel) once the last state is written.
            assert_eq!(failed.recv().await, None, "no write failed");
            assert_eq!(load(dir.path()), held, "the newest state, all 50 clears");
            assert!(!path.with_extension("tmp").exists());

            let (states, mut failed) = spawn_writer(dir.path().join("missing").join(FILE));
            states.send_replace(Some(held));
            let why = failed.recv().await.expect("the failure is reported");
            assert!(why.contains("No such file"), "{why}");
        });
    }

    /// The `cleared` acknowledgements the keeper queued for the broker.
    fn cleared_acks(events: &mut rumqttc::EventLoop) -> Vec<(AlertId, u32)> {
        events.clean();
        events
            .pending
            .drain(..)
            .filter_map(|request| match request {
                rumqttc::Request::Publish(p) if p.topic.ends_with("/alert_ack") => {
                    serde_json::from_slice::<AlertAck>(&p.payload).ok()
                }
                _ => None,
            })
            .filter(|ack| ack.state == AlertAckState::Cleared)
            .map(|ack| (ack.alert, ack.revision))
            .collect()
    }

    /// A `cleared` acknowledgement lost just before a restart (they are QoS 0) is repeated
    /// when the controller replays the tombstone to the restarted player.
    #[tokio::test]
    async fn a_replayed_tombstone_is_acknowledged_again_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let me: PlayerId = "kita-1".parse().unwrap();
        let everyone = Audience {
            ward: None,
            groups: Vec::new(),
        };
        let signed = |broadcast: Broadcast| {
            serde_json::to_vec(&alerts::signing::sign(&broadcast, &key())).unwrap()
        };
        let cancelled = |id: &str| {
            signed(Broadcast::Clear {
                id: AlertId::from(id),
                reason: ClearReason::Cancelled,
                at: at(60),
                expires: None,
            })
        };
        let show = signed(Broadcast::Show(Box::new(message(
            "a1",
            2,
            3,
            vec![Target::All],
        ))));
        let tombstone = cancelled("a1");
        let start = |events_name: &str| {
            let (client, events) = AsyncClient::new(
                rumqttc::MqttOptions::new(events_name, "localhost", 1883),
                64,
            );
            let (keeper, _) = AlertKeeper::start(
                me.clone(),
                Some(PublicKey::from(&key())),
                dir.path().to_path_buf(),
                Clock::starting_at(at(30)),
                client,
                None,
                everyone.clone(),
            );
            (keeper, events)
        };

        let (mut keeper, mut events) = start("before");
        keeper.on_message(&topic("a1"), &show).await;
        keeper.on_message(&topic("a1"), &tombstone).await;
        assert_eq!(cleared_acks(&mut events), vec![(AlertId::from("a1"), 2)]);
        // The replay before any restart is acknowledged again too.
        keeper.on_message(&topic("a1"), &tombstone).await;
        assert_eq!(cleared_acks(&mut events), vec![(AlertId::from("a1"), 2)]);
        // What the writer task would have put in `alerts.json` by now.
        let bytes = serde_json::to_vec(keeper.persist.borrow().as_ref().unwrap()).unwrap();
        crate::journal::write_atomically(&dir.path().join(FILE), &bytes).unwrap();
        drop(keeper);

        let (mut keeper, mut events) = start("after");
        assert!(
            keeper.active.borrow().is_empty(),
            "the cleared alert stays off"
        );
        keeper.on_message(&topic("a1"), &tombstone).await;
        assert_eq!(cleared_acks(&mut events), vec![(AlertId::from("a1"), 2)]);
        // A tombstone for an alert this player never showed is not acknowledged.
        let other = cancelled("a2");
        keeper.on_message(&topic("a2"), &other).await;
        assert!(cleared_acks(&mut events).is_empty());
    }

    #[test]
    fn held_alerts_survive_a_restart_and_a_corrupt_file_is_kept_aside() {
        let dir = tempfile::tempdir().unwrap();
        let mut held = HeldAlerts::default();
        held.apply(Broadcast::Show(Box::new(message(
            "a1",
            1,
            3,
            vec![Target::All],
        ))));
        crate::journal::write_atomically(
            &dir.path().join(FILE),
            &serde_json::to_vec(&held).unwrap(),
        )
        .unwrap();
        assert_eq!(load(dir.path()), held);
        std::fs::write(dir.path().join(FILE), b"{torn").unwrap();
        assert_eq!(load(dir.path()), HeldAlerts::default());
        assert!(dir.path().join("alerts.json.corrupt").exists());
    }
}

//! Emergency alerts, the controller's IO around the pure `alerts` crate.
//!
//! - The [`AlertService`] holds the [`AlertLifecycle`] in memory behind one async mutex.
//!   A command is applied to a copy; the changed records are written to SQLite; only then does
//!   the copy become the state and its broadcasts go out. A refused command or a failed write
//!   leaves nothing behind (but the audit log, which records every attempt).
//! - Broadcasts are signed with the controller's Ed25519 key and published QoS 1 retained on
//!   each target's topic. A Clear stays retained as a signed tombstone.
//! - After every (re)connection to the broker, all live alerts and the tombstones of the last
//!   day are published again (the broker may be new or emptied).
//! - A 1 s tick ends expired alerts and publishes their Clears.
//! - Every signed `show` carries `valid_until` (`[alerts] show_validity_secs`, default 6 h
//!   from signing); the tick signs a live alert again when a sixth of its window has passed,
//!   so a copy captured off the broker cannot be replayed onto screens for ever, while a
//!   controller that is down leaves screens showing the alert for hours.
//! - A tombstone stays on the broker for a day (`[alerts] tombstone_keep_secs`) after it was
//!   last sent, then is deleted (an empty retained message), so the broker does not hand every
//!   alert ever cancelled to each screen that connects, for years.
//! - Player acknowledgements are written in batches by one task, off the MQTT loop. A player
//!   that says it shows an alert that has ended missed the tombstone (it was off when the
//!   alert ended, and the broker no longer holds it: restarted, or past the day above): the
//!   tombstone goes out again, at most every few seconds per alert.
//!
//! `routes` holds the HTTP API, `intake` the CAP intake policy.

mod intake;
pub mod jma;
pub(crate) mod routes;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use alerts::area_map::AreaTable;
use alerts::lifecycle::{
    AlertLifecycle, AlertRecord, Command, ConfirmationPolicy, LifecycleError, Outcome, Phase, Role,
    Transition,
};
use alerts::message::{Broadcast, ClearReason};
use alerts::model::{Severity, Urgency};
use alerts::signing::{self, SigningKey};
use anyhow::bail;
use chrono::{DateTime, TimeDelta, Utc};
use content::ids::AlertId;
use content::protocol::{self, AlertAck, AlertAckState, AlertScope, PlayerId, Topic};
use content::schedule::Target;
use rumqttc::AsyncClient;
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, mpsc};
use tracing::{info, warn};

use crate::auth::Caller;
use crate::store::Store;

pub use routes::routes;

/// How long the broker keeps a tombstone after it was last sent, unless configured: alerts
/// ended within this time are also republished after a reconnection.
const TOMBSTONE_KEEP_SECS: u64 = 86_400;
/// The longest time between two looks for tombstones to delete from the broker.
const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// The least time between two resends of one alert's tombstone to players still showing it.
const TOMBSTONE_RESEND_GAP: TimeDelta = TimeDelta::seconds(5);
const EXPIRY_TICK: Duration = Duration::from_secs(1);
const ACK_BATCH: usize = 1000;
/// How long after a first acknowledgement others are waited for, to share its transaction.
const GATHER_ACKS: Duration = Duration::from_millis(20);

/// `[alerts]` in `controller.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsSection {
    /// `two_person` (default) or `single_operator`.
    pub confirmation: Option<String>,
    /// The phrase a single operator types to issue a live alert.
    pub confirmation_phrase: Option<String>,
    /// CAP `sender` of the alerts this controller writes.
    pub sender: Option<String>,
    /// Largest CAP document `POST /api/v1/cap` accepts (default 1 MiB).
    pub max_cap_bytes: Option<usize>,
    /// How long the broker keeps an ended alert's signed tombstone after it was last sent
    /// (default a day).
    pub tombstone_keep_secs: Option<u64>,
    /// How long a signed `show` is valid from signing (default 6 h, 60 s to a week); the
    /// controller signs live alerts again well before.
    pub show_validity_secs: Option<u64>,
    #[serde(default)]
    pub cap_intake: CapIntakeSection,
    /// CAP areas onto wards.
    #[serde(default)]
    pub areas: AreaTable,
    /// JMA disaster-information XML: feed credentials, policy, area codes, polled feeds.
    #[serde(default)]
    pub jma: jma::JmaSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapIntakeSection {
    /// Replaced by `feeds`; named only to explain the change when an old file has it.
    pub trusted_senders: Option<Vec<String>>,
    /// The feeds trusted to issue without a person (when a rule matches): each an API token
    /// and the CAP senders it may speak for.
    #[serde(default)]
    pub feeds: Vec<Feed>,
    /// Which Actual alerts of a trusted sender issue at once; default Extreme + Immediate.
    pub auto_issue: Option<Vec<AutoIssueRule>>,
}

/// A trusted CAP feed: documents posted with this API token (its id, `tok-...`) naming one of
/// these senders. The same sender from any other credential is not trusted.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feed {
    pub token: String,
    pub senders: Vec<String>,
}

/// An Actual CAP alert from a trusted sender issues at once when one of its infos matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoIssueRule {
    pub severity: Severity,
    pub urgency: Urgency,
}

/// The validated `[alerts]` section.
#[derive(Debug, Clone)]
pub struct AlertsConfig {
    pub policy: ConfirmationPolicy,
    pub sender: String,
    pub max_cap_bytes: usize,
    pub tombstone_keep: TimeDelta,
    pub show_validity: TimeDelta,
    pub feeds: Vec<Feed>,
    pub auto_issue: Vec<AutoIssueRule>,
    pub areas: AreaTable,
    pub jma: jma::JmaConfig,
}

pub const DEFAULT_SENDER: &str = "signage-controller@localhost";

impl Default for AlertsConfig {
    fn default() -> Self {
        Self::resolve(AlertsSection::default()).expect("defaults are valid")
    }
}

impl AlertsConfig {
    /// Whether a CAP document naming `sender` comes from a feed trusted for it: trust is the
    /// credential's, never the document's own claim.
    pub fn trusts(&self, caller: &crate::auth::Caller, sender: &str) -> bool {
        self.feeds.iter().any(|feed| {
            caller.account.strip_prefix("token:") == Some(feed.token.as_str())
                && feed.senders.iter().any(|s| s == sender)
        })
    }

    pub fn resolve(section: AlertsSection) -> anyhow::Result<AlertsConfig> {
        if section.cap_intake.trusted_senders.is_some() {
            bail!(
                "config key alerts.cap_intake.trusted_senders was replaced by alerts.cap_intake.feeds = [{{ token = \"tok-...\", senders = [...] }}]: trust now comes from the feed's API token (the id `signage-controller token create` prints first, or GET /api/v1/tokens), not from the sender a document names"
            );
        }
        for (i, feed) in section.cap_intake.feeds.iter().enumerate() {
            if !feed.token.starts_with("tok-") || feed.senders.is_empty() {
                bail!(
                    "config key alerts.cap_intake.feeds[{i}] needs token = the API token's id (tok-...) and at least one sender"
                );
            }
        }
        let policy = match section.confirmation.as_deref().unwrap_or("two_person") {
            "two_person" => {
                if section.confirmation_phrase.is_some() {
                    bail!(
                        "config key alerts.confirmation_phrase applies to alerts.confirmation = \"single_operator\" only"
                    );
                }
                ConfirmationPolicy::TwoPerson
            }
            "single_operator" => match section.confirmation_phrase {
                Some(phrase) if phrase.trim().chars().count() >= 4 => {
                    ConfirmationPolicy::SingleOperator { phrase }
                }
                _ => bail!(
                    "config key alerts.confirmation = \"single_operator\" needs alerts.confirmation_phrase (at least 4 characters) that the operator types to issue a live alert"
                ),
            },
            other => bail!(
                "config key alerts.confirmation must be \"two_person\" or \"single_operator\", got {other:?}"
            ),
        };
        let sender = section.sender.unwrap_or_else(|| DEFAULT_SENDER.into());
        if sender.is_empty() || sender.contains([' ', ',', '<', '&']) {
            bail!(
                "config key alerts.sender must be non-empty without spaces, commas, '<' or '&' (CAP rule), got {sender:?}"
            );
        }
        let max_cap_bytes = section.max_cap_bytes.unwrap_or(alerts::cap::MAX_BYTES);
        if !(1024..=4 * alerts::cap::MAX_BYTES).contains(&max_cap_bytes) {
            bail!("config key alerts.max_cap_bytes must be between 1024 and 4194304");
        }
        let keep_secs = section.tombstone_keep_secs.unwrap_or(TOMBSTONE_KEEP_SECS);
        if !(1..=365 * 86_400).contains(&keep_secs) {
            bail!("config key alerts.tombstone_keep_secs must be between 1 and 31536000 (a year)");
        }
        for (i, ward) in section.areas.wards.iter().enumerate() {
            if !content::protocol::is_topic_level(&ward.ward.0) {
                bail!("config key alerts.areas.wards[{i}].ward is not a valid ward id");
            }
            if let Some(ring) = &ward.boundary
                && (ring.points.len() < 4 || ring.points.first() != ring.points.last())
            {
                bail!(
                    "config key alerts.areas.wards[{i}].boundary must be a closed ring: at least 4 points, the first equal to the last"
                );
            }
        }
        let validity_secs = section.show_validity_secs.unwrap_or(6 * 3600);
        if !(60..=7 * 86_400).contains(&validity_secs) {
            bail!("config key alerts.show_validity_secs must be between 60 and 604800 (a week)");
        }
        Ok(AlertsConfig {
            policy,
            sender,
            max_cap_bytes,
            tombstone_keep: TimeDelta::seconds(keep_secs as i64),
            show_validity: TimeDelta::seconds(validity_secs as i64),
            feeds: section.cap_intake.feeds,
            auto_issue: section.cap_intake.auto_issue.unwrap_or_else(|| {
                vec![AutoIssueRule {
                    severity: Severity::Extreme,
                    urgency: Urgency::Immediate,
                }]
            }),
            areas: section.areas,
            jma: jma::JmaConfig::resolve(section.jma)?,
        })
    }
}

struct State {
    lifecycle: AlertLifecycle,
    /// When each record last changed (an ended alert's tombstone time).
    changed_at: HashMap<AlertId, DateTime<Utc>>,
    /// When each ended alert's tombstone was last sent again for a player still showing it.
    resent: HashMap<AlertId, DateTime<Utc>>,
    /// When each ended alert's tombstone was last deleted from the broker.
    deleted: HashMap<AlertId, DateTime<Utc>>,
}

impl State {
    /// The ended alerts whose tombstone the broker may still hold and no longer needs to.
    fn stale_tombstones(&self, now: DateTime<Utc>, keep: TimeDelta) -> Vec<AlertId> {
        self.lifecycle
            .alerts()
            .filter(|record| tombstone(record, now).is_some())
            .map(|record| &record.message.id)
            .filter(|id| {
                let changed = self.changed_at.get(*id).copied().unwrap_or(now);
                let sent = self.resent.get(*id).map_or(changed, |r| changed.max(*r));
                tombstone_stale(sent, self.deleted.get(*id).copied(), now, keep)
            })
            .cloned()
            .collect()
    }
}

/// Whether a tombstone last sent at `sent` (and deleted at `deleted`) should leave the broker:
/// kept for `keep`, and not deleted since it was last sent.
fn tombstone_stale(
    sent: DateTime<Utc>,
    deleted: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    keep: TimeDelta,
) -> bool {
    now - sent >= keep && deleted.is_none_or(|d| d <= sent)
}

/// Why a command did not go through.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    #[error("cannot store the alert: {0}")]
    Store(#[from] crate::store::StoreError),
}

pub struct AlertService {
    store: Store,
    key: SigningKey,
    config: AlertsConfig,
    state: Mutex<State>,
    client: OnceLock<AsyncClient>,
    acks: crate::gather::Queue<(PlayerId, AlertAck, DateTime<Utc>)>,
    /// The `valid_until` of the last signed `show` published for each live alert.
    signed_until: std::sync::Mutex<HashMap<AlertId, DateTime<Utc>>>,
    /// Taken by feed intake, one document at a time.
    pub(crate) intake_lock: Mutex<()>,
    /// The polled feeds' status, once polling started.
    pub feeds: OnceLock<crate::feeds::Statuses>,
}

impl AlertService {
    /// Loads the key and every stored alert; starts the expiry tick and the ack writer.
    pub async fn start(
        store: Store,
        data_dir: &Path,
        config: AlertsConfig,
    ) -> anyhow::Result<Arc<AlertService>> {
        let key = crate::alert_key::load_or_create(data_dir)?;
        let rows = store.alert_records().await?;
        let changed_at: HashMap<AlertId, DateTime<Utc>> = rows
            .iter()
            .map(|(r, at)| (r.message.id.clone(), *at))
            .collect();
        // Tombstones older than twice the keeping time were deleted by an earlier run; the
        // first sweep deletes the younger ones (a restarted controller forgets what it did).
        let now = Utc::now();
        let deleted = rows
            .iter()
            .filter(|(r, at)| !r.phase.is_live() && now - *at >= config.tombstone_keep * 2)
            .map(|(r, at)| (r.message.id.clone(), *at))
            .collect();
        let live = rows.iter().filter(|(r, _)| r.phase.is_live()).count();
        let lifecycle =
            AlertLifecycle::restore(config.policy.clone(), rows.into_iter().map(|(r, _)| r));
        info!(alerts = lifecycle.alerts().count(), live, "alerts restored");
        // One acknowledgement per screen of a large fleet answering at once.
        let (acks, inbox) = crate::gather::Queue::new(1 << 14, "alert acknowledgements");
        let service = Arc::new(AlertService {
            store: store.clone(),
            key,
            config,
            state: Mutex::new(State {
                lifecycle,
                changed_at,
                resent: HashMap::new(),
                deleted,
            }),
            client: OnceLock::new(),
            acks,
            signed_until: Default::default(),
            intake_lock: Mutex::new(()),
            feeds: OnceLock::new(),
        });
        tokio::spawn(write_acks(service.clone(), inbox));
        let ticking = service.clone();
        let sweep_every = ticking
            .config
            .tombstone_keep
            .to_std()
            .map_or(SWEEP_EVERY, |keep| {
                (keep / 2).clamp(EXPIRY_TICK, SWEEP_EVERY)
            });
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(EXPIRY_TICK);
            let mut swept = tokio::time::Instant::now();
            loop {
                tick.tick().await;
                ticking.expire(Utc::now()).await;
                ticking.renew(Utc::now()).await;
                if swept.elapsed() >= sweep_every {
                    swept = tokio::time::Instant::now();
                    ticking.delete_stale_tombstones(Utc::now()).await;
                }
            }
        });
        Ok(service)
    }

    pub fn config(&self) -> &AlertsConfig {
        &self.config
    }

    /// The MQTT client to publish with (set once, when the fleet link is created).
    pub fn set_client(&self, client: AsyncClient) {
        let _ = self.client.set(client);
    }

    /// From each acknowledged revision's issue to the acknowledgement's arrival, for showing
    /// acknowledgements of the live revision.
    async fn observe_ack_latency(&self, batch: &[(PlayerId, AlertAck, DateTime<Utc>)]) {
        let state = self.state.lock().await;
        for (_, ack, received_at) in batch {
            if ack.state != AlertAckState::Showing {
                continue;
            }
            let Some(record) = state.lifecycle.get(&ack.alert) else {
                continue;
            };
            if record.message.revision != ack.revision {
                continue;
            }
            if let Ok(took) = (*received_at - record.message.issued_at).to_std() {
                crate::metrics::METRICS.observe(
                    "signage_alert_ack_seconds",
                    "state=\"showing\"".into(),
                    took,
                );
            }
        }
    }

    /// A player's acknowledgement, received at `received_at`, queued for the ack writer.
    pub fn ack(&self, player: &PlayerId, ack: AlertAck, received_at: DateTime<Utc>) {
        self.acks.offer((player.clone(), ack, received_at));
    }

    pub async fn record(&self, id: &AlertId) -> Option<AlertRecord> {
        self.state.lock().await.lifecycle.get(id).cloned()
    }

    pub async fn records(&self) -> Vec<AlertRecord> {
        self.state
            .lock()
            .await
            .lifecycle
            .alerts()
            .cloned()
            .collect()
    }

    /// The alert whose CAP identifiers include one of `identifiers` from `sender`.
    pub async fn find_by_cap(&self, sender: &str, identifiers: &[String]) -> Option<AlertRecord> {
        let state = self.state.lock().await;
        state
            .lifecycle
            .alerts()
            .find(|r| {
                r.message.cap.sender == sender
                    && (identifiers.contains(&r.message.cap.identifier)
                        || r.cap_identifiers.iter().any(|i| identifiers.contains(i)))
            })
            .cloned()
    }

    /// Applies `commands` in order, all or nothing: each by its caller. Every attempt is
    /// audited; the result is the last transition.
    pub async fn execute(
        &self,
        commands: Vec<(Caller, Command)>,
    ) -> Result<Transition, ServiceError> {
        let now = Utc::now();
        let mut state = self.state.lock().await;
        let mut next = state.lifecycle.clone();
        let audit_from = next.audit().len();
        let mut last = None;
        let mut failure = None;
        let mut touched = Vec::new();
        let mut broadcasts = Vec::new();
        for (caller, command) in &commands {
            let id = command.alert_id().clone();
            match next.apply(&caller.actor(), command.clone(), now) {
                Ok(t) => {
                    if let Some(b) = &t.broadcast {
                        broadcasts.push(b.clone());
                    }
                    touched.push(id);
                    last = Some(t);
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let mut stored = Ok(());
        if failure.is_none() {
            touched.dedup();
            let records: Vec<&AlertRecord> = touched.iter().filter_map(|id| next.get(id)).collect();
            stored = self.store.save_alerts(&records).await;
        }
        let committed = failure.is_none() && stored.is_ok();
        // The audit: each attempted command, with what finally happened to it. Written after
        // the broadcasts: the records are already stored, and screens should not wait.
        let events = next.audit()[audit_from..].to_vec();
        let mut audits = Vec::new();
        for (event, (caller, _)) in events.iter().zip(&commands) {
            let (outcome, detail) = match &event.outcome {
                Outcome::Applied { from, to, revision } if committed => (
                    "applied",
                    serde_json::json!({"from": from, "to": to, "revision": revision, "drill": event.drill}),
                ),
                Outcome::Applied { to, .. } => (
                    "rolled_back",
                    serde_json::json!({"to": to, "drill": event.drill, "reason": failure.as_ref().map(|e| e.to_string()).or_else(|| stored.as_ref().err().map(|e| e.to_string()))}),
                ),
                Outcome::Refused { reason } => (
                    "refused",
                    serde_json::json!({"reason": reason, "drill": event.drill}),
                ),
            };
            audits.push((
                caller.clone(),
                format!("alert.{}", event.action),
                event.alert.clone(),
                outcome,
                detail,
            ));
        }
        let result = match (failure, stored) {
            (Some(e), _) => Err(e.into()),
            (None, Err(e)) => Err(e.into()),
            (None, Ok(())) => {
                for id in &touched {
                    state.changed_at.insert(id.clone(), now);
                }
                state.lifecycle = next;
                for broadcast in &broadcasts {
                    self.publish(&state.lifecycle, broadcast).await;
                }
                Ok(last.expect("at least one command"))
            }
        };
        drop(state);
        for (caller, action, alert, outcome, detail) in audits {
            caller
                .audit(
                    &self.store,
                    &action,
                    Some(alert.0.as_str()),
                    outcome,
                    Some(detail),
                )
                .await;
        }
        result
    }

    /// Ends expired alerts and publishes their Clears.
    pub async fn expire(&self, now: DateTime<Utc>) {
        let mut state = self.state.lock().await;
        let mut next = state.lifecycle.clone();
        let audit_from = next.audit().len();
        let broadcasts = next.expire(now);
        let events = next.audit()[audit_from..].to_vec();
        if events.is_empty() {
            return;
        }
        let records: Vec<&AlertRecord> = events.iter().filter_map(|e| next.get(&e.alert)).collect();
        if let Err(e) = self.store.save_alerts(&records).await {
            warn!(%e, "cannot store expired alerts; retrying");
            return;
        }
        let system = Caller::account("system", Role::Admin);
        for event in &events {
            system
                .audit(
                    &self.store,
                    "alert.expire",
                    Some(event.alert.0.as_str()),
                    "applied",
                    Some(serde_json::json!({"drill": event.drill})),
                )
                .await;
            state.changed_at.insert(event.alert.clone(), now);
        }
        state.lifecycle = next;
        for broadcast in &broadcasts {
            self.publish(&state.lifecycle, broadcast).await;
        }
        info!(count = events.len(), "alerts expired");
    }

    /// Publishes every live alert and the tombstones of the last day again (after a
    /// (re)connection: the broker may be new or emptied).
    pub async fn republish(&self) {
        let state = self.state.lock().await;
        let now = Utc::now();
        let mut count = 0;
        for record in state.lifecycle.alerts() {
            let changed = state
                .changed_at
                .get(&record.message.id)
                .copied()
                .unwrap_or(now);
            let broadcast = if record.phase.is_live() {
                Broadcast::Show(Box::new(record.message.clone()))
            } else if now - changed < self.config.tombstone_keep
                && let Some(tombstone) = tombstone(record, changed)
            {
                tombstone
            } else {
                continue;
            };
            self.publish(&state.lifecycle, &broadcast).await;
            count += 1;
        }
        if count > 0 {
            info!(count, "republished alerts");
        }
    }

    /// Sends the tombstone again of each ended alert that a player in `acks` says it shows
    /// (or failed to show: it still holds it), unless it went out moments ago.
    async fn resend_missed_tombstones(&self, acks: &[(PlayerId, AlertAck, DateTime<Utc>)]) {
        let mut held: Vec<&AlertId> = acks
            .iter()
            .filter(|(_, ack, _)| ack.state != AlertAckState::Cleared)
            .map(|(_, ack, _)| &ack.alert)
            .collect();
        if held.is_empty() {
            return;
        }
        held.sort();
        held.dedup();
        let mut state = self.state.lock().await;
        let now = Utc::now();
        for id in held {
            let Some(record) = state.lifecycle.get(id) else {
                continue;
            };
            let changed = state.changed_at.get(id).copied().unwrap_or(now);
            let Some(tombstone) = tombstone(record, changed) else {
                continue; // live: what the player shows is right
            };
            if state
                .resent
                .get(id)
                .is_some_and(|at| now - *at < TOMBSTONE_RESEND_GAP)
            {
                continue;
            }
            state.resent.insert(id.clone(), now);
            warn!(alert = %id, "a player still shows an ended alert; its tombstone goes out again");
            self.publish(&state.lifecycle, &tombstone).await;
        }
    }

    /// Deletes from the broker the tombstones kept long enough (see [`State::stale_tombstones`]).
    /// A screen that comes back later with the alert still on it is cleared all the same: its
    /// `showing` makes the tombstone go out again ([`Self::resend_missed_tombstones`]).
    async fn delete_stale_tombstones(&self, now: DateTime<Utc>) {
        let Some(client) = self.client.get() else {
            return;
        };
        let mut state = self.state.lock().await;
        let stale = state.stale_tombstones(now, self.config.tombstone_keep);
        for id in &stale {
            let Some(record) = state.lifecycle.get(id) else {
                continue;
            };
            if let Err(e) = retain_on_targets(client, record, Vec::new()).await {
                warn!(%e, alert = %id, "cannot delete a tombstone from the broker");
                return; // tried again at the next sweep
            }
            state.deleted.insert(id.clone(), now);
        }
        if !stale.is_empty() {
            info!(
                count = stale.len(),
                keep_secs = self.config.tombstone_keep.num_seconds(),
                "tombstones of ended alerts deleted from the broker"
            );
        }
    }

    /// Signs each live alert again once a sixth of its signed validity has passed.
    async fn renew(&self, now: DateTime<Utc>) {
        let due = now + self.config.show_validity - self.config.show_validity / 6;
        let state = self.state.lock().await;
        let stale: Vec<&AlertRecord> = {
            let signed = self.signed_until.lock().expect("signed_until");
            state
                .lifecycle
                .alerts()
                .filter(|r| r.phase.is_live())
                .filter(|r| signed.get(&r.message.id).is_none_or(|until| *until < due))
                .collect()
        };
        for record in stale {
            tracing::debug!(alert = %record.message.id, "signing a live alert again");
            let broadcast = Broadcast::Show(Box::new(record.message.clone()));
            self.publish(&state.lifecycle, &broadcast).await;
        }
    }

    /// `broadcast` as it is signed now: a `show` valid for the configured window.
    fn stamped(&self, broadcast: &Broadcast, now: DateTime<Utc>) -> Broadcast {
        match broadcast {
            Broadcast::Show(m) => {
                let mut m = m.clone();
                m.valid_until = Some(now + self.config.show_validity);
                Broadcast::Show(m)
            }
            clear => clear.clone(),
        }
    }

    /// Signs `broadcast` and publishes it retained on each target's topic of its alert.
    async fn publish(&self, lifecycle: &AlertLifecycle, broadcast: &Broadcast) {
        let Some(client) = self.client.get() else {
            return; // not connected yet: the republish after connecting sends it
        };
        let id = match broadcast {
            Broadcast::Show(m) => &m.id,
            Broadcast::Clear { id, .. } => id,
        };
        let Some(record) = lifecycle.get(id) else {
            return;
        };
        let started = std::time::Instant::now();
        let stamped = self.stamped(broadcast, Utc::now());
        let envelope = signing::sign(&stamped, &self.key);
        let payload = serde_json::to_vec(&envelope).expect("envelopes serialise");
        {
            let mut signed = self.signed_until.lock().expect("signed_until");
            match &stamped {
                Broadcast::Show(m) => signed.insert(id.clone(), m.valid_until.expect("stamped")),
                Broadcast::Clear { .. } => signed.remove(id),
            };
        }
        if let Err(e) = retain_on_targets(client, record, payload).await {
            warn!(%e, alert = %id, "cannot publish an alert");
        }
        let kind = match broadcast {
            Broadcast::Show(_) => "show",
            Broadcast::Clear { .. } => "clear",
        };
        crate::metrics::METRICS.observe(
            "signage_alert_publish_seconds",
            format!("kind=\"{kind}\""),
            started.elapsed(),
        );
    }

    /// Signs desired state for one player (configuration, manifest reference, screenshot
    /// request) with the controller's key, in the desired-state domain: the key every player
    /// already holds for alerts.
    pub fn sign_desired<T: serde::Serialize>(&self, message: &T) -> Vec<u8> {
        protocol::encode_signed(&signing::sign_desired(message, &self.key))
    }

    /// Signs what the controller vouches for about a player build (its own domain).
    pub fn sign_build(&self, statement: &protocol::BuildStatement) -> protocol::SignedEnvelope {
        signing::sign_build(statement, &self.key)
    }

    /// The size of the signed message players would get, to refuse what MQTT cannot carry.
    pub fn signed_size(&self, broadcast: &Broadcast) -> usize {
        serde_json::to_vec(&signing::sign(
            &self.stamped(broadcast, Utc::now()),
            &self.key,
        ))
        .map(|v| v.len())
        .unwrap_or(usize::MAX)
    }
}

/// Publishes `payload` retained, QoS 1, on the topic of each target of `record`'s alert (an
/// empty payload deletes what the broker retains there); every target is tried, the last
/// failure is returned.
async fn retain_on_targets(
    client: &AsyncClient,
    record: &AlertRecord,
    payload: Vec<u8>,
) -> Result<(), rumqttc::ClientError> {
    let id = &record.message.id;
    let mut outcome = Ok(());
    for target in &record.message.targets {
        let topic = Topic::Alert(AlertScope::from_target(target), id.clone());
        if let Err(e) = mqtt_link::publish(client, &topic, payload.clone()).await {
            outcome = Err(e);
        }
    }
    outcome
}

/// Writes acknowledgements in batches (one transaction each), so a thousand players acking
/// at once cost a few transactions, not a thousand.
async fn write_acks(
    service: Arc<AlertService>,
    mut inbox: mpsc::Receiver<(PlayerId, AlertAck, DateTime<Utc>)>,
) {
    while let Some(batch) = crate::gather::batch(&mut inbox, ACK_BATCH, GATHER_ACKS).await {
        service.observe_ack_latency(&batch).await;
        let stored = crate::metrics::METRICS
            .time(
                "signage_store_write_seconds",
                "alert_acks",
                service.store.record_alert_acks(&batch),
            )
            .await;
        if let Err(e) = stored {
            warn!(%e, count = batch.len(), "cannot store alert acknowledgements");
        }
        service.resend_missed_tombstones(&batch).await;
    }
}

/// The signed Clear that stays retained for an ended alert; `None` while it is live (or never
/// went out: revision 0).
fn tombstone(record: &AlertRecord, changed: DateTime<Utc>) -> Option<Broadcast> {
    let reason = match record.phase {
        Phase::Cancelled => ClearReason::Cancelled,
        Phase::AllClear => ClearReason::AllClear,
        Phase::Expired => ClearReason::Expired,
        _ => return None,
    };
    (record.message.revision > 0).then(|| record.clear(reason, changed))
}

/// Whether `targets` names the player (ward, one of its groups, or id).
pub fn targets_player(targets: &[Target], id: &str, ward: Option<&str>, groups: &[String]) -> bool {
    let Ok(id) = id.parse::<PlayerId>() else {
        return false;
    };
    let player = content::schedule::PlayerTarget {
        id,
        ward: content::ids::WardId(ward.unwrap_or_default().to_owned()),
        groups: groups
            .iter()
            .map(|g| content::ids::GroupId(g.clone()))
            .collect(),
    };
    targets.iter().any(|t| t.specificity_for(&player).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(text: &str) -> anyhow::Result<AlertsConfig> {
        #[derive(Deserialize)]
        struct File {
            alerts: AlertsSection,
        }
        let file: File = toml::from_str(text)?;
        AlertsConfig::resolve(file.alerts)
    }

    #[test]
    fn the_documented_section_parses_and_maps_areas() {
        let c = section(
            r#"
[alerts]
confirmation = "single_operator"
confirmation_phrase = "本番の警報を発令します"
sender = "signage@city.osaka.example"
[alerts.cap_intake]
feeds = [{ token = "tok-0123456789ab", senders = ["jma-feed@city.osaka.example"] }]
auto_issue = [{ severity = "Extreme", urgency = "Immediate" }]
[alerts.areas]
city_geocodes = [{ value_name = "JIS", value = "27100" }]
[[alerts.areas.wards]]
ward = "kita"
geocodes = [{ value_name = "JIS", value = "27127" }]
boundary = { points = [{ lat = 34.69, lon = 135.48 }, { lat = 34.69, lon = 135.53 },
  { lat = 34.73, lon = 135.53 }, { lat = 34.73, lon = 135.48 }, { lat = 34.69, lon = 135.48 }] }
"#,
        )
        .unwrap();
        assert!(matches!(
            c.policy,
            ConfirmationPolicy::SingleOperator { .. }
        ));
        let feed = crate::auth::Caller {
            account: "token:tok-0123456789ab".into(),
            role: Role::Disaster,
            person: "cli".into(),
        };
        let sender = "jma-feed@city.osaka.example";
        assert!(c.trusts(&feed, sender));
        assert!(!c.trusts(&feed, "someone-else@example"));
        // Staff naming the feed's sender in a document of their own are not the feed.
        let staff = crate::auth::Caller::account("tok-0123456789ab", Role::Disaster);
        assert!(!c.trusts(&staff, sender));
        let mut area = alerts::model::Area::described("北区");
        area.geocodes
            .push(alerts::model::ValuePair::new("JIS", "27127"));
        assert_eq!(
            c.areas.match_areas([&area]).to_targets(),
            vec![Target::Ward(content::ids::WardId("kita".into()))]
        );
        assert_eq!(
            AlertsConfig::default().policy,
            ConfirmationPolicy::TwoPerson
        );
        assert_eq!(AlertsConfig::default().tombstone_keep, TimeDelta::days(1));
        let short = section("[alerts]\ntombstone_keep_secs = 30\n").unwrap();
        assert_eq!(short.tombstone_keep, TimeDelta::seconds(30));
    }

    /// A tombstone leaves the broker once kept long enough after it was last sent, once: again
    /// only if it was sent again after the deletion.
    #[test]
    fn a_tombstone_is_deleted_once_kept_long_enough_since_last_sent() {
        let t0 = DateTime::parse_from_rfc3339("2026-11-26T00:00:00Z")
            .unwrap()
            .to_utc();
        let keep = TimeDelta::hours(24);
        let at = |h: i64| t0 + TimeDelta::hours(h);
        assert!(!tombstone_stale(t0, None, at(23), keep), "still kept");
        assert!(tombstone_stale(t0, None, at(24), keep), "kept a day");
        assert!(tombstone_stale(t0, None, at(24 * 400), keep));
        assert!(
            !tombstone_stale(t0, Some(at(25)), at(30), keep),
            "deleted already"
        );
        // Sent again (a screen still showed it) after the deletion: deleted again a day later.
        assert!(!tombstone_stale(at(26), Some(at(25)), at(49), keep));
        assert!(tombstone_stale(at(26), Some(at(25)), at(50), keep));
        // Deleted in the same instant it was sent: which came first is unknown, so again.
        assert!(tombstone_stale(at(26), Some(at(26)), at(50), keep));
    }

    #[test]
    fn mistakes_name_the_key() {
        let err = |t: &str| format!("{:#}", section(t).unwrap_err());
        assert!(
            err("[alerts]\nconfirmation = \"single_operator\"\n").contains("confirmation_phrase")
        );
        assert!(err("[alerts]\nconfirmation = \"one\"\n").contains("alerts.confirmation"));
        assert!(err("[alerts]\nsender = \"a b\"\n").contains("alerts.sender"));
        assert!(err("[alerts]\nconfirm = 1\n").contains("confirm"));
        assert!(err("[alerts]\ntombstone_keep_secs = 0\n").contains("tombstone_keep_secs"));
        assert!(err("[alerts.cap_intake]\ntrusted_senders = [\"a@b\"]\n").contains("feeds"));
        assert!(
            err("[alerts.cap_intake]\nfeeds = [{ token = \"abc\", senders = [\"a@b\"] }]\n")
                .contains("feeds[0]")
        );
        assert!(
            err("[[alerts.areas.wards]]\nward = \"k\"\nboundary = { points = [{ lat = 1.0, lon = 1.0 }] }\n")
                .contains("closed ring")
        );
    }
}

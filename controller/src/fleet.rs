//! The controller's side of the MQTT contract: it listens to what players say and keeps every
//! player's desired configuration published.
//!
//! The controller is the source of truth and the broker only transport: after every
//! (re)connection all desired configurations are republished (retained), so a restarted or
//! emptied broker is repaired within one round trip. A short reconcile tick also publishes what
//! changed in the store meanwhile (e.g. a player registered by `player add` while serving):
//! it reads two revision numbers and the date, and the roster only when one of them moved, so
//! the tick costs the same for 10 or 10,000 players and never holds up their messages.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use content::protocol::{
    self, FromPlayer, ManifestRef, PlayerId, PlayerTopic, Presence, PresenceState, Topic,
};
use content::schedule_set::ScheduleSet;
use content::tokyo;
use mqtt_link::LinkEvent;
use rumqttc::{AsyncClient, MqttOptions, QoS};
use tracing::{debug, info, warn};

use crate::manifest::{content_digest, player_manifest, render};
use crate::store::{PresenceChange, Store, StoredManifest};

/// Broker connection state, shared with the health endpoint.
#[derive(Debug, Default)]
pub struct LinkStatus {
    connected: AtomicBool,
}

impl LinkStatus {
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }
}

const RECONCILE_EVERY: Duration = Duration::from_secs(2);
/// Messages the MQTT link holds for the fleet: a few per player for 10,000 players.
pub const FLEET_BACKLOG: usize = 1 << 16;
/// `now` reports waiting for the database: one per player of a large fleet switching at once.
const QUEUE: usize = 1 << 14;

/// The controller's presence while it is up (on [`Topic::ControllerPresence`]); the Last
/// Will says the opposite.
pub fn controller_presence(state: PresenceState, session: &str) -> Vec<u8> {
    protocol::encode(&Presence {
        state,
        session: session.to_string(),
    })
}

/// The embedded broker, as the fleet sees it.
pub struct Embedded {
    /// rumqttd's own address (the controller's connection goes there).
    pub internal: std::net::SocketAddr,
    /// What players send, handed over by the gate (topic, payload).
    pub inbox: tokio::sync::mpsc::Receiver<(String, mqtt_link::Bytes)>,
}

/// Where the fleet hands what players send beyond presence and state.
pub struct Handlers {
    pub screens: Arc<crate::screens::Screens>,
    pub alerts: Arc<crate::alerting::AlertService>,
    /// Counts and proof of play, acknowledged once durable.
    pub history: crate::history::History,
}

/// What players' manifests point at and cover.
pub struct ManifestSettings {
    /// The controller's HTTP base URL as players reach it.
    pub base_url: String,
    /// Days of schedule ahead (see [`crate::manifest::player_manifest`]).
    pub horizon_days: u32,
}

pub struct Fleet {
    store: Store,
    client: AsyncClient,
    status: Arc<LinkStatus>,
    session: String,
    /// Revision last published per player, to publish only what changed.
    published: HashMap<String, u64>,
    /// The roster revision every desired configuration was published at; `None` forces a
    /// full pass (after a (re)connection, or when a publish failed).
    configs_published_at: Option<u64>,
    /// The controller's HTTP base URL as players reach it.
    base_url: String,
    /// Days of schedule each manifest covers ahead.
    horizon_days: u32,
    /// What the manifests were last computed from; `None` forces a computation.
    manifest_inputs: Option<ManifestInputs>,
    /// Each player's current manifest reference.
    manifests: HashMap<PlayerId, ManifestRef>,
    /// Manifest revision last published per player.
    published_manifests: HashMap<PlayerId, u64>,
    /// Where players' health reports go.
    screens: Arc<crate::screens::Screens>,
    alerts: Arc<crate::alerting::AlertService>,
    history: crate::history::History,
    /// What players show, for the writer task (see [`write_now`]).
    now: crate::gather::Queue<(PlayerId, protocol::NowShowing)>,
    /// The embedded broker's address, when the controller runs it (see
    /// [`crate::broker::no_delay_towards_this_process`]).
    embedded_broker: Option<std::net::SocketAddr>,
}

/// Manifests change when content, the players (ward, group) or the Tokyo date (the horizon
/// moves) change; otherwise recomputing them would give the same digests.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ManifestInputs {
    content_revision: u64,
    roster_revision: u64,
    date: NaiveDate,
}

impl Fleet {
    /// Connects and runs until the process ends. Returns the client for a clean shutdown.
    pub fn spawn(
        store: Store,
        options: MqttOptions,
        status: Arc<LinkStatus>,
        session: String,
        manifests: ManifestSettings,
        handlers: Handlers,
        embedded: Option<Embedded>,
    ) -> AsyncClient {
        let (embedded_broker, direct) = match embedded {
            Some(e) => (Some(e.internal), Some(e.inbox)),
            None => (None, None),
        };
        let Handlers {
            screens,
            alerts,
            history,
        } = handlers;
        // Room for every player's burst on (re)connection (presence, hello, ack, now, ...):
        // while the fleet catches up, the link must keep polling the connection, or its
        // keep-alive lapses and the broker drops the controller (seen with 5,000 players:
        // reconnecting brought every retained message back and the storm never ended).
        let (client, events) = mqtt_link::spawn(options, FLEET_BACKLOG);
        let (now, now_rx) = crate::gather::Queue::new(QUEUE, "now reports");
        tokio::spawn(write_now(store.clone(), now_rx));
        let fleet = Fleet {
            now,
            embedded_broker,
            store,
            client: client.clone(),
            status,
            session,
            published: HashMap::new(),
            configs_published_at: None,
            base_url: manifests.base_url,
            horizon_days: manifests.horizon_days,
            manifest_inputs: None,
            manifests: HashMap::new(),
            published_manifests: HashMap::new(),
            screens: screens.clone(),
            alerts: alerts.clone(),
            history,
        };
        screens.set_client(client.clone());
        alerts.set_client(client.clone());
        tokio::spawn(fleet.run(events, direct));
        client
    }

    async fn run(
        mut self,
        mut events: tokio::sync::mpsc::Receiver<LinkEvent>,
        mut direct: Option<tokio::sync::mpsc::Receiver<(String, mqtt_link::Bytes)>>,
    ) {
        let mut tick = tokio::time::interval(RECONCILE_EVERY);
        loop {
            tokio::select! {
                Some((topic, payload)) = next_direct(&mut direct) => self.on_message(&topic, &payload).await,
                event = events.recv() => match event {
                    Some(LinkEvent::Connected) => self.on_connected().await,
                    Some(LinkEvent::Disconnected { .. }) => {
                        self.status.connected.store(false, Ordering::Relaxed);
                    }
                    Some(LinkEvent::Message { topic, payload }) => self.on_message(&topic, &payload).await,
                    None => return,
                },
                _ = tick.tick() => {
                    if self.status.connected() {
                        self.reconcile().await;
                    }
                }
            }
        }
    }

    async fn on_connected(&mut self) {
        self.status.connected.store(true, Ordering::Relaxed);
        // QoS 0 towards the controller: brokers let only a few QoS 1 messages per subscriber
        // be unacknowledged (rumqttd 100, Mosquitto 20), so a thousand alert acknowledgements
        // arriving at once crossed in dozens of round trips. Nothing is lost by it: the session
        // is clean, so QoS 1 kept nothing across a reconnect either, and what must not be lost
        // is acknowledged by the application (counts, plays: the player resends until the
        // controller confirms the durable write) or repeated (retained presence and hello;
        // players repeat their alert acknowledgements when the alerts are republished below).
        for filter in protocol::contract::controller_subscriptions() {
            if let Err(e) = self.client.subscribe(&filter, QoS::AtMostOnce).await {
                warn!(%e, filter, "cannot subscribe");
            }
        }
        // ... and what a QoS 0 subscriber never sends back, the embedded broker must not wait
        // for before sending the next message.
        if let Some(addr) = self.embedded_broker {
            let changed = tokio::task::spawn_blocking(move || {
                crate::broker::no_delay_towards_this_process(addr)
            })
            .await;
            match changed {
                Ok(Ok(n)) => debug!(sockets = n, "Nagle off on the embedded broker's side"),
                Ok(Err(e)) => {
                    warn!(%e, "cannot turn Nagle off on the embedded broker's side; acknowledgements may wait up to 40 ms")
                }
                Err(e) => warn!(%e, "the Nagle task failed"),
            }
        }
        let payload = controller_presence(PresenceState::Online, &self.session);
        let _ = mqtt_link::publish(&self.client, &Topic::ControllerPresence, payload).await;
        // The broker may be new or emptied: republish everything players must know.
        self.published.clear();
        self.configs_published_at = None;
        self.published_manifests.clear();
        let alerts = self.alerts.clone();
        tokio::spawn(async move { alerts.republish().await });
        self.reconcile().await;
    }

    async fn reconcile(&mut self) {
        let roster = match self.store.roster_revision().await {
            Ok(r) => r,
            Err(e) => {
                warn!(%e, "cannot read the roster revision; retrying");
                return;
            }
        };
        if self.configs_published_at != Some(roster) {
            self.publish_configs(roster).await;
        }
        if let Err(e) = self.update_manifests(roster).await {
            warn!(%e, "cannot compute player manifests; retrying");
            self.manifest_inputs = None;
        }
        self.publish_manifests().await;
    }

    /// Publishes every desired configuration not published yet at its revision.
    async fn publish_configs(&mut self, roster: u64) {
        let configs = match self.store.desired_configs().await {
            Ok(c) => c,
            Err(e) => {
                warn!(%e, "cannot read desired configurations; retrying");
                return;
            }
        };
        let mut count = 0;
        let mut failed = false;
        for config in configs {
            if self.published.get(config.id.as_str()) == Some(&config.revision) {
                continue;
            }
            let topic = Topic::player(&config.id, PlayerTopic::Config);
            let payload = self.alerts.sign_desired(&config);
            match mqtt_link::publish(&self.client, &topic, payload).await {
                Ok(()) => {
                    self.published
                        .insert(config.id.to_string(), config.revision);
                    count += 1;
                }
                Err(e) => {
                    warn!(%e, player = %config.id, "cannot publish configuration");
                    failed = true;
                }
            }
        }
        if count > 0 {
            info!(count, "published desired player configurations");
        }
        self.configs_published_at = (!failed).then_some(roster);
    }

    /// Recomputes every player's manifest when its inputs changed; a manifest whose content
    /// changed gets the next revision.
    async fn update_manifests(&mut self, roster_revision: u64) -> anyhow::Result<()> {
        let now = Utc::now();
        let inputs = ManifestInputs {
            content_revision: self.store.content_revision().await?,
            roster_revision,
            date: tokyo::local_date(now),
        };
        if self.manifest_inputs.as_ref() == Some(&inputs) {
            return Ok(());
        }
        let targets = self.store.player_targets().await?;
        let (parts, has_fallback) = self.store.schedule_parts().await?;
        if !has_fallback {
            debug!("no fallback layout yet: no manifests");
            self.manifest_inputs = Some(inputs);
            return Ok(());
        }
        let set = ScheduleSet::new(parts)?;
        // Pure and CPU-bound (about 1 ms per player, see the manifest benchmark): off the
        // async workers so MQTT keeps flowing while a large fleet is recomputed.
        let horizon_days = self.horizon_days;
        let computed = tokio::task::spawn_blocking(move || {
            targets
                .into_iter()
                .map(|target| {
                    let manifest = player_manifest(&set, &target, now, horizon_days);
                    let digest = content_digest(&manifest);
                    (target, manifest, digest)
                })
                .collect::<Vec<_>>()
        })
        .await?;
        let players = computed.len();
        let mut changed = 0;
        for (target, mut manifest, digest) in computed {
            let stored = match self.store.manifest(&target.id).await? {
                Some(stored) if stored.content_sha256 == digest => stored,
                previous => {
                    manifest.revision = previous.map_or(1, |p| p.revision + 1);
                    let (body, sha256) = render(&manifest);
                    let stored = StoredManifest {
                        revision: manifest.revision,
                        content_sha256: digest,
                        sha256,
                        body,
                        acked_revision: None,
                    };
                    self.store.save_manifest(&target.id, &stored).await?;
                    changed += 1;
                    stored
                }
            };
            let reference = ManifestRef {
                id: target.id.clone(),
                revision: stored.revision,
                sha256: stored.sha256.parse()?,
                size_bytes: stored.body.len() as u64,
                url: format!("{}/api/v1/players/{}/manifest", self.base_url, target.id),
                issued_at: now,
            };
            self.manifests.insert(target.id.clone(), reference);
        }
        if changed > 0 {
            info!(changed, players, "new player manifests");
        }
        self.manifest_inputs = Some(inputs);
        Ok(())
    }

    async fn publish_manifests(&mut self) {
        for (id, reference) in &self.manifests {
            if self.published_manifests.get(id) == Some(&reference.revision) {
                continue;
            }
            let topic = Topic::player(id, PlayerTopic::Manifest);
            let payload = self.alerts.sign_desired(reference);
            match mqtt_link::publish(&self.client, &topic, payload).await {
                Ok(()) => {
                    self.published_manifests
                        .insert(id.clone(), reference.revision);
                }
                Err(e) => warn!(%e, player = %id, "cannot publish a manifest reference"),
            }
        }
    }

    async fn on_message(&mut self, topic: &str, payload: &[u8]) {
        let (id, message) = match protocol::decode_from_player(topic, payload) {
            Ok(decoded) => decoded,
            Err(e) => {
                warn!(topic = %topic.chars().take(200).collect::<String>(), bytes = payload.len(), error = %e, "dropped MQTT message");
                return;
            }
        };
        let now = Utc::now();
        let started = std::time::Instant::now();
        let what = message_kind(&message);
        let result = match &message {
            FromPlayer::Presence(p) => {
                let online = p.state == PresenceState::Online;
                self.store
                    .record_presence(&id, online, &p.session, now)
                    .await
                    .map(|change| match change {
                        PresenceChange::Applied => {
                            info!(player = %id, online, "presence")
                        }
                        PresenceChange::StaleIgnored => {
                            debug!(player = %id, "ignored the Last Will of an older session")
                        }
                        PresenceChange::UnknownPlayer => {
                            warn!(player = %id, "dropped presence of an unregistered player")
                        }
                    })
            }
            FromPlayer::Hello(hello) => self.store.record_hello(hello, now).await.map(|known| {
                if known {
                    info!(player = %id, version = %hello.version, "hello");
                } else {
                    warn!(player = %id, "dropped hello of an unregistered player");
                }
            }),
            FromPlayer::Ack(ack) => {
                if !ack.ok {
                    warn!(player = %id, revision = ack.revision, error = ?ack.error, "player refused its configuration");
                    return;
                }
                self.store.record_ack(&id, ack, now).await.map(|_| ())
            }
            FromPlayer::Now(showing) => {
                debug!(player = %id, layout = ?showing.layout, "now showing");
                self.now.offer((id.clone(), showing.clone()));
                Ok(())
            }
            FromPlayer::Health(health) => {
                // Kept in memory per id: only registered players may add an entry.
                self.store.is_registered(id.as_str()).await.map(|known| {
                    if known {
                        debug!(player = %id, frames = health.frames_rendered, "health");
                        self.screens.record_health(&id, (**health).clone());
                    } else {
                        warn!(player = %id, "dropped the health of an unregistered player");
                    }
                })
            }
            FromPlayer::AlertAck(ack) => {
                debug!(player = %id, alert = %ack.alert, state = ?ack.state, "alert acknowledgement");
                self.alerts.ack(&id, ack.clone(), now);
                Ok(())
            }
            FromPlayer::AlertReady(ready) => {
                if ready.can_verify {
                    debug!(player = %id, held = ready.held, "following alerts");
                } else {
                    warn!(player = %id, "the player has no alert public key and will refuse every alert; provision it again with `signage-controller player add`");
                }
                Ok(())
            }
            FromPlayer::Cleared(kind) => {
                debug!(player = %id, ?kind, "the player cleared its retained message");
                Ok(())
            }
            FromPlayer::Counts(batch) => {
                crate::metrics::METRICS.camera(id.as_str(), &batch.records);
                self.history
                    .submit(&id, crate::history::Incoming::Counts(batch.clone()));
                Ok(())
            }
            FromPlayer::Plays(batch) => {
                self.history
                    .submit(&id, crate::history::Incoming::Plays(batch.clone()));
                Ok(())
            }
        };
        if let Some(what) = what {
            crate::metrics::METRICS.observe(
                "signage_store_write_seconds",
                format!("what=\"{what}\""),
                started.elapsed(),
            );
        }
        if let Err(e) = result {
            warn!(player = %id, %e, "cannot store a player message");
        }
    }
}

/// The messages the fleet writes to the store itself (the others are queued elsewhere).
fn message_kind(message: &FromPlayer) -> Option<&'static str> {
    match message {
        FromPlayer::Presence(_) => Some("presence"),
        FromPlayer::Hello(_) => Some("hello"),
        FromPlayer::Ack(_) => Some("config_ack"),
        _ => None,
    }
}

/// The next message the embedded broker's gate handed over; pending for ever without one.
async fn next_direct(
    direct: &mut Option<tokio::sync::mpsc::Receiver<(String, mqtt_link::Bytes)>>,
) -> Option<(String, mqtt_link::Bytes)> {
    match direct {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// How many `now` reports go into one transaction at most, and how long after the first one
/// others are waited for.
const NOW_BATCH: usize = 1000;
const GATHER_NOW: Duration = Duration::from_millis(100);

/// Writes what players show in batches: a thousand screens switching to an alert at once
/// report a thousand `now`s, and one durable transaction each would keep the database (and
/// before it, the fleet's message loop) busy while the acknowledgements arrive.
async fn write_now(
    store: Store,
    mut inbox: tokio::sync::mpsc::Receiver<(PlayerId, protocol::NowShowing)>,
) {
    while let Some(batch) = crate::gather::batch(&mut inbox, NOW_BATCH, GATHER_NOW).await {
        match store.record_now(&batch).await {
            Ok(unknown) => {
                for player in unknown {
                    warn!(player = %player, "dropped the now-showing report of an unregistered player");
                }
            }
            Err(e) => warn!(%e, count = batch.len(), "cannot store now-showing reports"),
        }
    }
}

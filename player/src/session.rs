//! The player's MQTT session: announce presence and capabilities, follow the desired
//! configuration, acknowledge it, and say goodbye on a clean shutdown.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use content::protocol::{
    self, Ack, AckSubject, Hello, MAX_PLAYS_PER_BATCH, NowShowing, PlayBatch, PlayerTopic,
    Presence, PresenceState, Signed, SignedPayload, ToPlayer, Topic, WireError,
};
use mqtt_link::{LinkEvent, LinkOptions};
use rumqttc::{AsyncClient, QoS};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::{info, warn};

use crate::cache::ContentCache;
use crate::clock::Clock;
use crate::config::PlayerConfig;
use crate::counts::{Counts, SessionEvent};
use crate::plays::PlayLog;
use crate::screen::Screen;
use crate::state::{Offer, PlayerState};
use crate::sync::{ContentSync, Held, SyncRequest};
use crate::timer;

/// How long a change of what the screen shows waits before it is reported, so that the
/// changes right after it go in the same report. It also keeps the report out of the way of
/// what is urgent: when an alert takes thousands of screens at once, their acknowledgements
/// reach the broker and the controller first (5,000 take about 0.6 s on a small server) and
/// the status reports after them.
const NOW_COALESCE: Duration = Duration::from_secs(2);

pub struct Session {
    config: PlayerConfig,
    state: PlayerState,
    client: AsyncClient,
    /// Random per process: marks this connection's presence and Last Will.
    session: String,
    started_at: chrono::DateTime<Utc>,
    connected: bool,
    sync: mpsc::Sender<SyncRequest>,
    plays: Arc<Mutex<PlayLog>>,
    /// The proof-of-play batch awaiting its acknowledgement.
    in_flight: Option<(String, Instant)>,
    now: watch::Receiver<NowShowing>,
    /// The renderer, when the player draws.
    display: Option<Arc<crate::display::Display>>,
    /// People counting (does nothing without a `[camera]` section).
    counts: Counts,
    /// The alert task's inbox, and whom alerts must reach (ward, groups).
    alerts: mpsc::Sender<crate::alerts::Input>,
    audience: crate::alerts::Audience,
    /// The controller asked for a restart: the loop ends once the configuration is acked.
    restart: bool,
    /// The build the controller offers, for the update task (see `update`).
    build_offers: watch::Sender<Option<content::protocol::SignedEnvelope>>,
    /// An offered build is verified and on trial: the loop ends for the switch.
    update: bool,
    /// Proof-of-play records acknowledged, said once a minute.
    play_summary: crate::timer::Minutely,
}

/// How a player's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// SIGINT, SIGTERM or the caller's shutdown.
    Shutdown,
    /// The controller asked for a restart; the binary starts itself again.
    Restart,
    /// An offered build is ready for its trial (see `update`).
    Update,
}

/// Broker connections made by the players of this process, and when the last one was: a
/// process that hosts a fleet (the fan-out benchmark) waits by it for the fleet to settle.
#[derive(Debug, Default)]
pub struct Connections {
    count: std::sync::atomic::AtomicUsize,
    last: Mutex<Option<std::time::Instant>>,
}

impl Connections {
    fn seen(&self) {
        *self.last.lock().expect("not poisoned") = Some(std::time::Instant::now());
        self.count
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn count(&self) -> usize {
        self.count.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Time since the last connection (`Duration::MAX` before the first).
    pub fn quiet_for(&self) -> Duration {
        self.last
            .lock()
            .expect("not poisoned")
            .map_or(Duration::MAX, |t| t.elapsed())
    }
}

pub static CONNECTIONS: Connections = Connections {
    count: std::sync::atomic::AtomicUsize::new(0),
    last: Mutex::new(None),
};

fn presence(state: PresenceState, session: &str) -> Vec<u8> {
    protocol::encode(&Presence {
        state,
        session: session.to_string(),
    })
}

impl Session {
    /// Runs the player until SIGINT, SIGTERM or a restart asked by the controller (the
    /// binary's entry point).
    pub async fn run(config: PlayerConfig) -> anyhow::Result<Ending> {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        Self::run_until(config, async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        })
        .await
    }

    /// Runs one player until `shutdown` completes, then says goodbye. Several players can run
    /// in one process this way (the `alert-fanout` benchmark): with `render = false` a player
    /// is only tokio tasks (MQTT link, session, screen loop, content sync, alerts), no threads.
    pub async fn run_until(
        config: PlayerConfig,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<Ending> {
        let state = PlayerState::open(&config.cache_dir)?;
        if let Some(held) = state.config() {
            info!(
                revision = held.revision,
                "following the cached configuration until the controller is reached"
            );
        }
        let session = {
            use rand::Rng;
            format!("{:016x}", rand::thread_rng().r#gen::<u64>())
        };
        let presence_topic = Topic::player(&config.id, PlayerTopic::Presence).to_string();
        let options = LinkOptions {
            url: config.broker_url.clone(),
            client_id: config.id.to_string(),
            username: Some(config.username.clone()),
            password: config.password.clone(),
            ca_file: config.ca_file.clone(),
            ca_pem: config.ca_pem.clone(),
            keep_alive: Duration::from_secs(config.keep_alive_secs),
            last_will: Some((presence_topic, presence(PresenceState::Offline, &session))),
        }
        .to_mqtt_options()?;
        let (client, mut events) = mqtt_link::spawn(options, 256);

        let clock = match config.fake_now {
            Some(start) => {
                warn!(%start, "the player's clock is set to a fake time (fake_now); never do this on a real screen");
                Clock::starting_at(start)
            }
            None => Clock::system(),
        };
        let cache = Arc::new(
            ContentCache::open(&config.cache_dir, Duration::from_secs(config.reverify_secs))?
                .with_controller_ca(config.controller_ca.as_ref())
                .with_credentials(&config.username, config.password.as_deref()),
        );
        let held = Held::load(&config.cache_dir, &config.id).map(Arc::new);
        if let Some(h) = &held {
            info!(
                revision = h.revision,
                "following the cached manifest until the controller is reached"
            );
        }
        let (held_tx, held_rx) = watch::channel(held);
        let plays = Arc::new(Mutex::new(PlayLog::open(&config.cache_dir)?));
        let pending = plays.lock().expect("not poisoned").pending().len();
        if pending > 0 {
            info!(pending, "proof-of-play records wait for the controller");
        }
        let display = crate::display::Display::start(&config, cache.clone())?;
        // Held alerts go on screen before anything else (the renderer exists, the schedule
        // loop does not yet run).
        let audience = crate::alerts::Audience::from_config(state.config());
        let (keeper, alerts_now) = crate::alerts::AlertKeeper::start(
            config.id.clone(),
            config.alert_public_key,
            config.cache_dir.clone(),
            clock,
            client.clone(),
            display.as_ref().map(|(d, _)| d.clone()),
            audience.clone(),
        );
        let (alerts_tx, alerts_rx) = mpsc::channel(256);
        tokio::spawn(keeper.run(alerts_rx));
        let counts = Counts::start(&config, clock, client.clone())?;
        let (sync_tx, sync_rx) = mpsc::channel(64);
        let (now_tx, now_rx) = watch::channel(NowShowing {
            at: clock.now(),
            manifest_revision: None,
            kind: "starting".into(),
            entry: None,
            layout: None,
            zones: vec![],
            reason: None,
        });
        tokio::spawn(
            ContentSync {
                me: config.id.clone(),
                cache: cache.clone(),
                cache_dir: config.cache_dir.clone(),
                held: held_tx,
                client: client.clone(),
            }
            .run(sync_rx),
        );
        tokio::spawn(
            Screen {
                clock,
                cache,
                held: held_rx,
                plays: plays.clone(),
                now: now_tx,
                sync: sync_tx.clone(),
                cache_dir: config.cache_dir.clone(),
                display: display.as_ref().map(|(d, _)| d.clone()),
                audience: counts.audience.clone(),
                alerts: alerts_now,
                power: crate::power::PowerSwitch::start(config.power_command.clone()),
            }
            .run(),
        );
        let display = display.map(|(display, events)| {
            tokio::spawn(
                crate::display::HealthReporter {
                    display: display.clone(),
                    client: client.clone(),
                    id: config.id.clone(),
                    every: Duration::from_secs(config.health_secs),
                }
                .run(events),
            );
            display
        });

        let (update_tx, mut updates) = mpsc::channel(4);
        let build_offers = crate::update::Updater {
            fetch: crate::update::Fetch {
                cache_dir: config.cache_dir.clone(),
                controller_url: config.controller_url.clone(),
                authorization: Some(crate::cache::basic_auth(
                    &config.username,
                    config.password.as_deref(),
                )),
                key: config.alert_public_key,
                controller_ca: config.controller_ca.clone(),
            },
            events: update_tx,
        }
        .start();
        let mut me = Session {
            config,
            state,
            client,
            session,
            started_at: Utc::now(),
            connected: false,
            sync: sync_tx,
            plays,
            in_flight: None,
            now: now_rx,
            display,
            counts,
            alerts: alerts_tx,
            audience,
            restart: false,
            build_offers,
            update: false,
            play_summary: crate::timer::Minutely::new("proof of play"),
        };
        // Plays are sent when one is logged or the connection comes, and a batch again when
        // its acknowledgement is overdue while connected: no timer wakes an idle player.
        let plays_added = me.plays.lock().expect("not poisoned").added();
        // When the `now` report is due (a change waits for the ones right after it).
        let mut now_due: Option<Instant> = None;
        info!(player = %me.config.id, broker = %me.config.broker_url, display = ?me.config.display, "player starting");

        let shutdown = std::pin::pin!(shutdown);
        let mut shutdown = shutdown;
        loop {
            let plays_resend_at =
                timer::resend_due(me.in_flight.as_ref().map(|f| f.1), me.connected);
            tokio::select! {
                event = events.recv() => match event {
                    Some(LinkEvent::Connected) => me.on_connected().await,
                    Some(LinkEvent::Disconnected { .. }) => {
                        me.connected = false;
                        me.counts.notify(SessionEvent::Disconnected);
                    }
                    Some(LinkEvent::Message { topic, payload }) => me.on_message(topic, payload).await,
                    None => anyhow::bail!("MQTT link ended unexpectedly"),
                },
                Ok(()) = me.now.changed() => {
                    now_due.get_or_insert_with(|| Instant::now() + NOW_COALESCE);
                }
                () = timer::sleep_until(now_due) => {
                    now_due = None;
                    me.report_now().await;
                }
                () = plays_added.notified() => me.send_plays().await,
                () = timer::sleep_until(plays_resend_at) => me.send_plays().await,
                () = &mut shutdown => break,
                Some(event) = updates.recv() => match event {
                    crate::update::UpdateEvent::Ready(version) => {
                        info!(%version, "switching to the offered build");
                        me.update = true;
                        break;
                    }
                    crate::update::UpdateEvent::Refused => me.send_hello().await,
                },
            }
            if me.restart {
                info!("restarting as the controller asked");
                break;
            }
        }
        me.goodbye(&mut events).await;
        // What the screen and the alerts last recorded lands before the process ends.
        crate::disk::flush().await;
        Ok(if me.update {
            Ending::Update
        } else if me.restart {
            Ending::Restart
        } else {
            Ending::Shutdown
        })
    }

    fn topic(&self, kind: PlayerTopic) -> String {
        Topic::player(&self.config.id, kind).to_string()
    }

    async fn report_now(&mut self) {
        if !self.connected {
            return;
        }
        let report = self.now.borrow_and_update().clone();
        self.publish(PlayerTopic::Now, protocol::encode(&report))
            .await;
    }

    /// Sends the oldest unacknowledged plays, one batch at a time.
    async fn send_plays(&mut self) {
        if !self.connected {
            return;
        }
        if let Some((_, sent)) = &self.in_flight
            && sent.elapsed() < timer::RESEND_AFTER
        {
            return;
        }
        let records: Vec<_> = {
            let log = self.plays.lock().expect("not poisoned");
            log.pending()
                .iter()
                .take(MAX_PLAYS_PER_BATCH)
                .cloned()
                .collect()
        };
        if records.is_empty() {
            self.in_flight = None;
            return;
        }
        let batch = PlayBatch {
            batch: format!("{:016x}", rand::random::<u64>()),
            records,
        };
        self.in_flight = Some((batch.batch.clone(), Instant::now()));
        self.publish(PlayerTopic::Plays, protocol::encode(&batch))
            .await;
    }

    async fn on_connected(&mut self) {
        CONNECTIONS.seen();
        self.connected = true;
        self.in_flight = None;
        // What the contract lets a player read, less what this one has no use for.
        let reads = protocol::contract::player_reads().filter(|kind| match kind {
            PlayerTopic::ScreenshotRequest => self.display.is_some(),
            PlayerTopic::CountsAck => self.counts.enabled(),
            _ => true,
        });
        for kind in reads {
            if let Err(e) = self
                .client
                .subscribe(self.topic(kind), QoS::AtLeastOnce)
                .await
            {
                warn!(%e, "cannot subscribe");
            }
        }
        for filter in self.audience.subscriptions(&self.config.id) {
            if let Err(e) = self.client.subscribe(filter, QoS::AtLeastOnce).await {
                warn!(%e, "cannot subscribe to alerts");
            }
        }
        let _ = self.alerts.send(crate::alerts::Input::Connected).await;
        self.announce().await;
        self.counts.notify(SessionEvent::Connected);
        self.send_hello().await;
        self.report_now().await;
        // What was logged while offline (or was in flight when the connection went).
        self.send_plays().await;
        println!(
            "player {}: online at {}",
            self.config.id, self.config.broker_url
        );
    }

    /// Who this player is and what it can do, its build and the last build that failed.
    async fn send_hello(&self) {
        if !self.connected {
            return;
        }
        let hello = Hello {
            id: self.config.id.clone(),
            version: crate::update::running_version(),
            capabilities: ["content_cache", "proof_of_play"]
                .into_iter()
                .chain(self.display.is_some().then_some("render"))
                .chain(self.counts.enabled().then_some("camera"))
                .map(String::from)
                .collect(),
            screen: self.config.screen,
            display: self.config.display,
            started_at: self.started_at,
            config_revision: self.state.config().map(|c| c.revision),
            failed_build: crate::update::UpdateState::load(&self.config.cache_dir).failed,
        };
        self.publish(PlayerTopic::Hello, protocol::encode(&hello))
            .await;
    }

    async fn announce(&self) {
        self.publish(
            PlayerTopic::Presence,
            presence(PresenceState::Online, &self.session),
        )
        .await;
    }

    async fn publish(&self, kind: PlayerTopic, payload: Vec<u8>) {
        let topic = Topic::player(&self.config.id, kind);
        if let Err(e) = mqtt_link::publish(&self.client, &topic, payload).await {
            warn!(%e, "cannot queue an MQTT message");
        }
    }

    /// Opens a signed controller message; a forged or unsigned one is refused and reported
    /// in health, like a refused alert.
    async fn open<T: SignedPayload>(&self, topic: &str, sealed: &Signed<T>) -> Option<T> {
        let opened = match &self.config.alert_public_key {
            Some(key) => sealed.open(|e| alerts::signing::verify_desired(e, key)),
            None => Err(WireError::Signature {
                kind: T::KIND,
                reason: "the player holds no controller public key; provision it again with \
                         `signage-controller player add`"
                    .into(),
            }),
        };
        match opened {
            Ok(message) => Some(message),
            Err(e) => {
                self.refuse(topic, e.to_string()).await;
                None
            }
        }
    }

    async fn refuse(&self, topic: &str, reason: String) {
        let rejected = crate::alerts::Input::Rejected {
            topic: topic.to_string(),
            reason,
        };
        if self.alerts.send(rejected).await.is_err() {
            warn!("the alert task has stopped; a refusal goes unreported in health");
        }
    }

    /// Follows a new ward or group: alert subscriptions and the alert task's targets.
    async fn follow_audience(&mut self) {
        let audience = crate::alerts::Audience::from_config(self.state.config());
        if audience == self.audience {
            return;
        }
        let old = self.audience.subscriptions(&self.config.id);
        let new = audience.subscriptions(&self.config.id);
        for filter in old.iter().filter(|f| !new.contains(f)) {
            let _ = self.client.unsubscribe(filter.clone()).await;
        }
        for filter in new.iter().filter(|f| !old.contains(f)) {
            if let Err(e) = self
                .client
                .subscribe(filter.clone(), QoS::AtLeastOnce)
                .await
            {
                warn!(%e, "cannot subscribe to alerts");
            }
        }
        info!(ward = ?audience.ward, groups = ?audience.groups, "alert subscriptions follow the configuration");
        self.audience = audience.clone();
        let _ = self
            .alerts
            .send(crate::alerts::Input::Audience(audience))
            .await;
    }

    async fn on_message(&mut self, topic: String, payload: mqtt_link::Bytes) {
        if crate::alerts::is_alert_topic(&topic) {
            let input = crate::alerts::Input::Message { topic, payload };
            if self.alerts.send(input).await.is_err() {
                warn!("the alert task has stopped; alert message dropped");
            }
            return;
        }
        let (topic, payload) = (topic.as_str(), &payload[..]);
        let message = match protocol::decode_to_player(topic, payload) {
            Ok((id, message)) if id == self.config.id => message,
            Ok((id, _)) => {
                warn!(%id, "dropped a message addressed to another player");
                return;
            }
            Err(e) => {
                warn!(topic = %topic.chars().take(200).collect::<String>(), bytes = payload.len(), error = %e, "dropped MQTT message");
                return;
            }
        };
        match message {
            ToPlayer::Config(sealed) => {
                let Some(config) = self.open(topic, &sealed).await else {
                    return;
                };
                // Connected and holding what the controller signed: a build on trial is online.
                if self.connected {
                    crate::update::confirm_if_trial(&self.config.cache_dir);
                }
                self.build_offers.send_if_modified(|offer| {
                    let changed = *offer != config.build;
                    offer.clone_from(&config.build);
                    changed
                });
                let revision = config.revision;
                let ack = match self.state.offer(config) {
                    Ok(Offer::Applied { restart }) => {
                        info!(revision, restart, "configuration applied");
                        self.restart |= restart;
                        Ack {
                            subject: AckSubject::Config,
                            revision,
                            ok: true,
                            error: None,
                        }
                    }
                    Ok(Offer::Stale { held }) => Ack {
                        subject: AckSubject::Config,
                        revision,
                        ok: false,
                        error: Some(format!(
                            "revision {revision} is older than the held revision {held}"
                        )),
                    },
                    Err(e) => Ack {
                        subject: AckSubject::Config,
                        revision,
                        ok: false,
                        error: Some(format!("cannot store the configuration: {e}")),
                    },
                };
                self.publish(PlayerTopic::Ack, protocol::encode(&ack)).await;
                self.follow_audience().await;
            }
            // The broker holds "offline" for us while we are connected: the Last Will of an
            // earlier connection fired late. Say again that we are here.
            ToPlayer::Presence(p) if p.state == PresenceState::Offline && self.connected => {
                info!("replacing a stale offline presence");
                self.announce().await;
            }
            ToPlayer::Presence(_) => {}
            ToPlayer::Manifest(sealed) => {
                let Some(reference) = self.open(topic, &sealed).await else {
                    return;
                };
                // Content comes only from the controller pinned by `player add`: a manifest
                // elsewhere would also be fetched with this player's credentials.
                let origin = crate::sync::origin(&reference.url).ok();
                if origin.as_deref() != Some(self.config.controller_url.as_str()) {
                    let reason = format!(
                        "manifest URL {:?} is not on the pinned controller {}",
                        reference.url.chars().take(200).collect::<String>(),
                        self.config.controller_url
                    );
                    self.refuse(topic, reason).await;
                    return;
                }
                if self
                    .sync
                    .try_send(SyncRequest::Manifest(reference))
                    .is_err()
                {
                    warn!(
                        "the content sync is busy; the manifest is taken up on the next reference"
                    );
                }
            }
            ToPlayer::ScreenshotRequest(sealed) => {
                let Some(request) = self.open(topic, &sealed).await else {
                    return;
                };
                match &self.display {
                    Some(display) => display.answer_screenshot(request),
                    None => warn!("dropped a screenshot request: this player does not render"),
                }
            }
            ToPlayer::CountsAck(ack) => self.counts.notify(SessionEvent::Ack(ack)),
            ToPlayer::PlaysAck(ack) => {
                let removed = self
                    .plays
                    .lock()
                    .expect("not poisoned")
                    .acknowledge(&ack.ids);
                match removed {
                    Ok(n) => {
                        tracing::debug!(batch = %ack.batch, removed = n, "proof of play acknowledged");
                        self.play_summary.acknowledged(n as u64);
                    }
                    Err(e) => warn!(%e, "cannot update the proof-of-play log"),
                }
                if self
                    .in_flight
                    .as_ref()
                    .is_some_and(|(b, _)| *b == ack.batch)
                {
                    self.in_flight = None;
                    self.send_plays().await;
                }
            }
        }
    }

    /// A clean exit says "offline" itself (the broker discards the Last Will on a clean
    /// disconnect) and waits briefly for it to leave.
    async fn goodbye(&self, events: &mut tokio::sync::mpsc::Receiver<LinkEvent>) {
        info!("shutting down");
        if !self.connected {
            return;
        }
        self.publish(
            PlayerTopic::Presence,
            presence(PresenceState::Offline, &self.session),
        )
        .await;
        let _ = self.client.disconnect().await;
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(event) = events.recv().await {
                if matches!(event, LinkEvent::Disconnected { .. }) {
                    break;
                }
            }
        })
        .await;
    }
}

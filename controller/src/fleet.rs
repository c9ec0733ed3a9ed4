//! The controller's side of the MQTT contract: it listens to what players say and keeps every
//! player's desired configuration published.
//!
//! The controller is the source of truth and the broker only transport: after every
//! (re)connection all desired configurations are republished (retained), so a restarted or
//! emptied broker is repaired within one round trip. A short reconcile tick also publishes what
//! changed in the store meanwhile (e.g. a player registered by `player add` while serving).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use content::protocol::{
    self, CONTROLLER_SUBSCRIPTIONS, FromPlayer, PlayerTopic, Presence, PresenceState, Topic,
};
use mqtt_link::LinkEvent;
use rumqttc::{AsyncClient, MqttOptions, QoS};
use tracing::{debug, info, warn};

use crate::store::{PresenceChange, Store};

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

/// The controller's presence while it is up; the Last Will says the opposite.
pub fn controller_presence(state: PresenceState, session: &str) -> (String, Vec<u8>) {
    (
        Topic::ControllerPresence.to_string(),
        protocol::encode(&Presence {
            state,
            session: session.to_string(),
        }),
    )
}

pub struct Fleet {
    store: Store,
    client: AsyncClient,
    status: Arc<LinkStatus>,
    session: String,
    /// Revision last published per player, to publish only what changed.
    published: HashMap<String, u64>,
}

impl Fleet {
    /// Connects and runs until the process ends. Returns the client for a clean shutdown.
    pub fn spawn(
        store: Store,
        options: MqttOptions,
        status: Arc<LinkStatus>,
        session: String,
    ) -> AsyncClient {
        let (client, events) = mqtt_link::spawn(options, 4096);
        let fleet = Fleet {
            store,
            client: client.clone(),
            status,
            session,
            published: HashMap::new(),
        };
        tokio::spawn(fleet.run(events));
        client
    }

    async fn run(mut self, mut events: tokio::sync::mpsc::Receiver<LinkEvent>) {
        let mut tick = tokio::time::interval(RECONCILE_EVERY);
        loop {
            tokio::select! {
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
        for filter in CONTROLLER_SUBSCRIPTIONS {
            if let Err(e) = self.client.subscribe(filter, QoS::AtLeastOnce).await {
                warn!(%e, filter, "cannot subscribe");
            }
        }
        let (topic, payload) = controller_presence(PresenceState::Online, &self.session);
        let _ = self
            .client
            .publish(topic, QoS::AtLeastOnce, true, payload)
            .await;
        // The broker may be new or emptied: republish everything players must know.
        self.published.clear();
        self.reconcile().await;
    }

    async fn reconcile(&mut self) {
        let configs = match self.store.desired_configs().await {
            Ok(c) => c,
            Err(e) => {
                warn!(%e, "cannot read desired configurations; retrying");
                return;
            }
        };
        let mut count = 0;
        for config in configs {
            if self.published.get(config.id.as_str()) == Some(&config.revision) {
                continue;
            }
            let topic = Topic::player(&config.id, PlayerTopic::Config).to_string();
            match self
                .client
                .publish(topic, QoS::AtLeastOnce, true, protocol::encode(&config))
                .await
            {
                Ok(()) => {
                    self.published
                        .insert(config.id.to_string(), config.revision);
                    count += 1;
                }
                Err(e) => warn!(%e, player = %config.id, "cannot publish configuration"),
            }
        }
        if count > 0 {
            info!(count, "published desired player configurations");
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
        };
        if let Err(e) = result {
            warn!(player = %id, %e, "cannot store a player message");
        }
    }
}

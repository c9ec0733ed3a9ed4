//! One MQTT client connection, used the same way by players and the controller.
//!
//! Both sides talk to the broker through [`spawn`]: a task that owns rumqttc's event loop and
//! never blocks it (rumqttc stops sending keep-alives while `poll()` is not called), reconnects
//! with capped exponential back-off, and turns what arrives into [`LinkEvent`]s on a bounded
//! channel. Subscriptions are the caller's job on every [`LinkEvent::Connected`], because a
//! clean session forgets them.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

pub use bytes::Bytes;
use content::protocol::Topic;
use rumqttc::{
    AsyncClient, ClientError, ConnectReturnCode, Event, LastWill, MqttOptions, Packet, QoS,
    TlsConfiguration, Transport,
};
use tokio::sync::mpsc;
use tracing::{info, warn};

/// Largest MQTT packet accepted from the broker. Above the protocol's payload limit on purpose:
/// an oversized message then reaches the decoder, which logs and drops it, instead of tearing
/// down the whole connection.
pub const MAX_PACKET_BYTES: usize = 1024 * 1024;

/// How long one connection attempt may take, TCP and MQTT handshakes together.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(
        "invalid broker URL {url:?}: {reason} (expected mqtt://host:port or mqtts://host:port)"
    )]
    InvalidUrl { url: String, reason: String },
    #[error("cannot read CA file {path}: {reason}")]
    CaFile { path: PathBuf, reason: String },
    #[error("TLS set-up failed: {0}")]
    Tls(String),
}

/// Where the broker is: `mqtt://host:port` (plain TCP, default port 1883) or `mqtts://host:port`
/// (TLS, default port 8883).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    pub tls: bool,
    pub host: String,
    pub port: u16,
}

impl FromStr for BrokerUrl {
    type Err = LinkError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: &str| LinkError::InvalidUrl {
            url: s.to_string(),
            reason: reason.to_string(),
        };
        let url = url::Url::parse(s).map_err(|e| invalid(&e.to_string()))?;
        let tls = match url.scheme() {
            "mqtt" | "tcp" => false,
            "mqtts" | "ssl" => true,
            other => return Err(invalid(&format!("unknown scheme {other:?}"))),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(
                "credentials do not belong in the URL; use the username and password settings",
            ));
        }
        if url.path() != "" && url.path() != "/" {
            return Err(invalid("a broker URL has no path"));
        }
        let host = url
            .host_str()
            .ok_or_else(|| invalid("missing host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = url.port().unwrap_or(if tls { 8883 } else { 1883 });
        Ok(BrokerUrl { tls, host, port })
    }
}

impl fmt::Display for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// Everything needed to open a connection.
#[derive(Debug, Clone)]
pub struct LinkOptions {
    pub url: BrokerUrl,
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// PEM file with the CA that signed the broker's certificate; for `mqtts://` only. Without
    /// it the system's trusted roots are used.
    pub ca_file: Option<PathBuf>,
    /// The CA as PEM text (what `player add` writes for the embedded broker's own CA); wins
    /// over `ca_file`.
    pub ca_pem: Option<String>,
    pub keep_alive: Duration,
    /// Retained QoS 1 message the broker publishes if this client vanishes.
    pub last_will: Option<(String, Vec<u8>)>,
}

impl LinkOptions {
    pub fn to_mqtt_options(&self) -> Result<MqttOptions, LinkError> {
        let mut options = MqttOptions::new(&self.client_id, &self.url.host, self.url.port);
        options.set_keep_alive(self.keep_alive.max(Duration::from_secs(1)));
        options.set_clean_session(true);
        options.set_max_packet_size(MAX_PACKET_BYTES, MAX_PACKET_BYTES);
        if let Some(user) = &self.username {
            options.set_credentials(user, self.password.clone().unwrap_or_default());
        }
        if let Some((topic, payload)) = &self.last_will {
            options.set_last_will(LastWill::new(
                topic,
                payload.clone(),
                QoS::AtLeastOnce,
                true,
            ));
        }
        if self.url.tls {
            let ca = match (&self.ca_pem, &self.ca_file) {
                (Some(pem), _) => Some((pem.as_bytes().to_vec(), PathBuf::from("ca_pem"))),
                (None, Some(path)) => Some((
                    std::fs::read(path).map_err(|e| LinkError::CaFile {
                        path: path.clone(),
                        reason: e.to_string(),
                    })?,
                    path.clone(),
                )),
                (None, None) => None,
            };
            options.set_transport(Transport::tls_with_config(tls_config(ca)?));
        } else if self.ca_file.is_some() || self.ca_pem.is_some() {
            warn!(url = %self.url, "a CA file is configured but the broker URL is not mqtts://; the CA file is ignored");
        }
        Ok(options)
    }
}

/// `ca`: the CA's PEM bytes and where they came from (for errors); `None`: the system's roots.
fn tls_config(ca: Option<(Vec<u8>, PathBuf)>) -> Result<TlsConfiguration, LinkError> {
    // Several crates may race to install a provider; any installed ring provider is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    match ca {
        Some((pem, path)) => {
            let ca_error = |reason: String| LinkError::CaFile {
                path: path.clone(),
                reason,
            };
            let certs = rustls_pemfile::certs(&mut pem.as_slice())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ca_error(e.to_string()))?;
            if certs.is_empty() {
                return Err(ca_error("no PEM certificate found in the file".into()));
            }
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| ca_error(format!("certificate refused: {e}")))?;
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(native.certs);
            if roots.is_empty() {
                return Err(LinkError::Tls(
                    "no CA file configured and no system root certificates found".into(),
                ));
            }
        }
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConfiguration::Rustls(Arc::new(config)))
}

/// The QoS the contract gives a topic.
pub fn qos(topic: &Topic) -> QoS {
    match topic.qos() {
        0 => QoS::AtMostOnce,
        _ => QoS::AtLeastOnce,
    }
}

/// Publishes on a contract topic with the QoS and retain flag of its row in
/// `content::protocol::CONTRACT`: the one way either side publishes.
pub async fn publish(
    client: &AsyncClient,
    topic: &Topic,
    payload: impl Into<Bytes>,
) -> Result<(), ClientError> {
    client
        .publish(
            topic.to_string(),
            qos(topic),
            topic.retained(),
            payload.into(),
        )
        .await
}

/// [`publish`] without waiting for room in the client's queue (fails when it is full).
pub fn try_publish(
    client: &AsyncClient,
    topic: &Topic,
    payload: impl Into<Bytes>,
) -> Result<(), ClientError> {
    client.try_publish(
        topic.to_string(),
        qos(topic),
        topic.retained(),
        payload.into(),
    )
}

/// Deletes the sender's own retained message on `topic` (an empty retained publish), where
/// the contract lets the sender clear it.
pub fn try_clear(client: &AsyncClient, topic: &Topic) -> Result<(), ClientError> {
    debug_assert!(topic.spec().sender_clears, "{topic} may not be cleared");
    client.try_publish(topic.to_string(), qos(topic), true, Bytes::new())
}

/// What the link tells its owner.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkEvent {
    /// The broker accepted the connection. Subscribe and republish state now.
    Connected,
    /// The connection was lost or refused; the link retries by itself.
    Disconnected { reason: String },
    Message {
        topic: String,
        /// The publish's own buffer, not a copy: an alert is 4 kB and a process may hold a
        /// thousand players (the `alert-fanout` benchmark).
        payload: Bytes,
    },
}

/// Opens the connection in a background task. The returned client publishes and subscribes;
/// events arrive on the receiver. The task ends when the receiver is dropped.
pub fn spawn(
    options: MqttOptions,
    events_capacity: usize,
) -> (AsyncClient, mpsc::Receiver<LinkEvent>) {
    let broker = options.broker_address();
    let (client, mut event_loop) = AsyncClient::new(options, 256);
    // Without TCP_NODELAY, a small publish (an alert acknowledgement right after the PUBACK of
    // the alert) waits for the broker's delayed TCP ACK: about 40 ms on Linux.
    let mut network = event_loop.network_options();
    network.set_tcp_nodelay(true);
    // Time for the TCP connection and the broker's CONNACK. rumqttc's 5 s is short when a
    // thousand screens come back at once (after a power cut): an attempt given up too early
    // still reaches the broker later and, as a duplicate client id, throws out the connection
    // that did succeed, and the storm feeds itself.
    network.set_connection_timeout(CONNECT_TIMEOUT.as_secs());
    event_loop.set_network_options(network);
    let (tx, rx) = mpsc::channel(events_capacity);
    tokio::spawn(async move {
        let mut backoff = Backoff::default();
        let mut ever_connected = false;
        loop {
            let event = match event_loop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    if ack.code == ConnectReturnCode::Success {
                        info!(host = %broker.0, port = broker.1, "connected to MQTT broker");
                        backoff.reset();
                        LinkEvent::Connected
                    } else {
                        LinkEvent::Disconnected {
                            reason: format!("broker refused the connection: {:?}", ack.code),
                        }
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => LinkEvent::Message {
                    topic: p.topic,
                    payload: p.payload,
                },
                // The owner said goodbye (`AsyncClient::disconnect`): done, no reconnecting.
                Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => {
                    let _ = tx
                        .send(LinkEvent::Disconnected {
                            reason: "disconnected on request".into(),
                        })
                        .await;
                    return;
                }
                Ok(_) => continue,
                Err(e) => LinkEvent::Disconnected {
                    reason: describe_connection_error(&e),
                },
            };
            let retry = match &event {
                LinkEvent::Connected => {
                    ever_connected = true;
                    None
                }
                // A broker that starts beside us (the embedded one, or at boot) may need a
                // moment; that is not yet worth a warning.
                LinkEvent::Disconnected { reason } if !ever_connected => {
                    info!(host = %broker.0, port = broker.1, %reason, "MQTT broker not reachable yet; retrying");
                    Some(backoff.next_delay())
                }
                LinkEvent::Disconnected { reason } => {
                    warn!(host = %broker.0, port = broker.1, %reason, "MQTT connection lost; retrying");
                    Some(backoff.next_delay())
                }
                LinkEvent::Message { .. } => None,
            };
            if tx.send(event).await.is_err() {
                return;
            }
            if let Some(delay) = retry {
                tokio::time::sleep(jitter(delay)).await;
            }
        }
    });
    (client, rx)
}

fn describe_connection_error(e: &rumqttc::ConnectionError) -> String {
    match e {
        rumqttc::ConnectionError::ConnectionRefused(code) => {
            format!("broker refused the connection ({code:?}): check the username and password")
        }
        rumqttc::ConnectionError::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "nothing listens at the broker address (is the broker running?)".to_string()
        }
        other => other.to_string(),
    }
}

/// Capped exponential back-off: fast first retries (a restarted broker is back within a
/// second), then at most one attempt every five seconds so thousands of players do not hammer
/// a recovering broker.
#[derive(Debug)]
struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(200);
    const MAX: Duration = Duration::from_secs(5);

    fn reset(&mut self) {
        self.next = Self::FIRST;
    }

    fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        delay
    }
}

/// Spreads a retry delay over half to one and a half times itself: players that lost the
/// broker together (a broker restart, a power cut) come back spread out, instead of hitting it
/// in the same instant again on every retry.
fn jitter(delay: Duration) -> Duration {
    delay.mul_f64(rand::random::<f64>() + 0.5)
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: Self::FIRST }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls_parse_with_default_ports() {
        let u: BrokerUrl = "mqtt://broker.example:1884".parse().unwrap();
        assert_eq!(
            (u.tls, u.host.as_str(), u.port),
            (false, "broker.example", 1884)
        );
        let u: BrokerUrl = "mqtts://broker.example".parse().unwrap();
        assert_eq!((u.tls, u.port), (true, 8883));
        let u: BrokerUrl = "mqtt://127.0.0.1".parse().unwrap();
        assert_eq!(u.to_string(), "mqtt://127.0.0.1:1883");
        let u: BrokerUrl = "mqtt://[::1]:2000".parse().unwrap();
        assert_eq!(
            (u.host.as_str(), u.to_string().as_str()),
            ("::1", "mqtt://[::1]:2000")
        );
    }

    #[test]
    fn bad_broker_urls_say_what_is_wrong() {
        for (bad, hint) in [
            ("http://x:1", "unknown scheme"),
            ("mqtt://user:pw@x:1", "credentials"),
            ("mqtt://x:1/topic", "no path"),
            ("not a url", "invalid broker URL"),
        ] {
            let err = bad.parse::<BrokerUrl>().unwrap_err().to_string();
            assert!(err.contains(hint), "{bad}: {err}");
        }
    }

    #[test]
    fn missing_ca_file_is_a_clear_error() {
        let options = LinkOptions {
            url: "mqtts://localhost:8883".parse().unwrap(),
            client_id: "t".into(),
            username: None,
            password: None,
            ca_file: Some("/nonexistent/ca.pem".into()),
            ca_pem: None,
            keep_alive: Duration::from_secs(5),
            last_will: None,
        };
        let err = options.to_mqtt_options().unwrap_err().to_string();
        assert!(err.contains("/nonexistent/ca.pem"), "{err}");
    }

    #[test]
    fn backoff_grows_to_a_cap_and_resets() {
        let mut b = Backoff::default();
        let delays: Vec<_> = (0..8).map(|_| b.next_delay()).collect();
        assert_eq!(delays[0], Backoff::FIRST);
        assert!(delays.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(*delays.last().unwrap(), Backoff::MAX);
        b.reset();
        assert_eq!(b.next_delay(), Backoff::FIRST);
    }

    #[test]
    fn jitter_stays_within_half_and_one_and_a_half_times() {
        let d = Duration::from_millis(1000);
        let spread: Vec<_> = (0..200).map(|_| jitter(d)).collect();
        assert!(spread.iter().all(|j| *j >= d / 2 && *j < d * 3 / 2));
        // Spread out, not one value: 200 draws never all land in one 100 ms band.
        let (lo, hi) = (spread.iter().min().unwrap(), spread.iter().max().unwrap());
        assert!(*hi - *lo > Duration::from_millis(100), "{lo:?}..{hi:?}");
    }
}

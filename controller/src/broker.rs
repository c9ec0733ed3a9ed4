//! The embedded MQTT broker (rumqttd), running inside the controller process.
//!
//! Why rumqttd: see `docs/adr/0001-embedded-broker.md`. It has no topic ACLs, so it listens
//! on loopback only, behind the gate (`mqtt_gate`, ADR 0002): clients connect to the gate,
//! which checks each login against the player registry and every packet against the contract,
//! and logs players in to rumqttd with a per-process secret that nothing else knows. The
//! controller's own connection goes to rumqttd directly. rumqttd keeps retained messages only
//! in memory, so the controller republishes desired state whenever it (re)connects.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};

use anyhow::Context;
use content::protocol::CONTROLLER_USERNAME;
use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};
use tracing::{error, warn};

use crate::store::Store;

/// A running embedded broker.
pub struct EmbeddedBroker {
    /// The address clients connect to: the gate (port 0 in the configuration is resolved).
    pub addr: SocketAddr,
    /// The `mqtts://` address, when configured.
    pub tls_addr: Option<SocketAddr>,
    /// rumqttd itself, on loopback: the controller's own connection goes here.
    pub internal: SocketAddr,
    /// The controller's own login; random per process, never written anywhere.
    pub controller_password: String,
}

/// Most clients one broker process accepts; beyond this, use an external broker cluster.
const MAX_CONNECTIONS: usize = 10_010;

/// Starts rumqttd on a loopback port and the gate on `listen`; call within a tokio runtime.
pub fn start(
    listen: SocketAddr,
    tls: Option<(SocketAddr, std::sync::Arc<rustls::ServerConfig>)>,
    store: Store,
    direct: tokio::sync::mpsc::Sender<(String, bytes::Bytes)>,
    cuts: tokio::sync::broadcast::Sender<content::protocol::PlayerId>,
) -> anyhow::Result<EmbeddedBroker> {
    let public = TcpListener::bind(listen).with_context(|| {
        format!(
            "cannot listen for MQTT on {listen}: another broker (e.g. Mosquitto) may use it; pick another address with --mqtt-listen"
        )
    })?;
    let addr = public.local_addr()?;
    public.set_nonblocking(true)?;
    // rumqttd binds inside its own thread and only logs a failure: resolve a free loopback
    // port here first.
    let internal = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))?.local_addr()?;
    let controller_password = random_token();
    let secret = random_token();
    let gate = std::sync::Arc::new(crate::mqtt_gate::Gate {
        store,
        backend: internal,
        secret: secret.clone(),
        controller_password: controller_password.clone(),
        max_packet: mqtt_link::MAX_PACKET_BYTES,
        connections: std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS)),
        new_backend: tokio::sync::Notify::new(),
        direct: Some(direct),
        cuts,
    });
    let tls = match tls {
        Some((tls_listen, config)) => {
            let listener = TcpListener::bind(tls_listen).with_context(|| {
                format!("cannot listen for MQTT over TLS on {tls_listen}: pick another address in mqtt.tls_listen")
            })?;
            listener.set_nonblocking(true)?;
            Some((listener, tokio_rustls::TlsAcceptor::from(config)))
        }
        None => None,
    };
    let tls_addr = tls.as_ref().map(|(l, _)| l.local_addr()).transpose()?;
    // The gate on a thread and runtime of its own, as rumqttd has: relaying every message of a
    // thousand screens must not wait behind, or wake, the controller's HTTP and database work.
    std::thread::Builder::new()
        .name("mqtt-gate".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => return error!(%e, "cannot start the MQTT gate"),
            };
            runtime.block_on(async move {
                tokio::spawn(crate::mqtt_gate::nagle_off_at_the_broker(gate.clone()));
                let listen = |l: TcpListener| tokio::net::TcpListener::from_std(l);
                if let Some((listener, acceptor)) = tls {
                    match listen(listener) {
                        Ok(l) => {
                            tokio::spawn(crate::mqtt_gate::serve(l, gate.clone(), Some(acceptor)));
                        }
                        Err(e) => error!(%e, "cannot listen for MQTT over TLS"),
                    }
                }
                match listen(public) {
                    Ok(l) => crate::mqtt_gate::serve(l, gate, None).await,
                    Err(e) => error!(%e, "cannot listen for MQTT"),
                }
            });
        })?;
    let expected = controller_password.clone();
    let mut connections = ConnectionSettings {
        connection_timeout_ms: 5_000,
        max_payload_size: mqtt_link::MAX_PACKET_BYTES,
        max_inflight_count: 100,
        auth: None,
        external_auth: None,
        dynamic_filters: true,
    };
    // Only the gate (with the secret) and the controller itself log in here.
    connections.set_auth_handler(move |client_id: String, username: String, password: String| {
        let accepted = if username == CONTROLLER_USERNAME {
            client_id == CONTROLLER_USERNAME && password == expected
        } else {
            client_id == username && password == secret
        };
        if !accepted {
            warn!(client_id = %truncate(&client_id), "refused a login on the internal MQTT port: only the gate and the controller use it");
        }
        async move { accepted }
    });
    let server = ServerSettings {
        name: "v4".into(),
        listen: internal,
        tls: None,
        next_connection_delay_ms: 1,
        connections,
    };
    let config = Config {
        id: 0,
        router: RouterConfig {
            max_connections: MAX_CONNECTIONS,
            max_outgoing_packet_count: 200,
            max_segment_size: 100 * 1024 * 1024,
            max_segment_count: 10,
            ..Default::default()
        },
        v4: Some(HashMap::from([("v4".to_string(), server)])),
        ..Default::default()
    };
    let mut broker = Broker::new(config);
    std::thread::Builder::new()
        .name("mqtt-broker".into())
        .spawn(move || {
            if let Err(e) = broker.start() {
                error!(%e, "embedded MQTT broker stopped");
            }
        })?;
    Ok(EmbeddedBroker {
        addr,
        tls_addr,
        internal,
        controller_password,
    })
}

/// Turns Nagle's algorithm off on the broker's side of this process's own connections to the
/// embedded broker at `addr` (the address the controller connects to); returns how many
/// sockets it changed.
///
/// Why: rumqttd accepts connections without `TCP_NODELAY` and has no option for it, and the
/// controller subscribes at QoS 0, so it sends nothing back that would carry a TCP ACK. A
/// small message to the controller right after another (an alert acknowledgement after the
/// previous one) then waited for the controller's delayed ACK, up to 40 ms: with 100 screens
/// the slowest acknowledgement arrived in 55 ms instead of 17. The broker runs in this process,
/// so its end of the controller's connection is one of our own sockets.
pub fn no_delay_towards_this_process(addr: SocketAddr) -> std::io::Result<usize> {
    use std::os::fd::{BorrowedFd, RawFd};
    let fds: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    let tcp = |fd: RawFd| {
        // SAFETY: `fd` was open a moment ago and is only borrowed for a few socket calls; if
        // another thread closed it meanwhile, they fail (EBADF) or act on whatever socket
        // reuses the number, and a match below needs the broker's address on both ends.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        let socket = socket2::SockRef::from(&fd);
        if socket.r#type().ok()? != socket2::Type::STREAM {
            return None;
        }
        let local = socket.local_addr().ok()?.as_socket()?;
        let peer = socket.peer_addr().ok()?.as_socket()?;
        Some((local, peer))
    };
    let ends: Vec<(RawFd, SocketAddr, SocketAddr)> = fds
        .into_iter()
        .filter_map(|fd| tcp(fd).map(|(local, peer)| (fd, local, peer)))
        .collect();
    // Our clients' ends (connected to the broker), then the broker's ends of those.
    let clients: std::collections::HashSet<SocketAddr> = ends
        .iter()
        .filter(|(_, _, peer)| *peer == addr)
        .map(|(_, local, _)| *local)
        .collect();
    let mut changed = 0;
    for (fd, local, peer) in ends {
        if local == addr && clients.contains(&peer) {
            // SAFETY: as above.
            let fd = unsafe { BorrowedFd::borrow_raw(fd) };
            socket2::SockRef::from(&fd).set_tcp_nodelay(true)?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// 256 random bits, hex-encoded: used for player and controller MQTT passwords.
pub fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Client-supplied strings go into logs shortened, so a hostile client cannot flood them.
fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nagle_goes_off_on_the_broker_side_of_our_own_connections_only() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = std::net::TcpStream::connect(addr).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        // Another listener's accepted connection is left alone.
        let other = TcpListener::bind("127.0.0.1:0").unwrap();
        let _other_client = std::net::TcpStream::connect(other.local_addr().unwrap()).unwrap();
        let (other_accepted, _) = other.accept().unwrap();
        assert!(!accepted.nodelay().unwrap());
        assert_eq!(no_delay_towards_this_process(addr).unwrap(), 1);
        assert!(accepted.nodelay().unwrap());
        assert!(
            !client.nodelay().unwrap(),
            "the client's own end is its business"
        );
        assert!(!other_accepted.nodelay().unwrap());
    }
}

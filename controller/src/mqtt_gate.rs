//! The embedded broker's gate: every MQTT client of the embedded broker connects here, and the
//! gate enforces the contract's access rules (`content::protocol::contract`) per connection
//! before anything reaches rumqttd, which checks logins only (ADR 0002).
//!
//! The gate checks the login against the store, the Last Will against the client's own
//! presence topic, and then reads every packet the client sends: a PUBLISH the contract does
//! not allow this client (another player's topic, a wrong retain flag, a deletion of someone
//! else's retained message) is dropped, logged and, at QoS 1, acknowledged so the client does
//! not resend it; a SUBSCRIBE filter it may not read is answered with the failure code 0x80.
//! What the broker sends back is copied whole packets at a time, so the gate's own answers
//! land between packets. rumqttd listens on loopback and accepts only the gate's secret (and
//! the controller's own login), so no client can go around the gate.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use content::protocol::contract::{self, Client, Refusal};
use content::protocol::{AlertScope, CONTROLLER_USERNAME, PlayerId, ROOT};
use rumqttd::protocol::v4::V4;
use rumqttd::protocol::{Login, Packet, Protocol};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tracing::{debug, error, info, warn};

use crate::store::Store;

/// How long a new connection may take to send its CONNECT.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Answers of the gate's own (PUBACK, SUBACK) waiting for a gap between the broker's packets.
const ANSWERS: usize = 64;
/// Where a refused filter goes in a SUBSCRIBE that also has allowed ones: nobody may publish
/// there, so it matches nothing.
const NOWHERE: &str = "signage/v1/refused";

/// Who may pass, and where the broker is.
pub struct Gate {
    pub store: Store,
    /// rumqttd's loopback address.
    pub backend: SocketAddr,
    /// The password the gate logs players in to rumqttd with; rumqttd accepts it only.
    pub secret: String,
    pub controller_password: String,
    /// Largest packet either way (the broker's limit).
    pub max_packet: usize,
    pub connections: Arc<Semaphore>,
    /// Told of every new connection to rumqttd, for [`nagle_off_at_the_broker`].
    pub new_backend: tokio::sync::Notify,
    /// The controller's inbox for what players send (topic, payload), when it runs in this
    /// process; `None` sends everything through the broker.
    pub direct: Option<mpsc::Sender<(String, Bytes)>>,
    /// Players whose connections must end now (credentials revoked or reissued, retired).
    pub cuts: tokio::sync::broadcast::Sender<PlayerId>,
}

/// Room for cuts not yet seen by every connection; cuts are rare staff actions.
pub const CUTS: usize = 256;

/// Turns Nagle's algorithm off on rumqttd's end of the gate's connections (rumqttd has no
/// option for it, and its sockets are this process's own): with it on, a message to a screen
/// right after another waited for the gate's delayed TCP ACK (1,000 screens: p99 of an alert
/// 123 ms with this, 160 ms without). A sweep of this process's sockets after connections
/// arrive (gathered over 100 ms, repeated once a second later for late accepts), not one per
/// connection: a thousand screens connecting at once cost a few sweeps.
pub async fn nagle_off_at_the_broker(gate: Arc<Gate>) {
    loop {
        gate.new_backend.notified().await;
        for wait in [Duration::from_millis(100), Duration::from_secs(1)] {
            tokio::time::sleep(wait).await;
            let backend = gate.backend;
            let swept = tokio::task::spawn_blocking(move || {
                crate::broker::no_delay_towards_this_process(backend)
            })
            .await;
            match swept {
                Ok(Ok(n)) => debug!(sockets = n, "Nagle off on the broker's side"),
                Ok(Err(e)) => {
                    warn!(%e, "cannot turn Nagle off on the broker's side; messages to screens may wait up to 40 ms")
                }
                Err(e) => warn!(%e, "the Nagle sweep failed"),
            }
        }
    }
}

/// Accepts connections for ever, in TLS when `tls` is given; each runs in its own task.
pub async fn serve(listener: TcpListener, gate: Arc<Gate>, tls: Option<tokio_rustls::TlsAcceptor>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                warn!(%e, "cannot accept an MQTT connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = gate.connections.clone().try_acquire_owned() else {
            warn!(%peer, "refused an MQTT connection: the embedded broker is at its connection limit; use an external broker for a fleet this size");
            continue;
        };
        let gate = gate.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            crate::metrics::METRICS.broker_connection(1);
            let result = match (stream.set_nodelay(true), tls) {
                (Err(e), _) => Err(e.into()),
                (Ok(()), None) => connection(&gate, stream).await,
                (Ok(()), Some(tls)) => {
                    match tokio::time::timeout(CONNECT_TIMEOUT, tls.accept(stream)).await {
                        Ok(Ok(stream)) => connection(&gate, stream).await,
                        Ok(Err(e)) => {
                            info!(%peer, %e, "TLS handshake failed (a client without the controller's CA, or plain MQTT on the TLS port)");
                            Ok(())
                        }
                        Err(_) => Err(GateError::Timeout),
                    }
                }
            };
            if let Err(e) = result {
                debug!(%peer, %e, "MQTT connection closed");
            }
            crate::metrics::METRICS.broker_connection(-1);
            drop(permit);
        });
    }
}

#[derive(Debug, thiserror::Error)]
enum GateError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("malformed MQTT packet: {0}")]
    Malformed(String),
    #[error("no CONNECT within {CONNECT_TIMEOUT:?}")]
    Timeout,
    #[error("packet of {0} bytes exceeds the limit")]
    TooLarge(usize),
    #[error("connection refused")]
    Refused,
}

/// Who a connection is, once its login was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Identity {
    Controller,
    Player(PlayerId),
}

impl Identity {
    fn client(&self) -> Client<'_> {
        match self {
            Identity::Controller => Client::Controller,
            Identity::Player(id) => Client::Player(id),
        }
    }

    fn name(&self) -> &str {
        match self {
            Identity::Controller => CONTROLLER_USERNAME,
            Identity::Player(id) => id.as_str(),
        }
    }
}

/// The fixed header of the packet at the start of `buf`: (first byte, header length, packet
/// length), or `None` until enough bytes are there.
fn frame_at(buf: &[u8], max: usize) -> Result<Option<(u8, usize, usize)>, GateError> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    let mut remaining = 0usize;
    for i in 0..4 {
        let Some(&byte) = buf.get(1 + i) else {
            return Ok(None);
        };
        remaining |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            let header = 2 + i;
            let total = header + remaining;
            if total > max {
                return Err(GateError::TooLarge(total));
            }
            return Ok((buf.len() >= total).then_some((first, header, total)));
        }
    }
    Err(GateError::Malformed(
        "remaining length longer than 4 bytes".into(),
    ))
}

fn encode_remaining(out: &mut BytesMut, mut len: usize) {
    loop {
        let mut byte = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        out.put_u8(byte);
        if len == 0 {
            break;
        }
    }
}

/// Reads until one whole packet is in `buf`, then splits it off.
async fn read_frame(
    stream: &mut (impl AsyncReadExt + Unpin),
    buf: &mut BytesMut,
    max: usize,
) -> Result<Bytes, GateError> {
    loop {
        if let Some((_, _, total)) = frame_at(buf, max)? {
            return Ok(buf.split_to(total).freeze());
        }
        if stream.read_buf(buf).await? == 0 {
            return Err(GateError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
    }
}

fn connack(code: u8) -> [u8; 4] {
    [0x20, 0x02, 0x00, code]
}

/// A client's stream, split into halves that two tasks can own.
trait Duplex: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    type Read: AsyncRead + Unpin + Send + 'static;
    type Write: AsyncWrite + Unpin + Send + 'static;
    fn halves(self) -> (Self::Read, Self::Write);
}

/// Plain TCP splits without a lock.
impl Duplex for TcpStream {
    type Read = tokio::net::tcp::OwnedReadHalf;
    type Write = tokio::net::tcp::OwnedWriteHalf;
    fn halves(self) -> (Self::Read, Self::Write) {
        self.into_split()
    }
}

impl Duplex for tokio_rustls::server::TlsStream<TcpStream> {
    type Read = tokio::io::ReadHalf<Self>;
    type Write = tokio::io::WriteHalf<Self>;
    fn halves(self) -> (Self::Read, Self::Write) {
        tokio::io::split(self)
    }
}

async fn connection<S: Duplex>(gate: &Gate, mut client: S) -> Result<(), GateError> {
    let mut buf = BytesMut::with_capacity(4096);
    let frame = tokio::time::timeout(
        CONNECT_TIMEOUT,
        read_frame(&mut client, &mut buf, gate.max_packet),
    )
    .await
    .map_err(|_| GateError::Timeout)??;
    let packet = V4
        .read_mut(&mut BytesMut::from(&frame[..]), gate.max_packet)
        .map_err(|e| GateError::Malformed(e.to_string()));
    let (connect, will, login) = match packet {
        Ok(Packet::Connect(connect, _, will, _, login)) => (connect, will, login),
        Ok(_) => {
            return Err(GateError::Malformed(
                "the first packet is not CONNECT".into(),
            ));
        }
        Err(e) => {
            // An MQTT 5 client, or garbage: "unacceptable protocol version".
            let _ = client.write_all(&connack(0x01)).await;
            return Err(e);
        }
    };
    let Some(identity) = gate.login(&connect.client_id, login.as_ref()).await else {
        warn!(
            client_id = %truncate(&connect.client_id),
            username = %truncate(login.as_ref().map_or("", |l| l.username.as_str())),
            "refused MQTT login: unknown player, wrong password, or client id different from the username"
        );
        let _ = client.write_all(&connack(0x05)).await;
        return Err(GateError::Refused);
    };
    if let Some(will) = &will {
        let topic = String::from_utf8_lossy(&will.topic);
        if let Err(refusal) =
            contract::may_will(identity.client(), &topic, will.qos as u8, will.retain)
        {
            warn!(client = identity.name(), topic = %truncate(&topic), %refusal, "refused MQTT login: its Last Will is not its own presence");
            let _ = client.write_all(&connack(0x05)).await;
            return Err(GateError::Refused);
        }
    }
    let mut backend = TcpStream::connect(gate.backend).await?;
    backend.set_nodelay(true)?;
    let login = Login {
        username: identity.name().to_string(),
        password: match identity {
            Identity::Controller => gate.controller_password.clone(),
            Identity::Player(_) => gate.secret.clone(),
        },
    };
    let mut connect_out = BytesMut::new();
    V4.write(
        Packet::Connect(connect, None, will, None, Some(login)),
        &mut connect_out,
    )
    .map_err(|e| GateError::Malformed(e.to_string()))?;
    backend.write_all(&connect_out).await?;
    gate.new_backend.notify_one();

    let (client_rx, client_tx) = client.halves();
    let (backend_rx, backend_tx) = backend.into_split();
    let (answers_tx, answers_rx) = mpsc::channel(ANSWERS);
    let refused_filters = Arc::new(Mutex::new(HashMap::new()));
    // Each direction in a task of its own: a message one way does not wake the other.
    let mut down = tokio::spawn(downstream(
        backend_rx,
        client_tx,
        answers_rx,
        refused_filters.clone(),
        gate.max_packet,
    ));
    let mut up = Upstream {
        gate,
        identity,
        answers: answers_tx,
        refused_filters: &refused_filters,
        refused: 0,
    };
    let mut cuts = gate.cuts.subscribe();
    let player = match &up.identity {
        Identity::Player(id) => Some(id.clone()),
        Identity::Controller => None,
    };
    let cut = async move {
        let Some(me) = player else {
            return std::future::pending().await;
        };
        loop {
            match cuts.recv().await {
                Ok(id) if id == me => return me,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    return std::future::pending().await;
                }
            }
        }
    };
    let result = tokio::select! {
        r = up.run(client_rx, backend_tx, buf) => r,
        r = &mut down => r.unwrap_or(Ok(())),
        me = cut => {
            info!(player = %me, "closed the MQTT connection: the player's credentials were revoked or replaced, or it was retired");
            Ok(())
        }
    };
    down.abort();
    if up.refused > 0 {
        info!(
            client = up.identity.name(),
            refused = up.refused,
            "MQTT connection closed; the gate refused some of its messages"
        );
    }
    result
}

impl Gate {
    async fn login(&self, client_id: &str, login: Option<&Login>) -> Option<Identity> {
        let login = login?;
        if login.username == CONTROLLER_USERNAME {
            return (client_id == CONTROLLER_USERNAME
                && same(&login.password, &self.controller_password))
            .then_some(Identity::Controller);
        }
        if client_id != login.username {
            return None;
        }
        let id: PlayerId = login.username.parse().ok()?;
        match self.store.verify_player(id.as_str(), &login.password).await {
            Ok(true) => Some(Identity::Player(id)),
            Ok(false) => None,
            Err(e) => {
                error!(%e, "cannot check an MQTT login against the store");
                None
            }
        }
    }

    /// The alert scopes a player is a target of, from the store (its ward and groups may
    /// change while it is connected; it subscribes anew when they do).
    async fn targets(&self, id: &PlayerId) -> Vec<AlertScope> {
        match self.store.player_target(id).await {
            Ok(Some(target)) => {
                let mut scopes = vec![AlertScope::All, AlertScope::Ward(target.ward)];
                scopes.extend(target.groups.into_iter().map(AlertScope::Group));
                scopes
            }
            Ok(None) => vec![AlertScope::All],
            Err(e) => {
                error!(%e, "cannot read a player's targets; only its own alerts are allowed");
                vec![AlertScope::All]
            }
        }
    }
}

/// Constant-time comparison of two secrets.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Client-supplied strings go into logs shortened.
fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

struct Upstream<'a> {
    gate: &'a Gate,
    identity: Identity,
    answers: mpsc::Sender<Bytes>,
    refused_filters: &'a Mutex<HashMap<u16, Vec<usize>>>,
    refused: u64,
}

/// What becomes of one packet from the client.
enum Verdict {
    Forward,
    Replace(Bytes),
    Drop {
        answer: Option<Bytes>,
    },
    /// A player -> controller message: straight to the controller in this process.
    Deliver {
        topic: String,
        payload: Bytes,
        answer: Option<Bytes>,
    },
}

fn puback(pkid: Option<u16>) -> Option<Bytes> {
    pkid.map(|pkid| {
        let [hi, lo] = pkid.to_be_bytes();
        Bytes::copy_from_slice(&[0x40, 0x02, hi, lo])
    })
}

impl Upstream<'_> {
    async fn run(
        &mut self,
        mut client: impl AsyncRead + Unpin,
        mut backend: tokio::net::tcp::OwnedWriteHalf,
        mut buf: BytesMut,
    ) -> Result<(), GateError> {
        let mut out = BytesMut::with_capacity(4096);
        loop {
            while let Some((first, header, total)) = frame_at(&buf, self.gate.max_packet)? {
                let frame = buf.split_to(total).freeze();
                match self.judge(first, header, &frame).await? {
                    Verdict::Forward => out.extend_from_slice(&frame),
                    Verdict::Replace(packet) => out.extend_from_slice(&packet),
                    Verdict::Drop { answer } => self.answer(answer),
                    Verdict::Deliver {
                        topic,
                        payload,
                        answer,
                    } => match self
                        .gate
                        .direct
                        .as_ref()
                        .map(|d| d.try_send((topic, payload)))
                    {
                        Some(Ok(())) => self.answer(answer),
                        // The controller is behind: through the broker as usual.
                        _ => out.extend_from_slice(&frame),
                    },
                }
            }
            if !out.is_empty() {
                backend.write_all(&out).await?;
                out.clear();
            }
            if client.read_buf(&mut buf).await? == 0 {
                return Ok(());
            }
        }
    }

    fn answer(&self, answer: Option<Bytes>) {
        if let Some(answer) = answer
            && self.answers.try_send(answer).is_err()
        {
            warn!(
                client = self.identity.name(),
                "answer queue full; an acknowledgement is dropped (the client resends the message)"
            );
        }
    }

    async fn judge(
        &mut self,
        first: u8,
        header: usize,
        frame: &Bytes,
    ) -> Result<Verdict, GateError> {
        let body = &frame[header..];
        match first >> 4 {
            3 => self.judge_publish(first, header, frame),
            8 => self.judge_subscribe(body).await,
            1 => Err(GateError::Malformed("a second CONNECT".into())),
            _ => Ok(Verdict::Forward),
        }
    }

    fn judge_publish(
        &mut self,
        first: u8,
        header: usize,
        frame: &Bytes,
    ) -> Result<Verdict, GateError> {
        let body = &frame[header..];
        let retain = first & 0x01 != 0;
        let qos = (first >> 1) & 0x03;
        let malformed = || GateError::Malformed("truncated PUBLISH".into());
        let topic_len = usize::from(u16::from_be_bytes(
            body.get(..2)
                .ok_or_else(malformed)?
                .try_into()
                .expect("2 bytes"),
        ));
        let topic = body.get(2..2 + topic_len).ok_or_else(malformed)?;
        let mut rest = body.get(2 + topic_len..).ok_or_else(malformed)?;
        let pkid = if qos > 0 {
            if rest.len() < 2 {
                return Err(malformed());
            }
            Some(rest.get_u16())
        } else {
            None
        };
        if qos == 3 {
            return Err(GateError::Malformed("QoS 3".into()));
        }
        let topic = std::str::from_utf8(topic).map_err(|_| malformed())?;
        match contract::may_publish(self.identity.client(), topic, qos, retain, rest.len()) {
            // Only the controller reads what players send (the contract says so), and it runs
            // in this process: two loopback hops and the broker's routing saved per message.
            Ok(())
                if matches!(self.identity, Identity::Player(_)) && self.gate.direct.is_some() =>
            {
                Ok(Verdict::Deliver {
                    topic: topic.to_string(),
                    payload: frame.slice(frame.len() - rest.len()..),
                    answer: puback(pkid),
                })
            }
            Ok(()) => Ok(Verdict::Forward),
            Err(refusal) => {
                self.note_refusal("publish", topic, &refusal);
                if qos == 2 {
                    return Err(GateError::Refused);
                }
                Ok(Verdict::Drop {
                    answer: puback(pkid),
                })
            }
        }
    }

    async fn judge_subscribe(&mut self, body: &[u8]) -> Result<Verdict, GateError> {
        let malformed = || GateError::Malformed("truncated SUBSCRIBE".into());
        let mut rest = body;
        if rest.len() < 2 {
            return Err(malformed());
        }
        let pkid = rest.get_u16();
        let mut filters = Vec::new();
        while !rest.is_empty() {
            if rest.len() < 2 {
                return Err(malformed());
            }
            let len = usize::from(rest.get_u16());
            if rest.len() < len + 1 {
                return Err(malformed());
            }
            let filter = std::str::from_utf8(&rest[..len]).map_err(|_| malformed())?;
            filters.push((filter.to_string(), rest[len]));
            rest = &rest[len + 1..];
        }
        if filters.is_empty() {
            return Err(GateError::Malformed("SUBSCRIBE without filters".into()));
        }
        let targets = match &self.identity {
            Identity::Player(id)
                if filters
                    .iter()
                    .any(|(f, _)| f.starts_with(&format!("{ROOT}/alerts/"))) =>
            {
                self.gate.targets(id).await
            }
            _ => Vec::new(),
        };
        let mut refused = Vec::new();
        for (i, (filter, _)) in filters.iter().enumerate() {
            if let Err(refusal) =
                contract::may_subscribe(self.identity.client(), filter, |s| targets.contains(s))
            {
                self.note_refusal("subscription", filter, &refusal);
                refused.push(i);
            }
        }
        if refused.is_empty() {
            return Ok(Verdict::Forward);
        }
        if refused.len() == filters.len() {
            let mut answer = BytesMut::new();
            answer.put_u8(0x90);
            encode_remaining(&mut answer, 2 + filters.len());
            answer.put_u16(pkid);
            answer.put_bytes(0x80, filters.len());
            return Ok(Verdict::Drop {
                answer: Some(answer.freeze()),
            });
        }
        // Some allowed: the refused ones go nowhere, and their codes in the SUBACK become 0x80.
        let mut payload = BytesMut::new();
        payload.put_u16(pkid);
        for (i, (filter, options)) in filters.iter().enumerate() {
            let filter = if refused.contains(&i) {
                NOWHERE
            } else {
                filter
            };
            payload.put_u16(filter.len() as u16);
            payload.put_slice(filter.as_bytes());
            payload.put_u8(*options);
        }
        let mut packet = BytesMut::new();
        packet.put_u8(0x82);
        encode_remaining(&mut packet, payload.len());
        packet.put_slice(&payload);
        self.refused_filters
            .lock()
            .expect("not poisoned")
            .insert(pkid, refused);
        Ok(Verdict::Replace(packet.freeze()))
    }

    /// Logs the first refusals of a connection and then every power of two, so a flood costs
    /// a few log lines, not one each.
    fn note_refusal(&mut self, what: &str, topic: &str, refusal: &Refusal) {
        self.refused += 1;
        if self.refused <= 5 || self.refused.is_power_of_two() {
            warn!(
                client = self.identity.name(),
                topic = %truncate(topic),
                %refusal,
                refused_so_far = self.refused,
                "refused MQTT {what}"
            );
        }
    }
}

/// Copies the broker's packets to the client whole, with the gate's own answers between them,
/// and marks refused filters in SUBACKs.
async fn downstream(
    mut backend: tokio::net::tcp::OwnedReadHalf,
    mut client: impl AsyncWrite + Unpin,
    mut answers: mpsc::Receiver<Bytes>,
    refused_filters: Arc<Mutex<HashMap<u16, Vec<usize>>>>,
    max: usize,
) -> Result<(), GateError> {
    let mut buf = BytesMut::with_capacity(16 * 1024);
    loop {
        tokio::select! {
            read = backend.read_buf(&mut buf) => {
                if read? == 0 {
                    return Ok(());
                }
                let mut whole = 0;
                while let Some((first, header, total)) = frame_at(&buf[whole..], max)? {
                    if first >> 4 == 9 {
                        mark_refused(&mut buf[whole + header..whole + total], &refused_filters);
                    }
                    whole += total;
                }
                if whole > 0 {
                    let packets = buf.split_to(whole);
                    client.write_all(&packets).await?;
                }
            }
            Some(answer) = answers.recv() => client.write_all(&answer).await?,
        }
    }
}

fn mark_refused(suback: &mut [u8], refused_filters: &Mutex<HashMap<u16, Vec<usize>>>) {
    if suback.len() < 2 {
        return;
    }
    let pkid = u16::from_be_bytes([suback[0], suback[1]]);
    let Some(refused) = refused_filters.lock().expect("not poisoned").remove(&pkid) else {
        return;
    };
    for i in refused {
        if let Some(code) = suback.get_mut(2 + i) {
            *code = 0x80;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_found_only_when_whole_and_bounded() {
        assert!(frame_at(&[], 100).unwrap().is_none());
        assert!(frame_at(&[0x30], 100).unwrap().is_none());
        assert_eq!(frame_at(&[0xc0, 0x00], 100).unwrap(), Some((0xc0, 2, 2)));
        assert!(frame_at(&[0x30, 0x03, 1, 2], 100).unwrap().is_none());
        assert_eq!(
            frame_at(&[0x30, 0x03, 1, 2, 3, 9], 100).unwrap(),
            Some((0x30, 2, 5))
        );
        // 200 bytes: two length bytes.
        let mut big = vec![0x30, 0xc8, 0x01];
        big.resize(203, 0);
        assert_eq!(frame_at(&big, 1000).unwrap(), Some((0x30, 3, 203)));
        assert!(matches!(frame_at(&big, 100), Err(GateError::TooLarge(203))));
        assert!(matches!(
            frame_at(&[0x30, 0xff, 0xff, 0xff, 0xff, 0x01], 1 << 30),
            Err(GateError::Malformed(_))
        ));
    }

    #[test]
    fn remaining_lengths_encode_as_mqtt_varints() {
        for len in [0, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152] {
            let mut out = BytesMut::new();
            out.put_u8(0x30);
            encode_remaining(&mut out, len);
            let header = out.len();
            out.resize(header + len, 0);
            assert_eq!(
                frame_at(&out, usize::MAX).unwrap(),
                Some((0x30, header, header + len)),
                "{len}"
            );
        }
    }

    #[test]
    fn refused_filters_are_marked_in_the_matching_suback_only() {
        let refused = Mutex::new(HashMap::from([(7u16, vec![1usize])]));
        let mut other = [0, 8, 1, 1];
        mark_refused(&mut other, &refused);
        assert_eq!(other, [0, 8, 1, 1]);
        let mut suback = [0, 7, 1, 1, 0];
        mark_refused(&mut suback, &refused);
        assert_eq!(suback, [0, 7, 1, 0x80, 0]);
        assert!(refused.lock().unwrap().is_empty());
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
    }
}

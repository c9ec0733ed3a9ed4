//! The HTTP listener in front of the router: connection caps (total and per address), a
//! deadline for request headers, and request lanes with their own concurrency limit and
//! timeout, so a flood of slow uploads, reports or logins cannot take the slots alerts and
//! health checks need.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;
use tracing::{info, warn};

use crate::http::ApiError;
use crate::openapi::Endpoint;

/// Connection limits of the listener.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub max_per_address: usize,
    /// How long a client may take to send a request's headers (and how long an idle
    /// keep-alive connection stays open).
    pub header_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 2048,
            max_per_address: 256,
            header_timeout: Duration::from_secs(15),
        }
    }
}

/// Connections refused since start, for logs and tests.
#[derive(Debug, Default)]
pub struct Refusals {
    pub connections: AtomicU64,
    pub requests: AtomicU64,
    pub timeouts: AtomicU64,
}

/// Serves `app` until `shutdown` resolves, then lets open requests finish (up to 5 s); over
/// TLS with `tls` (the handshake within the header deadline).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: ConnectionLimits,
    refusals: Arc<Refusals>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) {
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let per_address = PerKey::<IpAddr>::default();
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors, most likely: wait instead of spinning.
                    warn!(%e, "cannot accept an HTTP connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            refused(
                &refusals,
                peer,
                "the controller has its maximum of open connections",
            );
            continue;
        };
        let Some(slot) = per_address.take(&peer.ip(), limits.max_per_address) else {
            refused(
                &refusals,
                peer,
                "this address has its maximum of open connections",
            );
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service =
            app.clone()
                .map_request(move |mut request: Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    request.map(axum::body::Body::new)
                });
        let mut builder = Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout);
        builder
            .http2()
            .timer(TokioTimer::new())
            .keep_alive_interval(limits.header_timeout)
            .max_concurrent_streams(64);
        let service = TowerToHyperService::new(service);
        match &tls {
            None => {
                let connection = graceful.watch(
                    builder
                        .serve_connection(TokioIo::new(stream), service)
                        .into_owned(),
                );
                tokio::spawn(async move {
                    let _ = connection.await;
                    drop((permit, slot));
                });
            }
            Some(acceptor) => {
                let handshake = acceptor.accept(stream);
                let watcher = graceful.watcher();
                let deadline = limits.header_timeout;
                tokio::spawn(async move {
                    match tokio::time::timeout(deadline, handshake).await {
                        Ok(Ok(stream)) => {
                            let connection = builder
                                .serve_connection(TokioIo::new(stream), service)
                                .into_owned();
                            let _ = watcher.watch(connection).await;
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, %e, "TLS handshake failed");
                        }
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                    drop((permit, slot));
                });
            }
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(5)) => info!("HTTP requests still open at shutdown were cut"),
    }
}

fn refused(refusals: &Refusals, peer: SocketAddr, why: &str) {
    let n = refusals.connections.fetch_add(1, Ordering::Relaxed) + 1;
    // One line per thousand refusals: a flood must not become a log flood.
    if n.is_power_of_two() || n.is_multiple_of(1000) {
        warn!(%peer, refused = n, "HTTP connection refused: {why}");
    }
}

/// Counts of things held per key (connections per address, reports per caller), each
/// capped; a [`Held`] gives its unit back when dropped.
pub struct PerKey<K: Hash + Eq + Clone>(Arc<Mutex<HashMap<K, usize>>>);

impl<K: Hash + Eq + Clone> Default for PerKey<K> {
    fn default() -> Self {
        PerKey(Arc::default())
    }
}

impl<K: Hash + Eq + Clone> PerKey<K> {
    /// One more for `key`, unless it already holds `max`.
    pub fn take(&self, key: &K, max: usize) -> Option<Held<K>> {
        let mut held = self.0.lock().expect("per-key table");
        let n = held.entry(key.clone()).or_default();
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Held {
            table: self.0.clone(),
            key: key.clone(),
        })
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.0.lock().expect("per-key table").is_empty()
    }
}

pub struct Held<K: Hash + Eq + Clone> {
    table: Arc<Mutex<HashMap<K, usize>>>,
    key: K,
}

impl<K: Hash + Eq + Clone> Drop for Held<K> {
    fn drop(&mut self) {
        let mut held = self.table.lock().expect("per-key table");
        if let Some(n) = held.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                held.remove(&self.key);
            }
        }
    }
}

/// Which pool of request slots an endpoint draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Alerts, CAP/JMA intake and health: never queued behind anything else.
    Alerts,
    /// Logins wait for argon2; a flood of them must not fill the general lane.
    Login,
    /// Request bodies of up to hundreds of MB (uploads, screenshots).
    Upload,
    General,
    /// The public waiting page and its open data: a crowd of phones must not reach staff.
    Public,
}

impl Lane {
    pub const ALL: [Lane; 5] = [
        Lane::Alerts,
        Lane::Login,
        Lane::Upload,
        Lane::General,
        Lane::Public,
    ];

    pub fn of(endpoint: &Endpoint) -> Lane {
        if endpoint.tag == "alerts" || endpoint.path == "/api/v1/health" {
            Lane::Alerts
        } else if endpoint.tag == "public" {
            Lane::Public
        } else if endpoint.path == "/api/v1/login" {
            Lane::Login
        } else if endpoint
            .request
            .iter()
            .any(|m| *m == "multipart/form-data" || *m == "image/png")
        {
            Lane::Upload
        } else {
            Lane::General
        }
    }

    /// Requests served at once in this lane.
    fn slots(self) -> usize {
        match self {
            Lane::Alerts => 64,
            Lane::Login => 16,
            Lane::Upload => 8,
            Lane::General => 128,
            Lane::Public => 64,
        }
    }

    /// The longest a request may take, body included.
    pub fn timeout(self) -> Duration {
        match self {
            Lane::Alerts | Lane::Login => Duration::from_secs(30),
            Lane::Upload => Duration::from_secs(30 * 60),
            Lane::General => Duration::from_secs(120),
            Lane::Public => Duration::from_secs(10),
        }
    }
}

/// The request slots of every lane.
#[derive(Clone)]
pub struct Lanes {
    slots: Arc<[Arc<Semaphore>; 5]>,
    pub refusals: Arc<Refusals>,
}

impl Lanes {
    pub fn new(refusals: Arc<Refusals>) -> Lanes {
        Lanes {
            slots: Arc::new(Lane::ALL.map(|lane| Arc::new(Semaphore::new(lane.slots())))),
            refusals,
        }
    }

    fn enter(&self, lane: Lane) -> Option<OwnedSemaphorePermit> {
        let index = Lane::ALL.iter().position(|l| *l == lane).expect("listed");
        self.slots[index].clone().try_acquire_owned().ok()
    }
}

/// Route layer: a full lane answers 503 with `Retry-After` at once, and a request over its
/// lane's time answers 503 too (the handler is dropped, so its work stops).
pub async fn limit(State(lanes): State<Lanes>, request: Request, next: Next) -> Response {
    let lane = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|p| crate::openapi::row(request.method().as_str(), p.as_str()))
        .map_or_else(
            || {
                // The public page's files are not API rows; they share the public lane.
                let public = request
                    .extensions()
                    .get::<MatchedPath>()
                    .is_some_and(|p| p.as_str().starts_with("/wait"));
                if public { Lane::Public } else { Lane::General }
            },
            Lane::of,
        );
    let Some(permit) = lanes.enter(lane) else {
        lanes.refusals.requests.fetch_add(1, Ordering::Relaxed);
        return busy(format!(
            "the controller is busy ({lane:?} requests); try again shortly"
        ));
    };
    let response = tokio::time::timeout(lane.timeout(), next.run(request)).await;
    drop(permit);
    response.unwrap_or_else(|_| {
        lanes.refusals.timeouts.fetch_add(1, Ordering::Relaxed);
        warn!(?lane, "HTTP request cut after {:?}", lane.timeout());
        busy(format!(
            "the request took longer than {} s and was stopped",
            lane.timeout().as_secs()
        ))
    })
}

fn busy(message: String) -> Response {
    let mut response = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openapi::ENDPOINTS;

    #[test]
    fn every_alert_route_has_the_alert_lane_and_uploads_theirs() {
        for e in ENDPOINTS {
            let lane = Lane::of(e);
            if e.path.starts_with("/api/v1/alerts") || e.path == "/api/v1/cap" {
                assert_eq!(lane, Lane::Alerts, "{} {}", e.method, e.path);
            }
            if e.request.contains(&"multipart/form-data") {
                assert_eq!(lane, Lane::Upload);
            }
            if e.path.starts_with("/api/v1/public/") {
                assert_eq!(lane, Lane::Public, "{} {}", e.method, e.path);
            }
        }
        let screenshot = crate::openapi::row("PUT", "/api/v1/players/{id}/screenshot/{request_id}")
            .expect("row");
        assert_eq!(Lane::of(screenshot), Lane::Upload);
        let reports = crate::openapi::row("GET", "/api/v1/reports").expect("row");
        assert_eq!(Lane::of(reports), Lane::General);
    }

    #[test]
    fn an_address_holds_at_most_its_share_and_gets_it_back() {
        let table = PerKey::default();
        let ip: IpAddr = [192, 0, 2, 1].into();
        let first = table.take(&ip, 2).expect("first");
        let second = table.take(&ip, 2).expect("second");
        assert!(table.take(&ip, 2).is_none());
        assert!(table.take(&[192, 0, 2, 2].into(), 2).is_some());
        drop(first);
        let third = table.take(&ip, 2).expect("freed");
        drop((second, third));
        assert!(table.is_empty());
    }

    #[test]
    fn a_full_lane_refuses_and_the_others_still_serve() {
        let lanes = Lanes::new(Arc::default());
        let held: Vec<_> = (0..Lane::Upload.slots())
            .map(|_| lanes.enter(Lane::Upload).expect("slot"))
            .collect();
        assert!(lanes.enter(Lane::Upload).is_none());
        assert!(lanes.enter(Lane::Alerts).is_some());
        drop(held);
        assert!(lanes.enter(Lane::Upload).is_some());
    }
}

//! The HTTP API (`/api/v1/...`) and the console's routes, with axum.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde::Serialize;
use serde_json::json;

use crate::fleet::LinkStatus;
use crate::store::{PlayerRecord, Store};

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub link: Arc<LinkStatus>,
    pub started: Instant,
    /// "embedded" or "external".
    pub mqtt_mode: &'static str,
    /// The broker URL players use.
    pub mqtt_url: String,
    pub library: crate::library::ContentLibrary,
    pub max_upload_bytes: u64,
    /// `pr` accounts' content changes wait for an approver (see `content_api::approval`).
    pub content_approval: bool,
    /// Players' health and screenshot requests.
    pub screens: Arc<crate::screens::Screens>,
    pub login_limiter: Arc<crate::auth::LoginLimiter>,
    /// Mark session cookies `Secure` (the console is served over HTTPS).
    pub secure_cookies: bool,
    /// Emergency alerts (lifecycle, signing, publishing).
    pub alerts: std::sync::Arc<crate::alerting::AlertService>,
    /// People-flow history (Parquet) behind `/api/v1/reports`.
    pub history: crate::history::History,
    /// Reverse proxies whose `X-Forwarded-*` headers count.
    pub trusted_proxies: Arc<crate::client_ip::TrustedProxies>,
    /// Request slots per lane (see [`crate::http_server`]).
    pub lanes: crate::http_server::Lanes,
    /// Report computations running and per caller.
    pub reports: Arc<crate::reports_api::ReportSlots>,
    /// Held from a content write's check of the whole set to its store, so that two writes
    /// (a delete and an edit that uses the deleted object) cannot both pass their checks, and
    /// by an upload from storing its file to storing its asset, so that the unused-file sweep
    /// cannot remove the file in between.
    pub content_writes: Arc<tokio::sync::Mutex<()>>,
    /// The public waiting page's snapshot and rate limit.
    pub waiting: Arc<crate::waiting::Waiting>,
    /// Tells the embedded broker's gate to close a player's connection.
    pub player_cuts: tokio::sync::broadcast::Sender<content::protocol::PlayerId>,
    /// Where players connect and whom they trust, for enrolment and reissued credentials.
    pub player_files: Arc<crate::enrol::PlayerFiles>,
    /// Players' credentials also live in the external broker's own password file.
    pub external_broker: bool,
}

/// Under `/api/` the router serves exactly the rows of [`crate::openapi::ENDPOINTS`]; a unit
/// test there compares both ways, method by method.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(crate::content_api::routes(state.max_upload_bytes))
        .merge(crate::screens::routes())
        .merge(crate::fleet_api::routes())
        .merge(crate::builds_api::routes())
        .merge(crate::counts::routes())
        .merge(crate::reports_api::routes())
        .merge(crate::preview::routes())
        .merge(crate::calendar_api::routes())
        .merge(crate::waiting::routes())
        .merge(crate::auth::routes())
        .merge(crate::alerting::routes())
        .merge(crate::openapi::routes())
        .merge(crate::console::routes())
        .route("/api/v1/health", get(health))
        .route("/api/v1/players", get(players))
        .route("/api/v1/wards", get(wards))
        .merge(crate::metrics::routes())
        // After every route: the layer wraps them all (and sees their matched paths).
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::enforce,
        ))
        .route_layer(axum::middleware::from_fn(crate::metrics::track_http))
        // Outermost: a busy lane answers before any authentication work.
        .route_layer(axum::middleware::from_fn_with_state(
            state.lanes.clone(),
            crate::http_server::limit,
        ))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), hsts))
        .with_state(state)
}

/// Served over HTTPS, browsers are told to come back only over HTTPS.
async fn hsts(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut response = next.run(request).await;
    if state.secure_cookies {
        response.headers_mut().insert(
            axum::http::header::STRICT_TRANSPORT_SECURITY,
            axum::http::HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
    uptime_s: u64,
    database: &'static str,
    mqtt: MqttHealth,
    players: PlayerCounts,
    http: RefusalCounts,
    /// Polled JMA feeds by URL (absent when none is configured).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    feeds: std::collections::BTreeMap<String, crate::feeds::FeedStatus>,
}

/// What the HTTP listener turned away since start (see [`crate::http_server`]).
#[derive(Serialize)]
struct RefusalCounts {
    refused_connections: u64,
    busy_requests: u64,
    timed_out_requests: u64,
}

#[derive(Serialize)]
struct MqttHealth {
    mode: &'static str,
    url: String,
    connected: bool,
}

#[derive(Serialize)]
struct PlayerCounts {
    total: u64,
    online: u64,
}

/// 200 when the database answers and the broker link is up, 503 otherwise; the body says which
/// part is down either way.
async fn health(State(state): State<AppState>) -> Response {
    let counts = state.store.player_counts().await;
    let db_ok = counts.is_ok();
    let (total, online) = counts.unwrap_or_default();
    let connected = state.link.connected();
    let healthy = db_ok && connected;
    let body = Health {
        status: if healthy { "ok" } else { "degraded" },
        version: env!("CARGO_PKG_VERSION"),
        uptime_s: state.started.elapsed().as_secs(),
        database: if db_ok { "ok" } else { "unavailable" },
        mqtt: MqttHealth {
            mode: state.mqtt_mode,
            url: state.mqtt_url.clone(),
            connected,
        },
        players: PlayerCounts { total, online },
        http: {
            let r = &state.lanes.refusals;
            let read =
                |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
            RefusalCounts {
                refused_connections: read(&r.connections),
                busy_requests: read(&r.requests),
                timed_out_requests: read(&r.timeouts),
            }
        },
        feeds: state
            .alerts
            .feeds
            .get()
            .map(|f| {
                let f = f.lock().expect("not poisoned");
                f.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
            })
            .unwrap_or_default(),
    };
    let code = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}

/// Osaka City's wards with their names in every screen language (`content::wards`): the
/// console shows names, configuration and the wire keep the ids.
async fn wards(caller: crate::auth::Caller) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(crate::auth::READ)?;
    let list: Vec<serde_json::Value> = content::wards::OSAKA_WARDS
        .iter()
        .map(|w| {
            let names: serde_json::Map<String, serde_json::Value> = alerts::templates::LANGUAGES
                .iter()
                .map(|l| ((*l).to_owned(), w.name(l).into()))
                .collect();
            json!({"id": w.id, "code": w.code, "names": names})
        })
        .collect();
    Ok(Json(serde_json::Value::Array(list)))
}

async fn players(
    State(state): State<AppState>,
    caller: crate::auth::Caller,
) -> Result<Json<Vec<crate::screens::PlayerView>>, ApiError> {
    caller.require(crate::auth::READ)?;
    let players: Vec<PlayerRecord> = state.store.players().await.map_err(ApiError::internal)?;
    Ok(Json(state.screens.with_health(players)))
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such endpoint; see docs/api.md")
}

/// Errors as JSON `{"error": "..."}` with a fitting status code.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    details: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            details: None,
        }
    }

    /// An error with more fields merged into the JSON body, e.g. `problems`.
    pub fn with_details(
        status: StatusCode,
        message: impl Into<String>,
        details: serde_json::Value,
    ) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            details: Some(details),
        }
    }

    /// The error text (for audit entries).
    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        tracing::error!(%e, "request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("internal error: {e}"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.message });
        if let Some(serde_json::Value::Object(more)) = self.details {
            body.as_object_mut().expect("object").extend(more);
        }
        (self.status, Json(body)).into_response()
    }
}

/// A whole [`AppState`] on a fresh data directory, for router tests.
#[cfg(test)]
pub async fn test_state(dir: &std::path::Path) -> AppState {
    let store = crate::store::Store::open(dir).await.unwrap();
    let (replies, _) = crate::history::reply_channel();
    AppState {
        store: store.clone(),
        link: Default::default(),
        started: std::time::Instant::now(),
        mqtt_mode: "embedded",
        mqtt_url: String::new(),
        library: crate::library::ContentLibrary::open(dir).unwrap(),
        max_upload_bytes: 1,
        content_approval: true,
        screens: Default::default(),
        login_limiter: Default::default(),
        secure_cookies: false,
        trusted_proxies: Default::default(),
        reports: Default::default(),
        lanes: crate::http_server::Lanes::new(Default::default()),
        alerts: crate::alerting::AlertService::start(store.clone(), dir, Default::default())
            .await
            .unwrap(),
        history: crate::history::History::open(dir, store, replies)
            .await
            .unwrap(),
        content_writes: Default::default(),
        waiting: crate::waiting::Waiting::new(Default::default()),
        player_cuts: tokio::sync::broadcast::channel(1).0,
        player_files: Arc::new(
            crate::enrol::PlayerFiles::new(
                &crate::config::ControllerConfig::resolve(
                    Default::default(),
                    crate::config::Overrides {
                        data_dir: Some(dir.to_path_buf()),
                        ..Default::default()
                    },
                )
                .unwrap(),
                None,
                None,
            )
            .unwrap(),
        ),
        external_broker: false,
    }
}

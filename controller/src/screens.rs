//! What the controller knows of the players' screens: the latest health each player published,
//! and screenshots on request.
//!
//! A screenshot is asked for over MQTT (`screenshot_request`, not retained) and answered over
//! HTTP: the player `PUT`s the PNG (or `{"error": ...}`) to
//! `/api/v1/players/{id}/screenshot/{request_id}`, logging in with its MQTT credentials. A PNG
//! can exceed the 64 KiB MQTT payload limit, so it never travels over MQTT. `GET
//! /api/v1/players/{id}/screenshot` waits for the answer up to [`SCREENSHOT_TIMEOUT`].

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use content::protocol::{
    MAX_SCREENSHOT_WIDTH, PlayerHealth, PlayerId, PlayerTopic, ScreenshotRequest, Topic,
};
use rumqttc::AsyncClient;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use tracing::{info, warn};

use crate::auth::basic_auth;
use crate::http::{ApiError, AppState};
use crate::store::PlayerRecord;

/// How long `GET /api/v1/players/{id}/screenshot` waits for the player.
pub const SCREENSHOT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest screenshot upload accepted.
pub const MAX_SCREENSHOT_BYTES: usize = 16 * 1024 * 1024;
/// Width of a screenshot when the request names none.
pub const DEFAULT_SCREENSHOT_WIDTH: u32 = 960;

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

type Answer = Result<Vec<u8>, String>;

struct Pending {
    player: String,
    answer: oneshot::Sender<Answer>,
}

/// Shared by the MQTT side (`fleet`, which records health) and the HTTP side.
#[derive(Default)]
pub struct Screens {
    client: OnceLock<AsyncClient>,
    pending: Mutex<HashMap<String, Pending>>,
    health: Mutex<HashMap<String, PlayerHealth>>,
}

impl Screens {
    /// The MQTT client screenshot requests are published with, once the link exists.
    pub fn set_client(&self, client: AsyncClient) {
        let _ = self.client.set(client);
    }

    /// Keeps the latest health a player published (retained on the broker, so a restarted
    /// controller learns it again at once, or at the player's next report).
    pub fn record_health(&self, player: &PlayerId, health: PlayerHealth) {
        self.health
            .lock()
            .expect("not poisoned")
            .insert(player.to_string(), health);
    }

    pub fn health(&self, player: &str) -> Option<PlayerHealth> {
        self.health
            .lock()
            .expect("not poisoned")
            .get(player)
            .cloned()
    }

    /// Players as `GET /api/v1/players` shows them: the stored record and the latest health.
    pub fn with_health(&self, players: Vec<PlayerRecord>) -> Vec<PlayerView> {
        players
            .into_iter()
            .map(|record| PlayerView {
                health: self.health(&record.id),
                record,
            })
            .collect()
    }
}

#[derive(Serialize)]
pub struct PlayerView {
    #[serde(flatten)]
    pub record: PlayerRecord,
    /// The player's latest health report, `null` until one arrived (players that do not
    /// render send none).
    pub health: Option<PlayerHealth>,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/players/{id}/screenshot", get(screenshot))
        .route(
            "/api/v1/players/{id}/screenshot/{request_id}",
            put(receive).layer(DefaultBodyLimit::max(MAX_SCREENSHOT_BYTES)),
        )
}

#[derive(Deserialize)]
struct ShotQuery {
    max_width: Option<u32>,
}

fn random_request_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

async fn screenshot(
    State(state): State<AppState>,
    caller: crate::auth::Caller,
    Path(id): Path<String>,
    Query(query): Query<ShotQuery>,
) -> Result<Response, ApiError> {
    caller.require(crate::auth::READ)?;
    let max_width = query.max_width.unwrap_or(DEFAULT_SCREENSHOT_WIDTH);
    if !(1..=MAX_SCREENSHOT_WIDTH).contains(&max_width) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("max_width must be between 1 and {MAX_SCREENSHOT_WIDTH}, got {max_width}"),
        ));
    }
    let player = state
        .store
        .players()
        .await
        .map_err(ApiError::internal)?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no player {id:?} is registered; see GET /api/v1/players"),
            )
        })?;
    if !player.online {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("player {id} is offline; a screenshot needs the player connected"),
        ));
    }
    let renders = player
        .hello
        .as_ref()
        .is_some_and(|h| h.capabilities.iter().any(|c| c == "render"));
    if !renders {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "player {id} does not render (render = false in its configuration, or an older \
                 version), so it has no screen to take a picture of"
            ),
        ));
    }
    let client = match state.screens.client.get() {
        Some(client) if state.link.connected() => client.clone(),
        _ => {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the controller is not connected to its MQTT broker; try again shortly",
            ));
        }
    };
    let player_id: PlayerId = id.parse().map_err(ApiError::internal)?;
    let request = ScreenshotRequest {
        id: player_id.clone(),
        request_id: random_request_id(),
        max_width,
    };
    let (tx, rx) = oneshot::channel();
    state.screens.pending.lock().expect("not poisoned").insert(
        request.request_id.clone(),
        Pending {
            player: id.clone(),
            answer: tx,
        },
    );
    let topic = Topic::player(&player_id, PlayerTopic::ScreenshotRequest);
    let forget = || {
        state
            .screens
            .pending
            .lock()
            .expect("not poisoned")
            .remove(&request.request_id);
    };
    let payload = state.alerts.sign_desired(&request);
    if let Err(e) = mqtt_link::publish(&client, &topic, payload).await {
        forget();
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("cannot send the screenshot request over MQTT: {e}"),
        ));
    }
    match tokio::time::timeout(SCREENSHOT_TIMEOUT, rx).await {
        Ok(Ok(Ok(png))) => Ok((
            [
                (header::CONTENT_TYPE, "image/png"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            png,
        )
            .into_response()),
        Ok(Ok(Err(reason))) => Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!("player {id} could not take a screenshot: {reason}"),
        )),
        Ok(Err(_)) | Err(_) => {
            forget();
            Err(ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "player {id} did not send a screenshot within {} s; it may be busy, or \
                     unable to reach this controller over HTTP (see the player's log)",
                    SCREENSHOT_TIMEOUT.as_secs()
                ),
            ))
        }
    }
}

#[derive(Deserialize)]
struct PlayerError {
    error: String,
}

/// The player's answer to a screenshot request. The body is read only once the player's login
/// holds and its request is awaited: an unauthenticated client cannot make the controller
/// buffer 16 MiB.
async fn receive(
    State(state): State<AppState>,
    Path((id, request_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<StatusCode, Response> {
    let authorised = match basic_auth(&headers) {
        Some((user, password)) if user == id => state
            .store
            .verify_player(&id, &password)
            .await
            .map_err(|e| ApiError::internal(e).into_response())?,
        _ => false,
    };
    if !authorised {
        warn!(player = %id, "refused a screenshot upload: bad credentials");
        let mut response = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "log in with the player's id and MQTT password (HTTP basic auth)",
        )
        .into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"signage players\""),
        );
        return Err(response);
    }
    let awaited = state
        .screens
        .pending
        .lock()
        .expect("not poisoned")
        .get(&request_id)
        .is_some_and(|p| p.player == id);
    if !awaited {
        return Err(not_awaited(&id, &request_id).into_response());
    }
    let body = axum::body::to_bytes(body, MAX_SCREENSHOT_BYTES)
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the screenshot could not be read (at most {MAX_SCREENSHOT_BYTES} bytes): {e}"
                ),
            )
            .into_response()
        })?;
    receive_answer(&state, &id, &request_id, &headers, &body).map_err(IntoResponse::into_response)
}

fn not_awaited(id: &str, request_id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!(
            "no screenshot request {request_id:?} is waiting for player {id} (it may have timed out)"
        ),
    )
}

fn receive_answer(
    state: &AppState,
    id: &str,
    request_id: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<StatusCode, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let answer: Answer = if content_type.starts_with("image/png") {
        if !body.starts_with(PNG_SIGNATURE) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "the body is not a PNG",
            ));
        }
        Ok(body.to_vec())
    } else if content_type.starts_with("application/json") {
        let reported: PlayerError = serde_json::from_slice(body).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("expected {{\"error\": \"...\"}}: {e}"),
            )
        })?;
        Err(reported.error.chars().take(1000).collect())
    } else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send image/png, or application/json {\"error\": \"...\"}",
        ));
    };
    let pending = {
        let mut pending = state.screens.pending.lock().expect("not poisoned");
        match pending.get(request_id) {
            Some(p) if p.player == id => pending.remove(request_id),
            _ => None,
        }
    };
    let Some(pending) = pending else {
        return Err(not_awaited(id, request_id));
    };
    info!(player = %id, request = %request_id, bytes = body.len(), ok = answer.is_ok(), "screenshot answer");
    let _ = pending.answer.send(answer);
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    #[test]
    fn basic_auth_is_parsed() {
        let mut headers = HeaderMap::new();
        let encoded = base64::engine::general_purpose::STANDARD.encode("kita-1:s3cret:x");
        headers.insert(
            header::AUTHORIZATION,
            format!("Basic {encoded}").parse().unwrap(),
        );
        assert_eq!(
            basic_auth(&headers),
            Some(("kita-1".into(), "s3cret:x".into()))
        );
        headers.insert(header::AUTHORIZATION, "Bearer x".parse().unwrap());
        assert_eq!(basic_auth(&headers), None);
    }
}

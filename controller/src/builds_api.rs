//! Signed player updates over HTTP: an admin uploads a player build under a version label
//! (`POST /api/v1/player-builds?version=`), the controller signs a statement of its size and
//! SHA-256 with the key every player already holds, and an admin offers it to screens by
//! ward, group or id (`POST /api/v1/player-builds/offer`). Players fetch the file from
//! `GET /api/v1/player-builds/{version}/file`, check it against the signed statement, switch
//! to it and roll back on their own if it does not come online (see `player::update`).

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use content::protocol::{BuildStatement, valid_build_version};
use content::schedule::Target;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;

use crate::auth::{self, Caller, Principal};
use crate::http::{ApiError, AppState};

/// The largest build accepted: a player binary with its own libraries, with room to spare.
pub const MAX_BUILD_BYTES: u64 = 512 * 1024 * 1024;
const MAX_NOTE_CHARS: usize = 200;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/player-builds",
            get(list).post(upload).layer(DefaultBodyLimit::max(
                usize::try_from(MAX_BUILD_BYTES).unwrap_or(usize::MAX),
            )),
        )
        .route("/api/v1/player-builds/offer", post(offer))
        .route("/api/v1/player-builds/{version}/file", get(file))
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<crate::store::builds::BuildRecord>>, ApiError> {
    caller.require(auth::ADMIN)?;
    Ok(Json(
        state.store.builds().await.map_err(ApiError::internal)?,
    ))
}

#[derive(Deserialize)]
struct UploadQuery {
    version: String,
    note: Option<String>,
}

fn check_version(version: &str) -> Result<(), ApiError> {
    if valid_build_version(version) {
        Ok(())
    } else {
        Err(bad_request(format!(
            "version {:?}: use 1-40 of A-Z a-z 0-9 . _ + - (e.g. 1.4.0), not starting with a dot",
            version.chars().take(60).collect::<String>()
        )))
    }
}

/// Receives the build as the raw request body (`application/octet-stream`), hashed as it
/// arrives, then signs its statement and records it.
async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    caller.require(auth::ADMIN)?;
    check_version(&query.version)?;
    let note = query.note.filter(|n| !n.trim().is_empty());
    if note
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS)
    {
        return Err(bad_request(format!(
            "note: at most {MAX_NOTE_CHARS} characters"
        )));
    }
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("a player build is at most {MAX_BUILD_BYTES} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BUILD_BYTES) {
        return Err(too_large());
    }
    let mut upload = state
        .library
        .begin_upload()
        .await
        .map_err(ApiError::internal)?;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            bad_request(format!(
                "the upload is incomplete ({e}); send the whole file again"
            ))
        })?;
        if upload.size() + chunk.len() as u64 > MAX_BUILD_BYTES {
            return Err(too_large());
        }
        upload.write(&chunk).await.map_err(ApiError::internal)?;
    }
    if upload.size() == 0 {
        return Err(bad_request(
            "the build is empty: send the file as the request body",
        ));
    }
    let received = upload.finish().await.map_err(ApiError::internal)?;
    let statement = BuildStatement {
        version: query.version.clone(),
        sha256: received.sha256.clone(),
        size_bytes: received.size_bytes,
    };
    let target = state.library.build_path(&statement.sha256);
    tokio::task::spawn_blocking(move || received.store_at(target))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let signed = state.alerts.sign_build(&statement);
    let added = state
        .store
        .add_build(&statement, &signed, &caller.account, note.as_deref())
        .await
        .map_err(ApiError::internal)?;
    if !added {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "version {} is already uploaded; give this build its own version",
                statement.version
            ),
        ));
    }
    let detail = json!({ "sha256": statement.sha256, "size_bytes": statement.size_bytes });
    caller
        .audit(
            &state.store,
            "player_build.upload",
            Some(&statement.version),
            "ok",
            Some(detail),
        )
        .await;
    Ok((StatusCode::CREATED, Json(statement)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Offer {
    /// None withdraws the offer: players keep what they run.
    version: Option<String>,
    targets: Vec<Target>,
}

async fn offer(
    State(state): State<AppState>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(auth::ADMIN)?;
    let offer: Offer = serde_json::from_slice(&body).map_err(|e| {
        bad_request(format!(
            "invalid offer ({e}); send {{\"version\": \"1.4.0\" or null, \"targets\": [{{\"kind\": \"group\", \"id\": \"lobby\"}}]}}"
        ))
    })?;
    if offer.targets.is_empty() {
        return Err(bad_request(
            "list at least one target; use {\"kind\":\"all\"} for every player",
        ));
    }
    let changed = state
        .store
        .offer_build(offer.version.as_deref(), &offer.targets)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!(
                    "no player build has version {:?}; upload it first",
                    offer.version.as_deref().unwrap_or_default()
                ),
            )
        })?;
    let detail = json!({ "targets": offer.targets, "players": changed });
    caller
        .audit(
            &state.store,
            "player_build.offer",
            Some(offer.version.as_deref().unwrap_or("(withdrawn)")),
            "ok",
            Some(detail),
        )
        .await;
    Ok(Json(
        json!({ "version": offer.version, "players": changed }),
    ))
}

/// The build's bytes, for players (any registered player) and admins.
async fn file(
    State(state): State<AppState>,
    principal: Principal,
    Path(version): Path<String>,
) -> Result<Response, ApiError> {
    principal.require_staff_or_any_player(auth::ADMIN)?;
    check_version(&version)?;
    let Some(build) = state
        .store
        .build(&version)
        .await
        .map_err(ApiError::internal)?
    else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no player build has version {version}"),
        ));
    };
    let sha = build
        .sha256
        .parse()
        .map_err(|_| ApiError::internal("a stored build digest is malformed"))?;
    let file = tokio::fs::File::open(state.library.build_path(&sha))
        .await
        .map_err(ApiError::internal)?;
    let len = file.metadata().await.map_err(ApiError::internal)?.len();
    Response::builder()
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, len)
        .header(header::ETAG, format!("\"{}\"", build.sha256))
        .body(Body::from_stream(tokio_util::io::ReaderStream::new(file)))
        .map_err(ApiError::internal)
}

//! The content part of the HTTP API: uploads and downloads of files, assets, playlists,
//! layouts and schedule entries, per-player manifests, "now" and proof of play.
//!
//! Every create or edit is validated by the `content` crate on the whole schedule set it would
//! produce ([`ScheduleSet::new`]), so the API can never store something a player could not
//! follow; problems come back as 400 with one line per offending field.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post, put};
use chrono::Utc;
use content::asset::{Asset, AssetKind, Sha256};
use content::audience::Audience;
use content::changes::{Change, Object, ObjectRef};
use content::ids::LayoutId;
use content::layout::Layout;
use content::playlist::Playlist;
use content::protocol::PlayerId;
use content::schedule::ScheduleEntry;
use content::schedule_set::{ScheduleSet, ScheduleSetParts};
use content::selection::{Selection, select};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::auth::{self, Caller, Principal};
use crate::http::{ApiError, AppState};
use crate::library::{RangeRequest, parse_range};
use crate::store::{ObjectKind, PutOutcome};

mod approval;
pub use approval::with_change;
mod manage;
mod upload;

/// Multipart framing and small fields on top of the file itself.
const MULTIPART_OVERHEAD: u64 = 64 * 1024;

pub fn routes(max_upload_bytes: u64) -> Router<AppState> {
    let body_limit = usize::try_from(max_upload_bytes + MULTIPART_OVERHEAD).unwrap_or(usize::MAX);
    Router::new()
        .route(
            "/api/v1/content",
            post(upload::upload).layer(DefaultBodyLimit::max(body_limit)),
        )
        .route("/api/v1/content/{id}", get(download))
        .route(
            "/api/v1/assets/{id}/file",
            put(upload::replace_file).layer(DefaultBodyLimit::max(body_limit)),
        )
        .route("/api/v1/assets", get(list::<Asset>).post(create_asset))
        .route("/api/v1/assets/preview", post(manage::preview))
        .route(
            "/api/v1/assets/{id}",
            put(replace_asset)
                .patch(manage::patch_asset)
                .delete(manage::delete::<Asset>),
        )
        .route(
            "/api/v1/playlists",
            get(list::<Playlist>).post(create::<Playlist>),
        )
        .route(
            "/api/v1/playlists/{id}",
            put(replace::<Playlist>).delete(manage::delete::<Playlist>),
        )
        .route(
            "/api/v1/layouts",
            get(list::<Layout>).post(create::<Layout>),
        )
        .route(
            "/api/v1/layouts/{id}",
            put(replace::<Layout>).delete(manage::delete::<Layout>),
        )
        .route(
            "/api/v1/schedule/entries",
            get(list::<ScheduleEntry>).post(create::<ScheduleEntry>),
        )
        .route(
            "/api/v1/schedule/entries/{id}",
            put(replace::<ScheduleEntry>).delete(delete_entry),
        )
        .route("/api/v1/schedule/fallback", put(set_fallback))
        .route("/api/v1/changes", get(approval::list))
        .route("/api/v1/changes/{id}", get(approval::detail))
        .route("/api/v1/changes/{id}/submit", post(approval::submit))
        .route("/api/v1/changes/{id}/withdraw", post(approval::withdraw))
        .route("/api/v1/changes/{id}/approve", post(approval::approve))
        .route("/api/v1/changes/{id}/return", post(approval::send_back))
        .route("/api/v1/schedule", get(schedule))
        .route("/api/v1/players/{id}/manifest", get(manifest))
        .route("/api/v1/players/{id}/now", get(now))
        .route("/api/v1/players/{id}/plays", get(plays))
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

/// A content object the generic handlers can store: its kind, id and place in the set.
pub trait ContentObject: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    const KIND: ObjectKind;
    fn id(&self) -> &str;
    fn slot(parts: &mut ScheduleSetParts) -> &mut Vec<Self>;
    fn wrap(self) -> Object;
}

impl ContentObject for Asset {
    const KIND: ObjectKind = ObjectKind::Asset;
    fn id(&self) -> &str {
        &self.id.0
    }
    fn slot(parts: &mut ScheduleSetParts) -> &mut Vec<Self> {
        &mut parts.assets
    }
    fn wrap(self) -> Object {
        Object::Asset(self)
    }
}

impl ContentObject for Playlist {
    const KIND: ObjectKind = ObjectKind::Playlist;
    fn id(&self) -> &str {
        &self.id.0
    }
    fn slot(parts: &mut ScheduleSetParts) -> &mut Vec<Self> {
        &mut parts.playlists
    }
    fn wrap(self) -> Object {
        Object::Playlist(self)
    }
}

impl ContentObject for Layout {
    const KIND: ObjectKind = ObjectKind::Layout;
    fn id(&self) -> &str {
        &self.id.0
    }
    fn slot(parts: &mut ScheduleSetParts) -> &mut Vec<Self> {
        &mut parts.layouts
    }
    fn wrap(self) -> Object {
        Object::Layout(self)
    }
}

impl ContentObject for ScheduleEntry {
    const KIND: ObjectKind = ObjectKind::Entry;
    fn id(&self) -> &str {
        &self.id.0
    }
    fn slot(parts: &mut ScheduleSetParts) -> &mut Vec<Self> {
        &mut parts.entries
    }
    fn wrap(self) -> Object {
        Object::Entry(self)
    }
}

/// Parses a JSON body; a missing `id` gets a random one, an `id` in the path must agree.
fn parse_object<T: ContentObject>(body: &[u8], path_id: Option<&str>) -> Result<T, ApiError> {
    let kind = T::KIND.as_str();
    let mut value: Value = serde_json::from_slice(body)
        .map_err(|e| bad_request(format!("the {kind} is not valid JSON: {e}")))?;
    let object = value
        .as_object_mut()
        .ok_or_else(|| bad_request(format!("send the {kind} as a JSON object")))?;
    match (path_id, object.get("id").and_then(Value::as_str)) {
        (Some(path), Some(inner)) if path != inner => {
            return Err(bad_request(format!(
                "the id in the body ({inner:?}) differs from the id in the URL ({path:?})"
            )));
        }
        (Some(path), None) => {
            object.insert("id".into(), path.into());
        }
        (None, None) => {
            let id = format!("{kind}-{}", &crate::broker::random_token()[..12]);
            object.insert("id".into(), id.into());
        }
        _ => {}
    }
    let object: T =
        serde_json::from_value(value).map_err(|e| bad_request(format!("invalid {kind}: {e}")))?;
    check_id(object.id())?;
    Ok(object)
}

/// Ids appear in URLs and logs: keep them short and plain.
fn check_id(id: &str) -> Result<(), ApiError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !id.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(bad_request(format!(
            "id {:?} is not allowed: use 1 to 128 characters of letters, digits, '-', '_' and '.'",
            id.chars().take(80).collect::<String>()
        )))
    }
}

/// The asset `id` as `caller` sees it (with their pending change, if any), or 404.
async fn stored_asset(state: &AppState, caller: &Caller, id: &str) -> Result<Asset, ApiError> {
    let view = approval::View::of(state, caller).await?;
    view.parts
        .assets
        .into_iter()
        .find(|a| a.id.0 == id)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no asset {id:?}")))
}

pub(crate) fn check_set(parts: ScheduleSetParts, has_fallback: bool) -> Result<(), ApiError> {
    let Err(invalid) = ScheduleSet::new(parts) else {
        return Ok(());
    };
    // Until staff choose a fallback layout, its absence is not this request's problem.
    let problems: Vec<String> = invalid
        .0
        .iter()
        .filter(|e| has_fallback || e.field != "fallback_layout")
        .map(ToString::to_string)
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    Err(ApiError::with_details(
        StatusCode::BAD_REQUEST,
        format!("the change was refused: {}", problems.join("; ")),
        json!({ "problems": problems }),
    ))
}

async fn store_object<T: ContentObject>(
    state: &AppState,
    caller: &Caller,
    object: &T,
    create_only: bool,
) -> Result<Response, ApiError> {
    let _writing = state.content_writes.lock().await;
    store_locked(state, caller, object, create_only).await
}

/// [`store_object`] for a caller that holds `content_writes` already.
async fn store_locked<T: ContentObject>(
    state: &AppState,
    caller: &Caller,
    object: &T,
    create_only: bool,
) -> Result<Response, ApiError> {
    let view = approval::View::of(state, caller).await?;
    let mut parts = view.parts.clone();
    let slot = T::slot(&mut parts);
    let existed = match slot.iter_mut().find(|o| o.id() == object.id()) {
        Some(existing) => {
            *existing = object.clone();
            true
        }
        None => {
            slot.push(object.clone());
            false
        }
    };
    if existed && create_only {
        return Err(exists::<T>(object.id()));
    }
    check_set(parts, view.has_fallback)?;
    if view.change.is_some() {
        let action = format!(
            "{}.{}",
            T::KIND.as_str(),
            if existed { "replace" } else { "create" }
        );
        let body = serde_json::to_value(object).map_err(ApiError::internal)?;
        let change = Change::Put {
            object: object.clone().wrap(),
        };
        return approval::propose(state, caller, view, change, &action, body).await;
    }
    let outcome = state
        .store
        .put_object(T::KIND, object.id(), object, create_only)
        .await
        .map_err(ApiError::internal)?;
    let code = match outcome {
        None => return Err(exists::<T>(object.id())),
        Some(PutOutcome::Created) => StatusCode::CREATED,
        Some(PutOutcome::Replaced) => StatusCode::OK,
    };
    let action = format!(
        "{}.{}",
        T::KIND.as_str(),
        if code == StatusCode::CREATED {
            "create"
        } else {
            "replace"
        }
    );
    caller
        .audit(&state.store, &action, Some(object.id()), "ok", None)
        .await;
    Ok((code, Json(object.clone())).into_response())
}

fn exists<T: ContentObject>(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        format!(
            "a {} with id {id:?} exists already; edit it with PUT or choose another id",
            T::KIND.as_str()
        ),
    )
}

async fn create<T: ContentObject>(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require(auth::CONTENT)?;
    let object: T = parse_object(&body, None)?;
    store_object(&state, &caller, &object, true).await
}

async fn replace<T: ContentObject>(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require(auth::CONTENT)?;
    check_id(&id)?;
    let object: T = parse_object(&body, Some(&id))?;
    store_object(&state, &caller, &object, false).await
}

/// The objects of one kind as the caller sees them; with a pending change of their own, each
/// object it touches carries `"pending": "new" | "edited" | "deleted"`.
async fn list<T: ContentObject>(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Value>>, ApiError> {
    caller.require(auth::READ)?;
    let mut view = approval::View::of(&state, &caller).await?;
    let mut objects = std::mem::take(T::slot(&mut view.parts));
    if let Some(proposal) = view.change.as_mut() {
        // Objects the caller's change deletes stay listed, marked, until it is approved.
        let shown: std::collections::HashSet<String> =
            objects.iter().map(|o| o.id().to_owned()).collect();
        let deleted: Vec<T> = T::slot(&mut proposal.live)
            .iter()
            .filter(|o| !shown.contains(o.id()))
            .cloned()
            .collect();
        objects.extend(deleted);
    }
    objects
        .iter()
        .map(|o| {
            let mut value = serde_json::to_value(o).map_err(ApiError::internal)?;
            let target = ObjectRef {
                kind: T::KIND,
                id: o.id().to_string(),
            };
            if let Some(pending) = view.pending(&target) {
                value["pending"] = pending.into();
            }
            Ok(value)
        })
        .collect::<Result<_, _>>()
        .map(Json)
}

fn text_only(asset: &Asset) -> Result<(), ApiError> {
    match asset.kind {
        AssetKind::TextSlide(_) | AssetKind::Ticker(_) => Ok(()),
        AssetKind::Image { .. } | AssetKind::Video { .. } => Err(bad_request(
            "only text_slide and ticker assets are created as JSON; upload images and videos with POST /api/v1/content (multipart, field \"file\")",
        )),
    }
}

async fn create_asset(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require(auth::CONTENT)?;
    let asset: Asset = parse_object(&body, None)?;
    text_only(&asset)?;
    store_object(&state, &caller, &asset, true).await
}

async fn replace_asset(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require(auth::CONTENT)?;
    check_id(&id)?;
    let asset: Asset = parse_object(&body, Some(&id))?;
    text_only(&asset)?;
    store_object(&state, &caller, &asset, false).await
}

async fn delete_entry(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(auth::CONTENT)?;
    check_id(&id)?;
    let _writing = state.content_writes.lock().await;
    let view = approval::View::of(&state, &caller).await?;
    if view.change.is_some() {
        if !view.parts.entries.iter().any(|e| e.id.0 == id) {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no schedule entry {id:?}"),
            ));
        }
        let change = Change::Delete {
            target: ObjectRef {
                kind: ObjectKind::Entry,
                id,
            },
        };
        return approval::propose(&state, &caller, view, change, "entry.delete", Value::Null).await;
    }
    if state
        .store
        .delete_object(ObjectKind::Entry, &id)
        .await
        .map_err(ApiError::internal)?
    {
        caller
            .audit(&state.store, "entry.delete", Some(&id), "ok", None)
            .await;
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no schedule entry {id:?}"),
        ))
    }
}

#[derive(serde::Deserialize)]
struct Fallback {
    layout: LayoutId,
}

async fn set_fallback(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require(auth::CONTENT)?;
    let fallback: Fallback = serde_json::from_slice(&body)
        .map_err(|e| bad_request(format!("send {{\"layout\": \"<layout id>\"}}: {e}")))?;
    let _writing = state.content_writes.lock().await;
    let view = approval::View::of(&state, &caller).await?;
    let mut parts = view.parts.clone();
    parts.fallback_layout = fallback.layout.clone();
    check_set(parts, true)?;
    if view.change.is_some() {
        let body = json!({ "fallback_layout": fallback.layout });
        let change = Change::Fallback {
            layout: fallback.layout,
        };
        return approval::propose(&state, &caller, view, change, "schedule.fallback", body).await;
    }
    state
        .store
        .set_fallback_layout(&fallback.layout)
        .await
        .map_err(ApiError::internal)?;
    caller
        .audit(
            &state.store,
            "schedule.fallback",
            Some(&fallback.layout.to_string()),
            "ok",
            None,
        )
        .await;
    Ok(Json(json!({ "fallback_layout": fallback.layout })).into_response())
}

async fn schedule(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(auth::READ)?;
    let view = approval::View::of(&state, &caller).await?;
    let (parts, has_fallback) = (view.parts, view.has_fallback);
    let revision = state
        .store
        .content_revision()
        .await
        .map_err(ApiError::internal)?;
    let mut value = serde_json::to_value(parts).expect("serialises");
    if !has_fallback {
        value["fallback_layout"] = Value::Null;
    }
    value["revision"] = revision.into();
    // A proposer sees the set with their change applied, and which change that is.
    if let Some(change) = view
        .change
        .map(|p| p.record)
        .filter(|c| !c.draft.is_empty())
    {
        value["pending_change"] =
            json!({ "id": change.id, "state": change.state, "revision": change.revision });
    }
    Ok(Json(value))
}

/// `GET /api/v1/content/{sha256}` with `Range` support, so players resume downloads.
async fn download(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    principal.require_staff_or_any_player(auth::READ)?;
    let sha: Sha256 = id
        .parse()
        .map_err(|_| bad_request("content ids are SHA-256 digests: 64 lowercase hex digits"))?;
    let Some(blob) = state
        .store
        .blob(&sha.to_string())
        .await
        .map_err(ApiError::internal)?
    else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no content {sha}"),
        ));
    };
    let mut file = tokio::fs::File::open(state.library.blob_path(&sha))
        .await
        .map_err(ApiError::internal)?;
    let len = file.metadata().await.map_err(ApiError::internal)?.len();
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let common = |builder: axum::http::response::Builder| {
        builder
            .header(header::CONTENT_TYPE, &blob.media_type)
            .header(header::ACCEPT_RANGES, "bytes")
            .header(header::ETAG, format!("\"{sha}\""))
            .header(header::CACHE_CONTROL, "public, max-age=31536000, immutable")
    };
    match parse_range(range, len) {
        RangeRequest::Unsatisfiable => Ok(common(Response::builder())
            .status(StatusCode::RANGE_NOT_SATISFIABLE)
            .header(header::CONTENT_RANGE, format!("bytes */{len}"))
            .body(Body::empty())
            .expect("valid response")),
        RangeRequest::Whole => {
            let stream = tokio_util::io::ReaderStream::new(file);
            Ok(common(Response::builder())
                .status(StatusCode::OK)
                .header(header::CONTENT_LENGTH, len)
                .body(Body::from_stream(stream))
                .expect("valid response"))
        }
        RangeRequest::Part(start, end) => {
            file.seek(std::io::SeekFrom::Start(start))
                .await
                .map_err(ApiError::internal)?;
            let count = end - start + 1;
            let stream = tokio_util::io::ReaderStream::new(file.take(count));
            Ok(common(Response::builder())
                .status(StatusCode::PARTIAL_CONTENT)
                .header(header::CONTENT_LENGTH, count)
                .header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}"))
                .body(Body::from_stream(stream))
                .expect("valid response"))
        }
    }
}

pub(crate) fn player_id(id: &str) -> Result<PlayerId, ApiError> {
    id.parse()
        .map_err(|e: content::ids::PlayerIdError| bad_request(e.to_string()))
}

/// A registered player as the selection sees it (ward, groups), or 404.
pub(crate) async fn player_target(
    state: &AppState,
    id: &PlayerId,
) -> Result<content::schedule::PlayerTarget, ApiError> {
    let targets = state
        .store
        .player_targets()
        .await
        .map_err(ApiError::internal)?;
    targets
        .into_iter()
        .find(|t| &t.id == id)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no player {id}")))
}

async fn manifest(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    principal.require_staff_or_player(auth::READ, &id)?;
    let id = player_id(&id)?;
    let Some(stored) = state
        .store
        .manifest(&id)
        .await
        .map_err(ApiError::internal)?
    else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!(
                "no manifest for player {id} yet: register the player and set a fallback layout"
            ),
        ));
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::ETAG, format!("\"{}\"", stored.sha256)),
        ],
        stored.body,
    )
        .into_response())
}

/// What the controller computes the player should show now, next to what the player reports.
async fn now(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(auth::READ)?;
    let id = player_id(&id)?;
    let target = player_target(&state, &id).await?;
    let (parts, has_fallback) = state
        .store
        .schedule_parts()
        .await
        .map_err(ApiError::internal)?;
    let at = Utc::now();
    let expected: Option<Selection> = if has_fallback {
        ScheduleSet::new(parts)
            .ok()
            .map(|set| select(&set, &target, at, &Audience::default(), &[]))
    } else {
        None
    };
    let reported = state
        .store
        .now_showing(&id)
        .await
        .map_err(ApiError::internal)?;
    let manifest = state
        .store
        .manifest(&id)
        .await
        .map_err(ApiError::internal)?;
    let expected_layout = expected.as_ref().and_then(|s| match s {
        Selection::Scheduled { screen, .. } | Selection::Fallback { screen } => {
            Some(screen.layout.clone())
        }
        Selection::Alert { .. } | Selection::Off { .. } => None,
    });
    let expected_off = matches!(expected, Some(Selection::Off { .. }));
    let agrees = reported.as_ref().is_some_and(|r| {
        if expected_off {
            r.kind == "off_by_schedule"
        } else {
            r.layout.is_some() && r.layout == expected_layout
        }
    });
    Ok(Json(json!({
        "player": id,
        "at": at,
        "expected": expected,
        "reported": reported,
        "agrees": agrees,
        "manifest": manifest.map(|m| json!({"revision": m.revision, "sha256": m.sha256, "acked_revision": m.acked_revision})),
    }))
    .into_response())
}

#[derive(serde::Deserialize)]
struct PlaysPage {
    /// At most this many (1-5000, default 1000).
    limit: Option<u32>,
    /// The `X-Next-Cursor` of the previous page.
    after: Option<String>,
}

/// A page of a player's proof of play in start order; `X-Next-Cursor` names the next page
/// when the page is full.
async fn plays(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(page): Query<PlaysPage>,
) -> Result<Response, ApiError> {
    caller.require(auth::READ)?;
    let id = player_id(&id)?;
    let limit = page.limit.unwrap_or(1000);
    if !(1..=5000).contains(&limit) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "limit must be between 1 and 5000",
        ));
    }
    let after = match page.after.as_deref() {
        Some(text) => Some(crate::store::PlaysCursor::parse(text).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "after must be the X-Next-Cursor of the previous page",
            )
        })?),
        None => None,
    };
    let plays = state
        .store
        .plays(&id, after.as_ref(), limit)
        .await
        .map_err(ApiError::internal)?;
    let next = (plays.len() == limit as usize)
        .then(|| plays.last().map(crate::store::PlaysCursor::after))
        .flatten();
    let mut response = Json(plays).into_response();
    if let Some(next) = next
        && let Ok(value) = axum::http::HeaderValue::from_str(&next.to_string())
    {
        response.headers_mut().insert("x-next-cursor", value);
    }
    Ok(response)
}

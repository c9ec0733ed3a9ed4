//! Looking after the library: an asset's title, tags, owner and display window edited on any
//! kind of asset, deletes that refuse, naming the places, while something still uses the
//! object, and previews of text slides and tickers drawn as players draw them.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use content::asset::{Asset, AssetKind};
use content::changes::{Change, ObjectRef};
use content::schedule_set::ScheduleSetParts;
use serde_json::{Value, json};

use super::approval::{self, View};
use super::{
    ContentObject, bad_request, check_id, parse_object, store_locked, stored_asset, text_only,
};
use crate::auth::{self, Caller};
use crate::http::{ApiError, AppState};
use crate::store::ObjectKind;

/// The fields `PATCH /api/v1/assets/{id}` may change; `null` clears one.
const META_FIELDS: [&str; 5] = ["title", "tags", "owner", "shown_from", "shown_until"];

pub(super) async fn patch_asset(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require(auth::CONTENT)?;
    check_id(&id)?;
    let changes: serde_json::Map<String, Value> = serde_json::from_slice(&body).map_err(|e| {
        bad_request(format!(
            "send a JSON object with any of {}: {e}",
            META_FIELDS.join(", ")
        ))
    })?;
    if let Some(other) = changes.keys().find(|k| !META_FIELDS.contains(&k.as_str())) {
        return Err(bad_request(format!(
            "{:?} cannot be changed here; only {} (replace a text's words with PUT)",
            other.chars().take(40).collect::<String>(),
            META_FIELDS.join(", ")
        )));
    }
    // Read and written under one hold of the lock, so two edits cannot undo each other.
    let _writing = state.content_writes.lock().await;
    let asset = stored_asset(&state, &caller, &id).await?;
    let mut value = serde_json::to_value(&asset).map_err(ApiError::internal)?;
    let object = value.as_object_mut().expect("an asset is an object");
    for (key, change) in changes {
        if change.is_null() {
            object.remove(&key);
        } else {
            object.insert(key, change);
        }
    }
    let edited: Asset =
        serde_json::from_value(value).map_err(|e| bad_request(format!("invalid asset: {e}")))?;
    store_locked(&state, &caller, &edited, false).await
}

/// Where an object is used: (kind, id) of each user.
fn uses(parts: &ScheduleSetParts, has_fallback: bool, kind: ObjectKind, id: &str) -> Vec<Value> {
    let mut found = Vec::new();
    match kind {
        ObjectKind::Asset => {
            for p in &parts.playlists {
                if p.items.iter().any(|i| i.asset.0 == id) {
                    found.push(json!({ "kind": "playlist", "id": p.id }));
                }
            }
        }
        ObjectKind::Playlist => {
            for l in &parts.layouts {
                if l.zones.iter().any(|z| z.playlist.0 == id) {
                    found.push(json!({ "kind": "layout", "id": l.id }));
                }
            }
        }
        ObjectKind::Layout => {
            for e in &parts.entries {
                if e.layout.0 == id {
                    found.push(json!({ "kind": "entry", "id": e.id }));
                }
            }
            if has_fallback && parts.fallback_layout.0 == id {
                found.push(json!({ "kind": "fallback", "id": "schedule" }));
            }
        }
        ObjectKind::Entry => {}
    }
    found
}

/// Deletes an asset, playlist or layout that nothing uses; 409 names every use otherwise.
pub(super) async fn delete<T: ContentObject>(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(auth::CONTENT)?;
    check_id(&id)?;
    let kind = T::KIND.as_str();
    let _writing = state.content_writes.lock().await;
    let view = View::of(&state, &caller).await?;
    let (mut parts, has_fallback) = (view.parts.clone(), view.has_fallback);
    if !T::slot(&mut parts).iter().any(|o| o.id() == id) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no {kind} {id:?}"),
        ));
    }
    let used_by = uses(&parts, has_fallback, T::KIND, &id);
    if !used_by.is_empty() {
        let places: Vec<String> = used_by
            .iter()
            .map(|u| format!("{} {}", u["kind"].as_str().unwrap_or(""), u["id"]))
            .collect();
        caller
            .audit(
                &state.store,
                &format!("{kind}.delete"),
                Some(&id),
                "refused",
                Some(json!({ "used_by": used_by })),
            )
            .await;
        return Err(ApiError::with_details(
            StatusCode::CONFLICT,
            format!(
                "the {kind} {id:?} is in use by {}; remove it from there first",
                places.join(", ")
            ),
            json!({ "used_by": used_by }),
        ));
    }
    if view.change.is_some() {
        let change = Change::Delete {
            target: ObjectRef { kind: T::KIND, id },
        };
        let action = format!("{kind}.delete");
        return approval::propose(&state, &caller, view, change, &action, Value::Null).await;
    }
    let deleted = state
        .store
        .delete_object(T::KIND, &id)
        .await
        .map_err(ApiError::internal)?;
    if !deleted {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no {kind} {id:?}"),
        ));
    }
    caller
        .audit(
            &state.store,
            &format!("{kind}.delete"),
            Some(&id),
            "ok",
            None,
        )
        .await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(serde::Deserialize)]
pub(super) struct PreviewSize {
    width: Option<u32>,
    height: Option<u32>,
}

/// `POST /api/v1/assets/preview?width=&height=`: a text slide or ticker (as it would be
/// stored, not stored) drawn to PNG at a zone's size (default 1920x1080), with the markup and
/// fitting players use.
pub(super) async fn preview(
    caller: Caller,
    Query(size): Query<PreviewSize>,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require(auth::CONTENT)?;
    let asset: Asset = parse_object(&body, None)?;
    text_only(&asset)?;
    let problems: Vec<String> = asset.problems().iter().map(ToString::to_string).collect();
    if !problems.is_empty() {
        return Err(ApiError::with_details(
            StatusCode::BAD_REQUEST,
            format!("not drawn: {}", problems.join("; ")),
            json!({ "problems": problems }),
        ));
    }
    let (width, height) = (size.width.unwrap_or(1920), size.height.unwrap_or(1080));
    let drawn = tokio::task::spawn_blocking(move || match &asset.kind {
        AssetKind::TextSlide(slide) => text_layout::preview::slide(slide, width, height),
        AssetKind::Ticker(ticker) => text_layout::preview::ticker(ticker, width, height),
        AssetKind::Image { .. } | AssetKind::Video { .. } => unreachable!("text_only"),
    })
    .await
    .map_err(ApiError::internal)?;
    let png = drawn.map_err(|e| bad_request(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        png,
    )
        .into_response())
}

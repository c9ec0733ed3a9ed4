//! The office calendar over HTTP: the shared rules and each ward's closures, openings and
//! dayparts (`GET`/`PUT /api/v1/calendar`, edited by approvers and admins), and the open and
//! closed days it gives a ward (`GET /api/v1/calendar/days`), with each holiday's name.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Json;
use axum::routing::get;
use chrono::{NaiveDate, TimeDelta, Utc};
use content::calendar::Calendar;
use content::ids::WardId;
use serde_json::{Value, json};

use crate::auth::{self, Caller};
use crate::http::{ApiError, AppState};

/// Most days one `days` request lists.
const MAX_DAYS: i64 = 366;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/calendar", get(calendar).put(set_calendar))
        .route("/api/v1/calendar/days", get(days))
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

async fn calendar(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Calendar>, ApiError> {
    caller.require(auth::READ)?;
    let calendar = state.store.calendar().await.map_err(ApiError::internal)?;
    Ok(Json(calendar))
}

/// Replaces the calendar after checking it, and the whole schedule set with it (an entry may
/// name a daypart the new calendar drops).
async fn set_calendar(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<Calendar>, ApiError> {
    caller.require(auth::APPROVE)?;
    let calendar: Calendar =
        serde_json::from_slice(&body).map_err(|e| bad_request(format!("invalid calendar: {e}")))?;
    let _writing = state.content_writes.lock().await;
    let (mut parts, has_fallback) = state
        .store
        .schedule_parts()
        .await
        .map_err(ApiError::internal)?;
    parts.calendar = calendar.clone();
    crate::content_api::check_set(parts, has_fallback)?;
    state
        .store
        .set_calendar(&calendar)
        .await
        .map_err(ApiError::internal)?;
    caller
        .audit(&state.store, "calendar.update", None, "ok", None)
        .await;
    Ok(Json(calendar))
}

/// `?ward=kita&from=2026-12-25&days=14` (from: today in Tokyo, days: 31 by default).
async fn days(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    caller.require(auth::READ)?;
    let ward: WardId = query
        .get("ward")
        .ok_or_else(|| bad_request("give the ward: ?ward=kita"))?
        .as_str()
        .into();
    let from = match query.get("from") {
        Some(text) => text.parse::<NaiveDate>().map_err(|e| {
            bad_request(format!("from={text:?} is not a date like 2026-12-25: {e}"))
        })?,
        None => content::tokyo::local_date(Utc::now()),
    };
    let count = match query.get("days") {
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_DAYS).contains(n))
            .ok_or_else(|| bad_request(format!("days must be 1 to {MAX_DAYS}")))?,
        None => 31,
    };
    let calendar = state.store.calendar().await.map_err(ApiError::internal)?;
    let list: Vec<Value> = (0..count)
        .filter_map(|n| from.checked_add_signed(TimeDelta::days(n)))
        .map(|date| {
            let (open, reason) = calendar.day(&ward, date);
            let mut day = json!({ "date": date, "open": open });
            if let Value::Object(reason) = serde_json::to_value(reason).expect("serialises") {
                day.as_object_mut().expect("object").extend(reason);
            }
            day
        })
        .collect();
    Ok(Json(json!({ "ward": ward, "days": list })))
}

//! `GET /api/v1/players/{id}/preview`: what a player would show at an instant for a given
//! audience, and why (which alert, entry and audience condition chose it). It runs the same
//! pure `content::selection::decide` the player runs, on the schedule as stored now. A preview
//! has no history, so it reads the audience as given: the player's hysteresis and minimum
//! display time (which depend on what it showed before) do not apply. With `change=ID` it
//! previews the schedule as it would be once that pending content change is approved.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Json;
use axum::routing::get;
use chrono::{DateTime, Utc};
use content::audience::Audience;
use content::schedule_set::ScheduleSet;
use content::selection::{Selection, decide};
use serde_json::{Value, json};

use crate::auth::{self, Caller};
use crate::http::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/players/{id}/preview", get(preview))
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

/// The query: `at` (RFC 3339, default now), `occupancy`, `inflow_per_min`, `dwell_s` (whole
/// numbers; an omitted measure is unknown, as on a player without a camera).
fn parse_query(query: &BTreeMap<String, String>) -> Result<(DateTime<Utc>, Audience), String> {
    let mut at = Utc::now();
    let mut audience = Audience::default();
    for (key, value) in query {
        let number = || {
            value.parse::<u32>().map_err(|_| {
                format!(
                    "query parameter {key}={value:?}: give a whole number from 0 to {}",
                    u32::MAX
                )
            })
        };
        match key.as_str() {
            "at" => {
                at = DateTime::parse_from_rfc3339(value)
                    .map_err(|e| {
                        format!(
                            "query parameter at={value:?} is not an RFC 3339 instant ({e}); \
                             e.g. 2026-06-01T12:00:00+09:00"
                        )
                    })?
                    .to_utc();
            }
            "occupancy" => audience.occupancy = Some(number()?),
            "inflow_per_min" => audience.inflow_per_min = Some(number()?),
            "dwell_s" => audience.dwell_s = Some(number()?),
            _ => {
                return Err(format!(
                    "unknown query parameter {key:?}; use at, occupancy, inflow_per_min, dwell_s or change"
                ));
            }
        }
    }
    Ok((at, audience))
}

async fn preview(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(mut query): Query<BTreeMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    caller.require(auth::READ)?;
    let id = crate::content_api::player_id(&id)?;
    let change = query.remove("change");
    let (at, audience) = parse_query(&query).map_err(bad_request)?;
    let target = crate::content_api::player_target(&state, &id).await?;
    let (parts, has_fallback) = match &change {
        // What the screen would show once a pending change is approved.
        Some(change) => crate::content_api::with_change(&state, &caller, change).await?,
        None => state
            .store
            .schedule_parts()
            .await
            .map_err(ApiError::internal)?,
    };
    if !has_fallback {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "no fallback layout yet: set one with PUT /api/v1/schedule/fallback",
        ));
    }
    let set = ScheduleSet::new(parts).map_err(|e| {
        ApiError::new(
            StatusCode::CONFLICT,
            format!("the stored schedule does not validate: {e}"),
        )
    })?;
    // Alerts are not previewed: they take the whole screen whatever the schedule says.
    let decision = decide(&set, &target, at, &audience, &[]);
    // The layout and the zones' assets as this schedule has them, so that a client can draw
    // the screen even when they exist only in the previewed change.
    let screen = match &decision.selection {
        Selection::Scheduled { screen, .. } | Selection::Fallback { screen } => Some(screen),
        Selection::Alert { .. } | Selection::Off { .. } => None,
    };
    let layout = screen.and_then(|s| set.layout(&s.layout));
    let assets: BTreeMap<&str, _> = screen
        .map(|s| s.zones.as_slice())
        .unwrap_or_default()
        .iter()
        .filter_map(|z| set.asset(&z.asset).map(|a| (a.id.0.as_str(), a)))
        .collect();
    Ok(Json(json!({
        "layout": layout,
        "assets": assets,
        "player": id,
        "at": at,
        "audience": audience,
        "change": change,
        "selection": decision.selection,
        "reason": decision.reason.to_string(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_query_names_the_instant_and_the_audience() {
        let (at, audience) = parse_query(&query(&[
            ("at", "2026-06-01T12:00:00+09:00"),
            ("occupancy", "17"),
            ("dwell_s", "90"),
        ]))
        .unwrap();
        assert_eq!(at.to_rfc3339(), "2026-06-01T03:00:00+00:00");
        assert_eq!(
            (
                audience.occupancy,
                audience.inflow_per_min,
                audience.dwell_s
            ),
            (Some(17), None, Some(90))
        );
    }

    #[test]
    fn bad_queries_say_what_to_fix() {
        for (pairs, says) in [
            (&[("occupancy", "-1")][..], "whole number"),
            (&[("at", "noon")][..], "RFC 3339"),
            (&[("people", "3")][..], "unknown query parameter"),
        ] {
            let Err(e) = parse_query(&query(pairs)) else {
                panic!("{pairs:?} accepted");
            };
            assert!(e.contains(says), "{e}");
        }
    }
}

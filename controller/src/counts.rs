//! People counts from the players' cameras, as `GET /api/v1/players/{id}/counts` serves them.
//! The fleet hands each `counts` batch to [`crate::history`], which stores every (player, seq)
//! once (Parquet for reports, the raw log in SQLite) and acknowledges it once durable.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use content::protocol::{CountsRecord, LineTally, PlayerId};
use serde::{Deserialize, Serialize};

use crate::http::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/players/{id}/counts", get(counts))
}

#[derive(Debug, Deserialize)]
struct Range {
    from: Option<String>,
    to: Option<String>,
}

/// Sums over the returned records.
#[derive(Debug, Default, Serialize)]
struct Totals {
    records: usize,
    frames: u64,
    lines: BTreeMap<String, LineTally>,
    zones: BTreeMap<String, ZoneTotals>,
}

#[derive(Debug, Default, Serialize)]
struct ZoneTotals {
    entries: u64,
    exits: u64,
    max: u32,
    visits: u64,
}

fn totals(records: &[CountsRecord]) -> Totals {
    let mut t = Totals {
        records: records.len(),
        ..Totals::default()
    };
    for r in records {
        t.frames += r.frames;
        for (name, line) in &r.lines {
            let sum = t.lines.entry(name.clone()).or_default();
            sum.inbound += line.inbound;
            sum.outbound += line.outbound;
        }
        for (name, zone) in &r.zones {
            let sum = t.zones.entry(name.clone()).or_default();
            sum.entries += zone.entries;
            sum.exits += zone.exits;
            sum.max = sum.max.max(zone.max);
            sum.visits += zone.dwell.visits;
        }
    }
    t
}

fn instant(key: &str, value: Option<String>) -> Result<Option<DateTime<Utc>>, ApiError> {
    value
        .map(|v| {
            DateTime::parse_from_rfc3339(&v)
                .map(|t| t.to_utc())
                .map_err(|e| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        format!("query parameter {key}: {v:?} is not an RFC 3339 instant ({e})"),
                    )
                })
        })
        .transpose()
}

/// `?from=&to=` (RFC 3339, both optional): the records whose period starts in `[from, to)`,
/// in period order, with their totals.
async fn counts(
    State(state): State<AppState>,
    caller: crate::auth::Caller,
    Path(id): Path<String>,
    Query(range): Query<Range>,
) -> Result<Response, ApiError> {
    caller.require(crate::auth::READ)?;
    let id: PlayerId = id.parse().map_err(|e: content::ids::PlayerIdError| {
        ApiError::new(StatusCode::BAD_REQUEST, e.to_string())
    })?;
    let from = instant("from", range.from)?;
    let to = instant("to", range.to)?;
    let records = state
        .store
        .counts(&id, from, to)
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(serde_json::json!({
        "player": id,
        "from": from,
        "to": to,
        "totals": totals(&records),
        "records": records,
    }))
    .into_response())
}

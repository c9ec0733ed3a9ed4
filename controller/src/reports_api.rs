//! `GET /api/v1/reports/{report}`: the people-flow reports over the Parquet history, as JSON
//! (default), CSV, Parquet or an SVG chart. Dates are Asia/Tokyo calendar dates, inclusive.
//! polars runs in `spawn_blocking`, holding a snapshot of the history's files meanwhile.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use chrono::{DateTime, NaiveDate};
use polars::prelude::{AnyValue, DataFrame, col, lit};
use reports::schema::col as c;
use reports::store::{HistoryStore, scan_parquet_files};
use reports::{Filter, Format, Lang, Level, Period, Report, Reports, Sources};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::{ApiError, AppState};
use crate::http_server::PerKey;
use tokio::sync::Semaphore;

/// Longest date range of one request, in days.
pub const MAX_DAYS: i64 = 366;
/// Days a request without `from` covers (ending at `to`).
const DEFAULT_DAYS: i64 = 7;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/reports", get(list))
        .route("/api/v1/reports/{report}", get(report))
}

/// Short names: the level comes from `level=` (or `player=`).
const SHORT: [&str; 8] = [
    "footfall-hourly",
    "footfall-daily",
    "footfall-weekly",
    "balance",
    "peak-occupancy",
    "dwell",
    "impressions",
    "wards",
];

fn resolve(name: &str, level: Level) -> Option<Report> {
    Some(match name {
        "footfall-hourly" => Report::Footfall {
            period: Period::Hour,
            level,
        },
        "footfall-daily" => Report::Footfall {
            period: Period::Day,
            level,
        },
        "footfall-weekly" => Report::Footfall {
            period: Period::Week,
            level,
        },
        "balance" => Report::Balance { level },
        "peak-occupancy" => Report::PeakOccupancy { level },
        "dwell" => Report::Dwell { level },
        "impressions" => Report::Impressions,
        "wards" => Report::WardComparison,
        // The reports crate's own names (`footfall_hour_player`...) name their level.
        other => return Report::from_name(other),
    })
}

async fn list(caller: crate::auth::Caller) -> Result<Json<Value>, ApiError> {
    caller.require(crate::auth::READ)?;
    Ok(Json(json!({
        "reports": SHORT,
        "also": Report::standard_set().iter().map(Report::name).collect::<Vec<_>>(),
        "formats": ["json", "csv", "csv-excel", "parquet", "svg"],
        "max_days": MAX_DAYS,
    })))
}

#[derive(Debug, Deserialize)]
struct Params {
    from: Option<String>,
    to: Option<String>,
    ward: Option<String>,
    player: Option<String>,
    level: Option<String>,
    format: Option<String>,
    lang: Option<String>,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

fn date(key: &str, value: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
        bad(format!(
            "query parameter {key}: {value:?} is not a date; use YYYY-MM-DD (Asia/Tokyo)"
        ))
    })
}

enum Output {
    Json,
    File(Format),
    Svg(Lang),
}

/// A validated request.
struct Query_ {
    name: String,
    report: Report,
    from: NaiveDate,
    to: NaiveDate,
    ward: Option<String>,
    player: Option<String>,
    output: Output,
}

fn parse(name: &str, p: Params) -> Result<Query_, ApiError> {
    let level = match p.level.as_deref() {
        None if p.player.is_some() => Level::Player,
        None | Some("ward") => Level::Ward,
        Some("player") => Level::Player,
        Some(other) => return Err(bad(format!("level {other:?}: use player or ward"))),
    };
    let report = resolve(name, level).ok_or_else(|| {
        bad(format!(
            "unknown report {:?}; known: {}",
            name.chars().take(60).collect::<String>(),
            SHORT.join(", ")
        ))
    })?;
    let to = match &p.to {
        Some(v) => date("to", v)?,
        None => content::tokyo::local_date(chrono::Utc::now()),
    };
    let from = match &p.from {
        Some(v) => date("from", v)?,
        None => to - chrono::Days::new(DEFAULT_DAYS as u64 - 1),
    };
    if from > to {
        return Err(bad(format!("from {from} is after to {to}")));
    }
    let days = (to - from).num_days() + 1;
    if days > MAX_DAYS {
        return Err(bad(format!(
            "{days} days from {from} to {to}; at most {MAX_DAYS} per request"
        )));
    }
    let ward = p
        .ward
        .map(|w| crate::history::ward_name(&w).into_owned())
        .filter(|w| !w.is_empty());
    let player = match p.player {
        Some(id) => Some(
            id.parse::<content::protocol::PlayerId>()
                .map_err(|e| bad(e.to_string()))?
                .to_string(),
        ),
        None => None,
    };
    let lang = match p.lang.as_deref() {
        None | Some("ja") => Lang::Ja,
        Some("en") => Lang::En,
        Some(other) => return Err(bad(format!("lang {other:?}: use ja or en"))),
    };
    let output = match p.format.as_deref() {
        None | Some("json") => Output::Json,
        Some("csv") => Output::File(Format::Csv),
        Some("csv-excel") => Output::File(Format::CsvExcel),
        Some("parquet") => Output::File(Format::Parquet),
        Some("svg") => Output::Svg(lang),
        Some(other) => {
            return Err(bad(format!(
                "format {other:?}: use json, csv, csv-excel, parquet or svg"
            )));
        }
    };
    Ok(Query_ {
        name: report.name(),
        report,
        from,
        to,
        ward,
        player,
        output,
    })
}

/// Reports computed at once (each may take a core), and a caller's reports in flight, waiting
/// included: one analyst's script cannot queue up the host's cores for everyone else.
const REPORTS_RUNNING: usize = 2;
const REPORTS_PER_CALLER: usize = 2;

pub struct ReportSlots {
    running: Arc<Semaphore>,
    callers: PerKey<String>,
}

impl Default for ReportSlots {
    fn default() -> Self {
        ReportSlots {
            running: Arc::new(Semaphore::new(REPORTS_RUNNING)),
            callers: PerKey::default(),
        }
    }
}

async fn report(
    State(state): State<AppState>,
    caller: crate::auth::Caller,
    UrlPath(name): UrlPath<String>,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    caller.require(crate::auth::READ)?;
    let q = parse(&name, params)?;
    let Some(mine) = state
        .reports
        .callers
        .take(&caller.account, REPORTS_PER_CALLER)
    else {
        let mut response = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "{REPORTS_PER_CALLER} reports of yours are still being computed; ask again when they are done"
            ),
        )
        .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        return Ok(response);
    };
    let running = state
        .reports
        .running
        .clone()
        .acquire_owned()
        .await
        .map_err(ApiError::internal)?;
    let store = state.history.store().clone();
    let scratch = state.history.scratch_dir();
    let filter = Filter {
        from: Some(q.from),
        to: Some(q.to),
        wards: q.ward.clone().map(|w| vec![w]),
    };
    let (report, player) = (q.report, q.player.clone());
    let mut df = tokio::task::spawn_blocking(move || {
        // Held until the work ends, even when the request was dropped meanwhile.
        let _slots = (mine, running);
        run(&store, &scratch, &filter, &report, player.as_deref())
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    let file_name = format!("{}_{}_{}", q.name, q.from, q.to);
    match q.output {
        Output::Json => Ok(Json(json!({
            "report": q.name,
            "from": q.from,
            "to": q.to,
            "ward": q.ward,
            "player": q.player,
            "columns": df.get_column_names().iter().map(|n| n.as_str()).collect::<Vec<_>>(),
            "rows": rows(&df),
        }))
        .into_response()),
        Output::File(format) => {
            let bytes = reports::export::to_bytes(&mut df, format).map_err(ApiError::internal)?;
            Ok((
                [
                    (header::CONTENT_TYPE, format.content_type().to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!(
                            "attachment; filename=\"{file_name}.{}\"",
                            format.extension()
                        ),
                    ),
                ],
                bytes,
            )
                .into_response())
        }
        Output::Svg(lang) => {
            let svg = reports::report_chart(&q.report, &df, lang)
                .map_err(ApiError::internal)?
                .to_svg();
            Ok((
                [(header::CONTENT_TYPE, "image/svg+xml; charset=utf-8")],
                svg,
            )
                .into_response())
        }
    }
}

/// Runs one report over the partitions `filter` selects, restricted to one player if asked.
fn run(
    store: &HistoryStore,
    scratch: &Path,
    filter: &Filter,
    report: &Report,
    player: Option<&str>,
) -> anyhow::Result<DataFrame> {
    let snapshot = store.snapshot(filter);
    let Some(player) = player else {
        return Ok(Reports::new(snapshot.sources.clone()).run(report)?);
    };
    // The reports read whole files: copy the player's rows of each ward into scratch files
    // (one player's rows are small) and report on those.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = scratch.join(format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| -> anyhow::Result<DataFrame> {
        let sources = Sources {
            counts: only_player(&snapshot.sources.counts, player, &dir, "counts")?,
            plays: only_player(&snapshot.sources.plays, player, &dir, "plays")?,
        };
        Ok(Reports::new(sources).run(report)?)
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The ward directory name of a history file (`.../ward=W/...`).
fn ward_of(path: &Path) -> String {
    path.components()
        .filter_map(|c| c.as_os_str().to_str())
        .find_map(|c| c.strip_prefix("ward="))
        .unwrap_or_default()
        .to_string()
}

fn only_player(
    files: &[PathBuf],
    player: &str,
    dir: &Path,
    dataset: &str,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut wards: Vec<String> = files.iter().map(|p| ward_of(p)).collect();
    wards.sort();
    wards.dedup();
    let mut out = Vec::new();
    for ward in wards {
        let mine: Vec<PathBuf> = files
            .iter()
            .filter(|p| ward_of(p) == ward)
            .cloned()
            .collect();
        let mut df = scan_parquet_files(&mine)?
            .filter(col(c::PLAYER).eq(lit(player)))
            .collect()?;
        if df.height() == 0 {
            continue;
        }
        let ward_dir = dir.join(format!("ward={ward}"));
        std::fs::create_dir_all(&ward_dir)?;
        let name = format!("{dataset}.parquet");
        reports::store::write_parquet_durable(&ward_dir, &name, &mut df)?;
        out.push(ward_dir.join(name));
    }
    Ok(out)
}

/// A report frame as JSON objects; datetimes and dates as Tokyo local ISO 8601 text.
fn rows(df: &DataFrame) -> Vec<Value> {
    let columns = df.columns();
    (0..df.height())
        .map(|i| {
            let mut row = serde_json::Map::new();
            for column in columns {
                let value = column.get(i).map(json_value).unwrap_or(Value::Null);
                row.insert(column.name().to_string(), value);
            }
            Value::Object(row)
        })
        .collect()
}

fn json_value(v: AnyValue<'_>) -> Value {
    match v {
        AnyValue::Null => Value::Null,
        AnyValue::Boolean(b) => json!(b),
        AnyValue::Int8(n) => json!(n),
        AnyValue::Int16(n) => json!(n),
        AnyValue::Int32(n) => json!(n),
        AnyValue::Int64(n) => json!(n),
        AnyValue::UInt8(n) => json!(n),
        AnyValue::UInt16(n) => json!(n),
        AnyValue::UInt32(n) => json!(n),
        AnyValue::UInt64(n) => json!(n),
        AnyValue::Float32(x) => {
            serde_json::Number::from_f64(f64::from(x)).map_or(Value::Null, Value::Number)
        }
        AnyValue::Float64(x) => serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number),
        AnyValue::String(s) => json!(s),
        AnyValue::StringOwned(s) => json!(s.as_str()),
        AnyValue::Date(days) => NaiveDate::from_num_days_from_ce_opt(days + 719_163)
            .map_or(Value::Null, |d| json!(d.to_string())),
        AnyValue::Datetime(ms, unit, _) | AnyValue::DatetimeOwned(ms, unit, _) => {
            let ms = match unit {
                polars::prelude::TimeUnit::Milliseconds => ms,
                polars::prelude::TimeUnit::Microseconds => ms / 1000,
                polars::prelude::TimeUnit::Nanoseconds => ms / 1_000_000,
            };
            DateTime::from_timestamp_millis(ms).map_or(Value::Null, |t| {
                json!(t.naive_utc().format("%Y-%m-%dT%H:%M:%S").to_string())
            })
        }
        other => json!(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        };
        Params {
            from: get("from"),
            to: get("to"),
            ward: get("ward"),
            player: get("player"),
            level: get("level"),
            format: get("format"),
            lang: get("lang"),
        }
    }

    fn ok(name: &str, pairs: &[(&str, &str)]) -> Query_ {
        match parse(name, params(pairs)) {
            Ok(q) => q,
            Err(e) => panic!("{name} {pairs:?}: {}", e.message()),
        }
    }

    fn error(name: &str, pairs: &[(&str, &str)]) -> String {
        match parse(name, params(pairs)) {
            Ok(_) => panic!("{name} {pairs:?} accepted"),
            Err(e) => e.message().to_string(),
        }
    }

    #[test]
    fn names_levels_and_ranges_are_checked() {
        let q = ok("footfall-hourly", &[("player", "kita-1")]);
        assert_eq!(q.name, "footfall_hour_player");
        let q = ok("balance", &[("from", "2026-11-01"), ("to", "2026-11-01")]);
        assert_eq!(q.name, "balance_day_ward");
        assert_eq!(
            ok("peak_occupancy_day_player", &[]).name,
            "peak_occupancy_day_player"
        );
        assert!(error("footfall", &[]).contains("unknown report"));
        assert!(error("dwell", &[("from", "2026-13-01")]).contains("not a date"));
        assert!(error("dwell", &[("from", "2026-11-02"), ("to", "2026-11-01")]).contains("after"));
        assert!(
            error("dwell", &[("from", "2024-01-01"), ("to", "2026-01-01")]).contains("at most")
        );
        assert!(error("dwell", &[("format", "xlsx")]).contains("format"));
        assert!(error("dwell", &[("player", "Bad Id")]).contains("player id"));
    }

    async fn get_report(router: &axum::Router, token: &str) -> StatusCode {
        use tower::ServiceExt;
        let request = axum::http::Request::get("/api/v1/reports/footfall-daily")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(axum::body::Body::empty())
            .unwrap();
        router.clone().oneshot(request).await.unwrap().status()
    }

    #[tokio::test]
    async fn a_caller_with_reports_in_flight_waits_while_others_are_served() {
        let dir = tempfile::tempdir().unwrap();
        let state = crate::http::test_state(dir.path()).await;
        let mut tokens = Vec::new();
        for label in ["script", "analyst"] {
            let token = crate::broker::random_token();
            let id = state
                .store
                .create_token(
                    &token,
                    &crate::store::NewToken {
                        role: crate::auth::Role::Viewer,
                        label: label.into(),
                        created_by: "cli".into(),
                        expires_at: None,
                    },
                )
                .await
                .unwrap();
            tokens.push((id, token));
        }
        let router = crate::http::router(state.clone());
        assert_eq!(get_report(&router, &tokens[0].1).await, StatusCode::OK);
        // The script's two reports are still being computed.
        let script = format!("token:{}", tokens[0].0);
        let held: Vec<_> = (0..REPORTS_PER_CALLER)
            .map(|_| {
                state
                    .reports
                    .callers
                    .take(&script, REPORTS_PER_CALLER)
                    .unwrap()
            })
            .collect();
        assert_eq!(
            get_report(&router, &tokens[0].1).await,
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(get_report(&router, &tokens[1].1).await, StatusCode::OK);
        drop(held);
        assert_eq!(get_report(&router, &tokens[0].1).await, StatusCode::OK);
    }
}

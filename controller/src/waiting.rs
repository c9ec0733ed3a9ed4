//! 待たない窓口 for visitors: a public page (no login) and open data (JSON and CSV, CC BY 4.0)
//! saying, per ward office and counter area, how crowded it is now, today's usual busy hours
//! and the best time to come; during a live alert for the ward, the alert instead.
//!
//! It reads aggregated numbers only (the counts players send, the history's hourly means)
//! and publishes bands, and a head count only from `public.min_people` up, rounded down to 5
//! (`content::waiting`). A snapshot is built every [`REFRESH`] (the history every
//! [`HISTORY_EVERY`]) and served from memory with caching headers, so a crowd of phones costs
//! no queries; each address has its own rate limit and the public routes their own request
//! lane, so they cannot crowd out staff or alerts.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Datelike, TimeDelta, Timelike, Utc};
use content::waiting::{Band, Outlook, band, outlook, published_people};
use serde::Serialize;
use serde_json::json;
use tracing::warn;

use crate::http::AppState;

/// How often the live part is rebuilt.
pub const REFRESH: Duration = Duration::from_secs(20);
/// How often the usual hours are recomputed from the history.
const HISTORY_EVERY: Duration = Duration::from_secs(15 * 60);
/// Weeks of history the usual hours average.
const HISTORY_DAYS: i64 = 28;
/// A count older than this is not "now".
const FRESH: TimeDelta = TimeDelta::minutes(2);
/// Requests one address may make per second, and in a burst.
const PER_SECOND: f64 = 20.0;
const BURST: f64 = 40.0;
/// Addresses the limiter remembers; past this the idle ones are forgotten first.
const ADDRESSES: usize = 10_000;
const LICENSE: &str = "CC BY 4.0";
const LICENSE_URL: &str = "https://creativecommons.org/licenses/by/4.0/deed.ja";

/// Settings from `[public]` in the controller's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicSettings {
    /// Below this many people no head count is published.
    pub min_people: u32,
    /// People an area holds when it is full, for the bands.
    pub capacity: u32,
}

impl Default for PublicSettings {
    fn default() -> Self {
        PublicSettings {
            min_people: 5,
            capacity: 20,
        }
    }
}

/// What the public routes serve, ready to send.
struct Published {
    json: Bytes,
    csv: Bytes,
    etag: String,
}

/// Usual people by (player, counter) and hour, per Tokyo weekday (1 = Monday).
type Usual = HashMap<(String, String), HashMap<u32, [Option<f64>; 24]>>;

pub struct Waiting {
    settings: PublicSettings,
    published: RwLock<Arc<Published>>,
    usual: RwLock<Arc<Usual>>,
    limiter: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl Waiting {
    pub fn new(settings: PublicSettings) -> Arc<Waiting> {
        Arc::new(Waiting {
            settings,
            published: RwLock::new(Arc::new(Published {
                json: Bytes::from_static(b"{\"wards\": []}"),
                csv: Bytes::new(),
                etag: "\"empty\"".into(),
            })),
            usual: RwLock::default(),
            limiter: Mutex::default(),
        })
    }

    /// Takes one request from `address`'s bucket; the seconds to wait when it is empty.
    fn admit(&self, address: IpAddr, now: Instant) -> Result<(), u64> {
        let mut table = self.limiter.lock().expect("limiter lock");
        if table.len() >= ADDRESSES && !table.contains_key(&address) {
            // Forget every address whose bucket has refilled: it has been quiet.
            table.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * PER_SECOND < BURST
            });
            if table.len() >= ADDRESSES {
                return Err(1);
            }
        }
        let (tokens, at) = table.entry(address).or_insert((BURST, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * PER_SECOND).min(BURST);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / PER_SECOND).ceil().max(1.0) as u64)
        }
    }
}

/// One counter area as published.
#[derive(Debug, Serialize)]
struct Area {
    id: String,
    player: String,
    zone: String,
    band: Band,
    people: Option<u32>,
    updated_at: Option<DateTime<Utc>>,
    #[serde(flatten)]
    outlook: Outlook,
}

#[derive(Debug, Serialize)]
struct WardView {
    ward: String,
    names: BTreeMap<&'static str, &'static str>,
    open_today: bool,
    /// 開庁時間 today, `HH:MM-HH:MM`.
    hours: Option<String>,
    alert: Option<serde_json::Value>,
    areas: Vec<Area>,
}

/// Rebuilds the snapshot from the store, the history means and the alerts.
async fn rebuild(state: &AppState, waiting: &Waiting, now: DateTime<Utc>) -> anyhow::Result<()> {
    let players = state.store.players().await?;
    // Only the calendar: the content set is not needed here.
    let calendar = state.store.calendar().await?;
    let alerts = state.alerts.records().await;
    let usual = waiting.usual.read().expect("usual lock").clone();
    let today = content::tokyo::local_date(now);
    let local = now + TimeDelta::hours(9);
    let (weekday, hour) = (today.weekday().number_from_monday(), local.hour());
    let settings = waiting.settings;
    let mut wards: BTreeMap<String, WardView> = BTreeMap::new();
    for player in &players {
        let Some(ward_id) = player.ward.as_deref() else {
            continue;
        };
        let Some(ward) = content::wards::by_id(ward_id) else {
            continue;
        };
        let Ok(id) = player.id.parse() else {
            continue;
        };
        // The zones come from the latest record however old; its numbers count only when fresh.
        let latest = state.store.latest_counts(&id).await?;
        let fresh = latest.as_ref().is_some_and(|r| r.end > now - FRESH);
        let ward_key: content::ids::WardId = ward_id.into();
        let view = wards.entry(ward_id.to_string()).or_insert_with(|| {
            let open = calendar.is_open(&ward_key, today);
            let hours = calendar.daypart(&ward_key, "開庁時間");
            WardView {
                ward: ward_id.to_string(),
                names: alerts::templates::LANGUAGES
                    .iter()
                    .map(|l| (*l, ward.name(l)))
                    .collect(),
                open_today: open,
                hours: hours
                    .filter(|_| open)
                    .map(|h| format!("{}-{}", h.start.format("%H:%M"), h.end.format("%H:%M"))),
                alert: live_alert(&alerts, ward_id),
                areas: Vec::new(),
            }
        });
        let hours = calendar
            .daypart(&ward_key, "開庁時間")
            .filter(|_| view.open_today);
        // The zones the player counts now, and those it counted in the history.
        let mut zones: BTreeMap<String, Option<u32>> = BTreeMap::new();
        if let Some(record) = &latest {
            for (zone, tally) in &record.zones {
                zones.insert(zone.clone(), tally.occupancy.filter(|_| fresh));
            }
        }
        for (p, counter) in usual.keys() {
            if *p == player.id
                && !latest
                    .as_ref()
                    .is_some_and(|r| r.lines.contains_key(counter))
            {
                zones.entry(counter.clone()).or_insert(None);
            }
        }
        for (zone, people) in zones {
            let by_hour = usual
                .get(&(player.id.clone(), zone.clone()))
                .and_then(|w| w.get(&weekday))
                .copied()
                .unwrap_or([None; 24]);
            view.areas.push(Area {
                id: format!("{}.{zone}", player.id),
                player: player.id.clone(),
                band: band(people.map(f64::from), settings.capacity),
                people: people.and_then(|p| published_people(p, settings.min_people)),
                updated_at: latest.as_ref().filter(|_| fresh).map(|r| r.end),
                outlook: outlook(&by_hour, settings.capacity, hours.as_ref(), hour),
                zone,
            });
        }
    }
    let wards: Vec<WardView> = wards
        .into_values()
        .filter(|w| !w.areas.is_empty())
        .collect();
    let json = serde_json::to_vec(&json!({
        "generated_at": now,
        "license": LICENSE,
        "license_url": LICENSE_URL,
        "attribution": "大阪市 区役所 待たない窓口 (signage people-flow counts)",
        "min_people": settings.min_people,
        "bands": {"quiet": "< 30 %", "moderate": "30-70 %", "busy": ">= 70 % of usual capacity"},
        "wards": wards,
    }))?;
    let mut csv =
        String::from("ward,area,band,people,updated_at,open_today,best_hour,busy_hours\n");
    for w in &wards {
        for a in &w.areas {
            let band = serde_json::to_value(a.band)?;
            csv.push_str(&format!(
                "{},{},{},{},{},{},{},{}\n",
                w.ward,
                a.id,
                band.as_str().unwrap_or(""),
                a.people.map(|p| p.to_string()).unwrap_or_default(),
                a.updated_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                w.open_today,
                a.outlook
                    .best_hour
                    .map(|h| h.to_string())
                    .unwrap_or_default(),
                a.outlook
                    .busy_hours
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(" "),
            ));
        }
    }
    use sha2::Digest;
    let etag = format!("\"{}\"", &hex::encode(sha2::Sha256::digest(&json))[..16]);
    *waiting.published.write().expect("published lock") = Arc::new(Published {
        json: json.into(),
        csv: csv.into(),
        etag,
    });
    Ok(())
}

/// The headline of a live, real (not drill) alert for `ward`, in every language it has.
fn live_alert(records: &[alerts::lifecycle::AlertRecord], ward: &str) -> Option<serde_json::Value> {
    let target = content::schedule::PlayerTarget {
        id: "public".parse().ok()?,
        ward: ward.into(),
        groups: Vec::new(),
    };
    let record = records.iter().find(|r| {
        r.phase.is_live()
            && !r.message.is_drill()
            && r.message.targets.iter().any(|t| match t {
                content::schedule::Target::All | content::schedule::Target::Ward(_) => {
                    t.specificity_for(&target).is_some()
                }
                _ => false,
            })
    })?;
    let headlines: BTreeMap<&str, String> = record
        .message
        .cap
        .infos
        .iter()
        .filter_map(|i| Some((i.language.as_str(), i.headline.clone()?)))
        .collect();
    Some(json!({ "id": record.message.id, "level": record.message.level, "headlines": headlines }))
}

/// Usual people per (player, counter, weekday, hour) over the last weeks of history.
fn usual_from_history(state: &AppState, now: DateTime<Utc>) -> anyhow::Result<Usual> {
    let today = content::tokyo::local_date(now);
    let filter = reports::store::Filter {
        from: Some(today - TimeDelta::days(HISTORY_DAYS)),
        to: Some(today),
        wards: None,
    };
    let snapshot = state.history.store().snapshot(&filter);
    let df = reports::report::Reports::new(snapshot.sources.clone()).usual_occupancy()?;
    let mut usual = Usual::new();
    let column = |name: &str| df.column(name).map(|c| c.as_materialized_series().clone());
    let (players, counters) = (column("player")?, column("counter")?);
    let (weekdays, hours, occupancy) = (column("weekday")?, column("hour")?, column("occupancy")?);
    let (players, counters) = (players.str()?, counters.str()?);
    let (weekdays, hours, occupancy) = (weekdays.i32()?, hours.i32()?, occupancy.f64()?);
    for i in 0..df.height() {
        let (Some(p), Some(c), Some(w), Some(h), Some(o)) = (
            players.get(i),
            counters.get(i),
            weekdays.get(i),
            hours.get(i),
            occupancy.get(i),
        ) else {
            continue;
        };
        let slot = usual
            .entry((p.to_string(), c.to_string()))
            .or_default()
            .entry(w as u32)
            .or_insert([None; 24]);
        if let Some(cell) = slot.get_mut(h as usize) {
            *cell = Some(o);
        }
    }
    Ok(usual)
}

/// Keeps the snapshot fresh for as long as the controller runs.
pub fn spawn(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(REFRESH);
        let mut history_at: Option<Instant> = None;
        loop {
            tick.tick().await;
            let now = Utc::now();
            if history_at.is_none_or(|at| at.elapsed() >= HISTORY_EVERY) {
                history_at = Some(Instant::now());
                let for_history = state.clone();
                match tokio::task::spawn_blocking(move || usual_from_history(&for_history, now))
                    .await
                {
                    Ok(Ok(usual)) => {
                        *state.waiting.usual.write().expect("usual lock") = Arc::new(usual);
                    }
                    Ok(Err(e)) => warn!(%e, "the usual hours could not be read from the history"),
                    Err(e) => warn!(%e, "the usual hours task failed"),
                }
            }
            if let Err(e) = rebuild(&state, &state.waiting, now).await {
                warn!(%e, "the public waiting snapshot could not be rebuilt; the last one stays");
            }
        }
    });
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/public/wait", get(data_json))
        .route("/api/v1/public/wait.csv", get(data_csv))
        .route("/wait", get(|| async { page(&PAGE[0]) }))
        .route("/wait/wait.js", get(|| async { page(&PAGE[1]) }))
        .route("/wait/wait.css", get(|| async { page(&PAGE[2]) }))
}

const PAGE: [(&str, &[u8]); 3] = [
    (
        "text/html; charset=utf-8",
        include_bytes!("../public/wait.html"),
    ),
    (
        "text/javascript; charset=utf-8",
        include_bytes!("../public/wait.js"),
    ),
    (
        "text/css; charset=utf-8",
        include_bytes!("../public/wait.css"),
    ),
];

/// Same origin only, like the console; the page is static and fetches the JSON.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                   object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

fn page(file: &'static (&'static str, &'static [u8])) -> Response {
    crate::console::embedded(file.0, file.1, "public, max-age=300", CSP)
}

/// The rate limit and the caching headers every data answer shares.
fn serve(
    state: &AppState,
    address: IpAddr,
    headers: &HeaderMap,
    media_type: &'static str,
    body: impl FnOnce(&Published) -> Bytes,
) -> Response {
    if let Err(wait) = state.waiting.admit(address, Instant::now()) {
        let mut response = (
            StatusCode::TOO_MANY_REQUESTS,
            "too many requests from this address; try again shortly\n",
        )
            .into_response();
        if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    let published = state
        .waiting
        .published
        .read()
        .expect("published lock")
        .clone();
    let common = [
        (header::CACHE_CONTROL, "public, max-age=20"),
        (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
    ];
    let etag = HeaderValue::from_str(&published.etag).expect("hex etag");
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == published.etag.as_bytes())
    {
        return (StatusCode::NOT_MODIFIED, common, [(header::ETAG, etag)]).into_response();
    }
    (
        common,
        [
            (header::ETAG, etag),
            (header::CONTENT_TYPE, HeaderValue::from_static(media_type)),
        ],
        body(&published),
    )
        .into_response()
}

async fn data_json(
    State(state): State<AppState>,
    client: crate::auth::Client,
    headers: HeaderMap,
) -> Response {
    serve(&state, client.ip, &headers, "application/json", |p| {
        p.json.clone()
    })
}

async fn data_csv(
    State(state): State<AppState>,
    client: crate::auth::Client,
    headers: HeaderMap,
) -> Response {
    serve(
        &state,
        client.ip,
        &headers,
        "text/csv; charset=utf-8",
        |p| p.csv.clone(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_burst_then_its_rate_and_others_are_unaffected() {
        let waiting = Waiting::new(PublicSettings::default());
        let start = Instant::now();
        let a: IpAddr = [192, 0, 2, 1].into();
        for _ in 0..BURST as usize {
            assert!(waiting.admit(a, start).is_ok());
        }
        assert_eq!(waiting.admit(a, start), Err(1));
        assert!(waiting.admit([192, 0, 2, 2].into(), start).is_ok());
        // A second later, about PER_SECOND more.
        let later = start + Duration::from_secs(1);
        let admitted = (0..100).filter(|_| waiting.admit(a, later).is_ok()).count();
        assert_eq!(admitted, PER_SECOND as usize);
    }
}

//! `GET /metrics`: the controller in Prometheus text format (version 0.0.4), for a staff API
//! token. Figures that change as work happens (latencies, drops) are recorded where the work
//! is, in [`METRICS`]; figures that describe a state (players, queues, players' health) are
//! read when scraped.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::{self, Caller};
use crate::http::{ApiError, AppState};

/// Upper bounds in seconds: from a fast database write to a slow report.
const BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Debug, Clone, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (bound, count) in BUCKETS.iter().zip(self.counts.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
        self.sum += seconds;
        self.count += 1;
    }
}

/// Histograms by name and label set (labels already rendered, e.g. `route="/x",method="GET"`).
type Family = BTreeMap<(&'static str, String), Histogram>;

/// A bounded queue as the metrics see it: its name and how to read its depth.
struct QueueProbe {
    name: &'static str,
    depth: Box<dyn Fn() -> Option<(usize, usize)> + Send + Sync>,
    dropped: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

pub struct Metrics {
    histograms: Mutex<Family>,
    queues: Mutex<Vec<QueueProbe>>,
    broker_connections: AtomicI64,
    /// Each counting player's camera frames per second, from its latest counts.
    camera_fps: Mutex<BTreeMap<String, f64>>,
}

pub static METRICS: Metrics = Metrics {
    histograms: Mutex::new(BTreeMap::new()),
    queues: Mutex::new(Vec::new()),
    broker_connections: AtomicI64::new(0),
    camera_fps: Mutex::new(BTreeMap::new()),
};

/// Players whose camera rate is kept at most: far above a city's fleet, so a flood of made-up
/// ids cannot grow the map without bound.
const MAX_CAMERAS: usize = 20_000;

fn quote(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Records a duration in the histogram `name` with `labels` (`key="value",...`).
    pub fn observe(&self, name: &'static str, labels: String, took: Duration) {
        self.histograms
            .lock()
            .expect("not poisoned")
            .entry((name, labels))
            .or_default()
            .observe(took.as_secs_f64());
    }

    /// Times `work` into the histogram `name{what="..."}`.
    pub async fn time<T>(
        &self,
        name: &'static str,
        what: &str,
        work: impl Future<Output = T>,
    ) -> T {
        let started = Instant::now();
        let out = work.await;
        self.observe(name, format!("what=\"{}\"", quote(what)), started.elapsed());
        out
    }

    /// Makes a bounded queue visible: `depth` answers (used, capacity) while it exists.
    pub fn register_queue(
        &self,
        name: &'static str,
        depth: impl Fn() -> Option<(usize, usize)> + Send + Sync + 'static,
        dropped: std::sync::Arc<std::sync::atomic::AtomicU64>,
    ) {
        let mut queues = self.queues.lock().expect("not poisoned");
        queues.retain(|q| (q.depth)().is_some());
        queues.push(QueueProbe {
            name,
            depth: Box::new(depth),
            dropped,
        });
    }

    /// The camera rate a player's latest counts imply (frames over the record's span).
    pub fn camera(&self, player: &str, records: &[content::protocol::CountsRecord]) {
        let Some(last) = records.last() else { return };
        let seconds = (last.end - last.start).num_milliseconds() as f64 / 1000.0;
        if seconds <= 0.0 {
            return;
        }
        let mut map = self.camera_fps.lock().expect("not poisoned");
        if map.len() < MAX_CAMERAS || map.contains_key(player) {
            map.insert(player.to_owned(), last.frames as f64 / seconds);
        }
    }

    /// A client connection to the embedded broker's gate opened (+1) or closed (-1).
    pub fn broker_connection(&self, delta: i64) {
        self.broker_connections.fetch_add(delta, Ordering::Relaxed);
    }
}

/// Times every routed request by its route (the matched path, never the raw one: ids would
/// make a series per screen and per file).
pub async fn track_http(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    METRICS.observe(
        "signage_http_request_duration_seconds",
        format!(
            "route=\"{}\",method=\"{method}\",status=\"{}\"",
            quote(&route),
            response.status().as_u16() / 100 * 100
        ),
        started.elapsed(),
    );
    response
}

const HELP: &[(&str, &str)] = &[
    (
        "signage_http_request_duration_seconds",
        "HTTP requests by route, method and status class",
    ),
    (
        "signage_alert_publish_seconds",
        "Signing and publishing one alert broadcast to the broker",
    ),
    (
        "signage_alert_ack_seconds",
        "From an alert revision's issue to a player's showing acknowledgement reaching the controller",
    ),
    (
        "signage_store_write_seconds",
        "Database writes by what they store",
    ),
    (
        "signage_history_write_seconds",
        "Durable Parquet history writes, one batch each",
    ),
];

fn render_histograms(out: &mut String) {
    let family = METRICS.histograms.lock().expect("not poisoned").clone();
    for (name, help) in HELP {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for ((_, labels), h) in family.iter().filter(|((n, _), _)| n == name) {
            let sep = if labels.is_empty() { "" } else { "," };
            for (bound, count) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {count}");
            }
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", h.count);
            let braces = if labels.is_empty() {
                String::new()
            } else {
                format!("{{{labels}}}")
            };
            let _ = writeln!(out, "{name}_sum{braces} {}", h.sum);
            let _ = writeln!(out, "{name}_count{braces} {}", h.count);
        }
    }
}

fn gauge(out: &mut String, name: &str, help: &str, kind: &str, rows: &[(String, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in rows {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {value}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    }
}

async fn metrics(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    caller.require(auth::READ)?;
    let players = state.store.players().await.map_err(ApiError::internal)?;
    let views = state.screens.with_health(players);
    let mut out = String::new();
    let (mut online, mut offline, mut faulty) = (0.0, 0.0, 0.0);
    let mut per_player: BTreeMap<&str, Vec<(String, f64)>> = BTreeMap::new();
    for view in &views {
        let p = &view.record;
        if p.state != crate::store::fleet::PlayerState::Active {
            continue;
        }
        if !p.online {
            offline += 1.0;
            continue;
        }
        online += 1.0;
        let Some(h) = &view.health else { continue };
        if h.pipeline_state != "playing" {
            faulty += 1.0;
        }
        let label = format!("player=\"{}\"", quote(&p.id));
        let mut put = |name: &'static str, value: Option<f64>| {
            if let Some(v) = value {
                per_player.entry(name).or_default().push((label.clone(), v));
            }
        };
        put(
            "signage_player_frames_rendered_total",
            Some(h.frames_rendered as f64),
        );
        put(
            "signage_player_frames_dropped_total",
            Some(h.frames_dropped as f64),
        );
        put(
            "signage_player_pipeline_rebuilds_total",
            Some(h.rebuilds as f64),
        );
        put("signage_player_cpu_percent", h.cpu_percent.map(f64::from));
        put(
            "signage_player_memory_available_bytes",
            h.memory_available_bytes.map(|v| v as f64),
        );
        put(
            "signage_player_disk_free_bytes",
            h.disk_free_bytes.map(|v| v as f64),
        );
        put(
            "signage_player_temperature_celsius",
            h.temperature_celsius.map(f64::from),
        );
    }
    let online_rows: Vec<(String, f64)> = views
        .iter()
        .map(|v| &v.record)
        .filter(|p| p.state == crate::store::fleet::PlayerState::Active)
        .map(|p| {
            (
                format!(
                    "player=\"{}\",ward=\"{}\"",
                    quote(&p.id),
                    quote(p.ward.as_deref().unwrap_or(""))
                ),
                if p.online { 1.0 } else { 0.0 },
            )
        })
        .collect();
    gauge(
        &mut out,
        "signage_player_online",
        "Whether each active player is connected",
        "gauge",
        &online_rows,
    );
    office_hours(&state, &views, &mut out).await?;
    live_alerts(&state, &views, &mut out).await?;
    gauge(
        &mut out,
        "signage_players",
        "Active players by state (faulty: online, its renderer not playing)",
        "gauge",
        &[
            ("state=\"online\"".into(), online),
            ("state=\"offline\"".into(), offline),
            ("state=\"faulty\"".into(), faulty),
        ],
    );
    for (name, help, kind) in [
        (
            "signage_player_frames_rendered_total",
            "Frames the player composed",
            "counter",
        ),
        (
            "signage_player_frames_dropped_total",
            "Frames the player's renderer dropped",
            "counter",
        ),
        (
            "signage_player_pipeline_rebuilds_total",
            "Times the player rebuilt its pipeline",
            "counter",
        ),
        (
            "signage_player_cpu_percent",
            "The player machine's CPU use",
            "gauge",
        ),
        (
            "signage_player_memory_available_bytes",
            "The player machine's available memory",
            "gauge",
        ),
        (
            "signage_player_disk_free_bytes",
            "Free space where the player caches content",
            "gauge",
        ),
        (
            "signage_player_temperature_celsius",
            "The player machine's temperature",
            "gauge",
        ),
    ] {
        gauge(
            &mut out,
            name,
            help,
            kind,
            per_player.get(name).map_or(&[][..], Vec::as_slice),
        );
    }
    let cameras: Vec<(String, f64)> = METRICS
        .camera_fps
        .lock()
        .expect("not poisoned")
        .iter()
        .filter(|(player, _)| {
            views
                .iter()
                .any(|v| v.record.id == **player && v.record.online)
        })
        .map(|(player, fps)| (format!("player=\"{}\"", quote(player)), *fps))
        .collect();
    gauge(
        &mut out,
        "signage_player_camera_fps",
        "Camera frames per second a counting player processed in its latest counts",
        "gauge",
        &cameras,
    );
    gauge(
        &mut out,
        "signage_broker_link_up",
        "Whether the controller is connected to the MQTT broker",
        "gauge",
        &[(
            String::new(),
            if state.link.connected() { 1.0 } else { 0.0 },
        )],
    );
    gauge(
        &mut out,
        "signage_broker_connections",
        "Client connections through the embedded broker's gate",
        "gauge",
        &[(
            String::new(),
            METRICS.broker_connections.load(Ordering::Relaxed) as f64,
        )],
    );
    {
        let queues = METRICS.queues.lock().expect("not poisoned");
        let mut depth = Vec::new();
        let mut capacity = Vec::new();
        let mut dropped = Vec::new();
        for q in queues.iter() {
            let Some((used, cap)) = (q.depth)() else {
                continue;
            };
            let label = format!("queue=\"{}\"", quote(q.name));
            depth.push((label.clone(), used as f64));
            capacity.push((label.clone(), cap as f64));
            dropped.push((label, q.dropped.load(Ordering::Relaxed) as f64));
        }
        gauge(
            &mut out,
            "signage_queue_depth",
            "Items waiting in a bounded queue",
            "gauge",
            &depth,
        );
        gauge(
            &mut out,
            "signage_queue_capacity",
            "A bounded queue's capacity",
            "gauge",
            &capacity,
        );
        gauge(
            &mut out,
            "signage_queue_dropped_total",
            "Items a full queue dropped",
            "counter",
            &dropped,
        );
    }
    let refusals = &state.lanes.refusals;
    gauge(
        &mut out,
        "signage_http_refused_total",
        "Requests and connections the HTTP server refused when busy or slow",
        "counter",
        &[
            (
                "reason=\"connections\"".into(),
                refusals.connections.load(Ordering::Relaxed) as f64,
            ),
            (
                "reason=\"busy\"".into(),
                refusals.requests.load(Ordering::Relaxed) as f64,
            ),
            (
                "reason=\"timeout\"".into(),
                refusals.timeouts.load(Ordering::Relaxed) as f64,
            ),
        ],
    );
    gauge(
        &mut out,
        "signage_uptime_seconds",
        "Seconds since the controller started",
        "gauge",
        &[(String::new(), state.started.elapsed().as_secs() as f64)],
    );
    render_histograms(&mut out);
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response())
}

/// Whether each ward with players is in its opening hours (an open day, in 開庁時間), so an
/// alert rule can page for screens offline while visitors are there.
async fn office_hours(
    state: &AppState,
    views: &[crate::screens::PlayerView],
    out: &mut String,
) -> Result<(), ApiError> {
    let calendar = state.store.calendar().await.map_err(ApiError::internal)?;
    let now = chrono::Utc::now();
    let today = content::tokyo::local_date(now);
    let wards: std::collections::BTreeSet<&str> = views
        .iter()
        .filter_map(|v| v.record.ward.as_deref())
        .collect();
    let rows: Vec<(String, f64)> = wards
        .into_iter()
        .map(|ward| {
            let id = content::ids::WardId(ward.to_owned());
            let open = calendar.is_open(&id, today)
                && calendar.daypart(&id, "開庁時間").is_some_and(|part| {
                    let start = content::tokyo::instant(today, part.start);
                    let end = content::tokyo::instant(today, part.end);
                    start.zip(end).is_some_and(|(s, e)| s <= now && now < e)
                });
            (
                format!("ward=\"{}\"", quote(ward)),
                if open { 1.0 } else { 0.0 },
            )
        })
        .collect();
    gauge(
        out,
        "signage_office_open",
        "Whether the ward office is in its opening hours (開庁時間 on an open day)",
        "gauge",
        &rows,
    );
    Ok(())
}

/// Each live alert's targeted and showing players and its age, for "not acknowledged by
/// every target in 10 s".
async fn live_alerts(
    state: &AppState,
    views: &[crate::screens::PlayerView],
    out: &mut String,
) -> Result<(), ApiError> {
    let players: Vec<crate::store::PlayerRecord> = views.iter().map(|v| v.record.clone()).collect();
    let (mut targeted, mut showing, mut age) = (Vec::new(), Vec::new(), Vec::new());
    for record in state.alerts.records().await {
        if !record.phase.is_live() {
            continue;
        }
        let acks = state
            .store
            .alert_acks(&record.message.id.0)
            .await
            .map_err(ApiError::internal)?;
        let (mut all, mut shown) = (0.0, 0.0);
        for (_, _, delivery) in crate::alerting::routes::deliveries(&record, &players, &acks) {
            all += 1.0;
            if delivery == "showing" {
                shown += 1.0;
            }
        }
        let label = format!("alert=\"{}\"", quote(&record.message.id.0));
        targeted.push((label.clone(), all));
        showing.push((label.clone(), shown));
        let seconds = (chrono::Utc::now() - record.message.issued_at).num_milliseconds() as f64;
        age.push((label, seconds / 1000.0));
    }
    gauge(
        out,
        "signage_alert_targeted",
        "Players a live alert targets",
        "gauge",
        &targeted,
    );
    gauge(
        out,
        "signage_alert_showing",
        "Players showing a live alert's current revision",
        "gauge",
        &showing,
    );
    gauge(
        out,
        "signage_alert_age_seconds",
        "Seconds since a live alert's current revision was issued",
        "gauge",
        &age,
    );
    Ok(())
}

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new().route("/metrics", axum::routing::get(metrics))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_counts_each_observation_in_every_bucket_at_or_above_it() {
        let mut h = Histogram::default();
        h.observe(0.003);
        h.observe(0.2);
        h.observe(99.0);
        assert_eq!(h.count, 3);
        assert_eq!(h.counts[0], 0, "0.001");
        assert_eq!(h.counts[1], 1, "0.005");
        assert_eq!(h.counts[6], 2, "0.25");
        assert_eq!(h.counts[BUCKETS.len() - 1], 2, "30: 99 s only in +Inf");
        assert!((h.sum - 99.203).abs() < 1e-9);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(quote("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}

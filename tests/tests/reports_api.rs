//! People-flow reports end to end: test MQTT clients act as registered players and publish
//! counts and proof of play; the real controller writes them to its Parquet history and
//! acknowledges; `GET /api/v1/reports/...` must give the numbers computed by hand below, and a
//! controller killed (SIGKILL) in the middle of a stream of batches must lose nothing and
//! duplicate nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use content::protocol::{CountsRecord, DwellSummary, LineTally, PlayRecord, ZoneTally};
use e2e::fake_player::FakePlayer;
use e2e::{Broker, Controller, player_password, wait_until};
use serde_json::{Value, json};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// A 10-second record: `door` crossings and the `queue` zone.
fn record(
    seq: u64,
    start_jst: &str,
    (inbound, outbound): (u64, u64),
    (occupancy, max): (u32, u32),
    dwell: [u64; 5],
) -> CountsRecord {
    let start = at(&format!("{start_jst}+09:00"));
    CountsRecord {
        seq,
        start,
        end: start + chrono::Duration::seconds(10),
        frames: 50,
        lines: [("door".to_string(), LineTally { inbound, outbound })].into(),
        zones: [(
            "queue".to_string(),
            ZoneTally {
                occupancy: Some(occupancy),
                max,
                mean: f64::from(max) / 2.0,
                entries: 0,
                exits: 0,
                dwell: DwellSummary {
                    visits: dwell.iter().sum(),
                    mean_s: 0.0,
                    max_s: 0.0,
                    bounds_s: vec![60.0, 300.0, 900.0, 1800.0],
                    counts: dwell.to_vec(),
                },
            },
        )]
        .into(),
    }
}

fn play(id: &str, asset: &str, start_jst: &str, end_jst: &str) -> PlayRecord {
    serde_json::from_value(json!({
        "id": id, "layout": "lobby", "zone": "main", "playlist": "loop", "item": 0,
        "asset": asset,
        "start": format!("{start_jst}+09:00"), "end": format!("{end_jst}+09:00"),
    }))
    .unwrap()
}

fn report(c: &Controller, path: &str) -> Vec<Value> {
    let (status, body) = c.get(&format!("/api/v1/reports/{path}"));
    assert_eq!(status, 200, "{path}: {body}");
    body["rows"].as_array().unwrap().clone()
}

fn player(c: &Controller, id: &str, ward: &str) -> FakePlayer {
    let config = c.add_player(id, ward, 5);
    FakePlayer::connect(c, id, &player_password(&config))
}

const DAYS: &str = "from=2025-06-10&to=2025-06-11";

#[test]
fn report_numbers_match_hand_computed_values() {
    let dir = tempfile::tempdir().unwrap();
    let c = Controller::start(dir.path(), Broker::Embedded);
    let kita1 = player(&c, "kita-1", "kita");
    let kita2 = player(&c, "kita-2", "kita");
    let minami = player(&c, "minami-1", "minami");

    // Tuesday 2025-06-10 (Tokyo), kita ward.
    let k1 = [
        record(1, "2025-06-10T09:00:00", (3, 1), (2, 4), [1, 0, 0, 0, 0]),
        record(2, "2025-06-10T09:00:10", (2, 0), (3, 5), [0, 1, 0, 0, 0]),
        record(3, "2025-06-10T10:30:00", (4, 6), (0, 2), [0, 0, 1, 0, 1]),
    ];
    let k2 = [record(
        1,
        "2025-06-10T09:00:10",
        (5, 5),
        (1, 1),
        [0, 0, 0, 0, 0],
    )];
    // Wednesday, minami ward.
    let m1 = [record(
        1,
        "2025-06-11T11:00:00",
        (7, 2),
        (6, 6),
        [0, 0, 0, 1, 0],
    )];
    kita1.expect_counts_acked(&k1);
    kita2.expect_counts_acked(&k2);
    minami.expect_counts_acked(&m1);
    kita1.expect_plays_acked(
        "b1",
        &[
            // Overlaps 09:00:00 (queue max 4) and 09:00:10 (max 5): 5 viewers.
            play(
                "k1-a",
                "welcome",
                "2025-06-10T09:00:05",
                "2025-06-10T09:00:15",
            ),
            // Nobody counted then: 0 viewers.
            play(
                "k1-b",
                "welcome",
                "2025-06-10T10:00:00",
                "2025-06-10T10:00:20",
            ),
            // 10:30:00 bucket, max 2.
            play("k1-c", "news", "2025-06-10T10:30:00", "2025-06-10T10:30:05"),
        ],
    );

    let hourly = report(&c, &format!("footfall-hourly?level=player&{DAYS}"));
    let got: Vec<(String, String, i64, i64)> = hourly
        .iter()
        .map(|r| {
            (
                r["player"].as_str().unwrap().to_string(),
                r["period"].as_str().unwrap().to_string(),
                r["footfall"].as_i64().unwrap(),
                r["exits"].as_i64().unwrap(),
            )
        })
        .collect();
    let want = [
        ("kita-1", "2025-06-10T09:00:00", 5, 1),
        ("kita-1", "2025-06-10T10:00:00", 4, 6),
        ("kita-2", "2025-06-10T09:00:00", 5, 5),
        ("minami-1", "2025-06-11T11:00:00", 7, 2),
    ]
    .map(|(p, t, f, e)| (p.to_string(), t.to_string(), f, e));
    assert_eq!(got, want);

    let daily = report(&c, &format!("footfall-daily?{DAYS}"));
    assert_eq!(daily.len(), 2, "{daily:?}");
    assert_eq!(
        (
            &daily[0]["ward"],
            &daily[0]["period"],
            &daily[0]["footfall"]
        ),
        (&json!("kita"), &json!("2025-06-10T00:00:00"), &json!(14))
    );
    assert_eq!(
        (&daily[1]["ward"], &daily[1]["footfall"]),
        (&json!("minami"), &json!(7))
    );

    let balance = report(&c, &format!("balance?{DAYS}&ward=kita"));
    assert_eq!(balance.len(), 1, "{balance:?}");
    assert_eq!(
        (
            &balance[0]["day"],
            &balance[0]["in_count"],
            &balance[0]["out_count"],
            &balance[0]["balance"]
        ),
        (&json!("2025-06-10"), &json!(14), &json!(12), &json!(2))
    );

    // Ward occupancy at an instant sums its players: 09:00:10 has kita-1 5 + kita-2 1.
    let peak = report(&c, &format!("peak-occupancy?{DAYS}&ward=kita"));
    assert_eq!(
        (&peak[0]["peak"], &peak[0]["peak_at"]),
        (&json!(6), &json!("2025-06-10T09:00:10")),
        "{peak:?}"
    );
    let peak = report(&c, &format!("peak-occupancy?{DAYS}&player=kita-1"));
    assert_eq!(
        (&peak[0]["player"], &peak[0]["peak"], &peak[0]["peak_at"]),
        (&json!("kita-1"), &json!(5), &json!("2025-06-10T09:00:10")),
        "{peak:?}"
    );

    let dwell = report(&c, &format!("dwell?{DAYS}"));
    let bins = |r: &Value| -> Vec<i64> {
        [
            "dwell_lt_1m",
            "dwell_1_5m",
            "dwell_5_15m",
            "dwell_15_30m",
            "dwell_ge_30m",
            "departures",
        ]
        .iter()
        .map(|k| r[*k].as_i64().unwrap())
        .collect()
    };
    assert_eq!(bins(&dwell[0]), [1, 1, 1, 0, 1, 4], "{dwell:?}");
    assert_eq!(bins(&dwell[1]), [0, 0, 0, 1, 0, 1], "{dwell:?}");

    let impressions = report(&c, &format!("impressions?{DAYS}"));
    let row = |asset: &str| -> (i64, f64, i64, f64) {
        let r = impressions.iter().find(|r| r["asset"] == asset).unwrap();
        (
            r["plays"].as_i64().unwrap(),
            r["play_seconds"].as_f64().unwrap(),
            r["impressions"].as_i64().unwrap(),
            r["viewers_per_play"].as_f64().unwrap(),
        )
    };
    assert_eq!(row("welcome"), (2, 30.0, 5, 2.5));
    assert_eq!(row("news"), (1, 5.0, 2, 2.0));

    let wards = report(&c, &format!("wards?{DAYS}"));
    let w = |i: usize, k: &str| wards[i][k].clone();
    assert_eq!(
        [
            w(0, "ward"),
            w(0, "players"),
            w(0, "open_days"),
            w(0, "footfall")
        ],
        [json!("kita"), json!(2), json!(2), json!(14)]
    );
    assert_eq!(
        [
            w(0, "footfall_per_open_day"),
            w(0, "peak_occupancy"),
            w(0, "long_wait_share")
        ],
        [json!(7.0), json!(5), json!(0.25)]
    );
    assert_eq!(
        [
            w(1, "ward"),
            w(1, "footfall"),
            w(1, "peak_occupancy"),
            w(1, "long_wait_share")
        ],
        [json!("minami"), json!(7), json!(6), json!(1.0)]
    );

    // One player only; the player's rows only.
    let mine = report(&c, &format!("footfall-daily?{DAYS}&player=kita-1"));
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(
        (&mine[0]["footfall"], &mine[0]["exits"]),
        (&json!(9), &json!(7))
    );
    // Outside the range: nothing.
    assert!(report(&c, "footfall-daily?from=2025-06-12&to=2025-06-30").is_empty());

    // Re-sent batches (lost acknowledgements) change nothing.
    kita1.expect_counts_acked(&k1);
    kita2.expect_counts_acked(&k2);
    let again = report(&c, &format!("footfall-daily?{DAYS}"));
    assert_eq!(again, daily);

    // Exports and chart.
    let (status, csv, _) = c.get_bytes(
        &format!("/api/v1/reports/footfall-daily?{DAYS}&format=csv"),
        None,
    );
    assert_eq!(status, 200);
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.starts_with("ward,period,footfall,exits\n"), "{csv}");
    assert!(csv.contains("kita,2025-06-10T00:00:00,14,12"), "{csv}");
    let (status, parquet, _) = c.get_bytes(
        &format!("/api/v1/reports/wards?{DAYS}&format=parquet"),
        None,
    );
    assert_eq!(status, 200);
    assert!(parquet.starts_with(b"PAR1") && parquet.ends_with(b"PAR1"));
    let (status, svg, _) = c.get_bytes(
        &format!("/api/v1/reports/footfall-hourly?{DAYS}&format=svg&lang=en"),
        None,
    );
    assert_eq!(status, 200);
    assert!(String::from_utf8(svg).unwrap().contains("<svg"));

    // Clear refusals.
    for (path, needle) in [
        ("footfall?from=2025-06-10", "unknown report"),
        ("dwell?from=10-06-2025", "not a date"),
        ("dwell?from=2025-06-11&to=2025-06-10", "after"),
        ("dwell?from=2020-01-01&to=2025-06-10", "at most"),
        ("dwell?format=xlsx", "format"),
    ] {
        let (status, body) = c.get(&format!("/api/v1/reports/{path}"));
        assert_eq!(status, 400, "{path}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(needle),
            "{path}: {body}"
        );
    }
    let (status, _) = c.request_as(None, "GET", &format!("/api/v1/reports/dwell?{DAYS}"), None);
    assert_eq!(status, 401);

    // The per-player raw log still answers.
    let (status, body) = c.get("/api/v1/players/kita-1/counts");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["totals"]["records"], 3);
    assert_eq!(body["totals"]["lines"]["door"], json!({"in": 9, "out": 7}));
}

/// Record `seq` of the stream: `seq` people in (distinct numbers, so a duplicate or a loss
/// shows in the sum) and one departure (so the count of records shows too).
fn numbered(seq: u64) -> CountsRecord {
    let start = at("2025-06-10T00:00:00Z") + chrono::Duration::seconds(10 * seq as i64);
    let mut r = record(
        seq,
        "2025-06-10T09:00:00",
        (seq, 0),
        (1, 1),
        [1, 0, 0, 0, 0],
    );
    r.start = start;
    r.end = start + chrono::Duration::seconds(10);
    r
}

#[test]
fn a_controller_killed_during_ingestion_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Controller::start(dir.path(), Broker::Embedded);
    let cam = Arc::new(player(&c, "cam-1", "kita"));

    // The "player": a new record every 40 ms, unacknowledged ones re-sent (5 per batch, as
    // a real player does after a lost ack) every 500 ms until acknowledged.
    let acked: Arc<Mutex<BTreeSet<u64>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sent = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let sender = {
        let (cam, acked, stop, sent) = (cam.clone(), acked.clone(), stop.clone(), sent.clone());
        std::thread::spawn(move || {
            let mut pending: BTreeMap<u64, (CountsRecord, Option<Instant>)> = BTreeMap::new();
            let mut seq = 0;
            loop {
                let producing = !stop.load(std::sync::atomic::Ordering::Relaxed);
                if producing {
                    seq += 1;
                    pending.insert(seq, (numbered(seq), None));
                    sent.store(seq, std::sync::atomic::Ordering::Relaxed);
                }
                for s in cam.counts_acked(Duration::from_millis(40)) {
                    pending.remove(&s);
                    acked.lock().unwrap().insert(s);
                }
                if !producing && pending.is_empty() {
                    return seq;
                }
                let due: Vec<CountsRecord> = pending
                    .values_mut()
                    .filter(|(_, at)| at.is_none_or(|t| t.elapsed() > Duration::from_millis(500)))
                    .take(5)
                    .map(|(r, at)| {
                        *at = Some(Instant::now());
                        r.clone()
                    })
                    .collect();
                if !due.is_empty() {
                    cam.send_counts(&due);
                }
            }
        })
    };

    wait_until(Duration::from_secs(30), "20 records acknowledged", || {
        acked.lock().unwrap().len() >= 20
    });
    c.stop(); // SIGKILL while batches are in flight.
    let acked_before_kill = acked.lock().unwrap().clone();
    let sent_at_kill = sent.load(std::sync::atomic::Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(500));
    c.restart();
    wait_until(
        Duration::from_secs(60),
        "more records after the restart",
        || acked.lock().unwrap().len() as u64 >= sent_at_kill + 20,
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let last = sender.join().unwrap();
    assert!(acked_before_kill.len() >= 20);
    assert!(last > sent_at_kill, "the stream went on across the restart");

    // Every acknowledged record, re-sent once more as if all acks had been lost.
    let all: Vec<CountsRecord> = (1..=last).map(numbered).collect();
    for chunk in all.chunks(10) {
        cam.expect_counts_acked(chunk);
    }

    let body = report(&c, "dwell?from=2025-06-10&to=2025-06-10");
    assert_eq!(
        body[0]["departures"].as_u64(),
        Some(last),
        "one row per record: {body:?}"
    );
    let daily = report(&c, "footfall-daily?from=2025-06-10&to=2025-06-10");
    assert_eq!(
        daily[0]["footfall"].as_u64(),
        Some(last * (last + 1) / 2),
        "1 + 2 + ... + {last}, each once"
    );
    let (_, raw) = c.get("/api/v1/players/cam-1/counts");
    let seqs: Vec<u64> = raw["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=last).collect::<Vec<_>>());
    eprintln!(
        "records={last} acknowledged_before_kill={} sent_at_kill={sent_at_kill}",
        acked_before_kill.len()
    );
}

//! Benchmark: per-player manifest computation for a city-sized network, and the cost of one
//! selection. A program that prints its figures (not a timed test):
//!
//!     cargo run --release -p controller --example manifest_bench
//!
//! 1,000 players in 24 wards and 8 groups; 500 schedule entries targeting everyone, wards,
//! groups and single players with dates, weekdays and dayparts; 60 layouts, 120 playlists,
//! 400 assets.

use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use content::audience::Audience;
use content::schedule::PlayerTarget;
use content::schedule_set::{ScheduleSet, ScheduleSetParts};
use content::selection::select;
use controller::manifest::{HORIZON_DAYS, content_digest, player_manifest, render};
use serde_json::{Value, json};

const PLAYERS: usize = 1_000;
const ENTRIES: usize = 500;
const LAYOUTS: usize = 60;
const PLAYLISTS: usize = 120;
const ASSETS: usize = 400;
const WARDS: usize = 24;
const GROUPS: usize = 8;

/// A small deterministic generator, so runs are comparable.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % below
    }
}

fn schedule(rng: &mut Lcg) -> ScheduleSet {
    let assets: Vec<Value> = (0..ASSETS)
        .map(|i| {
            if i % 4 == 0 {
                json!({"id": format!("a{i}"), "kind": "text_slide",
                       "texts": {"ja": {"title": "お知らせ", "body": format!("本文 {i}")}, "en": {"title": "Notice", "body": format!("Body {i}")}},
                       "colours": {"text": "#ffffff", "background": "#003366"}})
            } else {
                json!({"id": format!("a{i}"), "kind": "image",
                       "file": {"sha256": format!("{i:064x}"), "size_bytes": 100_000 + i}})
            }
        })
        .collect();
    let playlists: Vec<Value> = (0..PLAYLISTS)
        .map(|i| {
            let items: Vec<Value> = (0..5)
                .map(|_| json!({"asset": format!("a{}", rng.next(ASSETS)), "duration_ms": 5_000 + 1_000 * rng.next(10) as u64}))
                .collect();
            json!({"id": format!("p{i}"), "items": items})
        })
        .collect();
    let layouts: Vec<Value> = (0..LAYOUTS)
        .map(|i| {
            json!({"id": format!("l{i}"), "canvas": {"width": 1920, "height": 1080}, "zones": [
                {"id": "main", "x": 0, "y": 0, "width": 1920, "height": 960, "playlist": format!("p{}", rng.next(PLAYLISTS))},
                {"id": "ticker", "x": 0, "y": 960, "width": 1920, "height": 120, "z": 1, "playlist": format!("p{}", rng.next(PLAYLISTS))}
            ]})
        })
        .collect();
    let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let entries: Vec<Value> = (0..ENTRIES)
        .map(|i| {
            let target = match i % 10 {
                0 => json!({"kind": "all"}),
                1..=5 => json!({"kind": "ward", "id": format!("w{}", rng.next(WARDS))}),
                6..=7 => json!({"kind": "group", "id": format!("g{}", rng.next(GROUPS))}),
                _ => json!({"kind": "player", "id": format!("p-{}", rng.next(PLAYERS))}),
            };
            let start = rng.next(20);
            let weekdays: Vec<&str> = days.iter().copied().filter(|_| rng.next(3) > 0).collect();
            let from = 6 + rng.next(10);
            json!({"id": format!("e{i:03}"), "targets": [target],
                   "dates": {"start": format!("2026-11-{:02}", 1 + start), "end": format!("2027-{:02}-01", 1 + rng.next(12))},
                   "weekdays": if weekdays.is_empty() { vec!["Mon"] } else { weekdays },
                   "dayparts": [{"start": format!("{from:02}:00:00"), "end": format!("{:02}:30:00", from + 1 + rng.next(6))}],
                   "priority": rng.next(5), "layout": format!("l{}", rng.next(LAYOUTS))})
        })
        .collect();
    let parts: ScheduleSetParts = serde_json::from_value(json!({
        "assets": assets, "playlists": playlists, "layouts": layouts, "entries": entries,
        "fallback_layout": "l0"
    }))
    .expect("well-formed");
    ScheduleSet::new(parts).expect("valid")
}

fn main() {
    let mut rng = Lcg(42);
    let players: Vec<PlayerTarget> = (0..PLAYERS)
        .map(|i| PlayerTarget {
            id: format!("p-{i}").parse().unwrap(),
            ward: format!("w{}", i % WARDS).as_str().into(),
            groups: vec![format!("g{}", i % GROUPS).as_str().into()],
        })
        .collect();
    let started = Instant::now();
    let set = schedule(&mut rng);
    let parts = ScheduleSetParts::from(set.clone());
    let validate = Instant::now();
    let set = ScheduleSet::new(parts).unwrap();
    let validated = validate.elapsed();
    println!(
        "schedule set: {ENTRIES} entries, {LAYOUTS} layouts, {PLAYLISTS} playlists, {ASSETS} assets (built in {:?}, validated in {validated:?})",
        started.elapsed() - validated
    );

    let now: DateTime<Utc> = "2026-11-25T03:00:00Z".parse().unwrap();
    let t = Instant::now();
    let mut bytes = 0usize;
    let mut largest = 0usize;
    let mut entries = 0usize;
    for player in &players {
        let mut manifest = player_manifest(&set, player, now, HORIZON_DAYS);
        let _digest = content_digest(&manifest);
        manifest.revision = 1;
        let (body, _sha) = render(&manifest);
        bytes += body.len();
        largest = largest.max(body.len());
        entries += manifest.schedule.entries.len();
    }
    let total = t.elapsed();
    println!(
        "manifests for {PLAYERS} players ({HORIZON_DAYS}-day horizon): {total:?} in all, {:?} per player; \
         {} entries per manifest on average; bodies {:.1} MiB in all, largest {:.1} KiB",
        total / PLAYERS as u32,
        entries / PLAYERS,
        bytes as f64 / (1024.0 * 1024.0),
        largest as f64 / 1024.0
    );

    let calls = 200_000usize;
    let t = Instant::now();
    let mut scheduled = 0usize;
    for i in 0..calls {
        let player = &players[i % PLAYERS];
        let at = now + TimeDelta::seconds((i as i64 * 7919) % (14 * 86_400));
        if matches!(
            select(&set, player, at, &Audience::default(), &[]),
            content::selection::Selection::Scheduled { .. }
        ) {
            scheduled += 1;
        }
    }
    let total = t.elapsed();
    println!(
        "select() on the full {ENTRIES}-entry set: {:?} per call ({calls} calls over 14 days, {:.0}% scheduled, the rest fallback)",
        total / calls as u32,
        100.0 * scheduled as f64 / calls as f64
    );

    // The player runs select() on its own manifest subset, which is much smaller.
    let subset =
        ScheduleSet::new(player_manifest(&set, &players[0], now, HORIZON_DAYS).schedule).unwrap();
    let t = Instant::now();
    for i in 0..calls {
        let at = now + TimeDelta::seconds((i as i64 * 7919) % (7 * 86_400));
        std::hint::black_box(select(&subset, &players[0], at, &Audience::default(), &[]));
    }
    println!(
        "select() on one player's manifest ({} entries): {:?} per call",
        subset.entries().len(),
        t.elapsed() / calls as u32
    );
}

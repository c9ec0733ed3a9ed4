//! Realistic synthetic history for demos and benchmarks.
//!
//! Ward offices open 8:45-17:30 Asia/Tokyo on weekdays. Arrivals per 10-second bucket are
//! Poisson with a rate shaped by time of day (morning ramp, lunch peak 12:00-13:00, quiet
//! late afternoon), weekday (Monday rush, busy Friday), ward (some wards are quieter) and
//! player (placement). Each visitor waits in front of the screen for a while that grows with
//! the crowd, so occupancy, departures and dwell follow. Screens play a playlist from 8:30
//! to 17:45. Players report a count row every 10 seconds around the clock (zeros when
//! closed), so `days * players * 8640` count rows are generated. All randomness comes from
//! one seed: the same configuration gives the same files.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{Datelike, NaiveDate, Weekday};
use polars::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::schema::{self, BUCKET_MS, DWELL_BINS, Dataset, TOKYO_OFFSET_MS, col as c};
use crate::store::{HistoryStore, PartitionKey, StoreError};

/// Osaka's 24 wards with a relative activity (1.0 = typical).
pub const WARDS: [(&str, f64); 24] = [
    ("kita", 1.35),
    ("miyakojima", 0.9),
    ("fukushima", 0.75),
    ("konohana", 0.55),
    ("chuo", 1.2),
    ("nishi", 0.95),
    ("minato", 0.6),
    ("taisho", 0.5),
    ("tennoji", 0.85),
    ("naniwa", 0.8),
    ("nishiyodogawa", 0.7),
    ("yodogawa", 1.25),
    ("higashiyodogawa", 1.1),
    ("higashinari", 0.7),
    ("ikuno", 1.0),
    ("asahi", 0.8),
    ("joto", 1.1),
    ("tsurumi", 1.0),
    ("abeno", 1.0),
    ("suminoe", 0.85),
    ("sumiyoshi", 1.05),
    ("higashisumiyoshi", 0.9),
    ("hirano", 1.3),
    ("nishinari", 0.95),
];

/// Main-zone playlist: asset and duration in seconds.
pub const PLAYLIST: [(&str, u32); 10] = [
    ("welcome-ja-en", 15),
    ("my-number-card", 30),
    ("online-procedures", 15),
    ("tax-filing", 20),
    ("disaster-preparedness", 30),
    ("health-checkup", 20),
    ("childcare-support", 20),
    ("garbage-sorting", 15),
    ("elderly-care", 25),
    ("event-calendar", 10),
];
pub const TICKER_ASSET: &str = "ticker-news";
pub const TICKER_SECONDS: u32 = 60;
pub const COUNTER: &str = "waiting-area";
pub const LAYOUT: &str = "standard";

pub const OPEN_S: u32 = 8 * 3600 + 45 * 60;
pub const CLOSE_S: u32 = 17 * 3600 + 30 * 60;
const SCREEN_ON_S: u32 = 8 * 3600 + 30 * 60;
const SCREEN_OFF_S: u32 = 17 * 3600 + 45 * 60;
const BUCKETS_PER_DAY: u32 = 8640;

#[derive(Debug, Clone)]
pub struct SynthConfig {
    /// First local date (a Monday makes weeks line up).
    pub start: NaiveDate,
    pub days: u32,
    pub players: u32,
    pub seed: u64,
    /// Mean arrivals per hour at a typical player at the reference time of day.
    pub arrivals_per_hour: f64,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            start: NaiveDate::from_ymd_opt(2026, 10, 5).expect("date"),
            days: 30,
            players: 240,
            seed: 8,
            arrivals_per_hour: 45.0,
        }
    }
}

/// Player id and ward of player `i`: players are spread round-robin over the 24 wards.
pub fn player(i: u32) -> (String, &'static str) {
    let (ward, _) = WARDS[(i as usize) % WARDS.len()];
    (format!("{ward}-{:02}", i as usize / WARDS.len() + 1), ward)
}

/// Relative arrival rate at local second-of-day `s` on an open day.
pub fn time_of_day_shape(s: u32) -> f64 {
    let h = f64::from(s) / 3600.0;
    let points = [
        (8.75, 0.5),
        (9.5, 1.15),
        (11.0, 1.2),
        (11.75, 1.0),
        (12.1, 1.6),
        (12.9, 1.6),
        (13.25, 1.05),
        (15.0, 0.9),
        (16.5, 0.7),
        (17.5, 0.35),
    ];
    if !(points[0].0..points[points.len() - 1].0).contains(&h) {
        return 0.0;
    }
    let i = points.iter().rposition(|p| p.0 <= h).expect("inside");
    let (x0, y0) = points[i];
    let (x1, y1) = points[i + 1];
    y0 + (y1 - y0) * (h - x0) / (x1 - x0)
}

/// Relative rate by weekday (0 on weekends: closed).
pub fn weekday_factor(d: Weekday) -> f64 {
    match d {
        Weekday::Mon => 1.45,
        Weekday::Tue => 1.05,
        Weekday::Wed => 0.95,
        Weekday::Thu => 1.0,
        Weekday::Fri => 1.15,
        Weekday::Sat | Weekday::Sun => 0.0,
    }
}

fn poisson(rng: &mut StdRng, lambda: f64) -> u32 {
    if lambda <= 0.0 {
        return 0;
    }
    let l = (-lambda).exp();
    let mut k = 0;
    let mut p = 1.0;
    loop {
        p *= rng.r#gen::<f64>();
        if p <= l {
            return k;
        }
        k += 1;
    }
}

fn mix(a: u64, b: u64) -> u64 {
    let mut z = a ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[derive(Default)]
struct CountColumns {
    player: Vec<u32>,
    ts: Vec<i64>,
    cols: [Vec<u32>; 9],
}

#[derive(Default)]
struct PlayColumns {
    id: Vec<String>,
    player: Vec<u32>,
    zone: Vec<&'static str>,
    asset: Vec<&'static str>,
    start: Vec<i64>,
    end: Vec<i64>,
}

fn day_start_utc_ms(date: NaiveDate) -> i64 {
    let days = (date - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days();
    days * 86_400_000 - TOKYO_OFFSET_MS
}

/// Simulates one player's day into the column buffers.
fn simulate_player_day(
    cfg: &SynthConfig,
    player_index: u32,
    day_index: u32,
    date: NaiveDate,
    ward_activity: f64,
    counts: &mut CountColumns,
    plays: &mut PlayColumns,
) {
    let mut rng = StdRng::seed_from_u64(mix(
        mix(cfg.seed, u64::from(player_index)),
        u64::from(day_index),
    ));
    let placement = 0.7
        + 0.6
            * StdRng::seed_from_u64(mix(cfg.seed ^ 0xABCD, u64::from(player_index))).r#gen::<f64>();
    let day_factor = weekday_factor(date.weekday());
    let rate_per_bucket = cfg.arrivals_per_hour / 360.0 * ward_activity * placement * day_factor;
    let t0 = day_start_utc_ms(date);
    // Departures: (leave_ms, arrived_ms), earliest first.
    let mut inside: BinaryHeap<Reverse<(i64, i64)>> = BinaryHeap::new();
    let mut events: Vec<(i64, i32)> = Vec::new();
    for b in 0..BUCKETS_PER_DAY {
        let s = b * 10;
        let start = t0 + i64::from(b) * BUCKET_MS;
        let end = start + BUCKET_MS;
        let mut row = [0u32; 9];
        let occ_start = inside.len() as u32;
        let lambda = if day_factor > 0.0 && (OPEN_S..CLOSE_S).contains(&s) {
            rate_per_bucket * time_of_day_shape(s)
        } else {
            0.0
        };
        if lambda > 0.0 || !inside.is_empty() {
            events.clear();
            let arrivals = poisson(&mut rng, lambda);
            for _ in 0..arrivals {
                let at = start + rng.gen_range(0..BUCKET_MS);
                let crowd = inside.len() as f64;
                let stay_s = if rng.r#gen::<f64>() < 0.3 {
                    rng.gen_range(5.0..50.0)
                } else {
                    let mean = 240.0 + 25.0 * crowd;
                    (-mean * (1.0 - rng.r#gen::<f64>()).ln()).clamp(20.0, 3600.0)
                };
                inside.push(Reverse((at + (stay_s * 1000.0) as i64, at)));
                events.push((at, 1));
            }
            row[0] = arrivals;
            while let Some(Reverse((leave, arrived))) = inside.peek().copied() {
                if leave >= end {
                    break;
                }
                inside.pop();
                events.push((leave, -1));
                row[1] += 1;
                let stayed = ((leave - arrived) / 1000) as u32;
                row[4 + schema::dwell_bin(stayed)] += 1;
            }
            // Occupancy before this bucket's arrivals, then replay events in time order
            // (departures first on ties).
            let mut occ = i64::from(occ_start);
            events.sort_unstable();
            let mut max = occ;
            for (_, d) in &events {
                occ += i64::from(*d);
                max = max.max(occ);
            }
            row[2] = inside.len() as u32;
            row[3] = max as u32;
        }
        counts.player.push(player_index);
        counts.ts.push(start);
        for (i, v) in row.iter().enumerate() {
            counts.cols[i].push(*v);
        }
    }
    if day_factor == 0.0 {
        return;
    }
    // Proof of play: main zone cycles the playlist, ticker repeats one item.
    let (pid, _) = player(player_index);
    let mut t = t0 + i64::from(SCREEN_ON_S) * 1000 + rng.gen_range(0..5000);
    let off = t0 + i64::from(SCREEN_OFF_S) * 1000;
    let mut i = rng.gen_range(0..PLAYLIST.len());
    while t < off {
        let (asset, secs) = PLAYLIST[i % PLAYLIST.len()];
        let end = t + i64::from(secs) * 1000 + rng.gen_range(0..300);
        plays.id.push(format!("{pid}-main-{t}"));
        plays.player.push(player_index);
        plays.zone.push("main");
        plays.asset.push(asset);
        plays.start.push(t);
        plays.end.push(end);
        t = end + rng.gen_range(20..200);
        i += 1;
    }
    let mut t = t0 + i64::from(SCREEN_ON_S) * 1000;
    while t < off {
        let end = t + i64::from(TICKER_SECONDS) * 1000;
        plays.id.push(format!("{pid}-ticker-{t}"));
        plays.player.push(player_index);
        plays.zone.push("ticker");
        plays.asset.push(TICKER_ASSET);
        plays.start.push(t);
        plays.end.push(end);
        t = end + 50;
    }
}

/// Generates the (counts, plays) frames of one partition: `date` x `ward`.
pub fn partition_frames(
    cfg: &SynthConfig,
    day_index: u32,
    ward_index: usize,
) -> PolarsResult<(DataFrame, DataFrame)> {
    let date = cfg.start + chrono::Days::new(u64::from(day_index));
    let (ward, activity) = WARDS[ward_index];
    let mut counts = CountColumns::default();
    let mut plays = PlayColumns::default();
    let mut names = Vec::new();
    for p in (ward_index as u32..cfg.players).step_by(WARDS.len()) {
        names.push(player(p).0);
        simulate_player_day(cfg, p, day_index, date, activity, &mut counts, &mut plays);
    }
    let name_of = |indices: &[u32]| -> Vec<&str> {
        indices
            .iter()
            .map(|p| names[*p as usize / WARDS.len()].as_str())
            .collect()
    };
    let n = counts.ts.len();
    let mut cols = vec![
        Column::new(c::PLAYER.into(), name_of(&counts.player)),
        Column::new(c::WARD.into(), vec![ward; n]),
        schema::datetime_column(c::TS, counts.ts)?,
        Column::new(c::COUNTER.into(), vec![COUNTER; n]),
    ];
    let names9 = [c::IN, c::OUT, c::OCCUPANCY, c::OCCUPANCY_MAX];
    for (i, v) in counts.cols.into_iter().enumerate() {
        let name = if i < 4 {
            names9[i]
        } else {
            DWELL_BINS[i - 4].column
        };
        cols.push(Column::new(name.into(), v));
    }
    let counts_df = DataFrame::new(n, cols)?;
    let m = plays.start.len();
    let plays_df = DataFrame::new(
        m,
        vec![
            Column::new(c::PLAY_ID.into(), plays.id),
            Column::new(c::PLAYER.into(), name_of(&plays.player)),
            Column::new(c::WARD.into(), vec![ward; m]),
            Column::new(c::LAYOUT.into(), vec![LAYOUT; m]),
            Column::new(c::ZONE.into(), plays.zone),
            Column::new(c::ASSET.into(), plays.asset),
            schema::datetime_column(c::STARTED_AT, plays.start)?,
            schema::datetime_column(c::ENDED_AT, plays.end)?,
        ],
    )?;
    Ok((counts_df, plays_df))
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GenStats {
    pub count_rows: usize,
    pub play_rows: usize,
    pub partitions: usize,
}

/// Writes the whole synthetic history into `store`, one batch per partition
/// (`synth-{seed}`), using `threads` threads. Re-running is a no-op (idempotent batches).
pub fn generate(
    store: &HistoryStore,
    cfg: &SynthConfig,
    threads: usize,
) -> Result<GenStats, StoreError> {
    let wards = WARDS.len().min(cfg.players as usize);
    let tasks: Vec<(u32, usize)> = (0..cfg.days)
        .flat_map(|d| (0..wards).map(move |w| (d, w)))
        .collect();
    let next = AtomicUsize::new(0);
    let batch = format!("synth-{}", cfg.seed);
    let results: Vec<Result<GenStats, StoreError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut stats = GenStats::default();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&(day, ward)) = tasks.get(i) else {
                            return Ok(stats);
                        };
                        let (mut counts, mut plays) = partition_frames(cfg, day, ward)?;
                        let key = PartitionKey {
                            date: cfg.start + chrono::Days::new(u64::from(day)),
                            ward: WARDS[ward].0.to_string(),
                        };
                        stats.count_rows += counts.height();
                        stats.play_rows += plays.height();
                        stats.partitions += 1;
                        store.ingest_partition(Dataset::Counts, &batch, &key, &mut counts)?;
                        if plays.height() > 0 {
                            store.ingest_partition(Dataset::Plays, &batch, &key, &mut plays)?;
                        }
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("generator thread"))
            .collect()
    });
    let mut total = GenStats::default();
    for r in results {
        let s = r?;
        total.count_rows += s.count_rows;
        total.play_rows += s.play_rows;
        total.partitions += s.partitions;
    }
    Ok(total)
}

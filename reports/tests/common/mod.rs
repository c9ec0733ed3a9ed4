//! A small hand-made history whose report values are computed by hand in `reports.rs`.
#![allow(dead_code)]

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use polars::prelude::*;
use reports::{CountRow, PlayRow};

/// Asia/Tokyo local time to a UTC instant.
pub fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    let local = NaiveDate::from_ymd_opt(y, mo, d)
        .unwrap()
        .and_hms_opt(h, mi, s)
        .unwrap();
    Utc.from_utc_datetime(&(local - chrono::Duration::hours(9)))
}

pub fn count(
    player: &str,
    ts: DateTime<Utc>,
    in_out_occ_max: [u32; 4],
    dwell: [u32; 5],
) -> CountRow {
    CountRow {
        player: player.into(),
        ward: player.split('-').next().unwrap().into(),
        ts,
        counter: "waiting-area".into(),
        in_count: in_out_occ_max[0],
        out_count: in_out_occ_max[1],
        occupancy: in_out_occ_max[2],
        occupancy_max: in_out_occ_max[3],
        dwell,
    }
}

pub fn play(
    id: &str,
    player: &str,
    asset: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> PlayRow {
    PlayRow {
        play_id: id.into(),
        player: player.into(),
        ward: player.split('-').next().unwrap().into(),
        layout: "standard".into(),
        zone: "main".into(),
        asset: asset.into(),
        started_at: start,
        ended_at: end,
    }
}

/// Monday 2026-10-05, Tuesday 10-06 and Monday 10-12 in kita (2 players) and minato.
pub fn small_counts() -> Vec<CountRow> {
    let z = [0; 5];
    vec![
        count("kita-01", at(2026, 10, 5, 9, 0, 0), [3, 0, 3, 3], z),
        count(
            "kita-01",
            at(2026, 10, 5, 9, 0, 10),
            [1, 2, 2, 4],
            [1, 1, 0, 0, 0],
        ),
        count(
            "kita-01",
            at(2026, 10, 5, 10, 30, 0),
            [2, 1, 3, 4],
            [0, 0, 1, 0, 0],
        ),
        count(
            "kita-02",
            at(2026, 10, 5, 9, 0, 0),
            [5, 1, 4, 5],
            [0, 1, 0, 0, 0],
        ),
        count(
            "kita-02",
            at(2026, 10, 5, 12, 15, 0),
            [0, 2, 2, 4],
            [0, 0, 0, 1, 1],
        ),
        count("minato-01", at(2026, 10, 5, 9, 0, 10), [1, 0, 1, 1], z),
        count("kita-01", at(2026, 10, 6, 8, 59, 50), [2, 0, 2, 2], z),
        // 23:59:50 local is 14:59:50 UTC: still Tuesday in Tokyo.
        count(
            "kita-01",
            at(2026, 10, 6, 23, 59, 50),
            [0, 1, 0, 1],
            [0, 0, 0, 0, 1],
        ),
        count(
            "kita-01",
            at(2026, 10, 12, 9, 0, 0),
            [4, 4, 0, 3],
            [2, 1, 1, 0, 0],
        ),
    ]
}

pub fn small_plays() -> Vec<PlayRow> {
    vec![
        // Buckets 09:00:00 and 09:00:10 of kita-01: occupancy_max 3, 4 -> 4 viewers.
        play(
            "p1",
            "kita-01",
            "a",
            at(2026, 10, 5, 9, 0, 5),
            at(2026, 10, 5, 9, 0, 15),
        ),
        // Bucket 09:00:20 only (end is exclusive): no count row -> 0 viewers.
        play(
            "p2",
            "kita-01",
            "a",
            at(2026, 10, 5, 9, 0, 20),
            at(2026, 10, 5, 9, 0, 30),
        ),
        // Buckets 08:59:50 and 09:00:00 of kita-02 -> 5 (kita-01's 3 is another player).
        play(
            "p3",
            "kita-02",
            "b",
            at(2026, 10, 5, 8, 59, 55),
            at(2026, 10, 5, 9, 0, 5),
        ),
        // Buckets 09:00:10..09:00:30 of minato-01 -> 1.
        play(
            "p4",
            "minato-01",
            "b",
            at(2026, 10, 5, 9, 0, 10),
            at(2026, 10, 5, 9, 0, 40),
        ),
    ]
}

/// A frame as CSV text (floats with 4 decimals), for inline expectations.
pub fn csv(df: &DataFrame) -> String {
    let mut df = df.clone();
    let mut buf = Vec::new();
    CsvWriter::new(&mut buf)
        .include_header(true)
        .with_float_precision(Some(4))
        .with_datetime_format(Some("%Y-%m-%d %H:%M:%S".into()))
        .finish(&mut df)
        .unwrap();
    String::from_utf8(buf).unwrap()
}

pub fn dedent(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect()
}

//! The two datasets and their Parquet schema: one place that names every column.
//!
//! **Counts**: one row per player, counter (a counting line or zone of its camera) and
//! 10-second bucket. `ts` is the bucket start as a UTC instant (Parquet `TIMESTAMP(MILLIS)`,
//! no time zone annotation); reports convert to Asia/Tokyo local time (+09:00, no DST).
//! `dwell_*` columns are a histogram of the people who *left* the zone during the bucket,
//! binned by how long they had stayed, so summing them over any set of rows gives the dwell
//! distribution of that set.
//!
//! **Plays** (proof of play): one row per finished play of one asset in one layout zone.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use polars::prelude::*;

/// Asia/Tokyo: Japan keeps +09:00 all year.
pub const TOKYO_OFFSET_MS: i64 = 9 * 3600 * 1000;
/// Length of one count bucket.
pub const BUCKET_MS: i64 = 10_000;

pub mod col {
    pub const PLAYER: &str = "player";
    pub const WARD: &str = "ward";
    pub const TS: &str = "ts";
    pub const COUNTER: &str = "counter";
    pub const IN: &str = "in_count";
    pub const OUT: &str = "out_count";
    pub const OCCUPANCY: &str = "occupancy";
    pub const OCCUPANCY_MAX: &str = "occupancy_max";
    pub const PLAY_ID: &str = "play_id";
    pub const LAYOUT: &str = "layout";
    pub const ZONE: &str = "zone";
    pub const ASSET: &str = "asset";
    pub const STARTED_AT: &str = "started_at";
    pub const ENDED_AT: &str = "ended_at";
}

/// Dwell histogram bins: column name, lower bound in seconds (inclusive), labels.
pub const DWELL_BINS: [DwellBin; 5] = [
    DwellBin {
        column: "dwell_lt_1m",
        from_s: 0,
        en: "< 1 min",
        ja: "1分未満",
    },
    DwellBin {
        column: "dwell_1_5m",
        from_s: 60,
        en: "1-5 min",
        ja: "1〜5分",
    },
    DwellBin {
        column: "dwell_5_15m",
        from_s: 300,
        en: "5-15 min",
        ja: "5〜15分",
    },
    DwellBin {
        column: "dwell_15_30m",
        from_s: 900,
        en: "15-30 min",
        ja: "15〜30分",
    },
    DwellBin {
        column: "dwell_ge_30m",
        from_s: 1800,
        en: "30 min +",
        ja: "30分以上",
    },
];

#[derive(Debug, Clone, Copy)]
pub struct DwellBin {
    pub column: &'static str,
    pub from_s: u32,
    pub en: &'static str,
    pub ja: &'static str,
}

/// Index into [`DWELL_BINS`] for a stay of `seconds`.
pub fn dwell_bin(seconds: u32) -> usize {
    DWELL_BINS
        .iter()
        .rposition(|b| seconds >= b.from_s)
        .unwrap_or(0)
}

/// One 10-second count of one counter on one player.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CountRow {
    pub player: String,
    pub ward: String,
    /// Start of the 10-second bucket.
    pub ts: DateTime<Utc>,
    /// Name of the counting line or zone.
    pub counter: String,
    pub in_count: u32,
    pub out_count: u32,
    /// People in the zone at the end of the bucket.
    pub occupancy: u32,
    /// Most people in the zone at any instant of the bucket.
    pub occupancy_max: u32,
    /// People who left during the bucket, by dwell bin (see [`DWELL_BINS`]).
    pub dwell: [u32; 5],
}

/// One finished play (proof of play).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlayRow {
    pub play_id: String,
    pub player: String,
    pub ward: String,
    pub layout: String,
    pub zone: String,
    pub asset: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
}

/// The two datasets of the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dataset {
    Counts,
    Plays,
}

impl Dataset {
    pub const ALL: [Dataset; 2] = [Dataset::Counts, Dataset::Plays];

    /// Directory name under the history root.
    pub fn dir_name(self) -> &'static str {
        match self {
            Dataset::Counts => "counts",
            Dataset::Plays => "plays",
        }
    }

    pub fn schema(self) -> Schema {
        let ts = DataType::Datetime(TimeUnit::Milliseconds, None);
        let s = |n: &str| Field::new(n.into(), DataType::String);
        let u = |n: &str| Field::new(n.into(), DataType::UInt32);
        let t = |n: &str| Field::new(n.into(), ts.clone());
        let mut fields = match self {
            Dataset::Counts => vec![
                s(col::PLAYER),
                s(col::WARD),
                t(col::TS),
                s(col::COUNTER),
                u(col::IN),
                u(col::OUT),
                u(col::OCCUPANCY),
                u(col::OCCUPANCY_MAX),
            ],
            Dataset::Plays => vec![
                s(col::PLAY_ID),
                s(col::PLAYER),
                s(col::WARD),
                s(col::LAYOUT),
                s(col::ZONE),
                s(col::ASSET),
                t(col::STARTED_AT),
                t(col::ENDED_AT),
            ],
        };
        if self == Dataset::Counts {
            fields.extend(DWELL_BINS.iter().map(|b| u(b.column)));
        }
        Schema::from_iter(fields)
    }

    /// An empty frame with this dataset's schema.
    pub fn empty_frame(self) -> DataFrame {
        DataFrame::empty_with_schema(&self.schema())
    }
}

/// The Tokyo local calendar date of an instant (the partition date).
pub fn tokyo_date(ts: DateTime<Utc>) -> NaiveDate {
    let tokyo = FixedOffset::east_opt(9 * 3600).expect("valid offset");
    ts.with_timezone(&tokyo).date_naive()
}

pub(crate) fn datetime_column(name: &str, ms: Vec<i64>) -> PolarsResult<Column> {
    Series::new(name.into(), ms)
        .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
        .map(Column::from)
}

/// Count rows to a frame with [`Dataset::Counts`]' schema.
pub fn counts_frame(rows: &[CountRow]) -> PolarsResult<DataFrame> {
    let strs = |f: fn(&CountRow) -> &str| -> Vec<&str> { rows.iter().map(f).collect() };
    let nums = |f: fn(&CountRow) -> u32| -> Vec<u32> { rows.iter().map(f).collect() };
    let mut cols = vec![
        Column::new(col::PLAYER.into(), strs(|r| &r.player)),
        Column::new(col::WARD.into(), strs(|r| &r.ward)),
        datetime_column(
            col::TS,
            rows.iter().map(|r| r.ts.timestamp_millis()).collect(),
        )?,
        Column::new(col::COUNTER.into(), strs(|r| &r.counter)),
        Column::new(col::IN.into(), nums(|r| r.in_count)),
        Column::new(col::OUT.into(), nums(|r| r.out_count)),
        Column::new(col::OCCUPANCY.into(), nums(|r| r.occupancy)),
        Column::new(col::OCCUPANCY_MAX.into(), nums(|r| r.occupancy_max)),
    ];
    for (i, bin) in DWELL_BINS.iter().enumerate() {
        let v: Vec<u32> = rows.iter().map(|r| r.dwell[i]).collect();
        cols.push(Column::new(bin.column.into(), v));
    }
    DataFrame::new(rows.len(), cols)
}

/// Play rows to a frame with [`Dataset::Plays`]' schema.
pub fn plays_frame(rows: &[PlayRow]) -> PolarsResult<DataFrame> {
    let strs = |f: fn(&PlayRow) -> &str| -> Vec<&str> { rows.iter().map(f).collect() };
    let cols = vec![
        Column::new(col::PLAY_ID.into(), strs(|r| &r.play_id)),
        Column::new(col::PLAYER.into(), strs(|r| &r.player)),
        Column::new(col::WARD.into(), strs(|r| &r.ward)),
        Column::new(col::LAYOUT.into(), strs(|r| &r.layout)),
        Column::new(col::ZONE.into(), strs(|r| &r.zone)),
        Column::new(col::ASSET.into(), strs(|r| &r.asset)),
        datetime_column(
            col::STARTED_AT,
            rows.iter()
                .map(|r| r.started_at.timestamp_millis())
                .collect(),
        )?,
        datetime_column(
            col::ENDED_AT,
            rows.iter().map(|r| r.ended_at.timestamp_millis()).collect(),
        )?,
    ];
    DataFrame::new(rows.len(), cols)
}

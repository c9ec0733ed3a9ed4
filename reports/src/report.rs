//! The report set, as polars lazy queries over the Parquet history.
//!
//! Every time shown is Asia/Tokyo local time (stored instants + 09:00). Footfall is the sum
//! of `in_count`; periods start at the hour, at midnight, or on Monday (ISO weeks).

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::schema::{self, BUCKET_MS, DWELL_BINS, Dataset, TOKYO_OFFSET_MS};
use crate::store::{Sources, scan_parquet_files};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Hour,
    Day,
    Week,
}

impl Period {
    fn every(self) -> &'static str {
        match self {
            Period::Hour => "1h",
            Period::Day => "1d",
            Period::Week => "1w",
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Period::Hour => "hour",
            Period::Day => "day",
            Period::Week => "week",
        }
    }
}

/// Grouping of a report: each player (with its ward) or each ward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Player,
    Ward,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Player => "player",
            Level::Ward => "ward",
        }
    }
    fn keys(self) -> Vec<Expr> {
        match self {
            Level::Player => vec![col(schema::col::WARD), col(schema::col::PLAYER)],
            Level::Ward => vec![col(schema::col::WARD)],
        }
    }
    fn key_names(self) -> Vec<&'static str> {
        match self {
            Level::Player => vec![schema::col::WARD, schema::col::PLAYER],
            Level::Ward => vec![schema::col::WARD],
        }
    }
}

/// One report. Output columns are listed on each variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "report", rename_all = "snake_case")]
pub enum Report {
    /// `ward, [player], period, footfall, exits`.
    Footfall { period: Period, level: Level },
    /// Per local day: `ward, [player], day, in_count, out_count, balance` (in - out).
    Balance { level: Level },
    /// Per local day: `ward, [player], day, peak, peak_at` (first bucket at the peak). A ward's
    /// occupancy at an instant is the sum of its players' `occupancy_max`.
    PeakOccupancy { level: Level },
    /// `ward, [player], dwell_lt_1m .. dwell_ge_30m, departures`.
    Dwell { level: Level },
    /// Per asset: `asset, plays, play_seconds, impressions, viewers_per_play`. A play's
    /// viewers are the most people present (`occupancy_max` of the player's counters) in
    /// any 10-second bucket overlapping the play; impressions sum viewers over plays.
    Impressions,
    /// Per ward: `ward, players, open_days, footfall, footfall_per_open_day, peak_occupancy,
    /// long_wait_share` (open day: a player-day with footfall; long wait: 15 min or more).
    WardComparison,
}

impl Report {
    /// The reports of the benchmark and the default console dashboard.
    pub fn standard_set() -> Vec<Report> {
        vec![
            Report::Footfall {
                period: Period::Hour,
                level: Level::Player,
            },
            Report::Footfall {
                period: Period::Day,
                level: Level::Ward,
            },
            Report::Footfall {
                period: Period::Week,
                level: Level::Ward,
            },
            Report::Balance {
                level: Level::Player,
            },
            Report::PeakOccupancy {
                level: Level::Player,
            },
            Report::PeakOccupancy { level: Level::Ward },
            Report::Dwell { level: Level::Ward },
            Report::Impressions,
            Report::WardComparison,
        ]
    }

    /// Stable name, usable in URLs and file names (`footfall_hour_player`, `impressions`...).
    pub fn name(&self) -> String {
        match self {
            Report::Footfall { period, level } => {
                format!("footfall_{}_{}", period.name(), level.name())
            }
            Report::Balance { level } => format!("balance_day_{}", level.name()),
            Report::PeakOccupancy { level } => format!("peak_occupancy_day_{}", level.name()),
            Report::Dwell { level } => format!("dwell_{}", level.name()),
            Report::Impressions => "impressions".into(),
            Report::WardComparison => "ward_comparison".into(),
        }
    }

    /// Inverse of [`Report::name`].
    pub fn from_name(name: &str) -> Option<Report> {
        let levels = [Level::Player, Level::Ward];
        let periods = [Period::Hour, Period::Day, Period::Week];
        let mut all = vec![Report::Impressions, Report::WardComparison];
        for level in levels {
            all.push(Report::Balance { level });
            all.push(Report::PeakOccupancy { level });
            all.push(Report::Dwell { level });
            for period in periods {
                all.push(Report::Footfall { period, level });
            }
        }
        all.into_iter().find(|r| r.name() == name)
    }
}

/// Runs reports over a set of Parquet files (take them from
/// [`crate::store::HistoryStore::snapshot`] and keep the snapshot alive while running).
pub struct Reports {
    sources: Sources,
    engine: Engine,
}

const DAY_MS: i64 = 86_400_000;

/// The ward of a file in the store's layout (`.../ward=W/file.parquet`).
fn ward_dir(path: &std::path::Path) -> Option<String> {
    path.components()
        .filter_map(|c| c.as_os_str().to_str())
        .find_map(|c| c.strip_prefix("ward="))
        .map(str::to_string)
}
/// 2^27 > milliseconds in a day; occupancy below 2^26 keeps the packed key exact in f64.
const PEAK_SHIFT: i64 = 1 << 27;

fn local_ts(c: &str) -> Expr {
    (col(c).cast(DataType::Int64) + lit(TOKYO_OFFSET_MS))
        .cast(DataType::Datetime(TimeUnit::Milliseconds, None))
}

fn sum_i64(c: &str) -> Expr {
    col(c).cast(DataType::Int64).sum()
}

impl Reports {
    pub fn new(sources: Sources) -> Self {
        Reports {
            sources,
            engine: Engine::Streaming,
        }
    }

    /// Use polars' in-memory engine instead of the streaming one.
    pub fn in_memory(mut self) -> Self {
        self.engine = Engine::InMemory;
        self
    }

    fn scan(&self, dataset: Dataset) -> PolarsResult<LazyFrame> {
        let files = match dataset {
            Dataset::Counts => &self.sources.counts,
            Dataset::Plays => &self.sources.plays,
        };
        if files.is_empty() {
            Ok(dataset.empty_frame().lazy())
        } else {
            scan_parquet_files(files)
        }
    }

    /// Runs one report to a frame.
    pub fn run(&self, report: &Report) -> PolarsResult<DataFrame> {
        if *report == Report::Impressions {
            return self.impressions_by_ward_chunks();
        }
        self.collect(self.lazy(report)?)
    }

    fn collect(&self, lf: LazyFrame) -> PolarsResult<DataFrame> {
        Ok(lf.collect_with_engine(self.engine)?.unwrap_single())
    }

    /// Impressions join every play's buckets with the occupancy of its player; players of
    /// different wards never meet, so the join runs a few wards at a time (their partition
    /// directories) to bound memory, and the per-asset partial sums are added up.
    fn impressions_by_ward_chunks(&self) -> PolarsResult<DataFrame> {
        const WARDS_PER_CHUNK: usize = 8;
        let ward_of = |p: &std::path::Path| ward_dir(p).unwrap_or_default();
        let mut wards: Vec<String> = self.sources.plays.iter().map(|p| ward_of(p)).collect();
        wards.sort();
        wards.dedup();
        let mut partials = Vec::new();
        for chunk in wards.chunks(WARDS_PER_CHUNK) {
            let pick = |files: &[std::path::PathBuf]| -> Vec<std::path::PathBuf> {
                files
                    .iter()
                    .filter(|p| chunk.contains(&ward_of(p)))
                    .cloned()
                    .collect()
            };
            let part = Reports {
                sources: Sources {
                    counts: pick(&self.sources.counts),
                    plays: pick(&self.sources.plays),
                },
                engine: self.engine,
            };
            let counts = part.scan(Dataset::Counts)?;
            partials.push(part.collect(part.impressions_partial(counts)?)?.lazy());
        }
        let all = if partials.is_empty() {
            self.impressions_partial(Dataset::Counts.empty_frame().lazy())?
        } else {
            concat(partials, UnionArgs::default())?
        };
        self.collect(Self::impressions_final(
            all.group_by([col(schema::col::ASSET)]).agg([
                col("plays").sum(),
                col("play_ms").sum(),
                col("impressions").sum(),
            ]),
        ))
    }

    /// `ward, player, counter, weekday (1 = Monday), hour, occupancy`: the mean people present
    /// per Tokyo weekday and hour of the day over the buckets the sources hold (the public
    /// waiting page's "usually").
    pub fn usual_occupancy(&self) -> PolarsResult<DataFrame> {
        use schema::col as c;
        let ts = local_ts(c::TS);
        let lf = self
            .scan(Dataset::Counts)?
            .group_by([
                col(c::WARD),
                col(c::PLAYER),
                col(c::COUNTER),
                ts.clone()
                    .dt()
                    .weekday()
                    .cast(DataType::Int32)
                    .alias("weekday"),
                ts.dt().hour().cast(DataType::Int32).alias("hour"),
            ])
            .agg([col(c::OCCUPANCY)
                .cast(DataType::Float64)
                .mean()
                .alias("occupancy")])
            .sort(
                [c::WARD, c::PLAYER, c::COUNTER, "weekday", "hour"],
                Default::default(),
            );
        self.collect(lf)
    }

    /// The query of one report, to run, extend or explain.
    pub fn lazy(&self, report: &Report) -> PolarsResult<LazyFrame> {
        use schema::col as c;
        let counts = self.scan(Dataset::Counts)?;
        Ok(match *report {
            Report::Footfall { period, level } => {
                let mut keys = level.keys();
                keys.push(
                    local_ts(c::TS)
                        .dt()
                        .truncate(lit(period.every()))
                        .alias("period"),
                );
                let mut sort = level.key_names();
                sort.push("period");
                counts
                    .group_by(keys)
                    .agg([
                        sum_i64(c::IN).alias("footfall"),
                        sum_i64(c::OUT).alias("exits"),
                    ])
                    .sort(sort, Default::default())
            }
            Report::Balance { level } => {
                let mut keys = level.keys();
                keys.push(local_ts(c::TS).dt().date().alias("day"));
                let mut sort = level.key_names();
                sort.push("day");
                counts
                    .group_by(keys)
                    .agg([sum_i64(c::IN).alias(c::IN), sum_i64(c::OUT).alias(c::OUT)])
                    .with_column((col(c::IN) - col(c::OUT)).alias("balance"))
                    .sort(sort, Default::default())
            }
            Report::PeakOccupancy { level } => {
                let per_instant = match level {
                    Level::Player => counts.select([
                        col(c::WARD),
                        col(c::PLAYER),
                        col(c::TS),
                        col(c::OCCUPANCY_MAX).cast(DataType::Int64).alias("occ"),
                    ]),
                    Level::Ward => self.ward_occupancy(counts)?,
                };
                // One streaming aggregation: the largest (occupancy, earliest time) pair is
                // the max of occupancy * 2^27 + (2^27 - 1 - millisecond of the day).
                let local_ms = col(c::TS).cast(DataType::Int64) + lit(TOKYO_OFFSET_MS);
                let ms_of_day = local_ms.clone() % lit(DAY_MS);
                let mut keys = level.keys();
                keys.push(local_ts(c::TS).dt().date().alias("day"));
                let mut sort = level.key_names();
                sort.push("day");
                per_instant
                    .group_by(keys)
                    .agg([
                        (col("occ") * lit(PEAK_SHIFT) + lit(PEAK_SHIFT - 1) - ms_of_day)
                            .max()
                            .alias("k"),
                        (local_ms.clone() - local_ms % lit(DAY_MS))
                            .min()
                            .alias("day_ms"),
                    ])
                    .with_columns([
                        ((col("k") - col("k") % lit(PEAK_SHIFT)).cast(DataType::Float64)
                            / lit(PEAK_SHIFT as f64))
                        .cast(DataType::Int64)
                        .alias("peak"),
                        (col("day_ms") + lit(PEAK_SHIFT - 1) - col("k") % lit(PEAK_SHIFT))
                            .cast(DataType::Datetime(TimeUnit::Milliseconds, None))
                            .alias("peak_at"),
                    ])
                    .drop(cols(["k", "day_ms"]))
                    .sort(sort, Default::default())
            }
            Report::Dwell { level } => {
                let mut aggs: Vec<Expr> = DWELL_BINS
                    .iter()
                    .map(|b| sum_i64(b.column).alias(b.column))
                    .collect();
                let total = DWELL_BINS
                    .iter()
                    .map(|b| sum_i64(b.column))
                    .reduce(|a, b| a + b)
                    .expect("bins");
                aggs.push(total.alias("departures"));
                counts
                    .group_by(level.keys())
                    .agg(aggs)
                    .sort(level.key_names(), Default::default())
            }
            Report::Impressions => Self::impressions_final(self.impressions_partial(counts)?),
            Report::WardComparison => {
                let long: Expr = DWELL_BINS
                    .iter()
                    .filter(|b| b.from_s >= 900)
                    .map(|b| col(b.column).cast(DataType::Int64))
                    .reduce(|a, b| a + b)
                    .expect("bins");
                let all: Expr = DWELL_BINS
                    .iter()
                    .map(|b| col(b.column).cast(DataType::Int64))
                    .reduce(|a, b| a + b)
                    .expect("bins");
                counts
                    .group_by([
                        col(c::WARD),
                        col(c::PLAYER),
                        local_ts(c::TS).dt().date().alias("day"),
                    ])
                    .agg([
                        sum_i64(c::IN).alias("footfall"),
                        col(c::OCCUPANCY_MAX)
                            .cast(DataType::Int64)
                            .max()
                            .alias("peak"),
                        long.sum().alias("long"),
                        all.sum().alias("departures"),
                    ])
                    .filter(col("footfall").gt(lit(0i64)))
                    .group_by([col(c::WARD)])
                    .agg([
                        col(c::PLAYER)
                            .n_unique()
                            .cast(DataType::Int64)
                            .alias("players"),
                        len().cast(DataType::Int64).alias("open_days"),
                        col("footfall").sum().alias("footfall"),
                        col("peak").max().alias("peak_occupancy"),
                        col("long").sum().alias("long"),
                        col("departures").sum().alias("departures"),
                    ])
                    .select([
                        col(c::WARD),
                        col("players"),
                        col("open_days"),
                        col("footfall"),
                        (col("footfall").cast(DataType::Float64)
                            / col("open_days").cast(DataType::Float64))
                        .alias("footfall_per_open_day"),
                        col("peak_occupancy"),
                        when(col("departures").gt(lit(0i64)))
                            .then(
                                col("long").cast(DataType::Float64)
                                    / col("departures").cast(DataType::Float64),
                            )
                            .otherwise(lit(NULL).cast(DataType::Float64))
                            .alias("long_wait_share"),
                    ])
                    .sort([c::WARD], Default::default())
            }
        })
    }

    /// `ward, ts, occ`: each ward's occupancy (sum over its players) per instant. With the
    /// store's layout each ward is aggregated from its own partition files on the integer
    /// time key alone, which is much lighter than grouping all rows by (ward, ts).
    fn ward_occupancy(&self, counts: LazyFrame) -> PolarsResult<LazyFrame> {
        use schema::col as c;
        let general = || {
            counts
                .clone()
                .group_by([col(c::WARD), col(c::TS)])
                .agg([sum_i64(c::OCCUPANCY_MAX).alias("occ")])
        };
        let files = &self.sources.counts;
        let wards: Option<Vec<String>> = files.iter().map(|p| ward_dir(p)).collect();
        let Some(mut wards) = wards.filter(|w| !w.is_empty()) else {
            return Ok(general());
        };
        wards.sort();
        wards.dedup();
        let mut parts = Vec::new();
        for ward in wards {
            let mine: Vec<std::path::PathBuf> = files
                .iter()
                .filter(|p| ward_dir(p).as_deref() == Some(&ward))
                .cloned()
                .collect();
            parts.push(
                scan_parquet_files(&mine)?
                    .group_by([col(c::TS)])
                    .agg([sum_i64(c::OCCUPANCY_MAX).alias("occ")])
                    .select([lit(ward.as_str()).alias(c::WARD), col(c::TS), col("occ")]),
            );
        }
        concat(parts, UnionArgs::default())
    }

    /// Per asset: `asset, plays, play_ms, impressions` (partial sums, see `run`).
    fn impressions_partial(&self, counts: LazyFrame) -> PolarsResult<LazyFrame> {
        use schema::col as c;
        let ms = |n: &str| col(n).cast(DataType::Int64);
        let bucket = lit(BUCKET_MS);
        let plays = self
            .scan(Dataset::Plays)?
            .select([
                col(c::PLAYER),
                col(c::ASSET),
                ms(c::STARTED_AT).alias("s"),
                ms(c::ENDED_AT).alias("e"),
            ])
            .with_row_index("pid", None);
        let per_asset = plays.clone().group_by([col(c::ASSET)]).agg([
            len().cast(DataType::Int64).alias("plays"),
            (col("e") - col("s")).sum().alias("play_ms"),
        ]);
        // Each play as the 10-second buckets it overlaps (end exclusive).
        let last = col("e") - lit(1i64);
        let buckets = plays
            .select([
                col("pid"),
                col(c::PLAYER),
                col(c::ASSET),
                int_ranges(
                    col("s") - col("s") % bucket.clone(),
                    last.clone() - last % bucket.clone() + bucket.clone(),
                    bucket,
                    DataType::Int64,
                )
                .alias("b"),
            ])
            .explode(
                cols(["b"]),
                ExplodeOptions {
                    empty_as_null: false,
                    keep_nulls: false,
                },
            );
        let present = counts.filter(col(c::OCCUPANCY_MAX).gt(lit(0u32))).select([
            col(c::PLAYER),
            ms(c::TS).alias("b"),
            col(c::OCCUPANCY_MAX).cast(DataType::Int64).alias("occ"),
        ]);
        // The occupied buckets are far fewer than the plays' buckets: build on them.
        let join = JoinArgs {
            build_side: Some(JoinBuildSide::ForceRight),
            ..JoinArgs::new(JoinType::Inner)
        };
        let impressions = buckets
            .join(
                present,
                [col(c::PLAYER), col("b")],
                [col(c::PLAYER), col("b")],
                join,
            )
            .group_by([col("pid")])
            .agg([col(c::ASSET).first(), col("occ").max().alias("viewers")])
            .group_by([col(c::ASSET)])
            .agg([col("viewers").sum().alias("impressions")]);
        Ok(per_asset
            .join(
                impressions,
                [col(c::ASSET)],
                [col(c::ASSET)],
                JoinArgs::new(JoinType::Left),
            )
            .with_column(col("impressions").fill_null(lit(0i64))))
    }

    /// `asset, plays, play_ms, impressions` to the report's columns.
    fn impressions_final(partial: LazyFrame) -> LazyFrame {
        partial
            .with_columns([
                (col("play_ms").cast(DataType::Float64) / lit(1000.0)).alias("play_seconds"),
                (col("impressions").cast(DataType::Float64) / col("plays").cast(DataType::Float64))
                    .alias("viewers_per_play"),
            ])
            .select([
                col(schema::col::ASSET),
                col("plays"),
                col("play_seconds"),
                col("impressions"),
                col("viewers_per_play"),
            ])
            .sort([schema::col::ASSET], Default::default())
    }
}

//! The synthetic history looks like a ward office: opening hours, lunch peak, Monday rush,
//! quieter wards, people who all leave, and the same seed gives the same data.

use chrono::NaiveDate;
use polars::prelude::*;
use reports::synth::{self, SynthConfig};
use reports::{Filter, HistoryStore, Level, Period, Report, Reports};

fn config() -> SynthConfig {
    // Monday 2026-10-05 to Sunday 10-11, one player in each of the 24 wards.
    SynthConfig {
        start: NaiveDate::from_ymd_opt(2026, 10, 5).unwrap(),
        days: 7,
        players: 24,
        seed: 3,
        ..Default::default()
    }
}

fn scalar(df: &DataFrame, column: &str) -> i64 {
    df.column(column)
        .unwrap()
        .cast(&DataType::Int64)
        .unwrap()
        .i64()
        .unwrap()
        .get(0)
        .unwrap_or(0)
}

fn ints(df: &DataFrame, column: &str) -> Vec<i64> {
    let c = df.column(column).unwrap().cast(&DataType::Int64).unwrap();
    c.i64().unwrap().iter().flatten().collect()
}

#[test]
fn same_seed_same_partition_other_seed_differs() {
    let cfg = config();
    let (a, pa) = synth::partition_frames(&cfg, 0, 0).unwrap();
    let (b, pb) = synth::partition_frames(&cfg, 0, 0).unwrap();
    assert!(a.equals(&b) && pa.equals(&pb));
    let other = SynthConfig {
        seed: 4,
        ..config()
    };
    let (c, _) = synth::partition_frames(&other, 0, 0).unwrap();
    assert!(!a.equals(&c));
}

#[test]
fn history_has_the_shape_of_a_ward_office() {
    let dir = tempfile::tempdir().unwrap();
    let store = HistoryStore::open(dir.path()).unwrap();
    let cfg = config();
    let stats = synth::generate(&store, &cfg, 2).unwrap();
    assert_eq!(stats.count_rows, 7 * 24 * 8640);
    assert_eq!(stats.partitions, 7 * 24);
    // Generating again is a no-op thanks to idempotent batch ids.
    synth::generate(&store, &cfg, 2).unwrap();
    let snap = store.snapshot(&Filter::default());
    let counts = reports::store::scan_parquet_files(&snap.sources.counts).unwrap();
    let total = counts.clone().select([len()]).collect().unwrap();
    assert_eq!(scalar(&total, "len"), 7 * 24 * 8640);

    // Nobody arrives outside 8:45-17:30 local or at weekends; occupancy is consistent.
    let local = (col("ts").cast(DataType::Int64) + lit(9 * 3_600_000i64)) % lit(86_400_000i64);
    let outside = counts
        .clone()
        .filter(
            col("in_count").gt(lit(0u32)).and(
                local
                    .clone()
                    .lt(lit(31_500_000i64))
                    .or(local.gt_eq(lit(63_000_000i64))),
            ),
        )
        .select([len()])
        .collect()
        .unwrap();
    assert_eq!(scalar(&outside, "len"), 0);
    let bad_occ = counts
        .clone()
        .filter(col("occupancy_max").lt(col("occupancy")))
        .select([len()])
        .collect()
        .unwrap();
    assert_eq!(scalar(&bad_occ, "len"), 0);

    let reports = Reports::new(snap.sources.clone());
    let daily = reports
        .run(&Report::Footfall {
            period: Period::Day,
            level: Level::Ward,
        })
        .unwrap();
    let by_day = daily
        .lazy()
        .group_by([col("period")])
        .agg([col("footfall").sum(), col("exits").sum()])
        .sort(["period"], Default::default())
        .collect()
        .unwrap();
    let foot = ints(&by_day, "footfall");
    let exits = ints(&by_day, "exits");
    assert_eq!(foot.len(), 7);
    assert_eq!(foot, exits, "everyone who came in left the same day");
    assert_eq!((foot[5], foot[6]), (0, 0), "closed on Saturday and Sunday");
    assert!(foot[0] > foot[2] * 13 / 10, "Monday rush: {foot:?}");

    let hourly = reports
        .run(&Report::Footfall {
            period: Period::Hour,
            level: Level::Ward,
        })
        .unwrap();
    let by_hour = hourly
        .lazy()
        .group_by([col("period").dt().hour().alias("h")])
        .agg([col("footfall").sum()])
        .sort(["h"], Default::default())
        .collect()
        .unwrap();
    let hour = |h: i8| -> i64 {
        let df = by_hour
            .clone()
            .lazy()
            .filter(col("h").eq(lit(h)))
            .collect()
            .unwrap();
        scalar(&df, "footfall")
    };
    assert!(
        hour(12) > hour(10) && hour(12) > hour(14) && hour(12) > hour(16),
        "lunch peak"
    );

    let wards = reports.run(&Report::WardComparison).unwrap();
    let of = |w: &str| -> f64 {
        let df = wards
            .clone()
            .lazy()
            .filter(col("ward").eq(lit(w)))
            .collect()
            .unwrap();
        df.column("footfall_per_open_day")
            .unwrap()
            .f64()
            .unwrap()
            .get(0)
            .unwrap()
    };
    assert!(of("taisho") < of("kita") * 0.7, "taisho is a quiet ward");

    let plays = reports.run(&Report::Impressions).unwrap();
    assert_eq!(plays.height(), synth::PLAYLIST.len() + 1);
    let impressions: i64 = ints(&plays, "impressions").iter().sum();
    assert!(impressions > 0);
}

//! Each report on the small dataset of `common`, against values computed by hand.

mod common;

use common::{csv, dedent, small_counts, small_plays};
use reports::{Filter, HistoryStore, Level, Period, Report, Reports};

fn check(report: Report, expected: &str) {
    check_filtered(report, &Filter::default(), expected);
}

fn check_filtered(report: Report, filter: &Filter, expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    let store = HistoryStore::open(dir.path()).unwrap();
    // Two batches, so reports read several files per partition.
    let counts = small_counts();
    store.ingest_counts("c1", &counts[..4]).unwrap();
    store.ingest_counts("c2", &counts[4..]).unwrap();
    store.ingest_plays("p1", &small_plays()).unwrap();
    let snap = store.snapshot(filter);
    for reports in [
        Reports::new(snap.sources.clone()),
        Reports::new(snap.sources.clone()).in_memory(),
    ] {
        let df = reports.run(&report).unwrap();
        assert_eq!(csv(&df), dedent(expected), "{}", report.name());
    }
}

#[test]
fn footfall_per_hour_per_player() {
    check(
        Report::Footfall {
            period: Period::Hour,
            level: Level::Player,
        },
        "ward,player,period,footfall,exits
         kita,kita-01,2026-10-05 09:00:00,4,2
         kita,kita-01,2026-10-05 10:00:00,2,1
         kita,kita-01,2026-10-06 08:00:00,2,0
         kita,kita-01,2026-10-06 23:00:00,0,1
         kita,kita-01,2026-10-12 09:00:00,4,4
         kita,kita-02,2026-10-05 09:00:00,5,1
         kita,kita-02,2026-10-05 12:00:00,0,2
         minato,minato-01,2026-10-05 09:00:00,1,0",
    );
}

#[test]
fn footfall_per_day_per_ward() {
    check(
        Report::Footfall {
            period: Period::Day,
            level: Level::Ward,
        },
        "ward,period,footfall,exits
         kita,2026-10-05 00:00:00,11,6
         kita,2026-10-06 00:00:00,2,1
         kita,2026-10-12 00:00:00,4,4
         minato,2026-10-05 00:00:00,1,0",
    );
}

#[test]
fn footfall_per_week_starts_on_monday() {
    check(
        Report::Footfall {
            period: Period::Week,
            level: Level::Ward,
        },
        "ward,period,footfall,exits
         kita,2026-10-05 00:00:00,13,7
         kita,2026-10-12 00:00:00,4,4
         minato,2026-10-05 00:00:00,1,0",
    );
}

#[test]
fn in_out_balance_per_day() {
    check(
        Report::Balance {
            level: Level::Player,
        },
        "ward,player,day,in_count,out_count,balance
         kita,kita-01,2026-10-05,6,3,3
         kita,kita-01,2026-10-06,2,1,1
         kita,kita-01,2026-10-12,4,4,0
         kita,kita-02,2026-10-05,5,3,2
         minato,minato-01,2026-10-05,1,0,1",
    );
}

#[test]
fn peak_occupancy_and_first_time_reached_per_player() {
    check(
        Report::PeakOccupancy {
            level: Level::Player,
        },
        "ward,player,day,peak,peak_at
         kita,kita-01,2026-10-05,4,2026-10-05 09:00:10
         kita,kita-01,2026-10-06,2,2026-10-06 08:59:50
         kita,kita-01,2026-10-12,3,2026-10-12 09:00:00
         kita,kita-02,2026-10-05,5,2026-10-05 09:00:00
         minato,minato-01,2026-10-05,1,2026-10-05 09:00:10",
    );
}

#[test]
fn peak_occupancy_per_ward_sums_players_at_the_same_instant() {
    check(
        Report::PeakOccupancy { level: Level::Ward },
        "ward,day,peak,peak_at
         kita,2026-10-05,8,2026-10-05 09:00:00
         kita,2026-10-06,2,2026-10-06 08:59:50
         kita,2026-10-12,3,2026-10-12 09:00:00
         minato,2026-10-05,1,2026-10-05 09:00:10",
    );
}

#[test]
fn dwell_distribution_per_ward() {
    check(
        Report::Dwell { level: Level::Ward },
        "ward,dwell_lt_1m,dwell_1_5m,dwell_5_15m,dwell_15_30m,dwell_ge_30m,departures
         kita,3,3,2,1,2,11
         minato,0,0,0,0,0,0",
    );
}

#[test]
fn impressions_per_content_item() {
    check(
        Report::Impressions,
        "asset,plays,play_seconds,impressions,viewers_per_play
         a,2,20.0000,4,2.0000
         b,2,40.0000,6,3.0000",
    );
}

#[test]
fn ward_comparison() {
    // kita: player-days with footfall 6+2+4+5 = 17 over 4 open days; long waits 3 of 11.
    check(
        Report::WardComparison,
        "ward,players,open_days,footfall,footfall_per_open_day,peak_occupancy,long_wait_share
         kita,2,4,17,4.2500,5,0.2727
         minato,1,1,1,1.0000,1,",
    );
}

#[test]
fn filter_prunes_partitions_by_local_date_and_ward() {
    let filter = Filter {
        from: chrono::NaiveDate::from_ymd_opt(2026, 10, 6),
        to: chrono::NaiveDate::from_ymd_opt(2026, 10, 12),
        wards: Some(vec!["kita".into()]),
    };
    check_filtered(
        Report::Footfall {
            period: Period::Day,
            level: Level::Ward,
        },
        &filter,
        "ward,period,footfall,exits
         kita,2026-10-06 00:00:00,2,1
         kita,2026-10-12 00:00:00,4,4",
    );
}

#[test]
fn reports_on_an_empty_history_are_empty_with_columns() {
    let dir = tempfile::tempdir().unwrap();
    let store = HistoryStore::open(dir.path()).unwrap();
    let snap = store.snapshot(&Filter::default());
    let reports = Reports::new(snap.sources.clone());
    for report in Report::standard_set() {
        let df = reports.run(&report).unwrap();
        assert_eq!(df.height(), 0, "{}", report.name());
        assert!(df.width() >= 2, "{}", report.name());
    }
}

#[test]
fn report_names_round_trip() {
    for report in Report::standard_set() {
        assert_eq!(Report::from_name(&report.name()), Some(report));
    }
    assert_eq!(
        Report::from_name("footfall_week_player"),
        Some(Report::Footfall {
            period: Period::Week,
            level: Level::Player
        })
    );
    assert_eq!(Report::from_name("nope"), None);
}

#[test]
fn files_outside_the_store_layout_and_single_plan_queries_give_the_same_reports() {
    let dir = tempfile::tempdir().unwrap();
    let store = HistoryStore::open(dir.path().join("h")).unwrap();
    store.ingest_counts("c", &small_counts()).unwrap();
    store.ingest_plays("p", &small_plays()).unwrap();
    let snap = store.snapshot(&Filter::default());
    // Copy every file into one flat directory: no ward= directories to chunk by.
    let flat = dir.path().join("flat");
    std::fs::create_dir_all(&flat).unwrap();
    let copy = |files: &[std::path::PathBuf], tag: &str| -> Vec<std::path::PathBuf> {
        files
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let to = flat.join(format!("{tag}-{i}.parquet"));
                std::fs::copy(f, &to).unwrap();
                to
            })
            .collect()
    };
    let sources = reports::Sources {
        counts: copy(&snap.sources.counts, "counts"),
        plays: copy(&snap.sources.plays, "plays"),
    };
    let by_ward = Reports::new(snap.sources.clone());
    let flat_reports = Reports::new(sources);
    for report in [
        Report::PeakOccupancy { level: Level::Ward },
        Report::Impressions,
    ] {
        let expected = csv(&by_ward.run(&report).unwrap());
        assert_eq!(
            csv(&flat_reports.run(&report).unwrap()),
            expected,
            "{}",
            report.name()
        );
        let single_plan = by_ward.lazy(&report).unwrap().collect().unwrap();
        assert_eq!(csv(&single_plan), expected, "{} as one plan", report.name());
    }
}

/// The public waiting page's "usually": mean people present per Tokyo weekday and hour.
#[test]
fn usual_occupancy_per_weekday_and_hour() {
    let dir = tempfile::tempdir().unwrap();
    let store = HistoryStore::open(dir.path()).unwrap();
    store.ingest_counts("c1", &small_counts()).unwrap();
    let snap = store.snapshot(&Filter::default());
    let df = Reports::new(snap.sources.clone())
        .usual_occupancy()
        .unwrap();
    // Monday 9 o'clock at kita-01: 3 and 2 on 10-05, 0 on 10-12.
    assert_eq!(
        csv(&df),
        dedent(
            "ward,player,counter,weekday,hour,occupancy
             kita,kita-01,waiting-area,1,9,1.6667
             kita,kita-01,waiting-area,1,10,3.0000
             kita,kita-01,waiting-area,2,8,2.0000
             kita,kita-01,waiting-area,2,23,0.0000
             kita,kita-02,waiting-area,1,9,4.0000
             kita,kita-02,waiting-area,1,12,2.0000
             minato,minato-01,waiting-area,1,9,1.0000"
        )
    );
}

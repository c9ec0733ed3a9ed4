//! Durability and idempotency of the history store: replayed batches, restarts during
//! ingestion, and compaction interrupted at every step.

mod common;

use std::path::Path;

use common::{at, count, small_counts, small_plays};
use polars::prelude::*;
use reports::store::{CompactionStep, PartitionKey, StoreError};
use reports::{CountRow, Dataset, Filter, HistoryStore, store};

/// All count rows in the store, sorted, as a frame.
fn all_counts(store: &HistoryStore) -> DataFrame {
    let snap = store.snapshot(&Filter::default());
    let lf = if snap.sources.counts.is_empty() {
        Dataset::Counts.empty_frame().lazy()
    } else {
        store::scan_parquet_files(&snap.sources.counts).unwrap()
    };
    lf.sort(["player", "ts", "in_count"], Default::default())
        .collect()
        .unwrap()
}

fn expected_counts(rows: &[CountRow]) -> DataFrame {
    reports::schema::counts_frame(rows)
        .unwrap()
        .lazy()
        .sort(["player", "ts", "in_count"], Default::default())
        .collect()
        .unwrap()
}

fn files(root: &Path, ext: &str) -> Vec<String> {
    fn walk(dir: &Path, ext: &str, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, ext, out);
            } else if p.to_string_lossy().ends_with(ext) {
                out.push(p.file_name().unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let mut v = Vec::new();
    walk(root, ext, &mut v);
    v.sort();
    v
}

/// Rows of one Monday in kita, one per 10 s starting at 09:00 + `offset` buckets.
fn kita_rows(offset: u32, n: u32) -> Vec<CountRow> {
    (0..n)
        .map(|i| {
            let s = (offset + i) * 10;
            count(
                "kita-01",
                at(2026, 10, 5, 9, s / 60, s % 60),
                [i, 0, i, i],
                [0; 5],
            )
        })
        .collect()
}

#[test]
fn a_replayed_batch_is_acknowledged_and_not_duplicated() {
    let dir = tempfile::tempdir().unwrap();
    let store = HistoryStore::open(dir.path()).unwrap();
    let rows = small_counts();
    let ack = store.ingest_counts("b1", &rows).unwrap();
    assert_eq!(ack.rows_written, rows.len());
    assert_eq!(
        ack.partitions, 4,
        "kita 10-05, 10-06, 10-12 and minato 10-05"
    );
    assert!(!ack.is_replay());
    let replay = store.ingest_counts("b1", &rows).unwrap();
    assert!(replay.is_replay());
    assert_eq!(replay.rows_written, 0);
    // Also after a restart.
    drop(store);
    let store = HistoryStore::open(dir.path()).unwrap();
    assert!(store.ingest_counts("b1", &rows).unwrap().is_replay());
    assert_eq!(all_counts(&store), expected_counts(&rows));
}

#[test]
fn restart_during_ingestion_loses_nothing_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let rows = small_counts();
    let store = HistoryStore::open(dir.path()).unwrap();
    store.ingest_counts("before", &kita_rows(100, 3)).unwrap();
    // The process dies after writing 2 of the batch's partition files, before the ack,
    // and in the middle of writing the third (a half-written temporary file).
    store.inject_ingest_crash(Some(2));
    let err = store.ingest_counts("b1", &rows).unwrap_err();
    assert!(matches!(err, StoreError::InjectedIngestCrash(2)), "{err}");
    // Partitions are written in (date, ward) order: kita and minato 10-05, then kita 10-06.
    let partial = dir.path().join("counts/date=2026-10-06/ward=kita");
    std::fs::create_dir_all(&partial).unwrap();
    std::fs::write(partial.join("batch-b1.parquet.tmp"), b"PAR1 half written").unwrap();
    drop(store);

    // Restart: the temporary file is gone, the partial batch is not acknowledged, so the
    // player sends it again.
    let store = HistoryStore::open(dir.path()).unwrap();
    assert!(files(dir.path(), ".tmp").is_empty());
    let ack = store.ingest_counts("b1", &rows).unwrap();
    assert_eq!(ack.partitions_already_present, 2);
    assert_eq!(ack.partitions, 4);
    assert!(store.ingest_counts("b1", &rows).unwrap().is_replay());
    let mut all = kita_rows(100, 3);
    all.extend(rows);
    assert_eq!(all_counts(&store), expected_counts(&all));
}

#[test]
fn plays_are_partitioned_by_their_start_date() {
    let dir = tempfile::tempdir().unwrap();
    let store = HistoryStore::open(dir.path()).unwrap();
    let ack = store.ingest_plays("p", &small_plays()).unwrap();
    assert_eq!((ack.partitions, ack.rows_written), (2, 4));
    assert!(
        dir.path()
            .join("plays/date=2026-10-05/ward=kita/batch-p.parquet")
            .is_file()
    );
    assert!(
        dir.path()
            .join("plays/date=2026-10-05/ward=minato/batch-p.parquet")
            .is_file()
    );
}

#[test]
fn names_that_could_escape_the_directory_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = HistoryStore::open(dir.path()).unwrap();
    let err = store.ingest_counts("../evil", &small_counts()).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::InvalidName {
                what: "batch id",
                ..
            }
        ),
        "{err}"
    );
    let mut rows = small_counts();
    rows[0].ward = "kita/../x".into();
    assert!(matches!(
        store.ingest_counts("ok", &rows),
        Err(StoreError::InvalidName { what: "ward", .. })
    ));
    assert!(files(dir.path(), ".parquet").is_empty());
}

#[test]
fn a_frame_for_the_wrong_partition_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = HistoryStore::open(dir.path()).unwrap();
    let mut df = reports::schema::counts_frame(&kita_rows(0, 2)).unwrap();
    let wrong_day = PartitionKey {
        date: chrono::NaiveDate::from_ymd_opt(2026, 10, 6).unwrap(),
        ward: "kita".into(),
    };
    let err = store
        .ingest_partition(Dataset::Counts, "x", &wrong_day, &mut df)
        .unwrap_err();
    assert!(matches!(err, StoreError::WrongPartition { .. }), "{err}");
    let wrong_ward = PartitionKey {
        date: chrono::NaiveDate::from_ymd_opt(2026, 10, 5).unwrap(),
        ward: "minato".into(),
    };
    assert!(
        store
            .ingest_partition(Dataset::Counts, "x", &wrong_ward, &mut df)
            .is_err()
    );
    let right = PartitionKey {
        date: chrono::NaiveDate::from_ymd_opt(2026, 10, 5).unwrap(),
        ward: "kita".into(),
    };
    assert!(
        store
            .ingest_partition(Dataset::Counts, "x", &right, &mut df)
            .unwrap()
    );
    assert!(
        !store
            .ingest_partition(Dataset::Counts, "x", &right, &mut df)
            .unwrap()
    );
}

/// A store with three batches in one partition and one elsewhere; returns the rows.
fn three_batches(store: &HistoryStore) -> Vec<CountRow> {
    let mut all = Vec::new();
    for (i, id) in ["b1", "b2", "b3"].iter().enumerate() {
        let rows = kita_rows(i as u32 * 5, 5);
        store.ingest_counts(id, &rows).unwrap();
        all.extend(rows);
    }
    let other = vec![count(
        "minato-01",
        at(2026, 10, 5, 9, 0, 0),
        [1, 0, 1, 1],
        [0; 5],
    )];
    store.ingest_counts("m1", &other).unwrap();
    all.extend(other);
    all
}

fn replay_everything(store: &HistoryStore) {
    for (i, id) in ["b1", "b2", "b3"].iter().enumerate() {
        assert!(
            store
                .ingest_counts(id, &kita_rows(i as u32 * 5, 5))
                .unwrap()
                .is_replay(),
            "{id}"
        );
    }
}

#[test]
fn compaction_merges_a_partition_into_one_file_and_keeps_batch_ids() {
    let dir = tempfile::tempdir().unwrap();
    let store = HistoryStore::open(dir.path()).unwrap();
    let all = three_batches(&store);
    let done = store.compact_all(2).unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!((done[0].sources, done[0].rows), (3, 15));
    assert_eq!(
        files(dir.path(), ".parquet"),
        ["batch-m1.parquet", "compacted-0000000001.parquet"]
    );
    assert_eq!(all_counts(&store), expected_counts(&all));
    replay_everything(&store);
    // A later batch and a second compaction fold the first compacted file in.
    let late = kita_rows(50, 2);
    store.ingest_counts("b4", &late).unwrap();
    store.compact_all(2).unwrap();
    assert_eq!(
        files(dir.path(), ".parquet"),
        ["batch-m1.parquet", "compacted-0000000002.parquet"]
    );
    drop(store);
    let store = HistoryStore::open(dir.path()).unwrap();
    replay_everything(&store);
    assert!(store.ingest_counts("b4", &late).unwrap().is_replay());
    let mut all = all;
    all.extend(late);
    assert_eq!(all_counts(&store), expected_counts(&all));
}

#[test]
fn compaction_interrupted_at_any_step_neither_loses_nor_duplicates_rows() {
    for step in [
        CompactionStep::TempWritten,
        CompactionStep::ManifestWritten,
        CompactionStep::Committed,
        CompactionStep::FirstSourceDeleted,
    ] {
        for second_level in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let store = HistoryStore::open(dir.path()).unwrap();
            let mut all = three_batches(&store);
            if second_level {
                store.compact_all(2).unwrap();
                let late = kita_rows(50, 2);
                store.ingest_counts("b4", &late).unwrap();
                all.extend(late);
            }
            store.inject_compaction_crash(Some(step));
            let err = store.compact_all(2).unwrap_err();
            assert!(
                matches!(err, StoreError::InjectedCrash(s) if s == step),
                "{err}"
            );
            drop(store);

            let store = HistoryStore::open(dir.path()).unwrap();
            let what = format!("{step:?} second_level={second_level}");
            assert!(files(dir.path(), ".tmp").is_empty(), "{what}");
            assert_eq!(all_counts(&store), expected_counts(&all), "{what}");
            replay_everything(&store);
            assert_eq!(
                all_counts(&store),
                expected_counts(&all),
                "{what}: after replay"
            );
            // Compaction can run again and the result is the same rows in fewer files.
            store.compact_all(2).unwrap();
            assert_eq!(
                all_counts(&store),
                expected_counts(&all),
                "{what}: compacted again"
            );
            let kita = files(
                &dir.path().join("counts/date=2026-10-05/ward=kita"),
                ".parquet",
            );
            assert_eq!(kita.len(), 1, "{what}: {kita:?}");
            assert_eq!(files(dir.path(), ".json").len(), 1, "{what}");
        }
    }
}

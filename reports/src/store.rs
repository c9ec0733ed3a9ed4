//! Durable, idempotent Parquet history: `ROOT/{counts,plays}/date=YYYY-MM-DD/ward=W/*.parquet`.
//!
//! Files in a partition directory:
//! - `batch-{id}.parquet`: the rows of one ingested batch that fall in this partition;
//! - `compacted-{seq}.parquet` + `compacted-{seq}.json`: a compacted file and its manifest
//!   (source files it replaced and every batch id it contains);
//! - `*.tmp`: unfinished writes, deleted on open.
//!
//! **Invariants.**
//! - A file ending in `.parquet` is complete: it is written to a `.tmp` name, fsynced, renamed,
//!   and the directory fsynced. A batch is acknowledged only after all its files are.
//! - A batch id is written at most once per partition: it is known while its `batch-` file
//!   exists or a committed manifest lists it, so a replayed batch is a no-op.
//! - Compaction commits by renaming the compacted Parquet file into place, after its
//!   manifest is durable; only then are the sources deleted. On open, sources of committed
//!   compactions are deleted and manifests without their Parquet file are dropped, so an
//!   interruption at any point neither loses nor duplicates rows.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};

use chrono::NaiveDate;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::schema::{self, CountRow, Dataset, PlayRow, col};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid {what} {value:?}: use 1-128 characters from A-Z a-z 0-9 _ -")]
    InvalidName { what: &'static str, value: String },
    #[error("frame does not match partition {partition}: {reason}")]
    WrongPartition { partition: String, reason: String },
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("Parquet/polars error: {0}")]
    Polars(#[from] PolarsError),
    #[error("corrupt manifest {path}: {reason}; move the file aside and reopen")]
    Manifest { path: PathBuf, reason: String },
    #[error("injected crash at {0:?} (tests only)")]
    InjectedCrash(CompactionStep),
    #[error("injected crash during ingest after {0} partition files (tests only)")]
    InjectedIngestCrash(usize),
}

pub type Result<T> = std::result::Result<T, StoreError>;

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Checks an id used in a file or directory name.
pub fn validate_name(what: &'static str, value: &str) -> Result<()> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidName {
            what,
            value: value.to_string(),
        })
    }
}

/// One partition directory: Tokyo local date and ward.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionKey {
    pub date: NaiveDate,
    pub ward: String,
}

impl PartitionKey {
    fn rel_dir(&self, dataset: Dataset) -> PathBuf {
        PathBuf::from(dataset.dir_name())
            .join(format!("date={}", self.date.format("%Y-%m-%d")))
            .join(format!("ward={}", self.ward))
    }
}

impl std::fmt::Display for PartitionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "date={}/ward={}", self.date, self.ward)
    }
}

/// What the store tells the caller once a batch is durable; send it to the player then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub batch_id: String,
    /// Rows written now (0 when the whole batch had been written before).
    pub rows_written: usize,
    /// Partitions whose slice of this batch had already been written (a replay).
    pub partitions_already_present: usize,
    pub partitions: usize,
}

impl Ack {
    pub fn is_replay(&self) -> bool {
        self.partitions > 0 && self.partitions_already_present == self.partitions
    }
}

/// Steps of a compaction, for tests that simulate an interruption after each one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompactionStep {
    /// The compacted data is in a `.tmp` file.
    TempWritten,
    /// The manifest is durable, the compacted file not yet renamed.
    ManifestWritten,
    /// The compacted file is renamed into place (committed), sources still present.
    Committed,
    /// One source file deleted, others still present.
    FirstSourceDeleted,
}

/// Result of compacting one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compaction {
    pub dataset: Dataset,
    pub partition: PartitionKey,
    pub sources: usize,
    pub rows: usize,
}

/// Which partitions a report reads. Partition pruning is exact: the partition date is the
/// Tokyo local date of each row.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub from: Option<NaiveDate>,
    /// Inclusive.
    pub to: Option<NaiveDate>,
    pub wards: Option<Vec<String>>,
}

impl Filter {
    fn accepts(&self, key: &PartitionKey) -> bool {
        self.from.is_none_or(|d| key.date >= d)
            && self.to.is_none_or(|d| key.date <= d)
            && self.wards.as_ref().is_none_or(|w| w.contains(&key.ward))
    }
}

/// The Parquet files a report reads; see [`HistoryStore::snapshot`].
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub counts: Vec<PathBuf>,
    pub plays: Vec<PathBuf>,
}

/// Files listed under a read lock: compaction cannot delete them while this lives.
pub struct Snapshot<'a> {
    _guard: RwLockReadGuard<'a, ()>,
    pub sources: Sources,
}

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    sources: Vec<String>,
    batches: Vec<String>,
    rows: usize,
}

#[derive(Default)]
struct PartitionState {
    batch_files: BTreeSet<String>,
    /// Committed compactions: seq -> batch ids.
    compacted: BTreeMap<u64, BTreeSet<String>>,
}

impl PartitionState {
    fn knows(&self, batch_id: &str) -> bool {
        self.batch_files.contains(batch_id) || self.compacted.values().any(|b| b.contains(batch_id))
    }
    fn files(&self) -> impl Iterator<Item = String> + '_ {
        self.compacted
            .keys()
            .map(|s| compacted_name(*s, "parquet"))
            .chain(
                self.batch_files
                    .iter()
                    .map(|b| format!("batch-{b}.parquet")),
            )
    }
}

type PartitionId = (Dataset, PartitionKey);

fn compacted_name(seq: u64, ext: &str) -> String {
    format!("compacted-{seq:010}.{ext}")
}

/// The history of counts and plays under one root directory.
///
/// All methods block on file IO: from async code call them in `spawn_blocking`.
pub struct HistoryStore {
    root: PathBuf,
    index: Mutex<HashMap<PartitionId, PartitionState>>,
    /// Readers hold it shared; compaction takes it exclusively to commit and delete.
    files_lock: RwLock<()>,
    /// Serialises compactions (ingest may run alongside).
    compaction_lock: Mutex<()>,
    /// One writer at a time per partition (ingest and compaction commits).
    partition_locks: Mutex<HashMap<PartitionId, Arc<Mutex<()>>>>,
    fault: Mutex<Option<CompactionStep>>,
    ingest_fault: Mutex<Option<usize>>,
}

impl HistoryStore {
    /// Opens (creating) the history at `root`, finishing or rolling back interrupted writes
    /// and compactions.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        let mut index = HashMap::new();
        for dataset in Dataset::ALL {
            let dir = root.join(dataset.dir_name());
            fs::create_dir_all(&dir).map_err(io_err(&dir))?;
            for date_dir in list_dir(&dir)? {
                let Some(date) = strip(&date_dir, "date=")
                    .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                else {
                    continue;
                };
                for ward_dir in list_dir(&date_dir)? {
                    let Some(ward) = strip(&ward_dir, "ward=") else {
                        continue;
                    };
                    let key = PartitionKey {
                        date,
                        ward: ward.to_string(),
                    };
                    let state = recover_partition(&ward_dir)?;
                    index.insert((dataset, key), state);
                }
            }
        }
        Ok(HistoryStore {
            root,
            index: Mutex::new(index),
            files_lock: RwLock::new(()),
            compaction_lock: Mutex::new(()),
            partition_locks: Mutex::new(HashMap::new()),
            fault: Mutex::new(None),
            ingest_fault: Mutex::new(None),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Durably stores a batch of count rows; returns the acknowledgement to send back.
    /// Replaying a batch id already stored writes nothing.
    pub fn ingest_counts(&self, batch_id: &str, rows: &[CountRow]) -> Result<Ack> {
        let mut parts: BTreeMap<PartitionKey, Vec<CountRow>> = BTreeMap::new();
        for r in rows {
            validate_name("player", &r.player)?;
            validate_name("ward", &r.ward)?;
            let key = PartitionKey {
                date: schema::tokyo_date(r.ts),
                ward: r.ward.clone(),
            };
            parts.entry(key).or_default().push(r.clone());
        }
        self.ingest_parts(Dataset::Counts, batch_id, parts, |rows| {
            schema::counts_frame(rows)
        })
    }

    /// Durably stores a batch of plays (partitioned by the start's date).
    pub fn ingest_plays(&self, batch_id: &str, rows: &[PlayRow]) -> Result<Ack> {
        let mut parts: BTreeMap<PartitionKey, Vec<PlayRow>> = BTreeMap::new();
        for r in rows {
            validate_name("ward", &r.ward)?;
            let key = PartitionKey {
                date: schema::tokyo_date(r.started_at),
                ward: r.ward.clone(),
            };
            parts.entry(key).or_default().push(r.clone());
        }
        self.ingest_parts(Dataset::Plays, batch_id, parts, |rows| {
            schema::plays_frame(rows)
        })
    }

    fn ingest_parts<R>(
        &self,
        dataset: Dataset,
        batch_id: &str,
        parts: BTreeMap<PartitionKey, Vec<R>>,
        to_frame: impl Fn(&[R]) -> PolarsResult<DataFrame>,
    ) -> Result<Ack> {
        validate_name("batch id", batch_id)?;
        let mut ack = Ack {
            batch_id: batch_id.to_string(),
            rows_written: 0,
            partitions_already_present: 0,
            partitions: parts.len(),
        };
        let fail_after = *self.ingest_fault.lock().expect("fault lock");
        for (i, (key, rows)) in parts.into_iter().enumerate() {
            if fail_after == Some(i) {
                return Err(StoreError::InjectedIngestCrash(i));
            }
            let mut df = to_frame(&rows)?;
            if self.ingest_partition(dataset, batch_id, &key, &mut df)? {
                ack.rows_written += rows.len();
            } else {
                ack.partitions_already_present += 1;
            }
        }
        Ok(ack)
    }

    /// Durably stores `df` (with `dataset`'s schema, all rows in `key`) as batch `batch_id`
    /// of that partition. Returns false when that batch was already there. Used by bulk
    /// loaders such as the synthetic-history generator.
    pub fn ingest_partition(
        &self,
        dataset: Dataset,
        batch_id: &str,
        key: &PartitionKey,
        df: &mut DataFrame,
    ) -> Result<bool> {
        validate_name("batch id", batch_id)?;
        validate_name("ward", &key.ward)?;
        check_partition(dataset, key, df)?;
        // The partition lock keeps check-then-write atomic; other partitions write in parallel.
        let lock = self.partition_lock(dataset, key);
        let _writing = lock.lock().expect("partition lock");
        if self
            .index
            .lock()
            .expect("index lock")
            .get(&(dataset, key.clone()))
            .is_some_and(|s| s.knows(batch_id))
        {
            return Ok(false);
        }
        let dir = self.root.join(key.rel_dir(dataset));
        create_dir_durable(&self.root, &dir)?;
        write_parquet_durable(&dir, &format!("batch-{batch_id}.parquet"), df)?;
        let mut index = self.index.lock().expect("index lock");
        index
            .entry((dataset, key.clone()))
            .or_default()
            .batch_files
            .insert(batch_id.to_string());
        Ok(true)
    }

    fn partition_lock(&self, dataset: Dataset, key: &PartitionKey) -> Arc<Mutex<()>> {
        let mut locks = self.partition_locks.lock().expect("partition locks");
        locks.entry((dataset, key.clone())).or_default().clone()
    }

    /// Lists the files of the partitions `filter` accepts, holding compaction off until the
    /// snapshot is dropped.
    pub fn snapshot(&self, filter: &Filter) -> Snapshot<'_> {
        let guard = self.files_lock.read().expect("files lock");
        let index = self.index.lock().expect("index lock");
        let mut sources = Sources::default();
        let mut keys: Vec<_> = index.keys().filter(|(_, k)| filter.accepts(k)).collect();
        keys.sort();
        for k in keys {
            let dir = self.root.join(k.1.rel_dir(k.0));
            let files = index[k].files().map(|f| dir.join(f));
            match k.0 {
                Dataset::Counts => sources.counts.extend(files),
                Dataset::Plays => sources.plays.extend(files),
            }
        }
        Snapshot {
            _guard: guard,
            sources,
        }
    }

    /// Partitions with at least `min_files` files.
    pub fn partitions_to_compact(&self, min_files: usize) -> Vec<(Dataset, PartitionKey)> {
        let index = self.index.lock().expect("index lock");
        let mut v: Vec<_> = index
            .iter()
            .filter(|(_, s)| s.files().count() >= min_files.max(2))
            .map(|(k, _)| k.clone())
            .collect();
        v.sort();
        v
    }

    /// Compacts every partition with at least `min_files` files.
    pub fn compact_all(&self, min_files: usize) -> Result<Vec<Compaction>> {
        let mut done = Vec::new();
        for (dataset, key) in self.partitions_to_compact(min_files) {
            if let Some(c) = self.compact_partition(dataset, &key)? {
                done.push(c);
            }
        }
        Ok(done)
    }

    /// Test hook: make the next compaction stop (as if the process died) after `step`.
    #[doc(hidden)]
    pub fn inject_compaction_crash(&self, step: Option<CompactionStep>) {
        *self.fault.lock().expect("fault lock") = step;
    }

    /// Test hook: make the next multi-partition ingest stop (as if the process died) after
    /// writing `partitions` partition files, before acknowledging.
    #[doc(hidden)]
    pub fn inject_ingest_crash(&self, partitions: Option<usize>) {
        *self.ingest_fault.lock().expect("fault lock") = partitions;
    }

    fn crash_point(&self, step: CompactionStep) -> Result<()> {
        if *self.fault.lock().expect("fault lock") == Some(step) {
            return Err(StoreError::InjectedCrash(step));
        }
        Ok(())
    }

    /// Rewrites all files of one partition as one file. Returns None when there was
    /// nothing to merge (fewer than two files).
    pub fn compact_partition(
        &self,
        dataset: Dataset,
        key: &PartitionKey,
    ) -> Result<Option<Compaction>> {
        let _one = self.compaction_lock.lock().expect("compaction lock");
        let dir = self.root.join(key.rel_dir(dataset));
        let (files, batches, seq) = {
            let index = self.index.lock().expect("index lock");
            let Some(state) = index.get(&(dataset, key.clone())) else {
                return Ok(None);
            };
            let files: Vec<String> = state.files().collect();
            let mut batches: BTreeSet<String> = state.batch_files.clone();
            for b in state.compacted.values() {
                batches.extend(b.iter().cloned());
            }
            let seq = state.compacted.keys().next_back().map_or(1, |s| s + 1);
            (files, batches, seq)
        };
        if files.len() < 2 {
            return Ok(None);
        }
        let paths: Vec<PathBuf> = files.iter().map(|f| dir.join(f)).collect();
        let mut df = read_parquet_files(&paths)?
            .sort(
                [col::TS, col::STARTED_AT]
                    .iter()
                    .filter(|c| has(dataset, c))
                    .copied()
                    .collect::<Vec<_>>(),
                Default::default(),
            )
            .collect()?;
        let rows = df.height();
        let parquet_name = compacted_name(seq, "parquet");
        let tmp = dir.join(format!("{parquet_name}.tmp"));
        write_parquet_file(&tmp, &mut df)?;
        self.crash_point(CompactionStep::TempWritten)?;

        let manifest = Manifest {
            sources: files.clone(),
            batches: batches.iter().cloned().collect(),
            rows,
        };
        let json = serde_json::to_vec(&manifest).expect("manifest serialises");
        write_bytes_durable(&dir, &compacted_name(seq, "json"), &json)?;
        self.crash_point(CompactionStep::ManifestWritten)?;

        let lock = self.partition_lock(dataset, key);
        let _writing = lock.lock().expect("partition lock");
        let _readers_out = self.files_lock.write().expect("files lock");
        let target = dir.join(&parquet_name);
        fs::rename(&tmp, &target).map_err(io_err(&target))?;
        sync_dir(&dir)?;
        // Committed: the new file and manifest replace the sources from here on.
        {
            let mut index = self.index.lock().expect("index lock");
            let state = index.entry((dataset, key.clone())).or_default();
            for f in &files {
                if let Some(b) = batch_of(f) {
                    state.batch_files.remove(b);
                } else if let Some(s) = compacted_seq(f) {
                    state.compacted.remove(&s);
                }
            }
            state.compacted.insert(seq, batches);
        }
        self.crash_point(CompactionStep::Committed)?;
        for (i, f) in files.iter().enumerate() {
            remove_source(&dir, f)?;
            if i == 0 {
                self.crash_point(CompactionStep::FirstSourceDeleted)?;
            }
        }
        sync_dir(&dir)?;
        Ok(Some(Compaction {
            dataset,
            partition: key.clone(),
            sources: files.len(),
            rows,
        }))
    }
}

fn has(dataset: Dataset, column: &str) -> bool {
    dataset.schema().contains(column)
}

fn check_partition(dataset: Dataset, key: &PartitionKey, df: &DataFrame) -> Result<()> {
    let wrong = |reason: String| StoreError::WrongPartition {
        partition: key.to_string(),
        reason,
    };
    let expected = dataset.schema();
    if df.schema().as_ref() != &expected {
        return Err(wrong(format!(
            "schema {:?}, expected {:?}",
            df.schema(),
            expected
        )));
    }
    let ts_col = if dataset == Dataset::Counts {
        col::TS
    } else {
        col::STARTED_AT
    };
    let day = (key.date - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days();
    let start = day * 86_400_000 - schema::TOKYO_OFFSET_MS;
    let ms = polars::prelude::col(ts_col).cast(DataType::Int64);
    let bad = df
        .clone()
        .lazy()
        .filter(
            polars::prelude::col(col::WARD)
                .neq(lit(key.ward.as_str()))
                .or(ms.clone().lt(lit(start)))
                .or(ms.gt_eq(lit(start + 86_400_000))),
        )
        .select([len()])
        .collect()?;
    let n = bad
        .column("len")?
        .u32()
        .map(|c| c.get(0).unwrap_or(0))
        .unwrap_or(0);
    if n > 0 {
        return Err(wrong(format!("{n} rows belong to another ward or date")));
    }
    Ok(())
}

fn strip<'a>(path: &'a Path, prefix: &str) -> Option<&'a str> {
    path.file_name()?.to_str()?.strip_prefix(prefix)
}

fn list_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v = Vec::new();
    for e in fs::read_dir(dir).map_err(io_err(dir))? {
        v.push(e.map_err(io_err(dir))?.path());
    }
    v.sort();
    Ok(v)
}

fn batch_of(file: &str) -> Option<&str> {
    file.strip_prefix("batch-")?.strip_suffix(".parquet")
}

fn compacted_seq(file: &str) -> Option<u64> {
    let rest = file.strip_prefix("compacted-")?;
    let num = rest
        .strip_suffix(".parquet")
        .or_else(|| rest.strip_suffix(".json"))?;
    num.parse().ok()
}

fn remove_source(dir: &Path, file: &str) -> Result<()> {
    let mut names = vec![file.to_string()];
    if let Some(s) = compacted_seq(file) {
        names.push(compacted_name(s, "json"));
    }
    for n in names {
        let p = dir.join(n);
        match fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&p)(e)),
        }
    }
    Ok(())
}

/// Brings one partition directory to a clean state and indexes it.
fn recover_partition(dir: &Path) -> Result<PartitionState> {
    let names = || -> Result<Vec<String>> {
        Ok(list_dir(dir)?
            .iter()
            .filter_map(|p| p.file_name()?.to_str().map(str::to_string))
            .collect())
    };
    let mut changed = false;
    for n in names()? {
        if n.ends_with(".tmp") {
            remove_source(dir, &n)?;
            changed = true;
        }
    }
    let present: BTreeSet<String> = names()?.into_iter().collect();
    // Committed compactions, newest first: their sources are redundant.
    let mut committed: BTreeMap<u64, Manifest> = BTreeMap::new();
    for n in &present {
        if let Some(seq) = n.strip_suffix(".json").and_then(|_| compacted_seq(n))
            && present.contains(&compacted_name(seq, "parquet"))
        {
            let path = dir.join(n);
            let bytes = fs::read(&path).map_err(io_err(&path))?;
            let m: Manifest = serde_json::from_slice(&bytes).map_err(|e| StoreError::Manifest {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            committed.insert(seq, m);
        }
    }
    let seqs: Vec<u64> = committed.keys().rev().copied().collect();
    for seq in seqs {
        let Some(m) = committed.get(&seq) else {
            continue;
        };
        let sources = m.sources.clone();
        for s in sources {
            remove_source(dir, &s)?;
            changed = true;
            if let Some(old) = compacted_seq(&s) {
                committed.remove(&old);
            }
        }
    }
    let mut state = PartitionState::default();
    for n in names()? {
        if let Some(b) = batch_of(&n) {
            state.batch_files.insert(b.to_string());
        } else if let Some(seq) = compacted_seq(&n) {
            match committed.get(&seq) {
                Some(m) => {
                    state
                        .compacted
                        .insert(seq, m.batches.iter().cloned().collect());
                }
                None if n.ends_with(".json") => {
                    // Manifest of a compaction that never committed (or was superseded).
                    remove_source(dir, &n)?;
                    changed = true;
                }
                None => {
                    return Err(StoreError::Manifest {
                        path: dir.join(&n),
                        reason: "compacted file without manifest".into(),
                    });
                }
            }
        }
    }
    if changed {
        sync_dir(dir)?;
    }
    Ok(state)
}

/// Lazily scans Parquet files with the datasets' layout (no hive columns: `ward` is in the
/// files and the date is derived from the timestamps).
pub fn scan_parquet_files(paths: &[PathBuf]) -> PolarsResult<LazyFrame> {
    let paths: Vec<PlRefPath> = paths
        .iter()
        .map(|p| PlRefPath::new(p.to_string_lossy().as_ref()))
        .collect();
    let args = ScanArgsParquet {
        hive_options: HiveOptions {
            enabled: Some(false),
            ..Default::default()
        },
        glob: false,
        ..Default::default()
    };
    LazyFrame::scan_parquet_files(paths.into(), args)
}

fn read_parquet_files(paths: &[PathBuf]) -> Result<LazyFrame> {
    Ok(scan_parquet_files(paths)?)
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(io_err(dir))
}

/// Creates `dir` (below `root`) and fsyncs every directory whose entries changed.
fn create_dir_durable(root: &Path, dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut missing = Vec::new();
    let mut d = dir;
    while !d.is_dir() {
        missing.push(d.to_path_buf());
        match d.parent() {
            Some(p) if p.starts_with(root) || p == root => d = p,
            _ => break,
        }
    }
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    for m in missing.iter().rev() {
        if let Some(p) = m.parent() {
            sync_dir(p)?;
        }
    }
    Ok(())
}

fn write_parquet_file(path: &Path, df: &mut DataFrame) -> Result<()> {
    let mut f = File::create(path).map_err(io_err(path))?;
    ParquetWriter::new(&mut f)
        .with_compression(ParquetCompression::Zstd(None))
        .finish(df)?;
    f.sync_all().map_err(io_err(path))
}

/// Writes `df` as `dir/name` through a fsynced temporary file and an atomic rename.
pub fn write_parquet_durable(dir: &Path, name: &str, df: &mut DataFrame) -> Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    write_parquet_file(&tmp, df)?;
    let target = dir.join(name);
    fs::rename(&tmp, &target).map_err(io_err(&target))?;
    sync_dir(dir)
}

/// Writes bytes as `dir/name` through a fsynced temporary file and an atomic rename.
pub fn write_bytes_durable(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(io_err(&tmp))?;
    let target = dir.join(name);
    fs::rename(&tmp, &target).map_err(io_err(&target))?;
    sync_dir(dir)
}

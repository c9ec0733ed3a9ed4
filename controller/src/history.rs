//! The controller's people-flow history: counts and proof of play from the players, written
//! as Parquet through `reports::store` into `{data_dir}/history`, which the reports read.
//!
//! A batch is acknowledged to its player only after its rows are durable (fsynced). Messages
//! are collected for up to [`FLUSH_AFTER`] (or [`FLUSH_RECORDS`] records), written in one
//! blocking task, then all their acknowledgements are sent, so neither the MQTT event loop
//! nor the async workers wait on disk.
//!
//! Idempotency is the history store's: every counts record is its own store batch
//! `c-{player}-{seq}` and every play `p-{player}-{play id}`, so a record re-sent after a lost
//! acknowledgement or a controller crash, in whatever grouping, is written once.
//! A counts record whose seq this player already used for another period (a replaced device, or
//! a wiped cache, counting from 1 again) is skipped by both stores and named in the
//! acknowledgement's `conflicts`: the player numbers it again and re-sends it. The SQLite
//! tables `counts` and `plays` stay as the raw per-player log behind
//! `GET /api/v1/players/{id}/counts` and `/plays` (they keep fields the Parquet schema does not:
//! sequence numbers, frames, playlists); both stores ignore records they already hold, so a
//! crash between the two writes is repaired by the player's re-send.
//!
//! Mapping of a counts record (one period of the player's camera) to 10-second rows: one row
//! per line and per zone, at the 10-second bucket containing the period's start. Footfall is
//! the sum of `in_count`, so a record's lines carry its crossings and its zones carry entries
//! and exits only when the record has no line (people are counted once). Zone rows carry
//! occupancy (end of period), the period's highest occupancy, and the dwell histogram mapped
//! onto the report bins by each bucket's lower bound (exact when the camera's dwell bounds
//! include 60, 300, 900 and 1800 s).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use content::protocol::{
    self, CountsAck, CountsBatch, CountsRecord, DwellSummary, PlayBatch, PlayBatchAck, PlayRecord,
    PlayerId, PlayerTopic, Topic,
};
use reports::schema::{BUCKET_MS, dwell_bin};
use reports::store::validate_name;
use reports::{CountRow, HistoryStore, PlayRow};
use rumqttc::AsyncClient;
use sha2::Digest;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::store::Store;

/// Longest a message waits for others before the durable write.
pub const FLUSH_AFTER: Duration = Duration::from_secs(1);
/// Records (counts records plus plays) that trigger the write at once.
pub const FLUSH_RECORDS: usize = 256;
/// Messages waiting for the writer; beyond this a message is dropped unacknowledged (the
/// player sends it again).
const QUEUE: usize = 1024;
/// Small files are merged this often (and once at start).
pub const COMPACT_EVERY: Duration = Duration::from_secs(600);
/// Ward of players registered without one.
pub const NO_WARD: &str = "unassigned";

/// A batch from a player, waiting to be written.
#[derive(Debug, Clone)]
pub enum Incoming {
    Counts(CountsBatch),
    Plays(PlayBatch),
}

/// The acknowledgement of a batch, sent once its records are durable.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Counts(CountsAck),
    Plays(PlayBatchAck),
}

struct Arrival {
    player: PlayerId,
    batch: Incoming,
}

/// The history: the Parquet store (for reports) and the handle of its writer task.
#[derive(Clone)]
pub struct History {
    store: Arc<HistoryStore>,
    tx: mpsc::Sender<Arrival>,
}

impl History {
    /// Opens `{data_dir}/history` (finishing or rolling back interrupted writes and
    /// compactions), starts the writer, which sends acknowledgements on `replies`, and the
    /// periodic compaction.
    pub async fn open(
        data_dir: &Path,
        raw_log: Store,
        replies: mpsc::Sender<(PlayerId, Reply)>,
    ) -> anyhow::Result<History> {
        let root = data_dir.join("history");
        let store = {
            let root = root.clone();
            tokio::task::spawn_blocking(move || HistoryStore::open(root)).await??
        };
        let _ = std::fs::remove_dir_all(report_scratch(&root));
        let store = Arc::new(store);
        let (tx, rx) = mpsc::channel(QUEUE);
        let writer = Writer {
            store: store.clone(),
            raw_log,
            replies,
            wards: HashMap::new(),
            wards_read: None,
            summary: Summary::new(),
        };
        tokio::spawn(writer.run(rx));
        tokio::spawn(compact_periodically(store.clone()));
        Ok(History { store, tx })
    }

    pub fn store(&self) -> &Arc<HistoryStore> {
        &self.store
    }

    /// Where report queries may put temporary files.
    pub fn scratch_dir(&self) -> PathBuf {
        report_scratch(self.store.root())
    }

    /// Queues a batch for the writer; never waits. A full queue drops it unacknowledged.
    pub fn submit(&self, player: &PlayerId, batch: Incoming) {
        let arrival = Arrival {
            player: player.clone(),
            batch,
        };
        if let Err(e) = self.tx.try_send(arrival) {
            warn!(%player, error = %e, "history writer busy: batch dropped, the player will resend it");
        }
    }
}

fn report_scratch(root: &Path) -> PathBuf {
    root.with_file_name("history-scratch")
}

/// Where the writer puts acknowledgements; see [`forward_replies`].
pub type Replies = mpsc::Receiver<(PlayerId, Reply)>;

pub fn reply_channel() -> (mpsc::Sender<(PlayerId, Reply)>, Replies) {
    mpsc::channel(QUEUE)
}

/// Sends the writer's acknowledgements to the players over MQTT.
pub fn forward_replies(client: AsyncClient, mut rx: Replies) {
    tokio::spawn(async move {
        while let Some((player, reply)) = rx.recv().await {
            let (kind, payload) = match &reply {
                Reply::Counts(ack) => (PlayerTopic::CountsAck, protocol::encode(ack)),
                Reply::Plays(ack) => (PlayerTopic::PlaysAck, protocol::encode(ack)),
            };
            let topic = Topic::player(&player, kind);
            if let Err(e) = mqtt_link::publish(&client, &topic, payload).await {
                warn!(%e, %player, "cannot send an acknowledgement");
            }
        }
    });
}

async fn compact_periodically(store: Arc<HistoryStore>) {
    let mut tick = tokio::time::interval(COMPACT_EVERY);
    loop {
        tick.tick().await;
        let store = store.clone();
        match tokio::task::spawn_blocking(move || store.compact_all(2)).await {
            Ok(Ok(done)) if !done.is_empty() => {
                let files: usize = done.iter().map(|c| c.sources).sum();
                info!(partitions = done.len(), files, "history compacted");
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => warn!(%e, "history compaction failed; retrying later"),
            Err(e) => warn!(%e, "history compaction panicked"),
        }
    }
}

/// One store batch: a counts record's rows or one play.
enum Unit {
    Counts {
        batch_id: String,
        rows: Vec<CountRow>,
    },
    Play {
        batch_id: String,
        row: PlayRow,
    },
}

struct Writer {
    store: Arc<HistoryStore>,
    raw_log: Store,
    replies: mpsc::Sender<(PlayerId, Reply)>,
    wards: HashMap<String, String>,
    wards_read: Option<std::time::Instant>,
    /// Batches and rows written since the last summary line (one a minute, not one a batch).
    summary: Summary,
}

/// What the writer did since its last log line.
struct Summary {
    batches: usize,
    rows: usize,
    since: std::time::Instant,
}

/// How often the writer says what it wrote.
const SUMMARY_EVERY: Duration = Duration::from_secs(60);

impl Summary {
    fn new() -> Summary {
        Summary {
            batches: 0,
            rows: 0,
            since: std::time::Instant::now(),
        }
    }

    fn add(&mut self, batches: usize, rows: usize) {
        self.batches += batches;
        self.rows += rows;
        if self.since.elapsed() >= SUMMARY_EVERY {
            info!(
                batches = self.batches,
                rows = self.rows,
                minutes = self.since.elapsed().as_secs() / 60,
                "people counts and proof of play written to history"
            );
            *self = Summary::new();
        }
    }
}

/// The ward cache is re-read this often, so a player moved to another ward is followed.
const WARDS_FRESH: Duration = Duration::from_secs(60);

fn records(a: &Arrival) -> usize {
    match &a.batch {
        Incoming::Counts(b) => b.records.len(),
        Incoming::Plays(b) => b.records.len(),
    }
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::Receiver<Arrival>) {
        while let Some(first) = rx.recv().await {
            let deadline = tokio::time::Instant::now() + FLUSH_AFTER;
            let mut n = records(&first);
            let mut pending = vec![first];
            while n < FLUSH_RECORDS {
                tokio::select! {
                    next = rx.recv() => match next {
                        Some(a) => {
                            n += records(&a);
                            pending.push(a);
                        }
                        None => break,
                    },
                    _ = tokio::time::sleep_until(deadline) => break,
                }
            }
            self.flush(pending).await;
        }
    }

    async fn ward(&mut self, player: &PlayerId) -> Option<String> {
        let stale = self.wards_read.is_none_or(|t| t.elapsed() > WARDS_FRESH);
        if stale || !self.wards.contains_key(player.as_str()) {
            self.wards_read = Some(std::time::Instant::now());
            match self.raw_log.player_targets().await {
                Ok(targets) => {
                    for t in targets {
                        self.wards
                            .insert(t.id.to_string(), ward_name(&t.ward.0).into_owned());
                    }
                }
                Err(e) => warn!(%e, "cannot read the player registry"),
            }
        }
        self.wards.get(player.as_str()).cloned()
    }

    /// Writes the batches durably, then logs them in SQLite, then acknowledges what both hold.
    async fn flush(&mut self, pending: Vec<Arrival>) {
        let mut plan: Vec<(Arrival, Vec<Unit>)> = Vec::new();
        for a in pending {
            let Some(ward) = self.ward(&a.player).await else {
                warn!(player = %a.player, "batch from an unregistered player dropped");
                continue;
            };
            let units = units(&a.player, &ward, &a.batch);
            plan.push((a, units));
        }
        let store = self.store.clone();
        let started = std::time::Instant::now();
        let written = tokio::task::spawn_blocking(move || {
            let mut rows = 0;
            let out: Vec<(Arrival, Vec<bool>)> = plan
                .into_iter()
                .map(|(a, units)| {
                    let ok = units
                        .iter()
                        .map(|u| match write(&store, u) {
                            Ok(n) => {
                                rows += n;
                                true
                            }
                            Err(e) => {
                                warn!(player = %a.player, %e, "cannot write history");
                                false
                            }
                        })
                        .collect();
                    (a, ok)
                })
                .collect();
            (out, rows)
        })
        .await;
        let (written, rows) = match written {
            Ok(w) => w,
            Err(e) => {
                warn!(%e, "history writer panicked; batches stay unacknowledged");
                return;
            }
        };
        debug!(
            batches = written.len(),
            rows,
            ms = started.elapsed().as_millis() as u64,
            "history written"
        );
        self.summary.add(written.len(), rows);
        for (a, ok) in written {
            if let Some(reply) = self.log_raw(&a, &ok).await {
                let _ = self.replies.send((a.player, reply)).await;
            }
        }
    }

    /// Logs the durable records of one batch in SQLite; the acknowledgement names them.
    /// `durable[i]` says whether record `i` reached the Parquet store.
    async fn log_raw(&self, a: &Arrival, durable: &[bool]) -> Option<Reply> {
        match &a.batch {
            Incoming::Counts(batch) => {
                let done = kept(&batch.records, durable);
                if done.is_empty() {
                    return None;
                }
                let stored = match self.raw_log.insert_counts(&a.player, &done).await {
                    Ok(stored) => stored,
                    Err(e) => {
                        warn!(player = %a.player, %e, "cannot log counts; not acknowledged");
                        return None;
                    }
                };
                if !stored.conflicts.is_empty() {
                    warn!(
                        player = %a.player,
                        conflicts = ?stored.conflicts,
                        next_seq = ?stored.next_seq,
                        "counts records reuse sequence numbers of other periods (a replaced \
                         device or a wiped cache); not stored, the player numbers them again"
                    );
                }
                Some(Reply::Counts(CountsAck {
                    seqs: stored.held,
                    conflicts: stored.conflicts,
                    next_seq: stored.next_seq,
                }))
            }
            Incoming::Plays(batch) => {
                let done = kept(&batch.records, durable);
                if done.is_empty() {
                    return None;
                }
                if let Err(e) = self.raw_log.insert_plays(&a.player, &done).await {
                    warn!(player = %a.player, %e, "cannot log plays; not acknowledged");
                    return None;
                }
                Some(Reply::Plays(PlayBatchAck {
                    batch: batch.batch.clone(),
                    ids: done.iter().map(|r| r.id.clone()).collect(),
                }))
            }
        }
    }
}

/// Writes one store batch durably; returns the rows written (0 for a replay).
fn write(store: &HistoryStore, unit: &Unit) -> reports::store::Result<usize> {
    let started = std::time::Instant::now();
    let written = write_unit(store, unit);
    let dataset = match unit {
        Unit::Counts { .. } => "counts",
        Unit::Play { .. } => "plays",
    };
    crate::metrics::METRICS.observe(
        "signage_history_write_seconds",
        format!("dataset=\"{dataset}\""),
        started.elapsed(),
    );
    written
}

fn write_unit(store: &HistoryStore, unit: &Unit) -> reports::store::Result<usize> {
    match unit {
        Unit::Counts { rows, .. } if rows.is_empty() => Ok(0),
        Unit::Counts { batch_id, rows } => Ok(store.ingest_counts(batch_id, rows)?.rows_written),
        Unit::Play { batch_id, row } => Ok(store
            .ingest_plays(batch_id, std::slice::from_ref(row))?
            .rows_written),
    }
}

/// The store batches of a message, one per record, in record order.
fn units(player: &PlayerId, ward: &str, batch: &Incoming) -> Vec<Unit> {
    match batch {
        Incoming::Counts(b) => b
            .records
            .iter()
            .map(|r| Unit::Counts {
                batch_id: format!("c-{player}-{}", r.seq),
                rows: count_rows(player, ward, r),
            })
            .collect(),
        Incoming::Plays(b) => b
            .records
            .iter()
            .map(|r| Unit::Play {
                batch_id: play_batch_id(player, &r.id),
                row: play_row(player, ward, r),
            })
            .collect(),
    }
}

/// A store-safe ward name: registry names that are not (`北区`) are hex-encoded.
pub fn ward_name(ward: &str) -> std::borrow::Cow<'_, str> {
    if ward.is_empty() {
        NO_WARD.into()
    } else if validate_name("ward", ward).is_ok() {
        ward.into()
    } else {
        let hex = hex::encode(ward.as_bytes());
        format!("x{}", &hex[..hex.len().min(120)]).into()
    }
}

fn play_batch_id(player: &PlayerId, id: &str) -> String {
    let plain = format!("p-{player}-{id}");
    if validate_name("batch id", &plain).is_ok() {
        plain
    } else {
        let digest = hex::encode(sha2::Sha256::digest(id.as_bytes()));
        format!("p-{player}-h{}", &digest[..40])
    }
}

/// Start of the 10-second bucket containing `t`.
pub fn bucket_start(t: DateTime<Utc>) -> DateTime<Utc> {
    let ms = t.timestamp_millis();
    DateTime::from_timestamp_millis(ms - ms.rem_euclid(BUCKET_MS)).unwrap_or(t)
}

fn clamp(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// The rows of one counts record (see the module documentation).
pub fn count_rows(player: &PlayerId, ward: &str, r: &CountsRecord) -> Vec<CountRow> {
    let ts = bucket_start(r.start);
    let row = |counter: &str| CountRow {
        player: player.to_string(),
        ward: ward.to_string(),
        ts,
        counter: counter.to_string(),
        in_count: 0,
        out_count: 0,
        occupancy: 0,
        occupancy_max: 0,
        dwell: [0; 5],
    };
    let mut rows: Vec<CountRow> = r
        .lines
        .iter()
        .map(|(name, t)| CountRow {
            in_count: clamp(t.inbound),
            out_count: clamp(t.outbound),
            ..row(name)
        })
        .collect();
    let zones_count_people = r.lines.is_empty();
    rows.extend(r.zones.iter().map(|(name, z)| {
        let (in_count, out_count) = if zones_count_people {
            (clamp(z.entries), clamp(z.exits))
        } else {
            (0, 0)
        };
        CountRow {
            in_count,
            out_count,
            occupancy: z.occupancy.unwrap_or(0),
            occupancy_max: z.max,
            dwell: dwell_bins(&z.dwell),
            ..row(name)
        }
    }));
    rows
}

/// A camera's dwell histogram onto the report bins, by each bucket's lower bound.
pub fn dwell_bins(d: &DwellSummary) -> [u32; 5] {
    let mut bins = [0u32; 5];
    if d.counts.len() <= 1 || d.counts.len() != d.bounds_s.len() + 1 {
        // No usable histogram: every visit at the mean.
        if d.visits > 0 {
            bins[dwell_bin(d.mean_s.max(0.0) as u32)] += clamp(d.visits);
        }
        return bins;
    }
    for (i, n) in d.counts.iter().enumerate() {
        let low = if i == 0 { 0.0 } else { d.bounds_s[i - 1] };
        let bin = &mut bins[dwell_bin(low.max(0.0) as u32)];
        *bin = bin.saturating_add(clamp(*n));
    }
    bins
}

fn play_row(player: &PlayerId, ward: &str, r: &PlayRecord) -> PlayRow {
    PlayRow {
        play_id: r.id.clone(),
        player: player.to_string(),
        ward: ward.to_string(),
        layout: r.layout.to_string(),
        zone: r.zone.to_string(),
        asset: r.asset.to_string(),
        started_at: r.start,
        ended_at: r.end,
    }
}

/// The records whose flag is set.
fn kept<T: Clone>(records: &[T], flags: &[bool]) -> Vec<T> {
    records
        .iter()
        .zip(flags)
        .filter(|(_, ok)| **ok)
        .map(|(r, _)| r.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use content::protocol::{LineTally, ZoneTally};
    use reports::{Filter, Report, Reports};

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn record(seq: u64, start: &str, inbound: u64) -> CountsRecord {
        CountsRecord {
            seq,
            start: at(start),
            end: at(start) + chrono::Duration::seconds(10),
            frames: 100,
            lines: [(
                "door".to_string(),
                LineTally {
                    inbound,
                    outbound: 1,
                },
            )]
            .into(),
            zones: [(
                "queue".to_string(),
                ZoneTally {
                    occupancy: Some(3),
                    max: 4,
                    mean: 2.5,
                    entries: 9,
                    exits: 9,
                    dwell: DwellSummary {
                        visits: 3,
                        mean_s: 100.0,
                        max_s: 2000.0,
                        bounds_s: vec![60.0, 300.0, 900.0, 1800.0],
                        counts: vec![1, 1, 0, 0, 1],
                    },
                },
            )]
            .into(),
        }
    }

    #[test]
    fn a_record_becomes_one_row_per_counter_in_its_bucket() {
        let p: PlayerId = "kita-1".parse().unwrap();
        let rows = count_rows(&p, "kita", &record(7, "2026-11-25T00:00:17.500Z", 5));
        assert_eq!(rows.len(), 2);
        let (door, queue) = (&rows[0], &rows[1]);
        assert_eq!(door.ts, at("2026-11-25T00:00:10Z"));
        assert_eq!((door.in_count, door.out_count), (5, 1));
        // Lines carry the footfall: the zone's entries are not counted again.
        assert_eq!((queue.in_count, queue.out_count), (0, 0));
        assert_eq!((queue.occupancy, queue.occupancy_max), (3, 4));
        assert_eq!(queue.dwell, [1, 1, 0, 0, 1]);
    }

    #[test]
    fn ward_names_are_store_safe() {
        assert_eq!(ward_name("kita"), "kita");
        assert_eq!(ward_name(""), NO_WARD);
        let odd = ward_name("北区");
        assert!(validate_name("ward", &odd).is_ok(), "{odd}");
        assert_ne!(ward_name("北区"), ward_name("南区"));
    }

    fn footfall(store: &HistoryStore) -> i64 {
        let snapshot = store.snapshot(&Filter::default());
        let report = Report::from_name("footfall_day_ward").unwrap();
        let df = Reports::new(snapshot.sources.clone()).run(&report).unwrap();
        df.column("footfall")
            .map(|c| c.as_materialized_series().sum::<i64>().unwrap())
            .unwrap_or(0)
    }

    /// The footfall the reports read now (off the async workers, as the reports run).
    async fn total(history: &History) -> i64 {
        let store = history.store().clone();
        tokio::task::spawn_blocking(move || footfall(&store))
            .await
            .unwrap()
    }

    /// A history over a fresh store with one registered player, `kita-1` in ward `kita`.
    async fn kita_history(dir: &std::path::Path) -> (History, PlayerId, Replies) {
        let raw = Store::open(dir).await.unwrap();
        let p: PlayerId = "kita-1".parse().unwrap();
        raw.add_player(
            &crate::store::NewPlayer {
                id: p.clone(),
                ward: Some("kita".into()),
                groups: vec![],
                name: None,
            },
            "secret",
        )
        .await
        .unwrap();
        let (reply_tx, replies) = mpsc::channel(16);
        let history = History::open(dir, raw, reply_tx).await.unwrap();
        (history, p, replies)
    }

    /// Every acknowledgement comes after its records are readable in the history, a re-sent
    /// batch (regrouped, as a player does after a lost acknowledgement) is stored once, and
    /// all batches of one flush are acknowledged together.
    #[tokio::test]
    async fn acknowledgements_follow_durable_writes_and_replays_are_stored_once() {
        let dir = tempfile::tempdir().unwrap();
        let (history, p, mut replies) = kita_history(dir.path()).await;
        let batch = |seqs: &[u64]| {
            Incoming::Counts(CountsBatch {
                records: seqs
                    .iter()
                    .map(|&s| record(s, "2026-11-25T00:00:00Z", s * 10))
                    .collect(),
            })
        };
        history.submit(&p, batch(&[1, 2]));
        history.submit(&p, batch(&[3]));
        let mut acked = Vec::new();
        for _ in 0..2 {
            let (who, reply) = replies.recv().await.unwrap();
            assert_eq!(who, p);
            let Reply::Counts(ack) = reply else {
                panic!("a counts acknowledgement")
            };
            acked.extend(ack.seqs);
            // Acknowledged means durable: the rows are already in the reports' input.
            assert_eq!(total(&history).await, 60, "after ack of {acked:?}");
        }
        assert_eq!(acked, [1, 2, 3]);
        assert!(replies.try_recv().is_err(), "one acknowledgement per batch");

        // The acks were lost: the player re-sends 2 and 3 in one batch with a new record 4.
        history.submit(&p, batch(&[2, 3, 4]));
        let (_, reply) = replies.recv().await.unwrap();
        assert_eq!(
            reply,
            Reply::Counts(CountsAck {
                seqs: vec![2, 3, 4],
                conflicts: vec![],
                next_seq: None,
            })
        );
        assert_eq!(
            total(&history).await,
            100,
            "10 + 20 + 30 + 40, each record once"
        );
    }

    /// A seq reused for another period (a device counting from 1 again) is neither written
    /// nor acknowledged: the acknowledgement names it as a conflict with the next free seq,
    /// and the record numbered again is stored.
    #[tokio::test]
    async fn a_reused_seq_is_sent_back_to_be_numbered_again() {
        let dir = tempfile::tempdir().unwrap();
        let (history, p, mut replies) = kita_history(dir.path()).await;
        let counts = |records: Vec<CountsRecord>| Incoming::Counts(CountsBatch { records });
        history.submit(&p, counts(vec![record(1, "2026-11-25T00:00:00Z", 10)]));
        replies.recv().await.unwrap();

        // The replacement device: seq 1 again, for a later period; seq 2 is new.
        history.submit(
            &p,
            counts(vec![
                record(1, "2026-11-25T01:00:00Z", 20),
                record(2, "2026-11-25T01:00:10Z", 30),
            ]),
        );
        let (_, reply) = replies.recv().await.unwrap();
        assert_eq!(
            reply,
            Reply::Counts(CountsAck {
                seqs: vec![2],
                conflicts: vec![1],
                next_seq: Some(3),
            })
        );
        assert_eq!(total(&history).await, 40, "10 + 30: the old period kept");

        history.submit(&p, counts(vec![record(3, "2026-11-25T01:00:00Z", 20)]));
        let (_, reply) = replies.recv().await.unwrap();
        let Reply::Counts(ack) = reply else {
            panic!("a counts acknowledgement")
        };
        assert_eq!((ack.seqs, ack.conflicts), (vec![3], vec![]));
        assert_eq!(total(&history).await, 60, "every period once");
    }
}

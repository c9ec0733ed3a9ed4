//! People counts on their way to the controller: each period the camera closes gets the next
//! sequence number and is appended to a durable log (JSON lines in the cache directory, each
//! fsynced) before it is sent; batches go out on `counts`, one at a time, resent after 10 s
//! without an answer and after every reconnection; a record leaves the log only when the
//! controller's `counts_ack` names its sequence number. So nothing is lost while the player is
//! offline or restarts, and the controller stores each record once (unique player + seq).
//!
//! The sequence number survives restarts in `counts-seq` (written atomically before the record
//! is appended: a crash in between skips a number, never repeats one). A device that lost it
//! (replaced under the same id, or its cache wiped) starts again at 1; the controller then
//! names the records whose numbers it already holds for other periods (`conflicts`), and they
//! are numbered again from its `next_seq` and re-sent, so no period is lost.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use content::audience::Audience;
use content::protocol::{
    self, CountsAck, CountsBatch, CountsRecord, MAX_COUNTS_PER_BATCH, MAX_PAYLOAD_BYTES,
    PlayerTopic, Topic,
};
use rumqttc::AsyncClient;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::camera::{CameraLink, Period};
use crate::clock::Clock;
use crate::config::PlayerConfig;
use crate::journal::{Journal, write_atomically};
use crate::timer;

const LOG_FILE: &str = "counts.jsonl";
const SEQ_FILE: &str = "counts-seq";

/// The durable log of unacknowledged counts records.
pub struct CountsLog {
    journal: Journal<CountsRecord>,
    seq_path: PathBuf,
    next_seq: u64,
}

impl CountsLog {
    /// Loads what is not acknowledged yet.
    pub fn open(cache_dir: &Path) -> std::io::Result<CountsLog> {
        let journal: Journal<CountsRecord> = Journal::open(cache_dir.join(LOG_FILE))?;
        let seq_path = cache_dir.join(SEQ_FILE);
        let stored: u64 = std::fs::read_to_string(&seq_path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(1);
        let after_pending = journal
            .pending()
            .iter()
            .map(|r| r.seq + 1)
            .max()
            .unwrap_or(1);
        Ok(CountsLog {
            journal,
            seq_path,
            next_seq: stored.max(after_pending),
        })
    }

    /// Gives the period the next sequence number and logs it durably.
    pub fn append(&mut self, period: Period) -> std::io::Result<CountsRecord> {
        let seq = self.next_seq;
        write_atomically(&self.seq_path, format!("{}\n", seq + 1).as_bytes())?;
        self.next_seq = seq + 1;
        let record = CountsRecord {
            seq,
            start: period.start,
            end: period.end,
            frames: period.frames,
            lines: period.lines,
            zones: period.zones,
        };
        self.journal.append(record.clone())?;
        Ok(record)
    }

    pub fn pending(&self) -> &[CountsRecord] {
        self.journal.pending()
    }

    /// Drops acknowledged records.
    pub fn acknowledge(&mut self, seqs: &[u64]) -> std::io::Result<usize> {
        let seqs: HashSet<u64> = seqs.iter().copied().collect();
        self.journal.remove(|r| seqs.contains(&r.seq))
    }

    /// Numbers the pending records named in `conflicts` again, from `next_seq` (or this log's
    /// next number if higher); returns the (old, new) pairs. The new numbers are reserved in
    /// `counts-seq` before the log is rewritten, so a crash in between skips numbers.
    pub fn renumber(
        &mut self,
        conflicts: &[u64],
        next_seq: u64,
    ) -> std::io::Result<Vec<(u64, u64)>> {
        let conflicts: HashSet<u64> = conflicts.iter().copied().collect();
        let count = self
            .pending()
            .iter()
            .filter(|r| conflicts.contains(&r.seq))
            .count() as u64;
        if count == 0 {
            return Ok(Vec::new());
        }
        let first = self.next_seq.max(next_seq);
        let after = first.checked_add(count).ok_or_else(|| {
            std::io::Error::other(format!(
                "next_seq {next_seq} leaves no room to number again"
            ))
        })?;
        write_atomically(&self.seq_path, format!("{after}\n").as_bytes())?;
        self.next_seq = after;
        let mut fresh = first..after;
        let mut moved = Vec::new();
        self.journal.update(|r| {
            if !conflicts.contains(&r.seq) {
                return false;
            }
            let new = fresh.next().expect("one number per conflicting record");
            moved.push((r.seq, new));
            r.seq = new;
            true
        })?;
        Ok(moved)
    }

    /// The oldest pending records that fit one batch (count and payload limits).
    pub fn next_batch(&self) -> Option<CountsBatch> {
        let mut batch = CountsBatch {
            records: self
                .pending()
                .iter()
                .take(MAX_COUNTS_PER_BATCH)
                .cloned()
                .collect(),
        };
        while batch.records.len() > 1 && protocol::encode(&batch).len() > MAX_PAYLOAD_BYTES {
            batch.records.pop();
        }
        (!batch.records.is_empty()).then_some(batch)
    }
}

/// What the MQTT session tells the counts task.
#[derive(Debug)]
pub enum SessionEvent {
    Connected,
    Disconnected,
    Ack(CountsAck),
}

/// The session's handle on counting: events for the counts task (none without a camera) and
/// the live audience for the screen.
pub struct Counts {
    events: Option<mpsc::Sender<SessionEvent>>,
    pub audience: watch::Receiver<Audience>,
}

impl Counts {
    /// Starts the camera thread and the counts task when the configuration has a camera.
    pub fn start(
        config: &PlayerConfig,
        clock: Clock,
        client: AsyncClient,
    ) -> anyhow::Result<Counts> {
        let (audience_tx, audience) = watch::channel(Audience::default());
        let Some(camera) = config.camera.clone() else {
            return Ok(Counts {
                events: None,
                audience,
            });
        };
        let log = CountsLog::open(&config.cache_dir)?;
        if !log.pending().is_empty() {
            info!(
                pending = log.pending().len(),
                "counts records wait for the controller"
            );
        }
        let (periods_tx, periods) = mpsc::channel(16);
        let (events_tx, events) = mpsc::channel(64);
        crate::camera::spawn(
            camera,
            clock,
            CameraLink {
                periods: periods_tx,
                audience: audience_tx,
            },
        )?;
        let task = CountsTask {
            log: Arc::new(Mutex::new(log)),
            client,
            topic: Topic::player(&config.id, PlayerTopic::Counts),
            connected: false,
            in_flight: None,
            summary: crate::timer::Minutely::new("people counts"),
        };
        tokio::spawn(task.run(periods, events));
        Ok(Counts {
            events: Some(events_tx),
            audience,
        })
    }

    /// Whether a camera counts (the configuration has a `[camera]` section).
    pub fn enabled(&self) -> bool {
        self.events.is_some()
    }

    /// Never waits: the MQTT loop must not block on counting.
    pub fn notify(&self, event: SessionEvent) {
        if let Some(events) = &self.events
            && let Err(e) = events.try_send(event)
        {
            warn!(%e, "the counts task is busy; event dropped (a batch whose acknowledgement is lost is sent again)");
        }
    }
}

struct CountsTask {
    log: Arc<Mutex<CountsLog>>,
    client: AsyncClient,
    topic: Topic,
    connected: bool,
    /// Sequence numbers of the batch awaiting its acknowledgement, and when it left.
    in_flight: Option<(Vec<u64>, Instant)>,
    /// Periods recorded and acknowledged, said once a minute.
    summary: crate::timer::Minutely,
}

impl CountsTask {
    async fn run(
        mut self,
        periods: mpsc::Receiver<Period>,
        mut events: mpsc::Receiver<SessionEvent>,
    ) {
        let mut periods = Some(periods);
        loop {
            // Periods, acknowledgements and connections come as events; the one timer is for
            // a batch awaiting its acknowledgement, so an idle player is not woken.
            let resend_at = timer::resend_due(self.in_flight.as_ref().map(|f| f.1), self.connected);
            tokio::select! {
                period = async { periods.as_mut()?.recv().await }, if periods.is_some() => match period {
                    Some(period) => {
                        let log = self.log.clone();
                        match tokio::task::spawn_blocking(move || log.lock().expect("not poisoned").append(period)).await {
                            Ok(Ok(record)) => {
                                debug!(seq = record.seq, frames = record.frames, "counts recorded");
                                self.summary.recorded(1);
                            }
                            Ok(Err(e)) => warn!(%e, "cannot log counts; this period is lost"),
                            Err(e) => warn!(%e, "cannot log counts; this period is lost"),
                        }
                        if self.in_flight.is_none() {
                            self.send().await;
                        }
                    }
                    None => periods = None,
                },
                event = events.recv() => match event {
                    Some(SessionEvent::Connected) => {
                        self.connected = true;
                        self.in_flight = None;
                        self.send().await;
                    }
                    Some(SessionEvent::Disconnected) => self.connected = false,
                    Some(SessionEvent::Ack(ack)) => self.on_ack(ack).await,
                    None => return,
                },
                () = timer::sleep_until(resend_at) => self.send().await,
            }
        }
    }

    async fn on_ack(&mut self, ack: CountsAck) {
        let log = self.log.clone();
        let removed = tokio::task::spawn_blocking(move || {
            let mut log = log.lock().expect("not poisoned");
            let removed = log.acknowledge(&ack.seqs);
            let renumbered = match ack.next_seq {
                Some(next) if !ack.conflicts.is_empty() => log.renumber(&ack.conflicts, next),
                _ => Ok(Vec::new()),
            };
            let pending: HashSet<u64> = log.pending().iter().map(|r| r.seq).collect();
            (removed, renumbered, pending)
        })
        .await;
        let Ok((removed, renumbered, pending)) = removed else {
            return;
        };
        match removed {
            Ok(n) => {
                debug!(removed = n, "counts acknowledged");
                self.summary.acknowledged(n as u64);
            }
            Err(e) => warn!(%e, "cannot update the counts log"),
        }
        match renumbered {
            Ok(moved) if moved.is_empty() => {}
            Ok(moved) => warn!(
                ?moved,
                "the controller holds these counts sequence numbers for other periods (this \
                 device counted from an old number); numbered again and re-sent"
            ),
            Err(e) => warn!(%e, "cannot number counts records again; they stay unsent"),
        }
        if self
            .in_flight
            .as_ref()
            .is_some_and(|(seqs, _)| seqs.iter().all(|s| !pending.contains(s)))
        {
            self.in_flight = None;
            self.send().await;
        }
    }

    /// Sends the oldest unacknowledged records, one batch at a time.
    async fn send(&mut self) {
        if !self.connected {
            return;
        }
        let batch = self.log.lock().expect("not poisoned").next_batch();
        let Some(batch) = batch else {
            self.in_flight = None;
            return;
        };
        let seqs: Vec<u64> = batch.records.iter().map(|r| r.seq).collect();
        self.in_flight = Some((seqs, Instant::now()));
        if let Err(e) =
            mqtt_link::publish(&self.client, &self.topic, protocol::encode(&batch)).await
        {
            warn!(%e, "cannot send counts");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use content::protocol::LineTally;
    use std::io::Write;

    fn period(inbound: u64) -> Period {
        Period {
            start: Utc::now(),
            end: Utc::now(),
            frames: 150,
            lines: [(
                "door".to_string(),
                LineTally {
                    inbound,
                    outbound: 0,
                },
            )]
            .into(),
            zones: Default::default(),
        }
    }

    /// A log in a fresh directory holding the periods `0..n`.
    fn log_with(n: u64) -> (tempfile::TempDir, CountsLog) {
        let dir = tempfile::tempdir().unwrap();
        let mut log = CountsLog::open(dir.path()).unwrap();
        for n in 0..n {
            log.append(period(n)).unwrap();
        }
        (dir, log)
    }

    #[test]
    fn records_survive_reopening_until_acknowledged_and_seqs_never_repeat() {
        let (dir, _) = log_with(3);
        // A torn line at the end is skipped, not fatal.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join(LOG_FILE))
            .unwrap();
        f.write_all(b"{\"seq\":4,\"sta").unwrap();
        let mut log = CountsLog::open(dir.path()).unwrap();
        let seqs: Vec<u64> = log.pending().iter().map(|r| r.seq).collect();
        assert_eq!(seqs, [1, 2, 3]);
        // The torn line is gone, so the next record is not glued to it.
        log.append(period(5)).unwrap();
        let log2 = CountsLog::open(dir.path()).unwrap();
        assert_eq!(log2.pending().len(), 4);
        assert_eq!(log.acknowledge(&[4]).unwrap(), 1);
        assert_eq!(log.acknowledge(&[1, 3, 99]).unwrap(), 2);
        // Everything acknowledged: the next number still follows the last one used.
        assert_eq!(log.acknowledge(&[2]).unwrap(), 1);
        let mut log = CountsLog::open(dir.path()).unwrap();
        assert!(log.pending().is_empty());
        assert_eq!(log.append(period(7)).unwrap().seq, 5);
        let log = CountsLog::open(dir.path()).unwrap();
        assert_eq!(
            log.next_batch().unwrap().records[0].lines["door"].inbound,
            7
        );
    }

    /// A wiped device counts from 1 again; the controller names the numbers it holds for other
    /// periods, and those records get fresh numbers (kept across a restart), never one in use.
    #[test]
    fn conflicting_records_are_numbered_again_from_the_controllers_next_seq() {
        let (dir, mut log) = log_with(3);
        assert_eq!(
            log.renumber(&[7], 100).unwrap(),
            [],
            "nothing pending by that number"
        );
        let moved = log.renumber(&[1, 3], 40).unwrap();
        assert_eq!(moved, [(1, 40), (3, 41)]);
        let mut log = CountsLog::open(dir.path()).unwrap();
        let pending: Vec<(u64, u64)> = log
            .pending()
            .iter()
            .map(|r| (r.seq, r.lines["door"].inbound))
            .collect();
        assert_eq!(
            pending,
            [(40, 0), (2, 1), (41, 2)],
            "same periods, same order"
        );
        assert_eq!(log.append(period(9)).unwrap().seq, 42);
        // A hint below the log's own next number never reuses one.
        let moved = log.renumber(&[2], 5).unwrap();
        assert_eq!(moved, [(2, 43)]);
        assert!(log.renumber(&[40], u64::MAX).is_err(), "no overflow");
        let seqs: Vec<u64> = CountsLog::open(dir.path())
            .unwrap()
            .pending()
            .iter()
            .map(|r| r.seq)
            .collect();
        assert_eq!(seqs, [40, 43, 41, 42]);
    }

    #[test]
    fn batches_respect_the_record_limit() {
        let (_dir, log) = log_with(MAX_COUNTS_PER_BATCH as u64 + 5);
        let batch = log.next_batch().unwrap();
        assert_eq!(batch.records.len(), MAX_COUNTS_PER_BATCH);
        assert_eq!(batch.records[0].seq, 1);
        assert!(batch.check().is_ok());
    }
}

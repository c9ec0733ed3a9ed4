//! The proof-of-play log: an append-only file of JSON lines in the cache directory, each line
//! fsynced before the play counts as logged. Records leave the file only when the controller
//! acknowledged storing them, so plays survive crashes, restarts and hours offline.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use content::protocol::PlayRecord;
use tokio::sync::Notify;

use crate::journal::Journal;

const FILE: &str = "plays.jsonl";

pub struct PlayLog {
    journal: Journal<PlayRecord>,
    /// Told of every play logged, so the sender needs no timer while nothing happens.
    added: Arc<Notify>,
}

impl PlayLog {
    pub fn open(cache_dir: &Path) -> std::io::Result<PlayLog> {
        Ok(PlayLog {
            journal: Journal::open(cache_dir.join(FILE))?,
            added: Arc::default(),
        })
    }

    pub fn append(&mut self, record: PlayRecord) -> std::io::Result<()> {
        self.journal.append(record)?;
        self.added.notify_one();
        Ok(())
    }

    /// Wakes (one waiter, or the next one to wait) after each play logged.
    pub fn added(&self) -> Arc<Notify> {
        self.added.clone()
    }

    pub fn pending(&self) -> &[PlayRecord] {
        self.journal.pending()
    }

    /// Drops acknowledged records.
    pub fn acknowledge(&mut self, ids: &[String]) -> std::io::Result<usize> {
        let ids: HashSet<&str> = ids.iter().map(String::as_str).collect();
        self.journal.remove(|r| ids.contains(r.id.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use std::io::Write;

    fn record(id: &str) -> PlayRecord {
        PlayRecord {
            id: id.into(),
            layout: "l".into(),
            zone: "z".into(),
            playlist: "p".into(),
            item: 0,
            asset: "a".into(),
            entry: None,
            start: Utc::now(),
            end: Utc::now(),
        }
    }

    #[test]
    fn each_logged_play_wakes_the_sender_and_a_refused_one_does_not() {
        use std::task::{Context, Waker};
        // Polled once: ready only if a wake-up is waiting.
        let woken = |added: &Notify| {
            let notified = std::pin::pin!(added.notified());
            notified
                .poll(&mut Context::from_waker(Waker::noop()))
                .is_ready()
        };
        let dir = tempfile::tempdir().unwrap();
        let mut log = PlayLog::open(dir.path()).unwrap();
        let added = log.added();
        assert!(!woken(&added), "nothing logged yet");
        log.append(record("a")).unwrap();
        assert!(woken(&added), "a logged play wakes the sender");
        assert!(!woken(&added), "one wake-up per play");
        // A play that could not be logged is not there to send.
        std::fs::remove_dir_all(dir.path()).unwrap();
        std::fs::write(dir.path(), b"not a directory").unwrap();
        assert!(log.append(record("b")).is_err());
        assert!(!woken(&added));
        std::fs::remove_file(dir.path()).unwrap();
    }

    #[test]
    fn records_survive_reopening_until_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = PlayLog::open(dir.path()).unwrap();
        for id in ["a", "b", "c"] {
            log.append(record(id)).unwrap();
        }
        // A torn line at the end is skipped, not fatal.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join(FILE))
            .unwrap();
        f.write_all(b"{\"id\":\"d\",\"lay").unwrap();
        let mut log = PlayLog::open(dir.path()).unwrap();
        assert_eq!(log.pending().len(), 3);
        assert_eq!(
            log.acknowledge(&["a".into(), "c".into(), "x".into()])
                .unwrap(),
            2
        );
        let log = PlayLog::open(dir.path()).unwrap();
        let ids: Vec<_> = log.pending().iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["b"]);
    }
}

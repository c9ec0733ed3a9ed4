//! The proof-of-play log: an append-only file of JSON lines in the cache directory, each line
//! fsynced before the play counts as logged. Records leave the file only when the controller
//! acknowledged storing them, so plays survive crashes, restarts and hours offline.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use content::protocol::PlayRecord;

const FILE: &str = "plays.jsonl";

pub struct PlayLog {
    path: PathBuf,
    pending: Vec<PlayRecord>,
}

impl PlayLog {
    /// Loads unacknowledged records. A torn last line (power cut mid-write) is skipped.
    pub fn open(cache_dir: &Path) -> std::io::Result<PlayLog> {
        let path = cache_dir.join(FILE);
        let pending = match std::fs::read_to_string(&path) {
            Ok(text) => text
                .lines()
                .filter_map(|line| match serde_json::from_str(line) {
                    Ok(record) => Some(record),
                    Err(e) => {
                        tracing::warn!(%e, "skipping an unreadable proof-of-play line");
                        None
                    }
                })
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        Ok(PlayLog { path, pending })
    }

    pub fn append(&mut self, record: PlayRecord) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(&record).expect("records serialise");
        line.push(b'\n');
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        file.write_all(&line)?;
        file.sync_data()?;
        self.pending.push(record);
        Ok(())
    }

    pub fn pending(&self) -> &[PlayRecord] {
        &self.pending
    }

    /// Drops acknowledged records, rewriting the file atomically.
    pub fn acknowledge(&mut self, ids: &[String]) -> std::io::Result<usize> {
        let ids: HashSet<&str> = ids.iter().map(String::as_str).collect();
        let before = self.pending.len();
        self.pending.retain(|r| !ids.contains(r.id.as_str()));
        let removed = before - self.pending.len();
        if removed == 0 {
            return Ok(0);
        }
        let tmp = self.path.with_extension("tmp");
        {
            let mut file = std::fs::File::create(&tmp)?;
            for record in &self.pending {
                let mut line = serde_json::to_vec(record).expect("records serialise");
                line.push(b'\n');
                file.write_all(&line)?;
            }
            file.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

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

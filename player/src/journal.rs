//! A durable queue of records on their way to the controller: JSON lines in one file, each
//! fsynced before it counts as logged, removed only once the controller acknowledged them.
//! Proof of play and people counts both travel this way, so they survive crashes, restarts and
//! hours offline.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::warn;

pub struct Journal<T> {
    path: PathBuf,
    pending: Vec<T>,
}

/// Writes a file so readers never see it half-written: a temporary file, fsync, then a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

fn line<T: Serialize>(record: &T) -> Vec<u8> {
    let mut line = serde_json::to_vec(record).expect("records serialise");
    line.push(b'\n');
    line
}

impl<T: Serialize + DeserializeOwned> Journal<T> {
    /// Loads the records not acknowledged yet. A torn last line (power cut mid-write) or an
    /// unreadable one is skipped, and the file is rewritten without it: otherwise the next
    /// record would be appended to the torn line and lost with it.
    pub fn open(path: PathBuf) -> std::io::Result<Journal<T>> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut damaged = false;
        let pending = match std::fs::read_to_string(&path) {
            Ok(text) => {
                damaged = !text.is_empty() && !text.ends_with('\n');
                text.lines()
                    .filter(|l| !l.trim().is_empty())
                    .filter_map(|l| match serde_json::from_str(l) {
                        Ok(record) => Some(record),
                        Err(e) => {
                            warn!(path = %path.display(), %e, "skipping an unreadable journal line");
                            damaged = true;
                            None
                        }
                    })
                    .collect()
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        let journal = Journal { path, pending };
        if damaged {
            journal.rewrite()?;
        }
        Ok(journal)
    }

    fn rewrite(&self) -> std::io::Result<()> {
        let bytes: Vec<u8> = self.pending.iter().flat_map(line).collect();
        write_atomically(&self.path, &bytes)
    }

    /// Logs a record durably (appended and fsynced) before returning.
    pub fn append(&mut self, record: T) -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        file.write_all(&line(&record))?;
        file.sync_data()?;
        self.pending.push(record);
        Ok(())
    }

    pub fn pending(&self) -> &[T] {
        &self.pending
    }

    /// Changes records in place (`change` says whether it changed one), rewriting the file
    /// atomically if any did; returns how many.
    pub fn update(&mut self, mut change: impl FnMut(&mut T) -> bool) -> std::io::Result<usize> {
        let changed = self
            .pending
            .iter_mut()
            .map(&mut change)
            .filter(|c| *c)
            .count();
        if changed > 0 {
            self.rewrite()?;
        }
        Ok(changed)
    }

    /// Drops the acknowledged records, rewriting the file atomically; returns how many.
    pub fn remove(&mut self, acknowledged: impl Fn(&T) -> bool) -> std::io::Result<usize> {
        let before = self.pending.len();
        self.pending.retain(|r| !acknowledged(r));
        let removed = before - self.pending.len();
        if removed > 0 {
            self.rewrite()?;
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_reopening_and_a_torn_line_is_dropped_not_glued() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut j: Journal<u32> = Journal::open(path.clone()).unwrap();
        for n in [1, 2, 3] {
            j.append(n).unwrap();
        }
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"4x")
            .unwrap();
        let mut j: Journal<u32> = Journal::open(path.clone()).unwrap();
        assert_eq!(j.pending(), [1, 2, 3]);
        j.append(5).unwrap();
        assert_eq!(j.remove(|n| *n == 2 || *n == 9).unwrap(), 1);
        let mut j: Journal<u32> = Journal::open(path.clone()).unwrap();
        assert_eq!(j.pending(), [1, 3, 5]);
        let tenfold = |n: &mut u32| {
            let odd = *n % 2 == 1 && *n > 1;
            if odd {
                *n *= 10;
            }
            odd
        };
        assert_eq!(j.update(tenfold).unwrap(), 2);
        let j: Journal<u32> = Journal::open(path).unwrap();
        assert_eq!(j.pending(), [1, 30, 50]);
    }
}

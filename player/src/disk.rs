//! The player's background file writer: one thread per process, at the lowest CPU priority,
//! for the files that record what already happened (`alerts.json`, `now.json`).
//!
//! Why a thread of its own, and why at nice 19: creating and renaming files costs kernel CPU
//! (ext4 allocates an inode per replacement). Done on the async workers it delayed the
//! alert acknowledgements of every other task; done on the blocking pool it started a thread
//! per write. Here it only takes CPU the screen and the acknowledgements leave over, and it
//! still gets its share when the machine is busy for long (nice 19 is a small share, never
//! none). A process runs one player, or a thousand in the `alert-fanout` benchmark.
//!
//! Writes to the same path are coalesced: a write queued before an older one for the same
//! path started replaces it (everyone waiting on either gets the result of the newer one), so
//! an older state never lands after a newer one.

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::mpsc;

use tokio::sync::oneshot;
use tracing::warn;

use crate::journal::write_atomically;

/// How a write must land.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Durability {
    /// Replaced atomically and fsynced before the waiter hears back.
    Synced,
    /// Replaced atomically; the page cache is enough (a status file).
    Cached,
    /// Writes nothing: answered once everything queued before it is written.
    Barrier,
}

/// What a job writes, made on the disk thread: serialising there keeps it off the async
/// workers too, and a state replaced before its turn is never serialised at all.
type Contents = Box<dyn FnOnce() -> Vec<u8> + Send>;

struct Job {
    path: PathBuf,
    contents: Contents,
    durability: Durability,
    done: Option<oneshot::Sender<io::Result<()>>>,
}

/// Replaces `path` with what `contents` makes, atomically and fsynced, on the disk thread;
/// resolves when the file is on disk (or with why not).
pub async fn replace_synced(
    path: PathBuf,
    contents: impl FnOnce() -> Vec<u8> + Send + 'static,
) -> io::Result<()> {
    let (done, result) = oneshot::channel();
    queue(Job {
        path,
        contents: Box::new(contents),
        durability: Durability::Synced,
        done: Some(done),
    })?;
    result
        .await
        .unwrap_or_else(|_| Err(io::Error::other("the player's disk thread stopped")))
}

/// Replaces `path` with what `contents` makes, atomically, soon, without waiting; a failure
/// is logged.
pub fn replace_soon(path: PathBuf, contents: impl FnOnce() -> Vec<u8> + Send + 'static) {
    if let Err(e) = queue(Job {
        path,
        contents: Box::new(contents),
        durability: Durability::Cached,
        done: None,
    }) {
        warn!(%e, "cannot queue a file write");
    }
}

/// Resolves once every write queued before it has landed (a clean shutdown waits for it).
pub async fn flush() {
    let (done, result) = oneshot::channel();
    let barrier = Job {
        path: PathBuf::new(),
        contents: Box::new(Vec::new),
        durability: Durability::Barrier,
        done: Some(done),
    };
    if queue(barrier).is_ok() {
        let _ = result.await;
    }
}

fn queue(job: Job) -> io::Result<()> {
    static DISK: OnceLock<mpsc::Sender<Job>> = OnceLock::new();
    DISK.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        let spawned = std::thread::Builder::new()
            .name("player-disk".into())
            .spawn(move || run(rx));
        if let Err(e) = spawned {
            warn!(%e, "cannot start the player's disk thread");
        }
        tx
    })
    .send(job)
    .map_err(|_| io::Error::other("the player's disk thread is not running"))
}

fn run(inbox: mpsc::Receiver<Job>) {
    lower_priority();
    while let Ok(first) = inbox.recv() {
        let mut batch = Batch::default();
        batch.add(first);
        while let Ok(more) = inbox.try_recv() {
            batch.add(more);
        }
        for (job, waiters) in batch.jobs {
            let written = match job.durability {
                Durability::Synced => write_atomically(&job.path, &(job.contents)()),
                Durability::Cached => replace_cached(&job.path, &(job.contents)()),
                Durability::Barrier => Ok(()),
            };
            if let Err(e) = &written
                && waiters.is_empty()
            {
                warn!(path = %job.path.display(), %e, "cannot write a file");
            }
            for waiter in waiters {
                let _ = waiter.send(
                    written
                        .as_ref()
                        .map(|_| ())
                        .map_err(|e| io::Error::new(e.kind(), e.to_string())),
                );
            }
        }
    }
}

/// The jobs taken from the queue in one go, one per path, in the order paths first came.
#[derive(Default)]
struct Batch {
    jobs: Vec<(Job, Vec<oneshot::Sender<io::Result<()>>>)>,
    index: HashMap<PathBuf, usize>,
}

impl Batch {
    fn add(&mut self, mut job: Job) {
        let waiter = job.done.take();
        if job.durability == Durability::Barrier {
            // Never merged: it comes after everything gathered before it.
            self.jobs.push((job, waiter.into_iter().collect()));
            return;
        }
        match self.index.get(&job.path) {
            Some(&i) => {
                let (held, waiters) = &mut self.jobs[i];
                // The newer state wins; it is synced if either asked for it.
                if held.durability == Durability::Synced {
                    job.durability = Durability::Synced;
                }
                *held = job;
                waiters.extend(waiter);
            }
            None => {
                self.index.insert(job.path.clone(), self.jobs.len());
                self.jobs.push((job, waiter.into_iter().collect()));
            }
        }
    }
}

fn replace_cached(path: &std::path::Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Nice 19 for this thread only (on Linux the nice value is per thread).
fn lower_priority() {
    // SAFETY: plain syscalls on the calling thread's own id; no memory is shared.
    let failed = unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 19) != 0
    };
    if failed {
        warn!(e = %io::Error::last_os_error(), "cannot lower the disk thread's priority");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(
        path: &str,
        bytes: &'static str,
        durability: Durability,
    ) -> (Job, oneshot::Receiver<io::Result<()>>) {
        let (done, rx) = oneshot::channel();
        (
            Job {
                path: PathBuf::from(path),
                contents: Box::new(move || bytes.as_bytes().to_vec()),
                durability,
                done: Some(done),
            },
            rx,
        )
    }

    #[test]
    fn a_batch_keeps_the_newest_state_per_path_in_first_seen_order() {
        let mut batch = Batch::default();
        let (a1, _r1) = job("a", "old", Durability::Synced);
        let (b, _r2) = job("b", "b", Durability::Cached);
        let (a2, _r3) = job("a", "new", Durability::Cached);
        batch.add(a1);
        batch.add(b);
        batch.add(a2);
        let jobs: Vec<_> = batch
            .jobs
            .into_iter()
            .map(|(j, w)| {
                (
                    j.path.to_str().unwrap().to_string(),
                    String::from_utf8((j.contents)()).unwrap(),
                    j.durability,
                    w.len(),
                )
            })
            .collect();
        assert_eq!(
            jobs,
            vec![
                ("a".into(), "new".into(), Durability::Synced, 2),
                ("b".into(), "b".into(), Durability::Cached, 1)
            ]
        );
    }

    #[tokio::test]
    async fn writes_land_and_a_failure_reaches_the_waiter() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        replace_synced(path.clone(), || b"1".to_vec())
            .await
            .unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"1");
        let missing = dir.path().join("no-such-dir").join("x.json");
        let err = replace_synced(missing, || b"2".to_vec()).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[tokio::test]
    async fn a_status_write_lands_soon() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("now.json");
        replace_soon(path.clone(), || b"{}".to_vec());
        flush().await;
        assert_eq!(std::fs::read(&path).unwrap(), b"{}");
    }
}

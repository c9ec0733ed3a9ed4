//! Gathering what arrives close together into one database transaction.
//!
//! A thousand players answering an alert within a few hundred milliseconds would otherwise
//! cost a transaction (and an fsync) for every handful that happened to be queued, and that
//! disk work takes the CPU the broker needs to pass the remaining answers on.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::mpsc::{self, Receiver, error::TrySendError};
use tracing::warn;

/// The sending side of a bounded queue that never waits: what does not fit is dropped, logged
/// (the first time, then at every power of two) and counted. Players can send faster than the
/// database writes; their messages must not pile up without bound.
pub struct Queue<T> {
    tx: mpsc::Sender<T>,
    what: &'static str,
    dropped: Arc<AtomicU64>,
}

impl<T: Send + 'static> Queue<T> {
    /// A queue of `capacity` items, visible in `/metrics` as `what` while it exists.
    pub fn new(capacity: usize, what: &'static str) -> (Queue<T>, Receiver<T>) {
        let (tx, rx) = mpsc::channel(capacity);
        let dropped = Arc::new(AtomicU64::new(0));
        let weak = tx.downgrade();
        crate::metrics::METRICS.register_queue(
            what,
            move || {
                weak.upgrade()
                    .map(|tx| (tx.max_capacity() - tx.capacity(), tx.max_capacity()))
            },
            dropped.clone(),
        );
        let queue = Queue { tx, what, dropped };
        (queue, rx)
    }
}

impl<T> Queue<T> {
    pub fn offer(&self, item: T) {
        if let Err(TrySendError::Full(_)) = self.tx.try_send(item) {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                warn!(
                    queue = self.what,
                    dropped, "queue full; dropped (players repeat what matters)"
                );
            }
        }
    }

    /// How many items did not fit so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Waits for one item, then takes whatever else arrives within `window` after it, up to `max`
/// items in all. `None` once the channel is closed and empty.
pub async fn batch<T>(inbox: &mut Receiver<T>, max: usize, window: Duration) -> Option<Vec<T>> {
    let first = inbox.recv().await?;
    let mut batch = vec![first];
    let deadline = tokio::time::Instant::now() + window;
    while batch.len() < max {
        let room = max - batch.len();
        tokio::select! {
            n = inbox.recv_many(&mut batch, room) => if n == 0 { break },
            () = tokio::time::sleep_until(deadline) => break,
        }
    }
    Some(batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: Duration = Duration::from_secs(3600);

    #[tokio::test]
    async fn takes_what_waits_up_to_max_then_what_comes_until_the_channel_closes() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(10);
        for n in 0..5 {
            tx.send(n).await.unwrap();
        }
        assert_eq!(batch(&mut rx, 3, LONG).await, Some(vec![0, 1, 2]));
        let sender = tokio::spawn(async move {
            tokio::task::yield_now().await;
            tx.send(5).await.unwrap();
        });
        assert_eq!(batch(&mut rx, 10, LONG).await, Some(vec![3, 4, 5]));
        sender.await.unwrap();
        assert_eq!(batch(&mut rx, 10, LONG).await, None);
    }

    #[tokio::test]
    async fn a_spent_window_returns_what_is_there_without_waiting_for_more() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(1);
        tx.send("a").await.unwrap();
        // The sender stays open: only the window can end this batch.
        assert_eq!(batch(&mut rx, 10, Duration::ZERO).await, Some(vec!["a"]));
        drop(tx);
    }

    #[tokio::test]
    async fn a_full_queue_drops_and_counts_instead_of_growing() {
        let (queue, mut rx) = Queue::new(2, "test");
        for n in 0..5 {
            queue.offer(n);
        }
        assert_eq!(queue.dropped(), 3);
        assert_eq!(batch(&mut rx, 10, Duration::ZERO).await, Some(vec![0, 1]));
        queue.offer(9);
        assert_eq!(batch(&mut rx, 10, Duration::ZERO).await, Some(vec![9]));
    }
}

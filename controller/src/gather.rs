//! Gathering what arrives close together into one database transaction.
//!
//! A thousand players answering an alert within a few hundred milliseconds would otherwise
//! cost a transaction (and an fsync) for every handful that happened to be queued, and that
//! disk work takes the CPU the broker needs to pass the remaining answers on.

use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;

/// Waits for one item, then takes whatever else arrives within `window` after it, up to `max`
/// items in all. `None` once the channel is closed and empty.
pub async fn batch<T>(
    inbox: &mut UnboundedReceiver<T>,
    max: usize,
    window: Duration,
) -> Option<Vec<T>> {
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
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for n in 0..5 {
            tx.send(n).unwrap();
        }
        assert_eq!(batch(&mut rx, 3, LONG).await, Some(vec![0, 1, 2]));
        let sender = tokio::spawn(async move {
            tokio::task::yield_now().await;
            tx.send(5).unwrap();
        });
        assert_eq!(batch(&mut rx, 10, LONG).await, Some(vec![3, 4, 5]));
        sender.await.unwrap();
        assert_eq!(batch(&mut rx, 10, LONG).await, None);
    }

    #[tokio::test]
    async fn a_spent_window_returns_what_is_there_without_waiting_for_more() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        tx.send("a").unwrap();
        // The sender stays open: only the window can end this batch.
        assert_eq!(batch(&mut rx, 10, Duration::ZERO).await, Some(vec!["a"]));
        drop(tx);
    }
}

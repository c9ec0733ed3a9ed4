//! The timers the player's event loops share: when a batch the controller has not acknowledged
//! is sent again (proof-of-play in the session, counts in their task follow one rule), and an
//! optional deadline for a `select!` arm.

use std::time::Duration;

use tokio::time::Instant;

/// A batch not acknowledged within this time is sent again (the same records).
pub const RESEND_AFTER: Duration = Duration::from_secs(10);

/// When the batch sent at `sent` is due again: only while connected, as a connection sends
/// what is pending anyway, so a disconnected player neither wakes for it nor spins.
pub fn resend_due(sent: Option<Instant>, connected: bool) -> Option<Instant> {
    sent.filter(|_| connected).map(|sent| sent + RESEND_AFTER)
}

/// Sleeps until `deadline`; without one, for ever (the `select!` arm then never fires).
pub async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Counts events and says how many once a minute at most, instead of a log line per event
/// (a counting player records a period every few seconds).
pub struct Minutely {
    what: &'static str,
    recorded: u64,
    acknowledged: u64,
    since: std::time::Instant,
}

impl Minutely {
    pub fn new(what: &'static str) -> Minutely {
        Minutely {
            what,
            recorded: 0,
            acknowledged: 0,
            since: std::time::Instant::now(),
        }
    }

    pub fn recorded(&mut self, n: u64) {
        self.recorded += n;
        self.maybe_say();
    }

    pub fn acknowledged(&mut self, n: u64) {
        self.acknowledged += n;
        self.maybe_say();
    }

    fn maybe_say(&mut self) {
        if self.since.elapsed() < Duration::from_secs(60) {
            return;
        }
        let seconds = self.since.elapsed().as_secs();
        if self.recorded == 0 {
            tracing::info!(
                acknowledged = self.acknowledged,
                seconds,
                "{} acknowledged",
                self.what
            );
        } else {
            tracing::info!(
                recorded = self.recorded,
                acknowledged = self.acknowledged,
                seconds,
                "{} recorded and acknowledged",
                self.what
            );
        }
        *self = Minutely::new(self.what);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_due_again_only_while_connected() {
        let sent = Instant::now();
        assert_eq!(resend_due(Some(sent), true), Some(sent + RESEND_AFTER));
        assert_eq!(resend_due(Some(sent), false), None);
        assert_eq!(resend_due(None, true), None);
    }
}

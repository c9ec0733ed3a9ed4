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

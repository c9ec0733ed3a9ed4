//! The player's clock. Normally the system clock; for tests and drills it can start at a
//! chosen instant (`fake_now`) and run on from there at real speed, so an offline test can
//! reach "tomorrow" without waiting a day. Everything time-dependent in the player (the
//! selection, proof-of-play times, reports) reads this clock.

use chrono::{DateTime, TimeDelta, Utc};

#[derive(Debug, Clone, Copy, Default)]
pub struct Clock {
    offset: TimeDelta,
}

impl Clock {
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock that reads `start` now and advances in real time.
    pub fn starting_at(start: DateTime<Utc>) -> Clock {
        Clock {
            offset: start - Utc::now(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset
    }

    pub fn offset(&self) -> TimeDelta {
        self.offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_started_clock_runs_from_its_start() {
        let start: DateTime<Utc> = "2030-01-01T00:00:00Z".parse().unwrap();
        let clock = Clock::starting_at(start);
        let read = clock.now();
        assert!(
            read >= start && read - start < TimeDelta::minutes(1),
            "{read}"
        );
        assert!((Clock::system().now() - Utc::now()).abs() < TimeDelta::minutes(1));
    }
}

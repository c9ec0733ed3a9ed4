//! People flow per minute: line crossings bucketed by the minute they were counted in.
//!
//! Timestamps are seconds since a fixed epoch. With Unix time, buckets align with wall-clock
//! minutes in any whole-hour time zone such as Asia/Tokyo.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::line_counter::{LineCounts, LineCrossing};

/// The minute containing `t`: `floor(t / 60)`, so minute `m` covers `[60 m, 60 (m + 1))`.
pub fn minute_of(t: f64) -> i64 {
    (t / 60.0).floor() as i64
}

/// Crossings of one line per minute; minutes without crossings are absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MinuteFlow {
    minutes: BTreeMap<i64, LineCounts>,
}

impl MinuteFlow {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn record(&mut self, crossing: &LineCrossing) {
        self.minutes
            .entry(minute_of(crossing.t))
            .or_default()
            .record(crossing.direction);
    }

    /// `(minute, counts)` in chronological order.
    pub fn minutes(&self) -> impl Iterator<Item = (i64, LineCounts)> + '_ {
        self.minutes.iter().map(|(&m, &c)| (m, c))
    }

    /// Removes and returns the minutes that ended at or before `now`: they can no longer
    /// change, so the player can publish them once and forget them.
    pub fn take_closed(&mut self, now: f64) -> Vec<(i64, LineCounts)> {
        let open = self.minutes.split_off(&minute_of(now));
        std::mem::replace(&mut self.minutes, open)
            .into_iter()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line_counter::Direction;
    use crate::tracker::TrackId;

    fn crossing(t: f64, direction: Direction) -> LineCrossing {
        LineCrossing {
            track: TrackId(1),
            direction,
            t,
        }
    }

    #[test]
    fn minute_boundaries() {
        let cases = [
            (0.0, 0),
            (59.999, 0),
            (60.0, 1),
            (119.0, 1),
            (-0.5, -1),
            (3600.0, 60),
        ];
        for (t, minute) in cases {
            assert_eq!(minute_of(t), minute, "t = {t}");
        }
    }

    #[test]
    fn crossings_are_bucketed_and_closed_minutes_taken_once() {
        let mut flow = MinuteFlow::new();
        for (t, d) in [
            (1.0, Direction::In),
            (59.0, Direction::Out),
            (59.5, Direction::In),
            (60.0, Direction::In),
            (185.0, Direction::Out),
        ] {
            flow.record(&crossing(t, d));
        }
        let c = |inbound, outbound| LineCounts { inbound, outbound };
        assert_eq!(
            flow.minutes().collect::<Vec<_>>(),
            [(0, c(2, 1)), (1, c(1, 0)), (3, c(0, 1))]
        );
        // At 120 s minutes 0 and 1 are over; minute 3 is still open.
        assert_eq!(flow.take_closed(120.0), [(0, c(2, 1)), (1, c(1, 0))]);
        assert!(flow.take_closed(120.0).is_empty());
        assert_eq!(flow.minutes().collect::<Vec<_>>(), [(3, c(0, 1))]);
    }
}

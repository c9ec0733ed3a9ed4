//! Render timing for flashing alert borders that never exceeds three flashes in any one second
//! (WCAG 2.3.1 "Three Flashes or Below Threshold"; the Japanese broadcasters' guideline after
//! 1997 likewise limits flashing to at most 3 per second).
//!
//! A flash is a pair of opposing changes (off -> on -> off). A [`FlashPlan`] repeats with a
//! period of at least [`MIN_PERIOD_MS`], so changes of each direction are at least that far
//! apart and any window of 1000 ms holds at most three of each: at most three flashes. The
//! renderer asks [`FlashPlan::is_on`] for the state at a frame's time, or
//! [`FlashPlan::transitions`] for a schedule.

use serde::{Deserialize, Serialize};

pub const MAX_FLASHES_PER_SECOND: u64 = 3;
/// ceil(1000 / 3): with this period the fourth onset falls 1002 ms after the first.
pub const MIN_PERIOD_MS: u64 = 1000_u64.div_ceil(MAX_FLASHES_PER_SECOND);
/// The default: one calm flash a second.
pub const DEFAULT_PERIOD_MS: u64 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlashPlan {
    /// Time from one onset to the next; 0 means steady (never flashes).
    period_ms: u64,
    /// How long the highlight stays on in each period.
    on_ms: u64,
}

impl FlashPlan {
    /// A plan as close to the request as the limit allows: the period is raised to at least
    /// [`MIN_PERIOD_MS`], the on-time kept strictly inside the period.
    pub fn new(requested_period_ms: u64, requested_on_ms: u64) -> Self {
        let period_ms = requested_period_ms.max(MIN_PERIOD_MS);
        let on_ms = requested_on_ms.clamp(1, period_ms - 1);
        FlashPlan { period_ms, on_ms }
    }

    /// The default: one flash a second, half on, half off.
    pub fn calm() -> Self {
        Self::new(DEFAULT_PERIOD_MS, DEFAULT_PERIOD_MS / 2)
    }

    /// A border that stays on and never flashes (for viewers who asked for no motion).
    pub fn steady() -> Self {
        FlashPlan {
            period_ms: 0,
            on_ms: 0,
        }
    }

    pub fn period_ms(&self) -> u64 {
        self.period_ms
    }

    pub fn on_ms(&self) -> u64 {
        self.on_ms
    }

    /// Whether the highlight is on `elapsed_ms` after the alert started.
    pub fn is_on(&self, elapsed_ms: u64) -> bool {
        self.period_ms == 0 || elapsed_ms % self.period_ms < self.on_ms
    }

    /// Every change in `[0, until_ms)`, as (time, state after the change), starting with the
    /// initial state at 0.
    pub fn transitions(&self, until_ms: u64) -> Vec<(u64, bool)> {
        let mut out = vec![(0, true)];
        if self.period_ms == 0 {
            return out;
        }
        let mut start = 0;
        while start < until_ms {
            if start > 0 {
                out.push((start, true));
            }
            if start + self.on_ms < until_ms {
                out.push((start + self.on_ms, false));
            }
            start += self.period_ms;
        }
        out
    }
}

impl Default for FlashPlan {
    fn default() -> Self {
        Self::calm()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The most onsets (off -> on, counting the start) in any 1000 ms window.
    fn max_flashes_per_second(plan: &FlashPlan, until: u64) -> usize {
        let changes = plan.transitions(until);
        let onsets: Vec<u64> = changes
            .iter()
            .filter(|(_, on)| *on)
            .map(|(t, _)| *t)
            .collect();
        onsets
            .iter()
            .map(|start| {
                onsets
                    .iter()
                    .filter(|t| **t >= *start && **t < start + 1000)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn requests_above_three_hertz_are_slowed() {
        for (period, on, expect_period) in [
            (50, 25, 334),
            (333, 100, 334),
            (334, 100, 334),
            (500, 250, 500),
            (2000, 0, 2000),
        ] {
            let plan = FlashPlan::new(period, on);
            assert_eq!(plan.period_ms(), expect_period, "{period}");
            assert!(plan.on_ms() >= 1 && plan.on_ms() < plan.period_ms());
        }
        // An unguarded 333 ms period would fit four onsets (0, 333, 666, 999) in one second.
        assert_eq!(
            max_flashes_per_second(
                &FlashPlan {
                    period_ms: 333,
                    on_ms: 100
                },
                5000
            ),
            4
        );
        assert_eq!(max_flashes_per_second(&FlashPlan::new(333, 100), 5000), 3);
    }

    #[test]
    fn steady_never_changes() {
        let plan = FlashPlan::steady();
        assert_eq!(plan.transitions(10_000), vec![(0, true)]);
        assert!((0..5000).all(|t| plan.is_on(t)));
    }

    proptest! {
        #[test]
        fn never_more_than_three_flashes_in_any_second(period in 0u64..3000, on in 0u64..3000, until in 1u64..20_000) {
            let plan = FlashPlan::new(period, on);
            prop_assert!(max_flashes_per_second(&plan, until) <= 3);
        }

        #[test]
        fn transitions_agree_with_is_on(period in 0u64..1500, on in 0u64..1500, t in 0u64..10_000) {
            let plan = FlashPlan::new(period, on);
            let state = plan.transitions(t + 1).iter().rev().find(|(at, _)| *at <= t).map(|(_, s)| *s).unwrap();
            prop_assert_eq!(state, plan.is_on(t));
        }
    }
}

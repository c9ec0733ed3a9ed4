//! The live audience in front of a screen, as counted by the player's camera, and the
//! conditions schedule entries can place on it. Later issues add more measures (dwell time,
//! queue length); an entry without a condition ignores the audience entirely.

use serde::{Deserialize, Serialize};

use crate::validation::{Problem, ValidationError};

/// What the player currently knows about the people in front of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audience {
    /// People in the player's counting zones now; `None` when nothing counts (no camera, camera
    /// down, or counting not configured).
    #[serde(default)]
    pub occupancy: Option<u32>,
}

/// "Show this while at least `at_least` and fewer than `below` people are present" — inclusive
/// lower, exclusive upper bound, like the date ranges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OccupancyRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below: Option<u32>,
}

impl OccupancyRange {
    /// An unknown occupancy matches no range: content made for a crowd (or for a quiet hall)
    /// must not show on a guess, and the entries without a condition still apply.
    pub fn admits(&self, occupancy: Option<u32>) -> bool {
        occupancy.is_some_and(|people| {
            self.at_least.is_none_or(|min| people >= min)
                && self.below.is_none_or(|max| people < max)
        })
    }

    /// Problems with the range, fields relative to it.
    pub fn problems(&self) -> Vec<ValidationError> {
        match (self.at_least, self.below) {
            (None, None) => vec![ValidationError::new("", Problem::UnboundedOccupancy)],
            (Some(at_least), Some(below)) if at_least >= below => vec![ValidationError::new(
                "below",
                Problem::EmptyOccupancy { at_least, below },
            )],
            _ => vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_inclusive_below_and_exclusive_above() {
        let busy = OccupancyRange {
            at_least: Some(30),
            below: Some(60),
        };
        assert!(!busy.admits(Some(29)));
        assert!(busy.admits(Some(30)));
        assert!(busy.admits(Some(59)));
        assert!(!busy.admits(Some(60)));
        assert!(!busy.admits(None));
        let quiet = OccupancyRange {
            at_least: None,
            below: Some(5),
        };
        assert!(quiet.admits(Some(0)));
        assert!(!quiet.admits(Some(5)));
        assert!(!quiet.admits(None));
    }

    #[test]
    fn empty_and_unbounded_ranges_are_rejected() {
        let empty = OccupancyRange {
            at_least: Some(5),
            below: Some(5),
        };
        assert_eq!(
            empty.problems(),
            [ValidationError::new(
                "below",
                Problem::EmptyOccupancy {
                    at_least: 5,
                    below: 5
                }
            )]
        );
        let unbounded = OccupancyRange {
            at_least: None,
            below: None,
        };
        assert_eq!(unbounded.problems()[0].problem, Problem::UnboundedOccupancy);
    }
}

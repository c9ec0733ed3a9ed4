//! The live audience in front of a screen, as counted by the player's camera, and the
//! conditions schedule entries can place on it.
//!
//! Three measures, all whole numbers so that conditions compare exactly:
//! - `occupancy`: people in the counting zones now;
//! - `inflow_per_min`: people who came in during the last minute;
//! - `dwell_s`: how long, on average, the people present now have been there (0 when nobody is).
//!
//! An entry may put a [`MeasureRange`] on each. An entry without any condition ignores the
//! audience; an entry with conditions applies only while every measure it names is known and
//! in range. An unknown measure (no camera, camera down) matches nothing: content made for a
//! crowd, or for an empty hall, must not show on a guess.
//!
//! Hysteresis: once an entry's conditions hold, each range is widened by its `hysteresis` (a
//! lower bound moves down, never below 1; an upper bound moves up) until they stop holding,
//! so a count dithering around a threshold does not switch the screen back and forth. The
//! state lives in [`crate::selection::AudienceGate`], which the player keeps across ticks.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::validation::{Problem, ValidationError};

/// What the player currently knows about the people in front of it. `None` means unknown
/// (no camera, camera down, or counting not configured).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audience {
    /// People in the player's counting zones now.
    #[serde(default)]
    pub occupancy: Option<u32>,
    /// People who came in during the last minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inflow_per_min: Option<u32>,
    /// Mean time the people present now have spent in the zones, in whole seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dwell_s: Option<u32>,
}

/// One thing an audience condition can measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    Occupancy,
    InflowPerMin,
    DwellS,
}

impl Measure {
    pub const ALL: [Measure; 3] = [Measure::Occupancy, Measure::InflowPerMin, Measure::DwellS];

    /// The field name, as in schedule entries and query strings.
    pub fn name(self) -> &'static str {
        match self {
            Measure::Occupancy => "occupancy",
            Measure::InflowPerMin => "inflow_per_min",
            Measure::DwellS => "dwell_s",
        }
    }

    /// The hysteresis a range gets when it names none: two people, two people a minute, ten
    /// seconds (a dwell threshold is usually a minute or more).
    pub fn default_hysteresis(self) -> u32 {
        match self {
            Measure::Occupancy | Measure::InflowPerMin => 2,
            Measure::DwellS => 10,
        }
    }
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Audience {
    pub fn get(&self, measure: Measure) -> Option<u32> {
        match measure {
            Measure::Occupancy => self.occupancy,
            Measure::InflowPerMin => self.inflow_per_min,
            Measure::DwellS => self.dwell_s,
        }
    }
}

impl fmt::Display for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = Measure::ALL
            .iter()
            .map(|&m| match self.get(m) {
                Some(v) => format!("{m} {v}"),
                None => format!("{m} unknown"),
            })
            .collect();
        f.write_str(&parts.join(", "))
    }
}

/// "While the measure is at least `at_least` and below `below`": inclusive lower, exclusive
/// upper bound, like the date ranges. `hysteresis` widens the range once it holds (see the
/// module documentation); omitted, the measure's default applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeasureRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hysteresis: Option<u32>,
}

/// The name schedule entries have used since occupancy was the only measure.
pub type OccupancyRange = MeasureRange;

impl MeasureRange {
    /// A range without hysteresis override.
    pub fn new(at_least: Option<u32>, below: Option<u32>) -> Self {
        Self {
            at_least,
            below,
            hysteresis: None,
        }
    }

    /// Whether `value` is in the range as written. An unknown value matches no range.
    pub fn admits(&self, value: Option<u32>) -> bool {
        value.is_some_and(|v| self.bounds(0).contains(v))
    }

    /// The bounds widened by `margin`: the lower one down but never below 1 (so "at least
    /// one person" never becomes "always"), the upper one up.
    pub fn bounds(&self, margin: u32) -> Bounds {
        Bounds {
            at_least: self.at_least.map(|min| {
                if min == 0 {
                    0
                } else {
                    min.saturating_sub(margin).max(1)
                }
            }),
            below: self.below.map(|max| max.saturating_add(margin)),
        }
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

/// Concrete bounds, lower inclusive, upper exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub at_least: Option<u32>,
    pub below: Option<u32>,
}

impl Bounds {
    pub fn contains(&self, v: u32) -> bool {
        self.at_least.is_none_or(|min| v >= min) && self.below.is_none_or(|max| v < max)
    }
}

/// One measure found in range, for the reason a selection gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub measure: Measure,
    pub value: u32,
    /// The bounds applied (widened while the condition already held).
    pub bounds: Bounds,
    /// The margin the bounds were widened by (0 when the condition did not hold before).
    pub widened_by: u32,
}

impl fmt::Display for Check {
    /// `occupancy 17 >= 15`, `occupancy 0 < 1`, `dwell_s 90 in 60..300`, and with hysteresis
    /// `occupancy 14 >= 13 (hysteresis 2)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Check { measure, value, .. } = self;
        match (self.bounds.at_least, self.bounds.below) {
            (Some(min), Some(max)) => write!(f, "{measure} {value} in {min}..{max}")?,
            (Some(min), None) => write!(f, "{measure} {value} >= {min}")?,
            (None, Some(max)) => write!(f, "{measure} {value} < {max}")?,
            (None, None) => write!(f, "{measure} {value}")?,
        }
        if self.widened_by > 0 {
            write!(f, " (hysteresis {})", self.widened_by)?;
        }
        Ok(())
    }
}

/// What an entry's audience conditions say about an audience.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every condition holds (an entry without conditions: the list is empty).
    Met(Vec<Check>),
    /// Every measure is known and at least one is out of range.
    NotMet,
    /// A measure the entry depends on is unknown.
    Unknown,
}

/// Checks `conditions` against `audience`. While `holding` (the conditions held at the
/// previous decision), each range is widened by its hysteresis.
pub fn evaluate<'a>(
    conditions: impl IntoIterator<Item = (Measure, &'a MeasureRange)>,
    audience: &Audience,
    holding: bool,
) -> Verdict {
    let mut checks = Vec::new();
    let mut met = true;
    for (measure, range) in conditions {
        let Some(value) = audience.get(measure) else {
            return Verdict::Unknown;
        };
        let margin = if holding {
            range
                .hysteresis
                .unwrap_or_else(|| measure.default_hysteresis())
        } else {
            0
        };
        let bounds = range.bounds(margin);
        if bounds.contains(value) {
            // Report a margin only where it changed the bounds.
            let widened_by = if bounds == range.bounds(0) { 0 } else { margin };
            checks.push(Check {
                measure,
                value,
                bounds,
                widened_by,
            });
        } else {
            met = false;
        }
    }
    if met {
        Verdict::Met(checks)
    } else {
        Verdict::NotMet
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(at_least: Option<u32>, below: Option<u32>) -> MeasureRange {
        MeasureRange::new(at_least, below)
    }

    #[test]
    fn bounds_are_inclusive_below_and_exclusive_above() {
        let busy = range(Some(30), Some(60));
        assert!(!busy.admits(Some(29)));
        assert!(busy.admits(Some(30)));
        assert!(busy.admits(Some(59)));
        assert!(!busy.admits(Some(60)));
        assert!(!busy.admits(None));
        let quiet = range(None, Some(5));
        assert!(quiet.admits(Some(0)));
        assert!(!quiet.admits(Some(5)));
        assert!(!quiet.admits(None));
    }

    #[test]
    fn widening_never_turns_at_least_one_into_always() {
        assert_eq!(range(Some(15), None).bounds(2).at_least, Some(13));
        assert_eq!(range(Some(2), None).bounds(5).at_least, Some(1));
        assert_eq!(range(Some(1), None).bounds(2).at_least, Some(1));
        assert_eq!(range(Some(0), None).bounds(2).at_least, Some(0));
        assert_eq!(range(None, Some(1)).bounds(2).below, Some(3));
        assert_eq!(range(None, Some(u32::MAX)).bounds(2).below, Some(u32::MAX));
    }

    #[test]
    fn evaluation_widens_only_while_holding_and_never_guesses() {
        let crowd = range(Some(15), None);
        let only = |m| [(m, &crowd)];
        let at = |n| Audience {
            occupancy: Some(n),
            ..Audience::default()
        };
        assert_eq!(
            evaluate(only(Measure::Occupancy), &at(14), false),
            Verdict::NotMet
        );
        let Verdict::Met(checks) = evaluate(only(Measure::Occupancy), &at(14), true) else {
            panic!("14 holds a condition that already held at 15");
        };
        assert_eq!(checks[0].to_string(), "occupancy 14 >= 13 (hysteresis 2)");
        let Verdict::Met(checks) = evaluate(only(Measure::Occupancy), &at(17), false) else {
            panic!("17 >= 15");
        };
        assert_eq!(checks[0].to_string(), "occupancy 17 >= 15");
        assert_eq!(
            evaluate(only(Measure::Occupancy), &at(12), true),
            Verdict::NotMet
        );
        // Occupancy is known but the inflow the entry names is not.
        assert_eq!(
            evaluate(only(Measure::InflowPerMin), &at(40), true),
            Verdict::Unknown
        );
        assert_eq!(
            evaluate([], &Audience::default(), false),
            Verdict::Met(vec![])
        );
    }

    #[test]
    fn a_range_names_its_own_hysteresis() {
        let dwell = MeasureRange {
            at_least: Some(60),
            below: Some(300),
            hysteresis: Some(30),
        };
        let audience = Audience {
            dwell_s: Some(320),
            ..Audience::default()
        };
        let Verdict::Met(checks) = evaluate([(Measure::DwellS, &dwell)], &audience, true) else {
            panic!("320 < 330");
        };
        assert_eq!(
            checks[0].to_string(),
            "dwell_s 320 in 30..330 (hysteresis 30)"
        );
    }

    #[test]
    fn empty_and_unbounded_ranges_are_rejected() {
        assert_eq!(
            range(Some(5), Some(5)).problems(),
            [ValidationError::new(
                "below",
                Problem::EmptyOccupancy {
                    at_least: 5,
                    below: 5
                }
            )]
        );
        assert_eq!(
            range(None, None).problems()[0].problem,
            Problem::UnboundedOccupancy
        );
    }

    #[test]
    fn old_occupancy_json_still_reads() {
        let old: Audience = serde_json::from_str(r#"{"occupancy": 3}"#).unwrap();
        assert_eq!(old.inflow_per_min, None);
        let range: OccupancyRange = serde_json::from_str(r#"{"at_least": 30}"#).unwrap();
        assert_eq!(range, MeasureRange::new(Some(30), None));
        assert_eq!(serde_json::to_string(&range).unwrap(), r#"{"at_least":30}"#);
    }
}

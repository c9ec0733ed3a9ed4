//! Schedule entries: which layout plays where and when.
//!
//! Time rules, all in Asia/Tokyo civil time (see [`crate::tokyo`]):
//! - `dates` run from `start` inclusive to `end` exclusive: an entry for December 2026 has
//!   `start 2026-12-01, end 2027-01-01` and stops at 2027-01-01T00:00:00+09:00.
//! - A daypart runs from `start` inclusive to `end` exclusive. If `end` is not after `start`
//!   it crosses midnight and ends on the next day: `22:00-02:00` plays until 02:00, and
//!   `18:00-00:00` plays until midnight. `start == end` is rejected as ambiguous.
//! - An occurrence belongs to the day it starts on: `weekdays` and `dates` are tested against
//!   that day only. A Friday `22:00-02:00` daypart plays into Saturday 02:00 even for an entry
//!   whose dates end on Saturday or that excludes Saturdays.
//! - No dayparts means all day (00:00 to the next midnight).
//! - Each occurrence restarts the layout's playlists from their first item, so every screen
//!   showing the entry is in step.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, Utc, WeekdaySet};
use serde::{Deserialize, Serialize};

use crate::audience::{Measure, MeasureRange, OccupancyRange};
use crate::calendar::{DayKind, WardDays};
use crate::ids::PlayerId;
use crate::ids::{EntryId, GroupId, LayoutId, WardId};
use crate::tokyo;
use crate::validation::{Problem, ValidationError};

/// Who an entry or alert is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Target {
    All,
    Ward(WardId),
    Group(GroupId),
    Player(PlayerId),
}

/// How narrowly a target names a player; on equal priority the narrower entry wins, because
/// staff who schedule one screen mean that screen to differ from its ward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Specificity {
    All,
    Ward,
    Group,
    Player,
}

/// What the selection needs to know about a player to match targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerTarget {
    pub id: PlayerId,
    pub ward: WardId,
    /// A screen may be in several groups (e.g. `lobby-1f` and `counters`).
    #[serde(default)]
    pub groups: Vec<GroupId>,
}

impl Target {
    /// How specifically this target names `player`, or `None` if it does not.
    pub fn specificity_for(&self, player: &PlayerTarget) -> Option<Specificity> {
        match self {
            Target::All => Some(Specificity::All),
            Target::Ward(ward) => (*ward == player.ward).then_some(Specificity::Ward),
            Target::Group(group) => player.groups.contains(group).then_some(Specificity::Group),
            Target::Player(id) => (*id == player.id).then_some(Specificity::Player),
        }
    }
}

/// The most specific of `targets` that names `player`.
pub fn best_match(targets: &[Target], player: &PlayerTarget) -> Option<Specificity> {
    targets
        .iter()
        .filter_map(|target| target.specificity_for(player))
        .max()
}

/// Tokyo calendar dates from `start` inclusive to `end` exclusive; no `end` means open-ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateRange {
    pub start: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<NaiveDate>,
}

impl DateRange {
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.start <= date && self.end.is_none_or(|end| date < end)
    }
}

/// A time-of-day window, start inclusive, end exclusive; crosses midnight when `end <= start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Daypart {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

/// 00:00 to the next 00:00: what an entry without dayparts plays.
const ALL_DAY: &[Daypart] = &[Daypart {
    start: NaiveTime::MIN,
    end: NaiveTime::MIN,
}];

impl Daypart {
    pub fn crosses_midnight(&self) -> bool {
        self.end <= self.start
    }

    /// Offsets from the start day's midnight, the end past 24 h when crossing midnight.
    fn span(&self) -> (TimeDelta, TimeDelta) {
        let start = self.start - NaiveTime::MIN;
        let end = self.end - NaiveTime::MIN;
        let day = TimeDelta::days(1);
        (
            start,
            if self.crosses_midnight() {
                end + day
            } else {
                end
            },
        )
    }

    /// Whether the two windows share an instant on the same day or across a midnight.
    fn overlaps(&self, other: &Daypart) -> bool {
        let (a, b) = (self.span(), other.span());
        let day = TimeDelta::days(1);
        [TimeDelta::zero(), day, -day]
            .iter()
            .any(|&shift| a.0 < b.1 + shift && b.0 + shift < a.1)
    }
}

/// One stretch of time during which an entry is scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Occurrence {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Occurrence {
    pub fn contains(&self, instant: DateTime<Utc>) -> bool {
        self.start <= instant && instant < self.end
    }
}

/// "Show `layout` on `targets` on these dates, weekdays and dayparts, with this priority."
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleEntry {
    pub id: EntryId,
    pub targets: Vec<Target>,
    pub dates: DateRange,
    /// Days of the week an occurrence may start on; all seven when omitted.
    #[serde(default = "every_day", with = "weekday_list")]
    pub weekdays: WeekdaySet,
    /// Empty (with no `named_dayparts`) means all day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dayparts: Vec<Daypart>,
    /// Dayparts by their name in the calendar (開庁時間, 昼休み), timed as the player's ward
    /// times them; played besides `dayparts`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub named_dayparts: Vec<String>,
    /// Only on the player's ward's open days (開庁日) or closed days (閉庁日).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<DayKind>,
    /// Only while the live audience is in this range (people present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occupancy: Option<OccupancyRange>,
    /// Only while this many people a minute come in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inflow_per_min: Option<MeasureRange>,
    /// Only while the people present have stayed this long on average (seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dwell_s: Option<MeasureRange>,
    /// Higher wins.
    #[serde(default)]
    pub priority: i32,
    pub layout: LayoutId,
}

fn every_day() -> WeekdaySet {
    WeekdaySet::ALL
}

/// Weekdays on the wire as a list such as `["Mon", "Tue"]`; `chrono` has no serde for its set.
mod weekday_list {
    use chrono::{Weekday, WeekdaySet};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(days: &WeekdaySet, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(days.iter(Weekday::Mon))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<WeekdaySet, D::Error> {
        Ok(Vec::<Weekday>::deserialize(deserializer)?
            .into_iter()
            .collect())
    }
}

impl ScheduleEntry {
    /// The audience conditions the entry names, in [`Measure::ALL`] order; all must hold.
    pub fn audience_conditions(&self) -> impl Iterator<Item = (Measure, &MeasureRange)> + '_ {
        Measure::ALL.into_iter().filter_map(|measure| {
            let range = match measure {
                Measure::Occupancy => &self.occupancy,
                Measure::InflowPerMin => &self.inflow_per_min,
                Measure::DwellS => &self.dwell_s,
            };
            range.as_ref().map(|r| (measure, r))
        })
    }

    /// Whether the entry depends on the audience at all.
    pub fn has_audience_conditions(&self) -> bool {
        self.audience_conditions().next().is_some()
    }

    /// The occurrence covering `now`, if any. Dayparts of one entry never overlap (see
    /// [`Self::problems`]); should unvalidated ones, the latest-starting occurrence is taken.
    pub fn occurrence_at(&self, now: DateTime<Utc>, days: WardDays) -> Option<Occurrence> {
        let today = tokyo::local_date(now);
        // Yesterday's occurrence may still run if its daypart crosses midnight.
        let yesterday = today.pred_opt().unwrap_or(today);
        self.occurrences_starting_on(yesterday, today, days)
            .filter(|occurrence| occurrence.contains(now))
            .max_by_key(|occurrence| occurrence.start)
    }

    /// The occurrences that share at least an instant with `from..until`, in start order.
    pub fn occurrences_overlapping<'a>(
        &'a self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        days: WardDays<'a>,
    ) -> impl Iterator<Item = Occurrence> + 'a {
        let first = tokyo::local_date(from);
        self.occurrences_starting_on(
            first.pred_opt().unwrap_or(first),
            tokyo::local_date(until),
            days,
        )
        .filter(move |occurrence| occurrence.start < until && from < occurrence.end)
    }

    /// The dayparts the entry plays in `days`' ward: its own and its named ones; all day when
    /// it has none. A name the ward does not know plays nothing.
    fn dayparts_in(&self, days: WardDays) -> Vec<Daypart> {
        if self.dayparts.is_empty() && self.named_dayparts.is_empty() {
            return ALL_DAY.to_vec();
        }
        let mut parts = self.dayparts.clone();
        parts.extend(self.named_dayparts.iter().filter_map(|n| days.daypart(n)));
        parts
    }

    /// Occurrences starting on the Tokyo days `first..=last`.
    fn occurrences_starting_on<'a>(
        &'a self,
        first: NaiveDate,
        last: NaiveDate,
        days: WardDays<'a>,
    ) -> impl Iterator<Item = Occurrence> + 'a {
        let dayparts = self.dayparts_in(days);
        first
            .max(self.dates.start)
            .iter_days()
            .take_while(move |day| *day <= last && self.dates.contains(*day))
            .filter(|day| self.weekdays.contains(day.weekday()))
            .filter(move |day| match self.days {
                None => true,
                Some(DayKind::Open) => days.is_open(*day),
                Some(DayKind::Closed) => !days.is_open(*day),
            })
            .flat_map(move |day| {
                dayparts.clone().into_iter().filter_map(move |part| {
                    let end_day = if part.crosses_midnight() {
                        day.succ_opt()?
                    } else {
                        day
                    };
                    Some(Occurrence {
                        start: tokyo::instant(day, part.start)?,
                        end: tokyo::instant(end_day, part.end)?,
                    })
                })
            })
    }

    /// Problems with the entry alone, fields relative to it. Whether its layout exists is
    /// checked by [`crate::schedule_set::ScheduleSet::new`].
    pub fn problems(&self) -> Vec<ValidationError> {
        let mut problems = Vec::new();
        if self.targets.is_empty() {
            problems.push(ValidationError::new("targets", Problem::NoTargets));
        }
        if let Some(end) = self.dates.end
            && end <= self.dates.start
        {
            let start = self.dates.start;
            problems.push(ValidationError::new(
                "dates.end",
                Problem::EndNotAfterStart { start, end },
            ));
        }
        if self.weekdays.is_empty() {
            problems.push(ValidationError::new("weekdays", Problem::NoWeekdays));
        }
        for (i, part) in self.dayparts.iter().enumerate() {
            let field = format!("dayparts[{i}]");
            if part.start == part.end {
                problems.push(ValidationError::new(
                    field,
                    Problem::ZeroLengthDaypart(part.start),
                ));
            } else if let Some(j) = self.dayparts[..i]
                .iter()
                .position(|earlier| earlier.start != earlier.end && earlier.overlaps(part))
            {
                problems.push(ValidationError::new(field, Problem::DaypartsOverlap(j)));
            }
        }
        for (measure, range) in self.audience_conditions() {
            problems.extend(
                range
                    .problems()
                    .into_iter()
                    .map(|p| p.under(measure.name())),
            );
        }
        problems
    }
}

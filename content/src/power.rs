//! Screen power by schedule: screens in a group are on for a named daypart of their ward's
//! open days (開庁時間 by default), widened by a few minutes either side, and off otherwise,
//! so a lobby screen does not burn all night and over the new-year closure.
//!
//! Rules live in the calendar, so every player holds them with its manifest and switches on
//! time with the controller out of reach. A screen follows the rules of its groups; with none
//! for any of its groups, the rule without a group; with no rule at all it is always on. A
//! screen in several groups is on while any of their rules says so (a street-facing group may
//! keep it on). An alert wakes a screen that is off: selection puts alerts first.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::WardDays;
use crate::ids::GroupId;
use crate::schedule::PlayerTarget;
use crate::tokyo;
use crate::validation::{Problem, ValidationError};

/// The widest margin around the daypart, in minutes.
pub const MAX_MARGIN_MINUTES: u16 = 240;
/// Most rules a calendar holds (one per group, in practice a handful).
pub const MAX_RULES: usize = 200;
/// How far ahead the next switch is looked for: past the longest closure (年末年始 and a
/// weekend around it) with room to spare.
const LOOK_AHEAD_DAYS: u64 = 21;

fn opening_hours() -> String {
    "開庁時間".into()
}

/// When the screens of one group are on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PowerRule {
    /// The group whose screens follow this rule; none: screens whose groups have no rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupId>,
    /// The daypart the screens are on for, by name.
    #[serde(default = "opening_hours")]
    pub daypart: String,
    /// Minutes on before the daypart starts (staff arriving, the first visitors queueing).
    #[serde(default)]
    pub before_minutes: u16,
    /// Minutes on after it ends.
    #[serde(default)]
    pub after_minutes: u16,
    /// Also on closed days (e.g. a window facing the street); by default off.
    #[serde(default)]
    pub closed_days: bool,
}

/// Whether a screen is on by schedule at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    On,
    /// Off until `on_at` (none within the look-ahead: off for weeks, or the daypart is gone).
    Off {
        on_at: Option<DateTime<Utc>>,
    },
}

/// The rules `player` follows, from all of `rules`.
pub fn rules_for<'a>(rules: &'a [PowerRule], player: &PlayerTarget) -> Vec<&'a PowerRule> {
    let own: Vec<&PowerRule> = rules
        .iter()
        .filter(|r| r.group.as_ref().is_some_and(|g| player.groups.contains(g)))
        .collect();
    if own.is_empty() {
        rules.iter().filter(|r| r.group.is_none()).collect()
    } else {
        own
    }
}

/// The on-windows of `rule` for days starting on `first..=last`, in order.
fn windows(
    rule: &PowerRule,
    days: WardDays,
    first: NaiveDate,
    last: NaiveDate,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let Some(part) = days.daypart(&rule.daypart) else {
        return Vec::new();
    };
    first
        .iter_days()
        .take_while(|day| *day <= last)
        .filter(|day| rule.closed_days || days.is_open(*day))
        .filter_map(|day| {
            let start = tokyo::instant(day, part.start)?;
            let end_day = if part.crosses_midnight() {
                day.succ_opt()?
            } else {
                day
            };
            let end = tokyo::instant(end_day, part.end)?;
            Some((
                start - TimeDelta::minutes(rule.before_minutes.into()),
                end + TimeDelta::minutes(rule.after_minutes.into()),
            ))
        })
        .collect()
}

/// All on-windows of `rules` that may matter from `now` on: from the day before (a window
/// crossing midnight, a wide margin) to the look-ahead.
fn all_windows(
    rules: &[&PowerRule],
    days: WardDays,
    now: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let today = tokyo::local_date(now);
    let first = today.pred_opt().unwrap_or(today);
    let last = today
        .checked_add_days(chrono::Days::new(LOOK_AHEAD_DAYS))
        .unwrap_or(today);
    rules
        .iter()
        .flat_map(|rule| windows(rule, days, first, last))
        .collect()
}

/// Whether `rules` (as [`rules_for`] picks them) keep a screen on at `now`.
pub fn power_at(rules: &[&PowerRule], days: WardDays, now: DateTime<Utc>) -> Power {
    if rules.is_empty() {
        return Power::On;
    }
    let windows = all_windows(rules, days, now);
    if windows
        .iter()
        .any(|(start, end)| *start <= now && now < *end)
    {
        return Power::On;
    }
    Power::Off {
        on_at: windows.iter().map(|w| w.0).filter(|s| *s > now).min(),
    }
}

/// The first instant after `now`, before `until`, at which the power may switch.
pub fn next_switch(
    rules: &[&PowerRule],
    days: WardDays,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    all_windows(rules, days, now)
        .into_iter()
        .flat_map(|(start, end)| [start, end])
        .filter(|t| *t > now && *t < until)
        .min()
}

/// Problems with the rules, given whether a daypart name exists; fields are `power[i]...`.
pub fn problems(rules: &[PowerRule], names_daypart: impl Fn(&str) -> bool) -> Vec<ValidationError> {
    let mut problems = Vec::new();
    if rules.len() > MAX_RULES {
        problems.push(ValidationError::new("power", Problem::TooMany(MAX_RULES)));
    }
    for (i, rule) in rules.iter().enumerate() {
        let field = format!("power[{i}]");
        if !names_daypart(&rule.daypart) {
            problems.push(ValidationError::new(
                format!("{field}.daypart"),
                Problem::UnknownDaypart(rule.daypart.clone()),
            ));
        }
        for (name, minutes) in [
            ("before_minutes", rule.before_minutes),
            ("after_minutes", rule.after_minutes),
        ] {
            if minutes > MAX_MARGIN_MINUTES {
                problems.push(ValidationError::new(
                    format!("{field}.{name}"),
                    Problem::MarginTooWide(MAX_MARGIN_MINUTES),
                ));
            }
        }
        if rules[..i].iter().any(|r| r.group == rule.group) {
            problems.push(ValidationError::new(
                format!("{field}.group"),
                Problem::DuplicateId(
                    rule.group
                        .as_ref()
                        .map_or("(every screen)".to_owned(), ToString::to_string),
                ),
            ));
        }
    }
    problems
}

//! Validation problems, each tied to the field that causes it, so the controller can put the
//! message next to the right input and an operator knows what to change.

use std::fmt;

use chrono::{NaiveDate, NaiveTime};

use crate::ids::{Lang, ZoneId};

/// One problem at one field, e.g. `layouts[lobby].zones[ticker].width: ...`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct ValidationError {
    /// Path of the offending field from the object validated, ids in brackets where known.
    pub field: String,
    pub problem: Problem,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, problem: Problem) -> Self {
        Self {
            field: field.into(),
            problem,
        }
    }

    /// The same problem seen from an enclosing object, e.g. `zones[a].x` under `layouts[l]`;
    /// an empty field means the object itself.
    pub fn under(mut self, prefix: &str) -> Self {
        self.field = if self.field.is_empty() {
            prefix.to_owned()
        } else {
            format!("{prefix}.{}", self.field)
        };
        self
    }
}

/// What is wrong, with what to do about it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Problem {
    #[error("duplicate id {0:?}; give each one its own id")]
    DuplicateId(String),
    #[error("no {kind} has id {id:?}; create it first or correct the id")]
    UnknownReference { kind: &'static str, id: String },
    #[error("size_bytes is 0; upload the file again")]
    EmptyFile,
    #[error("add a text in at least one language")]
    NoText,
    #[error("{0:?} is not a language key like ja, en, ja-easy, zh-Hans or ko")]
    BadLanguage(Lang),
    #[error("title and body are both empty; fill in at least one")]
    BlankText,
    #[error(
        "text and background contrast is {ratio:.2}:1, below the 4.5:1 that WCAG AA asks for; \
         choose colours further apart"
    )]
    LowContrast { ratio: f64 },
    #[error("the display window ends before it starts; shown_until must be after shown_from")]
    EmptyWindow,
    #[error("longer than {0} characters; shorten it")]
    TooManyChars(usize),
    #[error("a tag is a short word or phrase (1 to 40 characters)")]
    BadTag,
    #[error("a playlist needs at least one item")]
    EmptyPlaylist,
    #[error("videos play to their natural length; remove duration_ms")]
    DurationOnVideo,
    #[error("the video's natural length is unknown; probe it before putting it in a playlist")]
    UnknownVideoLength,
    #[error(
        "lasts {0} ms; an item must last at least 1000 ms so that no zone changes more than \
         once a second (flash safety, WCAG 2.3.1)"
    )]
    TooShort(u64),
    #[error("lasts {0} ms; an item may last at most one day (86400000 ms)")]
    TooLong(u64),
    #[error("width and height must both be greater than 0")]
    ZeroSize,
    #[error("a layout needs at least one zone")]
    NoZones,
    #[error("the zone reaches {reaches} but the canvas ends at {canvas}; move or shrink the zone")]
    OutsideCanvas { reaches: u64, canvas: u32 },
    #[error(
        "overlaps zone {other} at the same z ({z}); give one of them a different z so the \
         drawing order is defined"
    )]
    OverlapAtSameZ { other: ZoneId, z: i32 },
    #[error("list at least one target; use {{\"kind\":\"all\"}} for every player")]
    NoTargets,
    #[error(
        "end {end} is not after start {start}; the end date is exclusive, so an entry for one \
         day ends on the next day"
    )]
    EndNotAfterStart { start: NaiveDate, end: NaiveDate },
    #[error("select at least one weekday")]
    NoWeekdays,
    #[error("start and end are both {0}; remove the daypart to play all day")]
    ZeroLengthDaypart(NaiveTime),
    #[error("overlaps dayparts[{0}]; merge them or make them adjacent")]
    DaypartsOverlap(usize),
    #[error("set at_least, below or both, or remove the occupancy condition")]
    UnboundedOccupancy,
    #[error("at_least {at_least} is not below {below}: no occupancy could match")]
    EmptyOccupancy { at_least: u32, below: u32 },
    #[error("a daypart's name is 1 to {0} characters")]
    BadName(usize),
    #[error("at most {0} dates; remove past ones")]
    TooMany(usize),
    #[error("no daypart is called {0:?}; define it in the calendar first")]
    UnknownDaypart(String),
    #[error("at most {0} minutes; widen the daypart itself instead")]
    MarginTooWide(u16),
}

/// Every problem found in a schedule set, so the caller can fix them all in one pass.
#[derive(Debug, Clone, PartialEq)]
pub struct InvalidScheduleSet(pub Vec<ValidationError>);

impl fmt::Display for InvalidScheduleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the schedule set has {} problem(s):", self.0.len())?;
        for error in &self.0 {
            write!(f, "\n  {error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for InvalidScheduleSet {}

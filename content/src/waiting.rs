//! 待たない窓口: how crowded a counter area is, in words a visitor reads at a glance, and when
//! to come. Pure: occupancy and history in, bands and hours out.
//!
//! Privacy: a visitor sees a band (空いています / やや混雑 / 混雑), never a count of a few
//! people; a head count is published only when at least `min_people` are present, rounded
//! down to a multiple of 5, so that no individual can be singled out.

use serde::{Deserialize, Serialize};

use crate::schedule::Daypart;

/// How crowded an area is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    /// No fresh count (camera off, player offline, or closed).
    Unknown,
    Quiet,
    Moderate,
    Busy,
}

/// Where the bands change, as shares of an area's usual capacity.
pub const MODERATE_FROM: f64 = 0.3;
pub const BUSY_FROM: f64 = 0.7;

pub fn band(people: Option<f64>, capacity: u32) -> Band {
    let Some(people) = people else {
        return Band::Unknown;
    };
    let share = people / f64::from(capacity.max(1));
    if share >= BUSY_FROM {
        Band::Busy
    } else if share >= MODERATE_FROM {
        Band::Moderate
    } else {
        Band::Quiet
    }
}

/// The head count a visitor may see: `None` below `min_people`, else rounded down to 5.
pub fn published_people(people: u32, min_people: u32) -> Option<u32> {
    (people >= min_people.max(1)).then_some(people / 5 * 5)
}

/// The usual occupancy of one hour of the day (Tokyo), from history.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct UsualHour {
    pub hour: u32,
    pub band: Band,
}

/// What a visitor reads for today: the usual band of each opening hour, the busiest hours
/// and the best hour still ahead.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outlook {
    pub hours: Vec<UsualHour>,
    /// Up to three hours whose usual band is the day's highest above quiet, in time order.
    pub busy_hours: Vec<u32>,
    /// The quietest opening hour from `now_hour` on (the earliest among equals); `None`
    /// when the office is closed for the rest of the day or history is empty.
    pub best_hour: Option<u32>,
}

/// The hours a daypart covers (an hour counts when the office is open at its start).
fn opening_hours(hours: &Daypart) -> Vec<u32> {
    use chrono::Timelike;
    let (start, end) = (hours.start, hours.end);
    (0..24)
        .filter(|h| {
            let at = chrono::NaiveTime::from_hms_opt(*h, 0, 0).expect("valid hour");
            // An office opening at 08:45 serves the 8 o'clock hour too.
            let from = chrono::NaiveTime::from_hms_opt(start.hour(), 0, 0).expect("valid");
            at >= from && at < end
        })
        .collect()
}

/// Today's outlook from the usual occupancy by hour (`usual[h]`, people; `None` without
/// history), the office's hours today (`None`: closed) and the hour now.
pub fn outlook(
    usual: &[Option<f64>; 24],
    capacity: u32,
    hours: Option<&Daypart>,
    now_hour: u32,
) -> Outlook {
    let Some(hours) = hours else {
        return Outlook {
            hours: Vec::new(),
            busy_hours: Vec::new(),
            best_hour: None,
        };
    };
    let open = opening_hours(hours);
    let rows: Vec<(u32, Option<f64>)> = open.iter().map(|&h| (h, usual[h as usize])).collect();
    let hours_out: Vec<UsualHour> = rows
        .iter()
        .map(|&(hour, people)| UsualHour {
            hour,
            band: band(people, capacity),
        })
        .collect();
    let top = hours_out
        .iter()
        .map(|h| h.band)
        .max()
        .unwrap_or(Band::Unknown);
    let mut busy: Vec<(u32, f64)> = if top > Band::Quiet {
        rows.iter()
            .filter(|(_, p)| band(*p, capacity) == top)
            .filter_map(|&(h, p)| Some((h, p?)))
            .collect()
    } else {
        Vec::new()
    };
    busy.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    busy.truncate(3);
    let mut busy_hours: Vec<u32> = busy.into_iter().map(|(h, _)| h).collect();
    busy_hours.sort_unstable();
    let best_hour = rows
        .iter()
        .filter(|(h, _)| *h >= now_hour)
        .filter_map(|&(h, p)| Some((h, p?)))
        .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
        .map(|(h, _)| h);
    Outlook {
        hours: hours_out,
        busy_hours,
        best_hour,
    }
}

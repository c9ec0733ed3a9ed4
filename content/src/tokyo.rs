//! Civil time in Asia/Tokyo, the only time zone schedules are written in.
//!
//! Japan has not observed daylight saving time since 1951, so the fixed offset +09:00 gives the
//! same answers as the tz database for every date this system will schedule. We use it instead
//! of `chrono-tz`, which would compile the whole tz database into every player for no
//! difference, and a fixed offset has no skipped or repeated local times to handle.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};

/// UTC+09:00, Japan Standard Time.
pub const TOKYO: FixedOffset = match FixedOffset::east_opt(9 * 3600) {
    Some(offset) => offset,
    None => panic!("+09:00 is within a day"),
};

/// The calendar date in Tokyo at `instant`.
pub fn local_date(instant: DateTime<Utc>) -> NaiveDate {
    instant.with_timezone(&TOKYO).date_naive()
}

/// The instant of a Tokyo wall-clock time; `None` only at the ends of chrono's range.
pub fn instant(date: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
    TOKYO
        .from_local_datetime(&date.and_time(time))
        .single()
        .map(|t| t.to_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokyo_is_nine_hours_ahead_of_utc() {
        let new_year = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        let at = instant(new_year, NaiveTime::MIN).unwrap();
        assert_eq!(at.to_rfc3339(), "2026-12-31T15:00:00+00:00");
        assert_eq!(local_date(at), new_year);
        assert_eq!(
            local_date(at - chrono::TimeDelta::nanoseconds(1)),
            NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()
        );
    }
}

//! The calendar of a ward office: 国民の祝日, the year-end closure (年末年始, 12/29-1/3 by
//! default), each ward's own closures and extra opening days (e.g. 日曜開庁), and dayparts named
//! once (開庁時間, 昼休み) that entries refer to by name.
//!
//! National holidays are computed from 国民の祝日に関する法律 (as amended in 2018 for the
//! 2019- era), as 内閣府 publishes them (https://www8.cao.go.jp/chosei/shukujitsu/gaiyou.html):
//! fixed days, Happy Monday days, the equinox days, 振替休日 (a holiday on a Sunday moves to
//! the next day that is not a holiday) and 国民の休日 (a day between two holidays). The equinox
//! days are fixed by 官報 a year ahead; the usual approximation used here agrees with every
//! announced day from 1980 and is valid to 2099. The law's one-off days of 2019-2021 (the
//! enthronement, the Tokyo Olympics) are in [`SPECIAL`]; years before 2019 are not supported.

use chrono::{Datelike, NaiveDate, NaiveTime, Weekday};
use serde::{Deserialize, Serialize};

use crate::ids::WardId;
use crate::power::PowerRule;
use crate::schedule::Daypart;
use crate::validation::{Problem, ValidationError};

/// One-off holidays set by special laws, and the regular days they moved.
const SPECIAL: &[(i32, u32, u32, &str)] = &[
    (2019, 5, 1, "天皇の即位の日"),
    (2019, 10, 22, "即位礼正殿の儀の行われる日"),
    (2020, 7, 23, "海の日"),
    (2020, 7, 24, "スポーツの日"),
    (2020, 8, 10, "山の日"),
    (2021, 7, 22, "海の日"),
    (2021, 7, 23, "スポーツの日"),
    (2021, 8, 8, "山の日"),
];

fn nth_monday(year: i32, month: u32, n: u8) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Mon, n)
}

/// The equinox days: floor(base + 0.242194 (Y - 1980) - floor((Y - 1980) / 4)).
fn equinox_day(year: i32, base: f64) -> u32 {
    let y = f64::from(year - 1980);
    (base + 0.242194 * y - (y / 4.0).floor()).floor() as u32
}

/// The holidays the law names for `year`, before 振替休日 and 国民の休日.
fn named_days(year: i32) -> Vec<(NaiveDate, &'static str)> {
    let d = |m, day| NaiveDate::from_ymd_opt(year, m, day);
    let moved_by_olympics = year == 2020 || year == 2021;
    let mut days: Vec<(Option<NaiveDate>, &'static str)> = vec![
        (d(1, 1), "元日"),
        (nth_monday(year, 1, 2), "成人の日"),
        (d(2, 11), "建国記念の日"),
        (d(3, equinox_day(year, 20.8431)), "春分の日"),
        (d(4, 29), "昭和の日"),
        (d(5, 3), "憲法記念日"),
        (d(5, 4), "みどりの日"),
        (d(5, 5), "こどもの日"),
        (nth_monday(year, 9, 3), "敬老の日"),
        (d(9, equinox_day(year, 23.2488)), "秋分の日"),
        (d(11, 3), "文化の日"),
        (d(11, 23), "勤労感謝の日"),
    ];
    if year >= 2020 {
        days.push((d(2, 23), "天皇誕生日"));
    }
    if !moved_by_olympics {
        days.push((nth_monday(year, 7, 3), "海の日"));
        days.push((d(8, 11), "山の日"));
        days.push((
            nth_monday(year, 10, 2),
            if year >= 2020 {
                "スポーツの日"
            } else {
                "体育の日"
            },
        ));
    }
    let mut days: Vec<(NaiveDate, &'static str)> = days
        .into_iter()
        .filter_map(|(date, name)| Some((date?, name)))
        .collect();
    days.extend(
        SPECIAL
            .iter()
            .filter(|s| s.0 == year)
            .filter_map(|&(y, m, day, name)| Some((NaiveDate::from_ymd_opt(y, m, day)?, name))),
    );
    days.sort();
    days
}

/// Every national holiday of `year` in date order, with its name, including 振替休日 and
/// 国民の休日. Empty before 2019.
pub fn national_holidays(year: i32) -> Vec<(NaiveDate, &'static str)> {
    if year < 2019 {
        return Vec::new();
    }
    let named = named_days(year);
    let is_named = |date: NaiveDate| named.iter().any(|(d, _)| *d == date);
    let mut all = named.clone();
    for (date, _) in &named {
        if date.weekday() == Weekday::Sun {
            let mut next = date.succ_opt();
            while let Some(day) = next.filter(|d| is_named(*d)) {
                next = day.succ_opt();
            }
            if let Some(day) = next {
                all.push((day, "振替休日"));
            }
        }
    }
    for (date, _) in &named {
        let (Some(between), Some(after)) =
            (date.succ_opt(), date.succ_opt().and_then(|d| d.succ_opt()))
        else {
            continue;
        };
        let already = all.iter().any(|(d, _)| *d == between);
        if !already && is_named(after) && between.weekday() != Weekday::Sun {
            all.push((between, "国民の休日"));
        }
    }
    all.sort();
    all.dedup_by_key(|(d, _)| *d);
    all
}

/// The national holiday on `date`, by name.
pub fn national_holiday(date: NaiveDate) -> Option<&'static str> {
    national_holidays(date.year())
        .into_iter()
        .find(|(d, _)| *d == date)
        .map(|(_, name)| name)
}

/// Whether `date` is in 年末年始 (December 29 to January 3).
pub fn is_year_end(date: NaiveDate) -> bool {
    (date.month() == 12 && date.day() >= 29) || (date.month() == 1 && date.day() <= 3)
}

/// A daypart with a name staff know it by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedDaypart {
    pub name: String,
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl NamedDaypart {
    pub fn daypart(&self) -> Daypart {
        Daypart {
            start: self.start,
            end: self.end,
        }
    }
}

/// One ward's departures from the shared rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WardRules {
    pub ward: WardId,
    /// Extra closed days (臨時閉庁).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub closed: Vec<NaiveDate>,
    /// Days open although the rules would close them (e.g. 日曜開庁, 土曜開庁).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub open: Vec<NaiveDate>,
    /// Dayparts this ward times differently, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dayparts: Vec<NamedDaypart>,
}

/// Why a day is open or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "because", content = "name", rename_all = "snake_case")]
pub enum DayReason {
    Weekday,
    Weekend,
    Holiday(&'static str),
    YearEnd,
    /// The ward closes it (臨時閉庁).
    WardClosed,
    /// The ward opens it (休日開庁).
    WardOpen,
}

/// Which days an entry plays on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// 開庁日.
    Open,
    /// 閉庁日.
    Closed,
}

fn default_dayparts() -> Vec<NamedDaypart> {
    let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).expect("valid time");
    vec![
        NamedDaypart {
            name: "開庁時間".into(),
            start: t(9, 0),
            end: t(17, 30),
        },
        NamedDaypart {
            name: "昼休み".into(),
            start: t(12, 0),
            end: t(13, 0),
        },
    ]
}

fn yes() -> bool {
    true
}

/// Most dates one ward may list as closed or open: years of closures, and a bound on what a
/// client can make every player store.
pub const MAX_WARD_DATES: usize = 1000;
const MAX_DAYPART_NAME_CHARS: usize = 40;

/// The office calendar every ward follows, with each ward's own changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Calendar {
    /// Close 12/29-1/3 (年末年始).
    #[serde(default = "yes")]
    pub year_end_closure: bool,
    /// Dayparts every ward has unless it times them differently.
    #[serde(default = "default_dayparts")]
    pub dayparts: Vec<NamedDaypart>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wards: Vec<WardRules>,
    /// When screens are on, per group (see [`crate::power`]); none: always on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub power: Vec<PowerRule>,
}

impl Default for Calendar {
    fn default() -> Self {
        Calendar {
            year_end_closure: true,
            dayparts: default_dayparts(),
            wards: Vec::new(),
            power: Vec::new(),
        }
    }
}

impl Calendar {
    fn ward(&self, ward: &WardId) -> Option<&WardRules> {
        self.wards.iter().find(|w| w.ward == *ward)
    }

    /// Whether the ward's office is open on `date`, and why.
    pub fn day(&self, ward: &WardId, date: NaiveDate) -> (bool, DayReason) {
        let rules = self.ward(ward);
        if rules.is_some_and(|r| r.open.contains(&date)) {
            return (true, DayReason::WardOpen);
        }
        if rules.is_some_and(|r| r.closed.contains(&date)) {
            return (false, DayReason::WardClosed);
        }
        if self.year_end_closure && is_year_end(date) {
            return (false, DayReason::YearEnd);
        }
        if let Some(name) = national_holiday(date) {
            return (false, DayReason::Holiday(name));
        }
        match date.weekday() {
            Weekday::Sat | Weekday::Sun => (false, DayReason::Weekend),
            _ => (true, DayReason::Weekday),
        }
    }

    pub fn is_open(&self, ward: &WardId, date: NaiveDate) -> bool {
        self.day(ward, date).0
    }

    /// The daypart called `name` in `ward`: its own timing, else the shared one.
    pub fn daypart(&self, ward: &WardId, name: &str) -> Option<Daypart> {
        self.ward(ward)
            .and_then(|r| r.dayparts.iter().find(|d| d.name == name))
            .or_else(|| self.dayparts.iter().find(|d| d.name == name))
            .map(NamedDaypart::daypart)
    }

    /// Whether any ward knows a daypart called `name`.
    pub fn names_daypart(&self, name: &str) -> bool {
        self.dayparts.iter().any(|d| d.name == name)
            || self
                .wards
                .iter()
                .any(|w| w.dayparts.iter().any(|d| d.name == name))
    }

    /// Problems with the calendar alone, fields relative to it.
    pub fn problems(&self) -> Vec<ValidationError> {
        let mut problems = Vec::new();
        let check_parts = |parts: &[NamedDaypart], prefix: &str, problems: &mut Vec<_>| {
            for (i, part) in parts.iter().enumerate() {
                let field = format!("{prefix}dayparts[{i}]");
                let chars = part.name.chars().count();
                if chars == 0 || chars > MAX_DAYPART_NAME_CHARS {
                    problems.push(ValidationError::new(
                        format!("{field}.name"),
                        Problem::BadName(MAX_DAYPART_NAME_CHARS),
                    ));
                }
                if part.start == part.end {
                    problems.push(ValidationError::new(
                        field.clone(),
                        Problem::ZeroLengthDaypart(part.start),
                    ));
                }
                if parts[..i].iter().any(|p| p.name == part.name) {
                    problems.push(ValidationError::new(
                        format!("{field}.name"),
                        Problem::DuplicateId(part.name.clone()),
                    ));
                }
            }
        };
        check_parts(&self.dayparts, "", &mut problems);
        for (i, ward) in self.wards.iter().enumerate() {
            let prefix = format!("wards[{i}].");
            if self.wards[..i].iter().any(|w| w.ward == ward.ward) {
                problems.push(ValidationError::new(
                    format!("{prefix}ward"),
                    Problem::DuplicateId(ward.ward.to_string()),
                ));
            }
            if ward.closed.len() + ward.open.len() > MAX_WARD_DATES {
                problems.push(ValidationError::new(
                    format!("{prefix}closed"),
                    Problem::TooMany(MAX_WARD_DATES),
                ));
            }
            check_parts(&ward.dayparts, &prefix, &mut problems);
        }
        // A rule names a shared daypart, so every ward has it: a name only some wards know
        // would leave the others' screens off for good.
        problems.extend(crate::power::problems(&self.power, |name| {
            self.dayparts.iter().any(|d| d.name == name)
        }));
        problems
    }
}

/// The calendar as one ward sees it: what schedule entries consult for a player.
#[derive(Debug, Clone, Copy)]
pub struct WardDays<'a> {
    pub calendar: &'a Calendar,
    pub ward: &'a WardId,
}

impl WardDays<'_> {
    pub fn is_open(&self, date: NaiveDate) -> bool {
        self.calendar.is_open(self.ward, date)
    }

    pub fn daypart(&self, name: &str) -> Option<Daypart> {
        self.calendar.daypart(self.ward, name)
    }
}

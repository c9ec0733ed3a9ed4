//! The office calendar: national holidays as 内閣府 lists them, 年末年始, ward closures and
//! openings, named dayparts, and entries that play on open or closed days only.

use chrono::{Datelike, NaiveDate, Weekday};
use content::audience::Audience;
use content::calendar::{
    Calendar, DayKind, DayReason, NamedDaypart, WardRules, national_holiday, national_holidays,
};
use content::schedule_set::ScheduleSet;
use content::selection::select;

use crate::support::*;

/// 内閣府「国民の祝日について」, 令和6-9年 (2024-2027), as published.
const CABINET_OFFICE: &[(i32, &[&str])] = &[
    (
        2024,
        &[
            "01-01", "01-08", "02-11", "02-12", "02-23", "03-20", "04-29", "05-03", "05-04",
            "05-05", "05-06", "07-15", "08-11", "08-12", "09-16", "09-22", "09-23", "10-14",
            "11-03", "11-04", "11-23",
        ],
    ),
    (
        2025,
        &[
            "01-01", "01-13", "02-11", "02-23", "02-24", "03-20", "04-29", "05-03", "05-04",
            "05-05", "05-06", "07-21", "08-11", "09-15", "09-23", "10-13", "11-03", "11-23",
            "11-24",
        ],
    ),
    (
        2026,
        &[
            "01-01", "01-12", "02-11", "02-23", "03-20", "04-29", "05-03", "05-04", "05-05",
            "05-06", "07-20", "08-11", "09-21", "09-22", "09-23", "10-12", "11-03", "11-23",
        ],
    ),
    (
        2027,
        &[
            "01-01", "01-11", "02-11", "02-23", "03-21", "03-22", "04-29", "05-03", "05-04",
            "05-05", "07-19", "08-11", "09-20", "09-23", "10-11", "11-03", "11-23",
        ],
    ),
];

#[test]
fn national_holidays_match_the_cabinet_office_lists() {
    for (year, days) in CABINET_OFFICE {
        let computed: Vec<String> = national_holidays(*year)
            .iter()
            .map(|(d, _)| d.format("%m-%d").to_string())
            .collect();
        assert_eq!(computed, *days, "{year}");
    }
}

#[test]
fn substitute_and_sandwiched_days_are_named() {
    assert_eq!(national_holiday(date("2026-05-06")), Some("振替休日"));
    assert_eq!(national_holiday(date("2026-09-22")), Some("国民の休日"));
    assert_eq!(national_holiday(date("2027-03-21")), Some("春分の日"));
    assert_eq!(national_holiday(date("2021-07-23")), Some("スポーツの日"));
    assert_eq!(national_holiday(date("2026-12-24")), None);
}

#[test]
fn every_future_year_keeps_the_laws_shape() {
    for year in 2028..=2099 {
        let days = national_holidays(year);
        let names: Vec<&str> = days.iter().map(|(_, n)| *n).collect();
        for name in [
            "元日",
            "成人の日",
            "建国記念の日",
            "天皇誕生日",
            "春分の日",
            "昭和の日",
            "憲法記念日",
            "みどりの日",
            "こどもの日",
            "海の日",
            "山の日",
            "敬老の日",
            "秋分の日",
            "スポーツの日",
            "文化の日",
            "勤労感謝の日",
        ] {
            assert_eq!(
                names.iter().filter(|n| **n == name).count(),
                1,
                "{year} {name}"
            );
        }
        for (date, name) in &days {
            // A substitute day follows a Sunday holiday and is never a Sunday itself.
            if *name == "振替休日" {
                assert_ne!(date.weekday(), Weekday::Sun, "{date}");
                let mut back = date.pred_opt().unwrap();
                while national_holiday(back).is_some_and(|n| n != "振替休日")
                    && back.weekday() != Weekday::Sun
                {
                    back = back.pred_opt().unwrap();
                }
                assert_eq!(
                    back.weekday(),
                    Weekday::Sun,
                    "{date} follows no Sunday holiday"
                );
            }
        }
        let spring = days.iter().find(|(_, n)| *n == "春分の日").unwrap().0;
        let autumn = days.iter().find(|(_, n)| *n == "秋分の日").unwrap().0;
        assert!((19..=21).contains(&spring.day()), "{spring}");
        assert!((22..=24).contains(&autumn.day()), "{autumn}");
    }
}

fn kita() -> content::ids::WardId {
    "kita".into()
}

#[test]
fn offices_close_on_weekends_holidays_and_the_year_end_unless_the_ward_says_otherwise() {
    let mut calendar = Calendar::default();
    let day = |c: &Calendar, d: &str| c.day(&kita(), date(d));
    assert_eq!(day(&calendar, "2026-12-28"), (true, DayReason::Weekday));
    assert_eq!(day(&calendar, "2026-12-29"), (false, DayReason::YearEnd));
    assert_eq!(day(&calendar, "2027-01-02"), (false, DayReason::YearEnd));
    assert_eq!(day(&calendar, "2027-01-04"), (true, DayReason::Weekday));
    assert_eq!(
        day(&calendar, "2027-01-11"),
        (false, DayReason::Holiday("成人の日"))
    );
    assert_eq!(day(&calendar, "2026-12-12"), (false, DayReason::Weekend));
    calendar.wards.push(WardRules {
        ward: kita(),
        closed: vec![date("2027-01-04")],
        open: vec![date("2026-12-27")],
        dayparts: vec![],
    });
    assert_eq!(day(&calendar, "2027-01-04"), (false, DayReason::WardClosed));
    assert_eq!(day(&calendar, "2026-12-27"), (true, DayReason::WardOpen));
    // Other wards keep the shared rules.
    assert!(calendar.is_open(&"naniwa".into(), date("2027-01-04")));
    calendar.year_end_closure = false;
    assert!(calendar.is_open(&"naniwa".into(), date("2026-12-29")));
}

#[test]
fn a_named_daypart_is_timed_by_the_ward_else_by_the_shared_calendar() {
    let mut calendar = Calendar::default();
    calendar.wards.push(WardRules {
        ward: kita(),
        closed: vec![],
        open: vec![],
        dayparts: vec![NamedDaypart {
            name: "開庁時間".into(),
            start: "08:45:00".parse().unwrap(),
            end: "19:00:00".parse().unwrap(),
        }],
    });
    assert_eq!(
        calendar.daypart(&kita(), "開庁時間"),
        Some(daypart("08:45", "19:00"))
    );
    assert_eq!(
        calendar.daypart(&"chuo".into(), "開庁時間"),
        Some(daypart("09:00", "17:30"))
    );
    assert_eq!(
        calendar.daypart(&kita(), "昼休み"),
        Some(daypart("12:00", "13:00"))
    );
    assert_eq!(calendar.daypart(&kita(), "夜間"), None);
}

/// A Kita entry for `promo` on open days in 開庁時間, and one for `news` on closed days.
fn office_set(calendar: Calendar) -> ScheduleSet {
    let mut open = entry("open-hours", 5, ward("kita"));
    open.days = Some(DayKind::Open);
    open.named_dayparts = vec!["開庁時間".into()];
    let mut closed = entry("closed-days", 5, ward("kita"));
    closed.days = Some(DayKind::Closed);
    closed.layout = "news".into();
    let mut parts = parts(vec![open, closed]);
    parts.calendar = calendar;
    ScheduleSet::new(parts).unwrap()
}

fn layout_at(set: &ScheduleSet, at: &str) -> String {
    let selection = select(set, &kita_lobby(), jst(at), &Audience::default(), &[]);
    match selection {
        content::selection::Selection::Scheduled { screen, .. }
        | content::selection::Selection::Fallback { screen } => screen.layout.0,
        other => panic!("{other:?}"),
    }
}

#[test]
fn entries_follow_open_days_closed_days_and_named_dayparts() {
    let set = office_set(Calendar::default());
    assert_eq!(
        layout_at(&set, "2026-12-28T10:00:00"),
        "promo",
        "open, in 開庁時間"
    );
    assert_eq!(
        layout_at(&set, "2026-12-28T08:00:00"),
        "idle",
        "open, before 開庁時間"
    );
    assert_eq!(
        layout_at(&set, "2026-12-28T17:30:00"),
        "idle",
        "open, after 開庁時間"
    );
    assert_eq!(layout_at(&set, "2027-01-02T10:00:00"), "news", "年末年始");
    assert_eq!(
        layout_at(&set, "2027-01-04T09:00:00"),
        "promo",
        "first working day"
    );
    assert_eq!(layout_at(&set, "2027-01-11T10:00:00"), "news", "成人の日");
    // The ward's own opening on a Sunday, with its own hours.
    let mut calendar = Calendar::default();
    calendar.wards.push(WardRules {
        ward: kita(),
        closed: vec![],
        open: vec![date("2027-01-24")],
        dayparts: vec![NamedDaypart {
            name: "開庁時間".into(),
            start: "08:00:00".parse().unwrap(),
            end: "12:00:00".parse().unwrap(),
        }],
    });
    let set = office_set(calendar);
    assert_eq!(layout_at(&set, "2027-01-24T08:30:00"), "promo");
    assert_eq!(layout_at(&set, "2027-01-24T13:00:00"), "idle");
    // The screen changes exactly when the office opens on the first working day.
    let boundary = set.next_boundary(
        &kita_lobby(),
        jst("2027-01-03T18:00:00"),
        jst("2027-01-10T00:00:00"),
    );
    assert_eq!(
        boundary,
        Some(jst("2027-01-04T00:00:00")),
        "closed-day entry ends at midnight"
    );
}

#[test]
fn unknown_daypart_names_and_bad_calendars_are_refused_by_field() {
    let mut e = entry("e", 1, ward("kita"));
    e.named_dayparts = vec!["夜間窓口".into()];
    let mut p = parts(vec![e]);
    p.calendar.dayparts.push(NamedDaypart {
        name: String::new(),
        start: "10:00:00".parse().unwrap(),
        end: "10:00:00".parse().unwrap(),
    });
    let problems = ScheduleSet::new(p).unwrap_err().0;
    let fields: Vec<&str> = problems.iter().map(|e| e.field.as_str()).collect();
    assert!(
        fields.contains(&"entries[e].named_dayparts[0]"),
        "{fields:?}"
    );
    assert!(fields.contains(&"calendar.dayparts[2].name"), "{fields:?}");
    assert!(fields.contains(&"calendar.dayparts[2]"), "{fields:?}");
}

#[test]
fn the_calendar_round_trips_and_defaults_when_absent() {
    let text =
        r#"{"assets": [], "playlists": [], "layouts": [], "entries": [], "fallback_layout": "x"}"#;
    let parts: content::schedule_set::ScheduleSetParts = serde_json::from_str(text).unwrap();
    assert_eq!(parts.calendar, Calendar::default());
    let calendar = Calendar {
        wards: vec![WardRules {
            ward: kita(),
            closed: vec![NaiveDate::from_ymd_opt(2027, 2, 1).unwrap()],
            open: vec![],
            dayparts: vec![],
        }],
        ..Calendar::default()
    };
    let json = serde_json::to_value(&calendar).unwrap();
    assert_eq!(json["wards"][0]["closed"][0], "2027-02-01");
    assert_eq!(serde_json::from_value::<Calendar>(json).unwrap(), calendar);
}

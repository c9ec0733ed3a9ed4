//! Table tests of `select`: one line per case.

use chrono::{TimeDelta, Weekday, WeekdaySet};
use content::alert::ActiveAlert;
use content::audience::{Audience, OccupancyRange};
use content::schedule::{DateRange, Occurrence, Target};
use content::selection::{Selection, ZoneContent, select};

use crate::support::*;

#[test]
fn without_entries_the_fallback_shows() {
    assert_eq!(check(&set(vec![]), jst("2026-06-01T12:00:00")), "fallback");
}

#[test]
fn highest_priority_wins_then_specificity_then_smaller_id() {
    let at = jst("2026-06-01T12:00:00");
    type Case<'a> = (&'a [(&'a str, i32, Target)], &'a str);
    let cases: &[Case] = &[
        (
            &[("low", 1, Target::All), ("high", 5, Target::All)],
            "high over low",
        ),
        (
            &[
                ("all", 3, Target::All),
                ("ward", 3, ward("kita")),
                ("group", 3, group("lobby")),
                ("player", 3, one_player("p1")),
            ],
            "player over group, ward, all",
        ),
        (
            &[("b", 2, ward("kita")), ("a", 2, ward("kita"))],
            "a over b",
        ),
        // Priority outranks specificity.
        (
            &[("screen", 1, one_player("p1")), ("city", 2, Target::All)],
            "city over screen",
        ),
        // Negative priorities are allowed and rank below zero.
        (
            &[("filler", -1, Target::All), ("normal", 0, Target::All)],
            "normal over filler",
        ),
    ];
    for (entries, expected) in cases {
        let entries = entries
            .iter()
            .map(|(id, p, t)| entry(id, *p, t.clone()))
            .collect();
        assert_eq!(check(&set(entries), at), *expected);
    }
}

#[test]
fn entries_for_other_players_do_not_compete() {
    let at = jst("2026-06-01T12:00:00");
    let others = set(vec![
        entry("chuo", 9, ward("chuo")),
        entry("counters", 9, group("counters")),
        entry("p2", 9, one_player("p2")),
    ]);
    assert_eq!(check(&others, at), "fallback");
    // With several targets, the most specific one that matches counts.
    let mut both = entry("both", 1, Target::All);
    both.targets.push(one_player("p1"));
    let ward_only = entry("ward", 1, ward("kita"));
    assert_eq!(check(&set(vec![ward_only, both]), at), "both over ward");
}

/// An entry for December 2026 only.
fn december() -> Vec<content::schedule::ScheduleEntry> {
    let mut e = entry("december", 1, Target::All);
    e.dates = DateRange {
        start: date("2026-12-01"),
        end: Some(date("2027-01-01")),
    };
    vec![e]
}

#[test]
fn date_ranges_include_their_start_and_exclude_their_end_in_tokyo() {
    let s = set(december());
    assert_eq!(check(&s, jst("2026-11-30T23:59:59")), "fallback");
    assert_eq!(check(&s, jst("2026-12-01T00:00:00")), "december");
    assert_eq!(check(&s, jst("2026-12-31T23:59:59")), "december");
    assert_eq!(check(&s, jst("2027-01-01T00:00:00")), "fallback");
    // The same two instants in UTC: still 31 December there, yet the year is over in Tokyo.
    let last = jst("2027-01-01T00:00:00") - TimeDelta::nanoseconds(1);
    assert_eq!(check(&s, last), "december");
    assert_eq!(last.to_rfc3339(), "2026-12-31T14:59:59.999999999+00:00");
    let new_year_in_utc = "2026-12-31T15:00:00Z".parse().unwrap();
    assert_eq!(check(&s, new_year_in_utc), "fallback");
}

#[test]
fn month_ends_and_leap_days() {
    let mut leap_day = entry("leap", 1, Target::All);
    leap_day.dates = DateRange {
        start: date("2028-02-29"),
        end: Some(date("2028-03-01")),
    };
    let s = set(vec![leap_day]);
    assert_eq!(check(&s, jst("2028-02-28T23:59:59")), "fallback");
    assert_eq!(check(&s, jst("2028-02-29T00:00:00")), "leap");
    assert_eq!(check(&s, jst("2028-02-29T23:59:59")), "leap");
    assert_eq!(check(&s, jst("2028-03-01T00:00:00")), "fallback");
    let mut april = entry("april", 1, Target::All);
    april.dates = DateRange {
        start: date("2026-04-01"),
        end: Some(date("2026-05-01")),
    };
    let s = set(vec![april]);
    assert_eq!(check(&s, jst("2026-03-31T23:59:59")), "fallback");
    assert_eq!(check(&s, jst("2026-04-30T23:59:59")), "april");
    assert_eq!(check(&s, jst("2026-05-01T00:00:00")), "fallback");
}

#[test]
fn weekdays_are_tokyo_weekdays() {
    let mut mondays = entry("mon", 1, Target::All);
    mondays.weekdays = WeekdaySet::single(Weekday::Mon);
    let s = set(vec![mondays]);
    // 2026-03-02 is a Monday; its first instant is still Sunday in UTC.
    assert_eq!(check(&s, jst("2026-03-01T23:59:59")), "fallback");
    assert_eq!(check(&s, jst("2026-03-02T00:00:00")), "mon");
    assert_eq!(check(&s, jst("2026-03-02T23:59:59")), "mon");
    assert_eq!(check(&s, jst("2026-03-03T00:00:00")), "fallback");
}

#[test]
fn dayparts_include_their_start_and_exclude_their_end() {
    let mut office_hours = entry("office", 1, Target::All);
    office_hours.dayparts = vec![daypart("09:00", "12:00"), daypart("13:00", "17:30")];
    let s = set(vec![office_hours]);
    for (at, expected) in [
        ("08:59:59", "fallback"),
        ("09:00:00", "office"),
        ("11:59:59", "office"),
        ("12:00:00", "fallback"),
        ("13:00:00", "office"),
        ("17:29:59", "office"),
        ("17:30:00", "fallback"),
    ] {
        assert_eq!(
            check(&s, jst(&format!("2026-06-01T{at}"))),
            expected,
            "{at}"
        );
    }
}

#[test]
fn a_daypart_crossing_midnight_belongs_to_the_day_it_starts() {
    let mut friday_night = entry("night", 1, Target::All);
    friday_night.weekdays = WeekdaySet::single(Weekday::Fri);
    friday_night.dayparts = vec![daypart("22:00", "02:00")];
    let s = set(vec![friday_night]);
    // 2026-12-25 is a Friday.
    for (at, expected) in [
        ("2026-12-25T01:00:00", "fallback"), // Thursday night's window: Thursday is excluded
        ("2026-12-25T21:59:59", "fallback"),
        ("2026-12-25T22:00:00", "night"),
        ("2026-12-25T23:59:59", "night"),
        ("2026-12-26T00:00:00", "night"), // Saturday, but the occurrence started on Friday
        ("2026-12-26T01:59:59", "night"),
        ("2026-12-26T02:00:00", "fallback"),
        ("2026-12-26T22:00:00", "fallback"),
    ] {
        assert_eq!(check(&s, jst(at)), expected, "{at}");
    }
}

#[test]
fn midnight_crossings_at_the_ends_of_a_date_range() {
    let mut year_end = entry("eve", 1, Target::All);
    year_end.dates = DateRange {
        start: date("2026-12-31"),
        end: Some(date("2027-01-01")),
    };
    year_end.dayparts = vec![daypart("22:00", "02:00")];
    let s = set(vec![year_end]);
    assert_eq!(check(&s, jst("2026-12-31T01:00:00")), "fallback"); // 30 December's window
    assert_eq!(check(&s, jst("2027-01-01T01:59:59")), "eve"); // 31 December's window
    assert_eq!(check(&s, jst("2027-01-01T02:00:00")), "fallback");
    assert_eq!(check(&s, jst("2027-01-01T22:00:00")), "fallback");
}

#[test]
fn a_daypart_may_run_up_to_midnight() {
    let mut evening = entry("evening", 1, Target::All);
    evening.dayparts = vec![daypart("18:00", "00:00")];
    let s = set(vec![evening]);
    assert_eq!(check(&s, jst("2026-06-01T17:59:59")), "fallback");
    assert_eq!(check(&s, jst("2026-06-01T23:59:59")), "evening");
    assert_eq!(check(&s, jst("2026-06-02T00:00:00")), "fallback");
}

#[test]
fn the_winner_reports_its_occurrence() {
    let mut night = entry("night", 1, Target::All);
    night.dayparts = vec![daypart("22:00", "02:00")];
    let selection = select(
        &set(vec![night]),
        &kita_lobby(),
        jst("2026-12-31T23:30:00"),
        &Audience::default(),
        &[],
    );
    let Selection::Scheduled { occurrence, .. } = selection else {
        panic!("expected a scheduled entry, got {selection:?}");
    };
    assert_eq!(
        occurrence,
        Occurrence {
            start: jst("2026-12-31T22:00:00"),
            end: jst("2027-01-01T02:00:00"),
        }
    );
}

fn zones_at(entries: Vec<content::schedule::ScheduleEntry>, at: &str) -> Vec<ZoneContent> {
    match select(
        &set(entries),
        &kita_lobby(),
        jst(at),
        &Audience::default(),
        &[],
    ) {
        Selection::Scheduled { screen, .. } | Selection::Fallback { screen } => screen.zones,
        alert => panic!("unexpected {alert:?}"),
    }
}

/// (zone, item index, asset, start, end) with times as Tokyo wall-clock `HH:MM:SS`.
fn brief(zones: &[ZoneContent]) -> Vec<(String, usize, String, String, String)> {
    let clock = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&content::tokyo::TOKYO)
            .format("%H:%M:%S")
            .to_string()
    };
    zones
        .iter()
        .map(|z| {
            (
                z.zone.to_string(),
                z.item,
                z.asset.to_string(),
                clock(z.started_at),
                clock(z.ends_at),
            )
        })
        .collect()
}

fn row(
    zone: &str,
    item: usize,
    asset: &str,
    start: &str,
    end: &str,
) -> (String, usize, String, String, String) {
    (zone.into(), item, asset.into(), start.into(), end.into())
}

#[test]
fn playlists_loop_from_the_start_of_the_occurrence() {
    let mut morning = entry("morning", 1, Target::All);
    morning.dayparts = vec![daypart("09:00", "12:00")];
    // `promo`: a 30 s video, then `hours` for 15 s; a 45 s loop starting at 09:00:00.
    for (at, expected) in [
        (
            "09:00:00",
            row("main", 0, "promo-video", "09:00:00", "09:00:30"),
        ),
        (
            "09:00:29",
            row("main", 0, "promo-video", "09:00:00", "09:00:30"),
        ),
        ("09:00:30", row("main", 1, "hours", "09:00:30", "09:00:45")),
        (
            "09:00:45",
            row("main", 0, "promo-video", "09:00:45", "09:01:15"),
        ),
        (
            "10:00:00",
            row("main", 0, "promo-video", "10:00:00", "10:00:30"),
        ), // 80 loops
        ("11:59:59", row("main", 1, "hours", "11:59:45", "12:00:00")),
    ] {
        let zones = zones_at(vec![morning.clone()], &format!("2026-06-01T{at}"));
        assert_eq!(brief(&zones), [expected], "{at}");
    }
}

#[test]
fn the_fallback_loops_from_the_unix_epoch_in_every_zone() {
    // `idle`: `welcome` 10 s then `map` 20 s, a 30 s loop in step with the epoch, and a 60 s
    // ticker; whole minutes are multiples of both.
    let zones = zones_at(vec![], "2026-06-01T08:00:12");
    assert_eq!(
        brief(&zones),
        [
            row("main", 1, "map", "08:00:10", "08:00:30"),
            row("ticker", 0, "news", "08:00:00", "08:01:00"),
        ]
    );
}

fn alert(id: &str, level: u8, target: Target, issued: &str) -> ActiveAlert {
    ActiveAlert {
        id: id.into(),
        targets: vec![target],
        level,
        issued_at: jst(issued),
        expires_at: None,
    }
}

fn check_alerts(alerts: &[ActiveAlert], at: &str) -> String {
    let s = set(vec![entry("e1", 9, Target::All)]);
    summary(&select(
        &s,
        &kita_lobby(),
        jst(at),
        &Audience::default(),
        alerts,
    ))
}

#[test]
fn an_alert_for_the_player_preempts_everything() {
    let at = "2026-06-01T12:00:00";
    let quake = alert("quake", 4, ward("kita"), "2026-06-01T11:59:00");
    assert_eq!(
        check_alerts(std::slice::from_ref(&quake), at),
        "alert quake over entries e1"
    );
    assert_eq!(check_alerts(&[alert("x", 5, ward("chuo"), at)], at), "e1");
    let mut nobody = quake.clone();
    nobody.targets.clear();
    assert_eq!(check_alerts(&[nobody], at), "e1");
    // A player whose clock lags still shows an alert "issued in the future".
    let early = alert("early", 3, Target::All, "2026-06-01T12:00:05");
    assert_eq!(check_alerts(&[early], at), "alert early over entries e1");
}

#[test]
fn alerts_stop_at_their_expiry() {
    let mut flood = alert("flood", 3, Target::All, "2026-06-01T10:00:00");
    flood.expires_at = Some(jst("2026-06-01T12:00:00"));
    assert_eq!(
        check_alerts(std::slice::from_ref(&flood), "2026-06-01T11:59:59"),
        "alert flood over entries e1"
    );
    assert_eq!(check_alerts(&[flood], "2026-06-01T12:00:00"), "e1");
}

#[test]
fn the_highest_level_then_the_newest_alert_shows() {
    let at = "2026-06-01T12:00:00";
    let rain = alert("rain", 3, Target::All, "2026-06-01T11:50:00");
    let tsunami = alert("tsunami", 5, one_player("p1"), "2026-06-01T11:00:00");
    let rain_update = alert("rain-2", 3, ward("kita"), "2026-06-01T11:55:00");
    assert_eq!(
        check_alerts(&[rain.clone(), tsunami, rain_update.clone()], at),
        "alert tsunami over rain-2, rain over entries e1"
    );
    assert_eq!(
        check_alerts(&[rain.clone(), rain_update], at),
        "alert rain-2 over rain over entries e1"
    );
    let twin = ActiveAlert {
        id: "a-twin".into(),
        ..rain.clone()
    };
    assert_eq!(
        check_alerts(&[rain, twin], at),
        "alert a-twin over rain over entries e1"
    );
}

#[test]
fn occupancy_conditions_follow_the_live_audience() {
    let mut crowded = entry("crowded", 5, Target::All);
    crowded.occupancy = Some(OccupancyRange::new(Some(30), None));
    let s = set(vec![crowded, entry("usual", 1, Target::All)]);
    let at = jst("2026-06-01T12:00:00");
    let with = |occupancy| {
        let audience = Audience {
            occupancy,
            ..Audience::default()
        };
        summary(&select(&s, &kita_lobby(), at, &audience, &[]))
    };
    assert_eq!(with(Some(30)), "crowded over usual");
    assert_eq!(with(Some(29)), "usual");
    assert_eq!(with(None), "usual");
}

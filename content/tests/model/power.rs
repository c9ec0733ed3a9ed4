//! Screen power by schedule: on for 開庁時間 with margins on open days, off otherwise, per
//! group; alerts wake a screen that is off.

use chrono::{DateTime, TimeDelta, Utc};
use content::alert::ActiveAlert;
use content::audience::Audience;
use content::calendar::Calendar;
use content::power::{Power, PowerRule, power_at, rules_for};
use content::schedule::{PlayerTarget, Target};
use content::schedule_set::ScheduleSet;
use content::selection::{Reason, decide, select};

use crate::support::*;

fn rule(group: Option<&str>, before: u16, after: u16, closed_days: bool) -> PowerRule {
    PowerRule {
        group: group.map(Into::into),
        daypart: "開庁時間".into(),
        before_minutes: before,
        after_minutes: after,
        closed_days,
    }
}

fn office(rules: Vec<PowerRule>) -> ScheduleSet {
    let mut parts = parts(vec![entry("e1", 1, Target::All)]);
    parts.calendar = Calendar {
        power: rules,
        ..Calendar::default()
    };
    ScheduleSet::new(parts).unwrap()
}

fn power(set: &ScheduleSet, who: &PlayerTarget, at: &str) -> Power {
    set.power_at(who, jst(at))
}

fn off_until(at: &str) -> Power {
    Power::Off {
        on_at: Some(jst(at)),
    }
}

#[test]
fn without_rules_every_screen_is_always_on() {
    let set = office(vec![]);
    for at in [
        "2027-01-01T03:00:00",
        "2026-12-08T12:00:00",
        "2026-12-13T23:59:59",
    ] {
        assert_eq!(power(&set, &kita_lobby(), at), Power::On, "{at}");
    }
}

#[test]
fn screens_follow_opening_hours_with_margins_and_sleep_through_closures() {
    let set = office(vec![rule(None, 15, 30, false)]);
    let me = kita_lobby();
    // Tuesday 2026-12-08: 開庁時間 09:00-17:30, on 08:45-18:00.
    assert_eq!(
        power(&set, &me, "2026-12-08T08:44:59"),
        off_until("2026-12-08T08:45:00")
    );
    assert_eq!(power(&set, &me, "2026-12-08T08:45:00"), Power::On);
    assert_eq!(power(&set, &me, "2026-12-08T17:59:59"), Power::On);
    assert_eq!(
        power(&set, &me, "2026-12-08T18:00:00"),
        off_until("2026-12-09T08:45:00")
    );
    // Friday evening to Monday morning.
    assert_eq!(
        power(&set, &me, "2026-12-11T20:00:00"),
        off_until("2026-12-14T08:45:00")
    );
    // 年末年始: the last working day 12/28, then 2027-01-04.
    assert_eq!(
        power(&set, &me, "2026-12-28T18:30:00"),
        off_until("2027-01-04T08:45:00")
    );
    assert_eq!(
        power(&set, &me, "2027-01-02T10:00:00"),
        off_until("2027-01-04T08:45:00")
    );
    // 成人の日 (2027-01-11) is closed.
    assert_eq!(
        power(&set, &me, "2027-01-11T10:00:00"),
        off_until("2027-01-12T08:45:00")
    );
}

#[test]
fn a_group_rule_wins_over_the_rule_for_every_screen_and_any_group_keeps_a_screen_on() {
    let rules = vec![
        rule(None, 0, 0, false),
        rule(Some("street"), 60, 120, true),
        rule(Some("counters"), 0, 0, false),
    ];
    let set = office(rules.clone());
    let lobby = kita_lobby();
    let street = player("p2", "kita", &["street"]);
    let both = player("p3", "kita", &["counters", "street"]);
    let counters = player("p4", "kita", &["counters"]);
    assert_eq!(rules_for(&rules, &lobby).len(), 1);
    assert_eq!(rules_for(&rules, &lobby)[0].group, None);
    assert_eq!(rules_for(&rules, &both).len(), 2);
    // Sunday 10:00: the street window is on, the others are off.
    let sunday = "2026-12-13T10:00:00";
    assert_eq!(power(&set, &street, sunday), Power::On);
    assert_eq!(power(&set, &both, sunday), Power::On);
    assert_eq!(
        power(&set, &counters, sunday),
        off_until("2026-12-14T09:00:00")
    );
    assert_eq!(
        power(&set, &lobby, sunday),
        off_until("2026-12-14T09:00:00")
    );
    // Tuesday 19:00: only the street margin (to 19:30) keeps screens on.
    let evening = "2026-12-08T19:00:00";
    assert_eq!(power(&set, &both, evening), Power::On);
    assert_eq!(
        power(&set, &counters, evening),
        off_until("2026-12-09T09:00:00")
    );
}

#[test]
fn a_ward_with_its_own_hours_switches_with_them() {
    let mut parts = parts(vec![entry("e1", 1, Target::All)]);
    parts.calendar.power = vec![rule(None, 0, 0, false)];
    parts.calendar.wards.push(content::calendar::WardRules {
        ward: kita(),
        closed: vec![],
        open: vec![date("2026-12-13")],
        dayparts: vec![content::calendar::NamedDaypart {
            name: "開庁時間".into(),
            start: "08:30:00".parse().unwrap(),
            end: "12:00:00".parse().unwrap(),
        }],
    });
    let set = ScheduleSet::new(parts).unwrap();
    let me = kita_lobby();
    let naka = player("p9", "naka", &["lobby"]);
    assert_eq!(
        power(&set, &me, "2026-12-13T08:30:00"),
        Power::On,
        "日曜開庁"
    );
    assert_eq!(
        power(&set, &me, "2026-12-13T12:00:00"),
        off_until("2026-12-14T08:30:00")
    );
    assert_eq!(
        power(&set, &naka, "2026-12-13T08:30:00"),
        off_until("2026-12-14T09:00:00")
    );
}

#[test]
fn an_alert_wakes_a_screen_that_is_off_and_the_selection_says_why_it_is_off() {
    let set = office(vec![rule(None, 0, 0, false)]);
    let night = jst("2026-12-08T23:00:00");
    let decision = decide(&set, &kita_lobby(), night, &Audience::default(), &[]);
    assert_eq!(summary(&decision.selection), "off");
    assert_eq!(
        decision.reason,
        Reason::PowerOff {
            on_at: Some(jst("2026-12-09T09:00:00"))
        }
    );
    assert_eq!(
        decision.reason.to_string(),
        "off by schedule until 2026-12-09 09:00"
    );
    let quake = ActiveAlert {
        id: "quake".into(),
        targets: vec![Target::All],
        level: 3,
        issued_at: night,
        expires_at: None,
    };
    let woken = select(&set, &kita_lobby(), night, &Audience::default(), &[quake]);
    assert_eq!(summary(&woken), "alert quake over entries e1");
}

/// Over a month of instants, the answer only changes at an instant `next_boundary` names, and
/// an "off until" instant is the first on.
#[test]
fn power_switches_only_at_the_announced_instants() {
    let set = office(vec![
        rule(None, 20, 10, false),
        rule(Some("street"), 0, 240, true),
    ]);
    for who in [kita_lobby(), player("p2", "kita", &["street", "lobby"])] {
        let mut at = jst("2026-12-20T00:00:00");
        let end = jst("2027-01-20T00:00:00");
        while at < end {
            let here = set.power_at(&who, at);
            let next = set
                .next_boundary(&who, at, at + TimeDelta::days(30))
                .expect("a switch within 30 days");
            let step = TimeDelta::minutes(7).min(next - at);
            let probe: DateTime<Utc> = at + step - TimeDelta::seconds(1);
            if probe > at {
                assert_eq!(set.power_at(&who, probe), here, "{who:?} {at} -> {probe}");
            }
            if let Power::Off { on_at: Some(on) } = here {
                assert_eq!(set.power_at(&who, on), Power::On, "{at}");
                assert_ne!(set.power_at(&who, on - TimeDelta::seconds(1)), Power::On);
            }
            at += step.max(TimeDelta::seconds(1));
        }
    }
}

#[test]
fn bad_rules_are_refused_by_field() {
    let mut ward_only = Calendar::default();
    ward_only.wards.push(content::calendar::WardRules {
        ward: kita(),
        closed: vec![],
        open: vec![],
        dayparts: vec![content::calendar::NamedDaypart {
            name: "夜間窓口".into(),
            start: "17:30:00".parse().unwrap(),
            end: "19:00:00".parse().unwrap(),
        }],
    });
    ward_only.power = vec![
        PowerRule {
            daypart: "夜間窓口".into(),
            ..rule(None, 0, 0, false)
        },
        rule(Some("street"), 300, 0, false),
        rule(Some("street"), 0, 0, false),
    ];
    let fields: Vec<String> = ward_only.problems().into_iter().map(|e| e.field).collect();
    assert_eq!(
        fields,
        [
            "power[0].daypart",
            "power[1].before_minutes",
            "power[2].group"
        ]
    );
}

#[test]
fn rules_read_with_defaults_and_round_trip() {
    let rules: Vec<PowerRule> =
        serde_json::from_str(r#"[{"group": "lobby", "after_minutes": 15}]"#).unwrap();
    assert_eq!(rules[0].daypart, "開庁時間");
    assert!(!rules[0].closed_days);
    let calendar = Calendar {
        power: rules.clone(),
        ..Calendar::default()
    };
    let back: Calendar = serde_json::from_value(serde_json::to_value(&calendar).unwrap()).unwrap();
    assert_eq!(back.power, rules);
    let days = content::calendar::WardDays {
        calendar: &back,
        ward: &kita(),
    };
    let lobby = rules_for(&rules, &kita_lobby());
    assert_eq!(
        power_at(&lobby, days, jst("2026-12-08T17:44:59")),
        Power::On
    );
    assert_eq!(
        power_at(&lobby, days, jst("2026-12-08T17:45:00")),
        off_until("2026-12-09T09:00:00")
    );
}

fn kita() -> content::ids::WardId {
    "kita".into()
}

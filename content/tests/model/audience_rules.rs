//! Audience rules: conditions on occupancy, inflow and dwell, the reason every decision gives,
//! and the player's `AudienceGate` (hysteresis, minimum display time), as tables and as
//! properties over noisy input.

use chrono::{DateTime, TimeDelta, Utc};
use content::alert::ActiveAlert;
use content::audience::{Audience, MeasureRange};
use content::schedule::{ScheduleEntry, Target};
use content::schedule_set::ScheduleSet;
use content::selection::{AudienceGate, Decision, GateSettings, Selection, decide, select};
use proptest::prelude::*;

use crate::support::*;

fn people(n: u32) -> Audience {
    Audience {
        occupancy: Some(n),
        ..Audience::default()
    }
}

/// `crowd` (online procedures) for 15 people or more, `attract` when nobody is near, over
/// `usual`.
fn crowd_rules(hysteresis: Option<u32>) -> ScheduleSet {
    let mut crowd = entry("crowd", 5, Target::All);
    crowd.occupancy = Some(MeasureRange {
        hysteresis,
        ..MeasureRange::new(Some(15), None)
    });
    crowd.layout = "news".into();
    let mut attract = entry("attract", 5, Target::All);
    attract.occupancy = Some(MeasureRange {
        hysteresis,
        ..MeasureRange::new(None, Some(1))
    });
    attract.layout = "idle".into();
    set(vec![crowd, attract, entry("usual", 1, Target::All)])
}

/// The entry shown (or `fallback` / `alert ID`) and the reason, e.g. `crowd | entry crowd: ...`.
fn said(decision: &Decision) -> String {
    let what = match &decision.selection {
        Selection::Alert { alert, .. } => format!("alert {alert}"),
        Selection::Scheduled { entry, .. } => entry.to_string(),
        Selection::Fallback { .. } => "fallback".to_owned(),
        Selection::Off { .. } => "off".to_owned(),
    };
    format!("{what} | {}", decision.reason)
}

fn shown(decision: &Decision) -> String {
    said(decision).split(" | ").next().unwrap().to_owned()
}

#[test]
fn every_decision_says_why() {
    let at = jst("2026-06-01T12:00:00");
    let rules = crowd_rules(None);
    let why = |audience: &Audience| said(&decide(&rules, &kita_lobby(), at, audience, &[]));
    assert_eq!(why(&people(17)), "crowd | entry crowd: occupancy 17 >= 15");
    assert_eq!(why(&people(0)), "attract | entry attract: occupancy 0 < 1");
    assert_eq!(
        why(&people(7)),
        "usual | entry usual: scheduled, priority 1"
    );
    // Unknown audience: only the plain entry applies.
    assert_eq!(
        why(&Audience::default()),
        "usual | entry usual: scheduled, priority 1"
    );
    assert_eq!(
        said(&decide(&set(vec![]), &kita_lobby(), at, &people(3), &[])),
        "fallback | fallback: no entry applies"
    );

    // Several measures and a daypart: all conditions are listed.
    let mut rush = entry("lunch-rush", 2, Target::All);
    rush.dayparts = vec![daypart("11:30", "13:30")];
    rush.inflow_per_min = Some(MeasureRange::new(Some(10), None));
    rush.dwell_s = Some(MeasureRange::new(Some(60), Some(600)));
    let rush = set(vec![rush]);
    let busy = Audience {
        occupancy: Some(4),
        inflow_per_min: Some(12),
        dwell_s: Some(90),
    };
    assert_eq!(
        said(&decide(&rush, &kita_lobby(), at, &busy, &[])),
        "lunch-rush | entry lunch-rush (11:30-13:30): inflow_per_min 12 >= 10, dwell_s 90 in 60..600"
    );
    let unknown_dwell = Audience {
        dwell_s: None,
        ..busy.clone()
    };
    assert_eq!(
        shown(&decide(&rush, &kita_lobby(), at, &unknown_dwell, &[])),
        "fallback"
    );
    let after_lunch = jst("2026-06-01T13:30:00");
    assert_eq!(
        shown(&decide(&rush, &kita_lobby(), after_lunch, &busy, &[])),
        "fallback"
    );

    let quake = ActiveAlert {
        id: "quake".into(),
        targets: vec![Target::All],
        level: 5,
        issued_at: at,
        expires_at: None,
    };
    assert_eq!(
        said(&decide(&rules, &kita_lobby(), at, &people(17), &[quake])),
        "alert quake | alert quake"
    );
}

/// Feeds `(seconds after 12:00, people)` to a fresh gate, one line per decision.
fn run_gate(rules: &ScheduleSet, steps: &[(i64, Option<u32>)]) -> Vec<String> {
    let mut gate = AudienceGate::new(GateSettings::default());
    let noon = jst("2026-06-01T12:00:00");
    steps
        .iter()
        .map(|&(s, occupancy)| {
            let audience = Audience {
                occupancy,
                ..Audience::default()
            };
            let at = noon + TimeDelta::seconds(s);
            format!(
                "{s}: {}",
                said(&gate.decide(rules, &kita_lobby(), at, &audience, &[]))
            )
        })
        .collect()
}

#[test]
fn hysteresis_and_minimum_display_time_stop_flapping() {
    let lines = run_gate(
        &crowd_rules(None),
        &[
            (0, Some(10)),
            (1, Some(15)),
            (5, Some(14)),
            (10, Some(12)),
            (21, Some(12)),
            (22, Some(16)),
            (41, Some(16)),
            (70, Some(13)),
            (71, Some(12)),
        ],
    );
    assert_eq!(
        lines,
        [
            "0: usual | entry usual: scheduled, priority 1",
            "1: crowd | entry crowd: occupancy 15 >= 15",
            // Below 15 but not below 15 - 2: still the crowd.
            "5: crowd | entry crowd: occupancy 14 >= 13 (hysteresis 2)",
            // Crowd gone, but the crowd slide has not been up for 20 s.
            "10: crowd | entry crowd held until 12:00:21 (minimum display time); the audience now chooses entry usual",
            "21: usual | entry usual: scheduled, priority 1",
            "22: usual | entry usual held until 12:00:41 (minimum display time); the audience now chooses entry crowd",
            "41: crowd | entry crowd: occupancy 16 >= 15",
            "70: crowd | entry crowd: occupancy 13 >= 13 (hysteresis 2)",
            "71: usual | entry usual: scheduled, priority 1",
        ]
    );
}

/// The player sleeps until a hold ends: the gate says when that is, and nothing after it.
#[test]
fn the_gate_says_until_when_it_holds() {
    let rules = crowd_rules(None);
    let mut gate = AudienceGate::new(GateSettings::default());
    let at = |s: i64| jst("2026-06-01T12:00:00") + TimeDelta::seconds(s);
    gate.decide(&rules, &kita_lobby(), at(0), &people(10), &[]);
    assert_eq!(gate.held_until(at(0)), None, "nothing switched yet");
    gate.decide(&rules, &kita_lobby(), at(1), &people(15), &[]);
    assert_eq!(gate.held_until(at(1)), Some(at(21)));
    assert_eq!(gate.held_until(at(20)), Some(at(21)));
    assert_eq!(gate.held_until(at(21)), None);
}

#[test]
fn a_range_can_name_its_own_hysteresis() {
    let lines = run_gate(&crowd_rules(Some(0)), &[(0, Some(15)), (30, Some(14))]);
    assert_eq!(lines[1], "30: usual | entry usual: scheduled, priority 1");
    let lines = run_gate(&crowd_rules(Some(5)), &[(0, Some(15)), (30, Some(10))]);
    assert_eq!(
        lines[1],
        "30: crowd | entry crowd: occupancy 10 >= 10 (hysteresis 5)"
    );
}

#[test]
fn an_unknown_audience_ends_audience_content_at_once_even_when_held() {
    let lines = run_gate(
        &crowd_rules(None),
        &[(0, Some(20)), (2, None), (3, Some(20)), (20, Some(20))],
    );
    assert_eq!(
        lines,
        [
            "0: crowd | entry crowd: occupancy 20 >= 15",
            "2: usual | entry usual: scheduled, priority 1",
            // The camera is back at once: the hold from 0 s still applies, so a camera that
            // flickers between down and up does not flap the screen either.
            "3: usual | entry usual held until 12:00:20 (minimum display time); the audience now chooses entry crowd",
            "20: crowd | entry crowd: occupancy 20 >= 15",
        ]
    );
}

#[test]
fn alerts_and_the_clock_switch_at_once_even_when_held() {
    let mut rules_entries = vec![entry("usual", 1, Target::All)];
    let mut crowd = entry("crowd", 5, Target::All);
    crowd.occupancy = Some(MeasureRange::new(Some(15), None));
    crowd.dayparts = vec![daypart("09:00", "12:00:10")];
    rules_entries.push(crowd);
    let rules = set(rules_entries);
    let mut gate = AudienceGate::default();
    let noon = jst("2026-06-01T12:00:00");
    let at = |s| noon + TimeDelta::seconds(s);
    let go = |gate: &mut AudienceGate, s, alerts: &[ActiveAlert]| {
        shown(&gate.decide(&rules, &kita_lobby(), at(s), &people(20), alerts))
    };
    assert_eq!(go(&mut gate, 0, &[]), "crowd");
    let quake = ActiveAlert {
        id: "quake".into(),
        targets: vec![Target::All],
        level: 5,
        issued_at: at(1),
        expires_at: Some(at(3)),
    };
    assert_eq!(
        go(&mut gate, 1, std::slice::from_ref(&quake)),
        "alert quake"
    );
    assert_eq!(go(&mut gate, 3, std::slice::from_ref(&quake)), "crowd");
    // The crowd entry's daypart ends at 12:00:10, well inside its minimum display time.
    assert_eq!(go(&mut gate, 10, &[]), "usual");
}

#[test]
fn entries_without_conditions_behave_as_in_select() {
    let rules = set(vec![entry("a", 2, Target::All), entry("b", 1, Target::All)]);
    let mut gate = AudienceGate::default();
    let at = jst("2026-06-01T12:00:00");
    let d = gate.decide(&rules, &kita_lobby(), at, &people(40), &[]);
    assert_eq!(
        d.selection,
        select(&rules, &kita_lobby(), at, &people(40), &[])
    );
}

// Properties over random noisy input.

/// Ticks of `(seconds since the previous tick, people)`; people `None` now and then.
fn noisy(max: u32, unknown: bool) -> impl Strategy<Value = Vec<(i64, Option<u32>)>> {
    let value = if unknown {
        prop_oneof![9 => (0..=max).prop_map(Some), 1 => Just(None)].boxed()
    } else {
        (0..=max).prop_map(Some).boxed()
    };
    prop::collection::vec((0i64..8, value), 1..120)
}

fn at_seconds(s: i64) -> DateTime<Utc> {
    jst("2026-06-01T12:00:00") + TimeDelta::seconds(s)
}

/// A rule set of random thresholds around the same values the input wanders over.
fn random_rules() -> impl Strategy<Value = ScheduleSet> {
    let range = (
        prop::option::of(0u32..30),
        1u32..20,
        prop::option::of(0u32..6),
    )
        .prop_map(|(at_least, width, hysteresis)| MeasureRange {
            at_least,
            below: if at_least.is_none() {
                Some(width)
            } else if width % 2 == 0 {
                None
            } else {
                at_least.map(|a| a + width)
            },
            hysteresis,
        });
    prop::collection::vec((range, 0i32..4), 0..4).prop_map(|rules| {
        let mut entries: Vec<ScheduleEntry> = rules
            .into_iter()
            .enumerate()
            .map(|(i, (range, priority))| {
                let mut e = entry(&format!("rule{i}"), priority, Target::All);
                e.occupancy = Some(range);
                e.layout = ["news", "idle", "promo"][i % 3].into();
                e
            })
            .collect();
        entries.push(entry("usual", 0, Target::All));
        set(entries)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// With a known audience and no schedule boundary, the screen never changes twice within
    /// the minimum display time, however noisy the count.
    #[test]
    fn switches_are_at_least_the_minimum_display_time_apart(
        rules in random_rules(), steps in noisy(35, false),
    ) {
        let settings = GateSettings::default();
        let mut gate = AudienceGate::new(settings);
        let mut t = 0;
        let mut last: Option<(String, i64)> = None;
        let mut switched_at: Option<i64> = None;
        for (dt, occupancy) in steps {
            t += dt;
            let audience = Audience { occupancy, ..Audience::default() };
            let now = shown(&gate.decide(&rules, &kita_lobby(), at_seconds(t), &audience, &[]));
            if let Some((before, _)) = &last && *before != now {
                if let Some(previous) = switched_at {
                    prop_assert!(
                        t - previous >= settings.min_display.num_seconds(),
                        "switched to {now} at {t}s, only {}s after the previous switch",
                        t - previous
                    );
                }
                switched_at = Some(t);
            }
            last = Some((now, t));
        }
    }

    /// Noise that stays within the hysteresis band never switches the crowd content off once
    /// it is on, nor on while it is off.
    #[test]
    fn noise_within_the_band_does_not_switch(
        noise in prop::collection::vec((1i64..30, 13u32..=17), 1..80),
        below in prop::collection::vec((1i64..30, 13u32..=14), 1..80),
    ) {
        let rules = crowd_rules(None);
        let mut gate = AudienceGate::default();
        let mut t = 0;
        prop_assert_eq!(shown(&gate.decide(&rules, &kita_lobby(), at_seconds(t), &people(15), &[])), "crowd");
        for (dt, n) in noise {
            t += dt;
            prop_assert_eq!(shown(&gate.decide(&rules, &kita_lobby(), at_seconds(t), &people(n), &[])), "crowd");
        }
        let mut gate = AudienceGate::default();
        for (dt, n) in below {
            t += dt;
            prop_assert_eq!(shown(&gate.decide(&rules, &kita_lobby(), at_seconds(t), &people(n), &[])), "usual");
        }
    }

    /// Whatever came before, an unknown audience never selects an entry with an audience
    /// condition.
    #[test]
    fn an_unknown_audience_never_matches(rules in random_rules(), steps in noisy(35, true)) {
        let mut gate = AudienceGate::default();
        let mut t = 0;
        for (dt, occupancy) in steps {
            t += dt;
            let audience = Audience { occupancy, ..Audience::default() };
            let d = gate.decide(&rules, &kita_lobby(), at_seconds(t), &audience, &[]);
            if occupancy.is_none() {
                prop_assert_eq!(shown(&d), "usual", "{}", d.reason);
            }
        }
    }

    /// Without hysteresis, once the audience has been steady for the minimum display time the
    /// gate agrees with the stateless selection.
    #[test]
    fn a_steady_audience_ends_where_select_does(
        rules in random_rules(), steps in noisy(35, true), steady in 0u32..35,
    ) {
        let rules = {
            let mut parts = parts(rules.entries().to_vec());
            for e in &mut parts.entries {
                if let Some(r) = &mut e.occupancy {
                    r.hysteresis = Some(0);
                }
            }
            ScheduleSet::new(parts).unwrap()
        };
        let mut gate = AudienceGate::default();
        let mut t = 0;
        for (dt, occupancy) in steps {
            t += dt;
            let audience = Audience { occupancy, ..Audience::default() };
            gate.decide(&rules, &kita_lobby(), at_seconds(t), &audience, &[]);
        }
        let audience = people(steady);
        let mut last = None;
        for dt in [1, 20, 1] {
            t += dt;
            last = Some(gate.decide(&rules, &kita_lobby(), at_seconds(t), &audience, &[]));
        }
        let expected = select(&rules, &kita_lobby(), at_seconds(t), &audience, &[]);
        prop_assert_eq!(last.unwrap().selection, expected);
    }
}

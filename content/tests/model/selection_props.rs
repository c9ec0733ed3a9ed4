//! Property tests of `select` and `assets_needed` on random schedules around the 2026/2027
//! year end, checked against a deliberately naive reading of the rules written here.

use std::collections::BTreeSet;

use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, TimeDelta, Timelike, Utc, WeekdaySet,
};
use content::alert::ActiveAlert;
use content::audience::{Audience, OccupancyRange};
use content::prefetch::assets_needed;
use content::schedule::{DateRange, Daypart, PlayerTarget, ScheduleEntry, Target};
use content::schedule_set::ScheduleSet;
use content::selection::{ScreenContent, Selection, select};
use proptest::prelude::*;

use crate::support::*;

fn targets() -> impl Strategy<Value = Target> {
    prop_oneof![
        Just(Target::All),
        Just(ward("kita")),
        Just(ward("chuo")),
        Just(group("lobby")),
        Just(group("counters")),
        Just(one_player("p1")),
        Just(one_player("p2")),
    ]
}

fn players() -> impl Strategy<Value = PlayerTarget> {
    prop_oneof![
        Just(player("p1", "kita", &["lobby"])),
        Just(player("p2", "chuo", &["lobby", "counters"])),
        Just(player("p3", "kita", &[])),
    ]
}

fn minute(m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(m / 60, m % 60, 0).unwrap()
}

/// None, one daypart (possibly crossing midnight) or two disjoint ones within a day.
fn dayparts() -> impl Strategy<Value = Vec<Daypart>> {
    let one = (0u32..1440, 1u32..1440).prop_map(|(start, len)| {
        vec![Daypart {
            start: minute(start),
            end: minute((start + len) % 1440),
        }]
    });
    let two = prop::collection::btree_set(0u32..1440, 4).prop_map(|cuts| {
        let c: Vec<u32> = cuts.into_iter().collect();
        vec![
            Daypart {
                start: minute(c[0]),
                end: minute(c[1]),
            },
            Daypart {
                start: minute(c[2]),
                end: minute(c[3]),
            },
        ]
    });
    prop_oneof![Just(vec![]), one, two]
}

fn occupancy() -> impl Strategy<Value = Option<OccupancyRange>> {
    prop_oneof![
        3 => Just(None),
        1 => (0u32..40, 1u32..40).prop_map(|(at_least, width)| Some(OccupancyRange::new(
            Some(at_least),
            Some(at_least + width),
        ))),
        1 => (0u32..40).prop_map(|at_least| Some(OccupancyRange::new(Some(at_least), None))),
        1 => (1u32..40).prop_map(|below| Some(OccupancyRange::new(None, Some(below)))),
    ]
}

fn base_day() -> NaiveDate {
    date("2026-12-20")
}

fn entries() -> impl Strategy<Value = Vec<ScheduleEntry>> {
    let one = (
        prop::collection::vec(targets(), 1..3),
        0u64..20,
        prop::option::of(1u64..15),
        1u8..128,
        dayparts(),
        (occupancy(), occupancy()),
        0i32..4,
        prop_oneof![Just("promo"), Just("news"), Just("idle")],
    );
    prop::collection::vec(one, 0..8).prop_map(|raw| {
        raw.into_iter()
            .enumerate()
            .map(
                |(
                    i,
                    (targets, start, length, days, dayparts, (occupancy, inflow), priority, layout),
                )| {
                    let start = base_day() + TimeDelta::days(start as i64);
                    ScheduleEntry {
                        id: format!("e{i}").as_str().into(),
                        targets,
                        dates: DateRange {
                            start,
                            end: length.map(|l| start + TimeDelta::days(l as i64)),
                        },
                        weekdays: (0..7u8)
                            .filter(|bit| days & (1 << bit) != 0)
                            .map(|bit| chrono::Weekday::try_from(bit).unwrap())
                            .collect::<WeekdaySet>(),
                        dayparts,
                        named_dayparts: vec![],
                        days: None,
                        occupancy,
                        inflow_per_min: inflow,
                        dwell_s: None,
                        priority,
                        layout: layout.into(),
                    }
                },
            )
            .collect()
    })
}

/// Instants from 2026-12-18 to 2027-01-20 at second precision, dense at Tokyo midnights.
fn instants() -> impl Strategy<Value = DateTime<Utc>> {
    let start = jst("2026-12-18T00:00:00");
    prop_oneof![
        (0i64..33 * 86_400).prop_map(move |s| start + TimeDelta::seconds(s)),
        (0i64..33, -2i64..2)
            .prop_map(move |(d, s)| start + TimeDelta::days(d) + TimeDelta::seconds(s)),
    ]
}

fn audiences() -> impl Strategy<Value = Audience> {
    (prop::option::of(0u32..60), prop::option::of(0u32..60)).prop_map(
        |(occupancy, inflow_per_min)| Audience {
            occupancy,
            inflow_per_min,
            dwell_s: None,
        },
    )
}

/// The rules as a person would read them, on Tokyo wall-clock time.
fn naive_is_active(
    entry: &ScheduleEntry,
    who: &PlayerTarget,
    now: DateTime<Utc>,
    audience: &Audience,
) -> bool {
    let local = now
        .with_timezone(&FixedOffset::east_opt(9 * 3600).unwrap())
        .naive_local();
    let (today, time) = (local.date(), local.time());
    let starts_on = |day: NaiveDate| {
        entry.dates.start <= day
            && entry.dates.end.is_none_or(|end| day < end)
            && entry.weekdays.contains(day.weekday())
    };
    let in_time = if entry.dayparts.is_empty() {
        starts_on(today)
    } else {
        entry.dayparts.iter().any(|p| {
            if p.start < p.end {
                starts_on(today) && p.start <= time && time < p.end
            } else {
                (starts_on(today) && p.start <= time)
                    || (starts_on(today.pred_opt().unwrap()) && time < p.end)
            }
        })
    };
    let in_range = |range: &Option<OccupancyRange>, value: Option<u32>| {
        range.as_ref().is_none_or(|range| {
            value.is_some_and(|n| {
                range.at_least.is_none_or(|a| n >= a) && range.below.is_none_or(|b| n < b)
            })
        })
    };
    let audience_ok = in_range(&entry.occupancy, audience.occupancy)
        && in_range(&entry.inflow_per_min, audience.inflow_per_min)
        && in_range(&entry.dwell_s, audience.dwell_s);
    naive_specificity(entry, who).is_some() && in_time && audience_ok
}

/// 0 all, 1 ward, 2 group, 3 player: the best target naming the player.
fn naive_specificity(entry: &ScheduleEntry, who: &PlayerTarget) -> Option<u8> {
    entry
        .targets
        .iter()
        .filter_map(|t| match t {
            Target::All => Some(0),
            Target::Ward(w) => (*w == who.ward).then_some(1),
            Target::Group(g) => who.groups.contains(g).then_some(2),
            Target::Player(p) => (*p == who.id).then_some(3),
        })
        .max()
}

fn screen(selection: &Selection) -> &ScreenContent {
    match selection {
        Selection::Scheduled { screen, .. } | Selection::Fallback { screen } => screen,
        Selection::Alert { .. } | Selection::Off { .. } => {
            panic!("no alert or power rule was given: {selection:?}")
        }
    }
}

fn checked_set(entries: Vec<ScheduleEntry>) -> ScheduleSet {
    ScheduleSet::new(parts(entries)).expect("generated entries are valid")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Every zone of the chosen layout plays an item that covers the instant.
    #[test]
    fn there_is_always_something_to_show(
        entries in entries(), who in players(), now in instants(), audience in audiences(),
    ) {
        let schedule = checked_set(entries);
        let selection = select(&schedule, &who, now, &audience, &[]);
        let screen = screen(&selection);
        let layout = schedule.layout(&screen.layout).unwrap();
        prop_assert!(!screen.zones.is_empty());
        prop_assert_eq!(screen.zones.len(), layout.zones.len());
        for (shown, zone) in screen.zones.iter().zip(&layout.zones) {
            prop_assert_eq!(&shown.zone, &zone.id);
            let playlist = schedule.playlist(&zone.playlist).unwrap();
            prop_assert_eq!(&playlist.items[shown.item].asset, &shown.asset);
            prop_assert!(shown.started_at <= now && now < shown.ends_at);
            let length = schedule.item_durations_ms(&zone.playlist).unwrap()[shown.item];
            prop_assert_eq!(shown.ends_at - shown.started_at, TimeDelta::milliseconds(length as i64));
        }
    }

    /// The winner is the naive reading's best active entry (priority, then specificity, then
    /// smaller id), the shadowed entries are the other active ones in that order, and with no
    /// active entry the fallback shows.
    #[test]
    fn the_best_active_entry_wins(
        entries in entries(), who in players(), now in instants(), audience in audiences(),
    ) {
        let mut active: Vec<&ScheduleEntry> =
            entries.iter().filter(|e| naive_is_active(e, &who, now, &audience)).collect();
        active.sort_by_key(|e| (-e.priority, std::cmp::Reverse(naive_specificity(e, &who)), e.id.clone()));
        let expected: Vec<String> = active.iter().map(|e| e.id.to_string()).collect();
        let schedule = checked_set(entries.clone());
        let selection = select(&schedule, &who, now, &audience, &[]);
        match &selection {
            Selection::Fallback { screen } => {
                prop_assert!(expected.is_empty(), "fallback although {:?} are active", expected);
                prop_assert_eq!(&screen.layout, schedule.fallback_layout());
            }
            Selection::Scheduled { entry, occurrence, shadowed_entries, screen } => {
                let mut got = vec![entry.to_string()];
                got.extend(shadowed_entries.iter().map(ToString::to_string));
                prop_assert_eq!(got, expected);
                let winner = entries.iter().find(|e| e.id == *entry).unwrap();
                prop_assert_eq!(&screen.layout, &winner.layout);
                prop_assert!(occurrence.contains(now));
                let max_priority = active.iter().map(|e| e.priority).max().unwrap();
                prop_assert_eq!(winner.priority, max_priority);
            }
            Selection::Alert { .. } => prop_assert!(false, "no alert was given"),
            Selection::Off { .. } => prop_assert!(false, "no power rule was given"),
        }
    }

    /// Playlists of a winning entry loop from the start of its occurrence.
    #[test]
    fn playlists_restart_with_each_occurrence(
        entries in entries(), who in players(), now in instants(), audience in audiences(),
    ) {
        let schedule = checked_set(entries);
        if let Selection::Scheduled { occurrence, screen, .. } = select(&schedule, &who, now, &audience, &[]) {
            for zone in &screen.zones {
                let durations = schedule.item_durations_ms(&zone.playlist).unwrap();
                let cycle: u64 = durations.iter().sum();
                let before: u64 = durations[..zone.item].iter().sum();
                let since_start = (zone.started_at - occurrence.start).num_milliseconds();
                prop_assert!(since_start >= 0);
                prop_assert_eq!(since_start as u64 % cycle, before);
            }
            let local_start = occurrence.start.with_timezone(&content::tokyo::TOKYO);
            prop_assert_eq!(local_start.second(), 0);
        }
    }

    /// Nothing changes before the player's next entry boundary or the end of an item on
    /// screen (same audience, no alerts): the player may sleep until then. Up to the boundary
    /// alone, the winner and the entries it shadows stay the same (items may move on).
    #[test]
    fn the_selection_holds_until_the_next_boundary_or_item_end(
        entries in entries(), who in players(), now in instants(), audience in audiences(),
        fraction in 0.0f64..1.0,
    ) {
        let schedule = checked_set(entries);
        let first = select(&schedule, &who, now, &audience, &[]);
        let horizon = now + TimeDelta::days(2);
        let boundary = schedule.next_boundary(&who, now, horizon);
        if let Some(b) = boundary {
            prop_assert!(b > now);
        }
        let entries_until = boundary.unwrap_or(horizon).min(horizon);
        let item_end = screen(&first).zones.iter().map(|z| z.ends_at).min().unwrap();
        let winner = |selection: &Selection| match selection {
            Selection::Scheduled { entry, occurrence, shadowed_entries, .. } => {
                format!("{entry} {occurrence:?} {shadowed_entries:?}")
            }
            other => format!("{other:?}").chars().take(8).collect(),
        };
        for (until, whole) in [(entries_until, false), (entries_until.min(item_end), true)] {
            let span = (until - now).num_milliseconds();
            prop_assert!(span > 0);
            for offset in [0, (span as f64 * fraction) as i64, span - 1] {
                let at = now + TimeDelta::milliseconds(offset);
                let later = select(&schedule, &who, at, &audience, &[]);
                if whole {
                    prop_assert_eq!(&later, &first, "changed at {} (held until {})", at, until);
                } else {
                    prop_assert_eq!(winner(&later), winner(&first), "changed at {} (boundary {})", at, until);
                }
            }
        }
    }

    /// Same inputs, same answer, whatever the order of the entries.
    #[test]
    fn selection_is_deterministic(
        (entries, shuffled) in entries().prop_flat_map(|e| (Just(e.clone()), Just(e).prop_shuffle())),
        who in players(), now in instants(), audience in audiences(),
    ) {
        let schedule = checked_set(entries);
        let first = select(&schedule, &who, now, &audience, &[]);
        prop_assert_eq!(&first, &select(&schedule, &who, now, &audience, &[]));
        prop_assert_eq!(&first, &select(&checked_set(shuffled), &who, now, &audience, &[]));
        let json = serde_json::to_string(&schedule).unwrap();
        let reread: ScheduleSet = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&first, &select(&reread, &who, now, &audience, &[]));
    }

    /// An unexpired alert naming the player takes over, whatever the schedule.
    #[test]
    fn an_alert_preempts_every_entry(
        entries in entries(), now in instants(), audience in audiences(),
        target in prop_oneof![Just(Target::All), Just(ward("kita")), Just(group("lobby")), Just(one_player("p1"))],
        expires_in in prop::option::of(1i64..100_000),
    ) {
        let alert = ActiveAlert {
            id: "alert".into(),
            targets: vec![target],
            level: 4,
            issued_at: now - TimeDelta::minutes(5),
            expires_at: expires_in.map(|s| now + TimeDelta::seconds(s)),
        };
        let schedule = checked_set(entries);
        let selection = select(&schedule, &kita_lobby(), now, &audience, &[alert]);
        let is_alert = matches!(selection, Selection::Alert { ref alert, .. } if alert.0 == "alert");
        prop_assert!(is_alert, "{:?}", selection);
    }

    /// Start inclusive, end exclusive, at Tokyo midnight, across month and year ends.
    #[test]
    fn date_range_boundaries(start in 0i64..4000, length in 1i64..400) {
        let start = date("2025-01-01") + TimeDelta::days(start);
        let end = start + TimeDelta::days(length);
        let mut e = entry("e", 1, Target::All);
        e.dates = DateRange { start, end: Some(end) };
        let schedule = checked_set(vec![e]);
        let midnight = |day: NaiveDate| jst(&format!("{day}T00:00:00"));
        let one_ns = TimeDelta::nanoseconds(1);
        prop_assert_eq!(check(&schedule, midnight(start) - one_ns), "fallback");
        prop_assert_eq!(check(&schedule, midnight(start)), "e");
        prop_assert_eq!(check(&schedule, midnight(end) - one_ns), "e");
        prop_assert_eq!(check(&schedule, midnight(end)), "fallback");
    }

    /// Whatever the audience and whenever in the window, what is selected is in the manifest.
    #[test]
    fn prefetch_covers_every_selection_in_its_window(
        entries in entries(), who in players(), from in instants(), days in 0u32..5,
        offsets in prop::collection::vec(0f64..1.0, 1..8), audience in audiences(),
    ) {
        let schedule = checked_set(entries);
        let needed = assets_needed(&schedule, &who, from, days);
        let ids: Vec<_> = needed.iter().map(|a| a.id.clone()).collect();
        let unique: BTreeSet<_> = ids.iter().cloned().collect();
        prop_assert_eq!(ids.len(), unique.len());
        prop_assert!(ids.is_sorted());
        let window_s = i64::from(days) * 86_400;
        for offset in offsets {
            let at = from + TimeDelta::seconds((offset * window_s as f64) as i64);
            if at >= from + TimeDelta::days(i64::from(days)) {
                continue;
            }
            for zone in &screen(&select(&schedule, &who, at, &audience, &[])).zones {
                prop_assert!(unique.contains(&zone.asset), "{} missing at {}", zone.asset, at);
            }
        }
    }
}

/// Boundaries of the player's own entries only, the nearest first, crossing midnight.
#[test]
fn the_next_boundary_is_the_nearest_start_or_end_of_the_players_entries() {
    let mut morning = entry("morning", 1, ward("kita"));
    morning.dayparts = vec![daypart("09:00", "10:00")];
    let mut night = entry("night", 1, Target::All);
    night.dayparts = vec![daypart("23:00", "01:00")];
    let mut elsewhere = entry("elsewhere", 1, ward("chuo"));
    elsewhere.dayparts = vec![daypart("08:45", "08:50")];
    let schedule = checked_set(vec![morning, night, elsewhere]);
    let kita = kita_lobby();
    let day = |hms: &str| jst(&format!("2026-12-21T{hms}"));
    let next = |now: DateTime<Utc>| schedule.next_boundary(&kita, now, now + TimeDelta::days(1));
    assert_eq!(next(day("08:30:00")), Some(day("09:00:00")));
    assert_eq!(next(day("09:00:00")), Some(day("10:00:00")));
    assert_eq!(next(day("09:59:59")), Some(day("10:00:00")));
    assert_eq!(next(day("10:00:00")), Some(day("23:00:00")));
    assert_eq!(next(day("23:30:00")), Some(jst("2026-12-22T01:00:00")));
    // Looking only an hour ahead from 10:00, nothing starts.
    assert_eq!(
        schedule.next_boundary(&kita, day("10:00:00"), day("11:00:00")),
        None
    );
    // The other ward's entry is no boundary for this player; it is for a player there.
    let chuo = player("p2", "chuo", &[]);
    assert_eq!(
        schedule.next_boundary(&chuo, day("08:30:00"), day("12:00:00")),
        Some(day("08:45:00"))
    );
}

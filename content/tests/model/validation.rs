//! Validation of a whole schedule set: every problem reported at once, each naming its field.

use content::asset::{Asset, AssetKind};
use content::layout::Zone;
use content::playlist::PlaylistItem;
use content::schedule::{DateRange, Target};
use content::schedule_set::ScheduleSet;
use content::validation::Problem;

use crate::support::*;

/// Problems of `parts` as "field: message" lines.
fn check(parts: content::schedule_set::ScheduleSetParts) -> Vec<String> {
    match ScheduleSet::new(parts) {
        Ok(_) => vec![],
        Err(invalid) => invalid.0.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn the_fixture_is_valid() {
    assert_eq!(
        check(parts(vec![entry("e1", 1, Target::All)])),
        Vec::<String>::new()
    );
}

#[test]
fn every_problem_is_reported_with_its_field() {
    let mut p = parts(vec![]);
    p.assets.push(p.assets[0].clone());
    p.assets.push(Asset {
        id: "long-video".into(),
        meta: Default::default(),
        kind: AssetKind::Video {
            file: file(9, 0),
            duration_ms: None,
        },
    });
    p.playlists[0].items.push(PlaylistItem {
        asset: "ghost".into(),
        duration_ms: None,
    });
    p.playlists[1].items[1].duration_ms = Some(200);
    p.layouts[1].zones.push(Zone {
        id: "side".into(),
        x: 1900,
        y: 0,
        width: 100,
        height: 100,
        z: 5,
        playlist: "nowhere".into(),
    });
    let mut bad = entry("bad", 1, Target::All);
    bad.targets.clear();
    bad.dates = DateRange {
        start: date("2027-01-01"),
        end: Some(date("2027-01-01")),
    };
    bad.weekdays = chrono::WeekdaySet::EMPTY;
    bad.dayparts = vec![
        daypart("09:00", "09:00"),
        daypart("08:00", "12:00"),
        daypart("11:00", "13:00"),
    ];
    bad.layout = "missing".into();
    p.entries = vec![
        bad,
        entry("twin", 1, Target::All),
        entry("twin", 2, Target::All),
    ];
    p.fallback_layout = "gone".into();

    assert_eq!(
        check(p),
        [
            "assets[5].id: duplicate id \"welcome\"; give each one its own id",
            "assets[long-video].file.size_bytes: size_bytes is 0; upload the file again",
            "playlists[idle].items[2].asset: no asset has id \"ghost\"; create it first or correct the id",
            "playlists[promo].items[1].duration_ms: lasts 200 ms; an item must last at least 1000 ms so that no zone changes more than once a second (flash safety, WCAG 2.3.1)",
            "layouts[promo].zones[side].width: the zone reaches 2000 but the canvas ends at 1920; move or shrink the zone",
            "layouts[promo].zones[side].playlist: no playlist has id \"nowhere\"; create it first or correct the id",
            "entries[bad].targets: list at least one target; use {\"kind\":\"all\"} for every player",
            "entries[bad].dates.end: end 2027-01-01 is not after start 2027-01-01; the end date is exclusive, so an entry for one day ends on the next day",
            "entries[bad].weekdays: select at least one weekday",
            "entries[bad].dayparts[0]: start and end are both 09:00:00; remove the daypart to play all day",
            "entries[bad].dayparts[2]: overlaps dayparts[1]; merge them or make them adjacent",
            "entries[bad].layout: no layout has id \"missing\"; create it first or correct the id",
            "entries[2].id: duplicate id \"twin\"; give each one its own id",
            "fallback_layout: no layout has id \"gone\"; create it first or correct the id",
        ]
    );
}

#[test]
fn dayparts_overlapping_across_midnight_are_rejected() {
    let cases = [
        (("22:00", "02:00"), ("01:00", "05:00"), true),
        (("22:00", "02:00"), ("02:00", "05:00"), false),
        (("22:00", "02:00"), ("21:00", "22:00"), false),
        (("22:00", "02:00"), ("21:00", "22:01"), true),
        (("00:00", "12:00"), ("12:00", "00:00"), false),
        (("20:00", "04:00"), ("23:00", "01:00"), true),
    ];
    for ((a_start, a_end), (b_start, b_end), overlap) in cases {
        let mut e = entry("e", 1, Target::All);
        e.dayparts = vec![daypart(a_start, a_end), daypart(b_start, b_end)];
        let problems = e.problems();
        assert_eq!(
            problems
                .iter()
                .any(|p| p.problem == Problem::DaypartsOverlap(0)),
            overlap,
            "{a_start}-{a_end} and {b_start}-{b_end}: {problems:?}"
        );
    }
}

#[test]
fn video_items_may_not_override_the_natural_length() {
    let mut p = parts(vec![]);
    p.playlists[1].items[0].duration_ms = Some(5_000);
    assert_eq!(
        check(p),
        [
            "playlists[promo].items[0].duration_ms: videos play to their natural length; remove duration_ms"
        ]
    );
}

#[test]
fn the_error_lists_all_problems() {
    let mut p = parts(vec![]);
    p.fallback_layout = "gone".into();
    p.layouts[0].zones.clear();
    let error = ScheduleSet::new(p).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the schedule set has 2 problem(s):\n  layouts[idle].zones: a layout needs at least one zone\n  fallback_layout: no layout has id \"gone\"; create it first or correct the id"
    );
}

#[test]
fn the_set_reads_from_hand_written_json_and_rejects_invalid_json() {
    let json = r##"{
        "assets": [
            {"id": "hours", "kind": "text_slide",
             "texts": {"ja": {"title": "開庁時間", "body": "平日 9:00-17:30"},
                       "ja-easy": {"title": "あいている じかん", "body": "へいじつ 9じ から 5じはん"},
                       "en": {"title": "Opening hours", "body": "Weekdays 9:00-17:30"}},
             "colours": {"text": "#ffffff", "background": "#1a1a1a"}},
            {"id": "clip", "kind": "video", "duration_ms": 15000,
             "file": {"sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "size_bytes": 1048576}}
        ],
        "playlists": [{"id": "main", "items": [{"asset": "clip"}, {"asset": "hours", "duration_ms": 8000}]}],
        "layouts": [{"id": "full", "canvas": {"width": 1080, "height": 1920},
                     "zones": [{"id": "main", "x": 0, "y": 0, "width": 1080, "height": 1920, "playlist": "main"}]}],
        "entries": [{"id": "mornings", "targets": [{"kind": "ward", "id": "kita"}, {"kind": "player", "id": "kita-1f-01"}],
                     "dates": {"start": "2026-04-01"}, "weekdays": ["Mon", "tue", "Wednesday"],
                     "dayparts": [{"start": "08:45", "end": "12:00"}], "priority": 10, "layout": "full",
                     "a_field_from_a_newer_controller": true}],
        "fallback_layout": "full"
    }"##;
    let schedule: ScheduleSet = serde_json::from_str(json).unwrap();
    let entry = &schedule.entries()[0];
    assert_eq!(entry.weekdays.len(), 3);
    assert_eq!(entry.dayparts, [daypart("08:45", "12:00")]);
    assert_eq!(entry.targets[1], one_player("kita-1f-01"));
    assert_eq!(
        schedule.item_durations_ms(&"main".into()),
        Some(&[15_000, 8_000][..])
    );
    let round_trip: ScheduleSet =
        serde_json::from_str(&serde_json::to_string(&schedule).unwrap()).unwrap();
    assert_eq!(round_trip, schedule);

    let invalid = json.replace(
        "\"fallback_layout\": \"full\"",
        "\"fallback_layout\": \"none\"",
    );
    let error = serde_json::from_str::<ScheduleSet>(&invalid).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("fallback_layout: no layout has id \"none\""),
        "{error}"
    );
}

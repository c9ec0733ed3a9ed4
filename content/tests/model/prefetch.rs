//! Table tests of `assets_needed`, the input of each player's download manifest.

use content::audience::OccupancyRange;
use content::prefetch::assets_needed;
use content::schedule::{DateRange, ScheduleEntry, Target};

use crate::support::*;

/// Asset ids `kita_lobby()` needs from `from` (Tokyo time) for `days` days.
fn check(entries: Vec<ScheduleEntry>, from: &str, days: u32) -> Vec<String> {
    let schedule = set(entries);
    assets_needed(&schedule, &kita_lobby(), jst(from), days)
        .iter()
        .map(|asset| asset.id.to_string())
        .collect()
}

const FALLBACK: [&str; 3] = ["map", "news", "welcome"];
const WITH_PROMO: [&str; 5] = ["hours", "map", "news", "promo-video", "welcome"];

fn from_to(id: &str, target: Target, start: &str, end: &str) -> ScheduleEntry {
    let mut e = entry(id, 1, target);
    e.dates = DateRange {
        start: date(start),
        end: Some(date(end)),
    };
    e
}

#[test]
fn the_fallback_is_always_needed() {
    assert_eq!(check(vec![], "2026-06-01T12:00:00", 7), FALLBACK);
    assert_eq!(check(vec![], "2026-06-01T12:00:00", 0), FALLBACK);
}

#[test]
fn entries_count_only_for_their_targets_and_within_the_window() {
    let from = "2026-06-01T12:00:00";
    let chuo = from_to("chuo", ward("chuo"), "2026-06-01", "2026-07-01");
    assert_eq!(check(vec![chuo], from, 7), FALLBACK);
    let next_week = from_to("later", Target::All, "2026-06-08", "2026-06-09");
    assert_eq!(check(vec![next_week.clone()], from, 7), WITH_PROMO);
    assert_eq!(check(vec![next_week], from, 6), FALLBACK);
    let ended = from_to("ended", Target::All, "2026-05-01", "2026-06-01");
    assert_eq!(check(vec![ended], from, 7), FALLBACK);
    let mut later_today = entry("evening", 1, group("lobby"));
    later_today.dayparts = vec![daypart("18:00", "19:00")];
    assert_eq!(check(vec![later_today.clone()], from, 1), WITH_PROMO);
    assert_eq!(check(vec![later_today], "2026-06-01T19:00:00", 0), FALLBACK);
}

#[test]
fn audience_conditions_and_priorities_do_not_reduce_what_is_needed() {
    let mut crowded = entry("crowded", 1, Target::All);
    crowded.occupancy = Some(OccupancyRange::new(Some(30), None));
    assert_eq!(check(vec![crowded], "2026-06-01T12:00:00", 1), WITH_PROMO);
    let mut news = entry("news-only", 9, Target::All);
    news.layout = "news".into();
    let shadowed = entry("shadowed", 1, Target::All);
    assert_eq!(
        check(vec![news, shadowed], "2026-06-01T12:00:00", 1),
        WITH_PROMO
    );
}

#[test]
fn an_occurrence_started_yesterday_still_counts() {
    let mut new_years_eve = from_to("eve", Target::All, "2026-12-31", "2027-01-01");
    new_years_eve.dayparts = vec![daypart("22:00", "02:00")];
    assert_eq!(
        check(vec![new_years_eve.clone()], "2027-01-01T01:00:00", 1),
        WITH_PROMO
    );
    assert_eq!(
        check(vec![new_years_eve], "2027-01-01T02:00:00", 1),
        FALLBACK
    );
}

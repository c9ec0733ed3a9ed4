//! Display windows (掲載開始 / 掲載期限): an asset outside its window leaves every playlist
//! by itself, in `select` (so on an offline player too), and the screen is selected again
//! the moment a window opens or closes.

use chrono::{DateTime, TimeDelta, Utc};
use content::asset::AssetMeta;
use content::audience::Audience;
use content::playlist::loop_position;
use content::schedule_set::ScheduleSet;
use content::selection::{Selection, ZoneContent, select, windowed_position};
use proptest::prelude::*;

use crate::support::*;

/// The fallback layout's zones for `kita_lobby()` at `at`.
fn zones(set: &ScheduleSet, at: DateTime<Utc>) -> Vec<ZoneContent> {
    match select(set, &kita_lobby(), at, &Audience::default(), &[]) {
        Selection::Fallback { screen } => screen.zones,
        other => panic!("expected the fallback, got {other:?}"),
    }
}

fn with_window(id: &str, from: Option<&str>, until: Option<&str>) -> ScheduleSet {
    let mut parts = parts(vec![]);
    let asset = parts.assets.iter_mut().find(|a| a.id.0 == id).unwrap();
    asset.meta.shown_from = from.map(jst);
    asset.meta.shown_until = until.map(jst);
    ScheduleSet::new(parts).unwrap()
}

/// Every second of `minutes` minutes from `start`: the main zone's assets seen.
fn seen(set: &ScheduleSet, start: &str, minutes: i64) -> Vec<String> {
    let start = jst(start);
    let mut seen: Vec<String> = (0..minutes * 60)
        .map(|s| start + TimeDelta::seconds(s))
        .filter_map(|t| zones(set, t).into_iter().find(|z| z.zone.0 == "main"))
        .map(|z| z.asset.0)
        .collect();
    seen.sort();
    seen.dedup();
    seen
}

#[test]
fn an_asset_past_its_deadline_leaves_the_loop_by_itself() {
    let set = with_window("map", None, Some("2026-12-10T17:00:00"));
    assert_eq!(seen(&set, "2026-12-10T16:50:00", 5), ["map", "welcome"]);
    assert_eq!(seen(&set, "2026-12-10T17:00:00", 5), ["welcome"]);
    // The item showing just before the deadline ends at it, so the screen changes then.
    let before = jst("2026-12-10T17:00:00") - TimeDelta::seconds(1);
    let main = zones(&set, before)
        .into_iter()
        .find(|z| z.zone.0 == "main")
        .unwrap();
    assert!(main.ends_at <= jst("2026-12-10T17:00:00"), "{main:?}");
}

#[test]
fn an_asset_is_not_shown_before_its_window_opens() {
    let set = with_window("map", Some("2026-12-10T09:00:00"), None);
    assert_eq!(seen(&set, "2026-12-10T08:50:00", 5), ["welcome"]);
    assert_eq!(seen(&set, "2026-12-10T09:00:00", 5), ["map", "welcome"]);
    // The loop starts again when the window opens: the first item at 09:00 sharp.
    let first = zones(&set, jst("2026-12-10T09:00:00"));
    let main = first.iter().find(|z| z.zone.0 == "main").unwrap();
    assert_eq!(
        (main.item, main.started_at),
        (0, jst("2026-12-10T09:00:00"))
    );
}

#[test]
fn a_zone_with_nothing_left_to_show_stays_empty() {
    let set = with_window("news", None, Some("2026-12-10T12:00:00"));
    let ids =
        |at: &str| -> Vec<String> { zones(&set, jst(at)).into_iter().map(|z| z.zone.0).collect() };
    assert_eq!(ids("2026-12-10T11:59:00"), ["main", "ticker"]);
    assert_eq!(ids("2026-12-10T12:00:00"), ["main"]);
}

fn meta(from: Option<i64>, until: Option<i64>) -> AssetMeta {
    let at = |s: i64| DateTime::UNIX_EPOCH + TimeDelta::seconds(s);
    AssetMeta {
        shown_from: from.map(at),
        shown_until: until.map(at),
        ..AssetMeta::default()
    }
}

fn windows() -> impl Strategy<Value = AssetMeta> {
    let edge = prop::option::of(0i64..2_000);
    (edge.clone(), edge).prop_map(|(a, b)| match (a, b) {
        (Some(a), Some(b)) if b <= a => meta(Some(b), Some(a + 1)),
        (a, b) => meta(a, b),
    })
}

proptest! {
    #[test]
    fn the_item_found_may_be_shown_and_ends_by_the_next_window_change(
        items in prop::collection::vec((1_000u64..60_000, windows()), 1..6),
        anchor in 0i64..500,
        now in 0i64..3_000,
    ) {
        let at = |s: i64| DateTime::UNIX_EPOCH + TimeDelta::seconds(s);
        let (anchor, now) = (at(anchor), at(now));
        let durations: Vec<u64> = items.iter().map(|(d, _)| *d).collect();
        let metas: Vec<&AssetMeta> = items.iter().map(|(_, m)| m).collect();
        let found = windowed_position(&durations, &metas, anchor, now);
        let any_shown = metas.iter().any(|m| m.shown_at(now));
        prop_assert_eq!(found.is_some(), any_shown);
        if let Some(p) = found {
            prop_assert!(metas[p.index].shown_at(now), "an item outside its window");
            prop_assert!(p.started_at <= now && now < p.ends_at);
            let next_change = metas
                .iter()
                .flat_map(|m| [m.shown_from, m.shown_until])
                .flatten()
                .filter(|b| *b > now)
                .min();
            if let Some(change) = next_change {
                prop_assert!(p.ends_at <= change, "ends after the next window change");
            }
        }
        // Without windows it is the plain loop.
        let open: Vec<AssetMeta> = vec![AssetMeta::default(); durations.len()];
        let open: Vec<&AssetMeta> = open.iter().collect();
        prop_assert_eq!(
            windowed_position(&durations, &open, anchor, now),
            loop_position(&durations, anchor, now)
        );
    }
}

#[test]
fn a_window_that_ends_before_it_starts_is_refused() {
    let mut parts = parts(vec![]);
    parts.assets[0].meta.shown_from = Some(jst("2026-12-10T09:00:00"));
    parts.assets[0].meta.shown_until = Some(jst("2026-12-10T08:00:00"));
    let problems = parts.assets[0].problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].field, "shown_until");
}

//! Drafts of proposed changes and what they would do to each screen.

use content::changes::{Change, Draft, Object, ObjectKind, ObjectRef, reach, screen_changes};
use content::playlist::PlaylistItem;
use content::schedule::ScheduleEntry;
use content::schedule_set::{ScheduleSet, ScheduleSetParts};
use proptest::prelude::*;

use crate::support::*;

fn r(kind: ObjectKind, id: &str) -> ObjectRef {
    ObjectRef {
        kind,
        id: id.into(),
    }
}

fn asset_in(parts: &ScheduleSetParts, id: &str) -> content::asset::Asset {
    parts.assets.iter().find(|a| a.id.0 == id).unwrap().clone()
}

fn put(object: Object) -> Change {
    Change::Put { object }
}

fn delete(kind: ObjectKind, id: &str) -> Change {
    Change::Delete {
        target: r(kind, id),
    }
}

fn retitled(parts: &ScheduleSetParts, id: &str, title: &str) -> Object {
    let mut asset = asset_in(parts, id);
    asset.meta.title = title.into();
    Object::Asset(asset)
}

fn kita_entry() -> ScheduleEntry {
    entry("kita-promo", 5, ward("kita"))
}

#[test]
fn a_later_change_of_the_same_object_replaces_the_earlier_one() {
    let live = parts(vec![]);
    let mut draft = Draft::default();
    draft.record(put(retitled(&live, "map", "地図")), &live);
    draft.record(put(retitled(&live, "map", "区役所の地図")), &live);
    assert_eq!(draft.changes().len(), 1);
    let applied = draft.apply(&live);
    assert_eq!(asset_in(&applied, "map").meta.title, "区役所の地図");
    // The rest of the set is untouched.
    assert_eq!(applied.playlists, live.playlists);
    assert_eq!(applied.assets.len(), live.assets.len());
}

#[test]
fn an_undone_edit_and_the_delete_of_a_drafted_object_leave_nothing_to_approve() {
    let live = parts(vec![]);
    let mut draft = Draft::default();
    draft.record(put(retitled(&live, "map", "地図")), &live);
    draft.record(put(Object::Asset(asset_in(&live, "map"))), &live);
    assert!(draft.is_empty(), "{draft:?}");

    let mut new_entry = kita_entry();
    new_entry.id = "new".into();
    draft.record(put(Object::Entry(new_entry)), &live);
    assert_eq!(draft.changes().len(), 1);
    draft.record(delete(ObjectKind::Entry, "new"), &live);
    assert!(draft.is_empty(), "{draft:?}");

    draft.record(
        Change::Fallback {
            layout: "idle".into(),
        },
        &live,
    );
    assert!(
        draft.is_empty(),
        "choosing the live fallback changes nothing"
    );
}

#[test]
fn deletes_and_fallbacks_apply_and_the_result_validates() {
    let live = parts(vec![kita_entry()]);
    let mut draft = Draft::default();
    draft.record(delete(ObjectKind::Entry, "kita-promo"), &live);
    draft.record(
        Change::Fallback {
            layout: "news".into(),
        },
        &live,
    );
    assert!(draft.sets_fallback());
    let applied = draft.apply(&live);
    assert!(applied.entries.is_empty());
    assert_eq!(applied.fallback_layout.0, "news");
    ScheduleSet::new(applied).unwrap();
}

#[test]
fn a_draft_round_trips_through_json_in_order() {
    let live = parts(vec![kita_entry()]);
    let mut draft = Draft::default();
    draft.record(put(retitled(&live, "hours", "開庁時間")), &live);
    draft.record(delete(ObjectKind::Entry, "kita-promo"), &live);
    draft.record(
        Change::Fallback {
            layout: "news".into(),
        },
        &live,
    );
    let json = serde_json::to_value(&draft).unwrap();
    assert_eq!(json[0]["op"], "put");
    assert_eq!(json[0]["object"]["kind"], "asset");
    assert_eq!(
        json[1]["target"],
        serde_json::json!({"kind": "entry", "id": "kita-promo"})
    );
    assert_eq!(json[2]["layout"], "news");
    let back: Draft = serde_json::from_value(json).unwrap();
    assert_eq!(back, draft);
}

#[test]
fn files_of_drafted_assets_are_listed_so_the_sweep_keeps_them() {
    let live = parts(vec![]);
    let mut draft = Draft::default();
    let mut poster = asset_in(&live, "map");
    poster.id = "poster".into();
    poster.kind = content::asset::AssetKind::Image { file: file(9, 10) };
    draft.record(put(Object::Asset(poster)), &live);
    draft.record(put(retitled(&live, "welcome", "ようこそ")), &live);
    let files: Vec<String> = draft.files().map(ToString::to_string).collect();
    assert_eq!(files, vec![file(9, 10).sha256.to_string()]);
}

#[test]
fn a_screen_reaches_its_entries_layouts_playlists_and_assets() {
    let live = parts(vec![kita_entry(), entry("naniwa", 5, ward("naniwa"))]);
    let now = jst("2026-12-10T10:00:00");
    let seen = reach(&live, &kita_lobby(), now);
    let expected: Vec<ObjectRef> = [
        (ObjectKind::Asset, "hours"),
        (ObjectKind::Asset, "map"),
        (ObjectKind::Asset, "news"),
        (ObjectKind::Asset, "promo-video"),
        (ObjectKind::Asset, "welcome"),
        (ObjectKind::Playlist, "idle"),
        (ObjectKind::Playlist, "promo"),
        (ObjectKind::Playlist, "ticker"),
        (ObjectKind::Layout, "idle"),
        (ObjectKind::Layout, "promo"),
        (ObjectKind::Entry, "kita-promo"),
    ]
    .iter()
    .map(|&(k, id)| r(k, id))
    .collect();
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), expected);
}

#[test]
fn ended_entries_and_expired_assets_are_out_of_reach() {
    let mut ended = kita_entry();
    ended.dates.end = Some(date("2026-12-10"));
    let mut live = parts(vec![ended]);
    live.assets
        .iter_mut()
        .find(|a| a.id.0 == "map")
        .unwrap()
        .meta
        .shown_until = Some(jst("2026-12-10T09:00:00"));
    let seen = reach(&live, &kita_lobby(), jst("2026-12-10T10:00:00"));
    assert!(
        !seen.contains(&r(ObjectKind::Entry, "kita-promo")),
        "{seen:?}"
    );
    assert!(!seen.contains(&r(ObjectKind::Layout, "promo")), "{seen:?}");
    assert!(!seen.contains(&r(ObjectKind::Asset, "map")), "{seen:?}");
    // The day before, both were still ahead.
    let earlier = reach(&live, &kita_lobby(), jst("2026-12-09T08:00:00"));
    assert!(earlier.contains(&r(ObjectKind::Entry, "kita-promo")));
    assert!(earlier.contains(&r(ObjectKind::Asset, "map")));
}

#[test]
fn screen_changes_name_only_the_screens_a_draft_reaches() {
    let live = parts(vec![]);
    let players = [
        player("kita-1", "kita", &[]),
        player("kita-2", "kita", &["counters"]),
        player("naniwa-1", "naniwa", &[]),
    ];
    let now = jst("2026-12-10T10:00:00");
    let mut draft = Draft::default();
    // A promo for Kita's counters, and a retitled hours slide (used only by `promo`).
    let mut counters = kita_entry();
    counters.targets = vec![group("counters")];
    draft.record(put(Object::Entry(counters)), &live);
    draft.record(put(retitled(&live, "hours", "開庁時間")), &live);
    let changes = screen_changes(&live, &draft.apply(&live), &players, now);
    assert_eq!(changes.len(), 1, "{changes:?}");
    let kita2 = &changes[0];
    assert_eq!(kita2.player.as_str(), "kita-2");
    assert!(kita2.added.contains(&r(ObjectKind::Entry, "kita-promo")));
    assert!(kita2.added.contains(&r(ObjectKind::Asset, "hours")));
    assert!(
        kita2.removed.is_empty() && kita2.changed.is_empty(),
        "{kita2:?}"
    );

    // Editing an asset of the fallback changes every screen; removing it from its playlist
    // removes it from every screen.
    let mut draft = Draft::default();
    draft.record(put(retitled(&live, "welcome", "ようこそ！")), &live);
    let changes = screen_changes(&live, &draft.apply(&live), &players, now);
    assert_eq!(changes.len(), 3);
    for c in &changes {
        assert_eq!(c.changed, vec![r(ObjectKind::Asset, "welcome")], "{c:?}");
    }
    let mut idle = live
        .playlists
        .iter()
        .find(|p| p.id.0 == "idle")
        .unwrap()
        .clone();
    idle.items.retain(|i| i.asset.0 != "welcome");
    let mut draft = Draft::default();
    draft.record(put(Object::Playlist(idle)), &live);
    let changes = screen_changes(&live, &draft.apply(&live), &players, now);
    assert_eq!(changes.len(), 3);
    for c in &changes {
        assert_eq!(c.removed, vec![r(ObjectKind::Asset, "welcome")]);
        assert_eq!(c.changed, vec![r(ObjectKind::Playlist, "idle")]);
    }
}

fn arbitrary_change(live: &ScheduleSetParts) -> impl Strategy<Value = Change> {
    let titles = prop::sample::select(vec!["a", "b", ""]);
    let asset_ids: Vec<String> = live.assets.iter().map(|a| a.id.0.clone()).collect();
    let assets = prop::sample::select(asset_ids);
    let base = live.clone();
    let base2 = live.clone();
    prop_oneof![
        (assets.clone(), titles).prop_map(move |(id, title)| put(retitled(&base, &id, title))),
        assets.clone().prop_map(|id| delete(ObjectKind::Asset, &id)),
        (assets, 0..3usize).prop_map(move |(id, n)| {
            let mut playlist = base2.playlists[0].clone();
            playlist.items = vec![
                PlaylistItem {
                    asset: id.as_str().into(),
                    duration_ms: None,
                };
                n + 1
            ];
            put(Object::Playlist(playlist))
        }),
        prop::sample::select(vec!["idle", "news", "promo"])
            .prop_map(|l| Change::Fallback { layout: l.into() }),
    ]
}

proptest! {
    /// Recording changes one by one and applying the draft ends where applying each change to
    /// the set in turn ends; the draft never holds two changes of one object, nor a change
    /// that changes nothing.
    #[test]
    fn a_draft_applies_like_its_changes_in_turn(
        changes in prop::collection::vec(arbitrary_change(&parts(vec![])), 0..12)
    ) {
        let live = parts(vec![]);
        let mut draft = Draft::default();
        let mut stepwise = live.clone();
        for change in changes {
            draft.record(change.clone(), &live);
            let mut one = Draft::default();
            one.record(change, &stepwise);
            stepwise = one.apply(&stepwise);
        }
        let applied = draft.apply(&live);
        let sorted = |mut p: ScheduleSetParts| {
            p.assets.sort_by(|a, b| a.id.cmp(&b.id));
            p.playlists.sort_by(|a, b| a.id.cmp(&b.id));
            p
        };
        prop_assert_eq!(sorted(applied.clone()), sorted(stepwise));
        let targets: Vec<_> = draft.changes().iter().map(Change::target).collect();
        let mut unique = targets.clone();
        unique.sort();
        unique.dedup();
        prop_assert_eq!(unique.len(), targets.len());
        for change in draft.changes() {
            let mut alone = Draft::default();
            alone.record(change.clone(), &live);
            prop_assert!(!alone.is_empty(), "{:?} changes nothing", change);
        }
    }
}

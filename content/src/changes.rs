//! Proposed changes to the schedule set. While approval is required, a `pr` account's edits
//! collect in a [`Draft`] instead of the live set; an approver sees the draft applied to the
//! live set and, per screen, what it would add, remove or change ([`screen_changes`]).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::asset::{Asset, Sha256};
use crate::ids::LayoutId;
use crate::layout::Layout;
use crate::playlist::Playlist;
use crate::schedule::{PlayerTarget, ScheduleEntry, best_match};
use crate::schedule_set::ScheduleSetParts;
use crate::tokyo;

/// The four kinds of content object, each its own namespace of ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    Asset,
    Playlist,
    Layout,
    Entry,
}

impl ObjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Asset => "asset",
            ObjectKind::Playlist => "playlist",
            ObjectKind::Layout => "layout",
            ObjectKind::Entry => "entry",
        }
    }
}

/// One content object by kind and id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObjectRef {
    pub kind: ObjectKind,
    pub id: String,
}

/// A content object of any kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "body", rename_all = "snake_case")]
pub enum Object {
    Asset(Asset),
    Playlist(Playlist),
    Layout(Layout),
    Entry(ScheduleEntry),
}

impl Object {
    pub fn reference(&self) -> ObjectRef {
        let (kind, id) = match self {
            Object::Asset(a) => (ObjectKind::Asset, &a.id.0),
            Object::Playlist(p) => (ObjectKind::Playlist, &p.id.0),
            Object::Layout(l) => (ObjectKind::Layout, &l.id.0),
            Object::Entry(e) => (ObjectKind::Entry, &e.id.0),
        };
        ObjectRef {
            kind,
            id: id.clone(),
        }
    }

    /// The object `r` names in `parts`, if there is one.
    pub fn find(parts: &ScheduleSetParts, r: &ObjectRef) -> Option<Object> {
        let id = r.id.as_str();
        match r.kind {
            ObjectKind::Asset => parts
                .assets
                .iter()
                .find(|a| a.id.0 == id)
                .cloned()
                .map(Object::Asset),
            ObjectKind::Playlist => parts
                .playlists
                .iter()
                .find(|p| p.id.0 == id)
                .cloned()
                .map(Object::Playlist),
            ObjectKind::Layout => parts
                .layouts
                .iter()
                .find(|l| l.id.0 == id)
                .cloned()
                .map(Object::Layout),
            ObjectKind::Entry => parts
                .entries
                .iter()
                .find(|e| e.id.0 == id)
                .cloned()
                .map(Object::Entry),
        }
    }

    /// Stores this object in `parts`, replacing one of the same id.
    fn put_into(self, parts: &mut ScheduleSetParts) {
        fn put<T>(list: &mut Vec<T>, object: T, same: impl Fn(&T) -> bool) {
            match list.iter_mut().find(|o| same(o)) {
                Some(existing) => *existing = object,
                None => list.push(object),
            }
        }
        match self {
            Object::Asset(a) => {
                let id = a.id.clone();
                put(&mut parts.assets, a, |o| o.id == id);
            }
            Object::Playlist(p) => {
                let id = p.id.clone();
                put(&mut parts.playlists, p, |o| o.id == id);
            }
            Object::Layout(l) => {
                let id = l.id.clone();
                put(&mut parts.layouts, l, |o| o.id == id);
            }
            Object::Entry(e) => {
                let id = e.id.clone();
                put(&mut parts.entries, e, |o| o.id == id);
            }
        }
    }
}

fn remove_from(parts: &mut ScheduleSetParts, r: &ObjectRef) {
    let id = r.id.as_str();
    match r.kind {
        ObjectKind::Asset => parts.assets.retain(|a| a.id.0 != id),
        ObjectKind::Playlist => parts.playlists.retain(|p| p.id.0 != id),
        ObjectKind::Layout => parts.layouts.retain(|l| l.id.0 != id),
        ObjectKind::Entry => parts.entries.retain(|e| e.id.0 != id),
    }
}

/// One proposed write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Change {
    /// Create or replace an object.
    Put {
        object: Object,
    },
    Delete {
        target: ObjectRef,
    },
    /// Choose the layout shown when no entry is active.
    Fallback {
        layout: LayoutId,
    },
}

impl Change {
    /// The object changed, or `None` for the fallback.
    pub fn target(&self) -> Option<ObjectRef> {
        match self {
            Change::Put { object } => Some(object.reference()),
            Change::Delete { target } => Some(target.clone()),
            Change::Fallback { .. } => None,
        }
    }
}

/// One account's proposed changes, at most one per object, in the order first made.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Draft {
    changes: Vec<Change>,
}

impl Draft {
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Records `change` over the same object's earlier one. A change that leaves the object
    /// as `live` has it (an edit undone, or the delete of an object only this draft created)
    /// is forgotten, so the draft holds only what approval would really change.
    pub fn record(&mut self, change: Change, live: &ScheduleSetParts) {
        let target = change.target();
        let position = self.changes.iter().position(|c| c.target() == target);
        let in_live = match &change {
            Change::Put { object } => {
                Object::find(live, &object.reference()).as_ref() == Some(object)
            }
            Change::Delete { target } => Object::find(live, target).is_none(),
            Change::Fallback { layout } => live.fallback_layout == *layout,
        };
        match (position, in_live) {
            (Some(i), true) => {
                self.changes.remove(i);
            }
            (Some(i), false) => self.changes[i] = change,
            (None, true) => {}
            (None, false) => self.changes.push(change),
        }
    }

    /// The set as it would be once approved.
    pub fn apply(&self, live: &ScheduleSetParts) -> ScheduleSetParts {
        let mut parts = live.clone();
        for change in &self.changes {
            match change.clone() {
                Change::Put { object } => object.put_into(&mut parts),
                Change::Delete { target } => remove_from(&mut parts, &target),
                Change::Fallback { layout } => parts.fallback_layout = layout,
            }
        }
        parts
    }

    /// Whether the draft chooses a fallback layout.
    pub fn sets_fallback(&self) -> bool {
        self.changes
            .iter()
            .any(|c| matches!(c, Change::Fallback { .. }))
    }

    /// Files the draft's assets use: they must stay in the library while it waits.
    pub fn files(&self) -> impl Iterator<Item = &Sha256> {
        self.changes.iter().filter_map(|c| match c {
            Change::Put {
                object: Object::Asset(a),
            } => a.file().map(|f| &f.sha256),
            _ => None,
        })
    }
}

/// What a change would do to one screen: objects it could show that it could not before,
/// that it no longer could, and that it still could but that are edited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScreenChange {
    pub player: crate::ids::PlayerId,
    pub added: Vec<ObjectRef>,
    pub removed: Vec<ObjectRef>,
    pub changed: Vec<ObjectRef>,
}

/// For each player whose screen the move from `before` to `after` affects, what it affects.
/// A screen "could show" every object reachable from the entries that target it and have not
/// ended by `now`, and from the fallback layout; an asset past its 掲載期限 is out of reach.
/// Audience conditions and dayparts are not evaluated: an approver is told about every screen
/// that might show a change, not only those that show it at one instant.
pub fn screen_changes(
    before: &ScheduleSetParts,
    after: &ScheduleSetParts,
    players: &[PlayerTarget],
    now: DateTime<Utc>,
) -> Vec<ScreenChange> {
    players
        .iter()
        .filter_map(|player| {
            let was = reach(before, player, now);
            let will = reach(after, player, now);
            let change = ScreenChange {
                player: player.id.clone(),
                added: will.difference(&was).cloned().collect(),
                removed: was.difference(&will).cloned().collect(),
                changed: was
                    .intersection(&will)
                    .filter(|r| Object::find(before, r) != Object::find(after, r))
                    .cloned()
                    .collect(),
            };
            let empty =
                change.added.is_empty() && change.removed.is_empty() && change.changed.is_empty();
            (!empty).then_some(change)
        })
        .collect()
}

/// Every object `player` could show from `parts` from `now` on.
pub fn reach(
    parts: &ScheduleSetParts,
    player: &PlayerTarget,
    now: DateTime<Utc>,
) -> BTreeSet<ObjectRef> {
    let today = tokyo::local_date(now);
    let mut found = BTreeSet::new();
    let r = |kind, id: &str| ObjectRef {
        kind,
        id: id.to_string(),
    };
    let mut layouts: Vec<&LayoutId> = Vec::new();
    if !parts.fallback_layout.0.is_empty() {
        layouts.push(&parts.fallback_layout);
    }
    for entry in &parts.entries {
        let ended = entry.dates.end.is_some_and(|end| end <= today);
        if !ended && best_match(&entry.targets, player).is_some() {
            found.insert(r(ObjectKind::Entry, &entry.id.0));
            layouts.push(&entry.layout);
        }
    }
    for layout in layouts {
        let Some(layout) = parts.layouts.iter().find(|l| l.id == *layout) else {
            continue;
        };
        found.insert(r(ObjectKind::Layout, &layout.id.0));
        for zone in &layout.zones {
            let Some(playlist) = parts.playlists.iter().find(|p| p.id == zone.playlist) else {
                continue;
            };
            found.insert(r(ObjectKind::Playlist, &playlist.id.0));
            for item in &playlist.items {
                let asset = parts.assets.iter().find(|a| a.id == item.asset);
                if let Some(asset) = asset
                    && asset.meta.shown_until.is_none_or(|until| until > now)
                {
                    found.insert(r(ObjectKind::Asset, &asset.id.0));
                }
            }
        }
    }
    found
}

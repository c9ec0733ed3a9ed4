//! Everything a player needs to decide what to show, validated as a whole.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::asset::Asset;
use crate::calendar::{Calendar, WardDays};
use crate::ids::{AssetId, LayoutId, PlaylistId};
use crate::layout::Layout;
use crate::playlist::Playlist;
use crate::schedule::{PlayerTarget, ScheduleEntry, best_match};
use crate::validation::{InvalidScheduleSet, Problem, ValidationError};

/// The unvalidated form, as stored, edited and sent. Unknown fields are ignored rather than
/// rejected so that a player not yet updated keeps working with a newer controller's schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleSetParts {
    pub assets: Vec<Asset>,
    pub playlists: Vec<Playlist>,
    pub layouts: Vec<Layout>,
    pub entries: Vec<ScheduleEntry>,
    /// Shown whenever no entry is active, so a screen is never empty.
    pub fallback_layout: LayoutId,
    /// Open and closed days and named dayparts; the default has Japan's holidays and 年末年始.
    #[serde(default)]
    pub calendar: Calendar,
}

/// A schedule set whose every reference resolves and whose every playlist has a length, so
/// that [`crate::selection::select`] always has something to show. Only
/// [`ScheduleSet::new`] (also used when deserializing) makes one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ScheduleSetParts", into = "ScheduleSetParts")]
pub struct ScheduleSet {
    assets: BTreeMap<AssetId, Asset>,
    playlists: BTreeMap<PlaylistId, Playlist>,
    /// Each playlist's item lengths, resolved once here rather than on every selection.
    durations_ms: BTreeMap<PlaylistId, Vec<u64>>,
    layouts: BTreeMap<LayoutId, Layout>,
    entries: Vec<ScheduleEntry>,
    fallback_layout: LayoutId,
    calendar: Calendar,
}

impl ScheduleSet {
    /// Validates `parts`, reporting every problem at once with the path of its field.
    pub fn new(parts: ScheduleSetParts) -> Result<Self, InvalidScheduleSet> {
        let mut errors = Vec::new();

        let assets = index_by_id(parts.assets, "assets", |a| &a.id, &mut errors);
        for (id, asset) in &assets {
            let prefix = format!("assets[{id}]");
            errors.extend(asset.problems().into_iter().map(|e| e.under(&prefix)));
        }

        let playlists = index_by_id(parts.playlists, "playlists", |p| &p.id, &mut errors);
        let mut durations_ms = BTreeMap::new();
        for (id, playlist) in &playlists {
            match playlist.item_durations(|asset| assets.get(asset)) {
                Ok(durations) => {
                    durations_ms.insert(id.clone(), durations);
                }
                Err(problems) => {
                    let prefix = format!("playlists[{id}]");
                    errors.extend(problems.into_iter().map(|e| e.under(&prefix)));
                }
            }
        }

        let layouts = index_by_id(parts.layouts, "layouts", |l| &l.id, &mut errors);
        for (id, layout) in &layouts {
            let prefix = format!("layouts[{id}]");
            errors.extend(layout.problems().into_iter().map(|e| e.under(&prefix)));
            for zone in &layout.zones {
                if !playlists.contains_key(&zone.playlist) {
                    let field = format!("{prefix}.zones[{}].playlist", zone.id);
                    errors.push(unknown(field, "playlist", &zone.playlist));
                }
            }
        }

        let mut entry_ids = BTreeSet::new();
        for (i, entry) in parts.entries.iter().enumerate() {
            if !entry_ids.insert(&entry.id) {
                errors.push(ValidationError::new(
                    format!("entries[{i}].id"),
                    Problem::DuplicateId(entry.id.0.clone()),
                ));
            }
            let prefix = format!("entries[{}]", entry.id);
            errors.extend(entry.problems().into_iter().map(|e| e.under(&prefix)));
            if !layouts.contains_key(&entry.layout) {
                errors.push(unknown(format!("{prefix}.layout"), "layout", &entry.layout));
            }
            for (j, name) in entry.named_dayparts.iter().enumerate() {
                if !parts.calendar.names_daypart(name) {
                    errors.push(ValidationError::new(
                        format!("{prefix}.named_dayparts[{j}]"),
                        Problem::UnknownDaypart(name.clone()),
                    ));
                }
            }
        }
        errors.extend(
            parts
                .calendar
                .problems()
                .into_iter()
                .map(|e| e.under("calendar")),
        );

        if !layouts.contains_key(&parts.fallback_layout) {
            errors.push(unknown(
                "fallback_layout".into(),
                "layout",
                &parts.fallback_layout,
            ));
        }

        if !errors.is_empty() {
            return Err(InvalidScheduleSet(errors));
        }
        Ok(Self {
            assets,
            playlists,
            durations_ms,
            layouts,
            entries: parts.entries,
            fallback_layout: parts.fallback_layout,
            calendar: parts.calendar,
        })
    }

    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    /// The calendar as `player`'s ward has it.
    pub fn days_of<'a>(&'a self, player: &'a PlayerTarget) -> WardDays<'a> {
        WardDays {
            calendar: &self.calendar,
            ward: &player.ward,
        }
    }

    pub fn asset(&self, id: &AssetId) -> Option<&Asset> {
        self.assets.get(id)
    }

    pub fn playlist(&self, id: &PlaylistId) -> Option<&Playlist> {
        self.playlists.get(id)
    }

    /// How long each item of the playlist plays, in milliseconds.
    pub fn item_durations_ms(&self, id: &PlaylistId) -> Option<&[u64]> {
        self.durations_ms.get(id).map(Vec::as_slice)
    }

    pub fn layout(&self, id: &LayoutId) -> Option<&Layout> {
        self.layouts.get(id)
    }

    pub fn entries(&self) -> &[ScheduleEntry] {
        &self.entries
    }

    pub fn fallback_layout(&self) -> &LayoutId {
        &self.fallback_layout
    }

    /// The first instant after `now` at which one of `player`'s entries starts or ends or its
    /// screen switches on or off, looking no further than occurrences that begin before
    /// `until`. Until then the entries competing for the screen stay the same, so with the
    /// same audience and alerts only a playlist item's end (`ZoneContent::ends_at`) can change
    /// what [`crate::selection::select`] answers.
    pub fn next_boundary(
        &self,
        player: &PlayerTarget,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let power = crate::power::next_switch(
            &crate::power::rules_for(&self.calendar.power, player),
            self.days_of(player),
            now,
            until,
        );
        self.entries
            .iter()
            .filter(|entry| best_match(&entry.targets, player).is_some())
            .flat_map(|entry| entry.occurrences_overlapping(now, until, self.days_of(player)))
            .flat_map(|occurrence| [occurrence.start, occurrence.end])
            .filter(|instant| *instant > now)
            .chain(power)
            .min()
    }

    /// Whether `player`'s screen is on by its power rules at `now`.
    pub fn power_at(&self, player: &PlayerTarget, now: DateTime<Utc>) -> crate::power::Power {
        crate::power::power_at(
            &crate::power::rules_for(&self.calendar.power, player),
            self.days_of(player),
            now,
        )
    }
}

impl TryFrom<ScheduleSetParts> for ScheduleSet {
    type Error = InvalidScheduleSet;

    fn try_from(parts: ScheduleSetParts) -> Result<Self, InvalidScheduleSet> {
        Self::new(parts)
    }
}

impl From<ScheduleSet> for ScheduleSetParts {
    fn from(set: ScheduleSet) -> Self {
        Self {
            assets: set.assets.into_values().collect(),
            playlists: set.playlists.into_values().collect(),
            layouts: set.layouts.into_values().collect(),
            entries: set.entries,
            fallback_layout: set.fallback_layout,
            calendar: set.calendar,
        }
    }
}

/// Items keyed by id; a repeated id is reported at `{kind}[{index}].id` and the first kept.
fn index_by_id<K: Ord + Clone + Display, T>(
    items: Vec<T>,
    kind: &str,
    id: impl Fn(&T) -> &K,
    errors: &mut Vec<ValidationError>,
) -> BTreeMap<K, T> {
    let mut indexed = BTreeMap::new();
    for (i, item) in items.into_iter().enumerate() {
        match indexed.entry(id(&item).clone()) {
            Entry::Occupied(existing) => errors.push(ValidationError::new(
                format!("{kind}[{i}].id"),
                Problem::DuplicateId(existing.key().to_string()),
            )),
            Entry::Vacant(slot) => {
                slot.insert(item);
            }
        }
    }
    indexed
}

fn unknown(field: String, kind: &'static str, id: &impl Display) -> ValidationError {
    ValidationError::new(
        field,
        Problem::UnknownReference {
            kind,
            id: id.to_string(),
        },
    )
}

//! Which assets a player must hold ahead of time: the input of its download manifest. Pure, so
//! the controller can compute it for every player after each change.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};

use crate::asset::Asset;
use crate::schedule::{PlayerTarget, best_match};
use crate::schedule_set::ScheduleSet;

/// Every asset `player` may show from `from` for `days` days, sorted by id: those of the
/// fallback layout and of every entry targeting the player with an occurrence in that window.
/// Occupancy conditions are ignored (the audience cannot be foreseen) and so are priorities (a
/// winning entry may be deleted); alerts are drawn from their own text and need no asset.
pub fn assets_needed<'a>(
    schedule: &'a ScheduleSet,
    player: &PlayerTarget,
    from: DateTime<Utc>,
    days: u32,
) -> Vec<&'a Asset> {
    let until = from
        .checked_add_signed(TimeDelta::days(i64::from(days)))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let mut layouts = BTreeSet::from([schedule.fallback_layout()]);
    for entry in schedule.entries() {
        if best_match(&entry.targets, player).is_some()
            && entry
                .occurrences_overlapping(from, until, schedule.days_of(player))
                .next()
                .is_some()
        {
            layouts.insert(&entry.layout);
        }
    }
    let asset_ids: BTreeSet<_> = layouts
        .into_iter()
        .filter_map(|layout| schedule.layout(layout))
        .flat_map(|layout| &layout.zones)
        .filter_map(|zone| schedule.playlist(&zone.playlist))
        .flat_map(|playlist| playlist.items.iter().map(|item| &item.asset))
        .collect();
    asset_ids
        .into_iter()
        .filter_map(|id| schedule.asset(id))
        .collect()
}

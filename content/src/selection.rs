//! What a screen shows at an instant, and why. Pure: the player runs it on its own to keep
//! following the schedule offline, the controller runs it for previews, and both agree.
//!
//! Rules, in order:
//! 1. An [`ActiveAlert`] that targets the player and has not expired takes the whole screen.
//!    Among several: higher `level`, then later `issued_at`, then smaller id.
//! 2. Otherwise the winner among the entries that target the player, have an occurrence
//!    covering the instant and whose occupancy condition (if any) admits the audience:
//!    highest `priority`; on equal priority the most specific target (player > group > ward >
//!    all); then the smaller entry id (byte order). The others are reported as shadowed.
//! 3. Otherwise the schedule set's fallback layout, so a screen is never empty.
//!
//! Playlists of a winning entry loop from the start of its occurrence; those of the fallback
//! from the Unix epoch, so every screen on the fallback is in step and the loop never jumps.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::alert::ActiveAlert;
use crate::audience::Audience;
use crate::ids::{AlertId, AssetId, EntryId, LayoutId, PlaylistId, ZoneId};
use crate::playlist::loop_position;
use crate::schedule::{Occurrence, PlayerTarget, ScheduleEntry, Specificity, best_match};
use crate::schedule_set::ScheduleSet;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Selection {
    /// An alert takes the whole screen.
    Alert {
        alert: AlertId,
        /// Other alerts for this player, in rank order.
        shadowed_alerts: Vec<AlertId>,
        /// Entries that would otherwise compete, in rank order.
        shadowed_entries: Vec<EntryId>,
    },
    /// A schedule entry won.
    Scheduled {
        entry: EntryId,
        occurrence: Occurrence,
        /// Active entries for this player that lost, in rank order.
        shadowed_entries: Vec<EntryId>,
        screen: ScreenContent,
    },
    /// No entry is active for this player now.
    Fallback { screen: ScreenContent },
}

/// A layout and what each of its zones plays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreenContent {
    pub layout: LayoutId,
    /// In the layout's zone order.
    pub zones: Vec<ZoneContent>,
}

/// The playlist item a zone shows at the instant selected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneContent {
    pub zone: ZoneId,
    pub playlist: PlaylistId,
    /// Index into the playlist's items.
    pub item: usize,
    pub asset: AssetId,
    /// When this item began (possibly before the instant: seek into a video by the difference).
    pub started_at: DateTime<Utc>,
    /// When it ends and the next item begins, unless the selection changes first.
    pub ends_at: DateTime<Utc>,
}

struct Contender<'a> {
    entry: &'a ScheduleEntry,
    specificity: Specificity,
    occurrence: Occurrence,
}

/// Decides what `player` shows at `now`. See the module documentation for the rules.
pub fn select(
    schedule: &ScheduleSet,
    player: &PlayerTarget,
    now: DateTime<Utc>,
    audience: &Audience,
    alerts: &[ActiveAlert],
) -> Selection {
    let mut contenders: Vec<Contender> = schedule
        .entries()
        .iter()
        .filter_map(|entry| {
            let specificity = best_match(&entry.targets, player)?;
            let occurrence = entry.occurrence_at(now)?;
            let admitted = entry
                .occupancy
                .as_ref()
                .is_none_or(|range| range.admits(audience.occupancy));
            admitted.then_some(Contender {
                entry,
                specificity,
                occurrence,
            })
        })
        .collect();
    contenders.sort_by(rank_entries);
    let entry_ids = |list: &[Contender]| list.iter().map(|c| c.entry.id.clone()).collect();

    let mut live_alerts: Vec<&ActiveAlert> = alerts
        .iter()
        .filter(|alert| alert.applies_to(player, now))
        .collect();
    live_alerts.sort_by(|a, b| rank_alerts(a, b));
    if let Some((alert, others)) = live_alerts.split_first() {
        return Selection::Alert {
            alert: alert.id.clone(),
            shadowed_alerts: others.iter().map(|a| a.id.clone()).collect(),
            shadowed_entries: entry_ids(&contenders),
        };
    }

    match contenders.split_first() {
        Some((winner, rest)) => Selection::Scheduled {
            entry: winner.entry.id.clone(),
            occurrence: winner.occurrence,
            shadowed_entries: entry_ids(rest),
            screen: screen_content(schedule, &winner.entry.layout, winner.occurrence.start, now),
        },
        None => Selection::Fallback {
            screen: screen_content(
                schedule,
                schedule.fallback_layout(),
                DateTime::UNIX_EPOCH,
                now,
            ),
        },
    }
}

/// Winner first: higher priority, then more specific target, then smaller id.
fn rank_entries(a: &Contender, b: &Contender) -> Ordering {
    b.entry
        .priority
        .cmp(&a.entry.priority)
        .then(b.specificity.cmp(&a.specificity))
        .then_with(|| a.entry.id.cmp(&b.entry.id))
}

/// Shown first: higher level, then the newer alert, then smaller id.
fn rank_alerts(a: &ActiveAlert, b: &ActiveAlert) -> Ordering {
    b.level
        .cmp(&a.level)
        .then(b.issued_at.cmp(&a.issued_at))
        .then_with(|| a.id.cmp(&b.id))
}

/// The layout's zones at `now`, each playlist looping from `anchor`.
fn screen_content(
    schedule: &ScheduleSet,
    layout: &LayoutId,
    anchor: DateTime<Utc>,
    now: DateTime<Utc>,
) -> ScreenContent {
    const VALIDATED: &str = "ScheduleSet::new checks every reference and playlist length";
    let zones = schedule
        .layout(layout)
        .expect(VALIDATED)
        .zones
        .iter()
        .map(|zone| {
            let items = &schedule.playlist(&zone.playlist).expect(VALIDATED).items;
            let durations = schedule.item_durations_ms(&zone.playlist).expect(VALIDATED);
            let position = loop_position(durations, anchor, now).expect(VALIDATED);
            ZoneContent {
                zone: zone.id.clone(),
                playlist: zone.playlist.clone(),
                item: position.index,
                asset: items[position.index].asset.clone(),
                started_at: position.started_at,
                ends_at: position.ends_at,
            }
        })
        .collect();
    ScreenContent {
        layout: layout.clone(),
        zones,
    }
}

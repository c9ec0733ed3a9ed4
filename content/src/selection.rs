//! What a screen shows at an instant, and why. Pure: the player runs it on its own to keep
//! following the schedule offline, the controller runs it for previews, and both agree.
//!
//! Rules, in order:
//! 1. An [`ActiveAlert`] that targets the player and has not expired takes the whole screen.
//!    Among several: higher `level`, then later `issued_at`, then smaller id.
//! 2. Otherwise, a screen its power rules switch off (see [`crate::power`]) shows nothing
//!    until they switch it on again.
//! 3. Otherwise the winner among the entries that target the player, have an occurrence
//!    covering the instant and whose audience conditions (if any) admit the audience:
//!    highest `priority`; on equal priority the most specific target (player > group > ward >
//!    all); then the smaller entry id (byte order). The others are reported as shadowed.
//! 4. Otherwise the schedule set's fallback layout, so a screen that is on is never empty.
//!
//! An asset outside its display window (`shown_from`, 掲載期限 `shown_until`) leaves its
//! playlists' loops by itself (see [`windowed_position`]); a zone with no item left stays
//! empty.
//!
//! Playlists of a winning entry loop from the start of its occurrence; those of the fallback
//! from the Unix epoch, so every screen on the fallback is in step and the loop never jumps.
//!
//! [`select`] and [`decide`] read the audience as it is. A player keeps an [`AudienceGate`]
//! across ticks instead, which adds hysteresis (see [`crate::audience`]) and a minimum display
//! time: after the audience changed what the screen shows, the audience cannot change it again
//! for `min_display`. Time (dayparts, dates), schedule changes and alerts still switch at once.
//! Every decision carries a [`Reason`] saying which entry and which condition chose it.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::alert::ActiveAlert;
use crate::asset::AssetMeta;
use crate::audience::{Audience, Check, Verdict, evaluate};
use crate::ids::{AlertId, AssetId, EntryId, LayoutId, PlaylistId, ZoneId};
use crate::playlist::{LoopPosition, loop_position};
use crate::power::Power;
use crate::schedule::{Occurrence, PlayerTarget, ScheduleEntry, Specificity, best_match};
use crate::schedule_set::ScheduleSet;
use crate::tokyo;

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
    /// The screen's power rules switch it off until `on_at`.
    Off {
        on_at: Option<DateTime<Utc>>,
        /// Entries that would otherwise compete, in rank order.
        shadowed_entries: Vec<EntryId>,
    },
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
    checks: Vec<Check>,
}

/// What a screen shows and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub selection: Selection,
    pub reason: Reason,
}

/// Why a selection was made, for the player's `now` report and the controller's preview.
/// Its `Display` is one line, e.g. `entry crowd-online: occupancy 17 >= 15`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    Alert {
        alert: AlertId,
    },
    /// The entry won; `checks` are its audience conditions (none for a plain entry).
    Entry {
        entry: EntryId,
        /// The occurrence, when the entry is limited to dayparts.
        daypart: Option<Occurrence>,
        priority: i32,
        checks: Vec<Check>,
    },
    Fallback,
    /// Off by the screen's power rules until `on_at`.
    PowerOff {
        on_at: Option<DateTime<Utc>>,
    },
    /// The audience now chooses `instead`, but what is shown stays until `until`: the audience
    /// changed the screen less than the minimum display time ago.
    Held {
        /// The entry kept, or `None` for the fallback.
        shown: Option<EntryId>,
        instead: Option<EntryId>,
        until: DateTime<Utc>,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = |entry: &Option<EntryId>| match entry {
            Some(id) => format!("entry {id}"),
            None => "the fallback".to_owned(),
        };
        match self {
            Reason::Alert { alert } => write!(f, "alert {alert}"),
            Reason::Entry {
                entry,
                daypart,
                priority,
                checks,
            } => {
                write!(f, "entry {entry}")?;
                if let Some(occurrence) = daypart {
                    let local = |t: DateTime<Utc>| t.with_timezone(&tokyo::TOKYO).format("%H:%M");
                    write!(
                        f,
                        " ({}-{})",
                        local(occurrence.start),
                        local(occurrence.end)
                    )?;
                }
                if checks.is_empty() {
                    write!(f, ": scheduled, priority {priority}")
                } else {
                    let list: Vec<String> = checks.iter().map(ToString::to_string).collect();
                    write!(f, ": {}", list.join(", "))
                }
            }
            Reason::Fallback => write!(f, "fallback: no entry applies"),
            Reason::PowerOff { on_at: Some(at) } => write!(
                f,
                "off by schedule until {}",
                at.with_timezone(&tokyo::TOKYO).format("%Y-%m-%d %H:%M")
            ),
            Reason::PowerOff { on_at: None } => {
                write!(f, "off by schedule (no opening within three weeks)")
            }
            Reason::Held {
                shown,
                instead,
                until,
            } => write!(
                f,
                "{} held until {} (minimum display time); the audience now chooses {}",
                name(shown),
                until.with_timezone(&tokyo::TOKYO).format("%H:%M:%S"),
                name(instead)
            ),
        }
    }
}

/// Decides what `player` shows at `now`. See the module documentation for the rules.
pub fn select(
    schedule: &ScheduleSet,
    player: &PlayerTarget,
    now: DateTime<Utc>,
    audience: &Audience,
    alerts: &[ActiveAlert],
) -> Selection {
    decide(schedule, player, now, audience, alerts).selection
}

/// [`select`] with its reason, reading the audience as it is (no hysteresis, no minimum
/// display time): what the controller's preview shows.
pub fn decide(
    schedule: &ScheduleSet,
    player: &PlayerTarget,
    now: DateTime<Utc>,
    audience: &Audience,
    alerts: &[ActiveAlert],
) -> Decision {
    choose(schedule, player, now, alerts, |entry| {
        match evaluate(entry.audience_conditions(), audience, false) {
            Verdict::Met(checks) => Some(checks),
            Verdict::NotMet | Verdict::Unknown => None,
        }
    })
}

/// The rules, with `admit` saying whether an entry's audience conditions hold (and how).
fn choose(
    schedule: &ScheduleSet,
    player: &PlayerTarget,
    now: DateTime<Utc>,
    alerts: &[ActiveAlert],
    mut admit: impl FnMut(&ScheduleEntry) -> Option<Vec<Check>>,
) -> Decision {
    let mut contenders: Vec<Contender> = schedule
        .entries()
        .iter()
        .filter_map(|entry| {
            let specificity = best_match(&entry.targets, player)?;
            let occurrence = entry.occurrence_at(now, schedule.days_of(player))?;
            let checks = admit(entry)?;
            Some(Contender {
                entry,
                specificity,
                occurrence,
                checks,
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
        return Decision {
            selection: Selection::Alert {
                alert: alert.id.clone(),
                shadowed_alerts: others.iter().map(|a| a.id.clone()).collect(),
                shadowed_entries: entry_ids(&contenders),
            },
            reason: Reason::Alert {
                alert: alert.id.clone(),
            },
        };
    }

    if let Power::Off { on_at } = schedule.power_at(player, now) {
        return Decision {
            selection: Selection::Off {
                on_at,
                shadowed_entries: entry_ids(&contenders),
            },
            reason: Reason::PowerOff { on_at },
        };
    }

    match contenders.split_first() {
        Some((winner, rest)) => Decision {
            selection: Selection::Scheduled {
                entry: winner.entry.id.clone(),
                occurrence: winner.occurrence,
                shadowed_entries: entry_ids(rest),
                screen: screen_content(
                    schedule,
                    &winner.entry.layout,
                    winner.occurrence.start,
                    now,
                ),
            },
            reason: Reason::Entry {
                entry: winner.entry.id.clone(),
                daypart: (!winner.entry.dayparts.is_empty()).then_some(winner.occurrence),
                priority: winner.entry.priority,
                checks: winner.checks.clone(),
            },
        },
        None => Decision {
            selection: Selection::Fallback {
                screen: screen_content(
                    schedule,
                    schedule.fallback_layout(),
                    DateTime::UNIX_EPOCH,
                    now,
                ),
            },
            reason: Reason::Fallback,
        },
    }
}

/// How a player's [`AudienceGate`] smooths audience decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateSettings {
    /// After the audience changed what is shown, how long before it may change it again.
    pub min_display: TimeDelta,
}

impl Default for GateSettings {
    fn default() -> Self {
        Self {
            min_display: TimeDelta::seconds(20),
        }
    }
}

/// What the screen shows, in the terms the gate compares: the same key means no visible
/// switch.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shown {
    Alert(AlertId),
    Entry(EntryId),
    Fallback,
    Off,
}

fn shown(selection: &Selection) -> Shown {
    match selection {
        Selection::Alert { alert, .. } => Shown::Alert(alert.clone()),
        Selection::Scheduled { entry, .. } => Shown::Entry(entry.clone()),
        Selection::Fallback { .. } => Shown::Fallback,
        Selection::Off { .. } => Shown::Off,
    }
}

/// The player's memory of audience decisions across ticks: which entries' conditions hold
/// (for hysteresis) and until when the last audience-driven switch must stay on screen.
/// Pure: time comes in as a parameter.
#[derive(Debug, Clone, Default)]
pub struct AudienceGate {
    settings: GateSettings,
    /// Entries whose audience conditions held at the previous decision.
    holding: BTreeSet<EntryId>,
    /// The audience may not change what is shown before this instant.
    hold_until: Option<DateTime<Utc>>,
}

impl AudienceGate {
    pub fn new(settings: GateSettings) -> Self {
        Self {
            settings,
            ..Self::default()
        }
    }

    /// Until when a minimum display time keeps the audience from changing what is shown, if
    /// one runs at `now`: the next decision may differ from that instant on.
    pub fn held_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.hold_until.filter(|until| now < *until)
    }

    /// Decides what `player` shows at `now`, like [`decide`] but with hysteresis and the
    /// minimum display time. Call it with non-decreasing `now`; an unknown measure ends the
    /// conditions depending on it at once, hold or not (no content shows on a guess).
    pub fn decide(
        &mut self,
        schedule: &ScheduleSet,
        player: &PlayerTarget,
        now: DateTime<Utc>,
        audience: &Audience,
        alerts: &[ActiveAlert],
    ) -> Decision {
        let mut next = BTreeSet::new();
        let mut kept = BTreeSet::new();
        let mut checks = std::collections::BTreeMap::new();
        for entry in schedule
            .entries()
            .iter()
            .filter(|e| e.has_audience_conditions())
        {
            let was = self.holding.contains(&entry.id);
            match evaluate(entry.audience_conditions(), audience, was) {
                Verdict::Met(list) => {
                    next.insert(entry.id.clone());
                    checks.insert(entry.id.clone(), list);
                }
                Verdict::NotMet => {}
                Verdict::Unknown => continue,
            }
            if was {
                kept.insert(entry.id.clone());
            }
        }
        let with = |on: &BTreeSet<EntryId>| {
            choose(schedule, player, now, alerts, |entry| {
                if !entry.has_audience_conditions() {
                    Some(Vec::new())
                } else if on.contains(&entry.id) {
                    // Kept on by a hold, an entry has no checks that hold now.
                    Some(checks.get(&entry.id).cloned().unwrap_or_default())
                } else {
                    None
                }
            })
        };
        let fresh = with(&next);
        let before = with(&kept);
        let (was_shown, now_shown) = (shown(&before.selection), shown(&fresh.selection));
        if was_shown == now_shown {
            self.holding = next;
            return fresh;
        }
        if let Some(until) = self.hold_until.filter(|until| now < *until) {
            self.holding = kept;
            let entry = |s: Shown| match s {
                Shown::Entry(id) => Some(id),
                _ => None,
            };
            return Decision {
                selection: before.selection,
                reason: Reason::Held {
                    shown: entry(was_shown),
                    instead: entry(now_shown),
                    until,
                },
            };
        }
        self.hold_until = Some(now + self.settings.min_display);
        self.holding = next;
        fresh
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
        .filter_map(|zone| {
            let items = &schedule.playlist(&zone.playlist).expect(VALIDATED).items;
            let durations = schedule.item_durations_ms(&zone.playlist).expect(VALIDATED);
            let windows: Vec<&AssetMeta> = items
                .iter()
                .map(|i| &schedule.asset(&i.asset).expect(VALIDATED).meta)
                .collect();
            let position = windowed_position(durations, &windows, anchor, now)?;
            Some(ZoneContent {
                zone: zone.id.clone(),
                playlist: zone.playlist.clone(),
                item: position.index,
                asset: items[position.index].asset.clone(),
                started_at: position.started_at,
                ends_at: position.ends_at,
            })
        })
        .collect();
    ScreenContent {
        layout: layout.clone(),
        zones,
    }
}

/// [`loop_position`] over the items whose display window admits `now`. When that set last
/// changed (an item's window opened or closed) after `anchor`, the loop starts again from
/// that instant; the item found ends no later than the next such change, so the screen is
/// selected again then. `None` when no item may be shown: the zone stays empty.
pub fn windowed_position(
    durations_ms: &[u64],
    windows: &[&AssetMeta],
    anchor: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<LoopPosition> {
    let boundaries = windows
        .iter()
        .flat_map(|w| [w.shown_from, w.shown_until])
        .flatten();
    let (mut last, mut next) = (anchor, None::<DateTime<Utc>>);
    for b in boundaries {
        if b <= now {
            last = last.max(b);
        } else {
            next = Some(next.map_or(b, |n| n.min(b)));
        }
    }
    let shown: Vec<usize> = (0..durations_ms.len())
        .filter(|&i| windows[i].shown_at(now))
        .collect();
    let durations: Vec<u64> = shown.iter().map(|&i| durations_ms[i]).collect();
    let mut position = loop_position(&durations, last, now)?;
    position.index = shown[position.index];
    if let Some(next) = next {
        position.ends_at = position.ends_at.min(next);
    }
    Some(position)
}

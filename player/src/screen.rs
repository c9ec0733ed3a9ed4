//! What the screen shows: the player's own run of `content::selection` on its cached
//! manifest, with the controller and broker reachable or not. It runs again at the next
//! instant the answer can change (an item's end, one of the player's entries starting or
//! ending, the end of an audience hold) or at once when the manifest, the audience or the
//! alerts change; at least every few seconds all the same. So items switch on time, not on
//! the next tick, and a screen that shows one thing for an hour wakes a few times a minute.
//!
//! This task decides what each zone shows, checks each file before it is used (a corrupt file
//! is never shown: the zone stays empty while it is repaired), hands the result to the
//! renderer (`display`, when the player draws), logs every finished play to the proof-of-play
//! log and reports what is shown (`now.json` in the cache directory and the retained `now`
//! topic).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use content::audience::Audience;
use content::ids::{AssetId, EntryId, LayoutId, PlaylistId, ZoneId};
use content::protocol::{ManifestFile, NowShowing, PlayRecord, ZoneShowing};
use content::selection::{AudienceGate, Selection, ZoneContent};
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use crate::cache::{Check, ContentCache};
use crate::clock::Clock;
use crate::plays::PlayLog;
use crate::sync::{HeldManifest, SyncRequest};

/// The longest the loop sleeps: it catches what no wake-up announces (a clock adjustment;
/// the `now` report's reason, refreshed at most every 10 s).
const LONGEST_SLEEP: Duration = Duration::from_secs(5);
const RECHECK_MISSING: Duration = Duration::from_secs(1);

/// One zone's current item.
struct Showing {
    layout: LayoutId,
    entry: Option<EntryId>,
    zone: ZoneId,
    playlist: PlaylistId,
    item: usize,
    asset: AssetId,
    item_started: DateTime<Utc>,
    /// When this player began showing it (or the item began, whichever is later).
    since: DateTime<Utc>,
    ready: bool,
    file: Option<ManifestFile>,
    checked: Instant,
}

impl Showing {
    fn is(&self, layout: &LayoutId, entry: &Option<EntryId>, zc: &ZoneContent) -> bool {
        &self.layout == layout
            && &self.entry == entry
            && self.playlist == zc.playlist
            && self.item == zc.item
            && self.item_started == zc.started_at
    }
}

pub struct Screen {
    pub clock: Clock,
    pub cache: Arc<ContentCache>,
    pub held: HeldManifest,
    pub plays: Arc<Mutex<PlayLog>>,
    pub now: watch::Sender<NowShowing>,
    pub sync: mpsc::Sender<SyncRequest>,
    pub cache_dir: PathBuf,
    /// The renderer, when the player draws (`render = true`).
    pub display: Option<Arc<crate::display::Display>>,
    /// The camera's live occupancy (unknown without a camera): entries may depend on it.
    pub audience: watch::Receiver<Audience>,
    /// The emergency alerts that take this screen (from `alerts`); a change wakes the loop.
    pub alerts: watch::Receiver<Vec<content::alert::ActiveAlert>>,
    /// The panel's power, switched by the schedule's power rules.
    pub power: crate::power::PowerSwitch,
}

fn random_id() -> String {
    use rand::Rng;
    format!("{:032x}", rand::thread_rng().r#gen::<u128>())
}

/// Two reports say the same thing (the decision instant aside).
fn same_report(a: &NowShowing, b: &NowShowing) -> bool {
    a.manifest_revision == b.manifest_revision
        && a.kind == b.kind
        && a.entry == b.entry
        && a.layout == b.layout
        && a.zones == b.zones
        // The reason quotes live counts: refreshed at most every 10 s while the screen stays.
        && (a.reason == b.reason || a.at - b.at < chrono::TimeDelta::seconds(10))
}

impl Screen {
    pub async fn run(self) {
        let mut zones: BTreeMap<ZoneId, Showing> = BTreeMap::new();
        let mut alerts = self.alerts.clone();
        let mut held = self.held.clone();
        let mut audience = self.audience.clone();
        // Hysteresis and minimum display time of audience rules, kept across decisions.
        let mut gate = AudienceGate::default();
        let mut wake = tokio::time::Instant::now();
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(wake) => {}
                Ok(()) = alerts.changed() => {}
                Ok(()) = held.changed() => {}
                Ok(()) = audience.changed() => {}
            }
            let due;
            (zones, due) = self.step(zones, &mut gate).await;
            // A millisecond past the instant: the selection there already gives the new answer.
            let sleep = (due - self.clock.now()).to_std().unwrap_or_default();
            wake = tokio::time::Instant::now() + sleep + Duration::from_millis(1);
        }
    }

    async fn check(&self, file: &ManifestFile) -> bool {
        let cache = self.cache.clone();
        let f = file.clone();
        let state = tokio::task::spawn_blocking(move || cache.check(&f))
            .await
            .unwrap_or(Check::Missing);
        if state != Check::Ready {
            if state == Check::Corrupt {
                warn!(asset = %file.asset, "a cached file failed its check before use; it is not shown and is being downloaded again");
            }
            let _ = self.sync.try_send(SyncRequest::Repair(file.clone()));
        }
        state == Check::Ready
    }

    fn finish(&self, showing: Showing, end: DateTime<Utc>) {
        if !showing.ready || end <= showing.since {
            return;
        }
        let record = PlayRecord {
            id: random_id(),
            layout: showing.layout,
            zone: showing.zone,
            playlist: showing.playlist,
            item: showing.item,
            asset: showing.asset,
            entry: showing.entry,
            start: showing.since,
            end,
        };
        if let Err(e) = self.plays.lock().expect("not poisoned").append(record) {
            warn!(%e, "cannot log a play");
        }
    }

    /// Decides and shows what is due now; returns what is shown and the next instant the
    /// decision can change without any input changing.
    async fn step(
        &self,
        mut previous: BTreeMap<ZoneId, Showing>,
        gate: &mut AudienceGate,
    ) -> (BTreeMap<ZoneId, Showing>, DateTime<Utc>) {
        let now = self.clock.now();
        let held = self.held.borrow().clone();
        let alerts = self.alerts.borrow().clone();
        let mut reason = None;
        let (kind, entry, screen) = match &held {
            None if !alerts.is_empty() => ("alert", None, None),
            None => ("nothing", None, None),
            Some(h) => {
                let audience = self.audience.borrow().clone();
                let decision = gate.decide(&h.set, &h.target, now, &audience, &alerts);
                reason = Some(decision.reason.to_string());
                match decision.selection {
                    Selection::Scheduled { entry, screen, .. } => {
                        ("scheduled", Some(entry), Some(screen))
                    }
                    Selection::Fallback { screen } => ("fallback", None, Some(screen)),
                    Selection::Alert { .. } => ("alert", None, None),
                    Selection::Off { .. } => ("off_by_schedule", None, None),
                }
            }
        };
        let mut next = BTreeMap::new();
        if let (Some(h), Some(screen)) = (&held, &screen) {
            for zc in &screen.zones {
                let prev = previous.remove(&zc.zone);
                let since = match prev {
                    Some(mut same) if same.is(&screen.layout, &entry, zc) => {
                        if !same.ready && same.checked.elapsed() >= RECHECK_MISSING {
                            same.checked = Instant::now();
                            if let Some(file) = same.file.clone()
                                && self.check(&file).await
                            {
                                same.ready = true;
                                same.since = now;
                            }
                        }
                        next.insert(zc.zone.clone(), same);
                        continue;
                    }
                    Some(old) => {
                        // Natural succession or a schedule boundary: the new item's own start;
                        // otherwise (a new manifest, a late tick) this instant.
                        let switch = if zc.started_at > old.item_started && zc.started_at <= now {
                            zc.started_at
                        } else {
                            now
                        };
                        self.finish(old, switch);
                        switch
                    }
                    None => now,
                };
                let file = h.files.get(&zc.asset).cloned();
                let ready = match &file {
                    Some(f) => self.check(f).await,
                    None => true,
                };
                next.insert(
                    zc.zone.clone(),
                    Showing {
                        layout: screen.layout.clone(),
                        entry: entry.clone(),
                        zone: zc.zone.clone(),
                        playlist: zc.playlist.clone(),
                        item: zc.item,
                        asset: zc.asset.clone(),
                        item_started: zc.started_at,
                        since,
                        ready,
                        file,
                        checked: Instant::now(),
                    },
                );
            }
        }
        for (_, gone) in previous {
            self.finish(gone, now);
        }
        self.power.set(kind != "off_by_schedule");
        // Under an alert the renderer keeps the last plan beneath the takeover layer, so the
        // schedule is back the instant the alert clears. Off by schedule, it draws black.
        if let Some(display) = &self.display
            && kind != "alert"
        {
            display.show(held.as_ref().map(|h| &h.set).zip(screen.as_ref()), |zone| {
                next.get(zone).is_some_and(|s: &Showing| s.ready)
            });
        }
        let report = NowShowing {
            at: now,
            manifest_revision: held.as_ref().map(|h| h.revision),
            kind: kind.to_string(),
            entry: entry.clone(),
            layout: screen.as_ref().map(|s| s.layout.clone()),
            zones: next
                .values()
                .map(|s| ZoneShowing {
                    zone: s.zone.clone(),
                    asset: s.asset.clone(),
                    ready: s.ready,
                    since: s.since,
                })
                .collect(),
            reason,
        };
        if !same_report(&report, &self.now.borrow()) {
            info!(
                kind,
                layout = ?report.layout,
                entry = ?report.entry,
                reason = report.reason.as_deref().unwrap_or(""),
                zones = %report.zones.iter().map(|z| format!("{}={}{}", z.zone, z.asset, if z.ready { "" } else { " (not ready)" })).collect::<Vec<_>>().join(", "),
                at = %now,
                "now showing"
            );
            let file = report.clone();
            crate::disk::replace_soon(self.cache_dir.join("now.json"), move || {
                serde_json::to_vec_pretty(&file).expect("serialises")
            });
            self.now.send_replace(report);
        }
        let due = next_due(now, held.as_deref(), screen.as_ref(), &next, gate);
        (next, due)
    }
}

/// The next instant the decision made at `now` can change by time alone.
fn next_due(
    now: DateTime<Utc>,
    held: Option<&crate::sync::Held>,
    screen: Option<&content::selection::ScreenContent>,
    shown: &BTreeMap<ZoneId, Showing>,
    gate: &AudienceGate,
) -> DateTime<Utc> {
    let mut due = now + LONGEST_SLEEP;
    for zone in screen.iter().flat_map(|s| &s.zones) {
        due = due.min(zone.ends_at);
    }
    if let Some(boundary) = held.and_then(|h| h.set.next_boundary(&h.target, now, due)) {
        due = due.min(boundary);
    }
    if let Some(until) = gate.held_until(now) {
        due = due.min(until);
    }
    if shown.values().any(|s| !s.ready) {
        due = due.min(now + RECHECK_MISSING);
    }
    due
}

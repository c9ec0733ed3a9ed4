//! Per-player manifests: the part of the schedule set that targets a player over the next
//! days, and the files it must hold. Pure functions of (schedule set, player, instant), so the
//! benchmark and the tests run them without a store.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};
use content::asset::Asset;
use content::calendar::Calendar;
use content::protocol::{Manifest, ManifestFile};
use content::schedule::{PlayerTarget, best_match};
use content::schedule_set::{ScheduleSet, ScheduleSetParts};
use sha2::{Digest, Sha256};

/// How far ahead a manifest reaches by default (`content.horizon_days`): a player cut off from
/// the controller keeps following its schedule (and holds every file it needs) for this long,
/// across 年末年始 and a long weekend after it.
pub const HORIZON_DAYS: u32 = 14;

/// The URL path a file is served under, relative to the controller's base URL.
pub fn content_path(sha256: &str) -> String {
    format!("/api/v1/content/{sha256}")
}

/// The manifest of `player` from `now` (revision 0: the caller numbers it).
///
/// The schedule part keeps every entry that targets the player and occurs within the horizon,
/// whole (so its later occurrences keep working if the player stays offline longer), the
/// layouts of those entries and of the fallback, their playlists and assets. It is a valid
/// schedule set on its own, so the player's selection needs nothing else.
pub fn player_manifest(
    set: &ScheduleSet,
    player: &PlayerTarget,
    now: DateTime<Utc>,
    horizon_days: u32,
) -> Manifest {
    let until = now
        .checked_add_signed(TimeDelta::days(i64::from(horizon_days)))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let entries: Vec<_> = set
        .entries()
        .iter()
        .filter(|entry| {
            best_match(&entry.targets, player).is_some()
                && entry
                    .occurrences_overlapping(now, until, set.days_of(player))
                    .next()
                    .is_some()
        })
        .cloned()
        .collect();
    let mut layout_ids = BTreeSet::from([set.fallback_layout()]);
    layout_ids.extend(entries.iter().map(|e| &e.layout));
    let layouts: Vec<_> = layout_ids
        .iter()
        .filter_map(|id| set.layout(id))
        .cloned()
        .collect();
    let playlist_ids: BTreeSet<_> = layouts
        .iter()
        .flat_map(|l| l.zones.iter().map(|z| &z.playlist))
        .collect();
    let playlists: Vec<_> = playlist_ids
        .iter()
        .filter_map(|id| set.playlist(id))
        .cloned()
        .collect();
    let asset_ids: BTreeSet<_> = playlists
        .iter()
        .flat_map(|p| p.items.iter().map(|i| &i.asset))
        .collect();
    let assets: Vec<Asset> = asset_ids
        .iter()
        .filter_map(|id| set.asset(id))
        .cloned()
        .collect();
    let files = assets
        .iter()
        .filter_map(|asset| {
            let file = asset.file()?;
            Some(ManifestFile {
                asset: asset.id.clone(),
                sha256: file.sha256.clone(),
                size_bytes: file.size_bytes,
                url: content_path(&file.sha256.to_string()),
            })
        })
        .collect();
    Manifest {
        player: player.id.clone(),
        revision: 0,
        target: player.clone(),
        valid_from: now,
        horizon_days,
        schedule: ScheduleSetParts {
            assets,
            playlists,
            layouts,
            entries,
            fallback_layout: set.fallback_layout().clone(),
            // The shared rules and this player's ward's own.
            calendar: Calendar {
                wards: set
                    .calendar()
                    .wards
                    .iter()
                    .filter(|w| w.ward == player.ward)
                    .cloned()
                    .collect(),
                ..set.calendar().clone()
            },
        },
        files,
    }
}

/// A digest of what a manifest says, ignoring its revision and computation instant: equal
/// digests mean the player has nothing new to fetch.
pub fn content_digest(manifest: &Manifest) -> String {
    let mut hasher = Sha256::new();
    hasher.update(serde_json::to_vec(&manifest.target).expect("serialises"));
    hasher.update(serde_json::to_vec(&manifest.schedule).expect("serialises"));
    hasher.update(serde_json::to_vec(&manifest.files).expect("serialises"));
    hex::encode(hasher.finalize())
}

/// The manifest body as served and its SHA-256.
pub fn render(manifest: &Manifest) -> (String, String) {
    let body = serde_json::to_string(manifest).expect("manifests serialise");
    let sha = hex::encode(Sha256::digest(body.as_bytes()));
    (body, sha)
}

#[cfg(test)]
mod tests {
    use super::*;
    use content::schedule_set::ScheduleSetParts;

    fn set(json: serde_json::Value) -> ScheduleSet {
        ScheduleSet::new(serde_json::from_value::<ScheduleSetParts>(json).unwrap()).unwrap()
    }

    fn target(id: &str, ward: &str) -> PlayerTarget {
        PlayerTarget {
            id: id.parse().unwrap(),
            ward: ward.into(),
            groups: vec![],
        }
    }

    #[test]
    fn a_manifest_holds_only_what_targets_the_player_and_is_self_contained() {
        let sha = |c: char| c.to_string().repeat(64);
        let zone = |p: &str| serde_json::json!([{"id":"main","x":0,"y":0,"width":10,"height":10,"playlist":p}]);
        let s = set(serde_json::json!({
            "assets": [
                {"id":"a","kind":"image","file":{"sha256":sha('a'),"size_bytes":1}},
                {"id":"b","kind":"image","file":{"sha256":sha('b'),"size_bytes":2}},
                {"id":"f","kind":"ticker","texts":{"ja":"ようこそ"},"colours":{"text":"#ffffff","background":"#000000"}}
            ],
            "playlists": [
                {"id":"pa","items":[{"asset":"a"}]},
                {"id":"pb","items":[{"asset":"b"}]},
                {"id":"pf","items":[{"asset":"f"}]}
            ],
            "layouts": [
                {"id":"la","canvas":{"width":10,"height":10},"zones":zone("pa")},
                {"id":"lb","canvas":{"width":10,"height":10},"zones":zone("pb")},
                {"id":"lf","canvas":{"width":10,"height":10},"zones":zone("pf")}
            ],
            "entries": [
                {"id":"kita","targets":[{"kind":"ward","id":"kita"}],"dates":{"start":"2026-01-01"},"layout":"la"},
                {"id":"naka","targets":[{"kind":"ward","id":"naka"}],"dates":{"start":"2026-01-01"},"layout":"lb"},
                {"id":"old","targets":[{"kind":"all"}],"dates":{"start":"2025-01-01","end":"2025-02-01"},"layout":"lb"}
            ],
            "fallback_layout": "lf"
        }));
        let now = "2026-11-25T03:00:00Z".parse().unwrap();
        let m = player_manifest(&s, &target("kita-1", "kita"), now, HORIZON_DAYS);
        let ids: Vec<_> = m.schedule.entries.iter().map(|e| e.id.0.as_str()).collect();
        assert_eq!(ids, ["kita"]);
        let files: Vec<_> = m.files.iter().map(|f| f.asset.0.as_str()).collect();
        assert_eq!(files, ["a"]);
        assert_eq!(m.files[0].url, format!("/api/v1/content/{}", sha('a')));
        ScheduleSet::new(m.schedule.clone()).expect("the subset is valid on its own");

        let naka = player_manifest(&s, &target("naka-1", "naka"), now, HORIZON_DAYS);
        assert_ne!(content_digest(&m), content_digest(&naka));
        let later = player_manifest(
            &s,
            &target("kita-1", "kita"),
            now + TimeDelta::hours(1),
            HORIZON_DAYS,
        );
        assert_eq!(content_digest(&m), content_digest(&later));
    }

    /// Cut off on the last working day of the year, a screen still opens correctly on the
    /// first working day, and holds what a campaign starting after that needs.
    #[test]
    fn a_manifest_rides_out_the_year_end_closure() {
        let sha = |c: char| c.to_string().repeat(64);
        let zone = |p: &str| serde_json::json!([{"id":"main","x":0,"y":0,"width":10,"height":10,"playlist":p}]);
        let s = set(serde_json::json!({
            "assets": [
                {"id":"hours","kind":"image","file":{"sha256":sha('a'),"size_bytes":1}},
                {"id":"tax","kind":"image","file":{"sha256":sha('b'),"size_bytes":2}},
                {"id":"closed","kind":"ticker","texts":{"ja":"本日は閉庁日です"},"colours":{"text":"#ffffff","background":"#000000"}}
            ],
            "playlists": [
                {"id":"ph","items":[{"asset":"hours"}]},
                {"id":"pt","items":[{"asset":"tax"}]},
                {"id":"pc","items":[{"asset":"closed"}]}
            ],
            "layouts": [
                {"id":"open","canvas":{"width":10,"height":10},"zones":zone("ph")},
                {"id":"tax","canvas":{"width":10,"height":10},"zones":zone("pt")},
                {"id":"closed","canvas":{"width":10,"height":10},"zones":zone("pc")}
            ],
            "entries": [
                {"id":"office","targets":[{"kind":"ward","id":"kita"}],"dates":{"start":"2026-01-01"},
                 "days":"open","named_dayparts":["開庁時間"],"priority":5,"layout":"open"},
                {"id":"tax-season","targets":[{"kind":"all"}],"dates":{"start":"2027-01-06"},
                 "days":"open","priority":9,"layout":"tax"}
            ],
            "fallback_layout": "closed",
            "calendar": {"wards": [
                {"ward":"kita","closed":["2027-01-05"]},
                {"ward":"naka","open":["2026-12-29"]}
            ]}
        }));
        let kita = target("kita-1", "kita");
        let cut_off = "2026-12-28T08:00:00Z".parse().unwrap();
        let m = player_manifest(&s, &kita, cut_off, HORIZON_DAYS);
        let files: Vec<_> = m.files.iter().map(|f| f.asset.0.as_str()).collect();
        assert_eq!(
            files,
            ["hours", "tax"],
            "the 1/6 campaign is within 14 days"
        );
        assert_eq!(
            m.schedule.calendar.wards.len(),
            1,
            "only Kita's own days travel"
        );
        let offline = ScheduleSet::new(m.schedule.clone()).unwrap();
        let layout_at = |at: &str| {
            let at = at.parse().unwrap();
            match content::selection::select(&offline, &kita, at, &Default::default(), &[]) {
                content::selection::Selection::Scheduled { screen, .. }
                | content::selection::Selection::Fallback { screen } => screen.layout.0,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(layout_at("2027-01-02T01:00:00Z"), "closed", "年末年始");
        assert_eq!(
            layout_at("2027-01-04T01:00:00Z"),
            "open",
            "first working day, 10:00"
        );
        assert_eq!(
            layout_at("2027-01-05T01:00:00Z"),
            "closed",
            "Kita's own closure"
        );
        assert_eq!(layout_at("2027-01-06T01:00:00Z"), "tax");
        // A week's horizon would have left the campaign's poster behind.
        let short = player_manifest(&s, &kita, cut_off, 7);
        assert!(short.files.iter().all(|f| f.asset.0 != "tax"));
    }
}

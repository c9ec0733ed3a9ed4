//! Playlists: items played one after another in a loop.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::asset::{Asset, AssetKind};
use crate::ids::{AssetId, PlaylistId};
use crate::validation::{Problem, ValidationError};

/// How long a still (image, text slide, ticker) shows when its item gives no duration.
pub const DEFAULT_STILL_MS: u64 = 10_000;
/// No item may be shorter: a zone then changes at most once a second, well under the three
/// flashes per second of WCAG 2.3.1 and the Japanese broadcast guideline.
pub const MIN_ITEM_MS: u64 = 1_000;
/// No item may be longer: every occurrence of an entry restarts its playlists at least daily,
/// so a longer item would never finish, and the bound keeps loop arithmetic far from overflow.
pub const MAX_ITEM_MS: u64 = 24 * 60 * 60 * 1_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Playlist {
    pub id: PlaylistId,
    pub items: Vec<PlaylistItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaylistItem {
    pub asset: AssetId,
    /// Play time of a still; `None` means [`DEFAULT_STILL_MS`]. Must be `None` for a video,
    /// which plays to its natural length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

impl PlaylistItem {
    /// How long this item plays, given its asset.
    pub fn duration_ms(&self, asset: &Asset) -> Result<u64, ValidationError> {
        let duration = match (&asset.kind, self.duration_ms) {
            (AssetKind::Video { .. }, Some(_)) => {
                return Err(ValidationError::new(
                    "duration_ms",
                    Problem::DurationOnVideo,
                ));
            }
            (AssetKind::Video { duration_ms, .. }, None) => duration_ms
                .ok_or_else(|| ValidationError::new("asset", Problem::UnknownVideoLength))?,
            (_, given) => given.unwrap_or(DEFAULT_STILL_MS),
        };
        let field = if self.duration_ms.is_some() {
            "duration_ms"
        } else {
            "asset"
        };
        if duration < MIN_ITEM_MS {
            return Err(ValidationError::new(field, Problem::TooShort(duration)));
        }
        if duration > MAX_ITEM_MS {
            return Err(ValidationError::new(field, Problem::TooLong(duration)));
        }
        Ok(duration)
    }
}

impl Playlist {
    /// Each item's play time, or every problem preventing it (fields relative to the playlist).
    pub fn item_durations<'a>(
        &self,
        asset: impl Fn(&AssetId) -> Option<&'a Asset>,
    ) -> Result<Vec<u64>, Vec<ValidationError>> {
        if self.items.is_empty() {
            return Err(vec![ValidationError::new("items", Problem::EmptyPlaylist)]);
        }
        let mut durations = Vec::with_capacity(self.items.len());
        let mut problems = Vec::new();
        for (i, item) in self.items.iter().enumerate() {
            let resolved = asset(&item.asset)
                .ok_or_else(|| {
                    ValidationError::new(
                        "asset",
                        Problem::UnknownReference {
                            kind: "asset",
                            id: item.asset.0.clone(),
                        },
                    )
                })
                .and_then(|asset| item.duration_ms(asset));
            match resolved {
                Ok(duration) => durations.push(duration),
                Err(problem) => problems.push(problem.under(&format!("items[{i}]"))),
            }
        }
        if problems.is_empty() {
            Ok(durations)
        } else {
            Err(problems)
        }
    }
}

/// Which item of a looping sequence plays at an instant, and when that item started and ends,
/// so a player joining late can seek into it and pre-roll the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoopPosition {
    pub index: usize,
    pub started_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// Where a sequence of items with `durations_ms`, first started at `anchor` and looped ever
/// since, is at `now` (`now` may precede `anchor`: the loop extends backwards too). `None` when
/// the items have no total length.
pub fn loop_position(
    durations_ms: &[u64],
    anchor: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<LoopPosition> {
    let cycle: i128 = durations_ms.iter().map(|&d| i128::from(d)).sum();
    if cycle == 0 {
        return None;
    }
    // Whole milliseconds since the anchor, rounded down so the item found has begun by `now`.
    let elapsed = now - anchor;
    let truncated = elapsed.num_milliseconds();
    let elapsed_ms =
        i128::from(truncated) - i128::from(TimeDelta::milliseconds(truncated) > elapsed);
    let at =
        |ms: i128| anchor.checked_add_signed(TimeDelta::try_milliseconds(i64::try_from(ms).ok()?)?);
    let mut item_start = elapsed_ms - elapsed_ms.rem_euclid(cycle);
    for (index, &duration) in durations_ms.iter().enumerate() {
        let item_end = item_start + i128::from(duration);
        if item_end > elapsed_ms {
            return Some(LoopPosition {
                index,
                started_at: at(item_start)?,
                ends_at: at(item_end)?,
            });
        }
        item_start = item_end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asset::MediaFile;
    use proptest::prelude::*;

    fn t(seconds: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + TimeDelta::seconds(seconds)
    }

    /// The position as (index, start second, end second) relative to the epoch.
    fn check(durations_s: &[u64], anchor: i64, now: i64) -> Option<(usize, i64, i64)> {
        let durations_ms: Vec<u64> = durations_s.iter().map(|d| d * 1000).collect();
        loop_position(&durations_ms, t(anchor), t(now))
            .map(|p| (p.index, p.started_at.timestamp(), p.ends_at.timestamp()))
    }

    #[test]
    fn positions_in_a_looping_playlist() {
        let items = [10, 5, 15]; // a 30 s cycle starting at t=100
        assert_eq!(check(&items, 100, 100), Some((0, 100, 110)));
        assert_eq!(check(&items, 100, 109), Some((0, 100, 110)));
        assert_eq!(check(&items, 100, 110), Some((1, 110, 115)));
        assert_eq!(check(&items, 100, 129), Some((2, 115, 130)));
        assert_eq!(check(&items, 100, 130), Some((0, 130, 140)));
        assert_eq!(
            check(&items, 100, 100 + 30 * 1000 + 12),
            Some((1, 30_110, 30_115))
        );
        assert_eq!(check(&items, 100, 99), Some((2, 85, 100)));
        assert_eq!(check(&items, 100, 70), Some((0, 70, 80)));
        assert_eq!(check(&[], 100, 100), None);
        assert_eq!(check(&[0, 0], 100, 100), None);
    }

    #[test]
    fn sub_millisecond_instants_round_down() {
        let anchor = t(0);
        let just_before = anchor - TimeDelta::nanoseconds(1);
        let p = loop_position(&[1000, 2000], anchor, just_before).unwrap();
        assert_eq!((p.index, p.started_at, p.ends_at), (1, t(-2), t(0)));
        let just_after = anchor + TimeDelta::nanoseconds(999_999);
        let p = loop_position(&[1000, 2000], anchor, just_after).unwrap();
        assert_eq!((p.index, p.started_at, p.ends_at), (0, t(0), t(1)));
    }

    fn video(duration_ms: Option<u64>) -> Asset {
        Asset {
            id: "v".into(),
            meta: Default::default(),
            kind: AssetKind::Video {
                file: MediaFile {
                    sha256: "0".repeat(64).parse().unwrap(),
                    size_bytes: 1,
                },
                duration_ms,
            },
        }
    }

    #[test]
    fn videos_play_to_their_natural_length() {
        let item = |duration_ms| PlaylistItem {
            asset: "v".into(),
            duration_ms,
        };
        assert_eq!(item(None).duration_ms(&video(Some(42_000))), Ok(42_000));
        assert_eq!(
            item(Some(5_000)).duration_ms(&video(Some(42_000))),
            Err(ValidationError::new(
                "duration_ms",
                Problem::DurationOnVideo
            ))
        );
        assert_eq!(
            item(None).duration_ms(&video(None)),
            Err(ValidationError::new("asset", Problem::UnknownVideoLength))
        );
        assert_eq!(
            item(None).duration_ms(&video(Some(400))),
            Err(ValidationError::new("asset", Problem::TooShort(400)))
        );
    }

    #[test]
    fn playlist_problems_name_the_item() {
        let playlist = Playlist {
            id: "p".into(),
            items: vec![
                PlaylistItem {
                    asset: "v".into(),
                    duration_ms: None,
                },
                PlaylistItem {
                    asset: "missing".into(),
                    duration_ms: None,
                },
                PlaylistItem {
                    asset: "v".into(),
                    duration_ms: Some(1),
                },
            ],
        };
        let v = video(Some(3_000));
        let lookup = |id: &AssetId| (id.0 == "v").then_some(&v);
        let fields: Vec<String> = playlist
            .item_durations(lookup)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["items[1].asset", "items[2].duration_ms"]);
        let empty = Playlist {
            id: "p".into(),
            items: vec![],
        };
        assert_eq!(
            empty.item_durations(lookup),
            Err(vec![ValidationError::new("items", Problem::EmptyPlaylist)])
        );
    }

    proptest! {
        /// Agrees with playing the items one by one from the anchor (forwards or backwards).
        #[test]
        fn loop_position_matches_a_step_by_step_player(
            durations in prop::collection::vec(1u64..5_000, 1..6),
            anchor_ms in -1_000_000i64..1_000_000,
            offset_ns in -200_000_000_000i64..200_000_000_000,
        ) {
            let anchor = DateTime::UNIX_EPOCH + TimeDelta::milliseconds(anchor_ms);
            let now = anchor + TimeDelta::nanoseconds(offset_ns);
            let position = loop_position(&durations, anchor, now).unwrap();

            let mut start = anchor;
            let mut index = 0;
            while start > now {
                index = (index + durations.len() - 1) % durations.len();
                start -= TimeDelta::milliseconds(durations[index] as i64);
            }
            loop {
                let end = start + TimeDelta::milliseconds(durations[index] as i64);
                if end > now {
                    break;
                }
                start = end;
                index = (index + 1) % durations.len();
            }
            prop_assert_eq!(position.index, index);
            prop_assert_eq!(position.started_at, start);
            prop_assert_eq!(
                position.ends_at - position.started_at,
                TimeDelta::milliseconds(durations[index] as i64)
            );
            prop_assert!(position.started_at <= now && now < position.ends_at);
        }
    }
}

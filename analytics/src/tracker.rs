//! Multi-object tracking: a constant-velocity Kalman filter per track and ByteTrack-style
//! two-stage IoU association, with confirmation after N hits and a lost-track buffer.
//!
//! Why our own and not the `trackforge` crate (0.5.1, MIT, evaluated from its source):
//! - it depends on `nalgebra` unconditionally (with `simba`, `wide`, `num-complex` and a
//!   `syn`-based proc-macro), a heavy build for what is here four 2x2 filters;
//! - its ByteTrack reports a track from its first high-confidence detection and ignores
//!   `min_hits`, so one-frame false detections become tracks: exactly the "unconfirmed
//!   tracks inflate counts" failure users report of supervision. We would have to wrap it
//!   with our own confirmation and id scheme anyway;
//! - its tracks expose internal Kalman state, and its library is also built as a `cdylib`
//!   for Python.
//!
//! The algorithm follows ByteTrack (Zhang et al., 2022) with one change: tracks stay
//! tentative and invisible until `min_hits` consecutive matches, and only confirmed tracks
//! get an id, so ids are consecutive numbers of real people.
//!
//! Association is greedy by descending IoU rather than Hungarian: with the handful of
//! people a ward-office camera sees, the two agree except in contrived ties, and greedy is
//! deterministic and short.

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::geometry::BBox;

/// Stable identity of a confirmed track; never reused by a [`Tracker`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TrackId(pub u64);

/// One detector output: a person box and the detector's confidence in `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    pub bbox: BBox,
    pub score: f32,
}

/// A person seen in the current frame: what the counters consume.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Track {
    pub id: TrackId,
    pub bbox: BBox,
}

/// Tracker tuning. Defaults are ByteTrack's published ones, plus `min_hits = 3`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrackerConfig {
    /// Detections scoring at least this are matched first and may start tracks.
    pub high_score: f32,
    /// Detections below this are ignored; those between `low_score` and `high_score` can
    /// only keep an existing track alive (ByteTrack's second stage: occluded people often
    /// get low scores).
    pub low_score: f32,
    /// An unmatched high detection starts a tentative track only when scoring this much.
    pub new_track_score: f32,
    /// Minimum IoU between a predicted box and a high detection to match them.
    pub high_match_iou: f32,
    /// Minimum IoU to match a low detection: stricter, since low scores are less reliable.
    pub low_match_iou: f32,
    /// Consecutive matched frames before a track is confirmed and reported.
    pub min_hits: u32,
    /// Frames a confirmed track may go undetected and still be re-found with its id.
    pub lost_buffer: u32,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        Self {
            high_score: 0.5,
            low_score: 0.1,
            new_track_score: 0.6,
            high_match_iou: 0.2,
            low_match_iou: 0.5,
            min_hits: 3,
            lost_buffer: 30,
        }
    }
}

impl TrackerConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let unit = |key, v: f32, requirement| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(ConfigError::InvalidSetting { key, requirement })
            }
        };
        unit("high_score", self.high_score, "must be between 0 and 1")?;
        unit("low_score", self.low_score, "must be between 0 and 1")?;
        unit(
            "new_track_score",
            self.new_track_score,
            "must be between 0 and 1",
        )?;
        if self.low_score > self.high_score {
            return Err(ConfigError::InvalidSetting {
                key: "low_score",
                requirement: "must not exceed `high_score`",
            });
        }
        for (key, v) in [
            ("high_match_iou", self.high_match_iou),
            ("low_match_iou", self.low_match_iou),
        ] {
            if !(v > 0.0 && v <= 1.0) {
                return Err(ConfigError::InvalidSetting {
                    key,
                    requirement: "must be greater than 0 and at most 1",
                });
            }
        }
        if self.min_hits == 0 {
            return Err(ConfigError::InvalidSetting {
                key: "min_hits",
                requirement: "must be at least 1",
            });
        }
        Ok(())
    }
}

// ByteTrack's noise model: standard deviations proportional to the box size, so the filter
// behaves the same for near and far people.
const STD_POSITION: f32 = 1.0 / 20.0;
const STD_VELOCITY: f32 = 1.0 / 160.0;

/// One coordinate with its velocity and their 2x2 covariance.
///
/// The 8-state constant-velocity filter on (cx, cy, w, h) has a block-diagonal transition
/// and diagonal noises, so it splits exactly into four independent 2-state filters: this
/// is that filter, without a matrix library.
#[derive(Debug, Clone, Copy)]
struct Axis {
    pos: f32,
    vel: f32,
    p_pp: f32,
    p_pv: f32,
    p_vv: f32,
}

impl Axis {
    fn new(pos: f32, scale: f32) -> Self {
        Self {
            pos,
            vel: 0.0,
            p_pp: (2.0 * STD_POSITION * scale).powi(2),
            p_pv: 0.0,
            p_vv: (10.0 * STD_VELOCITY * scale).powi(2),
        }
    }

    /// One frame ahead: `pos += vel`, covariance `F P F^T + Q`.
    fn predict(&mut self, scale: f32) {
        self.pos += self.vel;
        self.p_pp += 2.0 * self.p_pv + self.p_vv + (STD_POSITION * scale).powi(2);
        self.p_pv += self.p_vv;
        self.p_vv += (STD_VELOCITY * scale).powi(2);
    }

    /// Fold in a measurement of `pos`.
    fn correct(&mut self, measured: f32, scale: f32) {
        let s = self.p_pp + (STD_POSITION * scale).powi(2);
        let (k_pos, k_vel) = (self.p_pp / s, self.p_pv / s);
        let innovation = measured - self.pos;
        self.pos += k_pos * innovation;
        self.vel += k_vel * innovation;
        self.p_vv -= k_vel * self.p_pv;
        self.p_pp *= 1.0 - k_pos;
        self.p_pv *= 1.0 - k_pos;
    }
}

/// Box state as centre x, centre y, width, height.
#[derive(Debug, Clone, Copy)]
struct KalmanBox {
    axes: [Axis; 4],
}

impl KalmanBox {
    fn new(b: BBox) -> Self {
        let c = b.center();
        let values = [c.x, c.y, b.w, b.h];
        let scales = Self::scales_of(b.w, b.h);
        Self {
            axes: std::array::from_fn(|i| Axis::new(values[i], scales[i])),
        }
    }

    /// Horizontal quantities scale with the width, vertical ones with the height.
    fn scales_of(w: f32, h: f32) -> [f32; 4] {
        let (w, h) = (w.max(1.0), h.max(1.0));
        [w, h, w, h]
    }

    fn scales(&self) -> [f32; 4] {
        Self::scales_of(self.axes[2].pos, self.axes[3].pos)
    }

    fn predict(&mut self) {
        let scales = self.scales();
        for (axis, scale) in self.axes.iter_mut().zip(scales) {
            axis.predict(scale);
        }
    }

    fn correct(&mut self, b: BBox) {
        let c = b.center();
        let scales = self.scales();
        for (axis, (value, scale)) in self
            .axes
            .iter_mut()
            .zip([c.x, c.y, b.w, b.h].into_iter().zip(scales))
        {
            axis.correct(value, scale);
        }
    }

    fn bbox(&self) -> BBox {
        let [cx, cy, w, h] = self.axes.map(|a| a.pos);
        let (w, h) = (w.max(1.0), h.max(1.0));
        BBox::new(cx - w / 2.0, cy - h / 2.0, w, h)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Stage {
    Tentative { hits: u32 },
    Confirmed(TrackId),
}

#[derive(Debug, Clone)]
struct TrackState {
    kalman: KalmanBox,
    stage: Stage,
    /// Frame number of the last matched detection.
    last_matched: u64,
}

/// Turns per-frame detections into confirmed tracks with stable ids.
#[derive(Debug, Clone)]
pub struct Tracker {
    config: TrackerConfig,
    tracks: Vec<TrackState>,
    frame: u64,
    next_id: u64,
}

impl Tracker {
    pub fn new(config: TrackerConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            config,
            tracks: Vec::new(),
            frame: 0,
            next_id: 1,
        })
    }

    /// Advance one frame. Call it for every analysed frame, also when nothing was
    /// detected, so that lost tracks age. Returns the confirmed tracks matched in this
    /// frame, sorted by id, with Kalman-smoothed boxes.
    pub fn update(&mut self, detections: &[Detection]) -> Vec<Track> {
        self.frame += 1;
        let frame = self.frame;
        for track in &mut self.tracks {
            track.kalman.predict();
        }

        let usable = |d: &&Detection| {
            d.score.is_finite()
                && d.bbox.w > 0.0
                && d.bbox.h > 0.0
                && [d.bbox.x, d.bbox.y, d.bbox.w, d.bbox.h]
                    .iter()
                    .all(|v| v.is_finite())
        };
        let high: Vec<Detection> = detections
            .iter()
            .filter(usable)
            .filter(|d| d.score >= self.config.high_score)
            .copied()
            .collect();
        let low: Vec<Detection> = detections
            .iter()
            .filter(usable)
            .filter(|d| d.score >= self.config.low_score && d.score < self.config.high_score)
            .copied()
            .collect();
        let predicted: Vec<BBox> = self.tracks.iter().map(|t| t.kalman.bbox()).collect();
        let mut high_used = vec![false; high.len()];
        let mut low_used = vec![false; low.len()];

        // Stage 1: every confirmed track, tracked or lost, against the high detections.
        let confirmed: Vec<usize> = self.indices(|t| matches!(t.stage, Stage::Confirmed(_)));
        let stage1 = associate(
            &confirmed,
            &predicted,
            &high,
            &mut high_used,
            self.config.high_match_iou,
        );
        // Stage 2: tracks seen last frame but still unmatched, against the low detections.
        let tracked_left: Vec<usize> = confirmed
            .iter()
            .copied()
            .filter(|&i| {
                self.tracks[i].last_matched + 1 == frame && !stage1.iter().any(|m| m.0 == i)
            })
            .collect();
        let stage2 = associate(
            &tracked_left,
            &predicted,
            &low,
            &mut low_used,
            self.config.low_match_iou,
        );
        // Stage 3: tentative tracks against the high detections nobody took.
        let tentative: Vec<usize> = self.indices(|t| matches!(t.stage, Stage::Tentative { .. }));
        let stage3 = associate(
            &tentative,
            &predicted,
            &high,
            &mut high_used,
            self.config.high_match_iou,
        );

        let matches = stage1
            .into_iter()
            .map(|(t, d)| (t, high[d].bbox))
            .chain(stage2.into_iter().map(|(t, d)| (t, low[d].bbox)))
            .chain(stage3.into_iter().map(|(t, d)| (t, high[d].bbox)));
        for (index, bbox) in matches {
            let track = &mut self.tracks[index];
            track.kalman.correct(bbox);
            track.last_matched = frame;
            if let Stage::Tentative { hits } = track.stage {
                track.stage = Stage::Tentative { hits: hits + 1 };
            }
        }

        for (d, used) in high.iter().zip(&high_used) {
            if !used && d.score >= self.config.new_track_score {
                self.tracks.push(TrackState {
                    kalman: KalmanBox::new(d.bbox),
                    stage: Stage::Tentative { hits: 1 },
                    last_matched: frame,
                });
            }
        }

        let lost_buffer = u64::from(self.config.lost_buffer);
        self.tracks.retain(|t| match t.stage {
            // A tentative track must be matched in every frame until it is confirmed.
            Stage::Tentative { .. } => t.last_matched == frame,
            Stage::Confirmed(_) => frame - t.last_matched <= lost_buffer,
        });
        for track in &mut self.tracks {
            if let Stage::Tentative { hits } = track.stage
                && hits >= self.config.min_hits
            {
                track.stage = Stage::Confirmed(TrackId(self.next_id));
                self.next_id += 1;
            }
        }

        let mut out: Vec<Track> = self
            .tracks
            .iter()
            .filter(|t| t.last_matched == frame)
            .filter_map(|t| match t.stage {
                Stage::Confirmed(id) => Some(Track {
                    id,
                    bbox: t.kalman.bbox(),
                }),
                Stage::Tentative { .. } => None,
            })
            .collect();
        out.sort_by_key(|t| t.id);
        out
    }

    fn indices(&self, keep: impl Fn(&TrackState) -> bool) -> Vec<usize> {
        (0..self.tracks.len())
            .filter(|&i| keep(&self.tracks[i]))
            .collect()
    }
}

/// Greedy IoU matching of `tracks` (indices into `predicted`) to the detections not yet
/// `used`, best IoU first; ties keep track order, then detection order, for determinism.
/// Marks matched detections as used and returns `(track index, detection index)` pairs.
fn associate(
    tracks: &[usize],
    predicted: &[BBox],
    detections: &[Detection],
    used: &mut [bool],
    min_iou: f32,
) -> Vec<(usize, usize)> {
    let mut candidates: Vec<(f32, usize, usize)> = Vec::new();
    for &t in tracks {
        for (d, det) in detections.iter().enumerate() {
            if used[d] {
                continue;
            }
            let iou = predicted[t].iou(&det.bbox);
            if iou >= min_iou {
                candidates.push((iou, t, d));
            }
        }
    }
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut track_taken: Vec<usize> = Vec::new();
    let mut pairs = Vec::new();
    for (_, t, d) in candidates {
        if !used[d] && !track_taken.contains(&t) {
            used[d] = true;
            track_taken.push(t);
            pairs.push((t, d));
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(x: f32, y: f32, score: f32) -> Detection {
        Detection {
            bbox: BBox::new(x, y, 40.0, 100.0),
            score,
        }
    }

    fn tracker() -> Tracker {
        Tracker::new(TrackerConfig::default()).unwrap()
    }

    fn ids(tracks: &[Track]) -> Vec<u64> {
        tracks.iter().map(|t| t.id.0).collect()
    }

    #[test]
    fn a_track_is_reported_from_its_min_hits_th_frame() {
        for min_hits in 1..=5 {
            let mut t = Tracker::new(TrackerConfig {
                min_hits,
                ..TrackerConfig::default()
            })
            .unwrap();
            for frame in 1..=6 {
                let out = t.update(&[det(100.0, 100.0, 0.9)]);
                let expected: Vec<u64> = if frame >= min_hits { vec![1] } else { vec![] };
                assert_eq!(ids(&out), expected, "min_hits {min_hits}, frame {frame}");
            }
        }
    }

    #[test]
    fn flicker_never_becomes_a_track_nor_takes_an_id() {
        let mut t = tracker();
        // Two frames of a false detection, then it vanishes.
        assert!(t.update(&[det(300.0, 50.0, 0.9)]).is_empty());
        assert!(t.update(&[det(300.0, 50.0, 0.9)]).is_empty());
        assert!(t.update(&[]).is_empty());
        // Coming back does not resume the old tentative: the count restarts.
        assert!(t.update(&[det(300.0, 50.0, 0.9)]).is_empty());
        assert!(t.update(&[det(300.0, 50.0, 0.9)]).is_empty());
        assert_eq!(ids(&t.update(&[det(300.0, 50.0, 0.9)])), vec![1]);
    }

    #[test]
    fn a_walker_keeps_its_id_and_is_followed_closely() {
        let mut t = tracker();
        for frame in 0..80 {
            let x = 10.0 + 3.0 * frame as f32;
            let out = t.update(&[det(x, 100.0, 0.9)]);
            if frame >= 2 {
                assert_eq!(ids(&out), vec![1], "frame {frame}");
            }
            if frame >= 20 {
                let b = out[0].bbox;
                assert!(
                    (b.x - x).abs() < 1.0 && (b.y - 100.0).abs() < 1.0,
                    "frame {frame}: {b:?}"
                );
                assert!((b.w - 40.0).abs() < 1.0 && (b.h - 100.0).abs() < 1.0);
            }
        }
    }

    #[test]
    fn id_survives_a_short_occlusion_of_a_moving_person() {
        let mut t = tracker();
        for frame in 0..60 {
            let x = 10.0 + 3.0 * frame as f32;
            let occluded = (30..42).contains(&frame);
            let out = t.update(&if occluded {
                vec![]
            } else {
                vec![det(x, 100.0, 0.9)]
            });
            if occluded {
                assert!(out.is_empty(), "a lost track is not reported");
            } else if frame >= 2 {
                assert_eq!(ids(&out), vec![1], "frame {frame}");
            }
        }
    }

    /// A still person vanishes for `gap` frames and reappears; returns the id it then gets.
    fn id_after_gap(gap: u32) -> Vec<u64> {
        let mut t = Tracker::new(TrackerConfig {
            lost_buffer: 10,
            ..TrackerConfig::default()
        })
        .unwrap();
        for _ in 0..5 {
            t.update(&[det(100.0, 100.0, 0.9)]);
        }
        for _ in 0..gap {
            t.update(&[]);
        }
        let mut last = Vec::new();
        for _ in 0..3 {
            last = t.update(&[det(100.0, 100.0, 0.9)]);
        }
        ids(&last)
    }

    #[test]
    fn lost_buffer_bounds_recovery() {
        assert_eq!(id_after_gap(10), vec![1]);
        assert_eq!(id_after_gap(11), vec![2]);
    }

    #[test]
    fn low_scores_keep_a_track_but_never_start_one() {
        let mut t = tracker();
        for _ in 0..3 {
            t.update(&[det(100.0, 100.0, 0.9)]);
        }
        // Partly occluded: the detector is unsure, the track continues.
        for _ in 0..5 {
            assert_eq!(ids(&t.update(&[det(101.0, 100.0, 0.3)])), vec![1]);
        }
        // Elsewhere, low scores alone never make a track, nor do scores under
        // `new_track_score`, nor those under `low_score`.
        let mut t = tracker();
        for score in [0.3, 0.55, 0.05] {
            for _ in 0..10 {
                assert!(t.update(&[det(100.0, 100.0, score)]).is_empty(), "{score}");
            }
        }
    }

    #[test]
    fn detections_under_low_score_do_not_keep_a_track() {
        let mut t = Tracker::new(TrackerConfig {
            lost_buffer: 0,
            ..TrackerConfig::default()
        })
        .unwrap();
        for _ in 0..3 {
            t.update(&[det(100.0, 100.0, 0.9)]);
        }
        assert!(t.update(&[det(100.0, 100.0, 0.05)]).is_empty());
        // With a zero lost buffer the track is gone: the next person is new.
        for _ in 0..2 {
            t.update(&[det(100.0, 100.0, 0.9)]);
        }
        assert_eq!(ids(&t.update(&[det(100.0, 100.0, 0.9)])), vec![2]);
    }

    #[test]
    fn people_side_by_side_keep_distinct_ids() {
        let mut t = tracker();
        for frame in 0..60 {
            let x = 10.0 + 3.0 * frame as f32;
            // 44 px apart: boxes 40 px wide almost touch.
            let out = t.update(&[det(x, 100.0, 0.9), det(x + 44.0, 100.0, 0.8)]);
            if frame >= 2 {
                assert_eq!(ids(&out), vec![1, 2], "frame {frame}");
                assert!(out[0].bbox.x < out[1].bbox.x, "ids did not swap");
            }
        }
    }

    #[test]
    fn malformed_detections_are_ignored() {
        let mut t = tracker();
        let bad = [
            Detection {
                bbox: BBox::new(0.0, 0.0, 0.0, 10.0),
                score: 0.9,
            },
            Detection {
                bbox: BBox::new(f32::NAN, 0.0, 10.0, 10.0),
                score: 0.9,
            },
            Detection {
                bbox: BBox::new(0.0, 0.0, 10.0, 10.0),
                score: f32::NAN,
            },
        ];
        for _ in 0..5 {
            assert!(t.update(&bad).is_empty());
        }
    }

    #[test]
    fn invalid_configuration_names_the_key() {
        let d = TrackerConfig::default;
        let cases = [
            (
                TrackerConfig {
                    high_score: 1.5,
                    ..d()
                },
                "high_score",
            ),
            (
                TrackerConfig {
                    low_score: -0.1,
                    ..d()
                },
                "low_score",
            ),
            (
                TrackerConfig {
                    low_score: 0.6,
                    high_score: 0.5,
                    ..d()
                },
                "low_score",
            ),
            (
                TrackerConfig {
                    new_track_score: f32::NAN,
                    ..d()
                },
                "new_track_score",
            ),
            (
                TrackerConfig {
                    high_match_iou: 0.0,
                    ..d()
                },
                "high_match_iou",
            ),
            (
                TrackerConfig {
                    low_match_iou: 1.1,
                    ..d()
                },
                "low_match_iou",
            ),
            (TrackerConfig { min_hits: 0, ..d() }, "min_hits"),
        ];
        for (config, expected) in cases {
            match Tracker::new(config) {
                Err(ConfigError::InvalidSetting { key, .. }) => assert_eq!(key, expected),
                other => panic!("{expected}: {other:?}"),
            }
        }
    }
}

//! Counting people who cross a directed line segment, with hysteresis.
//!
//! # Direction convention
//! For the segment A->B, a crossing is [`Direction::In`] when the anchor (bottom-centre of
//! the box) moves from the side where `cross(B - A, P - A) > 0` to the side where it is
//! `< 0`, in image coordinates (x right, y down; `cross(u, v) = u.x * v.y - u.y * v.x`).
//! On screen, `in` goes from the right-hand side of A->B to its left-hand side. Example:
//! for A = (240, 120), B = (240, 360), walking from x = 100 to x = 300 is `in`.
//!
//! # Hysteresis
//! A track is *settled* on a side once its anchor is farther than `margin` pixels from the
//! line on that side. A crossing counts when a track settles on the side opposite to the
//! one it was last settled on, and the last time its path crossed the line before that
//! (interpolated between frames) lay within the segment A-B, not on its extension.
//! Consequences, each tested:
//! - jitter or oscillation within the margin counts nothing, however often it crosses;
//! - a person stopping on the line counts only once they clear the margin beyond it;
//! - crossing and crossing back, clearing the margin each time, counts `in` then `out`;
//! - a track first seen inside the margin counts nothing until it has settled once,
//!   since where it came from is unknown.
//!
//! The counter trusts its input to be confirmed tracks (the [`Tracker`](crate::tracker)
//! reports only those): that is what stops one-frame false detections from counting.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::geometry::{Point, Segment};
use crate::tracker::{Track, TrackId};

/// Which way a crossing went; see the module documentation for the convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    In,
    Out,
}

/// Crossings of one line in each direction (`{"in": a, "out": b}` in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LineCounts {
    #[serde(rename = "in")]
    pub inbound: u64,
    #[serde(rename = "out")]
    pub outbound: u64,
}

impl LineCounts {
    pub fn record(&mut self, direction: Direction) {
        match direction {
            Direction::In => self.inbound += 1,
            Direction::Out => self.outbound += 1,
        }
    }
}

/// One counted crossing. `t` is the timestamp of the frame in which the track cleared the
/// margin, i.e. when the crossing became certain.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LineCrossing {
    pub track: TrackId,
    pub direction: Direction,
    pub t: f64,
}

/// Line counter tuning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LineCounterConfig {
    /// Distance in pixels from the line a track must exceed on a side to be settled there.
    /// Larger than the detector's box jitter; small against a step across the line.
    pub margin: f32,
    /// Forget a track not seen for more than this many frames. Keep it at least the
    /// tracker's `lost_buffer`, so a re-found track keeps its side.
    pub forget_after_frames: u32,
}

impl Default for LineCounterConfig {
    fn default() -> Self {
        Self {
            margin: 10.0,
            forget_after_frames: 30,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Positive,
    Negative,
}

#[derive(Debug, Clone, Copy)]
struct TrackSide {
    /// Side the track last cleared the margin on.
    settled: Option<Side>,
    /// Last observation strictly off the line, to locate the next crossing.
    last_off_line: Option<(Side, Point)>,
    /// Whether the latest crossing of the line since settling was within the segment.
    crossed_within: Option<bool>,
    last_seen: u64,
}

/// Counts crossings of one directed segment A->B; feed it every frame's confirmed tracks.
#[derive(Debug, Clone)]
pub struct LineCounter {
    segment: Segment,
    config: LineCounterConfig,
    tracks: BTreeMap<TrackId, TrackSide>,
    counts: LineCounts,
    frame: u64,
}

impl LineCounter {
    pub fn new(segment: Segment, config: LineCounterConfig) -> Result<Self, ConfigError> {
        if !(config.margin >= 0.0 && config.margin.is_finite()) {
            return Err(ConfigError::InvalidSetting {
                key: "margin",
                requirement: "must be a finite number of pixels, 0 or more",
            });
        }
        Ok(Self {
            segment,
            config,
            tracks: BTreeMap::new(),
            counts: LineCounts::default(),
            frame: 0,
        })
    }

    /// Totals since the counter was created.
    pub fn counts(&self) -> LineCounts {
        self.counts
    }

    /// Advance one frame taken at time `t` (seconds) with the tracks seen in it. Call it
    /// for every analysed frame, also when there are no tracks. Returns the crossings
    /// counted in this frame, in the order of `tracks`.
    pub fn update(&mut self, t: f64, tracks: &[Track]) -> Vec<LineCrossing> {
        self.frame += 1;
        let mut crossings = Vec::new();
        for track in tracks {
            let p = track.bbox.anchor();
            let state = self.tracks.entry(track.id).or_insert(TrackSide {
                settled: None,
                last_off_line: None,
                crossed_within: None,
                last_seen: self.frame,
            });
            state.last_seen = self.frame;
            let d = self.segment.signed_distance(p);
            let side = if d > 0.0 {
                Side::Positive
            } else if d < 0.0 {
                Side::Negative
            } else {
                continue;
            };
            if let Some((previous, q)) = state.last_off_line
                && previous != side
            {
                state.crossed_within = Some(self.segment.intersects(q, p));
            }
            state.last_off_line = Some((side, p));
            if d.abs() <= self.config.margin {
                continue;
            }
            if let Some(from) = state.settled
                && from != side
                && state.crossed_within == Some(true)
            {
                let direction = match from {
                    Side::Positive => Direction::In,
                    Side::Negative => Direction::Out,
                };
                self.counts.record(direction);
                crossings.push(LineCrossing {
                    track: track.id,
                    direction,
                    t,
                });
            }
            state.settled = Some(side);
            state.crossed_within = None;
        }
        let (frame, forget) = (self.frame, u64::from(self.config.forget_after_frames));
        self.tracks.retain(|_, s| frame - s.last_seen <= forget);
        crossings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::BBox;
    use crate::synthetic::{Scene, Walker};

    const FPS: f64 = 30.0;

    fn p(x: f32, y: f32) -> Point {
        Point::new(x, y)
    }

    /// The issue's example line: A=(240,120), B=(240,360).
    fn vertical() -> Segment {
        Segment::new(p(240.0, 120.0), p(240.0, 360.0)).unwrap()
    }

    /// Runs ground-truth tracks of `walkers` through a counter with a 10 px margin.
    fn run(segment: Segment, walkers: Vec<Walker>) -> (LineCounts, Vec<LineCrossing>) {
        let scene = walkers
            .into_iter()
            .fold(Scene::new(FPS), Scene::with_walker);
        let mut counter = LineCounter::new(segment, LineCounterConfig::default()).unwrap();
        let mut crossings = Vec::new();
        for frame in scene.frames() {
            crossings.extend(counter.update(frame.t, &frame.people));
        }
        (counter.counts(), crossings)
    }

    fn counts(inbound: u64, outbound: u64) -> LineCounts {
        LineCounts { inbound, outbound }
    }

    #[test]
    fn scripted_scenes_count_exactly() {
        let w = |start: Point| Walker::new(1, start);
        let cases: Vec<(&str, Vec<Walker>, LineCounts)> = vec![
            (
                "left to right is in",
                vec![w(p(100.0, 300.0)).walk_to(p(380.0, 300.0))],
                counts(1, 0),
            ),
            (
                "right to left is out",
                vec![w(p(380.0, 300.0)).walk_to(p(100.0, 300.0))],
                counts(0, 1),
            ),
            (
                "diagonal",
                vec![w(p(100.0, 100.0)).walk_to(p(380.0, 380.0))],
                counts(1, 0),
            ),
            (
                "below B: extension",
                vec![w(p(100.0, 400.0)).walk_to(p(380.0, 400.0))],
                counts(0, 0),
            ),
            (
                "above A: extension",
                vec![w(p(100.0, 100.0)).walk_to(p(380.0, 100.0))],
                counts(0, 0),
            ),
            (
                "through endpoint B",
                vec![w(p(100.0, 360.0)).walk_to(p(380.0, 360.0))],
                counts(1, 0),
            ),
            (
                "cross and cross back",
                vec![
                    w(p(100.0, 300.0))
                        .walk_to(p(300.0, 300.0))
                        .walk_to(p(100.0, 300.0)),
                ],
                counts(1, 1),
            ),
            (
                "turn back within the margin",
                vec![
                    w(p(100.0, 300.0))
                        .walk_to(p(248.0, 300.0))
                        .walk_to(p(100.0, 300.0)),
                ],
                counts(0, 0),
            ),
            (
                "dither across the line, then go back",
                vec![
                    w(p(100.0, 300.0))
                        .walk_to(p(232.0, 300.0))
                        .back_and_forth(p(16.0, 0.0), 10)
                        .walk_to(p(100.0, 300.0)),
                ],
                counts(0, 0),
            ),
            (
                "dither across the line, then go on",
                vec![
                    w(p(100.0, 300.0))
                        .walk_to(p(232.0, 300.0))
                        .back_and_forth(p(16.0, 0.0), 10)
                        .walk_to(p(380.0, 300.0)),
                ],
                counts(1, 0),
            ),
            (
                "stop on the line, then go on",
                vec![
                    w(p(100.0, 300.0))
                        .walk_to(p(240.0, 300.0))
                        .pause(5.0)
                        .walk_to(p(380.0, 300.0)),
                ],
                counts(1, 0),
            ),
            (
                "two side by side",
                vec![
                    w(p(100.0, 250.0)).walk_to(p(380.0, 250.0)),
                    Walker::new(2, p(100.0, 320.0)).walk_to(p(380.0, 320.0)),
                ],
                counts(2, 0),
            ),
            (
                "around the end of the segment",
                vec![
                    w(p(100.0, 300.0))
                        .walk_to(p(200.0, 450.0))
                        .walk_to(p(300.0, 450.0))
                        .walk_to(p(380.0, 300.0)),
                ],
                counts(0, 0),
            ),
            (
                "around the end, then back across the segment",
                vec![
                    w(p(100.0, 300.0))
                        .walk_to(p(200.0, 450.0))
                        .walk_to(p(300.0, 450.0))
                        .walk_to(p(380.0, 300.0))
                        .walk_to(p(100.0, 300.0)),
                ],
                counts(0, 1),
            ),
            (
                "first seen within the margin",
                vec![w(p(235.0, 300.0)).walk_to(p(380.0, 300.0))],
                counts(0, 0),
            ),
        ];
        for (name, walkers, expected) in cases {
            assert_eq!(run(vertical(), walkers).0, expected, "{name}");
        }
    }

    #[test]
    fn horizontal_line_direction() {
        // A->B to the right: below is the positive side, so walking up is `in`.
        let line = Segment::new(p(0.0, 200.0), p(400.0, 200.0)).unwrap();
        let up = Walker::new(1, p(200.0, 300.0)).walk_to(p(200.0, 100.0));
        let down = Walker::new(1, p(200.0, 100.0)).walk_to(p(200.0, 300.0));
        assert_eq!(run(line, vec![up]).0, counts(1, 0));
        assert_eq!(run(line, vec![down]).0, counts(0, 1));
    }

    #[test]
    fn crossing_is_reported_when_the_margin_is_cleared() {
        // 60 px/s from x = 100: x = 250 (line + margin) at 2.5 s; first frame beyond is 76.
        let walker = Walker::new(4, p(100.0, 300.0)).walk_to(p(380.0, 300.0));
        let (_, crossings) = run(vertical(), vec![walker]);
        assert_eq!(
            crossings,
            vec![LineCrossing {
                track: TrackId(4),
                direction: Direction::In,
                t: 76.0 / FPS
            }]
        );
        // Stopping on the line for 5 s delays the count until the person clears it.
        let stopper = Walker::new(4, p(100.0, 300.0))
            .walk_to(p(240.0, 300.0))
            .pause(5.0)
            .walk_to(p(380.0, 300.0));
        let (_, crossings) = run(vertical(), vec![stopper]);
        assert_eq!(crossings.len(), 1);
        assert!(crossings[0].t > 140.0 / 60.0 + 5.0);
    }

    fn track(id: u64, anchor: Point) -> Track {
        Track {
            id: TrackId(id),
            bbox: BBox::from_anchor(anchor, 40.0, 100.0),
        }
    }

    /// Sees track 1 at x = 100, then nothing for `gap` frames, then at x = 300.
    fn reappear_after(gap: u32) -> LineCounts {
        let config = LineCounterConfig {
            margin: 10.0,
            forget_after_frames: 5,
        };
        let mut counter = LineCounter::new(vertical(), config).unwrap();
        counter.update(0.0, &[track(1, p(100.0, 300.0))]);
        for _ in 0..gap {
            counter.update(0.0, &[]);
        }
        counter.update(0.0, &[track(1, p(300.0, 300.0))]);
        counter.counts()
    }

    #[test]
    fn side_is_kept_across_short_gaps_and_forgotten_after_long_ones() {
        // Forgotten when unseen for more than `forget_after_frames` (5) frames.
        assert_eq!(reappear_after(5), counts(1, 0));
        assert_eq!(reappear_after(6), counts(0, 0));
    }

    #[test]
    fn zero_margin_counts_any_strict_crossing() {
        let config = LineCounterConfig {
            margin: 0.0,
            ..LineCounterConfig::default()
        };
        let mut counter = LineCounter::new(vertical(), config).unwrap();
        for x in [239.0, 240.0, 241.0, 240.0, 239.0] {
            counter.update(0.0, &[track(1, p(x, 300.0))]);
        }
        assert_eq!(counter.counts(), counts(1, 1));
    }

    #[test]
    fn invalid_margin_is_rejected() {
        for margin in [-1.0, f32::NAN, f32::INFINITY] {
            let config = LineCounterConfig {
                margin,
                ..LineCounterConfig::default()
            };
            assert!(
                matches!(
                    LineCounter::new(vertical(), config),
                    Err(ConfigError::InvalidSetting { key: "margin", .. })
                ),
                "{margin}"
            );
        }
    }

    #[test]
    fn counts_serialise_as_in_and_out() {
        let json = serde_json::to_string(&counts(3, 4)).unwrap();
        assert_eq!(json, r#"{"in":3,"out":4}"#);
    }
}

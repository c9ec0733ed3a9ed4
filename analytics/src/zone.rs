//! Occupancy, entries, exits and dwell time in a polygon zone.
//!
//! A track is *in* the zone when its anchor (bottom-centre) is inside the polygon. The
//! state is debounced, because Frigate users report occupancy that flickers as boxes
//! jitter on a zone edge or a detection drops for a frame:
//! - entering takes `enter_frames` consecutive observations inside, leaving takes
//!   `exit_frames` consecutive observations outside; shorter excursions change nothing;
//! - a track that goes unseen stays where it was for up to `forget_after_frames` frames
//!   (a missed detection is not an exit); after that, if it was inside, it has left.
//!
//! Dwell time of a visit is the time from the first to the last observation inside,
//! counting from the first frame of the streak that confirmed the entry, so the debounce
//! delay does not shorten it.
//!
//! Every entry is matched by exactly one exit (walking out or vanishing), so
//! `occupancy == entries - exits` at all times.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::geometry::Polygon;
use crate::tracker::{Track, TrackId};

/// Zone counter tuning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ZoneConfig {
    /// Consecutive observations inside before a track has entered.
    pub enter_frames: u32,
    /// Consecutive observations outside before a track has left.
    pub exit_frames: u32,
    /// Frames a track may go unseen before it is considered gone (and, if inside, left).
    pub forget_after_frames: u32,
    /// Upper bounds in seconds of the dwell-time histogram buckets, strictly increasing;
    /// a last bucket holds longer visits.
    pub dwell_buckets: Vec<f64>,
}

impl Default for ZoneConfig {
    fn default() -> Self {
        Self {
            enter_frames: 3,
            exit_frames: 3,
            forget_after_frames: 30,
            dwell_buckets: vec![5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0],
        }
    }
}

impl ZoneConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.enter_frames == 0 {
            return Err(ConfigError::InvalidSetting {
                key: "enter_frames",
                requirement: "must be at least 1",
            });
        }
        if self.exit_frames == 0 {
            return Err(ConfigError::InvalidSetting {
                key: "exit_frames",
                requirement: "must be at least 1",
            });
        }
        let positive = self.dwell_buckets.iter().all(|b| b.is_finite() && *b > 0.0);
        let increasing = self.dwell_buckets.windows(2).all(|w| w[0] < w[1]);
        if !positive || !increasing {
            return Err(ConfigError::InvalidSetting {
                key: "dwell_buckets",
                requirement: "must be positive numbers of seconds in strictly increasing order",
            });
        }
        Ok(())
    }
}

/// One stay of a track in the zone. `left_at` is the last time the track was seen inside
/// (for a visit in progress: so far).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Visit {
    pub track: TrackId,
    pub entered_at: f64,
    pub left_at: f64,
}

impl Visit {
    pub fn dwell(&self) -> f64 {
        self.left_at - self.entered_at
    }
}

/// Counts of completed visits by dwell time, with bounded memory for long-running players.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DwellHistogram {
    upper_bounds: Vec<f64>,
    counts: Vec<u64>,
}

impl DwellHistogram {
    fn new(upper_bounds: Vec<f64>) -> Self {
        let counts = vec![0; upper_bounds.len() + 1];
        Self {
            upper_bounds,
            counts,
        }
    }

    fn record(&mut self, seconds: f64) {
        let bucket = self.upper_bounds.partition_point(|&b| b < seconds);
        self.counts[bucket] += 1;
    }

    /// `(upper bound in seconds, visits)` per bucket, the bound inclusive; the last bucket,
    /// without bound, holds the longer visits.
    pub fn buckets(&self) -> impl Iterator<Item = (Option<f64>, u64)> + '_ {
        self.upper_bounds
            .iter()
            .map(|&b| Some(b))
            .chain([None])
            .zip(self.counts.iter().copied())
    }
}

/// Zone figures at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ZoneCounts {
    pub occupancy: u32,
    pub entries: u64,
    pub exits: u64,
    pub max_occupancy: u32,
    /// Occupancy averaged over all frames so far.
    pub mean_occupancy: f64,
}

#[derive(Debug, Clone, Copy)]
struct Presence {
    /// Debounced state.
    inside: bool,
    /// Consecutive observations contradicting `inside`.
    streak: u32,
    /// Time of the first observation of the current inside streak.
    streak_start: f64,
    entered_at: f64,
    last_inside: f64,
    last_seen: u64,
}

/// Tracks presence in one polygon zone; feed it every frame's confirmed tracks.
#[derive(Debug, Clone)]
pub struct ZoneCounter {
    polygon: Polygon,
    config: ZoneConfig,
    tracks: BTreeMap<TrackId, Presence>,
    entries: u64,
    exits: u64,
    frame: u64,
    max_occupancy: u32,
    occupancy_sum: u64,
    completed: Vec<Visit>,
    histogram: DwellHistogram,
}

impl ZoneCounter {
    pub fn new(polygon: Polygon, config: ZoneConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let histogram = DwellHistogram::new(config.dwell_buckets.clone());
        Ok(Self {
            polygon,
            config,
            tracks: BTreeMap::new(),
            entries: 0,
            exits: 0,
            frame: 0,
            max_occupancy: 0,
            occupancy_sum: 0,
            completed: Vec::new(),
            histogram,
        })
    }

    /// Advance one frame taken at time `t` (seconds) with the tracks seen in it. Call it
    /// for every analysed frame, also when there are no tracks.
    pub fn update(&mut self, t: f64, tracks: &[Track]) {
        self.frame += 1;
        let (enter_frames, exit_frames) = (self.config.enter_frames, self.config.exit_frames);
        for track in tracks {
            let inside_now = self.polygon.contains(track.bbox.anchor());
            let p = self.tracks.entry(track.id).or_insert(Presence {
                inside: false,
                streak: 0,
                streak_start: t,
                entered_at: t,
                last_inside: t,
                last_seen: self.frame,
            });
            p.last_seen = self.frame;
            if inside_now == p.inside {
                p.streak = 0;
                if inside_now {
                    p.last_inside = t;
                }
                continue;
            }
            p.streak += 1;
            if inside_now && p.streak == 1 {
                p.streak_start = t;
            }
            if inside_now && p.streak >= enter_frames {
                *p = Presence {
                    inside: true,
                    streak: 0,
                    entered_at: p.streak_start,
                    last_inside: t,
                    ..*p
                };
                self.entries += 1;
            } else if !inside_now && p.streak >= exit_frames {
                p.inside = false;
                p.streak = 0;
                let visit = Visit {
                    track: track.id,
                    entered_at: p.entered_at,
                    left_at: p.last_inside,
                };
                self.finish_visit(visit);
            }
        }

        let (frame, forget) = (self.frame, u64::from(self.config.forget_after_frames));
        let gone: Vec<TrackId> = self
            .tracks
            .iter()
            .filter(|(_, p)| frame - p.last_seen > forget)
            .map(|(&id, _)| id)
            .collect();
        for id in gone {
            if let Some(p) = self.tracks.remove(&id)
                && p.inside
            {
                self.finish_visit(Visit {
                    track: id,
                    entered_at: p.entered_at,
                    left_at: p.last_inside,
                });
            }
        }

        let occupancy = self.occupancy();
        self.max_occupancy = self.max_occupancy.max(occupancy);
        self.occupancy_sum += u64::from(occupancy);
    }

    fn finish_visit(&mut self, visit: Visit) {
        self.exits += 1;
        self.histogram.record(visit.dwell());
        self.completed.push(visit);
    }

    /// People in the zone now.
    pub fn occupancy(&self) -> u32 {
        self.tracks.values().filter(|p| p.inside).count() as u32
    }

    pub fn counts(&self) -> ZoneCounts {
        ZoneCounts {
            occupancy: self.occupancy(),
            entries: self.entries,
            exits: self.exits,
            max_occupancy: self.max_occupancy,
            mean_occupancy: if self.frame == 0 {
                0.0
            } else {
                self.occupancy_sum as f64 / self.frame as f64
            },
        }
    }

    /// Visits of the people inside now, by track id.
    pub fn current_visits(&self) -> impl Iterator<Item = Visit> + '_ {
        self.tracks
            .iter()
            .filter(|(_, p)| p.inside)
            .map(|(&track, p)| Visit {
                track,
                entered_at: p.entered_at,
                left_at: p.last_inside,
            })
    }

    /// Completed visits since the last call, oldest first; the caller publishes them, so
    /// the list does not grow without bound.
    pub fn take_completed_visits(&mut self) -> Vec<Visit> {
        std::mem::take(&mut self.completed)
    }

    /// Distribution of all completed visits' dwell times since the counter was created.
    pub fn dwell_histogram(&self) -> &DwellHistogram {
        &self.histogram
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{BBox, Point};
    use crate::synthetic::{Scene, Walker};

    fn p(x: f32, y: f32) -> Point {
        Point::new(x, y)
    }

    /// The square (100,100)-(300,300).
    fn square() -> Polygon {
        Polygon::new(vec![
            p(100.0, 100.0),
            p(300.0, 100.0),
            p(300.0, 300.0),
            p(100.0, 300.0),
        ])
        .unwrap()
    }

    fn counter(config: ZoneConfig) -> ZoneCounter {
        ZoneCounter::new(square(), config).unwrap()
    }

    fn track(id: u64, anchor: Point) -> Track {
        Track {
            id: TrackId(id),
            bbox: BBox::from_anchor(anchor, 40.0, 100.0),
        }
    }

    const IN: Point = Point::new(200.0, 200.0);
    const OUT: Point = Point::new(50.0, 200.0);

    /// Feeds track 1 at the given positions (`None`: not seen) at 10 frames/s; returns the
    /// occupancy after each frame.
    fn script(zone: &mut ZoneCounter, positions: &[Option<Point>]) -> Vec<u32> {
        positions
            .iter()
            .enumerate()
            .map(|(i, pos)| {
                let tracks: Vec<Track> = pos.iter().map(|&a| track(1, a)).collect();
                zone.update(i as f64 / 10.0, &tracks);
                zone.occupancy()
            })
            .collect()
    }

    #[test]
    fn walk_through_has_exact_occupancy_and_dwell() {
        // 100 px/s at 10 frames/s: anchor x = 5 + 10 i, inside for i = 10..=29.
        let scene = Scene::new(10.0).with_walker(
            Walker::new(1, p(5.0, 200.0))
                .speed(100.0)
                .walk_to(p(405.0, 200.0)),
        );
        let mut zone = counter(ZoneConfig::default());
        let mut timeline = Vec::new();
        for frame in scene.frames() {
            zone.update(frame.t, &frame.people);
            timeline.push(zone.occupancy());
        }
        // Entered on the 3rd frame inside (i = 12), left on the 3rd frame outside (i = 32).
        let expected: Vec<u32> = (0..timeline.len())
            .map(|i| u32::from((12..32).contains(&i)))
            .collect();
        assert_eq!(timeline, expected);
        let counts = zone.counts();
        assert_eq!(
            (counts.entries, counts.exits, counts.max_occupancy),
            (1, 1, 1)
        );
        assert!((counts.mean_occupancy - 20.0 / 41.0).abs() < 1e-12);
        let visits = zone.take_completed_visits();
        assert_eq!(visits.len(), 1);
        assert_eq!((visits[0].entered_at, visits[0].left_at), (1.0, 2.9));
        assert!(
            zone.take_completed_visits().is_empty(),
            "visits are handed out once"
        );
    }

    #[test]
    fn short_excursions_do_not_flicker() {
        let mut zone = counter(ZoneConfig::default());
        let mut positions = vec![Some(IN); 5];
        positions.extend([Some(OUT), Some(OUT)]); // two frames out: less than exit_frames
        positions.extend([Some(IN); 3]);
        positions.extend([None; 5]); // missed detections
        positions.extend([Some(IN); 2]);
        let timeline = script(&mut zone, &positions);
        assert_eq!(
            timeline,
            [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
        );
        assert_eq!((zone.counts().entries, zone.counts().exits), (1, 0));
        let current: Vec<Visit> = zone.current_visits().collect();
        assert_eq!(
            current,
            vec![Visit {
                track: TrackId(1),
                entered_at: 0.0,
                left_at: 1.6
            }]
        );
    }

    #[test]
    fn brief_intrusions_do_not_enter() {
        let mut zone = counter(ZoneConfig::default());
        let positions = [
            Some(OUT),
            Some(IN),
            Some(IN),
            Some(OUT),
            Some(IN),
            Some(IN),
            Some(OUT),
        ];
        assert_eq!(script(&mut zone, &positions), [0; 7]);
        assert_eq!(zone.counts().entries, 0);
    }

    #[test]
    fn vanishing_inside_is_an_exit_after_the_forget_delay() {
        let config = ZoneConfig {
            forget_after_frames: 4,
            ..ZoneConfig::default()
        };
        let mut zone = counter(config);
        let mut positions = vec![Some(IN); 6];
        positions.extend([None; 6]);
        let timeline = script(&mut zone, &positions);
        // Seen last in frame 6 (index 5); gone when unseen for more than 4 frames.
        assert_eq!(timeline, [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
        assert_eq!(
            zone.take_completed_visits(),
            vec![Visit {
                track: TrackId(1),
                entered_at: 0.0,
                left_at: 0.5
            }]
        );
        assert_eq!((zone.counts().entries, zone.counts().exits), (1, 1));
    }

    #[test]
    fn occupancy_counts_several_people() {
        let config = ZoneConfig {
            enter_frames: 1,
            exit_frames: 1,
            ..ZoneConfig::default()
        };
        let mut zone = counter(config);
        let frames: [&[Track]; 4] = [
            &[track(1, IN)],
            &[track(1, IN), track(2, IN), track(3, OUT)],
            &[track(1, OUT), track(2, IN), track(3, IN)],
            &[track(2, OUT), track(3, IN)],
        ];
        let timeline: Vec<u32> = frames
            .iter()
            .enumerate()
            .map(|(i, tracks)| {
                zone.update(i as f64, tracks);
                zone.occupancy()
            })
            .collect();
        assert_eq!(timeline, [1, 2, 2, 1]);
        let counts = zone.counts();
        assert_eq!(
            (counts.entries, counts.exits, counts.max_occupancy),
            (3, 2, 2)
        );
        assert_eq!(counts.mean_occupancy, 1.5);
        let dwell: Vec<(u64, f64)> = zone
            .take_completed_visits()
            .iter()
            .map(|v| (v.track.0, v.dwell()))
            .collect();
        assert_eq!(dwell, [(1, 1.0), (2, 1.0)]);
    }

    #[test]
    fn dwell_histogram_buckets_completed_visits() {
        let config = ZoneConfig {
            enter_frames: 1,
            exit_frames: 1,
            dwell_buckets: vec![5.0, 60.0],
            ..ZoneConfig::default()
        };
        let mut zone = counter(config);
        // Visits of 3 s, 5 s (bounds are inclusive), 20 s and 100 s, one after the other.
        let mut t = 0.0;
        for (id, dwell) in [(1, 3.0), (2, 5.0), (3, 20.0), (4, 100.0)] {
            zone.update(t, &[track(id, IN)]);
            zone.update(t + dwell, &[track(id, IN)]);
            zone.update(t + dwell + 1.0, &[track(id, OUT)]);
            t += dwell + 2.0;
        }
        let buckets: Vec<(Option<f64>, u64)> = zone.dwell_histogram().buckets().collect();
        assert_eq!(buckets, [(Some(5.0), 2), (Some(60.0), 1), (None, 1)]);
    }

    #[test]
    fn invalid_configuration_names_the_key() {
        let d = ZoneConfig::default;
        let cases = [
            (
                ZoneConfig {
                    enter_frames: 0,
                    ..d()
                },
                "enter_frames",
            ),
            (
                ZoneConfig {
                    exit_frames: 0,
                    ..d()
                },
                "exit_frames",
            ),
            (
                ZoneConfig {
                    dwell_buckets: vec![10.0, 5.0],
                    ..d()
                },
                "dwell_buckets",
            ),
            (
                ZoneConfig {
                    dwell_buckets: vec![0.0],
                    ..d()
                },
                "dwell_buckets",
            ),
            (
                ZoneConfig {
                    dwell_buckets: vec![f64::NAN],
                    ..d()
                },
                "dwell_buckets",
            ),
        ];
        for (config, expected) in cases {
            match ZoneCounter::new(square(), config) {
                Err(ConfigError::InvalidSetting { key, .. }) => assert_eq!(key, expected),
                other => panic!("{expected}: {other:?}"),
            }
        }
    }
}

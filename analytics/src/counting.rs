//! One analysed frame's detections in, every configured line's and zone's figures out: the
//! tracker and the counters joined, still pure (no frames, no clocks, no IO).
//!
//! The edge [`pipeline`](crate::edge::pipeline) feeds it detections from a camera; the
//! evaluation feeds it ground truth; tests feed it synthetic boxes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::geometry::{Point, Polygon, Segment};
use crate::line_counter::{LineCounter, LineCounterConfig, LineCounts, LineCrossing};
use crate::tracker::{Detection, Track, Tracker, TrackerConfig};
use crate::zone::{ZoneConfig, ZoneCounter};

/// A named, directed counting line A->B.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedLine {
    pub name: String,
    pub segment: Segment,
}

/// A named zone.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedZone {
    pub name: String,
    pub polygon: Polygon,
}

/// A `--line` or `--zone` argument that cannot be used, with the reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpecError {
    #[error("`{0}`: expected NAME:x1,y1,x2,y2 ... (a name, a colon, then comma-separated numbers)")]
    Syntax(String),
    #[error("`{spec}`: `{value}` is not a number")]
    Number { spec: String, value: String },
    #[error("`{spec}`: a line needs exactly 4 numbers x1,y1,x2,y2, got {got}")]
    LineArity { spec: String, got: usize },
    #[error(
        "`{spec}`: a zone needs an even count of at least 6 numbers x1,y1,x2,y2,x3,y3,..., got {got}"
    )]
    ZoneArity { spec: String, got: usize },
    #[error("`{spec}`: {source}")]
    Geometry { spec: String, source: ConfigError },
    #[error("the name `{0}` is used twice; give every line and every zone its own name")]
    Duplicate(String),
}

fn parse_named_numbers(spec: &str) -> Result<(String, Vec<f32>), SpecError> {
    let (name, numbers) = spec
        .split_once(':')
        .ok_or_else(|| SpecError::Syntax(spec.to_owned()))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(SpecError::Syntax(spec.to_owned()));
    }
    let values = numbers
        .split(',')
        .map(|v| {
            v.trim().parse::<f32>().map_err(|_| SpecError::Number {
                spec: spec.to_owned(),
                value: v.trim().to_owned(),
            })
        })
        .collect::<Result<Vec<f32>, _>>()?;
    Ok((name.to_owned(), values))
}

impl std::str::FromStr for NamedLine {
    type Err = SpecError;

    /// `NAME:x1,y1,x2,y2`: the segment A=(x1,y1) -> B=(x2,y2).
    fn from_str(spec: &str) -> Result<Self, SpecError> {
        let (name, v) = parse_named_numbers(spec)?;
        if v.len() != 4 {
            return Err(SpecError::LineArity {
                spec: spec.to_owned(),
                got: v.len(),
            });
        }
        let segment =
            Segment::new(Point::new(v[0], v[1]), Point::new(v[2], v[3])).map_err(|source| {
                SpecError::Geometry {
                    spec: spec.to_owned(),
                    source,
                }
            })?;
        Ok(Self { name, segment })
    }
}

impl std::str::FromStr for NamedZone {
    type Err = SpecError;

    /// `NAME:x1,y1,x2,y2,x3,y3,...`: the polygon's corners in order.
    fn from_str(spec: &str) -> Result<Self, SpecError> {
        let (name, v) = parse_named_numbers(spec)?;
        if v.len() < 6 || v.len() % 2 != 0 {
            return Err(SpecError::ZoneArity {
                spec: spec.to_owned(),
                got: v.len(),
            });
        }
        let corners = v.chunks(2).map(|c| Point::new(c[0], c[1])).collect();
        let polygon = Polygon::new(corners).map_err(|source| SpecError::Geometry {
            spec: spec.to_owned(),
            source,
        })?;
        Ok(Self { name, polygon })
    }
}

/// Where the configuration leaves the frame `width` x `height`: the first line or zone with
/// a point outside `[0, width] x [0, height]`, as a message naming it.
pub fn check_inside_frame(
    lines: &[NamedLine],
    zones: &[NamedZone],
    width: f32,
    height: f32,
) -> Result<(), String> {
    let outside = |p: &Point| !(0.0..=width).contains(&p.x) || !(0.0..=height).contains(&p.y);
    for line in lines {
        for p in [line.segment.a(), line.segment.b()] {
            if outside(&p) {
                return Err(format!(
                    "line `{}` has the point ({}, {}) outside the {width}x{height} frame; \
                     give coordinates in pixels of the video (use `calibrate` to check)",
                    line.name, p.x, p.y
                ));
            }
        }
    }
    for zone in zones {
        if let Some(p) = zone.polygon.vertices().iter().find(|p| outside(p)) {
            return Err(format!(
                "zone `{}` has the corner ({}, {}) outside the {width}x{height} frame; \
                 give coordinates in pixels of the video (use `calibrate` to check)",
                zone.name, p.x, p.y
            ));
        }
    }
    Ok(())
}

/// Tuning of the tracker and of all counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CountingConfig {
    pub tracker: TrackerConfig,
    pub line: LineCounterConfig,
    pub zone: ZoneConfig,
}

/// What one frame produced.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameCounts {
    /// Confirmed tracks seen in this frame.
    pub tracks: Vec<Track>,
    /// Crossings counted in this frame, with the line's index in the configuration.
    pub crossings: Vec<(usize, LineCrossing)>,
    /// Occupancy of each zone after this frame, in configuration order.
    pub occupancy: Vec<u32>,
}

/// Per-zone summary in the CLI's JSON.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ZoneSummary {
    pub max_occupancy: u32,
    pub mean_occupancy: f64,
}

/// Tracker plus the named line and zone counters.
#[derive(Debug, Clone)]
pub struct Counting {
    tracker: Tracker,
    lines: Vec<(String, LineCounter)>,
    zones: Vec<(String, ZoneCounter)>,
    frames: u64,
}

impl Counting {
    pub fn new(
        lines: &[NamedLine],
        zones: &[NamedZone],
        config: &CountingConfig,
    ) -> Result<Self, SpecError> {
        let mut names: Vec<&str> = lines
            .iter()
            .map(|l| l.name.as_str())
            .chain(zones.iter().map(|z| z.name.as_str()))
            .collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(SpecError::Duplicate(w[0].to_owned()));
        }
        let geometry = |spec: &str, source| SpecError::Geometry {
            spec: spec.to_owned(),
            source,
        };
        let tracker = Tracker::new(config.tracker.clone()).map_err(|e| geometry("tracker", e))?;
        let lines = lines
            .iter()
            .map(|l| {
                LineCounter::new(l.segment, config.line.clone())
                    .map(|c| (l.name.clone(), c))
                    .map_err(|e| geometry(&l.name, e))
            })
            .collect::<Result<_, _>>()?;
        let zones = zones
            .iter()
            .map(|z| {
                ZoneCounter::new(z.polygon.clone(), config.zone.clone())
                    .map(|c| (z.name.clone(), c))
                    .map_err(|e| geometry(&z.name, e))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            tracker,
            lines,
            zones,
            frames: 0,
        })
    }

    /// Advance one analysed frame taken at `t` seconds.
    pub fn update(&mut self, t: f64, detections: &[Detection]) -> FrameCounts {
        let tracks = self.tracker.update(detections);
        self.update_tracks(t, tracks)
    }

    /// Advance one frame with already tracked people (ground truth), bypassing the tracker.
    pub fn update_tracks(&mut self, t: f64, tracks: Vec<Track>) -> FrameCounts {
        self.frames += 1;
        let mut crossings = Vec::new();
        for (i, (_, counter)) in self.lines.iter_mut().enumerate() {
            crossings.extend(counter.update(t, &tracks).into_iter().map(|c| (i, c)));
        }
        let occupancy = self
            .zones
            .iter_mut()
            .map(|(_, zone)| {
                zone.update(t, &tracks);
                zone.occupancy()
            })
            .collect();
        FrameCounts {
            tracks,
            crossings,
            occupancy,
        }
    }

    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Totals per line name.
    pub fn line_counts(&self) -> BTreeMap<String, LineCounts> {
        self.lines
            .iter()
            .map(|(name, c)| (name.clone(), c.counts()))
            .collect()
    }

    /// Max and mean occupancy per zone name.
    pub fn zone_summaries(&self) -> BTreeMap<String, ZoneSummary> {
        self.zones
            .iter()
            .map(|(name, z)| {
                let c = z.counts();
                (
                    name.clone(),
                    ZoneSummary {
                        max_occupancy: c.max_occupancy,
                        mean_occupancy: c.mean_occupancy,
                    },
                )
            })
            .collect()
    }

    /// Zone counters by name, for entries, exits and dwell times.
    pub fn zones(&self) -> impl Iterator<Item = (&str, &ZoneCounter)> {
        self.zones.iter().map(|(n, z)| (n.as_str(), z))
    }

    /// Visits that ended since the last call, with the zone's index in the configuration.
    /// A long-running caller (the player) takes them regularly so they do not accumulate.
    pub fn take_completed_visits(&mut self) -> Vec<(usize, crate::zone::Visit)> {
        self.zones
            .iter_mut()
            .enumerate()
            .flat_map(|(i, (_, z))| z.take_completed_visits().into_iter().map(move |v| (i, v)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::{Scene, Walker};

    #[test]
    fn specs_parse_and_errors_say_what_is_wrong() {
        let l: NamedLine = "door:240,120,240,360".parse().unwrap();
        assert_eq!(l.name, "door");
        assert_eq!(l.segment.b(), Point::new(240.0, 360.0));
        let z: NamedZone = "desk: 0,0, 10,0, 10,10".parse().unwrap();
        assert_eq!(z.polygon.vertices().len(), 3);
        type Check = fn(&SpecError) -> bool;
        let cases: [(&str, Check); 5] = [
            ("door240,120,240,360", |e| matches!(e, SpecError::Syntax(_))),
            ("door:240,x,240,360", |e| {
                matches!(e, SpecError::Number { .. })
            }),
            ("door:1,2,3", |e| {
                matches!(e, SpecError::LineArity { got: 3, .. })
            }),
            ("door:1,2,1,2", |e| matches!(e, SpecError::Geometry { .. })),
            (":1,2,3,4", |e| matches!(e, SpecError::Syntax(_))),
        ];
        for (spec, check) in cases {
            let e = spec.parse::<NamedLine>().unwrap_err();
            assert!(check(&e), "{spec}: {e}");
        }
        assert!(matches!(
            "z:1,2,3,4,5".parse::<NamedZone>(),
            Err(SpecError::ZoneArity { got: 5, .. })
        ));
    }

    #[test]
    fn lines_and_zones_outside_the_frame_are_named() {
        let lines = vec!["door:10,10,700,10".parse::<NamedLine>().unwrap()];
        let e = check_inside_frame(&lines, &[], 640.0, 480.0).unwrap_err();
        assert!(e.contains("line `door`") && e.contains("(700, 10)"), "{e}");
        let zones = vec!["desk:0,0,10,0,10,-1".parse::<NamedZone>().unwrap()];
        let e = check_inside_frame(&[], &zones, 640.0, 480.0).unwrap_err();
        assert!(e.contains("zone `desk`"), "{e}");
        assert!(check_inside_frame(&lines, &zones, 800.0, 600.0).is_err());
        let ok = vec!["door:0,0,640,480".parse::<NamedLine>().unwrap()];
        assert!(check_inside_frame(&ok, &[], 640.0, 480.0).is_ok());
    }

    #[test]
    fn duplicate_names_are_refused() {
        let lines = vec!["a:0,0,1,1".parse().unwrap()];
        let zones = vec!["a:0,0,10,0,10,10".parse().unwrap()];
        assert_eq!(
            Counting::new(&lines, &zones, &CountingConfig::default()).unwrap_err(),
            SpecError::Duplicate("a".into())
        );
    }

    #[test]
    fn counts_a_synthetic_scene_through_tracker_and_counters() {
        let lines = vec!["door:240,120,240,360".parse().unwrap()];
        let zones = vec!["right:250,100,600,100,600,400,250,400".parse().unwrap()];
        let mut counting = Counting::new(&lines, &zones, &CountingConfig::default()).unwrap();
        let scene = Scene::new(10.0).with_walker(
            Walker::new(1, Point::new(100.0, 300.0)).walk_to(Point::new(400.0, 300.0)),
        );
        for frame in scene.frames() {
            let dets = frame.detections(0.9);
            counting.update(frame.t, &dets);
        }
        let counts = counting.line_counts();
        assert_eq!((counts["door"].inbound, counts["door"].outbound), (1, 0));
        let zone = counting.zone_summaries()["right"];
        assert_eq!(zone.max_occupancy, 1);
        assert!(zone.mean_occupancy > 0.0);
    }
}

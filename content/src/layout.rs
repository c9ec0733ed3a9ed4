//! Layouts: a canvas divided into zones, each zone playing one playlist.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::ids::{LayoutId, PlaylistId, ZoneId};
use crate::validation::{Problem, ValidationError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    pub id: LayoutId,
    pub canvas: Canvas,
    pub zones: Vec<Zone>,
}

/// The drawing surface in pixels; a portrait screen has a tall canvas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Canvas {
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Orientation {
    Landscape,
    Portrait,
}

impl Canvas {
    /// Derived rather than stored, so it can never disagree with the size.
    pub fn orientation(self) -> Orientation {
        if self.height > self.width {
            Orientation::Portrait
        } else {
            Orientation::Landscape
        }
    }
}

/// A rectangle of the canvas. Zones may overlap (a ticker over a video); higher `z` is drawn on
/// top.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Zone {
    pub id: ZoneId,
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    #[serde(default)]
    pub z: i32,
    pub playlist: PlaylistId,
}

impl Zone {
    fn overlaps(&self, other: &Zone) -> bool {
        let (ax, ay, bx, by) = (
            u64::from(self.x),
            u64::from(self.y),
            u64::from(other.x),
            u64::from(other.y),
        );
        ax < bx + u64::from(other.width)
            && bx < ax + u64::from(self.width)
            && ay < by + u64::from(other.height)
            && by < ay + u64::from(self.height)
    }
}

impl Layout {
    /// Problems with the layout's geometry, fields relative to it. Whether each zone's playlist
    /// exists is checked by [`crate::schedule_set::ScheduleSet::new`].
    pub fn problems(&self) -> Vec<ValidationError> {
        let mut problems = Vec::new();
        if self.canvas.width == 0 || self.canvas.height == 0 {
            problems.push(ValidationError::new("canvas", Problem::ZeroSize));
        }
        if self.zones.is_empty() {
            problems.push(ValidationError::new("zones", Problem::NoZones));
        }
        let mut seen = BTreeSet::new();
        for (i, zone) in self.zones.iter().enumerate() {
            if !seen.insert(&zone.id) {
                problems.push(ValidationError::new(
                    format!("zones[{i}].id"),
                    Problem::DuplicateId(zone.id.0.clone()),
                ));
            }
            let field = |name: &str| format!("zones[{}].{name}", zone.id);
            if zone.width == 0 || zone.height == 0 {
                problems.push(ValidationError::new(
                    format!("zones[{}]", zone.id),
                    Problem::ZeroSize,
                ));
            }
            let right = u64::from(zone.x) + u64::from(zone.width);
            if right > u64::from(self.canvas.width) {
                problems.push(ValidationError::new(
                    field("width"),
                    Problem::OutsideCanvas {
                        reaches: right,
                        canvas: self.canvas.width,
                    },
                ));
            }
            let bottom = u64::from(zone.y) + u64::from(zone.height);
            if bottom > u64::from(self.canvas.height) {
                problems.push(ValidationError::new(
                    field("height"),
                    Problem::OutsideCanvas {
                        reaches: bottom,
                        canvas: self.canvas.height,
                    },
                ));
            }
            for earlier in &self.zones[..i] {
                if earlier.z == zone.z && earlier.overlaps(zone) {
                    problems.push(ValidationError::new(
                        field("z"),
                        Problem::OverlapAtSameZ {
                            other: earlier.id.clone(),
                            z: zone.z,
                        },
                    ));
                }
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(id: &str, x: u32, y: u32, width: u32, height: u32, z: i32) -> Zone {
        Zone {
            id: id.into(),
            x,
            y,
            width,
            height,
            z,
            playlist: "p".into(),
        }
    }

    /// Validates a 1920x1080 layout with `zones` and returns "field: problem" lines.
    fn check(zones: Vec<Zone>) -> Vec<String> {
        let layout = Layout {
            id: "l".into(),
            canvas: Canvas {
                width: 1920,
                height: 1080,
            },
            zones,
        };
        layout.problems().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_full_screen_zone_with_a_ticker_on_top_is_valid() {
        let main = zone("main", 0, 0, 1920, 1080, 0);
        let ticker = zone("ticker", 0, 980, 1920, 100, 1);
        assert_eq!(check(vec![main, ticker]), Vec::<String>::new());
    }

    #[test]
    fn problems_name_the_offending_field() {
        assert_eq!(check(vec![]), ["zones: a layout needs at least one zone"]);
        assert_eq!(
            check(vec![zone("side", 1800, 0, 200, 1080, 0)]),
            [
                "zones[side].width: the zone reaches 2000 but the canvas ends at 1920; move or \
              shrink the zone"
            ]
        );
        assert_eq!(
            check(vec![zone("low", 0, 1000, 10, u32::MAX, 0)]),
            [format!(
                "zones[low].height: the zone reaches {} but the canvas ends at 1080; move or \
                 shrink the zone",
                1000 + u64::from(u32::MAX)
            )]
        );
        assert_eq!(
            check(vec![
                zone("a", 0, 0, 10, 10, 0),
                zone("a", 20, 0, 10, 10, 0)
            ]),
            ["zones[1].id: duplicate id \"a\"; give each one its own id"]
        );
        assert_eq!(
            check(vec![zone("a", 0, 0, 10, 10, 0), zone("b", 9, 9, 10, 10, 0)]),
            [
                "zones[b].z: overlaps zone a at the same z (0); give one of them a different z so \
              the drawing order is defined"
            ]
        );
        assert_eq!(
            check(vec![zone("empty", 5, 5, 0, 10, 0)]),
            ["zones[empty]: width and height must both be greater than 0"]
        );
    }

    #[test]
    fn touching_zones_do_not_overlap() {
        let left = zone("left", 0, 0, 960, 1080, 0);
        let right = zone("right", 960, 0, 960, 1080, 0);
        let top = zone("top", 0, 0, 1920, 540, 1);
        let bottom = zone("bottom", 0, 540, 1920, 540, 1);
        for zones in [
            vec![left.clone(), right.clone()],
            vec![right, left],
            vec![top.clone(), bottom.clone()],
            vec![bottom, top],
        ] {
            assert_eq!(check(zones), Vec::<String>::new());
        }
    }

    #[test]
    fn orientation_follows_the_canvas() {
        let portrait = Canvas {
            width: 1080,
            height: 1920,
        };
        assert_eq!(portrait.orientation(), Orientation::Portrait);
        let landscape = Canvas {
            width: 1920,
            height: 1080,
        };
        assert_eq!(landscape.orientation(), Orientation::Landscape);
    }
}

//! CAP areas onto wards, through a configuration table. Pure: the table comes from the
//! controller's configuration (TOML), the areas from a CAP document.
//!
//! An area reaches a ward when one of its geocodes equals one of the ward's (same
//! `valueName` and `value`, e.g. the 全国地方公共団体コード `27127` of 北区), or when one of its
//! polygons or circles overlaps the ward's boundary polygon. A geocode listed in
//! [`AreaTable::city_geocodes`] (e.g. Osaka City's `27100`) reaches every ward.

use std::collections::BTreeSet;

use content::ids::WardId;
use content::schedule::Target;
use serde::{Deserialize, Serialize};

use crate::model::{Area, Circle, Point, Polygon, ValuePair};

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AreaTable {
    #[serde(default)]
    pub wards: Vec<WardArea>,
    /// Geocodes meaning the whole city.
    #[serde(default)]
    pub city_geocodes: Vec<ValuePair>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WardArea {
    pub ward: WardId,
    #[serde(default)]
    pub geocodes: Vec<ValuePair>,
    /// The ward's outline (closed ring), simplified is fine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boundary: Option<Polygon>,
}

/// Which wards an alert's areas reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WardMatch {
    /// The whole city (a city geocode matched).
    All,
    /// These wards (possibly none: the alert is not for this city).
    Wards(BTreeSet<WardId>),
}

impl WardMatch {
    /// As selection targets; `Wards` of none gives no target (reaches nobody).
    pub fn to_targets(&self) -> Vec<Target> {
        match self {
            WardMatch::All => vec![Target::All],
            WardMatch::Wards(wards) => wards.iter().cloned().map(Target::Ward).collect(),
        }
    }
}

impl AreaTable {
    pub fn match_areas<'a>(&self, areas: impl IntoIterator<Item = &'a Area>) -> WardMatch {
        let mut wards = BTreeSet::new();
        for area in areas {
            if area.geocodes.iter().any(|g| self.city_geocodes.contains(g)) {
                return WardMatch::All;
            }
            for ward in &self.wards {
                if ward_matches(ward, area) {
                    wards.insert(ward.ward.clone());
                }
            }
        }
        WardMatch::Wards(wards)
    }
}

fn ward_matches(ward: &WardArea, area: &Area) -> bool {
    if area.geocodes.iter().any(|g| ward.geocodes.contains(g)) {
        return true;
    }
    let Some(boundary) = &ward.boundary else {
        return false;
    };
    area.polygons.iter().any(|p| polygons_overlap(p, boundary))
        || area.circles.iter().any(|c| circle_overlaps(c, boundary))
}

/// Even-odd point in ring (lon as x, lat as y); fine at city scale away from the antimeridian.
pub fn contains(ring: &Polygon, p: Point) -> bool {
    let pts = &ring.points;
    let mut inside = false;
    for i in 0..pts.len().saturating_sub(1) {
        let (a, b) = (pts[i], pts[i + 1]);
        if (a.lat > p.lat) != (b.lat > p.lat) {
            let x = a.lon + (p.lat - a.lat) / (b.lat - a.lat) * (b.lon - a.lon);
            if p.lon < x {
                inside = !inside;
            }
        }
    }
    inside
}

fn edges(ring: &Polygon) -> impl Iterator<Item = (Point, Point)> + '_ {
    ring.points.windows(2).map(|w| (w[0], w[1]))
}

fn segments_cross(a: Point, b: Point, c: Point, d: Point) -> bool {
    let orient = |p: Point, q: Point, r: Point| {
        (q.lon - p.lon) * (r.lat - p.lat) - (q.lat - p.lat) * (r.lon - p.lon)
    };
    let (d1, d2) = (orient(c, d, a), orient(c, d, b));
    let (d3, d4) = (orient(a, b, c), orient(a, b, d));
    ((d1 > 0.0) != (d2 > 0.0)) && ((d3 > 0.0) != (d4 > 0.0))
}

/// Whether two rings share any point: an edge crossing, or one inside the other.
pub fn polygons_overlap(a: &Polygon, b: &Polygon) -> bool {
    let (Some(&a0), Some(&b0)) = (a.points.first(), b.points.first()) else {
        return false;
    };
    contains(a, b0)
        || contains(b, a0)
        || edges(a).any(|(p, q)| edges(b).any(|(r, s)| segments_cross(p, q, r, s)))
}

const KM_PER_DEGREE_LAT: f64 = 111.32;

/// Local flat projection around `origin`, in km.
fn to_km(origin: Point, p: Point) -> (f64, f64) {
    let x = (p.lon - origin.lon) * KM_PER_DEGREE_LAT * origin.lat.to_radians().cos();
    let y = (p.lat - origin.lat) * KM_PER_DEGREE_LAT;
    (x, y)
}

fn distance_to_segment_km(c: Point, a: Point, b: Point) -> f64 {
    let (ax, ay) = to_km(c, a);
    let (bx, by) = to_km(c, b);
    let (dx, dy) = (bx - ax, by - ay);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (-(ax * dx + ay * dy) / len2).clamp(0.0, 1.0)
    };
    let (px, py) = (ax + t * dx, ay + t * dy);
    (px * px + py * py).sqrt()
}

/// Whether a circle (km) touches a ring: centre inside, or an edge within the radius.
pub fn circle_overlaps(circle: &Circle, ring: &Polygon) -> bool {
    contains(ring, circle.center)
        || edges(ring).any(|(a, b)| distance_to_segment_km(circle.center, a, b) <= circle.radius_km)
}

//! Plane geometry in image coordinates: x grows to the right, y grows downward, units are
//! pixels of the analysis frame.
//!
//! Orientation tests are computed in `f64`: the product of two `f32` values is exact there,
//! so the side of a point relative to a line is reliable even for large frames.

use std::ops::{Add, Mul, Sub};

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// A point (or a vector) in image coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

impl Point {
    pub const fn new(x: f32, y: f32) -> Self {
        Self { x, y }
    }

    /// `self.x * other.y - self.y * other.x`: positive when `other` points clockwise of
    /// `self` on screen (because y grows downward).
    pub fn cross(self, other: Point) -> f32 {
        (f64::from(self.x) * f64::from(other.y) - f64::from(self.y) * f64::from(other.x)) as f32
    }

    pub fn dot(self, other: Point) -> f32 {
        (f64::from(self.x) * f64::from(other.x) + f64::from(self.y) * f64::from(other.y)) as f32
    }

    pub fn length(self) -> f32 {
        self.dot(self).sqrt()
    }

    fn is_finite(self) -> bool {
        self.x.is_finite() && self.y.is_finite()
    }

    fn validated(self) -> Result<Self, ConfigError> {
        if self.is_finite() {
            Ok(self)
        } else {
            Err(ConfigError::NonFinitePoint {
                x: self.x,
                y: self.y,
            })
        }
    }
}

impl Add for Point {
    type Output = Point;
    fn add(self, rhs: Point) -> Point {
        Point::new(self.x + rhs.x, self.y + rhs.y)
    }
}

impl Sub for Point {
    type Output = Point;
    fn sub(self, rhs: Point) -> Point {
        Point::new(self.x - rhs.x, self.y - rhs.y)
    }
}

impl Mul<f32> for Point {
    type Output = Point;
    fn mul(self, k: f32) -> Point {
        Point::new(self.x * k, self.y * k)
    }
}

/// `cross(a - o, b - o)` in `f64`, without rounding the differences to `f32` first.
fn orientation(o: Point, a: Point, b: Point) -> f64 {
    let (ax, ay) = (
        f64::from(a.x) - f64::from(o.x),
        f64::from(a.y) - f64::from(o.y),
    );
    let (bx, by) = (
        f64::from(b.x) - f64::from(o.x),
        f64::from(b.y) - f64::from(o.y),
    );
    ax * by - ay * bx
}

/// An axis-aligned box: top-left corner `(x, y)`, width `w` and height `h`, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct BBox {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl BBox {
    pub const fn new(x: f32, y: f32, w: f32, h: f32) -> Self {
        Self { x, y, w, h }
    }

    /// The box of size `w` x `h` whose bottom-centre is `anchor`.
    pub fn from_anchor(anchor: Point, w: f32, h: f32) -> Self {
        Self::new(anchor.x - w / 2.0, anchor.y - h, w, h)
    }

    /// The bottom-centre `(x + w/2, y + h)`: where a standing person's feet are, so zone
    /// and line tests follow the floor rather than the head, as in Frigate and DeepStream.
    pub fn anchor(&self) -> Point {
        Point::new(self.x + self.w / 2.0, self.y + self.h)
    }

    pub fn center(&self) -> Point {
        Point::new(self.x + self.w / 2.0, self.y + self.h / 2.0)
    }

    /// Area, zero for degenerate boxes.
    pub fn area(&self) -> f32 {
        self.w.max(0.0) * self.h.max(0.0)
    }

    /// Intersection over union, in `[0, 1]`; zero when either box has no area.
    pub fn iou(&self, other: &BBox) -> f32 {
        let iw = (self.x + self.w).min(other.x + other.w) - self.x.max(other.x);
        let ih = (self.y + self.h).min(other.y + other.h) - self.y.max(other.y);
        if iw <= 0.0 || ih <= 0.0 {
            return 0.0;
        }
        let inter = iw * ih;
        let union = self.area() + other.area() - inter;
        if union <= 0.0 {
            0.0
        } else {
            (inter / union).clamp(0.0, 1.0)
        }
    }
}

/// A directed segment A->B with distinct, finite ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    a: Point,
    b: Point,
}

impl Segment {
    pub fn new(a: Point, b: Point) -> Result<Self, ConfigError> {
        let (a, b) = (a.validated()?, b.validated()?);
        if a == b {
            return Err(ConfigError::DegenerateSegment { x: a.x, y: a.y });
        }
        Ok(Self { a, b })
    }

    pub fn a(&self) -> Point {
        self.a
    }

    pub fn b(&self) -> Point {
        self.b
    }

    /// `cross(B - A, P - A)`: positive on the right-hand side of A->B as drawn on screen
    /// (y grows downward), negative on the left-hand side, zero on the line. For A above B
    /// on a vertical line, the positive side is `x < A.x`.
    pub fn side(&self, p: Point) -> f32 {
        orientation(self.a, self.b, p) as f32
    }

    /// [`Segment::side`] scaled to pixels: the signed perpendicular distance from `p` to
    /// the infinite line through A and B.
    pub fn signed_distance(&self, p: Point) -> f32 {
        let len = f64::from((self.b - self.a).length());
        (orientation(self.a, self.b, p) / len) as f32
    }

    /// Whether the segment `p`-`q` touches this segment (shared points count).
    pub fn intersects(&self, p: Point, q: Point) -> bool {
        let d1 = orientation(self.a, self.b, p);
        let d2 = orientation(self.a, self.b, q);
        let d3 = orientation(p, q, self.a);
        let d4 = orientation(p, q, self.b);
        if d1 * d2 > 0.0 || d3 * d4 > 0.0 {
            return false;
        }
        if d1 == 0.0 && d2 == 0.0 {
            // Collinear: the projections on the segment's direction must overlap.
            let dir = self.b - self.a;
            let t = |pt: Point| (pt - self.a).dot(dir);
            let (lo, hi) = (t(p).min(t(q)), t(p).max(t(q)));
            return lo <= dir.dot(dir) && hi >= 0.0;
        }
        true
    }
}

/// A closed polygon with at least three corners enclosing a non-zero area.
#[derive(Debug, Clone, PartialEq)]
pub struct Polygon {
    vertices: Vec<Point>,
}

impl Polygon {
    pub fn new(vertices: Vec<Point>) -> Result<Self, ConfigError> {
        if vertices.len() < 3 {
            return Err(ConfigError::TooFewVertices(vertices.len()));
        }
        for v in &vertices {
            v.validated()?;
        }
        let polygon = Self { vertices };
        if polygon.area() == 0.0 {
            return Err(ConfigError::ZeroAreaPolygon);
        }
        Ok(polygon)
    }

    pub fn vertices(&self) -> &[Point] {
        &self.vertices
    }

    /// Absolute area by the shoelace formula.
    pub fn area(&self) -> f32 {
        let origin = self.vertices[0];
        let twice: f64 = self.edges().map(|(p, q)| orientation(origin, p, q)).sum();
        (twice.abs() / 2.0) as f32
    }

    /// Even-odd rule (ray casting towards +x), so self-intersecting outlines still give a
    /// definite answer. Points exactly on an edge fall on a fixed but unspecified side;
    /// zone hysteresis absorbs that.
    pub fn contains(&self, p: Point) -> bool {
        let mut inside = false;
        for (a, b) in self.edges() {
            if (a.y > p.y) != (b.y > p.y) {
                // x of the edge at height p.y, compared without division.
                let o = orientation(a, b, p);
                let downward = b.y > a.y;
                if (o > 0.0) == downward {
                    inside = !inside;
                }
            }
        }
        inside
    }

    fn edges(&self) -> impl Iterator<Item = (Point, Point)> + '_ {
        let n = self.vertices.len();
        (0..n).map(move |i| (self.vertices[i], self.vertices[(i + 1) % n]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(x: f32, y: f32) -> Point {
        Point::new(x, y)
    }

    fn seg(a: (f32, f32), b: (f32, f32)) -> Segment {
        Segment::new(p(a.0, a.1), p(b.0, b.1)).unwrap()
    }

    #[test]
    fn anchor_is_bottom_centre() {
        let b = BBox::new(10.0, 20.0, 40.0, 100.0);
        assert_eq!(b.anchor(), p(30.0, 120.0));
        assert_eq!(b.center(), p(30.0, 70.0));
        assert_eq!(BBox::from_anchor(p(30.0, 120.0), 40.0, 100.0), b);
    }

    #[test]
    fn iou_table() {
        let unit = BBox::new(0.0, 0.0, 10.0, 10.0);
        let cases = [
            (BBox::new(0.0, 0.0, 10.0, 10.0), 1.0),
            (BBox::new(20.0, 0.0, 10.0, 10.0), 0.0),
            (BBox::new(10.0, 0.0, 10.0, 10.0), 0.0), // touching edges
            (BBox::new(5.0, 0.0, 10.0, 10.0), 50.0 / 150.0),
            (BBox::new(2.0, 2.0, 5.0, 5.0), 0.25), // contained
            (BBox::new(5.0, 5.0, 10.0, 10.0), 25.0 / 175.0),
            (BBox::new(2.0, 2.0, 0.0, 5.0), 0.0), // no area
        ];
        for (other, expected) in cases {
            assert!((unit.iou(&other) - expected).abs() < 1e-6, "{other:?}");
        }
    }

    #[test]
    fn cross_follows_the_documented_formula() {
        // cross(u, v) = u.x * v.y - u.y * v.x
        assert_eq!(p(1.0, 0.0).cross(p(0.0, 1.0)), 1.0);
        assert_eq!(p(0.0, 1.0).cross(p(1.0, 0.0)), -1.0);
        assert_eq!(p(3.0, 4.0).cross(p(6.0, 8.0)), 0.0);
    }

    #[test]
    fn side_convention_matches_the_issue_example() {
        // A=(240,120), B=(240,360): x=100 is on the positive side, x=300 on the negative.
        let s = seg((240.0, 120.0), (240.0, 360.0));
        assert!(s.side(p(100.0, 200.0)) > 0.0);
        assert!(s.side(p(300.0, 200.0)) < 0.0);
        assert_eq!(s.side(p(240.0, 500.0)), 0.0);
        // Horizontal A->B to the right: below (larger y) is positive.
        let h = seg((0.0, 200.0), (400.0, 200.0));
        assert!(h.side(p(50.0, 300.0)) > 0.0);
        assert!(h.side(p(50.0, 100.0)) < 0.0);
        // Reversing the segment swaps the sides.
        let r = seg((240.0, 360.0), (240.0, 120.0));
        assert!(r.side(p(100.0, 200.0)) < 0.0);
        assert_eq!((r.a(), r.b()), (s.b(), s.a()));
    }

    #[test]
    fn signed_distance_is_in_pixels() {
        let s = seg((0.0, 0.0), (0.0, 10.0));
        assert_eq!(s.signed_distance(p(-7.0, 3.0)), 7.0);
        assert_eq!(s.signed_distance(p(7.0, 300.0)), -7.0);
        let d = seg((0.0, 0.0), (30.0, 40.0));
        assert!((d.signed_distance(p(-4.0, 3.0)) - 5.0).abs() < 1e-6);
    }

    #[test]
    fn segment_rejects_degenerate_input() {
        assert_eq!(
            Segment::new(p(1.0, 2.0), p(1.0, 2.0)),
            Err(ConfigError::DegenerateSegment { x: 1.0, y: 2.0 })
        );
        assert!(matches!(
            Segment::new(p(f32::NAN, 2.0), p(1.0, 2.0)),
            Err(ConfigError::NonFinitePoint { .. })
        ));
        assert!(matches!(
            Segment::new(p(0.0, 2.0), p(f32::INFINITY, 2.0)),
            Err(ConfigError::NonFinitePoint { .. })
        ));
    }

    #[test]
    fn segment_intersection_table() {
        let s = seg((0.0, 0.0), (10.0, 0.0));
        let cases = [
            ((5.0, -5.0), (5.0, 5.0), true),    // proper crossing
            ((15.0, -5.0), (15.0, 5.0), false), // crosses the extension
            ((-1.0, -5.0), (-1.0, 5.0), false), // crosses the extension before A
            ((10.0, -5.0), (10.0, 5.0), true),  // through endpoint B
            ((0.0, 5.0), (10.0, 5.0), false),   // parallel
            ((5.0, 0.0), (20.0, 0.0), true),    // collinear overlap
            ((11.0, 0.0), (20.0, 0.0), false),  // collinear, disjoint
            ((5.0, 1.0), (5.0, 5.0), false),    // stops short
            ((5.0, 0.0), (5.0, 5.0), true),     // ends on the segment
        ];
        for (a, b, expected) in cases {
            assert_eq!(
                s.intersects(p(a.0, a.1), p(b.0, b.1)),
                expected,
                "{a:?}-{b:?}"
            );
        }
    }

    #[test]
    fn polygon_validation() {
        assert_eq!(
            Polygon::new(vec![p(0.0, 0.0), p(1.0, 1.0)]),
            Err(ConfigError::TooFewVertices(2))
        );
        assert_eq!(
            Polygon::new(vec![p(0.0, 0.0), p(1.0, 1.0), p(2.0, 2.0)]),
            Err(ConfigError::ZeroAreaPolygon)
        );
        assert!(matches!(
            Polygon::new(vec![p(0.0, 0.0), p(1.0, f32::NAN), p(2.0, 0.0)]),
            Err(ConfigError::NonFinitePoint { .. })
        ));
    }

    #[test]
    fn polygon_area_and_containment() {
        // An L shape: the 10x10 square minus its top-right 5x5 quarter.
        let l = Polygon::new(vec![
            p(0.0, 0.0),
            p(5.0, 0.0),
            p(5.0, 5.0),
            p(10.0, 5.0),
            p(10.0, 10.0),
            p(0.0, 10.0),
        ])
        .unwrap();
        assert_eq!(l.area(), 75.0);
        let cases = [
            ((2.0, 2.0), true),
            ((7.0, 2.0), false), // the notch
            ((7.0, 7.0), true),
            ((2.0, 8.0), true),
            ((-1.0, 5.0), false),
            ((11.0, 7.0), false),
            ((5.0, 12.0), false),
        ];
        for ((x, y), expected) in cases {
            assert_eq!(l.contains(p(x, y)), expected, "({x}, {y})");
        }
        // Winding order does not matter.
        let reversed = Polygon::new(l.vertices().iter().rev().copied().collect()).unwrap();
        assert!(reversed.contains(p(7.0, 7.0)) && !reversed.contains(p(7.0, 2.0)));
    }

    proptest! {
        #[test]
        fn iou_is_symmetric_and_bounded(
            a in (-50f32..50.0, -50f32..50.0, 1f32..60.0, 1f32..60.0),
            b in (-50f32..50.0, -50f32..50.0, 1f32..60.0, 1f32..60.0),
        ) {
            let a = BBox::new(a.0, a.1, a.2, a.3);
            let b = BBox::new(b.0, b.1, b.2, b.3);
            let iou = a.iou(&b);
            prop_assert!((0.0..=1.0).contains(&iou));
            prop_assert!((iou - b.iou(&a)).abs() < 1e-6);
            prop_assert!((a.iou(&a) - 1.0).abs() < 1e-4);
        }

        #[test]
        fn rectangle_polygon_agrees_with_bounds(
            x0 in -100i32..100, y0 in -100i32..100, w in 1i32..100, h in 1i32..100,
            px in -300i32..300, py in -300i32..300,
        ) {
            let (x0, y0, w, h) = (x0 as f32, y0 as f32, w as f32, h as f32);
            let rect = Polygon::new(vec![
                p(x0, y0), p(x0 + w, y0), p(x0 + w, y0 + h), p(x0, y0 + h),
            ]).unwrap();
            // Half-pixel offsets keep the point off the edges.
            let q = p(px as f32 + 0.5, py as f32 + 0.5);
            let expected = q.x > x0 && q.x < x0 + w && q.y > y0 && q.y < y0 + h;
            prop_assert_eq!(rect.contains(q), expected);
        }

        #[test]
        fn side_sign_matches_signed_distance_and_flips_with_direction(
            ax in -500f32..500.0, ay in -500f32..500.0,
            bx in -500f32..500.0, by in -500f32..500.0,
            px in -500f32..500.0, py in -500f32..500.0,
        ) {
            prop_assume!((ax, ay) != (bx, by));
            let s = seg((ax, ay), (bx, by));
            let r = seg((bx, by), (ax, ay));
            let q = p(px, py);
            prop_assert_eq!(s.side(q).signum(), s.signed_distance(q).signum());
            prop_assert_eq!(s.side(q).signum(), -r.side(q).signum());
        }
    }
}

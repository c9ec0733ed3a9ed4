//! Synthetic scenes: walkers on exactly known piecewise-linear routes, giving per-frame
//! ground-truth boxes with ids. Tests assert exact counts on them, and a synthetic camera
//! can draw the same boxes.
//!
//! A walker's route is a list of legs, each a straight walk at constant speed or a pause.
//! Positions are those of the anchor (the feet, bottom-centre of the box) and are computed
//! in `f64` from the route, never accumulated frame by frame, so they do not drift.

use crate::geometry::{BBox, Point};
use crate::tracker::{Track, TrackId};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Leg {
    Walk { to: Point, speed: f64 },
    Pause { seconds: f64 },
}

/// One person: a box of fixed size whose anchor follows a route, visible from
/// `start_time` until the route ends.
#[derive(Debug, Clone, PartialEq)]
pub struct Walker {
    id: TrackId,
    start: Point,
    width: f32,
    height: f32,
    speed: f64,
    start_time: f64,
    legs: Vec<Leg>,
}

impl Walker {
    /// A walker with id `id` whose feet start at `start`, with a 40 x 100 px box, walking at
    /// 60 px/s from time 0; add legs with [`walk_to`](Self::walk_to) and friends.
    pub fn new(id: u64, start: Point) -> Self {
        Self {
            id: TrackId(id),
            start,
            width: 40.0,
            height: 100.0,
            speed: 60.0,
            start_time: 0.0,
            legs: Vec::new(),
        }
    }

    /// Box size in pixels.
    ///
    /// # Panics
    /// If either side is not positive.
    pub fn size(mut self, width: f32, height: f32) -> Self {
        assert!(
            width > 0.0 && height > 0.0,
            "walker box must have a positive size"
        );
        self.width = width;
        self.height = height;
        self
    }

    /// Speed in pixels per second of the walks added after this call.
    ///
    /// # Panics
    /// If the speed is not positive and finite.
    pub fn speed(mut self, pixels_per_second: f64) -> Self {
        assert!(
            pixels_per_second > 0.0 && pixels_per_second.is_finite(),
            "walker speed must be positive and finite"
        );
        self.speed = pixels_per_second;
        self
    }

    /// Time in seconds at which the walker appears at its start.
    pub fn starting_at(mut self, seconds: f64) -> Self {
        self.start_time = seconds;
        self
    }

    /// Walk in a straight line to `to`.
    pub fn walk_to(mut self, to: Point) -> Self {
        self.legs.push(Leg::Walk {
            to,
            speed: self.speed,
        });
        self
    }

    /// Stand still.
    pub fn pause(mut self, seconds: f64) -> Self {
        self.legs.push(Leg::Pause { seconds });
        self
    }

    /// From where the route ends so far, go `times` times to `offset` away and back: the
    /// dithering of a person hesitating on a line.
    pub fn back_and_forth(mut self, offset: Point, times: u32) -> Self {
        let here = self.end_point();
        for _ in 0..times {
            self = self.walk_to(here + offset).walk_to(here);
        }
        self
    }

    pub fn id(&self) -> TrackId {
        self.id
    }

    pub fn end_time(&self) -> f64 {
        let mut from = self.start;
        let mut total = 0.0;
        for leg in &self.legs {
            let (duration, to) = leg_span(from, leg);
            total += duration;
            from = to;
        }
        self.start_time + total
    }

    fn end_point(&self) -> Point {
        self.legs
            .iter()
            .fold(self.start, |from, leg| leg_span(from, leg).1)
    }

    /// Where the feet are at time `t`, or `None` before the start or after the end.
    pub fn anchor_at(&self, t: f64) -> Option<Point> {
        // Tolerates the rounding of `frame / fps` at the exact start and end instants.
        const EPS: f64 = 1e-9;
        let mut elapsed = t - self.start_time;
        if elapsed < -EPS {
            return None;
        }
        let mut from = self.start;
        for leg in &self.legs {
            let (duration, to) = leg_span(from, leg);
            if elapsed <= duration {
                return Some(match leg {
                    Leg::Pause { .. } => from,
                    Leg::Walk { .. } if duration == 0.0 => to,
                    Leg::Walk { .. } => lerp(from, to, (elapsed / duration).clamp(0.0, 1.0)),
                });
            }
            elapsed -= duration;
            from = to;
        }
        (elapsed <= EPS).then_some(from)
    }

    /// The walker's ground-truth box at time `t`, if visible then.
    pub fn bbox_at(&self, t: f64) -> Option<BBox> {
        self.anchor_at(t)
            .map(|a| BBox::from_anchor(a, self.width, self.height))
    }
}

/// Duration in seconds and end point of a leg starting at `from`.
fn leg_span(from: Point, leg: &Leg) -> (f64, Point) {
    match *leg {
        Leg::Walk { to, speed } => (f64::from((to - from).length()) / speed, to),
        Leg::Pause { seconds } => (seconds, from),
    }
}

fn lerp(a: Point, b: Point, k: f64) -> Point {
    let at = |u: f32, v: f32| (f64::from(u) + (f64::from(v) - f64::from(u)) * k) as f32;
    Point::new(at(a.x, b.x), at(a.y, b.y))
}

/// Walkers filmed at a fixed frame rate; frame `i` is taken at `i / fps` seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    fps: f64,
    walkers: Vec<Walker>,
}

/// The ground truth of one frame: the visible walkers' boxes, ids being walker ids.
#[derive(Debug, Clone, PartialEq)]
pub struct SceneFrame {
    pub index: u64,
    pub t: f64,
    pub people: Vec<Track>,
}

impl SceneFrame {
    /// The frame's people as detections of the given score: a perfect detector, for driving
    /// the tracker and counters in tests and the demo.
    pub fn detections(&self, score: f32) -> Vec<crate::tracker::Detection> {
        self.people
            .iter()
            .map(|t| crate::tracker::Detection {
                bbox: t.bbox,
                score,
            })
            .collect()
    }
}

impl Scene {
    /// # Panics
    /// If `fps` is not positive and finite.
    pub fn new(fps: f64) -> Self {
        assert!(
            fps > 0.0 && fps.is_finite(),
            "fps must be positive and finite"
        );
        Self {
            fps,
            walkers: Vec::new(),
        }
    }

    pub fn with_walker(mut self, walker: Walker) -> Self {
        self.walkers.push(walker);
        self
    }

    pub fn fps(&self) -> f64 {
        self.fps
    }

    /// Frames from time 0 up to the instant the last walker finishes.
    pub fn frame_count(&self) -> u64 {
        let end = self
            .walkers
            .iter()
            .map(Walker::end_time)
            .fold(0.0, f64::max);
        (end * self.fps + 1e-9).floor() as u64 + 1
    }

    pub fn frame(&self, index: u64) -> SceneFrame {
        let t = index as f64 / self.fps;
        let people = self
            .walkers
            .iter()
            .filter_map(|w| w.bbox_at(t).map(|bbox| Track { id: w.id, bbox }))
            .collect();
        SceneFrame { index, t, people }
    }

    pub fn frames(&self) -> impl Iterator<Item = SceneFrame> + '_ {
        (0..self.frame_count()).map(|i| self.frame(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(x: f32, y: f32) -> Point {
        Point::new(x, y)
    }

    #[test]
    fn positions_follow_the_route_exactly() {
        // 60 px/s: 120 px takes 2 s, then a 1 s pause, then 60 px down in 1 s.
        let w = Walker::new(7, p(100.0, 200.0))
            .starting_at(10.0)
            .walk_to(p(220.0, 200.0))
            .pause(1.0)
            .walk_to(p(220.0, 260.0));
        let cases = [
            (9.9, None),
            (10.0, Some(p(100.0, 200.0))),
            (11.0, Some(p(160.0, 200.0))),
            (12.0, Some(p(220.0, 200.0))),
            (12.5, Some(p(220.0, 200.0))),
            (13.0, Some(p(220.0, 200.0))),
            (13.5, Some(p(220.0, 230.0))),
            (14.0, Some(p(220.0, 260.0))),
            (14.1, None),
        ];
        for (t, expected) in cases {
            assert_eq!(w.anchor_at(t), expected, "t = {t}");
        }
        assert_eq!(w.end_time(), 14.0);
        assert_eq!(w.id(), TrackId(7));
        assert_eq!(w.bbox_at(11.0), Some(BBox::new(140.0, 100.0, 40.0, 100.0)));
    }

    #[test]
    fn speed_and_size_apply_to_later_legs() {
        let w = Walker::new(1, p(0.0, 0.0))
            .size(20.0, 50.0)
            .walk_to(p(60.0, 0.0)) // 1 s at 60 px/s
            .speed(120.0)
            .walk_to(p(180.0, 0.0)); // 1 s at 120 px/s
        assert_eq!(w.end_time(), 2.0);
        assert_eq!(w.anchor_at(1.5), Some(p(120.0, 0.0)));
        assert_eq!(w.bbox_at(0.0), Some(BBox::new(-10.0, -50.0, 20.0, 50.0)));
    }

    #[test]
    fn back_and_forth_dithers_around_the_current_end() {
        let w = Walker::new(1, p(0.0, 0.0))
            .walk_to(p(60.0, 0.0))
            .back_and_forth(p(30.0, 0.0), 2);
        // Each half swing is 30 px: 0.5 s.
        let expected = [60.0, 90.0, 60.0, 90.0, 60.0];
        for (i, x) in expected.into_iter().enumerate() {
            assert_eq!(
                w.anchor_at(1.0 + 0.5 * i as f64),
                Some(p(x, 0.0)),
                "swing {i}"
            );
        }
        assert_eq!(w.end_time(), 3.0);
    }

    #[test]
    fn scene_frames_list_visible_walkers_with_ids() {
        let scene = Scene::new(10.0)
            .with_walker(Walker::new(1, p(0.0, 0.0)).walk_to(p(60.0, 0.0)))
            .with_walker(
                Walker::new(2, p(0.0, 100.0))
                    .starting_at(0.5)
                    .walk_to(p(120.0, 100.0)),
            );
        // Walker 2 ends at 2.5 s: frames 0..=25.
        assert_eq!(scene.frame_count(), 26);
        let frames: Vec<SceneFrame> = scene.frames().collect();
        assert_eq!(frames.len(), 26);
        let ids = |f: &SceneFrame| f.people.iter().map(|t| t.id.0).collect::<Vec<_>>();
        assert_eq!(ids(&frames[0]), vec![1]);
        assert_eq!(ids(&frames[5]), vec![1, 2]);
        assert_eq!(ids(&frames[10]), vec![1, 2]);
        assert_eq!(ids(&frames[11]), vec![2]);
        assert_eq!(ids(&frames[25]), vec![2]);
        assert_eq!(frames[25].t, 2.5);
        assert_eq!(frames[25].people[0].bbox.anchor(), p(120.0, 100.0));
    }
}

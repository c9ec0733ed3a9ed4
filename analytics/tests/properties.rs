//! Properties over random scenes: the counters agree with independently computed truth.

use analytics::{
    BBox, Detection, Direction, LineCounter, LineCounterConfig, LineCounts, LineCrossing,
    MinuteFlow, Point, Polygon, Scene, Segment, Track, TrackId, Tracker, TrackerConfig, Walker,
    ZoneConfig, ZoneCounter, minute_of,
};
use proptest::prelude::*;

const FPS: f64 = 30.0;
const MARGIN: f32 = 10.0;

fn p(x: f32, y: f32) -> Point {
    Point::new(x, y)
}

/// A straight walk across the infinite line of a random segment.
#[derive(Debug, Clone)]
struct Crossing {
    a: Point,
    b: Point,
    start: Point,
    end: Point,
    speed: f64,
    /// Where the walk meets the line, as a fraction of A->B.
    at: f32,
    from_positive: bool,
}

/// `clearance`: perpendicular distance range of the start and the end beyond the margin.
fn crossing(clearance: std::ops::Range<f32>) -> impl Strategy<Value = Crossing> {
    (
        (
            100f32..900.0,
            100f32..900.0,
            0f32..std::f32::consts::TAU,
            60f32..400.0,
        ),
        (-0.6f32..1.6).prop_filter("not at an end of the segment", |t| {
            t.abs() > 0.02 && (t - 1.0).abs() > 0.02
        }),
        (-1.0f32..1.0, any::<bool>()),
        (clearance.clone(), clearance),
        20f64..300.0,
    )
        .prop_map(
            |((ax, ay, angle, len), at, (tilt, from_positive), (before, after), speed)| {
                let a = p(ax, ay);
                let dir = p(angle.cos(), angle.sin());
                let b = a + dir * len;
                // Unit normal towards the positive side: cross(dir, n) = 1.
                let n = p(-dir.y, dir.x);
                let toward = if from_positive { n * -1.0 } else { n };
                // Walk within 60 degrees of the normal: cos >= 0.5.
                let phi = tilt * std::f32::consts::FRAC_PI_3;
                let u = p(
                    toward.x * phi.cos() - toward.y * phi.sin(),
                    toward.x * phi.sin() + toward.y * phi.cos(),
                );
                let x = a + (b - a) * at;
                let cos = phi.cos();
                Crossing {
                    a,
                    b,
                    start: x - u * ((MARGIN + before) / cos),
                    end: x + u * ((MARGIN + after) / cos),
                    speed,
                    at,
                    from_positive,
                }
            },
        )
}

impl Crossing {
    fn expected(&self) -> LineCounts {
        let within = (0.0..=1.0).contains(&self.at);
        LineCounts {
            inbound: u64::from(within && self.from_positive),
            outbound: u64::from(within && !self.from_positive),
        }
    }

    fn scene(&self) -> Scene {
        Scene::new(FPS).with_walker(
            Walker::new(1, self.start)
                .speed(self.speed)
                .walk_to(self.end),
        )
    }

    fn counter(&self) -> LineCounter {
        let config = LineCounterConfig {
            margin: MARGIN,
            ..LineCounterConfig::default()
        };
        LineCounter::new(Segment::new(self.a, self.b).unwrap(), config).unwrap()
    }
}

/// Sides beyond the margin, in order of visit, without repeats; each change is a crossing.
fn true_transitions(distances: impl Iterator<Item = f32>) -> LineCounts {
    let mut sides: Vec<bool> = Vec::new();
    for d in distances.filter(|d| d.abs() > MARGIN) {
        if sides.last() != Some(&(d > 0.0)) {
            sides.push(d > 0.0);
        }
    }
    let inbound = sides.windows(2).filter(|w| w[0] && !w[1]).count() as u64;
    let outbound = sides.windows(2).filter(|w| !w[0] && w[1]).count() as u64;
    LineCounts { inbound, outbound }
}

fn waypoints(y: std::ops::Range<f32>) -> impl Strategy<Value = Vec<Point>> {
    prop::collection::vec((0f32..600.0, y).prop_map(|(x, y)| p(x, y)), 2..8)
}

fn route(points: &[Point], speed: f64) -> Scene {
    let walker = points[1..]
        .iter()
        .fold(Walker::new(1, points[0]).speed(speed), |w, &q| w.walk_to(q));
    Scene::new(FPS).with_walker(walker)
}

proptest! {
    /// Monotonic walks: `in + out` is 1 exactly when the walk crosses the segment itself,
    /// and the direction follows the convention.
    #[test]
    fn straight_walks_count_true_crossings(c in crossing(12.0..200.0)) {
        let mut counter = c.counter();
        for frame in c.scene().frames() {
            counter.update(frame.t, &frame.people);
        }
        prop_assert_eq!(counter.counts(), c.expected());
    }

    /// Zig-zags near a line long enough to cover the scene: counts equal the changes of side
    /// beyond the margin, however much the path dithers in between.
    #[test]
    fn dithering_paths_count_side_changes(points in waypoints(250.0..350.0), speed in 60f64..200.0) {
        // A->B to the right along y = 300: below (y > 300) is the positive side.
        let line = Segment::new(p(-10_000.0, 300.0), p(10_000.0, 300.0)).unwrap();
        let config = LineCounterConfig { margin: MARGIN, ..LineCounterConfig::default() };
        let mut counter = LineCounter::new(line, config).unwrap();
        let scene = route(&points, speed);
        let mut anchors = Vec::new();
        for frame in scene.frames() {
            counter.update(frame.t, &frame.people);
            anchors.extend(frame.people.iter().map(|t| t.bbox.anchor().y - 300.0));
        }
        prop_assert_eq!(counter.counts(), true_transitions(anchors.into_iter()));
    }

    /// Oscillating within the margin across the segment never counts.
    #[test]
    fn oscillation_within_the_margin_counts_nothing(
        points in waypoints(300.0 - MARGIN + 0.01..300.0 + MARGIN),
        speed in 20f64..300.0,
    ) {
        let line = Segment::new(p(0.0, 300.0), p(600.0, 300.0)).unwrap();
        let mut counter = LineCounter::new(line, LineCounterConfig::default()).unwrap();
        for frame in route(&points, speed).frames() {
            prop_assert!(counter.update(frame.t, &frame.people).is_empty());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The same monotonic walks through the tracker: still exact.
    #[test]
    fn straight_walks_through_the_tracker(c in crossing(60.0..200.0)) {
        let mut tracker = Tracker::new(TrackerConfig::default()).unwrap();
        let mut counter = c.counter();
        for frame in c.scene().frames() {
            let detections: Vec<Detection> = frame
                .people
                .iter()
                .map(|t| Detection { bbox: t.bbox, score: 0.9 })
                .collect();
            let tracks = tracker.update(&detections);
            counter.update(frame.t, &tracks);
        }
        prop_assert_eq!(counter.counts(), c.expected());
    }
}

/// One frame of a zone script: per track, absent, inside or outside.
fn zone_script() -> impl Strategy<Value = Vec<Vec<Option<bool>>>> {
    (1usize..5).prop_flat_map(|n| {
        prop::collection::vec(
            prop::collection::vec(prop::option::of(any::<bool>()), n..=n),
            0..80,
        )
    })
}

proptest! {
    #[test]
    fn zone_books_balance(
        script in zone_script(),
        enter_frames in 1u32..5,
        exit_frames in 1u32..5,
        forget_after_frames in 0u32..6,
    ) {
        let polygon = Polygon::new(vec![p(100.0, 100.0), p(300.0, 100.0), p(300.0, 300.0), p(100.0, 300.0)]).unwrap();
        let config = ZoneConfig { enter_frames, exit_frames, forget_after_frames, ..ZoneConfig::default() };
        let mut zone = ZoneCounter::new(polygon, config).unwrap();
        let mut visits = Vec::new();
        let frames = script.len() + forget_after_frames as usize + 1;
        for i in 0..frames {
            let tracks: Vec<Track> = script
                .get(i)
                .into_iter()
                .flatten()
                .enumerate()
                .filter_map(|(id, state)| {
                    state.map(|inside| {
                        let anchor = if inside { p(200.0, 200.0) } else { p(50.0, 200.0) };
                        Track { id: TrackId(id as u64), bbox: BBox::from_anchor(anchor, 40.0, 100.0) }
                    })
                })
                .collect();
            zone.update(i as f64, &tracks);
            visits.extend(zone.take_completed_visits());
            let c = zone.counts();
            prop_assert_eq!(u64::from(c.occupancy), c.entries - c.exits);
            prop_assert_eq!(visits.len() as u64, c.exits);
            prop_assert!(c.max_occupancy as usize <= script.first().map_or(0, Vec::len));
        }
        // After everyone has been gone long enough, the zone is empty.
        let c = zone.counts();
        prop_assert_eq!((c.occupancy, c.entries), (0, c.exits));
        prop_assert!(visits.iter().all(|v| v.dwell() >= 0.0));
        let histogram_total: u64 = zone.dwell_histogram().buckets().map(|(_, n)| n).sum();
        prop_assert_eq!(histogram_total, c.exits);
    }

    /// Whatever the detections, each reported track matched a detection this frame, ids in
    /// a frame are unique and sorted, and ids are handed out as 1, 2, 3...
    #[test]
    fn tracker_ids_are_unique_and_consecutive(
        frames in prop::collection::vec(
            prop::collection::vec((0u8..6, 0u8..3, 0.0f32..1.0), 0..5),
            0..60,
        ),
    ) {
        let mut tracker = Tracker::new(TrackerConfig::default()).unwrap();
        let mut max_id = 0;
        for detections in frames {
            // A coarse grid, so the same spot recurs and tracks form.
            let detections: Vec<Detection> = detections
                .into_iter()
                .map(|(gx, gy, score)| Detection {
                    bbox: BBox::new(f32::from(gx) * 60.0, f32::from(gy) * 120.0, 40.0, 100.0),
                    score,
                })
                .collect();
            let usable = detections.iter().filter(|d| d.score >= 0.1).count();
            let out = tracker.update(&detections);
            prop_assert!(out.len() <= usable);
            prop_assert!(out.windows(2).all(|w| w[0].id < w[1].id));
            for id in out.iter().map(|t| t.id.0) {
                prop_assert!(id <= max_id + 1, "id {} skips past {}", id, max_id);
                max_id = max_id.max(id);
            }
        }
    }

    #[test]
    fn minute_buckets_add_up(
        events in prop::collection::vec((0f64..600.0, any::<bool>()), 0..50),
        now in 0f64..700.0,
    ) {
        let mut flow = MinuteFlow::new();
        let mut total = LineCounts::default();
        for &(t, inbound) in &events {
            let direction = if inbound { Direction::In } else { Direction::Out };
            flow.record(&LineCrossing { track: TrackId(1), direction, t });
            total.record(direction);
        }
        let closed = flow.take_closed(now);
        prop_assert!(closed.iter().all(|&(m, _)| m < minute_of(now)));
        prop_assert!(flow.minutes().all(|(m, _)| m >= minute_of(now)));
        let mut sum = LineCounts::default();
        for (_, c) in closed.into_iter().chain(flow.minutes()) {
            sum.inbound += c.inbound;
            sum.outbound += c.outbound;
        }
        prop_assert_eq!(sum, total);
    }
}

//! Synthetic scenes through the whole pure pipeline: ground-truth boxes become detections,
//! the tracker turns them into confirmed tracks, and the counters count. Counts are exact.

use analytics::{
    BBox, Detection, Direction, LineCounter, LineCounterConfig, LineCounts, MinuteFlow, Point,
    Polygon, Scene, Segment, Track, TrackId, Tracker, TrackerConfig, Walker, ZoneConfig,
    ZoneCounter,
};

const FPS: f64 = 30.0;

fn p(x: f32, y: f32) -> Point {
    Point::new(x, y)
}

/// The issue's example line: A=(240,120), B=(240,360).
fn line() -> Segment {
    Segment::new(p(240.0, 120.0), p(240.0, 360.0)).unwrap()
}

struct Outcome {
    counts: LineCounts,
    ids: Vec<TrackId>,
    flow: MinuteFlow,
}

/// Runs `scene` as perfect detections (score 0.9), except in frames where `drop` says so.
fn run(scene: &Scene, tracker: TrackerConfig, drop: impl Fn(u64, TrackId) -> bool) -> Outcome {
    let mut tracker = Tracker::new(tracker).unwrap();
    let mut counter = LineCounter::new(line(), LineCounterConfig::default()).unwrap();
    let mut flow = MinuteFlow::new();
    let mut ids = Vec::new();
    for frame in scene.frames() {
        let detections: Vec<Detection> = frame
            .people
            .iter()
            .filter(|t| !drop(frame.index, t.id))
            .map(|t| Detection {
                bbox: t.bbox,
                score: 0.9,
            })
            .collect();
        let tracks = tracker.update(&detections);
        ids.extend(tracks.iter().map(|t| t.id));
        for crossing in counter.update(frame.t, &tracks) {
            flow.record(&crossing);
        }
    }
    ids.sort();
    ids.dedup();
    Outcome {
        counts: counter.counts(),
        ids,
        flow,
    }
}

fn count(walkers: Vec<Walker>) -> LineCounts {
    let scene = walkers
        .into_iter()
        .fold(Scene::new(FPS), Scene::with_walker);
    run(&scene, TrackerConfig::default(), |_, _| false).counts
}

fn counts(inbound: u64, outbound: u64) -> LineCounts {
    LineCounts { inbound, outbound }
}

#[test]
fn exact_counts_on_scripted_scenes() {
    let w = |start: Point| Walker::new(1, start);
    let cases: Vec<(&str, Vec<Walker>, LineCounts)> = vec![
        (
            "in",
            vec![w(p(100.0, 300.0)).walk_to(p(380.0, 300.0))],
            counts(1, 0),
        ),
        (
            "out",
            vec![w(p(380.0, 300.0)).walk_to(p(100.0, 300.0))],
            counts(0, 1),
        ),
        (
            "in and back out",
            vec![
                w(p(100.0, 300.0))
                    .walk_to(p(320.0, 300.0))
                    .walk_to(p(100.0, 300.0)),
            ],
            counts(1, 1),
        ),
        (
            "jitter on the line, then on",
            vec![
                w(p(100.0, 300.0))
                    .walk_to(p(232.0, 300.0))
                    .back_and_forth(p(16.0, 0.0), 8)
                    .walk_to(p(380.0, 300.0)),
            ],
            counts(1, 0),
        ),
        (
            "jitter on the line, then back",
            vec![
                w(p(100.0, 300.0))
                    .walk_to(p(232.0, 300.0))
                    .back_and_forth(p(16.0, 0.0), 8)
                    .walk_to(p(100.0, 300.0)),
            ],
            counts(0, 0),
        ),
        (
            "two side by side",
            vec![
                w(p(100.0, 230.0)).walk_to(p(380.0, 230.0)),
                Walker::new(2, p(100.0, 300.0)).walk_to(p(380.0, 300.0)),
            ],
            counts(2, 0),
        ),
        (
            "two side by side, opposite ways",
            vec![
                w(p(100.0, 230.0)).walk_to(p(380.0, 230.0)),
                Walker::new(2, p(380.0, 300.0)).walk_to(p(100.0, 300.0)),
            ],
            counts(1, 1),
        ),
        (
            "stop on the line, then on",
            vec![
                w(p(100.0, 300.0))
                    .walk_to(p(240.0, 300.0))
                    .pause(4.0)
                    .walk_to(p(380.0, 300.0)),
            ],
            counts(1, 0),
        ),
        (
            "stop on the line, then back",
            vec![
                w(p(100.0, 300.0))
                    .walk_to(p(240.0, 300.0))
                    .pause(4.0)
                    .walk_to(p(100.0, 300.0)),
            ],
            counts(0, 0),
        ),
        (
            "outside the segment's extent",
            vec![w(p(100.0, 420.0)).walk_to(p(380.0, 420.0))],
            counts(0, 0),
        ),
    ];
    for (name, walkers, expected) in cases {
        assert_eq!(count(walkers), expected, "{name}");
    }
}

#[test]
fn occlusion_while_crossing_keeps_the_id_and_counts_once() {
    // 60 px/s from x = 100: on the line at 140/60 s = frame 70. Hidden for frames 60..75.
    let scene =
        Scene::new(FPS).with_walker(Walker::new(1, p(100.0, 300.0)).walk_to(p(380.0, 300.0)));
    let out = run(&scene, TrackerConfig::default(), |frame, _| {
        (60..75).contains(&frame)
    });
    assert_eq!(out.counts, counts(1, 0));
    assert_eq!(out.ids, vec![TrackId(1)]);
}

#[test]
fn crossings_flow_into_minute_buckets() {
    // Crossing at ~2.5 s, and a second person starting at 100 s crossing back out.
    let scene = Scene::new(FPS)
        .with_walker(Walker::new(1, p(100.0, 300.0)).walk_to(p(380.0, 300.0)))
        .with_walker(
            Walker::new(2, p(380.0, 300.0))
                .starting_at(100.0)
                .walk_to(p(100.0, 300.0)),
        );
    let out = run(&scene, TrackerConfig::default(), |_, _| false);
    assert_eq!(
        out.flow.minutes().collect::<Vec<_>>(),
        [(0, counts(1, 0)), (1, counts(0, 1))]
    );
}

/// A false detection sliding across the line for four frames (wide boxes, so consecutive
/// ones overlap and associate).
fn ghost_counts(min_hits: u32) -> LineCounts {
    let mut tracker = Tracker::new(TrackerConfig {
        min_hits,
        ..TrackerConfig::default()
    })
    .unwrap();
    let mut counter = LineCounter::new(line(), LineCounterConfig::default()).unwrap();
    for (i, x) in [200.0, 220.0, 260.0, 280.0].into_iter().enumerate() {
        let ghost = Detection {
            bbox: BBox::from_anchor(p(x, 300.0), 80.0, 100.0),
            score: 0.9,
        };
        let tracks = tracker.update(&[ghost]);
        counter.update(i as f64 / FPS, &tracks);
    }
    for i in 4..40 {
        let tracks = tracker.update(&[]);
        counter.update(i as f64 / FPS, &tracks);
    }
    counter.counts()
}

#[test]
fn unconfirmed_tracks_never_count() {
    // Confirming after one or two hits lets the ghost count; three hits do not.
    assert_eq!(ghost_counts(1), counts(1, 0));
    assert_eq!(ghost_counts(2), counts(1, 0));
    assert_eq!(ghost_counts(3), counts(0, 0));
}

#[test]
fn zone_counts_through_the_tracker() {
    let zone_polygon = Polygon::new(vec![
        p(150.0, 150.0),
        p(350.0, 150.0),
        p(350.0, 350.0),
        p(150.0, 350.0),
    ])
    .unwrap();
    // One person crosses the zone; another walks in, stands 3 s, walks out; a third passes
    // outside it.
    let scene = Scene::new(FPS)
        .with_walker(Walker::new(1, p(50.0, 250.0)).walk_to(p(450.0, 250.0)))
        .with_walker(
            Walker::new(2, p(250.0, 450.0))
                .walk_to(p(250.0, 250.0))
                .pause(3.0)
                .walk_to(p(250.0, 450.0)),
        )
        .with_walker(Walker::new(3, p(50.0, 420.0)).walk_to(p(450.0, 420.0)));
    let mut tracker = Tracker::new(TrackerConfig::default()).unwrap();
    let mut zone = ZoneCounter::new(zone_polygon, ZoneConfig::default()).unwrap();
    let mut max_tracks = 0;
    for frame in scene.frames() {
        let detections = frame.detections(0.9);
        let tracks: Vec<Track> = tracker.update(&detections);
        max_tracks = max_tracks.max(tracks.len());
        zone.update(frame.t, &tracks);
    }
    for i in 0..40 {
        zone.update(100.0 + f64::from(i), &[]);
    }
    assert_eq!(max_tracks, 3);
    let counts = zone.counts();
    assert_eq!(
        (
            counts.entries,
            counts.exits,
            counts.occupancy,
            counts.max_occupancy
        ),
        (2, 2, 0, 2)
    );
    let mut dwell: Vec<f64> = zone
        .take_completed_visits()
        .iter()
        .map(|v| v.dwell())
        .collect();
    dwell.sort_by(f64::total_cmp);
    // Ground truth, first to last frame inside, at 2 px per frame: walker 1 is inside for
    // x = 152..=348 (98 frame intervals); walker 2 for y = 348 down to 250, 90 frames of
    // pause, and back up to 348 (188 intervals). The tracker's smoothing may shift an edge
    // by a frame.
    let tolerance = 1.5 / FPS;
    assert!((dwell[0] - 98.0 / FPS).abs() <= tolerance, "{dwell:?}");
    assert!((dwell[1] - 188.0 / FPS).abs() <= tolerance, "{dwell:?}");
}

#[test]
fn direction_convention_of_the_issue() {
    // "for A=(240,120), B=(240,360), walking from x=100 to x=300 is `in`".
    let scene =
        Scene::new(FPS).with_walker(Walker::new(1, p(100.0, 240.0)).walk_to(p(300.0, 240.0)));
    let mut counter = LineCounter::new(line(), LineCounterConfig::default()).unwrap();
    let mut directions = Vec::new();
    for frame in scene.frames() {
        directions.extend(
            counter
                .update(frame.t, &frame.people)
                .into_iter()
                .map(|c| c.direction),
        );
    }
    assert_eq!(directions, [Direction::In]);
}

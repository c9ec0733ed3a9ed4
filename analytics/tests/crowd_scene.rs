//! The synthetic `crowd` scene (the audience-rules demo's camera) through the player's default
//! camera path: real GStreamer, the motion detector at its default analysis width, the tracker
//! and a zone over the whole frame, as `scripts/run.sh` configures it. Frame by frame the
//! counted occupancy must follow the scene's exact ground truth closely enough for the demo's
//! `crowd-online` rule (10 people or more) and its `attract` rule (nobody) to fire.

#![cfg(feature = "media")]

use analytics::edge::{Input, Pipeline, PipelineConfig};
use analytics::{Counting, CountingConfig, NamedZone};

/// The zone of the demo player's camera (scripts/run.sh) and of the e2e audience test.
const HALL: &str = "hall:1,1,639,1,639,479,1,479";

#[test]
fn the_motion_detector_counts_the_crowd_scene_close_to_its_ground_truth() {
    let zones: Vec<NamedZone> = vec![HALL.parse().unwrap()];
    let input: Input = "synthetic:crowd".parse().unwrap();
    let Input::Synthetic(camera) = &input else {
        unreachable!()
    };
    // The truth: the scripted people themselves as tracks, through the same zone counter.
    let mut truth = Counting::new(&[], &zones, &CountingConfig::default()).unwrap();
    let mut frames = camera.scene().frames();
    let mut pipeline = Pipeline::open(&input, &[], &zones, &PipelineConfig::default()).unwrap();

    let fps = camera.scene().fps();
    let (mut n, mut abs_error, mut max_seen, mut max_truth) = (0u64, 0u64, 0u32, 0u32);
    let (mut full, mut full_at_least_10, mut empty, mut empty_zero) = (0u64, 0u64, 0u64, 0u64);
    let mut timeline = String::new();
    let (mut dets_sum, mut people_sum) = (0u64, 0u64);
    while let Some(report) = pipeline.step().unwrap() {
        let frame = frames.next().expect("the camera gives the scene's frames");
        assert_eq!(report.index, frame.index);
        let expected = truth.update_tracks(frame.t, frame.people.clone()).occupancy[0];
        let seen = report.counts.occupancy[0];
        n += 1;
        dets_sum += report.detections.len() as u64;
        people_sum += frame.people.iter().filter(|p| p.bbox.x >= 0.0).count() as u64;
        abs_error += u64::from(seen.abs_diff(expected));
        max_seen = max_seen.max(seen);
        max_truth = max_truth.max(expected);
        if expected == 12 {
            full += 1;
            full_at_least_10 += u64::from(seen >= 10);
        }
        if expected == 0 {
            empty += 1;
            empty_zero += u64::from(seen == 0);
        }
        if frame.index % (5.0 * fps) as u64 == 0 {
            timeline.push_str(&format!("{:.0}s {expected}/{seen} ", frame.t));
        }
    }
    let mae = abs_error as f64 / n as f64;
    let detected = dets_sum as f64 / people_sum.max(1) as f64;
    eprintln!(
        "crowd: {n} frames, max occupancy {max_seen} (truth {max_truth}), MAE {mae:.2}, \
         >= 10 on {full_at_least_10} of {full} frames with 12 present, \
         0 on {empty_zero} of {empty} empty frames, {detected:.2} detections per person in \
         view\ntruth/seen every 5 s: {timeline}"
    );
    assert_eq!(n, camera.scene().frame_count(), "every frame analysed");
    assert_eq!(max_truth, 12, "the script itself");
    // Pacing people are detected only now and then (the background model partly learns
    // them); a track the tracker loses and starts afresh is counted twice for up to 2 s.
    assert!(
        (10..=16).contains(&max_seen),
        "max occupancy {max_seen}, truth 12"
    );
    assert!(mae < 1.0, "mean absolute error {mae:.2} per frame");
    assert!(
        full_at_least_10 * 10 >= full * 8,
        "10 or more counted on only {full_at_least_10} of the {full} frames with 12 present"
    );
    assert!(
        empty_zero * 10 >= empty * 9,
        "nobody counted on only {empty_zero} of the {empty} empty frames"
    );
}

//! The IO edge with real GStreamer and OpenCV: synthetic camera through the whole pipeline
//! with exact counts, zero-copy frames, the CLI, calibration pictures and bad input.
//! Tests that need the shared test data skip with a message when it is absent.

#![cfg(feature = "media")]

use std::path::{Path, PathBuf};
use std::process::Command;

use analytics::edge::calibrate::calibrate;
use analytics::edge::synthetic_camera::{DOOR_LINE, RIGHT_ZONE};
use analytics::edge::{
    DetectorConfig, DnnConfig, DnnDetector, FrameSource, GateConfig, Input, ModelError, Pipeline,
    PipelineConfig, PipelineError, PixelFormat, SourceError, SourceOptions,
};
use analytics::{Counting, CountingConfig, Detection, NamedLine, NamedZone};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data");
const BIN: &str = env!("CARGO_BIN_EXE_signage-analytics");

/// The shared test data file, or `None` after saying why the test is skipped.
fn data(relative: &str) -> Option<PathBuf> {
    let path = Path::new(DATA).join(relative);
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "SKIPPED: test data {} is absent (expected in ../shared/data beside the repository)",
            path.display()
        );
        None
    }
}

fn door() -> Vec<NamedLine> {
    vec![DOOR_LINE.parse().unwrap()]
}

fn right() -> Vec<NamedZone> {
    vec![RIGHT_ZONE.parse().unwrap()]
}

/// Counts `synthetic:SPEC` with the motion detector; returns (in, out, max occupancy,
/// entries).
fn count_synthetic(spec: &str) -> (u64, u64, u32, u64) {
    let input: Input = format!("synthetic:{spec}").parse().unwrap();
    let mut pipeline =
        Pipeline::open(&input, &door(), &right(), &PipelineConfig::default()).unwrap();
    while pipeline.step().unwrap().is_some() {}
    let counts = pipeline.counting().line_counts()["door"];
    let (_, zone) = pipeline.counting().zones().next().unwrap();
    let z = zone.counts();
    (counts.inbound, counts.outbound, z.max_occupancy, z.entries)
}

/// What perfect detections of the scripted scene give: the reference for the camera path.
fn count_truth(spec: &str) -> (u64, u64, u32, u64) {
    let Input::Synthetic(camera) = format!("synthetic:{spec}").parse().unwrap() else {
        unreachable!()
    };
    let mut counting = Counting::new(&door(), &right(), &CountingConfig::default()).unwrap();
    for frame in camera.scene().frames() {
        let dets = frame.detections(0.9);
        counting.update(frame.t, &dets);
    }
    let c = counting.line_counts()["door"];
    let (_, zone) = counting.zones().next().unwrap();
    let z = zone.counts();
    (c.inbound, c.outbound, z.max_occupancy, z.entries)
}

#[test]
fn synthetic_camera_through_motion_detector_counts_exactly() {
    // In: 1 walker, 1 after stopping on the line, 2 side by side, 2 close behind each
    // other (one merged blob, split). Out: 1. Dithering on the line: nothing.
    let expected = (6, 1, 2, 7);
    assert_eq!(count_truth("crossings"), expected, "the script itself");
    assert_eq!(count_synthetic("crossings"), expected);
}

#[test]
fn gradual_lighting_change_and_noise_do_not_change_the_counts() {
    assert_eq!(count_synthetic("crossings,lighting,noise=8"), (6, 1, 2, 7));
}

#[test]
fn frames_are_mats_over_the_mapped_buffer_at_the_analysis_size() {
    use opencv::prelude::*;
    let input: Input = "synthetic:walk".parse().unwrap();
    for (format, channels) in [(PixelFormat::Gray, 1), (PixelFormat::Bgr, 3)] {
        let options = SourceOptions {
            format,
            width: Some(322), // rounded down to a multiple of 4
        };
        let mut source = FrameSource::open(&input, options).unwrap();
        assert_eq!(source.native_size(), (640, 480));
        assert_eq!(source.frame_size(), (320, 240));
        let mut frames = 0;
        let mut last_t = -1.0;
        while let Some(frame) = source.next_frame().unwrap() {
            let mat = frame.mat().unwrap();
            assert_eq!(
                (mat.cols(), mat.rows(), mat.channels()),
                (320, 240, channels)
            );
            // No copy: the Mat's pixels are the buffer's bytes.
            assert_eq!(mat.data(), frame.bytes().as_ptr());
            assert!(frame.t > last_t);
            last_t = frame.t;
            frames += 1;
        }
        let Input::Synthetic(camera) = &input else {
            unreachable!()
        };
        assert_eq!(frames, camera.scene().frame_count());
    }
}

#[test]
fn a_video_file_decodes_at_the_analysis_size() {
    let Some(video) = data("video/TUD-Campus.mp4") else {
        return;
    };
    let options = SourceOptions {
        format: PixelFormat::Gray,
        width: Some(320),
    };
    let mut source = FrameSource::open(&Input::File(video), options).unwrap();
    assert_eq!(source.native_size(), (640, 480));
    assert_eq!(source.frame_size(), (320, 240));
    let mut n = 0;
    while source.next_frame().unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, 71);
}

#[test]
fn unreadable_videos_give_clear_errors() {
    let missing = Input::File("/nonexistent/video.mp4".into());
    let e = FrameSource::open(
        &missing,
        SourceOptions {
            format: PixelFormat::Gray,
            width: None,
        },
    )
    .unwrap_err();
    assert!(matches!(e, SourceError::File { .. }), "{e}");
    assert!(e.to_string().contains("/nonexistent/video.mp4"), "{e}");

    let dir = std::env::temp_dir().join(format!("analytics-edge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let garbage = dir.join("not-a-video.mp4");
    std::fs::write(&garbage, b"this is text, not a video\n".repeat(100)).unwrap();
    let e = FrameSource::open(
        &Input::File(garbage.clone()),
        SourceOptions {
            format: PixelFormat::Gray,
            width: None,
        },
    )
    .unwrap_err();
    assert!(matches!(e, SourceError::Stream { .. }), "{e}");
    assert!(e.to_string().contains("not-a-video.mp4"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_model_that_is_not_onnx_is_refused_clearly() {
    let dir = std::env::temp_dir().join(format!("analytics-model-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fake = dir.join("model.onnx");
    std::fs::write(&fake, b"definitely not protobuf").unwrap();
    let e = DnnDetector::new(&fake, DnnConfig::default()).unwrap_err();
    assert!(matches!(e, ModelError::NotOnnx { .. }), "{e}");
    assert!(e.to_string().contains("not an ONNX model"), "{e}");
    let e = DnnDetector::new(&dir.join("missing.onnx"), DnnConfig::default()).unwrap_err();
    assert!(matches!(e, ModelError::Unreadable { .. }), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_line_outside_the_frame_is_refused_with_its_name() {
    let input: Input = "synthetic:walk".parse().unwrap();
    let lines = vec!["gate:100,100,700,100".parse().unwrap()];
    let e = Pipeline::open(&input, &lines, &[], &PipelineConfig::default()).unwrap_err();
    assert!(matches!(e, PipelineError::OutsideFrame(_)), "{e}");
    assert!(
        e.to_string().contains("line `gate`") && e.to_string().contains("640x480"),
        "{e}"
    );
}

#[test]
fn dnn_detector_finds_the_people_of_a_real_frame() {
    let (Some(model), Some(video)) = (data("models/yolox_nano.onnx"), data("video/TUD-Campus.mp4"))
    else {
        return;
    };
    let mut detector = DnnDetector::new(&model, DnnConfig::default()).unwrap();
    let options = SourceOptions {
        format: PixelFormat::Bgr,
        width: Some(416),
    };
    let mut source = FrameSource::open(&Input::File(video), options).unwrap();
    let frame = source.next_frame().unwrap().unwrap();
    let people: Vec<Detection> = detector
        .detect(&frame)
        .unwrap()
        .into_iter()
        .filter(|d| d.score >= 0.5)
        .collect();
    // Frame 1 of TUD-Campus has 6 annotated people, several half hidden.
    assert!((4..=7).contains(&people.len()), "{people:?}");
    for p in &people {
        assert!(p.bbox.h > p.bbox.w, "people are taller than wide: {p:?}");
    }
    let _ = DetectorConfig::default();
}

#[test]
fn dnn_input_fitted_to_the_frame_aspect_finds_the_same_people_as_the_square_one() {
    let (Some(model), Some(video)) = (data("models/yolox_nano.onnx"), data("video/TUD-Campus.mp4"))
    else {
        return;
    };
    let options = SourceOptions {
        format: PixelFormat::Bgr,
        width: Some(416),
    };
    let mut source = FrameSource::open(&Input::File(video), options).unwrap();
    let frame = source.next_frame().unwrap().unwrap();
    let people = |fit_aspect: bool| {
        let config = DnnConfig {
            fit_aspect,
            ..DnnConfig::default()
        };
        let mut detector = DnnDetector::new(&model, config).unwrap();
        assert_eq!(detector.input_shape(), None, "chosen on the first frame");
        let people: Vec<Detection> = detector
            .detect(&frame)
            .unwrap()
            .into_iter()
            .filter(|d| d.score >= 0.5)
            .collect();
        (detector.input_shape(), people)
    };
    let (square_shape, square) = people(false);
    let (fitted_shape, fitted) = people(true);
    // 640x480 analysed at 416x312: the network's height shrinks to the next multiple of 32.
    assert_eq!(square_shape, Some((416, 416)));
    assert_eq!(fitted_shape, Some((416, 320)));
    assert!(!square.is_empty());
    assert_eq!(square.len(), fitted.len(), "{square:?} vs {fitted:?}");
    for s in &square {
        let best = fitted
            .iter()
            .map(|f| f.bbox.iou(&s.bbox))
            .fold(0.0, f32::max);
        assert!(best > 0.8, "{s:?} has no match in {fitted:?}");
    }
}

#[test]
fn the_motion_gate_lets_every_frame_of_a_busy_walkway_through() {
    let (Some(model), Some(video)) = (data("models/yolox_nano.onnx"), data("video/TUD-Campus.mp4"))
    else {
        return;
    };
    let lines: Vec<NamedLine> = vec!["middle:280,300,280,479".parse().unwrap()];
    let run = |gate: Option<GateConfig>| {
        let config = PipelineConfig {
            detector: DetectorConfig::Dnn {
                model: model.clone(),
                config: DnnConfig {
                    gate,
                    ..DnnConfig::default()
                },
            },
            ..PipelineConfig::default()
        };
        let mut pipeline =
            Pipeline::open(&Input::File(video.clone()), &lines, &[], &config).unwrap();
        while pipeline.step().unwrap().is_some() {}
        (
            pipeline.detector().dnn_runs().unwrap(),
            pipeline.counting().line_counts(),
        )
    };
    // People walk through every frame: a gate scaled down to 320 px must still see them.
    let ((runs, frames), gated) = run(Some(GateConfig::default()));
    assert_eq!(frames, 71);
    assert_eq!(runs, frames, "the gate skipped frames with people walking");
    let (_, ungated) = run(None);
    assert_eq!(gated, ungated);
}

#[test]
fn calibrate_draws_the_in_arrow_and_zone_into_a_png() {
    let dir = std::env::temp_dir().join(format!("analytics-calibrate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("frame.png");
    let input: Input = "synthetic:walk".parse().unwrap();
    let size = calibrate(&input, &door(), &right(), 0, &out).unwrap();
    assert_eq!(size, (640, 480));
    use opencv::prelude::*;
    let image =
        opencv::imgcodecs::imread(out.to_str().unwrap(), opencv::imgcodecs::IMREAD_COLOR).unwrap();
    assert_eq!((image.cols(), image.rows()), (640, 480));
    // The `in` arrow leaves the middle of the door (320, 280) towards +x, in green.
    let px = *image.at_2d::<opencv::core::Vec3b>(280, 340).unwrap();
    assert!(px[1] > 180 && px[0] < 60 && px[2] < 60, "{px:?}");
    // Not PNG: refused.
    let e = calibrate(&input, &door(), &[], 0, &dir.join("frame.jpg")).unwrap_err();
    assert!(e.to_string().contains(".png"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cli_count_prints_one_json_object() {
    let out = Command::new(BIN)
        .args([
            "count",
            "--input",
            "synthetic:crossings",
            "--line",
            DOOR_LINE,
            "--zone",
            RIGHT_ZONE,
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.trim().lines().count(), 1, "{stdout}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["fps", "frames", "lines", "seconds", "zones"]);
    assert_eq!(v["frames"], 612);
    assert_eq!(v["seconds"], 40.8);
    assert!(v["fps"].as_f64().unwrap() > 0.0);
    assert_eq!(v["lines"]["door"], serde_json::json!({"in": 6, "out": 1}));
    assert_eq!(v["zones"]["right"]["max_occupancy"], 2);
    let mean = v["zones"]["right"]["mean_occupancy"].as_f64().unwrap();
    assert!(mean > 0.3 && mean < 1.0, "{mean}");
}

#[test]
fn cli_errors_say_what_to_fix() {
    let run = |args: &[&str]| {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert!(!out.status.success(), "{args:?} should fail");
        String::from_utf8(out.stderr).unwrap()
    };
    let e = run(&[
        "count",
        "--input",
        "/nonexistent.mp4",
        "--line",
        "a:0,0,10,10",
    ]);
    assert!(
        e.contains("cannot read the video file /nonexistent.mp4"),
        "{e}"
    );
    let e = run(&[
        "count",
        "--input",
        "synthetic:walk",
        "--line",
        "a:0,0,10,10",
        "--detector",
        "dnn",
    ]);
    assert!(e.contains("--model"), "{e}");
    let e = run(&[
        "count",
        "--input",
        "synthetic:walk",
        "--line",
        "a:0,0,1000,10",
    ]);
    assert!(e.contains("line `a`") && e.contains("outside"), "{e}");
    let e = run(&["count", "--input", "synthetic:walk", "--line", "a:0,0,10"]);
    assert!(e.contains("exactly 4 numbers"), "{e}");
    let e = run(&[
        "count",
        "--input",
        "synthetic:nowhere",
        "--line",
        "a:0,0,10,10",
    ]);
    assert!(e.contains("unknown synthetic scene"), "{e}");
}

//! Both detectors against the MOTChallenge ground truth of the TUD sequences, with the
//! documented lines and zones (`analytics::edge::evaluation::TUD_SETUPS`). The DNN must
//! meet the targets; the motion detector's figures are printed beside them and
//! must at least beat an empty-scene guess. Skips with a message when the data is absent.

#![cfg(feature = "media")]

use std::path::Path;

use analytics::edge::evaluation::{evaluate, tud_sequences};
use analytics::edge::{DetectorConfig, DnnConfig, GateConfig, MotionConfig, PipelineConfig};
use analytics::mot::GroundTruth;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data");

#[test]
fn tud_sequences_meet_the_dnn_targets_and_motion_is_reported() {
    let data = Path::new(DATA);
    let model = data.join("models/yolox_nano.onnx");
    let sequences = tud_sequences(data).unwrap();
    for path in sequences
        .iter()
        .flat_map(|(_, video, gt, _, _)| [video, gt])
        .chain([&model])
    {
        if !path.exists() {
            eprintln!(
                "SKIPPED: test data {} is absent (expected in ../shared/data beside the repository)",
                path.display()
            );
            return;
        }
    }
    let motion = PipelineConfig {
        detector: DetectorConfig::Motion(MotionConfig::default()),
        ..PipelineConfig::default()
    };
    let dnn = PipelineConfig {
        detector: DetectorConfig::Dnn {
            model,
            config: DnnConfig {
                gate: Some(GateConfig::default()),
                ..DnnConfig::default()
            },
        },
        ..PipelineConfig::default()
    };
    let (mut dnn_error, mut dnn_total) = (0, 0);
    for (name, video, gt, lines, zones) in &sequences {
        let truth = GroundTruth::parse(&std::fs::read_to_string(gt).unwrap()).unwrap();
        let m = evaluate(video, &truth, lines, zones, &motion).unwrap();
        let d = evaluate(video, &truth, lines, zones, &dnn).unwrap();
        eprintln!("{name} motion: {}", serde_json::to_string(&m).unwrap());
        eprintln!("{name} dnn:    {}", serde_json::to_string(&d).unwrap());
        assert!(
            d.line_total > 0,
            "{name}: the lines must see true crossings"
        );
        dnn_error += d.line_error;
        dnn_total += d.line_total;
        for (zone, mae) in &d.occupancy_mae {
            assert!(
                *mae <= 1.0,
                "{name} zone {zone}: DNN occupancy MAE {mae} > 1.0"
            );
        }
        for (zone, mae) in &m.occupancy_mae {
            let guess_nobody = m.true_mean_occupancy[zone];
            assert!(
                *mae < guess_nobody,
                "{name} zone {zone}: motion MAE {mae} is no better than guessing 0 ({guess_nobody})"
            );
        }
    }
    let rate = dnn_error as f64 / dnn_total as f64;
    eprintln!(
        "DNN total line-count error {dnn_error}/{dnn_total} = {:.1} %",
        100.0 * rate
    );
    assert!(
        rate <= 0.10,
        "DNN line-count error {dnn_error}/{dnn_total} above 10 %"
    );
}

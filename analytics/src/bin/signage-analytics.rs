//! `signage-analytics`: people counting on a video, camera or synthetic scene, offline.
//!
//! - `count`: lines and zones counted over the whole input; `--json` for one JSON object.
//! - `calibrate`: one frame with the lines and zones drawn, as a PNG for installers.
//! - `evaluate`: both detectors against MOTChallenge ground truth.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};

use analytics::edge::calibrate::calibrate;
use analytics::edge::evaluation::{Figures, evaluate};
use analytics::edge::{
    DetectorConfig, DnnConfig, GateConfig, Input, MotionConfig, Pipeline, PipelineConfig,
};
use analytics::mot::GroundTruth;
use analytics::{NamedLine, NamedZone};

#[derive(Parser)]
#[command(
    name = "signage-analytics",
    version,
    about = "People counting for signage players, offline"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Count line crossings and zone occupancy over a whole input.
    Count {
        #[command(flatten)]
        scene: SceneArgs,
        #[command(flatten)]
        detector: DetectorArgs,
        /// Print exactly one JSON object:
        /// {"frames","seconds","fps","lines":{NAME:{"in","out"}},"zones":{NAME:{"max_occupancy","mean_occupancy"}}}.
        #[arg(long)]
        json: bool,
    },
    /// Draw the lines (with an arrow pointing `in`) and zones on one frame, into a PNG.
    Calibrate {
        #[command(flatten)]
        scene: SceneArgs,
        /// Where to write the picture (a local .png file).
        #[arg(long)]
        out: PathBuf,
        /// Which frame to draw on, from 0.
        #[arg(long, default_value_t = 0)]
        frame: u64,
    },
    /// Compare the detectors' counts with MOTChallenge ground truth.
    Evaluate {
        /// A video; needs --gt, --line and/or --zone. Without it, the built-in TUD
        /// sequences of --data are evaluated with their documented lines and zones.
        #[arg(long, requires = "gt")]
        video: Option<PathBuf>,
        /// The video's MOTChallenge gt.txt.
        #[arg(long)]
        gt: Option<PathBuf>,
        /// NAME:x1,y1,x2,y2 (with --video).
        #[arg(long = "line", value_name = "NAME:x1,y1,x2,y2")]
        lines: Vec<NamedLine>,
        /// NAME:x1,y1,x2,y2,x3,y3,... (with --video).
        #[arg(long = "zone", value_name = "NAME:x1,y1,...")]
        zones: Vec<NamedZone>,
        /// Test data folder holding video/TUD-*.mp4 and their gt.txt.
        #[arg(long, default_value = "../shared/data")]
        data: PathBuf,
        /// ONNX model for the DNN detector; default: <data>/models/yolox_nano.onnx.
        #[arg(long)]
        model: Option<PathBuf>,
        /// Print the figures as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args)]
struct SceneArgs {
    /// A video file, v4l2:/dev/videoN, rtsp://..., or synthetic:NAME[,lighting][,noise=N]
    /// (scenes: crossings, walk).
    #[arg(long, value_parser = parse_input)]
    input: Input,
    /// A directed counting line in pixels of the input: crossing from the side where
    /// cross(B-A, P-A) > 0 to the side where it is < 0 counts `in`. Repeatable.
    #[arg(long = "line", value_name = "NAME:x1,y1,x2,y2")]
    lines: Vec<NamedLine>,
    /// A zone polygon in pixels of the input. Repeatable.
    #[arg(long = "zone", value_name = "NAME:x1,y1,x2,y2,x3,y3,...")]
    zones: Vec<NamedZone>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DetectorKind {
    /// Background subtraction; needs no model.
    Motion,
    /// An ONNX YOLOX model through OpenCV DNN (needs --model).
    Dnn,
}

#[derive(clap::Args)]
struct DetectorArgs {
    #[arg(long, value_enum, default_value_t = DetectorKind::Motion)]
    detector: DetectorKind,
    /// ONNX model (YOLOX output format) for --detector dnn.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Run the network on every frame, not only on frames with motion.
    #[arg(long)]
    no_gate: bool,
    /// Network input side in pixels (multiple of 32).
    #[arg(long, default_value_t = 416)]
    input_size: i32,
    /// Keep the network input square (input-size x input-size) instead of fitting its
    /// shorter side to the frame's aspect.
    #[arg(long)]
    square_input: bool,
    /// Minimum person score for DNN detections.
    #[arg(long, default_value_t = 0.1)]
    confidence: f32,
    /// Non-maximum suppression IoU threshold.
    #[arg(long, default_value_t = 0.45)]
    nms: f32,
    /// Analysis width in pixels (default: 320 for motion, the input size for dnn).
    #[arg(long)]
    width: Option<u32>,
}

fn parse_input(s: &str) -> Result<Input, String> {
    s.parse()
}

impl DetectorArgs {
    fn config(&self) -> Result<PipelineConfig> {
        let detector = match self.detector {
            DetectorKind::Motion => DetectorConfig::Motion(MotionConfig::default()),
            DetectorKind::Dnn => {
                let Some(model) = self.model.clone() else {
                    bail!(
                        "--detector dnn needs --model PATH to an ONNX model (e.g. yolox_nano.onnx)"
                    );
                };
                DetectorConfig::Dnn {
                    model,
                    config: DnnConfig {
                        input_size: self.input_size,
                        fit_aspect: !self.square_input,
                        confidence: self.confidence,
                        nms: self.nms,
                        gate: (!self.no_gate).then(GateConfig::default),
                        ..DnnConfig::default()
                    },
                }
            }
        };
        Ok(PipelineConfig {
            detector,
            width: self.width,
            ..PipelineConfig::default()
        })
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Count {
            scene,
            detector,
            json,
        } => count(scene, detector, json),
        Command::Calibrate { scene, out, frame } => {
            let (w, h) = calibrate(&scene.input, &scene.lines, &scene.zones, frame, &out)?;
            eprintln!(
                "wrote {} ({w}x{h}): {} line(s) with arrows pointing `in`, {} zone(s)",
                out.display(),
                scene.lines.len(),
                scene.zones.len()
            );
            Ok(())
        }
        Command::Evaluate {
            video,
            gt,
            lines,
            zones,
            data,
            model,
            json,
        } => {
            let model = model.unwrap_or_else(|| data.join("models/yolox_nano.onnx"));
            let cases = match video {
                Some(video) => {
                    if lines.is_empty() && zones.is_empty() {
                        bail!("--video needs at least one --line or --zone to evaluate");
                    }
                    let name = video.display().to_string();
                    vec![(name, video, gt.expect("clap requires --gt"), lines, zones)]
                }
                None => analytics::edge::evaluation::tud_sequences(&data)?,
            };
            evaluate_all(cases, &model, json)
        }
    }
}

fn count(scene: SceneArgs, detector: DetectorArgs, json: bool) -> Result<()> {
    if scene.lines.is_empty() && scene.zones.is_empty() {
        bail!("give at least one --line NAME:x1,y1,x2,y2 or --zone NAME:x1,y1,x2,y2,x3,y3,...");
    }
    let config = detector.config()?;
    let started = Instant::now();
    let mut pipeline = Pipeline::open(&scene.input, &scene.lines, &scene.zones, &config)?;
    let progress = !json;
    let mut last_report = Instant::now();
    while pipeline.step()?.is_some() {
        if progress && last_report.elapsed() > Duration::from_secs(2) {
            last_report = Instant::now();
            let frames = pipeline.counting().frames();
            let line = format!(
                "{frames} frames, {:.0} frames/s",
                frames as f64 / started.elapsed().as_secs_f64()
            );
            if std::io::stderr().is_terminal() {
                eprint!("\r{line}   ");
            } else {
                eprintln!("{line}");
            }
        }
    }
    let summary = pipeline.summary(started.elapsed());
    if json {
        println!("{}", serde_json::to_string(&summary)?);
        return Ok(());
    }
    if progress && std::io::stderr().is_terminal() {
        eprintln!();
    }
    let (nw, nh) = pipeline.native_size();
    let (fw, fh) = pipeline.frame_size();
    println!(
        "{} frames ({:.1} s of video) in {:.1} s: {:.1} frames/s; input {nw}x{nh}, analysed at {fw}x{fh}",
        summary.frames,
        summary.seconds,
        started.elapsed().as_secs_f64(),
        summary.fps
    );
    if let Some((runs, frames)) = pipeline.detector().dnn_runs() {
        let shape = match pipeline.detector() {
            analytics::edge::Detector::Dnn(d) => d.input_shape(),
            analytics::edge::Detector::Motion(_) => None,
        };
        let shape = shape
            .map(|(w, h)| format!(" at {w}x{h}"))
            .unwrap_or_default();
        println!("network ran on {runs} of {frames} frames{shape}");
    }
    for (name, c) in &summary.lines {
        println!("line {name}: {} in, {} out", c.inbound, c.outbound);
    }
    for (name, z) in pipeline.counting().zones() {
        let c = z.counts();
        println!(
            "zone {name}: max {} people, mean {:.2}, {} entries, {} exits",
            c.max_occupancy, c.mean_occupancy, c.entries, c.exits
        );
    }
    Ok(())
}

type Case = (String, PathBuf, PathBuf, Vec<NamedLine>, Vec<NamedZone>);

fn evaluate_all(cases: Vec<Case>, model: &std::path::Path, json: bool) -> Result<()> {
    let detectors: Vec<(&str, PipelineConfig)> = vec![
        (
            "motion",
            PipelineConfig {
                detector: DetectorConfig::Motion(MotionConfig::default()),
                ..PipelineConfig::default()
            },
        ),
        (
            "dnn",
            PipelineConfig {
                detector: DetectorConfig::Dnn {
                    model: model.to_owned(),
                    config: DnnConfig {
                        gate: Some(GateConfig::default()),
                        ..DnnConfig::default()
                    },
                },
                ..PipelineConfig::default()
            },
        ),
    ];
    let mut results = Vec::new();
    for (name, video, gt, lines, zones) in &cases {
        let text =
            std::fs::read_to_string(gt).with_context(|| format!("reading {}", gt.display()))?;
        let truth =
            GroundTruth::parse(&text).with_context(|| format!("parsing {}", gt.display()))?;
        for (detector, config) in &detectors {
            let figures = evaluate(video, &truth, lines, zones, config)
                .with_context(|| format!("evaluating {detector} on {name}"))?;
            if !json {
                print_figures(name, detector, &figures);
            }
            results.push(
                serde_json::json!({"sequence": name, "detector": detector, "figures": figures}),
            );
        }
    }
    if json {
        println!("{}", serde_json::Value::Array(results));
    }
    Ok(())
}

fn print_figures(sequence: &str, detector: &str, f: &Figures) {
    println!(
        "{sequence} / {detector}: line error {}/{} = {:.1} %{}",
        f.line_error,
        f.line_total,
        100.0 * f.line_error_rate(),
        f.dnn_runs
            .map(|r| format!(" (network ran on {r} of {} frames)", f.frames))
            .unwrap_or_default()
    );
    for (name, pair) in &f.lines {
        println!(
            "  line {name}: counted {} in / {} out, true {} in / {} out",
            pair.counted.inbound, pair.counted.outbound, pair.truth.inbound, pair.truth.outbound
        );
    }
    for (name, mae) in &f.occupancy_mae {
        println!(
            "  zone {name}: occupancy MAE {mae:.2} (true mean {:.2})",
            f.true_mean_occupancy[name]
        );
    }
}

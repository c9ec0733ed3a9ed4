//! Evaluation against MOTChallenge ground truth: run the real pipeline on a video, derive
//! the true crossings and occupancy from its `gt.txt` (see [`crate::mot`]), and compare.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::counting::{NamedLine, NamedZone};
use crate::line_counter::LineCounts;
use crate::mot::{GroundTruth, line_count_error, mean_absolute_error};

use super::pipeline::{Pipeline, PipelineConfig, PipelineError};
use super::source::Input;

/// How one detector did on one sequence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub frames: u64,
    /// Counted and true crossings per line.
    pub lines: BTreeMap<String, LinePair>,
    /// Sum over lines and directions of |counted - true|.
    pub line_error: u64,
    /// True crossings over all lines and directions.
    pub line_total: u64,
    /// Mean absolute occupancy error per zone, in people, over all frames.
    pub occupancy_mae: BTreeMap<String, f64>,
    /// Mean true occupancy per zone, for scale.
    pub true_mean_occupancy: BTreeMap<String, f64>,
    /// For a DNN: frames on which the network ran.
    pub dnn_runs: Option<u64>,
    pub wall_seconds: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LinePair {
    pub counted: LineCounts,
    #[serde(rename = "true")]
    pub truth: LineCounts,
}

impl Figures {
    /// Line-count error as a fraction of the true crossings (0 when there are none).
    pub fn line_error_rate(&self) -> f64 {
        if self.line_total == 0 {
            self.line_error as f64
        } else {
            self.line_error as f64 / self.line_total as f64
        }
    }
}

/// Runs the pipeline over `video` and compares with `ground_truth`.
pub fn evaluate(
    video: &Path,
    ground_truth: &GroundTruth,
    lines: &[NamedLine],
    zones: &[NamedZone],
    config: &PipelineConfig,
) -> Result<Figures, PipelineError> {
    let started = Instant::now();
    let mut pipeline = Pipeline::open(&Input::File(video.to_owned()), lines, zones, config)?;
    let mut occupancy: Vec<Vec<u32>> = vec![Vec::new(); zones.len()];
    while let Some(report) = pipeline.step()? {
        for (z, o) in report.counts.occupancy.iter().enumerate() {
            occupancy[z].push(*o);
        }
    }
    let frames = pipeline.counting().frames();
    let truth = ground_truth.truth(lines, zones, 25.0, frames as usize);
    let counted = pipeline.counting().line_counts();
    let (line_error, line_total) = line_count_error(&counted, &truth.lines);
    let lines_out = truth
        .lines
        .iter()
        .map(|(name, t)| {
            (
                name.clone(),
                LinePair {
                    counted: counted.get(name).copied().unwrap_or_default(),
                    truth: *t,
                },
            )
        })
        .collect();
    let mut occupancy_mae = BTreeMap::new();
    let mut true_mean = BTreeMap::new();
    for (zone, measured) in zones.iter().zip(&occupancy) {
        let t = &truth.occupancy[&zone.name];
        occupancy_mae.insert(zone.name.clone(), mean_absolute_error(measured, t));
        let sum: u64 = t.iter().map(|&o| u64::from(o)).sum();
        true_mean.insert(zone.name.clone(), sum as f64 / t.len().max(1) as f64);
    }
    Ok(Figures {
        frames,
        lines: lines_out,
        line_error,
        line_total,
        occupancy_mae,
        true_mean_occupancy: true_mean,
        dnn_runs: pipeline.detector().dnn_runs().map(|(runs, _)| runs),
        wall_seconds: started.elapsed().as_secs_f64(),
    })
}

/// One evaluation case: name, video, gt.txt, lines, zones.
pub type Sequence = (
    String,
    std::path::PathBuf,
    std::path::PathBuf,
    Vec<NamedLine>,
    Vec<NamedZone>,
);

/// The TUD sequences in `data/video` with their documented lines and zones (pixels of the
/// 640x480 frames); [`TUD_SETUPS`] says how they were placed.
pub fn tud_sequences(data: &Path) -> Result<Vec<Sequence>, crate::counting::SpecError> {
    let mut out = Vec::new();
    for (name, lines, zones) in TUD_SETUPS {
        let video = data.join("video").join(format!("{name}.mp4"));
        let gt = data.join("video").join(format!("{name}.gt.txt"));
        let lines = lines.iter().map(|l| l.parse()).collect::<Result<_, _>>()?;
        let zones = zones.iter().map(|z| z.parse()).collect::<Result<_, _>>()?;
        out.push((name.to_string(), video, gt, lines, zones));
    }
    Ok(out)
}

/// `(sequence, lines, zones)` for the TUD sequences. People walk mostly across the
/// 640x480 frame, so the lines are vertical, spanning the band where their feet are. Rule
/// used to place them (from the ground truth alone, before running any detector): three
/// lines spread over the central part of the frame (x from 100 to 540, where people are
/// fully visible, as an installer would place them), each at least 20 px from where any
/// ground-truth track starts or ends (someone first seen on a line has no "from" side).
/// The zones are the middle of the walkway.
pub const TUD_SETUPS: [(&str, &[&str], &[&str]); 2] = [
    (
        "TUD-Campus",
        &[
            "west:140,300,140,479",
            "middle:280,300,280,479",
            "east:420,300,420,479",
        ],
        &["centre:150,320,450,320,450,479,150,479"],
    ),
    (
        "TUD-Stadtmitte",
        &[
            "west:150,200,150,400",
            "middle:310,200,310,400",
            "east:420,200,420,400",
        ],
        &["street:100,220,540,220,540,340,100,340"],
    ),
];

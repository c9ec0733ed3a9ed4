//! Source -> detector -> tracker -> line and zone counters: per-frame counts from a camera.
//!
//! Lines and zones are given in pixels of the input's native frame (what an installer sees
//! in `calibrate`); the detector works on the smaller analysis frame and its boxes are
//! scaled back before tracking, so counts do not depend on the analysis size.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::counting::{
    Counting, CountingConfig, FrameCounts, NamedLine, NamedZone, SpecError, ZoneSummary,
    check_inside_frame,
};
use crate::line_counter::LineCounts;
use crate::tracker::Detection;

use super::dnn::{DnnConfig, DnnDetector, ModelError};
use super::motion::{MotionConfig, MotionDetector};
use super::source::{FrameSource, Input, PixelFormat, SourceError, SourceOptions};

/// Which detector to run.
#[derive(Debug, Clone, PartialEq)]
pub enum DetectorConfig {
    Motion(MotionConfig),
    Dnn { model: PathBuf, config: DnnConfig },
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self::Motion(MotionConfig::default())
    }
}

/// A person detector working on analysis frames.
#[derive(Debug)]
pub enum Detector {
    Motion(Box<MotionDetector>),
    Dnn(Box<DnnDetector>),
}

impl Detector {
    pub fn new(config: &DetectorConfig) -> Result<Self, PipelineError> {
        Ok(match config {
            DetectorConfig::Motion(c) => Self::Motion(Box::new(
                MotionDetector::new(c.clone()).map_err(|e| PipelineError::Detector(e.message))?,
            )),
            DetectorConfig::Dnn { model, config } => {
                Self::Dnn(Box::new(DnnDetector::new(model, config.clone())?))
            }
        })
    }

    pub fn format(&self) -> PixelFormat {
        match self {
            Self::Motion(_) => MotionDetector::format(),
            Self::Dnn(_) => DnnDetector::format(),
        }
    }

    /// Analysis width that suits the detector: small for background subtraction, the
    /// network's input size for a DNN (a larger frame would only be scaled down again).
    pub fn default_width(&self) -> u32 {
        match self {
            Self::Motion(_) => 320,
            Self::Dnn(d) => d.config().input_size as u32,
        }
    }

    pub fn detect(
        &mut self,
        frame: &super::source::Frame,
    ) -> Result<Vec<Detection>, PipelineError> {
        match self {
            Self::Motion(d) => d
                .detect(frame)
                .map_err(|e| PipelineError::Detector(e.message)),
            Self::Dnn(d) => d.detect(frame).map_err(PipelineError::Detector),
        }
    }

    /// `(frames on which the network ran, frames seen)` for a DNN detector.
    pub fn dnn_runs(&self) -> Option<(u64, u64)> {
        match self {
            Self::Dnn(d) => Some((d.runs, d.frames)),
            Self::Motion(_) => None,
        }
    }
}

/// Everything the pipeline needs besides the input.
#[derive(Debug, Clone, Default)]
pub struct PipelineConfig {
    pub detector: DetectorConfig,
    /// Analysis width; `None` picks the detector's default.
    pub width: Option<u32>,
    pub counting: CountingConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("detector failed: {0}")]
    Detector(String),
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("{0}")]
    OutsideFrame(String),
}

/// One processed frame.
#[derive(Debug, Clone)]
pub struct FrameReport {
    pub index: u64,
    pub t: f64,
    /// Detections in native pixel coordinates.
    pub detections: Vec<Detection>,
    pub counts: FrameCounts,
}

/// The `count --json` object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CountSummary {
    pub frames: u64,
    /// Duration of the analysed stream in seconds (stream time, not wall-clock).
    pub seconds: f64,
    /// Frames processed per wall-clock second.
    pub fps: f64,
    pub lines: BTreeMap<String, LineCounts>,
    pub zones: BTreeMap<String, ZoneSummary>,
}

/// A running counting pipeline.
#[derive(Debug)]
pub struct Pipeline {
    source: FrameSource,
    detector: Detector,
    counting: Counting,
    scale: (f32, f32),
    first_t: Option<f64>,
    last_t: f64,
    frame_period: f64,
}

impl Pipeline {
    /// Opens the input and checks the lines and zones against its frame size.
    pub fn open(
        input: &Input,
        lines: &[NamedLine],
        zones: &[NamedZone],
        config: &PipelineConfig,
    ) -> Result<Self, PipelineError> {
        let counting = Counting::new(lines, zones, &config.counting)?;
        let detector = Detector::new(&config.detector)?;
        let options = SourceOptions {
            format: detector.format(),
            width: Some(config.width.unwrap_or_else(|| detector.default_width())),
        };
        let source = FrameSource::open(input, options)?;
        let (nw, nh) = source.native_size();
        let (fw, fh) = source.frame_size();
        check_inside_frame(lines, zones, nw as f32, nh as f32)
            .map_err(PipelineError::OutsideFrame)?;
        Ok(Self {
            source,
            detector,
            counting,
            scale: (nw as f32 / fw as f32, nh as f32 / fh as f32),
            first_t: None,
            last_t: 0.0,
            frame_period: 0.0,
        })
    }

    pub fn native_size(&self) -> (u32, u32) {
        self.source.native_size()
    }

    pub fn frame_size(&self) -> (u32, u32) {
        self.source.frame_size()
    }

    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    /// Processes the next frame; `None` at the end of the stream.
    pub fn step(&mut self) -> Result<Option<FrameReport>, PipelineError> {
        let Some(frame) = self.source.next_frame()? else {
            return Ok(None);
        };
        let (sx, sy) = self.scale;
        let detections: Vec<Detection> = self
            .detector
            .detect(&frame)?
            .into_iter()
            .map(|mut d| {
                d.bbox.x *= sx;
                d.bbox.w *= sx;
                d.bbox.y *= sy;
                d.bbox.h *= sy;
                d
            })
            .collect();
        let first = *self.first_t.get_or_insert(frame.t);
        if frame.index > 0 {
            self.frame_period = (frame.t - first) / frame.index as f64;
        }
        self.last_t = frame.t;
        let counts = self.counting.update(frame.t - first, &detections);
        Ok(Some(FrameReport {
            index: frame.index,
            t: frame.t - first,
            detections,
            counts,
        }))
    }

    pub fn counting(&self) -> &Counting {
        &self.counting
    }

    /// For callers that take completed visits as they go (see
    /// [`Counting::take_completed_visits`]).
    pub fn counting_mut(&mut self) -> &mut Counting {
        &mut self.counting
    }

    /// The JSON summary so far, given the wall-clock time spent.
    pub fn summary(&self, wall: Duration) -> CountSummary {
        let frames = self.counting.frames();
        let seconds = match self.first_t {
            Some(first) if frames > 0 => self.last_t - first + self.frame_period,
            _ => 0.0,
        };
        let wall = wall.as_secs_f64();
        CountSummary {
            frames,
            seconds: (seconds * 1000.0).round() / 1000.0,
            fps: if wall > 0.0 {
                (frames as f64 / wall * 10.0).round() / 10.0
            } else {
                0.0
            },
            lines: self.counting.line_counts(),
            zones: self.counting.zone_summaries(),
        }
    }
}

//! The IO edge of people counting: GStreamer frame sources, OpenCV detectors, the
//! counting pipeline, calibration pictures and the evaluation against ground truth.
//!
//! Architecture invariant: frames exist only here, only in memory. The only file this
//! module writes is the installer's calibration PNG, and only when asked to. What leaves
//! it are boxes and numbers, handed to the pure core.

pub mod calibrate;
pub mod dnn;
pub mod evaluation;
pub mod motion;
pub mod pipeline;
pub mod source;
pub mod synthetic_camera;

pub use dnn::{DnnConfig, DnnDetector, GateConfig, ModelError};
pub use motion::{MotionConfig, MotionDetector};
pub use pipeline::{
    CountSummary, Detector, DetectorConfig, FrameReport, Pipeline, PipelineConfig, PipelineError,
};
pub use source::{Frame, FrameSource, Input, PixelFormat, SourceError, SourceOptions};
pub use synthetic_camera::SyntheticCamera;

//! The DNN detector: an ONNX model run through OpenCV DNN, with YOLOX output decoding,
//! optionally gated by motion so that the network runs only when something moves.
//!
//! YOLOX input: 1x3xHxW BGR, unnormalised 0-255, the frame scaled to fit and placed at the
//! top-left of a canvas of value 114. The canvas is SxS as exported, or, when the model
//! accepts it, shrunk to the frame's aspect (416x256 for a 16:9 frame): the network then
//! spends no time on padding, which halves its cost with the same pixels of the frame.
//! Output: 1xNx(5+classes) rows of `(cx, cy, w, h, objectness, class scores...)` on grids
//! of strides 8, 16 and 32, before grid decoding: `cx = (row[0] + gx) * stride`,
//! `w = exp(row[2]) * stride`.

use std::path::{Path, PathBuf};

use opencv::core::{self, Mat, Rect, Scalar, Size, Vector};
use opencv::prelude::*;
use opencv::{dnn, imgproc};

use crate::geometry::BBox;
use crate::tracker::Detection;

use super::motion::{MotionConfig, MotionDetector};
use super::source::{Frame, PixelFormat};

/// DNN detector tuning.
#[derive(Debug, Clone, PartialEq)]
pub struct DnnConfig {
    /// Side of the square network input in pixels, a multiple of 32 (the longer side when
    /// `fit_aspect` applies).
    pub input_size: i32,
    /// Shrink the shorter side of the network input to the frame's aspect (rounded up to a
    /// multiple of 32) when the model accepts that shape; square otherwise.
    pub fit_aspect: bool,
    /// Person scores (objectness x class score) below this are dropped.
    pub confidence: f32,
    /// Non-maximum suppression IoU threshold.
    pub nms: f32,
    /// Class index of "person" in the model (0 in COCO).
    pub person_class: usize,
    /// Run the network only on frames with motion (reusing the last boxes otherwise).
    pub gate: Option<GateConfig>,
}

/// Motion gating: when nothing moves, people stay where the network last saw them.
#[derive(Debug, Clone, PartialEq)]
pub struct GateConfig {
    pub motion: MotionConfig,
    /// Fraction of moving pixels above which the network runs even without a blob.
    pub min_motion: f32,
    /// Run the network at least every this many frames, to catch people who arrived
    /// too slowly for the motion detector.
    pub refresh_every: u32,
    /// Background subtraction runs on the frame scaled down to at most this width: moving
    /// people need few pixels, and it is the gate's main cost.
    pub max_width: i32,
}

impl Default for GateConfig {
    fn default() -> Self {
        Self {
            motion: MotionConfig::default(),
            min_motion: 0.002,
            refresh_every: 50,
            max_width: 320,
        }
    }
}

impl Default for DnnConfig {
    fn default() -> Self {
        Self {
            input_size: 416,
            fit_aspect: true,
            confidence: 0.1,
            nms: 0.45,
            person_class: 0,
            gate: None,
        }
    }
}

/// A model that cannot be used, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read the model file {path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error(
        "{path} is not an ONNX model OpenCV can load ({reason}); give a YOLOX model exported to ONNX"
    )]
    NotOnnx { path: PathBuf, reason: String },
    #[error("{path} does not produce YOLOX output: {reason}")]
    NotYolox { path: PathBuf, reason: String },
    #[error("`input_size` must be a positive multiple of 32, got {0}")]
    InputSize(i32),
}

/// An ONNX YOLOX person detector.
pub struct DnnDetector {
    config: DnnConfig,
    net: dnn::Net,
    /// Network input `(width, height)`, chosen on the first frame.
    input: Option<(i32, i32)>,
    canvas: Mat,
    resized: Mat,
    blob: Mat,
    gray: Mat,
    small: Mat,
    gate: Option<MotionDetector>,
    last: Vec<Detection>,
    since_run: u32,
    /// Frames on which the network ran.
    pub runs: u64,
    /// Frames seen.
    pub frames: u64,
}

impl std::fmt::Debug for DnnDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnnDetector")
            .field("config", &self.config)
            .field("runs", &self.runs)
            .finish_non_exhaustive()
    }
}

impl DnnDetector {
    /// Loads the model and checks, with one blank frame, that its output is YOLOX's.
    pub fn new(model: &Path, config: DnnConfig) -> Result<Self, ModelError> {
        if config.input_size <= 0 || config.input_size % 32 != 0 {
            return Err(ModelError::InputSize(config.input_size));
        }
        std::fs::File::open(model).map_err(|e| ModelError::Unreadable {
            path: model.to_owned(),
            reason: e.to_string(),
        })?;
        let not_onnx = |e: opencv::Error| ModelError::NotOnnx {
            path: model.to_owned(),
            reason: e.message,
        };
        let mut net = dnn::read_net_from_onnx(model).map_err(not_onnx)?;
        if net.empty().unwrap_or(true) {
            return Err(ModelError::NotOnnx {
                path: model.to_owned(),
                reason: "it holds no layers".into(),
            });
        }
        net.set_preferable_backend(dnn::DNN_BACKEND_OPENCV)
            .and_then(|_| net.set_preferable_target(dnn::DNN_TARGET_CPU))
            .map_err(not_onnx)?;
        let size = config.input_size;
        let gate = match &config.gate {
            Some(g) => Some(MotionDetector::new(g.motion.clone()).map_err(not_onnx)?),
            None => None,
        };
        let mut detector = Self {
            config,
            net,
            input: Some((size, size)),
            canvas: Mat::default(),
            resized: Mat::default(),
            blob: Mat::default(),
            gray: Mat::default(),
            small: Mat::default(),
            gate,
            last: Vec::new(),
            since_run: 0,
            runs: 0,
            frames: 0,
        };
        let blank = Mat::new_rows_cols_with_default(size, size, core::CV_8UC3, Scalar::all(114.0))
            .map_err(not_onnx)?;
        detector
            .infer(&blank)
            .map_err(|reason| ModelError::NotYolox {
                path: model.to_owned(),
                reason,
            })?;
        detector.runs = 0;
        detector.input = None;
        Ok(detector)
    }

    pub fn format() -> PixelFormat {
        PixelFormat::Bgr
    }

    pub fn config(&self) -> &DnnConfig {
        &self.config
    }

    /// Network input `(width, height)` in use; `None` before the first frame.
    pub fn input_shape(&self) -> Option<(i32, i32)> {
        self.input
    }

    /// Person boxes in the frame's pixel coordinates.
    pub fn detect(&mut self, frame: &Frame) -> Result<Vec<Detection>, String> {
        let mat = frame.mat().map_err(|e| e.message)?;
        self.detect_mat(&mat)
    }

    /// Person boxes in a BGR `Mat` (`CV_8UC3`).
    pub fn detect_mat(
        &mut self,
        bgr: &(impl MatTraitConst + core::ToInputArray),
    ) -> Result<Vec<Detection>, String> {
        self.frames += 1;
        if let (Some(gate), Some(config)) = (self.gate.as_mut(), self.config.gate.as_ref()) {
            imgproc::cvt_color_def(bgr, &mut self.gray, imgproc::COLOR_BGR2GRAY)
                .map_err(|e| e.message)?;
            let (w, h) = (self.gray.cols(), self.gray.rows());
            let blobs = if w > config.max_width && config.max_width > 0 {
                let sh = ((h as f32 * config.max_width as f32 / w as f32).round() as i32).max(1);
                imgproc::resize(
                    &self.gray,
                    &mut self.small,
                    Size::new(config.max_width, sh),
                    0.0,
                    0.0,
                    imgproc::INTER_AREA,
                )
                .map_err(|e| e.message)?;
                gate.detect_mat(&self.small)
            } else {
                gate.detect_mat(&self.gray)
            }
            .map_err(|e| e.message)?;
            let moving = !blobs.is_empty() || gate.last_motion >= config.min_motion;
            self.since_run += 1;
            if !moving && self.since_run < config.refresh_every && self.runs > 0 {
                return Ok(self.last.clone());
            }
        }
        self.since_run = 0;
        let detections = match self.input {
            Some(_) => self.infer(bgr)?,
            None => self.first_infer(bgr)?,
        };
        self.last.clone_from(&detections);
        Ok(detections)
    }

    /// Picks the input shape on the first frame: fitted to its aspect if the model runs
    /// with that shape and gives YOLOX output for it, else the exported square.
    fn first_infer(
        &mut self,
        bgr: &(impl MatTraitConst + core::ToInputArray),
    ) -> Result<Vec<Detection>, String> {
        let size = self.config.input_size;
        let (w, h) = (bgr.cols(), bgr.rows());
        if w <= 0 || h <= 0 {
            return Err("an empty frame".into());
        }
        let fitted = fitted_input(size, w, h);
        if self.config.fit_aspect && fitted != (size, size) {
            self.input = Some(fitted);
            if let Ok(detections) = self.infer(bgr) {
                return Ok(detections);
            }
        }
        self.input = Some((size, size));
        self.infer(bgr)
    }

    fn infer(
        &mut self,
        bgr: &(impl MatTraitConst + core::ToInputArray),
    ) -> Result<Vec<Detection>, String> {
        let cv = |e: opencv::Error| e.message;
        let size = self.config.input_size;
        let (in_w, in_h) = self.input.unwrap_or((size, size));
        let (w, h) = (bgr.cols(), bgr.rows());
        if w <= 0 || h <= 0 {
            return Err("an empty frame".into());
        }
        if (self.canvas.cols(), self.canvas.rows()) != (in_w, in_h) {
            self.canvas =
                Mat::new_rows_cols_with_default(in_h, in_w, core::CV_8UC3, Scalar::all(114.0))
                    .map_err(cv)?;
        }
        let r = (in_w as f32 / w as f32).min(in_h as f32 / h as f32);
        let (rw, rh) = (
            ((w as f32 * r).round() as i32).clamp(1, in_w),
            ((h as f32 * r).round() as i32).clamp(1, in_h),
        );
        {
            let mut roi = self.canvas.roi_mut(Rect::new(0, 0, rw, rh)).map_err(cv)?;
            if (rw, rh) == (w, h) {
                bgr.copy_to(&mut roi).map_err(cv)?;
            } else {
                imgproc::resize(
                    bgr,
                    &mut self.resized,
                    Size::new(rw, rh),
                    0.0,
                    0.0,
                    imgproc::INTER_LINEAR,
                )
                .map_err(cv)?;
                self.resized.copy_to(&mut roi).map_err(cv)?;
            }
        }
        dnn::blob_from_image_to(
            &self.canvas,
            &mut self.blob,
            1.0,
            Size::new(in_w, in_h),
            Scalar::default(),
            false,
            false,
            core::CV_32F,
        )
        .map_err(cv)?;
        self.net
            .set_input(&self.blob, "", 1.0, Scalar::default())
            .map_err(cv)?;
        let out = self.net.forward_single_def().map_err(cv)?;
        self.runs += 1;
        let data = out.data_typed::<f32>().map_err(cv)?;
        let cells: usize = [8, 16, 32]
            .iter()
            .map(|s| ((in_w / s) * (in_h / s)) as usize)
            .sum();
        if data.is_empty() || data.len() % cells != 0 {
            return Err(format!(
                "{} output values do not split into {cells} grid cells (strides 8, 16, 32 at {in_w}x{in_h})",
                data.len()
            ));
        }
        let row_len = data.len() / cells;
        if row_len < 6 + self.config.person_class {
            return Err(format!(
                "rows of {row_len} values cannot hold box, objectness and class {}",
                self.config.person_class
            ));
        }
        let mut boxes = Vector::<Rect>::new();
        let mut scores = Vector::<f32>::new();
        let mut candidates = Vec::new();
        let mut row_index = 0;
        for stride in [8, 16, 32] {
            let s = stride as f32;
            for gy in 0..in_h / stride {
                for gx in 0..in_w / stride {
                    let row = &data[row_index * row_len..(row_index + 1) * row_len];
                    row_index += 1;
                    let score = row[4] * row[5 + self.config.person_class];
                    if score < self.config.confidence {
                        continue;
                    }
                    let cx = (row[0] + gx as f32) * s / r;
                    let cy = (row[1] + gy as f32) * s / r;
                    let bw = row[2].exp() * s / r;
                    let bh = row[3].exp() * s / r;
                    let bbox = BBox::new(cx - bw / 2.0, cy - bh / 2.0, bw, bh);
                    boxes.push(Rect::new(
                        bbox.x.round() as i32,
                        bbox.y.round() as i32,
                        bw.round() as i32,
                        bh.round() as i32,
                    ));
                    scores.push(score);
                    candidates.push(Detection { bbox, score });
                }
            }
        }
        let mut keep = Vector::<i32>::new();
        dnn::nms_boxes(
            &boxes,
            &scores,
            self.config.confidence,
            self.config.nms,
            &mut keep,
            1.0,
            0,
        )
        .map_err(cv)?;
        Ok(keep
            .iter()
            .map(|i| {
                let mut d = candidates[i as usize];
                // Clip to the frame: the letterbox padding is not part of the image.
                let x1 = (d.bbox.x + d.bbox.w).min(w as f32);
                let y1 = (d.bbox.y + d.bbox.h).min(h as f32);
                d.bbox.x = d.bbox.x.max(0.0);
                d.bbox.y = d.bbox.y.max(0.0);
                d.bbox.w = x1 - d.bbox.x;
                d.bbox.h = y1 - d.bbox.y;
                d
            })
            .filter(|d| d.bbox.w > 1.0 && d.bbox.h > 1.0)
            .collect())
    }
}

/// The smallest input, in multiples of 32, that holds a `w`x`h` frame scaled so that its
/// longer side is `size`.
fn fitted_input(size: i32, w: i32, h: i32) -> (i32, i32) {
    let r = size as f32 / w.max(h) as f32;
    let fit = |side: i32| (((side as f32 * r).round() as i32 + 31) / 32 * 32).clamp(32, size);
    (fit(w), fit(h))
}

#[cfg(test)]
mod tests {
    use super::fitted_input;

    #[test]
    fn fitted_input_keeps_the_longer_side_and_rounds_the_shorter_up_to_32() {
        assert_eq!(fitted_input(416, 416, 234), (416, 256));
        assert_eq!(fitted_input(416, 640, 480), (416, 320));
        assert_eq!(fitted_input(416, 234, 416), (256, 416));
        assert_eq!(fitted_input(416, 500, 500), (416, 416));
        assert_eq!(fitted_input(416, 1000, 10), (416, 32));
    }
}

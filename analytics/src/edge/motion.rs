//! The motion detector, needing no model: MOG2 background subtraction on gray frames,
//! morphology, connected blobs filtered by size and shape, and wide blobs split into
//! person-sized boxes.
//!
//! Gradual lighting change (daylight, a camera's auto exposure) would otherwise turn the
//! whole floor into "motion": every frame's brightness is first scaled to the reference
//! level of the first frame, and MOG2 keeps adapting at `learning_rate`, while a person
//! changes the frame's mean by far less than a light drift does.

use opencv::core::{self, Mat, Point as CvPoint, Size};
use opencv::prelude::*;
use opencv::{imgproc, video};

use crate::geometry::BBox;
use crate::tracker::Detection;

use super::source::{Frame, PixelFormat};

/// Motion detector tuning; sizes are fractions of the analysis frame so that one setting
/// serves any resolution.
#[derive(Debug, Clone, PartialEq)]
pub struct MotionConfig {
    /// MOG2 history in frames (used when `learning_rate` is negative).
    pub history: i32,
    /// MOG2 squared Mahalanobis distance threshold: higher is less sensitive.
    pub var_threshold: f64,
    /// How fast the background adapts, per frame, in `(0, 1]`.
    pub learning_rate: f64,
    /// Scale each frame's brightness to the first frame's before subtraction.
    pub normalize_brightness: bool,
    /// Blobs shorter than this fraction of the frame height are ignored.
    pub min_height: f32,
    /// Blobs with less foreground than this fraction of their box are ignored.
    pub min_fill: f32,
    /// Expected width / height of one person's box.
    pub person_aspect: f32,
    /// A blob wider than this many person widths is split.
    pub split_above: f32,
    /// Morphological closing kernel, as a fraction of the frame height (joins limbs).
    pub close_size: f32,
    /// Score given to every blob (the tracker's thresholds apply to it).
    pub score: f32,
}

impl Default for MotionConfig {
    fn default() -> Self {
        Self {
            history: 300,
            var_threshold: 25.0,
            learning_rate: 0.01,
            normalize_brightness: true,
            min_height: 0.12,
            min_fill: 0.25,
            person_aspect: 0.42,
            split_above: 1.6,
            close_size: 0.03,
            score: 0.9,
        }
    }
}

/// Background subtraction state for one camera.
pub struct MotionDetector {
    config: MotionConfig,
    mog2: core::Ptr<video::BackgroundSubtractorMOG2>,
    reference_mean: Option<f64>,
    normalized: Mat,
    foreground: Mat,
    cleaned: Mat,
    scratch: Mat,
    open_kernel: Mat,
    close_kernel: Option<(i32, Mat)>,
    labels: Mat,
    stats: Mat,
    centroids: Mat,
    /// Fraction of the last frame's pixels that were foreground after cleaning.
    pub last_motion: f32,
}

impl std::fmt::Debug for MotionDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MotionDetector")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl MotionDetector {
    pub fn new(config: MotionConfig) -> opencv::Result<Self> {
        let mog2 =
            video::create_background_subtractor_mog2(config.history, config.var_threshold, false)?;
        let open_kernel = imgproc::get_structuring_element(
            imgproc::MORPH_RECT,
            Size::new(3, 3),
            CvPoint::new(-1, -1),
        )?;
        Ok(Self {
            config,
            mog2,
            reference_mean: None,
            normalized: Mat::default(),
            foreground: Mat::default(),
            cleaned: Mat::default(),
            scratch: Mat::default(),
            open_kernel,
            close_kernel: None,
            labels: Mat::default(),
            stats: Mat::default(),
            centroids: Mat::default(),
            last_motion: 0.0,
        })
    }

    /// The frame format this detector needs.
    pub fn format() -> PixelFormat {
        PixelFormat::Gray
    }

    /// Person boxes in the frame's pixel coordinates.
    pub fn detect(&mut self, frame: &Frame) -> opencv::Result<Vec<Detection>> {
        let mat = frame.mat()?;
        self.detect_mat(&mat)
    }

    /// Person boxes in a gray `Mat` (`CV_8UC1`).
    pub fn detect_mat(
        &mut self,
        gray: &(impl MatTraitConst + core::ToInputArray),
    ) -> opencv::Result<Vec<Detection>> {
        let (width, height) = (gray.cols(), gray.rows());
        let rate = self.config.learning_rate;
        if self.config.normalize_brightness {
            let mean = core::mean(gray, &core::no_array())?[0].max(1.0);
            let reference = *self.reference_mean.get_or_insert(mean);
            gray.convert_to(&mut self.normalized, -1, reference / mean, 0.0)?;
            BackgroundSubtractorTrait::apply(
                &mut self.mog2,
                &self.normalized,
                &mut self.foreground,
                rate,
            )?;
        } else {
            BackgroundSubtractorTrait::apply(&mut self.mog2, gray, &mut self.foreground, rate)?;
        }

        imgproc::morphology_ex(
            &self.foreground,
            &mut self.scratch,
            imgproc::MORPH_OPEN,
            &self.open_kernel,
            CvPoint::new(-1, -1),
            1,
            core::BORDER_CONSTANT,
            imgproc::morphology_default_border_value()?,
        )?;
        let close = ((self.config.close_size * height as f32).round() as i32).max(3) | 1;
        if self.close_kernel.as_ref().map(|(s, _)| *s) != Some(close) {
            let kernel = imgproc::get_structuring_element(
                imgproc::MORPH_ELLIPSE,
                Size::new(close, close * 2 + 1),
                CvPoint::new(-1, -1),
            )?;
            self.close_kernel = Some((close, kernel));
        }
        let (_, close_kernel) = self.close_kernel.as_ref().expect("set above");
        imgproc::morphology_ex(
            &self.scratch,
            &mut self.cleaned,
            imgproc::MORPH_CLOSE,
            close_kernel,
            CvPoint::new(-1, -1),
            1,
            core::BORDER_CONSTANT,
            imgproc::morphology_default_border_value()?,
        )?;
        let moving = core::count_non_zero(&self.cleaned)?;
        self.last_motion = moving as f32 / (width * height).max(1) as f32;
        if moving == 0 {
            return Ok(Vec::new());
        }

        let n = imgproc::connected_components_with_stats(
            &self.cleaned,
            &mut self.labels,
            &mut self.stats,
            &mut self.centroids,
            8,
            core::CV_32S,
        )?;
        let min_height = self.config.min_height * height as f32;
        let mut detections = Vec::new();
        for label in 1..n {
            let stat = |k: i32| self.stats.at_2d::<i32>(label, k).copied();
            let (x, y, w, h, area) = (
                stat(imgproc::CC_STAT_LEFT)? as f32,
                stat(imgproc::CC_STAT_TOP)? as f32,
                stat(imgproc::CC_STAT_WIDTH)? as f32,
                stat(imgproc::CC_STAT_HEIGHT)? as f32,
                stat(imgproc::CC_STAT_AREA)? as f32,
            );
            if h < min_height || area < self.config.min_fill * w * h {
                continue;
            }
            let person_width = h * self.config.person_aspect;
            // Too narrow for a standing person: a limb, a pole's shadow.
            if w < person_width * 0.3 {
                continue;
            }
            let parts = if w > person_width * self.config.split_above {
                (w / person_width).round().max(2.0) as usize
            } else {
                1
            };
            let part_width = w / parts as f32;
            for i in 0..parts {
                detections.push(Detection {
                    bbox: BBox::new(x + i as f32 * part_width, y, part_width, h),
                    score: self.config.score,
                });
            }
        }
        Ok(detections)
    }

    /// The cleaned foreground mask of the last frame (255 = moving).
    pub fn moving_mask(&self) -> &Mat {
        &self.cleaned
    }
}

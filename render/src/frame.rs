//! What the watchdog and the tests learn from each composed frame, cheaply: a sparse grid of
//! luma samples gives the mean and the maximum brightness and a fingerprint of the picture.

use std::time::Duration;

/// One composed frame, as seen at the compositor's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameInfo {
    /// Running time of the frame in the pipeline.
    pub running_time: Duration,
    /// Mean luma (Y, 0-255, video range: black is about 16) of the sampled pixels.
    pub mean_luma: u8,
    /// Brightest sampled luma.
    pub max_luma: u8,
    /// FNV-1a of the sampled luma: equal hashes mean a frozen picture.
    pub hash: u64,
}

impl FrameInfo {
    /// Nothing brighter than near-black anywhere in the frame.
    pub fn is_black(&self) -> bool {
        self.max_luma < BLACK_MAX_LUMA
    }
}

/// Video-range black is 16; anything drawn (text, a dark-grey slide) lifts some sample above 32.
const BLACK_MAX_LUMA: u8 = 32;

/// Distance in pixels between samples in both directions.
const STEP: usize = 8;

/// Luma statistics of a plane of `width` x `height` bytes, rows `stride` bytes apart.
pub(crate) fn analyse_luma(
    plane: &[u8],
    width: usize,
    height: usize,
    stride: usize,
) -> (u8, u8, u64) {
    let mut sum: u64 = 0;
    let mut count: u64 = 0;
    let mut max = 0u8;
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for y in (STEP / 2..height).step_by(STEP) {
        let Some(row) = plane.get(y * stride..y * stride + width) else {
            break;
        };
        for &v in row.iter().skip(STEP / 2).step_by(STEP) {
            sum += u64::from(v);
            count += 1;
            max = max.max(v);
            hash = (hash ^ u64::from(v)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    let mean = sum.checked_div(count).unwrap_or(0) as u8;
    (mean, max, hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn black_grey_and_moving_planes() {
        let (w, h, stride) = (64, 32, 80);
        let black = vec![16u8; stride * h];
        let (mean, max, black_hash) = analyse_luma(&black, w, h, stride);
        assert_eq!((mean, max), (16, 16));
        let info = FrameInfo {
            running_time: Duration::ZERO,
            mean_luma: mean,
            max_luma: max,
            hash: black_hash,
        };
        assert!(info.is_black());

        let mut text = black.clone();
        text[20 * stride + 20] = 235; // one sampled glyph pixel
        let (_, max, hash) = analyse_luma(&text, w, h, stride);
        assert_eq!(max, 235);
        assert_ne!(hash, black_hash);

        // Bytes past the width (stride padding) are never sampled.
        let mut padded = black.clone();
        padded[4 * stride + 70] = 200;
        assert_eq!(analyse_luma(&padded, w, h, stride).2, black_hash);
    }
}

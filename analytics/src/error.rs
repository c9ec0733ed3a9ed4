//! The one error type of the pure core: configuration that cannot describe a real scene.

use thiserror::Error;

/// A line, zone or tuning value that the counters cannot work with.
///
/// Messages say what to change; the caller prefixes the name of the line, zone or
/// configuration section so the user can find the offending entry.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ConfigError {
    #[error("coordinates must be finite numbers, got ({x}, {y})")]
    NonFinitePoint { x: f32, y: f32 },
    #[error("both ends of the line are at ({x}, {y}); give two distinct points A and B")]
    DegenerateSegment { x: f32, y: f32 },
    #[error("a zone needs at least 3 corners, got {0}; list the polygon's corners in order")]
    TooFewVertices(usize),
    #[error(
        "the zone's corners are collinear, so it encloses no area; give corners around an area"
    )]
    ZeroAreaPolygon,
    #[error("`{key}` {requirement}")]
    InvalidSetting {
        key: &'static str,
        requirement: &'static str,
    },
}

//! People counting on the player: tracking, line and zone counters, flow per minute, and a
//! synthetic scene generator for exact tests.
//!
//! Architecture invariant: the core (every module but [`edge`]) is pure. No IO, no OpenCV, no GStreamer, no threads,
//! no clocks: callers pass detections and timestamps in, and read numbers out. Camera
//! frames never reach it, which is part of why no image can leak from here.
//!
//! Pipeline per analysed frame:
//! detections -> [`Tracker::update`] -> confirmed [`Track`]s -> [`LineCounter::update`] and
//! [`ZoneCounter::update`]; crossings -> [`MinuteFlow::record`].
//!
//! Coordinates are pixels of the analysis frame, x right and y down. Every counter tests
//! the anchor of a box, its bottom-centre (where the feet are). The direction of a line
//! crossing is defined in [`line_counter`].
//!
//! The `edge` module (feature `media`, on by default) is the IO edge: GStreamer sources,
//! OpenCV detectors, the counting pipeline and the `signage-analytics` binary build on it.
//! Crates that need only the core (the controller's reports) can turn it off.

pub mod counting;
#[cfg(feature = "media")]
pub mod edge;
pub mod error;
pub mod flow;
pub mod geometry;
pub mod line_counter;
pub mod mot;
pub mod synthetic;
pub mod tracker;
pub mod zone;

pub use counting::{Counting, CountingConfig, FrameCounts, NamedLine, NamedZone, SpecError};
pub use error::ConfigError;
pub use flow::{MinuteFlow, minute_of};
pub use geometry::{BBox, Point, Polygon, Segment};
pub use line_counter::{Direction, LineCounter, LineCounterConfig, LineCounts, LineCrossing};
pub use synthetic::{Scene, SceneFrame, Walker};
pub use tracker::{Detection, Track, TrackId, Tracker, TrackerConfig};
pub use zone::{DwellHistogram, Visit, ZoneConfig, ZoneCounter, ZoneCounts};

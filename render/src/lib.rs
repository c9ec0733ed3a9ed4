//! The player's screen, rendered with GStreamer.
//!
//! The player maps each `content` selection to a [`ScreenPlan`] (zones with a video, image,
//! text slide or ticker each, media as local paths of its cache) and hands it to
//! [`Renderer::show`]. The renderer composes every zone onto one canvas, pre-rolls each new item
//! before it replaces the old one (so the screen is never black between items), watches every
//! composed frame (black, frozen, stalled) and rebuilds the pipeline when it must, reporting
//! [`RenderEvent`]s the player forwards as health. [`Renderer::screenshot`] returns the frame
//! it actually composed as PNG.
//!
//! **Invariant:** this crate knows nothing of MQTT, HTTP or schedules; time enters only as the
//! pipeline clock. It reads `content` types, never the other way round.

mod alert;
mod branch;
mod canvas;
mod config;
mod error;
mod frame;
pub mod health;
mod plan;
mod renderer;
mod text;
mod watchdog;

pub use alert::{
    AlertScreen, AlertShown, AlertText, Check as AlertCheck, Geometry as AlertGeometry,
    ROTATION as ALERT_ROTATION, Takeover, contrast, template_screens,
};
pub use config::{Orientation, Output, RenderConfig, WatchdogConfig, WindowSink};
pub use error::RenderError;
pub use frame::FrameInfo;
/// The GStreamer bindings this crate is built on, for callers that inspect the pipeline.
pub use gstreamer;
/// The video helpers of the same bindings.
pub use gstreamer_video;
pub use health::HealthSnapshot;
pub use plan::{Fit, Item, PlanError, Rect, ScreenPlan, ZonePlan};
pub use renderer::{PipelineState, RenderEvent, RenderStats, Renderer, init};
pub use text_layout::fit::Area;
pub use watchdog::Fault;

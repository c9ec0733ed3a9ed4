//! How the renderer is set up: canvas size, frame rate, where frames go, watchdog limits.

use std::time::Duration;

/// Everything [`crate::Renderer::new`] needs. `RenderConfig::default()` is a 1920x1080 landscape
/// canvas at 30 frames per second, rendered headless.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderConfig {
    /// Width of the composed canvas, the layout's coordinate space (e.g. 1080 for a portrait
    /// layout).
    pub width: u32,
    /// Height of the composed canvas.
    pub height: u32,
    /// Frames per second of the composed canvas.
    pub fps: u32,
    /// How the composed canvas is turned before it reaches the screen.
    pub orientation: Orientation,
    /// Where the frames go.
    pub output: Output,
    /// How long a crossfade between two items of a zone lasts; zero cuts.
    pub transition: Duration,
    pub watchdog: WatchdogConfig,
}

impl Default for RenderConfig {
    fn default() -> Self {
        Self {
            width: 1920,
            height: 1080,
            fps: 30,
            orientation: Orientation::Landscape,
            output: Output::Headless,
            transition: Duration::from_millis(400),
            watchdog: WatchdogConfig::default(),
        }
    }
}

/// A portrait screen is a landscape panel mounted on its side: the layout is composed upright
/// (e.g. 1080x1920) and the composed canvas is rotated on its way to the panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Orientation {
    #[default]
    Landscape,
    /// The panel was turned clockwise: the canvas is rotated 90 degrees counter-clockwise.
    PortraitTurnedClockwise,
    /// The panel was turned counter-clockwise: the canvas is rotated 90 degrees clockwise.
    PortraitTurnedCounterClockwise,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Output {
    /// Rendered offscreen at the configured frame rate: the same pipeline up to a clock-synced
    /// fake sink. For tests, previews and players without a display.
    #[default]
    Headless,
    /// On the display, through the given video sink.
    Window { sink: WindowSink },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WindowSink {
    /// The platform's choice (`autovideosink`).
    #[default]
    Auto,
    /// Direct to the display controller, without a desktop (`kmssink`).
    Kms,
    /// OpenGL (`glimagesink`, package gstreamer1.0-gl).
    Gl,
    /// A Wayland compositor (`waylandsink`).
    Wayland,
    /// An X server (`ximagesink`).
    X,
}

impl WindowSink {
    pub(crate) fn factory(self) -> &'static str {
        match self {
            WindowSink::Auto => "autovideosink",
            WindowSink::Kms => "kmssink",
            WindowSink::Gl => "glimagesink",
            WindowSink::Wayland => "waylandsink",
            WindowSink::X => "ximagesink",
        }
    }

    /// The Debian package that provides the sink, named in errors.
    pub(crate) fn package(self) -> &'static str {
        match self {
            WindowSink::Auto | WindowSink::X => "gstreamer1.0-plugins-base / gstreamer1.0-x",
            WindowSink::Kms | WindowSink::Wayland => "gstreamer1.0-plugins-bad",
            WindowSink::Gl => "gstreamer1.0-gl",
        }
    }
}

/// Limits after which the watchdog rebuilds the pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchdogConfig {
    /// No composed frame at all for this long: the pipeline is stalled.
    pub stall_after: Duration,
    /// Every composed frame black for this long while the plan has content.
    pub black_after: Duration,
    /// Every composed frame identical for this long while a video or ticker should move.
    pub frozen_after: Duration,
    /// No verdict for this long after a (re)build, while the first items preroll.
    pub grace: Duration,
}

impl Default for WatchdogConfig {
    fn default() -> Self {
        Self {
            stall_after: Duration::from_secs(2),
            black_after: Duration::from_secs(5),
            frozen_after: Duration::from_secs(10),
            grace: Duration::from_secs(3),
        }
    }
}

//! The takeover's GStreamer shell: a full-screen layer above every zone, built with the
//! canvas, so switching to an alert never waits for a branch to be built or pre-rolled.
//!
//! ```text
//! appsrc (live, BGRA, still frames) ! videoconvert ! I420 ! compositor pad (top zorder)
//! ```
//! Idle, the pad's alpha is 0 (the compositor skips it). [`AlertLayer::show`] pushes one
//! painted frame (see `paint`), and the alpha goes to 1 the instant that frame enters the
//! compositor. Frames are pushed only when the picture changes (flash, rotation, a scrolling
//! banner's step); the compositor repeats the last one in between. Clearing sets the alpha
//! back to 0 at once.
//!
//! A probe notes the first alert frame; the canvas tap reports the wall clock when the first
//! composed frame at or after it leaves the compositor ([`AlertShown::wait`]), which is what
//! the player acknowledges as `displayed_at`.

use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use super::paint::{SCROLL_STEP, Takeover};
use super::screen::{AlertScreen, ROTATION};
use crate::branch::make;
use crate::canvas::Shared;
use crate::error::RenderError;

/// Above every zone (zones use 10 + 10 per rank).
const ZORDER: u32 = 1_000_000;

/// The renderer's notice that an alert reached the screen.
pub struct AlertShown {
    // A mutex only to make the notice `Sync` (the player keeps it inside async tasks).
    rx: Mutex<Receiver<SystemTime>>,
}

impl AlertShown {
    /// When the first composed frame containing the alert left the compositor (wall clock);
    /// `None` if that did not happen within `timeout`.
    /// May be called again after a timeout: a late frame is still reported.
    pub fn wait(&self, timeout: Duration) -> Option<SystemTime> {
        self.rx.lock().ok()?.recv_timeout(timeout).ok()
    }

    pub(crate) fn new(rx: Receiver<SystemTime>) -> AlertShown {
        AlertShown { rx: Mutex::new(rx) }
    }
}

/// The first alert frame on its way to the compositor: its buffer offset, its running time
/// once the layer's probe saw it, and who waits for it.
pub(crate) struct AlertMark {
    offset: u64,
    /// Composed frames still to pass before the alert is surely in one: `None` until the
    /// frame entered the compositor; then 1, for the frame that may have been mid-way.
    skip: Option<u32>,
    /// Everyone waiting, including those of an alert this one replaced before it showed.
    notify: Vec<SyncSender<SystemTime>>,
}

/// Called by the canvas tap for every composed frame.
pub(crate) fn on_composed(shared: &Shared, _running_time: gst::ClockTime) {
    let mut mark = shared.alert_mark.lock().unwrap();
    let Some(m) = mark.as_mut() else { return };
    match m.skip {
        Some(0) => {
            let now = SystemTime::now();
            for notify in mark.take().map(|m| m.notify).unwrap_or_default() {
                let _ = notify.try_send(now);
            }
        }
        Some(n) => m.skip = Some(n - 1),
        None => {}
    }
}

/// The takeover layer of one canvas.
pub(crate) struct AlertLayer {
    src: gst_app::AppSrc,
    pad: gst::Pad,
    width: u32,
    height: u32,
    shared: Arc<Shared>,
    next_offset: u64,
    active: Option<Active>,
}

struct Active {
    takeover: Takeover,
    since: Instant,
    /// What the last pushed frame showed (see [`Takeover::state`]).
    pushed: (usize, bool, i32),
}

impl AlertLayer {
    pub fn build(
        pipeline: &gst::Pipeline,
        compositor: &gst::Element,
        width: u32,
        height: u32,
        shared: Arc<Shared>,
    ) -> Result<AlertLayer, RenderError> {
        let src = make("appsrc")?
            .downcast::<gst_app::AppSrc>()
            .map_err(|_| RenderError::Pipeline("appsrc is not an AppSrc".into()))?;
        // Still frames: framerate 0/1, no duration, so the compositor repeats the last one.
        src.set_caps(Some(
            &gst::Caps::builder("video/x-raw")
                .field("format", "BGRA")
                .field("width", width as i32)
                .field("height", height as i32)
                .field("framerate", gst::Fraction::new(0, 1))
                .field("pixel-aspect-ratio", gst::Fraction::new(1, 1))
                .field("interlace-mode", "progressive")
                .build(),
        ));
        src.set_is_live(true);
        src.set_format(gst::Format::Time);
        // No latency of its own and no limit on others' (the heartbeat sets the canvas's).
        src.set_latency(gst::ClockTime::ZERO, gst::ClockTime::NONE);
        src.set_max_buffers(2);
        src.set_leaky_type(gst_app::AppLeakyType::Downstream);
        // The compositor takes only its output format (I420) on its pads, so the painted
        // BGRA frame is converted once per pushed frame (frames are pushed only on change).
        let convert = make("videoconvert")?;
        // Fixed caps toward the compositor, which names an interlace mode once the heartbeat
        // has negotiated: left open, start-up raced into not-negotiated and a canvas rebuild.
        let convert_caps = make("capsfilter")?;
        convert_caps.set_property(
            "caps",
            gst::Caps::builder("video/x-raw")
                .field("format", "I420")
                .field("interlace-mode", "progressive")
                .build(),
        );
        pipeline
            .add_many([src.upcast_ref::<gst::Element>(), &convert, &convert_caps])
            .map_err(|e| RenderError::Pipeline(e.to_string()))?;
        gst::Element::link_many([src.upcast_ref::<gst::Element>(), &convert, &convert_caps])
            .map_err(|e| RenderError::Pipeline(e.to_string()))?;
        let pad = compositor
            .request_pad_simple("sink_%u")
            .ok_or_else(|| RenderError::Pipeline("the compositor refused a pad".into()))?;
        pad.set_property("zorder", ZORDER);
        pad.set_property("alpha", 0.0f64);
        convert_caps
            .static_pad("src")
            .unwrap()
            .link(&pad)
            .map_err(|e| RenderError::Pipeline(e.to_string()))?;
        {
            // The alert frame enters the compositor: make the pad visible in the same instant
            // (no earlier, so the previous frame never shows at full alpha) and start counting
            // composed frames for the display notice. Any later frame counts too: the leaky
            // source drops its oldest frame when the pipeline lags, and every frame pushed
            // after `show` shows the alert.
            let shared = shared.clone();
            let pad = pad.clone();
            convert_caps.static_pad("src").unwrap().add_probe(
                gst::PadProbeType::BUFFER,
                move |_, info| {
                    let Some(gst::PadProbeData::Buffer(buffer)) = &info.data else {
                        return gst::PadProbeReturn::Ok;
                    };
                    let mut mark = shared.alert_mark.lock().unwrap();
                    if let Some(m) = mark.as_mut()
                        && buffer.offset() >= m.offset
                        && m.skip.is_none()
                    {
                        pad.set_property("alpha", 1.0f64);
                        m.skip = Some(1);
                    }
                    gst::PadProbeReturn::Ok
                },
            );
        }
        warm_up(width, height);
        let mut layer = AlertLayer {
            src,
            pad,
            width,
            height,
            shared,
            next_offset: 1,
            active: None,
        };
        // A blank frame negotiates the branch now, not when the first alert is due.
        layer.push(vec![0; (width * height * 4) as usize]);
        Ok(layer)
    }

    fn push(&mut self, pixels: Vec<u8>) -> u64 {
        let offset = self.next_offset;
        self.next_offset += 1;
        let mut buffer = gst::Buffer::from_mut_slice(pixels);
        {
            // Stamped at the last composed frame: the compositor takes it for its very next
            // frame instead of queueing it behind its latency.
            let last = self.shared.watch.lock().unwrap().running_time;
            let b = buffer.get_mut().unwrap();
            b.set_offset(offset);
            b.set_pts(last.unwrap_or(gst::ClockTime::ZERO) + gst::ClockTime::from_nseconds(1));
        }
        if let Err(e) = self.src.push_buffer(buffer) {
            tracing::warn!(?e, "the alert layer refused a frame");
        }
        offset
    }

    /// Shows `screen` over everything now; `notify` learns when it was displayed.
    pub fn show(
        &mut self,
        screen: AlertScreen,
        notify: impl IntoIterator<Item = SyncSender<SystemTime>>,
    ) {
        let mut takeover = Takeover::new(screen, self.width, self.height);
        let pixels = takeover.frame(Duration::ZERO);
        let pushed = takeover.state(Duration::ZERO);
        // The pad turns visible when this frame reaches the compositor (the probe).
        {
            let mut mark = self.shared.alert_mark.lock().unwrap();
            let mut waiting = mark.take().map(|m| m.notify).unwrap_or_default();
            waiting.extend(notify);
            *mark = Some(AlertMark {
                offset: self.next_offset,
                skip: None,
                notify: waiting,
            });
        }
        self.push(pixels);
        self.active = Some(Active {
            takeover,
            since: Instant::now(),
            pushed,
        });
    }

    /// Takes the takeover down at once.
    pub fn clear(&mut self) {
        *self.shared.alert_mark.lock().unwrap() = None;
        self.pad.set_property("alpha", 0.0f64);
        if self.active.take().is_some() {
            self.push(vec![0; (self.width * self.height * 4) as usize]);
        }
    }

    /// Pushes a new frame when the picture changed; returns when to come back.
    pub fn tick(&mut self) -> Option<Instant> {
        let active = self.active.as_mut()?;
        let elapsed = active.since.elapsed();
        let state = active.takeover.state(elapsed);
        let pixels = (state != active.pushed).then(|| active.takeover.frame(elapsed));
        active.pushed = state;
        let ms = elapsed.as_millis() as u64;
        let flash = active.takeover.screen().flash;
        let next_flash = match flash.period_ms() {
            0 => u64::MAX,
            period => {
                let t = ms % period;
                if t < flash.on_ms() {
                    flash.on_ms() - t
                } else {
                    period - t
                }
            }
        };
        let rotation = ROTATION.as_millis() as u64;
        let next_rotation = if active.takeover.screen().rotating.len() > 1 {
            rotation - ms % rotation
        } else {
            u64::MAX
        };
        let next_step = if active.takeover.scrolls(state.0) {
            SCROLL_STEP.as_millis() as u64
        } else {
            u64::MAX
        };
        if let Some(pixels) = pixels {
            self.push(pixels);
        }
        let wait = next_flash.min(next_rotation).min(next_step).min(1000);
        Some(Instant::now() + Duration::from_millis(wait))
    }
}

/// Lays out and draws every template in every language once, as a drill (banners included),
/// at this screen's size and away from the renderer's thread, so the first real alert finds
/// fonts loaded and glyphs rasterised. Once per size in the process: a rebuilt canvas finds
/// them warm already.
fn warm_up(width: u32, height: u32) {
    static WARMED: Mutex<Vec<(u32, u32)>> = Mutex::new(Vec::new());
    {
        let mut warmed = WARMED.lock().unwrap();
        if warmed.contains(&(width, height)) {
            return;
        }
        warmed.push((width, height));
    }
    let spawned = std::thread::Builder::new()
        .name("alert-warm-up".into())
        .spawn(move || {
            for screen in super::every_template_screen() {
                let rotations = screen.rotating.len().max(1);
                let mut takeover = Takeover::new(screen, width, height);
                for r in 0..rotations {
                    let _ = takeover.frame(super::ROTATION * r as u32);
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(%e, "the alert warm-up did not start");
    }
}

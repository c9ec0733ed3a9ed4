//! One item of one zone as a bin of GStreamer elements feeding a compositor pad.
//!
//! A branch is born *gated*: a blocking probe on its output holds the first frame, so the
//! decoder has pre-rolled (file opened, first frame decoded and scaled) before the branch is
//! shown. [`Branch::open_gate`] then shifts the branch's timestamps so that the held frame lands
//! a little after the compositor's current position, and lets it through. Until the compositor
//! has drawn it, the pad stays transparent and the previous item stays on screen.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use gstreamer as gst;
use gstreamer::prelude::*;

use crate::error::{RenderError, package_of};
use crate::plan::{Fit, Item, Rect};
use crate::text;

/// A zone of a ticker scrolls at this many times its height in pixels per second.
const TICKER_SPEED_PER_HEIGHT: f64 = 1.5;

#[derive(Default)]
struct Gate {
    /// Running time of the held first frame, before any offset.
    first_running_time: Mutex<Option<gst::ClockTime>>,
    /// The streaming thread is parked in the retire probe.
    parked: AtomicBool,
    /// The item reached its end (a video played to its last frame).
    ended: AtomicBool,
}

pub(crate) struct Branch {
    pub item: Item,
    pub instance: u64,
    pub rect: Rect,
    bin: gst::Bin,
    src: gst::Pad,
    pub sinkpad: gst::Pad,
    gate: Arc<Gate>,
    gate_probe: Option<gst::PadProbeId>,
    retiring_since: Option<Instant>,
}

pub(crate) fn make(factory: &'static str) -> Result<gst::Element, RenderError> {
    gst::ElementFactory::make(factory)
        .build()
        .map_err(|_| RenderError::MissingElement {
            factory,
            package: package_of(factory),
        })
}

fn raw_caps(rect: Rect, fps: Option<u32>) -> gst::Caps {
    let mut caps = gst::Caps::builder("video/x-raw")
        .field("format", "I420")
        .field("width", rect.width as i32)
        .field("height", rect.height as i32)
        .field("pixel-aspect-ratio", gst::Fraction::new(1, 1));
    if let Some(fps) = fps {
        caps = caps.field("framerate", gst::Fraction::new(fps as i32, 1));
    }
    caps.build()
}

fn capsfilter(caps: gst::Caps) -> Result<gst::Element, RenderError> {
    let f = make("capsfilter")?;
    f.set_property("caps", caps);
    Ok(f)
}

impl Branch {
    /// Builds the branch for `item` inside `pipeline`, linked to a new transparent pad of
    /// `compositor`, playing and gated.
    pub fn build(
        pipeline: &gst::Pipeline,
        compositor: &gst::Element,
        item: &Item,
        instance: u64,
        rect: Rect,
        fps: u32,
    ) -> Result<Branch, RenderError> {
        if let Some(path) = item.path()
            && !path.is_file()
        {
            return Err(RenderError::MissingFile(path.to_owned()));
        }
        let bin = gst::Bin::new();
        // A decoder prerolls asynchronously: the branch settles that itself instead of the
        // whole pipeline losing its PLAYING state each time a zone changes item.
        bin.set_property("async-handling", true);
        let last = match item {
            Item::Video { path, fit } => {
                let decode = make("uridecodebin")?;
                let uri = gst::glib::filename_to_uri(path, None)
                    .map_err(|e| RenderError::Pipeline(e.to_string()))?;
                decode.set_property("uri", uri.as_str());
                let (head, tail) = scaler(&bin, *fit, rect)?;
                let queue = make("queue")?;
                queue.set_property("max-size-buffers", 3u32);
                queue.set_property("max-size-bytes", 0u32);
                queue.set_property("max-size-time", 0u64);
                bin.add_many([&decode, &queue]).unwrap();
                tail.link(&queue).map_err(link_error)?;
                link_decoded_video(&bin, &decode, &head);
                queue
            }
            Item::Image { path, fit } => {
                let file = make("filesrc")?;
                file.set_property("location", path);
                let decode = make("decodebin")?;
                let (head, tail) = scaler(&bin, *fit, rect)?;
                let freeze = make("imagefreeze")?;
                let rate = capsfilter(
                    gst::Caps::builder("video/x-raw")
                        .field("framerate", gst::Fraction::new(fps as i32, 1))
                        .build(),
                )?;
                let queue = make("queue")?;
                bin.add_many([&file, &decode, &freeze, &rate, &queue])
                    .unwrap();
                file.link(&decode).map_err(link_error)?;
                gst::Element::link_many([&tail, &freeze, &rate, &queue]).map_err(link_error)?;
                link_decoded_video(&bin, &decode, &head);
                queue
            }
            Item::Text { texts, colours } => {
                let source = solid_colour(text::argb(colours.background))?;
                source.set_property("num-buffers", 1i32);
                let caps = capsfilter(raw_caps(rect, Some(fps)))?;
                let overlay = text_overlay(text::argb(colours.text))?;
                overlay.set_property(
                    "text",
                    text::slide_markup(texts, rect.width, rect.height).as_str(),
                );
                overlay.set_property_from_str("halignment", "center");
                overlay.set_property_from_str("valignment", "center");
                overlay.set_property_from_str("line-alignment", "center");
                // The markup is already broken into lines that fit (see text::slide_markup).
                overlay.set_property_from_str("wrap-mode", "none");
                let freeze = make("imagefreeze")?;
                let rate = capsfilter(raw_caps(rect, Some(fps)))?;
                let queue = make("queue")?;
                bin.add_many([&source, &caps, &overlay, &freeze, &rate, &queue])
                    .unwrap();
                gst::Element::link_many([&source, &caps, &overlay, &freeze, &rate, &queue])
                    .map_err(link_error)?;
                queue
            }
            Item::Ticker { texts, colours } => {
                let source = solid_colour(text::argb(colours.background))?;
                let caps = capsfilter(raw_caps(rect, Some(fps)))?;
                let overlay = text_overlay(text::argb(colours.text))?;
                overlay.set_property("text", text::ticker_markup(texts, rect.height).as_str());
                overlay.set_property_from_str("halignment", "left");
                overlay.set_property_from_str("valignment", "center");
                overlay.set_property_from_str("wrap-mode", "none");
                overlay.set_property("xpad", 0i32);
                overlay.set_property("deltax", rect.width as i32);
                scroll(&overlay, rect);
                let queue = make("queue")?;
                bin.add_many([&source, &caps, &overlay, &queue]).unwrap();
                gst::Element::link_many([&source, &caps, &overlay, &queue]).map_err(link_error)?;
                queue
            }
        };
        let inner = last.static_pad("src").expect("queue has a src pad");
        let src =
            gst::GhostPad::with_target(&inner).map_err(|e| RenderError::Pipeline(e.to_string()))?;
        bin.add_pad(&src).unwrap();
        let src: gst::Pad = src.upcast();

        let gate = Arc::new(Gate::default());
        let gate_probe = {
            let gate = gate.clone();
            src.add_probe(
                gst::PadProbeType::BLOCK | gst::PadProbeType::BUFFER,
                move |pad, info| {
                    if let Some(gst::PadProbeData::Buffer(buffer)) = &info.data {
                        let running_time = pad
                            .sticky_event::<gst::event::Segment>(0)
                            .and_then(|e| {
                                let segment = e.segment().downcast_ref::<gst::ClockTime>()?.clone();
                                segment.to_running_time(buffer.pts()?)
                            })
                            .unwrap_or(gst::ClockTime::ZERO);
                        gate.first_running_time
                            .lock()
                            .unwrap()
                            .get_or_insert(running_time);
                    }
                    gst::PadProbeReturn::Ok
                },
            )
        };
        {
            let gate = gate.clone();
            src.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
                if let Some(gst::PadProbeData::Event(event)) = &info.data
                    && event.type_() == gst::EventType::Eos
                {
                    gate.ended.store(true, Ordering::Relaxed);
                }
                gst::PadProbeReturn::Ok
            });
        }

        pipeline
            .add(&bin)
            .map_err(|e| RenderError::Pipeline(e.to_string()))?;
        let sinkpad = compositor
            .request_pad_simple("sink_%u")
            .ok_or_else(|| RenderError::Pipeline("the compositor refused a pad".into()))?;
        sinkpad.set_property("xpos", rect.x as i32);
        sinkpad.set_property("ypos", rect.y as i32);
        sinkpad.set_property("width", rect.width as i32);
        sinkpad.set_property("height", rect.height as i32);
        sinkpad.set_property("alpha", 0.0f64);
        // A video that ends before the next item starts keeps its last frame, never black.
        sinkpad.set_property("repeat-after-eos", true);
        src.link(&sinkpad)
            .map_err(|e| RenderError::Pipeline(e.to_string()))?;
        bin.sync_state_with_parent()
            .map_err(|e| RenderError::Pipeline(e.to_string()))?;
        Ok(Branch {
            item: item.clone(),
            instance,
            rect,
            bin,
            src,
            sinkpad,
            gate,
            gate_probe,
            retiring_since: None,
        })
    }

    /// The first frame is decoded and held at the gate.
    pub fn prerolled(&self) -> bool {
        self.gate.first_running_time.lock().unwrap().is_some()
    }

    pub fn ended(&self) -> bool {
        self.gate.ended.load(Ordering::Relaxed)
    }

    /// Lets the held first frame through so that it is composed at running time `at`.
    pub fn open_gate(&mut self, at: gst::ClockTime) {
        let first = self
            .gate
            .first_running_time
            .lock()
            .unwrap()
            .unwrap_or(gst::ClockTime::ZERO);
        let offset = at.nseconds() as i64 - first.nseconds() as i64;
        self.src.set_offset(offset);
        if let Some(probe) = self.gate_probe.take() {
            self.src.remove_probe(probe);
        }
    }

    pub fn set_alpha(&self, alpha: f64) {
        self.sinkpad.set_property("alpha", alpha.clamp(0.0, 1.0));
    }

    pub fn set_zorder(&self, zorder: u32) {
        self.sinkpad.set_property("zorder", zorder);
    }

    /// Whether `element` (an error's source) belongs to this branch.
    pub fn contains(&self, element: &gst::Object) -> bool {
        element == self.bin.upcast_ref::<gst::Object>() || element.has_as_ancestor(&self.bin)
    }

    /// Parks the streaming thread at the output so that nothing is in flight when the
    /// compositor pad goes away. [`Branch::ready_to_remove`] says when [`Branch::remove`] may run.
    pub fn begin_retire(&mut self) {
        if self.retiring_since.is_some() {
            return;
        }
        self.retiring_since = Some(Instant::now());
        self.set_alpha(0.0);
        if self.gate_probe.is_some() {
            // Still gated: the streaming thread is already held (or has not reached the gate).
            self.gate.parked.store(true, Ordering::Relaxed);
            return;
        }
        let gate = self.gate.clone();
        self.src.add_probe(
            gst::PadProbeType::BLOCK | gst::PadProbeType::BUFFER,
            move |_, _| {
                gate.parked.store(true, Ordering::Relaxed);
                gst::PadProbeReturn::Ok
            },
        );
    }

    /// Parked, or given up waiting (a stalled branch never reaches the probe).
    pub fn ready_to_remove(&self) -> bool {
        self.gate.parked.load(Ordering::Relaxed)
            || self
                .retiring_since
                .is_some_and(|t| t.elapsed().as_millis() >= 300)
    }

    /// Unlinks the branch, stops its threads and takes it out of the pipeline.
    pub fn remove(self, pipeline: &gst::Pipeline, compositor: &gst::Element) {
        compositor.release_request_pad(&self.sinkpad);
        // Flushing the output wakes a thread parked in a probe, so stopping cannot deadlock.
        let _ = self.src.set_active(false);
        // Locked first: a pipeline-wide state change must not set it playing again while it
        // stops (that raced into elements freed while running, and an abort).
        self.bin.set_locked_state(true);
        let _ = self.bin.set_state(gst::State::Null);
        let _ = pipeline.remove(&self.bin);
    }
}

fn link_error(e: gst::glib::BoolError) -> RenderError {
    RenderError::Pipeline(e.to_string())
}

fn solid_colour(argb: u32) -> Result<gst::Element, RenderError> {
    let source = make("videotestsrc")?;
    source.set_property_from_str("pattern", "solid-color");
    source.set_property("foreground-color", argb);
    Ok(source)
}

fn text_overlay(argb: u32) -> Result<gst::Element, RenderError> {
    let overlay = make("textoverlay")?;
    overlay.set_property("color", argb);
    overlay.set_property("draw-shadow", false);
    overlay.set_property("draw-outline", false);
    overlay.set_property("shaded-background", false);
    overlay.set_property("auto-resize", false);
    Ok(overlay)
}

/// videoconvert ! [aspectratiocrop] ! videoscale ! capsfilter, scaled once into `rect`.
/// Returns (first, last).
fn scaler(
    bin: &gst::Bin,
    fit: Fit,
    rect: Rect,
) -> Result<(gst::Element, gst::Element), RenderError> {
    let convert = make("videoconvert")?;
    let scale = make("videoscale")?;
    scale.set_property("add-borders", fit == Fit::Fit);
    let caps = capsfilter(raw_caps(rect, None))?;
    bin.add_many([&convert, &scale, &caps]).unwrap();
    if fit == Fit::Fill {
        let crop = make("aspectratiocrop")?;
        crop.set_property(
            "aspect-ratio",
            gst::Fraction::new(rect.width as i32, rect.height as i32),
        );
        bin.add(&crop).unwrap();
        gst::Element::link_many([&convert, &crop, &scale, &caps]).map_err(link_error)?;
    } else {
        gst::Element::link_many([&convert, &scale, &caps]).map_err(link_error)?;
    }
    Ok((convert, caps))
}

/// Links the decoder's video pad to `head`; any other stream (sound) goes to a fakesink.
fn link_decoded_video(bin: &gst::Bin, decode: &gst::Element, head: &gst::Element) {
    let bin = bin.downgrade();
    let head = head.downgrade();
    decode.connect_pad_added(move |_, pad| {
        let (Some(bin), Some(head)) = (bin.upgrade(), head.upgrade()) else {
            return;
        };
        let is_video = pad
            .current_caps()
            .or_else(|| Some(pad.query_caps(None)))
            .and_then(|c| c.structure(0).map(|s| s.name().starts_with("video/")))
            .unwrap_or(false);
        let sink = head
            .static_pad("sink")
            .expect("videoconvert has a sink pad");
        if is_video && !sink.is_linked() {
            if let Err(e) = pad.link(&sink) {
                tracing::warn!("could not link decoded video: {e:?}");
            }
        } else if let Ok(discard) = make("fakesink") {
            discard.set_property("sync", false);
            discard.set_property("async", false);
            if bin.add(&discard).is_ok() {
                let _ = discard.sync_state_with_parent();
                let _ = pad.link(&discard.static_pad("sink").unwrap());
            }
        }
    });
}

/// Moves a ticker's text from right to left, from each frame's timestamp.
fn scroll(overlay: &gst::Element, rect: Rect) {
    let speed = ((f64::from(rect.height) * TICKER_SPEED_PER_HEIGHT) as u32).max(30);
    let sink = overlay
        .static_pad("video_sink")
        .expect("textoverlay has video_sink");
    let weak = overlay.downgrade();
    sink.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if let (Some(overlay), Some(gst::PadProbeData::Buffer(buffer))) =
            (weak.upgrade(), &info.data)
        {
            let pts = buffer.pts().unwrap_or(gst::ClockTime::ZERO).nseconds();
            let text_width = overlay.property::<u32>("text-width");
            let moved = text::ticker_offset(pts, speed, rect.width, text_width);
            overlay.set_property("deltax", rect.width as i32 - moved);
        }
        gst::PadProbeReturn::Ok
    });
}

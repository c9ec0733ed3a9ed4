//! The fixed part of the pipeline: a live heartbeat, the compositor that draws every zone on
//! one canvas, the tap that watches each composed frame, the rotation and the sink.
//!
//! ```text
//! videotestsrc is-live (16x16, transparent) ─┐
//! zone branches (see branch.rs) ─────────────┤ compositor ! capsfilter(I420 WxH @fps)
//!                                                ──[tap: FrameInfo, last sample]──
//!                                                ! [videoflip] ! queue ! [videoconvert] ! sink
//! ```
//! The heartbeat makes the compositor live: it emits a frame at every tick even when a zone's
//! branch is late, repeating that zone's last frame, so a slow decoder freezes a zone for an
//! instant rather than stalling or blanking the screen.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;

use crate::branch::make;
use crate::config::{Orientation, Output, RenderConfig};
use crate::error::RenderError;
use crate::frame::{FrameInfo, analyse_luma};

/// What the streaming threads tell the rest of the renderer. Outlives pipeline rebuilds.
pub(crate) struct Shared {
    pub generation: AtomicU64,
    pub frames_rendered: AtomicU64,
    pub frames_missed: AtomicU64,
    pub qos_dropped: AtomicU64,
    pub rebuilds: AtomicU64,
    pub last_sample: Mutex<Option<gst::Sample>>,
    pub subscribers: Mutex<Vec<SyncSender<FrameInfo>>>,
    pub watch: Mutex<OutputWatch>,
    pub started: Instant,
    /// The first frame of a new alert, until the tap sees it composed.
    pub alert_mark: Mutex<Option<crate::alert::AlertMark>>,
}

impl Shared {
    pub fn new() -> Self {
        Self {
            generation: AtomicU64::new(0),
            frames_rendered: AtomicU64::new(0),
            frames_missed: AtomicU64::new(0),
            qos_dropped: AtomicU64::new(0),
            rebuilds: AtomicU64::new(0),
            last_sample: Mutex::new(None),
            subscribers: Mutex::new(Vec::new()),
            watch: Mutex::new(OutputWatch::default()),
            started: Instant::now(),
            alert_mark: Mutex::new(None),
        }
    }
}

/// The output of the current pipeline, as the watchdog needs it.
#[derive(Debug, Default, Clone)]
pub(crate) struct OutputWatch {
    pub last_frame_at: Option<Instant>,
    pub last_hash: Option<u64>,
    pub changed_at: Option<Instant>,
    pub black_since: Option<Instant>,
    pub running_time: Option<gst::ClockTime>,
    last_pts: Option<gst::ClockTime>,
}

pub(crate) struct Canvas {
    pub pipeline: gst::Pipeline,
    pub compositor: gst::Element,
    pub built_at: Instant,
    /// The emergency-alert takeover, ready above every zone.
    pub alert: crate::alert::AlertLayer,
}

impl Canvas {
    pub fn build(config: &RenderConfig, shared: &Arc<Shared>) -> Result<Canvas, RenderError> {
        let generation = shared.generation.fetch_add(1, Ordering::SeqCst) + 1;
        *shared.watch.lock().unwrap() = OutputWatch::default();
        let fps = gst::Fraction::new(config.fps as i32, 1);
        let pipeline = gst::Pipeline::with_name("signage-render");

        let heartbeat = make("videotestsrc")?;
        heartbeat.set_property("is-live", true);
        heartbeat.set_property_from_str("pattern", "black");
        let heartbeat_caps = make("capsfilter")?;
        heartbeat_caps.set_property(
            "caps",
            gst::Caps::builder("video/x-raw")
                .field("format", "I420")
                .field("width", 16)
                .field("height", 16)
                .field("framerate", fps)
                .build(),
        );
        let compositor = make("compositor")?;
        compositor.set_property_from_str("background", "black");
        let canvas_caps = make("capsfilter")?;
        canvas_caps.set_property(
            "caps",
            gst::Caps::builder("video/x-raw")
                .field("format", "I420")
                .field("width", config.width as i32)
                .field("height", config.height as i32)
                .field("framerate", fps)
                .field("pixel-aspect-ratio", gst::Fraction::new(1, 1))
                .build(),
        );
        let queue = make("queue")?;
        queue.set_property("max-size-buffers", 3u32);
        queue.set_property("max-size-bytes", 0u32);
        queue.set_property("max-size-time", 0u64);

        let mut chain = vec![compositor.clone(), canvas_caps.clone()];
        match config.orientation {
            Orientation::Landscape => {}
            Orientation::PortraitTurnedClockwise | Orientation::PortraitTurnedCounterClockwise => {
                let flip = make("videoflip")?;
                let direction = if config.orientation == Orientation::PortraitTurnedClockwise {
                    "90l"
                } else {
                    "90r"
                };
                flip.set_property_from_str("video-direction", direction);
                chain.push(flip);
            }
        }
        chain.push(queue);
        match config.output {
            Output::Headless => {
                let sink = make("fakesink")?;
                sink.set_property("sync", true);
                sink.set_property("qos", true);
                chain.push(sink);
            }
            Output::Window { sink } => {
                chain.push(make("videoconvert")?);
                let element = gst::ElementFactory::make(sink.factory())
                    .build()
                    .map_err(|_| RenderError::MissingElement {
                        factory: sink.factory(),
                        package: sink.package(),
                    })?;
                chain.push(element);
            }
        }
        pipeline
            .add_many([&heartbeat, &heartbeat_caps])
            .and_then(|()| pipeline.add_many(&chain))
            .map_err(|e| RenderError::Pipeline(e.to_string()))?;
        heartbeat
            .link(&heartbeat_caps)
            .and_then(|()| gst::Element::link_many(&chain))
            .map_err(|e| RenderError::Pipeline(e.to_string()))?;
        let heartbeat_pad = compositor
            .request_pad_simple("sink_%u")
            .ok_or_else(|| RenderError::Pipeline("the compositor refused a pad".into()))?;
        heartbeat_pad.set_property("alpha", 0.0f64);
        heartbeat_pad.set_property("zorder", 0u32);
        heartbeat_caps
            .static_pad("src")
            .unwrap()
            .link(&heartbeat_pad)
            .map_err(|e| RenderError::Pipeline(e.to_string()))?;

        let alert = crate::alert::AlertLayer::build(
            &pipeline,
            &compositor,
            config.width,
            config.height,
            shared.clone(),
        )?;
        tap(
            &canvas_caps.static_pad("src").unwrap(),
            shared.clone(),
            generation,
            Duration::from_nanos(1_000_000_000 / u64::from(config.fps)),
        );

        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| RenderError::Pipeline(format!("{e}; is the video output available?")))?;
        Ok(Canvas {
            pipeline,
            compositor,
            built_at: Instant::now(),
            alert,
        })
    }

    /// Current running time of the pipeline.
    pub fn running_time(&self) -> Option<gst::ClockTime> {
        self.pipeline.current_running_time()
    }

    /// Stops the pipeline on a helper thread: a wedged element must not block the renderer.
    pub fn dispose(self) {
        let pipeline = self.pipeline;
        std::thread::Builder::new()
            .name("render-dispose".into())
            .spawn(move || {
                let _ = pipeline.set_state(gst::State::Null);
            })
            .ok();
    }
}

/// Watches every composed frame: counts it, keeps it for screenshots, fingerprints it for the
/// watchdog and hands a [`FrameInfo`] to subscribers. Never blocks the streaming thread.
fn tap(pad: &gst::Pad, shared: Arc<Shared>, generation: u64, frame: Duration) {
    pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
        if shared.generation.load(Ordering::SeqCst) != generation {
            return gst::PadProbeReturn::Ok;
        }
        let Some(gst::PadProbeData::Buffer(buffer)) = &info.data else {
            return gst::PadProbeReturn::Ok;
        };
        let Some(caps) = pad.current_caps() else {
            return gst::PadProbeReturn::Ok;
        };
        let Ok(video) = gst_video::VideoInfo::from_caps(&caps) else {
            return gst::PadProbeReturn::Ok;
        };
        let Ok(frame_ref) = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &video)
        else {
            return gst::PadProbeReturn::Ok;
        };
        let (mean, max, hash) = match frame_ref.plane_data(0) {
            Ok(plane) => analyse_luma(
                plane,
                video.width() as usize,
                video.height() as usize,
                frame_ref.plane_stride()[0] as usize,
            ),
            Err(_) => return gst::PadProbeReturn::Ok,
        };
        drop(frame_ref);
        let running_time = pad
            .sticky_event::<gst::event::Segment>(0)
            .and_then(|e| {
                let segment = e.segment().downcast_ref::<gst::ClockTime>()?.clone();
                segment.to_running_time(buffer.pts()?)
            })
            .or(buffer.pts())
            .unwrap_or(gst::ClockTime::ZERO);
        crate::alert::on_composed(&shared, running_time);
        let now = Instant::now();
        {
            let mut watch = shared.watch.lock().unwrap();
            if let (Some(last), Some(pts)) = (watch.last_pts, buffer.pts())
                && pts > last
            {
                let gap = (pts - last).nseconds();
                let frame_ns = frame.as_nanos() as u64;
                if gap > frame_ns * 3 / 2 {
                    shared
                        .frames_missed
                        .fetch_add(gap / frame_ns - 1, Ordering::Relaxed);
                }
            }
            watch.last_pts = buffer.pts();
            watch.last_frame_at = Some(now);
            watch.running_time = Some(running_time);
            if watch.last_hash != Some(hash) {
                watch.last_hash = Some(hash);
                watch.changed_at = Some(now);
            }
            let info = FrameInfo {
                running_time: Duration::from_nanos(running_time.nseconds()),
                mean_luma: mean,
                max_luma: max,
                hash,
            };
            if info.is_black() {
                watch.black_since.get_or_insert(now);
            } else {
                watch.black_since = None;
            }
            let mut subscribers = shared.subscribers.lock().unwrap();
            subscribers.retain(|s| !matches!(s.try_send(info), Err(TrySendError::Disconnected(_))));
        }
        shared.frames_rendered.fetch_add(1, Ordering::Relaxed);
        *shared.last_sample.lock().unwrap() =
            Some(gst::Sample::builder().buffer(buffer).caps(&caps).build());
        gst::PadProbeReturn::Ok
    });
}

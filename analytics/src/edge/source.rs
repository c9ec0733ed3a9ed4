//! Frames from GStreamer: a video file, a V4L2 camera, an RTSP stream or the synthetic
//! camera, scaled and converted inside the pipeline to the analysis size and pixel format,
//! and handed over as OpenCV `Mat` headers over the mapped GStreamer buffer (no copy).
//!
//! Frames live only in memory: nothing here writes or sends them anywhere.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Once;
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;
use opencv::boxed_ref::BoxedRef;
use opencv::core::{Mat, Vec3b};

use super::synthetic_camera::SyntheticCamera;

/// Where frames come from, as written after `--input`.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A video file GStreamer can decode.
    File(PathBuf),
    /// A V4L2 device such as `/dev/video0` (`v4l2:/dev/video0` or the bare device path).
    Camera(PathBuf),
    /// An `rtsp://` or `rtsps://` URL.
    Rtsp(String),
    /// `synthetic:NAME[,lighting][,noise=N]`: a scripted scene drawn frame by frame.
    Synthetic(SyntheticCamera),
}

impl FromStr for Input {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(spec) = s.strip_prefix("synthetic:") {
            return spec.parse().map(Input::Synthetic);
        }
        if let Some(device) = s.strip_prefix("v4l2:") {
            return Ok(Input::Camera(device.into()));
        }
        if s.starts_with("/dev/video") {
            return Ok(Input::Camera(s.into()));
        }
        if s.starts_with("rtsp://") || s.starts_with("rtsps://") {
            return Ok(Input::Rtsp(s.to_owned()));
        }
        if s.is_empty() {
            return Err("the input is empty; give a video file, a camera or synthetic:NAME".into());
        }
        Ok(Input::File(s.into()))
    }
}

/// Pixel layout of analysis frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelFormat {
    /// One byte per pixel (`CV_8UC1`): what background subtraction needs.
    Gray,
    /// Three bytes per pixel, blue first (`CV_8UC3`): what DNN detectors take.
    Bgr,
}

impl PixelFormat {
    fn video_format(self) -> gst_video::VideoFormat {
        match self {
            PixelFormat::Gray => gst_video::VideoFormat::Gray8,
            PixelFormat::Bgr => gst_video::VideoFormat::Bgr,
        }
    }

    fn bytes_per_pixel(self) -> usize {
        match self {
            PixelFormat::Gray => 1,
            PixelFormat::Bgr => 3,
        }
    }
}

/// Size and format of the frames handed out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SourceOptions {
    pub format: PixelFormat,
    /// Analysis width in pixels (rounded down to a multiple of 4 so rows have no padding);
    /// the height keeps the aspect ratio. `None` keeps the native size.
    pub width: Option<u32>,
}

/// Why a source could not give frames. Messages say what to check.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read the video file {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("GStreamer could not be initialised: {0}")]
    Init(String),
    #[error("cannot build the GStreamer pipeline: {0}")]
    Build(String),
    #[error("cannot play {input}: {reason}")]
    Stream { input: String, reason: String },
    #[error("{input} gave no frame within {seconds} s; check that the camera or stream is up")]
    Timeout { input: String, seconds: u64 },
    #[error("unexpected frame layout from GStreamer: {0}")]
    Layout(String),
}

/// One analysis frame: a mapped GStreamer buffer, viewed as a `Mat` on demand.
pub struct Frame {
    /// Position in the stream, from 0.
    pub index: u64,
    /// Presentation time in seconds from the start of the stream.
    pub t: f64,
    pub width: u32,
    pub height: u32,
    pub format: PixelFormat,
    buffer: gst::MappedBuffer<gst::buffer::Readable>,
}

impl Frame {
    /// A `Mat` header over the buffer's bytes: no pixel is copied.
    pub fn mat(&self) -> opencv::Result<BoxedRef<'_, Mat>> {
        let (rows, cols) = (self.height as i32, self.width as i32);
        match self.format {
            PixelFormat::Gray => Mat::new_rows_cols_with_data::<u8>(rows, cols, self.bytes()),
            PixelFormat::Bgr => Mat::new_rows_cols_with_bytes::<Vec3b>(rows, cols, self.bytes()),
        }
    }

    /// The pixels, rows top to bottom without padding.
    pub fn bytes(&self) -> &[u8] {
        let len = self.width as usize * self.height as usize * self.format.bytes_per_pixel();
        &self.buffer.as_slice()[..len]
    }
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame")
            .field("index", &self.index)
            .field("t", &self.t)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

fn init() -> Result<(), SourceError> {
    static INIT: Once = Once::new();
    let mut result = Ok(());
    INIT.call_once(|| result = gst::init().map_err(|e| SourceError::Init(e.to_string())));
    result
}

/// A running GStreamer pipeline ending in an appsink.
pub struct FrameSource {
    description: String,
    pipeline: gst::Pipeline,
    sink: gst_app::AppSink,
    scale: gst::Element,
    options: SourceOptions,
    native: (u32, u32),
    size: (u32, u32),
    next_index: u64,
    first: Option<Frame>,
    first_timeout: Duration,
    finished: bool,
}

impl std::fmt::Debug for FrameSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameSource")
            .field("input", &self.description)
            .field("native", &self.native)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

fn element(factory: &str) -> Result<gst::Element, SourceError> {
    gst::ElementFactory::make(factory).build().map_err(|_| {
        SourceError::Build(format!(
            "the GStreamer element `{factory}` is missing; install the GStreamer plugins \
             (base, good, bad, libav)"
        ))
    })
}

impl FrameSource {
    /// Starts the pipeline and waits for its first frame, so that an unreadable input
    /// fails here with GStreamer's reason.
    pub fn open(input: &Input, options: SourceOptions) -> Result<Self, SourceError> {
        init()?;
        let description = match input {
            Input::File(p) => p.display().to_string(),
            Input::Camera(d) => format!("camera {}", d.display()),
            Input::Rtsp(url) => url.clone(),
            Input::Synthetic(s) => format!("synthetic:{}", s.name()),
        };
        if let Input::File(path) = input {
            check_readable(path)?;
        }
        let build = |e: glib_error::Any| SourceError::Build(e.0);
        let pipeline = gst::Pipeline::new();
        let convert = element("videoconvert")?;
        let scale = element("videoscale")?;
        let caps = {
            // Square pixels: otherwise videoscale keeps the height and stretches the pixels.
            let mut b = gst_video::VideoCapsBuilder::new()
                .format(options.format.video_format())
                .pixel_aspect_ratio(gst::Fraction::new(1, 1));
            if let Some(w) = options.width {
                b = b.width((w / 4 * 4).max(4) as i32);
            }
            b.build()
        };
        let capsfilter = gst::ElementFactory::make("capsfilter")
            .property("caps", &caps)
            .build()
            .map_err(|e| build(e.into()))?;
        let sink = gst_app::AppSink::builder()
            .sync(false)
            .max_buffers(2)
            .build();
        // Gray: drop the chroma at full size, then scale one plane. Colour: scale the
        // (smaller, subsampled) decoded planes first, then convert.
        let tail: [&gst::Element; 3] = match options.format {
            PixelFormat::Gray => [&convert, &scale, &capsfilter],
            PixelFormat::Bgr => [&scale, &convert, &capsfilter],
        };
        pipeline
            .add_many(tail)
            .and_then(|_| pipeline.add(sink.upcast_ref::<gst::Element>()))
            .map_err(|e| build(e.into()))?;
        gst::Element::link_many(tail)
            .and_then(|_| capsfilter.link(&sink))
            .map_err(|e| build(e.into()))?;
        let head = tail[0].clone();

        match input {
            Input::File(_) | Input::Rtsp(_) => {
                let uri = match input {
                    Input::File(path) => {
                        let absolute =
                            std::path::absolute(path).map_err(|e| SourceError::File {
                                path: path.clone(),
                                reason: e.to_string(),
                            })?;
                        gst::glib::filename_to_uri(&absolute, None)
                            .map_err(|e| build(e.into()))?
                            .to_string()
                    }
                    Input::Rtsp(url) => url.clone(),
                    _ => unreachable!(),
                };
                let decode = gst::ElementFactory::make("uridecodebin")
                    .property("uri", &uri)
                    .build()
                    .map_err(|e| build(e.into()))?;
                pipeline.add(&decode).map_err(|e| build(e.into()))?;
                link_decoded_video(&decode, &head);
            }
            Input::Camera(device) => {
                let src = gst::ElementFactory::make("v4l2src")
                    .property("device", device.to_string_lossy().as_ref())
                    .build()
                    .map_err(|_| {
                        SourceError::Build(
                            "the GStreamer element `v4l2src` is missing; install \
                             gstreamer1.0-plugins-good"
                                .into(),
                        )
                    })?;
                let decode = element("decodebin")?;
                pipeline
                    .add_many([&src, &decode])
                    .map_err(|e| build(e.into()))?;
                src.link(&decode).map_err(|e| build(e.into()))?;
                link_decoded_video(&decode, &head);
            }
            Input::Synthetic(camera) => {
                let src = camera.app_src();
                pipeline
                    .add(src.upcast_ref::<gst::Element>())
                    .map_err(|e| build(e.into()))?;
                src.link(&head).map_err(|e| build(e.into()))?;
            }
        }

        let first_timeout = match input {
            Input::File(_) | Input::Synthetic(_) => Duration::from_secs(30),
            Input::Camera(_) | Input::Rtsp(_) => Duration::from_secs(15),
        };
        let mut source = Self {
            description,
            pipeline,
            sink,
            scale,
            options,
            native: (0, 0),
            size: (0, 0),
            next_index: 0,
            first: None,
            first_timeout,
            finished: false,
        };
        source
            .pipeline
            .set_state(gst::State::Playing)
            .map_err(|_| source.stream_error("the pipeline refused to start"))?;
        match source.pull(first_timeout)? {
            Some(frame) => source.first = Some(frame),
            None => {
                return Err(SourceError::Stream {
                    input: source.description.clone(),
                    reason: "it contains no video frame".into(),
                });
            }
        }
        Ok(source)
    }

    /// Native size of the input before scaling, in pixels: lines and zones are given in it.
    pub fn native_size(&self) -> (u32, u32) {
        self.native
    }

    /// Size of the frames handed out.
    pub fn frame_size(&self) -> (u32, u32) {
        self.size
    }

    pub fn options(&self) -> SourceOptions {
        self.options
    }

    /// The next frame, `None` at the end of the stream.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, SourceError> {
        if let Some(frame) = self.first.take() {
            return Ok(Some(frame));
        }
        if self.finished {
            return Ok(None);
        }
        self.pull(self.first_timeout)
    }

    fn stream_error(&self, fallback: &str) -> SourceError {
        let reason = self
            .pipeline
            .bus()
            .and_then(|bus| bus.pop_filtered(&[gst::MessageType::Error]))
            .and_then(|msg| match msg.view() {
                gst::MessageView::Error(e) => Some(match e.debug() {
                    Some(debug) => format!("{} ({debug})", e.error()),
                    None => e.error().to_string(),
                }),
                _ => None,
            })
            .unwrap_or_else(|| fallback.to_owned());
        SourceError::Stream {
            input: self.description.clone(),
            reason,
        }
    }

    fn pull(&mut self, timeout: Duration) -> Result<Option<Frame>, SourceError> {
        let started = Instant::now();
        let bus = self.pipeline.bus().expect("a pipeline has a bus");
        loop {
            if let Some(sample) = self.sink.try_pull_sample(gst::ClockTime::from_mseconds(50)) {
                return self.frame_from(sample).map(Some);
            }
            if self.sink.is_eos() {
                self.finished = true;
                return Ok(None);
            }
            if let Some(msg) = bus.pop_filtered(&[gst::MessageType::Error])
                && let gst::MessageView::Error(e) = msg.view()
            {
                let reason = match e.debug() {
                    Some(debug) => format!("{} ({debug})", e.error()),
                    None => e.error().to_string(),
                };
                self.finished = true;
                return Err(SourceError::Stream {
                    input: self.description.clone(),
                    reason,
                });
            }
            if started.elapsed() > timeout {
                return Err(SourceError::Timeout {
                    input: self.description.clone(),
                    seconds: timeout.as_secs(),
                });
            }
        }
    }

    fn frame_from(&mut self, sample: gst::Sample) -> Result<Frame, SourceError> {
        let caps = sample
            .caps()
            .ok_or_else(|| SourceError::Layout("a sample without caps".into()))?;
        let info = gst_video::VideoInfo::from_caps(caps)
            .map_err(|e| SourceError::Layout(e.to_string()))?;
        let (width, height) = (info.width(), info.height());
        let bpp = self.options.format.bytes_per_pixel();
        if info.stride()[0] as usize != width as usize * bpp {
            return Err(SourceError::Layout(format!(
                "rows of {} bytes for a width of {width}; use a width that is a multiple of 4",
                info.stride()[0]
            )));
        }
        if self.native == (0, 0) {
            self.native = self
                .scale
                .static_pad("sink")
                .and_then(|p| p.current_caps())
                .and_then(|c| gst_video::VideoInfo::from_caps(&c).ok())
                .map(|i| (i.width(), i.height()))
                .unwrap_or((width, height));
            self.size = (width, height);
        }
        let buffer = sample
            .buffer_owned()
            .ok_or_else(|| SourceError::Layout("a sample without buffer".into()))?;
        let t = buffer
            .pts()
            .map(|pts| pts.nseconds() as f64 / 1e9)
            .unwrap_or(0.0);
        let buffer = buffer
            .into_mapped_buffer_readable()
            .map_err(|_| SourceError::Layout("a buffer that cannot be read".into()))?;
        if buffer.size() < width as usize * height as usize * bpp {
            return Err(SourceError::Layout(
                "a buffer smaller than its frame".into(),
            ));
        }
        let index = self.next_index;
        self.next_index += 1;
        Ok(Frame {
            index,
            t,
            width,
            height,
            format: self.options.format,
            buffer,
        })
    }
}

impl Drop for FrameSource {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// Links the video pad that a decodebin exposes to `downstream`; other pads are ignored.
fn link_decoded_video(decode: &gst::Element, downstream: &gst::Element) {
    let downstream = downstream.downgrade();
    decode.connect_pad_added(move |_, pad| {
        let Some(downstream) = downstream.upgrade() else {
            return;
        };
        let is_video = pad
            .current_caps()
            .or_else(|| Some(pad.query_caps(None)))
            .and_then(|c| c.structure(0).map(|s| s.name().starts_with("video/")))
            .unwrap_or(false);
        if !is_video {
            return;
        }
        if let Some(sink) = downstream.static_pad("sink")
            && !sink.is_linked()
        {
            let _ = pad.link(&sink);
        }
    });
}

fn check_readable(path: &Path) -> Result<(), SourceError> {
    let err = |reason: String| SourceError::File {
        path: path.to_owned(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
    if !meta.is_file() {
        return Err(err("it is not a file".into()));
    }
    std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
    Ok(())
}

/// Converts the assorted GStreamer/GLib error types into one message.
mod glib_error {
    pub struct Any(pub String);

    impl From<gstreamer::glib::BoolError> for Any {
        fn from(e: gstreamer::glib::BoolError) -> Self {
            Self(e.to_string())
        }
    }
    impl From<gstreamer::glib::Error> for Any {
        fn from(e: gstreamer::glib::Error) -> Self {
            Self(e.to_string())
        }
    }
    impl From<gstreamer::PadLinkError> for Any {
        fn from(e: gstreamer::PadLinkError) -> Self {
            Self(format!("{e:?}"))
        }
    }
}

//! Test media made on the spot with GStreamer's test sources and encoders, and helpers to read
//! what the renderer produced.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use content::asset::{Colour, Colours};
use render::gstreamer as gst;
use render::gstreamer::prelude::*;
use render::{Item, Rect, RenderConfig, RenderStats, Renderer, WatchdogConfig, ZonePlan};

/// Runs a gst-launch description to its end.
pub fn run_to_eos(description: &str) {
    render::init().unwrap();
    let pipeline = gst::parse::launch(description).unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    let message = bus
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(120),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .expect("media generation timed out");
    if let gst::MessageView::Error(e) = message.view() {
        panic!("{description}: {}", e.error());
    }
    pipeline.set_state(gst::State::Null).unwrap();
}

/// An H.264 MP4 of `frames` frames at 30 fps from videotestsrc with `source_props`.
pub fn video(
    dir: &Path,
    name: &str,
    source_props: &str,
    width: u32,
    height: u32,
    frames: u32,
) -> PathBuf {
    let path = dir.join(name);
    run_to_eos(&format!(
        "videotestsrc num-buffers={frames} {source_props} \
         ! video/x-raw,width={width},height={height},framerate=30/1 \
         ! x264enc speed-preset=ultrafast key-int-max=30 ! mp4mux ! filesink location={}",
        path.display()
    ));
    path
}

/// A PNG filled with one colour (0xRRGGBB).
pub fn png(dir: &Path, name: &str, rgb: u32, width: u32, height: u32) -> PathBuf {
    let path = dir.join(name);
    run_to_eos(&format!(
        "videotestsrc num-buffers=1 pattern=solid-color foreground-color={:#x} \
         ! video/x-raw,width={width},height={height} ! videoconvert ! pngenc \
         ! filesink location={}",
        0xff00_0000u32 | rgb,
        path.display()
    ));
    path
}

/// RGBx pixels of a PNG of the given size.
pub struct Picture {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

impl Picture {
    pub fn decode(png: &[u8], width: u32, height: u32) -> Picture {
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        let dir = tempfile::tempdir().unwrap();
        let (input, output) = (dir.path().join("in.png"), dir.path().join("out.rgbx"));
        std::fs::write(&input, png).unwrap();
        run_to_eos(&format!(
            "filesrc location={} ! pngdec ! videoconvert ! video/x-raw,format=RGBx \
             ! filesink location={}",
            input.display(),
            output.display()
        ));
        let data = std::fs::read(&output).unwrap();
        assert_eq!(
            data.len(),
            (width * height * 4) as usize,
            "not {width}x{height}"
        );
        Picture {
            width: width as usize,
            height: height as usize,
            data,
        }
    }

    pub fn rgb(&self, x: usize, y: usize) -> (u8, u8, u8) {
        let i = (y * self.width + x) * 4;
        (self.data[i], self.data[i + 1], self.data[i + 2])
    }
}

pub fn close(actual: (u8, u8, u8), expected: (u8, u8, u8)) -> bool {
    let d = |a: u8, b: u8| (i16::from(a) - i16::from(b)).abs() <= 24;
    d(actual.0, expected.0) && d(actual.1, expected.1) && d(actual.2, expected.2)
}

/// A small headless canvas; the watchdog relaxed so a busy test machine does not trigger it.
pub fn small_config() -> RenderConfig {
    RenderConfig {
        width: 640,
        height: 360,
        fps: 15,
        watchdog: WatchdogConfig {
            stall_after: Duration::from_secs(30),
            black_after: Duration::from_secs(60),
            frozen_after: Duration::from_secs(60),
            ..WatchdogConfig::default()
        },
        ..RenderConfig::default()
    }
}

/// Polls the renderer's stats until `done` holds, for at most `limit`.
pub fn wait_for(
    renderer: &Renderer,
    limit: Duration,
    done: impl Fn(&RenderStats) -> bool,
) -> RenderStats {
    let start = Instant::now();
    loop {
        let stats = renderer.stats();
        if done(&stats) {
            return stats;
        }
        assert!(start.elapsed() < limit, "gave up waiting: {stats:#?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A zone of `item` at (x, y, width, height).
pub fn zone(id: &str, rect: (u32, u32, u32, u32), item: Item) -> ZonePlan {
    ZonePlan {
        id: id.into(),
        rect: Rect {
            x: rect.0,
            y: rect.1,
            width: rect.2,
            height: rect.3,
        },
        z: 0,
        item,
        instance: 0,
        next: None,
    }
}

/// Colours from two `#rrggbb` strings.
pub fn colours(text: &str, background: &str) -> Colours {
    Colours {
        text: text.parse::<Colour>().unwrap(),
        background: background.parse::<Colour>().unwrap(),
    }
}

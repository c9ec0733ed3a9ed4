//! Headless playback benchmark: a generated 1080p H.264 video looping in a main zone with a
//! Japanese ticker over it. Prints CPU time per second of playback, memory and frame counts.
//!
//! ```sh
//! cargo run -p render --release --example render-bench -- [--seconds 300] [--fps 30] \
//!     [--screenshot out.png]
//! ```

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use content::asset::{Colour, Colours};
use render::gstreamer as gst;
use render::gstreamer::prelude::*;
use render::health::{process_cpu_time, process_rss_bytes};
use render::{Fit, Item, Rect, RenderConfig, RenderEvent, Renderer, ScreenPlan, ZonePlan};

const VIDEO_SECONDS: u64 = 10;

fn main() {
    let mut seconds = 300u64;
    let mut fps = 30u32;
    let mut screenshot = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--seconds" => seconds = value().parse().expect("--seconds: a number"),
            "--minutes" => seconds = 60 * value().parse::<u64>().expect("--minutes: a number"),
            "--fps" => fps = value().parse().expect("--fps: a number"),
            "--screenshot" => screenshot = Some(value()),
            other => panic!("unknown argument {other}; see the file's documentation"),
        }
    }
    render::init().unwrap();
    let dir = std::env::temp_dir().join(format!("render-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let clip = dir.join("clip-1080p.mp4");
    let made = Instant::now();
    generate(&format!(
        "videotestsrc num-buffers={} pattern=smpte horizontal-speed=4 \
         ! video/x-raw,width=1920,height=1080,framerate=30/1 \
         ! x264enc speed-preset=veryfast bitrate=6000 key-int-max=60 \
         ! video/x-h264,profile=high ! mp4mux ! filesink location={}",
        VIDEO_SECONDS * 30,
        clip.display()
    ));
    println!(
        "generated {} in {:.1} s",
        clip.display(),
        made.elapsed().as_secs_f32()
    );

    let (renderer, events) = Renderer::new(RenderConfig {
        fps,
        ..RenderConfig::default()
    })
    .unwrap();
    let video = Item::Video {
        path: clip.clone(),
        fit: Fit::Fit,
    };
    let white_on_navy = Colours {
        text: "#ffffff".parse::<Colour>().unwrap(),
        background: "#002040".parse::<Colour>().unwrap(),
    };
    let ticker = Item::Ticker {
        texts: BTreeMap::from([
            (
                "ja".into(),
                "本日の窓口受付は17時までです。マイナンバーカードの手続きは2番窓口へ".to_owned(),
            ),
            (
                "en".into(),
                "Counters close at 5 pm today. My Number card: counter 2".to_owned(),
            ),
        ])
        .into_iter()
        .collect(),
        colours: white_on_navy,
    };
    let plan = |instance: u64| ScreenPlan {
        zones: vec![
            ZonePlan {
                id: "main".into(),
                rect: Rect {
                    x: 0,
                    y: 0,
                    width: 1920,
                    height: 980,
                },
                z: 0,
                item: video.clone(),
                instance,
                next: Some(video.clone()),
            },
            ZonePlan {
                id: "ticker".into(),
                rect: Rect {
                    x: 0,
                    y: 980,
                    width: 1920,
                    height: 100,
                },
                z: 1,
                item: ticker.clone(),
                instance: 0,
                next: None,
            },
        ],
    };
    renderer.show(plan(0)).unwrap();
    // Warm-up: the first items pre-roll and the caches fill.
    std::thread::sleep(Duration::from_secs(3));
    let cpu0 = process_cpu_time();
    let stats0 = renderer.stats();
    let start = Instant::now();
    let mut peak_rss = 0u64;
    let mut instance = 0;
    let mut next_loop = Duration::from_secs(VIDEO_SECONDS - 3);
    while start.elapsed() < Duration::from_secs(seconds) {
        std::thread::sleep(Duration::from_millis(250));
        if start.elapsed() >= next_loop {
            instance += 1;
            renderer.show(plan(instance)).unwrap();
            next_loop += Duration::from_secs(VIDEO_SECONDS);
        }
        peak_rss = peak_rss.max(process_rss_bytes().unwrap_or(0));
        for event in events.try_iter() {
            println!("event: {event:?}");
            if let RenderEvent::Fault { .. } = event {
                println!("  (the watchdog rebuilt the pipeline)");
            }
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = (process_cpu_time() - cpu0).as_secs_f64();
    let stats = renderer.stats();
    if let Some(path) = screenshot {
        std::fs::write(&path, renderer.screenshot(960).unwrap()).unwrap();
        println!("screenshot: {path}");
    }
    let rendered = stats.frames_rendered - stats0.frames_rendered;
    println!(
        "playback: {wall:.1} s at {fps} fps, 1920x1080 canvas, 1080p H.264 + ticker, headless"
    );
    println!(
        "cpu: {:.3} s per second of playback ({:.1}% of one core)",
        cpu / wall,
        100.0 * cpu / wall
    );
    println!(
        "rss: {:.1} MiB now, {:.1} MiB peak",
        process_rss_bytes().unwrap_or(0) as f64 / 1048576.0,
        peak_rss as f64 / 1048576.0
    );
    println!(
        "frames: {rendered} rendered of {:.0} expected, {} dropped, {} video restarts, {} rebuilds",
        wall * f64::from(fps),
        stats.frames_dropped - stats0.frames_dropped,
        instance,
        stats.rebuilds
    );
    drop(renderer);
    let _ = std::fs::remove_dir_all(&dir);
}

fn generate(description: &str) {
    let pipeline = gst::parse::launch(description).unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let message = pipeline
        .bus()
        .unwrap()
        .timed_pop_filtered(
            gst::ClockTime::NONE,
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .unwrap();
    if let gst::MessageView::Error(e) = message.view() {
        panic!("generating the clip: {}", e.error());
    }
    pipeline.set_state(gst::State::Null).unwrap();
}

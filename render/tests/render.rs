//! The renderer end to end: real GStreamer pipelines, headless, with media made by the tests.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use common::{Picture, close, colours, png, small_config, video, wait_for, zone};
use content::asset::SlideText;
use render::gstreamer as gst;
use render::gstreamer::prelude::*;
use render::{Fault, Fit, Item, Orientation, RenderConfig, RenderEvent, Renderer, ScreenPlan};

fn japanese_slide() -> Item {
    Item::Text {
        texts: vec![(
            "ja".into(),
            SlideText {
                title: "緊急地震速報".into(),
                body: "強い揺れに警戒してください".into(),
            },
        )],
        colours: colours("#ffffff", "#003366"),
    }
}

fn ticker() -> Item {
    Item::Ticker {
        texts: BTreeMap::from([(
            "ja".into(),
            "本日の窓口は17時まで　Counters close at 5 pm".to_owned(),
        )])
        .into_iter()
        .collect(),
        colours: colours("#ffffff", "#202020"),
    }
}

fn all_showing(stats: &render::RenderStats) -> bool {
    !stats.showing.is_empty() && stats.showing.iter().all(|(_, item)| item.is_some())
}

/// The screen once every zone shows its item and a few frames with all of them were composed.
fn composed(renderer: &Renderer) -> Picture {
    wait_for(renderer, Duration::from_secs(20), all_showing);
    let frames = renderer.frames();
    for _ in 0..3 {
        frames.recv_timeout(Duration::from_secs(5)).unwrap();
    }
    Picture::decode(&renderer.screenshot(640).unwrap(), 640, 360)
}

#[test]
fn a_two_zone_layout_shows_the_image_and_japanese_text() {
    let dir = tempfile::tempdir().unwrap();
    let green = png(dir.path(), "green.png", 0x00ff00, 320, 240);
    let (renderer, _events) = Renderer::new(small_config()).unwrap();
    renderer
        .show(ScreenPlan {
            zones: vec![
                zone(
                    "image",
                    (0, 0, 320, 360),
                    Item::Image {
                        path: green,
                        fit: Fit::Fill,
                    },
                ),
                zone("notice", (320, 0, 320, 360), japanese_slide()),
            ],
        })
        .unwrap();
    let picture = composed(&renderer);
    // Fill: the 4:3 image covers its whole 8:9 zone, corners included.
    for (x, y) in [(5, 5), (160, 180), (314, 354)] {
        assert!(
            close(picture.rgb(x, y), (0, 255, 0)),
            "image at {x},{y}: {:?}",
            picture.rgb(x, y)
        );
    }
    // The slide's background at its corners, white glyphs in its middle.
    for (x, y) in [(325, 5), (634, 354)] {
        assert!(
            close(picture.rgb(x, y), (0, 0x33, 0x66)),
            "slide at {x},{y}: {:?}",
            picture.rgb(x, y)
        );
    }
    let (mut glyph, mut background) = (0, 0);
    for y in 0..360 {
        for x in 320..640 {
            let p = picture.rgb(x, y);
            if p.0 > 200 && p.1 > 200 && p.2 > 200 {
                glyph += 1;
            } else if close(p, (0, 0x33, 0x66)) {
                background += 1;
            }
        }
    }
    assert!(glyph > 1500, "too few glyph pixels: {glyph}");
    assert!(
        background > glyph * 3,
        "the text covers too much: {glyph} glyph, {background} background"
    );

    // A smaller screenshot keeps the aspect ratio.
    let small = Picture::decode(&renderer.screenshot(160).unwrap(), 160, 90);
    assert!(close(small.rgb(40, 45), (0, 255, 0)));
}

#[test]
fn a_long_slide_keeps_its_text_inside_its_zone() {
    let body = "区役所の窓口は年末年始（12月29日から1月3日まで）お休みです。\
                証明書はコンビニエンスストアで取得できます。";
    let english = "The ward office is closed from 29 December to 3 January. \
                   Certificates are available at convenience stores.";
    let slide = Item::Text {
        texts: vec![
            (
                "ja".into(),
                SlideText {
                    title: "年末年始の閉庁のお知らせ".into(),
                    body: body.into(),
                },
            ),
            (
                "en".into(),
                SlideText {
                    title: "Year-end closure of the ward office".into(),
                    body: english.into(),
                },
            ),
        ],
        colours: colours("#ffffff", "#003366"),
    };
    let (renderer, _events) = Renderer::new(small_config()).unwrap();
    renderer
        .show(ScreenPlan {
            zones: vec![zone("notice", (160, 0, 320, 360), slide)],
        })
        .unwrap();
    let picture = composed(&renderer);
    // The slide keeps a margin of 1/20 of the zone's shorter side (16 px): glyphs inside it,
    // none in it, none outside the zone.
    let (mut inside, mut margin) = (0, 0);
    for y in 0..360 {
        for x in 0..640 {
            let p = picture.rgb(x, y);
            if p.0 > 160 && p.1 > 160 && p.2 > 160 {
                if (176..464).contains(&x) && (16..344).contains(&y) {
                    inside += 1;
                } else {
                    margin += 1;
                }
            }
        }
    }
    assert!(inside > 2000, "too few glyph pixels: {inside}");
    assert_eq!(margin, 0, "glyph pixels in the margin or outside the zone");
}

#[test]
fn a_video_zone_moves() {
    let dir = tempfile::tempdir().unwrap();
    let clip = video(
        dir.path(),
        "bars.mp4",
        "pattern=smpte horizontal-speed=8",
        320,
        240,
        150,
    );
    let (renderer, _events) = Renderer::new(small_config()).unwrap();
    renderer
        .show(ScreenPlan {
            zones: vec![zone(
                "main",
                (0, 0, 640, 360),
                Item::Video {
                    path: clip,
                    fit: Fit::Fit,
                },
            )],
        })
        .unwrap();
    wait_for(&renderer, Duration::from_secs(20), all_showing);
    let frames = renderer.frames();
    let hashes: HashSet<u64> = (0..20)
        .map(|_| frames.recv_timeout(Duration::from_secs(5)).unwrap().hash)
        .collect();
    assert!(
        hashes.len() >= 10,
        "only {} different frames in 20",
        hashes.len()
    );
}

#[test]
fn no_frame_is_black_across_playlist_transitions() {
    let dir = tempfile::tempdir().unwrap();
    let bars = video(
        dir.path(),
        "bars.mp4",
        "pattern=smpte horizontal-speed=8",
        320,
        240,
        300,
    );
    let blue = png(dir.path(), "blue.png", 0x2050c0, 320, 180);
    let ball = video(
        dir.path(),
        "ball.mp4",
        "pattern=ball background-color=0xffc08020",
        320,
        240,
        300,
    );
    let full = (0, 0, 640, 360);
    let (renderer, _events) = Renderer::new(small_config()).unwrap();

    // The video, with the image announced as next so that it pre-rolls.
    let mut first = zone(
        "main",
        full,
        Item::Video {
            path: bars,
            fit: Fit::Fit,
        },
    );
    first.next = Some(Item::Image {
        path: blue.clone(),
        fit: Fit::Stretch,
    });
    renderer.show(ScreenPlan { zones: vec![first] }).unwrap();
    wait_for(&renderer, Duration::from_secs(20), all_showing);
    std::thread::sleep(Duration::from_millis(500));

    let frames = renderer.frames();
    // Pre-rolled switch to the image, then an unannounced switch to another video.
    renderer
        .show(ScreenPlan {
            zones: vec![zone(
                "main",
                full,
                Item::Image {
                    path: blue,
                    fit: Fit::Stretch,
                },
            )],
        })
        .unwrap();
    wait_for(&renderer, Duration::from_secs(20), |s| {
        matches!(s.showing[0].1, Some(Item::Image { .. }))
    });
    let on_image = Picture::decode(&renderer.screenshot(64).unwrap(), 64, 36);
    assert!(
        close(on_image.rgb(32, 18), (0x20, 0x50, 0xc0)),
        "{:?}",
        on_image.rgb(32, 18)
    );
    renderer
        .show(ScreenPlan {
            zones: vec![zone(
                "main",
                full,
                Item::Video {
                    path: ball,
                    fit: Fit::Fit,
                },
            )],
        })
        .unwrap();
    wait_for(&renderer, Duration::from_secs(20), |s| {
        matches!(s.showing[0].1, Some(Item::Video { .. }))
    });
    std::thread::sleep(Duration::from_millis(500));
    let on_ball = Picture::decode(&renderer.screenshot(64).unwrap(), 64, 36);
    assert!(
        close(on_ball.rgb(20, 2), (0xc0, 0x80, 0x20)),
        "{:?}",
        on_ball.rgb(20, 2)
    );

    let seen: Vec<render::FrameInfo> = frames.try_iter().collect();
    assert!(seen.len() >= 15, "only {} frames sampled", seen.len());
    for pair in seen.windows(2) {
        let step = pair[1].running_time.saturating_sub(pair[0].running_time);
        assert!(
            step <= Duration::from_millis(140),
            "a gap of {step:?} in the composed frames"
        );
    }
    let black: Vec<_> = seen.iter().filter(|f| f.is_black()).collect();
    assert!(
        black.is_empty(),
        "{} black frames of {}: {:?}",
        black.len(),
        seen.len(),
        black[0]
    );
}

fn element_by_factory(pipeline: &gst::Pipeline, factory: &str) -> gst::Element {
    pipeline
        .iterate_recurse()
        .into_iter()
        .flatten()
        .find(|e| e.factory().is_some_and(|f| f.name() == factory))
        .unwrap_or_else(|| panic!("no {factory} in the pipeline"))
}

fn expect_recovery(
    renderer: &Renderer,
    events: &std::sync::mpsc::Receiver<RenderEvent>,
    started: Instant,
) -> Fault {
    let fault = match events.recv_timeout(Duration::from_secs(15)).unwrap() {
        RenderEvent::Fault { fault, .. } => fault,
        other => panic!("expected a fault, got {other:?}"),
    };
    match events.recv_timeout(Duration::from_secs(15)).unwrap() {
        RenderEvent::Recovered {
            fault: recovered, ..
        } => assert_eq!(recovered, fault),
        other => panic!("expected recovery, got {other:?}"),
    }
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "recovered only after {took:?}"
    );
    let before = renderer.stats().frames_rendered;
    wait_for(renderer, Duration::from_secs(10), |s| {
        s.frames_rendered > before + 5 && all_showing(s)
    });
    assert_eq!(renderer.stats().rebuilds, 1);
    fault
}

fn live_layout() -> ScreenPlan {
    ScreenPlan {
        zones: vec![
            zone("notice", (0, 0, 640, 300), japanese_slide()),
            zone("ticker", (0, 300, 640, 60), ticker()),
        ],
    }
}

#[test]
fn a_stalled_pipeline_is_rebuilt_and_reported() {
    let config = RenderConfig {
        watchdog: render::WatchdogConfig::default(),
        ..small_config()
    };
    let (renderer, events) = Renderer::new(config).unwrap();
    renderer.show(live_layout()).unwrap();
    wait_for(&renderer, Duration::from_secs(20), all_showing);
    std::thread::sleep(Duration::from_secs(3)); // past the watchdog's start-up grace

    // Wedge the compositor's output: no frame gets past it any more.
    let pipeline = renderer.pipeline().unwrap();
    let compositor = element_by_factory(&pipeline, "compositor");
    compositor.static_pad("src").unwrap().add_probe(
        gst::PadProbeType::BLOCK | gst::PadProbeType::BUFFER,
        |_, _| gst::PadProbeReturn::Ok,
    );
    let fault = expect_recovery(&renderer, &events, Instant::now());
    assert!(matches!(fault, Fault::Stalled { .. }), "{fault:?}");
    assert_ne!(renderer.pipeline().unwrap(), pipeline);
}

#[test]
fn a_pipeline_error_is_rebuilt_and_reported() {
    let (renderer, events) = Renderer::new(small_config()).unwrap();
    renderer.show(live_layout()).unwrap();
    wait_for(&renderer, Duration::from_secs(20), all_showing);
    let compositor = element_by_factory(&renderer.pipeline().unwrap(), "compositor");
    let started = Instant::now();
    compositor.post_error_message(gst::error_msg!(
        gst::CoreError::Failed,
        ["injected failure"]
    ));
    let fault = expect_recovery(&renderer, &events, started);
    assert!(fault.to_string().contains("injected failure"), "{fault}");
}

#[test]
fn a_missing_file_is_reported_and_the_zone_keeps_its_item() {
    let (renderer, events) = Renderer::new(small_config()).unwrap();
    renderer.show(live_layout()).unwrap();
    wait_for(&renderer, Duration::from_secs(20), all_showing);
    let mut plan = live_layout();
    plan.zones[0].item = Item::Video {
        path: "/nonexistent/clip.mp4".into(),
        fit: Fit::Fit,
    };
    renderer.show(plan).unwrap();
    match events.recv_timeout(Duration::from_secs(10)).unwrap() {
        RenderEvent::ItemFailed { zone, message } => {
            assert_eq!(zone, "notice");
            assert!(message.contains("/nonexistent/clip.mp4"), "{message}");
        }
        other => panic!("expected ItemFailed, got {other:?}"),
    }
    assert!(matches!(
        renderer.stats().showing[0].1,
        Some(Item::Text { .. })
    ));
}

#[test]
fn a_portrait_canvas_is_rotated_for_the_panel() {
    let config = RenderConfig {
        width: 360,
        height: 640,
        orientation: Orientation::PortraitTurnedClockwise,
        ..small_config()
    };
    let (renderer, _events) = Renderer::new(config).unwrap();
    renderer
        .show(ScreenPlan {
            zones: vec![zone("notice", (0, 0, 360, 640), japanese_slide())],
        })
        .unwrap();
    let shown = wait_for(&renderer, Duration::from_secs(20), all_showing).frames_rendered;
    wait_for(&renderer, Duration::from_secs(10), |s| {
        s.frames_rendered > shown + 3
    });
    let sink = element_by_factory(&renderer.pipeline().unwrap(), "fakesink");
    let caps = sink.static_pad("sink").unwrap().current_caps().unwrap();
    let s = caps.structure(0).unwrap();
    assert_eq!(
        (
            s.get::<i32>("width").unwrap(),
            s.get::<i32>("height").unwrap()
        ),
        (640, 360)
    );
    // The screenshot is the upright canvas, as visitors see it.
    let picture = Picture::decode(&renderer.screenshot(360).unwrap(), 360, 640);
    assert!(
        close(picture.rgb(5, 5), (0, 0x33, 0x66)),
        "{:?}",
        picture.rgb(5, 5)
    );
}

//! The emergency-alert takeover on a real headless pipeline: it covers the schedule's content
//! at once in the warning-level colour with Japanese text, a drill looks different (its own
//! palette, hatched frame), and clearing brings the content back.

mod common;

use std::time::Duration;

use alerts::flash::FlashPlan;
use alerts::templates::Rgb;
use common::{Picture, close, png, small_config, wait_for};
use render::{AlertScreen, AlertText, Item, Rect, Renderer, ScreenPlan, ZonePlan};

const W: u32 = 640;
const H: u32 = 360;
const RED: (u8, u8, u8) = (255, 40, 0);
const GREEN: (u8, u8, u8) = (0, 255, 0);
const DRILL_BODY: (u8, u8, u8) = (38, 50, 92);

fn alert(drill: bool) -> AlertScreen {
    AlertScreen {
        background: Rgb(RED.0, RED.1, RED.2),
        text: Rgb(255, 255, 255),
        drill,
        banners: if drill {
            vec![
                ("ja".into(), "【訓練】これは訓練です".into()),
                ("en".into(), "[DRILL] This is a drill".into()),
            ]
        } else {
            vec![]
        },
        fixed: vec![AlertText {
            lang: "ja".into(),
            headline: "緊急地震速報".into(),
            instruction: "強い揺れに警戒".into(),
        }],
        rotating: vec![],
        flash: FlashPlan::steady(),
    }
}

fn screenshot(renderer: &Renderer) -> Picture {
    Picture::decode(&renderer.screenshot(W).unwrap(), W, H)
}

/// Share of the picture's pixels close to `colour`, and the count of bright (text) pixels
/// inside the area away from the frame.
fn census(p: &Picture, colour: (u8, u8, u8)) -> (f64, usize) {
    let (mut near, mut bright) = (0usize, 0usize);
    for y in 0..p.height {
        for x in 0..p.width {
            let c = p.rgb(x, y);
            if close(c, colour) {
                near += 1;
            }
            let inside = (40..p.width - 40).contains(&x) && (40..p.height - 40).contains(&y);
            if inside && c.0 > 200 && c.1 > 200 && c.2 > 200 {
                bright += 1;
            }
        }
    }
    (near as f64 / (p.width * p.height) as f64, bright)
}

/// Waits for the takeover's frame to reach the screenshots.
fn wait_picture(renderer: &Renderer, what: &str, ok: impl Fn(&Picture) -> bool) -> Picture {
    let start = std::time::Instant::now();
    loop {
        let p = screenshot(renderer);
        if ok(&p) {
            return p;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "gave up waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_takeover_covers_the_content_and_a_drill_looks_different() {
    let dir = tempfile::tempdir().unwrap();
    let green = png(dir.path(), "green.png", 0x00ff00, W, H);
    let (renderer, _events) = Renderer::new(small_config()).unwrap();
    renderer
        .show(ScreenPlan {
            zones: vec![ZonePlan {
                id: "all".into(),
                rect: Rect {
                    x: 0,
                    y: 0,
                    width: W,
                    height: H,
                },
                z: 0,
                item: Item::Image {
                    path: green,
                    fit: render::Fit::Stretch,
                },
                instance: 0,
                next: None,
            }],
        })
        .unwrap();
    wait_for(&renderer, Duration::from_secs(15), |s| {
        s.showing.iter().all(|(_, i)| i.is_some()) && !s.showing.is_empty()
    });
    wait_picture(&renderer, "the green content", |p| census(p, GREEN).0 > 0.9);

    // A real alert: the level colour over (nearly) everything, white Japanese glyphs.
    let shown = renderer.show_alert(Some(alert(false))).unwrap().unwrap();
    let displayed = shown.wait(Duration::from_secs(5));
    assert!(
        displayed.is_some(),
        "the renderer says when it was displayed"
    );
    let real = wait_picture(&renderer, "the red takeover", |p| census(p, RED).0 > 0.6);
    let (red, glyphs) = census(&real, RED);
    assert!(
        census(&real, GREEN).0 < 0.01,
        "nothing of the content shows"
    );
    assert!(glyphs > 300, "Japanese text drawn: {glyphs} bright pixels");
    assert!(red < 0.99, "text and border take some pixels");

    // A drill: its own body colour, never the level's; striped frame.
    renderer.show_alert(Some(alert(true))).unwrap();
    let drill = wait_picture(&renderer, "the drill look", |p| {
        census(p, DRILL_BODY).0 > 0.4
    });
    assert!(
        census(&drill, RED).0 < 0.2,
        "a drill is not painted like a real alert"
    );
    let corner: std::collections::BTreeSet<bool> = (0..40)
        .map(|x| {
            let (r, g, _) = drill.rgb(x, 3);
            r > 150 && g > 120
        })
        .collect();
    assert_eq!(corner.len(), 2, "the frame alternates yellow and black");

    // Clear: the content is back.
    assert!(renderer.show_alert(None).unwrap().is_none());
    wait_picture(&renderer, "the content again", |p| census(p, GREEN).0 > 0.9);
}

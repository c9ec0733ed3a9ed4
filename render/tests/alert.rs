//! The emergency-alert takeover on a real headless pipeline: it covers the schedule's content
//! at once in the warning-level colour with Japanese text, a drill looks different (its own
//! palette, hatched frame), and clearing brings the content back. Alerts keep being shown
//! while layouts change under a busy CPU.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use alerts::flash::FlashPlan;
use alerts::templates::Rgb;
use common::{Picture, close, colours, png, small_config, wait_for, zone};
use render::{AlertScreen, AlertText, Fit, Item, Rect, Renderer, ScreenPlan, ZonePlan};

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

/// Busy threads on every core until dropped, as on a player also counting people.
struct CpuLoad {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl CpuLoad {
    fn new(threads: usize) -> CpuLoad {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..threads)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
                    }
                })
            })
            .collect();
        CpuLoad { stop, threads }
    }
}

impl Drop for CpuLoad {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Switching between a full-screen poster and poster + scrolling ticker while alerts come and
/// go. A replaced image branch used to be set playing again by the pipeline while it stopped
/// (its decoder's preroll made the whole pipeline lose its state): alerts then never reached
/// the screen, and the process could abort.
#[test]
fn alerts_show_while_layouts_change_on_a_busy_machine() {
    let dir = tempfile::tempdir().unwrap();
    let green = png(dir.path(), "green.png", 0x00ff00, W, 300);
    let mut config = small_config();
    config.fps = 10;
    let (renderer, _events) = Renderer::new(config).unwrap();
    let poster = |height| {
        zone(
            "main",
            (0, 0, W, height),
            Item::Image {
                path: green.clone(),
                fit: Fit::Stretch,
            },
        )
    };
    let frames = renderer.frames();
    let _load = CpuLoad::new(4);
    for i in 0..24u32 {
        let zones = if i % 3 == 0 {
            vec![poster(H)]
        } else {
            let ticker = Item::Ticker {
                texts: vec![("ja".into(), format!("本日の窓口は17時まで　その{i}"))],
                colours: colours("#ffffff", "#202020"),
            };
            vec![
                poster(300),
                zone(&format!("ticker{i}"), (0, 300, W, 60), ticker),
            ]
        };
        renderer.show(ScreenPlan { zones }).unwrap();
        // The alert lands at a different moment of the branches' start-up each time.
        for _ in 0..i % 4 {
            frames
                .recv_timeout(Duration::from_secs(10))
                .expect("frames keep coming");
        }
        let mut screen = alert(i % 5 == 4);
        screen.fixed[0].headline = format!("緊急地震速報 {i}");
        let shown = renderer.show_alert(Some(screen)).unwrap().unwrap();
        assert!(
            shown.wait(Duration::from_secs(10)).is_some(),
            "alert {i} never reached the screen: {:#?}",
            renderer.stats()
        );
        if i % 2 == 0 {
            renderer.show_alert(None).unwrap();
        }
    }
    let stats = wait_for(&renderer, Duration::from_secs(20), |s| {
        !s.showing.is_empty() && s.showing.iter().all(|(_, item)| item.is_some())
    });
    assert_eq!(stats.rebuilds, 0, "no fault along the way: {stats:#?}");
}

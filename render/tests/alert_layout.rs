//! Every alert legible on every screen: every template at its level, live and as a drill
//! (exercise and test), in each language rotation, for one ward and for five coastal wards at
//! once, at 1920x1080, 1080x1920 and 1280x720. Measured where it is drawn:
//! - every text is whole (nothing cut or ellipsized, no missing glyphs);
//! - no text pixel falls outside the safe text area, so none is in the frame, the hatching or
//!   a banner band; each banner is one line in its band;
//! - the headline's glyphs are at least 1/30 of the screen height (those of the further
//!   languages' headlines at least 1/40 of its shorter side);
//! - every text/background colour pair has a WCAG contrast of at least 4.5:1.

use std::time::Duration;

use alerts::model::Status;
use render::{ALERT_ROTATION, AlertScreen, Area, Takeover, contrast, template_screens};

const PLACES: [&[&str]; 2] = [
    &["kita"],
    &["konohana", "minato", "taisho", "suminoe", "nishiyodogawa"],
];
const STATUSES: [Status; 3] = [Status::Actual, Status::Exercise, Status::Test];

fn without_text(screen: &AlertScreen) -> AlertScreen {
    let mut blank = screen.clone();
    for t in blank.fixed.iter_mut().chain(blank.rotating.iter_mut()) {
        t.headline.clear();
        t.instruction.clear();
    }
    blank
}

/// Pixels that differ between two frames and lie outside `area`, and the count that differ.
fn text_pixels(with: &[u8], without: &[u8], width: i32, area: Area) -> (usize, usize) {
    let row = width as usize * 4;
    let (mut outside, mut all) = (0, 0);
    for (y, (a, b)) in with
        .chunks_exact(row)
        .zip(without.chunks_exact(row))
        .enumerate()
    {
        if a == b {
            continue;
        }
        for (x, (p, q)) in a.chunks_exact(4).zip(b.chunks_exact(4)).enumerate() {
            if p != q {
                all += 1;
                let (x, y) = (x as i32, y as i32);
                if x < area.x || x >= area.right() || y < area.y || y >= area.bottom() {
                    outside += 1;
                }
            }
        }
    }
    (outside, all)
}

fn check_size(width: u32, height: u32) {
    let mut checked = 0;
    for status in STATUSES {
        for places in PLACES {
            for (name, screen) in template_screens(places, status) {
                let case = format!("{name} {status:?} {places:?} {width}x{height}");
                let mut takeover = Takeover::new(screen.clone(), width, height);
                let mut blank = Takeover::new(without_text(&screen), width, height);
                for rotation in 0..screen.rotating.len().max(1) {
                    let case = format!("{case} rotation {rotation}");
                    let check = takeover.check(rotation);
                    let g = check.geometry;
                    assert!(check.complete, "{case}: text cut: {:?}", check.sizes);
                    assert_eq!(check.unknown_glyphs, 0, "{case}: glyphs missing");
                    for ink in &check.ink {
                        assert!(
                            g.text.contains(*ink),
                            "{case}: {ink:?} outside {:?}",
                            g.text
                        );
                    }
                    let (first, others) = check.headline_heights.split_first().unwrap();
                    assert!(
                        *first as u32 * 30 >= height,
                        "{case}: headline glyphs {first} px, under 1/30 of {height}"
                    );
                    let side = width.min(height);
                    for h in others {
                        assert!(
                            *h as u32 * 40 >= side,
                            "{case}: further headline glyphs {h} px, under 1/40 of {side}"
                        );
                    }
                    for (what, fg, bg) in &check.colour_pairs {
                        let c = contrast(*fg, *bg);
                        assert!(c >= 4.5, "{case}: {what} {fg} on {bg} is {c:.2}:1");
                    }
                    match (&check.banner, g.bands) {
                        (None, None) => assert_eq!(status, Status::Actual, "{case}"),
                        (Some((line, _, strip)), Some((top, bottom))) => {
                            assert!(!line.contains('\n'), "{case}: banner on one line");
                            assert_eq!(*strip, top.h, "{case}: banner strip fills its band");
                            for band in [top, bottom] {
                                assert!(g.panel.contains(band), "{case}: band outside panel");
                                assert!(
                                    band.bottom() <= g.text.y || band.y >= g.text.bottom(),
                                    "{case}: band over the text"
                                );
                            }
                        }
                        other => panic!("{case}: banner and bands disagree: {other:?}"),
                    }
                    // Pixels: only text differs from the same takeover without text, and
                    // every such pixel is inside the safe text area. One place is enough
                    // here (the measures above cover both).
                    if places.len() == 1 && status != Status::Test {
                        let at = ALERT_ROTATION * rotation as u32 + Duration::from_millis(1);
                        let (outside, all) =
                            text_pixels(&takeover.frame(at), &blank.frame(at), g.width, g.text);
                        assert!(all > 1000, "{case}: only {all} text pixels drawn");
                        assert_eq!(
                            outside, 0,
                            "{case}: {outside} text pixels off the text area"
                        );
                    }
                    checked += 1;
                }
            }
        }
    }
    println!("{width}x{height}: {checked} takeovers checked");
    assert!(checked >= 3 * 2 * 10, "{checked}");
}

#[test]
fn every_takeover_fits_at_1920x1080() {
    check_size(1920, 1080);
}

#[test]
fn every_takeover_fits_at_1080x1920() {
    check_size(1080, 1920);
}

#[test]
fn every_takeover_fits_at_1280x720() {
    check_size(1280, 720);
}

#[test]
fn a_drill_banner_too_long_for_its_band_scrolls_and_stays_in_it() {
    let (_, mut screen) = template_screens(&["kita"], Status::Exercise).remove(1);
    screen.banners = screen
        .banners
        .iter()
        .map(|(l, t)| (l.clone(), t.repeat(4)))
        .collect();
    let mut takeover = Takeover::new(screen, 1280, 720);
    assert!(takeover.scrolls(0));
    let (_, _, first) = takeover.state(Duration::from_millis(0));
    let (_, _, later) = takeover.state(Duration::from_millis(1000));
    assert_ne!(first, later, "the banner moves");
    let g = takeover.geometry();
    let (top, _) = g.bands.unwrap();
    let a = takeover.frame(Duration::from_millis(0));
    let b = takeover.frame(Duration::from_millis(1000));
    let region = |frame: &[u8], area: Area| -> Vec<u8> {
        let row = g.width as usize * 4;
        (area.y..area.bottom())
            .flat_map(|y| {
                let start = y as usize * row + area.x as usize * 4;
                frame[start..start + area.w as usize * 4].to_vec()
            })
            .collect()
    };
    assert_ne!(region(&a, top), region(&b, top), "the band's pixels change");
    assert_eq!(
        region(&a, g.text),
        region(&b, g.text),
        "the text stands still"
    );
}

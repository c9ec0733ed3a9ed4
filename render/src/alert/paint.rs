//! The takeover's pictures, BGRA. A panel in the body colour carries the text, fitted with
//! Pango inside safe margins (see `fit`); around it a frame flashes (a real alert) or is
//! hatched (a drill); a drill's banner runs in one-line bands at the panel's top and bottom,
//! scrolling as a ticker when it is longer than the band. Text is never drawn over the frame.
//!
//! Pure apart from Pango and cairo: the same code paints the screen, the tests and the contact
//! sheet.

use std::time::Duration;

use alerts::templates::Rgb;
use content::asset::MIN_TEXT_CONTRAST;
use pangocairo::{cairo, pango};

use super::screen::{AlertScreen, AlertText, HATCH_DARK, HATCH_LIGHT};
use text_layout::fit::{self, Area, Fitted, Para, Strip};

/// A scrolling banner moves one step per frame at this interval.
pub(crate) const SCROLL_STEP: Duration = Duration::from_millis(40);

/// Where things go on a takeover of one size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    pub width: i32,
    pub height: i32,
    /// Inside the (flashing or hatched) frame.
    pub panel: Area,
    /// The drill banner's bands at the top and bottom of the panel.
    pub bands: Option<(Area, Area)>,
    /// Where headlines and instructions go: the panel less its safe margins and the bands.
    pub text: Area,
    /// Inside a band, the banner text keeps this far from the band's ends.
    pub margin: i32,
}

/// Width of the (flashing or hatched) frame around the takeover; a drill's is twice this.
pub(crate) fn border_px(width: u32, height: u32) -> u32 {
    (width.min(height) / 24).max(4)
}

/// Banner text size and band height on a screen whose shorter side is `side` long.
fn banner_px(side: i32) -> (f64, i32) {
    let px = (f64::from(side) / 30.0).max(12.0).round();
    (px, (px * 1.7).round() as i32)
}

impl Geometry {
    pub fn of(drill: bool, width: u32, height: u32) -> Geometry {
        let (w, h) = (width as i32, height as i32);
        let border = border_px(width, height) as i32 * if drill { 2 } else { 1 };
        let border = border.min(w / 4).min(h / 4);
        let panel = Area {
            x: border,
            y: border,
            w: w - 2 * border,
            h: h - 2 * border,
        };
        let margin = (w.min(h) / 40).max(4);
        let band = banner_px(w.min(h)).1;
        let bands = drill.then(|| {
            (
                Area { h: band, ..panel },
                Area {
                    y: panel.bottom() - band,
                    h: band,
                    ..panel
                },
            )
        });
        let top = if drill { band } else { 0 };
        let text = Area {
            x: panel.x + margin,
            y: panel.y + top + margin,
            w: (panel.w - 2 * margin).max(1),
            h: (panel.h - 2 * top - 2 * margin).max(1),
        };
        Geometry {
            width: w,
            height: h,
            panel,
            bands,
            text,
            margin,
        }
    }
}

/// What a test or reviewer checks on one rotation of a takeover.
#[derive(Debug, Clone)]
pub struct Check {
    pub geometry: Geometry,
    /// The ink of every headline and instruction, in frame pixels.
    pub ink: Vec<Area>,
    /// The glyph (ink) height of every headline.
    pub headline_heights: Vec<i32>,
    /// Every text could be drawn whole (nothing ellipsized or left out).
    pub complete: bool,
    /// Each drawn paragraph's size in pixels and its number of lines.
    pub sizes: Vec<(f64, i32)>,
    /// Characters no installed font can draw.
    pub unknown_glyphs: i32,
    /// The banner's line, whether it scrolls, and its strip's height.
    pub banner: Option<(String, bool, i32)>,
    /// Every (text, background) colour pair on screen, named.
    pub colour_pairs: Vec<(&'static str, Rgb, Rgb)>,
}

impl Check {
    /// What breaks the legibility rules, in words: text cut or missing glyphs, ink outside the
    /// text area, the first headline's glyphs under 1/30 of the screen's height, further
    /// headlines under 1/40 of its shorter side, a colour pair under WCAG's 4.5:1.
    pub fn problems(&self) -> Vec<String> {
        let g = self.geometry;
        let mut problems = Vec::new();
        if !self.complete {
            problems.push(format!("text cut (sizes and lines {:?})", self.sizes));
        }
        if self.unknown_glyphs > 0 {
            problems.push(format!(
                "{} characters without a glyph",
                self.unknown_glyphs
            ));
        }
        for ink in self.ink.iter().filter(|i| !g.text.contains(**i)) {
            problems.push(format!("text at {ink:?} outside {:?}", g.text));
        }
        if let Some((first, others)) = self.headline_heights.split_first() {
            if first * 30 < g.height {
                problems.push(format!(
                    "headline glyphs {first} px, under 1/30 of {}",
                    g.height
                ));
            }
            let side = g.width.min(g.height);
            for h in others.iter().filter(|h| **h * 40 < side) {
                problems.push(format!(
                    "further headline glyphs {h} px, under 1/40 of {side}"
                ));
            }
        }
        for (what, fg, bg) in &self.colour_pairs {
            let ratio = contrast(*fg, *bg);
            if ratio < MIN_TEXT_CONTRAST {
                problems.push(format!(
                    "{what} {fg} on {bg} is {ratio:.2}:1, under {MIN_TEXT_CONTRAST}:1"
                ));
            }
        }
        problems
    }

    /// The lowest contrast among the colour pairs.
    pub fn lowest_contrast(&self) -> f64 {
        self.colour_pairs
            .iter()
            .map(|(_, fg, bg)| contrast(*fg, *bg))
            .fold(f64::INFINITY, f64::min)
    }
}

/// WCAG 2's contrast ratio of two colours (the content model's, which slides are held to).
pub fn contrast(a: Rgb, b: Rgb) -> f64 {
    let colour = |c: Rgb| content::asset::Colour {
        r: c.0,
        g: c.1,
        b: c.2,
    };
    colour(a).contrast_ratio(colour(b))
}

fn unit(c: Rgb) -> (f64, f64, f64) {
    (
        f64::from(c.0) / 255.0,
        f64::from(c.1) / 255.0,
        f64::from(c.2) / 255.0,
    )
}

fn bgra(c: Rgb) -> [u8; 4] {
    [c.2, c.1, c.0, 255]
}

/// Headline and instruction paragraphs: Japanese largest, English next, then the rotating
/// language, each never below a size legible across a waiting room.
/// Sizes follow the screen's height; the minimums of all but the first headline follow its
/// shorter side, as a portrait screen is as wide as a landscape one is high.
fn paragraphs(screen: &AlertScreen, rotation: usize, g: &Geometry) -> (Vec<Para>, Vec<usize>) {
    let h = f64::from(g.height);
    let side = f64::from(g.width.min(g.height));
    let mut paras = Vec::new();
    let mut headlines = Vec::new();
    let mut block = |t: &AlertText, head: f64, body: f64, first: bool| {
        headlines.push(paras.len());
        paras.push(Para {
            text: t.headline.trim().to_owned(),
            px: head,
            // The first headline's glyphs stay at least 1/30 of the screen's height.
            min_px: if first { h / 25.0 } else { side / 34.0 },
            bold: true,
            one_line: true,
            gap_before: if first { 0.0 } else { 0.6 },
        });
        if !t.instruction.trim().is_empty() {
            paras.push(Para {
                text: t.instruction.trim().to_owned(),
                px: body,
                min_px: side / 48.0,
                bold: false,
                one_line: false,
                gap_before: 0.3,
            });
        }
    };
    for (i, t) in screen.fixed.iter().enumerate() {
        if i == 0 {
            block(t, h / 11.0, h / 20.0, true);
        } else {
            block(t, h / 14.0, h / 24.0, false);
        }
    }
    if let Some(t) = screen.rotating.get(rotation) {
        block(t, h / 16.0, h / 26.0, screen.fixed.is_empty());
    }
    (paras, headlines)
}

fn fitted(
    ctx: &pango::Context,
    screen: &AlertScreen,
    geo: &Geometry,
    rotation: usize,
) -> (Fitted, Vec<usize>) {
    let (paras, headlines) = paragraphs(screen, rotation, geo);
    (fit::fit(ctx, &paras, geo.text), headlines)
}

/// The banner line on its strip, at its size or smaller down to a minimum, for one rotation.
fn banner_strip(
    ctx: &pango::Context,
    screen: &AlertScreen,
    geo: &Geometry,
    rotation: usize,
) -> Option<(String, Strip, bool)> {
    let (top, _) = geo.bands?;
    let line = screen.banner_line(rotation)?;
    let (px, band) = banner_px(geo.width.min(geo.height));
    let room = top.w - 2 * geo.margin;
    let min_px = (f64::from(geo.width.min(geo.height)) / 40.0)
        .max(11.0)
        .round();
    let (px, scrolls) = match fit::one_line_px(ctx, &line, px, min_px, true, room) {
        Some(px) => (px, false),
        None => (min_px, true),
    };
    // A scrolling strip carries a gap before the line repeats.
    let pad = if scrolls { geo.margin * 2 } else { 0 };
    let strip = fit::strip(
        ctx,
        &line,
        px,
        band,
        pad,
        unit(HATCH_DARK),
        unit(HATCH_LIGHT),
    );
    Some((line, strip, scrolls))
}

/// The takeover of one alert at one size; keeps the last rotation's panel and banner so that
/// flashing and scrolling only copy pixels.
pub struct Takeover {
    screen: AlertScreen,
    geometry: Geometry,
    panel: Option<(usize, Vec<u8>)>,
    banner: Option<(usize, Option<(Strip, bool)>)>,
}

impl Takeover {
    pub fn new(screen: AlertScreen, width: u32, height: u32) -> Takeover {
        Takeover {
            geometry: Geometry::of(screen.drill, width, height),
            screen,
            panel: None,
            banner: None,
        }
    }

    pub fn screen(&self) -> &AlertScreen {
        &self.screen
    }

    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// The picture `elapsed` after the alert came on.
    pub fn frame(&mut self, elapsed: Duration) -> Vec<u8> {
        let (rotation, flash_on, offset) = self.state(elapsed);
        let mut frame = self.panel(rotation).to_vec();
        self.paint_border(flash_on, &mut frame);
        let geometry = self.geometry;
        if let Some(((strip, _), (top, bottom))) =
            self.banner(rotation).map(|b| (b, geometry.bands.unwrap()))
        {
            for band in [top, bottom] {
                paint_band(&geometry, band, strip, offset, &mut frame);
            }
        }
        frame
    }

    /// What the picture depends on at `elapsed`: (rotation, flash on, banner offset). A new
    /// frame is needed only when this changes.
    pub fn state(&mut self, elapsed: Duration) -> (usize, bool, i32) {
        let rotation = self.screen.rotation_at(elapsed);
        let flash_on = self.screen.flash.is_on(elapsed.as_millis() as u64);
        let g = self.geometry;
        let speed = f64::from(banner_px(g.width.min(g.height)).1) * 1.5;
        let offset = match self.banner(rotation) {
            Some((strip, true)) => {
                let steps = elapsed.as_millis() / SCROLL_STEP.as_millis();
                let px = (steps as f64 * speed * SCROLL_STEP.as_secs_f64()) as i64;
                (px % i64::from(strip.width.max(1))) as i32
            }
            _ => 0,
        };
        (rotation, flash_on, offset)
    }

    /// Whether the banner of this rotation scrolls (the picture then changes every step).
    pub fn scrolls(&mut self, rotation: usize) -> bool {
        matches!(self.banner(rotation), Some((_, true)))
    }

    /// Measures one rotation's texts where they will be drawn.
    pub fn check(&self, rotation: usize) -> Check {
        let ctx = fit::context();
        let (fitted, headlines) = fitted(&ctx, &self.screen, &self.geometry, rotation);
        let banner = banner_strip(&ctx, &self.screen, &self.geometry, rotation)
            .map(|(line, strip, scrolls)| (line, scrolls, strip.height));
        let mut colour_pairs = vec![("text", self.screen.body_text(), self.screen.body())];
        if banner.is_some() {
            colour_pairs.push(("banner", HATCH_DARK, HATCH_LIGHT));
        }
        Check {
            geometry: self.geometry,
            ink: fitted.ink(),
            headline_heights: headlines.iter().map(|&i| fitted.glyph_height(i)).collect(),
            complete: fitted.complete,
            sizes: fitted
                .placed
                .iter()
                .map(|p| (p.px, p.layout.line_count()))
                .collect(),
            unknown_glyphs: fitted.unknown_glyphs(),
            banner,
            colour_pairs,
        }
    }

    /// The body colour with this rotation's text, whole frame size (the frame is painted over).
    fn panel(&mut self, rotation: usize) -> &[u8] {
        if self.panel.as_ref().is_none_or(|(r, _)| *r != rotation) {
            let ctx = fit::context();
            let (text, _) = fitted(&ctx, &self.screen, &self.geometry, rotation);
            let pixels = draw(self.geometry, self.screen.body(), |cr| {
                text.draw(cr, unit(self.screen.body_text()));
            });
            self.panel = Some((rotation, pixels));
        }
        &self.panel.as_ref().unwrap().1
    }

    fn banner(&mut self, rotation: usize) -> Option<&(Strip, bool)> {
        if self.banner.as_ref().is_none_or(|(r, _)| *r != rotation) {
            let ctx = fit::context();
            let strip = banner_strip(&ctx, &self.screen, &self.geometry, rotation)
                .map(|(_, strip, scrolls)| (strip, scrolls));
            self.banner = Some((rotation, strip));
        }
        self.banner.as_ref().unwrap().1.as_ref()
    }

    /// Paints everything outside the panel: solid (flash on: the text colour, off: the body
    /// colour), or for a drill diagonal stripes whose phase flips with the flash. Rows are
    /// copied from templates, so a full-HD frame costs a few memcpy's.
    fn paint_border(&self, flash_on: bool, frame: &mut [u8]) {
        let g = self.geometry;
        let (w, p) = (g.width as usize, g.panel);
        let rows = frame.chunks_exact_mut(w * 4).enumerate();
        let outside = |y: usize| (y as i32) < p.y || (y as i32) >= p.bottom();
        if self.screen.drill {
            let stripe = (p.x as usize / 2).max(2);
            let (a, c) = if flash_on {
                (bgra(HATCH_LIGHT), bgra(HATCH_DARK))
            } else {
                (bgra(HATCH_DARK), bgra(HATCH_LIGHT))
            };
            // A row of stripes long enough to be shifted by one period.
            let template: Vec<u8> = (0..w + 2 * stripe)
                .flat_map(|x| if (x / stripe).is_multiple_of(2) { a } else { c })
                .collect();
            for (y, row) in rows {
                let shift = (2 * stripe - y % (2 * stripe)) % (2 * stripe);
                let stripes = &template[shift * 4..(shift + w) * 4];
                if outside(y) {
                    row.copy_from_slice(stripes);
                } else {
                    let (l, r) = (p.x as usize * 4, p.right() as usize * 4);
                    row[..l].copy_from_slice(&stripes[..l]);
                    row[r..].copy_from_slice(&stripes[r..]);
                }
            }
        } else {
            let edge = bgra(if flash_on {
                self.screen.text
            } else {
                self.screen.body()
            });
            let full = edge.repeat(w);
            for (y, row) in rows {
                if outside(y) {
                    row.copy_from_slice(&full);
                } else {
                    let (l, r) = (p.x as usize * 4, p.right() as usize * 4);
                    row[..l].copy_from_slice(&full[..l]);
                    row[r..].copy_from_slice(&full[r..]);
                }
            }
        }
    }
}

/// A frame-sized picture in `background` with whatever `paint` draws on it.
fn draw(g: Geometry, background: Rgb, paint: impl FnOnce(&cairo::Context)) -> Vec<u8> {
    let mut surface = cairo::ImageSurface::create(cairo::Format::ARgb32, g.width, g.height)
        .expect("a frame-sized image surface");
    {
        let cr = cairo::Context::new(&surface).expect("a cairo context");
        let (r, gr, b) = unit(background);
        cr.set_source_rgb(r, gr, b);
        let _ = cr.paint();
        paint(&cr);
    }
    surface.data().map(|d| d.to_vec()).unwrap_or_default()
}

/// Copies the banner strip into a band: centred when it fits, else scrolled left by `offset`
/// and repeated, cut at the band's ends like any ticker.
fn paint_band(g: &Geometry, band: Area, strip: &Strip, offset: i32, frame: &mut [u8]) {
    let w = g.width as usize;
    let fill = bgra(HATCH_LIGHT).repeat(band.w as usize);
    let scrolling = strip.width > band.w - 2 * g.margin;
    let starts: Vec<i32> = if scrolling {
        let first = band.x - offset;
        (0..)
            .map(|i| first + i * strip.width)
            .take_while(|x| *x < band.right())
            .collect()
    } else {
        vec![band.x + (band.w - strip.width) / 2]
    };
    for y in 0..band.h.min(strip.height) {
        let row = &mut frame[((band.y + y) as usize * w) * 4..((band.y + y + 1) as usize * w) * 4];
        row[band.x as usize * 4..band.right() as usize * 4].copy_from_slice(&fill);
        let source =
            &strip.pixels[(y * strip.width) as usize * 4..((y + 1) * strip.width) as usize * 4];
        for &x0 in &starts {
            let from = x0.max(band.x);
            let to = (x0 + strip.width).min(band.right());
            if from < to {
                let s = (from - x0) as usize * 4;
                row[from as usize * 4..to as usize * 4]
                    .copy_from_slice(&source[s..s + (to - from) as usize * 4]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alerts::flash::FlashPlan;

    fn screen(drill: bool) -> AlertScreen {
        let t = |lang: &str, h: &str| AlertText {
            lang: lang.into(),
            headline: h.into(),
            instruction: "<すぐに> & 避難".into(),
        };
        AlertScreen {
            background: Rgb(170, 0, 170),
            text: Rgb(255, 255, 255),
            drill,
            banners: if drill {
                vec![
                    ("ja".into(), "【訓練】これは訓練です".into()),
                    ("en".into(), "[DRILL] This is a drill".into()),
                    ("ko".into(), "[훈련] 이것은 훈련입니다".into()),
                ]
            } else {
                vec![]
            },
            fixed: vec![t("ja", "緊急地震速報"), t("en", "Earthquake Early Warning")],
            rotating: vec![t("ko", "긴급지진속보"), t("vi", "Cảnh báo động đất")],
            flash: FlashPlan::calm(),
        }
    }

    fn pixel(frame: &[u8], width: u32, x: u32, y: u32) -> [u8; 3] {
        let i = ((y * width + x) * 4) as usize;
        [frame[i + 2], frame[i + 1], frame[i]]
    }

    fn flash(s: &AlertScreen, on: bool) -> Duration {
        (0..2000)
            .map(Duration::from_millis)
            .find(|t| s.flash.is_on(t.as_millis() as u64) == on)
            .unwrap()
    }

    #[test]
    fn jma_red_needs_black_text() {
        let jma_red = Rgb(255, 40, 0);
        assert!(contrast(Rgb(255, 255, 255), jma_red) < MIN_TEXT_CONTRAST);
        assert!(contrast(Rgb(0, 0, 0), jma_red) > MIN_TEXT_CONTRAST);
    }

    #[test]
    fn a_real_alert_is_its_level_colour_with_a_flashing_border() {
        let s = screen(false);
        let mut t = Takeover::new(s.clone(), 320, 180);
        let on = t.frame(flash(&s, true));
        let off = t.frame(flash(&s, false));
        assert_eq!(pixel(&on, 320, 160, 20), [170, 0, 170]);
        assert_eq!(pixel(&on, 320, 1, 1), [255, 255, 255], "border on");
        assert_eq!(pixel(&off, 320, 1, 1), [170, 0, 170], "border off");
        assert!(on.chunks(4).all(|p| p[3] == 255), "opaque");
        assert!(t.geometry().bands.is_none());
    }

    #[test]
    fn a_drill_has_its_own_palette_a_hatched_frame_and_banner_bands() {
        let s = screen(true);
        let mut t = Takeover::new(s.clone(), 320, 180);
        let frame = t.frame(flash(&s, true));
        let g = t.geometry();
        let (top, bottom) = g.bands.unwrap();
        assert_eq!(pixel(&frame, 320, 160, (g.text.y + 2) as u32), [38, 50, 92]);
        let edge: std::collections::BTreeSet<[u8; 3]> =
            (0..40).map(|x| pixel(&frame, 320, x, 2)).collect();
        assert_eq!(edge.len(), 2, "two-colour stripes: {edge:?}");
        let flipped = t.frame(flash(&s, false));
        assert_ne!(pixel(&frame, 320, 0, 0), pixel(&flipped, 320, 0, 0));
        for band in [top, bottom] {
            let (x, y) = ((band.x + 1) as u32, (band.y + 1) as u32);
            assert_eq!(pixel(&frame, 320, x, y), [255, 212, 0], "band at {band:?}");
        }
    }

    #[test]
    fn the_banner_speaks_japanese_english_and_the_rotating_language() {
        let s = screen(true);
        assert_eq!(
            s.banner_line(0).unwrap(),
            "【訓練】これは訓練です　／　[DRILL] This is a drill　／　[훈련] 이것은 훈련입니다"
        );
        // No banner of its own for vi: Japanese and English only.
        assert_eq!(
            s.banner_line(1).unwrap(),
            "【訓練】これは訓練です　／　[DRILL] This is a drill"
        );
        assert_eq!(screen(false).banner_line(0), None);
    }

    #[test]
    fn each_rotation_shows_its_language_in_turn() {
        let s = screen(false);
        assert_eq!(s.rotation_at(Duration::from_millis(4999)), 0);
        assert_eq!(s.rotation_at(super::super::ROTATION), 1);
        assert_eq!(s.rotation_at(super::super::ROTATION * 2), 0);
        let t = Takeover::new(s, 1280, 720);
        assert_ne!(
            t.check(0).ink,
            t.check(1).ink,
            "a different language is laid out"
        );
    }
}

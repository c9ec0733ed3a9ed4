//! Text that always fits its box. Every paragraph is measured with Pango before it is drawn:
//! a headline first shrinks (to 60 %, never under its minimum legible size) to stay on one
//! line, then wraps;
//! when the whole stack is too tall every size shrinks together, never below its minimum.
//! Only text that cannot fit even at the minimums is cut, at a paragraph's end with an
//! ellipsis (never mid-glyph at an edge), and the result says so.
//!
//! The same layouts measure and draw, so what the tests measure is what the screen shows.

use pangocairo::{cairo, pango};

use crate::FONT_FAMILY;

/// A rectangle in whole pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Area {
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
}

impl Area {
    pub fn inset(self, by: i32) -> Area {
        Area {
            x: self.x + by,
            y: self.y + by,
            w: (self.w - 2 * by).max(1),
            h: (self.h - 2 * by).max(1),
        }
    }

    pub fn contains(self, other: Area) -> bool {
        other.x >= self.x
            && other.y >= self.y
            && other.x + other.w <= self.x + self.w
            && other.y + other.h <= self.y + self.h
    }

    pub fn right(self) -> i32 {
        self.x + self.w
    }

    pub fn bottom(self) -> i32 {
        self.y + self.h
    }
}

/// One paragraph to fit.
#[derive(Debug, Clone)]
pub struct Para {
    pub text: String,
    /// The size it gets when there is room, in pixels.
    pub px: f64,
    /// The smallest size still legible from across a waiting room.
    pub min_px: f64,
    pub bold: bool,
    /// Shrink to stay on one line before wrapping: headlines.
    pub one_line: bool,
    /// Space above it, in multiples of its size (none above the first).
    pub gap_before: f64,
}

/// A paragraph laid out at its final size and place.
pub struct Placed {
    pub layout: pango::Layout,
    pub px: f64,
    pub y: f64,
}

/// Paragraphs fitted into a box, centred vertically and each line centred horizontally.
pub struct Fitted {
    pub area: Area,
    pub placed: Vec<Placed>,
    /// False when text had to be cut (ellipsized or left out) even at the minimum sizes.
    pub complete: bool,
}

/// A Pango context for measuring, with the font options of an ARGB image.
pub fn context() -> pango::Context {
    let surface =
        cairo::ImageSurface::create(cairo::Format::ARgb32, 1, 1).expect("a 1x1 image surface");
    let cr = cairo::Context::new(&surface).expect("a cairo context");
    pangocairo::functions::create_context(&cr)
}

/// One paragraph's layout; `width` wraps it (by word, else by character) and centres its lines.
pub fn layout(
    ctx: &pango::Context,
    text: &str,
    px: f64,
    bold: bool,
    width: Option<i32>,
) -> pango::Layout {
    let layout = pango::Layout::new(ctx);
    let mut font = pango::FontDescription::from_string(FONT_FAMILY);
    font.set_weight(if bold {
        pango::Weight::Bold
    } else {
        pango::Weight::Normal
    });
    font.set_absolute_size(px * f64::from(pango::SCALE));
    layout.set_font_description(Some(&font));
    layout.set_text(text);
    if let Some(width) = width {
        layout.set_width(width * pango::SCALE);
        layout.set_wrap(pango::WrapMode::WordChar);
        layout.set_alignment(pango::Alignment::Center);
    }
    layout
}

/// Width and height of the layout's logical box.
fn size(layout: &pango::Layout) -> (i32, i32) {
    let (_, logical) = layout.pixel_extents();
    (logical.width(), logical.height())
}

/// The largest size from `px` down to `min_px` at which `text` fits on one line of `width`.
pub fn one_line_px(
    ctx: &pango::Context,
    text: &str,
    px: f64,
    min_px: f64,
    bold: bool,
    width: i32,
) -> Option<f64> {
    // Compared in Pango units, as the wrapping is: whole pixels round a hair away.
    let natural = |px: f64| layout(ctx, text, px, bold, None).size().0;
    let room = width * pango::SCALE;
    let first = natural(px);
    if first <= room {
        return Some(px);
    }
    // Widths scale almost linearly; hinting may need a pixel or two more.
    let mut px = (px * f64::from(room) / f64::from(first)).floor();
    while px >= min_px {
        if natural(px) <= room {
            return Some(px);
        }
        px -= 1.0;
    }
    None
}

/// Lays a paragraph out `inset(px)` narrower than `width` on each side: glyph ink may overhang
/// the logical box that Pango wraps by.
fn place(ctx: &pango::Context, para: &Para, scale: f64, width: i32) -> (pango::Layout, f64) {
    let mut px = (para.px * scale).max(para.min_px).round();
    let width = width - 2 * inset(px);
    if para.one_line {
        // Shrinking further would leave a headline smaller than the text under it.
        let floor = (px * ONE_LINE_SHRINK).max(para.min_px).round().min(px);
        px = one_line_px(ctx, &para.text, px, floor, para.bold, width).unwrap_or(floor);
    }
    (layout(ctx, &para.text, px, para.bold, Some(width)), px)
}

/// A headline shrinks to this share of its size at most to stay on one line, then wraps.
const ONE_LINE_SHRINK: f64 = 0.6;

fn inset(px: f64) -> i32 {
    (px / 16.0).ceil() as i32
}

/// Fits `paras` into `area` (see the module's notes).
pub fn fit(ctx: &pango::Context, paras: &[Para], area: Area) -> Fitted {
    let mut scale = 1.0;
    loop {
        let laid: Vec<(pango::Layout, f64)> =
            paras.iter().map(|p| place(ctx, p, scale, area.w)).collect();
        let at_floor = paras.iter().all(|p| p.px * scale <= p.min_px);
        let mut y = 0.0;
        let mut tops = Vec::with_capacity(laid.len());
        for (i, ((layout, px), para)) in laid.iter().zip(paras).enumerate() {
            if i > 0 {
                y += (para.gap_before * px).round();
            }
            tops.push(y);
            y += f64::from(size(layout).1);
        }
        if y <= f64::from(area.h) {
            let top = f64::from(area.y) + ((f64::from(area.h) - y) / 2.0).floor();
            let placed = laid
                .into_iter()
                .zip(tops)
                .map(|((layout, px), t)| Placed {
                    layout,
                    px,
                    y: top + t,
                })
                .collect();
            return Fitted {
                area,
                placed,
                complete: true,
            };
        }
        if at_floor {
            return truncated(laid, tops, paras, area);
        }
        scale *= 0.92;
    }
}

/// Too much text even at the minimum sizes: keep what fits from the top, ellipsize the
/// paragraph that overflows (when a line of it fits) and leave out the rest.
fn truncated(
    laid: Vec<(pango::Layout, f64)>,
    tops: Vec<f64>,
    paras: &[Para],
    area: Area,
) -> Fitted {
    let mut placed = Vec::new();
    for (((layout, px), top), para) in laid.into_iter().zip(tops).zip(paras) {
        let room = f64::from(area.h) - top;
        let (_, height) = size(&layout);
        if f64::from(height) <= room {
            placed.push(Placed {
                layout,
                px,
                y: f64::from(area.y) + top,
            });
            continue;
        }
        if room >= para.min_px * 1.5 {
            layout.set_height((room * f64::from(pango::SCALE)) as i32);
            layout.set_ellipsize(pango::EllipsizeMode::End);
            if f64::from(size(&layout).1) <= room {
                placed.push(Placed {
                    layout,
                    px,
                    y: f64::from(area.y) + top,
                });
            }
        }
        break;
    }
    Fitted {
        area,
        placed,
        complete: false,
    }
}

impl Fitted {
    /// Draws every paragraph in `colour` (red, green, blue in 0..=1).
    pub fn draw(&self, cr: &cairo::Context, colour: (f64, f64, f64)) {
        cr.set_source_rgb(colour.0, colour.1, colour.2);
        for p in &self.placed {
            cr.move_to(self.x(p), p.y);
            pangocairo::functions::show_layout(cr, &p.layout);
        }
    }

    /// Where a paragraph's layout starts: its wrap width is centred in the area.
    fn x(&self, p: &Placed) -> f64 {
        f64::from(self.area.x + (self.area.w - p.layout.width() / pango::SCALE) / 2)
    }

    /// Where each paragraph's ink lies, in frame pixels.
    pub fn ink(&self) -> Vec<Area> {
        self.placed
            .iter()
            .map(|p| {
                let (ink, _) = p.layout.pixel_extents();
                Area {
                    x: self.x(p) as i32 + ink.x(),
                    y: p.y as i32 + ink.y(),
                    w: ink.width(),
                    h: ink.height(),
                }
            })
            .collect()
    }

    /// The ink height of paragraph `index`'s tallest line: how big its glyphs look.
    pub fn glyph_height(&self, index: usize) -> i32 {
        self.placed.get(index).map_or(0, |p| {
            p.layout
                .lines_readonly()
                .iter()
                .map(|l| l.pixel_extents().0.height())
                .max()
                .unwrap_or(0)
        })
    }

    /// Characters the font cannot draw (tofu boxes).
    pub fn unknown_glyphs(&self) -> i32 {
        self.placed
            .iter()
            .map(|p| p.layout.unknown_glyphs_count())
            .sum()
    }
}

/// One line of text drawn on its own strip (BGRA, `height` rows, as wide as the text plus
/// `pad` on each side), bold: what a banner scrolls through its band.
pub struct Strip {
    pub width: i32,
    pub height: i32,
    pub pixels: Vec<u8>,
}

pub fn strip(
    ctx: &pango::Context,
    text: &str,
    px: f64,
    height: i32,
    pad: i32,
    fg: (f64, f64, f64),
    bg: (f64, f64, f64),
) -> Strip {
    let layout = layout(ctx, text, px, true, None);
    let (w, h) = size(&layout);
    let width = w + 2 * pad;
    let mut surface =
        cairo::ImageSurface::create(cairo::Format::ARgb32, width.max(1), height.max(1))
            .expect("a strip surface");
    {
        let cr = cairo::Context::new(&surface).expect("a cairo context");
        cr.set_source_rgb(bg.0, bg.1, bg.2);
        let _ = cr.paint();
        cr.set_source_rgb(fg.0, fg.1, fg.2);
        cr.move_to(f64::from(pad), f64::from((height - h) / 2));
        pangocairo::functions::show_layout(&cr, &layout);
    }
    let pixels = surface.data().map(|d| d.to_vec()).unwrap_or_default();
    Strip {
        width: width.max(1),
        height: height.max(1),
        pixels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn para(text: &str, px: f64, one_line: bool) -> Para {
        Para {
            text: text.into(),
            px,
            min_px: 20.0,
            bold: one_line,
            one_line,
            gap_before: 0.5,
        }
    }

    fn area() -> Area {
        Area {
            x: 10,
            y: 20,
            w: 400,
            h: 300,
        }
    }

    #[test]
    fn a_headline_shrinks_to_one_line_and_stays_inside() {
        let ctx = context();
        let fitted = fit(&ctx, &[para("緊急地震速報", 80.0, true)], area());
        assert!(fitted.complete);
        let p = &fitted.placed[0];
        assert_eq!(p.layout.line_count(), 1);
        assert!(p.px < 80.0 && p.px >= 48.0, "{}", p.px);
        assert!(area().contains(fitted.ink()[0]), "{:?}", fitted.ink());
    }

    #[test]
    fn a_headline_too_long_for_one_line_wraps_and_shrinks_to_fit() {
        let ctx = context();
        let long = "大津波警報 ".repeat(12);
        let fitted = fit(&ctx, &[para(&long, 80.0, true)], area());
        assert!(fitted.complete);
        assert!(fitted.placed[0].layout.line_count() > 1);
        let px = fitted.placed[0].px;
        assert!((20.0..48.0).contains(&px), "shrunk to fit the height: {px}");
        assert!(area().contains(fitted.ink()[0]));
    }

    #[test]
    fn a_tall_stack_shrinks_together_and_is_centred() {
        let ctx = context();
        let paras: Vec<Para> = (0..6)
            .map(|_| para("高台へ避難してください。", 60.0, false))
            .collect();
        let fitted = fit(&ctx, &paras, area());
        assert!(fitted.complete);
        let ink = fitted.ink();
        assert!(ink.iter().all(|i| area().contains(*i)), "{ink:?}");
        assert!(fitted.placed.iter().all(|p| p.px < 60.0));
        let top = ink[0].y - area().y;
        let bottom = area().bottom() - ink[5].bottom();
        assert!(
            (top - bottom).abs() < 40,
            "centred: {top} above, {bottom} below"
        );
    }

    #[test]
    fn text_that_cannot_fit_is_ellipsized_and_reported() {
        let ctx = context();
        let essay = "とても長い説明文です。".repeat(200);
        let fitted = fit(
            &ctx,
            &[para("見出し", 40.0, true), para(&essay, 30.0, false)],
            area(),
        );
        assert!(!fitted.complete);
        assert_eq!(fitted.placed.len(), 2);
        assert!(fitted.placed[1].layout.is_ellipsized());
        assert!(fitted.ink().iter().all(|i| area().contains(*i)));
    }

    #[test]
    fn a_strip_is_one_line_as_wide_as_its_text() {
        let ctx = context();
        let short = strip(&ctx, "訓練", 30.0, 48, 8, (0.0, 0.0, 0.0), (1.0, 1.0, 0.0));
        let long = strip(
            &ctx,
            "訓練 / DRILL / 演练",
            30.0,
            48,
            8,
            (0.0, 0.0, 0.0),
            (1.0, 1.0, 0.0),
        );
        assert_eq!(short.height, 48);
        assert!(long.width > short.width * 3);
        assert_eq!(long.pixels.len(), (long.width * 48 * 4) as usize);
        assert!(
            long.pixels.chunks(4).any(|p| p[..3] == [0, 0, 0]),
            "text drawn"
        );
    }
}

//! A text slide or ticker drawn to PNG the way a player draws it: the same markup (see
//! `markup`) on the asset's background, placed as the player's `textoverlay` places it (a
//! slide centred both ways, a ticker's line centred vertically, here where it enters).

use content::asset::{Colour, Colours, TextSlide, Ticker};
use pangocairo::{cairo, pango};

use crate::markup::{japanese_first, slide_markup, ticker_markup};

/// Sizes a preview may have: larger than any screen is refused.
pub const MAX_SIDE: u32 = 3840;

#[derive(Debug, PartialEq, Eq)]
pub enum PreviewError {
    /// Width or height 0 or above [`MAX_SIDE`].
    Size {
        width: u32,
        height: u32,
    },
    Draw(String),
}

impl std::fmt::Display for PreviewError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PreviewError::Size { width, height } => write!(
                f,
                "a preview of {width}x{height} is not possible; give a zone size from 1x1 to {MAX_SIDE}x{MAX_SIDE}"
            ),
            PreviewError::Draw(e) => write!(f, "the preview could not be drawn: {e}"),
        }
    }
}

impl std::error::Error for PreviewError {}

fn rgb(c: Colour) -> (f64, f64, f64) {
    (
        f64::from(c.r) / 255.0,
        f64::from(c.g) / 255.0,
        f64::from(c.b) / 255.0,
    )
}

/// Draws `markup` on `colours.background` and encodes the picture as PNG; `place` gives the
/// markup's top-left corner from the layout's size.
fn draw(
    markup: &str,
    colours: Colours,
    width: u32,
    height: u32,
    place: impl Fn(i32, i32) -> (f64, f64),
) -> Result<Vec<u8>, PreviewError> {
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(PreviewError::Size { width, height });
    }
    let draw_error = |e: &dyn std::fmt::Display| PreviewError::Draw(e.to_string());
    let surface = cairo::ImageSurface::create(cairo::Format::Rgb24, width as i32, height as i32)
        .map_err(|e| draw_error(&e))?;
    {
        let cr = cairo::Context::new(&surface).map_err(|e| draw_error(&e))?;
        let (r, g, b) = rgb(colours.background);
        cr.set_source_rgb(r, g, b);
        cr.paint().map_err(|e| draw_error(&e))?;
        let layout = pangocairo::functions::create_layout(&cr);
        layout.set_markup(markup);
        layout.set_alignment(pango::Alignment::Center);
        let (_, logical) = layout.pixel_extents();
        let (x, y) = place(logical.width(), logical.height());
        let (r, g, b) = rgb(colours.text);
        cr.set_source_rgb(r, g, b);
        cr.move_to(x, y);
        pangocairo::functions::show_layout(&cr, &layout);
    }
    let mut png = Vec::new();
    surface.write_to_png(&mut png).map_err(|e| draw_error(&e))?;
    Ok(png)
}

/// A text slide in a zone of `width` x `height`.
pub fn slide(slide: &TextSlide, width: u32, height: u32) -> Result<Vec<u8>, PreviewError> {
    let markup = slide_markup(&japanese_first(slide.texts.iter()), width, height);
    draw(&markup, slide.colours, width, height, |w, h| {
        (
            f64::from((width as i32 - w) / 2),
            f64::from((height as i32 - h) / 2),
        )
    })
}

/// A ticker in a zone of `width` x `height`, its line where it has just entered.
pub fn ticker(ticker: &Ticker, width: u32, height: u32) -> Result<Vec<u8>, PreviewError> {
    let markup = ticker_markup(&japanese_first(ticker.texts.iter()), height);
    draw(&markup, ticker.colours, width, height, |_, h| {
        (f64::from(height / 8), f64::from((height as i32 - h) / 2))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use content::asset::SlideText;
    use content::ids::Lang;

    fn colours() -> Colours {
        Colours {
            text: "#ffffff".parse().unwrap(),
            background: "#003366".parse().unwrap(),
        }
    }

    /// Width, height and RGB pixels of a PNG (cairo writes 8-bit RGB(A)).
    fn decode(png: &[u8]) -> cairo::ImageSurface {
        cairo::ImageSurface::create_from_png(&mut std::io::Cursor::new(png)).unwrap()
    }

    fn pixels(png: &[u8]) -> (i32, i32, Vec<[u8; 3]>) {
        let mut s = decode(png);
        let (w, h, stride) = (s.width(), s.height(), s.stride());
        let data = s.data().unwrap();
        let mut out = Vec::new();
        for y in 0..h {
            for x in 0..w {
                let i = (y * stride + x * 4) as usize;
                out.push([data[i + 2], data[i + 1], data[i]]);
            }
        }
        (w, h, out)
    }

    #[test]
    fn a_slide_preview_is_its_background_with_its_text_inside_the_margin() {
        let s = TextSlide {
            texts: [(
                Lang::from("ja"),
                SlideText {
                    title: "年末年始の閉庁".into(),
                    body: "12月29日から1月3日まで、区役所はお休みです。".into(),
                },
            )]
            .into(),
            colours: colours(),
        };
        let png = slide(&s, 640, 360).unwrap();
        let (w, h, px) = pixels(&png);
        assert_eq!((w, h), (640, 360));
        let white = |p: &[u8; 3]| p[0] > 160 && p[1] > 160 && p[2] > 160;
        let margin = 360 / 20;
        let mut inside = 0;
        for (i, p) in px.iter().enumerate() {
            let (x, y) = ((i as i32) % w, (i as i32) / w);
            if white(p) {
                assert!(
                    x >= margin && x < w - margin && y >= margin && y < h - margin,
                    "text at {x},{y} in the margin"
                );
                inside += 1;
            }
        }
        assert!(inside > 500, "too little text drawn: {inside}");
        assert_eq!(px[0], [0x00, 0x33, 0x66], "the background");
    }

    #[test]
    fn a_ticker_preview_is_one_line_in_the_middle() {
        let t = Ticker {
            texts: [(Lang::from("ja"), "本日の窓口は17時まで".to_owned())].into(),
            colours: colours(),
        };
        let (w, h, px) = pixels(&ticker(&t, 800, 60).unwrap());
        let rows: Vec<i32> = (0..h)
            .filter(|y| (0..w).any(|x| px[(y * w + x) as usize][0] > 160))
            .collect();
        assert!(!rows.is_empty());
        assert!(rows[0] > 0 && *rows.last().unwrap() < h - 1, "{rows:?}");
    }

    #[test]
    fn impossible_sizes_are_refused_with_the_limits() {
        let empty = TextSlide {
            texts: Default::default(),
            colours: colours(),
        };
        let e = slide(&empty, 0, 100).unwrap_err();
        assert!(e.to_string().contains("3840"), "{e}");
        assert!(slide(&empty, 5000, 100).is_err());
    }
}

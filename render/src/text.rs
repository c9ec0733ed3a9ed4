//! Pango markup and sizes for text slides and tickers. Pure: the branch builder feeds the result
//! to `textoverlay`.

use content::asset::{Colour, SlideText};
use content::ids::Lang;

/// Noto Sans CJK (package fonts-noto-cjk) draws Japanese, Chinese, Korean and Latin alike.
pub(crate) const FONT_FAMILY: &str = "Noto Sans CJK JP";

/// `textoverlay`'s colour property: big-endian ARGB, opaque.
pub(crate) fn argb(colour: Colour) -> u32 {
    0xff00_0000 | (u32::from(colour.r) << 16) | (u32::from(colour.g) << 8) | u32::from(colour.b)
}

/// Escapes text for Pango markup.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// Pixel sizes of a slide's title and body: every language is shown at once, so they share
/// the zone's height; never below 12 px so that a crowded slide stays legible.
pub(crate) fn slide_font_px(zone_width: u32, zone_height: u32, languages: usize) -> (u32, u32) {
    let languages = languages.max(1) as u32;
    // Each language takes a title line and about two body lines, plus a gap.
    let line = zone_height / (languages * 5);
    let title = line.min(zone_width / 12).max(12);
    let body = (title * 2 / 3).max(12);
    (title, body)
}

/// One slide as markup: per language a bold title and its body, Japanese first.
pub(crate) fn slide_markup(texts: &[(Lang, SlideText)], width: u32, height: u32) -> String {
    let (title_px, body_px) = slide_font_px(width, height, texts.len());
    let mut blocks = Vec::new();
    for (_, text) in texts {
        let mut lines = Vec::new();
        if !text.title.trim().is_empty() {
            lines.push(format!(
                "<span font_desc=\"{FONT_FAMILY} Bold {title_px}px\">{}</span>",
                escape(text.title.trim())
            ));
        }
        if !text.body.trim().is_empty() {
            lines.push(format!(
                "<span font_desc=\"{FONT_FAMILY} {body_px}px\">{}</span>",
                escape(text.body.trim())
            ));
        }
        blocks.push(lines.join("\n"));
    }
    blocks.join("\n\n")
}

/// A ticker's languages on one line, separated by a diamond.
pub(crate) fn ticker_markup(texts: &[(Lang, String)], height: u32) -> String {
    let px = ticker_font_px(height);
    let line = texts
        .iter()
        .map(|(_, t)| escape(t.trim()))
        .collect::<Vec<_>>()
        .join("　◆　");
    format!("<span font_desc=\"{FONT_FAMILY} {px}px\">{line}</span>")
}

pub(crate) fn ticker_font_px(height: u32) -> u32 {
    (height * 3 / 5).max(12)
}

/// How far a ticker's text has moved left of the zone's right edge: it scrolls at `speed` pixels
/// per second and starts again once it has left the zone.
pub(crate) fn ticker_offset(
    elapsed_ns: u64,
    speed_px_per_s: u32,
    zone_width: u32,
    text_width: u32,
) -> i32 {
    let travel = u64::from(zone_width) + u64::from(text_width.max(1));
    let moved = elapsed_ns.saturating_mul(u64::from(speed_px_per_s)) / 1_000_000_000;
    (moved % travel) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_become_opaque_argb() {
        let c = Colour {
            r: 0x12,
            g: 0x34,
            b: 0x56,
        };
        assert_eq!(argb(c), 0xff12_3456);
    }

    #[test]
    fn markup_is_escaped_and_japanese_text_survives() {
        let texts = vec![
            (
                Lang::from("ja"),
                SlideText {
                    title: "緊急地震速報".into(),
                    body: "強い揺れに警戒 <すぐに> & 身を守って".into(),
                },
            ),
            (
                Lang::from("en"),
                SlideText {
                    title: "Earthquake".into(),
                    body: String::new(),
                },
            ),
        ];
        let markup = slide_markup(&texts, 960, 1080);
        assert_eq!(
            markup,
            "<span font_desc=\"Noto Sans CJK JP Bold 80px\">緊急地震速報</span>\n\
             <span font_desc=\"Noto Sans CJK JP 53px\">強い揺れに警戒 &lt;すぐに&gt; &amp; 身を守って</span>\n\n\
             <span font_desc=\"Noto Sans CJK JP Bold 80px\">Earthquake</span>"
        );
    }

    #[test]
    fn font_sizes_shrink_with_languages_but_stay_legible() {
        assert_eq!(slide_font_px(1920, 1080, 1), (160, 106));
        assert_eq!(slide_font_px(1920, 1080, 4), (54, 36));
        assert_eq!(slide_font_px(100, 50, 6), (12, 12));
        assert_eq!(ticker_font_px(100), 60);
    }

    #[test]
    fn tickers_scroll_and_wrap_around() {
        assert_eq!(ticker_offset(0, 100, 1000, 500), 0);
        assert_eq!(ticker_offset(2_000_000_000, 100, 1000, 500), 200);
        // After 15 s it has travelled 1500 px = the zone plus the text: back to the start.
        assert_eq!(ticker_offset(15_000_000_000, 100, 1000, 500), 0);
        assert_eq!(ticker_offset(16_000_000_000, 100, 1000, 500), 100);
    }
}

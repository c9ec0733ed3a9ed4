//! Pango markup for text slides and tickers, as a player's `textoverlay` draws it. Slides are
//! fitted with Pango first, so they never run off their zone.

use content::asset::SlideText;
use content::ids::Lang;

use crate::FONT_FAMILY;
use crate::fit::{self, Area, Para};

/// Escapes text for Pango markup.
pub fn escape(text: &str) -> String {
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

/// Japanese first (the ward offices' language), then the others in their map order.
pub fn japanese_first<'a, T: Clone + 'a>(
    texts: impl Iterator<Item = (&'a Lang, &'a T)>,
) -> Vec<(Lang, T)> {
    let mut texts: Vec<(Lang, T)> = texts.map(|(l, t)| (l.clone(), t.clone())).collect();
    texts.sort_by_key(|(lang, _)| (lang.0 != "ja", !lang.0.starts_with("ja")));
    texts
}

/// The paragraphs of a slide: per language a bold title and its body, Japanese first. Every
/// language shows at once, so they share the zone's height; sizes never go below a legible
/// minimum (1/30 of the zone's shorter side, at least 12 px).
fn slide_paragraphs(texts: &[(Lang, SlideText)], width: u32, height: u32) -> Vec<Para> {
    let languages = texts.len().max(1) as f64;
    let line = f64::from(height) / (languages * 5.0);
    let title = line.min(f64::from(width) / 12.0).max(12.0);
    let floor = (f64::from(width.min(height)) / 30.0).max(12.0);
    let mut paras = Vec::new();
    for (_, text) in texts {
        let first_of_language = paras.len();
        for (part, bold, px) in [
            (&text.title, true, title),
            (&text.body, false, title * 2.0 / 3.0),
        ] {
            if part.trim().is_empty() {
                continue;
            }
            paras.push(Para {
                text: part.trim().to_owned(),
                px: px.max(floor),
                min_px: floor,
                bold,
                one_line: bold,
                gap_before: if paras.len() == first_of_language {
                    0.8
                } else {
                    0.2
                },
            });
        }
    }
    paras
}

/// The area a slide's text keeps to: its zone less a margin of 1/20 of the shorter side.
pub fn slide_area(width: u32, height: u32) -> Area {
    let (w, h) = (width as i32, height as i32);
    Area { x: 0, y: 0, w, h }.inset((w.min(h) / 20).max(2))
}

/// One slide as markup for `textoverlay` (centred, no wrapping of its own): the paragraphs
/// fitted with Pango (see `fit`), each line ended where Pango broke it, and blank lines sized
/// as the gaps. The markup is measured again as a whole and fitted smaller while it is taller
/// than the area, so what the overlay draws is what was measured.
pub fn slide_markup(texts: &[(Lang, SlideText)], width: u32, height: u32) -> String {
    let ctx = fit::context();
    let paras = slide_paragraphs(texts, width, height);
    let area = slide_area(width, height);
    let mut room = area;
    loop {
        let fitted = fit::fit(&ctx, &paras, room);
        let markup = fitted_markup(&fitted, &paras);
        let (w, h) = markup_size(&ctx, &markup);
        let over = h - area.h;
        if (over <= 0 && w <= area.w) || room.h <= area.h / 4 {
            return markup;
        }
        room.h -= over.max(room.h / 20);
    }
}

fn fitted_markup(fitted: &fit::Fitted, paras: &[Para]) -> String {
    let mut out = String::new();
    for (i, (p, para)) in fitted.placed.iter().zip(paras).enumerate() {
        if i > 0 {
            // A blank line about as tall as the gap (Noto CJK lines are ~1.45 em).
            let gap = (para.gap_before * p.px / 1.45).max(1.0).round();
            out.push_str(&format!(
                "\n<span font_desc=\"{FONT_FAMILY} {gap}px\"> </span>\n"
            ));
        }
        let weight = if para.bold { " Bold" } else { "" };
        let px = p.px.round();
        let text = p.layout.text();
        let lines: Vec<String> = p
            .layout
            .lines_readonly()
            .iter()
            .map(|l| {
                let start = l.start_index() as usize;
                let end = (start + l.length() as usize).min(text.len());
                escape(text[start..end].trim_end())
            })
            .collect();
        out.push_str(&format!(
            "<span font_desc=\"{FONT_FAMILY}{weight} {px}px\">{}</span>",
            lines.join("\n")
        ));
    }
    out
}

/// The size textoverlay lays `markup` out at (no wrapping), in pixels.
pub fn markup_size(ctx: &pangocairo::pango::Context, markup: &str) -> (i32, i32) {
    let layout = pangocairo::pango::Layout::new(ctx);
    layout.set_markup(markup);
    let (ink, logical) = layout.pixel_extents();
    (
        logical.width().max(ink.x() + ink.width()),
        logical.height().max(ink.y() + ink.height()),
    )
}

/// A ticker's languages on one line, separated by a diamond.
pub fn ticker_markup(texts: &[(Lang, String)], height: u32) -> String {
    let px = ticker_font_px(height);
    let line = texts
        .iter()
        .map(|(_, t)| escape(t.trim()))
        .collect::<Vec<_>>()
        .join("　◆　");
    format!("<span font_desc=\"{FONT_FAMILY} {px}px\">{line}</span>")
}

pub fn ticker_font_px(height: u32) -> u32 {
    (height * 3 / 5).max(12)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slide(lang: &str, title: &str, body: &str) -> (Lang, SlideText) {
        (
            Lang::from(lang),
            SlideText {
                title: title.into(),
                body: body.into(),
            },
        )
    }

    #[test]
    fn markup_is_escaped_and_japanese_text_survives() {
        let texts = vec![
            slide("ja", "緊急地震速報", "強い揺れに警戒 <すぐに> & 身を守って"),
            slide("en", "Earthquake", ""),
        ];
        let markup = slide_markup(&texts, 960, 1080);
        assert!(markup.contains("緊急地震速報"), "{markup}");
        assert!(markup.contains("&lt;すぐに&gt; &amp;"), "{markup}");
        assert!(markup.contains("Bold") && markup.contains("Earthquake"));
        let layout = pangocairo::pango::Layout::new(&fit::context());
        layout.set_markup(&markup);
        assert_eq!(
            layout.unknown_glyphs_count(),
            0,
            "valid markup, every glyph drawn"
        );
    }

    #[test]
    fn every_slide_fits_its_zone_at_every_size() {
        let ctx = fit::context();
        let long = "区役所の窓口は年末年始（12月29日から1月3日まで）お休みです。".repeat(3);
        let english = "The ward office is closed from 29 December to 3 January. ".repeat(3);
        let cases = [
            vec![slide("ja", "お知らせ", "本日は開庁しています")],
            vec![
                slide("ja", "年末年始の閉庁について", &long),
                slide("en", "Year-end closure", &english),
            ],
            vec![
                slide("ja", "年末年始の閉庁について", &long),
                slide("en", "Year-end closure", &english),
                slide("zh-Hans", "年末年初休息", "12月29日至1月3日休息。"),
                slide(
                    "ko",
                    "연말연시 휴무",
                    "12월 29일부터 1월 3일까지 휴무입니다.",
                ),
            ],
        ];
        for (w, h) in [
            (1920, 1080),
            (1080, 1920),
            (960, 540),
            (640, 360),
            (1920, 360),
        ] {
            for texts in &cases {
                let markup = slide_markup(texts, w, h);
                let area = slide_area(w, h);
                let (mw, mh) = markup_size(&ctx, &markup);
                let case = format!(
                    "{w}x{h} with {} languages: {mw}x{mh} in {area:?}",
                    texts.len()
                );
                assert!(mw <= area.w && mh <= area.h, "{case}");
                let start: String = texts[0].1.title.chars().take(2).collect();
                assert!(markup.contains(&start), "{case}: title kept");
            }
        }
    }

    #[test]
    fn a_ticker_is_one_line_within_its_zone_height() {
        let ctx = fit::context();
        for h in [40, 72, 120] {
            let texts = vec![
                (Lang::from("ja"), "本日は開庁しています".to_owned()),
                (Lang::from("en"), "The office is open today".to_owned()),
            ];
            let markup = ticker_markup(&texts, h);
            let layout = pangocairo::pango::Layout::new(&ctx);
            layout.set_markup(&markup);
            assert_eq!(layout.line_count(), 1);
            assert!(markup_size(&ctx, &markup).1 <= h as i32, "{h}: {markup}");
        }
    }
}

//! What the branch builder gives `textoverlay` for text slides and tickers: the markup comes
//! from `text_layout::markup` (fitted with Pango, the same code the controller previews with);
//! here are the overlay's colour and the ticker's scrolling.

use content::asset::Colour;

pub(crate) use text_layout::markup::{slide_markup, ticker_markup};

/// `textoverlay`'s colour property: big-endian ARGB, opaque.
pub(crate) fn argb(colour: Colour) -> u32 {
    0xff00_0000 | (u32::from(colour.r) << 16) | (u32::from(colour.g) << 8) | u32::from(colour.b)
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
    fn tickers_scroll_and_wrap_around() {
        assert_eq!(ticker_offset(0, 100, 1000, 500), 0);
        assert_eq!(ticker_offset(2_000_000_000, 100, 1000, 500), 200);
        // After 15 s it has travelled 1500 px = the zone plus the text: back to the start.
        assert_eq!(ticker_offset(15_000_000_000, 100, 1000, 500), 0);
        assert_eq!(ticker_offset(16_000_000_000, 100, 1000, 500), 100);
    }
}

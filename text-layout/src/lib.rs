//! Screen text, laid out and drawn with Pango. `fit` measures every paragraph before it is
//! drawn so that text never runs off its box; `markup` makes the Pango markup a player's
//! `textoverlay` draws for text slides and tickers; `preview` draws the same markup to PNG
//! for the console. No IO apart from the fonts.

pub mod fit;
pub mod markup;
pub mod preview;

/// Noto Sans CJK (package fonts-noto-cjk) draws Japanese, Chinese, Korean and Latin alike.
pub const FONT_FAMILY: &str = "Noto Sans CJK JP";

//! Media assets: what a zone can show.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{AssetId, Lang};
use crate::validation::{Problem, ValidationError};

/// WCAG 2.x AA contrast for normal text. Signage is read from a distance, often by older
/// visitors, so we do not relax it to the 3:1 allowed for large text.
pub const MIN_TEXT_CONTRAST: f64 = 4.5;
/// Titles and tags are labels, not documents.
pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_TAG_CHARS: usize = 40;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Asset {
    pub id: AssetId,
    #[serde(flatten)]
    pub meta: AssetMeta,
    #[serde(flatten)]
    pub kind: AssetKind,
}

/// What staff call an asset, how they find it, and when it may be shown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetMeta {
    /// The name people see (the file name at upload unless staff give another).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The section responsible for it, e.g. 広報課 or 市民課.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// 掲載開始: not shown before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shown_from: Option<DateTime<Utc>>,
    /// 掲載期限: not shown from this instant on; it leaves every playlist by itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shown_until: Option<DateTime<Utc>>,
}

impl AssetMeta {
    /// Whether the display window admits `now`.
    pub fn shown_at(&self, now: DateTime<Utc>) -> bool {
        self.shown_from.is_none_or(|from| now >= from)
            && self.shown_until.is_none_or(|until| now < until)
    }

    /// Whether the display window is over for good at `now`.
    pub fn expired_at(&self, now: DateTime<Utc>) -> bool {
        self.shown_until.is_some_and(|until| now >= until)
    }
}

/// Files (video, image) are downloaded and verified by the player; text slides and tickers are
/// rendered from the text carried here, so they have no file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AssetKind {
    Video {
        file: MediaFile,
        /// Natural length, probed at upload; videos always play to it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_ms: Option<u64>,
    },
    Image {
        file: MediaFile,
    },
    TextSlide(TextSlide),
    Ticker(Ticker),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaFile {
    pub sha256: Sha256,
    pub size_bytes: u64,
}

/// An announcement slide with its words in one or more languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextSlide {
    pub texts: BTreeMap<Lang, SlideText>,
    pub colours: Colours,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlideText {
    pub title: String,
    pub body: String,
}

/// A line of text scrolling across its zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticker {
    pub texts: BTreeMap<Lang, String>,
    pub colours: Colours,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Colours {
    pub text: Colour,
    pub background: Colour,
}

impl Asset {
    /// The file a player must download for this asset, if any.
    pub fn file(&self) -> Option<&MediaFile> {
        match &self.kind {
            AssetKind::Video { file, .. } | AssetKind::Image { file } => Some(file),
            AssetKind::TextSlide(_) | AssetKind::Ticker(_) => None,
        }
    }

    /// Problems with this asset alone, fields relative to it.
    pub fn problems(&self) -> Vec<ValidationError> {
        let mut problems = Vec::new();
        let meta = &self.meta;
        if let (Some(from), Some(until)) = (meta.shown_from, meta.shown_until)
            && until <= from
        {
            problems.push(ValidationError::new("shown_until", Problem::EmptyWindow));
        }
        if meta.title.chars().count() > MAX_TITLE_CHARS {
            problems.push(ValidationError::new(
                "title",
                Problem::TooManyChars(MAX_TITLE_CHARS),
            ));
        }
        for (i, tag) in meta.tags.iter().enumerate() {
            if tag.trim().is_empty() || tag.chars().count() > MAX_TAG_CHARS {
                problems.push(ValidationError::new(format!("tags[{i}]"), Problem::BadTag));
            }
        }
        if self.file().is_some_and(|f| f.size_bytes == 0) {
            problems.push(ValidationError::new("file.size_bytes", Problem::EmptyFile));
        }
        match &self.kind {
            AssetKind::Video { .. } | AssetKind::Image { .. } => {}
            AssetKind::TextSlide(slide) => {
                check_texts(&slide.texts, &mut problems, |t| {
                    t.title.trim().is_empty() && t.body.trim().is_empty()
                });
                check_contrast(slide.colours, &mut problems);
            }
            AssetKind::Ticker(ticker) => {
                check_texts(&ticker.texts, &mut problems, |t| t.trim().is_empty());
                check_contrast(ticker.colours, &mut problems);
            }
        }
        problems
    }
}

fn check_texts<T>(
    texts: &BTreeMap<Lang, T>,
    problems: &mut Vec<ValidationError>,
    is_blank: impl Fn(&T) -> bool,
) {
    if texts.is_empty() {
        problems.push(ValidationError::new("texts", Problem::NoText));
    }
    for (lang, text) in texts {
        if !lang.is_well_formed() {
            problems.push(ValidationError::new(
                format!("texts[{lang}]"),
                Problem::BadLanguage(lang.clone()),
            ));
        }
        if is_blank(text) {
            problems.push(ValidationError::new(
                format!("texts[{lang}]"),
                Problem::BlankText,
            ));
        }
    }
}

fn check_contrast(colours: Colours, problems: &mut Vec<ValidationError>) {
    let ratio = colours.text.contrast_ratio(colours.background);
    if ratio < MIN_TEXT_CONTRAST {
        problems.push(ValidationError::new(
            "colours",
            Problem::LowContrast { ratio },
        ));
    }
}

/// A SHA-256 digest as 64 lowercase hex digits, the form the controller computes at upload and
/// the player compares after download.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sha256(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sha256 {0:?} is not 64 lowercase hex digits")]
pub struct BadSha256(String);

impl TryFrom<String> for Sha256 {
    type Error = BadSha256;

    fn try_from(hex: String) -> Result<Self, BadSha256> {
        let well_formed =
            hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if well_formed {
            Ok(Self(hex))
        } else {
            Err(BadSha256(hex))
        }
    }
}

impl FromStr for Sha256 {
    type Err = BadSha256;

    fn from_str(hex: &str) -> Result<Self, BadSha256> {
        Self::try_from(hex.to_owned())
    }
}

impl From<Sha256> for String {
    fn from(digest: Sha256) -> String {
        digest.0
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An sRGB colour written `#rrggbb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Colour {
    pub r: u8,
    pub g: u8,
    pub b: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("colour {0:?} is not of the form #rrggbb")]
pub struct BadColour(String);

impl Colour {
    /// WCAG 2.x contrast ratio, from 1 (same luminance) to 21 (black on white).
    pub fn contrast_ratio(self, other: Colour) -> f64 {
        let (a, b) = (self.relative_luminance(), other.relative_luminance());
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }

    fn relative_luminance(self) -> f64 {
        let linear = |channel: u8| {
            let c = f64::from(channel) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * linear(self.r) + 0.7152 * linear(self.g) + 0.0722 * linear(self.b)
    }
}

impl FromStr for Colour {
    type Err = BadColour;

    fn from_str(text: &str) -> Result<Self, BadColour> {
        let bad = || BadColour(text.to_owned());
        let hex = text.strip_prefix('#').ok_or_else(bad)?;
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| bad());
        Ok(Colour {
            r: channel(0)?,
            g: channel(2)?,
            b: channel(4)?,
        })
    }
}

impl TryFrom<String> for Colour {
    type Error = BadColour;

    fn try_from(text: String) -> Result<Self, BadColour> {
        text.parse()
    }
}

impl From<Colour> for String {
    fn from(colour: Colour) -> String {
        colour.to_string()
    }
}

impl fmt::Display for Colour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:02x}{:02x}{:02x}", self.r, self.g, self.b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn colour(text: &str) -> Colour {
        text.parse().unwrap()
    }

    #[test]
    fn colours_parse_and_print() {
        assert_eq!(
            colour("#1a2B3c"),
            Colour {
                r: 0x1a,
                g: 0x2b,
                b: 0x3c
            }
        );
        assert_eq!(colour("#1a2B3c").to_string(), "#1a2b3c");
        for bad in ["1a2b3c", "#1a2b3", "#1a2b3c4", "#gg0000", "#+1a2b3", ""] {
            assert!(bad.parse::<Colour>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn contrast_ratios_match_wcag() {
        let ratio = |a, b| (colour(a).contrast_ratio(colour(b)) * 100.0).round() / 100.0;
        assert_eq!(ratio("#000000", "#ffffff"), 21.0);
        assert_eq!(ratio("#ffffff", "#000000"), 21.0);
        assert_eq!(ratio("#777777", "#777777"), 1.0);
        // #767676 on white is the classic lightest grey that passes AA.
        assert_eq!(ratio("#767676", "#ffffff"), 4.54);
        assert!(colour("#777777").contrast_ratio(colour("#ffffff")) < MIN_TEXT_CONTRAST);
    }

    #[test]
    fn sha256_must_be_lowercase_hex() {
        let good = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(good.parse::<Sha256>().unwrap().to_string(), good);
        for bad in [
            &good[1..],
            &good.to_uppercase(),
            &format!("{}g", &good[1..]),
        ] {
            assert!(bad.parse::<Sha256>().is_err(), "{bad}");
        }
    }

    #[test]
    fn assets_serialize_with_a_kind_tag() {
        let json = r##"{"id":"welcome","kind":"text_slide",
            "texts":{"ja":{"title":"ようこそ","body":"北区役所へ"},"en":{"title":"Welcome","body":""}},
            "colours":{"text":"#ffffff","background":"#003366"}}"##;
        let asset: Asset = serde_json::from_str(json).unwrap();
        assert!(asset.problems().is_empty(), "{:?}", asset.problems());
        assert!(asset.file().is_none());
        let again: Asset = serde_json::from_str(&serde_json::to_string(&asset).unwrap()).unwrap();
        assert_eq!(again, asset);
    }

    #[test]
    fn text_problems_name_the_language() {
        let grey = colour("#777777");
        let slide = Asset {
            id: "s".into(),
            meta: Default::default(),
            kind: AssetKind::Ticker(Ticker {
                texts: BTreeMap::from([("ja".into(), " ".to_owned()), ("e n".into(), "x".into())]),
                colours: Colours {
                    text: grey,
                    background: grey,
                },
            }),
        };
        let fields: Vec<_> = slide
            .problems()
            .into_iter()
            .map(|e| (e.field, e.problem))
            .collect();
        assert_eq!(
            fields,
            vec![
                ("texts[e n]".into(), Problem::BadLanguage("e n".into())),
                ("texts[ja]".into(), Problem::BlankText),
                ("colours".into(), Problem::LowContrast { ratio: 1.0 }),
            ]
        );
    }
}

//! What the renderer is asked to show: the renderer-side image of a [`content`] selection, with
//! local file paths for cached media.
//!
//! The player maps `content::selection::Selection` to a [`ScreenPlan`]: one [`ZonePlan`] per
//! zone of the layout, with the item it shows now and, when known, the item it shows next (which
//! the renderer pre-rolls so that the switch is instant).

use std::path::{Path, PathBuf};
use text_layout::markup::japanese_first;

use content::asset::{Asset, AssetKind, Colours, MediaFile, SlideText};
use content::ids::Lang;
use content::layout::Zone;

/// The whole screen: every zone with what it shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScreenPlan {
    pub zones: Vec<ZonePlan>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ZonePlan {
    /// The layout's zone id; a zone keeps its id across plans so the renderer can transition it.
    pub id: String,
    pub rect: Rect,
    /// Higher is drawn on top.
    pub z: i32,
    pub item: Item,
    /// Distinguishes two plays of the same item (e.g. a one-video playlist looping): a video
    /// restarts when its `instance` changes. The player can pass the item's `started_at` in
    /// Unix milliseconds.
    pub instance: u64,
    /// The item that follows, pre-rolled in the background when given.
    pub next: Option<Item>,
}

impl ZonePlan {
    /// A plan for `zone` of a content layout showing `item`.
    pub fn new(zone: &Zone, item: Item) -> Self {
        Self {
            id: zone.id.to_string(),
            rect: Rect::of_zone(zone),
            z: zone.z,
            item,
            instance: 0,
            next: None,
        }
    }
}

/// A rectangle of the canvas in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl Rect {
    pub fn of_zone(zone: &Zone) -> Self {
        Self {
            x: zone.x,
            y: zone.y,
            width: zone.width,
            height: zone.height,
        }
    }
}

/// How a picture is put into a zone of another shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fit {
    /// All of the picture, bars on two sides.
    #[default]
    Fit,
    /// The whole zone, the picture's overflow cropped.
    Fill,
    /// The whole zone, the picture distorted.
    Stretch,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A video file in any format the installed GStreamer decodes; sound is discarded.
    Video { path: PathBuf, fit: Fit },
    /// A still image (PNG, JPEG, ...).
    Image { path: PathBuf, fit: Fit },
    /// An announcement slide; every language is shown at once, Japanese first.
    Text {
        texts: Vec<(Lang, SlideText)>,
        colours: Colours,
    },
    /// A line scrolling from right to left; all languages follow each other.
    Ticker {
        texts: Vec<(Lang, String)>,
        colours: Colours,
    },
}

impl Item {
    /// Whether the item moves by itself, so identical frames mean the output froze.
    pub fn moves(&self) -> bool {
        matches!(self, Item::Video { .. } | Item::Ticker { .. })
    }

    /// The renderer's item for a content asset. `media` gives the local path of a cached file,
    /// or `None` when it is not (yet) in the cache.
    pub fn from_asset(
        asset: &Asset,
        media: impl Fn(&MediaFile) -> Option<PathBuf>,
    ) -> Result<Item, PlanError> {
        let cached = |file: &MediaFile| {
            media(file).ok_or_else(|| PlanError::NotCached {
                asset: asset.id.to_string(),
                sha256: file.sha256.to_string(),
            })
        };
        Ok(match &asset.kind {
            AssetKind::Video { file, .. } => Item::Video {
                path: cached(file)?,
                fit: Fit::Fit,
            },
            AssetKind::Image { file } => Item::Image {
                path: cached(file)?,
                fit: Fit::Fit,
            },
            AssetKind::TextSlide(slide) => Item::Text {
                texts: japanese_first(slide.texts.iter()),
                colours: slide.colours,
            },
            AssetKind::Ticker(ticker) => Item::Ticker {
                texts: japanese_first(ticker.texts.iter()),
                colours: ticker.colours,
            },
        })
    }

    pub(crate) fn path(&self) -> Option<&Path> {
        match self {
            Item::Video { path, .. } | Item::Image { path, .. } => Some(path),
            Item::Text { .. } | Item::Ticker { .. } => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "asset {asset} needs file {sha256}, which is not in the cache yet; wait for the download \
         or keep showing the previous item"
    )]
    NotCached { asset: String, sha256: String },
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn asset(json: &str) -> Asset {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn text_assets_map_with_japanese_first() {
        let slide = asset(
            r##"{"id":"w","kind":"text_slide",
            "texts":{"en":{"title":"Welcome","body":""},"ja":{"title":"ようこそ","body":"北区役所へ"}},
            "colours":{"text":"#ffffff","background":"#003366"}}"##,
        );
        let Item::Text { texts, colours } = Item::from_asset(&slide, |_| None).unwrap() else {
            panic!("not a text item");
        };
        let langs: Vec<String> = texts.iter().map(|(l, _)| l.to_string()).collect();
        assert_eq!(langs, ["ja", "en"]);
        assert_eq!(colours.background.to_string(), "#003366");
    }

    #[test]
    fn media_assets_take_the_cached_path_or_say_what_is_missing() {
        let sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let video = asset(&format!(
            r#"{{"id":"v","kind":"video","file":{{"sha256":"{sha}","size_bytes":10}}}}"#
        ));
        let item = Item::from_asset(&video, |f| Some(PathBuf::from(format!("/c/{}", f.sha256))));
        assert_eq!(
            item,
            Ok(Item::Video {
                path: PathBuf::from(format!("/c/{sha}")),
                fit: Fit::Fit
            })
        );
        let missing = Item::from_asset(&video, |_| None).unwrap_err();
        assert!(
            missing.to_string().contains("not in the cache"),
            "{missing}"
        );
    }

    #[test]
    fn only_video_and_tickers_move() {
        let colours: Colours =
            serde_json::from_str(r##"{"text":"#ffffff","background":"#000000"}"##).unwrap();
        let ticker = Item::Ticker {
            texts: BTreeMap::from([("ja".into(), "お知らせ".to_owned())])
                .into_iter()
                .collect(),
            colours,
        };
        assert!(ticker.moves());
        assert!(
            !Item::Image {
                path: "/a.png".into(),
                fit: Fit::Fill
            }
            .moves()
        );
        assert!(
            Item::Video {
                path: "/a.mp4".into(),
                fit: Fit::Fit
            }
            .moves()
        );
    }
}

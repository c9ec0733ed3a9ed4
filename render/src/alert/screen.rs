//! What the takeover shows, built from the alert message the player verified.

use std::time::Duration;

use alerts::flash::FlashPlan;
use alerts::message::AlertMessage;
use alerts::model::Status;
use alerts::templates::{LANGUAGES, Rgb, drill_banner};

/// Each further language stays this long before the next one replaces it.
pub const ROTATION: Duration = Duration::from_secs(5);
/// The drill palette: a slate body, never a warning-level colour.
pub(crate) const DRILL_BODY: Rgb = Rgb(38, 50, 92);
pub(crate) const DRILL_TEXT: Rgb = Rgb(255, 255, 255);
pub(crate) const HATCH_DARK: Rgb = Rgb(0, 0, 0);
pub(crate) const HATCH_LIGHT: Rgb = Rgb(255, 212, 0);

/// One language's text on the takeover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertText {
    pub lang: String,
    pub headline: String,
    pub instruction: String,
}

/// What the takeover shows; built from the alert message the player verified.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertScreen {
    /// Warning-level background and text colours.
    pub background: Rgb,
    pub text: Rgb,
    /// Exercise or Test: drill palette, hatched frame, banners.
    pub drill: bool,
    /// 訓練 / TEST per language, as (language, text) (drills only).
    pub banners: Vec<(String, String)>,
    /// Japanese and English, always on screen.
    pub fixed: Vec<AlertText>,
    /// The other languages, one at a time for [`ROTATION`] each.
    pub rotating: Vec<AlertText>,
    /// The border's flashing, never above three flashes a second.
    pub flash: FlashPlan,
}

fn text_of(info: &alerts::model::Info) -> AlertText {
    AlertText {
        lang: info.language.clone(),
        headline: info
            .headline
            .clone()
            .filter(|h| !h.trim().is_empty())
            .unwrap_or_else(|| info.event.clone()),
        instruction: info
            .instruction
            .clone()
            .or_else(|| info.description.clone())
            .unwrap_or_default(),
    }
}

impl AlertScreen {
    pub fn from_message(message: &AlertMessage) -> AlertScreen {
        AlertScreen::from_infos(
            message.level.colours(),
            &message.cap.infos,
            message.is_drill(),
            message.cap.status,
        )
    }

    /// The takeover of CAP infos at a level's colours (what a verified message carries).
    pub fn from_infos(
        colours: alerts::templates::LevelColours,
        infos: &[alerts::model::Info],
        drill: bool,
        status: Status,
    ) -> AlertScreen {
        let primary = |l: &str| l.split('-').next().unwrap_or("").to_ascii_lowercase();
        let find = |lang: &str| {
            infos
                .iter()
                .position(|i| i.language.eq_ignore_ascii_case(lang))
                .or_else(|| {
                    infos
                        .iter()
                        .position(|i| primary(&i.language) == lang && !i.language.contains("easy"))
                })
        };
        let ja = find("ja");
        let en = find("en");
        let mut fixed: Vec<usize> = ja.into_iter().chain(en).collect();
        fixed.dedup();
        if fixed.is_empty() && !infos.is_empty() {
            fixed.push(0);
        }
        let status = if drill { status } else { Status::Actual };
        AlertScreen {
            background: colours.background,
            text: colours.text,
            drill,
            banners: LANGUAGES
                .iter()
                .filter_map(|lang| Some((lang.to_string(), drill_banner(status, lang)?.to_owned())))
                .collect(),
            fixed: fixed.iter().map(|&i| text_of(&infos[i])).collect(),
            rotating: (0..infos.len())
                .filter(|i| !fixed.contains(i))
                .map(|i| text_of(&infos[i]))
                .collect(),
            flash: FlashPlan::calm(),
        }
    }

    pub(crate) fn body(&self) -> Rgb {
        if self.drill {
            DRILL_BODY
        } else {
            self.background
        }
    }

    pub(crate) fn body_text(&self) -> Rgb {
        if self.drill { DRILL_TEXT } else { self.text }
    }

    /// Which rotating language shows `elapsed` after the alert came on.
    pub fn rotation_at(&self, elapsed: Duration) -> usize {
        if self.rotating.is_empty() {
            return 0;
        }
        (elapsed.as_millis() / ROTATION.as_millis()) as usize % self.rotating.len()
    }

    /// The drill banner's one line while rotation `rotation` shows: Japanese, English and the
    /// rotating language, each in its own words.
    pub fn banner_line(&self, rotation: usize) -> Option<String> {
        if self.banners.is_empty() {
            return None;
        }
        let mut langs = vec!["ja", "en"];
        langs.extend(self.rotating.get(rotation).map(|t| t.lang.as_str()));
        let mut parts: Vec<&str> = Vec::new();
        for lang in langs {
            let found = self
                .banners
                .iter()
                .find(|(l, _)| l.eq_ignore_ascii_case(lang))
                .map(|(_, t)| t.as_str());
            if let Some(text) = found
                && !parts.contains(&text)
            {
                parts.push(text);
            }
        }
        if parts.is_empty() {
            parts.extend(self.banners.first().map(|(_, t)| t.as_str()));
        }
        Some(parts.join("　／　"))
    }
}

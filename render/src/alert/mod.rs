//! The emergency-alert takeover: what it shows ([`AlertScreen`], from the verified message),
//! how it is painted (`paint`: panel, fitted text, flashing or hatched frame, drill banners)
//! and the GStreamer layer that puts it above every zone (`layer`).

mod layer;
mod paint;
mod screen;

pub use layer::AlertShown;
pub(crate) use layer::{AlertLayer, AlertMark, on_composed};
pub use paint::{Check, Geometry, Takeover, contrast};
pub use screen::{AlertScreen, AlertText, ROTATION};

use alerts::model::Status;
use alerts::templates::{LocalNames, Placeholders, TemplateKind, cap_infos};

/// Every template as the takeover shows it for `wards` (ids from `content::wards`) with a
/// shelter named only in Japanese (so its reading is shown), under `status`: what the
/// warm-up draws, the tests measure and the contact sheet shows. Named `template/level`.
pub fn template_screens(wards: &[&str], status: Status) -> Vec<(String, AlertScreen)> {
    let names: Vec<&content::wards::Ward> = wards
        .iter()
        .filter_map(|w| content::wards::by_id(w))
        .collect();
    let area = |lang: &str| {
        names
            .iter()
            .map(|w| w.name(lang))
            .collect::<Vec<_>>()
            .join(content::wards::list_separator(lang))
    };
    let values = Placeholders {
        area: area("ja"),
        shelter: Some("扇町公園".into()),
        shelter_reading: Some("おうぎまちこうえん".into()),
        names: alerts::templates::LANGUAGES
            .iter()
            .map(|lang| {
                let local = LocalNames {
                    area: Some(area(lang)),
                    shelter: None,
                };
                (lang.to_string(), local)
            })
            .collect(),
    };
    let drill = matches!(status, Status::Exercise | Status::Test);
    TemplateKind::all()
        .into_iter()
        .filter_map(|kind| {
            let infos = cap_infos(kind, &values, status, None).ok()?;
            let level = kind.level();
            let screen = AlertScreen::from_infos(level.colours(), &infos, drill, status);
            Some((format!("{}/{}", template_name(kind), level.get()), screen))
        })
        .collect()
}

/// The warm-up's screens: every template as a drill, so the banners are drawn too.
pub(crate) fn every_template_screen() -> Vec<AlertScreen> {
    template_screens(&["kita"], Status::Exercise)
        .into_iter()
        .map(|(_, s)| s)
        .collect()
}

fn template_name(kind: TemplateKind) -> &'static str {
    match kind {
        TemplateKind::Earthquake => "earthquake",
        TemplateKind::Tsunami => "tsunami",
        TemplateKind::HeavyRainFlood { .. } => "heavy_rain_flood",
        TemplateKind::EvacuationOrder => "evacuation_order",
        TemplateKind::Missile => "missile",
        TemplateKind::BuildingFire => "building_fire",
    }
}

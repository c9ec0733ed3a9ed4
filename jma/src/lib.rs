//! JMA disaster-information XML (気象庁防災情報XML), read safely.
//!
//! A document goes through two readers. First the bounded one CAP uses
//! ([`alerts::cap::xml`]): size, encoding, no DOCTYPE (so no entity is ever declared, let
//! alone resolved), nesting depth and element count. Only a document that passes is handed to
//! `jmaxml`, generated from JMA's own schemas, for the typed reading. See
//! `docs/adr/0003-jma-xml.md`.

pub mod areas;
pub mod decide;
pub mod shift;
pub mod text;

use alerts::cap::CapError;
use alerts::cap::xml;
use chrono::{DateTime, Utc};

pub use jmaxml::Report;

/// Largest document read. JMA's own samples reach 550 KB (a prefecture's full warning table).
pub const MAX_BYTES: usize = 2 << 20;

/// Why a document was refused; each names the rule.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JmaError {
    #[error("document is {size} bytes, over the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    /// The bounded reader's refusal: DOCTYPE, entities, encoding, depth, element count, XML.
    #[error("{0}")]
    Unsafe(String),
    #[error("not JMA disaster-information XML: the root element is {0}; expected <Report>")]
    NotJma(String),
    #[error("does not follow JMA's schema: {0}")]
    Schema(String),
}

impl JmaError {
    /// A short name of the rule that refused the document (for API answers and logs).
    pub fn rule(&self) -> &'static str {
        match self {
            JmaError::TooLarge { .. } => "size-limit",
            JmaError::Unsafe(_) => "unsafe-xml",
            JmaError::NotJma(_) => "not-jma",
            JmaError::Schema(_) => "jma-schema",
        }
    }
}

/// `Control/Status`: whether the document is real.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 通常
    Normal,
    /// 訓練
    Exercise,
    /// 試験
    Test,
}

/// `Head/InfoType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InfoType {
    /// 発表
    Issued,
    /// 訂正
    Corrected,
    /// 遅延
    Delayed,
    /// 取消
    Cancelled,
}

impl InfoType {
    pub fn ja(self) -> &'static str {
        match self {
            InfoType::Issued => "発表",
            InfoType::Corrected => "訂正",
            InfoType::Delayed => "遅延",
            InfoType::Cancelled => "取消",
        }
    }
}

/// What a document is about, from its `Control/Title`: the first step of every decision.
/// Which ones may issue alerts, and where, is decided from the body (issue 20).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 緊急地震速報（警報）
    EarthquakeEarlyWarning,
    /// 緊急地震速報（予報）, （地震動予報）: forecasts for receivers, never shown.
    EarthquakeForecast,
    /// 震度速報, 震源・震度に関する情報
    SeismicIntensity,
    /// 震源に関する情報: no intensities.
    Hypocenter,
    /// 津波警報・注意報・予報
    TsunamiWarning,
    /// 津波情報: arrival times and heights of a standing tsunami warning.
    TsunamiInformation,
    /// 気象特別警報・警報・注意報 and the 2026 (R06) documents per phenomenon.
    WeatherWarning,
    /// 気象警報・注意報時系列情報: the time series behind a warning.
    WeatherWarningTimeSeries,
    /// 土砂災害警戒情報
    LandslideAlert,
    /// 指定河川洪水予報, 水位周知河川に関する情報
    RiverFlood,
    /// 記録的短時間大雨情報
    RecordRainfall,
    /// 竜巻注意情報
    Tornado,
    /// 南海トラフ地震臨時情報
    NankaiTroughExtra,
    /// 南海トラフ地震関連解説情報
    NankaiTroughCommentary,
    Other,
}

impl Kind {
    pub fn of(title: &str) -> Kind {
        // Titles carry suffixes: 津波警報・注意報・予報a, 気象警報・注意報（Ｒ０６）（大雨）.
        let starts = |p: &str| title.starts_with(p);
        if starts("緊急地震速報（警報）") {
            Kind::EarthquakeEarlyWarning
        } else if starts("緊急地震速報") {
            Kind::EarthquakeForecast
        } else if starts("震度速報") || starts("震源・震度に関する情報") {
            Kind::SeismicIntensity
        } else if starts("震源に関する情報") {
            Kind::Hypocenter
        } else if starts("津波警報・注意報・予報") {
            Kind::TsunamiWarning
        } else if starts("津波情報") {
            Kind::TsunamiInformation
        } else if starts("気象警報・注意報時系列") {
            Kind::WeatherWarningTimeSeries
        } else if starts("気象特別警報・警報・注意報") || starts("気象警報・注意報")
        {
            Kind::WeatherWarning
        } else if starts("土砂災害警戒情報") {
            Kind::LandslideAlert
        } else if starts("指定河川洪水予報") || starts("水位周知河川") {
            Kind::RiverFlood
        } else if starts("記録的短時間大雨情報") {
            Kind::RecordRainfall
        } else if starts("竜巻注意情報") {
            Kind::Tornado
        } else if starts("南海トラフ地震臨時情報") {
            Kind::NankaiTroughExtra
        } else if starts("南海トラフ地震関連解説情報") {
            Kind::NankaiTroughCommentary
        } else {
            Kind::Other
        }
    }
}

/// What every decision needs of a document, whatever its kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// `Control/Title`, e.g. 気象特別警報・警報・注意報, 震源・震度に関する情報.
    pub title: String,
    pub kind: Kind,
    pub status: Status,
    pub info_type: InfoType,
    /// `Head/InfoKind`, e.g. 気象警報・注意報, 震度速報, 津波警報・注意報・予報.
    pub info_kind: String,
    /// `Head/ReportDateTime`.
    pub reported_at: DateTime<Utc>,
    /// `Head/EventID`: what later documents of the same event share.
    pub event_id: String,
    /// `Head/Serial`, when the kind numbers its documents.
    pub serial: Option<String>,
    /// `Head/Headline/Text`.
    pub headline: String,
    /// `Control/EditorialOffice`.
    pub office: String,
}

/// A document read: its summary and the typed report.
#[derive(Debug, Clone)]
pub struct Document {
    pub summary: Summary,
    pub report: Report,
}

/// Reads a JMA document of at most [`MAX_BYTES`].
pub fn read(bytes: &[u8]) -> Result<Document, JmaError> {
    if bytes.len() > MAX_BYTES {
        return Err(JmaError::TooLarge {
            size: bytes.len(),
            limit: MAX_BYTES,
        });
    }
    let text = xml::decode(bytes).map_err(unsafe_xml)?;
    let root = xml::parse_tree(&text).map_err(unsafe_xml)?;
    if root.name != "Report" {
        return Err(JmaError::NotJma(format!("<{}>", root.name)));
    }
    let report = text
        .parse::<Report>()
        .map_err(|e| JmaError::Schema(e.to_string()))?;
    let summary = summary(&report)?;
    Ok(Document { summary, report })
}

fn unsafe_xml(e: CapError) -> JmaError {
    JmaError::Unsafe(match e {
        CapError::Doctype => "DOCTYPE/DTD refused: JMA XML needs none, and entities declared in one are never resolved (XML external entity protection)".into(),
        other => other.to_string(),
    })
}

fn summary(report: &Report) -> Result<Summary, JmaError> {
    let control = &report.control;
    let head = &report.head;
    let status = match control.status.as_str() {
        "通常" => Status::Normal,
        "訓練" => Status::Exercise,
        "試験" => Status::Test,
        other => {
            return Err(JmaError::Schema(format!(
                "Control/Status {other:?} is not 通常, 訓練 or 試験"
            )));
        }
    };
    let info_type = match head.info_type.as_str() {
        "発表" => InfoType::Issued,
        "訂正" => InfoType::Corrected,
        "遅延" => InfoType::Delayed,
        "取消" => InfoType::Cancelled,
        other => {
            return Err(JmaError::Schema(format!(
                "Head/InfoType {other:?} is not 発表, 訂正, 遅延 or 取消"
            )));
        }
    };
    Ok(Summary {
        kind: Kind::of(&control.title),
        title: control.title.clone(),
        status,
        info_type,
        info_kind: head.info_kind.clone(),
        reported_at: head.report_date_time,
        event_id: head.event_id.clone(),
        serial: Some(head.serial.clone()).filter(|s| !s.is_empty()),
        headline: head.headline.text.clone(),
        office: control.editorial_office.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_the_title_whatever_its_suffix() {
        assert_eq!(
            Kind::of("緊急地震速報（警報）"),
            Kind::EarthquakeEarlyWarning
        );
        assert_eq!(Kind::of("緊急地震速報（予報）"), Kind::EarthquakeForecast);
        assert_eq!(Kind::of("津波警報・注意報・予報a"), Kind::TsunamiWarning);
        assert_eq!(
            Kind::of("気象警報・注意報（Ｒ０６）（大雨）"),
            Kind::WeatherWarning
        );
        assert_eq!(
            Kind::of("気象警報・注意報時系列情報（Ｒ０６）"),
            Kind::WeatherWarningTimeSeries
        );
        assert_eq!(Kind::of("季節観測"), Kind::Other);
        assert_eq!(Kind::of(""), Kind::Other);
    }
}

//! What a JMA document means for the city's screens: show it at once, stage it for a person,
//! end or cancel what an earlier document of the same event showed, or nothing. Pure: the
//! area table, the policy and the time of arrival are parameters.
//!
//! Every document belongs to an *event* ([`Decision::key`]): a later document with the same
//! key updates, ends or cancels the alert the earlier one made. Keys follow how JMA repeats
//! itself: an earthquake or tsunami by its `EventID`; a warning table by its title and office
//! (each document is the full current state of that office's warnings).

use std::collections::BTreeMap;
use std::fmt;

use alerts::area_map::WardMatch;
use alerts::templates::WarningLevel;
use chrono::{DateTime, TimeDelta, Utc};
use jmaxml::Body;
use serde::{Deserialize, Serialize};

use crate::areas::AreaCodes;
use crate::{Document, InfoType, Kind, Status};

mod seismic;
mod weather;

use seismic::{eew, intensity, nankai, tsunami};
use weather::{landslide, record_rain, river, tornado, weather};

const NAMES_NO_AREA: &str = "names no area of this city";

/// JMA seismic intensity (震度), in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Intensity(u8);

impl Intensity {
    const CODES: [&'static str; 9] = ["1", "2", "3", "4", "5-", "5+", "6-", "6+", "7"];
    const JA: [&'static str; 9] = ["1", "2", "3", "4", "5弱", "5強", "6弱", "6強", "7"];

    pub fn parse(code: &str) -> Option<Intensity> {
        Self::CODES
            .iter()
            .position(|c| *c == code.trim())
            .map(|i| Intensity(i as u8))
    }

    /// JMA's code: `5-` is 5弱 (5 lower).
    pub fn code(self) -> &'static str {
        Self::CODES[usize::from(self.0)]
    }

    /// 震度5弱
    pub fn ja(self) -> &'static str {
        Self::JA[usize::from(self.0)]
    }
}

impl TryFrom<String> for Intensity {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Intensity::parse(&s).ok_or_else(|| {
            format!("intensity {s:?} is not one of JMA's: 1 2 3 4 5- 5+ 6- 6+ 7 (5- is 5弱)")
        })
    }
}

impl From<Intensity> for String {
    fn from(i: Intensity) -> String {
        i.code().to_owned()
    }
}

/// The policy's classes of documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// 大津波警報
    MajorTsunamiWarning,
    /// 津波警報
    TsunamiWarning,
    /// 津波注意報
    TsunamiAdvisory,
    /// 緊急地震速報（警報） naming the city's region.
    EarthquakeEarlyWarning,
    /// An observed intensity at or over the policy's in a ward.
    StrongShaking,
    /// 特別警報, and anything at alert level 5 (氾濫発生情報).
    EmergencyWarning,
    /// 警報 at levels 3-4, and the warnings without a level (暴風警報, 波浪警報).
    Warning,
    /// 注意報
    Advisory,
    /// 土砂災害警戒情報
    LandslideAlert,
    /// Designated-river flood forecasts at levels 3-4.
    RiverFlood,
    /// 記録的短時間大雨情報
    RecordRainfall,
    /// 竜巻注意情報
    Tornado,
    /// 南海トラフ地震臨時情報（巨大地震警戒）
    NankaiTroughWarning,
    /// 南海トラフ地震臨時情報（巨大地震注意）
    NankaiTroughAdvisory,
}

impl Rule {
    pub const ALL: [Rule; 14] = [
        Rule::MajorTsunamiWarning,
        Rule::TsunamiWarning,
        Rule::TsunamiAdvisory,
        Rule::EarthquakeEarlyWarning,
        Rule::StrongShaking,
        Rule::EmergencyWarning,
        Rule::Warning,
        Rule::Advisory,
        Rule::LandslideAlert,
        Rule::RiverFlood,
        Rule::RecordRainfall,
        Rule::Tornado,
        Rule::NankaiTroughWarning,
        Rule::NankaiTroughAdvisory,
    ];

    /// The documented default: certain, life-threatening news issues at once; the less
    /// certain waits for disaster staff; advisories never reach a screen.
    pub fn default_treatment(self) -> Treatment {
        match self {
            Rule::MajorTsunamiWarning
            | Rule::TsunamiWarning
            | Rule::EarthquakeEarlyWarning
            | Rule::StrongShaking
            | Rule::EmergencyWarning
            | Rule::NankaiTroughWarning => Treatment::Auto,
            Rule::Warning
            | Rule::LandslideAlert
            | Rule::RiverFlood
            | Rule::RecordRainfall
            | Rule::Tornado
            | Rule::NankaiTroughAdvisory => Treatment::Stage,
            Rule::TsunamiAdvisory | Rule::Advisory => Treatment::Ignore,
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let json = serde_json::to_value(self).expect("a unit variant");
        f.write_str(json.as_str().unwrap_or_default())
    }
}

/// What the policy does with a class of documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Treatment {
    /// Issued at once, the policy standing in for the second person.
    Auto,
    /// Waits for a disaster or admin account to confirm or dismiss.
    Stage,
    /// Not shown; a later document of a shown event in this class ends the alert.
    Ignore,
}

/// `[jma.policy]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// The least observed intensity in a ward that issues an alert there (default `5-`, 5弱).
    pub intensity: Intensity,
    /// A document whose report time is older than this on arrival is not shown (it may still
    /// end or cancel an alert). Default 30 minutes.
    pub max_age_secs: u64,
    /// The same for 緊急地震速報, whose news is over within a minute (default 3 minutes).
    pub eew_max_age_secs: u64,
    /// Overrides of the default treatments, e.g. `warning = "auto"`.
    pub rules: BTreeMap<Rule, Treatment>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            intensity: Intensity::parse("5-").expect("known"),
            max_age_secs: 1800,
            eew_max_age_secs: 180,
            rules: BTreeMap::new(),
        }
    }
}

impl Policy {
    pub fn treatment(&self, rule: Rule) -> Treatment {
        self.rules
            .get(&rule)
            .copied()
            .unwrap_or(rule.default_treatment())
    }
}

/// The hazard a weather warning is about, for the translated texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hazard {
    HeavyRain,
    Landslide,
    Flood,
    StormSurge,
    Storm,
    Snowstorm,
    HeavySnow,
    HighWaves,
    Other,
}

impl Hazard {
    pub(crate) fn of(name: &str) -> Hazard {
        let has = |s: &str| name.contains(s);
        if has("土砂") {
            Hazard::Landslide
        } else if has("大雨") {
            Hazard::HeavyRain
        } else if has("洪水") || has("氾濫") {
            Hazard::Flood
        } else if has("高潮") {
            Hazard::StormSurge
        } else if has("暴風雪") {
            Hazard::Snowstorm
        } else if has("暴風") {
            Hazard::Storm
        } else if has("大雪") {
            Hazard::HeavySnow
        } else if has("波浪") {
            Hazard::HighWaves
        } else {
            Hazard::Other
        }
    }
}

/// What an alert says, for its texts in every language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum What {
    MajorTsunamiWarning,
    TsunamiWarning,
    EarthquakeEarlyWarning,
    StrongShaking { intensity: Intensity },
    EmergencyWarning { hazards: Vec<Hazard> },
    Warning { hazards: Vec<Hazard> },
    LandslideAlert,
    RiverFlood { river: String },
    RecordRainfall,
    Tornado,
    NankaiTroughWarning,
    NankaiTroughAdvisory,
}

/// A document's alert, ready for texts.
#[derive(Debug, Clone, PartialEq)]
pub struct Show {
    pub rule: Rule,
    /// `Auto` or `Stage` (an ignored rule never gives a `Show`).
    pub treatment: Treatment,
    pub level: WarningLevel,
    pub wards: WardMatch,
    pub what: What,
    /// The Japanese headline, from the document: 大津波警報（大阪府）, 大雨特別警報（大阪市）.
    pub headline_ja: String,
    /// The document's own headline text (Head/Headline/Text).
    pub text_ja: String,
    /// Details and what to do: arrival times, heights, intensities, the action.
    pub details_ja: Vec<String>,
    /// The first wave's expected arrival (tsunami), for the translated texts.
    pub arrival: Option<DateTime<Utc>>,
    /// JMA's words for the expected height (１０ｍ超, 巨大), as written.
    pub height: Option<String>,
    /// When the alert ends by itself (EEW, observed shaking, tornado watch).
    pub expires: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Issue, or update the event's alert.
    Show(Box<Show>),
    /// 解除, or a level the policy does not show: the event's alert (if any) ends.
    End,
    /// 取消: the event's alert (if any) is cancelled.
    Cancel,
    /// Nothing for this city's screens.
    Ignore,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub key: String,
    pub action: Action,
    /// Why, in a sentence for logs, the API answer and the console.
    pub reason: String,
    /// 訓練 or 試験: shown only as a drill.
    pub drill: bool,
}

impl Decision {
    /// `auto`, `staged`, `end`, `cancel` or `ignored`.
    pub fn name(&self) -> &'static str {
        match &self.action {
            Action::Show(s) if s.treatment == Treatment::Auto => "auto",
            Action::Show(_) => "staged",
            Action::End => "end",
            Action::Cancel => "cancel",
            Action::Ignore => "ignored",
        }
    }
}

/// Decides what `doc`, arriving at `now`, means for the city's screens.
pub fn decide(doc: &Document, areas: &AreaCodes, policy: &Policy, now: DateTime<Utc>) -> Decision {
    let s = &doc.summary;
    let key = key(doc);
    let drill = s.status != Status::Normal;
    let decision = |action, reason: String| Decision {
        key: key.clone(),
        action,
        reason,
        drill,
    };
    if s.info_type == InfoType::Cancelled {
        return decision(
            Action::Cancel,
            format!("取消: JMA withdrew its {} ({})", s.title, s.event_id),
        );
    }
    let outcome = match (&doc.report.body, s.kind) {
        (_, Kind::EarthquakeForecast) => Err(
            "緊急地震速報（予報）is a forecast for receivers; screens show only the warning".into(),
        ),
        (_, Kind::Hypocenter) => Err("震源に関する情報 names no intensity".into()),
        (_, Kind::WeatherWarningTimeSeries) => {
            Err("a warning's time series; the warning document itself decides".into())
        }
        (_, Kind::NankaiTroughCommentary) => {
            Err("南海トラフ地震関連解説情報 is commentary, not a call to act".into())
        }
        (Body::Seismology(b), Kind::EarthquakeEarlyWarning) => eew(doc, b, areas, now),
        (Body::Seismology(b), Kind::SeismicIntensity) => intensity(b, areas, policy, doc, now),
        (Body::Seismology(b), Kind::TsunamiWarning | Kind::TsunamiInformation) => {
            tsunami(b, areas, doc)
        }
        (Body::Seismology(_), Kind::NankaiTroughExtra) => nankai(doc, areas),
        (Body::Meteorology(b), Kind::WeatherWarning) => weather(b, areas, doc),
        (Body::Meteorology(b), Kind::LandslideAlert) => landslide(b, areas, doc),
        (Body::Meteorology(b), Kind::RiverFlood) => river(b, areas, doc),
        (Body::Meteorology(b), Kind::RecordRainfall) => record_rain(b, areas, doc),
        (Body::Meteorology(b), Kind::Tornado) => tornado(b, areas, doc),
        _ => Err(format!("{} is not a kind screens show", s.title)),
    };
    let show = match outcome {
        Err(reason) => return decision(Action::Ignore, reason),
        Ok(Outcome::End(reason)) => return decision(Action::End, reason),
        Ok(Outcome::Show(show)) => show,
    };
    let treatment = policy.treatment(show.rule);
    if treatment == Treatment::Ignore {
        return decision(
            Action::End,
            format!(
                "{}: the policy does not show {}; ends this event's alert, if any",
                show.headline_ja, show.rule
            ),
        );
    }
    let limit = if s.kind == Kind::EarthquakeEarlyWarning {
        policy.eew_max_age_secs
    } else {
        policy.max_age_secs
    };
    let age = now - s.reported_at;
    if age > TimeDelta::seconds(limit as i64) {
        return decision(
            Action::Ignore,
            format!(
                "{}: reported at {} ({} s before arrival), over the {limit} s age limit; logged, not shown",
                show.headline_ja,
                s.reported_at.to_rfc3339(),
                age.num_seconds()
            ),
        );
    }
    let reason = format!(
        "{}: {} ({}, level {})",
        show.headline_ja,
        if treatment == Treatment::Auto {
            "issued at once by policy"
        } else {
            "staged for disaster staff to confirm"
        },
        show.rule,
        show.level.get()
    );
    decision(Action::Show(Box::new(Show { treatment, ..show })), reason)
}

pub(crate) enum Outcome {
    Show(Show),
    End(String),
}

pub(crate) type Evaluated = Result<Outcome, String>;

/// The event a document belongs to (see the module's documentation).
pub fn key(doc: &Document) -> String {
    let s = &doc.summary;
    let family = match s.kind {
        Kind::EarthquakeEarlyWarning | Kind::EarthquakeForecast => "eew",
        Kind::SeismicIntensity | Kind::Hypocenter => "shaking",
        Kind::TsunamiWarning | Kind::TsunamiInformation => "tsunami",
        Kind::NankaiTroughExtra | Kind::NankaiTroughCommentary => return "nankai-trough".into(),
        Kind::RiverFlood => "river",
        Kind::WeatherWarning
        | Kind::WeatherWarningTimeSeries
        | Kind::LandslideAlert
        | Kind::RecordRainfall
        | Kind::Tornado
        | Kind::Other => {
            // One standing state per title and office: JMA sends the whole table each time.
            let title = s.title.trim_end_matches(|c: char| c.is_ascii_alphabetic());
            return format!("{title}/{}", s.office);
        }
    };
    format!("{family}/{}", s.event_id)
}

pub(crate) fn level(n: u8) -> WarningLevel {
    WarningLevel::new(n).expect("1-5")
}

pub(crate) fn merge(a: WardMatch, b: WardMatch) -> WardMatch {
    match (a, b) {
        (WardMatch::All, _) | (_, WardMatch::All) => WardMatch::All,
        (WardMatch::Wards(mut x), WardMatch::Wards(y)) => {
            x.extend(y);
            WardMatch::Wards(x)
        }
    }
}

pub(crate) fn show(
    doc: &Document,
    rule: Rule,
    lvl: u8,
    wards: WardMatch,
    what: What,
    headline: String,
) -> Show {
    Show {
        rule,
        treatment: Treatment::Auto,
        level: level(lvl),
        wards,
        what,
        headline_ja: headline,
        text_ja: doc.summary.headline.trim().to_owned(),
        details_ja: Vec::new(),
        arrival: None,
        height: None,
        expires: None,
    }
}

#[cfg(test)]
mod tests {
    use super::weather::{classify, level_in};
    use super::*;

    #[test]
    fn intensities_order_and_spell() {
        let five_lower = Intensity::parse("5-").unwrap();
        assert!(Intensity::parse("4").unwrap() < five_lower);
        assert!(Intensity::parse("6+").unwrap() > five_lower);
        assert_eq!(five_lower.ja(), "5弱");
        assert!(Intensity::parse("8").is_none());
        let err = Intensity::try_from("5 weak".to_string()).unwrap_err();
        assert!(err.contains("5- is 5弱"), "{err}");
    }

    #[test]
    fn warning_names_give_their_level() {
        assert_eq!(classify("大雨特別警報"), Some((Rule::EmergencyWarning, 5)));
        assert_eq!(classify("高潮警報"), Some((Rule::Warning, 4)));
        assert_eq!(classify("暴風警報"), Some((Rule::Warning, 3)));
        assert_eq!(classify("雷注意報"), Some((Rule::Advisory, 2)));
        assert_eq!(
            classify("レベル４土砂災害危険警報"),
            Some((Rule::Warning, 4))
        );
        assert_eq!(
            classify("レベル５大雨特別警報"),
            Some((Rule::EmergencyWarning, 5))
        );
        assert_eq!(classify("レベル２大雨注意報"), Some((Rule::Advisory, 2)));
        assert_eq!(classify("なし"), None);
        assert_eq!(level_in("【警戒レベル４相当情報［洪水］】"), Some(4));
        assert_eq!(level_in("善川レベル２氾濫注意報"), Some(2));
    }

    #[test]
    fn every_rule_has_a_name_and_a_default() {
        for rule in Rule::ALL {
            assert!(!rule.to_string().is_empty());
            let _ = rule.default_treatment();
        }
        let policy: Policy = toml_like(r#"{"rules": {"warning": "auto"}, "intensity": "4"}"#);
        assert_eq!(policy.treatment(Rule::Warning), Treatment::Auto);
        assert_eq!(policy.treatment(Rule::Tornado), Treatment::Stage);
        assert_eq!(policy.intensity, Intensity::parse("4").unwrap());
        assert_eq!(policy.max_age_secs, 1800);
    }

    fn toml_like(json: &str) -> Policy {
        serde_json::from_str(json).unwrap()
    }
}

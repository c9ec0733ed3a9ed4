//! Earthquakes and tsunamis: 緊急地震速報, intensities per ward, tsunami warnings for the
//! city's coast, 南海トラフ地震臨時情報.

use alerts::area_map::WardMatch;
use chrono::{DateTime, TimeDelta, Utc};
use jmaxml::model::SeisBody;

use super::{Evaluated, Intensity, NAMES_NO_AREA, Outcome, Policy, Rule, What, merge, show};
use crate::areas::{AreaCodes, Table, reaches};
use crate::{Document, Kind};

pub(super) fn eew(
    doc: &Document,
    b: &SeisBody,
    areas: &AreaCodes,
    now: DateTime<Utc>,
) -> Evaluated {
    let forecast = b.intensity.as_ref().and_then(|i| i.forecast.as_ref());
    let mut named = Vec::new();
    let mut wards = WardMatch::Wards(Default::default());
    for pref in forecast.map(|f| f.prefs.as_slice()).unwrap_or_default() {
        for area in &pref.areas {
            let warned = area
                .category
                .as_ref()
                .is_none_or(|c| c.kind.name.contains("警報"));
            let reached = areas.reach(Table::SeismicRegion, [area.code.as_str()]);
            if warned && reaches(&reached) {
                named.push(area);
                wards = merge(wards, reached);
            }
        }
    }
    if named.is_empty() {
        return Err(format!("緊急地震速報（警報）{NAMES_NO_AREA}"));
    }
    let names: Vec<String> = named.iter().map(|a| a.name.clone()).collect();
    let mut s = show(
        doc,
        Rule::EarthquakeEarlyWarning,
        5,
        wards,
        What::EarthquakeEarlyWarning,
        format!("緊急地震速報（{}）", regions_named(&names)),
    );
    s.details_ja.push("強い揺れに警戒してください。".into());
    // The shaking is over within minutes of the report; a later serial renews it.
    s.expires = Some(doc.summary.reported_at.max(now) + TimeDelta::minutes(10));
    Ok(Outcome::Show(s))
}

pub(super) fn intensity(
    b: &SeisBody,
    areas: &AreaCodes,
    policy: &Policy,
    doc: &Document,
    now: DateTime<Utc>,
) -> Evaluated {
    let Some(obs) = b.intensity.as_ref().and_then(|i| i.observation.as_ref()) else {
        return Err("no observed intensities".into());
    };
    let mut wards = WardMatch::Wards(Default::default());
    let mut strongest: Option<Intensity> = None;
    let mut places = Vec::new();
    let mut seen_here = false;
    for area in obs.prefs.iter().flat_map(|p| &p.areas) {
        let int = |s: &Option<String>| s.as_deref().and_then(Intensity::parse);
        let mut consider = |m: WardMatch, name: &str, i: Option<Intensity>| {
            if !reaches(&m) {
                return;
            }
            seen_here = true;
            if let Some(i) = i.filter(|i| *i >= policy.intensity) {
                wards = merge(std::mem::replace(&mut wards, WardMatch::All), m);
                strongest = strongest.max(Some(i));
                places.push(format!("{name} 震度{}", i.ja()));
            }
        };
        if area.cities.is_empty() {
            // 震度速報 names regions only.
            let m = areas.reach(Table::SeismicRegion, [area.code.as_str()]);
            consider(m, &area.name, int(&area.max_int));
        }
        for city in &area.cities {
            let m = areas.reach(Table::SeismicCity, [city.code.as_str()]);
            consider(m, &city.name, int(&city.max_int));
        }
    }
    let Some(strongest) = strongest else {
        return Err(if seen_here {
            format!(
                "intensities in this city are below the policy's 震度{}",
                policy.intensity.ja()
            )
        } else {
            format!("{} {NAMES_NO_AREA}", doc.summary.title)
        });
    };
    let mut s = show(
        doc,
        Rule::StrongShaking,
        5,
        wards,
        What::StrongShaking {
            intensity: strongest,
        },
        format!("震度{}の揺れを観測", strongest.ja()),
    );
    s.details_ja.extend(places_listed(places));
    s.details_ja
        .push("落下物に注意し、余震に備えてください。".into());
    s.expires = Some(doc.summary.reported_at.max(now) + TimeDelta::hours(1));
    Ok(Outcome::Show(s))
}

pub(super) fn tsunami(b: &SeisBody, areas: &AreaCodes, doc: &Document) -> Evaluated {
    let items = b
        .tsunami
        .as_ref()
        .and_then(|t| t.forecast.as_ref())
        .map(|f| f.items.as_slice())
        .unwrap_or_default();
    let ours: Vec<_> = items
        .iter()
        .filter(|i| reaches(&areas.reach(Table::TsunamiRegion, [i.area.code.as_str()])))
        .collect();
    if ours.is_empty() {
        return if doc.summary.kind == Kind::TsunamiWarning {
            Ok(Outcome::End(format!(
                "{}: no tsunami warning or advisory for this city's coast; ends this event's alert, if any",
                doc.summary.headline.trim()
            )))
        } else {
            Err(format!("津波情報 {NAMES_NO_AREA}"))
        };
    }
    // 52/53 大津波警報, 51 津波警報, 62 注意報; 50/60 解除, 7x 予報, 00 なし.
    let rank = |code: &str| match code {
        "52" | "53" => 3,
        "51" => 2,
        "62" => 1,
        _ => 0,
    };
    let top = ours
        .iter()
        .max_by_key(|i| i.category.as_ref().map_or(0, |c| rank(&c.kind.code)))
        .expect("not empty");
    let kind = top.category.as_ref().map(|c| &c.kind);
    let (rule, what) = match kind.map_or(0, |k| rank(&k.code)) {
        3 => (Rule::MajorTsunamiWarning, What::MajorTsunamiWarning),
        2 => (Rule::TsunamiWarning, What::TsunamiWarning),
        1 => {
            return Ok(Outcome::Show(show(
                doc,
                Rule::TsunamiAdvisory,
                3,
                WardMatch::Wards(Default::default()),
                What::TsunamiWarning,
                format!("津波注意報（{}）", top.area.name),
            )));
        }
        _ => {
            return Ok(Outcome::End(format!(
                "{}（{}）: no warning stands for this city's coast; ends this event's alert, if any",
                kind.map_or("津波なし", |k| k.name.as_str()),
                top.area.name
            )));
        }
    };
    let name = kind.map_or("", |k| k.name.as_str());
    let name = name.split('：').next().unwrap_or(name);
    let wards = ours
        .iter()
        .fold(WardMatch::Wards(Default::default()), |m, i| {
            merge(m, areas.reach(Table::TsunamiRegion, [i.area.code.as_str()]))
        });
    let mut s = show(
        doc,
        rule,
        5,
        wards,
        what,
        format!("{name}（{}）", top.area.name),
    );
    if let Some(first) = &top.first_height {
        if let Some(t) = first.arrival_time {
            s.arrival = Some(t);
            let local = t.with_timezone(&content::tokyo::TOKYO);
            s.details_ja
                .push(format!("第1波の到達予想時刻 {}", local.format("%H時%M分")));
        }
        if let Some(c) = &first.condition {
            s.details_ja.push(c.clone());
        }
    }
    if let Some(h) = top
        .max_height
        .as_ref()
        .and_then(|m| m.tsunami_height.as_ref())
    {
        let words = h
            .description
            .clone()
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| format!("{}{}", h.value, h.unit));
        s.details_ja.push(format!("予想される津波の高さ {words}"));
        s.height = Some(words);
    }
    s.details_ja
        .push("ただちに海岸や川沿いから離れ、高い所へ避難してください。".into());
    Ok(Outcome::Show(s))
}

pub(super) fn nankai(doc: &Document, areas: &AreaCodes) -> Evaluated {
    if !areas.nankai_trough {
        return Err("the area table says 南海トラフ地震臨時情報 does not concern this city".into());
    }
    let head = &doc.report.head.title;
    if head.contains("巨大地震警戒") {
        let mut s = show(
            doc,
            Rule::NankaiTroughWarning,
            4,
            WardMatch::All,
            What::NankaiTroughWarning,
            "南海トラフ地震臨時情報（巨大地震警戒）".into(),
        );
        s.details_ja
            .push("日頃からの地震への備えを再確認し、すぐに避難できる準備をしてください。".into());
        Ok(Outcome::Show(s))
    } else if head.contains("巨大地震注意") {
        let mut s = show(
            doc,
            Rule::NankaiTroughAdvisory,
            3,
            WardMatch::All,
            What::NankaiTroughAdvisory,
            "南海トラフ地震臨時情報（巨大地震注意）".into(),
        );
        s.details_ja
            .push("日頃からの地震への備えを再確認してください。".into());
        Ok(Outcome::Show(s))
    } else if head.contains("調査終了") {
        Ok(Outcome::End(format!(
            "{head}: ends the Nankai Trough alert, if any"
        )))
    } else {
        Err(format!(
            "{head}: JMA is still investigating; nothing to show until it decides"
        ))
    }
}

/// A headline names at most this many forecast regions, a screen lists at most this many
/// places' intensities: more would not be read in a glance (the document keeps them all).
const REGIONS_NAMED: usize = 3;
const PLACES_LISTED: usize = 8;

/// The regions a headline names: the first few, then など.
fn regions_named(names: &[String]) -> String {
    let shown = names[..names.len().min(REGIONS_NAMED)].join("、");
    if names.len() > REGIONS_NAMED {
        format!("{shown}など")
    } else {
        shown
    }
}

/// The places a screen lists: the first few (JMA lists the strongest first), then ほかNか所.
fn places_listed(mut places: Vec<String>) -> Vec<String> {
    if places.len() > PLACES_LISTED {
        let rest = places.len() - PLACES_LISTED;
        places.truncate(PLACES_LISTED);
        places.push(format!("ほか{rest}か所"));
    }
    places
}

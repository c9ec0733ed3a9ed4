//! Weather: warning tables per municipality, 土砂災害警戒情報, river floods, 記録的短時間大雨情報,
//! 竜巻注意情報.

use alerts::area_map::WardMatch;
use chrono::TimeDelta;
use jmaxml::model::{MeteBody, MeteItem};

use super::{Evaluated, Hazard, NAMES_NO_AREA, Outcome, Rule, What, merge, show};
use crate::Document;
use crate::areas::{AreaCodes, Table, reaches};

/// A warning kind's level and class, from its name: 2026 names carry the level
/// (レベル４土砂災害危険警報); older ones are 特別警報 (5), 警報 (3, 高潮 4) or 注意報.
pub(super) fn classify(name: &str) -> Option<(Rule, u8)> {
    let digits = ['１', '２', '３', '４', '５'];
    if let Some(rest) = name.strip_prefix("レベル") {
        let n = rest.chars().next().and_then(|c| {
            digits
                .iter()
                .position(|d| *d == c)
                .map(|p| p as u8 + 1)
                .or_else(|| c.to_digit(10).map(|d| d as u8))
        })?;
        return Some(match n {
            5 => (Rule::EmergencyWarning, 5),
            3 | 4 => (Rule::Warning, n),
            _ => (Rule::Advisory, n),
        });
    }
    if name.contains("特別警報") {
        Some((Rule::EmergencyWarning, 5))
    } else if name.ends_with("警報") {
        Some((Rule::Warning, if name.contains("高潮") { 4 } else { 3 }))
    } else if name.ends_with("注意報") {
        Some((Rule::Advisory, 2))
    } else {
        None
    }
}

/// Kinds that no longer stand.
fn ended(status: Option<&str>) -> bool {
    matches!(status, Some("解除" | "なし" | "発表警報・注意報はなし"))
}

/// The items of `body`'s warnings whose area (or one of whose areas) is in `table`.
fn our_items<'a>(
    b: &'a MeteBody,
    areas: &AreaCodes,
    tables: &[Table],
    warning_type: impl Fn(&str) -> bool,
) -> (Vec<&'a MeteItem>, WardMatch) {
    let mut items = Vec::new();
    let mut wards = WardMatch::Wards(Default::default());
    for w in b.warnings.iter().filter(|w| warning_type(&w.ty)) {
        for item in &w.items {
            let codes: Vec<&str> = item
                .area
                .iter()
                .chain(item.areas.iter().flat_map(|a| &a.areas))
                .filter_map(|a| a.code.as_deref())
                .collect();
            let m = tables
                .iter()
                .fold(WardMatch::Wards(Default::default()), |m, t| {
                    merge(m, areas.reach(*t, codes.iter().copied()))
                });
            if reaches(&m) {
                items.push(item);
                wards = merge(wards, m);
            }
        }
    }
    (items, wards)
}

fn area_name(item: &MeteItem) -> String {
    item.area
        .iter()
        .chain(item.areas.iter().flat_map(|a| &a.areas))
        .map(|a| a.name.clone())
        .next()
        .unwrap_or_default()
}

pub(super) fn weather(b: &MeteBody, areas: &AreaCodes, doc: &Document) -> Evaluated {
    let (items, wards) = our_items(b, areas, &[Table::Municipal], |t| {
        t.ends_with("（市町村等）")
    });
    if items.is_empty() {
        return Err(format!("{} {NAMES_NO_AREA}", doc.summary.title));
    }
    let mut standing: Vec<(Rule, u8, &str)> = Vec::new();
    for item in &items {
        for k in &item.kinds {
            let Some(name) = k.name.as_deref() else {
                continue;
            };
            if ended(k.status.as_deref()) {
                continue;
            }
            if let Some((rule, lvl)) = classify(name)
                && !standing.iter().any(|(_, _, n)| *n == name)
            {
                standing.push((rule, lvl, name));
            }
        }
    }
    let warnings: Vec<_> = standing
        .iter()
        .filter(|(r, _, _)| *r != Rule::Advisory)
        .collect();
    let area = area_name(items[0]);
    let Some(&&(rule, lvl, _)) = warnings.iter().max_by_key(|(_, l, _)| *l) else {
        return Ok(Outcome::End(format!(
            "no warning stands for {area} (advisories at most); ends this table's alert, if any"
        )));
    };
    let top: Vec<_> = warnings.iter().filter(|(r, _, _)| *r == rule).collect();
    let hazards: Vec<Hazard> = {
        let mut h: Vec<Hazard> = top.iter().map(|(_, _, n)| Hazard::of(n)).collect();
        h.sort();
        h.dedup();
        h
    };
    let names: Vec<&str> = warnings.iter().map(|(_, _, n)| *n).collect();
    let what = if rule == Rule::EmergencyWarning {
        What::EmergencyWarning { hazards }
    } else {
        What::Warning { hazards }
    };
    Ok(Outcome::Show(show(
        doc,
        rule,
        lvl,
        wards,
        what,
        format!("{}（{area}）", names.join("・")),
    )))
}

pub(super) fn landslide(b: &MeteBody, areas: &AreaCodes, doc: &Document) -> Evaluated {
    let (items, wards) = our_items(b, areas, &[Table::Municipal], |t| t == "土砂災害警戒情報");
    if items.is_empty() {
        return Err(format!("土砂災害警戒情報 {NAMES_NO_AREA}"));
    }
    let area = area_name(items[0]);
    let standing = items.iter().any(|i| {
        i.kinds
            .iter()
            .any(|k| k.name.as_deref() == Some("警戒") && !ended(k.status.as_deref()))
    });
    if !standing {
        return Ok(Outcome::End(format!(
            "土砂災害警戒情報 lifted for {area}; ends its alert, if any"
        )));
    }
    let mut s = show(
        doc,
        Rule::LandslideAlert,
        4,
        wards,
        What::LandslideAlert,
        format!("土砂災害警戒情報（{area}）"),
    );
    s.details_ja
        .push("崖の近くや谷の出口から離れ、安全な場所へ避難してください。".into());
    Ok(Outcome::Show(s))
}

/// 警戒レベル in 【警戒レベル４相当情報［洪水］】 or レベル４氾濫危険情報.
pub(super) fn level_in(text: &str) -> Option<u8> {
    let at = text.find("レベル")?;
    let c = text[at + "レベル".len()..].chars().next()?;
    ['１', '２', '３', '４', '５']
        .iter()
        .position(|d| *d == c)
        .map(|p| p as u8 + 1)
        .or_else(|| c.to_digit(10).map(|d| d as u8))
}

pub(super) fn river(b: &MeteBody, areas: &AreaCodes, doc: &Document) -> Evaluated {
    // Flooded districts name municipalities; the forecast names the prefecture.
    let (items, mut wards) =
        our_items(b, areas, &[Table::Municipal, Table::ForecastRegion], |_| {
            true
        });
    let head = &doc.report.head;
    for info in &head.headline.informations {
        for item in &info.items {
            let codes = item.areas.areas.iter().filter_map(|a| a.code.as_deref());
            wards = merge(wards, areas.reach(Table::ForecastRegion, codes));
        }
    }
    if items.is_empty() && !reaches(&wards) {
        return Err(format!("{} {NAMES_NO_AREA}", head.title));
    }
    let lvl = level_in(&head.headline.text).or_else(|| level_in(&head.title));
    let river = head
        .title
        .split("レベル")
        .next()
        .unwrap_or(&head.title)
        .trim_end_matches(|c: char| !c.is_alphanumeric())
        .to_owned();
    let river = river
        .find(['上', '下', '氾'])
        .map_or(river.clone(), |i| river[..i].to_owned());
    match lvl {
        Some(5) => {
            let mut s = show(
                doc,
                Rule::EmergencyWarning,
                5,
                wards,
                What::RiverFlood { river },
                head.title.clone(),
            );
            s.details_ja
                .push("命の危険があります。ただちに身の安全を確保してください。".into());
            Ok(Outcome::Show(s))
        }
        Some(l @ (3 | 4)) => Ok(Outcome::Show(show(
            doc,
            Rule::RiverFlood,
            l,
            wards,
            What::RiverFlood { river },
            head.title.clone(),
        ))),
        _ => Ok(Outcome::End(format!(
            "{}: below level 3 or lifted; ends this river's alert, if any",
            head.title
        ))),
    }
}

pub(super) fn record_rain(b: &MeteBody, areas: &AreaCodes, doc: &Document) -> Evaluated {
    let (items, wards) = our_items(b, areas, &[Table::ForecastRegion, Table::Municipal], |_| {
        true
    });
    if items.is_empty() {
        return Err(format!("記録的短時間大雨情報 {NAMES_NO_AREA}"));
    }
    let mut s = show(
        doc,
        Rule::RecordRainfall,
        4,
        wards,
        What::RecordRainfall,
        format!("記録的短時間大雨情報（{}）", area_name(items[0])),
    );
    s.details_ja
        .push("土砂災害や浸水の危険が高まっています。安全を確保してください。".into());
    s.expires = Some(doc.summary.reported_at + TimeDelta::hours(1));
    Ok(Outcome::Show(s))
}

pub(super) fn tornado(b: &MeteBody, areas: &AreaCodes, doc: &Document) -> Evaluated {
    let (items, wards) = our_items(b, areas, &[Table::ForecastRegion, Table::Municipal], |_| {
        true
    });
    let standing = items.iter().any(|i| {
        i.kinds.iter().any(|k| {
            k.name
                .as_deref()
                .is_some_and(|n| n.starts_with("竜巻注意情報"))
                && !ended(k.status.as_deref())
        })
    });
    if !standing {
        return Err(format!("竜巻注意情報 {NAMES_NO_AREA}"));
    }
    let mut s = show(
        doc,
        Rule::Tornado,
        3,
        wards,
        What::Tornado,
        format!("竜巻注意情報（{}）", area_name(items[0])),
    );
    s.details_ja
        .push("頑丈な建物の中に入り、窓から離れてください。".into());
    // JMA gives the watch an hour (Head/ValidDateTime).
    s.expires = Some(
        doc.report
            .head
            .valid_date_time
            .unwrap_or(doc.summary.reported_at + TimeDelta::hours(1)),
    );
    Ok(Outcome::Show(s))
}

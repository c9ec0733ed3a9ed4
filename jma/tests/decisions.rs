//! Every JMA sample maps to its expected decision (auto, staged, end, cancel, ignored), under
//! Osaka City's default area table where the sample concerns Osaka, and under a table that
//! makes the sample's own areas "ours" where it concerns another place.

use std::path::{Path, PathBuf};

use alerts::area_map::WardMatch;
use chrono::{DateTime, TimeDelta, Utc};
use jma::areas::AreaCodes;
use jma::decide::{Action, Decision, Intensity, Policy, Rule, Treatment, What, decide};
use jma::{Document, read};

fn dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/jma");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: {} not found (JMA's sample documents)",
            dir.display()
        );
        None
    }
}

fn load(dir: &Path, name: &str) -> (Document, String) {
    let text = std::fs::read_to_string(dir.join(name)).unwrap();
    (read(text.as_bytes()).unwrap(), text)
}

/// Shortly after the document was reported, well within the age limits.
fn fresh(doc: &Document) -> DateTime<Utc> {
    doc.summary.reported_at + TimeDelta::seconds(20)
}

fn osaka(dir: &Path, name: &str) -> Decision {
    let (doc, _) = load(dir, name);
    decide(&doc, &AreaCodes::default(), &Policy::default(), fresh(&doc))
}

/// An area table in which every code the document mentions reaches ward `here`.
fn everywhere(text: &str) -> AreaCodes {
    AreaCodes::reaching_all(text, &["here"])
}

fn anywhere(dir: &Path, name: &str) -> Decision {
    let (doc, text) = load(dir, name);
    decide(&doc, &everywhere(&text), &Policy::default(), fresh(&doc))
}

fn shown(d: &Decision) -> &jma::decide::Show {
    match &d.action {
        Action::Show(s) => s,
        other => panic!("expected a show, got {other:?}: {}", d.reason),
    }
}

/// The default ward codes are the ones JMA's own intensity samples give Osaka's wards
/// (`大阪北区` `2712700`): the citation of `jma::areas`, checked.
#[test]
fn default_ward_codes_are_the_ones_in_jmas_samples() {
    let Some(dir) = dir() else { return };
    let mut text = sample_text(&dir, "32-39_11_05_240613_VXSE53.xml");
    text.push_str(&sample_text(&dir, "32-35_07_07_240613_VXSE53.xml"));
    let areas = AreaCodes::default();
    assert_eq!(areas.wards.len(), 24);
    for ward in &content::wards::OSAKA_WARDS {
        let codes = &areas
            .wards
            .iter()
            .find(|w| w.ward.0 == ward.id)
            .unwrap()
            .seismic_city;
        let named = format!("<Name>大阪{}</Name><Code>{}</Code>", ward.ja, codes[0]);
        assert!(text.contains(&named), "{named} not in JMA's samples");
    }
}

fn sample_text(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

#[test]
fn tsunami_warning_for_osaka_issues_then_lowering_ends_and_cancel_cancels() {
    let Some(dir) = dir() else { return };
    let issue = osaka(&dir, "32-39_12_07_250206_VTSE41.xml");
    assert_eq!(issue.name(), "auto", "{}", issue.reason);
    // JMA's sample is a 訓練 document: a drill, never live.
    assert!(issue.drill);
    let s = shown(&issue);
    assert_eq!(s.rule, Rule::MajorTsunamiWarning);
    assert_eq!(s.what, What::MajorTsunamiWarning);
    assert_eq!(s.wards, WardMatch::All);
    assert_eq!(s.level.get(), 5);
    assert!(
        s.headline_ja.starts_with("大津波警報（大阪府）"),
        "{}",
        s.headline_ja
    );

    let lowered = osaka(&dir, "32-39_12_13_250206_VTSE41.xml");
    assert_eq!(lowered.name(), "end", "{}", lowered.reason);
    assert_eq!(lowered.key, issue.key, "the same event");

    let cancelled = osaka(&dir, "38-39_03_01_210805_VTSE41.xml");
    assert_eq!(cancelled.name(), "cancel");
    assert!(!cancelled.drill);
}

#[test]
fn tsunami_forecast_only_for_osaka_ends_rather_than_shows() {
    let Some(dir) = dir() else { return };
    // 大阪府 has only 津波予報（若干の海面変動） here, though Tohoku has 大津波警報.
    let d = osaka(&dir, "32-39_11_02_250206_VTSE41.xml");
    assert_eq!(d.name(), "end", "{}", d.reason);
}

#[test]
fn osaka_intensities_decide_per_ward_against_the_policy() {
    let Some(dir) = dir() else { return };
    let (doc, _) = load(&dir, "32-39_11_05_240613_VXSE53.xml");
    let areas = AreaCodes::default();
    let below = decide(&doc, &areas, &Policy::default(), fresh(&doc));
    assert_eq!(below.name(), "ignored");
    assert!(below.reason.contains("below"), "{}", below.reason);

    let policy = Policy {
        intensity: Intensity::parse("3").unwrap(),
        ..Policy::default()
    };
    let d = decide(&doc, &areas, &policy, fresh(&doc));
    assert_eq!(d.name(), "auto", "{}", d.reason);
    let s = shown(&d);
    let WardMatch::Wards(wards) = &s.wards else {
        panic!("{:?}", s.wards)
    };
    // The 21 wards the document lists at intensity 3, not 北区, 阿倍野区, 住吉区 at 2, nor
    // 堺市西区 at 3 (another city).
    assert_eq!(wards.len(), 21, "{wards:?}");
    assert!(wards.contains(&"chuo".into()) && !wards.contains(&"kita".into()));
    // A screen lists the first eight places (JMA lists the strongest first) and counts the rest.
    let places: Vec<&String> = s
        .details_ja
        .iter()
        .filter(|l| l.contains("震度3"))
        .collect();
    assert_eq!(places.len(), 8, "{:?}", s.details_ja);
    assert!(
        s.details_ja.iter().any(|l| l == "ほか13か所"),
        "{:?}",
        s.details_ja
    );
}

#[test]
fn earthquake_early_warning_issues_only_where_named() {
    let Some(dir) = dir() else { return };
    // Shikoku and Kyushu, not Osaka.
    let d = osaka(&dir, "37_01_01_240613_VXSE43.xml");
    assert_eq!(d.name(), "ignored", "{}", d.reason);
    let d = anywhere(&dir, "37_01_01_240613_VXSE43.xml");
    assert_eq!(d.name(), "auto", "{}", d.reason);
    assert_eq!(shown(&d).what, What::EarthquakeEarlyWarning);
    assert!(shown(&d).expires.is_some(), "an EEW ends by itself");
    // 予報 and 地震動予報 are for receivers, never screens.
    for forecast in ["36_01_01_240613_VXSE44.xml", "77_01_01_240613_VXSE45.xml"] {
        assert_eq!(anywhere(&dir, forecast).name(), "ignored", "{forecast}");
    }
}

#[test]
fn weather_warnings_auto_at_emergency_stage_at_warning_ignore_advisories() {
    let Some(dir) = dir() else { return };
    // 奈良県: 大雨特別警報.
    let d = anywhere(&dir, "15_08_01_130412_VPWW53.xml");
    assert_eq!(d.name(), "auto", "{}", d.reason);
    assert!(matches!(shown(&d).what, What::EmergencyWarning { .. }));
    assert_eq!(shown(&d).level.get(), 5);
    // Not Osaka.
    assert_eq!(osaka(&dir, "15_08_01_130412_VPWW53.xml").name(), "ignored");
    // 2026 system: レベル４土砂災害危険警報 (level 4) waits for a person.
    let d = anywhere(&dir, "15_16_01_241031_VPWW56.xml");
    assert_eq!(d.name(), "staged", "{}", d.reason);
    assert_eq!(shown(&d).level.get(), 4);
    assert_eq!(shown(&d).rule, Rule::Warning);
    // The time series is not the warning.
    assert_eq!(
        anywhere(&dir, "81_01_01_241031_VPWP50.xml").name(),
        "ignored"
    );
}

#[test]
fn landslide_rivers_record_rain_and_tornado_are_staged() {
    let Some(dir) = dir() else { return };
    let d = anywhere(&dir, "17_01_01_190529_VXWW50.xml");
    assert_eq!((d.name(), shown(&d).rule), ("staged", Rule::LandslideAlert));
    // 記録的短時間大雨情報 for 大阪府 reaches Osaka City by default.
    let d = osaka(&dir, "18_01_01_100806_VPOA50.xml");
    assert_eq!((d.name(), shown(&d).rule), ("staged", Rule::RecordRainfall));
    assert_eq!(d.wards_or_none(), Some(WardMatch::All));
    let d = anywhere(&dir, "19_04_01_140425_VPHW51.xml");
    assert_eq!((d.name(), shown(&d).rule), ("staged", Rule::Tornado));
    assert!(shown(&d).expires.is_some(), "a tornado watch lasts an hour");
}

#[test]
fn river_floods_follow_their_level() {
    let Some(dir) = dir() else { return };
    let mut seen = Vec::new();
    for name in [
        "16_01_01_220728_VXKOii.xml",
        "16_02_01_220728_VXKOii.xml",
        "16_03_01_220728_VXKOii.xml",
        "16_04_01_220728_VXKOii.xml",
        "91_01_01_241031_VXSUii.xml",
    ] {
        let d = anywhere(&dir, name);
        let level = match &d.action {
            Action::Show(s) => Some(s.level.get()),
            _ => None,
        };
        seen.push((name, d.name(), level));
    }
    // 氾濫注意情報 (level 2) ends; 警戒 (3) and 危険 (4) wait; 発生 (5) issues.
    assert_eq!(seen[0].1, "end", "{seen:?}");
    assert_eq!(seen[1].1, "staged", "{seen:?}");
    assert_eq!(seen[2].1, "staged", "{seen:?}");
    assert_eq!((seen[3].1, seen[3].2), ("auto", Some(5)), "{seen:?}");
    assert_eq!(seen[4].1, "end", "{seen:?}");
}

#[test]
fn nankai_trough_warning_auto_advisory_staged_investigation_ignored() {
    let Some(dir) = dir() else { return };
    let names = [
        ("74_01_01_200512_VYSE50.xml", "ignored"),
        ("74_01_04_200512_VYSE50.xml", "auto"),
        ("74_01_05_200512_VYSE50.xml", "staged"),
        ("74_01_07_200512_VYSE50.xml", "end"),
        ("74_03_01_220318_VYSE50.xml", "cancel"),
        ("75_01_01_200512_VYSE51.xml", "ignored"),
    ];
    for (name, expected) in names {
        let d = osaka(&dir, name);
        assert_eq!(d.name(), expected, "{name}: {}", d.reason);
        assert_eq!(d.key, "nankai-trough");
    }
}

#[test]
fn old_documents_are_not_shown_but_still_end() {
    let Some(dir) = dir() else { return };
    let (doc, _) = load(&dir, "32-39_12_07_250206_VTSE41.xml");
    let late = doc.summary.reported_at + TimeDelta::hours(2);
    let d = decide(&doc, &AreaCodes::default(), &Policy::default(), late);
    assert_eq!(d.name(), "ignored");
    assert!(d.reason.contains("age limit"), "{}", d.reason);
    let (end, _) = load(&dir, "32-39_12_13_250206_VTSE41.xml");
    let late = end.summary.reported_at + TimeDelta::hours(2);
    let d = decide(&end, &AreaCodes::default(), &Policy::default(), late);
    assert_eq!(d.name(), "end");
}

#[test]
fn policy_overrides_change_the_treatment() {
    let Some(dir) = dir() else { return };
    let (doc, text) = load(&dir, "17_01_01_190529_VXWW50.xml");
    let mut policy = Policy::default();
    policy.rules.insert(Rule::LandslideAlert, Treatment::Auto);
    assert_eq!(
        decide(&doc, &everywhere(&text), &policy, fresh(&doc)).name(),
        "auto"
    );
    policy.rules.insert(Rule::LandslideAlert, Treatment::Ignore);
    assert_eq!(
        decide(&doc, &everywhere(&text), &policy, fresh(&doc)).name(),
        "end"
    );
}

/// Every sample decides without a panic, each with a reason; prints the table for review.
#[test]
fn every_sample_has_a_decision_with_a_reason() {
    let Some(dir) = dir() else { return };
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".xml"))
        .collect();
    files.sort();
    let mut counts = std::collections::BTreeMap::new();
    for name in &files {
        let d = anywhere(&dir, name);
        assert!(!d.reason.is_empty() && !d.key.is_empty(), "{name}");
        if let Action::Show(s) = &d.action {
            let infos = jma::text::infos(s, alerts::model::Status::Actual);
            assert_eq!(infos.len(), 7, "{name}");
            for info in &infos {
                let h = info.headline.as_deref().unwrap_or_default();
                assert!(
                    !h.is_empty() && !h.contains('{'),
                    "{name} {}: {h}",
                    info.language
                );
                let i = info.instruction.as_deref().unwrap_or_default();
                assert!(
                    !i.is_empty() && !i.contains('{'),
                    "{name} {}: {i}",
                    info.language
                );
            }
        }
        eprintln!("{name:40} {:8} {}", d.name(), d.reason);
        *counts.entry(d.name()).or_insert(0) += 1;
    }
    eprintln!("{counts:?}");
    for kind in ["auto", "staged", "end", "cancel", "ignored"] {
        assert!(
            counts.contains_key(kind),
            "no sample decided {kind}: {counts:?}"
        );
    }
}

trait WardsOf {
    fn wards_or_none(&self) -> Option<WardMatch>;
}

impl WardsOf for Decision {
    fn wards_or_none(&self) -> Option<WardMatch> {
        match &self.action {
            Action::Show(s) => Some(s.wards.clone()),
            _ => None,
        }
    }
}

//! Every sample in ../shared/data/cap with its expected outcome, and the CAP 1.2 export
//! round-trip over every valid one.

use std::path::{Path, PathBuf};

use alerts::cap::{self, CapVersion};
use alerts::model::{MsgType, Status};

const CAP_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/cap");

/// `Ok(version)` or `Err(rule)` per file. A sample added to the folder without a line here
/// fails `every_sample_has_an_expectation`.
const EXPECTED: &[(&str, Result<CapVersion, &str>)] = &[
    ("google-cap-library/australia.cap", Ok(CapVersion::V1_2)),
    ("google-cap-library/canada.cap", Ok(CapVersion::V1_2)),
    // `<references/>` on an Update: nothing to replace.
    (
        "google-cap-library/canada_errors.cap",
        Err("references-required"),
    ),
    ("google-cap-library/canada_signed.cap", Ok(CapVersion::V1_2)),
    (
        "google-cap-library/earthquake-iso8859-1.cap",
        Ok(CapVersion::V1_2),
    ),
    ("google-cap-library/earthquake.cap", Ok(CapVersion::V1_1)),
    ("google-cap-library/earthquake_index.atom", Err("cap-root")),
    (
        "google-cap-library/earthquake_signed.cap",
        Ok(CapVersion::V1_1),
    ),
    // No `<scope>`.
    ("google-cap-library/invalid.cap", Err("required-element")),
    (
        "google-cap-library/no_optional_fields.cap",
        Ok(CapVersion::V1_1),
    ),
    // Empty `<urgency>`, `<severity>`, `<certainty>`.
    ("google-cap-library/noaa_errors.cap", Err("enumeration")),
    (
        "google-cap-library/wcatwc-warning.cap",
        Ok(CapVersion::V1_2),
    ),
    ("google-cap-library/weather.atom", Err("cap-root")),
    ("google-cap-library/weather.cap", Ok(CapVersion::V1_1)),
    ("google-cap-library/xee.atom", Err("no-doctype")),
    ("google-cap-library/xee.cap", Err("no-doctype")),
    ("oasiscap/google-PAAQ-4-mg5a94.xml", Ok(CapVersion::V1_2)),
    (
        "oasiscap/ipaws-5e6dd964023f1930ef638846.xml",
        Ok(CapVersion::V1_2),
    ),
    (
        "oasiscap/ipaws-5e6dd9de023f1930ef6548d9.xml",
        Ok(CapVersion::V1_2),
    ),
    (
        "oasiscap/ipaws-5e6ddbad023f1930ef6c1a5a.xml",
        Ok(CapVersion::V1_2),
    ),
    (
        "oasiscap/ipaws-5e7e0fc5023f1930efcf3deb.xml",
        Ok(CapVersion::V1_2),
    ),
    (
        "oasiscap/ipaws-5ea321f39fc226a7b44b6874.xml",
        Ok(CapVersion::V1_2),
    ),
    (
        "oasiscap/nws-5c2cf27b1f56885d61654dc47fa411d5.xml",
        Ok(CapVersion::V1_1),
    ),
    ("oasiscap/v1dot2_appendix_adot1.xml", Ok(CapVersion::V1_2)),
    ("oasiscap/v1dot2_appendix_adot2.xml", Ok(CapVersion::V1_2)),
    ("oasiscap/v1dot2_appendix_adot3.xml", Ok(CapVersion::V1_2)),
    ("oasiscap/v1dot2_appendix_adot4.xml", Ok(CapVersion::V1_2)),
];

fn sample_dir() -> Option<PathBuf> {
    let dir = Path::new(CAP_DIR);
    if dir.is_dir() {
        Some(dir.to_path_buf())
    } else {
        eprintln!(
            "SKIPPED: CAP samples not found at {CAP_DIR}; the shared test data is absent on this machine"
        );
        None
    }
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("reading sample {name}: {e}"))
}

#[test]
fn every_sample_has_the_expected_outcome() {
    let Some(dir) = sample_dir() else { return };
    let mut failures = Vec::new();
    for (name, expected) in EXPECTED {
        let outcome = cap::parse(&read(&dir, name));
        let ok = match (&outcome, expected) {
            (Ok(parsed), Ok(version)) => parsed.version == *version,
            (Err(e), Err(rule)) => e.rule() == *rule && !e.to_string().is_empty(),
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{name}: expected {expected:?}, got {:?}",
                outcome
                    .map(|p| p.version)
                    .map_err(|e| format!("[{}] {e}", e.rule()))
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_sample_has_an_expectation() {
    let Some(dir) = sample_dir() else { return };
    let mut missing = Vec::new();
    for sub in ["google-cap-library", "oasiscap"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            let name = format!("{sub}/{}", entry.unwrap().file_name().to_string_lossy());
            if !EXPECTED.iter().any(|(n, _)| *n == name) {
                missing.push(name);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "samples without an expected outcome: {missing:?}"
    );
}

#[test]
fn valid_samples_round_trip_through_cap_1_2_export() {
    let Some(dir) = sample_dir() else { return };
    let mut count = 0;
    for (name, expected) in EXPECTED {
        if expected.is_err() {
            continue;
        }
        let parsed = cap::parse(&read(&dir, name)).unwrap();
        let xml = cap::to_xml(&parsed.alert);
        let again = cap::parse(xml.as_bytes())
            .unwrap_or_else(|e| panic!("{name}: export does not parse back: {e}\n{xml}"));
        assert_eq!(again.version, CapVersion::V1_2, "{name}");
        assert_eq!(again.alert, parsed.alert, "{name}");
        assert!(
            again.skipped.is_empty(),
            "{name}: export wrote foreign elements"
        );
        count += 1;
    }
    assert_eq!(count, 20);
}

#[test]
fn iso_8859_1_sample_is_decoded() {
    let Some(dir) = sample_dir() else { return };
    let parsed = cap::parse(&read(&dir, "google-cap-library/earthquake-iso8859-1.cap")).unwrap();
    let info = &parsed.alert.infos[0];
    assert_eq!(
        info.headline.as_deref(),
        Some("EQ 4.6 Usulután, Usulután, El Salvador - PRELIMINARY REPORT")
    );
    assert_eq!(info.language, "en-US", "CAP's default language");
}

#[test]
fn xxe_samples_are_refused_before_any_entity_is_seen() {
    let Some(dir) = sample_dir() else { return };
    for name in ["google-cap-library/xee.cap", "google-cap-library/xee.atom"] {
        let err = cap::parse(&read(&dir, name)).unwrap_err();
        assert_eq!(err, cap::CapError::Doctype, "{name}");
        let text = err.to_string();
        assert!(text.contains("DOCTYPE"), "{text}");
        assert!(!text.contains("root:"), "leaked file content: {text}");
    }
    // The same document with the DOCTYPE and the XInclude bait cut out still uses &xxe;:
    // refused by name, never resolved.
    let xee = String::from_utf8(read(&dir, "google-cap-library/xee.cap")).unwrap();
    let cut = |text: &str, from: &str, to: &str| {
        let start = text.find(from).unwrap();
        let end = text[start..].find(to).unwrap() + start + to.len();
        format!("{}{}", &text[..start], &text[end..])
    };
    let stripped = cut(
        &cut(&cut(&xee, "<!DOCTYPE", "]>"), "<x ", "</x>"),
        "<y ",
        "</y>",
    );
    assert!(stripped.contains("&xxe;") && !stripped.contains("DOCTYPE"));
    assert_eq!(
        cap::parse(stripped.as_bytes()).unwrap_err(),
        cap::CapError::UndefinedEntity("xxe".into())
    );
}

#[test]
fn details_of_real_samples() {
    let Some(dir) = sample_dir() else { return };
    let wcatwc = cap::parse(&read(&dir, "google-cap-library/wcatwc-warning.cap")).unwrap();
    assert_eq!(wcatwc.alert.msg_type, MsgType::Update);
    assert_eq!(wcatwc.alert.references.len(), 1);
    assert_eq!(wcatwc.alert.references[0].identifier, "PAAQ-1-lqw6d6");

    let cancel = cap::parse(&read(&dir, "oasiscap/ipaws-5e6dd9de023f1930ef6548d9.xml")).unwrap();
    assert_eq!(cancel.alert.msg_type, MsgType::Cancel);
    assert!(cancel.alert.infos.is_empty());

    let adot4 = cap::parse(&read(&dir, "oasiscap/v1dot2_appendix_adot4.xml")).unwrap();
    let langs: Vec<_> = adot4
        .alert
        .infos
        .iter()
        .map(|i| i.language.as_str())
        .collect();
    assert_eq!(langs, ["en-US", "es-US"]);
    assert_eq!(adot4.alert.info_for("es").unwrap().language, "es-US");

    let canada = cap::parse(&read(&dir, "google-cap-library/canada.cap")).unwrap();
    assert_eq!(canada.alert.status, Status::Actual);
    assert_eq!(
        canada.alert.restriction, None,
        "empty <restriction/> reads as absent"
    );
    let area = &canada.alert.infos[0].areas[0];
    assert!(area.polygons[0].points.len() >= 4);
    assert_eq!(
        area.polygons[0].points.first(),
        area.polygons[0].points.last()
    );
}

#[test]
fn size_limit_applies_to_real_documents() {
    let Some(dir) = sample_dir() else { return };
    let big = read(&dir, "oasiscap/ipaws-5ea321f39fc226a7b44b6874.xml");
    assert!(
        cap::parse(&big).is_ok(),
        "459 KB is under the default 1 MiB"
    );
    let err = cap::parse_with_limit(&big, 100_000).unwrap_err();
    assert_eq!(err.rule(), "size-limit");
}

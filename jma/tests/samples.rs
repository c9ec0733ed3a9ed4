//! Every JMA sample in `../shared/data/jma` reads without a panic, and hostile documents are
//! refused with the rule that refused them.

use std::path::Path;

use jma::{InfoType, JmaError, Kind, Status, read};

fn samples() -> Option<Vec<std::path::PathBuf>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/jma");
    if !dir.is_dir() {
        eprintln!(
            "SKIPPED: {} not found (JMA's sample documents)",
            dir.display()
        );
        return None;
    }
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    Some(files)
}

#[test]
fn every_sample_reads_or_is_refused_with_a_reason() {
    let Some(files) = samples() else { return };
    assert!(files.len() > 100, "{} samples", files.len());
    let (mut read_ok, mut refused) = (0, Vec::new());
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        match std::panic::catch_unwind(|| read(&bytes)) {
            Ok(Ok(doc)) => {
                read_ok += 1;
                let s = &doc.summary;
                assert!(!s.title.is_empty(), "{}", file.display());
                // Every kind of sample JMA publishes is known by its title.
                assert_ne!(s.kind, Kind::Other, "{}: {}", file.display(), s.title);
                assert!(!s.info_kind.is_empty(), "{}", file.display());
            }
            Ok(Err(e)) => refused.push(format!("{}: {} ({e})", file.display(), e.rule())),
            Err(_) => panic!("{} panicked the reader", file.display()),
        }
    }
    for r in &refused {
        eprintln!("refused {r}");
    }
    eprintln!(
        "{read_ok} read, {} refused of {}",
        refused.len(),
        files.len()
    );
    // JMA's own samples follow JMA's schemas: every one must read.
    assert!(refused.is_empty(), "{read_ok}/{} read", files.len());
}

#[test]
fn named_samples_say_what_they_are() {
    let Some(files) = samples() else { return };
    let by_name = |name: &str| {
        let file = files
            .iter()
            .find(|f| f.file_name().unwrap().to_str().unwrap() == name)
            .unwrap_or_else(|| panic!("sample {name} missing"));
        read(&std::fs::read(file).unwrap()).unwrap().summary
    };
    let warning = by_name("15_08_01_130412_VPWW53.xml");
    assert_eq!(warning.title, "気象特別警報・警報・注意報");
    assert_eq!(warning.status, Status::Normal);
    assert_eq!(warning.info_type, InfoType::Issued);
    for (name, kind) in [
        ("15_08_01_130412_VPWW53.xml", Kind::WeatherWarning),
        ("15_16_03_241226_VPWW55.xml", Kind::WeatherWarning),
        ("81_01_01_241031_VPWP50.xml", Kind::WeatherWarningTimeSeries),
        ("16_01_01_220728_VXKOii.xml", Kind::RiverFlood),
        ("91_01_01_241031_VXSUii.xml", Kind::RiverFlood),
        ("17_01_01_190529_VXWW50.xml", Kind::LandslideAlert),
        ("18_01_01_100806_VPOA50.xml", Kind::RecordRainfall),
        ("19_04_01_140425_VPHW51.xml", Kind::Tornado),
        ("32-35_01_01_100806_VXSE51.xml", Kind::SeismicIntensity),
        ("32-35_01_03_100514_VXSE53.xml", Kind::SeismicIntensity),
        ("32-39_11_02_250206_VTSE41.xml", Kind::TsunamiWarning),
        ("32-39_11_03_250206_VTSE51.xml", Kind::TsunamiInformation),
        ("36_01_01_240613_VXSE44.xml", Kind::EarthquakeForecast),
        ("37_01_01_240613_VXSE43.xml", Kind::EarthquakeEarlyWarning),
        ("77_01_01_240613_VXSE45.xml", Kind::EarthquakeForecast),
        ("74_01_01_200512_VYSE50.xml", Kind::NankaiTroughExtra),
        ("75_01_01_200512_VYSE51.xml", Kind::NankaiTroughCommentary),
    ] {
        assert_eq!(by_name(name).kind, kind, "{name}");
    }
    // A drill says so.
    let drill = by_name("32-35_01_02_240613_VXSE52.xml");
    assert_eq!(
        (drill.kind, drill.status),
        (Kind::Hypocenter, Status::Exercise)
    );
}

#[test]
fn hostile_documents_are_refused_by_rule() {
    let cases: [(&str, &[u8], &str); 5] = [
        (
            "xxe",
            b"<?xml version=\"1.0\"?><!DOCTYPE Report [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><Report>&x;</Report>",
            "unsafe-xml",
        ),
        ("entity", b"<Report>&lol;</Report>", "unsafe-xml"),
        ("cap", b"<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"/>", "not-jma"),
        ("empty report", b"<Report/>", "jma-schema"),
        ("broken", b"<Report><Control>", "unsafe-xml"),
    ];
    for (what, bytes, rule) in cases {
        let e = read(bytes).unwrap_err();
        assert_eq!(e.rule(), rule, "{what}: {e}");
    }
    let deep = format!(
        "<Report>{}{}</Report>",
        "<a>".repeat(100),
        "</a>".repeat(100)
    );
    assert_eq!(read(deep.as_bytes()).unwrap_err().rule(), "unsafe-xml");
    let big = vec![b' '; jma::MAX_BYTES + 1];
    assert!(matches!(read(&big), Err(JmaError::TooLarge { .. })));
}

//! Exports and charts.

mod common;

use polars::prelude::*;
use reports::chart::{Chart, ChartKind, ChartSeries};
use reports::{
    Filter, Format, HistoryStore, Lang, Level, Period, Report, Reports, export, report_chart,
};

fn frame(report: Report) -> DataFrame {
    let dir = tempfile::tempdir().unwrap();
    let store = HistoryStore::open(dir.path()).unwrap();
    store.ingest_counts("c", &common::small_counts()).unwrap();
    store.ingest_plays("p", &common::small_plays()).unwrap();
    let snap = store.snapshot(&Filter::default());
    Reports::new(snap.sources.clone()).run(&report).unwrap()
}

#[test]
fn csv_export_has_header_local_times_and_optional_bom() {
    let mut df = frame(Report::Footfall {
        period: Period::Day,
        level: Level::Ward,
    });
    let csv = String::from_utf8(export::to_bytes(&mut df, Format::Csv).unwrap()).unwrap();
    assert_eq!(csv.lines().next(), Some("ward,period,footfall,exits"));
    assert_eq!(csv.lines().nth(1), Some("kita,2026-10-05T00:00:00,11,6"));
    let excel = export::to_bytes(&mut df, Format::CsvExcel).unwrap();
    assert!(excel.starts_with(&[0xEF, 0xBB, 0xBF]));
}

#[test]
fn parquet_export_reads_back_equal_and_is_written_durably() {
    let mut df = frame(Report::Impressions);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("impressions.parquet");
    export::write(&mut df, Format::Parquet, &path).unwrap();
    let back = reports::store::scan_parquet_files(std::slice::from_ref(&path))
        .unwrap()
        .collect()
        .unwrap();
    assert!(back.equals(&df));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary file left"
    );
}

#[test]
fn charts_have_labels_in_the_chosen_language() {
    for report in Report::standard_set() {
        let df = frame(report);
        let ja = report_chart(&report, &df, Lang::Ja).unwrap().to_svg();
        let en = report_chart(&report, &df, Lang::En).unwrap().to_svg();
        assert!(
            ja.starts_with("<svg") && ja.ends_with("</svg>"),
            "{}",
            report.name()
        );
        assert!(
            ja.chars().any(|c| ('\u{3040}'..='\u{30ff}').contains(&c)
                || ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{}: no Japanese",
            report.name()
        );
        assert!(
            en.is_ascii(),
            "{}: English chart has non-ASCII text",
            report.name()
        );
    }
    let df = frame(Report::Dwell { level: Level::Ward });
    let svg = report_chart(&Report::Dwell { level: Level::Ward }, &df, Lang::Ja)
        .unwrap()
        .to_svg();
    assert!(svg.contains("滞在時間の分布") && svg.contains("30分以上"));
}

#[test]
fn bar_chart_draws_one_bar_per_value_and_escapes_text() {
    let chart = Chart {
        title: "A<B & \"C\"".into(),
        x_label: "x".into(),
        y_label: "y".into(),
        categories: vec!["c1".into(), "c2".into(), "c3".into()],
        series: vec![
            ChartSeries {
                name: "s1".into(),
                values: vec![1.0, 2.0, 3.0],
            },
            ChartSeries {
                name: "s2".into(),
                values: vec![4.0, 0.0, 6.0],
            },
        ],
        kind: ChartKind::Bars,
    };
    let svg = chart.to_svg();
    assert_eq!(
        svg.matches("<rect x=").count(),
        6 + 2,
        "6 bars and 2 legend keys"
    );
    assert!(svg.contains("A&lt;B &amp; &quot;C&quot;"));
    assert!(!svg.contains("A<B"));
    // The tallest bar (6) reaches the top of the plot area, the zero bar has no height.
    assert!(svg.contains(r#"height="0.00""#));
}

//! People-flow and proof-of-play history for the controller.
//!
//! - [`store`]: durable, idempotent Parquet storage partitioned by date and ward, with
//!   crash-safe compaction. Ingest a batch, get an [`store::Ack`] to send back.
//! - [`report`]: the report set as polars lazy queries ([`report::Reports`]).
//! - [`export`]: CSV and Parquet export of a report.
//! - [`chart`]: SVG charts with Japanese and English labels.
//! - [`synth`]: realistic synthetic history for demos and benchmarks.
//!
//! How the controller uses it (all calls block: run them in `spawn_blocking`):
//!
//! ```no_run
//! use reports::{Filter, Format, HistoryStore, Lang, Report, Reports, export, report_chart};
//! # fn demo(rows: Vec<reports::CountRow>, plays: Vec<reports::PlayRow>) -> anyhow::Result<()> {
//! let store = HistoryStore::open("/var/lib/signage/history")?; // recovers interrupted work
//! // MQTT batch from a player -> durable -> ack (replays are no-ops).
//! let ack = store.ingest_counts("kita-01-000123", &rows)?;
//! let _ack = store.ingest_plays("kita-01-p-000045", &plays)?;
//! assert_eq!(ack.batch_id, "kita-01-000123");
//! // A report for the API / console.
//! let snapshot = store.snapshot(&Filter { wards: Some(vec!["kita".into()]), ..Filter::default() });
//! let report = Report::from_name("footfall_day_ward").expect("known report");
//! let mut df = Reports::new(snapshot.sources.clone()).run(&report)?;
//! let _csv: Vec<u8> = export::to_bytes(&mut df, Format::CsvExcel)?;
//! let _svg: String = report_chart(&report, &df, Lang::Ja)?.to_svg();
//! drop(snapshot);
//! // Periodically (e.g. hourly): merge small files.
//! store.compact_all(8)?;
//! # Ok(()) }
//! ```
//!
//! Layering: `schema` <- `store` <- `report` <- `export`/`chart`; `synth` only writes through
//! `store`. Nothing here knows MQTT or HTTP.

pub mod report;
pub mod schema;
pub mod store;

pub use report::{Level, Period, Report, Reports};
pub use schema::{CountRow, Dataset, PlayRow};
pub use store::{Ack, Filter, HistoryStore, Sources};
pub mod chart;
pub mod export;
pub mod synth;

pub use chart::{Chart, Lang, report_chart};
pub use export::Format;

//! Generates synthetic history into a history directory and, with `--export DIR`, writes the
//! standard report set there as CSV, Parquet and SVG (Japanese and English) for demos.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use reports::synth::{self, SynthConfig};
use reports::{Filter, Format, HistoryStore, Lang, Report, Reports, export, report_chart};

#[derive(Parser)]
#[command(about = "Write realistic synthetic people-flow history as Parquet")]
struct Args {
    /// History directory (created).
    #[arg(long)]
    history: PathBuf,
    #[arg(long, default_value_t = 5)]
    days: u32,
    #[arg(long, default_value_t = 24)]
    players: u32,
    #[arg(long, default_value_t = 8)]
    seed: u64,
    /// First local date (YYYY-MM-DD); default a Monday.
    #[arg(long)]
    start: Option<chrono::NaiveDate>,
    /// Also write the standard reports (CSV, Parquet, SVG) into this directory.
    #[arg(long)]
    export: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut cfg = SynthConfig {
        days: args.days,
        players: args.players,
        seed: args.seed,
        ..Default::default()
    };
    if let Some(s) = args.start {
        cfg.start = s;
    }
    let store = HistoryStore::open(&args.history)
        .with_context(|| format!("opening history {}", args.history.display()))?;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let stats = synth::generate(&store, &cfg, threads)?;
    println!(
        "generated count_rows={} play_rows={} partitions={} into {}",
        stats.count_rows,
        stats.play_rows,
        stats.partitions,
        args.history.display()
    );
    if let Some(dir) = args.export {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let snapshot = store.snapshot(&Filter::default());
        let reports = Reports::new(snapshot.sources.clone());
        for report in Report::standard_set() {
            let mut df = reports.run(&report)?;
            let name = report.name();
            export::write(&mut df, Format::Csv, &dir.join(format!("{name}.csv")))?;
            export::write(
                &mut df,
                Format::Parquet,
                &dir.join(format!("{name}.parquet")),
            )?;
            for (lang, tag) in [(Lang::Ja, "ja"), (Lang::En, "en")] {
                let svg = report_chart(&report, &df, lang)?.to_svg();
                std::fs::write(dir.join(format!("{name}.{tag}.svg")), svg)?;
            }
            println!("{name}: {} rows", df.height());
        }
    }
    Ok(())
}

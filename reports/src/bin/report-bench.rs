//! report-bench: generates synthetic history as Parquet, runs the standard report set with
//! polars (in a child process, so its peak memory is its own) and the same queries in DuckDB
//! over the same files, checks that both agree, and prints
//! `report-bench rows=N polars_s=.. duckdb_s=.. ratio=.. peak_mib=..` as its last line.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Parser;
use polars::prelude::*;
use reports::synth::{self, SynthConfig};
use reports::{Filter, HistoryStore, Report, Reports};
use serde::{Deserialize, Serialize};

const DUCKDB_SCRIPT: &str = include_str!("../../bench/duckdb_reports.py");

#[derive(Parser)]
#[command(about = "Benchmark the report set: polars vs DuckDB over the same Parquet history")]
struct Args {
    #[arg(long, default_value_t = 30)]
    days: u32,
    #[arg(long, default_value_t = 240)]
    players: u32,
    #[arg(long, default_value_t = 8)]
    seed: u64,
    /// History directory; default: a directory per configuration under the temp dir,
    /// reused by later runs (generation is idempotent).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Run only these reports (comma-separated names), e.g. `impressions,dwell_ward`.
    #[arg(long, value_delimiter = ',')]
    reports: Vec<String>,
    /// Internal: run only the polars side over this history and print JSON.
    #[arg(long, hide = true)]
    polars_child: Option<PathBuf>,
}

/// How each report's result is fingerprinted: row count plus the sum of these columns.
fn check_columns(report: &Report) -> Vec<(&'static str, &'static str)> {
    match report {
        Report::Footfall { .. } => vec![
            ("footfall", "num"),
            ("exits", "num"),
            ("period", "datetime"),
        ],
        Report::Balance { .. } => vec![
            ("in_count", "num"),
            ("out_count", "num"),
            ("balance", "num"),
            ("day", "date"),
        ],
        Report::PeakOccupancy { .. } => {
            vec![("peak", "num"), ("peak_at", "datetime"), ("day", "date")]
        }
        Report::Dwell { .. } => reports::schema::DWELL_BINS
            .iter()
            .map(|b| (b.column, "num"))
            .chain([("departures", "num")])
            .collect(),
        Report::Impressions => vec![
            ("plays", "num"),
            ("play_seconds", "num"),
            ("impressions", "num"),
            ("viewers_per_play", "num"),
        ],
        Report::WardComparison => vec![
            ("players", "num"),
            ("open_days", "num"),
            ("footfall", "num"),
            ("footfall_per_open_day", "num"),
            ("peak_occupancy", "num"),
            ("long_wait_share", "num"),
        ],
    }
}

fn fingerprint(df: &DataFrame, columns: &[(&str, &str)]) -> anyhow::Result<Vec<f64>> {
    let mut out = vec![df.height() as f64];
    for (name, kind) in columns {
        let c = df
            .column(name)
            .map_err(|e| anyhow::anyhow!("column {name}: {e}"))?;
        let v = match *kind {
            "datetime" => {
                let ms = c.cast(&DataType::Int64)?;
                ms.i64()?.iter().flatten().map(|v| v as f64 / 1000.0).sum()
            }
            "date" => {
                let d = c.cast(&DataType::Int32)?;
                d.i32()?.iter().flatten().map(f64::from).sum()
            }
            _ => {
                let f = c.cast(&DataType::Float64)?;
                f.f64()?.iter().flatten().sum()
            }
        };
        out.push(v);
    }
    Ok(out)
}

#[derive(Serialize, Deserialize)]
struct SideResult {
    seconds: f64,
    per_report: std::collections::BTreeMap<String, f64>,
    checks: std::collections::BTreeMap<String, Vec<f64>>,
    #[serde(default)]
    peak_mib: f64,
}

fn vm_hwm_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn selected(names: &[String]) -> anyhow::Result<Vec<Report>> {
    let all = Report::standard_set();
    if names.is_empty() {
        return Ok(all);
    }
    names
        .iter()
        .map(|n| {
            all.iter().find(|r| r.name() == *n).copied().ok_or_else(|| {
                let known: Vec<String> = all.iter().map(Report::name).collect();
                anyhow::anyhow!("unknown report {n:?}; use one of {}", known.join(", "))
            })
        })
        .collect()
}

fn polars_side(history: &Path, set: &[Report]) -> anyhow::Result<SideResult> {
    let store = HistoryStore::open(history)?;
    let snapshot = store.snapshot(&Filter::default());
    let reports = Reports::new(snapshot.sources.clone());
    let mut result = SideResult {
        seconds: 0.0,
        per_report: Default::default(),
        checks: Default::default(),
        peak_mib: 0.0,
    };
    for report in set {
        let t0 = Instant::now();
        let df = reports
            .run(report)
            .map_err(|e| anyhow::anyhow!("{}: {e}", report.name()))?;
        let dt = t0.elapsed().as_secs_f64();
        result.seconds += dt;
        result.per_report.insert(report.name(), dt);
        result
            .checks
            .insert(report.name(), fingerprint(&df, &check_columns(report))?);
    }
    result.peak_mib = vm_hwm_mib();
    Ok(result)
}

fn ensure_duckdb() -> anyhow::Result<()> {
    let ok = Command::new("python3")
        .args(["-c", "import duckdb"])
        .status();
    if matches!(ok, Ok(s) if s.success()) {
        return Ok(());
    }
    eprintln!("installing the duckdb Python package (pip)...");
    let st = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "duckdb"])
        .status()
        .context("running python3 -m pip; is python3 installed?")?;
    if !st.success() {
        bail!("pip install duckdb failed; run reports/bench/setup.sh by hand");
    }
    Ok(())
}

fn run_json(cmd: &mut Command, what: &str) -> anyhow::Result<SideResult> {
    let out = cmd.output().with_context(|| format!("starting {what}"))?;
    if !out.status.success() {
        bail!("{what} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).with_context(|| format!("{what} printed {stdout:?}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("report-bench: FAILED: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let args = Args::parse();
    let set = selected(&args.reports)?;
    if let Some(history) = args.polars_child {
        let r = polars_side(&history, &set)?;
        println!("{}", serde_json::to_string(&r)?);
        return Ok(());
    }
    let history = args.data.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!(
            "report-bench-d{}-p{}-s{}",
            args.days, args.players, args.seed
        ))
    });
    let cfg = SynthConfig {
        days: args.days,
        players: args.players,
        seed: args.seed,
        ..Default::default()
    };
    let t0 = Instant::now();
    let store = HistoryStore::open(&history)?;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let stats = synth::generate(&store, &cfg, threads)?;
    drop(store);
    let rows = stats.count_rows;
    println!(
        "generated count_rows={} play_rows={} partitions={} in {:.1}s at {}",
        stats.count_rows,
        stats.play_rows,
        stats.partitions,
        t0.elapsed().as_secs_f64(),
        history.display()
    );

    ensure_duckdb()?;
    let exe = std::env::current_exe()?;
    let polars = run_json(
        Command::new(exe)
            .arg("--polars-child")
            .arg(&history)
            .args(set.iter().flat_map(|r| ["--reports".to_string(), r.name()])),
        "polars side",
    )?;
    let spec: Vec<(String, Vec<(&str, &str)>)> =
        set.iter().map(|r| (r.name(), check_columns(r))).collect();
    let script = std::env::temp_dir().join("report-bench-duckdb.py");
    std::fs::write(&script, DUCKDB_SCRIPT)?;
    let duck = run_json(
        Command::new("python3")
            .arg(&script)
            .arg(&history)
            .arg(serde_json::to_string(&spec)?),
        "DuckDB side",
    )?;

    println!(
        "{:<28} {:>10} {:>10}  result check",
        "report", "polars_s", "duckdb_s"
    );
    let mut mismatches = Vec::new();
    for report in &set {
        let name = report.name();
        let p = &polars.checks[&name];
        let d = duck.checks.get(&name).cloned().unwrap_or_default();
        let same = p.len() == d.len() && p.iter().zip(&d).all(|(a, b)| close(*a, *b));
        println!(
            "{:<28} {:>10.3} {:>10.3}  {} rows={}",
            name,
            polars.per_report[&name],
            duck.per_report.get(&name).copied().unwrap_or(f64::NAN),
            if same { "same" } else { "DIFFERENT" },
            p.first().copied().unwrap_or(0.0)
        );
        if !same {
            mismatches.push(format!("{name}: polars {p:?} vs duckdb {d:?}"));
        }
    }
    if !mismatches.is_empty() {
        bail!("polars and DuckDB disagree:\n{}", mismatches.join("\n"));
    }
    println!(
        "report-bench rows={} polars_s={:.3} duckdb_s={:.3} ratio={:.3} peak_mib={:.0}",
        rows,
        polars.seconds,
        duck.seconds,
        polars.seconds / duck.seconds,
        polars.peak_mib
    );
    Ok(())
}

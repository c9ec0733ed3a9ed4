//! `signage-fuzz [--target NAME|all] [--seconds N] [--seed S] [--replay FILE]`: fuzzes the
//! parsers of untrusted bytes (see the `fuzz` crate); exits 3 on a finding, whose input is in
//! `target/fuzz-findings/`.

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::Parser;
use fuzz::targets::{TARGETS, find};
use fuzz::{EXIT_FINDING, Options, Target};

#[derive(Parser)]
#[command(version, about = "Fuzzes the parsers of untrusted bytes")]
struct Args {
    /// A target (mp4, png, jpeg, webm, sniff, range, cap, player-config, controller-config,
    /// mqtt, jma, feed, multipart) or all of them, one after the other.
    #[arg(long, default_value = "all")]
    target: String,
    /// Seconds per target.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Seed of the random inputs (default: from the clock; printed for replays).
    #[arg(long)]
    seed: Option<u64>,
    /// An input that runs longer than this many milliseconds is a hang.
    #[arg(long, default_value_t = 2000)]
    hang_ms: u64,
    /// Runs one saved input (a finding) on the target instead of fuzzing.
    #[arg(long, value_name = "FILE")]
    replay: Option<std::path::PathBuf>,
}

fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    let targets: Vec<&Target> = if args.target == "all" {
        TARGETS.iter().collect()
    } else {
        match find(&args.target) {
            Some(t) => vec![t],
            None => bail!(
                "no target {:?}: choose one of {} or all",
                args.target,
                TARGETS
                    .iter()
                    .map(|t| t.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    };
    let seed = args.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let options = Options {
        budget: Duration::from_secs(args.seconds),
        seed,
        hang_limit: Duration::from_millis(args.hang_ms),
        findings: fuzz::findings_dir(),
    };
    if let Some(path) = &args.replay {
        let [target] = targets[..] else {
            bail!("--replay needs one --target");
        };
        let input =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        return Ok(match fuzz::replay(target, &input, &options) {
            Ok(outcome) => {
                println!("{}: no finding (outcome: {outcome})", target.name);
                ExitCode::SUCCESS
            }
            Err(finding) => {
                eprintln!("FINDING {finding}");
                ExitCode::from(EXIT_FINDING as u8)
            }
        });
    }
    println!(
        "seed {seed}, {} s per target, hang limit {:?}, allocation cap {} MiB, findings in {}",
        args.seconds,
        options.hang_limit,
        fuzz::alloc::LIMIT >> 20,
        options.findings.display()
    );
    for target in targets {
        let progress = |s: &fuzz::Stats| {
            println!(
                "{}: {} execs, {:.0}/s, {} s, corpus {}, outcomes {}, live {} KiB",
                target.name,
                s.execs,
                s.per_second(),
                s.elapsed.as_secs(),
                s.corpus,
                s.outcomes,
                fuzz::alloc::live() >> 10
            );
        };
        match fuzz::fuzz(target, &options, progress) {
            Ok(stats) => {
                if let Some(skipped) = &stats.skipped {
                    println!("{}: {skipped}", target.name);
                }
                println!(
                    "{}: done: {} execs in {:.1} s ({:.0}/s), corpus {}, outcomes {}, no finding",
                    target.name,
                    stats.execs,
                    stats.elapsed.as_secs_f64(),
                    stats.per_second(),
                    stats.corpus,
                    stats.outcomes
                );
            }
            Err(finding) => {
                eprintln!("FINDING {finding}");
                return Ok(ExitCode::from(EXIT_FINDING as u8));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

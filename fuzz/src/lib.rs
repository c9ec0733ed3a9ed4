//! Fuzzing on stable Rust (no nightly, so no libFuzzer or coverage instrumentation): every
//! parser of untrusted bytes is a [`Target`], fed mutations of seeds (the project's own samples
//! in `../shared/data` and small files built here) that know the formats' length fields, and
//! random inputs built from the formats' parts. Inputs that end in an outcome not seen before
//! join the corpus, a cheap stand-in for coverage feedback.
//!
//! Each input runs under three guards, and any trip is a finding saved to
//! `target/fuzz-findings/NAME-<hash>.bin`: a panic (caught), a time limit (a watchdog thread
//! ends the process, as a running parser cannot be stopped) and an allocation cap (the counting
//! global allocator in [`alloc`] ends the process, as an allocator may not unwind).

pub mod alloc;
mod mutate;
mod seeds;
pub mod targets;

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub use mutate::Shape;
pub use seeds::Seeds;

/// Largest input tried: above every parser's own size limit (CAP's is 1 MiB), so the limits
/// themselves are exercised.
pub const MAX_INPUT: usize = (1 << 20) + 4096;
/// Inputs kept for mutation, seeds included.
const MAX_CORPUS: usize = 512;
/// Distinct outcomes remembered.
const MAX_OUTCOMES: usize = 4096;

/// One parser under test.
pub struct Target {
    pub name: &'static str,
    pub shape: Shape,
    /// Runs one input and names its outcome; a panic is a finding.
    pub run: fn(&[u8]) -> String,
    /// Seeds built in code (always there) and read from files (may be absent).
    pub seeds: fn() -> Seeds,
}

/// How long and how to fuzz.
#[derive(Debug, Clone)]
pub struct Options {
    /// Time for this target.
    pub budget: Duration,
    /// Makes the inputs reproducible (for the same number of executions).
    pub seed: u64,
    /// An input running longer is a hang.
    pub hang_limit: Duration,
    /// Where findings are saved (see [`findings_dir`]).
    pub findings: PathBuf,
}

#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub execs: u64,
    pub elapsed: Duration,
    pub corpus: usize,
    pub outcomes: usize,
    /// Why file seeds were not used, if they were not.
    pub skipped: Option<String>,
}

impl Stats {
    pub fn per_second(&self) -> f64 {
        self.execs as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// An input that made a parser panic, saved for replay.
#[derive(Debug)]
pub struct Finding {
    pub target: &'static str,
    pub message: String,
    pub saved: PathBuf,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} (input saved to {}; replay it with `signage-fuzz --target {} --replay {}`)",
            self.target,
            self.message,
            self.saved.display(),
            self.target,
            self.saved.display()
        )
    }
}

/// Fuzzes `target` for `options.budget`, calling `progress` every few seconds.
pub fn fuzz(
    target: &Target,
    options: &Options,
    mut progress: impl FnMut(&Stats),
) -> Result<Stats, Finding> {
    prepare(options);
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(options.seed);
    let seeds = (target.seeds)();
    let dictionary = mutate::dictionary(target.shape, &seeds.inputs);
    let mut corpus = seeds.inputs;
    let fixed = corpus.len();
    let mut outcomes = HashSet::new();
    let mut stats = Stats {
        skipped: seeds.skipped,
        ..Stats::default()
    };
    for input in &corpus {
        outcomes.insert(exec(target, input, options)?);
        stats.execs += 1;
    }
    let mut reported = Instant::now();
    while started.elapsed() < options.budget {
        let input = if rng.gen_ratio(1, 20) || corpus.is_empty() {
            mutate::generate(target.shape, &dictionary, &mut rng)
        } else {
            let base = &corpus[rng.gen_range(0..corpus.len())];
            mutate::mutate(base, &corpus, target.shape, &dictionary, &mut rng)
        };
        let outcome = exec(target, &input, options)?;
        stats.execs += 1;
        if outcomes.len() < MAX_OUTCOMES && outcomes.insert(outcome) {
            if corpus.len() < MAX_CORPUS {
                corpus.push(input);
            } else if fixed < MAX_CORPUS {
                let replace = rng.gen_range(fixed..MAX_CORPUS);
                corpus[replace] = input;
            }
        }
        if reported.elapsed() >= PROGRESS_EVERY {
            reported = Instant::now();
            stats.elapsed = started.elapsed();
            stats.corpus = corpus.len();
            stats.outcomes = outcomes.len();
            progress(&stats);
        }
    }
    stats.elapsed = started.elapsed();
    stats.corpus = corpus.len();
    stats.outcomes = outcomes.len();
    Ok(stats)
}

const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Runs one saved input: its outcome, or the finding.
pub fn replay(target: &Target, input: &[u8], options: &Options) -> Result<String, Finding> {
    prepare(options);
    exec(target, input, options)
}

/// The input running now, for the watchdog and the allocator to save.
struct Current {
    target: &'static str,
    input: Vec<u8>,
    started: Option<Instant>,
    hang_limit: Duration,
    findings: Option<PathBuf>,
}

static CURRENT: Mutex<Current> = Mutex::new(Current {
    target: "",
    input: Vec::new(),
    started: None,
    hang_limit: Duration::MAX,
    findings: None,
});

impl Current {
    fn save(&self) -> PathBuf {
        save(
            self.findings.as_deref().unwrap_or(Path::new(".")),
            self.target,
            &self.input,
        )
    }
}

/// Starts the watchdog (once) and gives it and the allocator the options of this run.
fn prepare(options: &Options) {
    start_watchdog();
    let mut current = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
    current.hang_limit = options.hang_limit;
    current.findings = Some(options.findings.clone());
}

fn exec(target: &Target, input: &[u8], options: &Options) -> Result<String, Finding> {
    {
        let mut current = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
        current.target = target.name;
        current.input.clear();
        current.input.extend_from_slice(input);
        current.started = Some(Instant::now());
    }
    let result = catch_unwind(AssertUnwindSafe(|| (target.run)(input)));
    CURRENT.lock().unwrap_or_else(|e| e.into_inner()).started = None;
    result.map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into());
        Finding {
            target: target.name,
            message: format!("panic: {message}"),
            saved: save(&options.findings, target.name, input),
        }
    })
}

/// Checks ten times a second whether the running input is past its time limit; if so, saves
/// it and ends the process (a parser stuck in a loop cannot be stopped from outside).
fn start_watchdog() {
    static WATCHDOG: Once = Once::new();
    WATCHDOG.call_once(|| {
        std::thread::spawn(|| {
            loop {
                std::thread::sleep(Duration::from_millis(100));
                let current = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(started) = current.started
                    && started.elapsed() > current.hang_limit
                {
                    let saved = current.save();
                    eprintln!(
                        "FINDING {}: hang: one input ran for more than {:?} (input saved to {}; replay it with `signage-fuzz --target {} --replay {}`)",
                        current.target,
                        current.hang_limit,
                        saved.display(),
                        current.target,
                        saved.display()
                    );
                    std::process::exit(EXIT_FINDING);
                }
            }
        });
    });
}

/// The exit status of a run that found something.
pub const EXIT_FINDING: i32 = 3;

/// Called by the allocator when live memory passed its cap: saves the input and aborts.
fn over_allocation(live: usize) -> ! {
    // The input being copied in holds the lock: then it cannot be saved, only named.
    let current = (0..100).find_map(|_| {
        CURRENT.try_lock().ok().or_else(|| {
            std::thread::yield_now();
            None
        })
    });
    match current {
        Some(current) => {
            let saved = current.save();
            eprintln!(
                "FINDING {}: {live} bytes allocated, over the cap of {} (input saved to {}; replay it with `signage-fuzz --target {} --replay {}`)",
                current.target,
                alloc::LIMIT,
                saved.display(),
                current.target,
                saved.display()
            );
        }
        None => eprintln!(
            "FINDING: {live} bytes allocated, over the cap of {}",
            alloc::LIMIT
        ),
    }
    std::process::abort()
}

/// `target/fuzz-findings` of this workspace (or of `CARGO_TARGET_DIR`).
pub fn findings_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent();
            workspace
                .expect("the fuzz crate is in the workspace")
                .join("target")
        })
        .join("fuzz-findings")
}

/// Writes `input` to `dir/NAME-<hash>.bin`.
fn save(dir: &Path, target: &str, input: &[u8]) -> PathBuf {
    let mut hasher = std::hash::DefaultHasher::new();
    input.hash(&mut hasher);
    let path = dir.join(format!("{target}-{:016x}.bin", hasher.finish()));
    if let Err(e) = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&path, input)) {
        eprintln!("cannot save the finding to {}: {e}", path.display());
    }
    path
}

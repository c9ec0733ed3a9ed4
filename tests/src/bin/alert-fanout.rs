//! `alert-fanout --players N [--broker mqtt://HOST:PORT] [--rounds R] [--render]
//! [--player-dir DIR]`: how fast an alert triggered through the HTTP API reaches N players.
//!
//! Starts the real `signage-controller` (embedded broker, or the external broker named by
//! `--broker`, which must accept the players' logins: run Mosquitto with
//! `allow_anonymous true` and no password file, see the README), registers N players with
//! `player add-many`, runs them in this process with the real player control path and
//! rendering off (`player::session::Session::run_until`; `--render` draws, headless at
//! 1920x1080, so `showing` is stamped with the first alert frame), then over R rounds (default 5)
//! issues an Exercise alert for their ward through `POST /api/v1/alerts` and measures, per
//! player, trigger -> the controller receiving its `showing` acknowledgement (`received_at` in
//! `GET /api/v1/alerts/{id}`, read once the round is over: the benchmark adds no subscriber of
//! its own to the acknowledgements it measures). The last line printed is
//! `alert-fanout players=N p50_ms=.. p99_ms=.. max_ms=.. acked=A/N` (A: the worst round).
//! Before it, stderr breaks the time down by stage, gives the CPU of each part per round and
//! times one signature check of the alert on this machine (the figures scale with the host).
//!
//! The simulated players keep their files (`alerts.json`, `now.json`) on `/dev/shm` by
//! default, each in a directory of its own, as each device would on its own disk. On this
//! machine's disk (ext4 without a journal), a thousand players replacing their files at once
//! made every file creation scan the inodes deleted moments before (`recently_deleted` in
//! the kernel): 0.3 ms of kernel CPU per file, which no real device pays for its one file.
//! `--player-dir DIR` puts them elsewhere.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use e2e::create_token;
use e2e::fleet::{
    Http, Players, ms_since, percentile, register, start_controller, toml_value, wait_online,
};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::{Value, json};

const WARD: &str = "bench";
const ROUND_TIMEOUT: Duration = Duration::from_secs(30);
/// How long no player may have connected before the rounds start.
const QUIET_BEFORE_ROUNDS: Duration = Duration::from_secs(3);

struct Args {
    players: u32,
    broker: Option<String>,
    rounds: u32,
    /// The players draw (headless, 1920x1080): `showing` then carries the time the first
    /// alert frame left the compositor.
    render: bool,
    /// Where the players' state directories go (default: /dev/shm, else the run's directory).
    player_dir: Option<PathBuf>,
}

fn args() -> anyhow::Result<Args> {
    let mut players = None;
    let mut broker = None;
    let mut rounds = 5;
    let mut render = false;
    let mut player_dir = None;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--players" => players = Some(value()?.parse().context("--players")?),
            "--broker" => broker = Some(value()?),
            "--rounds" => rounds = value()?.parse().context("--rounds")?,
            "--render" => render = true,
            "--player-dir" => player_dir = Some(PathBuf::from(value()?)),
            "-h" | "--help" => {
                println!(
                    "alert-fanout --players N [--broker mqtt://HOST:PORT] [--rounds R] [--render] [--player-dir DIR]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}; see --help"),
        }
    }
    let players: u32 = players.context("--players N is required")?;
    if players == 0 || rounds == 0 {
        bail!("--players and --rounds must be at least 1");
    }
    Ok(Args {
        players,
        broker,
        rounds,
        render,
        player_dir,
    })
}

/// Where the simulated players keep their files: `--player-dir`, else a fresh directory on
/// `/dev/shm` (see the module comment), else beside the controller's.
fn player_state_root(args: &Args, run_dir: &Path) -> anyhow::Result<tempfile::TempDir> {
    let shm = Path::new("/dev/shm");
    let parent = match &args.player_dir {
        Some(dir) => dir.as_path(),
        None if shm.is_dir() => shm,
        None => run_dir,
    };
    tempfile::Builder::new()
        .prefix("alert-fanout-players-")
        .tempdir_in(parent)
        .with_context(|| {
            format!(
                "cannot create the players' directory in {}",
                parent.display()
            )
        })
}

/// The alert message reaching the observer's own subscription to the ward's alerts: when
/// the broker started fanning it out.
struct Delivered {
    alert: String,
    arrived: Instant,
    payload: Vec<u8>,
}

/// p50 / p99 / max of a sample, for the breakdown lines.
fn summary(values: &mut [f64]) -> String {
    values.sort_by(f64::total_cmp);
    format!(
        "p50_ms={:.1} p99_ms={:.1} max_ms={:.1} n={}",
        percentile(values, 50.0),
        percentile(values, 99.0),
        values.last().copied().unwrap_or(f64::NAN),
        values.len()
    )
}

fn main() -> anyhow::Result<()> {
    let args = args()?;
    // The players' own warnings (a lost connection, a refused alert) explain a slow round.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    e2e::fleet::binaries_beside_me()?;
    let n = args.players;
    let dir = tempfile::tempdir()?;
    let state_root = player_state_root(&args, dir.path())?;
    eprintln!(
        "players' state directories under {}",
        state_root.path().display()
    );
    let (controller, data_dir, endpoints) =
        start_controller(dir.path(), args.broker.as_deref(), &[])?;
    let http = Http::new(
        endpoints["http"].as_str().unwrap(),
        create_token(&data_dir, "disaster"),
    );
    let mqtt_url = endpoints["mqtt"].as_str().unwrap().to_string();

    // N players and one observer, registered in one process.
    let registered = Instant::now();
    let configs = dir.path().join("players");
    register(&data_dir, "bench", WARD, n + 1, &configs)?;
    eprintln!("registered {} players in {:?}", n + 1, registered.elapsed());
    let observer_id = format!("bench-{:05}", n + 1);
    let observer_password: String =
        toml_value(&configs.join(format!("{observer_id}.toml")), "password")?;

    let started = Instant::now();
    let ids: Vec<String> = (1..=n).map(|i| format!("bench-{i:05}")).collect();
    let players = Players::start(&configs, &ids, state_root.path(), args.render)?;

    // The observer: the alert message itself, stamped on arrival (a player of the ward: it may
    // read nothing else). Reconnections are counted by the players themselves.
    let (tx, delivered) = mpsc::channel::<Delivered>();
    let hellos = &player::session::CONNECTIONS;
    let finished = Arc::new(AtomicBool::new(false));
    let observer_finished = finished.clone();
    let (host, port) = mqtt_url
        .trim_start_matches("mqtt://")
        .rsplit_once(':')
        .context("broker URL host:port")?;
    let mut options = MqttOptions::new(&observer_id, host, port.parse::<u16>()?);
    options.set_credentials(&observer_id, &observer_password);
    options.set_keep_alive(Duration::from_secs(30));
    options.set_max_packet_size(1 << 20, 1 << 20);
    // On a thread and runtime of its own: on the players' runtime it would wait behind a
    // thousand player tasks, and stamp arrivals late (a real controller is another process).
    let observer = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::spawn(move || {
        observer.block_on(async move {
            let (client, mut events) = AsyncClient::new(options, 10_000);
            // Its PUBACKs (carrying the TCP ACKs) leave at once, so the broker's Nagle does not
            // hold the next messages for a delayed ACK.
            let mut network = events.network_options();
            network.set_tcp_nodelay(true);
            events.set_network_options(network);
            loop {
                match events.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        let _ = client
                            .subscribe(format!("signage/v1/alerts/ward/{WARD}/+"), QoS::AtLeastOnce)
                            .await;
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let arrived = Instant::now();
                        if p.topic.starts_with("signage/v1/alerts/") {
                            let _ = tx.send(Delivered {
                                alert: p.topic.rsplit('/').next().unwrap_or_default().to_string(),
                                arrived,
                                payload: p.payload.to_vec(),
                            });
                        }
                    }
                    Ok(_) => {}
                    // The controller stopping at the end is not worth a line.
                    Err(_) if observer_finished.load(Ordering::Relaxed) => return,
                    Err(e) => {
                        eprintln!("observer: {e}");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
            }
        });
    });

    // Every player online, with its configuration (ward) acknowledged: subscribed.
    wait_online(
        &http,
        n as usize,
        Duration::from_secs(60 + u64::from(n) / 20),
    )?;
    eprintln!(
        "{n} players online and configured after {:?}",
        started.elapsed()
    );
    // Connecting a thousand players at once makes some time out and connect again (a stale
    // connection attempt can then take the client id over from the live one). Rounds start
    // once no player has connected for a while, so they measure alerts, not reconnections.
    let settle = Instant::now() + Duration::from_secs(60);
    while hellos.quiet_for() < QUIET_BEFORE_ROUNDS && Instant::now() < settle {
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!(
        "fleet quiet (no connection for {:?}) after {:?}; {} player connections",
        hellos.quiet_for(),
        started.elapsed(),
        hellos.count()
    );
    while delivered.try_recv().is_ok() {}
    // The fleet's idle load (timers, keep-alives), subtracted from the rounds' CPU below.
    let watched = watched_processes(controller.child.id(), args.broker.is_some());
    let idle_from = CpuMark::now(&watched);
    std::thread::sleep(Duration::from_secs(2));
    let idle_to = CpuMark::now(&watched);
    let idle_rate = idle_to.total_since(&idle_from);

    let mut arrival_ms = Vec::new();
    let mut displayed_ms = Vec::new();
    let mut sent_ms = Vec::new();
    let mut delivered_ms = Vec::new();
    let mut api_all_ms = Vec::new();
    let mut worst_acked = n;
    let rounds_from = CpuMark::now(&watched);
    let mut message = Vec::new();
    for round in 1..=args.rounds {
        let id = format!("fanout-{round}-{}", std::process::id());
        let body = json!({
            "id": id,
            "template": {"kind": "earthquake"},
            "placeholders": {"area": "bench"},
            "targets": [{"kind": "ward", "id": WARD}],
            "status": "Exercise",
        });
        let reconnections_before = hellos.count();
        let t0 = Instant::now();
        let t0_utc = chrono::Utc::now();
        let (status, answer) = http.call("POST", "/api/v1/alerts", Some(&body))?;
        let api_ms = t0.elapsed().as_secs_f64() * 1000.0;
        api_all_ms.push(api_ms);
        if status != 201 {
            bail!("creating the alert answered {status}: {answer}");
        }
        // The round is over when the controller has every `showing` acknowledgement. It is
        // asked first once the fan-out should be over (200 ms plus 0.5 ms per player), then
        // every 200 ms: the answer lists every player, and asking during the fan-out would
        // take CPU from it.
        let (sent_from, arrival_from) = (sent_ms.len(), arrival_ms.len());
        let end = t0 + ROUND_TIMEOUT;
        std::thread::sleep(Duration::from_micros(500 * u64::from(n)));
        let rows = loop {
            std::thread::sleep(Duration::from_millis(200));
            let (status, alert) = http.call("GET", &format!("/api/v1/alerts/{id}"), None)?;
            if status != 200 {
                bail!("reading the alert answered {status}: {alert}");
            }
            let showing = alert["counts"]["showing"].as_u64().unwrap_or(0);
            if showing >= u64::from(n) || Instant::now() > end {
                break alert["players"].as_array().cloned().unwrap_or_default();
            }
        };
        let since_trigger = |v: &Value| ms_since(t0_utc, v);
        let mut got = 0;
        for row in rows.iter().filter(|r| r["state"] == "showing") {
            got += 1;
            arrival_ms.extend(since_trigger(&row["received_at"]));
            sent_ms.extend(since_trigger(&row["acked_at"]));
            displayed_ms.extend(since_trigger(&row["displayed_at"]));
        }
        while let Ok(seen) = delivered.try_recv() {
            if seen.alert == id {
                message = seen.payload;
                delivered_ms.push(seen.arrived.duration_since(t0).as_secs_f64() * 1000.0);
            }
        }
        worst_acked = worst_acked.min(got);
        let reconnected = hellos.count() - reconnections_before;
        eprintln!(
            "round {round}: {got}/{n} showing acks; API answered in {api_ms:.1} ms; {reconnected} players reconnected during the round"
        );
        eprintln!(
            "  ack sent:    {}",
            summary(&mut sent_ms[sent_from..].to_vec())
        );
        eprintln!(
            "  ack received: {}",
            summary(&mut arrival_ms[arrival_from..].to_vec())
        );
        let _ = http.call("POST", &format!("/api/v1/alerts/{id}/cancel"), None)?;
        // The next round starts on a quiet fleet, as a real alert would: the cancel's
        // acknowledgements, the delayed `now` reports and the file writes are done.
        std::thread::sleep(Duration::from_secs(1));
        let quiet = wait_for_quiet(&watched, idle_rate);
        if quiet > QUIET_LIMIT {
            eprintln!("  the fleet was not back to its idle load {quiet:?} after the cancel");
        }
    }
    let rounds_to = CpuMark::now(&watched);
    eprintln!(
        "CPU per round (alert + cancel): {}",
        cpu_per_round(
            (&idle_from, &idle_to),
            (&rounds_from, &rounds_to),
            args.rounds
        )
    );
    // The breakdown: each stage measured from the trigger (the player-side stamps use the
    // players' clock, which is this process's clock).
    eprintln!("signed alert message: {} bytes", message.len());
    // What one player's signature check costs on this machine: the figures above scale with
    // the host's speed, and this one part of them is easy to compare between hosts.
    match signature_check(&message, &configs.join("bench-00001.toml")) {
        Ok(took) => eprintln!(
            "one signature check of that message on this machine: {:.1} us (every player checks every alert)",
            took.as_secs_f64() * 1e6
        ),
        Err(e) => eprintln!("cannot time the signature check: {e:#}"),
    }
    eprintln!(
        "trigger -> HTTP answer:              {}",
        summary(&mut api_all_ms)
    );
    eprintln!(
        "trigger -> alert at observer (broker): {}",
        summary(&mut delivered_ms)
    );
    eprintln!(
        "trigger -> displayed_at (player):    {}",
        summary(&mut displayed_ms)
    );
    eprintln!(
        "trigger -> ack sent (player `at`):   {}",
        summary(&mut sent_ms)
    );
    eprintln!(
        "trigger -> ack received (controller): {}",
        summary(&mut arrival_ms.clone())
    );
    arrival_ms.sort_by(f64::total_cmp);
    finished.store(true, Ordering::Relaxed);
    players.stop()?;
    drop(controller);
    println!(
        "alert-fanout players={n} p50_ms={:.1} p99_ms={:.1} max_ms={:.1} acked={worst_acked}/{n}",
        percentile(&arrival_ms, 50.0),
        percentile(&arrival_ms, 99.0),
        arrival_ms.last().copied().unwrap_or(f64::NAN)
    );
    Ok(())
}

/// CPU time used so far by the watched processes' threads, grouped by what they do (Linux
/// `/proc`).
struct CpuMark {
    at: Instant,
    ms: std::collections::BTreeMap<&'static str, f64>,
}

/// The processes whose threads [`CpuMark`] reads, with what each one is.
type Watched = Vec<(u32, &'static str)>;

/// This process (the players), the controller, and with `--broker` a Mosquitto on this
/// machine, found by name once.
fn watched_processes(controller: u32, external_broker: bool) -> Watched {
    let mut processes = vec![(std::process::id(), "players"), (controller, "controller")];
    if external_broker {
        processes.extend(
            std::fs::read_dir("/proc")
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                .filter(|pid| {
                    std::fs::read_to_string(format!("/proc/{pid}/comm"))
                        .is_ok_and(|c| c.trim() == "mosquitto")
                })
                .map(|pid| (pid, "mosquitto")),
        );
    }
    processes
}

impl CpuMark {
    fn now(watched: &Watched) -> CpuMark {
        let mut ms = std::collections::BTreeMap::new();
        for &(pid, process) in watched {
            let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
                continue;
            };
            for task in tasks.flatten() {
                let name = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
                *ms.entry(thread_group(process, name.trim())).or_default() +=
                    thread_cpu_ms(&task.path());
            }
        }
        CpuMark {
            at: Instant::now(),
            ms,
        }
    }

    /// CPU used per second of wall time since `before`, all groups together.
    fn total_since(&self, before: &CpuMark) -> f64 {
        let used: f64 = self.ms.values().sum::<f64>() - before.ms.values().sum::<f64>();
        used / (self.at - before.at).as_secs_f64().max(1e-3)
    }
}

/// How long [`wait_for_quiet`] waits at most.
const QUIET_LIMIT: Duration = Duration::from_secs(15);

/// Waits until the players, controller and broker use no more CPU than when idle (measured
/// over 250 ms); returns how long that took.
fn wait_for_quiet(watched: &Watched, idle_ms_per_s: f64) -> Duration {
    let started = Instant::now();
    let mut last = CpuMark::now(watched);
    while started.elapsed() <= QUIET_LIMIT {
        std::thread::sleep(Duration::from_millis(250));
        let now = CpuMark::now(watched);
        if now.total_since(&last) <= idle_ms_per_s * 1.5 + 20.0 {
            break;
        }
        last = now;
    }
    started.elapsed()
}

/// The role of a thread, from its process and name.
fn thread_group(process: &str, thread: &str) -> &'static str {
    match (process, thread) {
        ("players", t) if t.starts_with("players-") => "players",
        ("players", "player-disk") => "player files",
        ("players", _) => "bench",
        // rumqttd's connection runtime and router.
        ("controller", t) if t == "v4" || t.starts_with("router") => "broker",
        ("controller", t) if t.starts_with("sqlx-sqlite") => "controller store",
        ("mosquitto", _) => "mosquitto",
        _ => "controller",
    }
}

/// A thread's time on CPU in ms, from its `schedstat` (nanoseconds).
fn thread_cpu_ms(task: &Path) -> f64 {
    std::fs::read_to_string(task.join("schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |ns| ns / 1e6)
}

/// CPU per round by thread group, the idle rate (measured before the rounds) subtracted.
fn cpu_per_round(idle: (&CpuMark, &CpuMark), busy: (&CpuMark, &CpuMark), rounds: u32) -> String {
    let idle_secs = (idle.1.at - idle.0.at).as_secs_f64();
    let busy_secs = (busy.1.at - busy.0.at).as_secs_f64();
    busy.1
        .ms
        .keys()
        .map(|group| {
            let used = |m: (&CpuMark, &CpuMark)| {
                m.1.ms.get(group).copied().unwrap_or(0.0)
                    - m.0.ms.get(group).copied().unwrap_or(0.0)
            };
            let idle_rate = used(idle) / idle_secs;
            let round = (used(busy) - idle_rate * busy_secs) / f64::from(rounds);
            format!("{group} {round:.0} ms (idle {:.0} ms/s)", idle_rate)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The mean time of one player's check of `message` (a signed alert as the players got it)
/// with the key in the player configuration `config`, after a warm-up.
fn signature_check(message: &[u8], config: &Path) -> anyhow::Result<Duration> {
    use alerts::signing::{PublicKey, SignedEnvelope, verify_payload};
    let key = PublicKey::from_hex(&toml_value(config, "alert_public_key")?)?;
    let envelope: SignedEnvelope =
        serde_json::from_slice(message).context("no signed alert message was received")?;
    const CHECKS: u32 = 1_000;
    for _ in 0..CHECKS / 10 {
        verify_payload(&envelope, &key)?;
    }
    let started = Instant::now();
    for _ in 0..CHECKS {
        verify_payload(&envelope, &key)?;
    }
    Ok(started.elapsed() / CHECKS)
}

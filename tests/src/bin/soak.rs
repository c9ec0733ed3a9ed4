//! `soak [--minutes M] [--quiet-minutes Q] [--players N] [--alert-every S]`: alerts under
//! hostile traffic.
//!
//! Starts the real controller (embedded broker) with N players (default 50) in this process,
//! then issues an Exercise alert every S seconds (default 60) and cancels it once every player
//! acknowledged it (or after 30 s): first for Q minutes (default 5) with nothing else going
//! on, the quiet baseline, then for M minutes (default 30) while hostile traffic runs on
//! loopback, bounded in rate: bad uploads (a wrapping MP4 box, a PNG declaring 50,000 x 50,000
//! pixels, junk, endless multipart headers), bad CAP (XXE, entity expansion, broken XML, over
//! the size limit), a login flood, a registered player's MQTT credentials publishing malformed,
//! oversized and foreign-topic messages and subscribing to everything, and clients that never
//! finish their request headers. Per alert: trigger -> the controller receiving each player's
//! `showing` acknowledgement (`received_at`). The controller's resident memory is sampled every
//! 10 s. The last line: `soak minutes=.. alerts=.. acked=A/T quiet_p99_ms=.. soak_p99_ms=..
//! ratio=.. rss_mb_start=.. rss_mb_end=.. rss_mb_max=..`.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use e2e::create_token;
use e2e::fleet::{
    Http, Players, ms_since, percentile, register, start_controller, toml_value, wait_online,
};
use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
use serde_json::json;

const WARD: &str = "soak";
const ROUND_TIMEOUT: Duration = Duration::from_secs(30);

struct Args {
    minutes: u64,
    quiet_minutes: u64,
    players: u32,
    alert_every: u64,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        minutes: 30,
        quiet_minutes: 5,
        players: 50,
        alert_every: 60,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || -> anyhow::Result<u64> {
            it.next()
                .with_context(|| format!("{flag} needs a value"))?
                .parse()
                .with_context(|| format!("{flag} needs a whole number"))
        };
        match flag.as_str() {
            "--minutes" => a.minutes = value()?,
            "--quiet-minutes" => a.quiet_minutes = value()?,
            "--players" => a.players = value()? as u32,
            "--alert-every" => a.alert_every = value()?,
            "-h" | "--help" => {
                println!("soak [--minutes M] [--quiet-minutes Q] [--players N] [--alert-every S]");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}; see --help"),
        }
    }
    if a.minutes == 0 || a.quiet_minutes == 0 || a.players == 0 || a.alert_every < 5 {
        bail!(
            "--minutes, --quiet-minutes and --players must be at least 1, --alert-every at least 5"
        );
    }
    Ok(a)
}

/// What each hostile generator met: outcome -> count.
#[derive(Default)]
struct Tally(Mutex<BTreeMap<String, u64>>);

impl Tally {
    fn add(&self, what: &str, outcome: impl std::fmt::Display) {
        *self
            .0
            .lock()
            .unwrap()
            .entry(format!("{what} {outcome}"))
            .or_default() += 1;
    }
}

/// Alerts over `minutes`, one every `every` seconds: the `received_at` latencies of every
/// acknowledgement, and how many alerts every player acknowledged.
fn alerts(
    http: &Http,
    n: u32,
    minutes: u64,
    every: u64,
    label: &str,
) -> anyhow::Result<(Vec<f64>, u32, u32)> {
    let start = Instant::now();
    let (mut latencies, mut issued, mut complete) = (Vec::new(), 0, 0);
    while start.elapsed() < Duration::from_secs(minutes * 60) {
        let slot = start + Duration::from_secs(every * u64::from(issued));
        if let Some(wait) = slot.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        issued += 1;
        let id = format!("{label}-{issued}-{}", std::process::id());
        let body = json!({
            "id": id,
            "template": {"kind": "earthquake"},
            "placeholders": {"area": "soak"},
            "targets": [{"kind": "ward", "id": WARD}],
            "status": "Exercise",
        });
        let t0 = chrono::Utc::now();
        let began = Instant::now();
        let (status, answer) = http.call("POST", "/api/v1/alerts", Some(&body))?;
        if status != 201 {
            eprintln!("{label} alert {issued}: creating it answered {status}: {answer}");
            continue;
        }
        let rows = loop {
            std::thread::sleep(Duration::from_millis(250));
            let (_, alert) = http.call("GET", &format!("/api/v1/alerts/{id}"), None)?;
            let showing = alert["counts"]["showing"].as_u64().unwrap_or(0);
            if showing >= u64::from(n) || began.elapsed() > ROUND_TIMEOUT {
                break alert["players"].as_array().cloned().unwrap_or_default();
            }
        };
        let mut got = 0;
        let mut round = Vec::new();
        for row in rows.iter().filter(|r| r["state"] == "showing") {
            got += 1;
            round.extend(ms_since(t0, &row["received_at"]));
        }
        if got == n {
            complete += 1;
        }
        round.sort_by(f64::total_cmp);
        eprintln!(
            "{label} alert {issued}: {got}/{n} acknowledged, p50 {:.1} ms, max {:.1} ms",
            percentile(&round, 50.0),
            round.last().copied().unwrap_or(f64::NAN)
        );
        latencies.extend(round);
        let _ = http.call("POST", &format!("/api/v1/alerts/{id}/cancel"), None)?;
    }
    latencies.sort_by(f64::total_cmp);
    Ok((latencies, issued, complete))
}

/// Runs `work` every `period` until `stop`.
fn every(
    period: Duration,
    stop: Arc<AtomicBool>,
    mut work: impl FnMut(u64) + Send + 'static,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut i = 0;
        let start = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            work(i);
            i += 1;
            if let Some(wait) = (start + period * i as u32).checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
    })
}

/// The 48-byte file that once froze the controller: `ftyp`, then a box whose 64-bit size
/// wraps the offset back to 0.
fn wrapping_mp4() -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&16u32.to_be_bytes());
    f.extend_from_slice(b"ftypisom\0\0\0\0");
    f.extend_from_slice(&1u32.to_be_bytes());
    f.extend_from_slice(b"mdat");
    f.extend_from_slice(&(u64::MAX - 15).to_be_bytes());
    f.resize(48, 0);
    f
}

/// A PNG header declaring 50,000 x 50,000 pixels.
fn huge_png() -> Vec<u8> {
    let mut f = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    f.extend_from_slice(&50_000u32.to_be_bytes());
    f.extend_from_slice(&50_000u32.to_be_bytes());
    f.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    f.resize(4096, 0);
    f
}

fn multipart(file: &[u8]) -> Vec<u8> {
    let mut body =
        b"--s0ak\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\n".to_vec();
    body.extend_from_slice(file);
    body.extend_from_slice(b"\r\n--s0ak--\r\n");
    body
}

fn hostile_uploads(
    http: Http,
    stop: Arc<AtomicBool>,
    tally: Arc<Tally>,
) -> std::thread::JoinHandle<()> {
    let mut endless = b"--s0ak\r\nContent-Disposition: form-data; name=\"file\"\r\nX: ".to_vec();
    endless.resize(1 << 20, b'a');
    let bodies = [
        ("mp4-wrap", multipart(&wrapping_mp4())),
        ("png-50000x50000", multipart(&huge_png())),
        ("junk", multipart(&[0x5a; 3000])),
        ("endless-headers", endless),
    ];
    every(Duration::from_millis(200), stop, move |i| {
        let (what, body) = &bodies[i as usize % bodies.len()];
        let status = http.post_raw(
            "/api/v1/content",
            "multipart/form-data; boundary=s0ak",
            body,
        );
        tally.add(&format!("upload {what}"), status);
    })
}

fn hostile_cap(
    http: Http,
    stop: Arc<AtomicBool>,
    tally: Arc<Tally>,
) -> std::thread::JoinHandle<()> {
    let laughs = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">{}]><alert>&lol9;</alert>",
        (1..10)
            .map(|i| format!(
                "<!ENTITY lol{i} \"{}\">",
                format!("&lol{};", i - 1).repeat(10)
            ))
            .collect::<String>()
    );
    let big = format!(
        "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><!-- {} --></alert>",
        "x".repeat(2 << 20)
    );
    let bodies = [
        ("xxe", "<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><alert>&x;</alert>".to_string()),
        ("entity-expansion", laughs),
        ("broken-xml", "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><identifier>".into()),
        ("over-limit", big),
    ];
    every(Duration::from_millis(200), stop, move |i| {
        let (what, body) = &bodies[i as usize % bodies.len()];
        let status = http.post_raw("/api/v1/cap", "application/cap+xml", body.as_bytes());
        tally.add(&format!("cap {what}"), status);
    })
}

fn login_flood(
    base: String,
    stop: Arc<AtomicBool>,
    tally: Arc<Tally>,
) -> std::thread::JoinHandle<()> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    every(Duration::from_millis(50), stop, move |i| {
        let account = match i % 3 {
            0 => "admin".to_string(),
            1 => format!("guess{i}"),
            _ => "x".repeat(500),
        };
        let status = agent
            .post(format!("{base}/api/v1/login"))
            .send_json(json!({"account": account, "password": format!("wrong{i}")}))
            .map_or(0, |r| r.status().as_u16());
        tally.add("login", status);
    })
}

/// Clients that send half a request and wait, up to 20 at once.
fn slow_headers(
    base: String,
    stop: Arc<AtomicBool>,
    tally: Arc<Tally>,
) -> std::thread::JoinHandle<()> {
    let addr = base.trim_start_matches("http://").to_string();
    let mut open: Vec<TcpStream> = Vec::new();
    every(Duration::from_millis(500), stop, move |_| {
        open.retain(|s| {
            let mut buf = [0u8; 1];
            match s.peek(&mut buf) {
                Ok(0) => false,
                Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
                Ok(_) => true,
            }
        });
        while open.len() < 20 {
            match TcpStream::connect(&addr) {
                Ok(mut s) => {
                    let _ = s.set_nonblocking(true);
                    let _ = s.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n");
                    tally.add("slow-headers", "opened");
                    open.push(s);
                }
                Err(_) => {
                    tally.add("slow-headers", "refused");
                    break;
                }
            }
        }
    })
}

/// A registered player's credentials used against the broker.
fn hostile_mqtt(
    url: &str,
    id: String,
    password: String,
    victim: String,
    stop: Arc<AtomicBool>,
    tally: Arc<Tally>,
) -> anyhow::Result<Vec<std::thread::JoinHandle<()>>> {
    let (host, port) = url
        .trim_start_matches("mqtt://")
        .rsplit_once(':')
        .context("broker host:port")?;
    let mut options = MqttOptions::new(&id, host, port.parse::<u16>()?);
    options.set_credentials(&id, &password);
    options.set_keep_alive(Duration::from_secs(10));
    options.set_max_packet_size(4 << 20, 4 << 20);
    let (client, mut connection) = Client::new(options, 100);
    let events = tally.clone();
    let watching = stop.clone();
    let reader = std::thread::spawn(move || {
        for event in connection.iter() {
            if watching.load(Ordering::Relaxed) {
                return;
            }
            match event {
                Ok(Event::Incoming(Packet::ConnAck(_))) => events.add("mqtt", "connected"),
                Ok(Event::Incoming(Packet::SubAck(ack))) => {
                    events.add("mqtt subscribe", format!("{:?}", ack.return_codes))
                }
                Ok(_) => {}
                Err(_) => {
                    events.add("mqtt", "disconnected");
                    std::thread::sleep(Duration::from_millis(500));
                }
            }
        }
    });
    let me = format!("signage/v1/players/{id}");
    let other = format!("signage/v1/players/{victim}");
    let writer = every(Duration::from_millis(50), stop, move |i| {
        let (what, topic, payload): (&str, String, Vec<u8>) = match i % 6 {
            0 => (
                "malformed health",
                format!("{me}/health"),
                b"{not json".to_vec(),
            ),
            1 => (
                "oversized health",
                format!("{me}/health"),
                vec![b'{'; 2 << 20],
            ),
            2 => ("foreign ack", format!("{other}/alert_ack"), b"{}".to_vec()),
            3 => (
                "alert topic",
                "signage/v1/alerts/all/fake".into(),
                b"{}".to_vec(),
            ),
            4 => ("malformed counts", format!("{me}/counts"), vec![0xff; 1000]),
            _ => {
                let _ = client.try_subscribe("#", QoS::AtMostOnce);
                ("subscribe #", String::new(), Vec::new())
            }
        };
        if !topic.is_empty() {
            let sent = client.try_publish(topic, QoS::AtMostOnce, false, payload);
            tally.add(
                &format!("mqtt {what}"),
                if sent.is_ok() { "sent" } else { "queue full" },
            );
        }
    });
    Ok(vec![reader, writer])
}

/// Seconds since start, the phase, the controller's resident kB.
type RssSample = (u64, &'static str, u64);

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn main() -> anyhow::Result<()> {
    let args = args()?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_writer(std::io::stderr)
        .init();
    e2e::fleet::binaries_beside_me()?;
    let n = args.players;
    let dir = tempfile::tempdir()?;
    let shm = std::path::Path::new("/dev/shm");
    let state_root = tempfile::Builder::new()
        .prefix("soak-players-")
        .tempdir_in(if shm.is_dir() { shm } else { dir.path() })?;
    let (controller, data_dir, endpoints) = start_controller(dir.path(), None, &[])?;
    let base = endpoints["http"]
        .as_str()
        .context("http endpoint")?
        .to_string();
    let mqtt_url = endpoints["mqtt"]
        .as_str()
        .context("mqtt endpoint")?
        .to_string();
    let http = Http::new(&base, create_token(&data_dir, "disaster"));
    let configs = dir.path().join("players");
    register(&data_dir, "soak", WARD, n + 1, &configs)?;
    let ids: Vec<String> = (1..=n).map(|i| format!("soak-{i:05}")).collect();
    let players = Players::start(&configs, &ids, state_root.path(), false)?;
    wait_online(&http, n as usize, Duration::from_secs(120))?;
    eprintln!("{n} players online");

    let pid = controller.child.id();
    let samples: Arc<Mutex<Vec<RssSample>>> = Arc::default();
    let phase: Arc<Mutex<&'static str>> = Arc::new(Mutex::new("quiet"));
    let sampling = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (samples, phase, stop) = (samples.clone(), phase.clone(), sampling.clone());
        let start = Instant::now();
        every(Duration::from_secs(10), stop, move |_| {
            let label = *phase.lock().unwrap();
            samples
                .lock()
                .unwrap()
                .push((start.elapsed().as_secs(), label, rss_kb(pid)));
        })
    };

    eprintln!("quiet baseline: {} min", args.quiet_minutes);
    let (quiet, quiet_issued, quiet_complete) =
        alerts(&http, n, args.quiet_minutes, args.alert_every, "quiet")?;

    *phase.lock().unwrap() = "hostile";
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let mut threads = vec![
        hostile_uploads(
            Http::new(&base, create_token(&data_dir, "pr")),
            stop.clone(),
            tally.clone(),
        ),
        hostile_cap(
            Http::new(&base, create_token(&data_dir, "disaster")),
            stop.clone(),
            tally.clone(),
        ),
        login_flood(base.clone(), stop.clone(), tally.clone()),
        slow_headers(base.clone(), stop.clone(), tally.clone()),
    ];
    let intruder = format!("soak-{:05}", n + 1);
    let password = toml_value(&configs.join(format!("{intruder}.toml")), "password")?;
    threads.extend(hostile_mqtt(
        &mqtt_url,
        intruder,
        password,
        ids[0].clone(),
        stop.clone(),
        tally.clone(),
    )?);
    eprintln!("hostile traffic on; alerts for {} min", args.minutes);
    let (soak, soak_issued, soak_complete) =
        alerts(&http, n, args.minutes, args.alert_every, "soak")?;
    stop.store(true, Ordering::Relaxed);
    sampling.store(true, Ordering::Relaxed);
    let (status, health) = http.call("GET", "/api/v1/health", None)?;
    eprintln!("health after the soak: {status} {health}");
    for (what, count) in tally.0.lock().unwrap().iter() {
        eprintln!("  {what}: {count}");
    }
    let rss: Vec<RssSample> = samples.lock().unwrap().clone();
    for (at, label, kb) in &rss {
        eprintln!("  rss {at:>5} s {label:<7} {:.1} MiB", *kb as f64 / 1024.0);
    }
    players.stop()?;
    drop(controller);
    drop(sampler);
    let mb = |kb: u64| kb as f64 / 1024.0;
    let hostile: Vec<u64> = rss
        .iter()
        .filter(|s| s.1 == "hostile")
        .map(|s| s.2)
        .collect();
    let ratio = percentile(&soak, 99.0) / percentile(&quiet, 99.0);
    println!(
        "soak minutes={} alerts={} acked={}/{} quiet_p50_ms={:.1} quiet_p99_ms={:.1} soak_p50_ms={:.1} soak_p99_ms={:.1} ratio={ratio:.2} rss_mb_start={:.1} rss_mb_end={:.1} rss_mb_max={:.1} health={status}",
        args.minutes,
        quiet_issued + soak_issued,
        quiet_complete + soak_complete,
        quiet_issued + soak_issued,
        percentile(&quiet, 50.0),
        percentile(&quiet, 99.0),
        percentile(&soak, 50.0),
        percentile(&soak, 99.0),
        mb(hostile.first().copied().unwrap_or(0)),
        mb(hostile.last().copied().unwrap_or(0)),
        mb(hostile.iter().copied().max().unwrap_or(0)),
    );
    Ok(())
}

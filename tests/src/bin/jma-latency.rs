//! `jma-latency [--rounds R]`: how long from JMA's feed answering a document to the signed
//! alert on the broker. A local feed server (as in the e2e tests) serves JMA's 大津波警報
//! sample for 大阪府, made live and fresh with a new EventID each round; the controller polls it
//! every second; an MQTT subscriber of the ward stamps the alert's arrival. The time runs from
//! the feed server finishing the document's response to that arrival (so the poll interval is
//! not in it). Each round then withdraws the event (取消) and waits for the clear.
//!
//! stderr: each round; the time one `jma::read` + `decide` of the document takes in this
//! process, to compare hosts by. Last line `jma-latency rounds=R p50_ms=.. p99_ms=.. max_ms=..`.

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use e2e::feed::FeedServer;
use e2e::fleet::{percentile, register, start_controller, toml_value};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

const WARD: &str = "bench";
/// Set when the rounds are over: the controller stopping then is not worth a line.
static DONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
const SAMPLE: &str = "32-39_12_03_250206_VTSE51.xml";

fn main() -> anyhow::Result<()> {
    e2e::fleet::binaries_beside_me()?;
    let mut rounds = 10usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rounds" => rounds = args.next().context("--rounds N")?.parse()?,
            _ => bail!("usage: jma-latency [--rounds R]"),
        }
    }
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/jma");
    let sample = std::fs::read_to_string(samples.join(SAMPLE))
        .with_context(|| format!("JMA sample {SAMPLE} in {}", samples.display()))?
        .replace("<Status>訓練</Status>", "<Status>通常</Status>");

    let dir = tempfile::tempdir()?;
    let server = FeedServer::start();
    let config = dir.path().join("controller.toml");
    std::fs::write(
        &config,
        format!(
            "[alerts.jma.areas]\nwards = []\ntsunami_region = [{{ code = \"510\", wards = [\"{WARD}\"] }}]\n\n[alerts.jma.feeds]\nurls = [\"{}\"]\ninterval_secs = 1\n",
            server.url
        ),
    )?;
    let (_controller, data_dir, endpoints) =
        start_controller(dir.path(), None, &["--config", config.to_str().unwrap()])?;
    let configs = dir.path().join("players");
    register(&data_dir, "bench", WARD, 1, &configs)?;
    let observer_id = "bench-00001";
    let password = toml_value(&configs.join(format!("{observer_id}.toml")), "password")?;
    let mqtt = endpoints["mqtt"].as_str().context("mqtt endpoint")?;
    let (host, port) = mqtt
        .trim_start_matches("mqtt://")
        .rsplit_once(':')
        .context("host:port")?;

    let (tx, arrivals) = mpsc::channel::<(String, Instant)>();
    let mut options = MqttOptions::new(observer_id, host, port.parse::<u16>()?);
    options.set_credentials(observer_id, &password);
    options.set_max_packet_size(1 << 20, 1 << 20);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::spawn(move || {
        runtime.block_on(async move {
            let (client, mut events) = AsyncClient::new(options, 100);
            loop {
                match events.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        let _ = client
                            .subscribe(format!("signage/v1/alerts/ward/{WARD}/+"), QoS::AtLeastOnce)
                            .await;
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let id = p.topic.rsplit('/').next().unwrap_or_default().to_string();
                        if !p.payload.is_empty() {
                            let _ = tx.send((id, Instant::now()));
                        }
                    }
                    Ok(_) => {}
                    // The rounds then time out and say so.
                    Err(e) => {
                        if !DONE.load(std::sync::atomic::Ordering::Relaxed) {
                            eprintln!("observer: {e}; stopped");
                        }
                        return;
                    }
                }
            }
        });
    });

    let mut latencies = Vec::new();
    for round in 0..rounds {
        let event = format!("2026{round:010}");
        let issue = sample.replace(
            "<EventID>20160901071000</EventID>",
            &format!("<EventID>{event}</EventID>"),
        );
        let issue =
            jma::shift::report_at(&issue, chrono::Utc::now()).map_err(anyhow::Error::msg)?;
        let index = server.publish(issue);
        let (id, arrived) = arrivals
            .recv_timeout(Duration::from_secs(30))
            .context("no alert on the broker within 30 s")?;
        let served = server.served_at.lock().unwrap()[index].context("document not served")?;
        let ms = arrived.duration_since(served).as_secs_f64() * 1000.0;
        eprintln!("round {round}: {id} {ms:.1} ms");
        latencies.push(ms);
        // Withdrawn: the clear arrives on the same topic.
        let withdraw = sample
            .replace(
                "<EventID>20160901071000</EventID>",
                &format!("<EventID>{event}</EventID>"),
            )
            .replace("<InfoType>発表</InfoType>", "<InfoType>取消</InfoType>");
        server.publish(
            jma::shift::report_at(&withdraw, chrono::Utc::now()).map_err(anyhow::Error::msg)?,
        );
        loop {
            let (cleared, _) = arrivals
                .recv_timeout(Duration::from_secs(30))
                .context("no clear within 30 s")?;
            if cleared == id {
                break;
            }
        }
    }

    // The host's speed: reading and deciding the document in this process.
    let doc = jma::shift::report_at(&sample, chrono::Utc::now()).map_err(anyhow::Error::msg)?;
    let areas = jma::areas::AreaCodes::default();
    let policy = jma::decide::Policy::default();
    let started = Instant::now();
    let n = 20;
    for _ in 0..n {
        let read = jma::read(doc.as_bytes()).map_err(|e| anyhow::anyhow!("{e}"))?;
        std::hint::black_box(jma::decide::decide(
            &read,
            &areas,
            &policy,
            chrono::Utc::now(),
        ));
    }
    eprintln!(
        "one jma::read + decide of the {} KB document on this machine: {:.2} ms",
        doc.len() / 1024,
        started.elapsed().as_secs_f64() * 1000.0 / n as f64
    );
    DONE.store(true, std::sync::atomic::Ordering::Relaxed);
    latencies.sort_by(f64::total_cmp);
    println!(
        "jma-latency rounds={rounds} p50_ms={:.1} p99_ms={:.1} max_ms={:.1}",
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        latencies.last().copied().unwrap_or_default()
    );
    Ok(())
}

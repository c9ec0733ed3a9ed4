//! 待たない窓口 on a real controller: counts that players send (test MQTT clients logged in as
//! registered players) become crowding bands for visitors with no login; a head count appears
//! only from the configured minimum up, rounded; open data comes as JSON and CSV with caching
//! headers; a live alert for a ward replaces its page; and for a minute at 200 requests a
//! second from ten loopback addresses every request is answered, while an eleventh address
//! that floods is refused with `Retry-After` and staff's API keeps answering.

use std::time::{Duration, Instant};

use chrono::Utc;
use e2e::fake_player::{FakePlayer, zone_record};
use e2e::{Broker, Controller, player_password, wait_until};
use serde_json::{Value, json};

fn public(ctl: &Controller) -> Value {
    let (status, body) = ctl.request_as(None, "GET", "/api/v1/public/wait", None);
    assert_eq!(status, 200, "{body}");
    body
}

fn area<'a>(data: &'a Value, ward: &str) -> Option<&'a Value> {
    data["wards"]
        .as_array()?
        .iter()
        .find(|w| w["ward"] == ward)?
        .get("areas")?
        .get(0)
}

#[test]
fn visitors_see_bands_not_small_counts_and_an_alert_takes_over() {
    let dir = tempfile::tempdir().unwrap();
    let mut ctl = Controller::start(dir.path(), Broker::Embedded);
    let kita = ctl.add_player("kita-1f", "kita", 10);
    let naniwa = ctl.add_player("naniwa-1f", "naniwa", 10);
    let kita = FakePlayer::connect(&ctl, "kita-1f", &player_password(&kita));
    let naniwa = FakePlayer::connect(&ctl, "naniwa-1f", &player_password(&naniwa));
    // Three people at Kita's counter: quiet, and too few to count in public.
    let sent = zone_record(1, "queue", 3);
    let tokyo_hour = |t: chrono::DateTime<Utc>| -> u64 {
        (t + chrono::Duration::hours(9))
            .format("%H")
            .to_string()
            .parse()
            .unwrap()
    };
    let sent_hour = tokyo_hour(sent.start);
    kita.expect_counts_acked(&[sent]);
    naniwa.expect_counts_acked(&[zone_record(1, "queue", 17)]);

    wait_until(
        Duration::from_secs(60),
        "both areas in the snapshot",
        || {
            let data = public(&ctl);
            area(&data, "kita").is_some() && area(&data, "naniwa").is_some()
        },
    );
    let data = public(&ctl);
    let quiet = area(&data, "kita").unwrap();
    assert_eq!(quiet["band"], "quiet", "{data}");
    assert_eq!(quiet["people"], Value::Null, "3 people are never published");
    let busy = area(&data, "naniwa").unwrap();
    assert_eq!(busy["band"], "busy");
    assert_eq!(busy["people"], 15, "17 rounded down to 5");
    assert_eq!(data["license"], "CC BY 4.0");
    let kita_ward = data["wards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["ward"] == "kita")
        .unwrap();
    assert_eq!(kita_ward["names"]["ja"], "北区");
    assert_eq!(kita_ward["names"]["en"], "Kita Ward");
    assert!(!data.to_string().contains("\"people\":3"));

    // Open data: caching headers, revalidation, CSV.
    let (status, body, headers) = ctl.get_anonymous("/api/v1/public/wait", &[]);
    assert_eq!(status, 200);
    assert!(!body.is_empty());
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert!(header("cache-control").contains("max-age"), "{headers:?}");
    assert_eq!(header("access-control-allow-origin"), "*");
    let etag = header("etag");
    assert!(etag.starts_with('"'), "{headers:?}");
    let (status, _, _) = ctl.get_anonymous("/api/v1/public/wait", &[("If-None-Match", &etag)]);
    assert_eq!(status, 304);
    let (status, csv, _) = ctl.get_anonymous("/api/v1/public/wait.csv", &[]);
    assert_eq!(status, 200);
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.starts_with("ward,area,band,people,"), "{csv}");
    assert!(csv.contains("naniwa,naniwa-1f.queue,busy,15,"), "{csv}");
    assert!(csv.contains("kita,kita-1f.queue,quiet,,"), "{csv}");

    // A live alert for Kita replaces Kita's page, and only Kita's.
    let first = ctl.token_for("disaster");
    let second = ctl.token_for("disaster");
    let (status, alert) = ctl.request_as(
        Some(&first),
        "POST",
        "/api/v1/alerts",
        Some(
            &json!({"template": {"kind": "earthquake"}, "placeholders": {"area": "北区"},
                     "targets": [{"kind": "ward", "id": "kita"}], "status": "Actual"}),
        ),
    );
    assert!(status == 200 || status == 201, "{alert}");
    let id = alert["id"].as_str().unwrap().to_owned();
    let (status, answer) = ctl.request_as(
        Some(&second),
        "POST",
        &format!("/api/v1/alerts/{id}/confirm"),
        None,
    );
    assert_eq!(status, 200, "{answer}");
    wait_until(Duration::from_secs(60), "the alert on Kita's page", || {
        let data = public(&ctl);
        data["wards"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["ward"] == "kita" && w["alert"]["id"] == id.as_str())
    });
    let data = public(&ctl);
    let ward = |name: &str| {
        data["wards"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["ward"] == name)
            .unwrap()
            .clone()
    };
    assert!(
        ward("kita")["alert"]["headlines"]["ja"]
            .as_str()
            .unwrap()
            .contains("地震"),
        "{data}"
    );
    assert_eq!(ward("naniwa")["alert"], Value::Null);

    // The usual hours come from the history. Kita opens all of today (whatever day and hour
    // the test runs), and a restarted controller reads the history at once.
    let today = e2e::tokyo_date(0);
    let (status, calendar) = ctl.get("/api/v1/calendar");
    assert_eq!(status, 200);
    let mut calendar = calendar;
    calendar["wards"] = json!([{"ward": "kita", "open": [today],
        "dayparts": [{"name": "開庁時間", "start": "00:00:00", "end": "23:59:00"}]}]);
    ctl.put("/api/v1/calendar", calendar);
    ctl.restart();
    wait_until(
        Duration::from_secs(60),
        "today's usual hours for Kita",
        || {
            let data = public(&ctl);
            area(&data, "kita").is_some_and(|a| {
                a["hours"].as_array().is_some_and(|h| {
                    h.iter()
                        .any(|x| x["hour"] == sent_hour && x["band"] == "quiet")
                })
            })
        },
    );
    let data = public(&ctl);
    let kita = area(&data, "kita").unwrap();
    assert_eq!(kita["hours"].as_array().unwrap().len(), 24, "{kita}");
    // The one hour with history is the best, unless it has passed since.
    if tokyo_hour(Utc::now()) == sent_hour {
        assert_eq!(kita["best_hour"], sent_hour, "{kita}");
    }
    assert_eq!(kita["busy_hours"], json!([]), "a quiet hour is not busy");

    // The page itself needs no login and is served with its own policy.
    let (status, page, headers) = ctl.get_anonymous("/wait", &[]);
    assert_eq!(status, 200);
    assert!(String::from_utf8(page).unwrap().contains("待たない窓口"));
    assert!(
        headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("content-security-policy")
                && v.contains("script-src 'self'")),
        "{headers:?}"
    );
}

/// One keep-alive HTTP/1.1 connection from a chosen loopback address.
struct Client {
    stream: tokio::io::BufReader<tokio::net::TcpStream>,
}

impl Client {
    async fn connect(from: [u8; 4], to: std::net::SocketAddr) -> std::io::Result<Client> {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind((std::net::Ipv4Addr::from(from), 0).into())?;
        let stream = socket.connect(to).await?;
        stream.set_nodelay(true)?;
        Ok(Client {
            stream: tokio::io::BufReader::new(stream),
        })
    }

    /// The status of one GET, its `Retry-After`, after reading the whole answer.
    async fn get(&mut self, path: &str) -> std::io::Result<(u16, Option<String>)> {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
        let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
        self.stream.get_mut().write_all(request.as_bytes()).await?;
        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
        let (mut length, mut retry) = (0usize, None);
        loop {
            line.clear();
            self.stream.read_line(&mut line).await?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    "retry-after" => retry = Some(value.trim().to_owned()),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).await?;
        Ok((status, retry))
    }
}

#[derive(Default, Debug)]
struct Tally {
    ok: u64,
    refused: u64,
    refused_without_retry_after: u64,
    other: u64,
    latencies_us: Vec<u64>,
}

/// Sends `per_second` requests a second for `seconds` from `from`.
async fn visitor(
    from: [u8; 4],
    to: std::net::SocketAddr,
    per_second: u32,
    seconds: u64,
) -> std::io::Result<Tally> {
    let mut client = Client::connect(from, to).await?;
    let mut tally = Tally::default();
    let mut tick = tokio::time::interval(Duration::from_secs(1) / per_second);
    let end = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < end {
        tick.tick().await;
        let start = Instant::now();
        let (status, retry) = client.get("/api/v1/public/wait").await?;
        tally.latencies_us.push(start.elapsed().as_micros() as u64);
        match status {
            200 => tally.ok += 1,
            429 if retry.is_some() => tally.refused += 1,
            429 => tally.refused_without_retry_after += 1,
            _ => tally.other += 1,
        }
    }
    Ok(tally)
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[test]
fn the_page_stays_responsive_under_load_with_its_own_rate_limit() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = Controller::start(dir.path(), Broker::Embedded);
    let to: std::net::SocketAddr = ctl.http.trim_start_matches("http://").parse().unwrap();
    let seconds = 60;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (visitors, flood, health) = runtime.block_on(async {
        // Ten visitors' addresses at 20 requests a second each: 200 a second in all.
        let visitors: Vec<_> = (2..12u8)
            .map(|n| tokio::spawn(visitor([127, 0, 0, n], to, 20, seconds)))
            .collect();
        // One address flooding at 100 a second.
        let flood = tokio::spawn(visitor([127, 0, 0, 20], to, 100, seconds));
        // Staff's API through it all.
        let staff = tokio::spawn(async move {
            let mut answered = 0;
            let mut client = Client::connect([127, 0, 0, 30], to).await?;
            let mut second = tokio::time::interval(Duration::from_secs(1));
            for _ in 0..seconds {
                second.tick().await;
                if client.get("/api/v1/health").await?.0 == 200 {
                    answered += 1;
                }
            }
            std::io::Result::Ok(answered)
        });
        let mut all = Vec::new();
        for v in visitors {
            all.push(
                v.await
                    .unwrap()
                    .expect("a visitor's requests were answered"),
            );
        }
        (
            all,
            flood.await.unwrap().expect("the flood was answered"),
            staff
                .await
                .unwrap()
                .expect("staff's requests were answered"),
        )
    });
    let mut latencies: Vec<u64> = visitors
        .iter()
        .flat_map(|t| t.latencies_us.iter().copied())
        .collect();
    latencies.sort_unstable();
    let ok: u64 = visitors.iter().map(|t| t.ok).sum();
    let refused: u64 = visitors.iter().map(|t| t.refused).sum();
    eprintln!(
        "public page load: {} requests from 10 addresses in {seconds} s: {ok} answered 200, \
         {refused} refused; latency p50 {} us, p99 {} us, max {} us; the flooding address: \
         {} answered, {} refused with Retry-After; staff health answered {health}/{seconds}",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().unwrap(),
        flood.ok,
        flood.refused,
    );
    for t in &visitors {
        assert_eq!(t.other + t.refused_without_retry_after, 0, "{t:?}");
        // Each visitor stays within its rate: at most a few requests meet an empty bucket.
        assert!(t.refused * 100 <= t.ok, "{t:?}");
    }
    assert!(ok >= 10 * 20 * (seconds - 2), "{ok} answered");
    assert_eq!(
        flood.other + flood.refused_without_retry_after,
        0,
        "{flood:?}"
    );
    assert!(
        flood.refused > flood.ok,
        "the flood is mostly refused: {flood:?}"
    );
    assert_eq!(health, seconds, "staff's API answered every second");
}

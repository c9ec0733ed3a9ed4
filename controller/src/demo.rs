//! `signage-controller demo seed`: sample content made by the project itself, created through
//! the HTTP API exactly as staff would (so the seed also exercises upload, validation and
//! scheduling). Images are generated here (a small PNG encoder, no image library), a short
//! video with GStreamer when it is installed, and text slides in Japanese and English about
//! ward services. Objects have fixed ids and are written with PUT, so seeding twice is
//! harmless.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::config::ControllerConfig;
use crate::serve::Endpoints;

/// Encodes an RGB image (`pixels` row-major, 3 bytes per pixel) as PNG, using stored
/// (uncompressed) deflate blocks: larger files than a real compressor makes, but exact and
/// dependency-free.
pub fn png(width: u32, height: u32, pixels: &[u8]) -> Vec<u8> {
    assert_eq!(
        pixels.len(),
        (width * height * 3) as usize,
        "RGB pixel count"
    );
    let mut raw = Vec::with_capacity(pixels.len() + height as usize);
    for row in pixels.chunks((width * 3) as usize) {
        raw.push(0); // filter: none
        raw.extend_from_slice(row);
    }
    let mut zlib = vec![0x78, 0x01];
    let mut blocks = raw.chunks(65_535).peekable();
    while let Some(block) = blocks.next() {
        zlib.push(u8::from(blocks.peek().is_none()));
        let len = block.len() as u16;
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    if raw.is_empty() {
        zlib.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    zlib.extend_from_slice(&adler32(&raw).to_be_bytes());

    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in bytes {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

/// A poster-like test image: a vertical gradient between two colours with a light band.
pub fn poster(width: u32, height: u32, top: [u8; 3], bottom: [u8; 3]) -> Vec<u8> {
    let mut pixels = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        let t = y as f32 / height.max(1) as f32;
        let band = (y * 10 / height.max(1)) == 7;
        for x in 0..width {
            for c in 0..3 {
                let v = f32::from(top[c]) * (1.0 - t) + f32::from(bottom[c]) * t;
                let stripe = if band && (x / 40) % 2 == 0 { 60.0 } else { 0.0 };
                pixels.push((v + stripe).min(255.0) as u8);
            }
        }
    }
    png(width, height, &pixels)
}

struct Api {
    base: String,
    authorization: String,
    agent: ureq::Agent,
}

impl Api {
    fn send(&self, method: &str, path: &str, body: &Value) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let request = match method {
            "PUT" => self.agent.put(&url),
            _ => self.agent.post(&url),
        }
        .header("Authorization", &self.authorization);
        let mut response = request
            .send_json(body)
            .with_context(|| format!("{method} {url}"))?;
        let status = response.status().as_u16();
        let value: Value = response.body_mut().read_json().unwrap_or(Value::Null);
        if status >= 400 {
            bail!("{method} {path} answered {status}: {value}");
        }
        Ok(value)
    }

    fn upload(&self, name: &str, bytes: &[u8]) -> anyhow::Result<String> {
        let boundary = "signage-demo-boundary-7f3a";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let url = format!("{}/api/v1/content", self.base);
        let mut response = self
            .agent
            .post(&url)
            .header("Authorization", &self.authorization)
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .send(&body[..])
            .with_context(|| format!("POST {url}"))?;
        let status = response.status().as_u16();
        let value: Value = response.body_mut().read_json().unwrap_or(Value::Null);
        if status >= 400 {
            bail!("uploading {name} answered {status}: {value}");
        }
        value["id"]
            .as_str()
            .map(str::to_string)
            .context("upload response without id")
    }
}

/// A 5-second test video made with GStreamer, if it and an H.264 encoder are installed.
fn make_video(dir: &Path) -> Option<Vec<u8>> {
    let out = dir.join("demo-video.mp4");
    let status = Command::new("gst-launch-1.0")
        .args([
            "-q",
            "videotestsrc",
            "num-buffers=150",
            "pattern=smpte",
            "!",
            "video/x-raw,width=640,height=360,framerate=30/1",
            "!",
            "x264enc",
            "!",
            "mp4mux",
            "!",
            "filesink",
        ])
        .arg(format!("location={}", out.display()))
        .output()
        .ok()?;
    if !status.status.success() {
        return None;
    }
    std::fs::read(&out).ok()
}

fn colours(text: &str, background: &str) -> Value {
    json!({ "text": text, "background": background })
}

pub async fn seed(config: &ControllerConfig, url: Option<String>) -> anyhow::Result<()> {
    let base = match url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => {
            Endpoints::read(&config.data_dir)
                .with_context(|| {
                    format!(
                        "no running controller found in {} (start `signage-controller serve` first or pass --url)",
                        config.data_dir.display()
                    )
                })?
                .http
        }
    };
    let work = config.data_dir.join("demo-build");
    std::fs::create_dir_all(&work)?;
    // The seed acts through the API like any automation, with a content token of its own; an
    // approver's, so that its content goes live without waiting for approval.
    let token = crate::broker::random_token();
    crate::store::Store::open(&config.data_dir)
        .await?
        .create_token(
            &token,
            &crate::store::NewToken {
                role: crate::auth::Role::Approver,
                label: "demo seed".into(),
                created_by: "demo".into(),
                expires_at: None,
            },
        )
        .await?;
    tokio::task::spawn_blocking(move || seed_blocking(&base, &token, &work)).await?
}

fn seed_blocking(base: &str, token: &str, work: &Path) -> anyhow::Result<()> {
    let api = Api {
        base: base.to_string(),
        authorization: format!("Bearer {token}"),
        agent: ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into(),
    };
    let w = 640;
    let h = 360;
    let welcome = api.upload("welcome.png", &poster(w, h, [0, 51, 102], [0, 120, 180]))?;
    let kita = api.upload("kita.png", &poster(w, h, [120, 20, 40], [230, 120, 60]))?;
    let chuo = api.upload("chuo.png", &poster(w, h, [10, 90, 40], [120, 200, 90]))?;
    let video = match make_video(work) {
        Some(bytes) => Some(api.upload("demo-video.mp4", &bytes)?),
        None => {
            eprintln!("GStreamer with x264enc is not available: the demo has no video");
            None
        }
    };
    let dark = colours("#ffffff", "#003366");
    let light = colours("#1a1a1a", "#fff8e1");
    let slides = [
        (
            "online-procedures",
            json!({
                "ja": {"title": "オンライン手続き", "body": "住民票の写しや各種証明書の請求は、スマートフォンから24時間申請できます。窓口に並ぶ必要はありません。"},
                "ja-easy": {"title": "インターネットで てつづき", "body": "スマートフォンで いつでも しんせい できます。"},
                "en": {"title": "Online procedures", "body": "Request a copy of your residence record and other certificates from your smartphone, 24 hours a day. No need to queue at the counter."}
            }),
            dark.clone(),
        ),
        (
            "opening-hours",
            json!({
                "ja": {"title": "窓口受付時間", "body": "平日 9:00〜17:30（土日・祝日・年末年始を除く）。毎週金曜日は一部の窓口を19:00まで延長しています。"},
                "en": {"title": "Opening hours", "body": "Weekdays 9:00-17:30 (closed on weekends, national holidays and over the New Year). Some counters stay open until 19:00 on Fridays."}
            }),
            light.clone(),
        ),
        (
            "my-number-card",
            json!({
                "ja": {"title": "マイナンバーカード", "body": "カードの受け取りは予約制です。予約はオンラインまたは2階の窓口で。"},
                "en": {"title": "My Number Card", "body": "Collecting your card requires a reservation: book online or at the 2nd-floor counter."}
            }),
            dark,
        ),
        (
            "after-hours",
            json!({
                "ja": {"title": "本日の受付は終了しました", "body": "オンライン手続きは24時間ご利用いただけます。"},
                "en": {"title": "Counters are closed for today", "body": "Online procedures are available 24 hours a day."}
            }),
            light,
        ),
    ];
    for (id, texts, colours) in &slides {
        api.send(
            "PUT",
            &format!("/api/v1/assets/{id}"),
            &json!({"kind": "text_slide", "texts": texts, "colours": colours}),
        )?;
    }
    api.send(
        "PUT",
        "/api/v1/assets/notice-ticker",
        &json!({"kind": "ticker", "texts": {
            "ja": "番号札をお取りになり、表示が出るまでお待ちください。 ・ 各種証明書はオンラインでも申請できます。",
            "en": "Please take a number ticket and wait until your number is shown. Certificates can also be requested online."
        }, "colours": colours("#ffffff", "#202020")}),
    )?;

    let item = |asset: &str, ms: Option<u64>| match ms {
        Some(ms) => json!({"asset": asset, "duration_ms": ms}),
        None => json!({"asset": asset}),
    };
    let mut welcome_items = vec![
        item(&welcome, Some(8_000)),
        item("online-procedures", Some(12_000)),
        item("opening-hours", Some(12_000)),
        item("my-number-card", Some(12_000)),
    ];
    if let Some(video) = &video {
        welcome_items.push(item(video, None));
    }
    let playlists = [
        ("welcome-loop", welcome_items),
        (
            "kita-loop",
            vec![
                item(&kita, Some(8_000)),
                item("online-procedures", Some(12_000)),
            ],
        ),
        (
            "chuo-loop",
            vec![
                item(&chuo, Some(8_000)),
                item("opening-hours", Some(12_000)),
            ],
        ),
        ("ticker", vec![item("notice-ticker", Some(30_000))]),
        (
            "fallback-loop",
            vec![
                item("online-procedures", Some(15_000)),
                item("opening-hours", Some(15_000)),
            ],
        ),
        ("after-hours-loop", vec![item("after-hours", Some(20_000))]),
        // Audience rules: a crowd sees the online procedures, an empty hall an attract loop.
        ("crowd-loop", vec![item("online-procedures", Some(20_000))]),
        (
            "attract-loop",
            vec![
                item(&welcome, Some(6_000)),
                item("my-number-card", Some(10_000)),
            ],
        ),
    ];
    for (id, items) in &playlists {
        api.send(
            "PUT",
            &format!("/api/v1/playlists/{id}"),
            &json!({"items": items}),
        )?;
    }
    let with_ticker = |main: &str| {
        json!({"canvas": {"width": 1920, "height": 1080}, "zones": [
            {"id": "main", "x": 0, "y": 0, "width": 1920, "height": 960, "z": 0, "playlist": main},
            {"id": "ticker", "x": 0, "y": 960, "width": 1920, "height": 120, "z": 1, "playlist": "ticker"}
        ]})
    };
    let full = |playlist: &str| {
        json!({"canvas": {"width": 1920, "height": 1080}, "zones": [
            {"id": "main", "x": 0, "y": 0, "width": 1920, "height": 1080, "playlist": playlist}
        ]})
    };
    for (id, layout) in [
        ("office-hours", with_ticker("welcome-loop")),
        ("kita-office", with_ticker("kita-loop")),
        ("chuo-office", with_ticker("chuo-loop")),
        ("after-hours", full("after-hours-loop")),
        ("fallback", full("fallback-loop")),
        ("crowd-online", with_ticker("crowd-loop")),
        ("attract", full("attract-loop")),
    ] {
        api.send("PUT", &format!("/api/v1/layouts/{id}"), &layout)?;
    }
    api.send(
        "PUT",
        "/api/v1/schedule/fallback",
        &json!({"layout": "fallback"}),
    )?;
    let start = "2026-01-01";
    let weekdays = json!(["Mon", "Tue", "Wed", "Thu", "Fri"]);
    let entries = [
        json!({"id": "office-hours", "targets": [{"kind": "all"}], "dates": {"start": start},
               "weekdays": weekdays, "dayparts": [{"start": "08:30:00", "end": "17:30:00"}],
               "layout": "office-hours"}),
        json!({"id": "kita-lunch", "targets": [{"kind": "ward", "id": "kita"}], "dates": {"start": start},
               "weekdays": weekdays, "dayparts": [{"start": "12:00:00", "end": "13:00:00"}],
               "priority": 10, "layout": "kita-office"}),
        json!({"id": "chuo-lunch", "targets": [{"kind": "ward", "id": "chuo"}], "dates": {"start": start},
               "weekdays": weekdays, "dayparts": [{"start": "12:00:00", "end": "13:00:00"}],
               "priority": 10, "layout": "chuo-office"}),
        json!({"id": "after-hours", "targets": [{"kind": "all"}], "dates": {"start": start},
               "dayparts": [{"start": "17:30:00", "end": "08:30:00"}], "layout": "after-hours"}),
        // Evaluated on each player with a camera (`synthetic:crowd` in scripts/run.sh), with
        // hysteresis and a minimum display time; without a camera they never apply.
        json!({"id": "crowd-online", "targets": [{"kind": "all"}], "dates": {"start": start},
               "occupancy": {"at_least": 10}, "priority": 50, "layout": "crowd-online"}),
        json!({"id": "attract", "targets": [{"kind": "all"}], "dates": {"start": start},
               "occupancy": {"below": 1}, "priority": 40, "layout": "attract"}),
    ];
    for entry in &entries {
        let id = entry["id"].as_str().expect("id");
        api.send("PUT", &format!("/api/v1/schedule/entries/{id}"), entry)?;
    }
    println!(
        "demo seeded: {} images{}, 5 text assets, {} playlists, 7 layouts, {} schedule entries; see {base}/api/v1/schedule",
        3,
        if video.is_some() { " and a video" } else { "" },
        playlists.len(),
        entries.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_checksums_match_known_values() {
        assert_eq!(crc32(b"IEND"), 0xae42_6082);
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
        let image = png(2, 1, &[255, 0, 0, 0, 255, 0]);
        assert!(image.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(image.ends_with(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xae, 0x42, 0x60, 0x82]));
    }
}

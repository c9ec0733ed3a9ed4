//! Rendering end to end: a headless player draws a two-zone layout (an uploaded solid-colour
//! image and a Japanese text slide) made through the controller's content API; the controller's
//! `GET /api/v1/players/{id}/screenshot` returns the frame it composed, whose pixels show each
//! zone's colour and glyphs in the text zone; its health reaches `GET /api/v1/players`.

use std::time::Duration;

use e2e::{Broker, Controller, start_player, wait_until};
use serde_json::{Value, json};

const WIDTH: u32 = 640;
const HEIGHT: u32 = 360;
/// The image's colour (a solid PNG filling the left zone exactly).
const RED: [u8; 3] = [220, 30, 30];
/// The text slide's background; its text is white.
const NAVY: [u8; 3] = [0x00, 0x33, 0x66];

/// A solid-colour RGB PNG.
fn solid_png(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().unwrap();
        let data: Vec<u8> = (0..width * height).flat_map(|_| rgb).collect();
        writer.write_image_data(&data).unwrap();
    }
    out
}

/// A decoded picture, RGB(A) bytes.
struct Picture {
    width: u32,
    height: u32,
    channels: usize,
    data: Vec<u8>,
}

impl Picture {
    fn decode(bytes: &[u8]) -> Picture {
        let mut decoder = png::Decoder::new(bytes);
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder.read_info().expect("a PNG header");
        let mut data = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut data).expect("PNG data");
        data.truncate(info.buffer_size());
        let channels = match info.color_type {
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
            other => panic!("unexpected PNG colour type {other:?}"),
        };
        Picture {
            width: info.width,
            height: info.height,
            channels,
            data,
        }
    }

    fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y as usize * self.width as usize + x as usize) * self.channels;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }

    /// Pixels of the rectangle as (close to `colour`, bright like white text) counts.
    fn census(&self, x0: u32, x1: u32, y0: u32, y1: u32, colour: [u8; 3]) -> (usize, usize) {
        let (mut close, mut bright) = (0, 0);
        for y in y0..y1 {
            for x in x0..x1 {
                let p = self.pixel(x, y);
                if near(p, colour) {
                    close += 1;
                }
                if p.iter().all(|&c| c > 160) {
                    bright += 1;
                }
            }
        }
        (close, bright)
    }
}

fn near(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(&x, y)| x.abs_diff(y) <= 24)
}

fn screenshot(controller: &Controller, player: &str) -> (u16, Vec<u8>) {
    let (status, body, _) = controller.get_bytes(
        &format!("/api/v1/players/{player}/screenshot?max_width={WIDTH}"),
        None,
    );
    (status, body)
}

fn error_of(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .map(|v| v["error"].as_str().unwrap_or_default().to_string())
        .unwrap_or_else(|_| String::from_utf8_lossy(body).into_owned())
}

#[test]
fn a_headless_player_renders_two_zones_and_the_controller_sees_its_screen() {
    let dir = tempfile::tempdir().unwrap();
    let controller = Controller::start(dir.path(), Broker::Embedded);
    let config = controller.add_player("render-1", "kita", 5);
    let mut player =
        e2e::start_rendering_player(dir.path(), &config, "render-1", (WIDTH, HEIGHT), 10);
    let plain_config = controller.add_player("plain-1", "kita", 5);
    let _plain = start_player(dir.path(), &plain_config, "plain-1");
    controller.add_player("never-1", "kita", 5);

    // The left zone is 320x360: an image of the same shape fills it exactly.
    let (status, uploaded) = controller.upload("red.png", &solid_png(32, 36, RED));
    assert_eq!(status, 201, "{uploaded}");
    let image = uploaded["id"].as_str().unwrap().to_string();
    controller.put(
        "/api/v1/assets/notice",
        json!({"kind": "text_slide",
               "texts": {"ja": {"title": "ようこそ北区役所へ", "body": "窓口は二階です"}},
               "colours": {"text": "#ffffff", "background": "#003366"}}),
    );
    controller.put(
        "/api/v1/playlists/left",
        json!({"items": [{"asset": image}]}),
    );
    controller.put(
        "/api/v1/playlists/right",
        json!({"items": [{"asset": "notice"}]}),
    );
    controller.put(
        "/api/v1/layouts/two",
        json!({"canvas": {"width": WIDTH, "height": HEIGHT}, "zones": [
            {"id": "picture", "x": 0, "y": 0, "width": WIDTH / 2, "height": HEIGHT, "playlist": "left"},
            {"id": "text", "x": WIDTH / 2, "y": 0, "width": WIDTH / 2, "height": HEIGHT, "playlist": "right"}
        ]}),
    );
    controller.put("/api/v1/schedule/fallback", json!({"layout": "two"}));

    // Health arrives (every 2 s here) with frames counted.
    let mut last_health = Value::Null;
    wait_until(
        Duration::from_secs(30),
        "the rendering player's health with frames rendered",
        || {
            let p = controller.player("render-1").unwrap_or_default();
            last_health = p["health"].clone();
            p["online"] == true && last_health["frames_rendered"].as_u64().unwrap_or(0) > 0
        },
    );
    assert_eq!(last_health["pipeline_state"], "playing", "{last_health}");
    assert!(
        last_health["disk_free_bytes"].as_u64().unwrap_or(0) > 0,
        "{last_health}"
    );
    assert_eq!(controller.player("plain-1").unwrap()["health"], Value::Null);

    // The screenshot shows both zones once both items have faded in.
    let mut last = String::new();
    let mut picture = None;
    let waited = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_until(
            Duration::from_secs(30),
            "a screenshot showing both zones",
            || {
                let (status, body) = screenshot(&controller, "render-1");
                if status != 200 {
                    last = format!("{status}: {}", error_of(&body));
                    return false;
                }
                let shot = Picture::decode(&body);
                let (w, h) = (shot.width, shot.height);
                let left = shot.census(w / 16, w / 2 - w / 16, h / 8, h - h / 8, RED);
                let right = shot.census(w / 2 + w / 32, w - w / 32, 0, h, NAVY);
                let left_area = ((w / 2 - w / 8) * (h - h / 4)) as usize;
                let right_area = ((w / 2 - w / 16) * h) as usize;
                last = format!(
                    "{w}x{h}: left {}/{left_area} red, right {}/{right_area} navy and {} bright",
                    left.0, right.0, right.1
                );
                let ok = left.0 * 100 >= left_area * 95
                    && right.0 * 100 >= right_area * 50
                    && right.1 >= 50
                    && right.1 * 100 <= right_area * 40;
                if ok {
                    picture = Some(shot);
                }
                ok
            },
        )
    }));
    if waited.is_err() {
        player.kill();
        panic!(
            "no matching screenshot; last: {last}\nplayer log:\n{}",
            player.log()
        );
    }
    eprintln!("screenshot: {last}");
    let shot = picture.unwrap();
    if let Ok(keep) = std::env::var("E2E_KEEP_SCREENSHOT") {
        std::fs::write(keep, screenshot(&controller, "render-1").1).unwrap();
    }
    assert_eq!((shot.width, shot.height), (WIDTH, HEIGHT));
    // The glyphs sit in the text zone only: the red zone has no white.
    let (_, bright_left) = shot.census(0, WIDTH / 2, 0, HEIGHT, RED);
    assert_eq!(bright_left, 0);

    // A smaller picture on request, aspect kept.
    let (status, body, _) =
        controller.get_bytes("/api/v1/players/render-1/screenshot?max_width=320", None);
    assert_eq!(status, 200, "{}", error_of(&body));
    let small = Picture::decode(&body);
    assert_eq!((small.width, small.height), (320, 180));

    // Refusals say why.
    let (status, body) = screenshot(&controller, "nobody");
    assert_eq!(status, 404, "{}", error_of(&body));
    let (status, body) = screenshot(&controller, "never-1");
    assert_eq!(status, 409, "{}", error_of(&body));
    assert!(error_of(&body).contains("offline"), "{}", error_of(&body));
    wait_until(Duration::from_secs(20), "plain-1 online", || {
        controller.is_online("plain-1")
    });
    let (status, body) = screenshot(&controller, "plain-1");
    assert_eq!(status, 409, "{}", error_of(&body));
    assert!(
        error_of(&body).contains("does not render"),
        "{}",
        error_of(&body)
    );
    let (status, body, _) =
        controller.get_bytes("/api/v1/players/render-1/screenshot?max_width=0", None);
    assert_eq!(status, 400, "{}", error_of(&body));

    // Only the player itself may deliver a screenshot, and only one that was asked for.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!(
        "{}/api/v1/players/render-1/screenshot/0123abcd",
        controller.http
    );
    let png = solid_png(2, 2, RED);
    let status = agent
        .put(&url)
        .header("Content-Type", "image/png")
        .header("Authorization", "Basic cmVuZGVyLTE6d3Jvbmc=") // render-1:wrong
        .send(&png[..])
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(status, 401);
    let password = e2e::player_password(&config);
    let credentials = {
        use std::io::Write;
        let mut raw = Vec::new();
        write!(raw, "render-1:{password}").unwrap();
        base64_encode(&raw)
    };
    let status = agent
        .put(&url)
        .header("Content-Type", "image/png")
        .header("Authorization", format!("Basic {credentials}"))
        .send(&png[..])
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(status, 404, "no request 0123abcd is waiting");
}

/// Standard base64 with padding (enough for a header in a test).
fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

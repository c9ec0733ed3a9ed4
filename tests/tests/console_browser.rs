//! The web console in a real browser: a real controller, a rendering headless player and two
//! plain ones, accounts made with the documented CLI, and Debian's headless Chromium driven by
//! `tests/browser/console.mjs` (playwright-core). The script logs in, uploads an image,
//! schedules it for one player and watches that player's thumbnail turn to it, then runs the
//! alert steps (live alert, second-person confirmation, counter, cancel, drill). It also writes
//! screenshots of the main pages (to `docs/console/` with `CONSOLE_SHOTS=docs/console`).
//!
//! Chromium, Node.js and the script's npm packages come from `scripts/setup.sh`; when they are
//! missing this test fails and says so (CI installs them), it never skips.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use e2e::{Broker, Controller, bin, player_add};
use serde_json::json;

const WIDTH: u32 = 640;
const HEIGHT: u32 = 360;
const RENDERING: &str = "kita-1f-lobby";
const WARD: &str = "kita";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Node, Chromium and playwright-core, or a panic that says how to get them.
fn prerequisites() -> (PathBuf, PathBuf) {
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    let node_ok = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let script_dir = repo().join("tests/browser");
    let mut missing = Vec::new();
    if !node_ok {
        missing.push("Node.js (`node`, Debian package nodejs)".to_string());
    }
    if !chromium.exists() {
        missing.push(format!(
            "Chromium at {} (Debian package chromium)",
            chromium.display()
        ));
    }
    if !script_dir.join("node_modules/playwright-core").exists() {
        missing.push("playwright-core in tests/browser/node_modules (`npm ci` there)".to_string());
    }
    assert!(
        missing.is_empty(),
        "the console browser test needs {}: run `bash scripts/setup.sh` (it installs them)",
        missing.join(", ")
    );
    (chromium, script_dir)
}

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

/// `signage-controller user add NAME --role ROLE`: the generated password, or the one given
/// on standard input.
fn add_user(data_dir: &Path, name: &str, role: &str, password: Option<&str>) -> String {
    let mut cmd = Command::new(bin("signage-controller"));
    cmd.args(["user", "add", name, "--role", role, "--data-dir"])
        .arg(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if password.is_some() {
        cmd.arg("--password-stdin").stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().expect("run signage-controller user add");
    if let Some(password) = password {
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "user add {name} failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    match password {
        Some(p) => p.to_string(),
        None => stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix("password: "))
            .unwrap_or_else(|| panic!("no generated password in: {stdout}"))
            .trim()
            .to_string(),
    }
}

fn add_player(controller: &Controller, dir: &Path, id: &str, ward: &str) -> PathBuf {
    let out = dir.join(format!("{id}.toml"));
    player_add(
        &controller.data_dir,
        id,
        &["--ward", ward, "--group", "lobby"],
        &out,
        "keep_alive_secs = 5\n",
    );
    out
}

#[test]
fn staff_do_their_job_in_the_console_in_a_real_browser() {
    let (chromium, script_dir) = prerequisites();
    let dir = tempfile::tempdir().unwrap();
    let controller = Controller::start(dir.path(), Broker::Embedded);

    // Accounts as the README documents them: the first admin gets a generated password.
    let admin_password = add_user(&controller.data_dir, "admin.kita", "admin", None);
    let disaster_password = "second person checks 2";
    add_user(
        &controller.data_dir,
        "bousai.naka",
        "disaster",
        Some(disaster_password),
    );
    let (pr_password, approver_password) = ("posters every week 3", "section head approves 4");
    add_user(&controller.data_dir, "koho.kita", "pr", Some(pr_password));
    add_user(
        &controller.data_dir,
        "kacho.kita",
        "approver",
        Some(approver_password),
    );

    // Two screens in the ward that gets the alert (one draws, one follows without drawing)
    // and one elsewhere.
    let config = add_player(&controller, dir.path(), RENDERING, WARD);
    let _rendering =
        e2e::start_rendering_player(dir.path(), &config, RENDERING, (WIDTH, HEIGHT), 10);
    let plain = add_player(&controller, dir.path(), "kita-2f-window", WARD);
    let _plain = e2e::start_player(dir.path(), &plain, "kita-2f-window");
    let other = add_player(&controller, dir.path(), "naka-1f-lobby", "naka");
    let _other = e2e::start_player(dir.path(), &other, "naka-1f-lobby");
    // A counter camera in Chuo whose counts the public waiting page shows: a test MQTT client
    // logged in as that registered player sends 12 people (somewhat busy, published as 10).
    let counter = add_player(&controller, dir.path(), "chuo-counter", "chuo");
    let counter = e2e::fake_player::FakePlayer::connect(
        &controller,
        "chuo-counter",
        &e2e::player_password(&counter),
    );
    counter.expect_counts_acked(&[e2e::fake_player::zone_record(1, "queue", 12)]);
    // It goes on counting every 10 s, as a player does, for as long as the walk lasts.
    let (stop_counting, stopped) = std::sync::mpsc::channel::<()>();
    let counter_thread = std::thread::spawn(move || {
        let mut seq = 1;
        // Every 10 s until the walk ends (the sender is dropped or sends).
        while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
            stopped.recv_timeout(Duration::from_secs(10))
        {
            seq += 1;
            counter.send_counts(&[e2e::fake_player::zone_record(seq, "queue", 12)]);
        }
    });

    // What screens show before staff act: a navy welcome slide; and two entries for another
    // ward that collide (same priority, overlapping hours), for the calendar to flag.
    controller.put(
        "/api/v1/assets/welcome",
        json!({"kind": "text_slide",
               "texts": {"ja": {"title": "ようこそ北区役所へ", "body": "窓口は二階です"},
                         "en": {"title": "Welcome to Kita Ward Office", "body": "Counters on 2F"}},
               "colours": {"text": "#ffffff", "background": "#003366"}}),
    );
    controller.put(
        "/api/v1/playlists/welcome",
        json!({"items": [{"asset": "welcome"}]}),
    );
    controller.put(
        "/api/v1/layouts/welcome",
        json!({"canvas": {"width": 1920, "height": 1080}, "zones": [
            {"id": "main", "x": 0, "y": 0, "width": 1920, "height": 1080, "playlist": "welcome"}]}),
    );
    controller.put("/api/v1/schedule/fallback", json!({"layout": "welcome"}));
    let today = e2e::tokyo_date(0);
    for (id, from, until) in [
        ("naka-morning", "09:00:00", "12:00:00"),
        ("naka-noon", "11:00:00", "14:00:00"),
    ] {
        controller.put(
            &format!("/api/v1/schedule/entries/{id}"),
            json!({"targets": [{"kind": "ward", "id": "naka"}], "dates": {"start": today},
                   "dayparts": [{"start": from, "end": until}], "priority": 5, "layout": "welcome"}),
        );
    }

    // A JMA document the policy stages (記録的短時間大雨情報 for 大阪府), as if reported now.
    let staged = staged_jma_alert(&controller);

    let image = dir.path().join("red-poster.png");
    std::fs::write(&image, solid_png(64, 36, [220, 30, 30])).unwrap();
    let green = dir.path().join("green-poster.png");
    std::fs::write(&green, solid_png(64, 36, [30, 160, 60])).unwrap();
    // The committed pictures are refreshed on request (`CONSOLE_SHOTS=docs/console`); an
    // ordinary run writes them under target/ so it leaves the work tree clean.
    let shots = repo()
        .join(std::env::var("CONSOLE_SHOTS").unwrap_or_else(|_| "target/console-shots".into()));
    std::fs::create_dir_all(&shots).unwrap();
    // Outside the temporary directory, so it survives the failure it shows.
    let failure = repo().join("target/console-browser-failure.png");

    let mut child = Command::new("node")
        .arg(script_dir.join("console.mjs"))
        .current_dir(&script_dir)
        .env("CONSOLE_URL", &controller.http)
        .env("ADMIN_USER", "admin.kita")
        .env("ADMIN_PASSWORD", &admin_password)
        .env("DISASTER_USER", "bousai.naka")
        .env("DISASTER_PASSWORD", disaster_password)
        .env("PLAYER", RENDERING)
        .env("WARD", WARD)
        .env("WARD_SCREENS", "2")
        .env("PUBLIC_WARD", "chuo")
        .env("PR_USER", "koho.kita")
        .env("PR_PASSWORD", pr_password)
        .env("APPROVER_USER", "kacho.kita")
        .env("APPROVER_PASSWORD", approver_password)
        .env("IMAGE", &image)
        .env("GREEN_IMAGE", &green)
        .env("SHOTS_DIR", &shots)
        .env("CHROMIUM", &chromium)
        .env("FAILURE_SHOT", &failure)
        .env("STAGED_ALERT", staged.as_deref().unwrap_or(""))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start node");
    // The whole walk takes about a minute; a hung browser must not hang the suite.
    let deadline = Instant::now() + Duration::from_secs(420);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    drop(stop_counting);
    counter_thread.join().unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}{stderr}");
    let Some(status) = status else {
        panic!("the browser script did not finish within 7 minutes");
    };
    assert!(
        status.success(),
        "the browser walk failed (see above; the page at failure: {}).\ncontroller log:\n{}",
        failure.display(),
        controller
            .proc
            .log()
            .lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(stdout.contains("all steps passed"), "{stdout}");
    for page in [
        "screens",
        "screens-enrolment",
        "content",
        "schedule",
        "alerts",
        "flow",
        "audit",
        "users",
        "layout-editor",
        "changes",
    ] {
        assert!(
            shots.join(format!("{page}.png")).exists(),
            "no screenshot of {page}"
        );
    }

    // Independently of the page: with every alert cancelled, the API's screenshot of the
    // player is the approved green layout again.
    e2e::wait_until(
        Duration::from_secs(30),
        "the approved green back on screen",
        || {
            let (status, body, _) = controller.get_bytes(
                &format!("/api/v1/players/{RENDERING}/screenshot?max_width={WIDTH}"),
                None,
            );
            if status != 200 {
                return false;
            }
            let centre = centre_pixel(&body);
            centre[1] > 120 && centre[0] < 90 && centre[2] < 110
        },
    );
}

/// Posts JMA's record-rainfall sample for 大阪府, moved to now; the alert id it stages. Without
/// the shared samples the console's other steps still run (and this says so).
fn staged_jma_alert(controller: &Controller) -> Option<String> {
    let sample = repo().join("../shared/data/jma/18_01_01_100806_VPOA50.xml");
    let Ok(text) = std::fs::read_to_string(&sample) else {
        eprintln!(
            "SKIPPED the staged-alert steps: {} not found",
            sample.display()
        );
        return None;
    };
    let body = jma::shift::report_at(&text, chrono::Utc::now()).unwrap();
    let (_, answer) = controller.post_bytes(
        &controller.token,
        "/api/v1/jma",
        "application/xml",
        body.as_bytes(),
    );
    assert_eq!(answer["decision"], "staged", "{answer}");
    Some(answer["alert_id"].as_str().unwrap().to_string())
}

/// The RGB of a PNG's centre pixel.
fn centre_pixel(png_bytes: &[u8]) -> Vec<u8> {
    let mut decoder = png::Decoder::new(png_bytes);
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().unwrap();
    let mut data = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut data).unwrap();
    let channels = if info.color_type == png::ColorType::Rgba {
        4
    } else {
        3
    };
    let i = ((info.height / 2 * info.width + info.width / 2) as usize) * channels;
    data[i..i + 3].to_vec()
}

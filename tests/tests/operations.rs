//! What IT operators run it with: `/metrics` on a real controller with real players, checked
//! by Prometheus's own `promtool` (Debian's `prometheus` package, installed by the test
//! set-up), the shipped alert rules checked and unit-tested by it too, and JSON logs.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use e2e::{Broker, Controller, start_player, start_rendering_player, wait_until};

/// The value of the first sample whose line starts with `series` (name and labels).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

fn scrape(ctl: &Controller, token: Option<&str>) -> (u16, String, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = agent.get(format!("{}/metrics", ctl.http));
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let mut response = request.call().unwrap();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (
        response.status().as_u16(),
        kind,
        response.body_mut().read_to_string().unwrap_or_default(),
    )
}

fn promtool(args: &[&str], stdin: Option<&str>) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/monitoring"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus; scripts/setup.sh --tests installs it)");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn the_shipped_alert_rules_pass_promtool_and_their_unit_tests() {
    let (ok, said) = promtool(&["check", "rules", "alert-rules.yml"], None);
    assert!(ok, "{said}");
    let (ok, said) = promtool(&["test", "rules", "alert-rules.test.yml"], None);
    assert!(ok, "{said}");
    let dashboard: serde_json::Value = serde_json::from_slice(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../deploy/monitoring/grafana-dashboard.json"
        ))
        .unwrap(),
    )
    .unwrap();
    assert!(dashboard["panels"].as_array().unwrap().len() >= 8);
}

#[test]
fn metrics_describe_players_alerts_requests_and_queues_and_pass_promtool() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = Controller::start(dir.path(), Broker::Embedded);
    let drawing = ctl.add_player("kita-1f", "kita", 2);
    let quiet = ctl.add_player("kita-2f", "kita", 2);
    // The second player counts people from the synthetic camera.
    let mut text = std::fs::read_to_string(&quiet).unwrap();
    text.push_str(
        "[camera]\nsource = \"synthetic:walk\"\nlines = [\"door:320,100,320,460\"]\npublish_interval_secs = 1\n",
    );
    std::fs::write(&quiet, text).unwrap();
    let _drawing = start_rendering_player(dir.path(), &drawing, "kita-1f", (320, 180), 5);
    let _quiet = start_player(dir.path(), &quiet, "kita-2f");
    wait_until(Duration::from_secs(30), "both players online", || {
        ctl.is_online("kita-1f") && ctl.is_online("kita-2f")
    });

    let id = ctl.drill("kita");
    wait_until(Duration::from_secs(20), "both show the alert", || {
        let (_, detail) = ctl.get(&format!("/api/v1/alerts/{id}"));
        detail["counts"]["showing"] == 2
    });

    let (status, _, _) = scrape(&ctl, None);
    assert_eq!(status, 401, "metrics need a token");
    let viewer = ctl.token_for("viewer");
    let mut text = String::new();
    wait_until(
        Duration::from_secs(20),
        "the drawing player's health",
        || {
            let (status, kind, body) = scrape(&ctl, Some(&viewer));
            assert_eq!(status, 200, "{body}");
            assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
            text = body;
            sample(
                &text,
                "signage_player_frames_rendered_total{player=\"kita-1f\"}",
            )
            .is_some()
                && sample(&text, "signage_player_camera_fps{player=\"kita-2f\"}").is_some()
        },
    );

    let fps = sample(&text, "signage_player_camera_fps{player=\"kita-2f\"}").unwrap();
    assert!(fps > 0.0, "{fps}");
    let (ok, said) = promtool(&["check", "metrics"], Some(&text));
    assert!(ok, "promtool check metrics:\n{said}\n{text}");

    assert_eq!(
        sample(&text, "signage_players{state=\"online\"}"),
        Some(2.0)
    );
    assert_eq!(
        sample(&text, "signage_players{state=\"offline\"}"),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &text,
            "signage_player_online{player=\"kita-2f\",ward=\"kita\"}"
        ),
        Some(1.0)
    );
    let alert_label = format!("{{alert=\"{id}\"}}");
    assert_eq!(
        sample(&text, &format!("signage_alert_targeted{alert_label}")),
        Some(2.0)
    );
    assert_eq!(
        sample(&text, &format!("signage_alert_showing{alert_label}")),
        Some(2.0)
    );
    assert!(
        sample(&text, "signage_alert_ack_seconds_count{state=\"showing\"}").unwrap() >= 2.0,
        "{text}"
    );
    assert!(sample(&text, "signage_alert_publish_seconds_count{kind=\"show\"}").unwrap() >= 1.0);
    assert!(
        sample(
            &text,
            "signage_http_request_duration_seconds_count{route=\"/api/v1/alerts\",method=\"POST\",status=\"200\"}"
        )
        .unwrap()
            >= 1.0,
        "{text}"
    );
    assert!(sample(&text, "signage_broker_connections").unwrap() >= 2.0);
    assert_eq!(sample(&text, "signage_broker_link_up"), Some(1.0));
    assert!(text.contains("signage_queue_capacity{queue="), "{text}");
    assert!(
        sample(&text, "signage_store_write_seconds_count{what=\"hello\"}").unwrap() >= 2.0,
        "{text}"
    );
    assert!(
        text.contains("signage_office_open{ward=\"kita\"}"),
        "{text}"
    );
}

#[test]
fn json_logs_are_one_object_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = Controller::start_with(dir.path(), Broker::Embedded, &["--log-format", "json"]);
    let config = ctl.add_player("kita-1f", "kita", 2);
    let _player = start_player(dir.path(), &config, "kita-1f");
    wait_until(Duration::from_secs(20), "the player online", || {
        ctl.is_online("kita-1f")
    });
    let mut objects = Vec::new();
    wait_until(Duration::from_secs(10), "the hello logged", || {
        objects = ctl
            .proc
            .log()
            .lines()
            .filter(|l| l.starts_with('{'))
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect(l))
            .collect();
        objects.iter().any(|o| o["message"] == "hello")
    });
    for object in &objects {
        assert!(object["timestamp"].is_string(), "{object}");
        assert!(object["level"].is_string(), "{object}");
    }
    let hello = objects.iter().find(|o| o["message"] == "hello").unwrap();
    assert_eq!(hello["player"], "kita-1f");
    assert!(
        !ctl.proc.log().lines().any(|l| l.contains(" INFO ")),
        "no text log lines"
    );
}

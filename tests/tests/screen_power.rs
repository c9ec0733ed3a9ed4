//! Screen power by schedule on a real controller and player: a rule in the calendar switches
//! the screen off when its daypart ends (black, reported as "off by schedule", the site's
//! power command told `off`), the controller agrees it should be off, and an alert wakes the
//! screen until it is cancelled.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use e2e::{Broker, Controller, player_now, start_player, wait_until};
use serde_json::json;

/// The panel switches the player asked for, in order.
fn switches(log: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn kind(dir: &std::path::Path) -> Option<String> {
    player_now(dir, "kita-1f").and_then(|n| n["kind"].as_str().map(str::to_owned))
}

#[test]
fn a_screen_goes_off_by_schedule_and_an_alert_wakes_it() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = Controller::start(dir.path(), Broker::Embedded);
    // The site's power command: records each switch.
    let log = dir.path().join("power.log");
    let script = dir.path().join("panel-power");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$1\" >> {}\n", log.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = ctl.add_lobby_player(
        "kita-1f",
        "kita",
        &format!("power_command = [{:?}]\n", script.display().to_string()),
    );

    ctl.put(
        "/api/v1/assets/hello",
        json!({"kind": "text_slide", "texts": {"ja": {"title": "ようこそ", "body": ""}},
               "colours": {"text": "#ffffff", "background": "#003366"}}),
    );
    ctl.put(
        "/api/v1/playlists/hello",
        json!({"items": [{"asset": "hello"}]}),
    );
    ctl.put(
        "/api/v1/layouts/hello",
        json!({"canvas": {"width": 1920, "height": 1080}, "zones": [
            {"id": "main", "x": 0, "y": 0, "width": 1920, "height": 1080, "playlist": "hello"}]}),
    );
    ctl.put("/api/v1/schedule/fallback", json!({"layout": "hello"}));

    // Lobby screens are on for a daypart that ends 30 s from now, every day.
    let local = |t: chrono::DateTime<Utc>| {
        t.with_timezone(&content::tokyo::TOKYO)
            .format("%H:%M:%S")
            .to_string()
    };
    let ends = Utc::now() + TimeDelta::seconds(30);
    let (_, mut calendar) = ctl.get("/api/v1/calendar");
    calendar["dayparts"].as_array_mut().unwrap().push(
        json!({"name": "点灯試験", "start": local(ends - TimeDelta::hours(2)), "end": local(ends)}),
    );
    calendar["power"] = json!([{"group": "lobby", "daypart": "点灯試験", "closed_days": true}]);
    let (status, saved) = ctl.request_as(
        Some(&ctl.token_for("approver")),
        "PUT",
        "/api/v1/calendar",
        Some(&calendar),
    );
    assert_eq!(status, 200, "{saved}");
    let mut bad = calendar.clone();
    bad["power"] = json!([{"daypart": "夜間", "before_minutes": 600}]);
    let (status, refused) = ctl.send_json("PUT", "/api/v1/calendar", &bad);
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("power[0].daypart"),
        "{refused}"
    );

    let _player = start_player(dir.path(), &config, "kita-1f");
    wait_until(Duration::from_secs(30), "on and showing", || {
        kind(dir.path()).as_deref() == Some("fallback") && switches(&log) == ["on"]
    });
    wait_until(Duration::from_secs(40), "off by schedule", || {
        kind(dir.path()).as_deref() == Some("off_by_schedule")
    });
    wait_until(Duration::from_secs(5), "the panel told off", || {
        switches(&log) == ["on", "off"]
    });
    let now = player_now(dir.path(), "kita-1f").unwrap();
    assert!(now["zones"].as_array().unwrap().is_empty(), "{now}");
    assert!(
        now["reason"]
            .as_str()
            .unwrap()
            .starts_with("off by schedule until "),
        "{now}"
    );
    wait_until(Duration::from_secs(15), "the controller agrees", || {
        let (_, now) = ctl.get("/api/v1/players/kita-1f/now");
        now["agrees"] == true && now["expected"]["kind"] == "off"
    });
    let (_, preview) = ctl.get("/api/v1/players/kita-1f/preview");
    assert_eq!(preview["selection"]["kind"], "off", "{preview}");
    assert!(ctl.is_online("kita-1f"), "off by schedule is not offline");

    // An alert wakes the screen; its cancel puts it back to sleep.
    let id = ctl.drill("kita");
    wait_until(
        Duration::from_secs(15),
        "the alert on a woken panel",
        || kind(dir.path()).as_deref() == Some("alert") && switches(&log) == ["on", "off", "on"],
    );
    let (status, answer) = ctl.request_as(
        Some(&ctl.token_for("disaster")),
        "POST",
        &format!("/api/v1/alerts/{id}/cancel"),
        None,
    );
    assert_eq!(status, 200, "{answer}");
    wait_until(
        Duration::from_secs(15),
        "off again after the cancel",
        || {
            kind(dir.path()).as_deref() == Some("off_by_schedule")
                && switches(&log) == ["on", "off", "on", "off"]
        },
    );
}

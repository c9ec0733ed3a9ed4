//! Signed player updates on a real controller and player process: an admin uploads a build
//! and offers it to a group; the player checks it against the controller's signed statement,
//! switches, and keeps it once it comes online. A build that never comes online is rolled
//! back by the player on its own, and a build whose file does not match its statement is
//! never run. Every step is audited, and the controller hears of each refusal.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use e2e::{Broker, Controller, bin, player_cache, sha256_hex, start_player, wait_until};
use serde_json::{Value, json};

fn upload(ctl: &Controller, version: &str, bytes: &[u8]) -> (u16, Value) {
    ctl.post_bytes(
        &ctl.token,
        &format!("/api/v1/player-builds?version={version}&note=test"),
        "application/octet-stream",
        bytes,
    )
}

fn offer(ctl: &Controller, version: &str) {
    let (status, answer) = ctl.send_json(
        "POST",
        "/api/v1/player-builds/offer",
        &json!({"version": version, "targets": [{"kind": "group", "id": "lobby"}]}),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["players"], json!(["kita-1f"]), "{answer}");
}

fn running(ctl: &Controller) -> Option<String> {
    let p = ctl.player("kita-1f")?;
    p["online"]
        .as_bool()
        .filter(|o| *o)
        .and_then(|_| p["version"].as_str().map(str::to_owned))
}

fn failed(ctl: &Controller) -> Value {
    ctl.player("kita-1f").unwrap()["hello"]["failed_build"].clone()
}

fn update_state(dir: &std::path::Path) -> Value {
    std::fs::read(player_cache(dir, "kita-1f").join("update.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null)
}

#[test]
fn a_player_switches_to_a_signed_build_and_rolls_back_one_that_does_not_come_online() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = Controller::start(dir.path(), Broker::Embedded);
    let config = ctl.add_lobby_player("kita-1f", "kita", "update_trial_secs = 8\n");
    let player = start_player(dir.path(), &config, "kita-1f");
    wait_until(Duration::from_secs(20), "the player online", || {
        running(&ctl).is_some()
    });
    let installed = running(&ctl).unwrap();
    assert_eq!(installed, env!("CARGO_PKG_VERSION"));

    // Uploads: admins only, a version names one build, labels are checked.
    let good = std::fs::read(bin("signage-player")).unwrap();
    let (status, _) = ctl.post_bytes(
        &ctl.token_for("pr"),
        "/api/v1/player-builds?version=x",
        "application/octet-stream",
        b"#!/bin/sh\n",
    );
    assert_eq!(status, 403);
    let (status, answer) = upload(&ctl, "../evil", b"#!/bin/sh\n");
    assert_eq!(status, 400, "{answer}");
    let (status, answer) = upload(&ctl, "9.9.9-test", &good);
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["sha256"], sha256_hex(&good));
    let (status, _) = upload(&ctl, "9.9.9-test", b"#!/bin/sh\n");
    assert_eq!(status, 409);

    // A good build: the player switches and keeps it.
    offer(&ctl, "9.9.9-test");
    wait_until(Duration::from_secs(60), "the new build online", || {
        running(&ctl).as_deref() == Some("9.9.9-test")
    });
    wait_until(Duration::from_secs(10), "the new build kept", || {
        update_state(dir.path())["current"]["version"] == "9.9.9-test"
    });
    assert!(player.log().contains("the new build came online; it stays"));

    // A build that never comes online: rolled back to 9.9.9-test on the player's own.
    let broken = b"#!/bin/sh\nexec sleep 600\n";
    let (status, _) = upload(&ctl, "9.9.10-broken", broken);
    assert_eq!(status, 201);
    offer(&ctl, "9.9.10-broken");
    wait_until(Duration::from_secs(30), "the broken build on trial", || {
        player.log().contains("version=9.9.10-broken on_trial=true")
    });
    wait_until(Duration::from_secs(40), "rolled back and online", || {
        failed(&ctl)["version"] == "9.9.10-broken" && running(&ctl).as_deref() == Some("9.9.9-test")
    });
    let reason = failed(&ctl)["reason"].as_str().unwrap().to_owned();
    assert!(
        reason.contains("did not come online within 8 s"),
        "{reason}"
    );
    assert_eq!(update_state(dir.path())["current"]["version"], "9.9.9-test");

    // A file that does not match its signed statement is never run.
    let honest = b"#!/bin/sh\nexit 0\n";
    let (status, answer) = upload(&ctl, "9.9.11-tampered", honest);
    assert_eq!(status, 201);
    let stored = ctl
        .data_dir
        .join("content/player-builds")
        .join(answer["sha256"].as_str().unwrap());
    std::fs::write(&stored, b"#!/bin/sh\nexit 1\n").unwrap();
    std::fs::set_permissions(&stored, std::fs::Permissions::from_mode(0o600)).unwrap();
    let starts = player.log().matches("starting player build").count();
    offer(&ctl, "9.9.11-tampered");
    wait_until(
        Duration::from_secs(30),
        "the tampered build refused",
        || failed(&ctl)["version"] == "9.9.11-tampered",
    );
    let reason = failed(&ctl)["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("SHA-256"), "{reason}");
    assert_eq!(running(&ctl).as_deref(), Some("9.9.9-test"));
    assert_eq!(
        player.log().matches("starting player build").count(),
        starts,
        "nothing was started"
    );

    let (_, builds) = ctl.get("/api/v1/player-builds");
    assert_eq!(builds.as_array().unwrap().len(), 3, "{builds}");
    let (_, log) = ctl.get("/api/v1/audit?limit=50");
    let actions: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "player_build.upload")
            .count(),
        3
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "player_build.offer")
            .count(),
        3
    );
}

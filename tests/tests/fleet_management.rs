//! Screens managed from the API the console uses, against a real controller and real player
//! processes: enrolment with a one-time code (the player waits until an admin approves it),
//! renaming, moving, several groups, a remote restart, revoking and reissuing credentials,
//! and retirement. Every step lands in the audit log.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use e2e::{
    Broker, Controller, Proc, bin, player_cache, player_command, player_password, start_player,
    wait_until,
};
use serde_json::{Value, json};

fn audit_actions(controller: &Controller) -> Vec<String> {
    let (_, log) = controller.get("/api/v1/audit?limit=200");
    log.as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{} {}", e["action"].as_str().unwrap(), e["outcome"]))
        .collect()
}

fn waiting(controller: &Controller) -> Vec<Value> {
    let (status, list) = controller.get("/api/v1/enrolments");
    assert_eq!(status, 200, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["state"] == "waiting")
        .cloned()
        .collect()
}

#[test]
fn a_new_player_enrols_with_a_one_time_code_and_joins_once_approved() {
    let dir = tempfile::tempdir().unwrap();
    let controller = Controller::start(dir.path(), Broker::Embedded);
    let (status, code) = controller.send_json(
        "POST",
        "/api/v1/enrolment-codes",
        &json!({ "ward": "kita", "groups": ["lobby"], "note": "1F 受付の新しい画面" }),
    );
    assert_eq!(status, 201, "{code}");
    let code_text = code["code"].as_str().unwrap().to_owned();
    let (_, listed) = controller.get("/api/v1/enrolment-codes");
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(
        !listed.to_string().contains(&code_text),
        "the code itself is never listed"
    );

    // A wrong code is refused with a reason, and nothing waits.
    let (status, refused) = controller.request_as(
        None,
        "POST",
        "/api/v1/enrol",
        Some(&json!({ "code": "AAAA-BBBB-CCCC", "password": "x".repeat(40) })),
    );
    assert_eq!(status, 403, "{refused}");
    assert!(refused["error"].as_str().unwrap().contains("unknown"));

    // The player knows only the controller's address and the code, typed loosely.
    let out = dir.path().join("new-screen.toml");
    let typed = code_text.to_lowercase().replace('-', " ");
    let mut enrolling = Proc::spawn(
        Command::new(bin("signage-player")).args([
            "enrol",
            "--controller",
            &controller.http,
            "--code",
            &typed,
            "--out",
            out.to_str().unwrap(),
            "--name",
            "北区役所 1F 受付",
            "--poll-secs",
            "1",
        ]),
        dir.path(),
        "enrol",
    );
    wait_until(Duration::from_secs(20), "the new player waits", || {
        !waiting(&controller).is_empty()
    });
    let request = waiting(&controller).remove(0);
    assert_eq!(request["proposed_name"], "北区役所 1F 受付");
    assert_eq!(request["ward"], "kita", "the code's proposal");
    assert!(
        !out.exists() && enrolling.is_running(),
        "no configuration before approval"
    );
    let pr = controller.token_for("pr");
    let (status, _) = controller.request_as(Some(&pr), "GET", "/api/v1/enrolments", None);
    assert_eq!(status, 403, "only admins see and decide enrolments");
    // The code was for one screen.
    let (status, _) = controller.request_as(
        None,
        "POST",
        "/api/v1/enrol",
        Some(&json!({ "code": code_text, "password": "y".repeat(40) })),
    );
    assert_eq!(status, 403, "a used code admits nobody else");

    let id = request["id"].as_str().unwrap();
    let (status, approved) = controller.send_json(
        "POST",
        &format!("/api/v1/enrolments/{id}/approve"),
        &json!({ "id": "kita-1f-uketsuke", "groups": ["lobby", "counters"] }),
    );
    assert_eq!(status, 200, "{approved}");
    wait_until(
        Duration::from_secs(20),
        "the enrol command finishes",
        || !enrolling.is_running(),
    );
    assert!(
        enrolling.child.wait().unwrap().success(),
        "{}",
        enrolling.log()
    );
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the file holds the player's password");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("kita-1f-uketsuke") && text.contains("alert_public_key"));

    let _player = start_player(dir.path(), &out, "uketsuke");
    wait_until(
        Duration::from_secs(20),
        "the enrolled player online",
        || controller.is_online("kita-1f-uketsuke"),
    );
    let record = controller.player("kita-1f-uketsuke").unwrap();
    assert_eq!(record["name"], "北区役所 1F 受付");
    assert_eq!(record["ward"], "kita");
    assert_eq!(record["groups"], json!(["lobby", "counters"]));
    assert_eq!(record["state"], "active");

    let actions = audit_actions(&controller);
    for action in ["enrolment_code.create \"ok\"", "enrolment.approve \"ok\""] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
}

#[test]
fn a_screen_is_renamed_moved_restarted_revoked_reissued_and_retired() {
    let dir = tempfile::tempdir().unwrap();
    let controller = Controller::start(dir.path(), Broker::Embedded);
    let config = controller.add_player("kita-2", "kita", 2);
    let mut player = start_player(dir.path(), &config, "kita-2");
    wait_until(Duration::from_secs(20), "the player online", || {
        controller.is_online("kita-2")
    });

    // Rename, move and regroup: the player holds the new configuration.
    let (status, edited) = controller.send_json(
        "PATCH",
        "/api/v1/players/kita-2",
        &json!({ "name": "浪速区 2F 待合", "ward": "naniwa", "groups": ["lobby", "counters"] }),
    );
    assert_eq!(status, 200, "{edited}");
    let held = || -> Option<Value> {
        let bytes =
            std::fs::read(player_cache(dir.path(), "kita-2").join("desired-config.json")).ok()?;
        serde_json::from_slice(&bytes).ok()
    };
    wait_until(Duration::from_secs(20), "the player holds the move", || {
        held().is_some_and(|c| c["ward"] == "naniwa" && c["groups"] == json!(["lobby", "counters"]))
    });
    let (status, bad) = controller.send_json(
        "PATCH",
        "/api/v1/players/kita-2",
        &json!({ "groups": ["a/b"] }),
    );
    assert_eq!(status, 422, "{bad}");

    // A restart: the process starts itself again once, and comes back online.
    let starts = |p: &Proc| p.log().matches("player starting").count();
    assert_eq!(starts(&player), 1);
    let (status, asked) = controller.request_as(
        Some(&controller.token),
        "POST",
        "/api/v1/players/kita-2/restart",
        None,
    );
    assert_eq!(status, 202, "{asked}");
    wait_until(Duration::from_secs(30), "the player restarted", || {
        starts(&player) == 2 && controller.is_online("kita-2")
    });
    wait_until(Duration::from_secs(20), "the restarted player acks", || {
        let p = controller.player("kita-2").unwrap();
        p["acked_revision"] == p["config_revision"]
    });
    assert_eq!(starts(&player), 2, "one restart per request");
    assert!(player.is_running(), "the same process carries on");

    // Revoke: the connection ends at once and the old password no longer logs in.
    let old_password = player_password(&config);
    let (status, revoked) = controller.request_as(
        Some(&controller.token),
        "POST",
        "/api/v1/players/kita-2/revoke",
        None,
    );
    assert_eq!(status, 200, "{revoked}");
    wait_until(
        Duration::from_secs(10),
        "the revoked player offline",
        || !controller.is_online("kita-2"),
    );
    let stale = e2e::mqtt::connect(&controller.mqtt, "kita-2", "kita-2", &old_password);
    assert!(
        stale.wait_connected(Duration::from_secs(5)).is_err(),
        "revoked credentials are refused"
    );
    assert_eq!(controller.player("kita-2").unwrap()["state"], "revoked");

    // Reissue: a new file, and the player is back with it.
    let (status, reissued) = controller.request_as(
        Some(&controller.token),
        "POST",
        "/api/v1/players/kita-2/credentials",
        None,
    );
    assert_eq!(status, 200, "{reissued}");
    player.kill();
    let fresh = dir.path().join("kita-2-new.toml");
    std::fs::write(&fresh, reissued["config"].as_str().unwrap()).unwrap();
    assert_ne!(player_password(&fresh), old_password);
    let mut player = Proc::spawn(
        &mut player_command(dir.path(), &fresh, "kita-2", false),
        dir.path(),
        "kita-2-again",
    );
    wait_until(
        Duration::from_secs(20),
        "online with new credentials",
        || controller.is_online("kita-2"),
    );

    // Retire: out of the fleet, listed for history, no further steps.
    let (_, health) = controller.get("/api/v1/health");
    let total = health["players"]["total"].as_u64().unwrap();
    let (status, _) = controller.request_as(
        Some(&controller.token),
        "POST",
        "/api/v1/players/kita-2/retire",
        None,
    );
    assert_eq!(status, 200);
    wait_until(
        Duration::from_secs(10),
        "the retired player offline",
        || !controller.is_online("kita-2"),
    );
    let (_, health) = controller.get("/api/v1/health");
    assert_eq!(health["players"]["total"].as_u64().unwrap(), total - 1);
    assert_eq!(controller.player("kita-2").unwrap()["state"], "retired");
    let (status, _) =
        controller.send_json("PATCH", "/api/v1/players/kita-2", &json!({ "name": "x" }));
    assert_eq!(status, 404, "a retired player takes no more steps");
    player.kill();

    let actions = audit_actions(&controller);
    for action in [
        "player.edit",
        "player.restart",
        "player.revoke",
        "player.reissue",
        "player.retire",
    ] {
        assert!(
            actions.iter().any(|a| a == &format!("{action} \"ok\"")),
            "{action} in {actions:?}"
        );
    }
}

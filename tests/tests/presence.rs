//! Players find the controller over MQTT: online within seconds, offline by Last Will when
//! killed, online again when restarted; against the embedded broker and against Mosquitto.

use std::time::{Duration, Instant};

use e2e::{Broker, Controller, Mosquitto, start_player, wait_until};

/// Short keep-alive so the test is quick; the Last Will must fire within 1.5 of these.
const KEEP_ALIVE_SECS: u64 = 2;
const PLAYERS: [(&str, &str); 3] = [("kita-1", "kita"), ("kita-2", "kita"), ("naka-1", "naka")];

/// The whole presence story against whichever broker the controller uses.
/// Returns the running players.
fn presence_story(
    dir: &std::path::Path,
    controller: &Controller,
    configs: &[std::path::PathBuf],
    label: &str,
) -> Vec<e2e::Proc> {
    let start = Instant::now();
    let mut players: Vec<_> = configs
        .iter()
        .zip(PLAYERS)
        .map(|(config, (id, _))| start_player(dir, config, id))
        .collect();
    let all_online = wait_until(Duration::from_secs(10), "all three players online", || {
        PLAYERS.iter().all(|(id, _)| controller.is_online(id))
    });
    eprintln!(
        "[{label}] three players online {:?} after start",
        all_online
    );
    let since_start = start.elapsed();
    assert!(since_start < Duration::from_secs(10));

    for (id, ward) in PLAYERS {
        // Presence, hello and acknowledgement travel separately; wait for the last of them.
        wait_until(
            Duration::from_secs(5),
            "hello and configuration acknowledged",
            || {
                controller
                    .player(id)
                    .is_some_and(|p| p["acked_revision"] == 1 && !p["version"].is_null())
            },
        );
        let p = controller.player(id).unwrap();
        assert_eq!(p["ward"], ward);
        assert_eq!(p["version"], env!("CARGO_PKG_VERSION"));
        let seen = p["last_seen"].as_str().expect("last_seen is set");
        chrono_like_rfc3339(seen);
    }

    // SIGKILL: no goodbye; only the broker's Last Will can say the player is gone.
    players[1].kill();
    let killed = Instant::now();
    let limit = Duration::from_millis(KEEP_ALIVE_SECS * 1500);
    let took = wait_until(limit, "the killed player to turn offline", || {
        !controller.is_online("kita-2")
    });
    eprintln!(
        "[{label}] killed player offline after {:?} (limit {limit:?})",
        took
    );
    assert!(killed.elapsed() <= limit + Duration::from_millis(200));
    assert!(
        controller.is_online("kita-1") && controller.is_online("naka-1"),
        "the others stay online"
    );

    players[1] = start_player(dir, &configs[1], "kita-2-restarted");
    let back = wait_until(
        Duration::from_secs(10),
        "the restarted player online again",
        || controller.is_online("kita-2"),
    );
    eprintln!("[{label}] restarted player online after {:?}", back);

    let (status, health) = controller.get("/api/v1/health");
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["players"]["online"], 3);
    assert_eq!(health["mqtt"]["connected"], true);
    players
}

/// Checks the shape of an RFC 3339 timestamp without another dependency.
fn chrono_like_rfc3339(s: &str) {
    let b = s.as_bytes();
    assert!(
        b.len() >= 20 && b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && b[13] == b':',
        "not RFC 3339: {s}"
    );
    assert!(s.ends_with('Z') || s.contains('+'), "no offset: {s}");
}

#[test]
fn presence_with_the_embedded_broker() {
    let dir = tempfile::tempdir().unwrap();
    let controller = Controller::start(dir.path(), Broker::Embedded);
    let configs: Vec<_> = PLAYERS
        .iter()
        .map(|(id, ward)| controller.add_player(id, ward, KEEP_ALIVE_SECS))
        .collect();
    presence_story(dir.path(), &controller, &configs, "embedded");
}

#[test]
fn presence_with_mosquitto_and_republish_after_broker_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut mosquitto = Mosquitto::start(dir.path());
    let controller = Controller::start(dir.path(), Broker::External(&mosquitto));
    let configs: Vec<_> = PLAYERS
        .iter()
        .map(|(id, ward)| mosquitto.enrol(&controller, id, ward, KEEP_ALIVE_SECS))
        .collect();
    let _players = presence_story(dir.path(), &controller, &configs, "mosquitto");

    // An emptied broker (restart without persistence) loses every retained message; the
    // controller must put the desired configurations back, and the players come back online.
    mosquitto.restart();
    // Read as naka-1 would (the controller's login only writes configurations).
    let retained = e2e::mqtt::first_message(
        &mosquitto.url(),
        "naka-1",
        &e2e::player_password(&configs[2]),
        "signage/v1/players/naka-1/config",
        Duration::from_secs(15),
    );
    let envelope: content::protocol::SignedEnvelope = serde_json::from_slice(&retained).unwrap();
    let config: serde_json::Value = serde_json::from_str(&envelope.payload).unwrap();
    assert_eq!(config["id"], "naka-1");
    assert_eq!(config["ward"], "naka");
    wait_until(
        Duration::from_secs(15),
        "players online after the broker restart",
        || PLAYERS.iter().all(|(id, _)| controller.is_online(id)),
    );
}

#[test]
fn mosquitto_acl_keeps_players_off_each_others_topics() {
    let dir = tempfile::tempdir().unwrap();
    let mosquitto = Mosquitto::start(dir.path());
    let controller = Controller::start(dir.path(), Broker::External(&mosquitto));
    let kita = mosquitto.enrol(&controller, "kita-1", "kita", KEEP_ALIVE_SECS);
    mosquitto.enrol(&controller, "naka-1", "naka", KEEP_ALIVE_SECS);
    let _naka = start_player(
        dir.path(),
        &controller.data_dir.parent().unwrap().join("naka-1.toml"),
        "naka-1",
    );
    wait_until(Duration::from_secs(10), "naka-1 online", || {
        controller.is_online("naka-1")
    });

    // kita-1 forges a hello of naka-1 (the controller would store it), then announces itself.
    let client = e2e::mqtt::connect(
        &mosquitto.url(),
        "kita-1",
        "kita-1",
        &e2e::player_password(&kita),
    );
    client
        .wait_connected(Duration::from_secs(5))
        .expect("kita-1 connects");
    client.publish(
        "signage/v1/players/naka-1/hello",
        br#"{"id":"naka-1","version":"forged","screen":{"width":1,"height":1},"display":"headless","started_at":"2026-01-01T00:00:00Z"}"#.to_vec(),
    );
    client.publish(
        "signage/v1/players/kita-1/presence",
        br#"{"state":"online","session":"k"}"#.to_vec(),
    );
    wait_until(Duration::from_secs(10), "kita-1's own presence", || {
        controller.is_online("kita-1")
    });
    // Messages from one client arrive in order, so the forged one would have come first.
    assert_eq!(
        controller.player("naka-1").unwrap()["version"],
        env!("CARGO_PKG_VERSION"),
        "the broker's ACL dropped the forged hello"
    );
}

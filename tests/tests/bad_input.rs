//! Hostile and broken MQTT clients: refused or dropped with a log line, never a crash, and
//! nothing confirmed is lost.

use std::time::Duration;

use e2e::mqtt::connect;
use e2e::{Broker, Controller, player_password, wait_until};

#[test]
fn wrong_credentials_are_refused_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let controller = Controller::start(dir.path(), Broker::Embedded);
    let config = controller.add_player("kita-1", "kita", 5);
    let password = player_password(&config);

    let cases = [
        ("kita-1", "kita-1", "wrong-password", "wrong password"),
        ("ghost", "ghost", &password, "unknown player"),
        (
            "kita-2",
            "kita-1",
            &password,
            "client id different from the username",
        ),
        ("controller", "controller", "guess", "controller account"),
    ];
    for (client_id, user, pass, what) in cases {
        let client = connect(&controller.mqtt, client_id, user, pass);
        let result = client.wait_connected(Duration::from_secs(5));
        assert!(result.is_err(), "{what}: login must be refused");
    }
    let log = controller.proc.log();
    assert!(
        log.matches("refused MQTT login").count() >= cases.len(),
        "every refusal is logged:\n{log}"
    );
    // The right credentials still work: refusals did not break the broker.
    let ok = connect(&controller.mqtt, "kita-1", "kita-1", &password);
    ok.wait_connected(Duration::from_secs(5))
        .expect("valid login accepted");
}

#[test]
fn malformed_and_oversized_payloads_are_dropped_without_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let mut controller = Controller::start(dir.path(), Broker::Embedded);
    let config = controller.add_player("kita-1", "kita", 5);
    let client = connect(
        &controller.mqtt,
        "kita-1",
        "kita-1",
        &player_password(&config),
    );
    client
        .wait_connected(Duration::from_secs(5))
        .expect("connected");
    // The controller announces itself after subscribing: from then on nothing is missed.
    let presence = client.first_message("signage/v1/controller/presence", Duration::from_secs(10));
    assert!(String::from_utf8_lossy(&presence).contains("online"));

    let oversized = vec![b'{'; 200 * 1024];
    let junk: Vec<(&str, Vec<u8>)> = ["presence", "hello", "ack", "now", "plays"]
        .iter()
        .flat_map(|kind| {
            let topic: &'static str = Box::leak(format!("signage/v1/players/kita-1/{kind}").into_boxed_str());
            [
                (topic, b"not json".to_vec()),
                (topic, b"{}".to_vec()),
                (topic, vec![0xff, 0x00, 0xfe]),
                (topic, br#"{"state":42,"session":[],"id":"kita-1","revision":"x"}"#.to_vec()),
                (topic, oversized.clone()),
            ]
        })
        .chain([
            // A hello naming another player than its topic.
            (
                "signage/v1/players/kita-1/hello",
                br#"{"id":"naka-1","version":"1","screen":{"width":1,"height":1},"display":"headless","started_at":"2026-01-01T00:00:00Z"}"#.to_vec(),
            ),
            // Topic levels that are not valid player ids.
            ("signage/v1/players/KITA/presence", br#"{"state":"online","session":"s"}"#.to_vec()),
            ("signage/v1/players/a b/hello", b"{}".to_vec()),
        ])
        .collect();
    for (topic, payload) in &junk {
        client.publish(topic, payload.clone());
    }
    // Then valid messages: they must still be processed.
    client.publish(
        "signage/v1/players/kita-1/presence",
        br#"{"state":"online","session":"s1"}"#.to_vec(),
    );
    client.publish(
        "signage/v1/players/kita-1/hello",
        br#"{"id":"kita-1","version":"9.9.9-test","screen":{"width":1920,"height":1080},"display":"headless","started_at":"2026-01-01T00:00:00Z"}"#.to_vec(),
    );
    wait_until(
        Duration::from_secs(10),
        "the valid hello after the junk",
        || {
            controller
                .player("kita-1")
                .is_some_and(|p| p["version"] == "9.9.9-test" && p["online"] == true)
        },
    );

    assert!(controller.proc.is_running(), "the controller survived");
    let log = controller.proc.log();
    // Malformed payloads on its own topics reach the controller, which drops them; topics
    // outside the contract (or not its own) stop at the gate.
    let dropped =
        log.matches("dropped MQTT message").count() + log.matches("refused MQTT publish").count();
    assert!(
        dropped >= junk.len(),
        "each bad message is logged ({dropped} of {}):\n{log}",
        junk.len()
    );
    assert!(
        log.contains("exceeds the limit"),
        "oversized payloads are named as such"
    );
    let (status, health) = controller.get("/api/v1/health");
    assert_eq!(status, 200, "{health}");
}

#[test]
fn a_packet_beyond_the_broker_limit_costs_only_the_sender_its_connection() {
    let dir = tempfile::tempdir().unwrap();
    let mut controller = Controller::start(dir.path(), Broker::Embedded);
    let config = controller.add_player("kita-1", "kita", 5);
    let password = player_password(&config);
    let hostile = connect(&controller.mqtt, "kita-1", "kita-1", &password);
    hostile
        .wait_connected(Duration::from_secs(5))
        .expect("connected");
    hostile.publish(
        "signage/v1/players/kita-1/hello",
        vec![b'x'; 2 * 1024 * 1024],
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(controller.proc.is_running(), "the controller survived");
    // The player can come back and be heard.
    let again = connect(&controller.mqtt, "kita-1", "kita-1", &password);
    again
        .wait_connected(Duration::from_secs(5))
        .expect("reconnected");
    again.publish(
        "signage/v1/players/kita-1/presence",
        br#"{"state":"online","session":"s2"}"#.to_vec(),
    );
    wait_until(
        Duration::from_secs(10),
        "presence after the hostile packet",
        || controller.is_online("kita-1"),
    );
}

/// Mosquitto knows an account the controller does not (a player removed from the controller,
/// or added to the broker by hand): its health is not kept, while a registered player's is.
#[test]
fn health_is_kept_only_for_registered_players() {
    let dir = tempfile::tempdir().unwrap();
    let mosquitto = e2e::Mosquitto::start(dir.path());
    let controller = Controller::start(dir.path(), Broker::External(&mosquitto));
    let config = mosquitto.enrol(&controller, "kita-1", "kita", 5);
    mosquitto.add_user("ghost-1", "ghost-password-1");
    mosquitto.reload();
    let health = r#"{"at":"2026-12-07T00:00:00Z","pipeline_state":"playing","frames_rendered":7,"frames_dropped":0,"rebuilds":0,"uptime_s":1}"#;
    let ghost = connect(&mosquitto.url(), "ghost-1", "ghost-1", "ghost-password-1");
    ghost
        .wait_connected(Duration::from_secs(5))
        .expect("the broker knows the ghost");
    ghost.publish("signage/v1/players/ghost-1/health", health);
    let real = connect(
        &mosquitto.url(),
        "kita-1",
        "kita-1",
        &player_password(&config),
    );
    real.wait_connected(Duration::from_secs(5)).expect("kita-1");
    real.publish("signage/v1/players/kita-1/health", health);
    wait_until(Duration::from_secs(10), "kita-1's health kept", || {
        controller
            .player("kita-1")
            .is_some_and(|p| p["health"]["frames_rendered"] == 7)
    });
    wait_until(
        Duration::from_secs(10),
        "the ghost's health dropped",
        || {
            controller
                .proc
                .log()
                .contains("dropped the health of an unregistered player player=ghost-1")
        },
    );
}

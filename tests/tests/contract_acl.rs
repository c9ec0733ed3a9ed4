//! No screen can speak for another: with a real player's credentials, a stolen screen tries
//! every topic of another player and the alert topics, on the embedded broker (its gate) and on
//! Mosquitto with the deployed ACL. Each attempt is refused or dropped, the victim keeps its
//! state, and no spoofed acknowledgement is counted. A broker insider's forged configuration is
//! refused by the player itself.

use std::path::Path;
use std::time::Duration;

use alerts::signing::{SigningKey, sign_desired};
use chrono::Utc;
use content::protocol::{DesiredConfig, PlayerHealth, SignedEnvelope, encode_signed};
use e2e::mqtt::{TestClient, connect};
use e2e::{
    Broker, Controller, Mosquitto, Proc, player_cache, player_password, start_player, wait_until,
};
use rumqttc::QoS;
use serde_json::{Value, json};

/// What the stolen `p1` sends about `p2` and the alerts; p3 (naka) is targeted by an alert but
/// switched off.
fn attack(thief: &TestClient, alert: &str) {
    let forged_config = json!({"id": "p2", "revision": 1_000_000, "ward": "naka",
        "issued_at": "2026-12-07T00:00:00Z"})
    .to_string();
    let forged_manifest = json!({"id": "p2", "revision": 1_000_000, "sha256": "0".repeat(64),
        "size_bytes": 1, "url": "http://attacker.example/m", "issued_at": "2026-12-07T00:00:00Z"})
    .to_string();
    let showing = json!({"alert": alert, "revision": 1, "state": "showing",
        "displayed_at": Utc::now(), "at": Utc::now()})
    .to_string();
    let p2 = "signage/v1/players/p2";
    for (topic, payload) in [
        (format!("{p2}/config"), forged_config.clone()),
        (format!("{p2}/manifest"), forged_manifest),
        (format!("{p2}/ack"), r#"{"subject":"config","revision":1000000,"ok":true}"#.into()),
        (format!("{p2}/presence"), r#"{"state":"offline","session":"x"}"#.into()),
        (format!("{p2}/health"), r#"{"at":"2026-12-07T00:00:00Z","pipeline_state":"x","frames_rendered":0,"frames_dropped":0,"rebuilds":0,"uptime_s":0}"#.into()),
        (format!("{p2}/now"), r#"{"at":"2026-12-07T00:00:00Z","kind":"nothing"}"#.into()),
        (format!("{p2}/plays"), r#"{"batch":"b","records":[]}"#.into()),
        (format!("{p2}/counts"), r#"{"records":[]}"#.into()),
        (format!("{p2}/alert_ack"), showing.clone()),
        ("signage/v1/players/p3/alert_ack".into(), showing),
    ] {
        for retain in [false, true] {
            thief.publish_raw(&topic, QoS::AtLeastOnce, retain, payload.clone());
        }
    }
    // Alerts: a retained fake and the deletion of the real one, on every scope.
    for scope in ["all", "ward/kita", "ward/naka", "player/p2"] {
        let topic = format!("signage/v1/alerts/{scope}/{alert}");
        thief.publish_raw(&topic, QoS::AtLeastOnce, true, forged_config.clone());
        thief.publish_raw(&topic, QoS::AtLeastOnce, true, Vec::new());
    }
}

fn drill_for_naka(ctl: &Controller) -> String {
    let token = ctl.token_for("disaster");
    let body = json!({"template": {"kind": "earthquake"}, "placeholders": {"area": "中央区"},
        "targets": [{"kind": "ward", "id": "naka"}], "status": "Exercise"});
    let (status, answer) = ctl.request_as(Some(&token), "POST", "/api/v1/alerts", Some(&body));
    assert_eq!(status, 201, "{answer}");
    answer["id"].as_str().unwrap().to_string()
}

fn counts(ctl: &Controller, alert: &str) -> Value {
    let (status, body) = ctl.get(&format!("/api/v1/alerts/{alert}"));
    assert_eq!(status, 200, "{body}");
    body["counts"].clone()
}

/// p3 of ward naka, online but drawing nothing: it answers alerts only when the test says.
fn quiet_p3(url: &str, config: &Path) -> TestClient {
    let p3 = connect(url, "p3", "p3", &player_password(config));
    p3.wait_connected(Duration::from_secs(5)).unwrap();
    p3.publish(
        "signage/v1/players/p3/presence",
        br#"{"state":"online","session":"p3"}"#.to_vec(),
    );
    p3
}

/// The thief's own hello goes through: a positive event after every refused attempt (one
/// client's messages arrive in order).
fn own_hello_arrives(ctl: &Controller, thief: &TestClient) {
    thief.publish(
        "signage/v1/players/p1/hello",
        br#"{"id":"p1","version":"thief-own","screen":{"width":1,"height":1},"display":"headless","started_at":"2026-01-01T00:00:00Z"}"#.to_vec(),
    );
    wait_until(Duration::from_secs(10), "the thief's own hello", || {
        ctl.player("p1")
            .is_some_and(|p| p["version"] == "thief-own")
    });
}

/// The thief attacked alert `spoofed`; p3 answers a second alert honestly afterwards, so by the
/// time its answer is counted every earlier acknowledgement was.
fn no_spoofed_ack_counted(ctl: &Controller, p3: &TestClient, spoofed: &str) {
    let honest = drill_for_naka(ctl);
    let failed = json!({"alert": honest, "revision": 1, "state": "failed", "at": Utc::now(),
        "error": "test: no renderer"});
    p3.publish(
        "signage/v1/players/p3/alert_ack",
        failed.to_string().into_bytes(),
    );
    wait_until(
        Duration::from_secs(10),
        "p3's honest answer counted",
        || counts(ctl, &honest)["failed"] == 1,
    );
    let c = counts(ctl, spoofed);
    assert_eq!(c["targeted"], 1, "{c}");
    assert_eq!(
        c["showing"], 0,
        "a spoofed acknowledgement was counted: {c}"
    );
}

/// The victim kept its configuration (in its cache and in the controller's view).
fn victim_unharmed(ctl: &Controller, dir: &Path) {
    let p2 = ctl.player("p2").unwrap();
    assert_eq!(p2["online"], true, "{p2}");
    assert_eq!(p2["acked_revision"], 1, "{p2}");
    assert_eq!(p2["ward"], "kita", "{p2}");
    let held = std::fs::read_to_string(player_cache(dir, "p2").join("desired-config.json"))
        .expect("the victim's configuration");
    assert!(held.contains("kita") && !held.contains("naka"), "{held}");
}

/// What the broker retains is still what the controller signed: the alert for naka (as p3
/// sees it), and, once the victim is switched off, its configuration (as p2 would get it on
/// coming back).
fn broker_holds_only_signed_state(
    ctl: &Controller,
    url: &str,
    p3: &TestClient,
    alert: &str,
    victim: &mut Proc,
    p2_config: &Path,
) {
    let retained = p3.first_message(
        &format!("signage/v1/alerts/ward/naka/{alert}"),
        Duration::from_secs(10),
    );
    let envelope: SignedEnvelope =
        serde_json::from_slice(&retained).expect("the alert, not a deletion or a fake");
    assert!(envelope.payload.contains(alert) && envelope.signature.len() == 128);

    victim.kill();
    let key = alerts::signing::PublicKey::from(
        &controller::alert_key::load_or_create(&ctl.data_dir).unwrap(),
    );
    let p2 = connect(url, "p2", "p2", &player_password(p2_config));
    p2.wait_connected(Duration::from_secs(10)).unwrap();
    let retained = p2.first_message("signage/v1/players/p2/config", Duration::from_secs(10));
    let envelope: SignedEnvelope = serde_json::from_slice(&retained).expect("an envelope");
    let text =
        alerts::signing::verify_desired(&envelope, &key).expect("the controller's signature");
    let config: DesiredConfig = serde_json::from_str(text).unwrap();
    assert_eq!((config.revision, config.ward.as_deref()), (1, Some("kita")));
}

fn wait_configured(ctl: &Controller, id: &str) {
    wait_until(
        Duration::from_secs(15),
        &format!("{id} online and configured"),
        || {
            ctl.player(id)
                .is_some_and(|p| p["online"] == true && p["acked_revision"] == 1)
        },
    );
}

#[test]
fn the_embedded_broker_refuses_a_stolen_screen_everything_but_its_own_topics() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = Controller::start(dir.path(), Broker::Embedded);
    let p1 = ctl.add_player("p1", "kita", 5);
    let p2 = ctl.add_player("p2", "kita", 5);
    let p3_config = ctl.add_player("p3", "naka", 5);
    let mut victim = start_player(dir.path(), &p2, "p2");
    wait_configured(&ctl, "p2");
    let p3 = quiet_p3(&ctl.mqtt, &p3_config);
    wait_until(Duration::from_secs(10), "p3 online", || ctl.is_online("p3"));
    let alert = drill_for_naka(&ctl);

    let thief = connect(&ctl.mqtt, "p1", "p1", &player_password(&p1));
    thief
        .wait_connected(Duration::from_secs(5))
        .expect("the thief logs in with p1's real credentials");
    // Reading another player's topics, or everything, is refused at subscription.
    for filter in [
        "#",
        "signage/v1/#",
        "signage/v1/players/p2/config",
        "signage/v1/players/+/alert_ack",
        "signage/v1/alerts/ward/naka/+",
    ] {
        let answer = thief.subscribe(filter, Duration::from_secs(5));
        assert!(answer.is_err(), "{filter}: {answer:?}");
    }
    // Its own are granted.
    thief
        .subscribe("signage/v1/players/p1/config", Duration::from_secs(5))
        .expect("own configuration");
    thief
        .subscribe("signage/v1/alerts/ward/kita/+", Duration::from_secs(5))
        .expect("own ward's alerts");

    attack(&thief, &alert);
    own_hello_arrives(&ctl, &thief);
    victim_unharmed(&ctl, dir.path());
    no_spoofed_ack_counted(&ctl, &p3, &alert);
    let log = ctl.proc.log();
    assert!(log.contains("refused MQTT publish"), "{log}");
    assert!(log.contains("refused MQTT subscription"), "{log}");
    broker_holds_only_signed_state(&ctl, &ctl.mqtt, &p3, &alert, &mut victim, &p2);

    // A Last Will on another player's presence is a refused login.
    let mut options = rumqttc::MqttOptions::new("p1", "127.0.0.1", port(&ctl.mqtt));
    options.set_credentials("p1", player_password(&p1));
    options.set_last_will(rumqttc::LastWill::new(
        "signage/v1/players/p2/presence",
        r#"{"state":"offline","session":"x"}"#,
        QoS::AtLeastOnce,
        true,
    ));
    let (_client, mut connection) = rumqttc::Client::new(options, 8);
    let refused = connection
        .iter()
        .take(3)
        .any(|event| matches!(event, Err(rumqttc::ConnectionError::ConnectionRefused(_))));
    assert!(refused, "a Last Will on another player's topic");
}

fn port(url: &str) -> u16 {
    url.rsplit_once(':').unwrap().1.parse().unwrap()
}

#[test]
fn mosquitto_with_the_deployed_acl_refuses_the_same_and_players_refuse_forged_desired_state() {
    let dir = tempfile::tempdir().unwrap();
    let mosquitto = Mosquitto::start(dir.path());
    let ctl = Controller::start(dir.path(), Broker::External(&mosquitto));
    let p1 = mosquitto.enrol(&ctl, "p1", "kita", 5);
    let p2 = mosquitto.enrol(&ctl, "p2", "kita", 5);
    let p3_config = mosquitto.enrol(&ctl, "p3", "naka", 5);
    let mut victim = start_player(dir.path(), &p2, "p2");
    wait_configured(&ctl, "p2");
    let p3 = quiet_p3(&mosquitto.url(), &p3_config);
    wait_until(Duration::from_secs(10), "p3 online", || ctl.is_online("p3"));
    let alert = drill_for_naka(&ctl);

    let thief = connect(&mosquitto.url(), "p1", "p1", &player_password(&p1));
    thief
        .wait_connected(Duration::from_secs(5))
        .expect("the thief logs in with p1's real credentials");
    attack(&thief, &alert);
    own_hello_arrives(&ctl, &thief);
    victim_unharmed(&ctl, dir.path());
    no_spoofed_ack_counted(&ctl, &p3, &alert);

    // A broker insider (the controller's login, another key) injects a configuration.
    let insider = connect(
        &mosquitto.url(),
        "insider",
        "controller",
        &mosquitto.controller_password,
    );
    insider.wait_connected(Duration::from_secs(5)).unwrap();
    insider
        .subscribe("signage/v1/players/p2/health", Duration::from_secs(5))
        .unwrap();
    let forged = DesiredConfig {
        id: "p2".parse().unwrap(),
        revision: 1_000_000,
        ward: Some("naka".into()),
        groups: vec![],
        name: None,
        restarts: 0,
        build: None,
        issued_at: Utc::now(),
    };
    let wrong_key = SigningKey::from_bytes(&[9; 32]);
    insider.publish_raw(
        "signage/v1/players/p2/config",
        QoS::AtLeastOnce,
        false,
        encode_signed(&sign_desired(&forged, &wrong_key)),
    );
    let refused = wait_for_rejection(&insider);
    assert!(refused.contains("signature"), "{refused}");
    victim_unharmed(&ctl, dir.path());
    broker_holds_only_signed_state(&ctl, &mosquitto.url(), &p3, &alert, &mut victim, &p2);
}

/// The message of the first `desired_rejected` health event the victim publishes.
fn wait_for_rejection(observer: &TestClient) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while std::time::Instant::now() < deadline {
        let Some(payload) = observer.next_publish(Duration::from_secs(1)) else {
            continue;
        };
        let Ok(health) = serde_json::from_slice::<PlayerHealth>(&payload) else {
            continue;
        };
        if let Some(event) = health.events.iter().find(|e| e.kind == "desired_rejected") {
            return event.message.clone();
        }
    }
    panic!("the victim did not report the forged configuration in its health");
}

/// `mqtts://` on the embedded broker: `player add` gives the player the controller's CA and
/// the TLS address; the player comes online over TLS, behind the same gate; plain MQTT on the
/// TLS port gets nowhere.
#[test]
fn the_embedded_broker_speaks_tls_with_a_ca_player_add_hands_out() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("controller.toml");
    std::fs::write(&config, "[mqtt]\ntls_listen = \"127.0.0.1:0\"\n").unwrap();
    let ctl = Controller::start_with(
        dir.path(),
        Broker::Embedded,
        &["--config", config.to_str().unwrap()],
    );
    let endpoints: Value =
        serde_json::from_slice(&std::fs::read(ctl.data_dir.join("endpoints.json")).unwrap())
            .unwrap();
    let tls_url = endpoints["mqtts"]
        .as_str()
        .expect("an mqtts address")
        .to_string();
    assert!(tls_url.starts_with("mqtts://127.0.0.1:"), "{tls_url}");

    let p1 = ctl.add_player("p1", "kita", 5);
    let written = std::fs::read_to_string(&p1).unwrap();
    assert!(
        written.contains(&format!("broker_url = \"{tls_url}\"")),
        "{written}"
    );
    assert!(written.contains("-----BEGIN CERTIFICATE-----"), "{written}");
    let _player = start_player(dir.path(), &p1, "p1");
    wait_configured(&ctl, "p1");

    let plain = connect(
        &format!("mqtt://127.0.0.1:{}", port(&tls_url)),
        "p1-plain",
        "p1",
        &player_password(&p1),
    );
    assert!(
        plain.wait_connected(Duration::from_secs(5)).is_err(),
        "plain MQTT on the TLS port"
    );
    assert!(ctl.is_online("p1"), "the TLS player stays online");
}

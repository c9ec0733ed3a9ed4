//! Emergency alerts on real players: a real controller (its alert-signing key), a Mosquitto with
//! the deployed ACL, and real player processes. The test signs `Broadcast`s with the
//! controller's key and publishes them retained, straight to the broker with the controller's
//! login, on the per-target alert topics, as the controller does; then checks what each player
//! shows (`now.json`, a screenshot through the controller's API), what it acknowledges
//! (`alert_ack`) and what it refuses (`health`). Only the controller's login may place alerts
//! or read every player's acknowledgements, on Mosquitto and on the embedded broker alike.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alerts::message::{AlertMessage, Broadcast, ClearReason};
use alerts::model::{Alert, MsgType, Status};
use alerts::signing::{SignedEnvelope, SigningKey};
use alerts::templates::{Placeholders, TemplateKind, WarningLevel, cap_infos};
use chrono::{DateTime, TimeDelta, Utc};
use content::ids::{AlertId, WardId};
use content::protocol::{AlertAck, AlertAckState, AlertScope, PlayerHealth, Topic};
use content::schedule::Target;
use e2e::{
    Broker, Controller, Mosquitto, Proc, player_now, player_password, start_player, wait_until,
};
use rumqttc::{Client, Event, MqttOptions, Packet, QoS};

/// Everything the observer saw, by topic (retained and live, in order).
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Message>>>);

/// Topic and payload.
type Message = (String, Vec<u8>);

/// A participant on the broker: with the controller's login it publishes alerts and watches
/// acks and health; with a player's, it tries to.
struct Observer {
    client: Client,
    seen: Seen,
}

impl Observer {
    fn connect(url: &str, client_id: &str, user: &str, password: &str) -> Observer {
        let addr = url.trim_start_matches("mqtt://");
        let (host, port) = addr.rsplit_once(':').unwrap();
        let mut options = MqttOptions::new(client_id, host, port.parse().unwrap());
        options.set_credentials(user, password);
        options.set_keep_alive(Duration::from_secs(5));
        let (client, mut connection) = Client::new(options, 256);
        let seen = Seen::default();
        let (tx, rx) = std::sync::mpsc::channel();
        let log = seen.clone();
        std::thread::spawn(move || {
            for event in connection.iter() {
                match event {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        let _ = tx.send(());
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        log.0
                            .lock()
                            .unwrap()
                            .push((p.topic.clone(), p.payload.to_vec()));
                    }
                    Ok(_) => {}
                    Err(_) => std::thread::sleep(Duration::from_millis(100)),
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(10))
            .expect("observer connected");
        for topic in [
            "signage/v1/players/+/alert_ack",
            "signage/v1/players/+/health",
        ] {
            client.subscribe(topic, QoS::AtLeastOnce).unwrap();
        }
        Observer { client, seen }
    }

    fn publish_retained(&self, topic: &str, payload: Vec<u8>) {
        self.client
            .publish(topic, QoS::AtLeastOnce, true, payload)
            .unwrap();
    }

    fn acks(&self, player: &str) -> Vec<AlertAck> {
        let topic = format!("signage/v1/players/{player}/alert_ack");
        self.seen
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, _)| *t == topic)
            .filter_map(|(_, p)| serde_json::from_slice(p).ok())
            .collect()
    }

    fn ack(
        &self,
        player: &str,
        alert: &str,
        revision: u32,
        state: AlertAckState,
    ) -> Option<AlertAck> {
        self.acks(player)
            .into_iter()
            .find(|a| a.alert.0 == alert && a.revision == revision && a.state == state)
    }

    fn wait_ack(&self, player: &str, alert: &str, revision: u32, state: AlertAckState) -> AlertAck {
        wait_until(
            Duration::from_secs(10),
            &format!("{player} to acknowledge {alert} r{revision} {state:?}"),
            || self.ack(player, alert, revision, state).is_some(),
        );
        self.ack(player, alert, revision, state).unwrap()
    }

    fn rejections(&self, player: &str) -> usize {
        let topic = format!("signage/v1/players/{player}/health");
        let seen = self.seen.0.lock().unwrap();
        seen.iter()
            .rev()
            .find(|(t, _)| *t == topic)
            .and_then(|(_, p)| serde_json::from_slice::<PlayerHealth>(p).ok())
            .map(|h| {
                h.events
                    .iter()
                    .filter(|e| e.kind == "alert_rejected")
                    .count()
            })
            .unwrap_or(0)
    }
}

fn message(
    id: &str,
    revision: u32,
    level: u8,
    target: Target,
    status: Status,
    expires: Option<DateTime<Utc>>,
) -> AlertMessage {
    let infos = cap_infos(
        TemplateKind::Earthquake,
        &Placeholders {
            area: "大阪市".into(),
            shelter: None,
            ..Default::default()
        },
        status,
        expires.map(|e| e.fixed_offset()),
    )
    .unwrap();
    let now = Utc::now();
    AlertMessage {
        id: AlertId::from(id),
        revision,
        targets: vec![target],
        level: WarningLevel::new(level).unwrap(),
        issued_at: now,
        cap: Alert {
            msg_type: if revision == 1 {
                MsgType::Alert
            } else {
                MsgType::Update
            },
            ..Alert::new(
                format!("{id}-r{revision}"),
                "bousai@city.osaka.example".into(),
                now.fixed_offset(),
                status,
                infos,
            )
        },
        valid_until: Some(now + chrono::TimeDelta::hours(1)),
    }
}

fn topic_for(target: &Target, id: &str) -> String {
    Topic::Alert(AlertScope::from_target(target), AlertId::from(id)).to_string()
}

fn show(observer: &Observer, key: &SigningKey, m: &AlertMessage) {
    let envelope = alerts::signing::sign(&Broadcast::Show(Box::new(m.clone())), key);
    observer.publish_retained(
        &topic_for(&m.targets[0], &m.id.0),
        serde_json::to_vec(&envelope).unwrap(),
    );
}

fn clear(observer: &Observer, key: &SigningKey, target: &Target, id: &str) {
    let envelope = alerts::signing::sign(
        &Broadcast::Clear {
            id: AlertId::from(id),
            reason: ClearReason::Cancelled,
            at: Utc::now(),
            expires: None,
        },
        key,
    );
    observer.publish_retained(
        &topic_for(target, id),
        serde_json::to_vec(&envelope).unwrap(),
    );
}

fn now_kind(dir: &Path, name: &str) -> String {
    player_now(dir, name)
        .and_then(|n| n["kind"].as_str().map(String::from))
        .unwrap_or_default()
}

fn ward(w: &str) -> Target {
    Target::Ward(WardId::from(w))
}

/// A player started against a broker nobody listens on: whatever it shows comes from its
/// cache directory alone.
fn start_offline(dir: &Path, config: &Path, name: &str) -> Proc {
    let mut cmd = e2e::player_command(dir, config, name, false);
    cmd.args([
        "--broker-url",
        &format!("mqtt://127.0.0.1:{}", e2e::free_port()),
    ]);
    Proc::spawn(&mut cmd, dir, &format!("{name}-offline"))
}

struct Setup {
    dir: tempfile::TempDir,
    controller: Controller,
    key: SigningKey,
    observer: Observer,
    configs: Vec<PathBuf>,
    _mosquitto: Mosquitto,
}

fn setup(players: &[(&str, &str)]) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let mosquitto = Mosquitto::start(dir.path());
    let controller = Controller::start(dir.path(), Broker::External(&mosquitto));
    let configs: Vec<PathBuf> = players
        .iter()
        .map(|(id, w)| mosquitto.enrol(&controller, id, w, 5))
        .collect();
    let observer = Observer::connect(
        &mosquitto.url(),
        "alert-test-observer",
        "controller",
        &mosquitto.controller_password,
    );
    let key = controller::alert_key::load_or_create(&controller.data_dir).unwrap();
    Setup {
        dir,
        controller,
        key,
        observer,
        configs,
        _mosquitto: mosquitto,
    }
}

fn wait_ready(s: &Setup, id: &str) {
    wait_until(
        Duration::from_secs(15),
        &format!("{id} online with its configuration"),
        || {
            s.controller
                .player(id)
                .is_some_and(|p| p["online"] == true && p["acked_revision"] == 1)
        },
    );
    // Its ward subscription follows the configuration acknowledgement.
    std::thread::sleep(Duration::from_millis(300));
}

#[test]
fn targeted_players_show_update_cancel_and_refuse_forgeries() {
    let s = setup(&[("kita-1", "kita"), ("naniwa-1", "naniwa")]);
    let dir = s.dir.path();
    let mut kita = start_player(dir, &s.configs[0], "kita-1");
    let mut naniwa = start_player(dir, &s.configs[1], "naniwa-1");
    wait_ready(&s, "kita-1");
    wait_ready(&s, "naniwa-1");

    // Issued to ward kita: kita-1 takes over and says when; naniwa-1 does not.
    let issued = Utc::now();
    show(
        &s.observer,
        &s.key,
        &message("quake", 1, 3, ward("kita"), Status::Actual, None),
    );
    let ack = s
        .observer
        .wait_ack("kita-1", "quake", 1, AlertAckState::Showing);
    let displayed = ack.displayed_at.expect("showing carries displayed_at");
    assert!(displayed >= issued - TimeDelta::seconds(1));
    eprintln!(
        "publish -> showing ack (render off): {:?}",
        displayed - issued
    );
    wait_until(Duration::from_secs(5), "kita-1 reports an alert", || {
        now_kind(dir, "kita-1") == "alert"
    });
    assert!(
        dir.join("kita-1-cache/alerts.json").exists(),
        "persisted before the ack"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(s.observer.acks("naniwa-1").is_empty(), "not targeted");
    assert_ne!(now_kind(dir, "naniwa-1"), "alert");

    // Update replaces; Cancel clears.
    show(
        &s.observer,
        &s.key,
        &message("quake", 2, 4, ward("kita"), Status::Actual, None),
    );
    s.observer
        .wait_ack("kita-1", "quake", 2, AlertAckState::Showing);
    clear(&s.observer, &s.key, &ward("kita"), "quake");
    s.observer
        .wait_ack("kita-1", "quake", 2, AlertAckState::Cleared);
    wait_until(
        Duration::from_secs(5),
        "kita-1 back to its schedule",
        || now_kind(dir, "kita-1") != "alert",
    );

    // Forged (another key) and unsigned messages on the `all` topic: refused by everyone.
    let before = (
        s.observer.rejections("kita-1"),
        s.observer.rejections("naniwa-1"),
    );
    let forger = SigningKey::from_bytes(&[9; 32]);
    let fake = message("fake", 1, 5, Target::All, Status::Actual, None);
    let forged = alerts::signing::sign(&Broadcast::Show(Box::new(fake.clone())), &forger);
    s.observer.publish_retained(
        &topic_for(&Target::All, "fake"),
        serde_json::to_vec(&forged).unwrap(),
    );
    let unsigned = SignedEnvelope {
        payload: forged.payload.clone(),
        signature: String::new(),
    };
    s.observer.publish_retained(
        &topic_for(&Target::All, "unsigned"),
        serde_json::to_vec(&unsigned).unwrap(),
    );
    // Genuine signatures, but an old copy (its validity over) and one without any validity.
    let mut lapsed = message("lapsed", 1, 5, Target::All, Status::Actual, None);
    lapsed.valid_until = Some(Utc::now() - chrono::TimeDelta::minutes(1));
    show(&s.observer, &s.key, &lapsed);
    let mut timeless = message("timeless", 1, 5, Target::All, Status::Actual, None);
    timeless.valid_until = None;
    show(&s.observer, &s.key, &timeless);
    wait_until(
        Duration::from_secs(10),
        "both players report four refusals",
        || {
            s.observer.rejections("kita-1") >= before.0 + 4
                && s.observer.rejections("naniwa-1") >= before.1 + 4
        },
    );
    std::thread::sleep(Duration::from_millis(500));
    for p in ["kita-1", "naniwa-1"] {
        assert!(
            s.observer
                .acks(p)
                .iter()
                .all(|a| !["fake", "lapsed", "timeless"].contains(&a.alert.0.as_str())),
            "{p} acknowledged a forgery or a stale copy"
        );
        assert_ne!(now_kind(dir, p), "alert", "{p} shows a forgery");
    }
    assert!(kita.log().contains("refused an alert message"));

    // Offline when issued: shown within 2 s of coming back.
    naniwa.kill();
    show(
        &s.observer,
        &s.key,
        &message("flood", 1, 4, ward("naniwa"), Status::Actual, None),
    );
    std::thread::sleep(Duration::from_millis(300));
    let back = Utc::now();
    let _naniwa = start_player(dir, &s.configs[1], "naniwa-1");
    let ack = s
        .observer
        .wait_ack("naniwa-1", "flood", 1, AlertAckState::Showing);
    let took = ack.displayed_at.unwrap() - back;
    eprintln!("offline player: restart -> alert displayed in {took:?}");
    assert!(took <= TimeDelta::seconds(2), "took {took:?}");

    // Expiring while offline: kita-1 holds an alert that ends in 3 s, goes away, comes back
    // (without a broker) after the end: nothing shown. Meanwhile its running peer clears it on
    // its own timer.
    let ends = Utc::now() + TimeDelta::seconds(3);
    show(
        &s.observer,
        &s.key,
        &message("short", 1, 3, Target::All, Status::Actual, Some(ends)),
    );
    s.observer
        .wait_ack("kita-1", "short", 1, AlertAckState::Showing);
    s.observer
        .wait_ack("naniwa-1", "short", 1, AlertAckState::Showing);
    kita.kill();
    s.observer
        .wait_ack("naniwa-1", "short", 1, AlertAckState::Cleared);
    std::fs::remove_file(dir.join("kita-1-cache/now.json")).unwrap();
    let mut offline = start_offline(dir, &s.configs[0], "kita-1");
    wait_until(
        Duration::from_secs(10),
        "the offline player to decide",
        || !now_kind(dir, "kita-1").is_empty() && offline.log().contains("player starting"),
    );
    std::thread::sleep(Duration::from_millis(1000));
    assert_ne!(
        now_kind(dir, "kita-1"),
        "alert",
        "an expired alert is not shown"
    );
    offline.kill();

    // Restarted mid-alert: shown again at once, from its own disk, broker or not.
    let drill = message("drill", 1, 3, ward("kita"), Status::Exercise, None);
    let mut kita = start_player(dir, &s.configs[0], "kita-1");
    show(&s.observer, &s.key, &drill);
    s.observer
        .wait_ack("kita-1", "drill", 1, AlertAckState::Showing);
    kita.kill();
    std::fs::remove_file(dir.join("kita-1-cache/now.json")).unwrap();
    let started = Instant::now();
    let mut offline = start_offline(dir, &s.configs[0], "kita-1");
    // A generous bound: a loaded CI host once took over 5 s to start the player. On a
    // timeout the player's own log says where it was.
    let log = offline.stderr.clone();
    let took = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_until(
            Duration::from_secs(15),
            "the held alert on screen after restart",
            || now_kind(dir, "kita-1") == "alert",
        )
    }))
    .unwrap_or_else(|_| {
        panic!(
            "the held alert was not on screen 15 s after the restart; now = {:?}; player log:\n{}",
            e2e::player_now(dir, "kita-1"),
            std::fs::read_to_string(&log).unwrap_or_default()
        )
    });
    eprintln!(
        "restart -> held alert shown in {took:?} (since spawn {:?})",
        started.elapsed()
    );
    offline.kill();
}

/// A player drawing headless: the takeover's colour in its screenshot, and the ack's display
/// time measured at the compositor. Prints publish -> displayed_at over a few rounds.
#[test]
fn a_rendering_player_takes_over_its_screen() {
    let s = setup(&[("kita-r", "kita")]);
    let dir = s.dir.path();
    let config = &s.configs[0];
    // E2E_ALERT_SCREEN=1920x1080 measures a full-HD screen (the screenshot is scaled to 640).
    let screen = std::env::var("E2E_ALERT_SCREEN").unwrap_or_else(|_| "640x360".into());
    let (w, h) = screen.split_once('x').expect("WIDTHxHEIGHT");
    let size = (w.parse().expect("width"), h.parse().expect("height"));
    let player = e2e::start_rendering_player(dir, config, "kita-r", size, 30);
    wait_ready(&s, "kita-r");
    // Some content underneath (and a manifest, whose origin is where screenshots go).
    let ctl = &s.controller;
    ctl.put(
        "/api/v1/assets/notice",
        serde_json::json!({"kind": "text_slide",
               "texts": {"ja": {"title": "ようこそ", "body": "窓口は二階です"}},
               "colours": {"text": "#ffffff", "background": "#003366"}}),
    );
    ctl.put(
        "/api/v1/playlists/p",
        serde_json::json!({"items": [{"asset": "notice"}]}),
    );
    ctl.put(
        "/api/v1/layouts/one",
        serde_json::json!({"canvas": {"width": 640, "height": 360}, "zones": [
            {"id": "z", "x": 0, "y": 0, "width": 640, "height": 360, "playlist": "p"}]}),
    );
    ctl.put(
        "/api/v1/schedule/fallback",
        serde_json::json!({"layout": "one"}),
    );
    wait_until(Duration::from_secs(20), "the schedule on screen", || {
        now_kind(dir, "kita-r") == "fallback"
    });

    let mut latencies = Vec::new();
    for round in 1..=20u32 {
        let id = format!("r{round}");
        // Round 2 is a drill: it must not look like the real thing.
        let status = if round == 2 {
            Status::Exercise
        } else {
            Status::Actual
        };
        let issued = Utc::now();
        show(
            &s.observer,
            &s.key,
            &message(&id, 1, 4, ward("kita"), status, None),
        );
        let ack = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            s.observer
                .wait_ack("kita-r", &id, 1, AlertAckState::Showing)
        }))
        .unwrap_or_else(|_| {
            panic!(
                "acks {:?}\nplayer log:\n{}",
                s.observer.acks("kita-r"),
                player.log()
            )
        });
        latencies.push((ack.displayed_at.unwrap() - issued).num_milliseconds());
        if round <= 2 {
            let (code, png, _) = s
                .controller
                .get_bytes("/api/v1/players/kita-r/screenshot?max_width=640", None);
            assert_eq!(
                code,
                200,
                "{}\n{}",
                String::from_utf8_lossy(&png),
                player.log()
            );
            let purple = e2e::png_share(&png, |p| {
                p[0].abs_diff(170) < 30 && p[1] < 40 && p[2].abs_diff(170) < 30
            });
            // The drill palette's slate body (38, 50, 92).
            let slate = e2e::png_share(&png, |p| {
                p[0].abs_diff(38) < 25 && p[1].abs_diff(50) < 25 && p[2].abs_diff(92) < 25
            });
            if round == 1 {
                assert!(purple > 0.5, "level 4 purple covers only {purple:.2}");
            } else {
                assert!(
                    purple < 0.1 && slate > 0.3,
                    "a drill looks like a real alert: purple {purple:.2}, slate {slate:.2}"
                );
            }
        }
        clear(&s.observer, &s.key, &ward("kita"), &id);
        s.observer
            .wait_ack("kita-r", &id, 1, AlertAckState::Cleared);
    }
    latencies.sort();
    // Figures, not assertions (benchmarks measure speed): with 20 rounds p99 is the maximum.
    eprintln!(
        "rendering player publish -> displayed_at ms: {latencies:?} (p50 {} p99 {})",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );
    drop(player);
}

/// Against Mosquitto with the deployed ACL: players may read the alert topics and write their
/// `alert_ack`; only the controller's login may publish alerts, so a player's login cannot
/// even place one (and a placed one would still need the controller's signature).
#[test]
fn mosquitto_acl_lets_alerts_and_acks_through() {
    let dir = tempfile::tempdir().unwrap();
    let mosquitto = Mosquitto::start(dir.path());
    let controller = Controller::start(dir.path(), Broker::External(&mosquitto));
    let config = mosquitto.enrol(&controller, "kita-1", "kita", 5);
    let intruder_config = mosquitto.enrol(&controller, "intruder", "kita", 5);
    let _kita = start_player(dir.path(), &config, "kita-1");
    wait_until(
        Duration::from_secs(15),
        "kita-1 online and configured",
        || {
            controller
                .player("kita-1")
                .is_some_and(|p| p["online"] == true && p["acked_revision"] == 1)
        },
    );
    std::thread::sleep(Duration::from_millis(300));
    let key = controller::alert_key::load_or_create(&controller.data_dir).unwrap();
    let staff = Observer::connect(
        &mosquitto.url(),
        "alert-test-controller",
        "controller",
        &mosquitto.controller_password,
    );
    let intruder = Observer::connect(
        &mosquitto.url(),
        "intruder",
        "intruder",
        &player_password(&intruder_config),
    );
    // Even a correctly signed message cannot be placed by a player's login.
    show(
        &intruder,
        &key,
        &message("sneaky", 1, 5, ward("kita"), Status::Actual, None),
    );
    show(
        &staff,
        &key,
        &message("quake", 1, 3, ward("kita"), Status::Actual, None),
    );
    staff.wait_ack("kita-1", "quake", 1, AlertAckState::Showing);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        staff.acks("kita-1").iter().all(|a| a.alert.0 != "sneaky"),
        "the ACL let a player publish an alert"
    );
    clear(&staff, &key, &ward("kita"), "quake");
    staff.wait_ack("kita-1", "quake", 1, AlertAckState::Cleared);
}

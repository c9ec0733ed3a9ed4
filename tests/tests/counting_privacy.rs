//! Privacy of people counting: a player counts the synthetic `walk` scene (one person crosses
//! the door line `in`) through a Mosquitto broker with the deployed ACL, while an observer with
//! the controller's account reads every topic (`#`). Every payload on every topic must be
//! small JSON that parses as a message of the protocol (no picture, nothing frame-like), the
//! counts must reach the controller (so the ACL lets them through), and afterwards no file in
//! the player's cache or working directory may look like an image or a raw frame.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use content::protocol::{self, Presence, Topic};
use e2e::{Broker, Controller, Mosquitto, Proc, player_cache, wait_until};
use rumqttc::{Client, Event, MqttOptions, Packet, QoS};

const CAMERA: &str = "render = false\n[camera]\nsource = \"synthetic:walk\"\n\
    lines = [\"door:320,100,320,460\"]\nzones = [\"right:330,120,620,120,620,470,330,470\"]\n\
    publish_interval_secs = 1\n";

/// A topic and a payload as the observer saw them.
type Message = (String, Vec<u8>);

/// The smallest frame the pipeline could hold: 320 x 240 grey pixels.
const SMALLEST_FRAME_BYTES: u64 = 320 * 240;

fn looks_like_an_image(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x89, b'P', b'N', b'G'])
        || bytes.starts_with(&[0xff, 0xd8, 0xff])
        || bytes.starts_with(b"GIF8")
        || bytes.starts_with(b"BM")
        || (bytes.len() > 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP")
}

fn known_message(topic: &str, payload: &[u8]) -> bool {
    if Topic::parse(topic) == Ok(Topic::ControllerPresence) {
        return serde_json::from_slice::<Presence>(payload).is_ok();
    }
    protocol::decode_from_player(topic, payload).is_ok()
        || protocol::decode_to_player(topic, payload).is_ok()
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn only_counts_leave_a_counting_player_and_nothing_image_like_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mosquitto = Mosquitto::start(dir.path());
    let controller = Controller::start(dir.path(), Broker::External(&mosquitto));
    let config = mosquitto.enrol(&controller, "cam-2", "kita", 2);
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(CAMERA);
    std::fs::write(&config, text).unwrap();

    // Two observers on "#": the controller's account reads everything the player sends, the
    // player's own login (another client id) everything it may receive.
    let seen: Arc<Mutex<Vec<Message>>> = Arc::default();
    let observe = |client_id: &str, user: &str, password: &str| {
        let mut options = MqttOptions::new(client_id, "127.0.0.1", mosquitto.port);
        options.set_credentials(user, password);
        options.set_max_packet_size(4 << 20, 4 << 20);
        let (observer, mut connection) = Client::new(options, 64);
        observer.subscribe("#", QoS::AtLeastOnce).unwrap();
        let subscribed = Arc::new(Mutex::new(false));
        {
            let seen = seen.clone();
            let subscribed = subscribed.clone();
            std::thread::spawn(move || {
                for event in connection.iter() {
                    match event {
                        Ok(Event::Incoming(Packet::Publish(p))) => {
                            seen.lock()
                                .unwrap()
                                .push((p.topic.clone(), p.payload.to_vec()));
                        }
                        Ok(Event::Incoming(Packet::SubAck(_))) => {
                            *subscribed.lock().unwrap() = true
                        }
                        Ok(_) => {}
                        Err(_) => return,
                    }
                }
            });
        }
        wait_until(
            Duration::from_secs(10),
            "the observer's subscription",
            || *subscribed.lock().unwrap(),
        );
        observer
    };
    let observers = [
        observe(
            "privacy-observer",
            "controller",
            &mosquitto.controller_password,
        ),
        observe(
            "privacy-observer-player",
            "cam-2",
            &e2e::player_password(&config),
        ),
    ];

    let work = dir.path().join("cam-2-work");
    std::fs::create_dir_all(&work).unwrap();
    let mut player = Proc::spawn(
        e2e::player_command(dir.path(), &config, "cam-2", false).current_dir(&work),
        dir.path(),
        "cam-2",
    );
    wait_until(
        Duration::from_secs(60),
        "the synthetic scene to end",
        || {
            assert!(player.is_running(), "player exited:\n{}", player.log());
            player.log().contains("the camera input ended")
        },
    );
    wait_until(
        Duration::from_secs(30),
        "the crossing stored by the controller",
        || {
            let (_, body) = controller.get("/api/v1/players/cam-2/counts");
            body["totals"]["lines"]["door"]["in"] == 1
                && std::fs::read_to_string(player_cache(dir.path(), "cam-2").join("counts.jsonl"))
                    .is_ok_and(|t| t.trim().is_empty())
        },
    );
    std::thread::sleep(Duration::from_secs(1));
    player.kill();
    for observer in &observers {
        let _ = observer.disconnect();
    }

    let seen = seen.lock().unwrap();
    let topics: std::collections::BTreeSet<&str> = seen
        .iter()
        .map(|(t, _)| t.rsplit('/').next().unwrap())
        .collect();
    for needed in ["counts", "counts_ack", "presence", "hello"] {
        assert!(
            topics.contains(needed),
            "no {needed} message seen: {topics:?}"
        );
    }
    for (topic, payload) in seen.iter() {
        assert!(
            payload.len() <= 8 * 1024,
            "{topic}: {} bytes is not a small message",
            payload.len()
        );
        assert!(!looks_like_an_image(payload), "{topic}: image-like payload");
        // A sender clearing its own retained message (the contract allows it on some topics).
        if payload.is_empty() && Topic::parse(topic).is_ok_and(|t| t.spec().sender_clears) {
            continue;
        }
        assert!(
            serde_json::from_slice::<serde_json::Value>(payload).is_ok(),
            "{topic}: not JSON: {:?}",
            String::from_utf8_lossy(&payload[..payload.len().min(80)])
        );
        assert!(
            known_message(topic, payload),
            "{topic}: not a message of the protocol: {}",
            String::from_utf8_lossy(payload)
        );
    }

    let mut written = Vec::new();
    files(&player_cache(dir.path(), "cam-2"), &mut written);
    files(&work, &mut written);
    assert!(!written.is_empty());
    for path in written {
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !looks_like_an_image(&bytes),
            "{} looks like an image",
            path.display()
        );
        assert!(
            (bytes.len() as u64) < SMALLEST_FRAME_BYTES,
            "{} has {} bytes, as much as a camera frame",
            path.display(),
            bytes.len()
        );
    }
}

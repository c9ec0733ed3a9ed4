//! Audience rules end to end: a real controller and a player whose camera is the synthetic
//! `crowd` scene (an empty hall for 15 s, then one person every 5 s, 12 at about 76 s; see
//! `analytics::edge::synthetic_camera`). The player's own audience rules switch its screen from
//! the attract loop (nobody near) to the crowd slide (10 people or more, as in the demo), counted
//! by the default motion detector, and the controller's
//! `now` endpoint shows the reason the player reported; the preview endpoint says what a given
//! audience would choose and why.

use std::time::Duration;

use e2e::{Broker, Controller, Proc, tokyo_date, wait_until};
use serde_json::{Value, json};

const CAMERA: &str = "render = false\n[camera]\nsource = \"synthetic:crowd\"\n\
    zones = [\"hall:1,1,639,1,639,479,1,479\"]\npublish_interval_secs = 5\n";

fn reported_reason(controller: &Controller) -> String {
    let (status, body) = controller.get("/api/v1/players/hall-1/now");
    assert_eq!(status, 200, "{body}");
    body["reported"]["reason"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn a_growing_crowd_switches_the_screen_and_the_controller_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let controller = Controller::start(dir.path(), Broker::Embedded);
    controller.text_slide_layout("usual", "Welcome");
    controller.text_slide_layout("online", "Online procedures");
    controller.text_slide_layout("attract", "Hello!");
    controller.put("/api/v1/schedule/fallback", json!({"layout": "usual"}));
    for (id, condition, priority) in [
        ("crowd-online", json!({"at_least": 10}), 20),
        ("attract", json!({"below": 1}), 10),
    ] {
        let layout = if id == "attract" { "attract" } else { "online" };
        controller.put(
            &format!("/api/v1/schedule/entries/{id}"),
            json!({"targets": [{"kind": "all"}], "dates": {"start": tokyo_date(-1)},
                   "occupancy": condition, "layout": layout, "priority": priority}),
        );
    }
    let config = controller.add_player("hall-1", "kita", 2);
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(CAMERA);
    std::fs::write(&config, text).unwrap();

    // The preview: what each audience would choose, and why (no player needed).
    let preview = |query: &str| -> Value {
        let (status, body) = controller.get(&format!("/api/v1/players/hall-1/preview?{query}"));
        assert_eq!(status, 200, "{body}");
        body
    };
    let crowd = preview(&format!(
        "occupancy=17&at={}T12:00:00%2B09:00",
        tokyo_date(1)
    ));
    assert_eq!(crowd["reason"], "entry crowd-online: occupancy 17 >= 10");
    assert_eq!(crowd["selection"]["entry"], "crowd-online");
    assert_eq!(crowd["selection"]["screen"]["layout"], "online");
    assert_eq!(
        preview("occupancy=0")["reason"],
        "entry attract: occupancy 0 < 1"
    );
    assert_eq!(
        preview("")["reason"],
        "fallback: no entry applies",
        "an unknown audience matches no audience rule"
    );
    let (status, body) = controller.get("/api/v1/players/hall-1/preview?occupancy=many");
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("whole number"),
        "{body}"
    );

    let mut player = Proc::spawn(
        &mut e2e::player_command(dir.path(), &config, "hall-1", false),
        dir.path(),
        "hall-1",
    );
    // The hall is empty for the first 15 s of the scene.
    wait_until(Duration::from_secs(40), "the attract loop", || {
        assert!(player.is_running(), "player exited:\n{}", player.log());
        reported_reason(&controller).starts_with("entry attract: occupancy 0 < 1")
    });
    // People arrive from 15 s on, one every 5 s: the tenth is in at about 62 s (the motion
    // detector counts 10 from about 60 s to 135 s of the scene; see analytics/tests/crowd_scene.rs).
    let mut last = String::new();
    wait_until(Duration::from_secs(100), "the crowd slide", || {
        assert!(player.is_running(), "player exited:\n{}", player.log());
        let reason = reported_reason(&controller);
        if reason != last {
            eprintln!("player reports: {reason}");
            last = reason.clone();
        }
        reason.starts_with("entry crowd-online: occupancy")
    });
    let (_, now) = controller.get("/api/v1/players/hall-1/now");
    assert_eq!(now["reported"]["layout"], "online", "{now}");
    assert_eq!(now["reported"]["entry"], "crowd-online", "{now}");
    player.kill();
}

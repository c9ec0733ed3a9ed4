//! People counting end to end: a player whose camera is the synthetic `crossings` scene
//! (6 people cross the door line `in`, 1 `out`, by construction; see
//! `analytics::edge::synthetic_camera`) publishes counts every 2 s. The controller (and its
//! embedded broker) is killed while the scene runs and started again: every record still
//! arrives exactly once and the totals are exact. Meanwhile the live occupancy of the zone
//! right of the door drives the player's own selection (an entry for "at least one person").

use std::path::{Path, PathBuf};
use std::time::Duration;

use e2e::{
    Broker, Controller, Proc, player_cache, player_command, player_now, start_player, tokyo_date,
    wait_until,
};
use serde_json::{Value, json};

const CAMERA: &str = "render = false\n[camera]\nsource = \"synthetic:crossings\"\n\
    lines = [\"door:320,100,320,460\"]\nzones = [\"right:330,120,620,120,620,470,330,470\"]\n\
    publish_interval_secs = 2\n";

fn pending_counts(dir: &Path, name: &str) -> usize {
    std::fs::read_to_string(player_cache(dir, name).join("counts.jsonl"))
        .map(|t| t.lines().filter(|l| !l.trim().is_empty()).count())
        .unwrap_or(0)
}

/// Player `cam-1` in ward `kita`, its camera the synthetic crossings scene.
fn camera_player(controller: &Controller) -> PathBuf {
    let config = controller.add_player("cam-1", "kita", 2);
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(CAMERA);
    std::fs::write(&config, text).unwrap();
    config
}

fn layout(dir: &Path, name: &str) -> Option<String> {
    player_now(dir, name)?["layout"].as_str().map(String::from)
}

#[test]
fn counts_reach_the_controller_exactly_once_across_a_controller_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut controller = Controller::start(dir.path(), Broker::Embedded);
    controller.text_slide_layout("quiet", "Welcome");
    controller.text_slide_layout("crowd", "Please take a number");
    controller.put("/api/v1/schedule/fallback", json!({"layout": "quiet"}));
    controller.put(
        "/api/v1/schedule/entries/crowd",
        json!({"targets": [{"kind": "all"}], "dates": {"start": tokyo_date(-1)},
               "occupancy": {"at_least": 1}, "layout": "crowd", "priority": 5}),
    );
    let config = camera_player(&controller);
    let mut player = start_player(dir.path(), &config, "cam-1");

    let records = |c: &Controller| -> Value {
        let (status, body) = c.get("/api/v1/players/cam-1/counts");
        assert_eq!(status, 200, "{body}");
        body
    };
    wait_until(
        Duration::from_secs(30),
        "three counts records stored",
        || {
            assert!(player.is_running(), "player exited:\n{}", player.log());
            records(&controller)["totals"]["records"]
                .as_u64()
                .unwrap_or(0)
                >= 3
        },
    );
    // People in the zone right of the door: the occupancy entry applies on the player.
    wait_until(
        Duration::from_secs(30),
        "the player to select the occupancy entry",
        || layout(dir.path(), "cam-1").as_deref() == Some("crowd"),
    );

    // Controller and broker gone while the scene goes on: records wait in the player's log.
    controller.stop();
    std::thread::sleep(Duration::from_secs(7));
    assert!(
        pending_counts(dir.path(), "cam-1") >= 2,
        "counts are logged while offline"
    );
    controller.restart();

    wait_until(
        Duration::from_secs(90),
        "the synthetic scene to end",
        || {
            assert!(player.is_running(), "player exited:\n{}", player.log());
            player.log().contains("the camera input ended")
        },
    );
    wait_until(Duration::from_secs(30), "every record acknowledged", || {
        pending_counts(dir.path(), "cam-1") == 0
    });
    // With the camera gone the occupancy is unknown: the conditional entry no longer applies.
    wait_until(Duration::from_secs(10), "the fallback again", || {
        layout(dir.path(), "cam-1").as_deref() == Some("quiet")
    });

    let body = records(&controller);
    let list = body["records"].as_array().unwrap();
    let seqs: Vec<u64> = list.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "every record once, none missing");
    for pair in list.windows(2) {
        assert_eq!(
            pair[0]["end"], pair[1]["start"],
            "periods chain without gap"
        );
    }
    let door = &body["totals"]["lines"]["door"];
    assert_eq!(
        (door["in"].as_u64(), door["out"].as_u64()),
        (Some(6), Some(1)),
        "{}",
        body["totals"]
    );
    let zone = &body["totals"]["zones"]["right"];
    assert!(zone["max"].as_u64().unwrap() >= 1, "{zone}");
    assert!(zone["entries"].as_u64().unwrap() >= 1, "{zone}");
    let frames = body["totals"]["frames"].as_u64().unwrap();
    assert!(
        frames > 500,
        "the whole scene was analysed: {frames} frames"
    );

    // A time window returns the records whose period starts in it.
    let from = list[1]["start"].as_str().unwrap();
    let to = list[3]["start"].as_str().unwrap();
    let (status, window) = controller.get(&format!(
        "/api/v1/players/cam-1/counts?from={}&to={}",
        from.replace('+', "%2B"),
        to.replace('+', "%2B")
    ));
    assert_eq!(status, 200, "{window}");
    let got: Vec<u64> = window["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(got, [seqs[1], seqs[2]]);
    let (status, _) = controller.get("/api/v1/players/cam-1/counts?from=yesterday");
    assert_eq!(status, 400);
}

/// A device replaced under the same id (or whose cache was wiped) counts from seq 1 again,
/// numbers the controller already holds for other periods. Those records are numbered again
/// and stored: no period of either device is dropped as a re-send, and none is changed.
#[test]
fn a_replaced_device_counting_from_1_again_loses_no_period() {
    let dir = tempfile::tempdir().unwrap();
    let controller = Controller::start(dir.path(), Broker::Embedded);
    let config = camera_player(&controller);
    let stored = || -> Vec<Value> {
        let (status, body) = controller.get("/api/v1/players/cam-1/counts");
        assert_eq!(status, 200, "{body}");
        body["records"].as_array().unwrap().clone()
    };

    let mut old = start_player(dir.path(), &config, "cam-1");
    wait_until(Duration::from_secs(30), "three records stored", || {
        assert!(old.is_running(), "player exited:\n{}", old.log());
        stored().len() >= 3
    });
    old.kill();
    let before = stored();

    // The replacement: same id and credentials, an empty cache (so no `counts-seq`).
    // Each recorded period is logged at debug level; this test counts them.
    let mut new = Proc::spawn(
        player_command(dir.path(), &config, "cam-1-replaced", false)
            .env("RUST_LOG", "info,player::counts=debug"),
        dir.path(),
        "cam-1-replaced",
    );
    wait_until(
        Duration::from_secs(40),
        "three records of the new device stored",
        || {
            assert!(new.is_running(), "player exited:\n{}", new.log());
            stored().len() >= before.len() + 3
        },
    );
    new.kill();
    let log = new.log();
    assert!(
        log.contains("numbered again"),
        "the new device's first numbers were taken:\n{log}"
    );
    let after = stored();
    for record in &before {
        assert!(after.contains(record), "kept unchanged: {record}");
    }
    let old_top = before.iter().map(|r| r["seq"].as_u64().unwrap()).max();
    let fresh: Vec<&Value> = after.iter().filter(|r| !before.contains(r)).collect();
    assert!(
        fresh
            .iter()
            .all(|r| Some(r["seq"].as_u64().unwrap()) > old_top),
        "numbered above the old device's: {fresh:?}"
    );
    // Every period the new device closed is stored, or still in its log for the next start
    // (a record can be both: stored, its acknowledgement not yet processed when killed).
    let start = |r: &Value| {
        r["start"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    };
    let log_file = player_cache(dir.path(), "cam-1-replaced").join("counts.jsonl");
    let pending = std::fs::read_to_string(log_file).unwrap_or_default();
    let kept: std::collections::BTreeSet<_> = fresh
        .iter()
        .map(|r| start(r))
        .chain(
            pending
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| start(&serde_json::from_str(l).unwrap())),
        )
        .collect();
    let recorded = log.matches("counts recorded").count();
    assert!(
        kept.len() >= recorded,
        "no period of the new device lost: {} kept of {recorded} recorded",
        kept.len()
    );
    let mut starts: Vec<&str> = after.iter().map(|r| r["start"].as_str().unwrap()).collect();
    starts.dedup();
    assert_eq!(starts.len(), after.len(), "each period once, in order");
}

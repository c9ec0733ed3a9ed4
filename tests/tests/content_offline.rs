//! Offline-first: with the controller and its embedded broker gone, a player keeps following
//! its cached schedule across a schedule boundary (its clock starts just before "tomorrow
//! 09:00" Tokyo time), logs every play durably, and once the controller is back every
//! proof-of-play record arrives exactly once: per zone the stored plays chain without gap or
//! overlap across the offline stretch and the boundary. A poster past its 掲載期限 leaves the
//! screen of an offline player at the deadline.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use e2e::{
    Broker, Controller, player_now, player_pending_plays, start_player_at, test_png, tokyo_date,
    wait_until,
};
use serde_json::{Value, json};

fn full_screen(playlist: &str) -> Value {
    json!({"canvas": {"width": 1920, "height": 1080}, "zones": [
        {"id": "main", "x": 0, "y": 0, "width": 1920, "height": 960, "playlist": playlist},
        {"id": "ticker", "x": 0, "y": 960, "width": 1920, "height": 120, "z": 1, "playlist": "ticker"}
    ]})
}

fn showing(dir: &std::path::Path) -> Option<(String, bool)> {
    let now = player_now(dir, "kita-1")?;
    let ready = now["zones"]
        .as_array()
        .is_some_and(|z| !z.is_empty() && z.iter().all(|z| z["ready"] == true));
    Some((now["layout"].as_str()?.to_string(), ready))
}

#[test]
fn a_player_follows_its_schedule_offline_and_its_plays_arrive_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut controller = Controller::start(dir.path(), Broker::Embedded);
    let config = controller.add_player("kita-1", "kita", 2);

    let (_, a) = controller.upload("morning.png", &test_png(1));
    let (_, b) = controller.upload("day.png", &test_png(2));
    let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    controller.put(
        "/api/v1/assets/note",
        json!({"kind": "ticker", "texts": {"ja": "番号札をお取りください", "en": "Please take a number"},
               "colours": {"text": "#ffffff", "background": "#000000"}}),
    );
    controller.put(
        "/api/v1/playlists/ticker",
        json!({"items": [{"asset": "note", "duration_ms": 3000}]}),
    );
    controller.put(
        "/api/v1/playlists/morning",
        json!({"items": [{"asset": a, "duration_ms": 2000}, {"asset": "note", "duration_ms": 2000}]}),
    );
    controller.put(
        "/api/v1/playlists/day",
        json!({"items": [{"asset": b, "duration_ms": 3000}]}),
    );
    controller.put("/api/v1/layouts/morning", full_screen("morning"));
    controller.put("/api/v1/layouts/day", full_screen("day"));
    controller.put("/api/v1/schedule/fallback", json!({"layout": "morning"}));
    let ward = json!([{"kind": "ward", "id": "kita"}]);
    controller.put(
        "/api/v1/schedule/entries/morning",
        json!({"targets": ward, "dates": {"start": tokyo_date(-1)},
               "dayparts": [{"start": "00:00:00", "end": "09:00:00"}], "layout": "morning"}),
    );
    controller.put(
        "/api/v1/schedule/entries/day",
        json!({"targets": ward, "dates": {"start": tokyo_date(-1)},
               "dayparts": [{"start": "09:00:00", "end": "18:00:00"}], "layout": "day"}),
    );

    // The player's clock starts 25 s before tomorrow 09:00 in Tokyo.
    let tomorrow = tokyo_date(1);
    let boundary = format!("{tomorrow}T09:00:00+09:00");
    let _player = start_player_at(
        dir.path(),
        &config,
        "kita-1",
        &format!("{tomorrow}T08:59:35+09:00"),
    );
    // The controller computes manifests on its own tick: wait until the player holds the
    // one with both entries, or it could only follow an earlier one while offline.
    wait_until(
        Duration::from_secs(20),
        "the final manifest acknowledged",
        || {
            let (_, manifest) = controller.get("/api/v1/players/kita-1/manifest");
            let (_, now) = controller.get("/api/v1/players/kita-1/now");
            manifest["schedule"]["entries"]
                .as_array()
                .is_some_and(|e| e.len() == 2)
                && now["manifest"]["acked_revision"] == manifest["revision"]
        },
    );
    wait_until(
        Duration::from_secs(15),
        "the morning layout, files verified",
        || showing(dir.path()) == Some(("morning".into(), true)),
    );

    // Controller and broker gone.
    controller.stop();
    wait_until(
        Duration::from_secs(40),
        "the player to switch to the day layout offline",
        || showing(dir.path()) == Some(("day".into(), true)),
    );
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        player_pending_plays(dir.path(), "kita-1") > 0,
        "plays are logged while offline"
    );

    controller.restart();
    wait_until(
        Duration::from_secs(30),
        "every logged play acknowledged",
        || player_pending_plays(dir.path(), "kita-1") == 0,
    );
    let (status, plays) = controller.get("/api/v1/players/kita-1/plays");
    assert_eq!(status, 200);
    let plays = plays.as_array().unwrap().clone();

    let ids: HashSet<&str> = plays.iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), plays.len(), "each record stored once");
    let time = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    let mut by_zone: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for p in &plays {
        by_zone
            .entry(p["zone"].as_str().unwrap().to_string())
            .or_default()
            .push(p);
    }
    assert_eq!(by_zone.keys().collect::<Vec<_>>(), ["main", "ticker"]);
    let boundary = chrono::DateTime::parse_from_rfc3339(&boundary).unwrap();
    for (zone, mut records) in by_zone {
        records.sort_by_key(|p| time(&p["start"]));
        for pair in records.windows(2) {
            assert_eq!(
                time(&pair[0]["end"]),
                time(&pair[1]["start"]),
                "zone {zone}: plays must chain without gap or overlap (a lost or duplicated record breaks the chain): {} then {}",
                pair[0],
                pair[1]
            );
        }
        let first = time(&records[0]["start"]);
        let last = time(&records.last().unwrap()["end"]);
        assert!(
            first < boundary && boundary < last,
            "zone {zone} plays span the boundary"
        );
        if zone == "main" {
            let switch = records
                .iter()
                .find(|p| p["layout"] == "day")
                .expect("plays of the day layout");
            assert_eq!(
                time(&switch["start"]),
                boundary,
                "the day layout starts at 09:00 sharp"
            );
            assert!(
                records
                    .iter()
                    .any(|p| p["layout"] == "morning" && time(&p["end"]) == boundary),
                "the morning layout ends at 09:00 sharp"
            );
        }
    }
}

/// A poster past its 掲載期限 leaves the screen of an offline player at the deadline: its
/// last play ends no later than it, and the playlist goes on with what is left.
#[test]
fn an_offline_player_drops_a_poster_at_its_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let mut controller = Controller::start(dir.path(), Broker::Embedded);
    let config = controller.add_player("kita-1", "kita", 2);
    let (_, poster) = controller.upload("year-end.png", &test_png(4));
    let poster = poster["id"].as_str().unwrap().to_string();
    let tomorrow = tokyo_date(1);
    let deadline = format!("{tomorrow}T09:00:00+09:00");
    let (status, answer) = controller.send_json(
        "PATCH",
        &format!("/api/v1/assets/{poster}"),
        &json!({"shown_until": deadline}),
    );
    assert_eq!(status, 200, "{answer}");
    controller.put(
        "/api/v1/assets/note",
        json!({"kind": "ticker", "texts": {"ja": "番号札をお取りください"},
               "colours": {"text": "#ffffff", "background": "#000000"}}),
    );
    controller.put(
        "/api/v1/playlists/notices",
        json!({"items": [{"asset": poster, "duration_ms": 2000}, {"asset": "note", "duration_ms": 2000}]}),
    );
    controller.put(
        "/api/v1/layouts/notices",
        json!({"canvas": {"width": 1920, "height": 1080}, "zones": [
            {"id": "main", "x": 0, "y": 0, "width": 1920, "height": 1080, "playlist": "notices"}]}),
    );
    controller.put("/api/v1/schedule/fallback", json!({"layout": "notices"}));

    let _player = start_player_at(
        dir.path(),
        &config,
        "kita-1",
        &format!("{tomorrow}T08:59:45+09:00"),
    );
    wait_until(
        Duration::from_secs(20),
        "the notices, files verified",
        || showing(dir.path()) == Some(("notices".into(), true)),
    );
    controller.stop();
    // Wait, offline, until the player has logged a play that starts after the deadline.
    let deadline = chrono::DateTime::parse_from_rfc3339(&deadline).unwrap();
    wait_until(
        Duration::from_secs(40),
        "the player past the deadline",
        || {
            player_now(dir.path(), "kita-1")
                .and_then(|now| now["at"].as_str().map(str::to_owned))
                .and_then(|at| chrono::DateTime::parse_from_rfc3339(&at).ok())
                .is_some_and(|at| at > deadline + chrono::TimeDelta::seconds(6))
        },
    );
    controller.restart();
    wait_until(Duration::from_secs(30), "every play acknowledged", || {
        player_pending_plays(dir.path(), "kita-1") == 0
    });
    let (_, plays) = controller.get("/api/v1/players/kita-1/plays");
    let time = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    let plays = plays.as_array().unwrap();
    let of =
        |asset: &str| -> Vec<&Value> { plays.iter().filter(|p| p["asset"] == asset).collect() };
    assert!(
        !of(&poster).is_empty(),
        "the poster was shown before its deadline"
    );
    for p in of(&poster) {
        assert!(
            time(&p["end"]) <= deadline,
            "the poster shown past its deadline: {p}"
        );
    }
    assert!(
        of("note").iter().any(|p| time(&p["start"]) >= deadline),
        "the playlist goes on after the deadline: {plays:?}"
    );
}

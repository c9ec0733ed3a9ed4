//! Content end to end: upload, validation, a schedule for one ward; the players of that ward
//! download the file, verify it and report showing it, the others do not; the controller's
//! own computation of "now" agrees with what each player reports.

use std::time::Duration;

use e2e::{
    Broker, Controller, player_cache, sha256_hex, start_player, test_png, tokyo_date, wait_until,
};
use serde_json::{Value, json};

fn full_screen(playlist: &str) -> Value {
    json!({"canvas": {"width": 1920, "height": 1080}, "zones": [
        {"id": "main", "x": 0, "y": 0, "width": 1920, "height": 1080, "playlist": playlist}
    ]})
}

/// A fallback made of a text slide, so every player has something to show.
pub fn fallback(controller: &Controller) {
    controller.put(
        "/api/v1/assets/welcome",
        json!({"kind": "text_slide",
               "texts": {"ja": {"title": "ようこそ", "body": "区役所へ"}, "en": {"title": "Welcome", "body": ""}},
               "colours": {"text": "#ffffff", "background": "#003366"}}),
    );
    controller.put(
        "/api/v1/playlists/fallback",
        json!({"items": [{"asset": "welcome"}]}),
    );
    controller.put("/api/v1/layouts/fallback", full_screen("fallback"));
    controller.put("/api/v1/schedule/fallback", json!({"layout": "fallback"}));
}

#[test]
fn a_ward_schedule_reaches_the_players_of_that_ward_only() {
    let dir = tempfile::tempdir().unwrap();
    let controller = Controller::start(dir.path(), Broker::Embedded);
    let players = [("kita-1", "kita"), ("kita-2", "kita"), ("naka-1", "naka")];
    let _procs: Vec<_> = players
        .iter()
        .map(|(id, ward)| {
            let config = controller.add_player(id, ward, 5);
            start_player(dir.path(), &config, id)
        })
        .collect();

    let poster = test_png(7);
    let (status, uploaded) = controller.upload("kita-poster.png", &poster);
    assert_eq!(status, 201, "{uploaded}");
    let sha = sha256_hex(&poster);
    assert_eq!(uploaded["sha256"], sha.as_str());
    let id = uploaded["id"].as_str().unwrap().to_string();
    assert_eq!(uploaded["media_type"], "image/png");

    // The same bytes again: stored once, same id.
    let (status, again) = controller.upload("copy.png", &poster);
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        (again["id"].as_str(), again["duplicate"].as_bool()),
        (Some(id.as_str()), Some(true))
    );
    assert_eq!(controller.stored_files().0, vec![sha.clone()]);

    // Served whole and by range (players resume with it).
    let path = format!("/api/v1/content/{sha}");
    let (status, whole, _) = controller.get_bytes(&path, None);
    assert_eq!((status, whole.len()), (200, poster.len()));
    assert_eq!(whole, poster);
    let (status, tail, range) = controller.get_bytes(&path, Some("bytes=10-"));
    assert_eq!(status, 206);
    assert_eq!(tail, poster[10..]);
    assert_eq!(
        range.unwrap(),
        format!("bytes 10-{}/{}", poster.len() - 1, poster.len())
    );
    let (status, _, _) = controller.get_bytes(&path, Some(&format!("bytes={}-", poster.len())));
    assert_eq!(status, 416);

    fallback(&controller);
    controller.put(
        "/api/v1/playlists/kita-promo",
        json!({"items": [{"asset": id, "duration_ms": 5000}]}),
    );
    controller.put("/api/v1/layouts/kita-promo", full_screen("kita-promo"));

    // Validation through the content crate, with messages naming the field.
    let cases = [
        (
            "/api/v1/layouts",
            json!({"id": "too-wide", "canvas": {"width": 1920, "height": 1080}, "zones": [
                {"id": "main", "x": 1000, "y": 0, "width": 1920, "height": 1080, "playlist": "kita-promo"}]}),
            "zones[main].width: the zone reaches 2920 but the canvas ends at 1920",
        ),
        (
            "/api/v1/playlists",
            json!({"id": "ghost", "items": [{"asset": "no-such-asset"}]}),
            "no asset has id \"no-such-asset\"",
        ),
        (
            "/api/v1/schedule/entries",
            json!({"id": "backwards", "targets": [{"kind": "all"}],
                   "dates": {"start": "2026-12-10", "end": "2026-12-01"}, "layout": "kita-promo"}),
            "dates.end: end 2026-12-01 is not after start 2026-12-10",
        ),
        (
            "/api/v1/schedule/entries",
            json!({"id": "nowhere", "targets": [{"kind": "all"}],
                   "dates": {"start": "2026-12-10"}, "layout": "no-such-layout"}),
            "no layout has id \"no-such-layout\"",
        ),
    ];
    for (path, body, expected) in cases {
        let (status, answer) = controller.send_json("POST", path, &body);
        assert_eq!(status, 400, "{path}: {answer}");
        let message = answer["error"].as_str().unwrap();
        assert!(message.contains(expected), "{path}: {message}");
    }

    let (status, answer) = controller.send_json(
        "POST",
        "/api/v1/schedule/entries",
        &json!({"id": "kita-promo", "targets": [{"kind": "ward", "id": "kita"}],
               "dates": {"start": tokyo_date(-1)}, "priority": 5, "layout": "kita-promo"}),
    );
    assert_eq!(status, 201, "{answer}");

    let showing = |player: &str| -> Option<(String, String, bool)> {
        let (_, now) = controller.get(&format!("/api/v1/players/{player}/now"));
        let reported = &now["reported"];
        let zone = &reported["zones"][0];
        Some((
            reported["layout"].as_str()?.to_string(),
            zone["asset"].as_str()?.to_string(),
            zone["ready"].as_bool()? && now["agrees"] == true,
        ))
    };
    wait_until(
        Duration::from_secs(20),
        "every player to report its schedule",
        || {
            showing("kita-1") == Some(("kita-promo".into(), id.clone(), true))
                && showing("kita-2") == Some(("kita-promo".into(), id.clone(), true))
                && showing("naka-1") == Some(("fallback".into(), "welcome".into(), true))
        },
    );
    let (_, now) = controller.get("/api/v1/players/naka-1/now");
    assert_eq!(now["expected"]["kind"], "fallback", "{now}");
    let (_, now) = controller.get("/api/v1/players/kita-1/now");
    assert_eq!(now["expected"]["entry"], "kita-promo", "{now}");
    assert_eq!(
        now["manifest"]["acked_revision"], now["manifest"]["revision"],
        "{now}"
    );

    // The kita players hold the verified file; naka-1 does not need it and does not have it.
    for player in ["kita-1", "kita-2"] {
        let cached =
            std::fs::read(player_cache(dir.path(), player).join("content").join(&sha)).unwrap();
        assert_eq!(sha256_hex(&cached), sha);
    }
    assert!(
        !player_cache(dir.path(), "naka-1")
            .join("content")
            .join(&sha)
            .exists()
    );

    // Unscheduling it: the kita players fall back and drop the file from their caches.
    let (status, _) = controller.send_json(
        "DELETE",
        "/api/v1/schedule/entries/kita-promo",
        &Value::Null,
    );
    assert_eq!(status, 204);
    wait_until(
        Duration::from_secs(20),
        "the kita players to fall back and collect garbage",
        || {
            showing("kita-1").is_some_and(|s| s.0 == "fallback")
                && !player_cache(dir.path(), "kita-1")
                    .join("content")
                    .join(&sha)
                    .exists()
        },
    );
}

/// The same flow through an external Mosquitto with the ACL operators install: the new
/// topics (manifest, now, plays, plays_ack) must all pass it.
#[test]
fn manifests_reports_and_proof_of_play_pass_the_mosquitto_acl() {
    let dir = tempfile::tempdir().unwrap();
    let mosquitto = e2e::Mosquitto::start(dir.path());
    let controller = Controller::start(dir.path(), Broker::External(&mosquitto));
    let config = mosquitto.enrol(&controller, "kita-1", "kita", 5);
    let _player = start_player(dir.path(), &config, "kita-1");
    let image = test_png(5);
    let (status, uploaded) = controller.upload("p.png", &image);
    assert_eq!(status, 201);
    fallback(&controller);
    controller.put(
        "/api/v1/playlists/fallback",
        json!({"items": [{"asset": "welcome", "duration_ms": 1000}, {"asset": uploaded["id"], "duration_ms": 1000}]}),
    );
    wait_until(
        Duration::from_secs(20),
        "manifest acknowledged, report and plays received",
        || {
            let (_, now) = controller.get("/api/v1/players/kita-1/now");
            let (_, plays) = controller.get("/api/v1/players/kita-1/plays");
            now["agrees"] == true
                && now["manifest"]["acked_revision"] == now["manifest"]["revision"]
                && plays.as_array().is_some_and(|p| p.len() >= 2)
        },
    );
}

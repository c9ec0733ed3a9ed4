//! The player's verified cache: content survives a restart and plays without the controller;
//! a damaged file is detected before use (the zone shows nothing rather than a corrupt file)
//! and repaired by downloading it again once the controller is reachable.

use std::time::Duration;

use e2e::{
    Broker, Controller, player_cache, player_now, sha256_hex, start_player, test_png, wait_until,
};
use serde_json::json;

/// The main zone's (asset, ready) in the player's own report.
fn main_zone(dir: &std::path::Path) -> Option<(String, bool)> {
    let now = player_now(dir, "kita-1")?;
    let zone = now["zones"]
        .as_array()?
        .iter()
        .find(|z| z["zone"] == "main")?
        .clone();
    Some((
        zone["asset"].as_str()?.to_string(),
        zone["ready"].as_bool()?,
    ))
}

#[test]
fn a_damaged_cached_file_is_never_shown_and_is_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let mut controller = Controller::start(dir.path(), Broker::Embedded);
    let config = controller.add_player("kita-1", "kita", 2);
    let image = test_png(3);
    let sha = sha256_hex(&image);
    let (status, _) = controller.upload("notice.png", &image);
    assert_eq!(status, 201);
    controller.put(
        "/api/v1/assets/note",
        json!({"kind": "ticker", "texts": {"en": "Welcome"},
               "colours": {"text": "#ffffff", "background": "#000000"}}),
    );
    // The image comes back every two seconds, so it is checked before use often.
    controller.put(
        "/api/v1/playlists/loop",
        json!({"items": [{"asset": sha, "duration_ms": 1000}, {"asset": "note", "duration_ms": 1000}]}),
    );
    controller.put(
        "/api/v1/layouts/main",
        json!({"canvas": {"width": 1280, "height": 720}, "zones": [
            {"id": "main", "x": 0, "y": 0, "width": 1280, "height": 720, "playlist": "loop"}]}),
    );
    controller.put("/api/v1/schedule/fallback", json!({"layout": "main"}));

    let mut player = start_player(dir.path(), &config, "kita-1");
    let cached = player_cache(dir.path(), "kita-1")
        .join("content")
        .join(&sha);
    wait_until(
        Duration::from_secs(20),
        "the image shown from a verified cache",
        || main_zone(dir.path()) == Some((sha.clone(), true)),
    );

    // Kept across a restart, and shown without any controller or broker.
    controller.stop();
    player.kill();
    std::fs::remove_file(player_cache(dir.path(), "kita-1").join("now.json")).unwrap();
    player = start_player(dir.path(), &config, "kita-1");
    wait_until(
        Duration::from_secs(10),
        "the image shown from the cache after a restart, offline",
        || main_zone(dir.path()) == Some((sha.clone(), true)),
    );

    // Damage it (same length, so only the content check can tell).
    let mut bytes = std::fs::read(&cached).unwrap();
    for b in bytes.iter_mut().skip(20).take(64) {
        *b ^= 0xff;
    }
    std::fs::write(&cached, &bytes).unwrap();
    wait_until(
        Duration::from_secs(10),
        "the damage detected before use",
        || main_zone(dir.path()) == Some((sha.clone(), false)),
    );
    assert!(!cached.exists(), "the corrupt file is deleted");
    assert!(
        player.log().contains("failed its check before use"),
        "{}",
        player.log()
    );

    // Repaired as soon as the controller is back.
    controller.restart();
    wait_until(
        Duration::from_secs(30),
        "the file downloaded again and shown",
        || main_zone(dir.path()) == Some((sha.clone(), true)),
    );
    assert_eq!(sha256_hex(&std::fs::read(&cached).unwrap()), sha);
    assert!(
        player.log().contains("INFO player::sync: downloading"),
        "downloaded again after the restart: {}",
        player.log()
    );
}

//! Backup and restore with real processes: a backup taken while the controller runs, restored
//! into a fresh data directory on "another machine", serves the old content, and the players
//! enrolled before accept its alerts. A data directory whose alert-signing key is missing
//! refuses to start while players are enrolled, saying why.

use std::process::Command;
use std::time::Duration;

use e2e::{Broker, Controller, Proc, bin, player_command, start_player, test_png, wait_until};

fn run(args: &[&str]) -> String {
    let out = Command::new(bin("signage-controller"))
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{args:?} failed: {text}");
    text
}

#[test]
fn a_restored_controller_keeps_content_and_its_players_accept_its_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let old_machine = dir.path().join("old");
    let mut old = Controller::start(&old_machine, Broker::Embedded);
    let config = old.add_player("kita-1f", "kita", 2);
    let mut player = start_player(dir.path(), &config, "kita-1f");
    wait_until(Duration::from_secs(20), "the player online", || {
        old.is_online("kita-1f")
    });
    let png = test_png(7);
    let (status, uploaded) = old.upload("お知らせ.png", &png);
    assert_eq!(status, 201, "{uploaded}");
    let sha = uploaded["sha256"].as_str().unwrap().to_owned();

    // Taken while the controller runs.
    let archive = dir.path().join("signage.tar");
    let said = run(&[
        "backup",
        "--data-dir",
        old.data_dir.to_str().unwrap(),
        "--out",
        archive.to_str().unwrap(),
    ]);
    assert!(said.contains("backup written"), "{said}");
    assert!(!said.contains("WARNING"), "{said}");
    old.stop();
    player.kill();

    // Without its key, a copy with enrolled players refuses to start.
    let keyless = dir.path().join("keyless");
    run(&[
        "restore",
        "--from",
        archive.to_str().unwrap(),
        "--data-dir",
        keyless.to_str().unwrap(),
    ]);
    std::fs::remove_file(keyless.join("alert-signing.key")).unwrap();
    let mut serve = Command::new(bin("signage-controller"))
        .args(["serve", "--data-dir", keyless.to_str().unwrap()])
        .args(["--http", "127.0.0.1:0", "--mqtt-listen", "127.0.0.1:0"])
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut exited = None;
    wait_until(
        Duration::from_secs(30),
        "the keyless controller exits",
        || {
            exited = serve.try_wait().unwrap();
            exited.is_some()
        },
    );
    assert!(!exited.unwrap().success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut serve.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("alert-signing.key is missing"), "{stderr}");
    assert!(stderr.contains("1 player(s)"), "{stderr}");

    // The new machine: restored, started, and the old player pointed at it.
    let new_machine = dir.path().join("new");
    let said = run(&[
        "restore",
        "--from",
        archive.to_str().unwrap(),
        "--data-dir",
        new_machine.join("controller-data").to_str().unwrap(),
    ]);
    assert!(said.contains("restored"), "{said}");
    let new = Controller::start(&new_machine, Broker::Embedded);
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(&old.mqtt, &new.mqtt)
        .replace(&old.http, &new.http);
    std::fs::write(&config, text).unwrap();
    let _player = Proc::spawn(
        &mut player_command(dir.path(), &config, "kita-1f", false),
        dir.path(),
        "kita-1f-again",
    );
    wait_until(Duration::from_secs(30), "the old player online", || {
        new.is_online("kita-1f")
    });
    let (status, bytes, _) = new.get_bytes(&format!("/api/v1/content/{sha}"), None);
    assert_eq!(status, 200);
    assert_eq!(bytes, png);

    let id = new.drill("kita");
    wait_until(Duration::from_secs(15), "the old player shows it", || {
        let (_, detail) = new.get(&format!("/api/v1/alerts/{id}"));
        detail["counts"]["targeted"] == 1 && detail["counts"]["showing"] == 1
    });
}

//! The console, API and players' downloads over HTTPS with the operator's certificate: staff
//! cookies are `Secure` and browsers get HSTS, plain HTTP and clients trusting another CA get
//! nothing, players fetch content trusting only the CA `player add` pinned, and a renewed
//! certificate is served without a restart (a broken renewal keeps the old one).

use std::path::Path;
use std::time::Duration;

use e2e::{Broker, Controller, make_ca, player_now, start_player, test_png, wait_until};
use serde_json::json;

/// A GET through a client that trusts only `ca` (PEM file); the status, or the error.
fn get_trusting(ca: &Path, url: &str) -> Result<(u16, Option<String>), String> {
    let pinned = player::http::pinned(&std::fs::read_to_string(ca).unwrap()).unwrap();
    let agent = player::http::agent(Some(&pinned), Duration::from_secs(10));
    match agent.get(url).call() {
        Ok(response) => Ok((
            response.status().as_u16(),
            response
                .headers()
                .get("strict-transport-security")
                .map(|v| v.to_str().unwrap().to_owned()),
        )),
        Err(e) => Err(e.to_string()),
    }
}

#[test]
fn the_controller_serves_https_players_pin_its_ca_and_a_renewal_needs_no_restart() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    make_ca(d, "city");
    make_ca(d, "renewed");
    // The controller reads its certificate from files the operator renews in place.
    std::fs::copy(d.join("city-server.pem"), d.join("https.pem")).unwrap();
    std::fs::copy(d.join("city-server.key"), d.join("https.key")).unwrap();
    let config = d.join("controller.toml");
    std::fs::write(
        &config,
        format!(
            "[http]\ntls_cert_file = {:?}\ntls_key_file = {:?}\ntls_ca_file = {:?}\n",
            d.join("https.pem"),
            d.join("https.key"),
            d.join("city-ca.pem")
        ),
    )
    .unwrap();
    let mut ctl =
        Controller::start_with(d, Broker::Embedded, &["--config", config.to_str().unwrap()]);
    assert!(ctl.http.starts_with("https://"), "{}", ctl.http);
    ctl.ca_pem = Some(std::fs::read_to_string(d.join("city-ca.pem")).unwrap());
    let health = format!("{}/api/v1/health", ctl.http);

    // Trusted: HSTS. Another CA, or plain HTTP on the same port: nothing.
    let (status, hsts) = get_trusting(&d.join("city-ca.pem"), &health).unwrap();
    assert_eq!(status, 200);
    assert_eq!(hsts.as_deref(), Some("max-age=31536000"));
    let refused = get_trusting(&d.join("renewed-ca.pem"), &health).unwrap_err();
    assert!(refused.to_lowercase().contains("certificate"), "{refused}");
    let plain = ureq::get(&health.replace("https://", "http://")).call();
    assert!(plain.is_err(), "plain HTTP on the HTTPS port must fail");

    // Staff sessions: the cookie is Secure.
    let out = std::process::Command::new(e2e::bin("signage-controller"))
        .args([
            "user",
            "add",
            "admin.kita",
            "--role",
            "admin",
            "--password-stdin",
            "--data-dir",
        ])
        .arg(&ctl.data_dir)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .unwrap()
                .write_all(b"correct horse battery staple 42\n")?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success());
    let pinned = player::http::pinned(ctl.ca_pem.as_deref().unwrap()).unwrap();
    let login = player::http::agent(Some(&pinned), Duration::from_secs(10))
        .post(format!("{}/api/v1/login", ctl.http))
        .send_json(json!({"account": "admin.kita", "password": "correct horse battery staple 42"}))
        .unwrap();
    assert_eq!(login.status().as_u16(), 200);
    let cookie = login
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.contains("Secure"), "{cookie}");

    // A player fetches its content over HTTPS, trusting the pinned CA only.
    let player_config = ctl.add_player("kita-1f", "kita", 2);
    let text = std::fs::read_to_string(&player_config).unwrap();
    assert!(text.contains("controller_url = \"https://"), "{text}");
    assert!(text.contains("controller_ca_pem"), "{text}");
    let (status, uploaded) = ctl.upload("poster.png", &test_png(4));
    assert_eq!(status, 201, "{uploaded}");
    let asset = uploaded["id"].as_str().unwrap().to_owned();
    ctl.put(
        "/api/v1/playlists/poster",
        json!({"items": [{"asset": asset, "duration_ms": 10000}]}),
    );
    ctl.put(
        "/api/v1/layouts/poster",
        json!({"canvas": {"width": 1920, "height": 1080}, "zones": [
            {"id": "main", "x": 0, "y": 0, "width": 1920, "height": 1080, "playlist": "poster"}]}),
    );
    ctl.put("/api/v1/schedule/fallback", json!({"layout": "poster"}));
    let _player = start_player(d, &player_config, "kita-1f");
    wait_until(
        Duration::from_secs(40),
        "the poster fetched over HTTPS",
        || {
            player_now(d, "kita-1f")
                .is_some_and(|n| n["layout"] == "poster" && n["zones"][0]["ready"] == true)
        },
    );

    // A broken renewal (a key that does not fit) is refused and the old certificate stays.
    std::fs::copy(d.join("renewed-server.key"), d.join("https.key")).unwrap();
    wait_until(
        Duration::from_secs(20),
        "the broken renewal refused",
        || ctl.proc.log().contains("still serving the previous one"),
    );
    assert_eq!(
        get_trusting(&d.join("city-ca.pem"), &health).unwrap().0,
        200
    );

    // The whole renewal (certificate and key) is served to new connections, no restart.
    std::fs::copy(d.join("renewed-server.pem"), d.join("https.pem")).unwrap();
    wait_until(
        Duration::from_secs(20),
        "the renewed certificate served",
        || get_trusting(&d.join("renewed-ca.pem"), &health).is_ok_and(|(s, _)| s == 200),
    );
    assert!(get_trusting(&d.join("city-ca.pem"), &health).is_err());
    assert!(ctl.proc.is_running(), "no restart");
}

//! JMA disaster-information XML end to end: a real local HTTP server serves an Atom feed that
//! changes over time (issue, follow-up, 取消) to a controller restarted in the middle; relays
//! post documents with `jma-replay`; drills never look live; a rendering player's screen shows
//! the alert that came from a feed entry.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use e2e::feed::FeedServer;
use e2e::{Broker, Controller, Proc, bin, player_cache, start_player, wait_until};
use serde_json::Value;

fn samples() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/jma");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: {} not found (JMA's sample documents)",
            dir.display()
        );
        None
    }
}

fn sample(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

/// A JMA sample made live (通常 instead of 訓練), as if reported now.
fn live_now(text: &str) -> String {
    let live = text.replace("<Status>訓練</Status>", "<Status>通常</Status>");
    jma::shift::report_at(&live, chrono::Utc::now()).unwrap()
}

/// A controller started with `toml` as its configuration file.
fn start_with_config(dir: &Path, toml: &str) -> Controller {
    let path = dir.join("controller.toml");
    std::fs::write(&path, toml).unwrap();
    Controller::start_with(dir, Broker::Embedded, &["--config", path.to_str().unwrap()])
}

fn polling(server: &FeedServer) -> String {
    format!(
        "[alerts.jma.feeds]\nurls = [\"{}\"]\ninterval_secs = 1\n",
        server.url
    )
}

/// A registered, non-rendering player of `ward`, once it is online.
fn online_player(ctl: &Controller, dir: &Path, id: &str, ward: &str) -> Proc {
    let config = ctl.add_player(id, ward, 2);
    let player = start_player(dir, &config, id);
    wait_until(Duration::from_secs(20), "the player online", || {
        ctl.is_online(id)
    });
    player
}

/// POSTs a JMA document as the holder of `token`; the JSON answer.
fn post_jma(ctl: &Controller, token: &str, document: &str) -> Value {
    ctl.post_bytes(token, "/api/v1/jma", "application/xml", document.as_bytes())
        .1
}

fn jma_alerts(ctl: &Controller) -> Vec<Value> {
    let (status, list) = ctl.get("/api/v1/alerts");
    assert_eq!(status, 200, "{list}");
    list.as_array()
        .or_else(|| list["alerts"].as_array())
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a["source"] == "jma")
        .collect()
}

fn detail(ctl: &Controller, id: &str) -> Value {
    let (status, body) = ctl.get(&format!("/api/v1/alerts/{id}"));
    assert_eq!(status, 200, "{body}");
    body
}

fn held(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(player_cache(dir, name).join("alerts.json")).unwrap_or_default()
}

#[test]
fn a_changing_feed_issues_updates_and_cancels_once_across_a_restart() {
    let Some(samples) = samples() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = FeedServer::start();
    let mut ctl = start_with_config(dir.path(), &polling(&server));
    let _player = online_player(&ctl, dir.path(), "minato-1", "minato");

    // 1. 大津波警報 for 大阪府 (tsunami region 510): issued at once, every ward.
    server.publish(live_now(&sample(&samples, "32-39_12_03_250206_VTSE51.xml")));
    let mut alert = Value::Null;
    wait_until(Duration::from_secs(20), "the JMA alert issued", || {
        alert = jma_alerts(&ctl).into_iter().next().unwrap_or_default();
        alert["phase"] == "issued"
    });
    let id = alert["id"].as_str().unwrap().to_string();
    assert_eq!(alert["drill"], false);
    assert_eq!(alert["level"], 5);
    assert_eq!(alert["targets"], serde_json::json!([{"kind": "all"}]));
    assert_eq!(alert["confirmed_by"], "jma-policy");
    wait_until(
        Duration::from_secs(20),
        "the screen holds the alert",
        || held(dir.path(), "minato-1").contains(&id),
    );
    let cap = ctl.get_bytes(&format!("/api/v1/alerts/{id}/cap"), None).1;
    let cap = String::from_utf8(cap).unwrap();
    assert!(
        cap.contains("<status>Actual</status>") && cap.contains("大津波警報"),
        "{cap}"
    );

    // 2. The controller goes down; the feed moves on meanwhile: a follow-up.
    ctl.stop();
    server.publish(live_now(&sample(&samples, "32-39_12_07_250206_VTSE41.xml")));
    ctl.restart();
    wait_until(Duration::from_secs(20), "the follow-up applied", || {
        detail(&ctl, &id)["revision"] == 2
    });
    // The first entry, listed again after the restart, made no second alert.
    let all = jma_alerts(&ctl);
    assert_eq!(all.len(), 1, "{all:#?}");
    let (_, docs) = ctl.get(&format!("/api/v1/alerts/{id}/documents"));
    let docs = docs["documents"].as_array().unwrap().clone();
    assert_eq!(docs.len(), 2, "{docs:#?}");
    assert_eq!(docs[0]["decision"], "auto");
    assert_eq!(docs[1]["decision"], "updated");
    // The original document is kept as received.
    let href = docs[0]["href"].as_str().unwrap();
    let (status, original, _) = ctl.get_bytes(href, None);
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&original).contains("<InfoType>発表</InfoType>"));

    // 3. 取消: JMA withdraws it; the screen clears.
    let withdrawn = sample(&samples, "32-39_12_07_250206_VTSE41.xml")
        .replace("<InfoType>発表</InfoType>", "<InfoType>取消</InfoType>");
    server.publish(live_now(&withdrawn));
    wait_until(Duration::from_secs(20), "the alert cancelled", || {
        detail(&ctl, &id)["phase"] == "cancelled"
    });
    wait_until(Duration::from_secs(20), "the screen cleared", || {
        detail(&ctl, &id)["counts"]["cleared"] == 1
    });
    assert_eq!(jma_alerts(&ctl).len(), 1);
    // Conditional requests: an unchanged feed is answered 304.
    wait_until(
        Duration::from_secs(10),
        "a 304 for an unchanged feed",
        || server.not_modified.load(Ordering::Relaxed) > 0,
    );
    let (_, health) = ctl.get("/api/v1/health");
    let feed = &health["feeds"][&server.url];
    assert!(
        feed["last_ok"].is_string() && feed["failures"] == 0,
        "{health:#}"
    );
}

/// `jma-replay --now` plays years-old 訓練 samples as fresh drills: shown, marked, never live.
#[test]
fn replayed_drill_samples_are_drills_and_feed_credentials_are_checked() {
    let Some(samples) = samples() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("controller-data");
    std::fs::create_dir_all(&data_dir).unwrap();
    let relay = e2e::create_token(&data_dir, "disaster");
    let relay_id = format!("tok-{}", &e2e::sha256_hex(relay.as_bytes())[..12]);
    let stranger = e2e::create_token(&data_dir, "disaster");
    let ctl = start_with_config(
        dir.path(),
        &format!("[alerts.jma]\nfeed_tokens = [\"{relay_id}\"]\n"),
    );
    let _player = online_player(&ctl, dir.path(), "kita-1", "kita");

    let drill = dir.path().join("drill");
    std::fs::create_dir_all(&drill).unwrap();
    for name in [
        "32-39_12_03_250206_VTSE51.xml",
        "32-39_12_07_250206_VTSE41.xml",
    ] {
        std::fs::copy(samples.join(name), drill.join(name)).unwrap();
    }
    let replay = |token: &str, now: bool| {
        let mut cmd = std::process::Command::new(bin("jma-replay"));
        cmd.arg(&drill)
            .args(["--controller", &ctl.http, "--token", token]);
        if now {
            cmd.arg("--now");
        }
        cmd.output().unwrap()
    };
    // A disaster token that is no feed credential is refused, and says how to fix it.
    let out = replay(&stranger, true);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("403") && err.contains("feed_tokens"), "{err}");
    // Without --now the 2016 documents are far past the age limit: logged, not shown.
    let out = replay(&relay, false);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("ignored") && said.contains("age limit"),
        "{said}"
    );
    assert!(jma_alerts(&ctl).is_empty());

    let out = replay(&relay, true);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("auto") && said.contains("updated"), "{said}");
    let alerts = jma_alerts(&ctl);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let alert = &alerts[0];
    assert_eq!(alert["drill"], true);
    assert_eq!(alert["status"], "Exercise");
    let id = alert["id"].as_str().unwrap();
    wait_until(
        Duration::from_secs(20),
        "the screen holds the drill",
        || held(dir.path(), "kita-1").contains(id),
    );
    let held_text = held(dir.path(), "kita-1");
    assert!(
        held_text.contains("Exercise") && !held_text.contains("\"Actual\""),
        "{held_text}"
    );
    let cap =
        String::from_utf8(ctl.get_bytes(&format!("/api/v1/alerts/{id}/cap"), None).1).unwrap();
    assert!(
        cap.contains("<status>Exercise</status>") && cap.contains("訓練"),
        "{cap}"
    );
    // The same documents again are duplicates: answered with the first decision.
    let out = replay(&relay, false);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.matches("already taken").count() == 2, "{said}");
    // A document of the event reported before the last one applied changes nothing.
    let older = jma::shift::report_at(
        &sample(&samples, "32-39_12_03_250206_VTSE51.xml"),
        chrono::Utc::now() - chrono::TimeDelta::minutes(5),
    )
    .unwrap();
    let answer = post_jma(&ctl, &relay, &older);
    assert_eq!(answer["decision"], "superseded", "{answer}");
    assert_eq!(detail(&ctl, id)["revision"], 2);
}

/// A staged alert that staff dismiss stays dismissed while JMA repeats the same level.
#[test]
fn a_dismissed_staged_alert_is_not_staged_again_at_the_same_level() {
    let Some(samples) = samples() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ctl = Controller::start(dir.path(), Broker::Embedded);
    let rain = sample(&samples, "18_01_01_100806_VPOA50.xml");
    let post = |at| post_jma(&ctl, &ctl.token, &jma::shift::report_at(&rain, at).unwrap());
    let now = chrono::Utc::now();
    let first = post(now - chrono::TimeDelta::minutes(2));
    assert_eq!(first["decision"], "staged", "{first}");
    assert_eq!(first["alert"]["staged"], true);
    let id = first["alert_id"].as_str().unwrap().to_string();
    let disaster = ctl.token_for("disaster");
    let (status, _) = ctl.request_as(
        Some(&disaster),
        "POST",
        &format!("/api/v1/alerts/{id}/cancel"),
        None,
    );
    assert_eq!(status, 200);
    let again = post(now - chrono::TimeDelta::minutes(1));
    assert_eq!(again["decision"], "ignored", "{again}");
    assert!(
        again["reason"].as_str().unwrap().contains("dismissed"),
        "{again}"
    );
    assert_eq!(jma_alerts(&ctl).len(), 1);
}

/// From a feed entry to the pixels of a rendering player: the level-5 black takeover. Prints
/// the time from the feed answering the document to the player's composed frame.
#[test]
fn a_feed_entry_reaches_a_rendering_players_screen() {
    let Some(samples) = samples() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = FeedServer::start();
    let ctl = start_with_config(dir.path(), &polling(&server));
    let player_cfg = ctl.add_player("kita-r", "kita", 2);
    let player = e2e::start_rendering_player(dir.path(), &player_cfg, "kita-r", (640, 360), 30);
    wait_until(Duration::from_secs(30), "the player online", || {
        ctl.is_online("kita-r")
    });
    ctl.text_slide_layout("welcome", "Welcome");
    ctl.put(
        "/api/v1/schedule/fallback",
        serde_json::json!({"layout": "welcome"}),
    );
    wait_until(
        Duration::from_secs(30),
        "the welcome slide on screen",
        || e2e::player_now(dir.path(), "kita-r").is_some_and(|n| n["kind"] == "fallback"),
    );

    server.publish(live_now(&sample(&samples, "32-39_12_03_250206_VTSE51.xml")));
    let mut id = String::new();
    wait_until(
        Duration::from_secs(30),
        "the alert showing on the screen",
        || {
            if let Some(a) = jma_alerts(&ctl).into_iter().next() {
                id = a["id"].as_str().unwrap().to_string();
                return detail(&ctl, &id)["counts"]["showing"] == 1;
            }
            false
        },
    );
    let d = detail(&ctl, &id);
    let served = server.served_at.lock().unwrap()[0].expect("the document was fetched");
    eprintln!(
        "feed answered the document -> screen showing: seen by the test after {:?}; counts {}",
        served.elapsed(),
        d["counts"]
    );
    let (code, png, _) = ctl.get_bytes("/api/v1/players/kita-r/screenshot?max_width=640", None);
    assert_eq!(code, 200, "{}", player.log());
    // Level 5: JMA's black (12, 0, 12) takes the screen.
    let black = e2e::png_share(&png, |p| p[0] < 40 && p[1] < 30 && p[2] < 40);
    assert!(black > 0.4, "the level-5 black covers only {black:.2}");
}

/// L-Alert's EDXL-DE envelope is opened and its CAP taken; the alert shows its source and the
/// envelope as received; an envelope with other content is refused with what it carries.
#[test]
fn an_l_alert_envelope_is_opened_and_other_content_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = start_with_config(
        dir.path(),
        "[[alerts.areas.wards]]\nward = \"kita\"\ngeocodes = [{ value_name = \"LGCode\", value = \"27127\" }]\n",
    );
    let sent = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).unwrap())
        .format("%Y-%m-%dT%H:%M:%S+09:00");
    let cap = format!(
        r#"<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>LA-{sent}</identifier><sender>lalert@pref.osaka.example</sender><sent>{sent}</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope><info><language>ja-JP</language><category>Safety</category><event>避難指示</event><urgency>Immediate</urgency><severity>Severe</severity><certainty>Observed</certainty><headline>避難指示（北区）</headline><area><areaDesc>大阪市北区</areaDesc><geocode><valueName>LGCode</valueName><value>27127</value></geocode></area></info></alert>"#
    );
    let envelope = |content: &str| {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><EDXLDistribution xmlns="urn:oasis:names:tc:emergency:EDXL:DE:1.0"><distributionID>d-1</distributionID><senderID>lalert@pref.osaka.example</senderID><dateTimeSent>{sent}</dateTimeSent><distributionStatus>Actual</distributionStatus><distributionType>Report</distributionType><combinedConfidentiality>UNCLASSIFIED</combinedConfidentiality><contentObject><xmlContent><embeddedXMLContent>{content}</embeddedXMLContent></xmlContent></contentObject></EDXLDistribution>"#
        )
    };
    let post = |body: &str| {
        ctl.post_bytes(
            &ctl.token,
            "/api/v1/cap",
            "application/xml",
            body.as_bytes(),
        )
    };
    let wrapped = envelope(&cap);
    let (status, answer) = post(&wrapped);
    assert_eq!(status, 200, "{answer}");
    // Not a trusted feed: an Actual alert waits for a person, staged at the top.
    assert_eq!(answer["decision"], "pending_confirmation", "{answer}");
    let alert = &answer["alert"];
    assert_eq!(
        (alert["source"].as_str(), alert["staged"].as_bool()),
        (Some("l-alert"), Some(true))
    );
    let id = alert["id"].as_str().unwrap();
    assert!(id.starts_with("lalert-"), "{id}");
    let (_, docs) = ctl.get(&format!("/api/v1/alerts/{id}/documents"));
    let href = docs["documents"][0]["href"].as_str().unwrap().to_string();
    let (code, original, _) = ctl.get_bytes(&href, None);
    assert_eq!(code, 200);
    assert_eq!(String::from_utf8(original).unwrap(), wrapped);

    let (status, answer) = post(&envelope(r#"<report xmlns="urn:example:other"/>"#));
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["rule"], "edxl-content");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("urn:example:other"),
        "{answer}"
    );
    // Staff cannot take the prefixes that tell the source.
    let (status, answer) = ctl.send_json(
        "POST",
        "/api/v1/alerts",
        &serde_json::json!({"id": "jma-fake", "template": {"kind": "earthquake"},
            "placeholders": {"area": "北区"}, "targets": [{"kind": "ward", "id": "kita"}],
            "status": "Exercise"}),
    );
    assert_eq!(status, 400, "{answer}");
}

//! Emergency alerts through the controller's HTTP API, with real player processes (rendering
//! off) over a real broker: two-person issue, delivery to exactly the targeted ward, update,
//! cancel, drills, expiry, roles, every CAP sample, broker and controller restarts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use e2e::{Broker, Controller, Mosquitto, Proc, mqtt, player_cache, start_player, wait_until};
use serde_json::{Value, json};

const KEEP_ALIVE_SECS: u64 = 2;

fn quake(status: &str, targets: Value) -> Value {
    json!({
        "template": {"kind": "earthquake"},
        "placeholders": {"area": "北区"},
        "targets": targets,
        "status": status,
    })
}

fn kita() -> Value {
    json!([{"kind": "ward", "id": "kita"}])
}

fn detail(ctl: &Controller, id: &str) -> Value {
    let (status, body) = ctl.get(&format!("/api/v1/alerts/{id}"));
    assert_eq!(status, 200, "{body}");
    body
}

/// Waits until the alert's delivery count `field` equals the number of targeted players.
fn wait_all(ctl: &Controller, id: &str, field: &str, timeout: Duration) -> Value {
    let mut last = Value::Null;
    let took = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_until(timeout, &format!("every targeted player {field}"), || {
            last = detail(ctl, id);
            let counts = &last["counts"];
            counts["targeted"].as_u64() > Some(0) && counts[field] == counts["targeted"]
        })
    }));
    match took {
        Ok(took) => {
            eprintln!("alert {id}: all {field} after {took:?}");
            last
        }
        Err(_) => panic!("not every targeted player {field}: {last:#}"),
    }
}

/// What the player holds (its `alerts.json`), as text.
fn held(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(player_cache(dir, name).join("alerts.json")).unwrap_or_default()
}

struct Fleet {
    _procs: Vec<Proc>,
    configs: Vec<PathBuf>,
}

/// Registers and starts players `(id, ward)`, waits until each is online.
fn fleet(
    dir: &Path,
    ctl: &Controller,
    players: &[(&str, &str)],
    mosquitto: Option<&Mosquitto>,
) -> Fleet {
    let configs: Vec<PathBuf> = players
        .iter()
        .map(|(id, ward)| match mosquitto {
            Some(m) => m.enrol(ctl, id, ward, KEEP_ALIVE_SECS),
            None => ctl.add_player(id, ward, KEEP_ALIVE_SECS),
        })
        .collect();
    let procs = configs
        .iter()
        .zip(players)
        .map(|(c, (id, _))| start_player(dir, c, id))
        .collect();
    wait_until(Duration::from_secs(20), "players online", || {
        players.iter().all(|(id, _)| ctl.is_online(id))
    });
    Fleet {
        _procs: procs,
        configs,
    }
}

fn create(ctl: &Controller, token: &str, body: &Value) -> Value {
    let (status, answer) = ctl.request_as(Some(token), "POST", "/api/v1/alerts", Some(body));
    assert_eq!(status, 201, "create answered {status}: {answer}");
    answer
}

/// Issues an earthquake drill for the kita ward and waits until every screen there shows it;
/// returns its id.
fn drill_shown_in_kita(ctl: &Controller, token: &str) -> String {
    let id = create(ctl, token, &quake("Exercise", kita()))["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_all(ctl, &id, "showing", Duration::from_secs(10));
    id
}

fn step(ctl: &Controller, token: &str, id: &str, action: &str) -> (u16, Value) {
    ctl.request_as(
        Some(token),
        "POST",
        &format!("/api/v1/alerts/{id}/{action}"),
        None,
    )
}

#[test]
fn a_live_alert_needs_a_second_person_and_reaches_exactly_its_ward() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = Controller::start(dir.path(), Broker::Embedded);
    let players = [
        ("kita-1", "kita"),
        ("kita-2", "kita"),
        ("naniwa-1", "naniwa"),
    ];
    let _fleet = fleet(dir.path(), &ctl, &players, None);
    let first = ctl.token_for("disaster");
    let second = ctl.token_for("disaster");

    let alert = create(&ctl, &first, &quake("Actual", kita()));
    let id = alert["id"].as_str().unwrap().to_string();
    assert_eq!(alert["phase"], "pending_confirmation", "{alert}");
    assert_eq!(alert["drill"], false);

    // The submitter cannot confirm their own live alert.
    let (status, answer) = step(&ctl, &first, &id, "confirm");
    assert_eq!(status, 403, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("second authorised person"),
        "{answer}"
    );
    assert_eq!(detail(&ctl, &id)["phase"], "pending_confirmation");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !held(dir.path(), "kita-1").contains(&id),
        "shown before confirmation"
    );

    let (status, answer) = step(&ctl, &second, &id, "confirm");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["phase"], "issued");
    let shown = wait_all(&ctl, &id, "showing", Duration::from_secs(10));
    assert_eq!(shown["counts"]["targeted"], 2, "{shown}");
    let ids: Vec<&str> = shown["players"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["kita-1", "kita-2"]);
    assert!(shown["players"][0]["displayed_at"].is_string(), "{shown}");
    // The controller stamps when it heard each acknowledgement: after the player sent it.
    for p in shown["players"].as_array().unwrap() {
        let time = |key: &str| {
            p[key]
                .as_str()
                .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok())
                .unwrap_or_else(|| panic!("{key} of {p}"))
        };
        assert!(time("received_at") >= time("acked_at"), "{p}");
    }
    assert!(held(dir.path(), "kita-1").contains(&id));
    assert!(
        !held(dir.path(), "naniwa-1").contains(&id),
        "a player of another ward holds the alert"
    );

    // Update replaces: revision 2, acknowledged by every targeted player.
    let mut update = quake("Actual", kita());
    update["template"] = json!({"kind": "tsunami"});
    update["placeholders"]["shelter"] = json!("扇町公園");
    let (status, answer) = ctl.request_as(
        Some(&first),
        "PUT",
        &format!("/api/v1/alerts/{id}"),
        Some(&update),
    );
    assert_eq!(status, 200, "{answer}");
    // A live Actual alert's update waits for a second person too.
    assert_eq!(
        (answer["phase"].as_str(), answer["revision"].as_u64()),
        (Some("issued"), Some(1)),
        "{answer}"
    );
    assert_eq!(answer["pending_update"]["revision"], 2, "{answer}");
    let (status, _) = step(&ctl, &first, &id, "confirm");
    assert_eq!(status, 403, "the update's submitter cannot confirm it");
    let (status, answer) = step(&ctl, &second, &id, "confirm");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (answer["phase"].as_str(), answer["revision"].as_u64()),
        (Some("updated"), Some(2))
    );
    let updated = wait_all(&ctl, &id, "showing", Duration::from_secs(10));
    assert!(
        updated["players"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["acked_revision"] == 2)
    );

    // The export is valid CAP 1.2 and says Update with references.
    let (status, xml, _) = ctl.get_bytes(&format!("/api/v1/alerts/{id}/cap"), None);
    assert_eq!(status, 200);
    let parsed = alerts::cap::parse(&xml).expect("the export parses as CAP");
    assert_eq!(parsed.version, alerts::cap::CapVersion::V1_2);
    assert_eq!(parsed.alert.msg_type, alerts::model::MsgType::Update);
    assert_eq!(parsed.alert.references.len(), 1);

    // Cancel clears in one step.
    let (status, answer) = step(&ctl, &first, &id, "cancel");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["phase"], "cancelled");
    wait_all(&ctl, &id, "cleared", Duration::from_secs(10));
    let (status, xml, _) = ctl.get_bytes(&format!("/api/v1/alerts/{id}/cap"), None);
    assert_eq!(status, 200);
    let cancel = alerts::cap::parse(&xml).expect("the cancel export parses");
    assert_eq!(cancel.alert.msg_type, alerts::model::MsgType::Cancel);
    assert!(!held(dir.path(), "naniwa-1").contains(&id));

    // A rejected alert goes back to draft and is never shown.
    let other = create(&ctl, &first, &quake("Actual", kita()))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, answer) = step(&ctl, &second, &other, "reject");
    assert_eq!(
        (status, answer["phase"].as_str()),
        (200, Some("draft")),
        "{answer}"
    );
    // Nothing can be confirmed twice or cancelled after the end.
    let (status, _) = step(&ctl, &second, &id, "cancel");
    assert_eq!(status, 409);
}

#[test]
fn a_drill_is_issued_by_one_person_marked_and_expires() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = Controller::start(dir.path(), Broker::Embedded);
    let _fleet = fleet(dir.path(), &ctl, &[("kita-1", "kita")], None);
    let token = ctl.token_for("disaster");
    let mut body = quake("Exercise", json!([{"kind": "all"}]));
    body["expires_in_s"] = json!(4);
    let alert = create(&ctl, &token, &body);
    let id = alert["id"].as_str().unwrap().to_string();
    assert_eq!(
        (alert["phase"].as_str(), alert["drill"].as_bool()),
        (Some("issued"), Some(true))
    );
    wait_all(&ctl, &id, "showing", Duration::from_secs(10));
    let message = &detail(&ctl, &id)["message"];
    assert_eq!(message["cap"]["status"], "Exercise");
    // Every language carries its drill marking.
    let infos = message["cap"]["infos"].as_array().unwrap();
    assert_eq!(infos.len(), 7);
    for info in infos {
        let lang = info["language"].as_str().unwrap();
        let banner =
            alerts::templates::drill_banner(alerts::model::Status::Exercise, lang).unwrap();
        assert!(
            info["headline"].as_str().unwrap().starts_with(banner),
            "{info}"
        );
    }
    // Expiry: the controller ends it and the player clears it.
    wait_until(Duration::from_secs(10), "the drill to expire", || {
        detail(&ctl, &id)["phase"] == "expired"
    });
    wait_all(&ctl, &id, "cleared", Duration::from_secs(10));
    let (_, list) = ctl.get("/api/v1/alerts");
    assert_eq!(list[0]["id"], id.as_str());
}

#[test]
fn roles_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = Controller::start(dir.path(), Broker::Embedded);
    let viewer = ctl.token_for("viewer");
    let pr = ctl.token_for("pr");
    let disaster = ctl.token_for("disaster");
    let body = quake("Exercise", kita());
    for token in [&viewer, &pr] {
        let (status, answer) = ctl.request_as(Some(token), "POST", "/api/v1/alerts", Some(&body));
        assert_eq!(status, 403, "{answer}");
        let (status, _) = ctl.request_as(Some(token), "POST", "/api/v1/cap", Some(&json!({})));
        assert_eq!(status, 403);
        let (status, _) = step(&ctl, token, "x", "cancel");
        assert_eq!(status, 403);
    }
    let (status, _) = ctl.request_as(None, "POST", "/api/v1/alerts", Some(&body));
    assert_eq!(status, 401);
    let (status, _) = ctl.request_as(None, "GET", "/api/v1/alerts", None);
    assert_eq!(status, 401);
    let (status, list) = ctl.request_as(Some(&viewer), "GET", "/api/v1/alerts", None);
    assert_eq!((status, list.clone()), (200, json!([])));
    let (status, catalogue) =
        ctl.request_as(Some(&viewer), "GET", "/api/v1/alerts/templates", None);
    assert_eq!(status, 200);
    assert_eq!(catalogue["languages"].as_array().unwrap().len(), 7);
    assert_eq!(catalogue["levels"].as_array().unwrap().len(), 5);

    // Bad input: a clear 4xx and nothing stored.
    let bad = [
        json!({"template": {"kind": "volcano"}, "placeholders": {"area": "x"}, "targets": [{"kind": "all"}], "status": "Exercise"}),
        json!({"template": {"kind": "earthquake"}, "placeholders": {"area": "x"}, "targets": [], "status": "Exercise"}),
        json!({"template": {"kind": "tsunami"}, "placeholders": {"area": "x"}, "targets": [{"kind": "all"}], "status": "Exercise"}),
        json!({"template": {"kind": "earthquake"}, "placeholders": {"area": "x"}, "targets": [{"kind": "ward", "id": "a/b"}], "status": "Exercise"}),
        json!({"template": {"kind": "earthquake"}, "placeholders": {"area": "x"}, "targets": [{"kind": "all"}], "status": "Draft"}),
        json!({"template": {"kind": "earthquake"}, "placeholders": {"area": "x"}, "targets": [{"kind": "all"}], "status": "Exercise", "level": 9}),
        json!({"id": "has space", "template": {"kind": "earthquake"}, "placeholders": {"area": "x"}, "targets": [{"kind": "all"}], "status": "Exercise"}),
    ];
    for body in &bad {
        let (status, answer) =
            ctl.request_as(Some(&disaster), "POST", "/api/v1/alerts", Some(body));
        assert!((400..500).contains(&status), "{body} answered {status}");
        assert!(
            answer["error"].as_str().is_some_and(|e| e.len() > 10),
            "{answer}"
        );
        eprintln!("refused ({status}): {}", answer["error"]);
    }
    let (_, list) = ctl.get("/api/v1/alerts");
    assert_eq!(list, json!([]), "a refused alert was stored");
    let (status, _) = ctl.get("/api/v1/alerts/nope");
    assert_eq!(status, 404);
    // Every refusal is in the audit log too.
    let audit = std::process::Command::new("sqlite3")
        .arg(ctl.data_dir.join("controller.db"))
        .arg("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'alert.%' AND outcome = 'refused'")
        .output();
    if let Ok(out) = audit
        && out.status.success()
    {
        let n: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        assert!(n >= bad.len() as u32, "only {n} refusals audited");
    } else {
        eprintln!("sqlite3 not installed: audit rows not checked here");
    }
}

const CANARY: &str = "canary-7f3a9c-never-read-me";

#[test]
fn every_cap_sample_is_accepted_or_refused_and_xxe_reads_nothing() {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/cap");
    if !samples.is_dir() {
        eprintln!("SKIPPED: {} not found (the CAP samples)", samples.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let canary = dir.path().join("canary.txt");
    std::fs::write(&canary, CANARY).unwrap();
    // The feed's token exists before the controller reads the configuration naming it.
    let data_dir = dir.path().join("controller-data");
    std::fs::create_dir_all(&data_dir).unwrap();
    let token = e2e::create_token(&data_dir, "disaster");
    let feed_id = format!("tok-{}", &e2e::sha256_hex(token.as_bytes())[..12]);
    // The whole world is one ward, so every polygon or circle area maps somewhere.
    let config = dir.path().join("controller.toml");
    std::fs::write(
        &config,
        r#"
[alerts.cap_intake]
feeds = [{ token = "FEED", senders = ["w-nws.webmaster@noaa.gov"] }]

[[alerts.areas.wards]]
ward = "kita"
boundary = { points = [
  { lat = -89.0, lon = -179.0 }, { lat = -89.0, lon = 179.0 },
  { lat = 89.0, lon = 179.0 }, { lat = 89.0, lon = -179.0 }, { lat = -89.0, lon = -179.0 } ] }
"#
        .replace("FEED", &feed_id),
    )
    .unwrap();
    let ctl = Controller::start_with(
        dir.path(),
        Broker::Embedded,
        &["--config", config.to_str().unwrap()],
    );
    let mut files: Vec<PathBuf> = walk(&samples);
    files.retain(|f| f.extension().is_some_and(|e| e != "xsd"));
    files.sort();
    // Our own XXE attempts at the canary file.
    let own = [
        format!(
            "<?xml version=\"1.0\"?><!DOCTYPE alert [<!ENTITY x SYSTEM \"file://{}\">]><alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><identifier>&x;</identifier></alert>",
            canary.display()
        ),
        format!(
            "<?xml version=\"1.0\"?><!DOCTYPE alert SYSTEM \"file://{}\"><alert/>",
            canary.display()
        ),
    ];
    let (mut accepted, mut refused) = (0, 0);
    let mut bodies: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|f| (f.display().to_string(), std::fs::read(f).unwrap()))
        .collect();
    bodies.extend(
        own.iter()
            .map(|x| ("own-xxe".to_string(), x.clone().into_bytes())),
    );
    for (name, bytes) in &bodies {
        let (status, answer) = post_raw(&ctl, &token, bytes);
        let text = answer.to_string();
        assert!(
            !text.contains(CANARY) && !text.contains("root:x:0"),
            "{name} leaked a file: {text}"
        );
        assert!(status < 500, "{name}: {status} {answer}");
        if status == 200 {
            assert_eq!(answer["accepted"], true, "{name}: {answer}");
            assert!(answer["decision"].is_string() && answer["reason"].is_string());
            accepted += 1;
            eprintln!(
                "accepted {name}: {} ({})",
                answer["decision"], answer["reason"]
            );
        } else {
            assert!((400..500).contains(&status));
            assert!(
                answer["error"].as_str().is_some_and(|e| e.len() > 10),
                "{name}: {answer}"
            );
            assert!(answer["rule"].is_string(), "{name}: {answer}");
            refused += 1;
            eprintln!(
                "refused {name} ({status}, {}): {}",
                answer["rule"], answer["error"]
            );
        }
        if name.contains("xee") || name.contains("xxe") {
            assert_ne!(status, 200, "{name}: an XXE sample was accepted");
        }
    }
    eprintln!("{accepted} accepted, {refused} refused of {}", bodies.len());
    assert!(refused > 0);

    // The intake policy on fresh documents (the samples above are old: expired, or updates
    // of alerts this controller never saw).
    let trusted = "w-nws.webmaster@noaa.gov";
    let post = |xml: String| post_raw(&ctl, &token, xml.as_bytes());
    let (status, answer) = post(fresh_cap(
        "t-1",
        trusted,
        "Actual",
        "Alert",
        "Extreme",
        "Immediate",
        "",
    ));
    assert_eq!(
        (status, answer["decision"].as_str()),
        (200, Some("issued")),
        "{answer}"
    );
    assert_eq!(answer["alert"]["confirmed_by"], "cap-policy");
    assert_eq!(
        answer["alert"]["targets"],
        json!([{"kind": "ward", "id": "kita"}])
    );
    let issued_sent = answer["alert"]["cap_identifier"].clone();
    assert_eq!(issued_sent, "t-1");
    // The trusted sender's name in a document posted with any other credential earns nothing.
    let staff = ctl.token_for("disaster");
    let (status, answer) = post_raw(
        &ctl,
        &staff,
        fresh_cap(
            "s-1",
            trusted,
            "Actual",
            "Alert",
            "Extreme",
            "Immediate",
            "",
        )
        .as_bytes(),
    );
    assert_eq!(
        (status, answer["decision"].as_str()),
        (200, Some("pending_confirmation")),
        "{answer}"
    );
    let (status, answer) = post(fresh_cap(
        "t-2", trusted, "Actual", "Alert", "Severe", "Expected", "",
    ));
    assert_eq!(
        (status, answer["decision"].as_str()),
        (200, Some("pending_confirmation")),
        "{answer}"
    );
    let (status, answer) = post(fresh_cap(
        "u-1",
        "someone@example.org",
        "Actual",
        "Alert",
        "Extreme",
        "Immediate",
        "",
    ));
    assert_eq!(
        (status, answer["decision"].as_str()),
        (200, Some("pending_confirmation")),
        "{answer}"
    );
    let (status, answer) = post(fresh_cap(
        "u-2",
        "someone@example.org",
        "Exercise",
        "Alert",
        "Extreme",
        "Immediate",
        "",
    ));
    assert_eq!(
        (status, answer["decision"].as_str()),
        (200, Some("draft")),
        "{answer}"
    );
    // The same document twice is refused, nothing changes.
    let (status, answer) = post(fresh_cap(
        "t-1",
        trusted,
        "Actual",
        "Alert",
        "Extreme",
        "Immediate",
        "",
    ));
    assert_eq!(status, 409, "{answer}");
    // Update and Cancel find the alert by its references.
    let refs = format!("{trusted},t-1,2026-01-01T00:00:00+09:00");
    let (status, answer) = post(fresh_cap(
        "t-1b",
        trusted,
        "Actual",
        "Update",
        "Extreme",
        "Immediate",
        &refs,
    ));
    assert_eq!(
        (status, answer["decision"].as_str()),
        (200, Some("updated")),
        "{answer}"
    );
    assert_eq!(answer["alert"]["revision"], 2);
    let id = answer["alert"]["id"].as_str().unwrap().to_string();
    let (status, answer) = post(fresh_cap(
        "t-1c",
        trusted,
        "Actual",
        "Cancel",
        "Extreme",
        "Immediate",
        &refs,
    ));
    assert_eq!(
        (status, answer["decision"].as_str()),
        (200, Some("cancelled")),
        "{answer}"
    );
    assert_eq!(detail(&ctl, &id)["phase"], "cancelled");
    let (status, answer) = post(fresh_cap(
        "x-1",
        trusted,
        "Actual",
        "Update",
        "Extreme",
        "Immediate",
        "a@b,nope,2026-01-01T00:00:00+09:00",
    ));
    assert_eq!(
        (status, answer["rule"].as_str()),
        (422, Some("unknown-reference")),
        "{answer}"
    );
    let big = format!(
        "{}<!-- {} -->",
        fresh_cap(
            "big",
            trusted,
            "Actual",
            "Alert",
            "Extreme",
            "Immediate",
            ""
        ),
        "x".repeat(1 << 20)
    );
    let (status, answer) = post(big);
    assert_eq!(
        (status, answer["rule"].as_str()),
        (413, Some("size-limit")),
        "{answer}"
    );
    let log = ctl.proc.log();
    assert!(
        !log.contains(CANARY) && !log.contains("root:x:0"),
        "the log shows a file's content"
    );
}

/// A CAP 1.2 document about Osaka, expiring in an hour.
fn fresh_cap(
    identifier: &str,
    sender: &str,
    status: &str,
    msg_type: &str,
    severity: &str,
    urgency: &str,
    references: &str,
) -> String {
    let now = chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).unwrap());
    let sent = now.format("%Y-%m-%dT%H:%M:%S%:z");
    let expires = (now + chrono::TimeDelta::hours(1)).format("%Y-%m-%dT%H:%M:%S%:z");
    let references = if references.is_empty() {
        String::new()
    } else {
        format!("<references>{references}</references>")
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier><sender>{sender}</sender><sent>{sent}</sent>
  <status>{status}</status><msgType>{msg_type}</msgType><scope>Public</scope>{references}
  <info><language>en</language><category>Geo</category><event>Earthquake</event>
    <urgency>{urgency}</urgency><severity>{severity}</severity><certainty>Observed</certainty>
    <expires>{expires}</expires><headline>Strong shaking</headline>
    <area><areaDesc>Osaka</areaDesc><polygon>34.6,135.4 34.6,135.6 34.8,135.6 34.8,135.4 34.6,135.4</polygon></area>
  </info>
</alert>"#
    )
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn post_raw(ctl: &Controller, token: &str, bytes: &[u8]) -> (u16, Value) {
    ctl.post_bytes(token, "/api/v1/cap", "application/cap+xml", bytes)
}

/// A retained alert message as a (new) client sees it, logged in as a registered player.
/// A player's MQTT login from its configuration file: (id, password).
fn login(config: &Path) -> (String, String) {
    let user = std::fs::read_to_string(config)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("id = "))
        .unwrap()
        .trim_matches('"')
        .to_string();
    (user, e2e::player_password(config))
}

fn retained_alert(url: &str, config: &Path, topic: &str) -> Value {
    let (user, password) = login(config);
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        // The embedded broker wants the client id to equal the user name.
        let client = mqtt::connect(url, &user, &user, &password);
        match client.wait_connected(Duration::from_secs(5)) {
            Ok(()) => {
                let payload = client.first_message(topic, Duration::from_secs(15));
                return serde_json::from_slice(&payload).unwrap();
            }
            Err(e) if std::time::Instant::now() < deadline => {
                eprintln!("observer not connected yet: {e}");
                std::thread::sleep(Duration::from_millis(300));
            }
            Err(e) => panic!("cannot connect the observer: {e}"),
        }
    }
}

#[test]
fn a_broker_restart_during_an_alert_republishes_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut mosquitto = Mosquitto::start(dir.path());
    let ctl = Controller::start(dir.path(), Broker::External(&mosquitto));
    let fleet = fleet(dir.path(), &ctl, &[("kita-1", "kita")], Some(&mosquitto));
    let observer = mosquitto.enrol(&ctl, "observer", "naniwa", KEEP_ALIVE_SECS);
    let token = ctl.token_for("disaster");
    let id = drill_shown_in_kita(&ctl, &token);

    mosquitto.restart(); // empty: no persistence
    let topic = format!("signage/v1/alerts/ward/kita/{id}");
    let envelope = retained_alert(&mosquitto.url(), &observer, &topic);
    assert!(
        envelope["signature"]
            .as_str()
            .is_some_and(|s| s.len() == 128)
    );
    assert!(envelope["payload"].as_str().unwrap().contains(&id));
    wait_until(Duration::from_secs(15), "the player back online", || {
        ctl.is_online("kita-1")
    });
    assert!(held(dir.path(), "kita-1").contains(&id));
    let after = detail(&ctl, &id);
    assert_eq!(after["phase"], "issued");
    assert_eq!(after["counts"]["showing"], 1, "{after}");
    drop(fleet);
}

#[test]
fn a_controller_restart_keeps_the_alert_live() {
    let dir = tempfile::tempdir().unwrap();
    let mut ctl = Controller::start(dir.path(), Broker::Embedded);
    let mut fleet = fleet(
        dir.path(),
        &ctl,
        &[("kita-1", "kita"), ("kita-2", "kita")],
        None,
    );
    let first = ctl.token_for("disaster");
    let second = ctl.token_for("admin");
    let id = create(&ctl, &first, &quake("Actual", kita()))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = step(&ctl, &second, &id, "confirm");
    assert_eq!(status, 200);
    wait_all(&ctl, &id, "showing", Duration::from_secs(10));

    ctl.restart(); // SIGKILL: the embedded broker and its retained messages are gone
    let after = detail(&ctl, &id);
    assert_eq!(
        (after["phase"].as_str(), after["revision"].as_u64()),
        (Some("issued"), Some(1))
    );
    // A screen replaced meanwhile (an empty cache) gets the alert from the new broker: the
    // restarted controller republished it.
    fleet._procs[1].kill();
    std::fs::remove_dir_all(player_cache(dir.path(), "kita-2")).unwrap();
    fleet._procs[1] = start_player(dir.path(), &fleet.configs[1], "kita-2");
    wait_until(
        Duration::from_secs(20),
        "the replaced screen holds the alert",
        || held(dir.path(), "kita-2").contains(&id),
    );
    wait_until(Duration::from_secs(20), "players back online", || {
        ctl.is_online("kita-1") && ctl.is_online("kita-2")
    });
    for name in ["kita-1", "kita-2"] {
        assert!(
            held(dir.path(), name).contains(&id),
            "{name} lost the alert"
        );
    }
    assert_eq!(detail(&ctl, &id)["counts"]["showing"], 2);
    // Still one step to cancel after the restart.
    let (status, _) = step(&ctl, &first, &id, "cancel");
    assert_eq!(status, 200);
    wait_all(&ctl, &id, "cleared", Duration::from_secs(10));
    drop(fleet.configs);
}

/// Removes the retained message on `topic` (an empty retained publish, which only the
/// controller's login may send), as a restarted broker or one past the controller's one-day
/// tombstone window would have lost it, and checks that it is gone.
fn delete_retained(mosquitto: &Mosquitto, topic: &str) {
    let url = &mosquitto.url();
    let client = mqtt::connect(
        url,
        "test-deleter",
        "controller",
        &mosquitto.controller_password,
    );
    client.wait_connected(Duration::from_secs(10)).unwrap();
    client
        .client
        .publish(topic, rumqttc::QoS::AtLeastOnce, true, Vec::<u8>::new())
        .unwrap();
    wait_until(
        Duration::from_secs(10),
        "the retained tombstone gone",
        || !is_retained(mosquitto, topic),
    );
}

/// Whether a fresh subscriber to `topic` gets a retained message (not empty) at once.
fn is_retained(mosquitto: &Mosquitto, topic: &str) -> bool {
    let probe = mqtt::connect(
        &mosquitto.url(),
        "test-probe",
        "controller",
        &mosquitto.controller_password,
    );
    probe.wait_connected(Duration::from_secs(5)).unwrap();
    probe
        .client
        .subscribe(topic, rumqttc::QoS::AtLeastOnce)
        .unwrap();
    probe
        .next_publish(Duration::from_millis(700))
        .is_some_and(|payload| !payload.is_empty())
}

/// The broker keeps an ended alert's tombstone only for `tombstone_keep_secs` (a day by
/// default): screens connecting later are not handed every alert ever cancelled. A live alert
/// stays.
#[test]
fn an_ended_alert_leaves_the_broker_after_the_configured_time() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("controller.toml");
    std::fs::write(&config, "[alerts]\ntombstone_keep_secs = 10\n").unwrap();
    let mosquitto = Mosquitto::start(dir.path());
    let ctl = Controller::start_with(
        dir.path(),
        Broker::External(&mosquitto),
        &["--config", config.to_str().unwrap()],
    );
    let _fleet = fleet(dir.path(), &ctl, &[("kita-1", "kita")], Some(&mosquitto));
    let token = ctl.token_for("disaster");
    let ended = drill_shown_in_kita(&ctl, &token);
    let live = drill_shown_in_kita(&ctl, &token);
    let topic = |id: &str| format!("signage/v1/alerts/ward/kita/{id}");

    let (status, body) = step(&ctl, &token, &ended, "cancel");
    assert_eq!(status, 200, "{body}");
    wait_all(&ctl, &ended, "cleared", Duration::from_secs(10));
    assert!(
        is_retained(&mosquitto, &topic(&ended)),
        "the tombstone is kept at first"
    );
    wait_until(
        Duration::from_secs(30),
        "the tombstone deleted from the broker",
        || !is_retained(&mosquitto, &topic(&ended)),
    );
    assert!(
        is_retained(&mosquitto, &topic(&live)),
        "a live alert stays on the broker"
    );
    assert!(
        ctl.proc
            .log()
            .contains("tombstones of ended alerts deleted from the broker")
    );
    // The screen was cleared once and stays so: the deletion (an empty message) changes nothing.
    let detail = wait_all(&ctl, &ended, "cleared", Duration::from_secs(5));
    assert_eq!(detail["players"][0]["state"], "cleared", "{detail:#}");
    wait_all(&ctl, &live, "showing", Duration::from_secs(5));
}

/// A screen switched off while its alert was cancelled comes back when the broker no longer
/// holds the tombstone. It shows the alert from its own disk at once (as it must: it cannot
/// know), says so, and the controller answers by sending the tombstone again.
#[test]
fn a_player_that_missed_the_cancel_is_cleared_when_it_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let mosquitto = Mosquitto::start(dir.path());
    let ctl = Controller::start(dir.path(), Broker::External(&mosquitto));
    let fleet = fleet(dir.path(), &ctl, &[("kita-1", "kita")], Some(&mosquitto));
    let config = fleet.configs[0].clone();
    let token = ctl.token_for("disaster");
    let id = drill_shown_in_kita(&ctl, &token);

    drop(fleet); // switched off: SIGKILL, nothing more reaches it
    let (status, body) = step(&ctl, &token, &id, "cancel");
    assert_eq!(status, 200, "{body}");
    delete_retained(&mosquitto, &format!("signage/v1/alerts/ward/kita/{id}"));
    assert!(held(dir.path(), "kita-1").contains(&id));

    let _back = start_player(dir.path(), &config, "kita-1");
    let after = wait_all(&ctl, &id, "cleared", Duration::from_secs(15));
    assert_eq!(after["players"][0]["state"], "cleared", "{after:#}");
    wait_until(Duration::from_secs(10), "the alert off the screen", || {
        e2e::player_now(dir.path(), "kita-1").is_some_and(|now| now["kind"] != "alert")
    });
    assert!(
        ctl.proc
            .log()
            .contains("a player still shows an ended alert; its tombstone goes out again"),
        "the controller did not resend the tombstone"
    );
}

/// Every signed `show` carries a validity, and the controller signs a live alert again before
/// it ends (here a 60 s window: again after 10 s).
#[test]
fn live_alerts_are_signed_again_before_their_validity_ends() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("controller.toml");
    std::fs::write(&config, "[alerts]\nshow_validity_secs = 60\n").unwrap();
    let ctl = Controller::start_with(
        dir.path(),
        Broker::Embedded,
        &["--config", config.to_str().unwrap()],
    );
    let player = ctl.add_player("kita-1", "kita", 5);
    let token = ctl.token_for("disaster");
    let drill = create(&ctl, &token, &quake("Exercise", json!([{"kind": "all"}])));
    let id = drill["id"].as_str().unwrap().to_string();
    let topic = format!("signage/v1/alerts/all/{id}");
    let client = mqtt::connect(
        &ctl.mqtt,
        "kita-1",
        "kita-1",
        &e2e::player_password(&player),
    );
    client.wait_connected(Duration::from_secs(5)).unwrap();
    let valid_until = |payload: &[u8]| {
        let envelope: Value = serde_json::from_slice(payload).unwrap();
        let shown: Value = serde_json::from_str(envelope["payload"].as_str().unwrap()).unwrap();
        assert_eq!(shown["kind"], "show", "{shown}");
        shown["valid_until"]
            .as_str()
            .expect("a signed show always carries valid_until")
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    };
    let first = valid_until(&client.first_message(&topic, Duration::from_secs(10)));
    let left = first - chrono::Utc::now();
    assert!(
        left > chrono::TimeDelta::seconds(40) && left <= chrono::TimeDelta::seconds(61),
        "valid for {left} more"
    );
    let mut renewed = None;
    wait_until(Duration::from_secs(30), "the alert signed again", || {
        if let Some(payload) = client.next_publish(Duration::from_millis(500)) {
            let until = valid_until(&payload);
            if until > first {
                renewed = Some(until);
            }
        }
        renewed.is_some()
    });
    assert!(renewed.unwrap() - first >= chrono::TimeDelta::seconds(5));
}

//! Approval of content changes on a real controller: a `pr` account's edits wait in its own
//! change, invisible to players and to other staff's live view, until an approver approves
//! the revision they reviewed; the approver sees which screens gain, lose or see edited what;
//! a change sent back carries a comment; an approval the live set no longer fits is refused
//! with the problems named; every step is audited. With `content.approval = false`, `pr`
//! writes go live.

use std::time::Duration;

use e2e::{Broker, Controller, wait_until};
use serde_json::{Value, json};

fn slide(ja: &str) -> Value {
    json!({"kind": "text_slide", "texts": {"ja": {"title": ja, "body": ""}},
           "colours": {"text": "#ffffff", "background": "#003366"}})
}

fn full_screen(playlist: &str) -> Value {
    json!({"canvas": {"width": 1920, "height": 1080}, "zones": [
        {"id": "main", "x": 0, "y": 0, "width": 1920, "height": 1080, "playlist": playlist}
    ]})
}

/// A controller with a live fallback (`welcome`) and players in Kita and Naniwa.
fn controller(dir: &std::path::Path, extra: &[&str]) -> Controller {
    let ctl = Controller::start_with(dir, Broker::Embedded, extra);
    ctl.put("/api/v1/assets/welcome", slide("ようこそ"));
    ctl.put(
        "/api/v1/playlists/fallback",
        json!({"items": [{"asset": "welcome"}]}),
    );
    ctl.put("/api/v1/layouts/fallback", full_screen("fallback"));
    ctl.put("/api/v1/schedule/fallback", json!({"layout": "fallback"}));
    ctl.add_player("kita-1", "kita", 10);
    ctl.add_player("naniwa-1", "naniwa", 10);
    ctl
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

fn manifest_has(ctl: &Controller, player: &str, needle: &str) -> bool {
    let (status, manifest) = ctl.get(&format!("/api/v1/players/{player}/manifest"));
    status == 200 && manifest.to_string().contains(needle)
}

fn step(ctl: &Controller, token: &str, id: &str, action: &str, body: Value) -> (u16, Value) {
    ctl.request_as(
        Some(token),
        "POST",
        &format!("/api/v1/changes/{id}/{action}"),
        Some(&body),
    )
}

#[test]
fn a_pr_change_reaches_screens_only_once_approved() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = controller(dir.path(), &[]);
    let pr = ctl.token_for("pr");
    let other_pr = ctl.token_for("pr");
    let approver = ctl.token_for("approver");
    wait_until(Duration::from_secs(20), "the fallback manifest", || {
        manifest_has(&ctl, "kita-1", "welcome")
    });

    // A Kita notice: slide, playlist, layout and entry, each waiting in one change.
    let as_pr = |method: &str, path: &str, body: Value| {
        ctl.request_as(Some(&pr), method, path, Some(&body))
    };
    let (status, answer) = as_pr(
        "POST",
        "/api/v1/assets",
        json!({"id": "kita-notice", "title": "北区のお知らせ", "kind": "text_slide",
               "texts": {"ja": {"title": "北区役所からのお知らせ", "body": ""}},
               "colours": {"text": "#ffffff", "background": "#003366"}}),
    );
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["id"], "kita-notice");
    for (path, body) in [
        (
            "/api/v1/playlists/kita",
            json!({"items": [{"asset": "kita-notice"}]}),
        ),
        ("/api/v1/layouts/kita", full_screen("kita")),
        (
            "/api/v1/schedule/entries/kita-notice",
            json!({"targets": [{"kind": "ward", "id": "kita"}],
                   "dates": {"start": "2026-01-01"}, "priority": 5, "layout": "kita"}),
        ),
    ] {
        let (status, answer) = as_pr("PUT", path, body);
        assert_eq!(status, 202, "{path}: {answer}");
    }
    // Checked on the set with the change applied: a playlist of a missing asset is refused.
    let (status, refused) = as_pr(
        "PUT",
        "/api/v1/playlists/broken",
        json!({"items": [{"asset": "nothing-like-this"}]}),
    );
    assert_eq!(status, 400, "{refused}");

    // The author sees the change applied and marked; everyone else, and players, do not.
    let (_, mine) = ctl.request_as(Some(&pr), "GET", "/api/v1/assets", None);
    let notice = mine
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "kita-notice")
        .expect("the author sees the drafted slide");
    assert_eq!(notice["pending"], "new");
    let (_, live) = ctl.get("/api/v1/assets");
    assert_eq!(ids(&live), ["welcome"]);
    let (_, theirs) = ctl.request_as(Some(&other_pr), "GET", "/api/v1/assets", None);
    assert_eq!(ids(&theirs), ["welcome"]);
    assert!(!manifest_has(&ctl, "kita-1", "kita-notice"));

    let (_, changes) = ctl.request_as(Some(&pr), "GET", "/api/v1/changes", None);
    assert_eq!(changes.as_array().unwrap().len(), 1, "{changes}");
    let change = changes[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(changes[0]["state"], "draft");
    assert_eq!(changes[0]["changes"], 4);
    let (_, none) = ctl.request_as(Some(&other_pr), "GET", "/api/v1/changes", None);
    assert_eq!(none, json!([]), "another pr account sees only its own");
    let (status, _) = ctl.request_as(
        Some(&other_pr),
        "GET",
        &format!("/api/v1/changes/{change}"),
        None,
    );
    assert_eq!(status, 404);

    // Not submitted yet: nothing to approve. A pr account may not approve at all.
    let (status, answer) = step(&ctl, &approver, &change, "approve", json!({"revision": 4}));
    assert_eq!(status, 409, "{answer}");
    let (status, _) = step(&ctl, &pr, &change, "approve", json!({"revision": 4}));
    assert_eq!(status, 403);
    let (status, answer) = step(
        &ctl,
        &pr,
        &change,
        "submit",
        json!({"note": "12月の北区の掲示です"}),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["state"], "submitted");

    // The approver sees what changes on which screen: Kita's gains the notice, Naniwa's nothing.
    let (status, detail) = ctl.request_as(
        Some(&approver),
        "GET",
        &format!("/api/v1/changes/{change}"),
        None,
    );
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["note"], "12月の北区の掲示です");
    assert_eq!(detail["items"].as_array().unwrap().len(), 4);
    assert_eq!(detail["problems"], Value::Null);
    let screens = detail["screens"].as_array().unwrap();
    assert_eq!(screens.len(), 1, "{detail}");
    assert_eq!(screens[0]["player"], "kita-1");
    assert_eq!(screens[0]["ward"], "kita");
    let added = &screens[0]["added"];
    assert!(
        added
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["kind"] == "asset" && o["title"] == "北区のお知らせ"),
        "{added}"
    );
    let revision = detail["revision"].as_u64().unwrap();

    // "This screen at this time": as it is, and as it would be once approved.
    let at = "at=2026-12-10T10:00:00%2B09:00";
    let layout_of = |query: &str| {
        let (status, preview) = ctl.request_as(
            Some(&approver),
            "GET",
            &format!("/api/v1/players/kita-1/preview?{query}"),
            None,
        );
        assert_eq!(status, 200, "{preview}");
        preview["selection"]["screen"]["layout"].clone()
    };
    assert_eq!(layout_of(at), "fallback");
    assert_eq!(layout_of(&format!("{at}&change={change}")), "kita");
    let (status, _) = ctl.request_as(
        Some(&other_pr),
        "GET",
        &format!("/api/v1/players/kita-1/preview?{at}&change={change}"),
        None,
    );
    assert_eq!(status, 404, "another pr account cannot preview this change");

    // Sent back with a comment; the author edits and submits again.
    let (status, _) = step(
        &ctl,
        &approver,
        &change,
        "return",
        json!({"revision": revision}),
    );
    assert_eq!(status, 400, "a comment is required");
    let (status, answer) = step(
        &ctl,
        &approver,
        &change,
        "return",
        json!({"revision": revision, "comment": "英語も併記してください"}),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["state"], "returned");
    let (_, seen) = ctl.request_as(Some(&pr), "GET", &format!("/api/v1/changes/{change}"), None);
    assert_eq!(seen["comment"], "英語も併記してください");
    let (status, answer) = as_pr(
        "PUT",
        "/api/v1/assets/kita-notice",
        json!({"title": "北区のお知らせ", "kind": "text_slide",
               "texts": {"ja": {"title": "北区役所からのお知らせ", "body": ""},
                         "en": {"title": "A notice from Kita Ward Office", "body": ""}},
               "colours": {"text": "#ffffff", "background": "#003366"}}),
    );
    assert_eq!(status, 202, "{answer}");
    let (status, _) = step(&ctl, &pr, &change, "submit", json!({}));
    assert_eq!(status, 200);

    // An approval of what the approver no longer sees is refused; of what they see, applied.
    let (status, answer) = step(
        &ctl,
        &approver,
        &change,
        "approve",
        json!({"revision": revision}),
    );
    assert_eq!(status, 409, "{answer}");
    let (_, detail) = ctl.request_as(
        Some(&approver),
        "GET",
        &format!("/api/v1/changes/{change}"),
        None,
    );
    let (status, answer) = step(
        &ctl,
        &approver,
        &change,
        "approve",
        json!({"revision": detail["revision"], "comment": "承認します"}),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["state"], "approved");
    let (_, live) = ctl.get("/api/v1/assets");
    assert_eq!(ids(&live), ["kita-notice", "welcome"]);
    wait_until(
        Duration::from_secs(20),
        "Kita's manifest with the notice",
        || manifest_has(&ctl, "kita-1", "A notice from Kita Ward Office"),
    );
    assert!(!manifest_has(&ctl, "naniwa-1", "kita-notice"));

    // The author's next edit starts a new change.
    let (status, _) = as_pr("PATCH", "/api/v1/assets/welcome", json!({"tags": ["案内"]}));
    assert_eq!(status, 202);
    let (_, changes) = ctl.request_as(Some(&pr), "GET", "/api/v1/changes", None);
    let open: Vec<&Value> = changes
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["state"] == "draft")
        .collect();
    assert_eq!(open.len(), 1, "{changes}");
    assert_ne!(open[0]["id"], change.as_str());

    let (_, log) = ctl.get("/api/v1/audit?limit=100");
    let actions: Vec<(String, String)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap().to_owned(),
                r["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for expected in [
        ("asset.create", "proposed"),
        ("entry.create", "proposed"),
        ("asset.replace", "proposed"),
        ("change.submit", "ok"),
        ("change.return", "ok"),
        ("change.approve", "ok"),
    ] {
        let expected = (expected.0.to_owned(), expected.1.to_owned());
        assert!(
            actions.contains(&expected),
            "{expected:?} not in {actions:?}"
        );
    }
}

#[test]
fn deletes_wait_too_and_an_approval_the_live_set_no_longer_fits_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = controller(dir.path(), &[]);
    let pr = ctl.token_for("pr");
    let approver = ctl.token_for("approver");
    ctl.put("/api/v1/assets/map", slide("地図"));

    // A delete of something in use is refused with its uses, as for anyone.
    let (status, refused) = ctl.request_as(Some(&pr), "DELETE", "/api/v1/assets/welcome", None);
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["used_by"][0]["id"], "fallback");

    // A playlist of the map, proposed; then an admin deletes the map from the live set.
    let (status, _) = ctl.request_as(
        Some(&pr),
        "PUT",
        "/api/v1/playlists/maps",
        Some(&json!({"items": [{"asset": "map"}]})),
    );
    assert_eq!(status, 202);
    let (status, _) = ctl.send_json("DELETE", "/api/v1/assets/map", &Value::Null);
    assert_eq!(status, 204);
    let (_, changes) = ctl.request_as(Some(&pr), "GET", "/api/v1/changes", None);
    let change = changes[0]["id"].as_str().unwrap().to_owned();
    let (status, _) = step(&ctl, &pr, &change, "submit", json!({}));
    assert_eq!(status, 200);
    let (_, detail) = ctl.request_as(
        Some(&approver),
        "GET",
        &format!("/api/v1/changes/{change}"),
        None,
    );
    assert!(
        detail["problems"].as_str().unwrap().contains("map"),
        "{detail}"
    );
    let (status, refused) = step(
        &ctl,
        &approver,
        &change,
        "approve",
        json!({"revision": detail["revision"]}),
    );
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["error"].as_str().unwrap().contains("map"),
        "{refused}"
    );
    let (_, live) = ctl.get("/api/v1/playlists");
    assert_eq!(ids(&live), ["fallback"], "nothing was written");

    // The author withdraws it; a proposed delete then waits like any change.
    let (status, answer) = step(&ctl, &pr, &change, "withdraw", json!({}));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["state"], "withdrawn");
    ctl.put("/api/v1/assets/spare", slide("予備"));
    let (status, _) = ctl.request_as(Some(&pr), "DELETE", "/api/v1/assets/spare", None);
    assert_eq!(status, 202);
    let (_, mine) = ctl.request_as(Some(&pr), "GET", "/api/v1/assets", None);
    let spare = mine
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "spare")
        .expect("a pending delete stays listed, marked");
    assert_eq!(spare["pending"], "deleted");
    let (_, live) = ctl.get("/api/v1/assets");
    assert!(ids(&live).contains(&"spare".to_owned()));
}

#[test]
fn with_approval_off_pr_writes_go_live() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("controller.toml");
    std::fs::write(&config, "[content]\napproval = false\n").unwrap();
    let ctl = controller(dir.path(), &["--config", config.to_str().unwrap()]);
    let pr = ctl.token_for("pr");
    let (status, answer) = ctl.request_as(
        Some(&pr),
        "PUT",
        "/api/v1/assets/notice",
        Some(&slide("お知らせ")),
    );
    assert_eq!(status, 201, "{answer}");
    let (_, live) = ctl.get("/api/v1/assets");
    assert!(ids(&live).contains(&"notice".to_owned()));
    let (_, changes) = ctl.request_as(Some(&pr), "GET", "/api/v1/changes", None);
    assert_eq!(changes, json!([]));
}

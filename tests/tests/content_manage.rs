//! Content that staff manage by name, on a real controller: an upload is titled by its file
//! name; any asset's title, tags, owner and display window (掲載期限) can be edited, and bad
//! edits are refused with the field named; deleting an asset, playlist or layout in use is
//! refused with the places named, and allowed once nothing uses it. Every step is audited.
//! A corrected poster replaces an asset's file and keeps its id, title and playlists.

use e2e::{Broker, Controller, sha256_hex, test_png};
use serde_json::{Value, json};

fn full_screen(playlist: &str) -> Value {
    json!({"canvas": {"width": 1920, "height": 1080}, "zones": [
        {"id": "main", "x": 0, "y": 0, "width": 1920, "height": 1080, "playlist": playlist}
    ]})
}

fn asset(ctl: &Controller, id: &str) -> Option<Value> {
    let (status, assets) = ctl.get("/api/v1/assets");
    assert_eq!(status, 200);
    assets
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id)
        .cloned()
}

#[test]
fn assets_are_named_and_deleted_only_when_nothing_uses_them() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = Controller::start(dir.path(), Broker::Embedded);
    ctl.put(
        "/api/v1/assets/welcome",
        json!({"kind": "text_slide", "texts": {"ja": {"title": "ようこそ", "body": ""}},
               "colours": {"text": "#ffffff", "background": "#003366"}}),
    );
    ctl.put(
        "/api/v1/playlists/fallback",
        json!({"items": [{"asset": "welcome"}]}),
    );
    ctl.put("/api/v1/layouts/fallback", full_screen("fallback"));
    ctl.put("/api/v1/schedule/fallback", json!({"layout": "fallback"}));

    // The file's name is its title.
    let (status, uploaded) = ctl.upload("年末年始ポスター.png", &test_png(3));
    assert_eq!(status, 201, "{uploaded}");
    let id = uploaded["id"].as_str().unwrap().to_string();
    assert_eq!(asset(&ctl, &id).unwrap()["title"], "年末年始ポスター.png");

    // Title, tags, owner and 掲載期限 on an image.
    let path = format!("/api/v1/assets/{id}");
    let (status, edited) = ctl.send_json(
        "PATCH",
        &path,
        &json!({"title": "年末年始の閉庁のお知らせ", "tags": ["お知らせ", "年末年始"],
                "owner": "総務課", "shown_until": "2027-01-04T00:00:00+09:00"}),
    );
    assert_eq!(status, 200, "{edited}");
    let stored = asset(&ctl, &id).unwrap();
    assert_eq!(stored["title"], "年末年始の閉庁のお知らせ");
    assert_eq!(stored["tags"], json!(["お知らせ", "年末年始"]));
    assert_eq!(stored["owner"], "総務課");
    assert_eq!(stored["shown_until"], "2027-01-03T15:00:00Z");
    assert_eq!(stored["kind"], "image", "the file is untouched");

    // What may not change, and a window that ends before it starts, are refused by name.
    let (status, refused) = ctl.send_json("PATCH", &path, &json!({"kind": "video"}));
    assert_eq!(status, 400);
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("cannot be changed here"),
        "{refused}"
    );
    let (status, refused) = ctl.send_json(
        "PATCH",
        &path,
        &json!({"shown_from": "2027-01-05T09:00:00+09:00"}),
    );
    assert_eq!(status, 400);
    assert!(
        refused["error"].as_str().unwrap().contains("shown_until"),
        "{refused}"
    );
    let (status, _) = ctl.send_json("PATCH", "/api/v1/assets/nothing", &json!({"title": "x"}));
    assert_eq!(status, 404);
    // null clears a field.
    let (status, _) = ctl.send_json("PATCH", &path, &json!({"owner": null}));
    assert_eq!(status, 200);
    assert!(asset(&ctl, &id).unwrap().get("owner").is_none());

    // In use: refused, naming where.
    ctl.put(
        "/api/v1/playlists/notices",
        json!({"items": [{"asset": id}, {"asset": "welcome"}]}),
    );
    ctl.put("/api/v1/layouts/notices", full_screen("notices"));
    ctl.put(
        "/api/v1/schedule/entries/year-end",
        json!({"layout": "notices", "targets": [{"kind": "all"}], "priority": 1,
               "dates": {"start": "2026-12-20"}}),
    );
    let refusals = [
        (path.clone(), json!([{"kind": "playlist", "id": "notices"}])),
        (
            "/api/v1/playlists/notices".into(),
            json!([{"kind": "layout", "id": "notices"}]),
        ),
        (
            "/api/v1/layouts/notices".into(),
            json!([{"kind": "entry", "id": "year-end"}]),
        ),
        (
            "/api/v1/layouts/fallback".into(),
            json!([{"kind": "fallback", "id": "schedule"}]),
        ),
    ];
    for (what, used_by) in &refusals {
        let (status, answer) = ctl.request_as(None, "DELETE", what, None);
        assert_eq!(status, 401, "anonymous delete of {what}");
        let (status, answer2) = ctl.send_json("DELETE", what, &Value::Null);
        assert_eq!(status, 409, "{what}: {answer} {answer2}");
        assert_eq!(answer2["used_by"], *used_by, "{what}: {answer2}");
        assert!(
            answer2["error"].as_str().unwrap().contains("in use by"),
            "{answer2}"
        );
    }
    assert!(asset(&ctl, &id).is_some(), "nothing was deleted");

    // Once nothing uses them, entry, layout, playlist and asset go, in that order.
    for what in [
        "/api/v1/schedule/entries/year-end",
        "/api/v1/layouts/notices",
        "/api/v1/playlists/notices",
        path.as_str(),
    ] {
        let (status, answer) = ctl.send_json("DELETE", what, &Value::Null);
        assert_eq!(status, 204, "{what}: {answer}");
    }
    assert!(asset(&ctl, &id).is_none());
    let (status, _) = ctl.send_json("DELETE", &path, &Value::Null);
    assert_eq!(status, 404);

    let (status, log) = ctl.get("/api/v1/audit?limit=100");
    assert_eq!(status, 200);
    let actions: Vec<(String, String)> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["target"] == id.as_str() || r["target"] == "notices")
        .map(|r| {
            (
                r["action"].as_str().unwrap().to_owned(),
                r["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for expected in [
        ("asset.replace", "ok"),
        ("asset.delete", "refused"),
        ("playlist.delete", "refused"),
        ("layout.delete", "refused"),
        ("layout.delete", "ok"),
        ("playlist.delete", "ok"),
        ("asset.delete", "ok"),
    ] {
        let expected = (expected.0.to_owned(), expected.1.to_owned());
        assert!(
            actions.contains(&expected),
            "{expected:?} not in {actions:?}"
        );
    }
}

#[test]
fn a_corrected_poster_keeps_its_id_title_and_playlists() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = Controller::start(dir.path(), Broker::Embedded);
    ctl.add_player("p1", "kita", 10);
    let (_, first) = ctl.upload("お知らせ.png", &test_png(5));
    let id = first["id"].as_str().unwrap().to_string();
    ctl.send_json(
        "PATCH",
        &format!("/api/v1/assets/{id}"),
        &json!({"tags": ["お知らせ"]}),
    );
    ctl.put(
        "/api/v1/playlists/notices",
        json!({"items": [{"asset": id, "duration_ms": 5000}]}),
    );
    ctl.put("/api/v1/layouts/notices", full_screen("notices"));
    ctl.put("/api/v1/schedule/fallback", json!({"layout": "notices"}));

    let corrected = test_png(6);
    let path = format!("/api/v1/assets/{id}/file");
    let (status, answer) = ctl.send_file("PUT", &path, "お知らせ（訂正）.png", &corrected);
    assert_eq!(status, 200, "{answer}");
    let stored = asset(&ctl, &id).unwrap();
    assert_eq!(stored["file"]["sha256"], sha256_hex(&corrected).as_str());
    assert_eq!(
        stored["title"], "お知らせ.png",
        "the title staff know it by stays"
    );
    assert_eq!(stored["tags"], json!(["お知らせ"]));
    let (_, playlists) = ctl.get("/api/v1/playlists");
    assert_eq!(playlists[0]["items"][0]["asset"], id.as_str());
    // Players are sent the new file.
    e2e::wait_until(
        std::time::Duration::from_secs(20),
        "the manifest with the new file",
        || {
            let (_, manifest) = ctl.get("/api/v1/players/p1/manifest");
            manifest.to_string().contains(&sha256_hex(&corrected))
        },
    );

    // Text has no file; unknown assets are not found.
    ctl.put(
        "/api/v1/assets/note",
        json!({"kind": "ticker", "texts": {"ja": "お知らせ"},
               "colours": {"text": "#ffffff", "background": "#000000"}}),
    );
    let (status, refused) = ctl.send_file("PUT", "/api/v1/assets/note/file", "x.png", &corrected);
    assert_eq!(status, 400, "{refused}");
    let (status, _) = ctl.send_file("PUT", "/api/v1/assets/nothing/file", "x.png", &corrected);
    assert_eq!(status, 404);
}

/// The preview of a text slide is a PNG of the zone's size in the slide's colours; a slide
/// with too little contrast is refused with the reason; only text assets are previewed.
#[test]
fn a_text_slide_is_previewed_as_a_png_of_its_zone() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = Controller::start(dir.path(), Broker::Embedded);
    let slide = json!({"kind": "text_slide",
        "texts": {"ja": {"title": "番号札をお取りください", "body": "受付は2階です"}},
        "colours": {"text": "#ffffff", "background": "#003366"}});
    let (status, png) = ctl.post_raw(
        "/api/v1/assets/preview?width=960&height=540",
        "application/json",
        slide.to_string().as_bytes(),
    );
    assert_eq!(status, 200);
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(e2e::png_size(&png), (960, 540));
    let background = e2e::png_share(&png, |p| {
        p[0] < 10 && (0x28..0x3e).contains(&p[1]) && (0x5c..0x70).contains(&p[2])
    });
    let white = e2e::png_share(&png, |p| p[0] > 200 && p[1] > 200 && p[2] > 200);
    assert!(
        background > 0.6 && white > 0.005,
        "background {background:.3}, text {white:.3}"
    );
    let dim = json!({"kind": "text_slide", "texts": {"ja": {"title": "見出し", "body": ""}},
        "colours": {"text": "#114477", "background": "#003366"}});
    let (status, answer) = ctl.post_raw(
        "/api/v1/assets/preview",
        "application/json",
        dim.to_string().as_bytes(),
    );
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&answer).contains("contrast"));
    let (status, _) = ctl.post_raw(
        "/api/v1/assets/preview?width=99999",
        "application/json",
        slide.to_string().as_bytes(),
    );
    assert_eq!(status, 400);
}

//! The office calendar on a real controller and player: approvers edit the ward's closures,
//! openings and dayparts; the API lists a ward's open and closed days with the reason; the
//! preview answers "what shows on 2027-01-02 10:00 at 北区 1F"; and a player cut off from
//! the controller follows open days, closed days and 開庁時間 on its own, on a fake clock up
//! to two weeks ahead.

use std::time::Duration;

use e2e::{Broker, Controller, player_now, start_player_at, tokyo_date, wait_until};
use serde_json::{Value, json};

fn slide(ja: &str, background: &str) -> Value {
    json!({"kind": "text_slide", "texts": {"ja": {"title": ja, "body": ""}},
           "colours": {"text": "#ffffff", "background": background}})
}

/// Layouts `open` (開庁日, in 開庁時間), `closed` (閉庁日) and the fallback `outside`, with
/// entries for Kita.
fn office(ctl: &Controller) {
    for (id, text, colour) in [
        ("open", "窓口は開いています", "#003366"),
        ("closed", "本日は閉庁日です", "#5c0010"),
        ("outside", "時間外です", "#333333"),
    ] {
        ctl.put(&format!("/api/v1/assets/{id}"), slide(text, colour));
        ctl.put(
            &format!("/api/v1/playlists/{id}"),
            json!({"items": [{"asset": id}]}),
        );
        ctl.put(
            &format!("/api/v1/layouts/{id}"),
            json!({"canvas": {"width": 1920, "height": 1080}, "zones": [
                {"id": "main", "x": 0, "y": 0, "width": 1920, "height": 1080, "playlist": id}]}),
        );
    }
    ctl.put("/api/v1/schedule/fallback", json!({"layout": "outside"}));
    let kita = json!([{"kind": "ward", "id": "kita"}]);
    ctl.put(
        "/api/v1/schedule/entries/office-hours",
        json!({"targets": kita, "dates": {"start": "2026-01-01"}, "days": "open",
               "named_dayparts": ["開庁時間"], "priority": 5, "layout": "open"}),
    );
    ctl.put(
        "/api/v1/schedule/entries/closed-days",
        json!({"targets": kita, "dates": {"start": "2026-01-01"}, "days": "closed",
               "priority": 5, "layout": "closed"}),
    );
}

fn preview(ctl: &Controller, at: &str) -> String {
    let (status, answer) = ctl.get(&format!(
        "/api/v1/players/kita-1f/preview?at={}",
        at.replace('+', "%2B")
    ));
    assert_eq!(status, 200, "{answer}");
    answer["selection"]["screen"]["layout"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn approvers_edit_the_calendar_and_previews_follow_it() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = Controller::start(dir.path(), Broker::Embedded);
    ctl.add_player("kita-1f", "kita", 10);
    office(&ctl);

    let (status, calendar) = ctl.get("/api/v1/calendar");
    assert_eq!(status, 200);
    assert_eq!(calendar["year_end_closure"], true);
    assert_eq!(calendar["dayparts"][0]["name"], "開庁時間");

    // 北区 1F over the new year: closed on 1/2, open on the first working day.
    assert_eq!(preview(&ctl, "2027-01-02T10:00:00+09:00"), "closed");
    assert_eq!(preview(&ctl, "2027-01-04T10:00:00+09:00"), "open");
    assert_eq!(preview(&ctl, "2027-01-04T08:00:00+09:00"), "outside");

    // Only approvers and admins change the calendar.
    let mut edited = calendar.clone();
    edited["wards"] = json!([{"ward": "kita", "closed": ["2027-01-04"], "open": ["2027-01-24"],
        "dayparts": [{"name": "開庁時間", "start": "09:00:00", "end": "19:00:00"}]}]);
    let pr = ctl.token_for("pr");
    let (status, _) = ctl.request_as(Some(&pr), "PUT", "/api/v1/calendar", Some(&edited));
    assert_eq!(status, 403);
    let approver = ctl.token_for("approver");
    let (status, answer) =
        ctl.request_as(Some(&approver), "PUT", "/api/v1/calendar", Some(&edited));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(preview(&ctl, "2027-01-04T10:00:00+09:00"), "closed");
    assert_eq!(
        preview(&ctl, "2027-01-05T18:30:00+09:00"),
        "open",
        "Kita opens until 19:00"
    );
    assert_eq!(
        preview(&ctl, "2027-01-24T10:00:00+09:00"),
        "open",
        "日曜開庁"
    );

    let (status, days) = ctl.get("/api/v1/calendar/days?ward=kita&from=2026-12-28&days=9");
    assert_eq!(status, 200, "{days}");
    let summary: Vec<(String, bool, String)> = days["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["date"].as_str().unwrap().to_owned(),
                d["open"].as_bool().unwrap(),
                d["because"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(summary[0], ("2026-12-28".into(), true, "weekday".into()));
    assert_eq!(summary[1], ("2026-12-29".into(), false, "year_end".into()));
    assert_eq!(
        summary[7],
        ("2027-01-04".into(), false, "ward_closed".into())
    );
    assert_eq!(summary[8], ("2027-01-05".into(), true, "weekday".into()));
    let (_, days) = ctl.get("/api/v1/calendar/days?ward=naniwa&from=2027-01-11&days=1");
    assert_eq!(days["days"][0]["because"], "holiday");
    assert_eq!(days["days"][0]["name"], "成人の日");
    let (status, _) = ctl.get("/api/v1/calendar/days?ward=kita&days=1000");
    assert_eq!(status, 400);

    // A calendar that drops a daypart an entry names is refused, naming the entry.
    let mut dropped = edited.clone();
    dropped["dayparts"] = json!([]);
    dropped["wards"][0]["dayparts"] = json!([]);
    let (status, refused) =
        ctl.request_as(Some(&approver), "PUT", "/api/v1/calendar", Some(&dropped));
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("entries[office-hours].named_dayparts[0]"),
        "{refused}"
    );
    let (_, log) = ctl.get("/api/v1/audit?limit=20");
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|r| r["action"] == "calendar.update" && r["outcome"] == "ok"),
        "{log}"
    );
}

fn showing(dir: &std::path::Path) -> Option<String> {
    let now = player_now(dir, "kita-1f")?;
    let ready = now["zones"]
        .as_array()
        .is_some_and(|z| !z.is_empty() && z.iter().all(|z| z["ready"] == true));
    ready.then(|| now["layout"].as_str().map(str::to_owned))?
}

/// The first day from `from` days ahead on which Kita is open (`open`) or closed.
fn first_day(ctl: &Controller, from: i64, open: bool) -> String {
    let (_, days) = ctl.get(&format!(
        "/api/v1/calendar/days?ward=kita&from={}&days=14",
        tokyo_date(from)
    ));
    days["days"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["open"] == open)
        .map(|d| d["date"].as_str().unwrap().to_owned())
        .expect("a week has open and closed days")
}

#[test]
fn a_player_cut_off_for_two_weeks_follows_the_office_calendar() {
    let dir = tempfile::tempdir().unwrap();
    let mut ctl = Controller::start(dir.path(), Broker::Embedded);
    let config = ctl.add_player("kita-1f", "kita", 2);
    office(&ctl);
    // Days 7 to 13 ahead: beyond the week a manifest used to cover.
    let open_day = first_day(&ctl, 7, true);
    let closed_day = first_day(&ctl, 7, false);

    // Online just before 開庁時間 on the open day, until the manifest is acknowledged.
    let mut player = start_player_at(
        dir.path(),
        &config,
        "kita-1f",
        &format!("{open_day}T08:59:40+09:00"),
    );
    wait_until(Duration::from_secs(30), "the manifest acknowledged", || {
        let (_, manifest) = ctl.get("/api/v1/players/kita-1f/manifest");
        let (_, now) = ctl.get("/api/v1/players/kita-1f/now");
        manifest["schedule"]["entries"]
            .as_array()
            .is_some_and(|e| e.len() == 2)
            && now["manifest"]["acked_revision"] == manifest["revision"]
    });
    wait_until(Duration::from_secs(15), "outside opening hours", || {
        showing(dir.path()).as_deref() == Some("outside")
    });

    // The controller goes; the office opens at 09:00 on the player's clock.
    ctl.stop();
    wait_until(Duration::from_secs(40), "open at 09:00, offline", || {
        showing(dir.path()).as_deref() == Some("open")
    });

    // Still offline, the player restarts on a closed day within the two weeks.
    player.kill();
    let _player = start_player_at(
        dir.path(),
        &config,
        "kita-1f",
        &format!("{closed_day}T10:00:00+09:00"),
    );
    wait_until(
        Duration::from_secs(40),
        "the closed-day layout, offline",
        || showing(dir.path()).as_deref() == Some("closed"),
    );
}

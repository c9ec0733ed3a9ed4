//! Accounts and roles against a real controller: every documented endpoint called with every
//! role (and anonymously) answers 401/403 exactly where the endpoint table says (that the
//! router serves exactly the table's rows is a unit test of `controller::openapi`); console
//! logins with cookies, CSRF, rate limiting and the audit log.

use std::path::Path;
use std::process::{Command, Stdio};

use controller::openapi::{Access, ENDPOINTS, Endpoint};
use e2e::{Broker, Controller, bin};
use serde_json::{Value, json};

const ROLES: [&str; 5] = ["admin", "pr", "approver", "disaster", "viewer"];

fn role_of(name: &str) -> controller::auth::Role {
    controller::store::accounts::parse_role(name).unwrap()
}

/// A concrete URL for a templated path.
fn concrete(path: &str) -> String {
    path.replace("{id}", "p1")
        .replace("{name}", "nobody")
        .replace("{request_id}", "r1")
        .replace("{report}", "footfall-daily")
}

fn call(ctl: &Controller, token: Option<&str>, ep: &Endpoint) -> u16 {
    let path = concrete(ep.path);
    let body = (!ep.request.is_empty()).then(|| json!({}));
    ctl.request_as(token, ep.method, &path, body.as_ref()).0
}

#[test]
fn every_endpoint_admits_exactly_the_roles_of_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = Controller::start(dir.path(), Broker::Embedded);
    ctl.add_player("p1", "kita", 10);
    let tokens: Vec<(&str, String)> = ROLES.iter().map(|r| (*r, ctl.token_for(r))).collect();
    let mut checked = 0;
    for ep in ENDPOINTS {
        let anonymous = call(&ctl, None, ep);
        match ep.access {
            Access::Open => {
                assert!(
                    anonymous != 401 && anonymous != 403,
                    "{} {} is open but answered {anonymous}",
                    ep.method,
                    ep.path
                );
                continue;
            }
            _ => assert_eq!(anonymous, 401, "{} {} anonymously", ep.method, ep.path),
        }
        for (role, token) in &tokens {
            let status = call(&ctl, Some(token), ep);
            let allowed = match ep.access {
                Access::Staff(roles) | Access::StaffOrPlayer(roles) => {
                    roles.contains(&role_of(role))
                }
                // No feed token is configured here: only an admin relays.
                Access::Feed(roles) => roles.contains(&role_of(role)) && *role == "admin",
                Access::Player => false,
                Access::Open => unreachable!(),
            };
            if allowed {
                assert!(
                    status != 401 && status != 403,
                    "{} {} as {role} answered {status} but the table admits {role}",
                    ep.method,
                    ep.path
                );
            } else if matches!(ep.access, Access::Player) {
                assert_eq!(
                    status, 401,
                    "{} {} as {role} (players only)",
                    ep.method, ep.path
                );
            } else {
                assert_eq!(status, 403, "{} {} as {role}", ep.method, ep.path);
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} role checks ran");
    // The OpenAPI document served is the table's.
    let (status, doc) = ctl.request_as(None, "GET", "/api/v1/openapi.json", None);
    assert_eq!(status, 200);
    for ep in ENDPOINTS {
        assert!(
            doc["paths"][ep.path][ep.method.to_lowercase()].is_object(),
            "{} {} missing from openapi.json",
            ep.method,
            ep.path
        );
    }
}

fn add_user(data_dir: &Path, name: &str, role: &str, password: &str) {
    let mut child = Command::new(bin("signage-controller"))
        .args([
            "user",
            "add",
            name,
            "--role",
            role,
            "--password-stdin",
            "--data-dir",
        ])
        .arg(data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Reply {
    status: u16,
    cookie: Option<String>,
    body: Value,
}

fn raw(
    ctl: &Controller,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Reply {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("{}{path}", ctl.http);
    let response = match method {
        "GET" => {
            let mut r = agent.get(&url);
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            r.call()
        }
        _ => {
            let mut r = if method == "PUT" {
                agent.put(&url)
            } else {
                agent.post(&url)
            };
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            match body {
                Some(b) => r.send_json(b),
                None => r.send_empty(),
            }
        }
    };
    let mut response = response.unwrap();
    let cookie = response
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_string());
    Reply {
        status: response.status().as_u16(),
        cookie,
        body: response.body_mut().read_json().unwrap_or(Value::Null),
    }
}

#[test]
fn console_sessions_need_csrf_and_logins_are_rate_limited_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = Controller::start(dir.path(), Broker::Embedded);
    add_user(&ctl.data_dir, "tanaka", "pr", "a long password 1");
    add_user(&ctl.data_dir, "sato", "viewer", "another password 2");

    let wrong = raw(
        &ctl,
        "POST",
        "/api/v1/login",
        &[],
        Some(json!({"account": "tanaka", "password": "nope"})),
    );
    assert_eq!(wrong.status, 401);
    assert!(wrong.cookie.is_none());

    let ok = raw(
        &ctl,
        "POST",
        "/api/v1/login",
        &[],
        Some(json!({"account": "tanaka", "password": "a long password 1"})),
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    let set_cookie = ok.cookie.expect("a session cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(flag), "{set_cookie}");
    }
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let csrf = ok.body["csrf"].as_str().unwrap().to_string();
    assert_eq!(ok.body["role"], "pr");

    let me = raw(&ctl, "GET", "/api/v1/session", &[("Cookie", &cookie)], None);
    assert_eq!(
        (me.status, me.body["account"].clone()),
        (200, json!("tanaka"))
    );
    let layout = json!({"id": "hello", "kind": "text_slide",
        "texts": {"ja": {"title": "こんにちは", "body": ""}},
        "colours": {"text": "#ffffff", "background": "#003366"}});
    // A state-changing call with the cookie alone (as a forged cross-site form would send it).
    let forged = raw(
        &ctl,
        "POST",
        "/api/v1/assets",
        &[("Cookie", &cookie)],
        Some(layout.clone()),
    );
    assert_eq!(forged.status, 403, "{}", forged.body);
    let wrong_token = raw(
        &ctl,
        "POST",
        "/api/v1/assets",
        &[("Cookie", &cookie), ("X-CSRF-Token", "guess")],
        Some(layout.clone()),
    );
    assert_eq!(wrong_token.status, 403);
    let with_csrf = raw(
        &ctl,
        "POST",
        "/api/v1/assets",
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
        Some(layout),
    );
    assert_ne!(with_csrf.status, 403, "{}", with_csrf.body);
    assert_ne!(with_csrf.status, 401, "{}", with_csrf.body);
    // The pr role may not manage accounts, with or without CSRF.
    let users = raw(&ctl, "GET", "/api/v1/users", &[("Cookie", &cookie)], None);
    assert_eq!(users.status, 403);

    let out = raw(
        &ctl,
        "POST",
        "/api/v1/logout",
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
        None,
    );
    assert_eq!(out.status, 204);
    assert_eq!(
        raw(&ctl, "GET", "/api/v1/session", &[("Cookie", &cookie)], None).status,
        401
    );

    // Guessing: five failures, then 429 with Retry-After even for the right password.
    for _ in 0..5 {
        let r = raw(
            &ctl,
            "POST",
            "/api/v1/login",
            &[],
            Some(json!({"account": "sato", "password": "guess"})),
        );
        assert_eq!(r.status, 401);
    }
    let blocked = raw(
        &ctl,
        "POST",
        "/api/v1/login",
        &[],
        Some(json!({"account": "sato", "password": "another password 2"})),
    );
    assert_eq!(blocked.status, 429, "{}", blocked.body);

    // Everything above is in the audit log, newest first.
    let (status, log) = ctl.get("/api/v1/audit?limit=50");
    assert_eq!(status, 200);
    let entries: Vec<(String, String, String)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["actor"].as_str().unwrap().into(),
                r["action"].as_str().unwrap().into(),
                r["outcome"].as_str().unwrap().into(),
            )
        })
        .collect();
    for expected in [
        ("tanaka", "login", "refused"),
        ("tanaka", "login", "ok"),
        ("tanaka", "asset.create", "proposed"),
        ("tanaka", "logout", "ok"),
        ("sato", "login", "refused"),
    ] {
        assert!(
            entries
                .iter()
                .any(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()) == expected),
            "{expected:?} not in {entries:?}"
        );
    }
}

/// The two-person rule counts people, not credentials: a token its creator made never
/// confirms what the creator submitted, and the creator never confirms the token's update.
#[test]
fn a_token_never_confirms_what_its_creator_submitted() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = Controller::start(dir.path(), Broker::Embedded);
    add_user(&ctl.data_dir, "sato", "admin", "a long password 3");
    let login = raw(
        &ctl,
        "POST",
        "/api/v1/login",
        &[],
        Some(json!({"account": "sato", "password": "a long password 3"})),
    );
    assert_eq!(login.status, 200, "{}", login.body);
    let cookie = login.cookie.unwrap().split(';').next().unwrap().to_string();
    let csrf = login.body["csrf"].as_str().unwrap().to_string();
    let as_sato = [("Cookie", cookie.as_str()), ("X-CSRF-Token", csrf.as_str())];
    let made = raw(
        &ctl,
        "POST",
        "/api/v1/tokens",
        &as_sato,
        Some(json!({"role": "disaster", "label": "sato's script"})),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let satos_token = format!("Bearer {}", made.body["token"].as_str().unwrap());
    let as_token = [("Authorization", satos_token.as_str())];
    let other = format!("Bearer {}", ctl.token_for("disaster"));
    let as_other = [("Authorization", other.as_str())];

    let quake = |kind: &str| {
        json!({"template": {"kind": kind}, "placeholders": {"area": "北区", "shelter": "扇町公園"},
            "targets": [{"kind": "all"}], "status": "Actual"})
    };
    let alert = raw(
        &ctl,
        "POST",
        "/api/v1/alerts",
        &as_sato,
        Some(quake("earthquake")),
    );
    assert_eq!(alert.status, 201, "{}", alert.body);
    let id = alert.body["id"].as_str().unwrap().to_string();
    let confirm = |who: &[(&str, &str)]| {
        raw(
            &ctl,
            "POST",
            &format!("/api/v1/alerts/{id}/confirm"),
            who,
            None,
        )
    };
    let refused = confirm(&as_token);
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body["error"]
            .as_str()
            .unwrap()
            .contains("second authorised person"),
        "{}",
        refused.body
    );
    let issued = confirm(&as_other);
    assert_eq!(
        (issued.status, issued.body["phase"].as_str()),
        (200, Some("issued")),
        "{}",
        issued.body
    );

    // The token updates the live alert: held, screens keep revision 1.
    let update = raw(
        &ctl,
        "PUT",
        &format!("/api/v1/alerts/{id}"),
        &as_token,
        Some(quake("tsunami")),
    );
    assert_eq!(update.status, 200, "{}", update.body);
    assert_eq!(
        (
            update.body["phase"].as_str(),
            update.body["revision"].as_u64()
        ),
        (Some("issued"), Some(1)),
        "{}",
        update.body
    );
    assert_eq!(
        update.body["pending_update"]["revision"], 2,
        "{}",
        update.body
    );
    assert_eq!(confirm(&as_sato).status, 403, "the token's creator");
    let updated = confirm(&as_other);
    assert_eq!(
        (
            updated.body["phase"].as_str(),
            updated.body["revision"].as_u64()
        ),
        (Some("updated"), Some(2)),
        "{}",
        updated.body
    );
    assert!(updated.body["pending_update"].is_null());
}

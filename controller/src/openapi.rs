//! The API's endpoint table and what is made from it.
//!
//! [`ENDPOINTS`] is the one list of routes: for each, its method and path, who may call it,
//! the media types it takes and answers, and a summary. The role enforcement
//! ([`crate::auth::enforce`]) looks every routed request up in it, the OpenAPI 3.1 document
//! (`GET /api/v1/openapi.json`) and the endpoint table of `docs/api.md` are generated from
//! it, and tests fail when a row is duplicated, when the router serves a method and path the
//! table lacks or lacks one it lists, or when `docs/api.md` drifts. The e2e role matrix
//! (tests/tests/auth_roles.rs) calls every row with every role.

use axum::Router;
use axum::response::Json;
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::auth::{self, Role};
use crate::http::AppState;

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy)]
pub enum Access {
    /// Anyone (health, login, the console's static files).
    Open,
    /// Staff with one of these roles.
    Staff(&'static [Role]),
    /// Staff with one of these roles, or a player with its own credentials (HTTP basic).
    StaffOrPlayer(&'static [Role]),
    /// Players only (HTTP basic with the player's id and MQTT password).
    Player,
    /// A relay of JMA documents: an admin, or one of these roles holding an API token listed
    /// in `alerts.jma.feed_tokens`.
    Feed(&'static [Role]),
}

#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    pub method: &'static str,
    /// axum syntax: `/api/v1/players/{id}`.
    pub path: &'static str,
    pub access: Access,
    pub tag: &'static str,
    pub summary: &'static str,
    /// Media types of the request body; empty when the endpoint takes none.
    pub request: &'static [&'static str],
    /// Media types of a successful answer; empty when it has no body (204).
    pub response: &'static [&'static str],
}

const fn e(
    method: &'static str,
    path: &'static str,
    access: Access,
    tag: &'static str,
    summary: &'static str,
    request: &'static [&'static str],
    response: &'static [&'static str],
) -> Endpoint {
    Endpoint {
        method,
        path,
        access,
        tag,
        summary,
        request,
        response,
    }
}

const NONE: &[&str] = &[];
const JSON: &[&str] = &["application/json"];
const PNG: &[&str] = &["image/png"];
/// A stored content file: `crate::library::MediaType::mime` of what uploads accept.
const MEDIA: &[&str] = &[
    "image/png",
    "image/jpeg",
    "video/mp4",
    "video/quicktime",
    "video/webm",
];
/// CAP's registered media type: what the export answers and what the intake is sent (it
/// parses the body as CAP whatever the header says).
const CAP: &[&str] = &["application/cap+xml"];
const XML: &[&str] = &["application/xml"];
const REPORT: &[&str] = &[
    "application/json",
    "text/csv",
    "application/vnd.apache.parquet",
    "image/svg+xml",
];
use Access::{Feed, Open, Player, Staff, StaffOrPlayer};

/// Every API route, once.
#[rustfmt::skip]
pub const ENDPOINTS: &[Endpoint] = &[
    e("GET", "/api/v1/health", Open, "system", "Database and broker state, player counts", NONE, JSON),
    e("GET", "/api/v1/openapi.json", Open, "system", "This document", NONE, JSON),
    e("GET", "/metrics", Staff(auth::READ), "system", "Prometheus metrics (text format 0.0.4): players by state and their health, alert publish and acknowledgement latency, HTTP latency by route, queue depths and drops, broker connections, store and history write latency", NONE, &["text/plain"]),
    e("GET", "/api/v1/public/wait", Open, "public", "Open data (CC BY 4.0) for visitors: per ward and counter area, a crowding band now, a head count only from public.min_people up, today's usual hours, busiest and best hour; a live alert for the ward instead. Cached 20 s, ETag, rate-limited per address", NONE, JSON),
    e("GET", "/api/v1/public/wait.csv", Open, "public", "The same open data as CSV", NONE, &["text/csv"]),
    e("POST", "/api/v1/login", Open, "accounts", "Log in; sets the session cookie, returns the CSRF token", JSON, JSON),
    e("POST", "/api/v1/logout", Staff(auth::READ), "accounts", "End the session", NONE, NONE),
    e("GET", "/api/v1/session", Staff(auth::READ), "accounts", "Who is logged in, with the CSRF token", NONE, JSON),
    e("GET", "/api/v1/users", Staff(auth::ADMIN), "accounts", "List accounts", NONE, JSON),
    e("POST", "/api/v1/users", Staff(auth::ADMIN), "accounts", "Create an account", JSON, JSON),
    e("PUT", "/api/v1/users/{name}", Staff(auth::ADMIN), "accounts", "Change role, password or disabled flag", JSON, JSON),
    e("GET", "/api/v1/tokens", Staff(auth::ADMIN), "accounts", "List API tokens", NONE, JSON),
    e("POST", "/api/v1/tokens", Staff(auth::ADMIN), "accounts", "Create an API token (shown once)", JSON, JSON),
    e("POST", "/api/v1/tokens/{id}/revoke", Staff(auth::ADMIN), "accounts", "Revoke an API token", NONE, NONE),
    e("GET", "/api/v1/audit", Staff(&[Role::Admin, Role::Disaster]), "accounts", "The append-only audit log, newest first", NONE, JSON),
    e("GET", "/api/v1/players", Staff(auth::READ), "players", "Registered players with presence and health", NONE, JSON),
    e("PATCH", "/api/v1/players/{id}", Staff(auth::ADMIN), "players", "Rename a screen, move it to another ward, set its groups (null leaves a field; an empty name clears it)", JSON, JSON),
    e("POST", "/api/v1/players/{id}/revoke", Staff(auth::ADMIN), "players", "Revoke the player's credentials; its connection to the embedded broker ends at once", NONE, JSON),
    e("POST", "/api/v1/players/{id}/credentials", Staff(auth::ADMIN), "players", "Issue new credentials (the old stop working); answers the player's configuration file once", NONE, JSON),
    e("POST", "/api/v1/players/{id}/restart", Staff(auth::ADMIN), "players", "Ask the player to restart (through its signed configuration; an offline player restarts once when back)", NONE, JSON),
    e("POST", "/api/v1/players/{id}/retire", Staff(auth::ADMIN), "players", "Take the player out of the fleet for good (no configuration, content or alerts); its history stays", NONE, JSON),
    e("GET", "/api/v1/enrolment-codes", Staff(auth::ADMIN), "players", "Enrolment codes that can still be used (never the codes themselves)", NONE, JSON),
    e("POST", "/api/v1/enrolment-codes", Staff(auth::ADMIN), "players", "Create a one-time enrolment code (shown once) proposing a ward and groups; uses 1-100, valid_hours 1-720", JSON, JSON),
    e("DELETE", "/api/v1/enrolment-codes/{id}", Staff(auth::ADMIN), "players", "Withdraw an enrolment code", NONE, NONE),
    e("GET", "/api/v1/enrolments", Staff(auth::ADMIN), "players", "New players waiting for approval, then the latest decided", NONE, JSON),
    e("POST", "/api/v1/enrolments/{id}/approve", Staff(auth::ADMIN), "players", "Approve a waiting player with its id, ward, groups and name", JSON, JSON),
    e("POST", "/api/v1/enrolments/{id}/reject", Staff(auth::ADMIN), "players", "Reject a waiting player, saying why", JSON, JSON),
    e("POST", "/api/v1/enrol", Open, "players", "A new player asks to join with an enrolment code and the password it chose; rate-limited per address", JSON, JSON),
    e("GET", "/api/v1/enrol/{id}", Open, "players", "The enrolling player polls with its password as a Bearer token; once approved, its configuration", NONE, JSON),
    e("GET", "/api/v1/player-builds", Staff(auth::ADMIN), "players", "Uploaded player builds, newest first, with how many players are offered each", NONE, JSON),
    e("POST", "/api/v1/player-builds", Staff(auth::ADMIN), "players", "Upload a player build as the request body (?version= a new label, ?note=); the controller signs its size and SHA-256", &["application/octet-stream"], JSON),
    e("POST", "/api/v1/player-builds/offer", Staff(auth::ADMIN), "players", "Offer a build ({\"version\"}, null withdraws) to the players the targets name; they switch and roll back on their own if it does not come online", JSON, JSON),
    e("GET", "/api/v1/player-builds/{version}/file", StaffOrPlayer(auth::ADMIN), "players", "A build's bytes (players check them against the signed statement)", NONE, &["application/octet-stream"]),
    e("GET", "/api/v1/wards", Staff(auth::READ), "players", "Osaka City's wards: id, 全国地方公共団体コード and names in the seven screen languages", NONE, JSON),
    e("GET", "/api/v1/players/{id}/screenshot", Staff(auth::READ), "players", "The frame the player composed", NONE, PNG),
    e("PUT", "/api/v1/players/{id}/screenshot/{request_id}", Player, "players", "A player delivers a requested screenshot, or why it has none", &["image/png", "application/json"], NONE),
    e("GET", "/api/v1/players/{id}/counts", Staff(auth::READ), "players", "People counts stored for a player", NONE, JSON),
    e("GET", "/api/v1/players/{id}/manifest", StaffOrPlayer(auth::READ), "players", "The player's current manifest", NONE, JSON),
    e("GET", "/api/v1/players/{id}/now", Staff(auth::READ), "players", "Expected and reported selection", NONE, JSON),
    e("GET", "/api/v1/players/{id}/plays", Staff(auth::READ), "players", "Stored proof of play, a page at a time (?limit=1-5000, ?after= the X-Next-Cursor of the previous page)", NONE, JSON),
    e("GET", "/api/v1/players/{id}/preview", Staff(auth::READ), "schedule", "What the player would show for a given time and audience (?at=, ?occupancy=, ?inflow_per_min=, ?dwell_s=; ?change= a pending content change as if approved), and which rule chose it", NONE, JSON),
    e("POST", "/api/v1/content", Staff(auth::CONTENT), "content", "Upload an image or video", &["multipart/form-data"], JSON),
    e("GET", "/api/v1/content/{id}", StaffOrPlayer(auth::READ), "content", "Download a file by SHA-256 (ranges supported)", NONE, MEDIA),
    e("GET", "/api/v1/assets", Staff(auth::READ), "content", "List assets", NONE, JSON),
    e("POST", "/api/v1/assets", Staff(auth::CONTENT), "content", "Create a text slide or ticker", JSON, JSON),
    e("POST", "/api/v1/assets/preview", Staff(auth::CONTENT), "content", "A text slide or ticker (not stored) drawn to PNG as players draw it (?width=&height=, default 1920x1080)", JSON, &["image/png"]),
    e("PUT", "/api/v1/assets/{id}", Staff(auth::CONTENT), "content", "Replace a text slide or ticker", JSON, JSON),
    e("PATCH", "/api/v1/assets/{id}", Staff(auth::CONTENT), "content", "Edit any asset's title, tags, owner and display window (shown_from, shown_until = 掲載期限; null clears)", JSON, JSON),
    e("PUT", "/api/v1/assets/{id}/file", Staff(auth::CONTENT), "content", "Replace an image or video asset's file, keeping its id, title, window and playlists (multipart, field \"file\")", &["multipart/form-data"], JSON),
    e("DELETE", "/api/v1/assets/{id}", Staff(auth::CONTENT), "content", "Delete an asset no playlist uses (409 names the playlists that do)", NONE, NONE),
    e("GET", "/api/v1/playlists", Staff(auth::READ), "content", "List playlists", NONE, JSON),
    e("POST", "/api/v1/playlists", Staff(auth::CONTENT), "content", "Create a playlist", JSON, JSON),
    e("PUT", "/api/v1/playlists/{id}", Staff(auth::CONTENT), "content", "Replace a playlist", JSON, JSON),
    e("DELETE", "/api/v1/playlists/{id}", Staff(auth::CONTENT), "content", "Delete a playlist no layout uses (409 names the layouts that do)", NONE, NONE),
    e("GET", "/api/v1/layouts", Staff(auth::READ), "content", "List layouts", NONE, JSON),
    e("POST", "/api/v1/layouts", Staff(auth::CONTENT), "content", "Create a layout", JSON, JSON),
    e("PUT", "/api/v1/layouts/{id}", Staff(auth::CONTENT), "content", "Replace a layout", JSON, JSON),
    e("DELETE", "/api/v1/layouts/{id}", Staff(auth::CONTENT), "content", "Delete a layout no schedule entry or fallback uses (409 names them)", NONE, NONE),
    e("GET", "/api/v1/schedule/entries", Staff(auth::READ), "schedule", "List schedule entries", NONE, JSON),
    e("POST", "/api/v1/schedule/entries", Staff(auth::CONTENT), "schedule", "Create a schedule entry", JSON, JSON),
    e("PUT", "/api/v1/schedule/entries/{id}", Staff(auth::CONTENT), "schedule", "Replace a schedule entry", JSON, JSON),
    e("DELETE", "/api/v1/schedule/entries/{id}", Staff(auth::CONTENT), "schedule", "Delete a schedule entry", NONE, NONE),
    e("PUT", "/api/v1/schedule/fallback", Staff(auth::CONTENT), "schedule", "Set the fallback layout", JSON, JSON),
    e("GET", "/api/v1/schedule", Staff(auth::READ), "schedule", "The whole schedule set with its revision (a pr account sees its pending change applied)", NONE, JSON),
    e("GET", "/api/v1/calendar", Staff(auth::READ), "schedule", "The office calendar: 年末年始 closure, named dayparts (開庁時間, 昼休み) and each ward's closures, openings and dayparts (national holidays are computed)", NONE, JSON),
    e("PUT", "/api/v1/calendar", Staff(auth::APPROVE), "schedule", "Replace the office calendar (checked with every entry that names a daypart)", JSON, JSON),
    e("GET", "/api/v1/calendar/days", Staff(auth::READ), "schedule", "A ward's open and closed days with the reason (holiday names) (?ward=, ?from=, ?days= 1-366)", NONE, JSON),
    e("GET", "/api/v1/changes", Staff(auth::CONTENT), "approval", "Content changes waiting for approval, then recently decided ones (a pr account sees its own)", NONE, JSON),
    e("GET", "/api/v1/changes/{id}", Staff(auth::CONTENT), "approval", "One change: each object before and after, what every screen gains, loses or sees edited, and problems that would refuse it now", NONE, JSON),
    e("POST", "/api/v1/changes/{id}/submit", Staff(auth::CONTENT), "approval", "The author submits the change for approval ({\"note\"} optional)", JSON, JSON),
    e("POST", "/api/v1/changes/{id}/withdraw", Staff(auth::CONTENT), "approval", "The author discards the change", NONE, JSON),
    e("POST", "/api/v1/changes/{id}/approve", Staff(auth::APPROVE), "approval", "Approve the reviewed revision ({\"revision\", \"comment\"}); players get it at once", JSON, JSON),
    e("POST", "/api/v1/changes/{id}/return", Staff(auth::APPROVE), "approval", "Send the reviewed revision back to its author ({\"revision\", \"comment\"})", JSON, JSON),
    e("GET", "/api/v1/alerts", Staff(auth::READ), "alerts", "Every alert with its phase, newest first", NONE, JSON),
    e("POST", "/api/v1/alerts", Staff(auth::ALERTS), "alerts", "Create an alert from a template or CAP infos; Actual waits for a second person, drills issue at once", JSON, JSON),
    e("GET", "/api/v1/alerts/templates", Staff(auth::READ), "alerts", "Template kinds, languages, warning levels and statuses for the console", NONE, JSON),
    e("GET", "/api/v1/alerts/{id}", Staff(auth::READ), "alerts", "One alert with its delivery: counts and each targeted player's state", NONE, JSON),
    e("PUT", "/api/v1/alerts/{id}", Staff(auth::ALERTS), "alerts", "Update a live alert (next revision): a drill at once; an Actual alert once a second person confirms (single operator: with the typed phrase)", JSON, JSON),
    e("POST", "/api/v1/alerts/{id}/submit", Staff(auth::ALERTS), "alerts", "Submit a draft (Actual: then pending confirmation)", JSON, JSON),
    e("POST", "/api/v1/alerts/{id}/confirm", Staff(auth::ALERTS), "alerts", "Confirm a pending Actual alert or its pending update (another person than the submitter; a token counts as its creator)", NONE, JSON),
    e("POST", "/api/v1/alerts/{id}/reject", Staff(auth::ALERTS), "alerts", "Reject a pending alert back to draft, or drop a pending update", JSON, JSON),
    e("POST", "/api/v1/alerts/{id}/cancel", Staff(auth::ALERTS), "alerts", "Cancel: screens clear at once", NONE, JSON),
    e("POST", "/api/v1/alerts/{id}/all-clear", Staff(auth::ALERTS), "alerts", "All clear: screens clear at once", NONE, JSON),
    e("GET", "/api/v1/alerts/{id}/cap", Staff(auth::READ), "alerts", "The alert as CAP 1.2 XML; a cancelled alert as its CAP Cancel", NONE, CAP),
    e("POST", "/api/v1/cap", Staff(auth::ALERTS), "alerts", "CAP 1.2 intake: parsed safely, mapped to wards, issued or staged by policy", CAP, JSON),
    e("POST", "/api/v1/jma", Feed(auth::ALERTS), "alerts", "JMA disaster-information XML from a relay (a feed token of alerts.jma.feed_tokens, or an admin's): each document once, issued, staged, ended or ignored by policy", XML, JSON),
    e("GET", "/api/v1/alerts/{id}/documents", Staff(auth::READ), "alerts", "The documents from feeds and relays that made or changed an alert, with each decision", NONE, JSON),
    e("GET", "/api/v1/intake/{digest}", Staff(auth::READ), "alerts", "An original document from a feed or relay, by its SHA-256", NONE, XML),
    e("GET", "/api/v1/reports", Staff(auth::READ), "reports", "The report names and formats", NONE, JSON),
    e("GET", "/api/v1/reports/{report}", Staff(auth::READ), "reports", "A people-flow report (?from&to&ward&player&level&format=json|csv|csv-excel|parquet|svg&lang)", NONE, REPORT),
];

/// The row for a routed request (HEAD is served by the GET route).
pub fn row(method: &str, path: &str) -> Option<&'static Endpoint> {
    let method = if method == "HEAD" { "GET" } else { method };
    ENDPOINTS
        .iter()
        .find(|e| e.path == path && e.method == method)
}

fn path_parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|level| level.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect()
}

fn content(media_types: &[&str]) -> Value {
    Value::Object(
        media_types
            .iter()
            .map(|media| (media.to_string(), json!({})))
            .collect(),
    )
}

fn responses(ep: &Endpoint) -> Value {
    // 2XX: a success is 200, 201, 204 or 206 depending on the call, always with these types.
    let mut success = json!({"description": "Success"});
    if !ep.response.is_empty() {
        success["content"] = content(ep.response);
    }
    let mut r = json!({
        "2XX": success,
        "400": {"description": "Bad input; the body says what is wrong", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    });
    if !matches!(ep.access, Open) {
        r["401"] = json!({"description": "Not logged in"});
        r["403"] = json!({"description": "The caller's role may not do this"});
    }
    r
}

fn security(access: Access) -> Value {
    match access {
        Open => json!([]),
        Staff(_) => json!([{"bearer": []}, {"session": []}]),
        Feed(_) => json!([{"bearer": []}]),
        StaffOrPlayer(_) => json!([{"bearer": []}, {"session": []}, {"player": []}]),
        Player => json!([{"player": []}]),
    }
}

fn role_names(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| crate::store::accounts::role_name(*r))
        .collect::<Vec<_>>()
        .join(", ")
}

fn roles_text(access: Access) -> String {
    match access {
        Open => "Open to everyone.".into(),
        Staff(roles) => format!("Roles: {}.", role_names(roles)),
        StaffOrPlayer(roles) => format!(
            "Roles: {}; or a player (HTTP basic: id and MQTT password).",
            role_names(roles)
        ),
        Player => "Players only (HTTP basic: id and MQTT password).".into(),
        Feed(roles) => format!(
            "admin; or {} with an API token listed in alerts.jma.feed_tokens.",
            role_names(roles)
        ),
    }
}

/// The OpenAPI 3.1 document of [`ENDPOINTS`].
pub fn document() -> Value {
    let mut paths = Map::new();
    for ep in ENDPOINTS {
        // OpenAPI and axum spell path parameters the same way: `{id}`.
        let item = paths
            .entry(ep.path.to_string())
            .or_insert_with(|| json!({}));
        let mut operation = json!({
            "tags": [ep.tag],
            "summary": ep.summary,
            "description": roles_text(ep.access),
            "operationId": format!("{} {}", ep.method.to_lowercase(), ep.path),
            "parameters": path_parameters(ep.path),
            "responses": responses(ep),
            "security": security(ep.access),
        });
        if !ep.request.is_empty() {
            operation["requestBody"] = json!({"required": true, "content": content(ep.request)});
        }
        item[ep.method.to_lowercase()] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Osaka ward signage controller API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Content, schedules, players, emergency alerts and people-flow reports. See docs/api.md."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "`signage-controller token create --role ROLE`"},
                "session": {"type": "apiKey", "in": "cookie", "name": auth::SESSION_COOKIE, "description": "Console session; state-changing calls also send X-CSRF-Token"},
                "player": {"type": "http", "scheme": "basic", "description": "A player's id and MQTT password"}
            },
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
            }
        }
    })
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/openapi.json", get(|| async { Json(document()) }))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use axum::body::Body;
    use axum::extract::{MatchedPath, Request};
    use axum::http::header;
    use axum::middleware::Next;
    use tower::ServiceExt;

    use super::*;

    fn duplicates(rows: &[Endpoint]) -> Vec<(&'static str, &'static str)> {
        let mut seen = BTreeSet::new();
        rows.iter()
            .map(|e| (e.method, e.path))
            .filter(|key| !seen.insert(*key))
            .collect()
    }

    #[test]
    fn no_two_rows_share_a_method_and_path() {
        assert_eq!(duplicates(&[ENDPOINTS[0], ENDPOINTS[0]]).len(), 1);
        assert_eq!(duplicates(ENDPOINTS), vec![], "rows listed twice");
    }

    #[test]
    fn every_row_becomes_one_operation_with_its_parameters_and_media_types() {
        let doc = document();
        let operations: usize = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|item| item.as_object().unwrap().len())
            .sum();
        assert_eq!(operations, ENDPOINTS.len());
        let shot = &doc["paths"]["/api/v1/players/{id}/screenshot/{request_id}"]["put"];
        assert_eq!(shot["parameters"].as_array().unwrap().len(), 2);
        assert_eq!(shot["security"], json!([{"player": []}]));
        assert!(shot["requestBody"]["content"]["image/png"].is_object());
        assert!(shot["responses"]["2XX"].get("content").is_none());
        let cap = &doc["paths"]["/api/v1/cap"]["post"];
        assert!(cap["requestBody"]["content"]["application/cap+xml"].is_object());
        let report = &doc["paths"]["/api/v1/reports/{report}"]["get"];
        assert!(report["responses"]["2XX"]["content"]["text/csv"].is_object());
        assert!(
            doc["paths"]["/api/v1/health"]["get"]["responses"]
                .get("401")
                .is_none()
        );
    }

    /// Wraps every route: answers with the route the request matched, running no handler.
    async fn probe(request: Request, _: Next) -> String {
        request
            .extensions()
            .get::<MatchedPath>()
            .map_or_else(String::new, |m| m.as_str().to_owned())
    }

    /// The API paths the router serves (`/api/...` and `/metrics`). axum has no way to list
    /// routes, but its `Debug` output names every path (were that to change, every row would
    /// show as unrouted).
    fn routed_paths(router: &axum::Router) -> BTreeSet<String> {
        let text = format!("{router:?}");
        text.match_indices("\"/api/")
            .chain(text.match_indices("\"/metrics\""))
            .map(|(at, _)| {
                let path = &text[at + 1..];
                path[..path.find('"').unwrap()].to_owned()
            })
            .collect()
    }

    #[tokio::test]
    async fn the_router_serves_exactly_the_rows_of_the_table() {
        let dir = tempfile::tempdir().unwrap();
        let router = crate::http::router(crate::http::test_state(dir.path()).await);
        let paths = routed_paths(&router);
        let table: BTreeSet<(String, String)> = ENDPOINTS
            .iter()
            .map(|e| (e.method.to_owned(), e.path.to_owned()))
            .collect();
        let app = router.route_layer(axum::middleware::from_fn(probe));
        let mut routed = BTreeSet::new();
        for path in &paths {
            let uri = path
                .split('/')
                .map(|level| if level.starts_with('{') { "x" } else { level })
                .collect::<Vec<_>>()
                .join("/");
            // No route takes TRACE, so axum's method fallback answers, adding the `Allow`
            // header it sends with a 405: the methods routed on this path.
            let request = Request::builder()
                .method("TRACE")
                .uri(&uri)
                .body(Body::empty())
                .unwrap();
            let response = app.clone().oneshot(request).await.unwrap();
            let allow = response
                .headers()
                .get(header::ALLOW)
                .expect("an Allow header (does a route take TRACE?)")
                .to_str()
                .unwrap()
                .to_owned();
            let body = axum::body::to_bytes(response.into_body(), 4096)
                .await
                .unwrap();
            assert_eq!(body, path.as_bytes(), "{uri} matched another route");
            for method in allow.split(',') {
                // axum answers HEAD with the GET handler; the table lists only GET.
                if method != "HEAD" || !allow.contains("GET") {
                    routed.insert((method.to_owned(), path.clone()));
                }
            }
        }
        let unlisted: Vec<_> = routed.difference(&table).collect();
        let unrouted: Vec<_> = table.difference(&routed).collect();
        assert!(
            unlisted.is_empty() && unrouted.is_empty(),
            "routed but not in ENDPOINTS: {unlisted:?}; in ENDPOINTS but not routed: {unrouted:?}"
        );
    }

    /// The endpoint table of `docs/api.md`.
    fn markdown_table() -> String {
        let media = |types: &[&str]| {
            types
                .iter()
                .map(|t| format!("`{t}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut out = String::from(
            "| endpoint | who may call it | request | response | what |\n|---|---|---|---|---|\n",
        );
        for ep in ENDPOINTS {
            let who = match ep.access {
                Open => "anyone".to_string(),
                Staff(roles) => role_names(roles),
                StaffOrPlayer(roles) => format!("{}; a player", role_names(roles)),
                Player => "a player".to_string(),
                Feed(roles) => format!("admin; {} with a feed token", role_names(roles)),
            };
            out.push_str(&format!(
                "| `{} {}` | {who} | {} | {} | {} |\n",
                ep.method,
                ep.path,
                media(ep.request),
                media(ep.response),
                ep.summary.replace('|', "\\|"),
            ));
        }
        out
    }

    const BEGIN: &str = "<!-- generated from controller::openapi::ENDPOINTS; \
        UPDATE_DOCS=1 cargo test -p controller --lib openapi rewrites it -->\n";
    const END: &str = "<!-- end of the generated table -->";

    #[test]
    fn docs_api_md_lists_the_table() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/api.md");
        let text = std::fs::read_to_string(&file).unwrap();
        let (before, rest) = text.split_once(BEGIN).expect("the opening marker");
        let (current, after) = rest.split_once(END).expect("the closing marker");
        let fresh = markdown_table();
        if current == fresh {
            return;
        }
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(&file, format!("{before}{BEGIN}{fresh}{END}{after}")).unwrap();
            return;
        }
        panic!(
            "docs/api.md's endpoint table differs from ENDPOINTS; rewrite it with \
             `UPDATE_DOCS=1 cargo test -p controller --lib openapi`, or paste:\n{fresh}"
        );
    }
}

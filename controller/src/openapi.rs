//! The API's endpoint table and the OpenAPI 3.1 document made from it
//! (`GET /api/v1/openapi.json`).
//!
//! One table says, for every route, who may call it; the OpenAPI document is generated from it
//! and the e2e role matrix test (tests/tests/auth_roles.rs) calls every row with every role and
//! checks that the answer is 401/403 exactly where the table says. A route missing from the
//! table fails that test (it walks the router's paths too), so the document cannot drift from
//! the code.

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
}

#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    pub method: &'static str,
    /// axum syntax: `/api/v1/players/{id}`.
    pub path: &'static str,
    pub access: Access,
    pub tag: &'static str,
    pub summary: &'static str,
    /// Request body media type, if any.
    pub body: Option<&'static str>,
}

const fn e(
    method: &'static str,
    path: &'static str,
    access: Access,
    tag: &'static str,
    summary: &'static str,
    body: Option<&'static str>,
) -> Endpoint {
    Endpoint {
        method,
        path,
        access,
        tag,
        summary,
        body,
    }
}

const JSON: Option<&str> = Some("application/json");
const NONE: Option<&str> = None;
use Access::{Open, Player, Staff, StaffOrPlayer};

/// Every API route. Keep in step with the routers (the role matrix test checks both ways).
#[rustfmt::skip]
pub const ENDPOINTS: &[Endpoint] = &[
    e("GET", "/api/v1/health", Open, "system", "Database and broker state, player counts", NONE),
    e("GET", "/api/v1/openapi.json", Open, "system", "This document", NONE),
    e("POST", "/api/v1/login", Open, "accounts", "Log in; sets the session cookie, returns the CSRF token", JSON),
    e("POST", "/api/v1/logout", Staff(auth::READ), "accounts", "End the session", NONE),
    e("GET", "/api/v1/session", Staff(auth::READ), "accounts", "Who is logged in, with the CSRF token", NONE),
    e("GET", "/api/v1/users", Staff(auth::ADMIN), "accounts", "List accounts", NONE),
    e("POST", "/api/v1/users", Staff(auth::ADMIN), "accounts", "Create an account", JSON),
    e("PUT", "/api/v1/users/{name}", Staff(auth::ADMIN), "accounts", "Change role, password or disabled flag", JSON),
    e("GET", "/api/v1/tokens", Staff(auth::ADMIN), "accounts", "List API tokens", NONE),
    e("POST", "/api/v1/tokens", Staff(auth::ADMIN), "accounts", "Create an API token (shown once)", JSON),
    e("POST", "/api/v1/tokens/{id}/revoke", Staff(auth::ADMIN), "accounts", "Revoke an API token", NONE),
    e("GET", "/api/v1/audit", Staff(&[Role::Admin, Role::Disaster]), "accounts", "The append-only audit log, newest first", NONE),
    e("GET", "/api/v1/players", Staff(auth::READ), "players", "Registered players with presence and health", NONE),
    e("GET", "/api/v1/players/{id}/screenshot", Staff(auth::READ), "players", "The frame the player composed (PNG)", NONE),
    e("PUT", "/api/v1/players/{id}/screenshot/{request_id}", Player, "players", "A player delivers a requested screenshot", Some("image/png")),
    e("GET", "/api/v1/players/{id}/counts", Staff(auth::READ), "players", "People counts stored for a player", NONE),
    e("GET", "/api/v1/players/{id}/manifest", StaffOrPlayer(auth::READ), "players", "The player's current manifest", NONE),
    e("GET", "/api/v1/players/{id}/now", Staff(auth::READ), "players", "Expected and reported selection", NONE),
    e("GET", "/api/v1/players/{id}/plays", Staff(auth::READ), "players", "Stored proof of play", NONE),
    e("GET", "/api/v1/players/{id}/preview", Staff(auth::READ), "schedule", "What the player would show for a given time and audience, and which rule chose it", NONE),
    e("POST", "/api/v1/content", Staff(auth::CONTENT), "content", "Upload an image or video", Some("multipart/form-data")),
    e("GET", "/api/v1/content/{id}", StaffOrPlayer(auth::READ), "content", "Download a file by SHA-256 (ranges supported)", NONE),
    e("GET", "/api/v1/assets", Staff(auth::READ), "content", "List assets", NONE),
    e("POST", "/api/v1/assets", Staff(auth::CONTENT), "content", "Create a text slide or ticker", JSON),
    e("PUT", "/api/v1/assets/{id}", Staff(auth::CONTENT), "content", "Replace a text slide or ticker", JSON),
    e("GET", "/api/v1/playlists", Staff(auth::READ), "content", "List playlists", NONE),
    e("POST", "/api/v1/playlists", Staff(auth::CONTENT), "content", "Create a playlist", JSON),
    e("PUT", "/api/v1/playlists/{id}", Staff(auth::CONTENT), "content", "Replace a playlist", JSON),
    e("GET", "/api/v1/layouts", Staff(auth::READ), "content", "List layouts", NONE),
    e("POST", "/api/v1/layouts", Staff(auth::CONTENT), "content", "Create a layout", JSON),
    e("PUT", "/api/v1/layouts/{id}", Staff(auth::CONTENT), "content", "Replace a layout", JSON),
    e("GET", "/api/v1/schedule/entries", Staff(auth::READ), "schedule", "List schedule entries", NONE),
    e("POST", "/api/v1/schedule/entries", Staff(auth::CONTENT), "schedule", "Create a schedule entry", JSON),
    e("PUT", "/api/v1/schedule/entries/{id}", Staff(auth::CONTENT), "schedule", "Replace a schedule entry", JSON),
    e("DELETE", "/api/v1/schedule/entries/{id}", Staff(auth::CONTENT), "schedule", "Delete a schedule entry", NONE),
    e("PUT", "/api/v1/schedule/fallback", Staff(auth::CONTENT), "schedule", "Set the fallback layout", JSON),
    e("GET", "/api/v1/schedule", Staff(auth::READ), "schedule", "The whole schedule set with its revision", NONE),
    e("GET", "/api/v1/alerts", Staff(auth::READ), "alerts", "Alerts with their phase", NONE),
    e("POST", "/api/v1/alerts", Staff(auth::ALERTS), "alerts", "Create an alert from a template or CAP texts (Actual: pending a second person)", JSON),
    e("GET", "/api/v1/alerts/templates", Staff(auth::READ), "alerts", "Template kinds, languages and warning levels", NONE),
    e("GET", "/api/v1/alerts/{id}", Staff(auth::READ), "alerts", "One alert: targeted, showing, pending, offline, failed, per-player states", NONE),
    e("PUT", "/api/v1/alerts/{id}", Staff(auth::ALERTS), "alerts", "Update a live alert (replaces what screens show)", JSON),
    e("POST", "/api/v1/alerts/{id}/submit", Staff(auth::ALERTS), "alerts", "Submit a draft", JSON),
    e("POST", "/api/v1/alerts/{id}/confirm", Staff(auth::ALERTS), "alerts", "Second-person confirmation of an Actual alert", NONE),
    e("POST", "/api/v1/alerts/{id}/reject", Staff(auth::ALERTS), "alerts", "Send a pending alert back to draft", JSON),
    e("POST", "/api/v1/alerts/{id}/cancel", Staff(auth::ALERTS), "alerts", "Cancel: screens clear at once", NONE),
    e("POST", "/api/v1/alerts/{id}/all-clear", Staff(auth::ALERTS), "alerts", "All clear: screens clear at once", NONE),
    e("GET", "/api/v1/alerts/{id}/cap", Staff(auth::READ), "alerts", "The alert as CAP 1.2 XML", NONE),
    e("POST", "/api/v1/cap", Staff(auth::ALERTS), "alerts", "Take a CAP 1.2 document: issue or stage it by policy", Some("application/xml")),
    e("GET", "/api/v1/reports", Staff(auth::READ), "reports", "The people-flow report names", NONE),
    e("GET", "/api/v1/reports/{report}", Staff(auth::READ), "reports", "One report as JSON, CSV, Parquet or an SVG chart", NONE),
];

fn path_parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|level| level.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect()
}

fn responses(access: Access) -> Value {
    let mut r = json!({
        "200": {"description": "Success"},
        "400": {"description": "Bad input; the body says what is wrong", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    });
    if !matches!(access, Open) {
        r["401"] = json!({"description": "Not logged in"});
        r["403"] = json!({"description": "The caller's role may not do this"});
    }
    r
}

fn security(access: Access) -> Value {
    match access {
        Open => json!([]),
        Staff(_) => json!([{"bearer": []}, {"session": []}]),
        StaffOrPlayer(_) => json!([{"bearer": []}, {"session": []}, {"player": []}]),
        Player => json!([{"player": []}]),
    }
}

fn roles_text(access: Access) -> String {
    let names = |roles: &[Role]| {
        roles
            .iter()
            .map(|r| crate::store::accounts::role_name(*r))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match access {
        Open => "Open to everyone.".into(),
        Staff(roles) => format!("Roles: {}.", names(roles)),
        StaffOrPlayer(roles) => format!("Roles: {}; or the player itself.", names(roles)),
        Player => "Players only (HTTP basic: id and MQTT password).".into(),
    }
}

/// The OpenAPI 3.1 document for `endpoints`.
pub fn document(endpoints: &[Endpoint]) -> Value {
    let mut paths = Map::new();
    for ep in endpoints {
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
            "responses": responses(ep.access),
            "security": security(ep.access),
        });
        if let Some(media) = ep.body {
            operation["requestBody"] = json!({"required": true, "content": {media: {}}});
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
    Router::new().route(
        "/api/v1/openapi.json",
        get(|| async { Json(document(&all_endpoints())) }),
    )
}

/// The table with the rows other modules contribute.
pub fn all_endpoints() -> Vec<Endpoint> {
    ENDPOINTS
        .iter()
        .chain(crate::alerting::ENDPOINTS)
        .chain(crate::reports_api::ENDPOINTS)
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_becomes_one_operation_with_its_parameters() {
        let doc = document(ENDPOINTS);
        let operations: usize = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|item| item.as_object().unwrap().len())
            .sum();
        assert_eq!(operations, ENDPOINTS.len(), "duplicate method+path rows");
        let shot = &doc["paths"]["/api/v1/players/{id}/screenshot/{request_id}"]["put"];
        assert_eq!(shot["parameters"].as_array().unwrap().len(), 2);
        assert_eq!(shot["security"], json!([{"player": []}]));
        assert!(
            doc["paths"]["/api/v1/health"]["get"]["responses"]
                .get("401")
                .is_none()
        );
    }
}

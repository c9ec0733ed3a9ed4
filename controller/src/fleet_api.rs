//! Managing screens from the console: enrolment with one-time codes (a new player waits until
//! an admin approves it into a ward and groups), renaming, moving, groups, revoking and
//! reissuing credentials, remote restarts and retirement. Every step is audited.
//!
//! A new player runs `signage-player enrol --controller URL --code CODE`: it chooses its own
//! password, sends only that (over the request) with the code, and polls with it until an
//! admin decides. The store keeps the password's digest only.

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Json;
use axum::routing::{delete, get, patch, post};
use chrono::Duration;
use content::protocol::{PlayerId, is_topic_level};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::alerting::routes::json_error;
use crate::auth::{ADMIN, Caller, Client};
use crate::http::{ApiError, AppState};
use crate::store::fleet::{CodeRefusal, Decision, NewCode, PlayerEdit};
use crate::store::{NewPlayer, StoreError};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/players/{id}", patch(edit))
        .route("/api/v1/players/{id}/revoke", post(revoke))
        .route("/api/v1/players/{id}/credentials", post(reissue))
        .route("/api/v1/players/{id}/restart", post(restart))
        .route("/api/v1/players/{id}/retire", post(retire))
        .route("/api/v1/enrolment-codes", get(codes).post(create_code))
        .route("/api/v1/enrolment-codes/{id}", delete(withdraw_code))
        .route("/api/v1/enrolments", get(enrolments))
        .route("/api/v1/enrolments/{id}/approve", post(approve))
        .route("/api/v1/enrolments/{id}/reject", post(reject))
        .route("/api/v1/enrol", post(enrol))
        .route("/api/v1/enrol/{id}", get(enrol_status))
}

/// Longest name staff may give a screen.
const MAX_NAME: usize = 100;
/// Most groups one screen is in.
const MAX_GROUPS: usize = 20;
/// Letters that cannot be mistaken for each other when read off a screen or typed.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// `XXXX-XXXX-XXXX`: 60 random bits, one use by default, valid for a day.
fn new_code() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    let letters: Vec<char> = (0..12)
        .map(|_| CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())] as char)
        .collect();
    letters
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// What people type: any case, spaces or hyphens anywhere.
fn normalise_code(typed: &str) -> String {
    let letters: Vec<char> = typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    letters
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

fn unprocessable(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
}

fn check_ward(ward: &str) -> Result<(), ApiError> {
    if is_topic_level(ward) {
        Ok(())
    } else {
        Err(unprocessable(format!(
            "ward {ward:?} must be 1-128 characters without '/', '+' or '#'"
        )))
    }
}

fn check_groups(groups: &[String]) -> Result<Vec<String>, ApiError> {
    if groups.len() > MAX_GROUPS {
        return Err(unprocessable(format!(
            "a screen is in at most {MAX_GROUPS} groups"
        )));
    }
    let mut clean: Vec<String> = Vec::new();
    for g in groups {
        let g = g.trim();
        if !is_topic_level(g) {
            return Err(unprocessable(format!(
                "group {g:?} must be 1-128 characters without '/', '+' or '#'"
            )));
        }
        if !clean.iter().any(|c| c == g) {
            clean.push(g.to_owned());
        }
    }
    Ok(clean)
}

fn check_name(name: &str) -> Result<(), ApiError> {
    if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(unprocessable(format!(
            "a name is at most {MAX_NAME} characters, without control characters"
        )));
    }
    Ok(())
}

fn no_player(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no player {id} that can take this step (unknown, or already retired)"),
    )
}

/// What an admin must still do on an external broker, which keeps its own password file.
fn broker_note(state: &AppState, id: &str, what: &str) -> Value {
    if state.external_broker {
        json!(format!(
            "external broker: {what} its entry for {id} there too (e.g. `mosquitto_passwd -D /etc/mosquitto/passwd {id}`, or -b with the new password) and reload it"
        ))
    } else {
        Value::Null
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditRequest {
    name: Option<String>,
    ward: Option<String>,
    groups: Option<Vec<String>>,
}

/// What staff set about a screen, checked (groups trimmed and kept once), for an edit and
/// for an approval alike.
fn checked_edit(
    name: Option<String>,
    ward: Option<String>,
    groups: Option<Vec<String>>,
) -> Result<PlayerEdit, ApiError> {
    if let Some(name) = &name {
        check_name(name)?;
    }
    if let Some(ward) = &ward {
        check_ward(ward)?;
    }
    Ok(PlayerEdit {
        name,
        ward,
        groups: groups.as_deref().map(check_groups).transpose()?,
    })
}

/// Renames, moves (ward) or regroups a screen; it hears of it through its configuration.
async fn edit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<EditRequest>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    caller.require(ADMIN)?;
    let Json(body) = body.map_err(json_error)?;
    let edit = checked_edit(body.name, body.ward, body.groups)?;
    if !state
        .store
        .edit_player(&id, &edit)
        .await
        .map_err(ApiError::internal)?
    {
        return Err(no_player(&id));
    }
    let detail = json!({ "name": edit.name, "ward": edit.ward, "groups": edit.groups });
    caller
        .audit(&state.store, "player.edit", Some(&id), "ok", Some(detail))
        .await;
    let player = state
        .store
        .player(&id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| no_player(&id))?;
    Ok(Json(json!(player)))
}

fn cut(state: &AppState, id: &str) {
    if let Ok(id) = id.parse::<PlayerId>() {
        let _ = state.player_cuts.send(id);
    }
}

/// The player's credentials stop working and its connection ends now.
async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    end_access(&state, &caller, &id, Ending::Revoke).await
}

/// Out of the fleet for good: no configuration, content or alerts; its history stays.
async fn retire(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    end_access(&state, &caller, &id, Ending::Retire).await
}

#[derive(Clone, Copy, PartialEq)]
enum Ending {
    Revoke,
    Retire,
}

/// Revoking and retiring both end the player's access at once, audited.
async fn end_access(
    state: &AppState,
    caller: &Caller,
    id: &str,
    ending: Ending,
) -> Result<Json<Value>, ApiError> {
    caller.require(ADMIN)?;
    let (done, action, now) = match ending {
        Ending::Revoke => (
            state.store.revoke_player(id).await,
            "player.revoke",
            "revoked",
        ),
        Ending::Retire => (
            state.store.retire_player(id).await,
            "player.retire",
            "retired",
        ),
    };
    if !done.map_err(ApiError::internal)? {
        return Err(no_player(id));
    }
    cut(state, id);
    caller
        .audit(&state.store, action, Some(id), "ok", None)
        .await;
    Ok(Json(
        json!({ "id": id, "state": now, "broker": broker_note(state, id, "delete") }),
    ))
}

/// New credentials (the old ones stop working), answered once as the player's whole
/// configuration file.
async fn reissue(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(ADMIN)?;
    let token = crate::broker::random_token();
    if !state
        .store
        .reissue_player(&id, &token)
        .await
        .map_err(ApiError::internal)?
    {
        return Err(no_player(&id));
    }
    cut(&state, &id);
    caller
        .audit(&state.store, "player.reissue", Some(&id), "ok", None)
        .await;
    Ok(Json(json!({
        "id": id,
        "state": "active",
        "file_name": format!("{id}.toml"),
        "config": state.player_files.toml(&id, &token),
        "broker": broker_note(&state, &id, "replace"),
    })))
}

/// Asks the player to restart (through its signed configuration, so an offline player
/// restarts once when it comes back).
async fn restart(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(ADMIN)?;
    let Some(restarts) = state
        .store
        .request_restart(&id)
        .await
        .map_err(ApiError::internal)?
    else {
        return Err(no_player(&id));
    };
    caller
        .audit(
            &state.store,
            "player.restart",
            Some(&id),
            "ok",
            Some(json!({ "restarts": restarts })),
        )
        .await;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "id": id, "restarts": restarts })),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeRequest {
    ward: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
    /// 1-100, default 1.
    uses: Option<u32>,
    /// 1-720, default 24.
    valid_hours: Option<i64>,
    note: Option<String>,
}

async fn codes(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(ADMIN)?;
    let codes = state
        .store
        .enrolment_codes()
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(json!(codes)))
}

/// A one-time code, shown once: give it to whoever installs the new screen.
async fn create_code(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<CodeRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(ADMIN)?;
    let Json(body) = body.map_err(json_error)?;
    let uses = body.uses.unwrap_or(1);
    if !(1..=100).contains(&uses) {
        return Err(unprocessable("uses must be between 1 and 100"));
    }
    let hours = body.valid_hours.unwrap_or(24);
    if !(1..=720).contains(&hours) {
        return Err(unprocessable("valid_hours must be between 1 and 720"));
    }
    if let Some(ward) = &body.ward {
        check_ward(ward)?;
    }
    if let Some(note) = &body.note {
        check_name(note)?;
    }
    let groups = check_groups(&body.groups)?;
    let code = new_code();
    let new = NewCode {
        created_by: caller.person.clone(),
        valid_for: Duration::hours(hours),
        uses,
        ward: body.ward.clone(),
        groups: groups.clone(),
        note: body.note.clone(),
    };
    let id = state
        .store
        .create_enrolment_code(&code, &new)
        .await
        .map_err(ApiError::internal)?;
    let detail = json!({ "ward": body.ward, "groups": groups, "uses": uses, "valid_hours": hours });
    caller
        .audit(
            &state.store,
            "enrolment_code.create",
            Some(&id),
            "ok",
            Some(detail),
        )
        .await;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": id,
            "code": code,
            "uses": uses,
            "expires_at": chrono::Utc::now() + Duration::hours(hours),
        })),
    ))
}

async fn withdraw_code(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(ADMIN)?;
    if !state
        .store
        .withdraw_enrolment_code(&id)
        .await
        .map_err(ApiError::internal)?
    {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no usable enrolment code {id}"),
        ));
    }
    caller
        .audit(
            &state.store,
            "enrolment_code.withdraw",
            Some(&id),
            "ok",
            None,
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

async fn enrolments(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.require(ADMIN)?;
    let list = state.store.enrolments().await.map_err(ApiError::internal)?;
    Ok(Json(json!(list)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApproveRequest {
    /// The player's id (a-z, 0-9, '-', '_'): its MQTT login and topics.
    id: String,
    name: Option<String>,
    ward: Option<String>,
    groups: Option<Vec<String>>,
}

/// Approves a waiting player into a ward and groups (the code's proposal unless given).
async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path(request): Path<String>,
    body: Result<Json<ApproveRequest>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    caller.require(ADMIN)?;
    let Json(body) = body.map_err(json_error)?;
    let id: PlayerId = body
        .id
        .parse()
        .map_err(|e| unprocessable(format!("id: {e}")))?;
    let waiting = state
        .store
        .enrolment(&request)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no enrolment request {request}"),
            )
        })?;
    let edit = checked_edit(
        body.name.or(waiting.proposed_name.clone()),
        body.ward.or(waiting.ward.clone()),
        Some(body.groups.unwrap_or(waiting.groups.clone())),
    )?;
    let player = NewPlayer {
        id: id.clone(),
        ward: edit.ward,
        groups: edit.groups.unwrap_or_default(),
        name: edit.name,
    };
    let decision = state
        .store
        .approve_enrolment(&waiting, &player, &caller.person)
        .await;
    let detail = json!({ "player": id.as_str(), "ward": player.ward, "groups": player.groups });
    match decision {
        Ok(Decision::Done(done)) => {
            caller
                .audit(
                    &state.store,
                    "enrolment.approve",
                    Some(&request),
                    "ok",
                    Some(detail),
                )
                .await;
            Ok(Json(json!(done)))
        }
        Ok(Decision::NotFound) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no enrolment request {request}"),
        )),
        Ok(Decision::AlreadyDecided(was)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("request {request} was already {}", json!(was)),
        )),
        Err(StoreError::DuplicatePlayer(id)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("a player {id} exists already: choose another id"),
        )),
        Err(e) => Err(ApiError::internal(e)),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RejectRequest {
    reason: String,
}

async fn reject(
    State(state): State<AppState>,
    caller: Caller,
    Path(request): Path<String>,
    body: Result<Json<RejectRequest>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    caller.require(ADMIN)?;
    let Json(body) = body.map_err(json_error)?;
    let reason = body.reason.trim();
    if reason.is_empty() {
        return Err(unprocessable("say why (reason), for whoever installs it"));
    }
    check_name(reason)?;
    match state
        .store
        .reject_enrolment(&request, &caller.person, reason)
        .await
        .map_err(ApiError::internal)?
    {
        Decision::Done(done) => {
            caller
                .audit(
                    &state.store,
                    "enrolment.reject",
                    Some(&request),
                    "ok",
                    Some(json!({ "reason": reason })),
                )
                .await;
            Ok(Json(json!(done)))
        }
        Decision::NotFound => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no enrolment request {request}"),
        )),
        Decision::AlreadyDecided(was) => Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("request {request} was already {}", json!(was)),
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnrolRequest {
    code: String,
    /// The password the player chose for itself (at least 32 characters).
    password: String,
    /// What to call it (its host name unless told otherwise).
    name: Option<String>,
    /// What it says about itself: screen, version.
    hello: Option<Value>,
}

/// Most bytes of `hello` kept.
const MAX_HELLO: usize = 4096;

/// A new player asks to join (no login: the code is the permission). Guessing codes is
/// limited per address like logins.
async fn enrol(
    State(state): State<AppState>,
    client: Client,
    body: Result<Json<EnrolRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let key = [format!("ip:enrol:{}", client.ip)];
    if let Err(wait) = state.login_limiter.begin(&key) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("too many enrolment attempts from this address; try again in {wait} s"),
        ));
    }
    let Json(body) = body.map_err(json_error)?;
    if body.password.len() < 32 || body.password.len() > 256 {
        return Err(unprocessable(
            "password: the player's own random secret, 32-256 characters",
        ));
    }
    if let Some(name) = &body.name {
        check_name(name)?;
    }
    let hello = body.hello.filter(|h| h.to_string().len() <= MAX_HELLO);
    let outcome = state
        .store
        .request_enrolment(
            &normalise_code(&body.code),
            &body.password,
            body.name.as_deref(),
            hello.as_ref(),
            Some(&client.ip.to_string()),
        )
        .await
        .map_err(ApiError::internal)?;
    match outcome {
        Ok(id) => {
            state.login_limiter.succeeded(&key);
            tracing::info!(request = %id, address = %client.ip, "a new player asks to join; approve it in the console");
            Ok((
                StatusCode::ACCEPTED,
                Json(json!({ "request": id, "state": "waiting" })),
            ))
        }
        Err(refusal) => {
            let why = match refusal {
                CodeRefusal::Unknown => "unknown enrolment code",
                CodeRefusal::Expired => "the enrolment code has expired: ask for a new one",
                CodeRefusal::UsedUp => "the enrolment code was already used: ask for a new one",
            };
            tracing::warn!(address = %client.ip, why, "refused an enrolment request");
            Err(ApiError::new(StatusCode::FORBIDDEN, why))
        }
    }
}

/// The waiting player polls with its own password; once approved the answer carries its
/// configuration (without the password, which it has).
async fn enrol_status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let request = state
        .store
        .enrolment(&id)
        .await
        .map_err(ApiError::internal)?
        .filter(|r| r.is_from(token))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "no such enrolment request for this password",
            )
        })?;
    let mut answer = json!({ "request": request.id, "state": request.state });
    if let Some(reason) = &request.reason {
        answer["reason"] = json!(reason);
    }
    if let Some(player) = &request.player_id {
        answer["config"] = json!(state.player_files.file(player, None));
    }
    Ok(Json(answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_back_as_typed_in_any_case_and_spacing() {
        let code = new_code();
        assert_eq!(code.len(), 14);
        assert!(
            code.chars()
                .all(|c| c == '-' || CODE_ALPHABET.contains(&(c as u8)))
        );
        let typed = code.to_lowercase().replace('-', " ");
        assert_eq!(normalise_code(&typed), code);
        assert_ne!(new_code(), code);
    }

    #[test]
    fn groups_are_checked_and_kept_once_in_order() {
        assert_eq!(
            check_groups(&["lobby".into(), " counters ".into(), "lobby".into()]).unwrap(),
            ["lobby", "counters"]
        );
        assert!(check_groups(&["a/b".into()]).is_err());
        assert!(check_groups(&[]).unwrap().is_empty());
    }
}

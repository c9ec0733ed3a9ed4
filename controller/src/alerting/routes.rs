//! `/api/v1/alerts...` and `/api/v1/cap` (see docs/api.md).

use alerts::lifecycle::{AlertRecord, Command, LifecycleError, Phase};
use alerts::message::{AlertMessage, Broadcast};
use alerts::model::{Alert, Area, Info, Severity, Status};
use alerts::templates::{self, LANGUAGES, Placeholders, TemplateKind, WarningLevel};
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use chrono::{DateTime, FixedOffset, TimeDelta, Timelike, Utc};
use content::ids::AlertId;
use content::protocol::{AlertAckState, MAX_PAYLOAD_BYTES, is_topic_level};
use content::schedule::Target;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ServiceError, targets_player};
use crate::auth::{self, Caller};
use crate::http::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/alerts", get(list).post(create))
        .route("/api/v1/alerts/templates", get(template_catalogue))
        .route("/api/v1/alerts/{id}", get(detail).put(update))
        .route("/api/v1/alerts/{id}/submit", post(submit))
        .route("/api/v1/alerts/{id}/confirm", post(confirm))
        .route("/api/v1/alerts/{id}/reject", post(reject))
        .route("/api/v1/alerts/{id}/cancel", post(cancel))
        .route("/api/v1/alerts/{id}/all-clear", post(all_clear))
        .route("/api/v1/alerts/{id}/cap", get(export_cap))
        .route("/api/v1/alerts/{id}/documents", get(documents))
        .route("/api/v1/cap", post(super::intake::post_cap))
        .route("/api/v1/jma", post(super::jma::post_jma))
        .route("/api/v1/intake/{digest}", get(intake_document))
}

/// What staff send to create or update an alert: a template with its placeholders, or
/// explicit CAP infos.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRequest {
    /// Stable id (topic-safe); generated when absent. Ignored on update.
    pub id: Option<String>,
    pub template: Option<TemplateKind>,
    #[serde(default)]
    pub placeholders: Option<Placeholders>,
    pub infos: Option<Vec<Info>>,
    pub targets: Vec<Target>,
    /// CAP status: Actual, Exercise or Test.
    pub status: Status,
    /// Warning level 1-5; default the template's, else from the CAP severity.
    pub level: Option<u8>,
    pub expires: Option<DateTime<FixedOffset>>,
    pub expires_in_s: Option<u64>,
    pub typed_confirmation: Option<String>,
    pub note: Option<String>,
}

pub fn json_error(rejection: JsonRejection) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        format!("invalid request body: {}", rejection.body_text()),
    )
}

/// Audits a refused alert request (every refusal is in the audit log) and hands it on.
async fn refuse(
    state: &AppState,
    caller: &Caller,
    action: &str,
    alert: Option<&AlertId>,
    e: ApiError,
) -> ApiError {
    caller
        .audit(
            &state.store,
            action,
            alert.map(|id| id.0.as_str()),
            "refused",
            Some(json!({"reason": e.message().to_owned()})),
        )
        .await;
    e
}

/// A lifecycle refusal as an HTTP answer.
pub fn service_error(e: ServiceError) -> ApiError {
    match &e {
        ServiceError::Store(e) => ApiError::internal(e),
        ServiceError::Lifecycle(l) => ApiError::new(lifecycle_status(l), e.to_string()),
    }
}

pub fn lifecycle_status(e: &LifecycleError) -> StatusCode {
    {
        match e {
            LifecycleError::Forbidden { .. }
            | LifecycleError::SamePerson { .. }
            | LifecycleError::ConfirmationPhraseMismatch => StatusCode::FORBIDDEN,
            LifecycleError::UnknownAlert(_) => StatusCode::NOT_FOUND,
            LifecycleError::DuplicateId(_)
            | LifecycleError::WrongPhase { .. }
            | LifecycleError::IdentifierReused(_) => StatusCode::CONFLICT,
            LifecycleError::NotDisplayable(_)
            | LifecycleError::NotAnAlert(_)
            | LifecycleError::StatusChange { .. }
            | LifecycleError::AlreadyExpired(_)
            | LifecycleError::InvalidCap(_) => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

/// The level a CAP severity shows at, when nothing else says.
pub fn level_for(infos: &[Info]) -> WarningLevel {
    let level = infos
        .iter()
        .map(|i| match i.severity {
            Severity::Extreme => 5,
            Severity::Severe => 4,
            Severity::Moderate => 3,
            Severity::Minor => 2,
            Severity::Unknown => 1,
        })
        .max()
        .unwrap_or(3);
    WarningLevel::new(level).expect("1-5")
}

pub fn check_targets(targets: &[Target]) -> Result<(), ApiError> {
    if targets.is_empty() {
        return Err(bad(
            "targets is empty: name at least one of {\"kind\":\"all\"}, {\"kind\":\"ward\",\"id\":..}, {\"kind\":\"group\",\"id\":..}, {\"kind\":\"player\",\"id\":..}",
        ));
    }
    for t in targets {
        let ok = match t {
            Target::All => true,
            Target::Ward(w) => is_topic_level(&w.0),
            Target::Group(g) => is_topic_level(&g.0),
            Target::Player(p) => is_topic_level(p.as_str()),
        };
        if !ok {
            return Err(bad(format!(
                "target {t:?} is not a valid id (no '/', '+', '#', at most 128 characters)"
            )));
        }
    }
    Ok(())
}

fn now_tokyo() -> DateTime<FixedOffset> {
    let now = Utc::now().with_nanosecond(0).expect("0 is valid");
    now.with_timezone(&FixedOffset::east_opt(9 * 3600).expect("valid offset"))
}

/// Builds the message of revision `revision` (the lifecycle sets the final one) for `id`.
fn build_message(
    state: &AppState,
    id: &AlertId,
    revision: u32,
    req: AlertRequest,
) -> Result<(AlertMessage, Option<String>), ApiError> {
    check_targets(&req.targets)?;
    let sent = now_tokyo();
    let expires = match (req.expires, req.expires_in_s) {
        (Some(_), Some(_)) => return Err(bad("give expires or expires_in_s, not both")),
        (Some(e), None) => Some(e),
        (None, Some(s)) => Some(sent + TimeDelta::seconds(s.min(366 * 86400) as i64)),
        (None, None) => None,
    };
    let (infos, template_level) = match (req.template, req.infos) {
        (Some(_), Some(_)) => return Err(bad("give a template or infos, not both")),
        (None, None) => {
            return Err(bad(
                "give a template (see GET /api/v1/alerts/templates) with placeholders, or CAP infos",
            ));
        }
        (Some(kind), None) => {
            let values = with_ward_names(req.placeholders.unwrap_or_default(), &req.targets);
            let mut infos = templates::cap_infos(kind, &values, req.status, expires)
                .map_err(|e| bad(e.to_string()))?;
            for info in &mut infos {
                info.areas = vec![Area::described(&values.area)];
            }
            (infos, Some(kind.level()))
        }
        (None, Some(mut infos)) => {
            if infos.is_empty() {
                return Err(bad("infos is empty: give at least one CAP info"));
            }
            if let Some(e) = expires {
                for info in &mut infos {
                    info.expires = Some(e);
                }
            }
            (infos, None)
        }
    };
    let level = match req.level {
        Some(l) => {
            WarningLevel::new(l).ok_or_else(|| bad(format!("level must be 1-5, got {l}")))?
        }
        None => template_level.unwrap_or_else(|| level_for(&infos)),
    };
    let cap = Alert {
        note: req.note,
        ..Alert::new(
            format!("{}-{revision}", id.0),
            state.alerts.config().sender.clone(),
            sent,
            req.status,
            infos,
        )
    };
    let message = AlertMessage {
        id: id.clone(),
        revision,
        targets: req.targets,
        level,
        issued_at: Utc::now(),
        cap,
        valid_until: None,
    };
    check_size(state, &message)?;
    Ok((message, req.typed_confirmation))
}

pub fn check_size(state: &AppState, message: &AlertMessage) -> Result<(), ApiError> {
    let size = state
        .alerts
        .signed_size(&Broadcast::Show(Box::new(message.clone())));
    if size > MAX_PAYLOAD_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the signed alert is {size} bytes, over the {MAX_PAYLOAD_BYTES}-byte MQTT limit; shorten the texts"
            ),
        ));
    }
    Ok(())
}

/// The targeted wards' names in every language (`content::wards`), when the area is empty or
/// is just those wards' Japanese names: then an English reader reads "Kita Ward", not 北区.
/// An area staff typed themselves (a floor, a building) stays as typed.
fn with_ward_names(mut values: Placeholders, targets: &[Target]) -> Placeholders {
    use content::wards::{self, OSAKA_CITY};
    let all = targets.iter().any(|t| matches!(t, Target::All));
    let wards: Option<Vec<&wards::Ward>> = targets
        .iter()
        .map(|t| match t {
            Target::Ward(w) => wards::by_id(&w.0),
            _ => None,
        })
        .collect();
    let name = |lang: &str| -> Option<String> {
        if all {
            return Some(OSAKA_CITY.name(lang).to_owned());
        }
        let wards = wards.as_ref().filter(|w| !w.is_empty())?;
        Some(
            wards
                .iter()
                .map(|w| w.name(lang))
                .collect::<Vec<_>>()
                .join(content::wards::list_separator(lang)),
        )
    };
    let Some(ja) = name("ja") else {
        return values;
    };
    if values.area.trim().is_empty() {
        values.area = ja.clone();
    }
    if values.area.trim() == ja {
        for lang in LANGUAGES.iter().filter(|l| **l != "ja") {
            let local = values.names.entry((*lang).to_owned()).or_default();
            if local.area.is_none() {
                local.area = name(lang);
            }
        }
    }
    values
}

fn new_id() -> AlertId {
    let suffix: u32 = rand::random();
    AlertId(format!(
        "a{}-{:06x}",
        Utc::now().format("%Y%m%d%H%M%S"),
        suffix & 0xff_ffff
    ))
}

/// Ids staff choose; the prefixes that tell an alert's source are intake's alone.
fn check_staff_id(id: &str) -> Result<AlertId, ApiError> {
    let id = check_id(id)?;
    if super::jma::source_of(&id) != "staff" {
        return Err(bad(format!(
            "alert id {:?} starts with a prefix kept for alerts from feeds (jma-, cap-, lalert-); choose another",
            id.0
        )));
    }
    Ok(id)
}

pub fn check_id(id: &str) -> Result<AlertId, ApiError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(AlertId(id.to_owned()))
    } else {
        Err(bad(format!(
            "alert id {id:?} is invalid: use 1-64 of a-z, A-Z, 0-9, '-', '_', '.'"
        )))
    }
}

/// The English headline (or event) of an alert.
fn headline(m: &AlertMessage) -> Option<String> {
    headline_in(m, "en")
}

fn headline_in(m: &AlertMessage, lang: &str) -> Option<String> {
    m.cap
        .info_for(lang)
        .map(|i| i.headline.clone().unwrap_or_else(|| i.event.clone()))
}

/// An alert as the API shows it.
pub fn summary(record: &AlertRecord) -> Value {
    let m = &record.message;
    json!({
        "id": m.id,
        "source": super::jma::source_of(&m.id),
        "staged": super::jma::is_staged(record),
        "phase": record.phase,
        "live": record.phase.is_live(),
        "status": m.cap.status,
        "drill": m.is_drill(),
        "revision": m.revision,
        "level": m.level,
        "targets": m.targets,
        "headline": headline(m),
        "headline_ja": headline_in(m, "ja"),
        "issued_at": (m.revision > 0).then_some(m.issued_at),
        "expires": m.cap.expires(),
        "drafted_by": record.drafted_by,
        "submitted_by": record.submitted_by,
        "confirmed_by": record.confirmed_by,
        "pending_update": record.pending_update.as_ref().map(|p| json!({
            "revision": p.message.revision,
            "level": p.message.level,
            "targets": p.message.targets,
            "headline": headline(&p.message),
            "submitted_by": p.submitted_by,
            "submitted_at": p.submitted_at,
        })),
        "cap_identifier": m.cap.identifier,
        "cap_identifiers": record.cap_identifiers,
    })
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<AlertRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    caller.require(auth::ALERTS)?;
    let built = async {
        let req = body.map_err(json_error)?.0;
        let id = req
            .id
            .as_deref()
            .map(check_staff_id)
            .transpose()?
            .unwrap_or_else(new_id);
        let (message, typed) = build_message(&state, &id, 0, req)?;
        Ok((id, message, typed))
    };
    let (id, message, typed) = match built.await {
        Ok(built) => built,
        Err(e) => return Err(refuse(&state, &caller, "alert.create", None, e).await),
    };
    let commands = vec![
        (
            caller.clone(),
            Command::Draft {
                message: Box::new(message),
            },
        ),
        (
            caller.clone(),
            Command::Submit {
                id: id.clone(),
                typed_confirmation: typed,
            },
        ),
    ];
    state
        .alerts
        .execute(commands)
        .await
        .map_err(service_error)?;
    let record = state.alerts.record(&id).await.expect("just stored");
    Ok((StatusCode::CREATED, Json(summary(&record))).into_response())
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<AlertRequest>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    caller.require(auth::ALERTS)?;
    let id = AlertId(id);
    let built = async {
        let req = body.map_err(json_error)?.0;
        let Some(current) = state.alerts.record(&id).await else {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no alert {id}; check the id"),
            ));
        };
        let next = current.message.revision + 1;
        build_message(&state, &id, next, req)
    };
    let (message, typed) = match built.await {
        Ok(built) => built,
        Err(e) => return Err(refuse(&state, &caller, "alert.update", Some(&id), e).await),
    };
    state
        .alerts
        .execute(vec![(
            caller,
            Command::Update {
                message: Box::new(message),
                typed_confirmation: typed,
            },
        )])
        .await
        .map_err(service_error)?;
    let record = state.alerts.record(&id).await.expect("stored");
    Ok(Json(summary(&record)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepBody {
    typed_confirmation: Option<String>,
    reason: Option<String>,
}

/// One step on an existing alert; the body is optional.
async fn step(
    state: AppState,
    caller: Caller,
    id: String,
    body: axum::body::Bytes,
    make: fn(AlertId, StepBody) -> Command,
) -> Result<Json<Value>, ApiError> {
    caller.require(auth::ALERTS)?;
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        StepBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| bad(format!("invalid request body: {e}")))?
    };
    let id = AlertId(id);
    state
        .alerts
        .execute(vec![(caller, make(id.clone(), body))])
        .await
        .map_err(service_error)?;
    let record = state.alerts.record(&id).await.expect("stored");
    Ok(Json(summary(&record)))
}

macro_rules! step_route {
    ($name:ident, $make:expr) => {
        async fn $name(
            State(state): State<AppState>,
            caller: Caller,
            Path(id): Path<String>,
            body: axum::body::Bytes,
        ) -> Result<Json<Value>, ApiError> {
            step(state, caller, id, body, $make).await
        }
    };
}

step_route!(submit, |id, b| Command::Submit {
    id,
    typed_confirmation: b.typed_confirmation
});
step_route!(confirm, |id, _| Command::Confirm { id });
step_route!(reject, |id, b| Command::Reject {
    id,
    reason: b.reason.unwrap_or_default()
});
step_route!(cancel, |id, _| Command::Cancel { id });
step_route!(all_clear, |id, _| Command::AllClear { id });

async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(auth::READ)?;
    let mut records = state.alerts.records().await;
    records.sort_by_key(|r| std::cmp::Reverse(r.message.issued_at));
    Ok(Json(Value::Array(records.iter().map(summary).collect())))
}

/// Each player `record` targets, its acknowledgement and how far the live revision got with
/// it: showing, failed, cleared, offline or pending.
pub(crate) fn deliveries<'a>(
    record: &'a AlertRecord,
    players: &'a [crate::store::PlayerRecord],
    acks: &'a [crate::store::alerts::StoredAck],
) -> impl Iterator<
    Item = (
        &'a crate::store::PlayerRecord,
        Option<&'a crate::store::alerts::StoredAck>,
        &'static str,
    ),
> + 'a {
    let revision = record.message.revision;
    players
        .iter()
        .filter(|p| {
            p.state != crate::store::fleet::PlayerState::Retired
                && targets_player(&record.message.targets, &p.id, p.ward.as_deref(), &p.groups)
        })
        .map(move |p| {
            let ack = acks.iter().find(|a| a.player == p.id);
            let current = ack.filter(|a| a.revision == revision);
            let delivery = match current.map(|a| a.state) {
                Some(AlertAckState::Showing) => "showing",
                Some(AlertAckState::Failed) => "failed",
                Some(AlertAckState::Cleared) => "cleared",
                None if ack.is_some_and(|a| a.state == AlertAckState::Cleared) => "cleared",
                None if !p.online => "offline",
                None => "pending",
            };
            (p, ack, delivery)
        })
}

/// The alert with its delivery: counts and each targeted player's state.
async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(auth::READ)?;
    let id = AlertId(id);
    let record = state.alerts.record(&id).await.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no alert {id}; check the id"),
        )
    })?;
    let players = state.store.players().await.map_err(ApiError::internal)?;
    let acks = state
        .store
        .alert_acks(&id.0)
        .await
        .map_err(ApiError::internal)?;
    let (mut showing, mut pending, mut offline, mut failed, mut cleared) = (0, 0, 0, 0, 0);
    let mut rows = Vec::new();
    for (p, ack, delivery) in deliveries(&record, &players, &acks) {
        match delivery {
            "showing" => showing += 1,
            "failed" => failed += 1,
            "cleared" => cleared += 1,
            "offline" => offline += 1,
            _ => pending += 1,
        }
        rows.push(json!({
            "id": p.id,
            "ward": p.ward,
            "name": p.name,
            "groups": p.groups,
            "online": p.online,
            "last_seen": p.last_seen,
            "state": delivery,
            "acked_revision": ack.map(|a| a.revision),
            "displayed_at": ack.and_then(|a| a.displayed_at),
            "acked_at": ack.map(|a| a.at),
            "received_at": ack.and_then(|a| a.received_at),
            "error": ack.and_then(|a| a.error.clone()),
        }));
    }
    let mut body = summary(&record);
    body["counts"] = json!({
        "targeted": rows.len(),
        "showing": showing,
        "pending": pending,
        "offline": offline,
        "failed": failed,
        "cleared": cleared,
    });
    body["players"] = Value::Array(rows);
    body["message"] = serde_json::to_value(&record.message).map_err(ApiError::internal)?;
    Ok(Json(body))
}

async fn template_catalogue(caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(auth::READ)?;
    let kinds: Vec<Value> = TemplateKind::all()
        .into_iter()
        .map(|kind| {
            let mut v = serde_json::to_value(kind).expect("kinds serialise");
            v["needs_shelter"] = json!(kind.needs_shelter());
            v["default_level"] = json!(kind.level().get());
            v["preview"] = json!(
                templates::render(
                    kind,
                    "en",
                    &Placeholders {
                        area: "{area}".into(),
                        shelter: Some("{shelter}".into()),
                        ..Default::default()
                    },
                    Status::Actual
                )
                .ok()
            );
            v
        })
        .collect();
    let levels: Vec<Value> = (1..=5)
        .map(|l| {
            let c = WarningLevel::new(l).expect("1-5").colours();
            json!({
                "level": l,
                "name_ja": c.name_ja,
                "name_en": c.name_en,
                "background": format!("#{:02x}{:02x}{:02x}", c.background.0, c.background.1, c.background.2),
                "text": format!("#{:02x}{:02x}{:02x}", c.text.0, c.text.1, c.text.2),
            })
        })
        .collect();
    Ok(Json(json!({
        "kinds": kinds,
        "languages": LANGUAGES,
        "levels": levels,
        "statuses": ["Actual", "Exercise", "Test"],
        "target_kinds": ["all", "ward", "group", "player"],
    })))
}

/// The alert as CAP 1.2; a cancelled alert as its CAP Cancel.
async fn export_cap(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(auth::READ)?;
    let id = AlertId(id);
    let record = state.alerts.record(&id).await.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no alert {id}; check the id"),
        )
    })?;
    let cap = match record.phase {
        Phase::Cancelled if record.message.revision > 0 => record.message.cap.cancellation(
            &format!("{}-cancel", record.message.cap.identifier),
            now_tokyo(),
        ),
        _ => record.message.cap.clone(),
    };
    Ok((
        [(header::CONTENT_TYPE, "application/cap+xml; charset=utf-8")],
        alerts::cap::to_xml(&cap),
    )
        .into_response())
}

/// The documents from feeds and relays that made or changed an alert, newest last.
async fn documents(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(auth::READ)?;
    let id = check_id(&id)?;
    if state.alerts.record(&id).await.is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no alert {}", id.0),
        ));
    }
    let docs = state
        .store
        .alert_documents(&id.0)
        .await
        .map_err(ApiError::internal)?;
    let list: Vec<Value> = docs
        .iter()
        .map(|d| {
            let mut v = serde_json::to_value(d).expect("serialises");
            v["href"] = json!(format!("/api/v1/intake/{}", d.digest));
            v
        })
        .collect();
    Ok(Json(
        json!({"alert": id.0, "source": super::jma::source_of(&id), "documents": list}),
    ))
}

/// An original document as it was received.
async fn intake_document(
    State(state): State<AppState>,
    caller: Caller,
    Path(digest): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(auth::READ)?;
    let valid = digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit());
    let found = if valid {
        state
            .store
            .intake_document(&digest)
            .await
            .map_err(ApiError::internal)?
    } else {
        None
    };
    match found {
        Some(d) if !d.body.is_empty() => Ok((
            [
                (
                    header::CONTENT_TYPE,
                    format!("{}; charset=utf-8", d.content_type),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("inline; filename=\"{}.xml\"", &d.digest[..16]),
                ),
            ],
            d.body,
        )
            .into_response()),
        Some(_) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "that document changed no alert, so only its digest and decision were kept".to_string(),
        )),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no document with that SHA-256 digest was received".to_string(),
        )),
    }
}

#[cfg(test)]
mod ward_name_tests {
    use super::*;

    #[test]
    fn targeted_wards_are_named_in_each_language() {
        let kita = vec![Target::Ward("kita".into()), Target::Ward("chuo".into())];
        let v = with_ward_names(Placeholders::default(), &kita);
        assert_eq!(v.area, "北区、中央区");
        assert_eq!(v.area_in("en"), "Kita Ward, Chuo Ward");
        assert_eq!(v.area_in("zh-Hant"), "北區、中央區");
        let all = with_ward_names(Placeholders::default(), &[Target::All]);
        assert_eq!(all.area_in("ko"), "오사카시");
        // What staff typed stays, in every language.
        let typed = Placeholders {
            area: "北区役所 1階".into(),
            ..Default::default()
        };
        let v = with_ward_names(typed, &kita);
        assert_eq!(v.area_in("en"), "北区役所 1階");
        // A ward outside the table, or a group: nothing to name.
        let v = with_ward_names(Placeholders::default(), &[Target::Group("lobby".into())]);
        assert_eq!(v.area, "");
    }
}

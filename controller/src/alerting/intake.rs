//! `POST /api/v1/cap`: a CAP document from a feed or another system, parsed safely by the
//! `alerts` crate (no DTD, no entities, size-limited), mapped onto wards through the
//! configured area table, then issued or staged by the configured policy:
//!
//! A document is *trusted* when it is posted with the API token of a configured feed and names
//! a sender that feed may speak for (`alerts.cap_intake.feeds`); the `<sender>` alone proves
//! nothing, since anyone can write it.
//!
//! - Alert, Actual, trusted, an info matching an `auto_issue` rule: issued at once, the
//!   configured policy standing in as the second person (`cap-policy`, audited).
//! - Alert, Exercise/Test, trusted: issued (marked as a drill on screen).
//! - Alert, Actual otherwise: pending confirmation by a person.
//! - Alert, Exercise/Test, untrusted: a draft, for a person to submit.
//! - Cancel referencing an alert this controller holds from the same sender: applied.
//! - Update of such an alert: applied at once when trusted (the policy as second person); from
//!   anyone else an Actual alert's update waits for a second person like any other update.
//! - Everything else is refused with the reason; nothing is stored.
//!
//! An EDXL-DE envelope (L-Alert) is opened and its CAP alert taken the same way; its alert
//! ids start `lalert-` (others `cap-`), which the console shows as the source. The document
//! as received is kept for the console.

use alerts::cap::{self, CapError};
use alerts::lifecycle::{Command, ConfirmationPolicy, LifecycleError, Phase, Role};
use alerts::message::AlertMessage;
use alerts::model::{MsgType, Status};
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use chrono::Utc;
use content::ids::AlertId;
use serde_json::{Value, json};
use sha2::Digest;

use super::ServiceError;
use super::routes::{check_size, level_for, lifecycle_status, service_error, summary};
use crate::auth::{self, Caller};
use crate::http::{ApiError, AppState};

fn refused(status: StatusCode, reason: String, rule: &str) -> ApiError {
    ApiError::with_details(status, reason, json!({"accepted": false, "rule": rule}))
}

pub async fn post_cap(
    State(state): State<AppState>,
    caller: Caller,
    body: Body,
) -> Result<Response, ApiError> {
    caller.require(auth::ALERTS)?;
    let limit = state.alerts.config().max_cap_bytes;
    let result = intake(&state, &caller, body, limit).await;
    if let Err((e, rule, detail)) = &result {
        caller
            .audit(
                &state.store,
                "alert.cap",
                None,
                "refused",
                Some(json!({"rule": rule, "reason": detail})),
            )
            .await;
        let _ = e;
    }
    result.map_err(|(e, _, _)| e)
}

type Refusal = (ApiError, String, String);

fn refusal(status: StatusCode, reason: String, rule: &str) -> Refusal {
    (
        refused(status, reason.clone(), rule),
        rule.to_owned(),
        reason,
    )
}

async fn intake(
    state: &AppState,
    caller: &Caller,
    body: Body,
    limit: usize,
) -> Result<Response, Refusal> {
    let bytes = axum::body::to_bytes(body, limit + 1).await.map_err(|_| {
        refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("CAP document over the {limit}-byte limit (or the upload broke off); send a smaller document"),
            "size-limit",
        )
    })?;
    let parsed = cap::parse_with_limit(&bytes, limit).map_err(|e| {
        let status = match e {
            CapError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        refusal(status, format!("CAP document refused: {e}"), e.rule())
    })?;
    // L-Alert and other relays wrap CAP in an EDXL-DE envelope, which the parser opens.
    let envelope = parsed.enveloped;
    let mut alert = parsed.alert;
    // Inline resources (audio, images) are not shown on screens and would not fit an MQTT
    // message: keep their description and URI only.
    for info in &mut alert.infos {
        for r in &mut info.resources {
            r.deref_uri = None;
        }
    }
    let trusted = state.alerts.config().trusts(caller, &alert.sender);
    let wards = state
        .alerts
        .config()
        .areas
        .match_areas(alert.infos.iter().flat_map(|i| &i.areas));
    let targets = wards.to_targets();
    let level = level_for(&alert.infos);
    let skipped = parsed.skipped.clone();
    let version = parsed.version.to_string();

    let (commands, decision, reason, id) = match alert.msg_type {
        MsgType::Ack | MsgType::Error => {
            return Err(refusal(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "msgType {} is a reply between alerting systems, never shown on screens; nothing to do",
                    alert.msg_type
                ),
                "not-displayable",
            ));
        }
        _ if matches!(alert.status, Status::Draft | Status::System) => {
            return Err(refusal(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "CAP status {} is never shown on screens; only Actual, Exercise and Test are",
                    alert.status
                ),
                "not-displayable",
            ));
        }
        MsgType::Update | MsgType::Cancel => {
            let identifiers: Vec<String> = alert
                .references
                .iter()
                .map(|r| r.identifier.clone())
                .collect();
            let Some(record) = state.alerts.find_by_cap(&alert.sender, &identifiers).await else {
                return Err(refusal(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!(
                        "this {} references no alert this controller holds from {} ({}); send the original Alert first",
                        alert.msg_type,
                        alert.sender,
                        identifiers.join(" ")
                    ),
                    "unknown-reference",
                ));
            };
            let id = record.message.id.clone();
            if alert.msg_type == MsgType::Cancel {
                (
                    vec![(caller.clone(), Command::Cancel { id: id.clone() })],
                    "cancelled",
                    "a CAP Cancel of an alert from the same sender".to_string(),
                    id,
                )
            } else {
                let mut message = record.message.clone();
                if !targets.is_empty() {
                    message.targets = targets;
                }
                message.level = level;
                message.cap = alert;
                check_size(state, &message)
                    .map_err(|e| (e, "size-limit".into(), "signed alert too large".into()))?;
                let actual = message.cap.status == Status::Actual;
                let policy = state.alerts.config().policy.clone();
                let typed = match &policy {
                    ConfirmationPolicy::SingleOperator { phrase } if trusted => {
                        Some(phrase.clone())
                    }
                    _ => None,
                };
                let mut commands = vec![(
                    caller.clone(),
                    Command::Update {
                        message: Box::new(message),
                        typed_confirmation: typed,
                    },
                )];
                let held = actual && !trusted && policy == ConfirmationPolicy::TwoPerson;
                if actual && trusted && policy == ConfirmationPolicy::TwoPerson {
                    commands.push((
                        Caller::account("cap-policy", Role::Disaster),
                        Command::Confirm { id: id.clone() },
                    ));
                }
                if held {
                    (
                        commands,
                        "update_pending_confirmation",
                        "a CAP Update of a live Actual alert, not from a trusted feed: held until a second person confirms it".to_string(),
                        id,
                    )
                } else {
                    (
                        commands,
                        "updated",
                        "a CAP Update of a live alert from the same sender replaces it at once"
                            .to_string(),
                        id,
                    )
                }
            }
        }
        MsgType::Alert => {
            if targets.is_empty() {
                return Err(refusal(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "the alert's areas reach no ward of this city (no geocode or polygon matches alerts.areas in the configuration); nothing to show".into(),
                    "area-mapping",
                ));
            }
            let digest = sha2::Sha256::digest(format!("{}\n{}", alert.sender, alert.identifier));
            let prefix = if envelope { "lalert" } else { "cap" };
            let id = AlertId(format!("{prefix}-{}", &hex::encode(digest)[..16]));
            let drill = alert.is_drill();
            let auto = trusted
                && alert.status == Status::Actual
                && alert.infos.iter().any(|i| {
                    state
                        .alerts
                        .config()
                        .auto_issue
                        .iter()
                        .any(|r| r.severity == i.severity && r.urgency == i.urgency)
                });
            let message = AlertMessage {
                id: id.clone(),
                revision: 0,
                targets,
                level,
                issued_at: Utc::now(),
                cap: alert,
                valid_until: None,
            };
            check_size(state, &message)
                .map_err(|e| (e, "size-limit".into(), "signed alert too large".into()))?;
            let mut commands = vec![(
                caller.clone(),
                Command::Draft {
                    message: Box::new(message),
                },
            )];
            let policy = state.alerts.config().policy.clone();
            let submit = |typed| Command::Submit {
                id: id.clone(),
                typed_confirmation: typed,
            };
            let (decision, reason) = if auto {
                match policy {
                    ConfirmationPolicy::TwoPerson => {
                        commands.push((caller.clone(), submit(None)));
                        commands.push((
                            Caller::account("cap-policy", Role::Disaster),
                            Command::Confirm { id: id.clone() },
                        ));
                    }
                    ConfirmationPolicy::SingleOperator { phrase } => {
                        commands.push((caller.clone(), submit(Some(phrase))));
                    }
                }
                (
                    "issued",
                    "Actual alert from a trusted sender matching an auto_issue rule (severity and urgency): issued at once".to_string(),
                )
            } else if drill && trusted {
                commands.push((caller.clone(), submit(None)));
                (
                    "issued",
                    "Exercise/Test alert from a trusted sender: issued, marked as a drill on screen".to_string(),
                )
            } else if drill {
                (
                    "draft",
                    "Exercise/Test alert from an untrusted sender: staged as a draft for a person to submit".to_string(),
                )
            } else {
                commands.push((caller.clone(), submit(None)));
                (
                    "pending_confirmation",
                    if trusted {
                        "Actual alert from a trusted sender not matching an auto_issue rule: staged for a person to confirm".to_string()
                    } else {
                        format!(
                            "Actual alert from {}, not a trusted sender: staged for a person to confirm",
                            message_sender(&commands)
                        )
                    },
                )
            };
            (commands, decision, reason, id)
        }
    };
    state.alerts.execute(commands).await.map_err(|e| match e {
        ServiceError::Lifecycle(l) => {
            let rule = match &l {
                LifecycleError::AlreadyExpired(_) => "expired",
                LifecycleError::DuplicateId(_) => "duplicate",
                LifecycleError::InvalidCap(c) => c.rule(),
                _ => "lifecycle",
            };
            refusal(
                lifecycle_status(&l),
                format!("CAP alert not taken: {l}"),
                rule,
            )
        }
        other => {
            let reason = other.to_string();
            (service_error(other), "store".to_owned(), reason)
        }
    })?;
    let record = state.alerts.record(&id).await.expect("stored");
    // The original, for the console; a failure to keep it is logged, the alert stands.
    let original = crate::store::intake::IntakeDocument {
        digest: super::jma::digest(&bytes),
        source: if envelope { "l-alert" } else { "cap" }.into(),
        received_at: Utc::now(),
        caller: caller.account.clone(),
        event_key: None,
        reported_at: Some(record.message.cap.sent.with_timezone(&Utc)),
        decision: decision.into(),
        reason: reason.clone(),
        alert_id: Some(id.0.clone()),
        content_type: "application/xml".into(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    };
    if let Err(e) = state.store.record_intake(&original, None).await {
        tracing::warn!(alert = %id.0, "the original CAP document was not kept: {e}");
    }
    debug_assert!(record.phase != Phase::Expired || decision != "issued");
    let body: Value = json!({
        "accepted": true,
        "decision": decision,
        "reason": reason,
        "cap_version": version,
        "skipped_elements": skipped,
        "alert": summary(&record),
    });
    Ok((StatusCode::OK, Json(body)).into_response())
}

fn message_sender(commands: &[(Caller, Command)]) -> String {
    commands
        .iter()
        .find_map(|(_, c)| match c {
            Command::Draft { message } => Some(message.cap.sender.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

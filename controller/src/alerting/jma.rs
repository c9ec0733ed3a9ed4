//! JMA disaster-information XML into alerts: the one path both the push endpoint
//! (`POST /api/v1/jma`) and the feed poller take.
//!
//! - Each document is taken once, by the SHA-256 of its bytes: a second copy (a relay and
//!   the feed both delivering it, or a restart re-reading a feed) answers `duplicate`.
//! - `jma::decide` says what it means; a document older than the event's last applied one
//!   (report time, then serial) is `superseded`, so a late copy never rolls screens back.
//! - Show: a new alert for the event, or an update of its live alert, issued at once by the
//!   policy (`jma-policy` the second person) or staged for disaster staff; a staged alert
//!   that a later document replaces is cancelled and staged anew. End: the live alert gets
//!   an all-clear, a staged one is cancelled. 取消: cancelled.
//! - 訓練 and 試験 documents become Exercise and Test alerts: a drill can never look live.
//! - The document, the decision and the event's state are stored in one transaction after
//!   the alert's own record; the body is kept when an alert was touched.

use alerts::lifecycle::{AlertRecord, Command, ConfirmationPolicy, Phase, Role};
use alerts::message::{AlertMessage, Broadcast};
use alerts::model::{Alert, Status};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use content::ids::AlertId;
use content::protocol::MAX_PAYLOAD_BYTES;
use content::tokyo::TOKYO;
use jma::decide::{Action, Decision, Show, Treatment};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::{AlertService, ServiceError};
use crate::auth::Caller;
use crate::store::Store;
use crate::store::intake::{IntakeDocument, JmaEvent};

/// `[alerts.jma]` in `controller.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JmaSection {
    /// API tokens (`tok-...`) that relays post documents with; admin tokens are accepted too.
    #[serde(default)]
    pub feed_tokens: Vec<String>,
    #[serde(default)]
    pub policy: jma::decide::Policy,
    /// JMA area codes onto wards; Osaka City's 24 wards when absent.
    pub areas: Option<jma::areas::AreaCodes>,
    #[serde(default)]
    pub feeds: crate::feeds::FeedsSection,
}

/// The validated `[alerts.jma]`.
#[derive(Debug, Clone)]
pub struct JmaConfig {
    pub feed_tokens: Vec<String>,
    pub policy: jma::decide::Policy,
    pub areas: jma::areas::AreaCodes,
    pub feeds: crate::feeds::FeedsConfig,
}

impl JmaConfig {
    pub fn resolve(section: JmaSection) -> anyhow::Result<JmaConfig> {
        for (i, t) in section.feed_tokens.iter().enumerate() {
            if !t.starts_with("tok-") {
                anyhow::bail!(
                    "config key alerts.jma.feed_tokens[{i}] must be an API token's id (tok-...): the first line `signage-controller token create` prints, or GET /api/v1/tokens"
                );
            }
        }
        let areas = section.areas.unwrap_or_default();
        for ward in areas.ward_ids() {
            if !content::protocol::is_topic_level(&ward.0) {
                anyhow::bail!(
                    "config key alerts.jma.areas names ward {ward:?}, not a valid ward id"
                );
            }
        }
        Ok(JmaConfig {
            feed_tokens: section.feed_tokens,
            policy: section.policy,
            areas,
            feeds: crate::feeds::FeedsConfig::resolve(section.feeds)?,
        })
    }

    /// Whether `caller` may deliver JMA documents: a configured feed token, or an admin.
    pub fn is_feed(&self, caller: &Caller) -> bool {
        caller.role == Role::Admin
            || caller
                .account
                .strip_prefix("token:")
                .is_some_and(|t| self.feed_tokens.iter().any(|f| f == t))
    }
}

impl Default for JmaConfig {
    fn default() -> Self {
        JmaConfig::resolve(JmaSection::default()).expect("defaults are valid")
    }
}

/// What became of a document.
#[derive(Debug, Clone, Serialize)]
pub struct Taken {
    /// `auto`, `staged`, `updated`, `end`, `cancel`, `ignored`, `superseded`, or the earlier
    /// decision for a duplicate.
    pub decision: String,
    pub reason: String,
    pub duplicate: bool,
    pub event: Option<String>,
    pub drill: bool,
    pub alert_id: Option<String>,
    pub title: Option<String>,
}

/// A refusal: the HTTP status, the rule broken and why.
#[derive(Debug)]
pub struct Refused {
    pub status: StatusCode,
    pub rule: &'static str,
    pub reason: String,
}

impl Refused {
    fn new(status: StatusCode, rule: &'static str, reason: String) -> Refused {
        Refused {
            status,
            rule,
            reason,
        }
    }
}

fn store_failed(e: impl std::fmt::Display) -> Refused {
    Refused::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "store",
        format!("the document could not be recorded ({e}); send it again"),
    )
}

pub(crate) fn digest(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The account that submits what JMA says, and the policy that confirms it.
fn jma_actor() -> Caller {
    Caller::account("jma", Role::Disaster)
}

fn policy_actor() -> Caller {
    Caller::account("jma-policy", Role::Disaster)
}

/// Takes one JMA document delivered by `via` (an API caller or a feed URL) at `now`.
pub async fn take(
    alerts: &AlertService,
    store: &Store,
    bytes: &[u8],
    via: &str,
    now: DateTime<Utc>,
) -> Result<Taken, Refused> {
    if bytes.len() > jma::MAX_BYTES {
        return Err(Refused::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "size-limit",
            format!(
                "document is {} bytes, over the {}-byte limit",
                bytes.len(),
                jma::MAX_BYTES
            ),
        ));
    }
    let digest = digest(bytes);
    // One document at a time: the order checks and the event table must see each other.
    let _one = alerts.intake_lock.lock().await;
    if let Some(earlier) = store.intake_document(&digest).await.map_err(store_failed)? {
        return Ok(Taken {
            decision: earlier.decision,
            reason: format!(
                "already taken at {} from {}: {}",
                earlier.received_at.to_rfc3339(),
                earlier.caller,
                earlier.reason
            ),
            duplicate: true,
            event: earlier.event_key,
            drill: false,
            alert_id: earlier.alert_id,
            title: None,
        });
    }
    let doc = jma::read(bytes).map_err(|e| {
        let status = match e {
            jma::JmaError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        Refused::new(status, e.rule(), format!("JMA document refused: {e}"))
    })?;
    let config = &alerts.config().jma;
    let mut decision = jma::decide::decide(&doc, &config.areas, &config.policy, now);
    // A drill and a real event never share an alert.
    if decision.drill {
        decision.key.push_str("/drill");
    }
    let s = &doc.summary;
    let last = store.jma_event(&decision.key).await.map_err(store_failed)?;
    let superseded = last.as_ref().filter(|last| !decision_is_newer(s, last));
    let (name, reason, alert_id) = if let Some(last) = superseded {
        (
            "superseded".to_string(),
            format!(
                "{} reported at {} (serial {}) is not newer than this event's last document ({}, serial {}); screens keep what that one said",
                s.title,
                s.reported_at.to_rfc3339(),
                s.serial.as_deref().unwrap_or("-"),
                last.reported_at.to_rfc3339(),
                last.serial.as_deref().unwrap_or("-")
            ),
            None,
        )
    } else {
        apply(alerts, store, &decision, &doc, &digest, last.as_ref(), now).await?
    };
    let applied = alert_id.is_some();
    let record = IntakeDocument {
        digest,
        source: "jma".into(),
        received_at: now,
        caller: via.to_owned(),
        event_key: Some(decision.key.clone()),
        reported_at: Some(s.reported_at),
        decision: name.clone(),
        reason: reason.clone(),
        alert_id: alert_id.clone(),
        content_type: "application/xml".into(),
        body: if applied {
            String::from_utf8_lossy(bytes).into_owned()
        } else {
            String::new()
        },
    };
    let event = alert_id.as_ref().map(|id| JmaEvent {
        alert_id: id.clone(),
        reported_at: s.reported_at,
        serial: s.serial.clone(),
    });
    store
        .record_intake(&record, event.as_ref().map(|e| (decision.key.as_str(), e)))
        .await
        .map_err(store_failed)?;
    tracing::info!(
        title = %s.title,
        event = %decision.key,
        decision = %name,
        alert = alert_id.as_deref().unwrap_or("-"),
        "JMA document: {reason}"
    );
    Ok(Taken {
        decision: name,
        reason,
        duplicate: false,
        event: Some(decision.key),
        drill: decision.drill,
        alert_id,
        title: Some(s.title.clone()),
    })
}

/// A later report time wins, an earlier one loses. At the same time a lower serial loses
/// (unless it is a correction); anything else at the same time is taken (exact copies were
/// already answered as duplicates).
fn decision_is_newer(s: &jma::Summary, last: &JmaEvent) -> bool {
    let serial = |x: Option<&str>| x.and_then(|x| x.trim().parse::<u64>().ok());
    match s.reported_at.cmp(&last.reported_at) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Equal => {
            match (serial(s.serial.as_deref()), serial(last.serial.as_deref())) {
                (Some(new), Some(old)) => new > old || s.info_type == jma::InfoType::Corrected,
                _ => true,
            }
        }
    }
}

/// The decision's name, its reason, and the alert it touched.
type Applied = (String, String, Option<String>);

/// Whether `record` is a staged alert that a person cancelled (not JMA's end or 取消).
async fn dismissed_by_staff(store: &Store, record: &AlertRecord) -> bool {
    if record.phase != Phase::Cancelled || record.message.revision > 0 {
        return false;
    }
    match store.alert_documents(&record.message.id.0).await {
        Ok(docs) => docs
            .last()
            .is_some_and(|d| !matches!(d.decision.as_str(), "end" | "cancel")),
        Err(_) => false,
    }
}

async fn apply(
    alerts: &AlertService,
    store: &Store,
    decision: &Decision,
    doc: &jma::Document,
    digest: &str,
    last: Option<&JmaEvent>,
    now: DateTime<Utc>,
) -> Result<Applied, Refused> {
    let previous = match last {
        Some(e) => alerts.record(&AlertId(e.alert_id.clone())).await,
        None => None,
    };
    let current = previous.clone().filter(|r| !r.phase.is_ended());
    let reason = decision.reason.clone();
    // Staff dismissed this event's staged alert: what JMA repeats at the same level or lower
    // stays dismissed (no new nagging every update); a higher level, or anything the policy
    // issues at once, comes back.
    if let (Action::Show(show), Some(dismissed)) = (&decision.action, &previous)
        && show.treatment == Treatment::Stage
        && show.level <= dismissed.message.level
        && dismissed_by_staff(store, dismissed).await
    {
        return Ok((
            "ignored".into(),
            format!(
                "{reason}; staff dismissed this event at level {} and it has not risen",
                dismissed.message.level.get()
            ),
            None,
        ));
    }
    let mut commands: Vec<(Caller, Command)> = Vec::new();
    let name = match (&decision.action, &current) {
        (Action::Ignore, _) => return Ok(("ignored".into(), reason, None)),
        (Action::End | Action::Cancel, None) => {
            return Ok((
                decision.name().into(),
                format!("{reason} (no alert of this event is showing)"),
                None,
            ));
        }
        (Action::End, Some(r)) => {
            let id = r.message.id.clone();
            commands.push(if r.phase.is_live() {
                (jma_actor(), Command::AllClear { id })
            } else {
                (jma_actor(), Command::Cancel { id })
            });
            "end"
        }
        (Action::Cancel, Some(r)) => {
            commands.push((
                jma_actor(),
                Command::Cancel {
                    id: r.message.id.clone(),
                },
            ));
            "cancel"
        }
        (Action::Show(show), Some(r)) if r.phase.is_live() => {
            let message = message(r.message.id.clone(), show, doc, digest, now);
            check_size(alerts, &message)?;
            let policy = alerts.config().policy.clone();
            let actual = message.cap.status == Status::Actual;
            let typed = match &policy {
                ConfirmationPolicy::SingleOperator { phrase } => Some(phrase.clone()),
                ConfirmationPolicy::TwoPerson => None,
            };
            let id = message.id.clone();
            commands.push((
                jma_actor(),
                Command::Update {
                    message: Box::new(message),
                    typed_confirmation: typed,
                },
            ));
            // JMA's later word on an event already on screens replaces it at once.
            if actual && policy == ConfirmationPolicy::TwoPerson {
                commands.push((policy_actor(), Command::Confirm { id }));
            }
            "updated"
        }
        (Action::Show(show), staged) => {
            if let Some(r) = staged {
                // A staged alert that a later document replaces: staged (or issued) anew.
                commands.push((
                    jma_actor(),
                    Command::Cancel {
                        id: r.message.id.clone(),
                    },
                ));
            }
            let id = AlertId(format!("jma-{}", &digest[..16]));
            let message = message(id.clone(), show, doc, digest, now);
            check_size(alerts, &message)?;
            let drill = message.is_drill();
            commands.push((
                jma_actor(),
                Command::Draft {
                    message: Box::new(message),
                },
            ));
            let submit = |typed| Command::Submit {
                id: id.clone(),
                typed_confirmation: typed,
            };
            match (show.treatment, drill, alerts.config().policy.clone()) {
                // A staged drill waits as a draft: submitting a drill issues it.
                (Treatment::Stage, true, _) => {}
                (Treatment::Stage, false, _) => commands.push((jma_actor(), submit(None))),
                (_, true, _) => commands.push((jma_actor(), submit(None))),
                (_, false, ConfirmationPolicy::TwoPerson) => {
                    commands.push((jma_actor(), submit(None)));
                    commands.push((policy_actor(), Command::Confirm { id: id.clone() }));
                }
                (_, false, ConfirmationPolicy::SingleOperator { phrase }) => {
                    commands.push((jma_actor(), submit(Some(phrase))));
                }
            }
            decision.name()
        }
    };
    let touched = commands
        .iter()
        .rev()
        .map(|(_, c)| c.alert_id().clone())
        .next()
        .expect("a command");
    alerts.execute(commands).await.map_err(|e| match e {
        ServiceError::Lifecycle(l) => Refused::new(
            StatusCode::CONFLICT,
            "lifecycle",
            format!("JMA document not applied: {l}"),
        ),
        ServiceError::Store(e) => store_failed(e),
    })?;
    Ok((name.to_owned(), reason, Some(touched.0)))
}

fn check_size(alerts: &AlertService, message: &AlertMessage) -> Result<(), Refused> {
    let size = alerts.signed_size(&Broadcast::Show(Box::new(message.clone())));
    if size > MAX_PAYLOAD_BYTES {
        return Err(Refused::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "size-limit",
            format!(
                "the signed alert would be {size} bytes, over the {MAX_PAYLOAD_BYTES}-byte MQTT limit"
            ),
        ));
    }
    Ok(())
}

fn message(
    id: AlertId,
    show: &Show,
    doc: &jma::Document,
    digest: &str,
    now: DateTime<Utc>,
) -> AlertMessage {
    let s = &doc.summary;
    let status = match s.status {
        jma::Status::Normal => Status::Actual,
        jma::Status::Exercise => Status::Exercise,
        jma::Status::Test => Status::Test,
    };
    let mut cap = Alert::new(
        format!("jma-{}", &digest[..32]),
        JMA_SENDER.into(),
        s.reported_at.with_timezone(&TOKYO),
        status,
        jma::text::infos(show, status),
    );
    cap.source = Some(format!("JMA {} ({})", s.title, s.office));
    cap.note = Some(format!(
        "{} {} EventID {}",
        s.info_kind,
        s.info_type.ja(),
        s.event_id
    ));
    AlertMessage {
        id,
        revision: 0,
        targets: show.wards.to_targets(),
        level: show.level,
        issued_at: now,
        cap,
        valid_until: None,
    }
}

/// The CAP sender of alerts made from JMA documents.
pub const JMA_SENDER: &str = "jma.go.jp";

/// Where an alert came from, by the id prefix only intake may use.
pub fn source_of(id: &AlertId) -> &'static str {
    if id.0.starts_with("jma-") {
        "jma"
    } else if id.0.starts_with("lalert-") {
        "l-alert"
    } else if id.0.starts_with("cap-") {
        "cap"
    } else {
        "staff"
    }
}

/// Whether `record` waits for a person (staged by intake, or a draft).
pub fn is_staged(record: &AlertRecord) -> bool {
    matches!(record.phase, Phase::PendingConfirmation | Phase::Draft)
        && source_of(&record.message.id) != "staff"
}

/// `POST /api/v1/jma`: a JMA document from a relay (an EEW receiver, a prefecture's system).
pub async fn post_jma(
    axum::extract::State(state): axum::extract::State<crate::http::AppState>,
    caller: Caller,
    body: axum::body::Body,
) -> Result<axum::response::Response, crate::http::ApiError> {
    use axum::response::IntoResponse;
    // The access table's `Feed` row: the auth layer checked the role and the feed listing.
    caller.require(crate::auth::ALERTS)?;
    let refused = |r: Refused| {
        crate::http::ApiError::with_details(
            r.status,
            r.reason,
            serde_json::json!({"accepted": false, "rule": r.rule}),
        )
    };
    let bytes = match axum::body::to_bytes(body, jma::MAX_BYTES + 1).await {
        Ok(b) => b,
        Err(_) => {
            return Err(refused(Refused::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "size-limit",
                format!(
                    "JMA document over the {}-byte limit (or the upload broke off)",
                    jma::MAX_BYTES
                ),
            )));
        }
    };
    match take(
        &state.alerts,
        &state.store,
        &bytes,
        &caller.account,
        Utc::now(),
    )
    .await
    {
        Ok(taken) => {
            caller
                .audit(
                    &state.store,
                    "alert.jma",
                    taken.alert_id.as_deref(),
                    &taken.decision,
                    Some(serde_json::json!({"reason": taken.reason, "event": taken.event, "duplicate": taken.duplicate})),
                )
                .await;
            let alert = match &taken.alert_id {
                Some(id) => state
                    .alerts
                    .record(&AlertId(id.clone()))
                    .await
                    .map(|r| super::routes::summary(&r)),
                None => None,
            };
            let mut body = serde_json::to_value(&taken).expect("serialises");
            body["accepted"] = serde_json::json!(true);
            body["alert"] = serde_json::json!(alert);
            Ok((StatusCode::OK, axum::Json(body)).into_response())
        }
        Err(r) => {
            caller
                .audit(
                    &state.store,
                    "alert.jma",
                    None,
                    "refused",
                    Some(serde_json::json!({"rule": r.rule, "reason": r.reason})),
                )
                .await;
            Err(refused(r))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(at: &str, serial: Option<&str>, info_type: jma::InfoType) -> jma::Summary {
        jma::Summary {
            title: "震度速報".into(),
            kind: jma::Kind::SeismicIntensity,
            status: jma::Status::Normal,
            info_type,
            info_kind: "震度速報".into(),
            reported_at: DateTime::parse_from_rfc3339(at)
                .unwrap()
                .with_timezone(&Utc),
            event_id: "20261207100000".into(),
            serial: serial.map(str::to_owned),
            headline: String::new(),
            office: "気象庁本庁".into(),
        }
    }

    #[test]
    fn later_reports_and_higher_serials_win_corrections_too() {
        let last = JmaEvent {
            alert_id: "jma-x".into(),
            reported_at: DateTime::parse_from_rfc3339("2026-12-07T10:00:00+09:00")
                .unwrap()
                .with_timezone(&Utc),
            serial: Some("2".into()),
        };
        let issued = jma::InfoType::Issued;
        assert!(decision_is_newer(
            &summary("2026-12-07T10:01:00+09:00", Some("1"), issued),
            &last
        ));
        assert!(!decision_is_newer(
            &summary("2026-12-07T09:59:00+09:00", Some("9"), issued),
            &last
        ));
        // Same time: the serial decides; a correction of the same report is taken.
        assert!(decision_is_newer(
            &summary("2026-12-07T10:00:00+09:00", Some("3"), issued),
            &last
        ));
        assert!(!decision_is_newer(
            &summary("2026-12-07T10:00:00+09:00", Some("2"), issued),
            &last
        ));
        assert!(decision_is_newer(
            &summary(
                "2026-12-07T10:00:00+09:00",
                Some("2"),
                jma::InfoType::Corrected
            ),
            &last
        ));
        // No comparable serial at the same time: taken (exact copies stop at the digest).
        assert!(decision_is_newer(
            &summary("2026-12-07T10:00:00+09:00", None, issued),
            &last
        ));
    }

    #[test]
    fn sources_come_from_the_reserved_prefixes() {
        assert_eq!(source_of(&AlertId("jma-0123".into())), "jma");
        assert_eq!(source_of(&AlertId("lalert-0123".into())), "l-alert");
        assert_eq!(source_of(&AlertId("cap-0123".into())), "cap");
        assert_eq!(source_of(&AlertId("a20261207-00ff00".into())), "staff");
    }

    #[test]
    fn feed_credentials_are_listed_tokens_or_admins() {
        let config = JmaConfig::resolve(JmaSection {
            feed_tokens: vec!["tok-0123456789ab".into()],
            ..Default::default()
        })
        .unwrap();
        let relay = Caller {
            account: "token:tok-0123456789ab".into(),
            role: Role::Disaster,
            person: "admin.kita".into(),
        };
        let other = Caller {
            account: "token:tok-ffffffffffff".into(),
            ..relay.clone()
        };
        assert!(config.is_feed(&relay));
        assert!(!config.is_feed(&other));
        assert!(config.is_feed(&Caller::account("admin.kita", Role::Admin)));
        assert!(!config.is_feed(&Caller::account("bousai", Role::Disaster)));
        let bad = JmaConfig::resolve(JmaSection {
            feed_tokens: vec!["secret".into()],
            ..Default::default()
        });
        assert!(
            bad.unwrap_err()
                .to_string()
                .contains("alerts.jma.feed_tokens[0]")
        );
    }
}

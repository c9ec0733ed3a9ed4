//! `AlertLifecycle`: every signage alert from draft to its end, as a pure state machine.
//!
//! ```text
//!   draft ──submit──▶ pending_confirmation ──confirm (another account)──▶ issued ──update──▶ updated ─┐
//!     │   (Actual, two-person)      │ reject ▶ draft                        │   ▲                       │ update
//!     │                             │                                       │   └───────────────────────┘
//!     └─submit (Exercise/Test, or Actual with the typed phrase in single-operator mode)──▶ issued
//!   issued/updated ──cancel──▶ cancelled   ──all_clear──▶ all_clear   ──expire(now)──▶ expired
//!   draft/pending  ──cancel──▶ cancelled (never shown)
//! ```
//!
//! Rules:
//! - Only accounts with the `disaster` or `admin` role act; `pr` and `viewer` are refused.
//! - An Actual alert is issued only when a second account, different from the one that
//!   submitted it, confirms it; or, in [`ConfirmationPolicy::SingleOperator`], when the
//!   submitter types the configured phrase exactly.
//! - Exercise and Test alerts are issued on submit by one authorised account: they can never
//!   look real (the screen marks them 訓練 / TEST), and an update can never turn one into an
//!   Actual alert (issue a new alert for that).
//! - CAP `Draft` and `System` messages are never shown; submitting one is refused.
//! - Updating a live Actual alert (new text, wider targets, a higher level) is held as a
//!   pending update, and screens keep showing the current revision, until a second person
//!   confirms it (or, single-operator, the submitter types the phrase); reject drops it. A
//!   drill's update replaces what screens show at once. The CAP message is rewritten as
//!   msgType Update referencing every earlier revision, and must carry a new CAP identifier.
//! - The second person is a different *person*: an API token acts for the account that
//!   created it, so a token never confirms what its creator submitted, nor the reverse.
//! - Cancel and All-clear take one step and clear the screens; an ended alert stays ended.
//! - [`AlertLifecycle::expire`] ends alerts whose CAP `expires` has passed.
//! - Every command, applied or refused, appends one [`AuditEvent`] (who, when, what, outcome);
//!   the trail can be read but never changed.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use content::ids::AlertId;
use serde::{Deserialize, Serialize};

use crate::cap;
use crate::message::{AlertMessage, Broadcast, ClearReason};
use crate::model::{MsgType, Status};

/// A console role: admin, pr (content), approver (approves pr's content), disaster, viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Pr,
    Approver,
    Disaster,
    Viewer,
}

impl Role {
    pub fn may_handle_alerts(self) -> bool {
        matches!(self, Role::Admin | Role::Disaster)
    }
}

/// The authenticated account acting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub account: String,
    pub role: Role,
    /// The person answerable for the act: the account itself, or for an API token the account
    /// that created it. The two-person rule compares persons.
    person: String,
}

impl Actor {
    pub fn new(account: &str, role: Role) -> Self {
        Self::acting_for(account, role, account)
    }

    /// `account` (an API token, say) acting for `person`.
    pub fn acting_for(account: &str, role: Role, person: &str) -> Self {
        Self {
            account: account.to_owned(),
            role,
            person: person.to_owned(),
        }
    }

    pub fn person(&self) -> &str {
        &self.person
    }
}

/// How an Actual alert gets its second check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum ConfirmationPolicy {
    /// A second, different authorised account confirms (the default).
    TwoPerson,
    /// One operator, who must type `phrase` exactly when submitting.
    SingleOperator { phrase: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Draft,
    PendingConfirmation,
    Issued,
    Updated,
    Cancelled,
    Expired,
    AllClear,
}

impl Phase {
    /// Shown on screens.
    pub fn is_live(self) -> bool {
        matches!(self, Phase::Issued | Phase::Updated)
    }

    pub fn is_ended(self) -> bool {
        matches!(self, Phase::Cancelled | Phase::Expired | Phase::AllClear)
    }
}

/// What staff ask for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Create an alert in `draft` (its `revision` and `issued_at` are set on issue).
    Draft {
        message: Box<AlertMessage>,
    },
    Submit {
        id: AlertId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        typed_confirmation: Option<String>,
    },
    Confirm {
        id: AlertId,
    },
    Reject {
        id: AlertId,
        reason: String,
    },
    /// Replace a live alert's content, targets or level.
    Update {
        message: Box<AlertMessage>,
        /// Single-operator mode: the phrase, for an Actual alert.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        typed_confirmation: Option<String>,
    },
    Cancel {
        id: AlertId,
    },
    AllClear {
        id: AlertId,
    },
}

impl Command {
    pub fn alert_id(&self) -> &AlertId {
        match self {
            Command::Draft { message } | Command::Update { message, .. } => &message.id,
            Command::Submit { id, .. }
            | Command::Confirm { id }
            | Command::Reject { id, .. }
            | Command::Cancel { id }
            | Command::AllClear { id } => id,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Command::Draft { .. } => "draft",
            Command::Submit { .. } => "submit",
            Command::Confirm { .. } => "confirm",
            Command::Reject { .. } => "reject",
            Command::Update { .. } => "update",
            Command::Cancel { .. } => "cancel",
            Command::AllClear { .. } => "all_clear",
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LifecycleError {
    #[error(
        "role {role:?} may not {action} alerts; ask an account with the disaster or admin role"
    )]
    Forbidden { role: Role, action: &'static str },
    #[error("no alert {0}; check the id")]
    UnknownAlert(AlertId),
    #[error("alert {0} already exists; choose another id")]
    DuplicateId(AlertId),
    #[error("alert {id} is {phase:?}; {action} needs it {expected}")]
    WrongPhase {
        id: AlertId,
        phase: Phase,
        action: &'static str,
        expected: &'static str,
    },
    #[error(
        "{account} submitted this (or acts for the person who did) and cannot also confirm it; a second authorised person must"
    )]
    SamePerson { account: String },
    #[error(
        "typed confirmation does not match; type the confirmation phrase exactly to issue a live alert"
    )]
    ConfirmationPhraseMismatch,
    #[error("CAP status {0} is never shown on screens; use Actual, Exercise or Test")]
    NotDisplayable(Status),
    #[error(
        "a new alert must have msgType Alert, not {0}; use update or cancel for existing alerts"
    )]
    NotAnAlert(MsgType),
    #[error("an update cannot change status {from} to {to}; issue a new alert instead")]
    StatusChange { from: Status, to: Status },
    #[error("an update needs a new CAP identifier; {0} was already used by this alert")]
    IdentifierReused(String),
    #[error("alert {0} has already expired; draft a new one with a later expiry")]
    AlreadyExpired(AlertId),
    #[error("the CAP message is invalid: {0}")]
    InvalidCap(#[from] cap::CapError),
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// 1, 2, 3, ... with no gaps.
    pub seq: u64,
    pub at: DateTime<Utc>,
    /// The account, or `system` for expiry.
    pub actor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    pub alert: AlertId,
    /// `draft`, `submit`, `confirm`, `reject`, `update`, `cancel`, `all_clear`, `expire`.
    pub action: String,
    /// Exercise or Test alert.
    pub drill: bool,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Applied {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<Phase>,
        to: Phase,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        revision: Option<u32>,
    },
    Refused {
        reason: String,
    },
}

/// One alert's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRecord {
    pub message: AlertMessage,
    pub phase: Phase,
    pub drafted_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_by: Option<String>,
    /// The person behind `submitted_by` (see [`Actor::person`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_person: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_by: Option<String>,
    /// An update of this live Actual alert waiting for a second person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_update: Option<PendingUpdate>,
    /// CAP identifiers of every revision issued, oldest first.
    #[serde(default)]
    pub cap_identifiers: Vec<String>,
    /// The latest `expires` of every revision issued, for the tombstone
    /// ([`Broadcast::Clear`]'s `expires`); `None` when a revision had none (or the record
    /// predates this field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_bound: Option<DateTime<Utc>>,
}

/// A submitted update, not yet on screens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingUpdate {
    /// Ready to show: msgType Update, references, next revision.
    pub message: AlertMessage,
    pub submitted_by: String,
    pub submitted_person: String,
    pub submitted_at: DateTime<Utc>,
}

impl AlertRecord {
    /// Whether `actor` is the person who submitted what waits for confirmation.
    fn same_person(
        submitted_by: Option<&str>,
        submitted_person: Option<&str>,
        actor: &Actor,
    ) -> bool {
        // Records from before persons were kept name the account only.
        submitted_person.or(submitted_by) == Some(actor.person())
            || submitted_by == Some(actor.account.as_str())
    }

    /// The tombstone that takes this alert off every screen, with the expiry bound that lets
    /// players forget it later.
    pub fn clear(&self, reason: ClearReason, at: DateTime<Utc>) -> Broadcast {
        Broadcast::Clear {
            id: self.message.id.clone(),
            reason,
            at,
            expires: self.expiry_bound,
        }
    }
}

/// The result of an applied command.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub phase: Phase,
    /// What players must be told, if anything (to be signed and published by the IO layer).
    pub broadcast: Option<Broadcast>,
}

/// All alerts and the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertLifecycle {
    policy: ConfirmationPolicy,
    alerts: BTreeMap<AlertId, AlertRecord>,
    audit: Vec<AuditEvent>,
}

impl AlertLifecycle {
    pub fn new(policy: ConfirmationPolicy) -> Self {
        Self {
            policy,
            alerts: BTreeMap::new(),
            audit: Vec::new(),
        }
    }

    /// Rebuilds the state a controller persisted (its records, one row per alert). The audit
    /// trail starts empty: the controller keeps its own durable audit log.
    pub fn restore(
        policy: ConfirmationPolicy,
        records: impl IntoIterator<Item = AlertRecord>,
    ) -> Self {
        Self {
            policy,
            alerts: records
                .into_iter()
                .map(|r| (r.message.id.clone(), r))
                .collect(),
            audit: Vec::new(),
        }
    }

    pub fn policy(&self) -> &ConfirmationPolicy {
        &self.policy
    }

    pub fn get(&self, id: &AlertId) -> Option<&AlertRecord> {
        self.alerts.get(id)
    }

    pub fn alerts(&self) -> impl Iterator<Item = &AlertRecord> {
        self.alerts.values()
    }

    /// The alerts screens must show now (what a (re)connecting player gets first).
    pub fn live(&self, now: DateTime<Utc>) -> Vec<&AlertMessage> {
        self.alerts
            .values()
            .filter(|r| r.phase.is_live() && r.message.cap.expires().is_none_or(|e| now < e))
            .map(|r| &r.message)
            .collect()
    }

    /// The append-only audit trail.
    pub fn audit(&self) -> &[AuditEvent] {
        &self.audit
    }

    /// Applies `command` by `actor` at `now`. Applied or refused, one audit event is added.
    pub fn apply(
        &mut self,
        actor: &Actor,
        command: Command,
        now: DateTime<Utc>,
    ) -> Result<Transition, LifecycleError> {
        let id = command.alert_id().clone();
        let action = command.name();
        let before = self.alerts.get(&id).map(|r| r.phase);
        let drill_hint = match &command {
            Command::Draft { message } | Command::Update { message, .. } => message.is_drill(),
            _ => self.alerts.get(&id).is_some_and(|r| r.message.is_drill()),
        };
        let result = self.transition(actor, command, now);
        let outcome = match &result {
            Ok(t) => Outcome::Applied {
                from: before,
                to: t.phase,
                revision: t.phase.is_live().then(|| self.alerts[&id].message.revision),
            },
            Err(e) => Outcome::Refused {
                reason: e.to_string(),
            },
        };
        self.record(
            now,
            &actor.account,
            Some(actor.role),
            id,
            action,
            drill_hint,
            outcome,
        );
        result
    }

    /// Ends every alert whose CAP `expires` is at or before `now`; returns what to broadcast.
    pub fn expire(&mut self, now: DateTime<Utc>) -> Vec<Broadcast> {
        let due: Vec<AlertId> = self
            .alerts
            .values()
            .filter(|r| !r.phase.is_ended() && r.message.cap.expires().is_some_and(|e| e <= now))
            .map(|r| r.message.id.clone())
            .collect();
        let mut out = Vec::new();
        for id in due {
            let record = self.alerts.get_mut(&id).expect("collected above");
            let from = record.phase;
            record.phase = Phase::Expired;
            record.pending_update = None;
            let drill = record.message.is_drill();
            if from.is_live() {
                out.push(record.clear(ClearReason::Expired, now));
            }
            let outcome = Outcome::Applied {
                from: Some(from),
                to: Phase::Expired,
                revision: None,
            };
            self.record(now, "system", None, id, "expire", drill, outcome);
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        at: DateTime<Utc>,
        actor: &str,
        role: Option<Role>,
        alert: AlertId,
        action: &str,
        drill: bool,
        outcome: Outcome,
    ) {
        self.audit.push(AuditEvent {
            seq: self.audit.len() as u64 + 1,
            at,
            actor: actor.to_owned(),
            role,
            alert,
            action: action.to_owned(),
            drill,
            outcome,
        });
    }

    fn transition(
        &mut self,
        actor: &Actor,
        command: Command,
        now: DateTime<Utc>,
    ) -> Result<Transition, LifecycleError> {
        if !actor.role.may_handle_alerts() {
            return Err(LifecycleError::Forbidden {
                role: actor.role,
                action: command.name(),
            });
        }
        if let Command::Draft { message } = command {
            return self.draft(actor, *message);
        }
        let id = command.alert_id().clone();
        let policy = self.policy.clone();
        let record = self
            .alerts
            .get_mut(&id)
            .ok_or_else(|| LifecycleError::UnknownAlert(id.clone()))?;
        let wrong = |action, expected| LifecycleError::WrongPhase {
            id: id.clone(),
            phase: record.phase,
            action,
            expected,
        };
        let expired = record.message.cap.expires().is_some_and(|e| e <= now);
        match command {
            Command::Draft { .. } => unreachable!("handled above"),
            Command::Submit {
                typed_confirmation, ..
            } => {
                if record.phase != Phase::Draft {
                    return Err(wrong("submit", "in draft"));
                }
                let status = record.message.cap.status;
                if matches!(status, Status::Draft | Status::System) {
                    return Err(LifecycleError::NotDisplayable(status));
                }
                if expired {
                    return Err(LifecycleError::AlreadyExpired(id));
                }
                record.submitted_by = Some(actor.account.clone());
                record.submitted_person = Some(actor.person().to_owned());
                let issue_now = match (status, &policy) {
                    (Status::Actual, ConfirmationPolicy::TwoPerson) => false,
                    (Status::Actual, ConfirmationPolicy::SingleOperator { phrase }) => {
                        if !phrase_matches(typed_confirmation.as_deref(), phrase) {
                            record.submitted_by = None;
                            record.submitted_person = None;
                            return Err(LifecycleError::ConfirmationPhraseMismatch);
                        }
                        true
                    }
                    _ => true,
                };
                if issue_now {
                    Ok(issue(record, now))
                } else {
                    record.phase = Phase::PendingConfirmation;
                    Ok(Transition {
                        phase: record.phase,
                        broadcast: None,
                    })
                }
            }
            Command::Confirm { .. } if record.phase.is_live() => {
                let Some(pending) = &record.pending_update else {
                    return Err(wrong(
                        "confirm",
                        "pending confirmation, or live with an update pending",
                    ));
                };
                if AlertRecord::same_person(
                    Some(&pending.submitted_by),
                    Some(&pending.submitted_person),
                    actor,
                ) {
                    return Err(LifecycleError::SamePerson {
                        account: actor.account.clone(),
                    });
                }
                if pending.message.cap.expires().is_some_and(|e| e <= now) {
                    return Err(LifecycleError::AlreadyExpired(id));
                }
                let pending = record.pending_update.take().expect("checked above");
                record.submitted_by = Some(pending.submitted_by);
                record.submitted_person = Some(pending.submitted_person);
                record.confirmed_by = Some(actor.account.clone());
                Ok(apply_update(record, pending.message, now))
            }
            Command::Confirm { .. } => {
                if record.phase != Phase::PendingConfirmation {
                    return Err(wrong(
                        "confirm",
                        "pending confirmation, or live with an update pending",
                    ));
                }
                if AlertRecord::same_person(
                    record.submitted_by.as_deref(),
                    record.submitted_person.as_deref(),
                    actor,
                ) {
                    return Err(LifecycleError::SamePerson {
                        account: actor.account.clone(),
                    });
                }
                if expired {
                    return Err(LifecycleError::AlreadyExpired(id));
                }
                record.confirmed_by = Some(actor.account.clone());
                Ok(issue(record, now))
            }
            Command::Reject { .. } if record.phase.is_live() => {
                if record.pending_update.take().is_none() {
                    return Err(wrong(
                        "reject",
                        "pending confirmation, or live with an update pending",
                    ));
                }
                Ok(Transition {
                    phase: record.phase,
                    broadcast: None,
                })
            }
            Command::Reject { .. } => {
                if record.phase != Phase::PendingConfirmation {
                    return Err(wrong("reject", "pending confirmation"));
                }
                record.phase = Phase::Draft;
                record.submitted_by = None;
                record.submitted_person = None;
                Ok(Transition {
                    phase: record.phase,
                    broadcast: None,
                })
            }
            Command::Update {
                message,
                typed_confirmation,
            } => {
                if !record.phase.is_live() {
                    return Err(wrong("update", "issued or updated"));
                }
                let mut message = *message;
                let from = record.message.cap.status;
                if message.cap.status != from {
                    return Err(LifecycleError::StatusChange {
                        from,
                        to: message.cap.status,
                    });
                }
                let pending = record
                    .pending_update
                    .as_ref()
                    .map(|p| &p.message.cap.identifier);
                if record.cap_identifiers.contains(&message.cap.identifier)
                    || pending == Some(&message.cap.identifier)
                {
                    return Err(LifecycleError::IdentifierReused(message.cap.identifier));
                }
                let previous = &record.message.cap;
                let mut references = previous.references.clone();
                references.push(previous.as_reference());
                message.cap.msg_type = MsgType::Update;
                message.cap.references = references;
                cap::validate(&message.cap)?;
                message.revision = record.message.revision + 1;
                let held = match (from, &policy) {
                    (Status::Actual, ConfirmationPolicy::TwoPerson) => true,
                    (Status::Actual, ConfirmationPolicy::SingleOperator { phrase }) => {
                        if !phrase_matches(typed_confirmation.as_deref(), phrase) {
                            return Err(LifecycleError::ConfirmationPhraseMismatch);
                        }
                        false
                    }
                    _ => false,
                };
                if held {
                    // A later update replaces one still waiting: the newest is confirmed.
                    record.pending_update = Some(PendingUpdate {
                        message,
                        submitted_by: actor.account.clone(),
                        submitted_person: actor.person().to_owned(),
                        submitted_at: now,
                    });
                    return Ok(Transition {
                        phase: record.phase,
                        broadcast: None,
                    });
                }
                record.submitted_by = Some(actor.account.clone());
                record.submitted_person = Some(actor.person().to_owned());
                Ok(apply_update(record, message, now))
            }
            Command::Cancel { .. } => {
                if record.phase.is_ended() {
                    return Err(wrong("cancel", "not yet ended"));
                }
                let was_live = record.phase.is_live();
                record.phase = Phase::Cancelled;
                record.pending_update = None;
                Ok(Transition {
                    phase: record.phase,
                    broadcast: was_live.then(|| record.clear(ClearReason::Cancelled, now)),
                })
            }
            Command::AllClear { .. } => {
                if !record.phase.is_live() {
                    return Err(wrong("all_clear", "issued or updated"));
                }
                record.phase = Phase::AllClear;
                record.pending_update = None;
                Ok(Transition {
                    phase: record.phase,
                    broadcast: Some(record.clear(ClearReason::AllClear, now)),
                })
            }
        }
    }

    fn draft(
        &mut self,
        actor: &Actor,
        message: AlertMessage,
    ) -> Result<Transition, LifecycleError> {
        if self.alerts.contains_key(&message.id) {
            return Err(LifecycleError::DuplicateId(message.id));
        }
        if message.cap.msg_type != MsgType::Alert {
            return Err(LifecycleError::NotAnAlert(message.cap.msg_type));
        }
        cap::validate(&message.cap)?;
        let record = AlertRecord {
            cap_identifiers: Vec::new(),
            expiry_bound: None,
            message,
            phase: Phase::Draft,
            drafted_by: actor.account.clone(),
            submitted_by: None,
            submitted_person: None,
            confirmed_by: None,
            pending_update: None,
        };
        self.alerts.insert(record.message.id.clone(), record);
        Ok(Transition {
            phase: Phase::Draft,
            broadcast: None,
        })
    }
}

fn phrase_matches(typed: Option<&str>, phrase: &str) -> bool {
    typed.map(str::trim) == Some(phrase.trim())
}

/// Puts an update (already checked, with its references and revision) on screens.
fn apply_update(
    record: &mut AlertRecord,
    mut message: AlertMessage,
    now: DateTime<Utc>,
) -> Transition {
    message.issued_at = now;
    record.expiry_bound = record
        .expiry_bound
        .zip(message.cap.expires())
        .map(|(a, b)| a.max(b));
    record.cap_identifiers.push(message.cap.identifier.clone());
    record.message = message;
    record.phase = Phase::Updated;
    Transition {
        phase: record.phase,
        broadcast: Some(Broadcast::Show(Box::new(record.message.clone()))),
    }
}

fn issue(record: &mut AlertRecord, now: DateTime<Utc>) -> Transition {
    record.phase = Phase::Issued;
    record.message.revision = 1;
    record.message.issued_at = now;
    record.expiry_bound = record.message.cap.expires();
    record
        .cap_identifiers
        .push(record.message.cap.identifier.clone());
    Transition {
        phase: record.phase,
        broadcast: Some(Broadcast::Show(Box::new(record.message.clone()))),
    }
}

//! Approval of content changes (`content.approval`, on by default): a `pr` account's writes
//! collect in its open change instead of the live set; it submits the change, and an
//! approver (or admin) approves it, written to the live set in one transaction, or sends it
//! back with a comment. Approvers and admins write to the live set directly. Emergency
//! alerts never pass through here.
//!
//! Every write is checked on the whole set it would produce, here the live set with the
//! author's change applied, and again at approval on the live set as it is then.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use content::changes::{Change, Object, ObjectRef, screen_changes};
use content::schedule_set::ScheduleSetParts;
use serde_json::{Value, json};

use super::{bad_request, check_set};
use crate::auth::{self, Caller, Role};
use crate::http::{ApiError, AppState};
use crate::store::drafts::{ChangeRecord, ChangeState};

/// Decided changes listed after the open ones.
const DECIDED_LISTED: u32 = 50;
/// Longest note or comment.
const MAX_WORDS: usize = 2000;

/// The content set as a caller sees and edits it.
pub(super) struct View {
    /// The live set, or for a proposer the live set with their open change applied.
    pub parts: ScheduleSetParts,
    pub has_fallback: bool,
    /// A proposer's open change (new and empty when they have none yet).
    pub change: Option<Proposal>,
}

/// A proposer's open change and the live set it applies to.
pub(super) struct Proposal {
    pub record: ChangeRecord,
    pub live: ScheduleSetParts,
}

impl View {
    pub async fn of(state: &AppState, caller: &Caller) -> Result<View, ApiError> {
        let (live, has_fallback) = state
            .store
            .schedule_parts()
            .await
            .map_err(ApiError::internal)?;
        if !(state.content_approval && caller.role == Role::Pr) {
            return Ok(View {
                parts: live,
                has_fallback,
                change: None,
            });
        }
        let change = match state
            .store
            .open_change(&caller.account)
            .await
            .map_err(ApiError::internal)?
        {
            Some(change) => change,
            None => ChangeRecord::new(
                format!("change-{}", &crate::broker::random_token()[..12]),
                &caller.account,
                Utc::now(),
            ),
        };
        Ok(View {
            parts: change.draft.apply(&live),
            has_fallback: has_fallback || change.draft.sets_fallback(),
            change: Some(Proposal {
                record: change,
                live,
            }),
        })
    }

    /// How `caller`'s pending change treats `target`: "new", "edited", "deleted" or none.
    pub fn pending(&self, target: &ObjectRef) -> Option<&'static str> {
        let proposal = self.change.as_ref()?;
        proposal
            .record
            .draft
            .changes()
            .iter()
            .find(|c| c.target().as_ref() == Some(target))
            .map(|c| match c {
                Change::Delete { .. } => "deleted",
                _ if Object::find(&proposal.live, target).is_some() => "edited",
                _ => "new",
            })
    }
}

/// Records `change` in the proposer's open change (the caller holds the content-write lock
/// and has checked the set it produces); answers 202 with `body` and the change's id.
pub(super) async fn propose(
    state: &AppState,
    caller: &Caller,
    view: View,
    change: Change,
    action: &str,
    body: Value,
) -> Result<Response, ApiError> {
    let Proposal { mut record, live } = view.change.expect("a proposer's view has a change");
    let target = change
        .target()
        .map_or_else(|| "fallback".to_string(), |t| t.id);
    record.draft.record(change, &live);
    // An edit after submission takes the change back to its author: the approver must see
    // the change as it will be applied.
    if record.state == ChangeState::Submitted {
        record.state = ChangeState::Draft;
    }
    record.revision += 1;
    record.updated_at = Utc::now();
    state
        .store
        .save_change(&record)
        .await
        .map_err(ApiError::internal)?;
    caller
        .audit(
            &state.store,
            action,
            Some(&target),
            "proposed",
            Some(json!({ "change": record.id })),
        )
        .await;
    let mut response = (StatusCode::ACCEPTED, Json(body)).into_response();
    if let Ok(value) = axum::http::HeaderValue::from_str(&record.id) {
        response.headers_mut().insert("x-pending-change", value);
    }
    Ok(response)
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, format!("no content change {id:?}"))
}

/// The change `id`, if the caller may see it: approvers and admins see every change, a
/// proposer only their own.
async fn visible(state: &AppState, caller: &Caller, id: &str) -> Result<ChangeRecord, ApiError> {
    let change = state
        .store
        .change(id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| not_found(id))?;
    if auth::APPROVE.contains(&caller.role) || change.author == caller.account {
        Ok(change)
    } else {
        Err(not_found(id))
    }
}

fn summary(change: &ChangeRecord) -> Value {
    json!({
        "id": change.id,
        "author": change.author,
        "state": change.state,
        "revision": change.revision,
        "note": change.note,
        "comment": change.comment,
        "created_at": change.created_at,
        "updated_at": change.updated_at,
        "decided_by": change.decided_by,
        "decided_at": change.decided_at,
        "changes": change.draft.changes().len(),
    })
}

/// `GET /api/v1/changes`: open changes, then recently decided ones.
pub(super) async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Value>>, ApiError> {
    caller.require(auth::CONTENT)?;
    let all = state
        .store
        .changes(DECIDED_LISTED)
        .await
        .map_err(ApiError::internal)?;
    let approver = auth::APPROVE.contains(&caller.role);
    Ok(Json(
        all.iter()
            .filter(|c| approver || c.author == caller.account)
            .filter(|c| !c.draft.is_empty() || !c.state.is_open())
            .map(summary)
            .collect(),
    ))
}

/// The name staff know an object by.
fn title_of(parts: &ScheduleSetParts, r: &ObjectRef) -> String {
    match Object::find(parts, r) {
        Some(Object::Asset(a)) if !a.meta.title.is_empty() => a.meta.title,
        _ => r.id.clone(),
    }
}

/// `GET /api/v1/changes/{id}`: each change with the object before and after, what each
/// screen would gain, lose or see edited, and why approval would be refused now, if it would.
pub(super) async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(auth::CONTENT)?;
    let change = visible(&state, &caller, &id).await?;
    let (live, has_fallback) = state
        .store
        .schedule_parts()
        .await
        .map_err(ApiError::internal)?;
    let after = change.draft.apply(&live);
    let items: Vec<Value> = change
        .draft
        .changes()
        .iter()
        .map(|c| match c.target() {
            Some(target) => json!({
                "op": if matches!(c, Change::Delete { .. }) { "delete" } else { "put" },
                "kind": target.kind,
                "id": target.id,
                "title": title_of(
                    if Object::find(&after, &target).is_some() { &after } else { &live },
                    &target,
                ),
                "before": Object::find(&live, &target),
                "after": Object::find(&after, &target),
            }),
            None => json!({
                "op": "fallback",
                "kind": "fallback",
                "id": after.fallback_layout,
                "title": after.fallback_layout,
                "before": has_fallback.then_some(&live.fallback_layout),
                "after": after.fallback_layout,
            }),
        })
        .collect();
    let players = state
        .store
        .player_targets()
        .await
        .map_err(ApiError::internal)?;
    let named = |parts: &ScheduleSetParts, list: &[ObjectRef]| -> Vec<Value> {
        list.iter()
            .map(|r| json!({ "kind": r.kind, "id": r.id, "title": title_of(parts, r) }))
            .collect()
    };
    let screens: Vec<Value> = screen_changes(&live, &after, &players, Utc::now())
        .iter()
        .map(|s| {
            let ward = players
                .iter()
                .find(|p| p.id == s.player)
                .map(|p| p.ward.clone());
            json!({
                "player": s.player,
                "ward": ward,
                "added": named(&after, &s.added),
                "removed": named(&live, &s.removed),
                "changed": named(&after, &s.changed),
            })
        })
        .collect();
    let problems = match check_set(after, has_fallback || change.draft.sets_fallback()) {
        Ok(()) => Value::Null,
        Err(e) => json!(e.message()),
    };
    let mut value = summary(&change);
    value["items"] = items.into();
    value["screens"] = screens.into();
    value["problems"] = problems;
    Ok(Json(value))
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct Step {
    /// The revision the approver saw (approve, send back).
    revision: Option<u64>,
    /// The author's note (submit), the approver's comment (approve, send back).
    #[serde(alias = "note")]
    comment: Option<String>,
}

fn step_of(body: &Bytes) -> Result<Step, ApiError> {
    if body.is_empty() {
        return Ok(Step::default());
    }
    let step: Step = serde_json::from_slice(body).map_err(|e| {
        bad_request(format!(
            "send {{\"revision\": <the change's revision>, \"comment\": \"...\"}}: {e}"
        ))
    })?;
    if step
        .comment
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_WORDS)
    {
        return Err(bad_request(format!(
            "a comment has at most {MAX_WORDS} characters"
        )));
    }
    Ok(step)
}

fn conflict(message: String) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, message)
}

fn state_is(change: &ChangeRecord, allowed: &[ChangeState], doing: &str) -> Result<(), ApiError> {
    if allowed.contains(&change.state) {
        Ok(())
    } else {
        Err(conflict(format!(
            "the change {} is {}; it cannot be {doing} now",
            change.id,
            change.state.as_str()
        )))
    }
}

/// The change `id` under the content-write lock, if the caller may see it and it is in one of
/// the `allowed` states.
async fn take<'a>(
    state: &'a AppState,
    caller: &Caller,
    id: &str,
    allowed: &[ChangeState],
    doing: &str,
) -> Result<(tokio::sync::MutexGuard<'a, ()>, ChangeRecord), ApiError> {
    let writing = state.content_writes.lock().await;
    let change = visible(state, caller, id).await?;
    state_is(&change, allowed, doing)?;
    Ok((writing, change))
}

fn seen(change: &ChangeRecord, step: &Step) -> Result<u64, ApiError> {
    let revision = step.revision.ok_or_else(|| {
        bad_request(
            "give the revision you reviewed: {\"revision\": N} from GET /api/v1/changes/{id}",
        )
    })?;
    if revision != change.revision {
        return Err(conflict(format!(
            "the change {} was edited since you reviewed it (revision {revision}, now {}); review it again",
            change.id, change.revision
        )));
    }
    Ok(revision)
}

async fn finish(
    state: &AppState,
    caller: &Caller,
    mut change: ChangeRecord,
    to: ChangeState,
    comment: Option<String>,
    action: &str,
) -> Result<Json<Value>, ApiError> {
    let now = Utc::now();
    change.state = to;
    change.revision += 1;
    change.updated_at = now;
    match to {
        ChangeState::Submitted => change.note = comment,
        ChangeState::Returned => {
            change.comment = comment;
            change.decided_by = Some(caller.account.clone());
            change.decided_at = Some(now);
        }
        _ => {}
    }
    state
        .store
        .save_change(&change)
        .await
        .map_err(ApiError::internal)?;
    caller
        .audit(
            &state.store,
            action,
            Some(&change.id),
            "ok",
            Some(json!({ "author": change.author, "changes": change.draft.changes().len() })),
        )
        .await;
    Ok(Json(summary(&change)))
}

fn own(caller: &Caller, change: &ChangeRecord) -> Result<(), ApiError> {
    if change.author == caller.account {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("only {} may submit or withdraw their change", change.author),
        ))
    }
}

/// `POST /api/v1/changes/{id}/submit`: the author asks for approval (`note` optional).
pub(super) async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    caller.require(auth::CONTENT)?;
    let step = step_of(&body)?;
    let editable = [ChangeState::Draft, ChangeState::Returned];
    let (_writing, change) = take(&state, &caller, &id, &editable, "submitted").await?;
    own(&caller, &change)?;
    if change.draft.is_empty() {
        return Err(bad_request(
            "the change is empty: there is nothing to approve",
        ));
    }
    finish(
        &state,
        &caller,
        change,
        ChangeState::Submitted,
        step.comment,
        "change.submit",
    )
    .await
}

/// `POST /api/v1/changes/{id}/withdraw`: the author discards the change.
pub(super) async fn withdraw(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(auth::CONTENT)?;
    let open = [
        ChangeState::Draft,
        ChangeState::Submitted,
        ChangeState::Returned,
    ];
    let (_writing, change) = take(&state, &caller, &id, &open, "withdrawn").await?;
    own(&caller, &change)?;
    finish(
        &state,
        &caller,
        change,
        ChangeState::Withdrawn,
        None,
        "change.withdraw",
    )
    .await
}

/// `POST /api/v1/changes/{id}/return`: an approver sends the change back with a comment.
pub(super) async fn send_back(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    caller.require(auth::APPROVE)?;
    let step = step_of(&body)?;
    let submitted = [ChangeState::Submitted];
    let (_writing, change) = take(&state, &caller, &id, &submitted, "sent back").await?;
    seen(&change, &step)?;
    let comment = step
        .comment
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| bad_request("say what to change: {\"comment\": \"...\"}"))?;
    finish(
        &state,
        &caller,
        change,
        ChangeState::Returned,
        Some(comment),
        "change.return",
    )
    .await
}

/// `POST /api/v1/changes/{id}/approve`: an approver approves the revision they reviewed; it
/// reaches players at once. Refused, naming the problems, when the live set moved on so that
/// the change no longer fits.
pub(super) async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    caller.require(auth::APPROVE)?;
    let step = step_of(&body)?;
    let submitted = [ChangeState::Submitted];
    let (_writing, mut change) = take(&state, &caller, &id, &submitted, "approved").await?;
    let revision = seen(&change, &step)?;
    let (live, has_fallback) = state
        .store
        .schedule_parts()
        .await
        .map_err(ApiError::internal)?;
    if let Err(refused) = check_set(
        change.draft.apply(&live),
        has_fallback || change.draft.sets_fallback(),
    ) {
        caller
            .audit(
                &state.store,
                "change.approve",
                Some(&change.id),
                "refused",
                Some(json!({ "problems": refused.message() })),
            )
            .await;
        return Err(conflict(format!(
            "the live content changed since this was proposed: {}; send it back to its author",
            refused.message()
        )));
    }
    change.comment = step.comment;
    change.decided_by = Some(caller.account.clone());
    if !state
        .store
        .approve_change(&change, revision)
        .await
        .map_err(ApiError::internal)?
    {
        return Err(conflict(format!(
            "the change {id} moved on while it was being approved; review it again"
        )));
    }
    caller
        .audit(
            &state.store,
            "change.approve",
            Some(&change.id),
            "ok",
            Some(json!({ "author": change.author, "changes": change.draft.changes().len() })),
        )
        .await;
    let approved = visible(&state, &caller, &id).await?;
    Ok(Json(summary(&approved)))
}

/// The live set with the change `id` applied, and whether it has a fallback layout, for a
/// caller who may see that change (previews of a screen as it would be once approved).
pub async fn with_change(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(ScheduleSetParts, bool), ApiError> {
    let change = visible(state, caller, id).await?;
    let (live, has_fallback) = state
        .store
        .schedule_parts()
        .await
        .map_err(ApiError::internal)?;
    Ok((
        change.draft.apply(&live),
        has_fallback || change.draft.sets_fallback(),
    ))
}

//! Content changes by `pr` accounts that wait for an approver: one open change per author
//! (a draft, submitted, or sent back), kept after approval or withdrawal as a record.

use chrono::{DateTime, Utc};
use content::changes::Draft;
use serde::Serialize;
use sqlx::Row;

use super::catalog::{bump_revision, write_change};
use super::{Result, Store, StoreError, parse_time};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeState {
    /// Being edited by its author.
    Draft,
    /// Waiting for an approver.
    Submitted,
    /// Sent back with a comment; its author edits and submits it again.
    Returned,
    Approved,
    /// Discarded by its author.
    Withdrawn,
}

impl ChangeState {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeState::Draft => "draft",
            ChangeState::Submitted => "submitted",
            ChangeState::Returned => "returned",
            ChangeState::Approved => "approved",
            ChangeState::Withdrawn => "withdrawn",
        }
    }

    fn parse(text: &str) -> Result<ChangeState> {
        Ok(match text {
            "draft" => ChangeState::Draft,
            "submitted" => ChangeState::Submitted,
            "returned" => ChangeState::Returned,
            "approved" => ChangeState::Approved,
            "withdrawn" => ChangeState::Withdrawn,
            _ => return Err(StoreError::Corrupt(format!("change state {text:?}"))),
        })
    }

    /// Still open: its author's edits collect in it.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            ChangeState::Draft | ChangeState::Submitted | ChangeState::Returned
        )
    }
}

const OPEN: &str = "('draft', 'submitted', 'returned')";

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ChangeRecord {
    pub id: String,
    pub author: String,
    pub state: ChangeState,
    pub draft: Draft,
    /// Grows with every edit and step, so an approver approves what they saw.
    pub revision: u64,
    /// The author's words for the approver.
    pub note: Option<String>,
    /// The approver's words when sending back or approving.
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
}

impl ChangeRecord {
    pub fn new(id: String, author: &str, now: DateTime<Utc>) -> ChangeRecord {
        ChangeRecord {
            id,
            author: author.to_string(),
            state: ChangeState::Draft,
            draft: Draft::default(),
            revision: 0,
            note: None,
            comment: None,
            created_at: now,
            updated_at: now,
            decided_by: None,
            decided_at: None,
        }
    }
}

const COLUMNS: &str = "id, author, state, changes, revision, note, comment, created_at, updated_at, decided_by, decided_at";

fn record(row: &sqlx::sqlite::SqliteRow) -> Result<ChangeRecord> {
    let time = |name: &str| -> Result<DateTime<Utc>> {
        parse_time(Some(row.get::<String, _>(name))).map(|t| t.expect("a value was given"))
    };
    let changes: String = row.get("changes");
    Ok(ChangeRecord {
        id: row.get("id"),
        author: row.get("author"),
        state: ChangeState::parse(&row.get::<String, _>("state"))?,
        draft: serde_json::from_str(&changes)
            .map_err(|e| StoreError::Corrupt(format!("content change: {e}")))?,
        revision: row.get::<i64, _>("revision") as u64,
        note: row.get("note"),
        comment: row.get("comment"),
        created_at: time("created_at")?,
        updated_at: time("updated_at")?,
        decided_by: row.get("decided_by"),
        decided_at: parse_time(row.get("decided_at"))?,
    })
}

impl Store {
    /// `author`'s open change, if any.
    pub async fn open_change(&self, author: &str) -> Result<Option<ChangeRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM content_changes WHERE author = $1 AND state IN {OPEN}"
        ))
        .bind(author)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(record).transpose()
    }

    pub async fn change(&self, id: &str) -> Result<Option<ChangeRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM content_changes WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(record).transpose()
    }

    /// Every open change, then the `decided` most recently decided, newest first.
    pub async fn changes(&self, decided: u32) -> Result<Vec<ChangeRecord>> {
        let open = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM content_changes WHERE state IN {OPEN} ORDER BY updated_at DESC"
        ))
        .fetch_all(&self.pool)
        .await?;
        let closed = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM content_changes WHERE state NOT IN {OPEN}
             ORDER BY updated_at DESC LIMIT $1"
        ))
        .bind(i64::from(decided))
        .fetch_all(&self.pool)
        .await?;
        open.iter().chain(&closed).map(record).collect()
    }

    /// Stores `change` as given (callers hold the content-write lock and bump `revision`).
    pub async fn save_change(&self, change: &ChangeRecord) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO content_changes ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (id) DO UPDATE SET state = excluded.state, changes = excluded.changes,
               revision = excluded.revision, note = excluded.note, comment = excluded.comment,
               updated_at = excluded.updated_at, decided_by = excluded.decided_by,
               decided_at = excluded.decided_at"
        ))
        .bind(&change.id)
        .bind(&change.author)
        .bind(change.state.as_str())
        .bind(serde_json::to_string(&change.draft).expect("drafts serialise"))
        .bind(change.revision as i64)
        .bind(&change.note)
        .bind(&change.comment)
        .bind(change.created_at.to_rfc3339())
        .bind(change.updated_at.to_rfc3339())
        .bind(&change.decided_by)
        .bind(change.decided_at.map(|t| t.to_rfc3339()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Writes every change of `approved` (its draft as seen at `seen_revision`) to the live
    /// set and records the decision, in one transaction: players see all of it or none.
    /// Returns false, writing nothing, when the change moved on since the approver saw it.
    pub async fn approve_change(
        &self,
        approved: &ChangeRecord,
        seen_revision: u64,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        bump_revision(&mut tx).await?;
        let done = sqlx::query(
            "UPDATE content_changes SET state = 'approved', revision = revision + 1,
               comment = $1, updated_at = $2, decided_by = $3, decided_at = $2
             WHERE id = $4 AND revision = $5 AND state = 'submitted'",
        )
        .bind(&approved.comment)
        .bind(Utc::now().to_rfc3339())
        .bind(&approved.decided_by)
        .bind(&approved.id)
        .bind(seen_revision as i64)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        for change in approved.draft.changes() {
            write_change(&mut tx, change).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// SHA-256 of every file an open change's assets use.
    pub async fn files_of_open_changes(&self) -> Result<Vec<String>> {
        let bodies: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT changes FROM content_changes WHERE state IN {OPEN}"
        ))
        .fetch_all(&self.pool)
        .await?;
        let mut files = Vec::new();
        for body in bodies {
            let draft: Draft = serde_json::from_str(&body)
                .map_err(|e| StoreError::Corrupt(format!("content change: {e}")))?;
            files.extend(draft.files().map(ToString::to_string));
        }
        Ok(files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use content::changes::{Change, Object, ObjectKind, ObjectRef};
    use content::playlist::{Playlist, PlaylistItem};

    fn playlist(id: &str, asset: &str) -> Change {
        Change::Put {
            object: Object::Playlist(Playlist {
                id: id.into(),
                items: vec![PlaylistItem {
                    asset: asset.into(),
                    duration_ms: None,
                }],
            }),
        }
    }

    #[tokio::test]
    async fn an_approval_writes_every_change_at_once_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        store
            .put_object(
                ObjectKind::Playlist,
                "old",
                &serde_json::json!({"id": "old", "items": []}),
                false,
            )
            .await
            .unwrap();
        let (live, _) = store.schedule_parts().await.unwrap();
        let mut change = ChangeRecord::new("change-1".into(), "hirota", Utc::now());
        change.draft.record(playlist("a", "x"), &live);
        change.draft.record(playlist("b", "y"), &live);
        change.draft.record(
            Change::Delete {
                target: ObjectRef {
                    kind: ObjectKind::Playlist,
                    id: "old".into(),
                },
            },
            &live,
        );
        change.state = ChangeState::Submitted;
        change.revision = 3;
        store.save_change(&change).await.unwrap();
        assert_eq!(
            store.open_change("hirota").await.unwrap(),
            Some(change.clone())
        );
        let before = store.content_revision().await.unwrap();

        // A stale revision writes nothing.
        assert!(!store.approve_change(&change, 2).await.unwrap());
        let (unchanged, _) = store.schedule_parts().await.unwrap();
        assert_eq!(unchanged, live);
        assert_eq!(store.content_revision().await.unwrap(), before);

        change.decided_by = Some("kacho".into());
        assert!(store.approve_change(&change, 3).await.unwrap());
        let (after, _) = store.schedule_parts().await.unwrap();
        let ids: Vec<&str> = after.playlists.iter().map(|p| p.id.0.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(store.content_revision().await.unwrap(), before + 1);
        let decided = store.change("change-1").await.unwrap().unwrap();
        assert_eq!(decided.state, ChangeState::Approved);
        assert_eq!(decided.decided_by.as_deref(), Some("kacho"));
        assert_eq!(store.open_change("hirota").await.unwrap(), None);
        // Approved once: a second approval finds nothing submitted.
        assert!(!store.approve_change(&change, 4).await.unwrap());
    }
}

//! Documents taken from feeds and relays (JMA XML, CAP, L-Alert), the JMA events they drive,
//! and the polled feeds' state. Same portable SQL rules as the parent module.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{Result, Store, parse_time};

fn text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// One document and what was decided about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntakeDocument {
    pub digest: String,
    /// `jma`, `cap` or `l-alert`.
    pub source: String,
    pub received_at: DateTime<Utc>,
    /// Who delivered it: a feed URL, or the API caller.
    pub caller: String,
    pub event_key: Option<String>,
    pub reported_at: Option<DateTime<Utc>>,
    pub decision: String,
    pub reason: String,
    pub alert_id: Option<String>,
    pub content_type: String,
    /// Empty when the document changed nothing (only its digest and decision are kept).
    #[serde(skip)]
    pub body: String,
}

/// The last applied document of a JMA event.
#[derive(Debug, Clone, PartialEq)]
pub struct JmaEvent {
    pub alert_id: String,
    pub reported_at: DateTime<Utc>,
    pub serial: Option<String>,
}

/// A polled feed's validators for conditional requests.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedState {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

fn document(row: sqlx::sqlite::SqliteRow) -> Result<IntakeDocument> {
    Ok(IntakeDocument {
        digest: row.try_get("digest")?,
        source: row.try_get("source")?,
        received_at: parse_time(Some(row.try_get("received_at")?))?.expect("Some in, Some out"),
        caller: row.try_get("caller")?,
        event_key: row.try_get("event_key")?,
        reported_at: parse_time(row.try_get("reported_at")?)?,
        decision: row.try_get("decision")?,
        reason: row.try_get("reason")?,
        alert_id: row.try_get("alert_id")?,
        content_type: row.try_get("content_type")?,
        body: row.try_get("body")?,
    })
}

const COLUMNS: &str = "digest, source, received_at, caller, event_key, reported_at, decision, reason, alert_id, content_type, body";

impl Store {
    /// The document with this digest, if it was taken before.
    pub async fn intake_document(&self, digest: &str) -> Result<Option<IntakeDocument>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM intake_documents WHERE digest = $1"
        ))
        .bind(digest)
        .fetch_optional(&self.pool)
        .await?;
        row.map(document).transpose()
    }

    /// The documents that touched an alert, oldest first.
    pub async fn alert_documents(&self, alert_id: &str) -> Result<Vec<IntakeDocument>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM intake_documents WHERE alert_id = $1 ORDER BY received_at"
        ))
        .bind(alert_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(document).collect()
    }

    /// Records a document and, when it was applied to a JMA event, the event's new state; in
    /// one transaction, so a document is either taken with its effect or not at all.
    pub async fn record_intake(
        &self,
        doc: &IntakeDocument,
        event: Option<(&str, &JmaEvent)>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO intake_documents ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (digest) DO NOTHING"
        ))
        .bind(&doc.digest)
        .bind(&doc.source)
        .bind(text(doc.received_at))
        .bind(&doc.caller)
        .bind(&doc.event_key)
        .bind(doc.reported_at.map(text))
        .bind(&doc.decision)
        .bind(&doc.reason)
        .bind(&doc.alert_id)
        .bind(&doc.content_type)
        .bind(&doc.body)
        .execute(&mut *tx)
        .await?;
        if let Some((key, e)) = event {
            sqlx::query(
                "INSERT INTO jma_events (event_key, alert_id, reported_at, serial) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (event_key) DO UPDATE SET alert_id = excluded.alert_id,
                     reported_at = excluded.reported_at, serial = excluded.serial",
            )
            .bind(key)
            .bind(&e.alert_id)
            .bind(text(e.reported_at))
            .bind(&e.serial)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn jma_event(&self, key: &str) -> Result<Option<JmaEvent>> {
        let row = sqlx::query(
            "SELECT alert_id, reported_at, serial FROM jma_events WHERE event_key = $1",
        )
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(JmaEvent {
                alert_id: row.try_get("alert_id")?,
                reported_at: parse_time(Some(row.try_get("reported_at")?))?
                    .expect("Some in, Some out"),
                serial: row.try_get("serial")?,
            })
        })
        .transpose()
    }

    pub async fn feed_state(&self, url: &str) -> Result<FeedState> {
        let row = sqlx::query("SELECT etag, last_modified FROM feed_state WHERE url = $1")
            .bind(url)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => FeedState {
                etag: row.try_get("etag")?,
                last_modified: row.try_get("last_modified")?,
            },
            None => FeedState::default(),
        })
    }

    pub async fn save_feed_state(&self, url: &str, state: &FeedState) -> Result<()> {
        sqlx::query(
            "INSERT INTO feed_state (url, etag, last_modified, checked_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (url) DO UPDATE SET etag = excluded.etag,
                 last_modified = excluded.last_modified, checked_at = excluded.checked_at",
        )
        .bind(url)
        .bind(&state.etag)
        .bind(&state.last_modified)
        .bind(text(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether this version of a feed entry was taken already.
    pub async fn feed_entry_taken(&self, url: &str, id: &str, updated: &str) -> Result<bool> {
        let row = sqlx::query(
            "SELECT 1 AS one FROM feed_entries WHERE url = $1 AND entry_id = $2 AND updated = $3",
        )
        .bind(url)
        .bind(id)
        .bind(updated)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    pub async fn take_feed_entry(&self, url: &str, id: &str, updated: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO feed_entries (url, entry_id, updated, taken_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (url, entry_id, updated) DO NOTHING",
        )
        .bind(url)
        .bind(id)
        .bind(updated)
        .bind(text(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets feed entries taken before `before` (feeds drop them within hours; the
    /// documents themselves stay known by digest).
    pub async fn forget_feed_entries(&self, before: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query("DELETE FROM feed_entries WHERE taken_at < $1")
            .bind(text(before))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

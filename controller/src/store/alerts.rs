//! Alerts: one row per alert (the lifecycle's record as JSON) and each player's latest
//! acknowledgement. Same portable SQL rules as the parent module.

use alerts::lifecycle::AlertRecord;
use chrono::{DateTime, SecondsFormat, Utc};
use content::protocol::{AlertAck, AlertAckState, PlayerId};
use sqlx::Row;

use super::{Result, Store, StoreError, parse_time};

fn key(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Rows per acknowledgement INSERT: 8 parameters each stays far below SQLite's 32,766 (and
/// PostgreSQL's 65,535) parameters per statement.
const ACK_ROWS_PER_STATEMENT: usize = 500;

/// A player's latest acknowledgement of one alert.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoredAck {
    pub player: String,
    pub revision: u32,
    pub state: AlertAckState,
    pub displayed_at: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
    /// When the controller received it (unknown for acknowledgements stored before 22).
    pub received_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

fn state_name(state: AlertAckState) -> &'static str {
    match state {
        AlertAckState::Showing => "showing",
        AlertAckState::Failed => "failed",
        AlertAckState::Cleared => "cleared",
    }
}

impl Store {
    /// Inserts or replaces an alert's record (several records in one transaction).
    pub async fn save_alerts(&self, records: &[&AlertRecord]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let now = key(Utc::now());
        for record in records {
            let body = serde_json::to_string(record).expect("records serialise");
            let phase = serde_json::to_value(record.phase).expect("phases serialise");
            sqlx::query(
                "INSERT INTO alerts (id, record, phase, updated_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (id) DO UPDATE SET record = excluded.record,
                     phase = excluded.phase, updated_at = excluded.updated_at",
            )
            .bind(record.message.id.0.as_str())
            .bind(body)
            .bind(phase.as_str().unwrap_or_default())
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every alert record with when it last changed.
    pub async fn alert_records(&self) -> Result<Vec<(AlertRecord, DateTime<Utc>)>> {
        let rows = sqlx::query("SELECT id, record, updated_at FROM alerts ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(|row| {
                let id: String = row.try_get("id")?;
                let record: String = row.try_get("record")?;
                let record = serde_json::from_str(&record)
                    .map_err(|e| StoreError::Corrupt(format!("alert {id}: {e}")))?;
                let at = parse_time(Some(row.try_get("updated_at")?))?.expect("Some in, Some out");
                Ok((record, at))
            })
            .collect()
    }

    /// Keeps each player's acknowledgement unless a newer revision's is already stored.
    /// `acks` are (player, acknowledgement, when the controller received it), in arrival order.
    /// One multi-row statement per few hundred acknowledgements: a fleet answering an alert
    /// at once costs a handful of statements, not one round trip to the database each.
    pub async fn record_alert_acks(
        &self,
        acks: &[(PlayerId, AlertAck, DateTime<Utc>)],
    ) -> Result<()> {
        // One row per (alert, player), the last of the newest revision (a statement may not
        // upsert the same row twice in PostgreSQL).
        let mut newest = std::collections::HashMap::new();
        for entry @ (player, ack, _) in acks {
            newest
                .entry((&ack.alert, player))
                .and_modify(|held: &mut &(PlayerId, AlertAck, DateTime<Utc>)| {
                    if ack.revision >= held.1.revision {
                        *held = entry;
                    }
                })
                .or_insert(entry);
        }
        let latest: Vec<_> = newest.into_values().collect();
        let mut tx = self.pool.begin().await?;
        for chunk in latest.chunks(ACK_ROWS_PER_STATEMENT) {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO alert_acks (alert_id, player_id, revision, state, displayed_at, at, \
                 error, received_at) ",
            );
            insert.push_values(chunk, |mut row, (player, ack, received_at)| {
                row.push_bind(ack.alert.0.as_str())
                    .push_bind(player.as_str())
                    .push_bind(i64::from(ack.revision))
                    .push_bind(state_name(ack.state))
                    .push_bind(ack.displayed_at.map(key))
                    .push_bind(key(ack.at))
                    .push_bind(ack.error.as_deref())
                    .push_bind(key(*received_at));
            });
            insert.push(
                " ON CONFLICT (alert_id, player_id) DO UPDATE SET revision = excluded.revision,
                     state = excluded.state, displayed_at = excluded.displayed_at,
                     at = excluded.at, error = excluded.error, received_at = excluded.received_at
                 WHERE excluded.revision >= alert_acks.revision",
            );
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn alert_acks(&self, alert: &str) -> Result<Vec<StoredAck>> {
        let rows = sqlx::query(
            "SELECT player_id, revision, state, displayed_at, at, error, received_at FROM alert_acks
             WHERE alert_id = $1 ORDER BY player_id",
        )
        .bind(alert)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                let state: String = row.try_get("state")?;
                let state = match state.as_str() {
                    "showing" => AlertAckState::Showing,
                    "failed" => AlertAckState::Failed,
                    "cleared" => AlertAckState::Cleared,
                    other => return Err(StoreError::Corrupt(format!("ack state {other:?}"))),
                };
                Ok(StoredAck {
                    player: row.try_get("player_id")?,
                    revision: row.try_get::<i64, _>("revision")? as u32,
                    state,
                    displayed_at: parse_time(row.try_get("displayed_at")?)?,
                    at: parse_time(Some(row.try_get("at")?))?.expect("Some in, Some out"),
                    received_at: parse_time(row.try_get("received_at")?)?,
                    error: row.try_get("error")?,
                })
            })
            .collect()
    }
}

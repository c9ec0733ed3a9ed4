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
    /// `acks` are (player, acknowledgement, when the controller received it).
    pub async fn record_alert_acks(
        &self,
        acks: &[(PlayerId, AlertAck, DateTime<Utc>)],
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for (player, ack, received_at) in acks {
            sqlx::query(
                "INSERT INTO alert_acks (alert_id, player_id, revision, state, displayed_at, at, error,
                     received_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (alert_id, player_id) DO UPDATE SET revision = excluded.revision,
                     state = excluded.state, displayed_at = excluded.displayed_at,
                     at = excluded.at, error = excluded.error, received_at = excluded.received_at
                 WHERE excluded.revision >= alert_acks.revision",
            )
            .bind(ack.alert.0.as_str())
            .bind(player.as_str())
            .bind(i64::from(ack.revision))
            .bind(state_name(ack.state))
            .bind(ack.displayed_at.map(key))
            .bind(key(ack.at))
            .bind(&ack.error)
            .bind(key(*received_at))
            .execute(&mut *tx)
            .await?;
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

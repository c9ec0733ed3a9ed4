//! People counts from the players' cameras: one row per (player, seq), stored once however
//! often a record arrives. Same portable SQL rules as the parent module.

use chrono::{DateTime, SecondsFormat, Utc};
use content::protocol::{CountsRecord, PlayerId};
use sqlx::Row;

use super::{Result, Store, StoreError};

/// Fixed-width UTC timestamps, so that comparing the TEXT compares the instants.
fn key(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Store {
    /// Stores the records not yet known; returns how many were new.
    pub async fn insert_counts(&self, player: &PlayerId, records: &[CountsRecord]) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let received = key(Utc::now());
        let mut inserted = 0;
        for r in records {
            let seq = i64::try_from(r.seq)
                .map_err(|_| StoreError::Corrupt(format!("sequence number {}", r.seq)))?;
            let body = serde_json::to_string(r).expect("records serialise");
            let done = sqlx::query(
                "INSERT INTO counts (player_id, seq, start_at, end_at, body, received_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (player_id, seq) DO NOTHING",
            )
            .bind(player.as_str())
            .bind(seq)
            .bind(key(r.start))
            .bind(key(r.end))
            .bind(body)
            .bind(&received)
            .execute(&mut *tx)
            .await?;
            inserted += done.rows_affected();
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// A player's records whose period starts in `[from, to)`, in sequence order.
    pub async fn counts(
        &self,
        player: &PlayerId,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Vec<CountsRecord>> {
        let rows = sqlx::query(
            "SELECT body FROM counts
             WHERE player_id = $1 AND ($2 IS NULL OR start_at >= $2) AND ($3 IS NULL OR start_at < $3)
             ORDER BY seq",
        )
        .bind(player.as_str())
        .bind(from.map(key))
        .bind(to.map(key))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                let body: String = row.try_get("body")?;
                serde_json::from_str(&body)
                    .map_err(|e| StoreError::Corrupt(format!("counts record: {e}")))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use content::protocol::LineTally;

    fn record(seq: u64, minute: u32, inbound: u64) -> CountsRecord {
        let at = |m: u32| {
            DateTime::parse_from_rfc3339(&format!("2026-11-25T03:{m:02}:00Z"))
                .unwrap()
                .to_utc()
        };
        CountsRecord {
            seq,
            start: at(minute),
            end: at(minute + 1),
            frames: 600,
            lines: [(
                "door".to_string(),
                LineTally {
                    inbound,
                    outbound: 1,
                },
            )]
            .into(),
            zones: Default::default(),
        }
    }

    #[tokio::test]
    async fn counts_are_stored_once_per_player_and_seq_and_filtered_by_period() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let a: PlayerId = "kita-1".parse().unwrap();
        let b: PlayerId = "kita-2".parse().unwrap();
        let batch = [record(1, 0, 3), record(2, 1, 4)];
        assert_eq!(store.insert_counts(&a, &batch).await.unwrap(), 2);
        // Sent again (the acknowledgement was lost), plus one new record.
        let again = [record(1, 0, 99), record(2, 1, 4), record(3, 2, 5)];
        assert_eq!(store.insert_counts(&a, &again).await.unwrap(), 1);
        assert_eq!(store.insert_counts(&b, &batch).await.unwrap(), 2);
        let all = store.counts(&a, None, None).await.unwrap();
        let seqs: Vec<u64> = all.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, [1, 2, 3]);
        assert_eq!(all[0].lines["door"].inbound, 3, "the first copy stays");
        let from = Some(all[1].start);
        let to = Some(all[2].start);
        let window = store.counts(&a, from, to).await.unwrap();
        assert_eq!(window.len(), 1);
        assert_eq!(window[0].seq, 2);
    }
}

//! People counts from the players' cameras: one row per (player, seq), stored once however
//! often a record arrives. Same portable SQL rules as the parent module.
//!
//! A record is the one already stored when its player, seq *and* period start match (a
//! re-send). The same seq for another period is a conflict: a replaced device, or one whose
//! cache was wiped, counting again from an old number. It is not stored, and the player is
//! told to number it again above everything held for it, so no period is dropped as a
//! "duplicate".

use chrono::{DateTime, SecondsFormat, Utc};
use content::protocol::{CountsRecord, PlayerId};
use sqlx::Row;

use super::{Result, Store, StoreError};

/// Fixed-width UTC timestamps, so that comparing the TEXT compares the instants.
fn key(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// What [`Store::insert_counts`] did with a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountsStored {
    /// Records stored now or before (the player may delete them), in batch order.
    pub held: Vec<u64>,
    /// How many of `held` were new.
    pub new: u64,
    /// Records not stored: their seq belongs to another period of this player.
    pub conflicts: Vec<u64>,
    /// Above every seq held for this player (set when there are conflicts).
    pub next_seq: Option<u64>,
}

impl Store {
    /// Stores the records not yet known, in one transaction.
    pub async fn insert_counts(
        &self,
        player: &PlayerId,
        records: &[CountsRecord],
    ) -> Result<CountsStored> {
        let mut tx = self.pool.begin().await?;
        let received = key(Utc::now());
        let mut stored = CountsStored::default();
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
            if done.rows_affected() == 1 {
                stored.new += 1;
                stored.held.push(r.seq);
                continue;
            }
            let held_start: String =
                sqlx::query("SELECT start_at FROM counts WHERE player_id = $1 AND seq = $2")
                    .bind(player.as_str())
                    .bind(seq)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("start_at")?;
            if held_start == key(r.start) {
                stored.held.push(r.seq);
            } else {
                stored.conflicts.push(r.seq);
            }
        }
        if !stored.conflicts.is_empty() {
            let highest: Option<i64> =
                sqlx::query("SELECT MAX(seq) AS highest FROM counts WHERE player_id = $1")
                    .bind(player.as_str())
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("highest")?;
            let highest = highest.and_then(|h| u64::try_from(h).ok()).unwrap_or(0);
            let sent = records.iter().map(|r| r.seq).max().unwrap_or(0);
            stored.next_seq = Some(highest.max(sent) + 1);
        }
        tx.commit().await?;
        Ok(stored)
    }

    /// A player's latest record, if it has any.
    pub async fn latest_counts(&self, player: &PlayerId) -> Result<Option<CountsRecord>> {
        let body: Option<String> = sqlx::query_scalar(
            "SELECT body FROM counts WHERE player_id = $1 ORDER BY start_at DESC, seq DESC LIMIT 1",
        )
        .bind(player.as_str())
        .fetch_optional(&self.pool)
        .await?;
        body.map(|b| {
            serde_json::from_str(&b).map_err(|e| StoreError::Corrupt(format!("counts record: {e}")))
        })
        .transpose()
    }

    /// A player's records whose period starts in `[from, to)`, in period order.
    pub async fn counts(
        &self,
        player: &PlayerId,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Vec<CountsRecord>> {
        let rows = sqlx::query(
            "SELECT body FROM counts
             WHERE player_id = $1 AND ($2 IS NULL OR start_at >= $2) AND ($3 IS NULL OR start_at < $3)
             ORDER BY start_at, seq",
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
        let stored = store.insert_counts(&a, &batch).await.unwrap();
        assert_eq!((stored.held, stored.new), (vec![1, 2], 2));
        // Sent again (the acknowledgement was lost), plus one new record.
        let again = [record(1, 0, 99), record(2, 1, 4), record(3, 2, 5)];
        let stored = store.insert_counts(&a, &again).await.unwrap();
        assert_eq!((stored.held, stored.new), (vec![1, 2, 3], 1));
        assert!(stored.conflicts.is_empty() && stored.next_seq.is_none());
        assert_eq!(store.insert_counts(&b, &batch).await.unwrap().new, 2);
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

    /// A device counting again from 1 (replaced, or its cache wiped) sends seqs that name other
    /// periods: they are refused as conflicts, never dropped as re-sends, and the player is
    /// given a number above everything held for it.
    #[tokio::test]
    async fn a_reused_seq_for_another_period_is_a_conflict_not_a_duplicate() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let a: PlayerId = "kita-1".parse().unwrap();
        let old = [record(1, 0, 3), record(2, 1, 4), record(7, 2, 1)];
        store.insert_counts(&a, &old).await.unwrap();
        // After the wipe: 1 and 2 again, for later periods; 3 is free.
        let fresh = [record(1, 10, 5), record(2, 11, 6), record(3, 12, 7)];
        let stored = store.insert_counts(&a, &fresh).await.unwrap();
        assert_eq!(stored.held, [3]);
        assert_eq!(stored.new, 1);
        assert_eq!(stored.conflicts, [1, 2]);
        assert_eq!(stored.next_seq, Some(8), "above the highest held (7)");
        let all = store.counts(&a, None, None).await.unwrap();
        let inbound: Vec<u64> = all.iter().map(|r| r.lines["door"].inbound).collect();
        assert_eq!(
            inbound,
            [3, 4, 1, 7],
            "the old periods are untouched, in period order"
        );
        // Numbered again, they are stored.
        let renumbered = [record(8, 10, 5), record(9, 11, 6)];
        let stored = store.insert_counts(&a, &renumbered).await.unwrap();
        assert_eq!((stored.held, stored.new), (vec![8, 9], 2));
    }
}

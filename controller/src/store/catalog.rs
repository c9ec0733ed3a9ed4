//! The content catalogue in the store: uploaded blobs, the content objects (assets, playlists,
//! layouts, schedule entries) as JSON of the `content` crate, per-player manifests, proof of
//! play and what players report showing. Same portable SQL rules as the parent module.

use chrono::{DateTime, Utc};
use content::asset::Asset;
use content::ids::{GroupId, LayoutId, WardId};
use content::layout::Layout;
use content::playlist::Playlist;
use content::protocol::{NowShowing, PlayRecord, PlayerId};
use content::schedule::{PlayerTarget, ScheduleEntry};
use content::schedule_set::ScheduleSetParts;
use serde::Serialize;
use sqlx::Row;

/// Players per `now` UPDATE: 2 parameters each, far below SQLite's and PostgreSQL's limits.
const NOW_ROWS_PER_STATEMENT: usize = 1000;

use super::{Result, Store, StoreError, parse_time};

pub use content::changes::ObjectKind;

/// An uploaded file.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Blob {
    pub sha256: String,
    pub size_bytes: u64,
    pub media_type: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    Created,
    Replaced,
}

/// A player's current manifest as stored (and served over HTTP).
#[derive(Debug, Clone)]
pub struct StoredManifest {
    pub revision: u64,
    pub content_sha256: String,
    pub sha256: String,
    pub body: String,
    pub acked_revision: Option<u64>,
}

const FALLBACK_LAYOUT: &str = "fallback_layout";
const CALENDAR: &str = "calendar";

/// Where a page of plays ends: the last play's start (as stored), zone and id. As text
/// `START|ZONE|ID`, handed to clients as an opaque `X-Next-Cursor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaysCursor {
    pub start: String,
    pub zone: String,
    pub id: String,
}

impl PlaysCursor {
    pub fn after(play: &PlayRecord) -> PlaysCursor {
        PlaysCursor {
            start: play.start.to_rfc3339(),
            zone: play.zone.0.clone(),
            id: play.id.clone(),
        }
    }

    pub fn parse(text: &str) -> Option<PlaysCursor> {
        let mut parts = text.splitn(3, '|');
        Some(PlaysCursor {
            start: parts.next()?.to_string(),
            zone: parts.next()?.to_string(),
            id: parts.next()?.to_string(),
        })
    }
}

impl std::fmt::Display for PlaysCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}|{}|{}", self.start, self.zone, self.id)
    }
}

impl Store {
    pub async fn blob(&self, sha256: &str) -> Result<Option<Blob>> {
        let row = sqlx::query("SELECT size_bytes, media_type FROM blobs WHERE sha256 = $1")
            .bind(sha256)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(Blob {
                sha256: sha256.to_string(),
                size_bytes: row.try_get::<i64, _>("size_bytes")? as u64,
                media_type: row.try_get("media_type")?,
            })
        })
        .transpose()
    }

    /// Every stored file's digest, with when the sweep first found it unused.
    pub async fn blob_uses(&self) -> Result<Vec<(String, Option<DateTime<Utc>>)>> {
        let rows = sqlx::query("SELECT sha256, unused_since FROM blobs ORDER BY sha256")
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(|row| {
                Ok((
                    row.try_get("sha256")?,
                    parse_time(row.try_get("unused_since")?)?,
                ))
            })
            .collect()
    }

    /// Notes (`Some`) or clears (`None`) when a file was first found unused.
    pub async fn set_blob_unused_since(
        &self,
        sha256: &str,
        since: Option<DateTime<Utc>>,
    ) -> Result<()> {
        sqlx::query("UPDATE blobs SET unused_since = $1 WHERE sha256 = $2")
            .bind(since.map(|t| t.to_rfc3339()))
            .bind(sha256)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_blob(&self, sha256: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM blobs WHERE sha256 = $1")
            .bind(sha256)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a stored file; returns false when it was already known.
    pub async fn insert_blob(&self, blob: &Blob) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO blobs (sha256, size_bytes, media_type, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(&blob.sha256)
        .bind(blob.size_bytes as i64)
        .bind(&blob.media_type)
        .bind(Utc::now().to_rfc3339())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Inserts or replaces one content object and bumps the content revision, atomically.
    /// With `create_only`, an existing id is left alone and `None` returned.
    pub async fn put_object(
        &self,
        kind: ObjectKind,
        id: &str,
        body: &impl Serialize,
        create_only: bool,
    ) -> Result<Option<PutOutcome>> {
        let json = serde_json::to_string(body).expect("content objects serialise");
        let mut tx = self.pool.begin().await?;
        // Write first: the transaction then holds the write lock from its start, so it cannot
        // fail to upgrade a read snapshot later (SQLITE_BUSY without waiting).
        bump_revision(&mut tx).await?;
        let exists: Option<String> =
            sqlx::query_scalar("SELECT id FROM content_objects WHERE kind = $1 AND id = $2")
                .bind(kind.as_str())
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        if exists.is_some() && create_only {
            return Ok(None);
        }
        let now = Utc::now().to_rfc3339();
        sqlx::query(
            "INSERT INTO content_objects (kind, id, body, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
        )
        .bind(kind.as_str())
        .bind(id)
        .bind(json)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(if exists.is_some() {
            PutOutcome::Replaced
        } else {
            PutOutcome::Created
        }))
    }

    /// Deletes one content object; returns false when there was none.
    pub async fn delete_object(&self, kind: ObjectKind, id: &str) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        bump_revision(&mut tx).await?;
        let done = sqlx::query("DELETE FROM content_objects WHERE kind = $1 AND id = $2")
            .bind(kind.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn objects<T: serde::de::DeserializeOwned>(&self, kind: ObjectKind) -> Result<Vec<T>> {
        let bodies: Vec<String> =
            sqlx::query_scalar("SELECT body FROM content_objects WHERE kind = $1 ORDER BY id")
                .bind(kind.as_str())
                .fetch_all(&self.pool)
                .await?;
        bodies
            .iter()
            .map(|b| {
                serde_json::from_str(b)
                    .map_err(|e| StoreError::Corrupt(format!("{} object: {e}", kind.as_str())))
            })
            .collect()
    }

    /// Everything staff created, with the fallback layout if one is set.
    pub async fn schedule_parts(&self) -> Result<(ScheduleSetParts, bool)> {
        let fallback = self.setting(FALLBACK_LAYOUT).await?;
        let calendar = self.calendar().await?;
        let parts = ScheduleSetParts {
            assets: self.objects::<Asset>(ObjectKind::Asset).await?,
            playlists: self.objects::<Playlist>(ObjectKind::Playlist).await?,
            layouts: self.objects::<Layout>(ObjectKind::Layout).await?,
            entries: self.objects::<ScheduleEntry>(ObjectKind::Entry).await?,
            fallback_layout: LayoutId(fallback.clone().unwrap_or_default()),
            calendar,
        };
        Ok((parts, fallback.is_some()))
    }

    /// The office calendar alone (the default until staff set one).
    pub async fn calendar(&self) -> Result<content::calendar::Calendar> {
        match self.setting(CALENDAR).await? {
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| StoreError::Corrupt(format!("calendar: {e}"))),
            None => Ok(Default::default()),
        }
    }

    /// Stores the office calendar (holidays are computed; this holds the rules and the wards'
    /// own days) and bumps the content revision.
    pub async fn set_calendar(&self, calendar: &content::calendar::Calendar) -> Result<()> {
        let json = serde_json::to_string(calendar).expect("calendars serialise");
        let mut tx = self.pool.begin().await?;
        bump_revision(&mut tx).await?;
        put_setting(&mut tx, CALENDAR, &json).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_fallback_layout(&self, layout: &LayoutId) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        bump_revision(&mut tx).await?;
        put_setting(&mut tx, FALLBACK_LAYOUT, &layout.0).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Increases with every change of content, schedule or fallback.
    pub async fn content_revision(&self) -> Result<u64> {
        let revision: Option<i64> =
            sqlx::query_scalar("SELECT revision FROM content_revision WHERE singleton = 1")
                .fetch_optional(&self.pool)
                .await?;
        Ok(revision.unwrap_or(0) as u64)
    }

    async fn setting(&self, name: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Who each registered player is for the selection.
    pub async fn player_targets(&self) -> Result<Vec<PlayerTarget>> {
        let rows = sqlx::query(
            "SELECT id, ward, groups FROM players WHERE state <> 'retired' ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                let id: String = row.try_get("id")?;
                let ward: Option<String> = row.try_get("ward")?;
                let groups: String = row.try_get("groups")?;
                Ok(PlayerTarget {
                    id: id
                        .parse()
                        .map_err(|e| StoreError::Corrupt(format!("{e}")))?,
                    ward: WardId(ward.unwrap_or_default()),
                    groups: super::fleet::parse_groups(&groups)?
                        .into_iter()
                        .map(GroupId)
                        .collect(),
                })
            })
            .collect()
    }

    /// Who one registered player is for the selection and for alert targets.
    pub async fn player_target(&self, player: &PlayerId) -> Result<Option<PlayerTarget>> {
        let row = sqlx::query("SELECT ward, groups FROM players WHERE id = $1")
            .bind(player.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            let ward: Option<String> = row.try_get("ward")?;
            let groups: String = row.try_get("groups")?;
            Ok(PlayerTarget {
                id: player.clone(),
                ward: WardId(ward.unwrap_or_default()),
                groups: super::fleet::parse_groups(&groups)?
                    .into_iter()
                    .map(GroupId)
                    .collect(),
            })
        })
        .transpose()
    }

    pub async fn manifest(&self, player: &PlayerId) -> Result<Option<StoredManifest>> {
        let row = sqlx::query(
            "SELECT revision, content_sha256, sha256, body, acked_revision FROM manifests WHERE player_id = $1",
        )
        .bind(player.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(StoredManifest {
                revision: row.try_get::<i64, _>("revision")? as u64,
                content_sha256: row.try_get("content_sha256")?,
                sha256: row.try_get("sha256")?,
                body: row.try_get("body")?,
                acked_revision: row
                    .try_get::<Option<i64>, _>("acked_revision")?
                    .map(|r| r as u64),
            })
        })
        .transpose()
    }

    pub async fn save_manifest(&self, player: &PlayerId, manifest: &StoredManifest) -> Result<()> {
        sqlx::query(
            "INSERT INTO manifests (player_id, revision, content_sha256, sha256, body) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (player_id) DO UPDATE SET revision = excluded.revision,
               content_sha256 = excluded.content_sha256, sha256 = excluded.sha256, body = excluded.body",
        )
        .bind(player.as_str())
        .bind(manifest.revision as i64)
        .bind(&manifest.content_sha256)
        .bind(&manifest.sha256)
        .bind(&manifest.body)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn record_manifest_ack(
        &self,
        player: &PlayerId,
        revision: u64,
    ) -> Result<bool> {
        let done = sqlx::query("UPDATE manifests SET acked_revision = $1 WHERE player_id = $2")
            .bind(revision as i64)
            .bind(player.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores proof-of-play records exactly once: a record whose id is already stored (a batch
    /// sent again after a lost acknowledgement) is skipped. Returns how many were new.
    pub async fn insert_plays(&self, player: &PlayerId, records: &[PlayRecord]) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let received = Utc::now().to_rfc3339();
        let mut inserted = 0;
        for r in records {
            let done = sqlx::query(
                "INSERT INTO plays (player_id, id, layout_id, zone_id, playlist_id, item, asset_id,
                   entry_id, start_at, end_at, received_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                 ON CONFLICT (player_id, id) DO NOTHING",
            )
            .bind(player.as_str())
            .bind(&r.id)
            .bind(&r.layout.0)
            .bind(&r.zone.0)
            .bind(&r.playlist.0)
            .bind(r.item as i64)
            .bind(&r.asset.0)
            .bind(r.entry.as_ref().map(|e| e.0.clone()))
            .bind(r.start.to_rfc3339())
            .bind(r.end.to_rfc3339())
            .bind(&received)
            .execute(&mut *tx)
            .await?;
            inserted += done.rows_affected();
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// A page of a player's stored plays in (start, zone, id) order: at most `limit`, after
    /// the play `after` names (start as stored, zone, id), from the first without it.
    pub async fn plays(
        &self,
        player: &PlayerId,
        after: Option<&PlaysCursor>,
        limit: u32,
    ) -> Result<Vec<PlayRecord>> {
        let (start, zone, id) = match after {
            Some(c) => (c.start.as_str(), c.zone.as_str(), c.id.as_str()),
            None => ("", "", ""),
        };
        let rows = sqlx::query(
            "SELECT id, layout_id, zone_id, playlist_id, item, asset_id, entry_id, start_at, end_at
             FROM plays WHERE player_id = $1
               AND (start_at > $2 OR (start_at = $2 AND (zone_id > $3 OR (zone_id = $3 AND id > $4))))
             ORDER BY start_at, zone_id, id LIMIT $5",
        )
        .bind(player.as_str())
        .bind(start)
        .bind(zone)
        .bind(id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                let time = |name: &str| -> Result<DateTime<Utc>> {
                    Ok(parse_time(Some(row.try_get(name)?))?.expect("Some in, Some out"))
                };
                Ok(PlayRecord {
                    id: row.try_get("id")?,
                    layout: LayoutId(row.try_get("layout_id")?),
                    zone: content::ids::ZoneId(row.try_get("zone_id")?),
                    playlist: content::ids::PlaylistId(row.try_get("playlist_id")?),
                    item: row.try_get::<i64, _>("item")? as usize,
                    asset: content::ids::AssetId(row.try_get("asset_id")?),
                    entry: row
                        .try_get::<Option<String>, _>("entry_id")?
                        .map(content::ids::EntryId),
                    start: time("start_at")?,
                    end: time("end_at")?,
                })
            })
            .collect()
    }

    /// Records what players show, one transaction for the lot (in order: a later report of
    /// the same player wins), a few hundred players per statement. Returns the players that
    /// are not registered.
    pub async fn record_now(&self, reports: &[(PlayerId, NowShowing)]) -> Result<Vec<PlayerId>> {
        // The last report of each player.
        let last: std::collections::HashMap<&PlayerId, &NowShowing> =
            reports.iter().map(|(player, now)| (player, now)).collect();
        let latest: Vec<(&PlayerId, String)> = last
            .into_iter()
            .map(|(player, now)| (player, serde_json::to_string(now).expect("serialises")))
            .collect();
        let mut known = std::collections::HashSet::new();
        let mut tx = self.pool.begin().await?;
        for chunk in latest.chunks(NOW_ROWS_PER_STATEMENT) {
            let mut update = sqlx::QueryBuilder::new("WITH reported (id, now_showing) AS (");
            update.push_values(chunk, |mut row, (player, json)| {
                row.push_bind(player.as_str()).push_bind(json.as_str());
            });
            update.push(
                ") UPDATE players SET now_showing = reported.now_showing FROM reported
                 WHERE players.id = reported.id RETURNING players.id",
            );
            let updated: Vec<String> = update.build_query_scalar().fetch_all(&mut *tx).await?;
            known.extend(updated);
        }
        tx.commit().await?;
        Ok(latest
            .into_iter()
            .filter(|(player, _)| !known.contains(player.as_str()))
            .map(|(player, _)| player.clone())
            .collect())
    }

    pub async fn now_showing(&self, player: &PlayerId) -> Result<Option<NowShowing>> {
        let json: Option<Option<String>> =
            sqlx::query_scalar("SELECT now_showing FROM players WHERE id = $1")
                .bind(player.as_str())
                .fetch_optional(&self.pool)
                .await?;
        Ok(json.flatten().and_then(|j| serde_json::from_str(&j).ok()))
    }
}

pub(super) async fn put_setting(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    name: &str,
    value: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO settings (name, value) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    )
    .bind(name)
    .bind(value)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) async fn bump_revision(tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>) -> Result<()> {
    sqlx::query(
        "INSERT INTO content_revision (singleton, revision) VALUES (1, 1)
         ON CONFLICT (singleton) DO UPDATE SET revision = content_revision.revision + 1",
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One approved change written in `tx` (the caller bumps the revision once for all).
pub(super) async fn write_change(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    change: &content::changes::Change,
) -> Result<()> {
    use content::changes::{Change, Object};
    match change {
        Change::Put { object } => {
            let body = match object {
                Object::Asset(o) => serde_json::to_string(o),
                Object::Playlist(o) => serde_json::to_string(o),
                Object::Layout(o) => serde_json::to_string(o),
                Object::Entry(o) => serde_json::to_string(o),
            }
            .expect("content objects serialise");
            let target = object.reference();
            sqlx::query(
                "INSERT INTO content_objects (kind, id, body, updated_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
            )
            .bind(target.kind.as_str())
            .bind(&target.id)
            .bind(body)
            .bind(Utc::now().to_rfc3339())
            .execute(&mut **tx)
            .await?;
        }
        Change::Delete { target } => {
            sqlx::query("DELETE FROM content_objects WHERE kind = $1 AND id = $2")
                .bind(target.kind.as_str())
                .bind(&target.id)
                .execute(&mut **tx)
                .await?;
        }
        Change::Fallback { layout } => put_setting(tx, FALLBACK_LAYOUT, &layout.0).await?,
    }
    Ok(())
}

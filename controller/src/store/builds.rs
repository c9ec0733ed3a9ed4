//! Player builds in the store: what an admin uploaded (the file lives in the data directory,
//! see `builds_api`), the statement the controller signed for each, and which build each
//! player is offered. An offer changes the player's desired configuration, so it reaches the
//! player like any other change, and an offline player takes it when it is back.

use chrono::Utc;
use content::protocol::{BuildStatement, SignedEnvelope};
use content::schedule::{Target, best_match};
use serde::Serialize;
use sqlx::Row;

use super::{Result, Store, StoreError, parse_time};

/// An uploaded build, as listed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BuildRecord {
    pub version: String,
    pub sha256: String,
    pub size_bytes: u64,
    pub uploaded_by: String,
    pub uploaded_at: chrono::DateTime<Utc>,
    pub note: Option<String>,
    /// Players offered this build now.
    pub offered_to: u64,
}

impl Store {
    /// Stores a new build's signed statement; false when the version is taken (a version
    /// names one build for good, so a player never mistakes one for another).
    pub async fn add_build(
        &self,
        statement: &BuildStatement,
        signed: &SignedEnvelope,
        by: &str,
        note: Option<&str>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO player_builds
                (version, sha256, size_bytes, statement, signature, uploaded_by, uploaded_at, note)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (version) DO NOTHING",
        )
        .bind(&statement.version)
        .bind(statement.sha256.to_string())
        .bind(statement.size_bytes as i64)
        .bind(&signed.payload)
        .bind(&signed.signature)
        .bind(by)
        .bind(Utc::now().to_rfc3339())
        .bind(note)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Every build, newest first.
    pub async fn builds(&self) -> Result<Vec<BuildRecord>> {
        self.builds_where("TRUE", None).await
    }

    /// One build, for serving its file.
    pub async fn build(&self, version: &str) -> Result<Option<BuildRecord>> {
        Ok(self
            .builds_where("b.version = $1", Some(version))
            .await?
            .pop())
    }

    async fn builds_where(
        &self,
        condition: &str,
        version: Option<&str>,
    ) -> Result<Vec<BuildRecord>> {
        let sql = format!(
            "SELECT b.version, b.sha256, b.size_bytes, b.uploaded_by, b.uploaded_at, b.note,
                    (SELECT COUNT(*) FROM players p
                     WHERE p.build = b.version AND p.state <> 'retired') AS offered_to
             FROM player_builds b WHERE {condition} ORDER BY b.uploaded_at DESC, b.version"
        );
        let mut query = sqlx::query(&sql);
        if let Some(version) = version {
            query = query.bind(version);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.into_iter()
            .map(|row| {
                Ok(BuildRecord {
                    version: row.try_get("version")?,
                    sha256: row.try_get("sha256")?,
                    size_bytes: row.try_get::<i64, _>("size_bytes")? as u64,
                    uploaded_by: row.try_get("uploaded_by")?,
                    uploaded_at: parse_time(Some(row.try_get("uploaded_at")?))?
                        .expect("Some in, Some out"),
                    note: row.try_get("note")?,
                    offered_to: row.try_get::<i64, _>("offered_to")? as u64,
                })
            })
            .collect()
    }

    /// Offers `version` (None: withdraws the offer, players keep what runs) to the active
    /// players `targets` name. Returns the players whose offer changed, or None for an
    /// unknown version.
    pub async fn offer_build(
        &self,
        version: Option<&str>,
        targets: &[Target],
    ) -> Result<Option<Vec<String>>> {
        let mut tx = self.pool.begin().await?;
        if let Some(version) = version {
            let known: Option<String> =
                sqlx::query_scalar("SELECT version FROM player_builds WHERE version = $1")
                    .bind(version)
                    .fetch_optional(&mut *tx)
                    .await?;
            if known.is_none() {
                return Ok(None);
            }
        }
        let rows =
            sqlx::query("SELECT id, ward, groups FROM players WHERE state = 'active' ORDER BY id")
                .fetch_all(&mut *tx)
                .await?;
        let mut changed = Vec::new();
        for row in rows {
            let id: String = row.try_get("id")?;
            let target = content::schedule::PlayerTarget {
                id: id
                    .parse()
                    .map_err(|e| StoreError::Corrupt(format!("{e}")))?,
                ward: content::ids::WardId(
                    row.try_get::<Option<String>, _>("ward")?
                        .unwrap_or_default(),
                ),
                groups: super::fleet::parse_groups(&row.try_get::<String, _>("groups")?)?
                    .into_iter()
                    .map(content::ids::GroupId)
                    .collect(),
            };
            if best_match(targets, &target).is_none() {
                continue;
            }
            let done = sqlx::query(
                "UPDATE players SET build = $1, config_revision = config_revision + 1
                 WHERE id = $2 AND build IS NOT $1",
            )
            .bind(version)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 1 {
                changed.push(id);
            }
        }
        tx.commit().await?;
        Ok(Some(changed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::NewPlayer;

    fn statement(version: &str) -> BuildStatement {
        BuildStatement {
            version: version.into(),
            sha256: "cd".repeat(32).parse().unwrap(),
            size_bytes: 10,
        }
    }

    fn signed(version: &str) -> SignedEnvelope {
        SignedEnvelope {
            payload: serde_json::to_string(&statement(version)).unwrap(),
            signature: "00".repeat(64),
        }
    }

    async fn offered(store: &Store, version: Option<&str>, targets: &[Target]) -> Vec<String> {
        store.offer_build(version, targets).await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn an_offer_reaches_the_targeted_players_configurations_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        for (id, ward, groups) in [
            ("a", "kita", vec!["lobby"]),
            ("b", "kita", vec![]),
            ("c", "naka", vec!["lobby"]),
        ] {
            store
                .add_player(
                    &NewPlayer {
                        id: id.parse().unwrap(),
                        ward: Some(ward.into()),
                        groups: groups.into_iter().map(String::from).collect(),
                        name: None,
                    },
                    "digest",
                )
                .await
                .unwrap();
        }
        assert!(
            store
                .add_build(&statement("1.4.0"), &signed("1.4.0"), "admin", Some("fix"))
                .await
                .unwrap()
        );
        assert!(
            !store
                .add_build(&statement("1.4.0"), &signed("1.4.0"), "admin", None)
                .await
                .unwrap(),
            "a version names one build for good"
        );
        assert_eq!(
            store
                .offer_build(Some("9.9"), &[Target::All])
                .await
                .unwrap(),
            None
        );

        let lobby = [Target::Group("lobby".into())];
        let before = store.desired_configs().await.unwrap();
        assert_eq!(offered(&store, Some("1.4.0"), &lobby).await, ["a", "c"]);
        assert_eq!(
            offered(&store, Some("1.4.0"), &lobby).await,
            Vec::<String>::new(),
            "offering again changes nothing"
        );
        let after = store.desired_configs().await.unwrap();
        for (old, new) in before.iter().zip(&after) {
            let offered = ["a", "c"].contains(&new.id.as_str());
            assert_eq!(new.build.is_some(), offered, "{}", new.id);
            assert_eq!(new.revision > old.revision, offered, "{}", new.id);
        }
        assert_eq!(after[0].build.as_ref().unwrap(), &signed("1.4.0"));
        assert_eq!(store.builds().await.unwrap()[0].offered_to, 2);
        assert_eq!(
            store.player("a").await.unwrap().unwrap().build.as_deref(),
            Some("1.4.0")
        );

        let naka = [Target::Ward("naka".into())];
        assert_eq!(offered(&store, None, &naka).await, ["c"]);
        assert_eq!(store.builds().await.unwrap()[0].offered_to, 1);
    }
}

//! Fleet management in the store: a player's name, ward and groups, its state (active,
//! revoked, retired), restarts asked of it, and enrolment with one-time codes.
//!
//! Enrolment never puts a password in the store: the new player chooses its own and sends only
//! its SHA-256 with the request; approval copies that digest into the player's row.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{NewPlayer, Result, Store, StoreError, parse_time, token_digest};

/// Where a player stands in the fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlayerState {
    Active,
    /// Its credentials no longer work; reissuing them makes it active again.
    Revoked,
    /// Out of the fleet for good: no configuration, no content, no alerts; kept for history.
    Retired,
}

impl PlayerState {
    pub(crate) fn parse(s: &str) -> Result<PlayerState> {
        match s {
            "active" => Ok(PlayerState::Active),
            "revoked" => Ok(PlayerState::Revoked),
            "retired" => Ok(PlayerState::Retired),
            other => Err(StoreError::Corrupt(format!("player state {other:?}"))),
        }
    }
}

pub(crate) fn groups_json(groups: &[String]) -> String {
    serde_json::to_string(groups).expect("strings serialise")
}

pub(crate) fn parse_groups(json: &str) -> Result<Vec<String>> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("player groups: {e}")))
}

/// A change of what staff set about a player; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct PlayerEdit {
    /// An empty name clears it.
    pub name: Option<String>,
    pub ward: Option<String>,
    pub groups: Option<Vec<String>>,
}

/// What a one-time code lets its holder ask for.
#[derive(Debug, Clone)]
pub struct NewCode {
    pub created_by: String,
    pub valid_for: Duration,
    pub uses: u32,
    /// Proposed to the approving admin (they may change it).
    pub ward: Option<String>,
    pub groups: Vec<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CodeRecord {
    pub id: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub uses_left: u32,
    pub ward: Option<String>,
    pub groups: Vec<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EnrolmentState {
    Waiting,
    Approved,
    Rejected,
}

/// A new player's request to join, as admins see it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EnrolmentRecord {
    pub id: String,
    pub code_id: String,
    pub requested_at: DateTime<Utc>,
    /// The name the player proposed (its host name unless told otherwise).
    pub proposed_name: Option<String>,
    /// What the player said about itself (screen, version), as sent.
    pub hello: Option<serde_json::Value>,
    /// The address the request came from.
    pub address: Option<String>,
    pub state: EnrolmentState,
    /// The ward and groups the code proposed.
    pub ward: Option<String>,
    pub groups: Vec<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    pub player_id: Option<String>,
    #[serde(skip)]
    token_sha256: String,
}

impl EnrolmentRecord {
    /// Whether `token` is the password the requesting player chose (its poll credential).
    pub fn is_from(&self, token: &str) -> bool {
        crate::mqtt_gate::same(&token_digest(token), &self.token_sha256)
    }
}

/// Why a request with a code was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeRefusal {
    Unknown,
    Expired,
    UsedUp,
}

#[derive(Debug, PartialEq)]
pub enum Decision {
    Done(Box<EnrolmentRecord>),
    NotFound,
    /// Already approved or rejected.
    AlreadyDecided(EnrolmentState),
}

fn random_id(prefix: &str) -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

impl Store {
    /// Applies `edit` to a registered (not retired) player; its configuration revision moves
    /// on so the player hears of it. `false` when there is no such player.
    pub async fn edit_player(&self, id: &str, edit: &PlayerEdit) -> Result<bool> {
        let name = edit.name.as_ref().map(|n| n.trim().to_owned());
        let done = sqlx::query(
            "UPDATE players SET
                name = CASE WHEN $1 THEN NULLIF($2, '') ELSE name END,
                ward = CASE WHEN $3 THEN $4 ELSE ward END,
                groups = CASE WHEN $5 THEN $6 ELSE groups END,
                config_revision = config_revision + 1
             WHERE id = $7 AND state <> 'retired'",
        )
        .bind(name.is_some())
        .bind(name.unwrap_or_default())
        .bind(edit.ward.is_some())
        .bind(edit.ward.clone())
        .bind(edit.groups.is_some())
        .bind(groups_json(edit.groups.as_deref().unwrap_or_default()))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Revokes a player's credentials: its logins fail from now on. `false` when there is no
    /// active player `id`.
    pub async fn revoke_player(&self, id: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE players SET state = 'revoked', token_sha256 = 'revoked'
             WHERE id = $1 AND state = 'active'",
        )
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// New credentials for an active or revoked player (the old ones stop working).
    pub async fn reissue_player(&self, id: &str, token: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE players SET state = 'active', token_sha256 = $1
             WHERE id = $2 AND state <> 'retired'",
        )
        .bind(token_digest(token))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Asks an active player to restart; the new count, or `None` when there is no such player.
    pub async fn request_restart(&self, id: &str) -> Result<Option<u64>> {
        let restarts: Option<i64> = sqlx::query_scalar(
            "UPDATE players SET restarts = restarts + 1, config_revision = config_revision + 1
             WHERE id = $1 AND state = 'active' RETURNING restarts",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(restarts.map(|r| r as u64))
    }

    /// Takes a player out of the fleet for good; its history stays.
    pub async fn retire_player(&self, id: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE players SET state = 'retired', token_sha256 = 'revoked', online = 0,
                session = NULL
             WHERE id = $1 AND state <> 'retired'",
        )
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores a new one-time code (only its digest) and returns its id.
    pub async fn create_enrolment_code(&self, code: &str, new: &NewCode) -> Result<String> {
        let id = random_id("code_");
        let now = Utc::now();
        sqlx::query(
            "INSERT INTO enrolment_codes
                (id, code_sha256, created_by, created_at, expires_at, uses_left, ward, groups, note)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&id)
        .bind(token_digest(code))
        .bind(&new.created_by)
        .bind(now.to_rfc3339())
        .bind((now + new.valid_for).to_rfc3339())
        .bind(i64::from(new.uses))
        .bind(&new.ward)
        .bind(groups_json(&new.groups))
        .bind(&new.note)
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// Codes that can still be used.
    pub async fn enrolment_codes(&self) -> Result<Vec<CodeRecord>> {
        let rows = sqlx::query(
            "SELECT id, created_by, created_at, expires_at, uses_left, ward, groups, note
             FROM enrolment_codes WHERE uses_left > 0 ORDER BY created_at DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        let now = Utc::now();
        let mut codes = Vec::new();
        for row in rows {
            let code = CodeRecord {
                id: row.try_get("id")?,
                created_by: row.try_get("created_by")?,
                created_at: time(row.try_get("created_at")?)?,
                expires_at: time(row.try_get("expires_at")?)?,
                uses_left: row.try_get::<i64, _>("uses_left")? as u32,
                ward: row.try_get("ward")?,
                groups: parse_groups(&row.try_get::<String, _>("groups")?)?,
                note: row.try_get("note")?,
            };
            if code.expires_at > now {
                codes.push(code);
            }
        }
        Ok(codes)
    }

    /// Withdraws a code before it is used up. `false` when there is no usable code `id`.
    pub async fn withdraw_enrolment_code(&self, id: &str) -> Result<bool> {
        let done =
            sqlx::query("UPDATE enrolment_codes SET uses_left = 0 WHERE id = $1 AND uses_left > 0")
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A new player asks to join with `code`: one use of the code is taken and the request
    /// waits for an admin. Returns the request's id.
    pub async fn request_enrolment(
        &self,
        code: &str,
        token: &str,
        proposed_name: Option<&str>,
        hello: Option<&serde_json::Value>,
        address: Option<&str>,
    ) -> Result<std::result::Result<String, CodeRefusal>> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "SELECT id, expires_at, uses_left FROM enrolment_codes WHERE code_sha256 = $1",
        )
        .bind(token_digest(code))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(Err(CodeRefusal::Unknown));
        };
        let code_id: String = row.try_get("id")?;
        if time(row.try_get("expires_at")?)? <= Utc::now() {
            return Ok(Err(CodeRefusal::Expired));
        }
        if row.try_get::<i64, _>("uses_left")? <= 0 {
            return Ok(Err(CodeRefusal::UsedUp));
        }
        sqlx::query("UPDATE enrolment_codes SET uses_left = uses_left - 1 WHERE id = $1")
            .bind(&code_id)
            .execute(&mut *tx)
            .await?;
        let id = random_id("enr_");
        sqlx::query(
            "INSERT INTO enrolments
                (id, code_id, token_sha256, requested_at, proposed_name, hello, address, state)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'waiting')",
        )
        .bind(&id)
        .bind(&code_id)
        .bind(token_digest(token))
        .bind(Utc::now().to_rfc3339())
        .bind(proposed_name)
        .bind(hello.map(|h| h.to_string()))
        .bind(address)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(id))
    }

    pub async fn enrolment(&self, id: &str) -> Result<Option<EnrolmentRecord>> {
        let rows = self.enrolments_where("e.id = $1", Some(id)).await?;
        Ok(rows.into_iter().next())
    }

    /// Requests waiting for a decision, oldest first, then the 50 latest decided ones.
    pub async fn enrolments(&self) -> Result<Vec<EnrolmentRecord>> {
        let mut waiting = self.enrolments_where("e.state = 'waiting'", None).await?;
        waiting.reverse();
        let decided = self.enrolments_where("e.state <> 'waiting'", None).await?;
        waiting.extend(decided.into_iter().take(50));
        Ok(waiting)
    }

    async fn enrolments_where(
        &self,
        condition: &str,
        id: Option<&str>,
    ) -> Result<Vec<EnrolmentRecord>> {
        let sql = format!(
            "SELECT e.id, e.code_id, e.token_sha256, e.requested_at, e.proposed_name, e.hello,
                    e.address, e.state, e.decided_by, e.decided_at, e.reason, e.player_id,
                    c.ward, c.groups
             FROM enrolments e JOIN enrolment_codes c ON c.id = e.code_id
             WHERE {condition} ORDER BY e.requested_at DESC"
        );
        let mut query = sqlx::query(&sql);
        if let Some(id) = id {
            query = query.bind(id);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.into_iter()
            .map(|row| {
                let hello: Option<String> = row.try_get("hello")?;
                Ok(EnrolmentRecord {
                    id: row.try_get("id")?,
                    code_id: row.try_get("code_id")?,
                    requested_at: time(row.try_get("requested_at")?)?,
                    proposed_name: row.try_get("proposed_name")?,
                    hello: hello.and_then(|h| serde_json::from_str(&h).ok()),
                    address: row.try_get("address")?,
                    state: match row.try_get::<String, _>("state")?.as_str() {
                        "waiting" => EnrolmentState::Waiting,
                        "approved" => EnrolmentState::Approved,
                        "rejected" => EnrolmentState::Rejected,
                        other => {
                            return Err(StoreError::Corrupt(format!("enrolment state {other:?}")));
                        }
                    },
                    ward: row.try_get("ward")?,
                    groups: parse_groups(&row.try_get::<String, _>("groups")?)?,
                    decided_by: row.try_get("decided_by")?,
                    decided_at: parse_time(row.try_get("decided_at")?)?,
                    reason: row.try_get("reason")?,
                    player_id: row.try_get("player_id")?,
                    token_sha256: row.try_get("token_sha256")?,
                })
            })
            .collect()
    }

    /// Approves `request` (as read by the caller): the player is registered as `player`, with
    /// the password it chose, in one transaction with the decision.
    pub async fn approve_enrolment(
        &self,
        request: &EnrolmentRecord,
        player: &NewPlayer,
        by: &str,
    ) -> Result<Decision> {
        if request.state != EnrolmentState::Waiting {
            return Ok(Decision::AlreadyDecided(request.state));
        }
        let decided_at = Utc::now();
        let mut tx = self.pool.begin().await?;
        let decided = sqlx::query(
            "UPDATE enrolments SET state = 'approved', decided_by = $1, decided_at = $2,
                player_id = $3
             WHERE id = $4 AND state = 'waiting'",
        )
        .bind(by)
        .bind(decided_at.to_rfc3339())
        .bind(player.id.as_str())
        .bind(&request.id)
        .execute(&mut *tx)
        .await?;
        if decided.rows_affected() != 1 {
            return Ok(Decision::AlreadyDecided(EnrolmentState::Approved));
        }
        let inserted = sqlx::query(
            "INSERT INTO players (id, ward, groups, name, token_sha256, created_at, config_revision)
             VALUES ($1, $2, $3, $4, $5, $6, 1)",
        )
        .bind(player.id.as_str())
        .bind(&player.ward)
        .bind(groups_json(&player.groups))
        .bind(&player.name)
        .bind(&request.token_sha256)
        .bind(Utc::now().to_rfc3339())
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::DuplicatePlayer(player.id.to_string()));
            }
            other => other?,
        };
        tx.commit().await?;
        Ok(Decision::Done(Box::new(EnrolmentRecord {
            state: EnrolmentState::Approved,
            decided_by: Some(by.to_owned()),
            decided_at: Some(decided_at),
            player_id: Some(player.id.to_string()),
            ..request.clone()
        })))
    }

    pub async fn reject_enrolment(&self, id: &str, by: &str, reason: &str) -> Result<Decision> {
        let Some(request) = self.enrolment(id).await? else {
            return Ok(Decision::NotFound);
        };
        if request.state != EnrolmentState::Waiting {
            return Ok(Decision::AlreadyDecided(request.state));
        }
        sqlx::query(
            "UPDATE enrolments SET state = 'rejected', decided_by = $1, decided_at = $2,
                reason = $3
             WHERE id = $4 AND state = 'waiting'",
        )
        .bind(by)
        .bind(Utc::now().to_rfc3339())
        .bind(reason)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(match self.enrolment(id).await? {
            Some(done) => Decision::Done(Box::new(done)),
            None => Decision::NotFound,
        })
    }
}

fn time(s: String) -> Result<DateTime<Utc>> {
    Ok(parse_time(Some(s))?.expect("Some in, Some out"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(uses: u32, valid_for: Duration) -> NewCode {
        NewCode {
            created_by: "admin".into(),
            valid_for,
            uses,
            ward: Some("kita".into()),
            groups: vec!["lobby".into()],
            note: None,
        }
    }

    fn player(id: &str) -> NewPlayer {
        NewPlayer {
            id: id.parse().unwrap(),
            ward: Some("kita".into()),
            groups: vec!["lobby".into(), "counters".into()],
            name: Some("北区役所 1F".into()),
        }
    }

    #[tokio::test]
    async fn a_code_admits_as_many_requests_as_it_has_uses_and_approval_registers_the_chosen_password()
     {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        store
            .create_enrolment_code("ABCD-EFGH", &code(1, Duration::hours(1)))
            .await
            .unwrap();
        assert_eq!(
            store
                .request_enrolment("WRONG", "t", None, None, None)
                .await
                .unwrap(),
            Err(CodeRefusal::Unknown)
        );
        let id = store
            .request_enrolment(
                "ABCD-EFGH",
                "chosen",
                Some("kiosk-7"),
                None,
                Some("10.0.0.7"),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            store
                .request_enrolment("ABCD-EFGH", "other", None, None, None)
                .await
                .unwrap(),
            Err(CodeRefusal::UsedUp)
        );
        assert!(store.enrolment_codes().await.unwrap().is_empty());
        let waiting = store.enrolment(&id).await.unwrap().unwrap();
        assert_eq!(waiting.state, EnrolmentState::Waiting);
        assert_eq!(waiting.ward.as_deref(), Some("kita"));
        assert!(waiting.is_from("chosen") && !waiting.is_from("other"));
        assert!(!store.verify_player("kita-7", "chosen").await.unwrap());

        let Decision::Done(done) = store
            .approve_enrolment(
                &store.enrolment(&id).await.unwrap().unwrap(),
                &player("kita-7"),
                "admin",
            )
            .await
            .unwrap()
        else {
            panic!("not approved")
        };
        assert_eq!(done.player_id.as_deref(), Some("kita-7"));
        assert!(store.verify_player("kita-7", "chosen").await.unwrap());
        assert_eq!(
            store
                .approve_enrolment(
                    &store.enrolment(&id).await.unwrap().unwrap(),
                    &player("kita-8"),
                    "admin"
                )
                .await
                .unwrap(),
            Decision::AlreadyDecided(EnrolmentState::Approved)
        );
        let target = store
            .player_target(&"kita-7".parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(target.groups.len(), 2);
    }

    #[tokio::test]
    async fn an_expired_code_admits_nobody_and_a_clash_of_ids_approves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        store
            .create_enrolment_code("OLD", &code(5, Duration::seconds(-1)))
            .await
            .unwrap();
        assert_eq!(
            store
                .request_enrolment("OLD", "t", None, None, None)
                .await
                .unwrap(),
            Err(CodeRefusal::Expired)
        );
        store
            .create_enrolment_code("NEW", &code(2, Duration::hours(1)))
            .await
            .unwrap();
        store.add_player(&player("kita-1"), "first").await.unwrap();
        let id = store
            .request_enrolment("NEW", "second", None, None, None)
            .await
            .unwrap()
            .unwrap();
        let clash = store
            .approve_enrolment(
                &store.enrolment(&id).await.unwrap().unwrap(),
                &player("kita-1"),
                "admin",
            )
            .await;
        assert!(matches!(clash, Err(StoreError::DuplicatePlayer(_))));
        assert_eq!(
            store.enrolment(&id).await.unwrap().unwrap().state,
            EnrolmentState::Waiting,
            "the decision rolled back with the insert"
        );
        assert!(store.verify_player("kita-1", "first").await.unwrap());
        let Decision::Done(rejected) = store
            .reject_enrolment(&id, "admin", "不明な端末")
            .await
            .unwrap()
        else {
            panic!("not rejected")
        };
        assert_eq!(rejected.state, EnrolmentState::Rejected);
    }

    #[tokio::test]
    async fn a_store_from_before_several_groups_keeps_each_players_group() {
        let dir = tempfile::tempdir().unwrap();
        let old = Store::open_through(dir.path(), 47).await.unwrap();
        sqlx::query(
            "INSERT INTO players (id, ward, player_group, token_sha256, created_at, config_revision)
             VALUES ('kita-1', 'kita', 'lobby', $1, '2026-01-01T00:00:00Z', 3),
                    ('kita-2', 'kita', NULL, $1, '2026-01-01T00:00:00Z', 1)",
        )
        .bind(token_digest("secret"))
        .execute(&old.pool)
        .await
        .unwrap();
        old.pool.close().await;
        let store = Store::open(dir.path()).await.unwrap();
        let players = store.players().await.unwrap();
        assert_eq!(players[0].groups, ["lobby"]);
        assert!(players[1].groups.is_empty());
        assert_eq!(players[0].state, PlayerState::Active);
        assert!(store.verify_player("kita-1", "secret").await.unwrap());
        let before = store.roster_revision().await.unwrap();
        store
            .edit_player(
                "kita-2",
                &PlayerEdit {
                    groups: Some(vec!["counters".into()]),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(
            store.roster_revision().await.unwrap() > before,
            "the trigger follows the new column"
        );
    }

    #[tokio::test]
    async fn edits_revocation_restarts_and_retirement_reach_configs_logins_and_targets() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        store.add_player(&player("kita-1"), "secret").await.unwrap();
        let before = store.desired_configs().await.unwrap()[0].revision;
        let roster = store.roster_revision().await.unwrap();
        assert!(
            store
                .edit_player(
                    "kita-1",
                    &PlayerEdit {
                        name: Some("".into()),
                        ward: Some("naniwa".into()),
                        groups: Some(vec!["counters".into()]),
                    },
                )
                .await
                .unwrap()
        );
        let config = store.desired_configs().await.unwrap().remove(0);
        assert!(config.revision > before);
        assert_eq!(
            (config.ward.as_deref(), config.groups, config.name),
            (Some("naniwa"), vec!["counters".to_owned()], None)
        );
        assert!(store.roster_revision().await.unwrap() > roster);

        assert_eq!(store.request_restart("kita-1").await.unwrap(), Some(1));
        assert_eq!(store.desired_configs().await.unwrap()[0].restarts, 1);

        assert!(store.revoke_player("kita-1").await.unwrap());
        assert!(!store.verify_player("kita-1", "secret").await.unwrap());
        assert!(!store.verify_player("kita-1", "revoked").await.unwrap());
        assert_eq!(store.request_restart("kita-1").await.unwrap(), None);
        assert!(store.reissue_player("kita-1", "fresh").await.unwrap());
        assert!(store.verify_player("kita-1", "fresh").await.unwrap());
        assert!(!store.verify_player("kita-1", "secret").await.unwrap());

        assert!(store.retire_player("kita-1").await.unwrap());
        assert!(!store.verify_player("kita-1", "fresh").await.unwrap());
        assert!(store.desired_configs().await.unwrap().is_empty());
        assert!(store.player_targets().await.unwrap().is_empty());
        assert_eq!(store.player_counts().await.unwrap(), (0, 0));
        assert!(!store.reissue_player("kita-1", "again").await.unwrap());
        let listed = store.players().await.unwrap();
        assert_eq!(listed[0].state, PlayerState::Retired, "kept for history");
    }
}

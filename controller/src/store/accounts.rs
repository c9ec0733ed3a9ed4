//! Staff accounts, console sessions, API tokens and the append-only audit log.
//!
//! Passwords are hashed with argon2id (slow on purpose: they are guessable); session ids and
//! API tokens are 256-bit random, so their SHA-256 is enough and keeps every request cheap.

use alerts::lifecycle::Role;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{Result, Store, StoreError, parse_time, token_digest};

fn key(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::Pr => "pr",
        Role::Approver => "approver",
        Role::Disaster => "disaster",
        Role::Viewer => "viewer",
    }
}

pub fn parse_role(text: &str) -> Option<Role> {
    match text {
        "admin" => Some(Role::Admin),
        "pr" => Some(Role::Pr),
        "approver" => Some(Role::Approver),
        "disaster" => Some(Role::Disaster),
        "viewer" => Some(Role::Viewer),
        _ => None,
    }
}

fn stored_role(text: &str) -> Result<Role> {
    parse_role(text).ok_or_else(|| StoreError::Corrupt(format!("unknown role {text:?}")))
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Account {
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    pub account: String,
    pub role: Role,
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewToken {
    pub role: Role,
    pub label: String,
    pub created_by: String,
    /// After this the token no longer works; `None`: until revoked.
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TokenInfo {
    pub id: String,
    pub role: Role,
    pub label: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// One action to record.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    pub actor: &'a str,
    pub role: Option<Role>,
    pub action: &'a str,
    pub target: Option<&'a str>,
    /// `ok`, `refused` or `failed`.
    pub outcome: &'a str,
    pub detail: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AuditRecord {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub role: Option<Role>,
    pub action: String,
    pub target: Option<String>,
    pub outcome: String,
    pub detail: Option<serde_json::Value>,
}

fn hash_password(password: &str) -> Result<String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Corrupt(format!("cannot hash the password: {e}")))
}

fn password_matches(password: &str, hash: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash).is_ok_and(|parsed| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A fixed hash to verify against when the account does not exist, so that a wrong name
/// costs as long as a wrong password (no account enumeration by timing).
/// argon2 checks at once: each takes tens of milliseconds of a core, so a login flood queues
/// here instead of taking every core from alerts and the broker.
static ARGON2_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Checks a password on a blocking thread (argon2 must not hold up the async workers), at
/// most [`ARGON2_SLOTS`] at a time.
async fn verify_off_workers(password: &str, hash: String) -> bool {
    let Ok(_slot) = ARGON2_SLOTS.acquire().await else {
        return false;
    };
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || password_matches(&password, &hash))
        .await
        .unwrap_or(false)
}

fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password").expect("argon2 hashes"))
}

impl Store {
    /// Creates an account, or replaces the role and password of an existing one.
    pub async fn upsert_account(&self, name: &str, role: Role, password: &str) -> Result<()> {
        let hash = hash_password(password)?;
        sqlx::query(
            "INSERT INTO accounts (name, role, password_hash, disabled, created_at)
             VALUES ($1, $2, $3, 0, $4)
             ON CONFLICT (name) DO UPDATE SET role = $2, password_hash = $3, disabled = 0",
        )
        .bind(name)
        .bind(role_name(role))
        .bind(hash)
        .bind(key(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn account_exists(&self, name: &str) -> Result<bool> {
        let found: Option<String> = sqlx::query_scalar("SELECT name FROM accounts WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    /// Changes role or disabled flag; returns false when the account does not exist.
    pub async fn update_account(
        &self,
        name: &str,
        role: Option<Role>,
        disabled: Option<bool>,
        password: Option<&str>,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let exists: Option<String> =
            sqlx::query_scalar("SELECT name FROM accounts WHERE name = $1")
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
        if exists.is_none() {
            return Ok(false);
        }
        if let Some(role) = role {
            sqlx::query("UPDATE accounts SET role = $1 WHERE name = $2")
                .bind(role_name(role))
                .bind(name)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(disabled) = disabled {
            sqlx::query("UPDATE accounts SET disabled = $1 WHERE name = $2")
                .bind(i64::from(disabled))
                .bind(name)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(password) = password {
            sqlx::query("UPDATE accounts SET password_hash = $1 WHERE name = $2")
                .bind(hash_password(password)?)
                .bind(name)
                .execute(&mut *tx)
                .await?;
        }
        if role.is_some() || disabled == Some(true) || password.is_some() {
            // A changed account logs in again: its sessions no longer reflect it.
            sqlx::query("DELETE FROM sessions WHERE account = $1")
                .bind(name)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    pub async fn accounts(&self) -> Result<Vec<Account>> {
        let rows =
            sqlx::query("SELECT name, role, disabled, created_at FROM accounts ORDER BY name")
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|row| {
                Ok(Account {
                    name: row.try_get("name")?,
                    role: stored_role(&row.try_get::<String, _>("role")?)?,
                    disabled: row.try_get::<i64, _>("disabled")? != 0,
                    created_at: parse_time(Some(row.try_get("created_at")?))?
                        .expect("Some in, Some out"),
                })
            })
            .collect()
    }

    pub async fn account_count(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    /// The account's role when the name and password match an enabled account.
    pub async fn check_password(&self, name: &str, password: &str) -> Result<Option<Role>> {
        let row = sqlx::query("SELECT role, password_hash, disabled FROM accounts WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            // The same work for an unknown account, so timing does not tell names apart.
            let _ = verify_off_workers(password, decoy_hash().to_string()).await;
            return Ok(None);
        };
        let hash: String = row.try_get("password_hash")?;
        let disabled = row.try_get::<i64, _>("disabled")? != 0;
        let role = stored_role(&row.try_get::<String, _>("role")?)?;
        let ok = verify_off_workers(password, hash).await;
        Ok((ok && !disabled).then_some(role))
    }

    pub async fn create_session(
        &self,
        session_id: &str,
        account: &str,
        csrf: &str,
        lifetime: Duration,
    ) -> Result<()> {
        let now = Utc::now();
        // Expired sessions are dropped here, so the table never grows without bound.
        sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(key(now))
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (id_sha256, account, csrf, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_digest(session_id))
        .bind(account)
        .bind(csrf)
        .bind(key(now))
        .bind(key(now + lifetime))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The live session of an enabled account, if `session_id` names one.
    pub async fn session(&self, session_id: &str) -> Result<Option<SessionRecord>> {
        let row = sqlx::query(
            "SELECT s.account, s.csrf, s.expires_at, a.role FROM sessions s
             JOIN accounts a ON a.name = s.account
             WHERE s.id_sha256 = $1 AND a.disabled = 0 AND s.expires_at > $2",
        )
        .bind(token_digest(session_id))
        .bind(key(Utc::now()))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(SessionRecord {
                account: row.try_get("account")?,
                role: stored_role(&row.try_get::<String, _>("role")?)?,
                csrf: row.try_get("csrf")?,
                expires_at: parse_time(Some(row.try_get("expires_at")?))?
                    .expect("Some in, Some out"),
            })
        })
        .transpose()
    }

    pub async fn delete_session(&self, session_id: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id_sha256 = $1")
            .bind(token_digest(session_id))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Stores a new token; returns its id (the token itself is shown once, by the caller).
    pub async fn create_token(&self, token: &str, new: &NewToken) -> Result<String> {
        let id = format!("tok-{}", &token_digest(token)[..12]);
        sqlx::query(
            "INSERT INTO api_tokens (id, token_sha256, role, label, created_by, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(token_digest(token))
        .bind(role_name(new.role))
        .bind(&new.label)
        .bind(&new.created_by)
        .bind(key(Utc::now()))
        .bind(new.expires_at.map(key))
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// The token's id, role and the account that created it (`None` when made on the command
    /// line), unless unknown, revoked, expired, or made by an account since disabled.
    pub async fn check_token(&self, token: &str) -> Result<Option<(String, Role, Option<String>)>> {
        let row = sqlx::query(
            "SELECT id, role,
                    (SELECT a.name FROM accounts a WHERE a.name = t.created_by) AS creator
             FROM api_tokens t
             WHERE token_sha256 = $1 AND revoked_at IS NULL
               AND (expires_at IS NULL OR expires_at > $2)
               AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.name = t.created_by AND a.disabled != 0)",
        )
        .bind(token_digest(token))
        .bind(key(Utc::now()))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok((
                row.try_get("id")?,
                stored_role(&row.try_get::<String, _>("role")?)?,
                row.try_get("creator")?,
            ))
        })
        .transpose()
    }

    pub async fn tokens(&self) -> Result<Vec<TokenInfo>> {
        let rows = sqlx::query(
            "SELECT id, role, label, created_by, created_at, revoked_at, expires_at FROM api_tokens ORDER BY created_at",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(TokenInfo {
                    id: row.try_get("id")?,
                    role: stored_role(&row.try_get::<String, _>("role")?)?,
                    label: row.try_get("label")?,
                    created_by: row.try_get("created_by")?,
                    created_at: parse_time(Some(row.try_get("created_at")?))?
                        .expect("Some in, Some out"),
                    revoked_at: parse_time(row.try_get("revoked_at")?)?,
                    expires_at: parse_time(row.try_get("expires_at")?)?,
                })
            })
            .collect()
    }

    /// Returns false when no live token has this id.
    pub async fn revoke_token(&self, id: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(key(Utc::now()))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Appends one entry to the audit log.
    pub async fn audit(&self, entry: &AuditEntry<'_>) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_log (at, actor, role, action, target, outcome, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(key(Utc::now()))
        .bind(entry.actor)
        .bind(entry.role.map(role_name))
        .bind(entry.action)
        .bind(entry.target)
        .bind(entry.outcome)
        .bind(entry.detail.as_ref().map(|d| d.to_string()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The newest `limit` entries before `before` (a `seq`), newest first.
    pub async fn audit_log(&self, before: Option<i64>, limit: u32) -> Result<Vec<AuditRecord>> {
        let rows = sqlx::query(
            "SELECT seq, at, actor, role, action, target, outcome, detail FROM audit_log
             WHERE seq < $1 ORDER BY seq DESC LIMIT $2",
        )
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                let role: Option<String> = row.try_get("role")?;
                let detail: Option<String> = row.try_get("detail")?;
                Ok(AuditRecord {
                    seq: row.try_get("seq")?,
                    at: parse_time(Some(row.try_get("at")?))?.expect("Some in, Some out"),
                    actor: row.try_get("actor")?,
                    role: role.as_deref().map(stored_role).transpose()?,
                    action: row.try_get("action")?,
                    target: row.try_get("target")?,
                    outcome: row.try_get("outcome")?,
                    detail: detail.and_then(|d| serde_json::from_str(&d).ok()),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_sessions_tokens_and_audit() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        store
            .upsert_account("yamada", Role::Disaster, "correct horse")
            .await
            .unwrap();
        assert_eq!(
            store
                .check_password("yamada", "correct horse")
                .await
                .unwrap(),
            Some(Role::Disaster)
        );
        assert_eq!(store.check_password("yamada", "wrong").await.unwrap(), None);
        assert_eq!(
            store
                .check_password("nobody", "correct horse")
                .await
                .unwrap(),
            None
        );

        store
            .create_session("sess", "yamada", "csrf1", Duration::hours(1))
            .await
            .unwrap();
        let session = store.session("sess").await.unwrap().unwrap();
        assert_eq!(
            (session.account.as_str(), session.role),
            ("yamada", Role::Disaster)
        );
        assert!(store.session("other").await.unwrap().is_none());
        // Disabling the account ends its sessions and its logins.
        assert!(
            store
                .update_account("yamada", None, Some(true), None)
                .await
                .unwrap()
        );
        assert!(store.session("sess").await.unwrap().is_none());
        assert_eq!(
            store
                .check_password("yamada", "correct horse")
                .await
                .unwrap(),
            None
        );
        assert!(
            !store
                .update_account("nobody", Some(Role::Pr), None, None)
                .await
                .unwrap()
        );

        let new = NewToken {
            role: Role::Viewer,
            label: "wall".into(),
            created_by: "cli".into(),
            expires_at: Some(Utc::now() + Duration::hours(1)),
        };
        let id = store.create_token("secret-token", &new).await.unwrap();
        assert_eq!(
            store.check_token("secret-token").await.unwrap(),
            Some((id.clone(), Role::Viewer, None))
        );
        assert!(store.revoke_token(&id).await.unwrap());
        assert_eq!(store.check_token("secret-token").await.unwrap(), None);
        // Expired, or made by an account disabled since (yamada, above): refused.
        let expired = NewToken {
            role: Role::Viewer,
            label: "old".into(),
            created_by: "cli".into(),
            expires_at: Some(Utc::now() - Duration::seconds(1)),
        };
        store.create_token("expired-token", &expired).await.unwrap();
        assert_eq!(store.check_token("expired-token").await.unwrap(), None);
        let orphan = NewToken {
            role: Role::Disaster,
            label: "yamada's script".into(),
            created_by: "yamada".into(),
            expires_at: None,
        };
        store.create_token("orphan-token", &orphan).await.unwrap();
        assert_eq!(store.check_token("orphan-token").await.unwrap(), None);
        store
            .update_account("yamada", None, Some(false), None)
            .await
            .unwrap();
        assert!(store.check_token("orphan-token").await.unwrap().is_some());

        for action in ["login", "alert.issue"] {
            store
                .audit(&AuditEntry {
                    actor: "yamada",
                    role: Some(Role::Disaster),
                    action,
                    target: None,
                    outcome: "ok",
                    detail: Some(serde_json::json!({"n": 1})),
                })
                .await
                .unwrap();
        }
        let log = store.audit_log(None, 10).await.unwrap();
        assert_eq!(
            log.iter().map(|r| r.action.as_str()).collect::<Vec<_>>(),
            ["alert.issue", "login"]
        );
        assert_eq!(
            store.audit_log(Some(log[0].seq), 10).await.unwrap().len(),
            1
        );
    }
}

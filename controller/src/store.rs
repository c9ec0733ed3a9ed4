//! The controller's durable state, behind one type so the database can change.
//!
//! SQLite in the data directory is the default. The SQL is kept portable (TEXT timestamps in
//! RFC 3339, INTEGER booleans, `$n` placeholders, no SQLite-only functions) so that a
//! PostgreSQL implementation of the same queries can replace it.

use std::path::Path;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use content::protocol::{Ack, DesiredConfig, Hello, PlayerId};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("player {0} is already registered")]
    DuplicatePlayer(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored row is corrupt: {0}")]
    Corrupt(String),
}

type Result<T> = std::result::Result<T, StoreError>;

/// Schema changes in order; each runs once, recorded in `schema_migrations`.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "CREATE TABLE players (
        id TEXT PRIMARY KEY,
        ward TEXT,
        player_group TEXT,
        token_sha256 TEXT NOT NULL,
        created_at TEXT NOT NULL,
        config_revision INTEGER NOT NULL,
        acked_revision INTEGER,
        online INTEGER NOT NULL DEFAULT 0,
        session TEXT,
        last_seen TEXT,
        version TEXT,
        hello TEXT
    )",
    ),
    // Uploaded files, stored once by content hash under `content/blobs/{sha256}`.
    (
        2,
        "CREATE TABLE blobs (
        sha256 TEXT PRIMARY KEY,
        size_bytes INTEGER NOT NULL,
        media_type TEXT NOT NULL,
        created_at TEXT NOT NULL
    )",
    ),
    // Assets, playlists, layouts and schedule entries as validated JSON of the content crate.
    (
        3,
        "CREATE TABLE content_objects (
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        body TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (kind, id)
    )",
    ),
    (
        4,
        "CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ),
    (
        5,
        "CREATE TABLE manifests (
        player_id TEXT PRIMARY KEY,
        revision INTEGER NOT NULL,
        content_sha256 TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        body TEXT NOT NULL,
        acked_revision INTEGER
    )",
    ),
    (
        6,
        "CREATE TABLE plays (
        player_id TEXT NOT NULL,
        id TEXT NOT NULL,
        layout_id TEXT NOT NULL,
        zone_id TEXT NOT NULL,
        playlist_id TEXT NOT NULL,
        item INTEGER NOT NULL,
        asset_id TEXT NOT NULL,
        entry_id TEXT,
        start_at TEXT NOT NULL,
        end_at TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (player_id, id)
    )",
    ),
    (7, "ALTER TABLE players ADD COLUMN now_showing TEXT"),
    (
        8,
        "CREATE TABLE content_revision (singleton INTEGER PRIMARY KEY, revision INTEGER NOT NULL)",
    ),
    // People counts, one row per player and sequence number; `body` is the record's JSON.
    (
        9,
        "CREATE TABLE counts (
        player_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        start_at TEXT NOT NULL,
        end_at TEXT NOT NULL,
        body TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (player_id, seq)
    )",
    ),
    // Staff accounts (argon2id hashes) for the console and the API. 10-19: accounts.
    (
        10,
        "CREATE TABLE accounts (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    )",
    ),
    // Console sessions: only the SHA-256 of the cookie value is stored.
    (
        11,
        "CREATE TABLE sessions (
        id_sha256 TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        csrf TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    )",
    ),
    // API tokens for automation, each with one role; only the SHA-256 is stored.
    (
        12,
        "CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        token_sha256 TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,
        label TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    )",
    ),
    // Append-only: rows are inserted, never updated or deleted (no API does either).
    (
        13,
        "CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        role TEXT,
        action TEXT NOT NULL,
        target TEXT,
        outcome TEXT NOT NULL,
        detail TEXT
    )",
    ),
    // 20-29: alerts (controller/src/store/alerts.rs). One row per alert: the lifecycle's
    // record as JSON, written before any broadcast so a restart resumes every live alert.
    (
        20,
        "CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        record TEXT NOT NULL,
        phase TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )",
    ),
    // The latest acknowledgement of each player for each alert.
    (
        21,
        "CREATE TABLE alert_acks (
        alert_id TEXT NOT NULL,
        player_id TEXT NOT NULL,
        revision INTEGER NOT NULL,
        state TEXT NOT NULL,
        displayed_at TEXT,
        at TEXT NOT NULL,
        error TEXT,
        PRIMARY KEY (alert_id, player_id)
    )",
    ),
    // When the controller heard each acknowledgement (the player's own `at` is when it sent).
    (22, "ALTER TABLE alert_acks ADD COLUMN received_at TEXT"),
    // Increases whenever a player is added or removed or its ward, group or configuration
    // changes, by whichever process writes (`player add` runs beside the controller): the
    // fleet reads this one number every tick instead of the whole roster.
    (
        23,
        "CREATE TABLE roster_revision (singleton INTEGER PRIMARY KEY, revision INTEGER NOT NULL)",
    ),
    (
        24,
        "INSERT INTO roster_revision (singleton, revision) VALUES (1, 1)",
    ),
    (
        25,
        "CREATE TRIGGER roster_added AFTER INSERT ON players BEGIN
        UPDATE roster_revision SET revision = revision + 1 WHERE singleton = 1;
    END",
    ),
    (
        26,
        "CREATE TRIGGER roster_removed AFTER DELETE ON players BEGIN
        UPDATE roster_revision SET revision = revision + 1 WHERE singleton = 1;
    END",
    ),
    (
        27,
        "CREATE TRIGGER roster_changed AFTER UPDATE OF id, ward, player_group, config_revision ON players BEGIN
        UPDATE roster_revision SET revision = revision + 1 WHERE singleton = 1;
    END",
    ),
    (28, "ALTER TABLE api_tokens ADD COLUMN expires_at TEXT"),
    // 30-39: people-flow history.
    // 40-49: documents from feeds and relays (controller/src/store/intake.rs). Each document
    // once, by the SHA-256 of its bytes, with what was decided; the body is kept when it
    // touched an alert (the console shows the original).
    (
        40,
        "CREATE TABLE intake_documents (
        digest TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        received_at TEXT NOT NULL,
        caller TEXT NOT NULL,
        event_key TEXT,
        reported_at TEXT,
        decision TEXT NOT NULL,
        reason TEXT NOT NULL,
        alert_id TEXT,
        content_type TEXT NOT NULL,
        body TEXT NOT NULL
    )",
    ),
    (
        41,
        "CREATE INDEX intake_documents_alert ON intake_documents (alert_id)",
    ),
    // The last document applied to each JMA event, and the alert it drives.
    (
        42,
        "CREATE TABLE jma_events (
        event_key TEXT PRIMARY KEY,
        alert_id TEXT NOT NULL,
        reported_at TEXT NOT NULL,
        serial TEXT
    )",
    ),
    // Polled Atom feeds: conditional-request validators, and every entry already taken.
    (
        43,
        "CREATE TABLE feed_state (
        url TEXT PRIMARY KEY,
        etag TEXT,
        last_modified TEXT,
        checked_at TEXT NOT NULL
    )",
    ),
    (
        44,
        "CREATE TABLE feed_entries (
        url TEXT NOT NULL,
        entry_id TEXT NOT NULL,
        updated TEXT NOT NULL,
        taken_at TEXT NOT NULL,
        PRIMARY KEY (url, entry_id, updated)
    )",
    ),
    // When the sweep first found the file used by no asset (cleared when one uses it again).
    (45, "ALTER TABLE blobs ADD COLUMN unused_since TEXT"),
    // Content changes by `pr` accounts waiting for (or decided by) an approver.
    (
        46,
        "CREATE TABLE content_changes (
        id TEXT PRIMARY KEY,
        author TEXT NOT NULL,
        state TEXT NOT NULL,
        changes TEXT NOT NULL,
        revision INTEGER NOT NULL,
        note TEXT,
        comment TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        decided_by TEXT,
        decided_at TEXT
    )",
    ),
    (
        47,
        "CREATE INDEX content_changes_open ON content_changes (state, author)",
    ),
    // 50-59: fleet management (controller/src/store/fleet.rs). A player is in any number of
    // groups (a JSON array), has a name staff know it by, a state (active, revoked: its
    // credentials no longer work, retired: out of the fleet, kept for history) and a count of
    // restarts asked of it.
    (
        50,
        "ALTER TABLE players ADD COLUMN groups TEXT NOT NULL DEFAULT '[]'",
    ),
    (
        51,
        "UPDATE players SET groups = json_array(player_group) WHERE player_group IS NOT NULL",
    ),
    (52, "DROP TRIGGER roster_changed"),
    (53, "ALTER TABLE players DROP COLUMN player_group"),
    (54, "ALTER TABLE players ADD COLUMN name TEXT"),
    (
        55,
        "ALTER TABLE players ADD COLUMN state TEXT NOT NULL DEFAULT 'active'",
    ),
    (
        56,
        "ALTER TABLE players ADD COLUMN restarts INTEGER NOT NULL DEFAULT 0",
    ),
    (
        57,
        "CREATE TRIGGER roster_changed AFTER UPDATE OF id, ward, groups, config_revision, state ON players BEGIN
        UPDATE roster_revision SET revision = revision + 1 WHERE singleton = 1;
    END",
    ),
    // One-time enrolment codes (only their SHA-256) and the requests made with them: a new
    // player waits there, with the SHA-256 of the password it chose, until an admin approves.
    (
        58,
        "CREATE TABLE enrolment_codes (
        id TEXT PRIMARY KEY,
        code_sha256 TEXT NOT NULL UNIQUE,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        uses_left INTEGER NOT NULL,
        ward TEXT,
        groups TEXT NOT NULL,
        note TEXT
    )",
    ),
    (
        59,
        "CREATE TABLE enrolments (
        id TEXT PRIMARY KEY,
        code_id TEXT NOT NULL,
        token_sha256 TEXT NOT NULL,
        requested_at TEXT NOT NULL,
        proposed_name TEXT,
        hello TEXT,
        address TEXT,
        state TEXT NOT NULL,
        decided_by TEXT,
        decided_at TEXT,
        reason TEXT,
        player_id TEXT
    )",
    ),
    // Player builds an admin uploaded, each with the statement the controller signed for it,
    // and the build each player is offered (store/builds.rs).
    (
        60,
        "CREATE TABLE player_builds (
        version TEXT PRIMARY KEY,
        sha256 TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        statement TEXT NOT NULL,
        signature TEXT NOT NULL,
        uploaded_by TEXT NOT NULL,
        uploaded_at TEXT NOT NULL,
        note TEXT
    )",
    ),
    (
        61,
        "ALTER TABLE players ADD COLUMN build TEXT",
    ),
];

pub mod accounts;
pub mod alerts;
pub mod builds;
mod catalog;
mod counts;
pub mod drafts;
pub mod fleet;
pub mod intake;
pub use accounts::{Account, AuditEntry, AuditRecord, NewToken, SessionRecord, TokenInfo};
pub use catalog::{Blob, ObjectKind, PlaysCursor, PutOutcome, StoredManifest};
pub use counts::CountsStored;

/// A registered player as the API shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PlayerRecord {
    pub id: String,
    /// What staff call the screen.
    pub name: Option<String>,
    pub ward: Option<String>,
    pub groups: Vec<String>,
    pub state: fleet::PlayerState,
    /// Restarts asked of it so far (see `DesiredConfig::restarts`).
    pub restarts: u64,
    pub online: bool,
    pub last_seen: Option<DateTime<Utc>>,
    pub version: Option<String>,
    /// The build it is offered (see `store::builds`); None keeps what runs.
    pub build: Option<String>,
    pub config_revision: u64,
    pub acked_revision: Option<u64>,
    /// The player's last hello: capabilities, screen, display mode.
    pub hello: Option<Hello>,
    pub created_at: DateTime<Utc>,
}

/// What `player add` registers.
#[derive(Debug, Clone)]
pub struct NewPlayer {
    pub id: PlayerId,
    pub ward: Option<String>,
    pub groups: Vec<String>,
    pub name: Option<String>,
}

/// What changed when a presence message was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresenceChange {
    Applied,
    /// An offline message from an older session than the one online now: a late Last Will.
    StaleIgnored,
    UnknownPlayer,
}

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
}

fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn parse_time(s: Option<String>) -> Result<Option<DateTime<Utc>>> {
    s.map(|s| {
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| StoreError::Corrupt(format!("timestamp {s:?}: {e}")))
    })
    .transpose()
}

/// The data directory holds keys, password hashes and sessions: owner-only (0700), and the
/// database 0600 before SQLite first opens it (its WAL and shared-memory files take the
/// database's mode).
fn private_files(data_dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::create_dir_all(data_dir)?;
    std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700))?;
    let db = data_dir.join("controller.db");
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&db)?;
    for file in ["controller.db", "controller.db-wal", "controller.db-shm"] {
        let path = data_dir.join(file);
        if path.exists() {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

impl Store {
    /// Opens (creating if needed) `controller.db` in the data directory and migrates it.
    pub async fn open(data_dir: &Path) -> Result<Store> {
        private_files(data_dir).map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(data_dir.join("controller.db"))
            .create_if_missing(true)
            // WAL lets `player add` write while a running controller reads.
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        let store = Store { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        self.migrate_through(i64::MAX).await
    }

    /// A store as an older controller left it: migrations up to `last` only.
    #[cfg(test)]
    pub(crate) async fn open_through(data_dir: &Path, last: i64) -> Result<Store> {
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(data_dir.join("controller.db"))
            .create_if_missing(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        let old = Store { pool };
        old.migrate_through(last).await?;
        Ok(old)
    }

    async fn migrate_through(&self, last: i64) -> Result<()> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
        )
        .execute(&self.pool)
        .await?;
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v <= last) {
            let mut tx = self.pool.begin().await?;
            let done: Option<i64> =
                sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                    .bind(version)
                    .fetch_optional(&mut *tx)
                    .await?;
            if done.is_none() {
                sqlx::query(sql).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                    .bind(version)
                    .bind(Utc::now().to_rfc3339())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }

    /// How many players are registered and how many are online; for the health endpoint,
    /// which must stay cheap with thousands of players.
    pub async fn player_counts(&self) -> Result<(u64, u64)> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS total, COALESCE(SUM(online), 0) AS online FROM players
             WHERE state <> 'retired'",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((
            row.try_get::<i64, _>("total")? as u64,
            row.try_get::<i64, _>("online")? as u64,
        ))
    }

    /// Registers a player with the token it will log in with. Only the token's SHA-256 is
    /// stored: tokens are 256-bit random, so a fast hash is enough and keeps logins cheap.
    pub async fn add_player(&self, new: &NewPlayer, token: &str) -> Result<()> {
        let result = sqlx::query(
            "INSERT INTO players (id, ward, groups, name, token_sha256, created_at, config_revision)
             VALUES ($1, $2, $3, $4, $5, $6, 1)",
        )
        .bind(new.id.as_str())
        .bind(&new.ward)
        .bind(fleet::groups_json(&new.groups))
        .bind(&new.name)
        .bind(token_digest(token))
        .bind(Utc::now().to_rfc3339())
        .execute(&self.pool)
        .await;
        match result {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::DuplicatePlayer(new.id.to_string()))
            }
            other => other.map(|_| ()).map_err(StoreError::from),
        }
    }

    /// Checks a player's MQTT login (a revoked or retired player's never passes).
    pub async fn verify_player(&self, id: &str, token: &str) -> Result<bool> {
        let stored: Option<String> = sqlx::query_scalar(
            "SELECT token_sha256 FROM players WHERE id = $1 AND state = 'active'",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(stored.is_some_and(|digest| digest == token_digest(token)))
    }

    pub async fn is_registered(&self, id: &str) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM players WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    pub async fn players(&self) -> Result<Vec<PlayerRecord>> {
        self.players_where("TRUE", None).await
    }

    /// One registered player, retired ones included.
    pub async fn player(&self, id: &str) -> Result<Option<PlayerRecord>> {
        Ok(self.players_where("id = $1", Some(id)).await?.pop())
    }

    async fn players_where(&self, condition: &str, id: Option<&str>) -> Result<Vec<PlayerRecord>> {
        let sql = format!(
            "SELECT id, name, ward, groups, state, restarts, online, last_seen, version, build,
                    config_revision, acked_revision, hello, created_at
             FROM players WHERE {condition} ORDER BY id"
        );
        let mut query = sqlx::query(&sql);
        if let Some(id) = id {
            query = query.bind(id);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.into_iter()
            .map(|row| {
                let hello: Option<String> = row.try_get("hello")?;
                Ok(PlayerRecord {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    ward: row.try_get("ward")?,
                    groups: fleet::parse_groups(&row.try_get::<String, _>("groups")?)?,
                    state: fleet::PlayerState::parse(&row.try_get::<String, _>("state")?)?,
                    restarts: row.try_get::<i64, _>("restarts")? as u64,
                    online: row.try_get::<i64, _>("online")? != 0,
                    last_seen: parse_time(row.try_get("last_seen")?)?,
                    version: row.try_get("version")?,
                    build: row.try_get("build")?,
                    config_revision: row.try_get::<i64, _>("config_revision")? as u64,
                    acked_revision: row
                        .try_get::<Option<i64>, _>("acked_revision")?
                        .map(|r| r as u64),
                    hello: hello.and_then(|h| serde_json::from_str(&h).ok()),
                    created_at: parse_time(Some(row.try_get("created_at")?))?
                        .expect("Some in, Some out"),
                })
            })
            .collect()
    }

    /// The desired configuration of every player, for (re)publishing.
    /// Changes whenever [`Store::desired_configs`] or [`Store::player_targets`] would (see
    /// migration 23).
    pub async fn roster_revision(&self) -> Result<u64> {
        let revision: i64 =
            sqlx::query_scalar("SELECT revision FROM roster_revision WHERE singleton = 1")
                .fetch_one(&self.pool)
                .await?;
        Ok(revision as u64)
    }

    /// Retired players get none: they are out of the fleet.
    pub async fn desired_configs(&self) -> Result<Vec<DesiredConfig>> {
        let rows = sqlx::query(
            "SELECT p.id, p.name, p.ward, p.groups, p.restarts, p.config_revision,
                    b.statement, b.signature
             FROM players p LEFT JOIN player_builds b ON b.version = p.build
             WHERE p.state <> 'retired' ORDER BY p.id",
        )
        .fetch_all(&self.pool)
        .await?;
        let now = Utc::now();
        rows.into_iter()
            .map(|row| {
                let id: String = row.try_get("id")?;
                Ok(DesiredConfig {
                    id: id
                        .parse()
                        .map_err(|e| StoreError::Corrupt(format!("{e}")))?,
                    revision: row.try_get::<i64, _>("config_revision")? as u64,
                    ward: row.try_get("ward")?,
                    groups: fleet::parse_groups(&row.try_get::<String, _>("groups")?)?,
                    name: row.try_get("name")?,
                    restarts: row.try_get::<i64, _>("restarts")? as u64,
                    build: row
                        .try_get::<Option<String>, _>("statement")?
                        .zip(row.try_get::<Option<String>, _>("signature")?)
                        .map(|(payload, signature)| content::protocol::SignedEnvelope {
                            payload,
                            signature,
                        }),
                    issued_at: now,
                })
            })
            .collect()
    }

    /// At start nobody is known to be online; the broker's retained presence (or the players'
    /// reconnection to a new embedded broker) tells the truth within seconds.
    pub async fn mark_all_offline(&self) -> Result<()> {
        sqlx::query("UPDATE players SET online = 0, session = NULL")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn record_presence(
        &self,
        id: &PlayerId,
        online: bool,
        session: &str,
        at: DateTime<Utc>,
    ) -> Result<PresenceChange> {
        let current: Option<Option<String>> =
            sqlx::query_scalar("SELECT session FROM players WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await?;
        let Some(current_session) = current else {
            return Ok(PresenceChange::UnknownPlayer);
        };
        if !online && current_session.as_deref().is_some_and(|s| s != session) {
            return Ok(PresenceChange::StaleIgnored);
        }
        sqlx::query("UPDATE players SET online = $1, session = $2, last_seen = $3 WHERE id = $4")
            .bind(online as i64)
            .bind(online.then_some(session))
            .bind(at.to_rfc3339())
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(PresenceChange::Applied)
    }

    /// Stores a hello; returns false for an unknown player.
    pub async fn record_hello(&self, hello: &Hello, at: DateTime<Utc>) -> Result<bool> {
        let json = serde_json::to_string(hello).expect("hello serialises");
        let done = sqlx::query(
            "UPDATE players SET version = $1, hello = $2, last_seen = $3 WHERE id = $4",
        )
        .bind(&hello.version)
        .bind(json)
        .bind(at.to_rfc3339())
        .bind(hello.id.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores a successful acknowledgement; returns false for an unknown player.
    pub async fn record_ack(&self, id: &PlayerId, ack: &Ack, at: DateTime<Utc>) -> Result<bool> {
        if ack.subject == content::protocol::AckSubject::Manifest {
            return self.record_manifest_ack(id, ack.revision).await;
        }
        let done =
            sqlx::query("UPDATE players SET acked_revision = $1, last_seen = $2 WHERE id = $3")
                .bind(ack.revision as i64)
                .bind(at.to_rfc3339())
                .bind(id.as_str())
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn the_data_directory_and_database_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        super::Store::open(&data).await.unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        for file in ["controller.db", "controller.db-wal", "controller.db-shm"] {
            let path = data.join(file);
            if path.exists() {
                assert_eq!(mode(&path), 0o600, "{file}");
            }
        }
        assert!(data.join("controller.db").exists());
    }

    use super::*;
    use content::protocol::{DisplayMode, Screen};

    fn new_player(id: &str) -> NewPlayer {
        NewPlayer {
            id: id.parse().unwrap(),
            ward: Some("kita".into()),
            groups: vec![],
            name: None,
        }
    }

    #[tokio::test]
    async fn players_register_once_and_log_in_with_their_token() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        store
            .add_player(&new_player("kita-1"), "secret")
            .await
            .unwrap();
        let again = store.add_player(&new_player("kita-1"), "other").await;
        assert!(matches!(again, Err(StoreError::DuplicatePlayer(_))));
        assert!(store.verify_player("kita-1", "secret").await.unwrap());
        assert!(!store.verify_player("kita-1", "other").await.unwrap());
        assert!(!store.verify_player("naka-1", "secret").await.unwrap());
    }

    #[tokio::test]
    async fn state_survives_reopening_and_migrations_run_once() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).await.unwrap();
            store.add_player(&new_player("kita-1"), "t").await.unwrap();
        }
        let store = Store::open(dir.path()).await.unwrap();
        let players = store.players().await.unwrap();
        assert_eq!(players.len(), 1);
        assert_eq!(players[0].ward.as_deref(), Some("kita"));
        assert_eq!(store.desired_configs().await.unwrap()[0].revision, 1);
    }

    #[tokio::test]
    async fn a_late_last_will_of_an_old_session_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let id: PlayerId = "kita-1".parse().unwrap();
        store.add_player(&new_player("kita-1"), "t").await.unwrap();
        let now = Utc::now();
        assert_eq!(
            store.record_presence(&id, true, "s2", now).await.unwrap(),
            PresenceChange::Applied
        );
        assert_eq!(
            store.record_presence(&id, false, "s1", now).await.unwrap(),
            PresenceChange::StaleIgnored
        );
        assert!(store.players().await.unwrap()[0].online);
        assert_eq!(
            store.record_presence(&id, false, "s2", now).await.unwrap(),
            PresenceChange::Applied
        );
        assert!(!store.players().await.unwrap()[0].online);
        assert_eq!(store.player_counts().await.unwrap(), (1, 0));
        let ghost: PlayerId = "ghost".parse().unwrap();
        assert_eq!(
            store.record_presence(&ghost, true, "x", now).await.unwrap(),
            PresenceChange::UnknownPlayer
        );
    }

    #[tokio::test]
    async fn the_roster_revision_moves_with_the_roster_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let id: PlayerId = "kita-1".parse().unwrap();
        let start = store.roster_revision().await.unwrap();
        store.add_player(&new_player("kita-1"), "t").await.unwrap();
        let added = store.roster_revision().await.unwrap();
        assert!(added > start);
        // What players report changes other columns, not the roster.
        let now = Utc::now();
        store.record_presence(&id, true, "s1", now).await.unwrap();
        store.mark_all_offline().await.unwrap();
        assert_eq!(store.roster_revision().await.unwrap(), added);
        // `player add` in another process (another connection) is seen too.
        let other = Store::open(dir.path()).await.unwrap();
        other.add_player(&new_player("kita-2"), "t").await.unwrap();
        let second = store.roster_revision().await.unwrap();
        assert!(second > added);
        sqlx::query("UPDATE players SET ward = 'naniwa' WHERE id = 'kita-2'")
            .execute(&other.pool)
            .await
            .unwrap();
        let moved = store.roster_revision().await.unwrap();
        assert!(moved > second);
        sqlx::query("DELETE FROM players WHERE id = 'kita-2'")
            .execute(&other.pool)
            .await
            .unwrap();
        assert!(store.roster_revision().await.unwrap() > moved);
    }

    #[tokio::test]
    async fn hello_and_ack_update_the_record() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        store.add_player(&new_player("kita-1"), "t").await.unwrap();
        let hello = Hello {
            id: "kita-1".parse().unwrap(),
            version: "9.9.9".into(),
            capabilities: vec![],
            screen: Screen {
                width: 1080,
                height: 1920,
            },
            display: DisplayMode::Headless,
            started_at: Utc::now(),
            config_revision: None,
            failed_build: None,
        };
        assert!(store.record_hello(&hello, Utc::now()).await.unwrap());
        let ack = Ack {
            subject: content::protocol::AckSubject::Config,
            revision: 1,
            ok: true,
            error: None,
        };
        assert!(store.record_ack(&hello.id, &ack, Utc::now()).await.unwrap());
        let p = &store.players().await.unwrap()[0];
        assert_eq!(p.version.as_deref(), Some("9.9.9"));
        assert_eq!(p.acked_revision, Some(1));
        assert_eq!(p.hello.as_ref().unwrap().screen.height, 1920);
        assert!(p.last_seen.is_some());
    }

    #[tokio::test]
    async fn plays_are_stored_exactly_once_and_content_changes_bump_the_revision() {
        use content::protocol::PlayRecord;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let id: PlayerId = "kita-1".parse().unwrap();
        let record = |n: u32| PlayRecord {
            id: format!("r{n}"),
            layout: "l".into(),
            zone: "z".into(),
            playlist: "p".into(),
            item: 0,
            asset: "a".into(),
            entry: None,
            start: Utc::now(),
            end: Utc::now(),
        };
        assert_eq!(
            store
                .insert_plays(&id, &[record(1), record(2)])
                .await
                .unwrap(),
            2
        );
        // The same batch again (its acknowledgement was lost) plus one new record.
        assert_eq!(
            store
                .insert_plays(&id, &[record(1), record(2), record(3)])
                .await
                .unwrap(),
            1
        );
        assert_eq!(store.plays(&id, None, 100).await.unwrap().len(), 3);
        // Pages of two: the cursor of the last play of a page starts the next one.
        let first = store.plays(&id, None, 2).await.unwrap();
        assert_eq!(first.len(), 2);
        let cursor = PlaysCursor::parse(&PlaysCursor::after(&first[1]).to_string()).unwrap();
        let rest = store.plays(&id, Some(&cursor), 2).await.unwrap();
        assert_eq!(rest.len(), 1);
        assert!(first.iter().all(|p| p.id != rest[0].id));

        assert_eq!(store.content_revision().await.unwrap(), 0);
        let layout: LayoutIdForTest = "l".into();
        store.set_fallback_layout(&layout).await.unwrap();
        assert_eq!(store.content_revision().await.unwrap(), 1);
        let again = store
            .put_object(ObjectKind::Entry, "e", &serde_json::json!({}), true)
            .await
            .unwrap();
        assert_eq!(again, Some(PutOutcome::Created));
        let refused = store
            .put_object(ObjectKind::Entry, "e", &serde_json::json!({}), true)
            .await
            .unwrap();
        assert_eq!(refused, None, "create-only keeps the existing object");
        assert_eq!(
            store.content_revision().await.unwrap(),
            2,
            "a refused create changes nothing"
        );
    }

    fn now(kind: &str, at_secs: i64) -> content::protocol::NowShowing {
        content::protocol::NowShowing {
            at: chrono::DateTime::from_timestamp(at_secs, 0).unwrap(),
            manifest_revision: None,
            kind: kind.into(),
            entry: None,
            layout: None,
            zones: vec![],
            reason: None,
        }
    }

    #[tokio::test]
    async fn now_reports_in_one_batch_keep_each_players_last_and_name_the_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let ids: Vec<PlayerId> = (0..1203)
            .map(|i| format!("p-{i}").parse().unwrap())
            .collect();
        for id in &ids {
            store
                .add_player(&new_player(id.as_str()), "t")
                .await
                .unwrap();
        }
        // More players than one statement takes, one of them twice, and a stranger.
        let mut batch: Vec<_> = ids
            .iter()
            .map(|id| (id.clone(), now("scheduled", 1)))
            .collect();
        batch.push((ids[7].clone(), now("alert", 2)));
        batch.push(("ghost".parse().unwrap(), now("alert", 3)));
        let unknown = store.record_now(&batch).await.unwrap();
        assert_eq!(unknown, vec!["ghost".parse::<PlayerId>().unwrap()]);
        assert_eq!(
            store.now_showing(&ids[7]).await.unwrap(),
            Some(now("alert", 2))
        );
        assert_eq!(
            store.now_showing(&ids[1202]).await.unwrap(),
            Some(now("scheduled", 1))
        );
    }

    #[tokio::test]
    async fn acknowledgements_in_one_batch_keep_the_newest_revision_last_received() {
        use content::protocol::{AlertAck, AlertAckState};
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let t = |s: i64| chrono::DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap();
        let ack = |revision: u32, state: AlertAckState, s: i64| AlertAck {
            alert: content::ids::AlertId::from("quake"),
            revision,
            state,
            displayed_at: None,
            at: t(s),
            error: None,
        };
        let players: Vec<PlayerId> = (0..700)
            .map(|i| format!("p-{i}").parse().unwrap())
            .collect();
        let mut batch: Vec<_> = players
            .iter()
            .map(|p| (p.clone(), ack(1, AlertAckState::Showing, 1), t(2)))
            .collect();
        // p-0: revision 2 showing, then cleared, then a late revision-1 ack: cleared r2 stays.
        batch.push((players[0].clone(), ack(2, AlertAckState::Showing, 3), t(3)));
        batch.push((players[0].clone(), ack(2, AlertAckState::Cleared, 4), t(4)));
        batch.push((players[0].clone(), ack(1, AlertAckState::Showing, 5), t(5)));
        store.record_alert_acks(&batch).await.unwrap();
        // A later batch with an older revision changes nothing.
        store
            .record_alert_acks(&[(players[1].clone(), ack(0, AlertAckState::Failed, 6), t(6))])
            .await
            .unwrap();
        let stored = store.alert_acks("quake").await.unwrap();
        assert_eq!(stored.len(), 700);
        let of = |p: &str| stored.iter().find(|a| a.player == p).unwrap();
        assert_eq!(
            (of("p-0").revision, of("p-0").state),
            (2, AlertAckState::Cleared)
        );
        assert_eq!(of("p-0").received_at, Some(t(4)));
        assert_eq!(
            (of("p-1").revision, of("p-1").state),
            (1, AlertAckState::Showing)
        );
        assert_eq!(of("p-699").received_at, Some(t(2)));
    }

    type LayoutIdForTest = content::ids::LayoutId;
}

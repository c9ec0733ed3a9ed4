//! `signage-controller backup` and `restore`: one tar archive holding everything a controller
//! needs to come back on another machine, made while it runs.
//!
//! - The store is copied with SQLite's `VACUUM INTO`: a consistent snapshot, however busy the
//!   controller is.
//! - Content files and player builds are immutable and named by digest, so a copy while the
//!   controller runs is whole.
//! - History (Parquet) files are complete once named `.parquet`; a file that compaction removes
//!   during the copy makes the directory be listed again, so the rows it held are in the
//!   compacted file that replaced it. `history` tidies sources of committed compactions when
//!   it opens.
//! - The alert-signing key (without it no screen accepts an alert), the broker's CA and the
//!   configuration file come along; runtime files (`endpoints.json`, unfinished uploads) stay.
//!
//! `restore` refuses a data directory that already holds a store, unpacks inside it only, and
//! says what it brought back.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, bail};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use sqlx::ConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;

const ROOT: &str = "signage-backup";
const FORMAT: u32 = 1;
/// Left out: the live database (a snapshot goes in instead), runtime and unfinished files.
const SKIP: &[&str] = &[
    "controller.db",
    "controller.db-wal",
    "controller.db-shm",
    "endpoints.json",
    "content/incoming",
    "demo-build",
];

/// `signage-backup/manifest.json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub created_at: chrono::DateTime<Utc>,
    pub controller_version: String,
    pub files: u64,
    pub bytes: u64,
    pub has_alert_key: bool,
    pub has_config: bool,
}

fn skipped(relative: &Path) -> bool {
    let text = relative.to_string_lossy();
    SKIP.iter()
        .any(|s| text == *s || text.starts_with(&format!("{s}/")))
        || text.ends_with(".tmp")
        || text.ends_with(".part")
}

/// Writes the archive to `out` (through a temporary name, then renamed: a half-written backup
/// never looks finished).
pub async fn backup(
    data_dir: &Path,
    config: Option<&Path>,
    out: &Path,
) -> anyhow::Result<Manifest> {
    let db = data_dir.join("controller.db");
    if !db.exists() {
        bail!(
            "{} holds no controller.db: give the controller's --data-dir (or --config)",
            data_dir.display()
        );
    }
    let side = |suffix: &str| {
        let mut name = out.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    let snapshot = Removed(side(".store-snapshot"));
    let partial = Removed(side(".partial"));
    let _ = std::fs::remove_file(&snapshot.0);
    let _ = std::fs::remove_file(&partial.0);
    snapshot_store(&db, &snapshot.0).await?;
    println!(
        "store: consistent snapshot, {} bytes",
        std::fs::metadata(&snapshot.0)?.len()
    );
    let data_dir = data_dir.to_path_buf();
    let config = config.map(Path::to_path_buf);
    let (snapshot_path, partial_path) = (snapshot.0.clone(), partial.0.clone());
    let manifest = tokio::task::spawn_blocking(move || {
        write_archive(&data_dir, &snapshot_path, config.as_deref(), &partial_path)
    })
    .await??;
    std::fs::rename(&partial.0, out)
        .with_context(|| format!("cannot move the backup to {}", out.display()))?;
    Ok(manifest)
}

/// A working file removed when the backup ends, finished or not.
struct Removed(PathBuf);

impl Drop for Removed {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

async fn snapshot_store(db: &Path, snapshot: &Path) -> anyhow::Result<()> {
    let mut conn = SqliteConnectOptions::from_str("sqlite://")?
        .filename(db)
        .busy_timeout(std::time::Duration::from_secs(30))
        .connect()
        .await
        .with_context(|| format!("cannot open {}", db.display()))?;
    sqlx::query("VACUUM INTO $1")
        .bind(snapshot.to_string_lossy().to_string())
        .execute(&mut conn)
        .await
        .context("cannot snapshot the store")?;
    Ok(())
}

fn write_archive(
    data_dir: &Path,
    snapshot: &Path,
    config: Option<&Path>,
    partial: &Path,
) -> anyhow::Result<Manifest> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(partial)?;
    let mut archive = tar::Builder::new(std::io::BufWriter::new(file));
    archive.mode(tar::HeaderMode::Deterministic);
    let mut files = 0u64;
    let mut bytes = 0u64;
    let mut add =
        |archive: &mut tar::Builder<_>, path: &Path, name: PathBuf| -> anyhow::Result<bool> {
            match std::fs::File::open(path) {
                Ok(mut f) => {
                    let len = f.metadata()?.len();
                    archive.append_file(Path::new(ROOT).join(name), &mut f)?;
                    files += 1;
                    bytes += len;
                    Ok(true)
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
            }
        };
    add(&mut archive, snapshot, PathBuf::from("data/controller.db"))?;
    let has_alert_key = data_dir.join(crate::alert_key::FILE_NAME).exists();
    let mut copied = std::collections::BTreeSet::new();
    // Listed again until nothing vanished between listing and copying (see the module docs).
    loop {
        let mut vanished = false;
        for relative in list_files(data_dir)? {
            if skipped(&relative) || copied.contains(&relative) {
                continue;
            }
            if add(
                &mut archive,
                &data_dir.join(&relative),
                Path::new("data").join(&relative),
            )? {
                copied.insert(relative);
            } else {
                vanished = true;
            }
        }
        if !vanished {
            break;
        }
    }
    if let Some(config) = config
        && !add(
            &mut archive,
            config,
            PathBuf::from("config/controller.toml"),
        )?
    {
        bail!("the configuration file {} is missing", config.display());
    }
    let manifest = Manifest {
        format: FORMAT,
        created_at: Utc::now(),
        controller_version: env!("CARGO_PKG_VERSION").into(),
        files,
        bytes,
        has_alert_key,
        has_config: config.is_some(),
    };
    let text = serde_json::to_vec_pretty(&manifest)?;
    let mut header = tar::Header::new_gnu();
    header.set_size(text.len() as u64);
    header.set_mode(0o600);
    header.set_cksum();
    archive.append_data(
        &mut header,
        Path::new(ROOT).join("manifest.json"),
        &text[..],
    )?;
    let mut out = archive.into_inner()?;
    out.flush()?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(manifest)
}

/// Every regular file under `dir`, relative to it, in a stable order.
fn list_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let entries = match std::fs::read_dir(dir.join(&relative)) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot list {}", relative.display())),
        };
        for entry in entries {
            let entry = entry?;
            let path = relative.join(entry.file_name());
            let kind = entry.file_type()?;
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Unpacks `archive` into `data_dir` (which must hold no store yet) and the configuration file
/// to `config` when given and absent. Returns the archive's manifest.
pub fn restore(archive: &Path, data_dir: &Path, config: Option<&Path>) -> anyhow::Result<Manifest> {
    if data_dir.join("controller.db").exists() {
        bail!(
            "{} already holds a store (controller.db); restore into an empty data directory, \
             or move the old one aside first",
            data_dir.display()
        );
    }
    let manifest = read_manifest(archive)?;
    if manifest.format != FORMAT {
        bail!(
            "backup format {} is not one this controller reads ({FORMAT})",
            manifest.format
        );
    }
    if let Some(config) = config
        && config.exists()
    {
        bail!(
            "{} exists; give a new path for the restored configuration",
            config.display()
        );
    }
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create {}", data_dir.display()))?;
        std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700))?;
    }
    let file = std::fs::File::open(archive)
        .with_context(|| format!("cannot open {}", archive.display()))?;
    let mut entries = tar::Archive::new(std::io::BufReader::new(file));
    for entry in entries.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.into_owned();
        let Ok(inside) = name.strip_prefix(ROOT) else {
            bail!("{} is not part of a signage backup", name.display());
        };
        if let Ok(relative) = inside.strip_prefix("data") {
            let plain = relative
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
            if !plain || relative.as_os_str().is_empty() || !entry.header().entry_type().is_file() {
                bail!("{} is not a file inside the data directory", name.display());
            }
            let target = data_dir.join(relative);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            write_private(&target, &mut entry)?;
        } else if inside == Path::new("config/controller.toml")
            && let Some(config) = config
        {
            write_private(config, &mut entry)?;
        }
    }
    Ok(manifest)
}

/// A new owner-only file with what `from` reads, synced.
fn write_private(path: &Path, from: &mut impl Read) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    std::io::copy(from, &mut file)?;
    file.sync_all()?;
    Ok(())
}

fn read_manifest(archive: &Path) -> anyhow::Result<Manifest> {
    let file = std::fs::File::open(archive)
        .with_context(|| format!("cannot open {}", archive.display()))?;
    let unreadable = || {
        format!(
            "{} is not a signage backup, or it is damaged (not a whole tar archive)",
            archive.display()
        )
    };
    let mut entries = tar::Archive::new(std::io::BufReader::new(file));
    for entry in entries.entries().with_context(unreadable)? {
        let mut entry = entry.with_context(unreadable)?;
        if entry.path()?.as_ref() == Path::new(ROOT).join("manifest.json") {
            let mut text = Vec::new();
            entry.read_to_end(&mut text)?;
            return serde_json::from_slice(&text).context("the backup's manifest is unreadable");
        }
    }
    bail!(
        "{} has no {ROOT}/manifest.json: not a complete signage backup",
        archive.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_backup_restores_everything_but_runtime_files_into_an_empty_directory_only() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let store = crate::store::Store::open(&data).await.unwrap();
        store
            .add_player(
                &crate::store::NewPlayer {
                    id: "kita-1f".parse().unwrap(),
                    ward: Some("kita".into()),
                    groups: vec![],
                    name: None,
                },
                "digest",
            )
            .await
            .unwrap();
        crate::alert_key::load_or_create(&data).unwrap();
        for (path, text) in [
            ("content/blobs/ab12", "image"),
            ("content/incoming/x.part", "half an upload"),
            (
                "history/counts/date=2026-12-08/ward=kita/batch-1.parquet",
                "rows",
            ),
            (
                "history/counts/date=2026-12-08/ward=kita/batch-2.parquet.tmp",
                "unfinished",
            ),
            ("endpoints.json", "{}"),
        ] {
            let path = data.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let config = dir.path().join("controller.toml");
        std::fs::write(&config, "data_dir = \"/srv/signage\"\n").unwrap();
        let out = dir.path().join("backup.tar");
        let made = backup(&data, Some(&config), &out).await.unwrap();
        assert!(made.has_alert_key && made.has_config);

        let restored = dir.path().join("restored");
        let config_out = dir.path().join("restored.toml");
        let read = restore(&out, &restored, Some(&config_out)).unwrap();
        assert_eq!(read.files, made.files);
        let mut files = list_files(&restored).unwrap();
        files.sort();
        let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        assert_eq!(
            names,
            [
                "alert-signing.key",
                "content/blobs/ab12",
                "controller.db",
                "history/counts/date=2026-12-08/ward=kita/batch-1.parquet",
            ]
        );
        assert_eq!(
            std::fs::read(restored.join(crate::alert_key::FILE_NAME)).unwrap(),
            std::fs::read(data.join(crate::alert_key::FILE_NAME)).unwrap()
        );
        assert_eq!(
            std::fs::read_to_string(&config_out).unwrap(),
            "data_dir = \"/srv/signage\"\n"
        );
        let back = crate::store::Store::open(&restored).await.unwrap();
        assert_eq!(back.players().await.unwrap().len(), 1);

        let again = restore(&out, &restored, None).unwrap_err().to_string();
        assert!(again.contains("already holds a store"), "{again}");
        let not_tar = dir.path().join("not.tar");
        std::fs::write(&not_tar, "hello").unwrap();
        let refused = format!(
            "{:#}",
            restore(&not_tar, &dir.path().join("x"), None).unwrap_err()
        );
        assert!(refused.contains("signage backup"), "{refused}");
    }

    #[tokio::test]
    async fn a_controller_with_enrolled_players_refuses_to_run_without_their_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path()).await.unwrap();
        crate::alert_key::ensure_for_players(dir.path(), &store)
            .await
            .expect("no players: a new key is fine");
        store
            .add_player(
                &crate::store::NewPlayer {
                    id: "kita-1f".parse().unwrap(),
                    ward: None,
                    groups: vec![],
                    name: None,
                },
                "digest",
            )
            .await
            .unwrap();
        let refused = crate::alert_key::ensure_for_players(dir.path(), &store)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("alert-signing.key is missing"),
            "{refused}"
        );
        assert!(refused.contains("1 player(s)"), "{refused}");
        crate::alert_key::load_or_create(dir.path()).unwrap();
        crate::alert_key::ensure_for_players(dir.path(), &store)
            .await
            .unwrap();
    }
}

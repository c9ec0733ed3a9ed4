//! The controller's Ed25519 alert-signing key: `alert-signing.key` in the data directory (hex,
//! owner-only), created on first use. Players are provisioned with its public half
//! (`alert_public_key` in the file `player add` writes) and trust only alerts it signed.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use alerts::signing::{self, PublicKey, SigningKey};
use anyhow::Context;

pub const FILE_NAME: &str = "alert-signing.key";

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

/// Reads the key, or creates it when the data directory has none yet. `create_new` makes two
/// processes that race here (serve and `player add`) end with one key.
pub fn load_or_create(data_dir: &Path) -> anyhow::Result<SigningKey> {
    let path = path(data_dir);
    if !path.exists() {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create {}", data_dir.display()))?;
        let key = signing::generate_key(&mut rand::rngs::OsRng);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(mut file) => {
                file.write_all(signing::signing_key_to_hex(&key).as_bytes())?;
                file.sync_all()?;
                return Ok(key);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
        }
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    signing::signing_key_from_hex(&text)
        .with_context(|| format!("{} is not an alert-signing key", path.display()))
}

/// Refuses to go on when players were enrolled with this controller's key but the key file is
/// gone (e.g. a restore that missed it): a new key would make every screen refuse every
/// alert, silently.
pub async fn ensure_for_players(
    data_dir: &Path,
    store: &crate::store::Store,
) -> anyhow::Result<()> {
    if path(data_dir).exists() {
        return Ok(());
    }
    let enrolled = store
        .players()
        .await?
        .iter()
        .filter(|p| p.state != crate::store::fleet::PlayerState::Retired)
        .count();
    if enrolled > 0 {
        anyhow::bail!(
            "{} is missing, but {enrolled} player(s) are enrolled with its public half: a new key \
             would make every screen refuse every alert. Restore the key from the backup \
             (`signage-controller restore`, or copy {FILE_NAME} back into the data directory). \
             Only if the key is lost for good: retire the players and enrol them again.",
            path(data_dir).display()
        );
    }
    Ok(())
}

/// The public half, as hex for players' configuration files.
pub fn public_hex(key: &SigningKey) -> String {
    PublicKey::from(key).to_hex()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_created_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        let again = load_or_create(dir.path()).unwrap();
        assert_eq!(first.to_bytes(), again.to_bytes());
        std::fs::write(path(dir.path()), "not hex").unwrap();
        assert!(load_or_create(dir.path()).is_err());
    }
}

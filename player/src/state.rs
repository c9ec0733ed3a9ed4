//! What the player holds: the last desired configuration, persisted in the cache directory so a
//! restarted player follows it before (or without) reaching the broker.

use std::path::{Path, PathBuf};

use content::protocol::DesiredConfig;

use crate::journal::write_atomically;

const CONFIG_FILE: &str = "desired-config.json";

/// The outcome of offering a configuration to the player.
#[derive(Debug, PartialEq)]
pub enum Offer {
    /// Newer than (or equal to) what was held: stored and in effect. `restart` when the
    /// controller asked for a restart since the held configuration.
    Applied { restart: bool },
    /// Older than what is held: refused, the held revision stays.
    Stale { held: u64 },
}

pub struct PlayerState {
    dir: PathBuf,
    config: Option<DesiredConfig>,
}

impl PlayerState {
    /// Loads what the cache holds. A corrupt file is reported and ignored: the controller
    /// republishes the configuration on the next connection.
    pub fn open(dir: &Path) -> std::io::Result<PlayerState> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(CONFIG_FILE);
        let config = match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::warn!(path = %path.display(), %e, "ignoring a corrupt cached configuration");
                    None
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        Ok(PlayerState {
            dir: dir.to_path_buf(),
            config,
        })
    }

    pub fn config(&self) -> Option<&DesiredConfig> {
        self.config.as_ref()
    }

    pub fn offer(&mut self, config: DesiredConfig) -> std::io::Result<Offer> {
        if let Some(held) = &self.config
            && config.revision < held.revision
        {
            return Ok(Offer::Stale {
                held: held.revision,
            });
        }
        // Stored before the restart: the restarted player holds this count and does not
        // restart again; a player that never held a configuration has nothing to restart.
        let restart = self
            .config
            .as_ref()
            .is_some_and(|held| config.restarts > held.restarts);
        write_atomically(
            &self.dir.join(CONFIG_FILE),
            &serde_json::to_vec_pretty(&config).expect("config serialises"),
        )?;
        self.config = Some(config);
        Ok(Offer::Applied { restart })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn config(revision: u64) -> DesiredConfig {
        DesiredConfig {
            id: "kita-1".parse().unwrap(),
            revision,
            ward: Some("kita".into()),
            groups: vec![],
            name: None,
            restarts: 0,
            build: None,
            issued_at: Utc::now(),
        }
    }

    #[test]
    fn configuration_survives_a_restart_and_old_revisions_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = PlayerState::open(dir.path()).unwrap();
        assert!(state.config().is_none());
        let applied = Offer::Applied { restart: false };
        assert_eq!(state.offer(config(2)).unwrap(), applied);
        assert_eq!(state.offer(config(1)).unwrap(), Offer::Stale { held: 2 });
        assert_eq!(state.offer(config(2)).unwrap(), applied);
        let reopened = PlayerState::open(dir.path()).unwrap();
        assert_eq!(reopened.config().unwrap().revision, 2);
    }

    #[test]
    fn a_restart_is_asked_once_per_request_and_never_of_a_fresh_player() {
        let dir = tempfile::tempdir().unwrap();
        let with = |revision, restarts| DesiredConfig {
            restarts,
            ..config(revision)
        };
        let mut state = PlayerState::open(dir.path()).unwrap();
        assert_eq!(
            state.offer(with(5, 3)).unwrap(),
            Offer::Applied { restart: false },
            "a fresh player follows the count it finds"
        );
        assert_eq!(
            state.offer(with(6, 4)).unwrap(),
            Offer::Applied { restart: true }
        );
        // What the restarted process finds on disk and then hears again from the broker.
        let mut reopened = PlayerState::open(dir.path()).unwrap();
        assert_eq!(
            reopened.offer(with(6, 4)).unwrap(),
            Offer::Applied { restart: false }
        );
        assert_eq!(
            reopened.offer(with(7, 4)).unwrap(),
            Offer::Applied { restart: false }
        );
    }

    #[test]
    fn a_corrupt_cache_file_is_ignored_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), b"{ truncated").unwrap();
        let state = PlayerState::open(dir.path()).unwrap();
        assert!(state.config().is_none());
    }
}

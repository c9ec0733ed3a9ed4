//! Signed player updates with rollback.
//!
//! The controller offers a build in the player's signed configuration: a statement of its
//! version, size and SHA-256, signed in the build domain with the key the player was
//! provisioned with. The player downloads the file into `builds/` of its cache directory,
//! checks size, digest and signature, and then:
//!
//! 1. It records a *trial* in `update.json` and ends its session (a supervised child exits
//!    with [`TRIAL_EXIT`] instead).
//! 2. The process the service manager started becomes a thin supervisor: it runs the new
//!    build as its child, with the same arguments, and waits for the child to come online
//!    (connected, holding a configuration the controller signed), which the child writes to
//!    `update-confirmed`.
//! 3. Online within `update_trial_secs`: the build becomes *current* and runs from then on,
//!    also after a restart (checked again before every start). Not online in time, or exited
//!    early: the supervisor stops it, records why, never tries that version again, and runs
//!    the previous build (or the installed one). A current build that stops within a minute
//!    of starting is dropped the same way.
//!
//! Only the process the service manager started supervises, so updates never nest; a child
//! dies with its supervisor (`PR_SET_PDEATHSIG`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::Utc;
use content::protocol::{BuildStatement, FailedBuild, SignedEnvelope, valid_build_version};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

/// A supervised child's exit status asking its supervisor to run the pending trial.
pub const TRIAL_EXIT: i32 = 75;
/// Set by the supervisor for its child: the version label the child runs as.
const BUILD_ENV: &str = "SIGNAGE_PLAYER_BUILD";
/// Set by the supervisor for a child on trial: it must say when it is online.
const TRIAL_ENV: &str = "SIGNAGE_PLAYER_TRIAL";
/// A current build that stops sooner than this after starting is dropped.
const EARLY_EXIT: Duration = Duration::from_secs(60);
/// Versions a player remembers never to try again.
const MAX_REFUSED: usize = 20;

/// The version label this process runs as: its supervisor's word, else the crate version.
pub fn running_version() -> String {
    std::env::var(BUILD_ENV).unwrap_or_else(|_| env!("CARGO_PKG_VERSION").to_string())
}

fn supervised() -> bool {
    std::env::var_os(BUILD_ENV).is_some()
}

/// A build on disk with the statement that vouches for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Build {
    pub version: String,
    pub path: PathBuf,
    pub statement: SignedEnvelope,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    pub build: Build,
    /// The supervisor started it; found so at start, the trial died with its supervisor.
    pub started: bool,
}

/// `update.json` in the cache directory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateState {
    /// The build that came online and runs from now on; none: the installed one.
    pub current: Option<Build>,
    pub trial: Option<Trial>,
    /// The latest build refused or rolled back, reported in every hello.
    pub failed: Option<FailedBuild>,
    /// Versions never to try again.
    #[serde(default)]
    pub refused: Vec<String>,
}

impl UpdateState {
    fn path(cache_dir: &Path) -> PathBuf {
        cache_dir.join("update.json")
    }

    /// The state on disk; unreadable or absent: nothing installed, nothing pending.
    pub fn load(cache_dir: &Path) -> UpdateState {
        let Ok(bytes) = std::fs::read(Self::path(cache_dir)) else {
            return UpdateState::default();
        };
        serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            warn!(%e, "update.json is unreadable; running the installed build");
            UpdateState::default()
        })
    }

    /// Written whole and synced before it counts: a power cut leaves the old or the new.
    pub fn save(&self, cache_dir: &Path) -> std::io::Result<()> {
        use std::io::Write;
        let path = Self::path(cache_dir);
        let tmp = path.with_extension("json.tmp");
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&serde_json::to_vec_pretty(self).expect("serialises"))?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        if let Ok(dir) = std::fs::File::open(cache_dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    /// Records that `version` did not take, and why; it is never tried again.
    pub fn refuse(&mut self, version: &str, reason: String) {
        warn!(version, %reason, "player build refused");
        self.failed = Some(FailedBuild {
            version: version.to_string(),
            reason,
            at: Utc::now(),
        });
        if !self.refused.iter().any(|v| v == version) {
            self.refused.push(version.to_string());
        }
        if self.refused.len() > MAX_REFUSED {
            self.refused.remove(0);
        }
    }
}

/// Whether the file at `build.path` is what a statement signed with `key` vouches for.
pub fn verify(build: &Build, key: Option<&alerts::signing::PublicKey>) -> anyhow::Result<()> {
    let statement = open_statement(&build.statement, key)?;
    if statement.version != build.version {
        bail!(
            "the statement is for version {}, not {}",
            statement.version,
            build.version
        );
    }
    check_file(&build.path, &statement)
}

fn open_statement(
    envelope: &SignedEnvelope,
    key: Option<&alerts::signing::PublicKey>,
) -> anyhow::Result<BuildStatement> {
    let Some(key) = key else {
        bail!("the player holds no controller public key to check builds with");
    };
    let statement = alerts::signing::verify_build(envelope, key)
        .context("the build's statement is not signed by the controller")?;
    if !valid_build_version(&statement.version) {
        bail!(
            "the build's version {:?} is not a usable label",
            statement.version
        );
    }
    Ok(statement)
}

fn check_file(path: &Path, statement: &BuildStatement) -> anyhow::Result<()> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("build file {}", path.display()))?
        .len();
    if len != statement.size_bytes {
        bail!(
            "the build file has {len} bytes, the signed statement says {}",
            statement.size_bytes
        );
    }
    let actual = crate::cache::file_sha256(path)?;
    if actual != statement.sha256.to_string() {
        bail!(
            "the build file has SHA-256 {actual}, the signed statement says {}",
            statement.sha256
        );
    }
    Ok(())
}

/// What the `run` command does.
pub enum Launch {
    /// Run the player in this process (no build installed, or this is a supervised child).
    Here,
    /// Supervise a build: one is installed or on trial.
    Supervise,
}

/// Decides how `run` starts, tidying a trial that died with its supervisor.
pub fn launch(cache_dir: &Path, key: Option<&alerts::signing::PublicKey>) -> Launch {
    if supervised() {
        return Launch::Here;
    }
    let mut state = UpdateState::load(cache_dir);
    if let Some(trial) = state.trial.clone()
        && trial.started
    {
        state.refuse(
            &trial.build.version,
            "the player stopped during the trial, before the build came online".into(),
        );
        state.trial = None;
        save(&state, cache_dir);
    }
    if state.trial.is_some() {
        return Launch::Supervise;
    }
    match state.current.clone() {
        None => Launch::Here,
        Some(current) => match verify(&current, key) {
            Ok(()) => Launch::Supervise,
            Err(e) => {
                state.refuse(
                    &current.version,
                    format!("the installed build failed its check before start: {e:#}"),
                );
                state.current = None;
                save(&state, cache_dir);
                Launch::Here
            }
        },
    }
}

fn save(state: &UpdateState, cache_dir: &Path) {
    if let Err(e) = state.save(cache_dir) {
        warn!(%e, "cannot write update.json");
    }
}

fn confirm_path(cache_dir: &Path) -> PathBuf {
    cache_dir.join("update-confirmed")
}

/// Called when the player is online with a configuration the controller signed: a child on
/// trial tells its supervisor.
pub fn confirm_if_trial(cache_dir: &Path) {
    if std::env::var_os(TRIAL_ENV).is_none() {
        return;
    }
    let path = confirm_path(cache_dir);
    if path.exists() {
        return;
    }
    match std::fs::write(&path, running_version()) {
        Ok(()) => info!(version = %running_version(), "the build on trial is online"),
        Err(e) => warn!(%e, "cannot confirm the build on trial"),
    }
}

/// After a session ended for an update: a supervised child hands over to its supervisor, the
/// service's own process supervises.
pub async fn after_session(
    cache_dir: &Path,
    trial_secs: u64,
    key: Option<alerts::signing::PublicKey>,
) -> anyhow::Result<()> {
    if supervised() {
        info!("handing over to the supervisor for the new build's trial");
        std::process::exit(TRIAL_EXIT);
    }
    supervise(cache_dir, trial_secs, key).await
}

/// Runs builds as children until the service stops; see the module documentation.
pub async fn supervise(
    cache_dir: &Path,
    trial_secs: u64,
    key: Option<alerts::signing::PublicKey>,
) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    loop {
        let mut state = UpdateState::load(cache_dir);
        let (build, on_trial) = match (&state.trial, &state.current) {
            (Some(trial), _) => (trial.build.clone(), true),
            (None, Some(current)) => (current.clone(), false),
            // Nothing to supervise: the installed build, started afresh.
            (None, None) => return crate::restart_self(),
        };
        if let Err(e) = verify(&build, key.as_ref()) {
            state.refuse(
                &build.version,
                format!("failed its check before start: {e:#}"),
            );
            if on_trial {
                state.trial = None;
            } else {
                state.current = None;
            }
            save(&state, cache_dir);
            continue;
        }
        let _ = std::fs::remove_file(confirm_path(cache_dir));
        if let Some(trial) = &mut state.trial {
            trial.started = true;
            save(&state, cache_dir);
        }
        info!(version = %build.version, on_trial, "starting player build");
        let started = tokio::time::Instant::now();
        let mut child = spawn(&build, on_trial)?;
        let deadline = on_trial.then(|| started + Duration::from_secs(trial_secs));
        let mut confirmed = !on_trial;
        let outcome = loop {
            let check = tokio::time::sleep(Duration::from_millis(200));
            tokio::select! {
                status = child.wait() => break Some(status?),
                _ = term.recv() => break None,
                _ = int.recv() => break None,
                () = crate::timer::sleep_until(deadline.filter(|_| !confirmed)) => {
                    stop(&mut child).await;
                    let mut state = UpdateState::load(cache_dir);
                    state.refuse(&build.version, format!(
                        "did not come online within {trial_secs} s; rolled back to {}",
                        state.current.as_ref().map_or("the installed build", |c| c.version.as_str())
                    ));
                    state.trial = None;
                    save(&state, cache_dir);
                    break Some(std::process::ExitStatus::default());
                }
                () = check, if !confirmed => {
                    let said = std::fs::read_to_string(confirm_path(cache_dir)).unwrap_or_default();
                    if said == build.version {
                        confirmed = true;
                        let mut state = UpdateState::load(cache_dir);
                        state.current = Some(build.clone());
                        state.trial = None;
                        save(&state, cache_dir);
                        info!(version = %build.version, "the new build came online; it stays");
                    }
                }
            }
        };
        let Some(status) = outcome else {
            info!("stopping the player build");
            stop(&mut child).await;
            return Ok(());
        };
        if status.code() == Some(TRIAL_EXIT) {
            continue;
        }
        let mut state = UpdateState::load(cache_dir);
        if !confirmed {
            if state.trial.as_ref().is_some_and(|t| t.build == build) {
                state.refuse(
                    &build.version,
                    format!("stopped ({status}) before it came online; rolled back"),
                );
                state.trial = None;
                save(&state, cache_dir);
            }
            continue;
        }
        if started.elapsed() < EARLY_EXIT && state.current.as_ref() == Some(&build) {
            state.refuse(
                &build.version,
                format!(
                    "stopped ({status}) within a minute of starting; back to the installed build"
                ),
            );
            state.current = None;
            save(&state, cache_dir);
            continue;
        }
        // A build that ran a while and stopped: the service manager decides what follows.
        bail!("player build {} stopped: {status}", build.version);
    }
}

fn spawn(build: &Build, on_trial: bool) -> anyhow::Result<tokio::process::Child> {
    let mut command = tokio::process::Command::new(&build.path);
    command
        .args(std::env::args_os().skip(1))
        .env(BUILD_ENV, &build.version)
        .kill_on_drop(true);
    if on_trial {
        command.env(TRIAL_ENV, "1");
    } else {
        command.env_remove(TRIAL_ENV);
    }
    // SAFETY: prctl is async-signal-safe; the child dies with its supervisor.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command
        .spawn()
        .with_context(|| format!("cannot start player build {}", build.path.display()))
}

/// SIGTERM, then SIGKILL after 5 s.
async fn stop(child: &mut tokio::process::Child) {
    if let Some(pid) = child.id() {
        // SAFETY: signalling our own child by its pid.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGTERM);
        }
    }
    if tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}

/// What the update task tells the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateEvent {
    /// The build is verified and its trial recorded: end the session for the switch.
    Ready(String),
    /// The offer was refused (see `UpdateState::failed`): say so in a new hello.
    Refused,
}

/// Fetches offered builds: the latest offer wins, one download at a time.
pub struct Updater {
    pub fetch: Fetch,
    pub events: mpsc::Sender<UpdateEvent>,
}

/// Waits between attempts when the controller cannot be reached.
const RETRY: Duration = Duration::from_secs(30);

impl Updater {
    pub fn start(self) -> watch::Sender<Option<SignedEnvelope>> {
        let (offers, mut rx) = watch::channel(None);
        let fetch = std::sync::Arc::new(self.fetch);
        let events = self.events;
        tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                loop {
                    let offer = rx.borrow_and_update().clone();
                    let Some(offer) = offer else { break };
                    let this = fetch.clone();
                    let result = tokio::task::spawn_blocking(move || this.take(&offer)).await;
                    match result {
                        Ok(Ok(Some(event))) => {
                            let _ = events.send(event).await;
                            break;
                        }
                        Ok(Ok(None)) => break,
                        Ok(Err(e)) => {
                            warn!(error = %format!("{e:#}"), "cannot fetch the offered player build; trying again");
                            tokio::select! {
                                () = tokio::time::sleep(RETRY) => {}
                                Ok(()) = rx.changed() => {}
                            }
                        }
                        Err(e) => {
                            warn!(%e, "the build fetch failed");
                            break;
                        }
                    }
                }
            }
        });
        offers
    }
}

/// Where offered builds come from and what they are checked with.
pub struct Fetch {
    pub cache_dir: PathBuf,
    pub controller_url: String,
    pub authorization: Option<String>,
    pub key: Option<alerts::signing::PublicKey>,
    /// The controller's pinned HTTPS CA, if any.
    pub controller_ca: Option<std::sync::Arc<Vec<ureq::tls::Certificate<'static>>>>,
}

impl Fetch {
    /// Takes up an offer: an event when a trial is ready or the offer is refused now, None
    /// when there is nothing to do (already running, refused before), Err to try again.
    fn take(&self, offer: &SignedEnvelope) -> anyhow::Result<Option<UpdateEvent>> {
        let mut state = UpdateState::load(&self.cache_dir);
        let statement = match open_statement(offer, self.key.as_ref()) {
            Ok(s) => s,
            Err(e) => {
                // Without a version to name, the refusal is reported under the payload's.
                let named = serde_json::from_str::<BuildStatement>(&offer.payload)
                    .map(|s| s.version)
                    .unwrap_or_else(|_| "(unreadable)".into());
                if state.refused.contains(&named) {
                    return Ok(None);
                }
                state.refuse(&named, format!("{e:#}"));
                save(&state, &self.cache_dir);
                return Ok(Some(UpdateEvent::Refused));
            }
        };
        let version = statement.version.clone();
        if version == running_version() || state.refused.contains(&version) {
            return Ok(None);
        }
        if state
            .trial
            .as_ref()
            .is_some_and(|t| t.build.version == version)
        {
            return Ok(Some(UpdateEvent::Ready(version)));
        }
        let dir = self.cache_dir.join("builds").join(&version);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("signage-player");
        info!(%version, bytes = statement.size_bytes, "fetching the offered player build");
        self.download(&version, &statement, &path)?;
        if let Err(e) = check_file(&path, &statement) {
            let _ = std::fs::remove_file(&path);
            state.refuse(&version, format!("{e:#}"));
            save(&state, &self.cache_dir);
            return Ok(Some(UpdateEvent::Refused));
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        state.trial = Some(Trial {
            build: Build {
                version: version.clone(),
                path,
                statement: offer.clone(),
            },
            started: false,
        });
        state.save(&self.cache_dir)?;
        info!(%version, "the offered build is verified; switching to it on trial");
        Ok(Some(UpdateEvent::Ready(version)))
    }

    /// Streams the file to `path`, no longer than the statement says.
    fn download(
        &self,
        version: &str,
        statement: &BuildStatement,
        path: &Path,
    ) -> anyhow::Result<()> {
        use std::io::{Read, Write};
        let url = format!(
            "{}/api/v1/player-builds/{version}/file",
            self.controller_url
        );
        let agent = crate::http::agent(self.controller_ca.as_ref(), Duration::from_secs(600));
        let mut request = agent.get(&url);
        if let Some(value) = &self.authorization {
            request = request.header("Authorization", value);
        }
        let mut response = request.call().with_context(|| format!("GET {url}"))?;
        if response.status() != 200 {
            bail!("GET {url} answered {}", response.status());
        }
        let part = path.with_extension("part");
        let mut out = std::fs::File::create(&part)?;
        let mut reader = response.body_mut().as_reader();
        let mut buf = vec![0u8; 64 * 1024];
        let mut written = 0u64;
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                break;
            }
            written += n as u64;
            if written > statement.size_bytes {
                break;
            }
            out.write_all(&buf[..n])?;
        }
        out.sync_all()?;
        drop(out);
        std::fs::rename(&part, path)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alerts::signing::{PublicKey, SigningKey, sign_build};

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[5; 32])
    }

    /// A build file with `bytes` and a statement signed by `signer`.
    fn build(dir: &Path, version: &str, bytes: &[u8], signer: &SigningKey) -> Build {
        let path = dir.join(format!("{version}.bin"));
        std::fs::write(&path, bytes).unwrap();
        let statement = BuildStatement {
            version: version.into(),
            sha256: crate::cache::file_sha256(&path).unwrap().parse().unwrap(),
            size_bytes: bytes.len() as u64,
        };
        Build {
            version: version.into(),
            path,
            statement: sign_build(&statement, signer),
        }
    }

    #[test]
    fn a_build_runs_only_as_signed_unaltered_and_under_its_own_version() {
        let dir = tempfile::tempdir().unwrap();
        let public = PublicKey::from(&key());
        let good = build(dir.path(), "1.4.0", b"binary", &key());
        verify(&good, Some(&public)).unwrap();

        let error = |b: &Build, k: Option<&PublicKey>| format!("{:#}", verify(b, k).unwrap_err());
        assert!(error(&good, None).contains("no controller public key"));
        let stranger = build(
            dir.path(),
            "1.4.1",
            b"binary",
            &SigningKey::from_bytes(&[6; 32]),
        );
        assert!(error(&stranger, Some(&public)).contains("not signed by the controller"));
        let relabelled = Build {
            version: "2.0.0".into(),
            ..good.clone()
        };
        assert!(error(&relabelled, Some(&public)).contains("not 2.0.0"));
        std::fs::write(&good.path, b"binarY").unwrap();
        assert!(error(&good, Some(&public)).contains("SHA-256"));
        std::fs::write(&good.path, b"binary!").unwrap();
        assert!(error(&good, Some(&public)).contains("7 bytes"));
    }

    #[test]
    fn the_start_decides_between_the_installed_build_and_a_supervised_one() {
        let dir = tempfile::tempdir().unwrap();
        let public = PublicKey::from(&key());
        let cache = dir.path();
        assert!(matches!(launch(cache, Some(&public)), Launch::Here));

        // A pending trial is supervised; one found started died with its supervisor.
        let next = build(cache, "1.5.0", b"next", &key());
        let mut state = UpdateState {
            trial: Some(Trial {
                build: next.clone(),
                started: false,
            }),
            ..UpdateState::default()
        };
        state.save(cache).unwrap();
        assert!(matches!(launch(cache, Some(&public)), Launch::Supervise));
        state.trial.as_mut().unwrap().started = true;
        state.save(cache).unwrap();
        assert!(matches!(launch(cache, Some(&public)), Launch::Here));
        let after = UpdateState::load(cache);
        assert_eq!(after.trial, None);
        assert_eq!(after.refused, ["1.5.0"]);
        assert!(after.failed.unwrap().reason.contains("during the trial"));

        // An installed build runs supervised while it checks out, and is dropped when not.
        let current = build(cache, "1.4.0", b"current", &key());
        UpdateState {
            current: Some(current.clone()),
            ..UpdateState::default()
        }
        .save(cache)
        .unwrap();
        assert!(matches!(launch(cache, Some(&public)), Launch::Supervise));
        std::fs::write(&current.path, b"CURRENT").unwrap();
        assert!(matches!(launch(cache, Some(&public)), Launch::Here));
        let after = UpdateState::load(cache);
        assert_eq!(after.current, None);
        assert_eq!(after.failed.unwrap().version, "1.4.0");
    }

    #[test]
    fn refused_versions_are_remembered_once_and_boundedly() {
        let mut state = UpdateState::default();
        state.refuse("1.0.0", "a".into());
        state.refuse("1.0.0", "b".into());
        assert_eq!(state.refused, ["1.0.0"]);
        assert_eq!(state.failed.as_ref().unwrap().reason, "b");
        for i in 0..30 {
            state.refuse(&format!("2.0.{i}"), "c".into());
        }
        assert_eq!(state.refused.len(), MAX_REFUSED);
        assert_eq!(state.refused.last().unwrap(), "2.0.29");
    }
}

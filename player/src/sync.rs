//! Follows the controller's manifest: fetches it over HTTP when its reference changes, checks
//! its SHA-256 and that it is a valid schedule set, makes sure every file it lists is in the
//! verified cache (downloading what is missing or corrupt), and only then switches the screen
//! to it, persists it and acknowledges it. Runs as its own task so downloads never stall the
//! MQTT event loop or the screen.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use content::ids::AssetId;
use content::protocol::{
    self, Ack, AckSubject, Manifest, ManifestFile, ManifestRef, PlayerId, PlayerTopic, Topic,
};
use content::schedule::PlayerTarget;
use content::schedule_set::ScheduleSet;
use rumqttc::AsyncClient;
use sha2::Digest;
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use crate::cache::{Check, ContentCache};
use crate::journal::write_atomically;

const MANIFEST_FILE: &str = "manifest.json";
pub(crate) const REFERENCE_FILE: &str = "manifest-ref.json";
/// Largest manifest body accepted over HTTP.
pub const MAX_MANIFEST_BYTES: u64 = 32 * 1024 * 1024;
const RETRY_EVERY: Duration = Duration::from_secs(3);

/// The manifest the player follows, validated.
#[derive(Debug)]
pub struct Held {
    pub revision: u64,
    pub sha256: String,
    pub set: ScheduleSet,
    pub target: PlayerTarget,
    pub files: HashMap<AssetId, ManifestFile>,
}

impl Held {
    pub fn parse(body: &[u8], me: &PlayerId) -> anyhow::Result<Held> {
        let manifest: Manifest = serde_json::from_slice(body).context("manifest is not valid")?;
        if &manifest.player != me {
            bail!("the manifest is for player {}, not {me}", manifest.player);
        }
        let set = ScheduleSet::new(manifest.schedule).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Held {
            revision: manifest.revision,
            sha256: hex::encode(sha2::Sha256::digest(body)),
            set,
            target: manifest.target,
            files: manifest
                .files
                .into_iter()
                .map(|f| (f.asset.clone(), f))
                .collect(),
        })
    }

    /// The manifest persisted by an earlier run, if any and valid.
    pub fn load(cache_dir: &Path, me: &PlayerId) -> Option<Held> {
        let body = std::fs::read(cache_dir.join(MANIFEST_FILE)).ok()?;
        match Held::parse(&body, me) {
            Ok(held) => Some(held),
            Err(e) => {
                warn!(%e, "ignoring the cached manifest");
                None
            }
        }
    }
}

pub type HeldManifest = watch::Receiver<Option<Arc<Held>>>;

/// What the sync task is asked to do.
#[derive(Debug)]
pub enum SyncRequest {
    Manifest(ManifestRef),
    /// A file failed its check before use: download it again.
    Repair(ManifestFile),
}

pub struct ContentSync {
    pub me: PlayerId,
    pub cache: Arc<ContentCache>,
    pub cache_dir: PathBuf,
    pub held: watch::Sender<Option<Arc<Held>>>,
    pub client: AsyncClient,
}

/// `http://host:port` of an absolute URL.
pub(crate) fn origin(url: &str) -> anyhow::Result<String> {
    let (scheme, rest) = url
        .split_once("://")
        .with_context(|| format!("{url:?} is not an absolute URL"))?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() || !matches!(scheme, "http" | "https") {
        bail!("{url:?} is not an http(s) URL");
    }
    Ok(format!("{scheme}://{host}"))
}

impl ContentSync {
    pub async fn run(self, mut requests: mpsc::Receiver<SyncRequest>) {
        let mut latest: Option<ManifestRef> = std::fs::read(self.cache_dir.join(REFERENCE_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let mut pending = latest.is_some();
        let mut retry = tokio::time::interval(RETRY_EVERY);
        retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                request = requests.recv() => match request {
                    Some(SyncRequest::Manifest(reference)) => {
                        if let Some(held) = latest.as_ref().filter(|l| l.revision > reference.revision) {
                            warn!(revision = reference.revision, held = held.revision, "refused a manifest reference older than the one held");
                            continue;
                        }
                        latest = Some(reference);
                        pending = true;
                    }
                    Some(SyncRequest::Repair(file)) => {
                        if let Some(reference) = &latest {
                            match self.ensure(&reference.url, &file).await {
                                Ok(()) => info!(asset = %file.asset, sha256 = %file.sha256, "cached file repaired"),
                                Err(e) => warn!(%e, asset = %file.asset, "cannot repair a cached file yet; retrying"),
                            }
                        }
                        continue;
                    }
                    None => return,
                },
                _ = retry.tick() => {}
            }
            if !pending {
                continue;
            }
            let Some(reference) = latest.clone() else {
                continue;
            };
            match self.apply(&reference).await {
                Ok(()) => pending = false,
                Err(e) => {
                    warn!(revision = reference.revision, error = %format!("{e:#}"), "manifest not applied yet; retrying")
                }
            }
        }
    }

    /// Makes sure one file is in the cache and intact.
    async fn ensure(&self, manifest_url: &str, file: &ManifestFile) -> anyhow::Result<()> {
        let base = origin(manifest_url)?;
        let cache = self.cache.clone();
        let file = file.clone();
        tokio::task::spawn_blocking(move || match cache.check(&file) {
            Check::Ready => Ok(()),
            state => {
                info!(asset = %file.asset, sha256 = %file.sha256, ?state, "downloading");
                cache.download(&base, &file)
            }
        })
        .await?
    }

    async fn apply(&self, reference: &ManifestRef) -> anyhow::Result<()> {
        let current = self.held.borrow().clone();
        let (held, body) = match current {
            Some(held) if held.sha256 == reference.sha256.to_string() => (held, None),
            _ => {
                let cache = self.cache.clone();
                let url = reference.url.clone();
                let sha = reference.sha256.to_string();
                let body = tokio::task::spawn_blocking(move || {
                    cache.fetch_verified(&url, &sha, MAX_MANIFEST_BYTES)
                })
                .await??;
                (Arc::new(Held::parse(&body, &self.me)?), Some(body))
            }
        };
        for file in held.files.values() {
            self.ensure(&reference.url, file).await?;
        }
        write_atomically(
            &self.cache_dir.join(REFERENCE_FILE),
            &protocol::encode(reference),
        )?;
        if let Some(body) = body {
            write_atomically(&self.cache_dir.join(MANIFEST_FILE), &body)?;
            info!(
                revision = held.revision,
                files = held.files.len(),
                "following a new manifest"
            );
            self.held.send_replace(Some(held.clone()));
        }
        let keep: HashSet<String> = held.files.values().map(|f| f.sha256.to_string()).collect();
        let removed = self.cache.collect_garbage(&keep);
        if removed > 0 {
            info!(removed, "removed cached files no manifest needs");
        }
        let ack = Ack {
            subject: AckSubject::Manifest,
            revision: held.revision,
            ok: true,
            error: None,
        };
        let topic = Topic::player(&self.me, PlayerTopic::Ack);
        mqtt_link::publish(&self.client, &topic, protocol::encode(&ack)).await?;
        Ok(())
    }
}

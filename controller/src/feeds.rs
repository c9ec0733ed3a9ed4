//! Polling JMA's Atom feeds (気象庁防災情報XML, PULL型): each feed is asked with its last
//! `ETag` / `Last-Modified` (a 304 costs JMA and us nothing), its new entries are fetched
//! oldest first and handed to the same intake as `POST /api/v1/jma`.
//!
//! - Exactly once across restarts: an entry (feed, id, updated) is recorded as taken only
//!   after its document was taken or refused for good; the document itself is known by its
//!   digest, so the same document through two feeds (or a relay) is taken once.
//! - The validators are saved only when every new entry was handled, so a failed fetch is
//!   retried on the next poll instead of hidden behind a 304.
//! - The long (`_l`) feeds are read once at start to catch up; the age limit keeps what is
//!   old off the screens, while its 解除 and 取消 still end alerts.
//! - A failing feed backs off (interval × 2ⁿ, capped), each feed on its own.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alerts::cap::xml;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::alerting::AlertService;
use crate::store::Store;
use crate::store::intake::FeedState;

/// Largest feed document read (JMA's long feeds are a few hundred KB).
const MAX_FEED_BYTES: u64 = 8 << 20;
/// Entries handled per poll of one feed; the rest wait for the next poll.
const MAX_ENTRIES: usize = 2000;
/// Entries are remembered this long after they were taken (feeds drop them within a day).
const FORGET_AFTER: chrono::TimeDelta = chrono::TimeDelta::days(7);
const FORGET_EVERY: Duration = Duration::from_secs(3600);
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// `[alerts.jma.feeds]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedsSection {
    /// Feeds polled all the time, e.g. JMA's
    /// `https://www.data.jma.go.jp/developer/xml/feed/extra.xml`.
    #[serde(default)]
    pub urls: Vec<String>,
    /// Feeds read once at start to catch up, e.g. `.../extra_l.xml`.
    #[serde(default)]
    pub catch_up: Vec<String>,
    /// Seconds between polls (default 60).
    pub interval_secs: Option<u64>,
    /// The longest wait after failures (default 600).
    pub max_backoff_secs: Option<u64>,
    /// JMA's own feeds: the four high-frequency ones polled, their long versions read at start.
    #[serde(default)]
    pub jma_public: bool,
}

/// JMA's public Atom feeds (気象庁防災情報XML, PULL型), high-frequency ones.
pub const JMA_FEEDS: [&str; 4] = ["regular", "extra", "eqvol", "other"];
const JMA_FEED_BASE: &str = "https://www.data.jma.go.jp/developer/xml/feed/";

#[derive(Debug, Clone, PartialEq)]
pub struct FeedsConfig {
    pub urls: Vec<String>,
    pub catch_up: Vec<String>,
    pub interval: Duration,
    pub max_backoff: Duration,
}

impl Default for FeedsConfig {
    fn default() -> Self {
        FeedsConfig::resolve(FeedsSection::default()).expect("defaults are valid")
    }
}

impl FeedsConfig {
    pub fn resolve(section: FeedsSection) -> anyhow::Result<FeedsConfig> {
        for (key, list) in [("urls", &section.urls), ("catch_up", &section.catch_up)] {
            for (i, u) in list.iter().enumerate() {
                let ok = url::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
                if !ok {
                    anyhow::bail!(
                        "config key alerts.jma.feeds.{key}[{i}] must be an http(s) URL, got {u:?}"
                    );
                }
            }
        }
        let interval = section.interval_secs.unwrap_or(60);
        if !(1..=3600).contains(&interval) {
            anyhow::bail!("config key alerts.jma.feeds.interval_secs must be between 1 and 3600");
        }
        let max_backoff = section.max_backoff_secs.unwrap_or(600).max(interval);
        let (mut urls, mut catch_up) = (section.urls, section.catch_up);
        if section.jma_public {
            for name in JMA_FEEDS {
                let url = format!("{JMA_FEED_BASE}{name}.xml");
                if !urls.contains(&url) {
                    urls.push(url);
                }
                let long = format!("{JMA_FEED_BASE}{name}_l.xml");
                if !catch_up.contains(&long) {
                    catch_up.push(long);
                }
            }
        }
        Ok(FeedsConfig {
            urls,
            catch_up,
            interval: Duration::from_secs(interval),
            max_backoff: Duration::from_secs(max_backoff),
        })
    }
}

/// One feed's health, for `GET /api/v1/health`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FeedStatus {
    pub last_ok: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub failures: u32,
    pub taken: u64,
}

/// The feeds' status, shared with the health endpoint.
pub type Statuses = Arc<std::sync::Mutex<HashMap<String, FeedStatus>>>;

/// Starts polling; returns the status map.
pub fn spawn(alerts: Arc<AlertService>, store: Store, config: FeedsConfig) -> Statuses {
    let statuses: Statuses = Arc::default();
    if config.urls.is_empty() && config.catch_up.is_empty() {
        return statuses;
    }
    let shared = statuses.clone();
    tokio::spawn(async move {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(HTTP_TIMEOUT))
            .user_agent(concat!("signage-controller/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let poller = Poller {
            alerts,
            store,
            agent,
            statuses: shared,
        };
        for url in &config.catch_up {
            poller.poll(url).await;
        }
        let mut next: HashMap<String, Instant> = HashMap::new();
        let mut last_forget: Option<Instant> = None;
        loop {
            for url in &config.urls {
                if next.get(url).is_some_and(|t| Instant::now() < *t) {
                    continue;
                }
                let failures = poller.poll(url).await;
                let wait = backoff(config.interval, config.max_backoff, failures);
                next.insert(url.clone(), Instant::now() + wait);
            }
            // Old entries go once an hour, not on every poll.
            if last_forget.is_none_or(|t| t.elapsed() >= FORGET_EVERY) {
                last_forget = Some(Instant::now());
                let _ = poller
                    .store
                    .forget_feed_entries(Utc::now() - FORGET_AFTER)
                    .await;
            }
            let soonest = next.values().min().copied().unwrap_or_else(Instant::now);
            tokio::time::sleep_until(soonest.max(Instant::now()).into()).await;
        }
    });
    statuses
}

/// The wait before the next poll after `failures` failures in a row.
fn backoff(interval: Duration, max: Duration, failures: u32) -> Duration {
    interval
        .saturating_mul(1u32.checked_shl(failures.min(16)).unwrap_or(u32::MAX))
        .min(max)
}

struct Poller {
    alerts: Arc<AlertService>,
    store: Store,
    agent: ureq::Agent,
    statuses: Statuses,
}

/// A feed entry: its id, its update time (as written) and the document's URL.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: String,
    pub updated: String,
    pub link: String,
}

enum Fetched {
    NotModified,
    Body(Vec<u8>, FeedState),
}

impl Poller {
    /// Polls `url` once; returns the feed's failures in a row.
    async fn poll(&self, url: &str) -> u32 {
        let result = self.poll_once(url).await;
        let mut statuses = self.statuses.lock().expect("not poisoned");
        let status = statuses.entry(url.to_owned()).or_default();
        match result {
            Ok(taken) => {
                status.last_ok = Some(Utc::now());
                status.last_error = None;
                status.failures = 0;
                status.taken += taken;
            }
            Err(e) => {
                status.failures += 1;
                // Logged on the first failure and then sparsely, not every poll.
                if status.failures == 1 || status.failures.is_power_of_two() {
                    warn!(
                        feed = url,
                        failures = status.failures,
                        "feed poll failed: {e:#}"
                    );
                }
                status.last_error = Some(format!("{e:#}"));
            }
        }
        status.failures
    }

    async fn poll_once(&self, url: &str) -> anyhow::Result<u64> {
        let state = self.store.feed_state(url).await?;
        let (body, validators) = match self.get(url, Some(&state), MAX_FEED_BYTES).await? {
            Fetched::NotModified => return Ok(0),
            Fetched::Body(body, validators) => (body, validators),
        };
        let mut entries = parse_feed(&body)?;
        // Oldest first, so an event's documents arrive in order.
        entries.sort_by(|a, b| a.updated.cmp(&b.updated));
        let mut taken = 0;
        let mut complete = true;
        for entry in entries.iter().take(MAX_ENTRIES) {
            if self
                .store
                .feed_entry_taken(url, &entry.id, &entry.updated)
                .await?
            {
                continue;
            }
            match self.take_entry(url, entry).await {
                Ok(()) => {
                    self.store
                        .take_feed_entry(url, &entry.id, &entry.updated)
                        .await?;
                    taken += 1;
                }
                Err(e) => {
                    complete = false;
                    warn!(feed = url, entry = %entry.id, "entry not taken, retried on the next poll: {e:#}");
                }
            }
        }
        if complete && entries.len() <= MAX_ENTRIES {
            self.store.save_feed_state(url, &validators).await?;
        }
        if taken > 0 {
            info!(feed = url, taken, "feed entries taken");
        }
        Ok(taken)
    }

    /// Fetches and takes one entry's document. A document refused for its content is taken
    /// for good (it will not improve); network and store failures are retried.
    async fn take_entry(&self, url: &str, entry: &Entry) -> anyhow::Result<()> {
        let link = url::Url::parse(url)?.join(&entry.link)?;
        let Fetched::Body(bytes, _) = self
            .get(link.as_str(), None, jma::MAX_BYTES as u64 + 1)
            .await?
        else {
            anyhow::bail!("{link} answered 304 to an unconditional request");
        };
        match crate::alerting::jma::take(&self.alerts, &self.store, &bytes, url, Utc::now()).await {
            Ok(_) => Ok(()),
            Err(r) if r.status.is_client_error() => {
                warn!(feed = url, document = %link, rule = r.rule, "document refused: {}", r.reason);
                Ok(())
            }
            Err(r) => anyhow::bail!("{}", r.reason),
        }
    }

    async fn get(
        &self,
        url: &str,
        validators: Option<&FeedState>,
        limit: u64,
    ) -> anyhow::Result<Fetched> {
        let agent = self.agent.clone();
        let url = url.to_owned();
        let validators = validators.cloned();
        tokio::task::spawn_blocking(move || {
            let mut req = agent.get(&url);
            if let Some(v) = &validators {
                if let Some(etag) = &v.etag {
                    req = req.header("If-None-Match", etag);
                }
                if let Some(lm) = &v.last_modified {
                    req = req.header("If-Modified-Since", lm);
                }
            }
            let mut resp = req.call()?;
            let status = resp.status().as_u16();
            if status == 304 {
                return Ok(Fetched::NotModified);
            }
            if status != 200 {
                anyhow::bail!("{url} answered HTTP {status}");
            }
            let header = |name: &str| {
                resp.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let state = FeedState {
                etag: header("etag"),
                last_modified: header("last-modified"),
            };
            let body = resp
                .body_mut()
                .with_config()
                .limit(limit)
                .read_to_vec()
                .map_err(|e| anyhow::anyhow!("{url}: {e} (limit {limit} bytes)"))?;
            Ok(Fetched::Body(body, state))
        })
        .await?
    }
}

/// The entries of an Atom feed, read with the same bounded, DTD-free reader as CAP.
pub fn parse_feed(bytes: &[u8]) -> anyhow::Result<Vec<Entry>> {
    let text = xml::decode(bytes).map_err(|e| anyhow::anyhow!("feed refused: {e}"))?;
    let root = xml::parse_tree(&text).map_err(|e| anyhow::anyhow!("feed refused: {e}"))?;
    if root.name != "feed" {
        anyhow::bail!("not an Atom feed: the root element is <{}>", root.name);
    }
    let mut entries = Vec::new();
    for entry in root.children_named("entry") {
        let text = |name: &str| entry.child(name).map(|e| e.text.trim().to_owned());
        let link = entry
            .children_named("link")
            .find(|l| {
                l.attribute("rel")
                    .is_none_or(|r| r == "alternate" || r == "related")
            })
            .and_then(|l| l.attribute("href"));
        match (text("id"), text("updated"), link) {
            (Some(id), Some(updated), Some(link)) if !id.is_empty() => entries.push(Entry {
                id,
                updated,
                link: link.to_owned(),
            }),
            _ => warn!("feed entry without id, updated or link skipped"),
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let s = Duration::from_secs;
        assert_eq!(backoff(s(60), s(600), 0), s(60));
        assert_eq!(backoff(s(60), s(600), 1), s(120));
        assert_eq!(backoff(s(60), s(600), 3), s(480));
        assert_eq!(backoff(s(60), s(600), 40), s(600));
    }

    #[test]
    fn atom_entries_with_their_links() {
        let feed = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" lang="ja">
  <title>高頻度（随時）</title><id>urn:x</id><updated>2026-12-07T01:00:00+09:00</updated>
  <entry><title>津波警報・注意報・予報a</title><id>urn:uuid:1</id><updated>2026-12-07T00:59:00Z</updated>
    <author><name>気象庁</name></author>
    <link type="application/xml" href="https://example.jp/data/1.xml"/><content type="text">大津波警報</content></entry>
  <entry><title>broken</title><id>urn:uuid:2</id></entry>
</feed>"#;
        let entries = parse_feed(feed.as_bytes()).unwrap();
        assert_eq!(
            entries,
            vec![Entry {
                id: "urn:uuid:1".into(),
                updated: "2026-12-07T00:59:00Z".into(),
                link: "https://example.jp/data/1.xml".into(),
            }]
        );
        assert!(
            parse_feed(b"<rss/>")
                .unwrap_err()
                .to_string()
                .contains("Atom")
        );
        let hostile =
            br#"<!DOCTYPE feed [<!ENTITY x SYSTEM "file:///etc/passwd">]><feed>&x;</feed>"#;
        assert!(parse_feed(hostile).is_err());
    }

    #[test]
    fn jma_public_names_jmas_feeds_once() {
        let config = FeedsConfig::resolve(FeedsSection {
            jma_public: true,
            urls: vec!["https://www.data.jma.go.jp/developer/xml/feed/extra.xml".into()],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(config.urls.len(), 4);
        assert_eq!(config.catch_up.len(), 4);
        assert!(config.catch_up.iter().all(|u| u.ends_with("_l.xml")));
        assert!(
            FeedsConfig::default().urls.is_empty(),
            "nothing is polled unless configured"
        );
    }

    #[test]
    fn feed_urls_are_checked() {
        let bad = FeedsSection {
            urls: vec!["ftp://x".into()],
            ..Default::default()
        };
        let err = FeedsConfig::resolve(bad).unwrap_err().to_string();
        assert!(err.contains("alerts.jma.feeds.urls[0]"), "{err}");
    }
}

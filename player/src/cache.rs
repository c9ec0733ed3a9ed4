//! The verified local content cache: `content/{sha256}` in the cache directory.
//!
//! A file enters the cache only complete and verified: it is downloaded to
//! `content/partial/{sha256}.part` (resuming with an HTTP range request after an interruption),
//! its SHA-256 checked, fsynced, then renamed into place. Before a file is used its size and
//! modification time are compared with those seen when it was last verified, and it is hashed
//! again when they differ or when the verification is older than `reverify`; a file that fails
//! is deleted and downloaded again. The cache survives restarts; files no manifest lists are
//! garbage-collected.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use content::protocol::ManifestFile;
use sha2::{Digest, Sha256};

/// What [`ContentCache::check`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Ready,
    Missing,
    /// The file did not match its SHA-256 and was deleted.
    Corrupt,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Stamp {
    len: u64,
    modified: SystemTime,
    verified_at: Instant,
}

pub struct ContentCache {
    dir: PathBuf,
    reverify: Duration,
    verified: Mutex<HashMap<String, Stamp>>,
    agent: ureq::Agent,
    /// `Basic ...` with the player's id and MQTT password: the controller serves manifests
    /// and files only to registered players (and staff).
    authorization: Option<String>,
}

/// SHA-256 of a file, streaming.
pub fn file_sha256(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// The `Authorization` value that logs in to the controller's HTTP API as a player.
pub fn basic_auth(user: &str, password: Option<&str>) -> String {
    use base64::Engine;
    let pair = format!("{user}:{}", password.unwrap_or_default());
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// How long one file's download may take.
const DOWNLOAD_BODY: Duration = Duration::from_secs(60);

impl ContentCache {
    pub fn open(cache_dir: &Path, reverify: Duration) -> std::io::Result<ContentCache> {
        let dir = cache_dir.join("content");
        std::fs::create_dir_all(dir.join("partial"))?;
        let agent = crate::http::agent(None, DOWNLOAD_BODY);
        Ok(ContentCache {
            dir,
            reverify,
            verified: Mutex::new(HashMap::new()),
            agent,
            authorization: None,
        })
    }

    pub fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(sha256)
    }

    fn partial_path(&self, sha256: &str) -> PathBuf {
        self.dir.join("partial").join(format!("{sha256}.part"))
    }

    /// Whether the file is present and intact; a corrupt file is deleted. Blocking (may hash).
    pub fn check(&self, file: &ManifestFile) -> Check {
        let sha = file.sha256.to_string();
        let path = self.path(&sha);
        let Ok(meta) = std::fs::metadata(&path) else {
            return Check::Missing;
        };
        let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        if let Some(stamp) = self.verified.lock().expect("not poisoned").get(&sha)
            && stamp.len == meta.len()
            && stamp.modified == modified
            && stamp.verified_at.elapsed() < self.reverify
        {
            return Check::Ready;
        }
        match file_sha256(&path) {
            Ok(actual) if actual == sha && meta.len() == file.size_bytes => {
                self.verified.lock().expect("not poisoned").insert(
                    sha,
                    Stamp {
                        len: meta.len(),
                        modified,
                        verified_at: Instant::now(),
                    },
                );
                Check::Ready
            }
            _ => {
                tracing::warn!(sha256 = %sha, path = %path.display(), "cached file is corrupt; deleting it to download it again");
                self.verified.lock().expect("not poisoned").remove(&sha);
                let _ = std::fs::remove_file(&path);
                Check::Corrupt
            }
        }
    }

    /// Downloads `file` from `base_url` (resuming a partial download), verifies and stores
    /// it. Blocking.
    pub fn download(&self, base_url: &str, file: &ManifestFile) -> anyhow::Result<()> {
        let sha = file.sha256.to_string();
        let part = self.partial_path(&sha);
        let mut have = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
        if have > file.size_bytes {
            std::fs::remove_file(&part)?;
            have = 0;
        }
        let url = format!("{base_url}{}", file.url);
        let mut request = self.get(&url);
        if have > 0 {
            request = request.header("Range", format!("bytes={have}-"));
        }
        let mut response = request.call().with_context(|| format!("GET {url}"))?;
        let status = response.status().as_u16();
        let mut out = match status {
            206 if have > 0 => {
                tracing::info!(sha256 = %sha, from = have, "resuming a download");
                std::fs::OpenOptions::new().append(true).open(&part)?
            }
            200 => std::fs::File::create(&part)?,
            416 => {
                std::fs::remove_file(&part)?;
                bail!("the controller refused the resume range; starting over next time");
            }
            other => bail!("GET {url} answered {other}"),
        };
        let mut reader = response.body_mut().as_reader();
        let mut buf = vec![0u8; 64 * 1024];
        let mut written = if status == 206 { have } else { 0 };
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                break;
            }
            written += n as u64;
            if written > file.size_bytes {
                drop(out);
                std::fs::remove_file(&part)?;
                bail!(
                    "{url} is longer than the manifest says ({} bytes)",
                    file.size_bytes
                );
            }
            out.write_all(&buf[..n])?;
        }
        out.sync_all()?;
        drop(out);
        if written < file.size_bytes {
            bail!(
                "download of {url} stopped at {written} of {} bytes; will resume",
                file.size_bytes
            );
        }
        let actual = file_sha256(&part)?;
        if actual != sha {
            std::fs::remove_file(&part)?;
            bail!("download of {url} has SHA-256 {actual}, expected {sha}; discarded");
        }
        let target = self.path(&sha);
        std::fs::rename(&part, &target)?;
        sync_dir(&self.dir);
        let meta = std::fs::metadata(&target)?;
        self.verified.lock().expect("not poisoned").insert(
            sha,
            Stamp {
                len: meta.len(),
                modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                verified_at: Instant::now(),
            },
        );
        Ok(())
    }

    /// Trust only `pinned` for an `https://` controller (see `http`).
    pub fn with_controller_ca(
        mut self,
        pinned: Option<&std::sync::Arc<Vec<ureq::tls::Certificate<'static>>>>,
    ) -> ContentCache {
        self.agent = crate::http::agent(pinned, DOWNLOAD_BODY);
        self
    }

    /// Log in to the controller's HTTP API as this player.
    pub fn with_credentials(mut self, user: &str, password: Option<&str>) -> ContentCache {
        self.authorization = Some(basic_auth(user, password));
        self
    }

    fn get(&self, url: &str) -> ureq::RequestBuilder<ureq::typestate::WithoutBody> {
        let request = self.agent.get(url);
        match &self.authorization {
            Some(value) => request.header("Authorization", value),
            None => request,
        }
    }

    /// Fetches a small document (the manifest) and checks its SHA-256. Blocking.
    pub fn fetch_verified(&self, url: &str, sha256: &str, limit: u64) -> anyhow::Result<Vec<u8>> {
        let mut response = self.get(url).call().with_context(|| format!("GET {url}"))?;
        if response.status() != 200 {
            bail!("GET {url} answered {}", response.status());
        }
        let body = response
            .body_mut()
            .with_config()
            .limit(limit)
            .read_to_vec()
            .with_context(|| format!("reading {url}"))?;
        let actual = hex::encode(Sha256::digest(&body));
        if actual != sha256 {
            bail!("{url} has SHA-256 {actual}, the reference says {sha256}");
        }
        Ok(body)
    }

    /// Deletes every cached or partial file whose digest is not in `keep`; returns how many.
    pub fn collect_garbage(&self, keep: &HashSet<String>) -> usize {
        let mut removed = 0;
        for dir in [self.dir.clone(), self.dir.join("partial")] {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if !path.is_file() {
                    continue;
                }
                let name = entry.file_name().to_string_lossy().to_string();
                let sha = name.trim_end_matches(".part");
                if !keep.contains(sha) && std::fs::remove_file(&path).is_ok() {
                    self.verified.lock().expect("not poisoned").remove(sha);
                    removed += 1;
                }
            }
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_for(bytes: &[u8]) -> ManifestFile {
        let sha = hex::encode(Sha256::digest(bytes));
        ManifestFile {
            asset: "a".into(),
            sha256: sha.parse().unwrap(),
            size_bytes: bytes.len() as u64,
            url: format!("/api/v1/content/{sha}"),
        }
    }

    /// A one-shot HTTP server: records the request head, answers with `status` and `body`.
    fn serve_once(status: &str, body: Vec<u8>) -> (String, std::thread::JoinHandle<String>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let status = status.to_string();
        let handle = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                stream.read_exact(&mut byte).unwrap();
                head.push(byte[0]);
            }
            write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .unwrap();
            stream.write_all(&body).unwrap();
            String::from_utf8(head).unwrap()
        });
        (base, handle)
    }

    #[test]
    fn an_interrupted_download_resumes_with_a_range_request() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ContentCache::open(dir.path(), Duration::from_secs(3600)).unwrap();
        let content: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let file = file_for(&content);
        let sha = file.sha256.to_string();
        std::fs::write(cache.partial_path(&sha), &content[..4_000]).unwrap();

        let (base, server) = serve_once("206 Partial Content", content[4_000..].to_vec());
        cache.download(&base, &file).unwrap();
        let head = server.join().unwrap().to_lowercase();
        assert!(head.contains("range: bytes=4000-"), "{head}");
        assert_eq!(std::fs::read(cache.path(&sha)).unwrap(), content);
        assert!(!cache.partial_path(&sha).exists());
        assert_eq!(cache.check(&file), Check::Ready);
    }

    #[test]
    fn a_download_that_does_not_match_its_digest_is_discarded() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ContentCache::open(dir.path(), Duration::from_secs(3600)).unwrap();
        let file = file_for(b"the real thing");
        let (base, server) = serve_once("200 OK", b"a forged thing".to_vec());
        let err = cache.download(&base, &file).unwrap_err().to_string();
        server.join().unwrap();
        assert!(err.contains("expected"), "{err}");
        let sha = file.sha256.to_string();
        assert!(!cache.path(&sha).exists() && !cache.partial_path(&sha).exists());
    }

    #[test]
    fn corrupt_files_are_detected_and_deleted_and_garbage_is_collected() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ContentCache::open(dir.path(), Duration::from_secs(3600)).unwrap();
        let file = file_for(b"hello");
        assert_eq!(cache.check(&file), Check::Missing);
        let path = cache.path(&file.sha256.to_string());
        std::fs::write(&path, b"hello").unwrap();
        assert_eq!(cache.check(&file), Check::Ready);
        // Same length, different bytes, and a different modification time.
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&path, b"jello").unwrap();
        assert_eq!(cache.check(&file), Check::Corrupt);
        assert!(!path.exists());

        std::fs::write(&path, b"hello").unwrap();
        std::fs::write(cache.path("stale"), b"x").unwrap();
        let keep = HashSet::from([file.sha256.to_string()]);
        assert_eq!(cache.collect_garbage(&keep), 1);
        assert!(path.exists());
    }
}

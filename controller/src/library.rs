//! Uploaded files on disk: `content/blobs/{sha256}` in the data directory, one file per
//! distinct content. Uploads are written to `content/incoming/` under a random name while
//! they stream in and renamed into place only when complete and verified, so a truncated or
//! refused upload never leaves a half-written file where it could be served.
//!
//! File names given by clients are never used as paths: a blob's name is its SHA-256.
//! What a file holds is read by the bounded probes in [`probe`].

pub mod multipart;
pub mod probe;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// What a file is, decided from its first bytes (never from its name or the client's claim).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    Png,
    Jpeg,
    Mp4,
    QuickTime,
    WebM,
}

impl MediaType {
    /// Bytes needed to recognise every supported type.
    pub const SNIFF_BYTES: usize = 40;

    pub fn sniff(head: &[u8]) -> Option<MediaType> {
        if head.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Some(MediaType::Png);
        }
        if head.starts_with(&[0xff, 0xd8, 0xff]) {
            return Some(MediaType::Jpeg);
        }
        if head.len() >= 12 && &head[4..8] == b"ftyp" {
            return Some(if &head[8..12] == b"qt  " {
                MediaType::QuickTime
            } else {
                MediaType::Mp4
            });
        }
        if head.len() >= 8 && matches!(&head[4..8], b"moov" | b"mdat" | b"wide" | b"free") {
            return Some(MediaType::QuickTime);
        }
        if head.starts_with(&[0x1a, 0x45, 0xdf, 0xa3]) {
            return Some(MediaType::WebM);
        }
        None
    }

    pub fn mime(self) -> &'static str {
        match self {
            MediaType::Png => "image/png",
            MediaType::Jpeg => "image/jpeg",
            MediaType::Mp4 => "video/mp4",
            MediaType::QuickTime => "video/quicktime",
            MediaType::WebM => "video/webm",
        }
    }

    pub fn is_video(self) -> bool {
        matches!(
            self,
            MediaType::Mp4 | MediaType::QuickTime | MediaType::WebM
        )
    }
}

/// The blob directory.
#[derive(Debug, Clone)]
pub struct ContentLibrary {
    root: PathBuf,
}

impl ContentLibrary {
    /// Creates the directories and removes uploads left behind by a crash.
    pub fn open(data_dir: &Path) -> std::io::Result<ContentLibrary> {
        let root = data_dir.join("content");
        let incoming = root.join("incoming");
        std::fs::create_dir_all(root.join("blobs"))?;
        std::fs::create_dir_all(root.join("player-builds"))?;
        std::fs::create_dir_all(&incoming)?;
        for entry in std::fs::read_dir(&incoming)? {
            let _ = std::fs::remove_file(entry?.path());
        }
        Ok(ContentLibrary { root })
    }

    /// Where a blob lives. `sha256` must already be validated as 64 hex digits.
    pub fn blob_path(&self, sha256: &content::asset::Sha256) -> PathBuf {
        self.root.join("blobs").join(sha256.to_string())
    }

    /// Where an uploaded player build lives (out of `blobs`, which the unused-file sweep
    /// tidies).
    pub fn build_path(&self, sha256: &content::asset::Sha256) -> PathBuf {
        self.root.join("player-builds").join(sha256.to_string())
    }

    pub fn incoming_dir(&self) -> PathBuf {
        self.root.join("incoming")
    }

    /// Starts an upload into a fresh temporary file.
    pub async fn begin_upload(&self) -> std::io::Result<Upload> {
        let name = format!("{}.part", crate::broker::random_token());
        let path = self.incoming_dir().join(name);
        let file = tokio::fs::File::create(&path).await?;
        Ok(Upload {
            guard: TempFile(Some(path)),
            file,
            hasher: Sha256::new(),
            size: 0,
            head: Vec::with_capacity(MediaType::SNIFF_BYTES),
        })
    }
}

/// Removes its file when dropped, unless it was moved into place: covers errors, refusals and
/// clients that hang up (axum drops the handler's future).
struct TempFile(Option<PathBuf>);

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A file being received: hashed and counted as it is written.
pub struct Upload {
    guard: TempFile,
    file: tokio::fs::File,
    hasher: Sha256,
    size: u64,
    head: Vec<u8>,
}

/// A complete upload, not yet in place.
pub struct Received {
    guard: TempFile,
    pub sha256: content::asset::Sha256,
    pub size_bytes: u64,
    pub head: Vec<u8>,
}

impl Upload {
    pub async fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        if self.head.len() < MediaType::SNIFF_BYTES {
            let take = (MediaType::SNIFF_BYTES - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        self.hasher.update(chunk);
        self.size += chunk.len() as u64;
        self.file.write_all(chunk).await
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The first bytes received so far.
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    /// Flushes to disk (fsync) and computes the digest.
    pub async fn finish(mut self) -> std::io::Result<Received> {
        self.file.flush().await?;
        self.file.sync_all().await?;
        let sha256 = hex::encode(self.hasher.finalize())
            .parse()
            .expect("hex digest is well formed");
        Ok(Received {
            guard: self.guard,
            sha256,
            size_bytes: self.size,
            head: self.head,
        })
    }
}

impl Received {
    pub fn path(&self) -> &Path {
        self.guard.0.as_deref().expect("present until stored")
    }

    /// Moves the file to its blob path; when the content is already stored (a duplicate), the
    /// upload is discarded instead. Returns whether the file was new.
    pub fn store(self, library: &ContentLibrary) -> std::io::Result<bool> {
        let target = library.blob_path(&self.sha256);
        self.store_at(target)
    }

    /// Moves the file to `target`, or discards it when `target` exists (same content).
    pub fn store_at(mut self, target: PathBuf) -> std::io::Result<bool> {
        if target.exists() {
            return Ok(false); // dropped guard removes the temporary file
        }
        let path = self.guard.0.take().expect("present until stored");
        std::fs::rename(&path, &target)?;
        if let Some(dir) = target.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(true)
    }
}
/// What a `Range` header asks of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRequest {
    /// No header, or not a single byte range: send the whole file (RFC 9110 allows it).
    Whole,
    /// The inclusive byte range to send.
    Part(u64, u64),
    /// Starts beyond the end of the file: answer 416.
    Unsatisfiable,
}

/// Parses `Range: bytes=...` against a file of `len` bytes (RFC 9110 section 14). Anything
/// but one well-formed range is answered with the whole file or 416, as the RFC allows, so a
/// header costs one pass over its text whatever it holds; every `Part` lies within the file.
pub fn parse_range(header: Option<&str>, len: u64) -> RangeRequest {
    let Some((unit, spec)) = header.and_then(|h| h.split_once('=')) else {
        return RangeRequest::Whole;
    };
    // Range units are case-insensitive; an unknown unit is ignored.
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return RangeRequest::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        // The last `suffix` bytes; a suffix longer than the file means all of it.
        return match position(last) {
            Some(suffix) if suffix > 0 && len > 0 => {
                RangeRequest::Part(len - suffix.min(len), len - 1)
            }
            _ => RangeRequest::Unsatisfiable,
        };
    }
    let Some(first) = position(first) else {
        return RangeRequest::Unsatisfiable;
    };
    let last = if last.is_empty() {
        u64::MAX
    } else {
        match position(last) {
            Some(last) => last,
            None => return RangeRequest::Unsatisfiable,
        }
    };
    if first >= len || last < first {
        return RangeRequest::Unsatisfiable;
    }
    RangeRequest::Part(first, last.min(len - 1))
}

/// A byte position: ASCII digits only (`u64::from_str` also takes a sign), saturated at
/// `u64::MAX` (positions past any file mean "to the end").
fn position(digits: &str) -> Option<u64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse().unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_sniffed_from_magic_bytes() {
        assert_eq!(
            MediaType::sniff(b"\x89PNG\r\n\x1a\n...."),
            Some(MediaType::Png)
        );
        assert_eq!(
            MediaType::sniff(&[0xff, 0xd8, 0xff, 0xe0]),
            Some(MediaType::Jpeg)
        );
        assert_eq!(
            MediaType::sniff(b"\0\0\0\x20ftypisom\0\0\x02\0"),
            Some(MediaType::Mp4)
        );
        assert_eq!(
            MediaType::sniff(b"\0\0\0\x14ftypqt  \0\0\0\0"),
            Some(MediaType::QuickTime)
        );
        assert_eq!(
            MediaType::sniff(&[0x1a, 0x45, 0xdf, 0xa3, 1, 2]),
            Some(MediaType::WebM)
        );
        for bad in [&b"GIF89a"[..], b"<html>", b"%PDF-1.7", b"", b"\x89PN"] {
            assert_eq!(MediaType::sniff(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ranges() {
        use RangeRequest::{Part, Unsatisfiable, Whole};
        assert_eq!(parse_range(None, 100), Whole);
        assert_eq!(parse_range(Some("bytes=0-9"), 100), Part(0, 9));
        assert_eq!(parse_range(Some("bytes=90-"), 100), Part(90, 99));
        assert_eq!(parse_range(Some("bytes=-10"), 100), Part(90, 99));
        assert_eq!(parse_range(Some("bytes=50-500"), 100), Part(50, 99));
        assert_eq!(parse_range(Some("Bytes=0-0"), 100), Part(0, 0));
        assert_eq!(parse_range(Some("bytes=100-"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=9-3"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=x-3"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-5"), 0), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-1,5-6"), 100), Whole);
        assert_eq!(parse_range(Some("items=0-1"), 100), Whole);
        assert_eq!(parse_range(Some("bytes=7"), 100), Whole);
    }

    #[test]
    fn hostile_ranges_stay_within_the_file() {
        use RangeRequest::{Part, Unsatisfiable, Whole};
        let huge = "99999999999999999999999999";
        // Positions beyond u64 once failed to parse, refusing a valid "to the end" request.
        assert_eq!(
            parse_range(Some(&format!("bytes=0-{huge}")), 100),
            Part(0, 99)
        );
        assert_eq!(
            parse_range(Some(&format!("bytes=-{huge}")), 100),
            Part(0, 99)
        );
        assert_eq!(
            parse_range(Some(&format!("bytes={huge}-")), 100),
            Unsatisfiable
        );
        // A suffix longer than the file is the whole file.
        assert_eq!(parse_range(Some("bytes=-1000"), 100), Part(0, 99));
        assert_eq!(
            parse_range(Some(&format!("bytes=-{}", u64::MAX)), u64::MAX),
            Part(0, u64::MAX - 1)
        );
        // `u64::from_str` accepts a sign; the grammar does not.
        assert_eq!(parse_range(Some("bytes=+1-+5"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=--5"), 100), Unsatisfiable);
        // Many ranges cost one scan and get the whole file.
        let many = format!("bytes={}", vec!["0-0"; 10_000].join(","));
        assert_eq!(parse_range(Some(&many), 100), Whole);
        assert_eq!(
            parse_range(Some("bytes=\u{0661}-\u{0662}"), 100),
            Unsatisfiable
        );
    }
}

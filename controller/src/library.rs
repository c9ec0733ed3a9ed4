//! Uploaded files on disk: `content/blobs/{sha256}` in the data directory, one file per
//! distinct content. Uploads are written to `content/incoming/` under a random name while
//! they stream in and renamed into place only when complete and verified, so a truncated or
//! refused upload never leaves a half-written file where it could be served.
//!
//! File names given by clients are never used as paths: a blob's name is its SHA-256.

use std::io::{Read, Seek, SeekFrom};
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
    pub fn store(mut self, library: &ContentLibrary) -> std::io::Result<bool> {
        let target = library.blob_path(&self.sha256);
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

/// The natural length of an MP4/QuickTime file from its `moov/mvhd` box, if present.
pub fn probe_mp4_duration_ms(path: &Path) -> Option<u64> {
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let mut offset = 0u64;
    while offset + 8 <= len {
        file.seek(SeekFrom::Start(offset)).ok()?;
        let mut header = [0u8; 16];
        file.read_exact(&mut header[..8]).ok()?;
        let mut size = u64::from(u32::from_be_bytes(header[..4].try_into().ok()?));
        let kind: [u8; 4] = header[4..8].try_into().ok()?;
        let mut header_len = 8;
        if size == 1 {
            file.read_exact(&mut header[8..16]).ok()?;
            size = u64::from_be_bytes(header[8..16].try_into().ok()?);
            header_len = 16;
        } else if size == 0 {
            size = len - offset;
        }
        if size < header_len {
            return None;
        }
        if &kind == b"moov" {
            let body_len = usize::try_from(size - header_len).ok()?.min(64 << 20);
            let mut body = vec![0u8; body_len];
            file.read_exact(&mut body).ok()?;
            return mvhd_duration_ms(&body);
        }
        offset += size;
    }
    None
}

fn mvhd_duration_ms(moov: &[u8]) -> Option<u64> {
    let mut at = 0;
    while at + 8 <= moov.len() {
        let size = u32::from_be_bytes(moov[at..at + 4].try_into().ok()?) as usize;
        if size < 8 || at + size > moov.len() {
            return None;
        }
        if &moov[at + 4..at + 8] == b"mvhd" {
            let body = &moov[at + 8..at + size];
            let version = *body.first()?;
            let (timescale, duration) = if version == 1 {
                (
                    u64::from(u32::from_be_bytes(body.get(20..24)?.try_into().ok()?)),
                    u64::from_be_bytes(body.get(24..32)?.try_into().ok()?),
                )
            } else {
                (
                    u64::from(u32::from_be_bytes(body.get(12..16)?.try_into().ok()?)),
                    u64::from(u32::from_be_bytes(body.get(16..20)?.try_into().ok()?)),
                )
            };
            if timescale == 0 {
                return None;
            }
            return Some(duration.saturating_mul(1000) / timescale);
        }
        at += size;
    }
    None
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

/// Parses `Range: bytes=...` against a file of `len` bytes.
pub fn parse_range(header: Option<&str>, len: u64) -> RangeRequest {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeRequest::Whole;
    };
    if spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((start, end)) = spec.split_once('-') else {
        return RangeRequest::Whole;
    };
    let (start, end) = (start.trim(), end.trim());
    if start.is_empty() {
        return match end.parse::<u64>() {
            Ok(suffix) if suffix > 0 && len > 0 => {
                RangeRequest::Part(len.saturating_sub(suffix), len - 1)
            }
            _ => RangeRequest::Unsatisfiable,
        };
    }
    let Ok(start) = start.parse::<u64>() else {
        return RangeRequest::Unsatisfiable;
    };
    let end = if end.is_empty() {
        len.saturating_sub(1)
    } else {
        match end.parse::<u64>() {
            Ok(end) => end.min(len.saturating_sub(1)),
            Err(_) => return RangeRequest::Unsatisfiable,
        }
    };
    if start >= len || end < start {
        return RangeRequest::Unsatisfiable;
    }
    RangeRequest::Part(start, end)
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
        assert_eq!(parse_range(Some("bytes=100-"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=9-3"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=x-3"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-1,5-6"), 100), Whole);
        assert_eq!(parse_range(Some("items=0-1"), 100), Whole);
    }

    #[test]
    fn mvhd_durations() {
        // version 0: timescale 1000, duration 2500
        let mut mvhd = vec![0u8; 8 + 100];
        mvhd[..4].copy_from_slice(&(108u32).to_be_bytes());
        mvhd[4..8].copy_from_slice(b"mvhd");
        mvhd[8 + 12..8 + 16].copy_from_slice(&1000u32.to_be_bytes());
        mvhd[8 + 16..8 + 20].copy_from_slice(&2500u32.to_be_bytes());
        assert_eq!(mvhd_duration_ms(&mvhd), Some(2500));
        assert_eq!(mvhd_duration_ms(b"\0\0\0\x04xx"), None);
    }
}

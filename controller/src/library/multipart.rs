//! A bounded, push-based `multipart/form-data` reader for uploads.
//!
//! Bytes arrive in chunks of any size; each byte is scanned a bounded number of times (a
//! delimiter split across chunks keeps at most its own length of tail), part headers are
//! capped, and the caller caps each field's size. A general reader that buffers until it
//! finds a pattern rescans its whole buffer on every chunk: a part header that never ends
//! then costs memory up to the body limit and time quadratic in it.

use std::fmt;

/// Bytes before the first boundary (RFC 2046 preamble), at most.
const MAX_PREAMBLE: usize = 1024;
/// One part's headers, at most.
const MAX_PART_HEADERS: usize = 4096;
/// Parts in one body, at most.
const MAX_PARTS: usize = 8;
/// Longest boundary RFC 2046 allows.
const MAX_BOUNDARY: usize = 70;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    /// A part begins: its `name` and `filename` from `Content-Disposition`.
    Part {
        name: String,
        file_name: Option<String>,
    },
    /// Some bytes of the current part's body.
    Data(&'a [u8]),
    /// The closing delimiter: nothing after it is read.
    End,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultipartError {
    Boundary,
    Preamble,
    HeadersTooLong,
    BadHeaders(&'static str),
    TooManyParts,
    Incomplete,
}

impl fmt::Display for MultipartError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            MultipartError::Boundary => write!(
                f,
                "the Content-Type needs a multipart/form-data boundary of 1 to {MAX_BOUNDARY} characters"
            ),
            MultipartError::Preamble => {
                write!(f, "no boundary within the first {MAX_PREAMBLE} bytes")
            }
            MultipartError::HeadersTooLong => {
                write!(f, "a part's headers exceed {MAX_PART_HEADERS} bytes")
            }
            MultipartError::BadHeaders(why) => write!(f, "a part's headers are malformed: {why}"),
            MultipartError::TooManyParts => write!(f, "more than {MAX_PARTS} parts"),
            MultipartError::Incomplete => write!(f, "the body ends before its closing boundary"),
        }
    }
}

impl std::error::Error for MultipartError {}

/// The boundary of a `multipart/form-data` Content-Type.
pub fn boundary(content_type: &str) -> Result<String, MultipartError> {
    let mut params = content_type.split(';');
    let essence = params.next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("multipart/form-data") {
        return Err(MultipartError::Boundary);
    }
    let value = params
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"'))
        .ok_or(MultipartError::Boundary)?;
    if value.is_empty()
        || value.len() > MAX_BOUNDARY
        || !value.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
    {
        return Err(MultipartError::Boundary);
    }
    Ok(value.to_owned())
}

enum Stage {
    /// Before the first `--boundary`.
    Preamble,
    /// After a delimiter: `--` ends the body, CRLF starts a part.
    AfterDelimiter,
    Headers,
    Body,
    Done,
}

pub struct Reader {
    /// `\r\n--boundary`: what ends a part's body.
    delimiter: Vec<u8>,
    stage: Stage,
    /// Undecided bytes: a possible delimiter start, an unfinished header block.
    pending: Vec<u8>,
    /// How much of `pending` was searched already (it is never searched twice).
    scanned: usize,
    parts: usize,
}

impl Reader {
    pub fn new(boundary: &str) -> Reader {
        let mut delimiter = b"\r\n--".to_vec();
        delimiter.extend_from_slice(boundary.as_bytes());
        Reader {
            delimiter,
            stage: Stage::Preamble,
            // The preamble is read as if preceded by CRLF, so a body may start with `--b`.
            pending: b"\r\n".to_vec(),
            scanned: 0,
            parts: 0,
        }
    }

    pub fn is_done(&self) -> bool {
        matches!(self.stage, Stage::Done)
    }

    /// Reads `chunk`, reporting what it completes through `emit`; bytes after the closing
    /// delimiter are ignored.
    pub fn push(
        &mut self,
        chunk: &[u8],
        emit: &mut dyn FnMut(Event) -> Result<(), MultipartError>,
    ) -> Result<(), MultipartError> {
        let mut input = chunk;
        loop {
            match self.stage {
                Stage::Done => return Ok(()),
                Stage::Preamble => {
                    let cap = MAX_PREAMBLE + self.delimiter.len() + 2;
                    let take = input.len().min(cap.saturating_sub(self.pending.len()));
                    self.pending.extend_from_slice(&input[..take]);
                    input = &input[take..];
                    // Bytes past the cap may already be here (left over from a chunk): the
                    // bound holds whatever the chunking.
                    let window = self.pending.len().min(cap);
                    let from = self
                        .scanned
                        .saturating_sub(self.delimiter.len() - 1)
                        .min(window);
                    match find(&self.pending[from..window], &self.delimiter) {
                        Some(at) => {
                            self.pending.drain(..from + at + self.delimiter.len());
                            self.enter(Stage::AfterDelimiter);
                        }
                        None if self.pending.len() >= cap => return Err(MultipartError::Preamble),
                        None => {
                            self.scanned = self.pending.len();
                            return Ok(());
                        }
                    }
                }
                Stage::AfterDelimiter => {
                    let need = 2usize.saturating_sub(self.pending.len()).min(input.len());
                    self.pending.extend_from_slice(&input[..need]);
                    input = &input[need..];
                    if self.pending.len() < 2 {
                        return Ok(());
                    }
                    match &self.pending[..2] {
                        b"--" => {
                            self.enter(Stage::Done);
                            self.pending.clear();
                            return emit(Event::End);
                        }
                        b"\r\n" => {
                            self.pending.drain(..2);
                            self.parts += 1;
                            if self.parts > MAX_PARTS {
                                return Err(MultipartError::TooManyParts);
                            }
                            self.enter(Stage::Headers);
                        }
                        _ => {
                            return Err(MultipartError::BadHeaders("no line end after a boundary"));
                        }
                    }
                }
                Stage::Headers => {
                    let cap = MAX_PART_HEADERS + 4;
                    let take = input.len().min(cap.saturating_sub(self.pending.len()));
                    self.pending.extend_from_slice(&input[..take]);
                    input = &input[take..];
                    let window = self.pending.len().min(cap);
                    let from = self.scanned.saturating_sub(3).min(window);
                    let Some(end) =
                        find(&self.pending[from..window], b"\r\n\r\n").map(|i| i + from)
                    else {
                        if self.pending.len() >= cap {
                            return Err(MultipartError::HeadersTooLong);
                        }
                        self.scanned = self.pending.len();
                        return Ok(());
                    };
                    let (name, file_name) = disposition(&self.pending[..end])?;
                    self.pending.drain(..end + 4);
                    self.enter(Stage::Body);
                    emit(Event::Part { name, file_name })?;
                }
                Stage::Body => {
                    // Between calls `pending` holds at most a delimiter's length of tail.
                    self.pending.extend_from_slice(input);
                    input = &[];
                    let from = self.scanned.saturating_sub(self.delimiter.len() - 1);
                    match find(&self.pending[from..], &self.delimiter).map(|i| i + from) {
                        Some(at) => {
                            if at > 0 {
                                emit(Event::Data(&self.pending[..at]))?;
                            }
                            self.pending.drain(..at + self.delimiter.len());
                            self.enter(Stage::AfterDelimiter);
                        }
                        None => {
                            let keep = partial_suffix(&self.pending, &self.delimiter);
                            let decided = self.pending.len() - keep;
                            if decided > 0 {
                                emit(Event::Data(&self.pending[..decided]))?;
                                self.pending.drain(..decided);
                            }
                            self.scanned = self.pending.len();
                            return Ok(());
                        }
                    }
                }
            }
        }
    }

    fn enter(&mut self, stage: Stage) {
        self.stage = stage;
        self.scanned = 0;
    }

    /// At the end of the body: an error unless the closing delimiter was read.
    pub fn finish(&self) -> Result<(), MultipartError> {
        if self.is_done() {
            Ok(())
        } else {
            Err(MultipartError::Incomplete)
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

/// The length of the longest suffix of `data` that is a proper prefix of `delimiter`.
fn partial_suffix(data: &[u8], delimiter: &[u8]) -> usize {
    (1..delimiter.len().min(data.len() + 1))
        .rev()
        .find(|&n| data.ends_with(&delimiter[..n]))
        .unwrap_or(0)
}

/// `name` and `filename` of a part's `Content-Disposition: form-data` header.
fn disposition(block: &[u8]) -> Result<(String, Option<String>), MultipartError> {
    let text = std::str::from_utf8(block).map_err(|_| MultipartError::BadHeaders("not UTF-8"))?;
    let value = text
        .split("\r\n")
        .filter_map(|line| line.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-disposition"))
        .map(|(_, v)| v.trim())
        .ok_or(MultipartError::BadHeaders("no Content-Disposition"))?;
    let mut params = value.split(';');
    if !params
        .next()
        .is_some_and(|kind| kind.trim().eq_ignore_ascii_case("form-data"))
    {
        return Err(MultipartError::BadHeaders(
            "Content-Disposition is not form-data",
        ));
    }
    let (mut name, mut file_name) = (None, None);
    for param in params {
        let Some((key, raw)) = param.split_once('=') else {
            continue;
        };
        let raw = raw.trim();
        let value = raw
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(raw)
            .to_owned();
        match key.trim().to_ascii_lowercase().as_str() {
            "name" => name = Some(value),
            "filename" => file_name = Some(value),
            _ => {}
        }
    }
    let name = name.ok_or(MultipartError::BadHeaders("a part without a name"))?;
    Ok((name, file_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every event of `body` read in chunks of `size`, data joined per part.
    pub fn read_all(body: &[u8], size: usize) -> Result<Vec<(String, Vec<u8>)>, MultipartError> {
        let mut reader = Reader::new("XyZ");
        let mut parts: Vec<(String, Vec<u8>)> = Vec::new();
        for chunk in body.chunks(size.max(1)) {
            reader.push(chunk, &mut |e| {
                match e {
                    Event::Part { name, .. } => parts.push((name, Vec::new())),
                    Event::Data(d) => parts.last_mut().expect("in a part").1.extend_from_slice(d),
                    Event::End => {}
                }
                Ok(())
            })?;
        }
        reader.finish()?;
        Ok(parts)
    }

    const BODY: &[u8] = b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--X not yet\r\n--XyZ\r\nContent-Disposition: form-data; name=duration_ms\r\n\r\n5000\r\n--XyZ--\r\nignored";

    #[test]
    fn any_chunking_reads_the_same_parts() {
        let whole = read_all(BODY, BODY.len()).unwrap();
        assert_eq!(
            whole,
            vec![
                ("file".into(), b"\x89PNG\r\n--X not yet".to_vec()),
                ("duration_ms".into(), b"5000".to_vec())
            ]
        );
        for size in 1..BODY.len() {
            assert_eq!(read_all(BODY, size).unwrap(), whole, "chunks of {size}");
        }
        // A body that opens with the boundary (no preamble, no leading CRLF).
        let bare = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--XyZ--";
        assert_eq!(
            read_all(bare, 3).unwrap(),
            vec![("a".into(), b"x".to_vec())]
        );
    }

    #[test]
    fn endless_headers_preambles_and_parts_are_refused_early() {
        let mut endless = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\nX: ".to_vec();
        endless.extend(std::iter::repeat_n(b'a', 1 << 20));
        assert_eq!(
            read_all(&endless, 1000),
            Err(MultipartError::HeadersTooLong)
        );
        let preamble = vec![b'p'; 1 << 20];
        assert_eq!(read_all(&preamble, 4096), Err(MultipartError::Preamble));
        let mut many = Vec::new();
        for i in 0..20 {
            many.extend(
                format!("--XyZ\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\nx\r\n")
                    .bytes(),
            );
        }
        assert_eq!(read_all(&many, 64), Err(MultipartError::TooManyParts));
        assert_eq!(
            read_all(&BODY[..BODY.len() - 20], 7),
            Err(MultipartError::Incomplete)
        );
    }

    /// Found by `signage-fuzz --target multipart`: a second part's over-long headers, arriving
    /// in the same chunk as the first part, were read whole (the cap held only across chunks).
    #[test]
    fn the_header_cap_holds_whatever_the_chunking() {
        let mut body = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--XyZ\r\nContent-Disposition: form-data; name=\"b\"\r\nX: ".to_vec();
        body.extend(std::iter::repeat_n(b'h', 5000));
        body.extend_from_slice(b"\r\n\r\ny\r\n--XyZ--");
        for size in [body.len(), 11, 4096] {
            assert_eq!(
                read_all(&body, size),
                Err(MultipartError::HeadersTooLong),
                "{size}"
            );
        }
    }

    #[test]
    fn boundaries_come_from_the_content_type() {
        assert_eq!(
            boundary("multipart/form-data; boundary=XyZ").unwrap(),
            "XyZ"
        );
        assert_eq!(
            boundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b\"").unwrap(),
            "a b"
        );
        assert!(boundary("multipart/form-data").is_err());
        assert!(boundary("text/plain; boundary=x").is_err());
        assert!(boundary(&format!("multipart/form-data; boundary={}", "b".repeat(71))).is_err());
    }
}

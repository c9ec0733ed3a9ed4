//! Bounded probes of uploaded media: each reads only what a format's headers say, from bytes
//! any `pr` account can upload. Every walk checks its arithmetic, only moves forward (a box or
//! element holds at least its header and stays inside its parent), and stops after
//! `MAX_ELEMENTS` visits or `MAX_PROBE_BYTES` read, so no file can make a probe loop,
//! allocate or read without bound (issue 19: a 48-byte MP4 once froze the controller).

use std::io::{Read, Seek, SeekFrom};

use super::MediaType;

/// Most pixels an image may have: decoded as RGBA it takes 256 MiB, about what a player can
/// spare beside its video pipeline.
pub const MAX_IMAGE_PIXELS: u64 = 8192 * 8192;
/// Most pixels a video frame may have: DCI 4K (4096x2160), the largest the players' decoders
/// are sized for.
pub const MAX_VIDEO_PIXELS: u64 = 4096 * 2160;
/// Most boxes, segments or elements one probe visits: real files need dozens, and every visit
/// moves forward, so this bounds a probe's time.
const MAX_ELEMENTS: u32 = 10_000;
/// Most bytes one probe reads: headers only, a few KB in real files.
const MAX_PROBE_BYTES: u64 = 1 << 20;

/// A picture's size in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dimensions {
    pub width: u32,
    pub height: u32,
}

impl Dimensions {
    pub fn pixels(self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }
}

impl std::fmt::Display for Dimensions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

/// What an upload's headers say.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MediaInfo {
    /// A video's natural length (MP4/QuickTime `mvhd`).
    pub duration_ms: Option<u64>,
    /// An image's size, or a video's largest frame size.
    pub dimensions: Option<Dimensions>,
}

/// Why an upload is refused after its bytes were received.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error(
        "the {what} is {dimensions} pixels ({:.1} megapixels); players decode at most {:.1} megapixels ({}): scale it down and upload it again",
        megapixels(dimensions.pixels()),
        megapixels(*limit),
        if *limit == MAX_VIDEO_PIXELS { "e.g. 4096x2160" } else { "e.g. 8192x8192" }
    )]
    TooManyPixels {
        what: &'static str,
        dimensions: Dimensions,
        limit: u64,
    },
    #[error(
        "the {0}'s headers are damaged or incomplete, so it cannot be checked before screens decode it (a truncated or unfinished file?): export it again and upload the new file"
    )]
    Damaged(&'static str),
    #[error(
        "the {0}'s headers are larger than any real file's (over {MAX_ELEMENTS} boxes or segments, or {MAX_PROBE_BYTES} bytes): export it again with a common encoder and upload the new file"
    )]
    TooComplex(&'static str),
    #[error("cannot read the uploaded file: {0}")]
    Io(#[from] std::io::Error),
}

fn megapixels(pixels: u64) -> f64 {
    pixels as f64 / 1e6
}

/// Why a probe could not finish.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The file needs more visits or bytes than a probe allows: real files never do.
    #[error("the headers exceed the probe's limits")]
    Limits,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Reads what the upload path needs from a file's headers, and refuses images and videos
/// larger than players decode (before any player tries). Files whose headers are damaged or
/// exceed the probe's limits are refused too, so that neither can hide a size; a well-formed
/// video without a picture track (sound only) is accepted.
pub fn inspect<R: Read + Seek>(media: MediaType, reader: R) -> Result<MediaInfo, MediaError> {
    let what = match media {
        MediaType::Png => "PNG image",
        MediaType::Jpeg => "JPEG image",
        MediaType::Mp4 => "MP4 video",
        MediaType::QuickTime => "QuickTime video",
        MediaType::WebM => "WebM video",
    };
    let image = |dimensions: Option<Dimensions>| {
        dimensions.map(|d| MediaInfo {
            duration_ms: None,
            dimensions: Some(d),
        })
    };
    let info = match media {
        MediaType::Png => probe_png(reader).map(image),
        MediaType::Jpeg => probe_jpeg(reader).map(image),
        MediaType::Mp4 | MediaType::QuickTime => probe_mp4(reader),
        MediaType::WebM => probe_webm(reader),
    }
    .map_err(|e| match e {
        ProbeError::Limits => MediaError::TooComplex(what),
        ProbeError::Io(e) => MediaError::Io(e),
    })?
    .ok_or(MediaError::Damaged(what))?;
    let limit = if media.is_video() {
        MAX_VIDEO_PIXELS
    } else {
        MAX_IMAGE_PIXELS
    };
    match info.dimensions {
        Some(dimensions) if dimensions.pixels() > limit => Err(MediaError::TooManyPixels {
            what,
            dimensions,
            limit,
        }),
        _ => Ok(info),
    }
}

/// Why a probe stopped early.
enum Stop {
    Io(std::io::Error),
    Limits,
    /// The bytes break the format.
    Invalid,
}

impl From<std::io::Error> for Stop {
    fn from(e: std::io::Error) -> Stop {
        Stop::Io(e)
    }
}

/// A probe's bounded view of a file: reads within the file's length and a byte budget, and
/// counts the elements visited.
struct Source<R> {
    reader: R,
    len: u64,
    /// Where the reader is, so sequential reads do not seek (which would drop a BufReader's
    /// buffer).
    pos: u64,
    budget: u64,
    visits: u32,
}

impl<R: Read + Seek> Source<R> {
    fn new(mut reader: R) -> std::io::Result<Source<R>> {
        let len = reader.seek(SeekFrom::End(0))?;
        Ok(Source {
            reader,
            len,
            pos: len,
            budget: MAX_PROBE_BYTES,
            visits: 0,
        })
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), Stop> {
        let n = buf.len() as u64;
        let end = offset.checked_add(n).ok_or(Stop::Invalid)?;
        if end > self.len {
            return Err(Stop::Invalid);
        }
        if n > self.budget {
            return Err(Stop::Limits);
        }
        self.budget -= n;
        if offset != self.pos {
            self.reader.seek(SeekFrom::Start(offset))?;
        }
        self.pos = end;
        self.reader.read_exact(buf)?;
        Ok(())
    }

    fn byte_at(&mut self, offset: u64) -> Result<u8, Stop> {
        let mut byte = [0u8];
        self.read_at(offset, &mut byte)?;
        Ok(byte[0])
    }

    /// Reads `buf` at `offset` inside `within`, a box or element whose body it must not leave.
    fn read_in(&mut self, within: &Span, offset: u64, buf: &mut [u8]) -> Result<(), Stop> {
        let start = within.body.checked_add(offset).ok_or(Stop::Invalid)?;
        if start
            .checked_add(buf.len() as u64)
            .is_none_or(|end| end > within.end)
        {
            return Err(Stop::Invalid);
        }
        self.read_at(start, buf)
    }

    fn visit(&mut self) -> Result<(), Stop> {
        self.visits += 1;
        if self.visits > MAX_ELEMENTS {
            return Err(Stop::Limits);
        }
        Ok(())
    }
}

/// A box (MP4) or element (EBML): its type, where its body starts and where it ends.
struct Span {
    kind: u32,
    body: u64,
    end: u64,
}

/// A probe's result: `None` when the bytes are invalid.
fn finish<T>(result: Result<T, Stop>) -> Result<Option<T>, ProbeError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(Stop::Invalid) => Ok(None),
        Err(Stop::Limits) => Err(ProbeError::Limits),
        Err(Stop::Io(e)) => Err(ProbeError::Io(e)),
    }
}

fn be_u16(bytes: &[u8]) -> u16 {
    u16::from_be_bytes([bytes[0], bytes[1]])
}

fn be_u32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

fn nonzero(width: u32, height: u32) -> Option<Dimensions> {
    (width > 0 && height > 0).then_some(Dimensions { width, height })
}

/// The larger of two sizes, by pixel count.
fn larger(a: Option<Dimensions>, b: Option<Dimensions>) -> Option<Dimensions> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.pixels() > a.pixels() { b } else { a }),
        (a, b) => a.or(b),
    }
}

const PNG_SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// A PNG's size from its `IHDR`, which must be the first chunk.
pub fn probe_png<R: Read + Seek>(reader: R) -> Result<Option<Dimensions>, ProbeError> {
    let mut source = Source::new(reader)?;
    // Signature, chunk length (13) and type, width, height.
    let mut head = [0u8; 24];
    if finish(source.read_at(0, &mut head))?.is_none() {
        return Ok(None);
    }
    let ihdr =
        &head[..8] == PNG_SIGNATURE && be_u32(&head[8..12]) == 13 && &head[12..16] == b"IHDR";
    Ok(ihdr
        .then(|| nonzero(be_u32(&head[16..20]), be_u32(&head[20..24])))
        .flatten())
}

/// A JPEG's size from its frame header (`SOFn`), found by walking the marker segments before
/// the image data.
pub fn probe_jpeg<R: Read + Seek>(reader: R) -> Result<Option<Dimensions>, ProbeError> {
    let mut source = Source::new(reader)?;
    finish(jpeg_frame(&mut source)).map(Option::flatten)
}

fn jpeg_frame<R: Read + Seek>(source: &mut Source<R>) -> Result<Option<Dimensions>, Stop> {
    let mut soi = [0u8; 2];
    source.read_at(0, &mut soi)?;
    if soi != [0xFF, 0xD8] {
        return Err(Stop::Invalid);
    }
    let mut at = 2u64;
    loop {
        source.visit()?;
        // A marker: 0xFF, any number of 0xFF fill bytes, then its code. Every step below
        // moves `at` forward, within the file.
        if source.byte_at(at)? != 0xFF {
            return Err(Stop::Invalid);
        }
        let mut code = 0xFF;
        while code == 0xFF {
            at += 1;
            code = source.byte_at(at)?;
        }
        at += 1;
        match code {
            // Standalone markers: no length follows.
            0x01 | 0xD0..=0xD8 => {}
            // Image data or its end before any frame header: nothing to decode.
            0x00 | 0xD9 | 0xDA => return Err(Stop::Invalid),
            // Frame headers (C4, C8 and CC are tables and a reserved code).
            0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                // Length, precision, height, width.
                let mut sof = [0u8; 7];
                source.read_at(at, &mut sof)?;
                return Ok(nonzero(
                    u32::from(be_u16(&sof[5..7])),
                    u32::from(be_u16(&sof[3..5])),
                ));
            }
            _ => {
                let mut length = [0u8; 2];
                source.read_at(at, &mut length)?;
                let length = be_u16(&length);
                if length < 2 {
                    return Err(Stop::Invalid);
                }
                at = at.checked_add(u64::from(length)).ok_or(Stop::Invalid)?;
            }
        }
    }
}

const fn fourcc(kind: &[u8; 4]) -> u32 {
    u32::from_be_bytes(*kind)
}

const MOOV: u32 = fourcc(b"moov");
const MVHD: u32 = fourcc(b"mvhd");
const TRAK: u32 = fourcc(b"trak");
const TKHD: u32 = fourcc(b"tkhd");
const MDIA: u32 = fourcc(b"mdia");
const HDLR: u32 = fourcc(b"hdlr");
const MINF: u32 = fourcc(b"minf");
const STBL: u32 = fourcc(b"stbl");
const STSD: u32 = fourcc(b"stsd");

/// An MP4/QuickTime file's length (`moov/mvhd`) and its video tracks' largest frame size (the
/// larger of each track's `tkhd` and its sample entries in `stsd`), read up to the first
/// `moov`; `None` when the boxes up to there are invalid or there is no `moov`.
pub fn probe_mp4<R: Read + Seek>(reader: R) -> Result<Option<MediaInfo>, ProbeError> {
    let mut source = Source::new(reader)?;
    let mut found = Mp4Found::default();
    let len = source.len;
    let mut at = 0;
    let walk = loop {
        match mp4_box(&mut source, at, len) {
            Ok(Some(top)) if top.kind == MOOV => {
                break mp4_children(&mut source, &top, &mut found);
            }
            Ok(Some(top)) => at = top.end,
            Ok(None) => break Err(Stop::Invalid), // no moov
            Err(stop) => break Err(stop),
        }
    };
    Ok(finish(walk)?.map(|()| MediaInfo {
        duration_ms: found.duration_ms,
        dimensions: found.dimensions,
    }))
}

#[derive(Default)]
struct Mp4Found {
    duration_ms: Option<u64>,
    dimensions: Option<Dimensions>,
    /// The track being read: whether its handler is `vide`, and its largest size so far.
    video_track: bool,
    track_dimensions: Option<Dimensions>,
}

/// The box at `at`, which must end by `end` (its parent's end). `None` when fewer bytes than a
/// box header are left.
fn mp4_box<R: Read + Seek>(
    source: &mut Source<R>,
    at: u64,
    end: u64,
) -> Result<Option<Span>, Stop> {
    if end.saturating_sub(at) < 8 {
        return Ok(None);
    }
    source.visit()?;
    let mut head = [0u8; 8];
    source.read_at(at, &mut head)?;
    let (size, header) = match be_u32(&head[..4]) {
        1 => {
            let mut large = [0u8; 8];
            source.read_at(at + 8, &mut large)?;
            (u64::from_be_bytes(large), 16)
        }
        0 => (end - at, 8), // to the end of the parent
        size => (u64::from(size), 8),
    };
    // What makes every walk end: a box holds at least its header and stays inside its parent,
    // so the next box starts strictly later and never wraps around.
    let box_end = at.checked_add(size).ok_or(Stop::Invalid)?;
    if size < header || box_end > end {
        return Err(Stop::Invalid);
    }
    Ok(Some(Span {
        kind: be_u32(&head[4..]),
        body: at + header,
        end: box_end,
    }))
}

/// Walks the children of a box, descending only along moov/trak/mdia/minf/stbl (so the depth
/// is bounded by the format, not by the file).
fn mp4_children<R: Read + Seek>(
    source: &mut Source<R>,
    parent: &Span,
    found: &mut Mp4Found,
) -> Result<(), Stop> {
    let mut at = parent.body;
    while let Some(child) = mp4_box(source, at, parent.end)? {
        match (parent.kind, child.kind) {
            (MOOV, MVHD) => found.duration_ms = mvhd_duration_ms(source, &child)?,
            (MOOV, TRAK) => {
                found.video_track = false;
                found.track_dimensions = None;
                mp4_children(source, &child, found)?;
                if found.video_track {
                    found.dimensions = larger(found.dimensions, found.track_dimensions);
                }
            }
            (TRAK, MDIA) | (MDIA, MINF) | (MINF, STBL) => mp4_children(source, &child, found)?,
            (TRAK, TKHD) => {
                let size = tkhd_dimensions(source, &child)?;
                found.track_dimensions = larger(found.track_dimensions, size);
            }
            (MDIA, HDLR) => {
                // Version and flags, pre_defined, then the handler type.
                let mut handler = [0u8; 4];
                source.read_in(&child, 8, &mut handler)?;
                found.video_track = &handler == b"vide";
            }
            (STBL, STSD) => {
                // Version and flags, entry count, then the sample entries, box-shaped; a
                // visual entry has its width and height after 24 bytes.
                let mut entry_at = child.body.checked_add(8).ok_or(Stop::Invalid)?;
                while let Some(entry) = mp4_box(source, entry_at, child.end)? {
                    let mut size = [0u8; 4];
                    match source.read_in(&entry, 24, &mut size) {
                        Ok(()) => {
                            let size = nonzero(
                                u32::from(be_u16(&size[..2])),
                                u32::from(be_u16(&size[2..])),
                            );
                            found.track_dimensions = larger(found.track_dimensions, size);
                        }
                        Err(Stop::Invalid) => {} // too short for a visual entry
                        Err(stop) => return Err(stop),
                    }
                    entry_at = entry.end;
                }
            }
            _ => {}
        }
        at = child.end;
    }
    Ok(())
}

fn mvhd_duration_ms<R: Read + Seek>(
    source: &mut Source<R>,
    mvhd: &Span,
) -> Result<Option<u64>, Stop> {
    let mut version = [0u8];
    source.read_in(mvhd, 0, &mut version)?;
    let (timescale, duration) = if version[0] == 1 {
        let mut fields = [0u8; 12];
        source.read_in(mvhd, 20, &mut fields)?;
        let duration = u64::from_be_bytes(fields[4..].try_into().expect("8 bytes"));
        (be_u32(&fields[..4]), duration)
    } else {
        let mut fields = [0u8; 8];
        source.read_in(mvhd, 12, &mut fields)?;
        let duration = be_u32(&fields[4..]);
        // All ones: unknown.
        let duration = if duration == u32::MAX {
            u64::MAX
        } else {
            u64::from(duration)
        };
        (be_u32(&fields[..4]), duration)
    };
    if timescale == 0 || duration == u64::MAX {
        return Ok(None);
    }
    Ok(Some(duration.saturating_mul(1000) / u64::from(timescale)))
}

/// A track header's width and height (16.16 fixed point; 0 for tracks without pictures).
fn tkhd_dimensions<R: Read + Seek>(
    source: &mut Source<R>,
    tkhd: &Span,
) -> Result<Option<Dimensions>, Stop> {
    let mut version = [0u8];
    source.read_in(tkhd, 0, &mut version)?;
    let offset = if version[0] == 1 { 88 } else { 76 };
    let mut size = [0u8; 8];
    source.read_in(tkhd, offset, &mut size)?;
    Ok(nonzero(be_u32(&size[..4]) >> 16, be_u32(&size[4..]) >> 16))
}

const EBML_SEGMENT: u32 = 0x1853_8067;
const EBML_TRACKS: u32 = 0x1654_AE6B;
const EBML_TRACK_ENTRY: u32 = 0xAE;
const EBML_VIDEO: u32 = 0xE0;
const EBML_PIXEL_WIDTH: u32 = 0xB0;
const EBML_PIXEL_HEIGHT: u32 = 0xBA;

/// A WebM/Matroska file's largest video frame size (`Segment/Tracks/TrackEntry/Video`
/// `PixelWidth` and `PixelHeight`); `None` when the elements up to `Tracks` are invalid or
/// there is no `Tracks`. Tracks come before the first cluster in every muxer's output, so the
/// walk never reads cluster data.
pub fn probe_webm<R: Read + Seek>(reader: R) -> Result<Option<MediaInfo>, ProbeError> {
    let mut source = Source::new(reader)?;
    let mut largest = None;
    let len = source.len;
    let mut at = 0;
    let walk = loop {
        match ebml_element(&mut source, at, len) {
            Ok(Some(top)) if top.kind == EBML_SEGMENT => {
                break webm_children(&mut source, &top, &mut largest);
            }
            Ok(Some(top)) => at = top.end,
            Ok(None) => break Err(Stop::Invalid), // no Segment
            Err(stop) => break Err(stop),
        }
    };
    Ok(finish(walk)?.map(|()| MediaInfo {
        duration_ms: None,
        dimensions: largest,
    }))
}

/// Walks Segment/Tracks/TrackEntry/Video, stopping after `Tracks`; a Segment without
/// `Tracks` is invalid.
fn webm_children<R: Read + Seek>(
    source: &mut Source<R>,
    parent: &Span,
    largest: &mut Option<Dimensions>,
) -> Result<(), Stop> {
    let mut at = parent.body;
    let mut width = 0;
    let mut height = 0;
    while let Some(child) = ebml_element(source, at, parent.end)? {
        match (parent.kind, child.kind) {
            (EBML_SEGMENT, EBML_TRACKS) => return webm_children(source, &child, largest),
            (EBML_TRACKS, EBML_TRACK_ENTRY) | (EBML_TRACK_ENTRY, EBML_VIDEO) => {
                webm_children(source, &child, largest)?;
            }
            (EBML_VIDEO, EBML_PIXEL_WIDTH) => width = ebml_uint(source, &child)?,
            (EBML_VIDEO, EBML_PIXEL_HEIGHT) => height = ebml_uint(source, &child)?,
            _ => {}
        }
        at = child.end;
    }
    match parent.kind {
        EBML_SEGMENT => return Err(Stop::Invalid), // no Tracks
        EBML_VIDEO => *largest = larger(*largest, nonzero(width, height)),
        _ => {}
    }
    Ok(())
}

/// The element at `at` within `end`. An element of unknown size (live streams' Segment)
/// extends to its parent's end; `None` when no bytes are left.
fn ebml_element<R: Read + Seek>(
    source: &mut Source<R>,
    at: u64,
    end: u64,
) -> Result<Option<Span>, Stop> {
    if at >= end {
        return Ok(None);
    }
    source.visit()?;
    let (id, id_len) = ebml_vint(source, at, 4)?;
    let size_at = at + id_len;
    let (size, size_len) = ebml_vint(source, size_at, 8)?;
    let body = size_at + size_len;
    // An ID keeps its length marker (as Matroska's tables write IDs); a size drops it, and is
    // unknown when all its other bits are ones.
    let marker = 1u64 << (7 * size_len);
    let element_end = if size == 2 * marker - 1 {
        end
    } else {
        body.checked_add(size - marker).ok_or(Stop::Invalid)?
    };
    // Every element is at least one byte long and stays inside its parent.
    if body > end || element_end > end {
        return Err(Stop::Invalid);
    }
    Ok(Some(Span {
        kind: u32::try_from(id).map_err(|_| Stop::Invalid)?,
        body,
        end: element_end,
    }))
}

/// A variable-length integer of at most `max_len` bytes with its length marker, and its length.
fn ebml_vint<R: Read + Seek>(
    source: &mut Source<R>,
    at: u64,
    max_len: u32,
) -> Result<(u64, u64), Stop> {
    let first = source.byte_at(at)?;
    let len = first.leading_zeros() + 1;
    if len > max_len {
        return Err(Stop::Invalid);
    }
    let mut rest = [0u8; 7];
    let rest = &mut rest[..len as usize - 1];
    source.read_at(at + 1, rest)?;
    let value = rest
        .iter()
        .fold(u64::from(first), |value, &b| (value << 8) | u64::from(b));
    Ok((value, u64::from(len)))
}

/// An unsigned integer element (at most 8 bytes), saturated to `u32` so an absurd size is
/// still refused.
fn ebml_uint<R: Read + Seek>(source: &mut Source<R>, element: &Span) -> Result<u32, Stop> {
    let len = element.end - element.body;
    if len > 8 {
        return Err(Stop::Invalid);
    }
    let mut bytes = [0u8; 8];
    let bytes = &mut bytes[..len as usize];
    source.read_at(element.body, bytes)?;
    let value = bytes
        .iter()
        .fold(0u64, |value, &b| (value << 8) | u64::from(b));
    Ok(u32::try_from(value).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;
    use std::path::Path;

    use super::*;

    fn mp4_box(kind: &[u8; 4], children: &[&[u8]]) -> Vec<u8> {
        let body = children.concat();
        let mut out = u32::try_from(body.len() + 8)
            .unwrap()
            .to_be_bytes()
            .to_vec();
        out.extend_from_slice(kind);
        out.extend(body);
        out
    }

    fn ftyp() -> Vec<u8> {
        mp4_box(b"ftyp", &[b"isom\0\0\x02\0isomiso2avc1mp41"])
    }

    /// An MP4 with one track: `mvhd` (timescale 1000), `tkhd`, `hdlr` and one sample entry.
    fn mp4(handler: &[u8; 4], duration_ms: u32, tkhd: (u32, u32), entry: (u16, u16)) -> Vec<u8> {
        let mut mvhd = vec![0u8; 100];
        mvhd[12..16].copy_from_slice(&1000u32.to_be_bytes());
        mvhd[16..20].copy_from_slice(&duration_ms.to_be_bytes());
        let mut tkhd_body = vec![0u8; 84];
        tkhd_body[76..80].copy_from_slice(&(tkhd.0 << 16).to_be_bytes());
        tkhd_body[80..84].copy_from_slice(&(tkhd.1 << 16).to_be_bytes());
        let hdlr = [&[0u8; 8][..], handler, &[0u8; 13]].concat();
        let mut avc1 = vec![0u8; 78];
        avc1[24..26].copy_from_slice(&entry.0.to_be_bytes());
        avc1[26..28].copy_from_slice(&entry.1.to_be_bytes());
        let stsd = mp4_box(
            b"stsd",
            &[&[0, 0, 0, 0, 0, 0, 0, 1], &mp4_box(b"avc1", &[&avc1])],
        );
        let minf = mp4_box(b"minf", &[&mp4_box(b"stbl", &[&stsd])]);
        let mdia = mp4_box(b"mdia", &[&mp4_box(b"hdlr", &[&hdlr]), &minf]);
        let trak = mp4_box(b"trak", &[&mp4_box(b"tkhd", &[&tkhd_body]), &mdia]);
        let moov = mp4_box(b"moov", &[&mp4_box(b"mvhd", &[&mvhd]), &trak]);
        [ftyp(), mp4_box(b"mdat", &[b"frames"]), moov].concat()
    }

    /// A well-formed MP4's information.
    fn probe(bytes: &[u8]) -> MediaInfo {
        probe_mp4(Cursor::new(bytes)).unwrap().expect("valid boxes")
    }

    fn damaged(bytes: &[u8]) -> bool {
        probe_mp4(Cursor::new(bytes)).unwrap().is_none()
    }

    fn refusal(media: MediaType, bytes: &[u8]) -> String {
        inspect(media, Cursor::new(bytes)).unwrap_err().to_string()
    }

    fn size(width: u32, height: u32) -> Option<Dimensions> {
        Some(Dimensions { width, height })
    }

    #[test]
    fn the_48_byte_file_of_issue_19_ends_the_walk() {
        // An ftyp box, then a box whose 64-bit size brings the offset back to 0: the walk
        // once looped for ever on it (and panicked on the overflow in debug builds).
        let mut file = ftyp();
        file.extend_from_slice(&1u32.to_be_bytes());
        file.extend_from_slice(b"free");
        file.extend_from_slice(&(u64::MAX - 31).to_be_bytes());
        assert_eq!(file.len(), 48);
        assert!(damaged(&file));
        assert_eq!(
            refusal(MediaType::Mp4, &file),
            "the MP4 video's headers are damaged or incomplete, so it cannot be checked before screens decode it (a truncated or unfinished file?): export it again and upload the new file"
        );
    }

    #[test]
    fn box_sizes_that_leave_their_parent_or_undercut_their_header_end_the_walk() {
        let good = mp4(b"vide", 2500, (640, 480), (640, 480));
        for size in [1u64 << 40, 15, 0x7FFF_FFFF_FFFF_FFFF] {
            // A large size inside moov: past the parent, smaller than a 16-byte header, huge.
            let mut bad = ftyp();
            let inner = [&1u32.to_be_bytes()[..], b"trak", &size.to_be_bytes()].concat();
            bad.extend(mp4_box(b"moov", &[&inner]));
            assert!(damaged(&bad), "{size}");
        }
        // A moov claiming 4 GiB: the old probe allocated 64 MiB for its body before reading.
        let mut bad = ftyp();
        bad.extend(
            [
                &1u32.to_be_bytes()[..],
                b"moov",
                &(1u64 << 32).to_be_bytes(),
            ]
            .concat(),
        );
        assert!(damaged(&bad));
        // A box smaller than its header; no moov at all.
        let mut bad = ftyp();
        bad.extend([&4u32.to_be_bytes()[..], b"moov"].concat());
        assert!(damaged(&bad));
        assert!(damaged(&ftyp()));
        // Whatever follows the first moov is not read.
        let mut tail = good.clone();
        tail.extend([&1u32.to_be_bytes()[..], b"free"].concat());
        assert_eq!(probe(&tail).duration_ms, Some(2500));
    }

    #[test]
    fn video_length_and_size_come_from_mvhd_tkhd_and_sample_entries() {
        let info = probe(&mp4(b"vide", 2500, (640, 480), (640, 480)));
        assert_eq!(info.duration_ms, Some(2500));
        assert_eq!(info.dimensions, size(640, 480));
        // The larger of the track header and the sample entry: the decoder uses the latter.
        let info = probe(&mp4(b"vide", 1000, (640, 480), (50_000, 50_000)));
        assert_eq!(info.dimensions, size(50_000, 50_000));
        assert_eq!(
            probe(&mp4(b"vide", 1000, (8000, 8000), (640, 480))).dimensions,
            size(8000, 8000)
        );
        // A sound track's sizes are not pictures.
        assert_eq!(
            probe(&mp4(b"soun", 1000, (9000, 9000), (9000, 9000))).dimensions,
            None
        );
        // A duration of all ones means unknown.
        assert_eq!(
            probe(&mp4(b"vide", u32::MAX, (1, 1), (1, 1))).duration_ms,
            None
        );
    }

    #[test]
    fn videos_larger_than_4k_are_refused_with_their_size_and_the_limit() {
        let big = mp4(b"vide", 1000, (640, 480), (7680, 4320));
        let message = refusal(MediaType::Mp4, &big);
        assert!(
            message.contains("MP4 video is 7680x4320 pixels (33.2 megapixels)")
                && message.contains("at most 8.8 megapixels (e.g. 4096x2160)"),
            "{message}"
        );
        let fine = mp4(b"vide", 1000, (4096, 2160), (4096, 2160));
        assert_eq!(
            inspect(MediaType::QuickTime, Cursor::new(&fine))
                .unwrap()
                .dimensions,
            size(4096, 2160)
        );
    }

    #[test]
    fn probes_give_up_after_max_elements_and_the_upload_is_refused() {
        // Tiny boxes before moov: real files have a handful.
        let mut file = ftyp();
        for _ in 0..MAX_ELEMENTS {
            file.extend(mp4_box(b"free", &[]));
        }
        file.extend(mp4(b"vide", 1000, (9000, 9000), (9000, 9000)));
        assert!(matches!(
            probe_mp4(Cursor::new(&file)),
            Err(ProbeError::Limits)
        ));
        let message = refusal(MediaType::Mp4, &file);
        assert!(
            message.contains("headers are larger than any real file's"),
            "{message}"
        );
    }

    fn png_header(width: u32, height: u32) -> Vec<u8> {
        let mut png = PNG_SIGNATURE.to_vec();
        png.extend_from_slice(&13u32.to_be_bytes());
        png.extend_from_slice(b"IHDR");
        png.extend_from_slice(&width.to_be_bytes());
        png.extend_from_slice(&height.to_be_bytes());
        png.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
        png
    }

    #[test]
    fn png_size_comes_from_ihdr() {
        let png = crate::demo::png(3, 2, &[0; 18]);
        let png = probe_png(Cursor::new(&png)).unwrap();
        assert_eq!(png, size(3, 2));
        let message = refusal(MediaType::Png, &png_header(50_000, 50_000));
        assert_eq!(
            message,
            "the PNG image is 50000x50000 pixels (2500.0 megapixels); players decode at most 67.1 megapixels (e.g. 8192x8192): scale it down and upload it again"
        );
        assert!(inspect(MediaType::Png, Cursor::new(png_header(8192, 8192))).is_ok());
        // Damaged: no IHDR first, a wrong length, a zero width, cut short.
        let mut other_chunk = png_header(10, 10);
        other_chunk[12..16].copy_from_slice(b"tEXt");
        let mut long = png_header(10, 10);
        long[11] = 14;
        let damaged = [
            other_chunk,
            long,
            png_header(0, 10),
            png_header(10, 10)[..20].to_vec(),
        ];
        for bytes in damaged {
            let message = refusal(MediaType::Png, &bytes);
            assert!(
                message.contains("PNG image's headers are damaged or incomplete"),
                "{message}"
            );
        }
    }

    fn jpeg_segment(marker: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![0xFF, marker];
        out.extend_from_slice(&u16::try_from(body.len() + 2).unwrap().to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    fn jpeg(width: u16, height: u16) -> Vec<u8> {
        let sof = [
            &[8][..],
            &height.to_be_bytes(),
            &width.to_be_bytes(),
            &[1, 1, 0x11, 0],
        ]
        .concat();
        [
            vec![0xFF, 0xD8],
            jpeg_segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"),
            jpeg_segment(0xDB, &[0; 65]),
            // Fill bytes may precede any marker.
            vec![0xFF, 0xFF],
            jpeg_segment(0xC2, &sof),
            jpeg_segment(0xDA, &[1, 1, 0, 0, 0x3F, 0]),
            vec![0xFF, 0xD9],
        ]
        .concat()
    }

    #[test]
    fn jpeg_size_comes_from_the_frame_header() {
        assert_eq!(
            probe_jpeg(Cursor::new(jpeg(640, 480))).unwrap(),
            size(640, 480)
        );
        assert_eq!(probe_jpeg(Cursor::new(jpeg(0, 480))).unwrap(), None);
        let message = refusal(MediaType::Jpeg, &jpeg(65_535, 65_535));
        assert!(
            message.contains("JPEG image is 65535x65535 pixels"),
            "{message}"
        );
        // A segment length below 2 would not move the walk forward.
        let stuck = [&[0xFF, 0xD8][..], &[0xFF, 0xE0, 0, 0], &jpeg(1, 1)[2..]].concat();
        assert_eq!(probe_jpeg(Cursor::new(stuck)).unwrap(), None);
        // Image data before any frame header.
        let no_frame = [&[0xFF, 0xD8][..], &jpeg_segment(0xDA, &[0; 6])].concat();
        let message = refusal(MediaType::Jpeg, &no_frame);
        assert!(
            message.contains("JPEG image's headers are damaged or incomplete"),
            "{message}"
        );
        // Endless fill bytes stop at the byte budget.
        let mut fill = vec![0xFF; 2 << 20];
        fill[1] = 0xD8;
        assert!(matches!(
            probe_jpeg(Cursor::new(fill)),
            Err(ProbeError::Limits)
        ));
    }

    fn ebml(id: &[u8], body: &[u8]) -> Vec<u8> {
        let mut out = id.to_vec();
        out.push(0x01); // an 8-byte size: its marker, then 7 bytes
        out.extend_from_slice(&(body.len() as u64).to_be_bytes()[1..]);
        out.extend_from_slice(body);
        out
    }

    /// A Video element (inside a TrackEntry).
    fn video(width: u16, height: u16) -> Vec<u8> {
        let size = [
            ebml(&[0xB0], &width.to_be_bytes()),
            ebml(&[0xBA], &height.to_be_bytes()),
        ];
        ebml(&[0xE0], &size.concat())
    }

    /// A WebM file with one track holding `track`.
    fn webm(track: &[u8]) -> Vec<u8> {
        let tracks = ebml(&[0x16, 0x54, 0xAE, 0x6B], &ebml(&[0xAE], track));
        // A live stream's Segment: size unknown (all ones).
        let segment = [
            &[0x18, 0x53, 0x80, 0x67, 0xFF][..],
            &ebml(&[0x15, 0x49, 0xA9, 0x66], &[]),
            &tracks,
        ]
        .concat();
        [
            ebml(&[0x1A, 0x45, 0xDF, 0xA3], b"\x42\x82\x84webm"),
            segment,
        ]
        .concat()
    }

    fn webm_size(bytes: &[u8]) -> Option<Option<Dimensions>> {
        probe_webm(Cursor::new(bytes))
            .unwrap()
            .map(|info| info.dimensions)
    }

    #[test]
    fn webm_size_comes_from_the_video_track() {
        assert_eq!(webm_size(&webm(&video(1280, 720))), Some(size(1280, 720)));
        let message = refusal(MediaType::WebM, &webm(&video(8192, 8192)));
        assert!(
            message.contains("WebM video is 8192x8192 pixels"),
            "{message}"
        );
        // A sound-only file (an Audio element, no Video) is fine.
        assert_eq!(webm_size(&webm(&ebml(&[0xE1], &[]))), Some(None));
        // A 9-byte size marker, a size past the file and a Segment without Tracks are
        // damaged.
        let mut bad = webm(&video(1280, 720));
        bad[4] = 0;
        assert_eq!(webm_size(&bad), None);
        let mut bad = webm(&video(1280, 720));
        bad[5] = 0xFF;
        assert_eq!(webm_size(&bad), None);
        let header = ebml(&[0x1A, 0x45, 0xDF, 0xA3], b"");
        let no_tracks = [header, ebml(&[0x18, 0x53, 0x80, 0x67], b"")].concat();
        assert_eq!(webm_size(&no_tracks), None);
    }

    #[test]
    fn sample_videos_are_probed() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/video");
        let samples = [
            ("TUD-Campus.mp4", 2840, 640, 480),
            ("one-by-one-person-detection.mp4", 139_400, 768, 432),
        ];
        for (name, duration_ms, width, height) in samples {
            let path = dir.join(name);
            let Ok(file) = std::fs::File::open(&path) else {
                eprintln!(
                    "SKIPPED: test data {} is absent (expected in ../shared/data beside the repository)",
                    path.display()
                );
                continue;
            };
            let info = inspect(MediaType::Mp4, std::io::BufReader::new(file)).unwrap();
            assert_eq!(info.dimensions, size(width, height), "{name}");
            assert_eq!(info.duration_ms, Some(duration_ms), "{name}");
        }
    }
}

//! Structure-aware inputs: mutations that know where a format keeps its lengths (MP4 box sizes,
//! PNG chunk lengths, JPEG segment lengths, EBML element sizes) and a dictionary of its parts,
//! on top of byte flips, splices and truncations; and random inputs built from those parts.

use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::MAX_INPUT;

/// What the bytes of a target look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Mp4,
    Png,
    Jpeg,
    Ebml,
    /// The first bytes of any file (type sniffing).
    Magic,
    /// Text: XML, TOML, HTTP headers.
    Text,
}

/// Values that break arithmetic: zero, one, signs, powers of two, all ones.
const INTERESTING: &[u64] = &[
    0,
    1,
    2,
    7,
    8,
    15,
    16,
    0x7F,
    0x80,
    0xFF,
    0x100,
    0x7FFF,
    0x8000,
    0xFFFF,
    0x1_0000,
    8192,
    8193,
    50_000,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFF,
    0x1_0000_0000,
    0x7FFF_FFFF_FFFF_FFFF,
    0x8000_0000_0000_0000,
    u64::MAX - 31,
    u64::MAX - 1,
    u64::MAX,
];

const MP4_KINDS: &[&[u8; 4]] = &[
    b"ftyp", b"moov", b"mvhd", b"trak", b"tkhd", b"mdia", b"mdhd", b"hdlr", b"minf", b"stbl",
    b"stsd", b"avc1", b"hvc1", b"mp4a", b"mdat", b"free", b"wide", b"udta", b"edts", b"moof",
    b"uuid",
];
const MP4_CONTAINERS: &[&[u8; 4]] = &[
    b"moov", b"trak", b"mdia", b"minf", b"stbl", b"udta", b"edts", b"moof", b"traf", b"mvex",
    b"dinf",
];
const PNG_KINDS: &[&[u8; 4]] = &[
    b"IHDR", b"IDAT", b"IEND", b"PLTE", b"tEXt", b"acTL", b"fcTL",
];
/// Frame headers, tables, application data, scan, restart, end, and the odd ones.
const JPEG_MARKERS: &[u8] = &[
    0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xC8, 0xCC, 0xCF, 0xDA, 0xDB, 0xDD, 0xD0, 0xD7, 0xD8, 0xD9, 0xE0,
    0xE1, 0xEF, 0xFE, 0x01, 0x00, 0xFF,
];
/// EBML header, Segment, Info, Tracks, TrackEntry, Video, PixelWidth, PixelHeight, Cluster.
const EBML_IDS: &[&[u8]] = &[
    &[0x1A, 0x45, 0xDF, 0xA3],
    &[0x18, 0x53, 0x80, 0x67],
    &[0x15, 0x49, 0xA9, 0x66],
    &[0x16, 0x54, 0xAE, 0x6B],
    &[0xAE],
    &[0xE0],
    &[0xB0],
    &[0xBA],
    &[0x1F, 0x43, 0xB6, 0x75],
];
const EBML_MASTERS: &[&[u8]] = &[
    &[0x1A, 0x45, 0xDF, 0xA3],
    &[0x18, 0x53, 0x80, 0x67],
    &[0x16, 0x54, 0xAE, 0x6B],
    &[0xAE],
    &[0xE0],
];
const MAGIC: &[&[u8]] = &[
    b"\x89PNG\r\n\x1a\n",
    &[0xFF, 0xD8, 0xFF],
    b"ftyp",
    b"ftypqt  ",
    b"moov",
    b"mdat",
    b"wide",
    b"free",
    &[0x1A, 0x45, 0xDF, 0xA3],
];

/// The parts random inputs and insertions are made of: the format's names and markers, and
/// for text the words and punctuation of the seeds.
pub fn dictionary(shape: Shape, seeds: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut words: Vec<Vec<u8>> = match shape {
        Shape::Mp4 => MP4_KINDS.iter().map(|k| k.to_vec()).collect(),
        Shape::Png => PNG_KINDS.iter().map(|k| k.to_vec()).collect(),
        Shape::Jpeg => JPEG_MARKERS.iter().map(|m| vec![0xFF, *m]).collect(),
        Shape::Ebml => EBML_IDS.iter().map(|id| id.to_vec()).collect(),
        Shape::Magic => MAGIC.iter().map(|m| m.to_vec()).collect(),
        Shape::Text => TEXT_TOKENS.iter().map(|t| t.as_bytes().to_vec()).collect(),
    };
    if shape == Shape::Text {
        for seed in seeds {
            for word in seed.split(|b| b.is_ascii_whitespace()) {
                if (2..=48).contains(&word.len()) {
                    words.push(word.to_vec());
                }
            }
        }
        words.sort();
        words.dedup();
        words.truncate(4096);
    }
    words
}

/// Text that trips parsers of XML, TOML and HTTP headers.
const TEXT_TOKENS: &[&str] = &[
    "<",
    ">",
    "</",
    "/>",
    "=",
    "\"",
    "'",
    "&",
    ";",
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    ",",
    ".",
    "-",
    "\n",
    "\r\n",
    "\t",
    " ",
    "#",
    "\\",
    "\\u0000",
    "\u{0}",
    "\u{FEFF}",
    "\u{FFFD}",
    "\u{0661}",
    "\u{1F600}",
    "&amp;",
    "&lt;",
    "&#x41;",
    "&#65;",
    "&#1114112;",
    "&#x110000;",
    "&#0;",
    "&unknown;",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "<?xml version=\"1.0\"?>",
    "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>",
    "encoding=\"UTF-16\"",
    "<!DOCTYPE alert [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>",
    "&x;",
    "xmlns=\"\"",
    "xmlns:cap=\"urn:oasis:names:tc:emergency:cap:1.2\"",
    "<cap:alert>",
    "'''",
    "\"\"\"",
    "= 0",
    "= -1",
    "= 1e400",
    "= inf",
    "= nan",
    "= true",
    "= []",
    "= {}",
    "= \"\"",
    "= 18446744073709551616",
    "= 9223372036854775807",
    "1979-05-27T07:32:00Z",
    "2024-02-30T25:61:61+09:00",
    "bytes=",
    "Bytes=",
    "items=",
    "0",
    "1",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999",
    "+",
    "-0",
    "0-0",
    "-1",
];

/// One to eight mutations of `base`.
pub fn mutate(
    base: &[u8],
    corpus: &[Vec<u8>],
    shape: Shape,
    dictionary: &[Vec<u8>],
    rng: &mut StdRng,
) -> Vec<u8> {
    let mut data = base.to_vec();
    for _ in 0..rng.gen_range(1..=8) {
        match rng.gen_range(0..12) {
            0 | 1 => rewrite_length(&mut data, shape, rng),
            2 => flip_bit(&mut data, rng),
            3 => set_byte(&mut data, rng),
            4 => write_interesting(&mut data, rng),
            5 => insert_word(&mut data, dictionary, rng),
            6 => insert_random(&mut data, rng),
            7 => delete_range(&mut data, rng),
            8 => duplicate_range(&mut data, rng),
            9 => splice(&mut data, corpus, rng),
            10 => data.truncate(rng.gen_range(0..=data.len())),
            _ => repeat_range(&mut data, rng),
        }
    }
    data.truncate(MAX_INPUT);
    data
}

/// A random input made of the format's parts.
pub fn generate(shape: Shape, dictionary: &[Vec<u8>], rng: &mut StdRng) -> Vec<u8> {
    let mut out = Vec::new();
    match shape {
        Shape::Mp4 => {
            out.extend(mp4_box(b"ftyp", b"isom\0\0\0\0isom", rng));
            generate_boxes(&mut out, 0, rng);
        }
        Shape::Png => {
            out.extend_from_slice(b"\x89PNG\r\n\x1a\n");
            let mut ihdr = random_u32_be(rng).to_vec();
            ihdr.extend(random_u32_be(rng));
            ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
            png_chunk(&mut out, b"IHDR", &ihdr);
            for _ in 0..rng.gen_range(0..4) {
                let kind = PNG_KINDS.choose(rng).expect("not empty");
                let body = random_bytes(rng, 32);
                png_chunk(&mut out, kind, &body);
            }
        }
        Shape::Jpeg => {
            out.extend_from_slice(&[0xFF, 0xD8]);
            for _ in 0..rng.gen_range(0..8) {
                let marker = *JPEG_MARKERS.choose(rng).expect("not empty");
                out.extend_from_slice(&[0xFF, marker]);
                if !matches!(marker, 0x01 | 0xD0..=0xD9) {
                    let body = if matches!(marker, 0xC0..=0xC3) {
                        [&[8][..], &random_u32_be(rng), &[1, 1, 0x11, 0]].concat()
                    } else {
                        random_bytes(rng, 32)
                    };
                    let len = if rng.gen_ratio(1, 8) {
                        rng.r#gen()
                    } else {
                        body.len() as u16 + 2
                    };
                    out.extend_from_slice(&len.to_be_bytes());
                    out.extend(body);
                }
            }
        }
        Shape::Ebml => generate_elements(&mut out, 0, rng),
        Shape::Magic => {
            out.extend_from_slice(&random_bytes(rng, 8));
            out.extend_from_slice(MAGIC.choose(rng).expect("not empty"));
            out.extend_from_slice(&random_bytes(rng, 40));
        }
        Shape::Text => {
            for _ in 0..rng.gen_range(1..48) {
                if rng.gen_ratio(1, 4) {
                    out.push(rng.gen_range(0x20..0x7F));
                } else if let Some(word) = dictionary.choose(rng) {
                    out.extend_from_slice(word);
                }
            }
        }
    }
    out.truncate(MAX_INPUT);
    out
}

fn random_bytes(rng: &mut StdRng, max: usize) -> Vec<u8> {
    (0..rng.gen_range(0..=max)).map(|_| rng.r#gen()).collect()
}

fn random_u32_be(rng: &mut StdRng) -> [u8; 4] {
    let value = if rng.gen_bool(0.5) {
        *INTERESTING.choose(rng).expect("not empty") as u32
    } else {
        rng.gen_range(0..70_000)
    };
    value.to_be_bytes()
}

/// A box with a right size most of the time, else 0 (to the end), 1 (a 64-bit size follows)
/// or anything.
fn mp4_box(kind: &[u8; 4], body: &[u8], rng: &mut StdRng) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 16);
    match rng.gen_range(0..16) {
        0 => out.extend_from_slice(&0u32.to_be_bytes()),
        1 => {
            out.extend_from_slice(&1u32.to_be_bytes());
            out.extend_from_slice(kind);
            let size = if rng.gen_bool(0.5) {
                body.len() as u64 + 16
            } else {
                *INTERESTING.choose(rng).expect("not empty")
            };
            out.extend_from_slice(&size.to_be_bytes());
            out.extend_from_slice(body);
            return out;
        }
        2 => out.extend_from_slice(&rng.r#gen::<u32>().to_be_bytes()),
        _ => out.extend_from_slice(&(body.len() as u32 + 8).to_be_bytes()),
    }
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    out
}

fn generate_boxes(out: &mut Vec<u8>, depth: usize, rng: &mut StdRng) {
    for _ in 0..rng.gen_range(0..4) {
        let kinds = if rng.gen_ratio(1, 3) {
            MP4_CONTAINERS
        } else {
            MP4_KINDS
        };
        let kind: &[u8; 4] = kinds.choose(rng).expect("not empty");
        let mut body = Vec::new();
        if depth < 6 && MP4_CONTAINERS.contains(&kind) {
            generate_boxes(&mut body, depth + 1, rng);
        } else {
            body = random_bytes(rng, 100);
            // Handlers and sample entries mostly as the probe expects them.
            if kind == b"hdlr" && body.len() >= 12 {
                body[8..12].copy_from_slice(b"vide");
            }
            if kind == b"stsd" {
                body = [
                    &[0u8; 8][..],
                    &mp4_box(b"avc1", &random_bytes(rng, 90), rng),
                ]
                .concat();
            }
        }
        out.extend(mp4_box(kind, &body, rng));
    }
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], body: &[u8]) {
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    out.extend_from_slice(&[0; 4]); // the CRC, which no probe reads
}

fn generate_elements(out: &mut Vec<u8>, depth: usize, rng: &mut StdRng) {
    for _ in 0..rng.gen_range(0..4) {
        let id = if rng.gen_ratio(1, 2) {
            EBML_MASTERS.choose(rng).expect("not empty")
        } else {
            EBML_IDS.choose(rng).expect("not empty")
        };
        let mut body = Vec::new();
        if EBML_MASTERS.contains(id) && depth < 5 {
            generate_elements(&mut body, depth + 1, rng);
        } else {
            body = random_bytes(rng, 9);
        }
        out.extend_from_slice(id);
        match rng.gen_range(0..8) {
            0 => out.push(0xFF), // unknown size
            1 => out.push(rng.r#gen()),
            _ => {
                out.push(0x01);
                out.extend_from_slice(&(body.len() as u64).to_be_bytes()[1..]);
            }
        }
        out.extend(body);
    }
}

/// A length, size or dimension inside the input.
struct Field {
    at: usize,
    width: usize,
    kind: FieldKind,
}

enum FieldKind {
    /// An MP4 box size; `start` is where the box starts.
    BoxSize {
        start: usize,
    },
    Length,
    /// An EBML size: a variable-length integer of `width` bytes.
    Vint,
}

/// Most fields collected from one input.
const MAX_FIELDS: usize = 64;

fn fields(data: &[u8], shape: Shape) -> Vec<Field> {
    let mut fields = Vec::new();
    match shape {
        Shape::Mp4 => mp4_fields(data, 0, data.len(), 0, &mut fields),
        Shape::Png => {
            let mut at = 8;
            while data.len().saturating_sub(at) >= 8 && fields.len() < MAX_FIELDS {
                fields.push(Field {
                    at,
                    width: 4,
                    kind: FieldKind::Length,
                });
                if &data[at + 4..at + 8] == b"IHDR" && at + 16 <= data.len() {
                    for dimension in [at + 8, at + 12] {
                        fields.push(Field {
                            at: dimension,
                            width: 4,
                            kind: FieldKind::Length,
                        });
                    }
                }
                let len = u32::from_be_bytes(data[at..at + 4].try_into().expect("4 bytes"));
                at = at.saturating_add(12).saturating_add(len as usize);
            }
        }
        Shape::Jpeg => {
            let mut at = 2;
            while at + 4 <= data.len() && data[at] == 0xFF && fields.len() < MAX_FIELDS {
                let code = data[at + 1];
                if matches!(code, 0x01 | 0xD0..=0xD9 | 0xFF) {
                    at += if code == 0xFF { 1 } else { 2 };
                    continue;
                }
                fields.push(Field {
                    at: at + 2,
                    width: 2,
                    kind: FieldKind::Length,
                });
                if matches!(code, 0xC0..=0xCF) && at + 9 <= data.len() {
                    for dimension in [at + 5, at + 7] {
                        fields.push(Field {
                            at: dimension,
                            width: 2,
                            kind: FieldKind::Length,
                        });
                    }
                }
                if code == 0xDA {
                    break;
                }
                let len = u16::from_be_bytes([data[at + 2], data[at + 3]]) as usize;
                at += 2 + len.max(2);
            }
        }
        Shape::Ebml => ebml_fields(data, 0, data.len(), 0, &mut fields),
        Shape::Magic | Shape::Text => {}
    }
    fields
}

fn mp4_fields(data: &[u8], start: usize, end: usize, depth: usize, fields: &mut Vec<Field>) {
    let mut at = start;
    while at + 8 <= end && fields.len() < MAX_FIELDS {
        let size = u32::from_be_bytes(data[at..at + 4].try_into().expect("4 bytes")) as usize;
        let kind: &[u8; 4] = data[at + 4..at + 8].try_into().expect("4 bytes");
        fields.push(Field {
            at,
            width: 4,
            kind: FieldKind::BoxSize { start: at },
        });
        let (size, header) = match size {
            0 => (end - at, 8),
            1 if at + 16 <= end => {
                fields.push(Field {
                    at: at + 8,
                    width: 8,
                    kind: FieldKind::BoxSize { start: at },
                });
                let large = u64::from_be_bytes(data[at + 8..at + 16].try_into().expect("8"));
                (usize::try_from(large).unwrap_or(usize::MAX), 16)
            }
            size => (size, 8),
        };
        if size < header || size > end - at {
            return;
        }
        if depth < 8 {
            if MP4_CONTAINERS.contains(&kind) {
                mp4_fields(data, at + header, at + size, depth + 1, fields);
            } else if kind == b"stsd" && size >= header + 8 {
                mp4_fields(data, at + header + 8, at + size, depth + 1, fields);
            }
        }
        at += size;
    }
}

fn ebml_fields(data: &[u8], start: usize, end: usize, depth: usize, fields: &mut Vec<Field>) {
    let mut at = start;
    while at < end && fields.len() < MAX_FIELDS {
        let id_len = data[at].leading_zeros() as usize + 1;
        let size_at = at + id_len;
        if id_len > 4 || size_at >= end {
            return;
        }
        let size_len = data[size_at].leading_zeros() as usize + 1;
        let body = size_at + size_len;
        if size_len > 8 || body > end {
            return;
        }
        fields.push(Field {
            at: size_at,
            width: size_len,
            kind: FieldKind::Vint,
        });
        let mut size = u64::from(data[size_at]) & (0xFF >> size_len);
        for &b in &data[size_at + 1..body] {
            size = (size << 8) | u64::from(b);
        }
        let element_end = usize::try_from(size)
            .ok()
            .and_then(|size| body.checked_add(size))
            .filter(|&e| e <= end)
            .unwrap_or(end);
        if depth < 6 && EBML_MASTERS.contains(&&data[at..size_at]) {
            ebml_fields(data, body, element_end, depth + 1, fields);
        }
        at = element_end.max(at + 1);
    }
}

/// Rewrites one length field with a value that breaks assumptions: zero, one past, wrapping,
/// all ones, the rest of the file; an MP4 size may become a 64-bit size that wraps the offset.
fn rewrite_length(data: &mut Vec<u8>, shape: Shape, rng: &mut StdRng) {
    let fields = fields(data, shape);
    let Some(field) = fields.choose(rng) else {
        return write_interesting(data, rng);
    };
    let mut old = 0u64;
    for &b in &data[field.at..field.at + field.width] {
        old = (old << 8) | u64::from(b);
    }
    let rest = (data.len() - field.at) as u64;
    let mut value = match rng.gen_range(0..6) {
        0 => old.wrapping_add(1),
        1 => old.wrapping_sub(1),
        2 => old.wrapping_mul(2),
        3 => rest,
        4 => rng.r#gen(),
        _ => *INTERESTING.choose(rng).expect("not empty"),
    };
    match field.kind {
        FieldKind::BoxSize { start } if field.width == 4 && rng.gen_ratio(1, 4) => {
            // A 64-bit size (the issue 19 file): wrapping to the start of the file or of
            // this box, or past the end.
            let large = match rng.gen_range(0..3) {
                0 => 0u64.wrapping_sub(start as u64),
                1 => 0,
                _ => value,
            };
            data[field.at..field.at + 4].copy_from_slice(&1u32.to_be_bytes());
            let after_kind = (field.at + 8).min(data.len());
            data.splice(after_kind..after_kind, large.to_be_bytes());
            return;
        }
        FieldKind::Vint => {
            let marker = 1u64 << (7 * field.width);
            value = if rng.gen_ratio(1, 4) {
                marker - 1 // all ones: unknown size
            } else {
                value % marker
            };
            value |= marker;
        }
        FieldKind::BoxSize { .. } | FieldKind::Length => {}
    }
    for (i, byte) in data[field.at..field.at + field.width]
        .iter_mut()
        .rev()
        .enumerate()
    {
        *byte = (value >> (8 * i)) as u8;
    }
}

fn flip_bit(data: &mut [u8], rng: &mut StdRng) {
    if !data.is_empty() {
        let at = rng.gen_range(0..data.len());
        data[at] ^= 1 << rng.gen_range(0..8);
    }
}

fn set_byte(data: &mut [u8], rng: &mut StdRng) {
    if !data.is_empty() {
        let at = rng.gen_range(0..data.len());
        data[at] = *[0, 1, 0x7F, 0x80, 0xFF, rng.r#gen()]
            .choose(rng)
            .expect("not empty");
    }
}

/// An interesting value as 2, 4 or 8 bytes, either byte order.
fn write_interesting(data: &mut [u8], rng: &mut StdRng) {
    let width = *[2, 4, 8].choose(rng).expect("not empty");
    if data.len() < width {
        return;
    }
    let at = rng.gen_range(0..=data.len() - width);
    let value = INTERESTING.choose(rng).expect("not empty").to_be_bytes();
    let bytes = &value[8 - width..];
    if rng.gen_bool(0.5) {
        data[at..at + width].copy_from_slice(bytes);
    } else {
        for (i, &b) in bytes.iter().rev().enumerate() {
            data[at + i] = b;
        }
    }
}

fn insert_word(data: &mut Vec<u8>, dictionary: &[Vec<u8>], rng: &mut StdRng) {
    let Some(word) = dictionary.choose(rng) else {
        return;
    };
    let at = rng.gen_range(0..=data.len());
    if rng.gen_bool(0.5) && at + word.len() <= data.len() {
        data[at..at + word.len()].copy_from_slice(word);
    } else {
        data.splice(at..at, word.iter().copied());
    }
}

fn insert_random(data: &mut Vec<u8>, rng: &mut StdRng) {
    let at = rng.gen_range(0..=data.len());
    let bytes = random_bytes(rng, 16);
    data.splice(at..at, bytes);
}

/// A random range `start..end` of `data`, at most `max` long.
fn range(len: usize, max: usize, rng: &mut StdRng) -> (usize, usize) {
    let start = rng.gen_range(0..=len);
    let end = start + rng.gen_range(0..=(len - start).min(max));
    (start, end)
}

fn delete_range(data: &mut Vec<u8>, rng: &mut StdRng) {
    let (start, end) = range(data.len(), 256, rng);
    data.drain(start..end);
}

fn duplicate_range(data: &mut Vec<u8>, rng: &mut StdRng) {
    let (start, end) = range(data.len(), 256, rng);
    let chunk = data[start..end].to_vec();
    let at = rng.gen_range(0..=data.len());
    data.splice(at..at, chunk);
}

/// A chunk repeated up to a thousand times: deep nesting, many boxes or elements.
fn repeat_range(data: &mut Vec<u8>, rng: &mut StdRng) {
    let (start, end) = range(data.len(), 32, rng);
    let times = rng
        .gen_range(2..=1000)
        .min(MAX_INPUT / (end - start).max(1));
    let chunk = data[start..end].repeat(times);
    data.splice(start..start, chunk);
    data.truncate(MAX_INPUT);
}

/// Another input's head or tail joined to this one, or a piece of it inserted.
fn splice(data: &mut Vec<u8>, corpus: &[Vec<u8>], rng: &mut StdRng) {
    let Some(other) = corpus.choose(rng) else {
        return;
    };
    let cut = rng.gen_range(0..=data.len());
    let other_cut = rng.gen_range(0..=other.len());
    match rng.gen_range(0..3) {
        0 => {
            data.truncate(cut);
            data.extend_from_slice(&other[other_cut..]);
        }
        1 => {
            data.drain(cut..);
            data.splice(0..0, other[..other_cut].iter().copied());
        }
        _ => {
            let (start, end) = range(other.len(), 512, rng);
            data.splice(cut..cut, other[start..end].iter().copied());
        }
    }
}

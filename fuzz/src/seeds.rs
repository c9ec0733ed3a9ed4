//! Seeds: small files built here for every format (always there), and the project's samples in
//! `../shared/data` (CAP documents, the heads of the sample videos) and `deploy/`.

use std::path::{Path, PathBuf};

/// The shared test data beside the repository.
const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data");
const DEPLOY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy");

pub struct Seeds {
    pub inputs: Vec<Vec<u8>>,
    /// Why file seeds are missing, if they are.
    pub skipped: Option<String>,
}

impl Seeds {
    fn built(inputs: Vec<Vec<u8>>) -> Seeds {
        Seeds {
            inputs,
            skipped: None,
        }
    }

    /// Adds the files under `dir` (recursively) whose names end in one of `extensions`, each
    /// passed through `prepare`; says so when there are none.
    fn with_files(
        mut self,
        dir: &str,
        extensions: &[&str],
        prepare: impl Fn(Vec<u8>) -> Vec<u8>,
    ) -> Seeds {
        let mut paths = Vec::new();
        collect(Path::new(dir), extensions, &mut paths);
        if paths.is_empty() {
            self.skipped = Some(format!(
                "no .{} files in {dir} (the shared test data beside the repository): built-in seeds only",
                extensions.join("/.")
            ));
        }
        paths.sort();
        for path in paths {
            if let Ok(bytes) = std::fs::read(&path) {
                self.inputs.push(prepare(bytes));
            }
        }
        self
    }
}

fn collect(dir: &Path, extensions: &[&str], paths: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, extensions, paths);
        } else if path
            .extension()
            .is_some_and(|x| extensions.iter().any(|e| x == *e))
        {
            paths.push(path);
        }
    }
}

fn mp4_box(kind: &[u8; 4], children: &[&[u8]]) -> Vec<u8> {
    let body = children.concat();
    let mut out = (body.len() as u32 + 8).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend(body);
    out
}

fn ftyp() -> Vec<u8> {
    mp4_box(b"ftyp", &[b"isom\0\0\x02\0isomiso2avc1mp41"])
}

/// The `moov` of a one-track file: `mvhd` and `tkhd` of `version` 0 or 1, a handler, and an
/// `avc1` sample entry of the same size as the track header.
fn moov(version: u8, width: u16, height: u16, handler: &[u8; 4]) -> Vec<u8> {
    let long = version == 1;
    let mut mvhd = vec![0u8; if long { 112 } else { 100 }];
    mvhd[0] = version;
    let (scale_at, duration) = if long { (20, 8) } else { (12, 4) };
    mvhd[scale_at..scale_at + 4].copy_from_slice(&90_000u32.to_be_bytes());
    mvhd[scale_at + 4 + duration - 4..scale_at + 4 + duration]
        .copy_from_slice(&450_000u32.to_be_bytes());
    let mut tkhd = vec![0u8; if long { 96 } else { 84 }];
    tkhd[0] = version;
    let size_at = if long { 88 } else { 76 };
    tkhd[size_at..size_at + 4].copy_from_slice(&(u32::from(width) << 16).to_be_bytes());
    tkhd[size_at + 4..size_at + 8].copy_from_slice(&(u32::from(height) << 16).to_be_bytes());
    let hdlr = [&[0u8; 8][..], handler, &[0u8; 12], b"VideoHandler\0"].concat();
    let mut avc1 = vec![0u8; 78];
    avc1[24..26].copy_from_slice(&width.to_be_bytes());
    avc1[26..28].copy_from_slice(&height.to_be_bytes());
    let stsd = mp4_box(
        b"stsd",
        &[&[0, 0, 0, 0, 0, 0, 0, 1], &mp4_box(b"avc1", &[&avc1])],
    );
    let stbl = mp4_box(b"stbl", &[&stsd, &mp4_box(b"stts", &[&[0; 8]])]);
    let minf = mp4_box(b"minf", &[&stbl]);
    let mdia = mp4_box(
        b"mdia",
        &[
            &mp4_box(b"mdhd", &[&[0; 24]]),
            &mp4_box(b"hdlr", &[&hdlr]),
            &minf,
        ],
    );
    let trak = mp4_box(b"trak", &[&mp4_box(b"tkhd", &[&tkhd]), &mdia]);
    mp4_box(b"moov", &[&mp4_box(b"mvhd", &[&mvhd]), &trak])
}

/// The file of issue 19: an `ftyp` box, then a box whose 64-bit size wraps the offset to 0.
fn issue_19_file() -> Vec<u8> {
    let mut file = ftyp();
    file.extend_from_slice(&1u32.to_be_bytes());
    file.extend_from_slice(b"free");
    file.extend_from_slice(&0u64.wrapping_sub(file.len() as u64 - 8).to_be_bytes());
    file
}

pub fn mp4() -> Seeds {
    let mdat = mp4_box(b"mdat", &[b"frames"]);
    let mut moov_to_end = moov(0, 64, 64, b"vide");
    moov_to_end[..4].copy_from_slice(&[0; 4]);
    let mut large_mdat = vec![0, 0, 0, 1];
    large_mdat.extend_from_slice(b"mdat");
    large_mdat.extend_from_slice(&22u64.to_be_bytes());
    large_mdat.extend_from_slice(b"frames");
    Seeds::built(vec![
        [ftyp(), mdat.clone(), moov(0, 640, 480, b"vide")].concat(),
        [ftyp(), moov(1, 1920, 1080, b"vide"), mdat.clone()].concat(),
        [
            ftyp(),
            moov(0, 320, 240, b"soun"),
            moov(0, 8000, 8000, b"vide"),
        ]
        .concat(),
        [ftyp(), large_mdat, moov_to_end].concat(),
        [mp4_box(b"wide", &[]), mdat, moov(0, 720, 576, b"vide")].concat(),
        issue_19_file(),
    ])
    .with_files(&format!("{DATA}/video"), &["mp4"], mp4_head)
}

/// A sample video with its media data left out (its `mdat` boxes emptied): the boxes the probe
/// reads, wherever they are in the file.
fn mp4_head(file: Vec<u8>) -> Vec<u8> {
    let mut head = Vec::new();
    let mut at = 0usize;
    while at + 8 <= file.len() {
        let mut size = u32::from_be_bytes(file[at..at + 4].try_into().expect("4 bytes")) as usize;
        let kind: [u8; 4] = file[at + 4..at + 8].try_into().expect("4 bytes");
        if size == 1 && at + 16 <= file.len() {
            let large = u64::from_be_bytes(file[at + 8..at + 16].try_into().expect("8 bytes"));
            size = usize::try_from(large).unwrap_or(usize::MAX);
        } else if size == 0 {
            size = file.len() - at;
        }
        if size < 8 || size > file.len() - at {
            break;
        }
        if &kind == b"mdat" {
            head.extend(mp4_box(b"mdat", &[]));
        } else if size <= 256 << 10 {
            head.extend_from_slice(&file[at..at + size]);
        }
        at += size;
    }
    head
}

pub fn png() -> Seeds {
    let pixels: Vec<u8> = (0..4 * 3 * 3).map(|i| i as u8 * 7).collect();
    let small = controller::demo::png(4, 3, &pixels);
    // A text chunk before the image data, and a header declaring 50,000 x 50,000 pixels.
    let mut text = small[..33].to_vec();
    text.extend_from_slice(&7u32.to_be_bytes());
    text.extend_from_slice(b"tEXtkey\0val\0\0\0\0");
    text.extend_from_slice(&small[33..]);
    let mut huge = small.clone();
    huge[16..20].copy_from_slice(&50_000u32.to_be_bytes());
    huge[20..24].copy_from_slice(&50_000u32.to_be_bytes());
    Seeds::built(vec![
        small,
        controller::demo::png(1, 1, &[255, 0, 0]),
        text,
        huge,
    ])
}

fn jpeg_segment(marker: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0xFF, marker];
    out.extend_from_slice(&(body.len() as u16 + 2).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// A JPEG's headers around a few bytes of scan data: `frame` is the SOF marker.
fn jpeg_file(frame: u8, width: u16, height: u16, exif: bool) -> Vec<u8> {
    let sof = [
        &[8][..],
        &height.to_be_bytes(),
        &width.to_be_bytes(),
        &[1, 1, 0x11, 0],
    ]
    .concat();
    let mut out = vec![0xFF, 0xD8];
    out.extend(jpeg_segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
    if exif {
        out.extend(jpeg_segment(0xE1, b"Exif\0\0MM\0\x2a\0\0\0\x08\0\0"));
        out.extend_from_slice(&[0xFF, 0xFF]); // fill bytes
    }
    out.extend(jpeg_segment(0xDB, &[[0u8].as_slice(), &[1; 64]].concat()));
    out.extend(jpeg_segment(frame, &sof));
    out.extend(jpeg_segment(
        0xC4,
        &[[0u8].as_slice(), &[0, 1], &[0; 14], &[0]].concat(),
    ));
    out.extend(jpeg_segment(0xDA, &[1, 1, 0, 0, 0x3F, 0]));
    out.extend_from_slice(&[0x12, 0x34, 0xFF, 0x00, 0xFF, 0xD0, 0x56]);
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

pub fn jpeg() -> Seeds {
    Seeds::built(vec![
        jpeg_file(0xC0, 640, 480, false),
        jpeg_file(0xC2, 1920, 1080, true),
        jpeg_file(0xC1, 65_535, 65_535, false),
    ])
}

fn ebml(id: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = id.to_vec();
    out.push(0x01); // an 8-byte size: its marker, then 7 bytes
    out.extend_from_slice(&(body.len() as u64).to_be_bytes()[1..]);
    out.extend_from_slice(body);
    out
}

/// A WebM file's headers: EBML header, Segment (of unknown size when `live`), Info, Tracks
/// with one video track, and a Cluster.
fn webm_file(width: u16, height: u16, live: bool) -> Vec<u8> {
    let video = ebml(
        &[0xE0],
        &[
            ebml(&[0xB0], &width.to_be_bytes()),
            ebml(&[0xBA], &height.to_be_bytes()),
        ]
        .concat(),
    );
    let entry = ebml(
        &[0xAE],
        &[ebml(&[0xD7], &[1]), ebml(&[0x83], &[1]), video].concat(),
    );
    let body = [
        ebml(
            &[0x15, 0x49, 0xA9, 0x66],
            &ebml(&[0x2A, 0xD7, 0xB1], &[0x0F, 0x42, 0x40]),
        ),
        ebml(&[0x16, 0x54, 0xAE, 0x6B], &entry),
        ebml(&[0x1F, 0x43, 0xB6, 0x75], &ebml(&[0xE7], &[0])),
    ]
    .concat();
    let segment_id = [0x18, 0x53, 0x80, 0x67];
    let segment = if live {
        [&segment_id[..], &[0xFF], &body].concat()
    } else {
        ebml(&segment_id, &body)
    };
    [
        ebml(&[0x1A, 0x45, 0xDF, 0xA3], &ebml(&[0x42, 0x82], b"webm")),
        segment,
    ]
    .concat()
}

pub fn webm() -> Seeds {
    Seeds::built(vec![
        webm_file(1280, 720, false),
        webm_file(3840, 2160, true),
        webm_file(9000, 9000, false),
    ])
}

/// The first bytes of every kind of file, and of some the controller refuses.
pub fn magic() -> Seeds {
    let mut inputs: Vec<Vec<u8>> = [mp4(), png(), jpeg(), webm()]
        .into_iter()
        .flat_map(|s| s.inputs)
        .map(|mut input| {
            input.truncate(64);
            input
        })
        .collect();
    inputs.extend([
        b"GIF89a\x01\x00".to_vec(),
        b"<html>".to_vec(),
        b"\0\0\0\x14ftypqt  \0\0\0\0".to_vec(),
        Vec::new(),
    ]);
    Seeds::built(inputs)
}

/// `LEN\nRANGE HEADER`.
pub fn range() -> Seeds {
    let headers = [
        "1000\nbytes=0-99",
        "1000\nbytes=900-",
        "1000\nbytes=-100",
        "1000\nbytes=0-0,-1",
        "0\nbytes=0-",
        "18446744073709551615\nbytes=-18446744073709551615",
        "1000\nbytes=99999999999999999999-",
        "1000\nitems=0-1",
    ];
    Seeds::built(headers.iter().map(|h| h.as_bytes().to_vec()).collect())
}

/// A CAP 1.2 alert with every kind of element the reader knows.
const CAP: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>KITA-2025-0001</identifier>
  <sender>bousai@city.osaka.example</sender>
  <sent>2025-04-01T09:00:00+09:00</sent>
  <status>Actual</status>
  <msgType>Update</msgType>
  <scope>Public</scope>
  <references>bousai@city.osaka.example,KITA-2025-0000,2025-04-01T08:00:00+09:00</references>
  <info>
    <language>ja-JP</language>
    <category>Met</category>
    <event>大雨警報</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <expires>2025-04-01T21:00:00+09:00</expires>
    <headline>大雨警報 &amp; 避難指示</headline>
    <description>北区に大雨警報。</description>
    <instruction>高い所へ避難してください。</instruction>
    <parameter><valueName>level</valueName><value>4</value></parameter>
    <resource><resourceDesc>map</resourceDesc><mimeType>image/png</mimeType></resource>
    <area>
      <areaDesc>北区</areaDesc>
      <polygon>34.69,135.48 34.69,135.53 34.73,135.53 34.69,135.48</polygon>
      <circle>34.70,135.50 2.5</circle>
      <geocode><valueName>JIS</valueName><value>27127</value></geocode>
    </area>
  </info>
</alert>
"#;

/// An Atom feed like JMA's, and the Atom indexes among the CAP samples.
pub fn feed() -> Seeds {
    Seeds::built(vec![FEED.as_bytes().to_vec()]).with_files(
        &format!("{DATA}/cap"),
        &["atom"],
        |bytes| bytes,
    )
}

const FEED: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" lang="ja"><title>high frequency</title><id>urn:x</id>
<updated>2026-12-07T01:00:00+09:00</updated>
<entry><title>t</title><id>urn:uuid:1</id><updated>2026-12-07T00:59:00Z</updated>
<link type="application/xml" href="https://example.jp/data/1.xml"/></entry></feed>"#;

/// CAP, and the same CAP in an EDXL-DE envelope (as L-Alert sends it).
pub fn cap() -> Seeds {
    let wrapped = format!(
        "<EDXLDistribution xmlns=\"urn:oasis:names:tc:emergency:EDXL:DE:1.0\"><contentObject><xmlContent><embeddedXMLContent>{}</embeddedXMLContent></xmlContent></contentObject></EDXLDistribution>",
        CAP.trim_start_matches(|c| c != '<')
            .split_once("?>")
            .map_or(CAP, |(_, rest)| rest)
    );
    Seeds::built(vec![CAP.as_bytes().to_vec(), wrapped.into_bytes()]).with_files(
        &format!("{DATA}/cap"),
        &["cap", "xml", "atom"],
        |bytes| bytes,
    )
}

const PLAYER_TOML: &str = r#"id = "kita-1f-lobby"
broker_url = "mqtts://broker.example:8883"
controller_url = "https://signage.example:8443"
username = "kita-1f-lobby"
password = "secret"
ca_file = "/etc/signage/ca.pem"
cache_dir = "/var/cache/signage-player"
display = "headless"
keep_alive_secs = 15
screen_width = 1080
screen_height = 1920
orientation = "portrait-cw"
window_sink = "kms"
render = false
render_fps = 30
health_secs = 30
reverify_secs = 3600
fake_now = "2025-04-01T09:00:00+09:00"
alert_public_key = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"

[camera]
source = "synthetic:door"
detector = "motion"
width = 640
lines = ["door:240,120,240,360"]
zones = ["lobby:0,0,640,0,640,480,0,480"]
publish_interval_secs = 10
"#;

pub fn player_config() -> Seeds {
    Seeds::built(vec![PLAYER_TOML.as_bytes().to_vec()]).with_files(DEPLOY, &["toml"], |bytes| bytes)
}

const CONTROLLER_TOML: &str = r#"data_dir = "/var/lib/signage/controller"

[http]
listen = "0.0.0.0:8080"
public_url = "https://signage.example"

[mqtt]
url = "mqtts://broker.city.example:8883"
username = "controller"
password = "secret"
ca_file = "/etc/signage/broker-ca.pem"
public_url = "mqtt://signage.kita.ward.example:1883"
keep_alive_secs = 15

[content]
max_upload_bytes = 536870912

[alerts]
confirmation = "single_operator"
confirmation_phrase = "本番の警報を発令します"
sender = "signage@city.osaka.example"
max_cap_bytes = 1048576
tombstone_keep_secs = 86400

[alerts.cap_intake]
feeds = [{ token = "tok-0123456789ab", senders = ["jma-feed@city.osaka.example"] }]
auto_issue = [{ severity = "Extreme", urgency = "Immediate" }]

[alerts.areas]
city_geocodes = [{ value_name = "JIS", value = "27100" }]

[[alerts.areas.wards]]
ward = "kita"
geocodes = [{ value_name = "JIS", value = "27127" }]
boundary = { points = [{ lat = 34.69, lon = 135.48 }, { lat = 34.69, lon = 135.53 },
  { lat = 34.73, lon = 135.53 }, { lat = 34.69, lon = 135.48 }] }
"#;

pub fn controller_config() -> Seeds {
    Seeds::built(vec![CONTROLLER_TOML.as_bytes().to_vec()])
        .with_files(DEPLOY, &["toml"], |bytes| bytes)
}

/// Messages of the MQTT contract, `TOPIC\nPAYLOAD`.
pub fn mqtt() -> Seeds {
    let messages = [
        "signage/v1/players/p1/hello\n{\"id\":\"p1\",\"version\":\"1\",\"screen\":{\"width\":1920,\"height\":1080},\"display\":\"headless\",\"started_at\":\"2026-01-01T00:00:00Z\"}",
        "signage/v1/players/p1/presence\n{\"state\":\"online\",\"session\":\"s\"}",
        "signage/v1/players/p1/alert_ack\n{\"alert\":\"a1\",\"revision\":1,\"state\":\"showing\",\"at\":\"2026-01-01T00:00:00Z\"}",
        "signage/v1/players/p1/alert_ack\n",
        "signage/v1/players/p1/counts\n{\"records\":[{\"seq\":1,\"start\":\"2026-01-01T00:00:00Z\",\"end\":\"2026-01-01T00:00:10Z\",\"lines\":[{\"name\":\"door\",\"in\":1,\"out\":0}],\"zones\":[]}]}",
        "signage/v1/players/p1/plays\n{\"batch\":\"b\",\"records\":[]}",
        "signage/v1/players/p1/config\n{\"payload\":\"{\\\"id\\\":\\\"p1\\\",\\\"revision\\\":2,\\\"issued_at\\\":\\\"2026-01-01T00:00:00Z\\\"}\",\"signature\":\"00\"}",
        "signage/v1/players/p1/screenshot_request\n{\"payload\":\"{\\\"id\\\":\\\"p1\\\",\\\"request_id\\\":\\\"r1\\\",\\\"max_width\\\":640}\",\"signature\":\"00\"}",
        "signage/v1/players/p1/counts_ack\n{\"seqs\":[1],\"conflicts\":[]}",
        "signage/v1/alerts/ward/kita/a1\n{\"payload\":\"{}\",\"signature\":\"\"}",
        "signage/v1/controller/presence\n{\"state\":\"online\",\"session\":\"c\"}",
    ];
    Seeds::built(messages.iter().map(|m| m.as_bytes().to_vec()).collect())
}

pub fn multipart() -> Seeds {
    let part = |name: &str, body: &str| {
        format!(
            "--b0undary\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n{body}\r\n"
        )
    };
    let bodies = [
        format!(
            "{}--b0undary--\r\n",
            part("file", "\u{89}PNG\r\n--b0und not yet")
        ),
        format!(
            "preamble\r\n{}{}--b0undary--",
            part("file", "x"),
            part("duration_ms", "5000")
        ),
        "--b0undary\r\nContent-Disposition: form-data; name=file\r\n\r\n--b0undary--".into(),
        "--b0undary--".into(),
        part("file", "unterminated"),
    ];
    Seeds::built(bodies.iter().map(|b| b.as_bytes().to_vec()).collect())
}

/// The smallest JMA sample of each kind (the code ending the file name, e.g. `VPWW53`): the
/// kinds differ in body, and the largest samples only repeat areas.
pub fn jma() -> Seeds {
    let dir = format!("{DATA}/jma");
    let mut paths = Vec::new();
    collect(Path::new(&dir), &["xml"], &mut paths);
    let mut smallest: std::collections::BTreeMap<String, (u64, PathBuf)> = Default::default();
    for path in paths {
        let kind = path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.rsplit('_').next())
            .unwrap_or_default()
            .to_string();
        let size = std::fs::metadata(&path).map_or(u64::MAX, |m| m.len());
        if smallest.get(&kind).is_none_or(|(s, _)| size < *s) {
            smallest.insert(kind, (size, path));
        }
    }
    let mut seeds = Seeds::built(vec![
        b"<Report xmlns=\"http://xml.kishou.go.jp/jmaxml1/\"><Control><Title>t</Title></Control></Report>".to_vec(),
    ]);
    if smallest.is_empty() {
        seeds.skipped = Some(format!(
            "no .xml files in {dir} (the shared test data beside the repository): built-in seeds only"
        ));
    }
    seeds
        .inputs
        .extend(smallest.values().filter_map(|(_, p)| std::fs::read(p).ok()));
    seeds
}

//! The parsers under test, each with the checks its results must pass.

use std::io::Cursor;

use controller::library::probe::{self, MediaError};
use controller::library::{self, MediaType, RangeRequest};

use crate::Target;
use crate::mutate::Shape;
use crate::seeds;

pub const TARGETS: &[Target] = &[
    Target {
        name: "mp4",
        shape: Shape::Mp4,
        run: |input| inspect(MediaType::Mp4, input),
        seeds: seeds::mp4,
    },
    Target {
        name: "png",
        shape: Shape::Png,
        run: |input| inspect(MediaType::Png, input),
        seeds: seeds::png,
    },
    Target {
        name: "jpeg",
        shape: Shape::Jpeg,
        run: |input| inspect(MediaType::Jpeg, input),
        seeds: seeds::jpeg,
    },
    Target {
        name: "webm",
        shape: Shape::Ebml,
        run: |input| inspect(MediaType::WebM, input),
        seeds: seeds::webm,
    },
    Target {
        name: "sniff",
        shape: Shape::Magic,
        run: |input| format!("{:?}", MediaType::sniff(input)),
        seeds: seeds::magic,
    },
    Target {
        name: "range",
        shape: Shape::Text,
        run: range,
        seeds: seeds::range,
    },
    Target {
        name: "cap",
        shape: Shape::Text,
        run: cap,
        seeds: seeds::cap,
    },
    Target {
        name: "player-config",
        shape: Shape::Text,
        run: player_config,
        seeds: seeds::player_config,
    },
    Target {
        name: "controller-config",
        shape: Shape::Text,
        run: controller_config,
        seeds: seeds::controller_config,
    },
    Target {
        name: "mqtt",
        shape: Shape::Text,
        run: mqtt,
        seeds: seeds::mqtt,
    },
    Target {
        name: "jma",
        shape: Shape::Text,
        run: jma,
        seeds: seeds::jma,
    },
    Target {
        name: "feed",
        shape: Shape::Text,
        run: feed,
        seeds: seeds::feed,
    },
    Target {
        name: "multipart",
        shape: Shape::Text,
        run: multipart,
        seeds: seeds::multipart,
    },
];

pub fn find(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// The upload path's check of a file (which runs the format's probe), from memory.
fn inspect(media: MediaType, input: &[u8]) -> String {
    match probe::inspect(media, Cursor::new(input)) {
        Ok(info) => format!(
            "ok duration {} size {}",
            info.duration_ms.is_some(),
            info.dimensions.is_some()
        ),
        Err(MediaError::Io(e)) => panic!("reading from memory failed: {e}"),
        Err(MediaError::TooManyPixels { .. }) => "too many pixels".into(),
        Err(e) => format!("{e}"),
    }
}

/// `LEN\nHEADER`: the header against a file of LEN bytes (1000 when LEN is not a number).
fn range(input: &[u8]) -> String {
    let text = String::from_utf8_lossy(input);
    let (len, header) = match text.split_once('\n') {
        Some((len, header)) => (len.trim().parse().unwrap_or(1000), header),
        None => (1000, &*text),
    };
    let answer = library::parse_range(Some(header), len);
    if let RangeRequest::Part(first, last) = answer {
        assert!(
            first <= last && last < len,
            "{header:?} against {len} bytes gave {first}-{last}"
        );
    }
    // A plain `bytes=A-B` inside the file must be honoured exactly.
    let plain = header
        .strip_prefix("bytes=")
        .and_then(|spec| spec.split_once('-'))
        .and_then(|(a, b)| Some((digits(a)?, digits(b)?)));
    if let Some((a, b)) = plain
        && a <= b
        && b < len
    {
        assert_eq!(answer, RangeRequest::Part(a, b), "{header:?} against {len}");
    }
    match answer {
        RangeRequest::Whole => "whole",
        RangeRequest::Part(..) => "part",
        RangeRequest::Unsatisfiable => "unsatisfiable",
    }
    .into()
}

fn digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A CAP document; one that parses must also survive being written out and read again, as
/// the controller forwards what it accepted.
fn cap(input: &[u8]) -> String {
    match alerts::cap::parse(input) {
        Ok(parsed) => {
            let written = alerts::cap::to_xml(&parsed.alert);
            if let Err(e) = alerts::cap::parse(written.as_bytes()) {
                panic!("an accepted alert, written out, is refused: {e}\n{written}");
            }
            "ok".into()
        }
        Err(e) => e.rule().into(),
    }
}

fn player_config(input: &[u8]) -> String {
    let text = String::from_utf8_lossy(input);
    let outcome = toml::from_str::<player::config::ConfigFile>(&text)
        .map_err(|e| format!("toml: {}", e.message()))
        .and_then(|file| {
            player::config::PlayerConfig::resolve(file, Default::default())
                .map_err(|e| e.to_string())
        });
    class(outcome.map(|_| ()))
}

fn controller_config(input: &[u8]) -> String {
    let text = String::from_utf8_lossy(input);
    let outcome = toml::from_str::<controller::config::ConfigFile>(&text)
        .map_err(|e| format!("toml: {}", e.message()))
        .and_then(|file| {
            controller::config::ControllerConfig::resolve(file, Default::default())
                .map_err(|e| e.to_string())
        });
    class(outcome.map(|_| ()))
}

/// `TOPIC\nPAYLOAD`: both sides' decoders of the MQTT contract (signed messages opened with a
/// check that accepts any signature, to reach the payload parsers), and the access rules the
/// embedded broker's gate applies, which must never let a player publish as someone else.
fn mqtt(input: &[u8]) -> String {
    use content::protocol::{self, Client, ToPlayer, Topic, contract};
    let split = input
        .iter()
        .position(|b| *b == b'\n')
        .unwrap_or(input.len());
    let topic = String::from_utf8_lossy(&input[..split]);
    let payload = input.get(split + 1..).unwrap_or_default();
    let mut outcome = String::new();
    match protocol::decode_from_player(&topic, payload) {
        Ok(_) => outcome.push_str("from-player ok;"),
        Err(e) => outcome.push_str(&class(Err(e.to_string()))),
    }
    fn any_signature(e: &content::protocol::SignedEnvelope) -> Result<&str, String> {
        Ok(e.payload.as_str())
    }
    match protocol::decode_to_player(&topic, payload) {
        Ok((_, ToPlayer::Config(sealed))) => {
            outcome += &format!("config {}", sealed.open(any_signature).is_ok())
        }
        Ok((_, ToPlayer::Manifest(sealed))) => {
            outcome += &format!("manifest {}", sealed.open(any_signature).is_ok())
        }
        Ok((_, ToPlayer::ScreenshotRequest(sealed))) => {
            outcome += &format!("screenshot {}", sealed.open(any_signature).is_ok())
        }
        Ok(_) => outcome.push_str("to-player ok"),
        Err(e) => outcome.push_str(&class(Err(e.to_string()))),
    }
    let me: protocol::PlayerId = "p1".parse().expect("a valid id");
    let (qos, retain) = (payload.first().map_or(0, |b| b % 3), payload.len() % 2 == 0);
    if contract::may_publish(Client::Player(&me), &topic, qos, retain, payload.len()).is_ok() {
        match Topic::parse(&topic) {
            Ok(Topic::Player(id, kind)) => {
                assert_eq!(id, me, "{topic:?}: a player published for another");
                assert_eq!(
                    kind.spec().direction,
                    contract::Direction::PlayerToController,
                    "{topic:?}"
                );
            }
            other => panic!("{topic:?} ({other:?}): a player may publish only its own topics"),
        }
        outcome.push_str(" publish allowed");
    }
    if contract::may_subscribe(Client::Player(&me), &topic, |_| false).is_ok() {
        assert!(
            !topic.contains('#'),
            "{topic:?}: a player read a multi-level wildcard"
        );
        let own = format!("signage/v1/players/{me}/");
        let alerts = format!("signage/v1/alerts/player/{me}/");
        assert!(
            topic.starts_with(&own)
                || topic.starts_with(&alerts)
                || topic == "signage/v1/controller/presence",
            "{topic:?}: a player may read only its own topics"
        );
        outcome.push_str(" subscribe allowed");
    }
    outcome
}

/// An error's kind without the values quoted in it, so outcomes stay few.
fn class(outcome: Result<(), String>) -> String {
    match outcome {
        Ok(()) => "ok".into(),
        Err(message) => message
            .chars()
            .take_while(|c| !matches!(c, '"' | '`' | '\'' | '0'..='9'))
            .take(80)
            .collect(),
    }
}

/// What a multipart body reads as: each part's name and joined bytes, or the error.
fn read_parts(input: &[u8], chunk: usize) -> Result<Vec<(String, Vec<u8>)>, String> {
    use controller::library::multipart::{Event, Reader};
    let mut reader = Reader::new("b0undary");
    let mut parts: Vec<(String, Vec<u8>)> = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        reader
            .push(piece, &mut |event| {
                match event {
                    Event::Part { name, .. } => parts.push((name, Vec::new())),
                    Event::Data(bytes) => match parts.last_mut() {
                        Some(part) => part.1.extend_from_slice(bytes),
                        None => panic!("data before any part"),
                    },
                    Event::End => {}
                }
                Ok(())
            })
            .map_err(|e| e.to_string())?;
    }
    reader.finish().map_err(|e| e.to_string())?;
    Ok(parts)
}

/// The upload's multipart reader: whatever the chunking, the same parts (or the same error
/// class), and never more body bytes out than went in.
fn multipart(input: &[u8]) -> String {
    let whole = read_parts(input, input.len());
    let chunk = 1 + input.first().map_or(0, |b| *b as usize % 17);
    let split = read_parts(input, chunk);
    match (&whole, &split) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b, "chunks of {chunk} read differently");
            let out: usize = a.iter().map(|(_, d)| d.len()).sum();
            assert!(out <= input.len());
        }
        (Err(_), Err(_)) => {}
        _ => panic!("whole {whole:?} but in chunks of {chunk} {split:?}"),
    }
    match whole {
        Ok(parts) => format!("{} parts", parts.len()),
        Err(e) => e,
    }
}

/// A JMA disaster-information document.
/// JMA XML read, then decided (with Osaka's defaults, at its own report time) and, when shown,
/// written in every language: a hostile document that reads must not break the decision.
fn jma(input: &[u8]) -> String {
    match jma::read(input) {
        Ok(doc) => {
            let areas = jma::areas::AreaCodes::default();
            let policy = jma::decide::Policy::default();
            let d = jma::decide::decide(&doc, &areas, &policy, doc.summary.reported_at);
            if let jma::decide::Action::Show(show) = &d.action {
                let infos = jma::text::infos(show, alerts::model::Status::Actual);
                assert_eq!(infos.len(), 7, "one info per language");
            }
            format!(
                "read {} {}",
                doc.summary.info_kind.chars().count(),
                d.name()
            )
        }
        Err(e) => e.rule().into(),
    }
}

/// An Atom feed as the JMA poller reads it.
fn feed(input: &[u8]) -> String {
    match controller::feeds::parse_feed(input) {
        Ok(entries) => format!("{} entries", entries.len()),
        Err(e) => e.to_string().chars().take(40).collect(),
    }
}

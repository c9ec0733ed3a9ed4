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

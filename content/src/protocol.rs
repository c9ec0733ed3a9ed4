//! The MQTT contract between controller and players, written once for both sides.
//!
//! Topics are versioned (`signage/v1/...`) so a later `v2` can run beside `v1` during a rolling
//! upgrade. Payloads are JSON; every payload is size-checked *before* it is parsed, so a hostile
//! or broken client cannot make either side allocate without bound. Unknown JSON fields are
//! ignored (newer senders may add fields within `v1`); missing required fields are errors.
//!
//! | topic | direction | retained | payload |
//! |---|---|---|---|
//! | `signage/v1/players/{id}/presence` | player -> all | yes (Last Will: offline) | [`Presence`] |
//! | `signage/v1/players/{id}/hello` | player -> controller | yes | [`Hello`] |
//! | `signage/v1/players/{id}/config` | controller -> player | yes | [`DesiredConfig`] |
//! | `signage/v1/players/{id}/ack` | player -> controller | yes | [`Ack`] |
//! | `signage/v1/controller/presence` | controller -> all | yes (Last Will: offline) | [`Presence`] |
//!
//! Everything a player reports is retained: a controller that (re)subscribes later, after a
//! restart or before it got its own connection, still learns each player's latest state.
//!
//! `docs/protocol.md` describes the same contract for people who do not read Rust.

use std::fmt;
use std::str::FromStr;

pub use crate::ids::{PlayerId, PlayerIdError};

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Every topic of this contract starts with this prefix.
pub const ROOT: &str = "signage/v1";

/// Largest payload either side accepts on any topic. Configurations and hellos are small; the
/// limit is generous for growth and small enough that a flood of them cannot exhaust memory.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

/// The MQTT username the controller itself uses on the embedded broker; no player may take it.
pub const CONTROLLER_USERNAME: &str = crate::ids::RESERVED_PLAYER_ID;

/// Subscriptions the controller makes: everything players send.
pub const CONTROLLER_SUBSCRIPTIONS: [&str; 3] = [
    "signage/v1/players/+/presence",
    "signage/v1/players/+/hello",
    "signage/v1/players/+/ack",
];

/// Everything that can be wrong with a topic or a payload.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum WireError {
    #[error(transparent)]
    PlayerId(#[from] PlayerIdError),
    #[error("topic {0:?} is not part of the signage/v1 contract")]
    UnknownTopic(String),
    #[error("payload of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("malformed {kind} payload: {reason}")]
    Malformed { kind: &'static str, reason: String },
    #[error("{kind} payload names player {inner} but arrived on the topic of player {topic}")]
    IdMismatch {
        kind: &'static str,
        topic: String,
        inner: String,
    },
}

/// The kind of a per-player topic: the last topic level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayerTopic {
    Presence,
    Hello,
    Config,
    Ack,
}

impl PlayerTopic {
    fn level(self) -> &'static str {
        match self {
            PlayerTopic::Presence => "presence",
            PlayerTopic::Hello => "hello",
            PlayerTopic::Config => "config",
            PlayerTopic::Ack => "ack",
        }
    }
}

/// A parsed topic of the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topic {
    Player(PlayerId, PlayerTopic),
    ControllerPresence,
}

impl Topic {
    pub fn player(id: &PlayerId, kind: PlayerTopic) -> Topic {
        Topic::Player(id.clone(), kind)
    }

    pub fn parse(topic: &str) -> Result<Topic, WireError> {
        let unknown = || WireError::UnknownTopic(topic.chars().take(200).collect());
        let rest = topic
            .strip_prefix(ROOT)
            .and_then(|r| r.strip_prefix('/'))
            .ok_or_else(unknown)?;
        let levels: Vec<&str> = rest.split('/').collect();
        match levels.as_slice() {
            ["controller", "presence"] => Ok(Topic::ControllerPresence),
            ["players", id, kind] => {
                let kind = match *kind {
                    "presence" => PlayerTopic::Presence,
                    "hello" => PlayerTopic::Hello,
                    "config" => PlayerTopic::Config,
                    "ack" => PlayerTopic::Ack,
                    _ => return Err(unknown()),
                };
                Ok(Topic::Player(id.parse()?, kind))
            }
            _ => Err(unknown()),
        }
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Topic::Player(id, kind) => write!(f, "{ROOT}/players/{id}/{}", kind.level()),
            Topic::ControllerPresence => write!(f, "{ROOT}/controller/presence"),
        }
    }
}

/// Whether a participant is connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PresenceState {
    Online,
    Offline,
}

/// Retained presence. The offline form is also the Last Will, registered at connect time, so
/// the broker announces a crashed or unplugged participant by itself.
///
/// `session` is random per connection: a Last Will of an old session that arrives after the
/// new session announced itself is recognisably stale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Presence {
    pub state: PresenceState,
    pub session: String,
}

/// What a player can do; the controller only asks for what is announced here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    pub id: PlayerId,
    /// The player's software version (semver of the `player` crate).
    pub version: String,
    /// Feature names such as `"render"` or `"camera"`.
    #[serde(default)]
    pub capabilities: Vec<String>,
    pub screen: Screen,
    pub display: DisplayMode,
    pub started_at: DateTime<Utc>,
    /// The desired-configuration revision the player holds (from its cache), if any.
    #[serde(default)]
    pub config_revision: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Screen {
    pub width: u32,
    pub height: u32,
}

/// Where the player draws: a window or display of its own, or offscreen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DisplayMode {
    Window,
    #[default]
    Headless,
}

impl FromStr for DisplayMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "window" => Ok(DisplayMode::Window),
            "headless" => Ok(DisplayMode::Headless),
            other => Err(format!(
                "unknown display mode {other:?}: use \"window\" or \"headless\""
            )),
        }
    }
}

/// The controller's desired configuration for one player (retained). The controller is the
/// source of truth: it republishes this whenever its broker connection is (re)established.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredConfig {
    pub id: PlayerId,
    /// Increases with every change; a player ignores revisions older than what it holds.
    pub revision: u64,
    #[serde(default)]
    pub ward: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
    pub issued_at: DateTime<Utc>,
}

/// What an acknowledgement refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AckSubject {
    Config,
}

/// A player's answer to a controller message: applied, or refused with the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ack {
    pub subject: AckSubject,
    pub revision: u64,
    pub ok: bool,
    #[serde(default)]
    pub error: Option<String>,
}

/// A message a player sent, as the controller receives it.
#[derive(Debug, Clone, PartialEq)]
pub enum FromPlayer {
    Presence(Presence),
    Hello(Hello),
    Ack(Ack),
}

/// A message the controller sent, as a player receives it.
#[derive(Debug, Clone, PartialEq)]
pub enum ToPlayer {
    Config(DesiredConfig),
    /// The player's own presence, echoed back: lets it notice a stale Last Will.
    Presence(Presence),
}

/// Serialises a payload. Payloads are plain data, so this cannot fail.
pub fn encode<T: Serialize>(payload: &T) -> Vec<u8> {
    serde_json::to_vec(payload).expect("protocol payloads always serialise")
}

fn decode<T: DeserializeOwned>(kind: &'static str, payload: &[u8]) -> Result<T, WireError> {
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(WireError::TooLarge {
            size: payload.len(),
            limit: MAX_PAYLOAD_BYTES,
        });
    }
    serde_json::from_slice(payload).map_err(|e| WireError::Malformed {
        kind,
        reason: e.to_string(),
    })
}

/// Decodes what arrives on a topic the controller subscribes to.
pub fn decode_from_player(
    topic: &str,
    payload: &[u8],
) -> Result<(PlayerId, FromPlayer), WireError> {
    let Topic::Player(id, kind) = Topic::parse(topic)? else {
        return Err(WireError::UnknownTopic(topic.to_string()));
    };
    let message = match kind {
        PlayerTopic::Presence => FromPlayer::Presence(decode("presence", payload)?),
        PlayerTopic::Hello => {
            let hello: Hello = decode("hello", payload)?;
            if hello.id != id {
                return Err(WireError::IdMismatch {
                    kind: "hello",
                    topic: id.to_string(),
                    inner: hello.id.to_string(),
                });
            }
            FromPlayer::Hello(hello)
        }
        PlayerTopic::Ack => FromPlayer::Ack(decode("ack", payload)?),
        PlayerTopic::Config => return Err(WireError::UnknownTopic(topic.to_string())),
    };
    Ok((id, message))
}

/// Decodes what arrives on a topic a player subscribes to.
pub fn decode_to_player(topic: &str, payload: &[u8]) -> Result<(PlayerId, ToPlayer), WireError> {
    let Topic::Player(id, kind) = Topic::parse(topic)? else {
        return Err(WireError::UnknownTopic(topic.to_string()));
    };
    let message = match kind {
        PlayerTopic::Config => {
            let config: DesiredConfig = decode("config", payload)?;
            if config.id != id {
                return Err(WireError::IdMismatch {
                    kind: "config",
                    topic: id.to_string(),
                    inner: config.id.to_string(),
                });
            }
            ToPlayer::Config(config)
        }
        PlayerTopic::Presence => ToPlayer::Presence(decode("presence", payload)?),
        PlayerTopic::Hello | PlayerTopic::Ack => {
            return Err(WireError::UnknownTopic(topic.to_string()));
        }
    };
    Ok((id, message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn id(s: &str) -> PlayerId {
        s.parse().unwrap()
    }

    fn hello(player: &str) -> Hello {
        Hello {
            id: id(player),
            version: "0.1.0".into(),
            capabilities: vec!["render".into()],
            screen: Screen {
                width: 1920,
                height: 1080,
            },
            display: DisplayMode::Headless,
            started_at: Utc.with_ymd_and_hms(2026, 11, 25, 3, 0, 0).unwrap(),
            config_revision: None,
        }
    }

    #[test]
    fn player_ids_accept_only_safe_topic_levels() {
        for ok in ["kita-1", "a", "ward_24", &"x".repeat(64)] {
            assert!(ok.parse::<PlayerId>().is_ok(), "{ok} should be valid");
        }
        for bad in [
            "",
            "Kita",
            "a/b",
            "+",
            "#",
            "kita 1",
            "北区",
            &"x".repeat(65),
            "controller",
        ] {
            assert!(
                bad.parse::<PlayerId>().is_err(),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn topics_round_trip() {
        let p = id("kita-1");
        for kind in [
            PlayerTopic::Presence,
            PlayerTopic::Hello,
            PlayerTopic::Config,
            PlayerTopic::Ack,
        ] {
            let t = Topic::player(&p, kind);
            assert_eq!(Topic::parse(&t.to_string()).unwrap(), t);
        }
        assert_eq!(
            Topic::ControllerPresence.to_string(),
            "signage/v1/controller/presence"
        );
        assert_eq!(
            Topic::player(&p, PlayerTopic::Presence).to_string(),
            "signage/v1/players/kita-1/presence"
        );
    }

    #[test]
    fn foreign_and_malformed_topics_are_refused() {
        for bad in [
            "signage/v2/players/a/presence",
            "signage/v1/players/a/unknown",
            "signage/v1/players/A/hello",
            "signage/v1/players/a/b/hello",
            "signage/v1",
            "other/topic",
        ] {
            assert!(Topic::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hello_round_trips_and_must_match_its_topic() {
        let h = hello("kita-1");
        let (who, msg) =
            decode_from_player("signage/v1/players/kita-1/hello", &encode(&h)).unwrap();
        assert_eq!(who, id("kita-1"));
        assert_eq!(msg, FromPlayer::Hello(h.clone()));
        let err = decode_from_player("signage/v1/players/naka-1/hello", &encode(&h)).unwrap_err();
        assert!(matches!(err, WireError::IdMismatch { .. }), "{err}");
    }

    #[test]
    fn oversized_payloads_are_refused_before_parsing() {
        let big = vec![b' '; MAX_PAYLOAD_BYTES + 1];
        let err = decode_from_player("signage/v1/players/a/presence", &big).unwrap_err();
        assert_eq!(
            err,
            WireError::TooLarge {
                size: MAX_PAYLOAD_BYTES + 1,
                limit: MAX_PAYLOAD_BYTES
            }
        );
    }

    #[test]
    fn malformed_payloads_name_their_kind() {
        let cases: [(&str, &[u8]); 4] = [
            ("signage/v1/players/a/presence", b"{\"state\":\"sleeping\"}"),
            ("signage/v1/players/a/hello", b"not json"),
            ("signage/v1/players/a/ack", b"{\"subject\":\"config\"}"),
            ("signage/v1/players/a/presence", &[0xff, 0xfe]),
        ];
        for (topic, payload) in cases {
            let err = decode_from_player(topic, payload).unwrap_err();
            assert!(matches!(err, WireError::Malformed { .. }), "{topic}: {err}");
        }
    }

    #[test]
    fn players_do_not_accept_controller_only_topics_from_the_wrong_direction() {
        let h = hello("a");
        assert!(decode_to_player("signage/v1/players/a/hello", &encode(&h)).is_err());
        let config = DesiredConfig {
            id: id("a"),
            revision: 3,
            ward: Some("kita".into()),
            group: None,
            issued_at: Utc::now(),
        };
        assert!(decode_from_player("signage/v1/players/a/config", &encode(&config)).is_err());
        let (_, got) = decode_to_player("signage/v1/players/a/config", &encode(&config)).unwrap();
        assert_eq!(got, ToPlayer::Config(config));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(topic in ".{0,80}", payload in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_from_player(&topic, &payload);
            let _ = decode_to_player(&topic, &payload);
        }

        #[test]
        fn valid_ids_always_form_parseable_topics(s in "[a-z0-9_-]{1,64}") {
            prop_assume!(s != CONTROLLER_USERNAME);
            let p: PlayerId = s.parse().unwrap();
            let t = Topic::player(&p, PlayerTopic::Ack);
            prop_assert_eq!(Topic::parse(&t.to_string()).unwrap(), t);
        }
    }
}

//! Identifiers. Each kind of id is its own type so a playlist id can never be passed where a
//! layout id is expected; on the wire they are plain strings. The player id is also an MQTT
//! topic level and the MQTT username, so it is checked strictly: see [`PlayerId`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! string_id {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }
    )*};
}

string_id! {
    /// A media asset (video, image, text slide, ticker).
    AssetId;
    /// A playlist.
    PlaylistId;
    /// A layout.
    LayoutId;
    /// A zone, unique within its layout.
    ZoneId;
    /// A schedule entry. Also the last tie-break of the selection (smaller wins).
    EntryId;
    /// A ward (区), e.g. `kita`.
    WardId;
    /// A named group of players, e.g. `lobby-1f`.
    GroupId;
    /// An emergency alert.
    AlertId;
    /// A language key such as `ja`, `en`, `ja-easy` (やさしい日本語), `zh-Hans` or `ko`.
    Lang;
}

impl Lang {
    /// BCP 47 in spirit (letters, digits, hyphens) without pinning down the registry, because
    /// `ja-easy` is our own key, not a registered subtag.
    pub fn is_well_formed(&self) -> bool {
        let s = self.0.as_str();
        !s.is_empty()
            && !s.starts_with('-')
            && !s.ends_with('-')
            && !s.contains("--")
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    }
}

#[cfg(test)]
mod tests {
    use super::Lang;

    #[test]
    fn language_keys() {
        for good in ["ja", "en", "ja-easy", "zh-Hans", "ko"] {
            assert!(Lang::from(good).is_well_formed(), "{good}");
        }
        for bad in ["", "-ja", "ja-", "ja--easy", "ja easy", "日本語"] {
            assert!(!Lang::from(bad).is_well_formed(), "{bad:?}");
        }
    }
}

/// The id the controller uses as its own MQTT username; no player may take it.
pub const RESERVED_PLAYER_ID: &str = "controller";

/// Why a string is not a valid [`PlayerId`].
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlayerIdError {
    #[error("invalid player id {0:?}: use 1 to 64 characters of a-z, 0-9, '-' and '_' (lowercase)")]
    Invalid(String),
    #[error("player id {0:?} is reserved for the controller; choose another id")]
    Reserved(String),
}

/// A player's identifier: 1 to 64 characters of `a-z`, `0-9`, `-` and `_`.
///
/// The id is a topic level and the MQTT username, so it must never contain `/`, `+` or `#`
/// (which would let one player address another's topics) and is kept lowercase so ids that
/// differ only in case cannot be confused on a screen list.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PlayerId(String);

impl PlayerId {
    pub const MAX_LEN: usize = 64;

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PlayerId {
    type Err = PlayerIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let valid_chars = s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if s.is_empty() || s.len() > Self::MAX_LEN || !valid_chars {
            return Err(PlayerIdError::Invalid(s.chars().take(80).collect()));
        }
        if s == RESERVED_PLAYER_ID {
            return Err(PlayerIdError::Reserved(s.to_string()));
        }
        Ok(PlayerId(s.to_string()))
    }
}

impl TryFrom<String> for PlayerId {
    type Error = PlayerIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<PlayerId> for String {
    fn from(id: PlayerId) -> String {
        id.0
    }
}

impl fmt::Display for PlayerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

//! What the controller sends to players about an alert, and what a player keeps of it.

use chrono::{DateTime, Utc};
use content::alert::ActiveAlert;
use content::ids::AlertId;
use content::schedule::Target;
use serde::{Deserialize, Serialize};

use crate::model::Alert;
use crate::templates::WarningLevel;

/// One revision of a signage alert: the CAP document, who must see it and how loud.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertMessage {
    /// Stable across updates (CAP identifiers change with every Update; this does not).
    pub id: AlertId,
    /// 1 for the first issue, +1 per update; a player ignores a lower revision than it holds.
    pub revision: u32,
    pub targets: Vec<Target>,
    pub level: WarningLevel,
    /// When the lifecycle issued this revision.
    pub issued_at: DateTime<Utc>,
    pub cap: Alert,
    /// The end of this signed copy's validity, set by the controller each time it signs and
    /// renewed while the alert stands: a captured message cannot be replayed for ever, even of
    /// an alert without CAP `expires`. Players refuse a `show` without one or past it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<DateTime<Utc>>,
}

impl AlertMessage {
    /// Exercise and Test alerts: the player must mark them 訓練 / TEST in every language.
    pub fn is_drill(&self) -> bool {
        self.cap.is_drill()
    }

    /// When a screen stops showing this copy: the CAP expiry or the end of the signed
    /// validity, whichever comes first.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        match (self.cap.expires(), self.valid_until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The content model's view, for the selection (`content::selection::select`).
    pub fn to_active_alert(&self) -> ActiveAlert {
        ActiveAlert {
            id: self.id.clone(),
            targets: self.targets.clone(),
            level: self.level.get(),
            issued_at: self.issued_at,
            expires_at: self.expires_at(),
        }
    }
}

/// What travels to players (signed, see [`crate::signing`]): a JSON object whose `kind` is
/// `show` (with the [`AlertMessage`] fields) or `clear`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Broadcast {
    /// Show this alert, replacing any earlier revision of the same id.
    Show(Box<AlertMessage>),
    /// Stop showing the alert `id`.
    Clear {
        id: AlertId,
        reason: ClearReason,
        at: DateTime<Utc>,
        /// The latest `expires` of any revision of the alert: after it every signed message of
        /// the alert is expired, so a player may forget the id (see [`HeldAlerts::prune`]).
        /// Absent when a revision had no expiry: the id is then remembered for ever.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires: Option<DateTime<Utc>>,
    },
}

/// The general reading of a [`Broadcast`], for objects whose `kind` is not the first key.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum TaggedBroadcast {
    Show(Box<AlertMessage>),
    Clear(ClearFields),
}

#[derive(Deserialize)]
struct ClearFields {
    id: AlertId,
    reason: ClearReason,
    at: DateTime<Utc>,
    #[serde(default)]
    expires: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Show,
    Clear,
}

impl From<TaggedBroadcast> for Broadcast {
    fn from(tagged: TaggedBroadcast) -> Broadcast {
        match tagged {
            TaggedBroadcast::Show(message) => Broadcast::Show(message),
            TaggedBroadcast::Clear(c) => c.into(),
        }
    }
}

impl From<ClearFields> for Broadcast {
    fn from(c: ClearFields) -> Broadcast {
        Broadcast::Clear {
            id: c.id,
            reason: c.reason,
            at: c.at,
            expires: c.expires,
        }
    }
}

/// Every player reads every alert the moment it arrives, so this reads the fields once: with
/// `kind` first (as [`Broadcast`] is serialised), the rest of the object goes straight into
/// its type, where serde's derived reading of a tagged enum would first copy the whole object
/// into a tree of its own (half the parsing time of an alert).
impl<'de> Deserialize<'de> for Broadcast {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(BroadcastVisitor)
    }
}

struct BroadcastVisitor;

impl<'de> serde::de::Visitor<'de> for BroadcastVisitor {
    type Value = Broadcast;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an alert broadcast: an object with a kind of show or clear")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Broadcast, A::Error> {
        use serde::de::Error;
        use serde::de::value::MapAccessDeserializer;
        let Some(first) = map.next_key::<std::borrow::Cow<'de, str>>()? else {
            return Err(A::Error::missing_field("kind"));
        };
        if first == "kind" {
            let rest = |map| MapAccessDeserializer::new(map);
            return match map.next_value::<Kind>()? {
                Kind::Show => {
                    AlertMessage::deserialize(rest(map)).map(|m| Broadcast::Show(m.into()))
                }
                Kind::Clear => ClearFields::deserialize(rest(map)).map(Broadcast::from),
            };
        }
        let mut object = serde_json::Map::new();
        object.insert(first.into_owned(), map.next_value()?);
        while let Some((key, value)) = map.next_entry::<String, serde_json::Value>()? {
            object.insert(key, value);
        }
        TaggedBroadcast::deserialize(serde_json::Value::Object(object))
            .map(Broadcast::from)
            .map_err(A::Error::custom)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClearReason {
    Cancelled,
    AllClear,
    Expired,
}

/// What a player holds: the alerts it shows and the ids it was told to clear. Pure, so the
/// player can persist it (serde) and rebuild it after a reboot before showing anything else.
///
/// Order-proof: a `Show` with a revision not newer than the one held is stale and ignored (a
/// retained message replayed after an update), and a `Show` for an id already cleared is
/// ignored (a replayed signed message of a cancelled alert must not bring it back).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HeldAlerts {
    /// Shared, so a copy for the file writer costs a reference count, not the texts.
    showing: std::collections::BTreeMap<AlertId, std::sync::Arc<AlertMessage>>,
    cleared: std::collections::BTreeMap<AlertId, ClearReason>,
    /// The revision each alert had when it left this screen (cleared or expired), so its
    /// `cleared` acknowledgement can be repeated when the tombstone is replayed, also after a
    /// restart. Absent from files written before it existed.
    #[serde(default)]
    left: std::collections::BTreeMap<AlertId, u32>,
    /// When each cleared or expired id may be forgotten: [`FORGET_AFTER`] past the latest
    /// expiry of any revision of the alert (from its tombstone, or its own when it expired
    /// here). Ids without one are kept.
    #[serde(default)]
    forget_at: std::collections::BTreeMap<AlertId, DateTime<Utc>>,
}

/// How long past an alert's last expiry its id is kept: as long as the controller sends its
/// tombstone again, so a replayed tombstone is still acknowledged `cleared`.
pub const FORGET_AFTER: chrono::TimeDelta = chrono::TimeDelta::days(1);

/// What [`HeldAlerts::apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Shown,
    Replaced,
    IgnoredStale,
    /// The same revision signed again with a later validity: nothing changes on screen.
    Renewed,
    IgnoredCleared,
    Cleared,
    /// A clear for an alert this player never held (it is remembered all the same).
    ClearedUnknown,
}

impl HeldAlerts {
    /// Applies a broadcast whose signature was already verified.
    pub fn apply(&mut self, broadcast: Broadcast) -> Applied {
        match broadcast {
            Broadcast::Show(message) => {
                if self.cleared.contains_key(&message.id) {
                    return Applied::IgnoredCleared;
                }
                match self.showing.get(&message.id) {
                    Some(held)
                        if held.revision == message.revision
                            && message.valid_until > held.valid_until =>
                    {
                        self.showing
                            .insert(message.id.clone(), std::sync::Arc::from(message));
                        Applied::Renewed
                    }
                    Some(held) if held.revision >= message.revision => Applied::IgnoredStale,
                    held => {
                        let outcome = if held.is_some() {
                            Applied::Replaced
                        } else {
                            Applied::Shown
                        };
                        self.showing
                            .insert(message.id.clone(), std::sync::Arc::from(message));
                        outcome
                    }
                }
            }
            Broadcast::Clear {
                id,
                reason,
                expires,
                ..
            } => {
                self.cleared.insert(id.clone(), reason);
                // The tombstone knows every revision's expiry; without one, remember for ever.
                match expires {
                    Some(end) => self.forget_at.insert(id.clone(), end + FORGET_AFTER),
                    None => self.forget_at.remove(&id),
                };
                match self.showing.remove(&id) {
                    Some(held) => {
                        self.left.insert(id, held.revision);
                        Applied::Cleared
                    }
                    None => Applied::ClearedUnknown,
                }
            }
        }
    }

    /// The held alerts that have not expired at `now`, for the selection.
    pub fn active(&self, now: DateTime<Utc>) -> Vec<ActiveAlert> {
        self.showing
            .values()
            .map(|m| m.to_active_alert())
            .filter(|a| a.expires_at.is_none_or(|end| now < end))
            .collect()
    }

    pub fn get(&self, id: &AlertId) -> Option<&AlertMessage> {
        self.showing.get(id).map(|m| &**m)
    }

    /// The revision `id` had when it left this screen, if it was ever shown here.
    pub fn left_at_revision(&self, id: &AlertId) -> Option<u32> {
        self.left.get(id).copied()
    }

    /// Forgets expired alerts (their clear is implied; they cannot come back because a
    /// replayed message carries the same past `expires`), and the ids of alerts whose every
    /// revision expired more than [`FORGET_AFTER`] ago: a replay of any of their messages is
    /// expired too, so the list of cleared ids stays bounded.
    pub fn prune(&mut self, now: DateTime<Utc>) {
        let (left, forget_at) = (&mut self.left, &mut self.forget_at);
        self.showing.retain(|id, m| {
            let end = m.expires_at().filter(|end| *end <= now);
            if let Some(end) = end {
                left.insert(id.clone(), m.revision);
                // Only `left` hangs on this: a later tombstone says when the id may go.
                forget_at.entry(id.clone()).or_insert(end + FORGET_AFTER);
            }
            end.is_none()
        });
        let cleared = &mut self.cleared;
        forget_at.retain(|id, at| {
            let keep = now < *at;
            if !keep {
                cleared.remove(id);
                left.remove(id);
            }
            keep
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clear() -> Broadcast {
        Broadcast::Clear {
            id: AlertId::from("quake-1"),
            reason: ClearReason::AllClear,
            at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            expires: None,
        }
    }

    fn show() -> Broadcast {
        let status = crate::model::Status::Exercise;
        let infos = crate::templates::cap_infos(
            crate::templates::TemplateKind::Tsunami,
            &crate::templates::Placeholders {
                area: "港区".into(),
                shelter: Some("市岡中学校".into()),
                ..Default::default()
            },
            status,
            None,
        )
        .unwrap();
        let sent = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        Broadcast::Show(Box::new(AlertMessage {
            id: AlertId::from("tsunami-1"),
            revision: 2,
            targets: vec![Target::Ward(content::ids::WardId::from("minato"))],
            level: WarningLevel::new(5).unwrap(),
            issued_at: sent,
            cap: Alert::new(
                "tsunami-1-2".into(),
                "osaka@example.jp".into(),
                sent.fixed_offset(),
                status,
                infos,
            ),
            valid_until: None,
        }))
    }

    #[test]
    fn broadcasts_read_back_what_was_written() {
        for broadcast in [show(), clear()] {
            let text = serde_json::to_string(&broadcast).unwrap();
            assert!(text.starts_with(r#"{"kind":"#), "{text}");
            assert_eq!(serde_json::from_str::<Broadcast>(&text).unwrap(), broadcast);
            let bytes = text.into_bytes();
            assert_eq!(
                serde_json::from_slice::<Broadcast>(&bytes).unwrap(),
                broadcast
            );
        }
    }

    #[test]
    fn the_kind_may_come_anywhere_in_the_object() {
        for broadcast in [show(), clear()] {
            let mut value = serde_json::to_value(&broadcast).unwrap();
            let object = value.as_object_mut().unwrap();
            let kind = object.remove("kind").unwrap();
            object.insert("kind".into(), kind);
            let text = serde_json::to_string(&value).unwrap();
            assert!(!text.starts_with(r#"{"kind""#), "{text}");
            assert_eq!(serde_json::from_str::<Broadcast>(&text).unwrap(), broadcast);
        }
    }

    #[test]
    fn a_broadcast_without_a_known_kind_or_its_fields_is_refused() {
        for (text, expected) in [
            (r#"{}"#, "missing field `kind`"),
            (r#"{"kind":"launch","id":"x"}"#, "unknown variant `launch`"),
            (r#"{"id":"x","kind":"launch"}"#, "unknown variant `launch`"),
            (r#"{"kind":"clear","id":"x"}"#, "missing field `reason`"),
            (r#"["show"]"#, "an alert broadcast"),
        ] {
            let error = serde_json::from_str::<Broadcast>(text)
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn a_later_signed_copy_renews_and_its_validity_bounds_the_screen() {
        let Broadcast::Show(first) = show() else {
            unreachable!()
        };
        let t = first.issued_at;
        let copy = |until: i64| {
            let mut m = first.clone();
            m.valid_until = Some(t + chrono::TimeDelta::hours(until));
            Broadcast::Show(m)
        };
        let mut held = HeldAlerts::default();
        assert_eq!(held.apply(copy(6)), Applied::Shown);
        assert_eq!(held.apply(copy(6)), Applied::IgnoredStale);
        assert_eq!(held.apply(copy(5)), Applied::IgnoredStale);
        assert_eq!(held.apply(copy(7)), Applied::Renewed);
        let end = held.active(t)[0].expires_at;
        assert_eq!(end, Some(t + chrono::TimeDelta::hours(7)));
        // Not renewed in time: the screen lets it go, and a renewal brings it back.
        held.prune(t + chrono::TimeDelta::hours(7));
        assert!(held.active(t + chrono::TimeDelta::hours(7)).is_empty());
        assert_eq!(held.apply(copy(9)), Applied::Shown);
    }

    #[test]
    fn the_earlier_of_cap_expiry_and_signed_validity_ends_an_alert() {
        let Broadcast::Show(mut m) = show() else {
            unreachable!()
        };
        let t = m.issued_at;
        assert_eq!(m.expires_at(), m.cap.expires());
        m.valid_until = Some(t + chrono::TimeDelta::hours(1));
        assert_eq!(m.expires_at(), Some(t + chrono::TimeDelta::hours(1)));
    }
}

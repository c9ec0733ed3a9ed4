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
}

impl AlertMessage {
    /// Exercise and Test alerts: the player must mark them 訓練 / TEST in every language.
    pub fn is_drill(&self) -> bool {
        self.cap.is_drill()
    }

    /// The content model's view, for the selection (`content::selection::select`).
    pub fn to_active_alert(&self) -> ActiveAlert {
        ActiveAlert {
            id: self.id.clone(),
            targets: self.targets.clone(),
            level: self.level.get(),
            issued_at: self.issued_at,
            expires_at: self.cap.expires(),
        }
    }
}

/// What travels to players (signed, see [`crate::signing`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Broadcast {
    /// Show this alert, replacing any earlier revision of the same id.
    Show(Box<AlertMessage>),
    /// Stop showing the alert `id`.
    Clear {
        id: AlertId,
        reason: ClearReason,
        at: DateTime<Utc>,
    },
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
    showing: std::collections::BTreeMap<AlertId, AlertMessage>,
    cleared: std::collections::BTreeMap<AlertId, ClearReason>,
}

/// What [`HeldAlerts::apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Shown,
    Replaced,
    IgnoredStale,
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
                    Some(held) if held.revision >= message.revision => Applied::IgnoredStale,
                    held => {
                        let outcome = if held.is_some() {
                            Applied::Replaced
                        } else {
                            Applied::Shown
                        };
                        self.showing.insert(message.id.clone(), *message);
                        outcome
                    }
                }
            }
            Broadcast::Clear { id, reason, .. } => {
                self.cleared.insert(id.clone(), reason);
                if self.showing.remove(&id).is_some() {
                    Applied::Cleared
                } else {
                    Applied::ClearedUnknown
                }
            }
        }
    }

    /// The held alerts that have not expired at `now`, for the selection.
    pub fn active(&self, now: DateTime<Utc>) -> Vec<ActiveAlert> {
        self.showing
            .values()
            .map(AlertMessage::to_active_alert)
            .filter(|a| a.expires_at.is_none_or(|end| now < end))
            .collect()
    }

    pub fn get(&self, id: &AlertId) -> Option<&AlertMessage> {
        self.showing.get(id)
    }

    /// Forgets expired alerts (their clear is implied; they cannot come back because a
    /// replayed message carries the same past `expires`).
    pub fn prune(&mut self, now: DateTime<Utc>) {
        self.showing
            .retain(|_, m| m.cap.expires().is_none_or(|end| now < end));
    }
}

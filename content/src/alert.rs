//! Emergency alerts as the selection sees them. The alert lifecycle (CAP, JMA feeds, drills,
//! confirmation, cancel) lives elsewhere and will add fields here; an alert a player holds
//! takes over its whole screen.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::AlertId;
use crate::schedule::{PlayerTarget, Target, best_match};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveAlert {
    pub id: AlertId,
    /// Who must see it; an empty list reaches nobody.
    pub targets: Vec<Target>,
    /// JMA warning level (警戒レベル) 1-5; when several alerts reach a screen the higher level
    /// is shown.
    pub level: u8,
    pub issued_at: DateTime<Utc>,
    /// From this instant on the alert no longer shows, even if no cancel ever arrives (a
    /// player cut off from the controller must not show a stale alert forever).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

impl ActiveAlert {
    /// Whether the alert takes over `player`'s screen at `now`. `issued_at` is deliberately not
    /// compared with `now`: a player whose clock lags the controller's must still show a
    /// fresh alert at once.
    pub fn applies_to(&self, player: &PlayerTarget, now: DateTime<Utc>) -> bool {
        best_match(&self.targets, player).is_some() && self.expires_at.is_none_or(|end| now < end)
    }
}

//! The MQTT contract as data: one row per message type, and everything derived from it.
//!
//! [`CONTRACT`] is the one place that says, for every message, its topic, who sends it, who
//! reads it, its QoS, whether it is retained, whether it is signed, and what is checked. From
//! it come the topic levels both sides parse, the subscriptions both sides make, the QoS and
//! retain flag of every publish ([`Topic::qos`], [`Topic::retained`]), the access rules the
//! embedded broker enforces per connection ([`may_publish`], [`may_subscribe`]), the Mosquitto
//! ACL in `deploy/mosquitto/acl` ([`mosquitto_acl`]) and the table in `docs/protocol.md`
//! ([`markdown_table`]); tests fail when either file drifts from the table.

use std::fmt;

use super::{AlertScope, PlayerId, PlayerTopic, ROOT, Topic, is_topic_level};

/// Who publishes a message and who may read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The player named in the topic publishes; the controller reads.
    PlayerToController,
    /// The controller publishes; the player named in the topic reads.
    ControllerToPlayer,
    /// The controller publishes; every player the topic's scope names reads (alerts).
    ControllerToTargets,
    /// The controller publishes; every participant reads.
    ControllerToAll,
}

impl Direction {
    fn label(self) -> &'static str {
        match self {
            Direction::PlayerToController => "player -> controller",
            Direction::ControllerToPlayer => "controller -> player",
            Direction::ControllerToTargets => "controller -> targeted players",
            Direction::ControllerToAll => "controller -> all",
        }
    }
}

/// Which message a row describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Player(PlayerTopic),
    Alert,
    ControllerPresence,
}

/// One message type of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageSpec {
    pub kind: Kind,
    /// The topic, with `{player}`, `{scope}` and `{alert}` standing for their levels.
    pub topic: &'static str,
    pub direction: Direction,
    /// QoS of every publish (0 or 1; the contract has no QoS 2).
    pub qos: u8,
    pub retained: bool,
    /// The sender reads it too (a player's own presence: it notices a stale Last Will).
    pub sender_reads: bool,
    /// The sender may delete its retained message with an empty one; nobody else may.
    pub sender_clears: bool,
    /// The payload is a signed envelope; receivers verify the controller's Ed25519 signature
    /// before parsing what is inside.
    pub signed: bool,
    pub payload: &'static str,
    /// What a receiver checks beyond the size limit and the JSON shape.
    pub validation: &'static str,
}

const fn player(
    kind: PlayerTopic,
    topic: &'static str,
    direction: Direction,
    qos: u8,
    retained: bool,
    payload: &'static str,
    validation: &'static str,
) -> MessageSpec {
    MessageSpec {
        kind: Kind::Player(kind),
        topic,
        direction,
        qos,
        retained,
        sender_reads: false,
        sender_clears: false,
        signed: false,
        payload,
        validation,
    }
}

use Direction::{ControllerToAll, ControllerToPlayer, ControllerToTargets, PlayerToController};

/// The whole contract. Topic levels after `{player}` are unique; order is the order of the
/// documentation.
pub const CONTRACT: [MessageSpec; 16] = [
    MessageSpec {
        sender_reads: true,
        ..player(
            PlayerTopic::Presence,
            "signage/v1/players/{player}/presence",
            PlayerToController,
            1,
            true,
            "Presence",
            "Last Will = offline; an offline of an older session is ignored",
        )
    },
    player(
        PlayerTopic::Hello,
        "signage/v1/players/{player}/hello",
        PlayerToController,
        1,
        true,
        "Hello",
        "`id` equals the topic's player",
    ),
    MessageSpec {
        signed: true,
        ..player(
            PlayerTopic::Config,
            "signage/v1/players/{player}/config",
            ControllerToPlayer,
            1,
            true,
            "signed DesiredConfig",
            "signature; `id` equals the topic's player; revision only moves forward",
        )
    },
    player(
        PlayerTopic::Ack,
        "signage/v1/players/{player}/ack",
        PlayerToController,
        1,
        true,
        "Ack",
        "subject `config` or `manifest`",
    ),
    MessageSpec {
        signed: true,
        ..player(
            PlayerTopic::Manifest,
            "signage/v1/players/{player}/manifest",
            ControllerToPlayer,
            1,
            true,
            "signed ManifestRef",
            "signature; `id` equals the topic's player; revision only moves forward; URL on the pinned controller origin",
        )
    },
    player(
        PlayerTopic::Now,
        "signage/v1/players/{player}/now",
        PlayerToController,
        1,
        true,
        "NowShowing",
        "",
    ),
    player(
        PlayerTopic::Plays,
        "signage/v1/players/{player}/plays",
        PlayerToController,
        1,
        false,
        "PlayBatch",
        "at most 100 records",
    ),
    player(
        PlayerTopic::PlaysAck,
        "signage/v1/players/{player}/plays_ack",
        ControllerToPlayer,
        1,
        false,
        "PlayBatchAck",
        "",
    ),
    player(
        PlayerTopic::Health,
        "signage/v1/players/{player}/health",
        PlayerToController,
        1,
        true,
        "PlayerHealth",
        "at most 10 events",
    ),
    MessageSpec {
        signed: true,
        ..player(
            PlayerTopic::ScreenshotRequest,
            "signage/v1/players/{player}/screenshot_request",
            ControllerToPlayer,
            1,
            false,
            "signed ScreenshotRequest",
            "signature; `id` equals the topic's player; request id `a-z 0-9 - _`, width 1-7680",
        )
    },
    player(
        PlayerTopic::Counts,
        "signage/v1/players/{player}/counts",
        PlayerToController,
        1,
        false,
        "CountsBatch",
        "at most 10 records, 8 counters, 10 dwell buckets each",
    ),
    player(
        PlayerTopic::CountsAck,
        "signage/v1/players/{player}/counts_ack",
        ControllerToPlayer,
        1,
        false,
        "CountsAck",
        "at most 10 sequence numbers; conflicts need next_seq",
    ),
    MessageSpec {
        sender_clears: true,
        ..player(
            PlayerTopic::AlertAck,
            "signage/v1/players/{player}/alert_ack",
            PlayerToController,
            0,
            false,
            "AlertAck",
            "alert id is one topic level; the player clears any retained one once per connection",
        )
    },
    player(
        PlayerTopic::AlertReady,
        "signage/v1/players/{player}/alert_ready",
        PlayerToController,
        1,
        true,
        "AlertReady",
        "",
    ),
    MessageSpec {
        kind: Kind::Alert,
        topic: "signage/v1/alerts/{scope}/{alert}",
        direction: ControllerToTargets,
        qos: 1,
        retained: true,
        sender_reads: false,
        sender_clears: true,
        signed: true,
        payload: "signed alert Broadcast",
        validation: "signature before parsing; scope `all`, `ward/{ward}`, `group/{group}` or `player/{player}`",
    },
    MessageSpec {
        kind: Kind::ControllerPresence,
        topic: "signage/v1/controller/presence",
        direction: ControllerToAll,
        qos: 1,
        retained: true,
        sender_reads: false,
        sender_clears: false,
        signed: false,
        payload: "Presence",
        validation: "Last Will = offline",
    },
];

/// The row of a message kind. Every kind has exactly one (a unit test checks it).
pub fn spec(kind: Kind) -> &'static MessageSpec {
    CONTRACT
        .iter()
        .find(|s| s.kind == kind)
        .expect("every message kind has a row in CONTRACT")
}

impl PlayerTopic {
    pub fn spec(self) -> &'static MessageSpec {
        spec(Kind::Player(self))
    }

    /// The last topic level, as written in the table.
    pub fn level(self) -> &'static str {
        let topic = self.spec().topic;
        &topic[topic.rfind('/').map_or(0, |i| i + 1)..]
    }
}

impl Topic {
    pub fn spec(&self) -> &'static MessageSpec {
        match self {
            Topic::Player(_, kind) => kind.spec(),
            Topic::Alert(..) => spec(Kind::Alert),
            Topic::ControllerPresence => spec(Kind::ControllerPresence),
        }
    }

    pub fn qos(&self) -> u8 {
        self.spec().qos
    }

    pub fn retained(&self) -> bool {
        self.spec().retained
    }
}

/// The per-player topics a direction covers, in table order.
pub fn player_topics(direction: Direction) -> impl Iterator<Item = PlayerTopic> {
    CONTRACT.iter().filter_map(move |s| match s.kind {
        Kind::Player(kind) if s.direction == direction => Some(kind),
        _ => None,
    })
}

/// The filters the controller subscribes to: every player -> controller topic.
pub fn controller_subscriptions() -> Vec<String> {
    player_topics(PlayerToController)
        .map(|kind| format!("{ROOT}/players/+/{}", kind.level()))
        .collect()
}

/// The per-player topics a player reads: what the controller sends it, and what it sends and
/// reads back (its presence). Alert filters come from [`super::alert_subscriptions`].
pub fn player_reads() -> impl Iterator<Item = PlayerTopic> {
    CONTRACT.iter().filter_map(|s| match s.kind {
        Kind::Player(kind) if s.direction == ControllerToPlayer || s.sender_reads => Some(kind),
        _ => None,
    })
}

/// Who is connected, as the broker knows from the login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client<'a> {
    Controller,
    Player(&'a PlayerId),
}

/// Why the broker refuses a publish or a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NotInContract,
    WrongSender,
    WrongRetain { retained: bool },
    Delete,
    QoS(u8),
    Wildcard,
    NotAReader,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotInContract => write!(f, "the topic is not part of the signage/v1 contract"),
            Refusal::WrongSender => write!(f, "this client may not publish on the topic"),
            Refusal::WrongRetain { retained: true } => {
                write!(
                    f,
                    "the topic is not retained; a retained publish is refused"
                )
            }
            Refusal::WrongRetain { retained: false } => {
                write!(f, "the topic is retained; publish it retained")
            }
            Refusal::Delete => write!(
                f,
                "only the sender of a retained topic may delete it (empty retained message)"
            ),
            Refusal::QoS(q) => write!(f, "QoS {q} is not used by the contract"),
            Refusal::Wildcard => write!(f, "wildcard subscriptions beyond the contract's own"),
            Refusal::NotAReader => write!(f, "this client may not read the topic"),
        }
    }
}

fn may_send(client: Client<'_>, topic: &Topic, spec: &MessageSpec) -> bool {
    match (spec.direction, client, topic) {
        (PlayerToController, Client::Player(me), Topic::Player(id, _)) => me == id,
        (ControllerToPlayer | ControllerToTargets | ControllerToAll, Client::Controller, _) => true,
        _ => false,
    }
}

/// Whether `client` may publish on `topic` with these flags. An empty retained payload deletes
/// the retained message: only the sender of a topic whose row allows it may do that.
pub fn may_publish(
    client: Client<'_>,
    topic: &str,
    qos: u8,
    retain: bool,
    payload_len: usize,
) -> Result<(), Refusal> {
    let parsed = Topic::parse(topic).map_err(|_| Refusal::NotInContract)?;
    if let Topic::Alert(scope, id) = &parsed
        && !(scope_levels_valid(scope) && is_topic_level(&id.0))
    {
        return Err(Refusal::NotInContract);
    }
    let spec = parsed.spec();
    if !may_send(client, &parsed, spec) {
        return Err(Refusal::WrongSender);
    }
    if qos > 1 {
        return Err(Refusal::QoS(qos));
    }
    if retain && payload_len == 0 {
        return if spec.sender_clears {
            Ok(())
        } else {
            Err(Refusal::Delete)
        };
    }
    if retain != spec.retained {
        return Err(Refusal::WrongRetain { retained: retain });
    }
    Ok(())
}

/// A player's Last Will: its own presence, retained, as the table says.
pub fn may_will(client: Client<'_>, topic: &str, qos: u8, retain: bool) -> Result<(), Refusal> {
    let parsed = Topic::parse(topic).map_err(|_| Refusal::NotInContract)?;
    let own_presence = match (client, &parsed) {
        (Client::Player(me), Topic::Player(id, PlayerTopic::Presence)) => me == id,
        (Client::Controller, Topic::ControllerPresence) => true,
        _ => false,
    };
    if !own_presence {
        return Err(Refusal::WrongSender);
    }
    may_publish(client, topic, qos, retain, 1)
}

fn scope_levels_valid(scope: &AlertScope) -> bool {
    match scope {
        AlertScope::All | AlertScope::Player(_) => true,
        AlertScope::Ward(w) => is_topic_level(&w.0),
        AlertScope::Group(g) => is_topic_level(&g.0),
    }
}

/// Whether `client` may subscribe to `filter`. Players read only their own controller ->
/// player topics, their own presence, the controller's presence, and the alert filters
/// (`{ROOT}/alerts/{scope}/+`) of scopes for which `targets` says yes (all, their ward, their
/// groups, themselves). The controller reads the player -> controller topics of every player.
pub fn may_subscribe(
    client: Client<'_>,
    filter: &str,
    targets: impl Fn(&AlertScope) -> bool,
) -> Result<(), Refusal> {
    if filter.starts_with(&format!("{ROOT}/alerts/")) {
        // Every alert of a scope (`.../+`) or one alert: the scope must be concrete, and one of
        // the client's.
        let probe = match filter.strip_suffix("/+") {
            Some(prefix) => format!("{prefix}/x"),
            None => filter.to_string(),
        };
        let Ok(Topic::Alert(scope, id)) = Topic::parse(&probe) else {
            return Err(Refusal::NotInContract);
        };
        if !is_topic_level(&id.0) {
            return Err(Refusal::Wildcard);
        }
        if !scope_levels_valid(&scope) {
            return Err(Refusal::Wildcard);
        }
        return match client {
            Client::Player(me) if scope == AlertScope::Player(me.clone()) || targets(&scope) => {
                Ok(())
            }
            _ => Err(Refusal::NotAReader),
        };
    }
    if let Client::Controller = client {
        let expected = controller_subscriptions();
        return if expected.iter().any(|f| f == filter) {
            Ok(())
        } else if filter.contains(['+', '#']) {
            Err(Refusal::Wildcard)
        } else {
            Err(Refusal::NotAReader)
        };
    }
    if filter.contains(['+', '#']) {
        return Err(Refusal::Wildcard);
    }
    let parsed = Topic::parse(filter).map_err(|_| Refusal::NotInContract)?;
    let spec = parsed.spec();
    let reads = match (client, &parsed) {
        (Client::Player(me), Topic::Player(id, _)) => {
            me == id && (spec.direction == ControllerToPlayer || spec.sender_reads)
        }
        (_, Topic::ControllerPresence) => true,
        _ => false,
    };
    if reads {
        Ok(())
    } else {
        Err(Refusal::NotAReader)
    }
}

/// The Mosquitto ACL the table implies (`deploy/mosquitto/acl`). Mosquitto cannot know a
/// player's ward and groups from its login, so there players may read every ward's and
/// group's alert topics (alerts are signed public information; the embedded broker is
/// stricter). Mosquitto cannot check retain flags either; what a player may write there is
/// only its own topics.
pub fn mosquitto_acl() -> String {
    let mut out = String::from(
        "# Mosquitto ACL for the signage network (external-broker mode).\n\
         # Generated from content::protocol::contract::CONTRACT; do not edit by hand: a test\n\
         # fails when this file differs (UPDATE_CONTRACT_FILES=1 cargo test -p content\n\
         # rewrites it). Each player logs in with its id as username (see `signage-controller\n\
         # player add`) and may touch only its own topics. The end-to-end tests run Mosquitto\n\
         # with this very file.\n\nuser controller\n",
    );
    let pattern = |s: &MessageSpec, player: &str| s.topic.replace("{player}", player);
    for s in &CONTRACT {
        let line = match s.direction {
            PlayerToController => format!("topic read {}\n", pattern(s, "+")),
            ControllerToPlayer => format!("topic write {}\n", pattern(s, "+")),
            ControllerToTargets => format!("topic write {ROOT}/alerts/#\n"),
            ControllerToAll => format!("topic write {}\n", s.topic),
        };
        out.push_str(&line);
    }
    out.push_str("\n# Every account, players included (%u is the login name):\n");
    for s in &CONTRACT {
        match s.direction {
            PlayerToController => {
                out.push_str(&format!("pattern write {}\n", pattern(s, "%u")));
                if s.sender_reads {
                    out.push_str(&format!("pattern read {}\n", pattern(s, "%u")));
                }
            }
            ControllerToPlayer => out.push_str(&format!("pattern read {}\n", pattern(s, "%u"))),
            ControllerToTargets => {
                for scope in ["all", "player/%u", "ward/+", "group/+"] {
                    out.push_str(&format!("pattern read {ROOT}/alerts/{scope}/+\n"));
                }
            }
            ControllerToAll => out.push_str(&format!("pattern read {}\n", s.topic)),
        }
    }
    out
}

/// The topic table of `docs/protocol.md`.
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| topic | from -> to | QoS | retained | signed | payload | checked |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for s in &CONTRACT {
        let yes = |b: bool| if b { "yes" } else { "no" };
        let mut retained = yes(s.retained).to_string();
        if s.sender_clears {
            retained.push_str("; the sender may clear it");
        }
        let mut direction = s.direction.label().to_string();
        if s.sender_reads {
            direction.push_str(" (and itself)");
        }
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} |\n",
            s.topic,
            direction,
            s.qos,
            retained,
            yes(s.signed),
            s.payload,
            s.validation
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{GroupId, WardId};

    fn id(s: &str) -> PlayerId {
        s.parse().unwrap()
    }

    /// p1 is in ward kita and group lobby.
    fn p1_targets(scope: &AlertScope) -> bool {
        matches!(scope, AlertScope::All)
            || *scope == AlertScope::Ward(WardId::from("kita"))
            || *scope == AlertScope::Group(GroupId::from("lobby"))
    }

    #[test]
    fn every_kind_has_one_row_and_levels_are_unique() {
        let kinds: Vec<Kind> = PlayerTopic::ALL
            .into_iter()
            .map(Kind::Player)
            .chain([Kind::Alert, Kind::ControllerPresence])
            .collect();
        assert_eq!(kinds.len(), CONTRACT.len());
        for kind in kinds {
            assert_eq!(CONTRACT.iter().filter(|s| s.kind == kind).count(), 1);
        }
        let mut levels: Vec<_> = PlayerTopic::ALL.iter().map(|k| k.level()).collect();
        levels.sort();
        levels.dedup();
        assert_eq!(levels.len(), PlayerTopic::ALL.len());
        for s in &CONTRACT {
            assert!(s.qos <= 1, "{}", s.topic);
            assert!(s.topic.starts_with(ROOT), "{}", s.topic);
        }
    }

    #[test]
    fn a_player_publishes_only_its_own_player_to_controller_topics() {
        let me = id("p1");
        for kind in PlayerTopic::ALL {
            let spec = kind.spec();
            let qos = spec.qos;
            let own = Topic::player(&me, kind).to_string();
            let other = Topic::player(&id("p2"), kind).to_string();
            let mine = may_publish(Client::Player(&me), &own, qos, spec.retained, 10);
            assert_eq!(
                mine.is_ok(),
                spec.direction == Direction::PlayerToController,
                "{own}: {mine:?}"
            );
            assert_eq!(
                may_publish(Client::Player(&me), &other, qos, spec.retained, 10),
                Err(Refusal::WrongSender),
                "{other}"
            );
            // The controller sends exactly the other direction.
            let theirs = may_publish(Client::Controller, &other, qos, spec.retained, 10);
            assert_eq!(
                theirs.is_ok(),
                spec.direction == Direction::ControllerToPlayer,
                "{other}"
            );
        }
    }

    #[test]
    fn retain_flags_deletions_and_qos_follow_the_table() {
        let me = id("p1");
        let c = Client::Player(&me);
        let plays = "signage/v1/players/p1/plays";
        assert_eq!(
            may_publish(c, plays, 1, true, 10),
            Err(Refusal::WrongRetain { retained: true })
        );
        assert_eq!(
            may_publish(c, "signage/v1/players/p1/hello", 1, false, 10),
            Err(Refusal::WrongRetain { retained: false })
        );
        assert_eq!(
            may_publish(c, "signage/v1/players/p1/hello", 1, true, 0),
            Err(Refusal::Delete)
        );
        assert_eq!(
            may_publish(c, "signage/v1/players/p1/alert_ack", 0, true, 0),
            Ok(())
        );
        assert_eq!(
            may_publish(c, "signage/v1/players/p1/now", 2, true, 10),
            Err(Refusal::QoS(2))
        );
        for alert in [
            "signage/v1/alerts/all/a1",
            "signage/v1/alerts/ward/kita/a1",
            "signage/v1/alerts/player/p1/a1",
        ] {
            assert_eq!(may_publish(c, alert, 1, true, 0), Err(Refusal::WrongSender));
            assert_eq!(
                may_publish(c, alert, 1, true, 100),
                Err(Refusal::WrongSender)
            );
            assert_eq!(may_publish(Client::Controller, alert, 1, true, 0), Ok(()));
            assert_eq!(may_publish(Client::Controller, alert, 1, true, 100), Ok(()));
        }
        for junk in [
            "signage/v1/anything",
            "signage/v2/players/p1/hello",
            "other",
            "signage/v1/alerts/ward/+/a1",
        ] {
            assert_eq!(
                may_publish(Client::Controller, junk, 1, true, 1),
                Err(Refusal::NotInContract),
                "{junk}"
            );
        }
        assert_eq!(
            may_publish(c, "signage/v1/controller/presence", 1, true, 10),
            Err(Refusal::WrongSender)
        );
    }

    #[test]
    fn wills_are_the_clients_own_presence() {
        let me = id("p1");
        let c = Client::Player(&me);
        assert_eq!(
            may_will(c, "signage/v1/players/p1/presence", 1, true),
            Ok(())
        );
        assert!(may_will(c, "signage/v1/players/p2/presence", 1, true).is_err());
        assert!(may_will(c, "signage/v1/players/p1/presence", 1, false).is_err());
        assert!(may_will(c, "signage/v1/players/p1/hello", 1, true).is_err());
        assert!(may_will(c, "signage/v1/alerts/all/x", 1, true).is_err());
        assert_eq!(
            may_will(
                Client::Controller,
                "signage/v1/controller/presence",
                1,
                true
            ),
            Ok(())
        );
    }

    #[test]
    fn a_player_reads_its_own_topics_and_its_targets_alerts_only() {
        let me = id("p1");
        let c = Client::Player(&me);
        for kind in player_reads() {
            let own = Topic::player(&me, kind).to_string();
            assert_eq!(may_subscribe(c, &own, p1_targets), Ok(()), "{own}");
            let other = Topic::player(&id("p2"), kind).to_string();
            assert_eq!(
                may_subscribe(c, &other, p1_targets),
                Err(Refusal::NotAReader),
                "{other}"
            );
        }
        for kind in player_topics(Direction::PlayerToController).filter(|k| !k.spec().sender_reads)
        {
            let own = Topic::player(&me, kind).to_string();
            assert_eq!(may_subscribe(c, &own, p1_targets), Err(Refusal::NotAReader));
        }
        for ok in [
            "signage/v1/alerts/all/+",
            "signage/v1/alerts/ward/kita/quake-1",
            "signage/v1/alerts/ward/kita/+",
            "signage/v1/alerts/group/lobby/+",
            "signage/v1/alerts/player/p1/+",
            "signage/v1/controller/presence",
        ] {
            assert_eq!(may_subscribe(c, ok, p1_targets), Ok(()), "{ok}");
        }
        for refused in [
            "#",
            "signage/#",
            "signage/v1/#",
            "signage/v1/players/+/config",
            "signage/v1/players/p1/#",
            "signage/v1/alerts/#",
            "signage/v1/alerts/+/+",
            "signage/v1/alerts/ward/+/+",
            "signage/v1/alerts/ward/naka/+",
            "signage/v1/alerts/group/other/+",
            "signage/v1/alerts/player/p2/+",
            "signage/v1/alerts/ward/naka/quake-1",
            "signage/v1/alerts/ward/kita/#",
            "$SYS/#",
        ] {
            assert!(may_subscribe(c, refused, p1_targets).is_err(), "{refused}");
        }
        // The controller reads what players send, and nothing else.
        for filter in controller_subscriptions() {
            assert_eq!(
                may_subscribe(Client::Controller, &filter, |_| false),
                Ok(())
            );
        }
        assert!(may_subscribe(Client::Controller, "#", |_| false).is_err());
    }

    /// `UPDATE_CONTRACT_FILES=1` rewrites a drifted file instead of failing.
    fn check_generated(path: &str, expected: &str, begin: Option<&str>, end: Option<&str>) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        let text = std::fs::read_to_string(&path).unwrap();
        let (head, tail) = match (begin, end) {
            (Some(b), Some(e)) => {
                let start = text.find(b).expect("begin marker") + b.len() + 1;
                let stop = text.find(e).expect("end marker");
                (text[..start].to_string(), text[stop..].to_string())
            }
            _ => (String::new(), String::new()),
        };
        let current = &text[head.len()..text.len() - tail.len()];
        if current != expected {
            if std::env::var_os("UPDATE_CONTRACT_FILES").is_some() {
                std::fs::write(&path, format!("{head}{expected}{tail}")).unwrap();
            } else {
                panic!(
                    "{} drifted from content::protocol::contract::CONTRACT; \
                     run UPDATE_CONTRACT_FILES=1 cargo test -p content contract. Expected:\n{expected}",
                    path.display()
                );
            }
        }
    }

    #[test]
    fn the_mosquitto_acl_is_derived_from_the_table() {
        check_generated("../deploy/mosquitto/acl", &mosquitto_acl(), None, None);
    }

    #[test]
    fn the_documented_topic_table_is_derived_from_the_table() {
        check_generated(
            "../docs/protocol.md",
            &markdown_table(),
            Some("<!-- contract:begin -->"),
            Some("<!-- contract:end -->"),
        );
    }
}

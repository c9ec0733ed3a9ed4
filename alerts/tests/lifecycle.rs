//! Every lifecycle transition, applied and refused, as table cases.

use alerts::lifecycle::*;
use alerts::message::{AlertMessage, Broadcast, ClearReason};
use alerts::model::{Alert, MsgType, Status};
use alerts::templates::{self, Placeholders, TemplateKind, WarningLevel};
use chrono::{DateTime, Duration, FixedOffset, TimeZone, Utc};
use content::ids::AlertId;
use content::schedule::Target;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 4, 1, 1, 0, 0).unwrap()
}

fn message(id: &str, status: Status, cap_id: &str) -> AlertMessage {
    let jst = FixedOffset::east_opt(9 * 3600).unwrap();
    let sent = t0().with_timezone(&jst);
    let kind = TemplateKind::EvacuationOrder;
    let values = Placeholders {
        area: "北区".into(),
        shelter: Some("扇町公園".into()),
        ..Default::default()
    };
    AlertMessage {
        id: AlertId::from(id),
        revision: 0,
        targets: vec![Target::All],
        level: kind.level(),
        issued_at: t0(),
        cap: Alert::new(
            cap_id.into(),
            "bousai@city.osaka.example".into(),
            sent,
            status,
            templates::cap_infos(kind, &values, status, Some(sent + Duration::hours(2))).unwrap(),
        ),
        valid_until: None,
    }
}

fn disaster(name: &str) -> Actor {
    Actor::new(name, Role::Disaster)
}

fn id(s: &str) -> AlertId {
    AlertId::from(s)
}

/// Cancels `a1`; its tombstone.
fn cancel_a1(lc: &mut AlertLifecycle, at: DateTime<Utc>) -> Broadcast {
    lc.apply(&disaster("alice"), Command::Cancel { id: id("a1") }, at)
        .unwrap()
        .broadcast
        .unwrap()
}

/// A lifecycle holding alert `a1` (Actual) in `phase`, reached by the normal path.
fn at_phase(phase: Phase, status: Status) -> AlertLifecycle {
    let mut lc = AlertLifecycle::new(ConfirmationPolicy::TwoPerson);
    let now = t0();
    let alice = disaster("alice");
    let bob = Actor::new("bob", Role::Admin);
    let submit = Command::Submit {
        id: id("a1"),
        typed_confirmation: None,
    };
    lc.apply(
        &alice,
        Command::Draft {
            message: Box::new(message("a1", status, "cap-1")),
        },
        now,
    )
    .unwrap();
    let steps: Vec<(Actor, Command)> = match phase {
        Phase::Draft => vec![],
        Phase::PendingConfirmation => vec![(alice.clone(), submit)],
        Phase::Issued => vec![
            (alice.clone(), submit),
            (bob.clone(), Command::Confirm { id: id("a1") }),
        ],
        Phase::Updated => vec![
            (alice.clone(), submit),
            (bob.clone(), Command::Confirm { id: id("a1") }),
            (
                alice.clone(),
                Command::Update {
                    message: Box::new(message("a1", status, "cap-2")),
                    typed_confirmation: None,
                },
            ),
            // An Actual alert's update waits for a second person.
            (bob.clone(), Command::Confirm { id: id("a1") }),
        ],
        Phase::Cancelled => vec![
            (alice.clone(), submit),
            (bob.clone(), Command::Confirm { id: id("a1") }),
            (alice.clone(), Command::Cancel { id: id("a1") }),
        ],
        Phase::AllClear => vec![
            (alice.clone(), submit),
            (bob.clone(), Command::Confirm { id: id("a1") }),
            (alice.clone(), Command::AllClear { id: id("a1") }),
        ],
        Phase::Expired => {
            lc.apply(&alice, submit, now).unwrap();
            lc.apply(&bob, Command::Confirm { id: id("a1") }, now)
                .unwrap();
            lc.expire(now + Duration::hours(3));
            vec![]
        }
    };
    for (actor, command) in steps {
        lc.apply(&actor, command, now).unwrap();
    }
    assert_eq!(lc.get(&id("a1")).unwrap().phase, phase);
    lc
}

/// What a case expects: the resulting phase and broadcast kind, or the refusal.
#[derive(Debug)]
enum Expect {
    To(Phase, Option<&'static str>),
    Refused(&'static str),
}

#[test]
fn transition_table() {
    use Expect::*;
    use Phase::*;
    let carol = disaster("carol");
    let alice = disaster("alice");
    let viewer = Actor::new("vera", Role::Viewer);
    let pr = Actor::new("pat", Role::Pr);
    let submit = |typed: Option<&str>| Command::Submit {
        id: id("a1"),
        typed_confirmation: typed.map(str::to_owned),
    };
    let confirm = Command::Confirm { id: id("a1") };
    let cancel = Command::Cancel { id: id("a1") };
    let all_clear = Command::AllClear { id: id("a1") };
    let reject = Command::Reject {
        id: id("a1"),
        reason: "wrong ward".into(),
    };
    let update = |cap_id: &str| Command::Update {
        message: Box::new(message("a1", Status::Actual, cap_id)),
        typed_confirmation: None,
    };

    let cases: Vec<(&str, Phase, Actor, Command, Expect)> = vec![
        (
            "submit actual waits for a second person",
            Draft,
            alice.clone(),
            submit(None),
            To(PendingConfirmation, None),
        ),
        (
            "another account confirms",
            PendingConfirmation,
            carol.clone(),
            confirm.clone(),
            To(Issued, Some("show")),
        ),
        (
            "admin confirms",
            PendingConfirmation,
            Actor::new("root", Role::Admin),
            confirm.clone(),
            To(Issued, Some("show")),
        ),
        (
            "submitter cannot confirm",
            PendingConfirmation,
            alice.clone(),
            confirm.clone(),
            Refused("SamePerson"),
        ),
        (
            "viewer cannot confirm",
            PendingConfirmation,
            viewer.clone(),
            confirm.clone(),
            Refused("Forbidden"),
        ),
        (
            "pr cannot confirm",
            PendingConfirmation,
            pr.clone(),
            confirm.clone(),
            Refused("Forbidden"),
        ),
        (
            "viewer cannot submit",
            Draft,
            viewer.clone(),
            submit(None),
            Refused("Forbidden"),
        ),
        (
            "confirm needs pending",
            Draft,
            carol.clone(),
            confirm.clone(),
            Refused("WrongPhase"),
        ),
        (
            "confirm twice",
            Issued,
            carol.clone(),
            confirm.clone(),
            Refused("WrongPhase"),
        ),
        (
            "reject goes back to draft",
            PendingConfirmation,
            carol.clone(),
            reject.clone(),
            To(Draft, None),
        ),
        (
            "reject needs pending",
            Issued,
            carol.clone(),
            reject.clone(),
            Refused("WrongPhase"),
        ),
        (
            "submit twice",
            PendingConfirmation,
            alice.clone(),
            submit(None),
            Refused("WrongPhase"),
        ),
        (
            "update live alert waits for a second person",
            Issued,
            alice.clone(),
            update("cap-9"),
            To(Issued, None),
        ),
        (
            "update again waits too",
            Updated,
            carol.clone(),
            update("cap-9"),
            To(Updated, None),
        ),
        (
            "update reusing cap identifier",
            Issued,
            alice.clone(),
            update("cap-1"),
            Refused("IdentifierReused"),
        ),
        (
            "update of draft",
            Draft,
            alice.clone(),
            update("cap-9"),
            Refused("WrongPhase"),
        ),
        (
            "update of pending",
            PendingConfirmation,
            alice.clone(),
            update("cap-9"),
            Refused("WrongPhase"),
        ),
        (
            "update of cancelled",
            Cancelled,
            alice.clone(),
            update("cap-9"),
            Refused("WrongPhase"),
        ),
        (
            "update of expired",
            Expired,
            alice.clone(),
            update("cap-9"),
            Refused("WrongPhase"),
        ),
        (
            "update by viewer",
            Issued,
            viewer.clone(),
            update("cap-9"),
            Refused("Forbidden"),
        ),
        (
            "update turning live into drill",
            Issued,
            alice.clone(),
            Command::Update {
                message: Box::new(message("a1", Status::Exercise, "cap-9")),
                typed_confirmation: None,
            },
            Refused("StatusChange"),
        ),
        (
            "cancel live alert, one step",
            Issued,
            alice.clone(),
            cancel.clone(),
            To(Cancelled, Some("clear:cancelled")),
        ),
        (
            "cancel updated alert",
            Updated,
            carol.clone(),
            cancel.clone(),
            To(Cancelled, Some("clear:cancelled")),
        ),
        (
            "cancel draft: never shown",
            Draft,
            alice.clone(),
            cancel.clone(),
            To(Cancelled, None),
        ),
        (
            "cancel pending: never shown",
            PendingConfirmation,
            carol.clone(),
            cancel.clone(),
            To(Cancelled, None),
        ),
        (
            "cancel twice",
            Cancelled,
            alice.clone(),
            cancel.clone(),
            Refused("WrongPhase"),
        ),
        (
            "cancel expired",
            Expired,
            alice.clone(),
            cancel.clone(),
            Refused("WrongPhase"),
        ),
        (
            "cancel by pr",
            Issued,
            pr.clone(),
            cancel.clone(),
            Refused("Forbidden"),
        ),
        (
            "cancel of unknown",
            Issued,
            alice.clone(),
            Command::Cancel { id: id("nope") },
            Refused("UnknownAlert"),
        ),
        (
            "confirm of unknown",
            PendingConfirmation,
            carol.clone(),
            Command::Confirm { id: id("nope") },
            Refused("UnknownAlert"),
        ),
        (
            "all-clear live alert",
            Issued,
            alice.clone(),
            all_clear.clone(),
            To(AllClear, Some("clear:all_clear")),
        ),
        (
            "all-clear updated alert",
            Updated,
            alice.clone(),
            all_clear.clone(),
            To(AllClear, Some("clear:all_clear")),
        ),
        (
            "all-clear of draft",
            Draft,
            alice.clone(),
            all_clear.clone(),
            Refused("WrongPhase"),
        ),
        (
            "all-clear after cancel",
            Cancelled,
            alice.clone(),
            all_clear.clone(),
            Refused("WrongPhase"),
        ),
        (
            "draft with an existing id",
            Draft,
            alice.clone(),
            Command::Draft {
                message: Box::new(message("a1", Status::Actual, "cap-x")),
            },
            Refused("DuplicateId"),
        ),
    ];

    for (name, phase, actor, command, expect) in cases {
        let mut lc = at_phase(phase, Status::Actual);
        let audit_before = lc.audit().len();
        let record_before = lc.get(&id("a1")).cloned();
        let result = lc.apply(&actor, command, t0() + Duration::minutes(1));
        assert_eq!(
            lc.audit().len(),
            audit_before + 1,
            "{name}: one audit event per command"
        );
        let event = lc.audit().last().unwrap();
        assert_eq!(event.actor, actor.account, "{name}");
        assert_eq!(event.at, t0() + Duration::minutes(1), "{name}");
        match (expect, result) {
            (To(to, broadcast), Ok(t)) => {
                assert_eq!(t.phase, to, "{name}");
                assert_eq!(lc.get(&id("a1")).unwrap().phase, to, "{name}");
                let kind = t.broadcast.as_ref().map(|b| match b {
                    Broadcast::Show(_) => "show",
                    Broadcast::Clear {
                        reason: ClearReason::Cancelled,
                        ..
                    } => "clear:cancelled",
                    Broadcast::Clear {
                        reason: ClearReason::AllClear,
                        ..
                    } => "clear:all_clear",
                    Broadcast::Clear {
                        reason: ClearReason::Expired,
                        ..
                    } => "clear:expired",
                });
                assert_eq!(kind, broadcast, "{name}");
                assert!(
                    matches!(event.outcome, Outcome::Applied { to: p, .. } if p == to),
                    "{name}"
                );
            }
            (Refused(variant), Err(e)) => {
                assert!(
                    format!("{e:?}").starts_with(variant),
                    "{name}: expected {variant}, got {e:?}"
                );
                assert!(
                    matches!(&event.outcome, Outcome::Refused { reason } if *reason == e.to_string()),
                    "{name}"
                );
                assert_eq!(
                    lc.get(&id("a1")).cloned(),
                    record_before,
                    "{name}: a refusal changes nothing"
                );
            }
            (expect, result) => panic!("{name}: expected {expect:?}, got {result:?}"),
        }
    }
}

#[test]
fn drills_are_issued_by_one_person_and_marked() {
    for status in [Status::Exercise, Status::Test] {
        let mut lc = AlertLifecycle::new(ConfirmationPolicy::TwoPerson);
        let alice = disaster("alice");
        lc.apply(
            &alice,
            Command::Draft {
                message: Box::new(message("d1", status, "c1")),
            },
            t0(),
        )
        .unwrap();
        let t = lc
            .apply(
                &alice,
                Command::Submit {
                    id: id("d1"),
                    typed_confirmation: None,
                },
                t0(),
            )
            .unwrap();
        assert_eq!(t.phase, Phase::Issued);
        let Some(Broadcast::Show(shown)) = t.broadcast else {
            panic!("no show")
        };
        assert!(shown.is_drill());
        for info in &shown.cap.infos {
            let banner = templates::drill_banner(status, &info.language).unwrap();
            assert!(
                info.headline.as_deref().unwrap().starts_with(banner),
                "{}",
                info.language
            );
        }
        assert!(lc.audit().iter().all(|e| e.drill));
        // And can never be turned into a live alert.
        let err = lc
            .apply(
                &alice,
                Command::Update {
                    message: Box::new(message("d1", Status::Actual, "c2")),
                    typed_confirmation: None,
                },
                t0(),
            )
            .unwrap_err();
        assert!(matches!(err, LifecycleError::StatusChange { .. }));
    }
}

#[test]
fn cap_draft_and_system_are_never_shown() {
    for status in [Status::Draft, Status::System] {
        let mut lc = AlertLifecycle::new(ConfirmationPolicy::TwoPerson);
        let alice = disaster("alice");
        lc.apply(
            &alice,
            Command::Draft {
                message: Box::new(message("x", status, "c1")),
            },
            t0(),
        )
        .unwrap();
        let err = lc
            .apply(
                &alice,
                Command::Submit {
                    id: id("x"),
                    typed_confirmation: None,
                },
                t0(),
            )
            .unwrap_err();
        assert_eq!(err, LifecycleError::NotDisplayable(status));
    }
}

#[test]
fn single_operator_mode_needs_the_typed_phrase() {
    let policy = ConfirmationPolicy::SingleOperator {
        phrase: "本番発令".into(),
    };
    let alice = disaster("alice");
    for (typed, ok) in [
        (None, false),
        (Some("はい"), false),
        (Some("本番発令 "), true),
        (Some("本番発令"), true),
    ] {
        let mut lc = AlertLifecycle::new(policy.clone());
        lc.apply(
            &alice,
            Command::Draft {
                message: Box::new(message("a1", Status::Actual, "c1")),
            },
            t0(),
        )
        .unwrap();
        let result = lc.apply(
            &alice,
            Command::Submit {
                id: id("a1"),
                typed_confirmation: typed.map(str::to_owned),
            },
            t0(),
        );
        if ok {
            assert_eq!(result.unwrap().phase, Phase::Issued, "{typed:?}");
        } else {
            assert_eq!(
                result.unwrap_err(),
                LifecycleError::ConfirmationPhraseMismatch,
                "{typed:?}"
            );
            assert_eq!(lc.get(&id("a1")).unwrap().phase, Phase::Draft);
            assert_eq!(lc.get(&id("a1")).unwrap().submitted_by, None);
        }
    }
}

#[test]
fn update_references_every_earlier_revision() {
    let mut lc = at_phase(Phase::Updated, Status::Actual);
    let alice = disaster("alice");
    lc.apply(
        &alice,
        Command::Update {
            message: Box::new(message("a1", Status::Actual, "cap-3")),
            typed_confirmation: None,
        },
        t0(),
    )
    .unwrap();
    let t = lc
        .apply(&disaster("bob"), Command::Confirm { id: id("a1") }, t0())
        .unwrap();
    let Some(Broadcast::Show(m)) = t.broadcast else {
        panic!()
    };
    assert_eq!(m.revision, 3);
    assert_eq!(m.cap.msg_type, MsgType::Update);
    let refs: Vec<_> = m
        .cap
        .references
        .iter()
        .map(|r| r.identifier.as_str())
        .collect();
    assert_eq!(refs, ["cap-1", "cap-2"]);
    // The updated CAP message is itself valid CAP 1.2.
    let parsed = alerts::cap::parse(alerts::cap::to_xml(&m.cap).as_bytes()).unwrap();
    assert_eq!(parsed.alert, m.cap);
}

#[test]
fn expiry_ends_live_and_pending_alerts() {
    let mut lc = at_phase(Phase::Issued, Status::Actual);
    let alice = disaster("alice");
    lc.apply(
        &alice,
        Command::Draft {
            message: Box::new(message("p1", Status::Actual, "c1")),
        },
        t0(),
    )
    .unwrap();
    lc.apply(
        &alice,
        Command::Submit {
            id: id("p1"),
            typed_confirmation: None,
        },
        t0(),
    )
    .unwrap();
    assert_eq!(lc.live(t0()).len(), 1);
    assert!(
        lc.expire(t0() + Duration::minutes(119)).is_empty(),
        "not yet"
    );
    let cleared = lc.expire(t0() + Duration::hours(2));
    assert_eq!(
        cleared.len(),
        1,
        "only the live alert needs clearing on screens"
    );
    assert!(
        matches!(&cleared[0], Broadcast::Clear { id: i, reason: ClearReason::Expired, .. } if *i == id("a1"))
    );
    assert_eq!(lc.get(&id("a1")).unwrap().phase, Phase::Expired);
    assert_eq!(lc.get(&id("p1")).unwrap().phase, Phase::Expired);
    assert!(lc.live(t0() + Duration::hours(2)).is_empty());
    let system: Vec<_> = lc.audit().iter().filter(|e| e.actor == "system").collect();
    assert_eq!(system.len(), 2);
    // A late confirmation of the expired one is refused.
    let err = lc
        .apply(
            &disaster("carol"),
            Command::Confirm { id: id("p1") },
            t0() + Duration::hours(3),
        )
        .unwrap_err();
    assert!(matches!(err, LifecycleError::WrongPhase { .. }));
}

#[test]
fn confirming_after_expiry_is_refused() {
    let mut lc = at_phase(Phase::PendingConfirmation, Status::Actual);
    let err = lc
        .apply(
            &disaster("carol"),
            Command::Confirm { id: id("a1") },
            t0() + Duration::hours(5),
        )
        .unwrap_err();
    assert_eq!(err, LifecycleError::AlreadyExpired(id("a1")));
}

#[test]
fn drafts_must_be_valid_new_alerts() {
    let mut lc = AlertLifecycle::new(ConfirmationPolicy::TwoPerson);
    let alice = disaster("alice");
    let mut cancel = message("c", Status::Actual, "x");
    cancel.cap.msg_type = MsgType::Cancel;
    assert!(matches!(
        lc.apply(
            &alice,
            Command::Draft {
                message: Box::new(cancel)
            },
            t0()
        ),
        Err(LifecycleError::NotAnAlert(MsgType::Cancel))
    ));
    let bad = message("b", Status::Actual, "has space");
    assert!(matches!(
        lc.apply(
            &alice,
            Command::Draft {
                message: Box::new(bad)
            },
            t0()
        ),
        Err(LifecycleError::InvalidCap(_))
    ));
}

#[test]
fn audit_trail_is_sequential_and_complete() {
    let lc = at_phase(Phase::Cancelled, Status::Actual);
    let trail: Vec<_> = lc
        .audit()
        .iter()
        .map(|e| (e.seq, e.actor.as_str(), e.action.as_str()))
        .collect();
    assert_eq!(
        trail,
        [
            (1, "alice", "draft"),
            (2, "alice", "submit"),
            (3, "bob", "confirm"),
            (4, "alice", "cancel")
        ]
    );
    let json = serde_json::to_string(&lc.audit()[2]).unwrap();
    assert!(json.contains("\"outcome\":\"applied\""), "{json}");
}

#[test]
fn active_alert_projection_for_the_selection() {
    let lc = at_phase(Phase::Issued, Status::Actual);
    let live = lc.live(t0());
    let active = live[0].to_active_alert();
    assert_eq!(active.level, WarningLevel::new(4).unwrap().get());
    assert_eq!(active.expires_at, Some(t0() + Duration::hours(2)));
    assert_eq!(active.targets, vec![Target::All]);
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn actors() -> [Actor; 5] {
        [
            disaster("alice"),
            Actor::new("bob", Role::Admin),
            disaster("carol"),
            Actor::new("vera", Role::Viewer),
            Actor::new("pat", Role::Pr),
        ]
    }

    #[derive(Debug, Clone)]
    struct Step {
        actor: usize,
        command: u8,
        alert: u8,
        status: Status,
        minutes: i64,
    }

    fn step() -> impl Strategy<Value = Step> {
        (
            0usize..5,
            0u8..8,
            0u8..3,
            proptest::sample::select(vec![
                Status::Actual,
                Status::Actual,
                Status::Exercise,
                Status::Test,
            ]),
            0i64..40,
        )
            .prop_map(|(actor, command, alert, status, minutes)| Step {
                actor,
                command,
                alert,
                status,
                minutes,
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Whatever staff do, in any order: the audit trail only grows, one event per command,
        /// numbered without gaps; a live Actual alert always has two different people behind
        /// it; an ended alert stays ended; an alert's status never changes.
        #[test]
        fn invariants_hold_for_any_sequence(steps in proptest::collection::vec(step(), 1..40)) {
            let mut lc = AlertLifecycle::new(ConfirmationPolicy::TwoPerson);
            let actors = actors();
            let mut now = t0();
            let mut cap_counter = 0;
            let mut ended: BTreeMap<AlertId, Phase> = BTreeMap::new();
            let mut statuses: BTreeMap<AlertId, Status> = BTreeMap::new();
            for step in steps {
                now += Duration::minutes(step.minutes);
                let alert = id(&format!("a{}", step.alert));
                cap_counter += 1;
                let cap_id = format!("cap-{cap_counter}");
                let msg = || Box::new(message(alert.as_str_for_test(), step.status, &cap_id));
                let command = match step.command {
                    0 => Command::Draft { message: msg() },
                    1 => Command::Submit { id: alert.clone(), typed_confirmation: None },
                    2 | 3 => Command::Confirm { id: alert.clone() },
                    4 => Command::Update { message: msg(), typed_confirmation: None },
                    5 => Command::Cancel { id: alert.clone() },
                    6 => Command::AllClear { id: alert.clone() },
                    _ => Command::Reject { id: alert.clone(), reason: "no".into() },
                };
                let before = lc.audit().to_vec();
                let _ = lc.apply(&actors[step.actor], command, now);
                prop_assert_eq!(lc.audit().len(), before.len() + 1);
                prop_assert_eq!(&lc.audit()[..before.len()], &before[..]);
                if step.minutes > 30 {
                    let before = lc.audit().to_vec();
                    lc.expire(now);
                    prop_assert_eq!(&lc.audit()[..before.len()], &before[..]);
                }
                for (i, event) in lc.audit().iter().enumerate() {
                    prop_assert_eq!(event.seq, i as u64 + 1);
                }
                for record in lc.alerts() {
                    let rid = record.message.id.clone();
                    if record.phase.is_live() && record.message.cap.status == Status::Actual {
                        let (Some(sub), Some(conf)) = (&record.submitted_by, &record.confirmed_by) else {
                            return Err(TestCaseError::fail(format!("{rid} live without two people")));
                        };
                        prop_assert_ne!(sub, conf);
                    }
                    if let Some(phase) = ended.get(&rid) {
                        prop_assert_eq!(*phase, record.phase, "{} left an ended phase", rid);
                    } else if record.phase.is_ended() {
                        ended.insert(rid.clone(), record.phase);
                    }
                    let status = *statuses.entry(rid.clone()).or_insert(record.message.cap.status);
                    prop_assert_eq!(status, record.message.cap.status);
                }
            }
        }
    }

    trait AsStr {
        fn as_str_for_test(&self) -> &str;
    }

    impl AsStr for AlertId {
        fn as_str_for_test(&self) -> &str {
            &self.0
        }
    }
}

#[test]
fn a_player_holds_alerts_in_revision_order_and_never_revives_a_cleared_one() {
    use alerts::message::{Applied, HeldAlerts};
    let mut lc = at_phase(Phase::Issued, Status::Actual);
    let first = lc.live(t0())[0].clone();
    lc.apply(
        &disaster("alice"),
        Command::Update {
            message: Box::new(message("a1", Status::Actual, "cap-2")),
            typed_confirmation: None,
        },
        t0() + Duration::minutes(1),
    )
    .unwrap();
    let update = lc
        .apply(
            &disaster("bob"),
            Command::Confirm { id: id("a1") },
            t0() + Duration::minutes(1),
        )
        .unwrap()
        .broadcast
        .unwrap();
    let cancel = cancel_a1(&mut lc, t0() + Duration::minutes(2));

    let mut held = HeldAlerts::default();
    assert_eq!(
        held.apply(Broadcast::Show(Box::new(first.clone()))),
        Applied::Shown
    );
    assert_eq!(held.apply(update.clone()), Applied::Replaced);
    assert_eq!(
        held.apply(Broadcast::Show(Box::new(first.clone()))),
        Applied::IgnoredStale
    );
    assert_eq!(held.get(&id("a1")).unwrap().revision, 2);
    assert_eq!(held.active(t0()).len(), 1);
    assert_eq!(held.left_at_revision(&id("a1")), None);
    // Survives a reboot through serde.
    let mut held: HeldAlerts =
        serde_json::from_str(&serde_json::to_string(&held).unwrap()).unwrap();
    assert_eq!(held.apply(cancel.clone()), Applied::Cleared);
    assert!(held.active(t0()).is_empty());
    // What it showed until the cancel is kept across a reboot too: the `cleared`
    // acknowledgement names that revision when the tombstone is replayed.
    let mut held: HeldAlerts =
        serde_json::from_str(&serde_json::to_string(&held).unwrap()).unwrap();
    assert_eq!(held.left_at_revision(&id("a1")), Some(2));
    assert_eq!(held.apply(cancel), Applied::ClearedUnknown);
    assert_eq!(held.left_at_revision(&id("a1")), Some(2));
    assert_eq!(
        held.apply(update),
        Applied::IgnoredCleared,
        "a replayed update must not revive it"
    );
    assert!(held.active(t0()).is_empty());

    // Expiry is honoured offline, without any clear.
    let mut offline = HeldAlerts::default();
    offline.apply(Broadcast::Show(Box::new(first)));
    assert_eq!(offline.active(t0() + Duration::minutes(119)).len(), 1);
    assert!(offline.active(t0() + Duration::hours(2)).is_empty());
    offline.prune(t0() + Duration::hours(2));
    assert!(offline.get(&id("a1")).is_none());
    assert_eq!(offline.left_at_revision(&id("a1")), Some(1));

    // A clear for an alert never shown here leaves no revision to acknowledge.
    let mut never = HeldAlerts::default();
    never.apply(Broadcast::Clear {
        id: id("other"),
        reason: alerts::message::ClearReason::AllClear,
        at: t0(),
        expires: None,
    });
    assert_eq!(never.left_at_revision(&id("other")), None);
}

/// `message` with every info expiring at `expires` (none: no expiry).
fn expiring(mut m: AlertMessage, expires: Option<DateTime<Utc>>) -> AlertMessage {
    let jst = FixedOffset::east_opt(9 * 3600).unwrap();
    for info in &mut m.cap.infos {
        info.expires = expires.map(|e| e.with_timezone(&jst));
    }
    m
}

/// The tombstone says when every signed message of the alert is expired: the latest expiry
/// over all revisions (an Update that shortens it does not shorten the bound), or none once a
/// revision had none.
#[test]
fn the_tombstone_carries_the_latest_expiry_of_every_revision() {
    let alice = disaster("alice");
    let clear_expires = |lc: &mut AlertLifecycle, command: Command| match lc
        .apply(&alice, command, t0() + Duration::minutes(5))
        .unwrap()
        .broadcast
    {
        Some(Broadcast::Clear { expires, .. }) => expires,
        other => panic!("not a clear: {other:?}"),
    };
    let update = |lc: &mut AlertLifecycle, cap_id: &str, expires| {
        let m = expiring(message("a1", Status::Actual, cap_id), expires);
        lc.apply(
            &alice,
            Command::Update {
                message: Box::new(m),
                typed_confirmation: None,
            },
            t0(),
        )
        .unwrap();
        lc.apply(&disaster("bob"), Command::Confirm { id: id("a1") }, t0())
            .unwrap();
    };
    // Issued expiring at t0 + 2 h, then updated to expire sooner.
    let mut shortened = at_phase(Phase::Issued, Status::Actual);
    update(&mut shortened, "cap-2", Some(t0() + Duration::hours(1)));
    assert_eq!(
        clear_expires(&mut shortened, Command::Cancel { id: id("a1") }),
        Some(t0() + Duration::hours(2))
    );
    // Lengthened: the later one.
    let mut lengthened = at_phase(Phase::Issued, Status::Actual);
    update(&mut lengthened, "cap-2", Some(t0() + Duration::hours(5)));
    assert_eq!(
        clear_expires(&mut lengthened, Command::AllClear { id: id("a1") }),
        Some(t0() + Duration::hours(5))
    );
    // A revision without expiry: no bound, even after a later revision with one.
    let mut open = at_phase(Phase::Issued, Status::Actual);
    update(&mut open, "cap-2", None);
    update(&mut open, "cap-3", Some(t0() + Duration::hours(3)));
    assert_eq!(
        clear_expires(&mut open, Command::Cancel { id: id("a1") }),
        None
    );
}

/// A player forgets a cleared id a day after the alert's last expiry: any replay of its signed
/// messages is expired by then, so it is never shown and leaves nothing behind, and the list of
/// cleared ids stays bounded. Without a bound the id is kept for ever.
#[test]
fn a_cleared_id_is_forgotten_a_day_after_the_alerts_last_expiry() {
    use alerts::message::{Applied, FORGET_AFTER, HeldAlerts};
    let mut lc = at_phase(Phase::Issued, Status::Actual);
    let first = Broadcast::Show(Box::new(lc.live(t0())[0].clone()));
    let cancel = cancel_a1(&mut lc, t0() + Duration::minutes(1));
    let end = t0() + Duration::hours(2);

    let mut held = HeldAlerts::default();
    held.apply(first.clone());
    assert_eq!(held.apply(cancel.clone()), Applied::Cleared);
    held.prune(end + FORGET_AFTER - Duration::seconds(1));
    assert_eq!(held.apply(first.clone()), Applied::IgnoredCleared);
    assert_eq!(held.left_at_revision(&id("a1")), Some(1));
    let later = end + FORGET_AFTER;
    held.prune(later);
    assert_eq!(held, HeldAlerts::default(), "nothing of the alert is kept");
    // A replay now: expired, never active, gone at the next prune (before the screen is
    // refreshed, as the player does).
    held.apply(first.clone());
    assert!(held.active(later).is_empty());
    held.prune(later);
    assert_eq!(held, HeldAlerts::default());
    // So is a replayed tombstone.
    assert_eq!(held.apply(cancel), Applied::ClearedUnknown);
    held.prune(later);
    assert_eq!(held, HeldAlerts::default());

    // Expired here without a tombstone: its left revision goes a day later too.
    let mut offline = HeldAlerts::default();
    offline.apply(first.clone());
    offline.prune(end);
    assert_eq!(offline.left_at_revision(&id("a1")), Some(1));
    offline.prune(later);
    assert_eq!(offline, HeldAlerts::default());

    // A tombstone without a bound (a revision had no expiry): kept for ever, also when the
    // revision held here had expired before the tombstone came.
    let mut kept = HeldAlerts::default();
    kept.apply(first.clone());
    kept.prune(end);
    kept.apply(Broadcast::Clear {
        id: id("a1"),
        reason: ClearReason::Cancelled,
        at: t0(),
        expires: None,
    });
    kept.prune(t0() + Duration::days(3650));
    assert_eq!(kept.apply(first), Applied::IgnoredCleared);
}

/// `alerts.json` written before the left revisions were kept still loads.
#[test]
fn held_alerts_from_an_older_file_load() {
    use alerts::message::HeldAlerts;
    let held: HeldAlerts =
        serde_json::from_str(r#"{"showing":{},"cleared":{"a1":"cancelled"}}"#).unwrap();
    assert!(held.active(t0()).is_empty());
    assert_eq!(held.left_at_revision(&id("a1")), None);
}

/// A controller restart: the persisted records rebuild the same state (live alerts included),
/// and the restored machine goes on (a second person can still confirm a pending alert).
#[test]
fn restore_rebuilds_the_persisted_records() {
    let live = at_phase(Phase::Issued, Status::Actual);
    let records: Vec<AlertRecord> = live.alerts().cloned().collect();
    let json = serde_json::to_string(&records).unwrap();
    let back: Vec<AlertRecord> = serde_json::from_str(&json).unwrap();
    let restored = AlertLifecycle::restore(ConfirmationPolicy::TwoPerson, back);
    assert_eq!(
        restored.alerts().collect::<Vec<_>>(),
        live.alerts().collect::<Vec<_>>()
    );
    assert_eq!(restored.live(t0()).len(), 1);
    assert!(restored.audit().is_empty());

    let pending = at_phase(Phase::PendingConfirmation, Status::Actual);
    let mut restored =
        AlertLifecycle::restore(ConfirmationPolicy::TwoPerson, pending.alerts().cloned());
    let id = pending.alerts().next().unwrap().message.id.clone();
    let t = restored
        .apply(&disaster("second-person"), Command::Confirm { id }, t0())
        .unwrap();
    assert_eq!(t.phase, Phase::Issued);
    assert!(t.broadcast.is_some());
}

fn update_cmd(cap_id: &str, status: Status, typed: Option<&str>) -> Command {
    Command::Update {
        message: Box::new(message("a1", status, cap_id)),
        typed_confirmation: typed.map(str::to_owned),
    }
}

#[test]
fn a_live_actual_alerts_update_waits_for_a_second_person_and_never_its_submitters_token() {
    let mut lc = at_phase(Phase::Issued, Status::Actual);
    let alice = disaster("alice");
    // Alice's API token acts for her; the CLI's token for nobody else.
    let alices_token = Actor::acting_for("token:tok-1", Role::Disaster, "alice");
    let carol = disaster("carol");
    let at = t0() + Duration::minutes(1);
    let held = lc
        .apply(&alice, update_cmd("cap-2", Status::Actual, None), at)
        .unwrap();
    assert_eq!((held.phase, held.broadcast), (Phase::Issued, None));
    // Screens keep the first revision meanwhile.
    assert_eq!(lc.live(at)[0].revision, 1);
    let pending = lc.get(&id("a1")).unwrap().pending_update.clone().unwrap();
    assert_eq!(
        (pending.submitted_by.as_str(), pending.message.revision),
        ("alice", 2)
    );
    for same in [&alice, &alices_token] {
        assert!(matches!(
            lc.apply(same, Command::Confirm { id: id("a1") }, at),
            Err(LifecycleError::SamePerson { .. })
        ));
    }
    let shown = lc
        .apply(&carol, Command::Confirm { id: id("a1") }, at)
        .unwrap();
    let Some(Broadcast::Show(m)) = shown.broadcast else {
        panic!("the update is shown on confirmation")
    };
    assert_eq!((shown.phase, m.revision), (Phase::Updated, 2));
    let record = lc.get(&id("a1")).unwrap();
    assert_eq!(record.confirmed_by.as_deref(), Some("carol"));
    assert!(record.pending_update.is_none());

    // The token submits; its creator cannot confirm; reject drops the update.
    lc.apply(&alices_token, update_cmd("cap-3", Status::Actual, None), at)
        .unwrap();
    assert!(matches!(
        lc.apply(&alice, Command::Confirm { id: id("a1") }, at),
        Err(LifecycleError::SamePerson { .. })
    ));
    let rejected = lc
        .apply(
            &carol,
            Command::Reject {
                id: id("a1"),
                reason: "wrong ward".into(),
            },
            at,
        )
        .unwrap();
    assert_eq!((rejected.phase, rejected.broadcast), (Phase::Updated, None));
    assert!(lc.get(&id("a1")).unwrap().pending_update.is_none());
    assert!(matches!(
        lc.apply(&carol, Command::Confirm { id: id("a1") }, at),
        Err(LifecycleError::WrongPhase { .. })
    ));

    // A pending update goes with the alert when it is cancelled.
    lc.apply(&alice, update_cmd("cap-4", Status::Actual, None), at)
        .unwrap();
    lc.apply(&alice, Command::Cancel { id: id("a1") }, at)
        .unwrap();
    assert!(lc.get(&id("a1")).unwrap().pending_update.is_none());
}

#[test]
fn a_submitters_token_never_confirms_the_alert_itself() {
    let mut lc = at_phase(Phase::PendingConfirmation, Status::Actual);
    let token = Actor::acting_for("token:tok-9", Role::Admin, "alice");
    assert!(matches!(
        lc.apply(&token, Command::Confirm { id: id("a1") }, t0()),
        Err(LifecycleError::SamePerson { .. })
    ));
    // A token of another person may.
    let other = Actor::acting_for("token:tok-8", Role::Admin, "bob");
    let t = lc
        .apply(&other, Command::Confirm { id: id("a1") }, t0())
        .unwrap();
    assert_eq!(t.phase, Phase::Issued);
}

#[test]
fn drills_update_at_once_and_a_single_operator_types_the_phrase() {
    let mut drill = AlertLifecycle::new(ConfirmationPolicy::TwoPerson);
    drill
        .apply(
            &disaster("alice"),
            Command::Draft {
                message: Box::new(message("a1", Status::Exercise, "cap-1")),
            },
            t0(),
        )
        .unwrap();
    let issued = drill
        .apply(
            &disaster("alice"),
            Command::Submit {
                id: id("a1"),
                typed_confirmation: None,
            },
            t0(),
        )
        .unwrap();
    assert_eq!(issued.phase, Phase::Issued);
    let t = drill
        .apply(
            &disaster("alice"),
            update_cmd("cap-2", Status::Exercise, None),
            t0(),
        )
        .unwrap();
    assert_eq!(t.phase, Phase::Updated);
    assert!(matches!(t.broadcast, Some(Broadcast::Show(_))));

    let phrase = "緊急発信";
    let mut lc = AlertLifecycle::new(ConfirmationPolicy::SingleOperator {
        phrase: phrase.into(),
    });
    let alice = disaster("alice");
    lc.apply(
        &alice,
        Command::Draft {
            message: Box::new(message("a1", Status::Actual, "cap-1")),
        },
        t0(),
    )
    .unwrap();
    lc.apply(
        &alice,
        Command::Submit {
            id: id("a1"),
            typed_confirmation: Some(phrase.into()),
        },
        t0(),
    )
    .unwrap();
    assert_eq!(
        lc.apply(&alice, update_cmd("cap-2", Status::Actual, None), t0())
            .unwrap_err(),
        LifecycleError::ConfirmationPhraseMismatch
    );
    assert_eq!(lc.live(t0())[0].revision, 1);
    let t = lc
        .apply(
            &alice,
            update_cmd("cap-2", Status::Actual, Some(phrase)),
            t0(),
        )
        .unwrap();
    assert_eq!(t.phase, Phase::Updated);
    assert_eq!(lc.live(t0())[0].revision, 2);
}

//! Signing, templates and the ward table.

use alerts::area_map::*;
use alerts::message::{Broadcast, ClearReason};
use alerts::model::{Area, Circle, Point, Polygon, Status, ValuePair};
use alerts::signing::*;
use alerts::templates::*;
use chrono::{TimeZone, Utc};
use content::ids::{AlertId, WardId};
use content::schedule::Target;
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

fn keys(seed: u64) -> ed25519_dalek::SigningKey {
    generate_key(&mut StdRng::seed_from_u64(seed))
}

fn clear() -> Broadcast {
    Broadcast::Clear {
        id: AlertId::from("a1"),
        reason: ClearReason::Cancelled,
        at: Utc.with_ymd_and_hms(2026, 4, 1, 1, 0, 0).unwrap(),
        expires: None,
    }
}

#[test]
fn signed_broadcast_verifies_with_the_right_key_only() {
    let key = keys(1);
    let envelope = sign(&clear(), &key);
    assert_eq!(verify(&envelope, &PublicKey::from(&key)), Ok(clear()));
    assert_eq!(
        verify(&envelope, &PublicKey::from(&keys(2))),
        Err(SignatureError::Invalid)
    );
    let unsigned = SignedEnvelope {
        payload: envelope.payload.clone(),
        signature: String::new(),
    };
    assert_eq!(
        verify(&unsigned, &PublicKey::from(&key)),
        Err(SignatureError::Unsigned)
    );
    let garbage = SignedEnvelope {
        payload: envelope.payload.clone(),
        signature: "zz".into(),
    };
    assert!(matches!(
        verify(&garbage, &PublicKey::from(&key)),
        Err(SignatureError::Malformed(_))
    ));
    // Tampered: the reason changed from cancelled to expired.
    let tampered = SignedEnvelope {
        payload: envelope.payload.replace("cancelled", "expired"),
        signature: envelope.signature.clone(),
    };
    assert_ne!(tampered.payload, envelope.payload);
    assert_eq!(
        verify(&tampered, &PublicKey::from(&key)),
        Err(SignatureError::Invalid)
    );
    // The envelope itself travels as JSON.
    let wire = serde_json::to_string(&envelope).unwrap();
    let back: SignedEnvelope = serde_json::from_str(&wire).unwrap();
    assert_eq!(verify(&back, &PublicKey::from(&key)), Ok(clear()));
    let missing: SignedEnvelope = serde_json::from_str(r#"{"payload":"{}"}"#).unwrap();
    assert_eq!(
        verify(&missing, &PublicKey::from(&key)),
        Err(SignatureError::Unsigned)
    );
}

#[test]
fn signature_is_bound_to_the_alert_domain() {
    use ed25519_dalek::Signer;
    let key = keys(3);
    let payload = serde_json::to_string(&clear()).unwrap();
    // A signature over the bare payload (no domain prefix) is not an alert signature.
    let bare = key.sign(payload.as_bytes());
    let envelope = SignedEnvelope {
        payload,
        signature: hex::encode(bare.to_bytes()),
    };
    assert_eq!(
        verify(&envelope, &PublicKey::from(&key)),
        Err(SignatureError::Invalid)
    );
}

#[test]
fn keys_round_trip_through_hex() {
    let key = keys(4);
    let again = signing_key_from_hex(&signing_key_to_hex(&key)).unwrap();
    assert_eq!(again.to_bytes(), key.to_bytes());
    let public = PublicKey::from_hex(&PublicKey::from(&key).to_hex()).unwrap();
    assert_eq!(public, PublicKey::from(&key));
    assert!(matches!(
        PublicKey::from_hex("abcd"),
        Err(SignatureError::BadKey(_))
    ));
    assert_ne!(keys(5).to_bytes(), keys(6).to_bytes());
}

/// Keys outside the prime-order subgroup are refused when read: the identity (small order),
/// and a curve point with a torsion component (most points are: 7 in 8).
#[test]
fn public_keys_outside_the_prime_order_subgroup_are_refused() {
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert!(matches!(
        PublicKey::from_hex(&hex::encode(identity)),
        Err(SignatureError::BadKey(_))
    ));
    let mixed = (2u8..)
        .map(|y| {
            let mut bytes = [0u8; 32];
            bytes[0] = y;
            bytes
        })
        .find(|bytes| {
            ed25519_dalek::VerifyingKey::from_bytes(bytes)
                .is_ok_and(|k| !k.is_weak() && !k.to_edwards().is_torsion_free())
        })
        .expect("a mixed-order point among the first encodings");
    assert!(matches!(
        PublicKey::from_hex(&hex::encode(mixed)),
        Err(SignatureError::BadKey(_))
    ));
}

/// A signature whose R is the identity satisfies the plain (cofactorless) equation when made
/// with the secret key (`s = k·a`): `verify_strict` refuses it, and so must we.
#[test]
fn a_signature_with_a_small_order_r_is_refused() {
    use ed25519_dalek::Verifier;
    use sha2::{Digest, Sha512};
    let key = keys(9);
    let payload = serde_json::to_string(&clear()).unwrap();
    let message = [DOMAIN, payload.as_bytes()].concat();
    let mut r = [0u8; 32];
    r[0] = 1;
    let k = curve25519_dalek::Scalar::from_hash(
        Sha512::new()
            .chain_update(r)
            .chain_update(key.verifying_key().as_bytes())
            .chain_update(&message),
    );
    let s = k * key.to_scalar();
    let mut bytes = [0u8; 64];
    bytes[..32].copy_from_slice(&r);
    bytes[32..].copy_from_slice(s.as_bytes());
    let forged = ed25519_dalek::Signature::from_bytes(&bytes);
    // The crafted signature is the kind strict verification exists for ...
    assert!(key.verifying_key().verify(&message, &forged).is_ok());
    assert!(
        key.verifying_key()
            .verify_strict(&message, &forged)
            .is_err()
    );
    // ... and the player's check refuses it.
    let envelope = SignedEnvelope {
        payload,
        signature: hex::encode(bytes),
    };
    assert_eq!(
        verify(&envelope, &PublicKey::from(&key)),
        Err(SignatureError::Invalid)
    );
}

proptest! {
    #[test]
    fn any_flipped_payload_byte_is_rejected(at in any::<prop::sample::Index>(), bit in 0u8..7) {
        let key = keys(7);
        let envelope = sign(&clear(), &key);
        let mut bytes = envelope.payload.clone().into_bytes();
        let i = at.index(bytes.len());
        bytes[i] ^= 1 << bit; // ASCII stays ASCII, so the payload stays a string
        let tampered = SignedEnvelope { payload: String::from_utf8(bytes).unwrap(), signature: envelope.signature };
        prop_assert_eq!(verify(&tampered, &PublicKey::from(&key)), Err(SignatureError::Invalid));
    }
}

// Templates

#[test]
fn every_template_renders_in_every_language() {
    let values = Placeholders {
        area: "北区".into(),
        shelter: Some("扇町公園".into()),
        ..Default::default()
    };
    for kind in TemplateKind::all() {
        let mut headlines = std::collections::BTreeSet::new();
        for lang in LANGUAGES {
            let text = render(kind, lang, &values, Status::Actual).unwrap();
            assert!(
                text.headline.contains("北区"),
                "{kind:?} {lang}: {}",
                text.headline
            );
            assert!(
                !text.headline.contains('{') && !text.instruction.contains('{'),
                "{kind:?} {lang}"
            );
            if kind.needs_shelter() {
                assert!(
                    text.instruction.contains("扇町公園"),
                    "{kind:?} {lang}: {}",
                    text.instruction
                );
            }
            assert_eq!(text.drill_banner, None);
            headlines.insert(text.headline);
        }
        assert_eq!(
            headlines.len(),
            LANGUAGES.len(),
            "{kind:?}: a language was left untranslated"
        );
    }
}

#[test]
fn official_japanese_terms() {
    let values = Placeholders {
        area: "北区".into(),
        shelter: Some("扇町公園".into()),
        ..Default::default()
    };
    let ja = |kind| {
        render(kind, "ja", &values, Status::Actual)
            .unwrap()
            .headline
    };
    let level = |l| TemplateKind::HeavyRainFlood {
        level: WarningLevel::new(l).unwrap(),
    };
    assert!(ja(TemplateKind::Earthquake).starts_with("緊急地震速報"));
    assert!(ja(TemplateKind::Tsunami).starts_with("大津波警報"));
    assert!(ja(TemplateKind::EvacuationOrder).contains("避難指示"));
    assert!(ja(TemplateKind::Missile).contains("ミサイル発射情報"));
    assert!(ja(level(5)).contains("緊急安全確保"));
    assert!(ja(level(4)).contains("避難指示"));
    assert!(ja(level(3)).contains("高齢者等避難"));
    assert!(ja(level(2)).contains("注意報"));
    assert!(ja(level(1)).contains("早期注意情報"));
    for l in 1..=5 {
        assert!(ja(level(l)).contains(&format!("警戒レベル{l}")));
    }
}

#[test]
fn drills_and_tests_are_marked_in_every_language() {
    let values = Placeholders {
        area: "北区".into(),
        shelter: Some("1階出口".into()),
        ..Default::default()
    };
    for lang in LANGUAGES {
        let drill = render(TemplateKind::BuildingFire, lang, &values, Status::Exercise).unwrap();
        let test = render(TemplateKind::BuildingFire, lang, &values, Status::Test).unwrap();
        let (d, t) = (drill.drill_banner.unwrap(), test.drill_banner.unwrap());
        assert_ne!(d, t, "{lang}: drill and test look the same");
        assert!(!d.is_empty() && !t.is_empty());
    }
    assert!(
        drill_banner(Status::Exercise, "ja")
            .unwrap()
            .contains("訓練")
    );
    assert!(drill_banner(Status::Test, "ja").unwrap().contains("試験"));
    assert!(
        drill_banner(Status::Exercise, "en")
            .unwrap()
            .contains("DRILL")
    );
    assert!(drill_banner(Status::Test, "en").unwrap().contains("TEST"));
    assert!(
        drill_banner(Status::Exercise, "zh-Hans")
            .unwrap()
            .contains("演习")
    );
    assert!(
        drill_banner(Status::Exercise, "zh-Hant")
            .unwrap()
            .contains("演習")
    );
    assert!(
        drill_banner(Status::Exercise, "ko")
            .unwrap()
            .contains("훈련")
    );
    assert!(
        drill_banner(Status::Exercise, "fr")
            .unwrap()
            .contains("DRILL"),
        "unknown languages fall back to English"
    );
    assert_eq!(drill_banner(Status::Actual, "ja"), None);
}

#[test]
fn placeholders_are_required() {
    let no_shelter = Placeholders {
        area: "北区".into(),
        shelter: None,
        ..Default::default()
    };
    assert_eq!(
        render(
            TemplateKind::EvacuationOrder,
            "ja",
            &no_shelter,
            Status::Actual
        ),
        Err(TemplateError::MissingPlaceholder("shelter"))
    );
    assert!(render(TemplateKind::Earthquake, "ja", &no_shelter, Status::Actual).is_ok());
    let no_area = Placeholders {
        area: " ".into(),
        shelter: None,
        ..Default::default()
    };
    assert_eq!(
        render(TemplateKind::Earthquake, "en", &no_area, Status::Actual),
        Err(TemplateError::MissingPlaceholder("area"))
    );
    assert!(matches!(
        render(TemplateKind::Earthquake, "fr", &no_shelter, Status::Actual),
        Err(TemplateError::UnknownLanguage(_))
    ));
}

#[test]
fn warning_level_colours() {
    let table: Vec<_> = (1..=5)
        .map(|l| {
            let c = WarningLevel::new(l).unwrap().colours();
            (l, c.name_en, c.background.to_string())
        })
        .collect();
    assert_eq!(
        table,
        [
            (1, "white", "#F2F2FF".to_string()),
            (2, "yellow", "#F2E700".to_string()),
            (3, "red", "#FF2800".to_string()),
            (4, "purple", "#AA00AA".to_string()),
            (5, "black", "#0C000C".to_string()),
        ]
    );
    assert_eq!(WarningLevel::new(0), None);
    assert_eq!(WarningLevel::new(6), None);
    assert!(serde_json::from_str::<WarningLevel>("6").is_err());
    assert_eq!(serde_json::from_str::<WarningLevel>("4").unwrap().get(), 4);
}

#[test]
fn template_infos_are_valid_cap() {
    use chrono::FixedOffset;
    let values = Placeholders {
        area: "北区".into(),
        shelter: Some("扇町公園".into()),
        ..Default::default()
    };
    let sent = FixedOffset::east_opt(9 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 4, 1, 10, 0, 0)
        .unwrap();
    for kind in TemplateKind::all() {
        let infos = cap_infos(
            kind,
            &values,
            Status::Exercise,
            Some(sent + chrono::Duration::hours(1)),
        )
        .unwrap();
        assert_eq!(infos.len(), LANGUAGES.len());
        let alert = alerts::model::Alert::new(
            "t-1".into(),
            "bousai@city.osaka.example".into(),
            sent,
            Status::Exercise,
            infos,
        );
        let parsed = alerts::cap::parse(alerts::cap::to_xml(&alert).as_bytes()).unwrap();
        assert_eq!(parsed.alert, alert, "{kind:?}");
    }
}

proptest! {
    #[test]
    fn values_are_inserted_verbatim(area in "[^{}]{1,20}", shelter in ".{1,20}") {
        prop_assume!(!area.trim().is_empty() && !shelter.trim().is_empty());
        let values = Placeholders { area: area.clone(), shelter: Some(shelter.clone()), ..Default::default() };
        for lang in LANGUAGES {
            let text = render(TemplateKind::EvacuationOrder, lang, &values, Status::Actual).unwrap();
            prop_assert!(text.headline.contains(&area));
            prop_assert!(text.instruction.contains(&shelter));
            // Braces inside values are never expanded again.
            let stripped = text.instruction.replace(&shelter, "");
            let placeholder = "{shelter}";
            prop_assert!(!stripped.contains(placeholder));
        }
    }
}

// Ward table

fn square(lat: f64, lon: f64, size: f64) -> Polygon {
    Polygon {
        points: vec![
            Point::new(lat, lon),
            Point::new(lat + size, lon),
            Point::new(lat + size, lon + size),
            Point::new(lat, lon + size),
            Point::new(lat, lon),
        ],
    }
}

fn table() -> AreaTable {
    AreaTable {
        wards: vec![
            WardArea {
                ward: WardId::from("kita"),
                geocodes: vec![ValuePair::new("JIS X 0402", "27127")],
                boundary: Some(square(34.70, 135.48, 0.03)),
            },
            WardArea {
                ward: WardId::from("chuo"),
                geocodes: vec![ValuePair::new("JIS X 0402", "27128")],
                boundary: Some(square(34.66, 135.49, 0.03)),
            },
            WardArea {
                ward: WardId::from("nishi"),
                geocodes: vec![ValuePair::new("JIS X 0402", "27106")],
                boundary: None,
            },
        ],
        city_geocodes: vec![ValuePair::new("JIS X 0402", "27100")],
    }
}

fn wards(names: &[&str]) -> WardMatch {
    WardMatch::Wards(names.iter().map(|n| WardId::from(*n)).collect())
}

#[test]
fn areas_map_onto_wards() {
    let geo = |code: &str| {
        let mut a = Area::described("x");
        a.geocodes.push(ValuePair::new("JIS X 0402", code));
        a
    };
    let poly = |p: Polygon| {
        let mut a = Area::described("x");
        a.polygons.push(p);
        a
    };
    let circle = |lat, lon, r| {
        let mut a = Area::described("x");
        a.circles.push(Circle {
            center: Point::new(lat, lon),
            radius_km: r,
        });
        a
    };
    let t = table();
    let cases: Vec<(&str, Vec<Area>, WardMatch)> = vec![
        ("geocode of one ward", vec![geo("27127")], wards(&["kita"])),
        (
            "geocode without boundary",
            vec![geo("27106")],
            wards(&["nishi"]),
        ),
        (
            "city geocode reaches all",
            vec![geo("27127"), geo("27100")],
            WardMatch::All,
        ),
        ("other city's geocode", vec![geo("13101")], wards(&[])),
        (
            "same code, other scheme",
            vec![{
                let mut a = Area::described("x");
                a.geocodes.push(ValuePair::new("FIPS6", "27127"));
                a
            }],
            wards(&[]),
        ),
        (
            "polygon inside a ward",
            vec![poly(square(34.71, 135.49, 0.005))],
            wards(&["kita"]),
        ),
        (
            "polygon covering both",
            vec![poly(square(34.60, 135.40, 0.3))],
            wards(&["chuo", "kita"]),
        ),
        (
            "polygon crossing an edge",
            vec![poly(square(34.72, 135.47, 0.02))],
            wards(&["kita"]),
        ),
        (
            "polygon far away",
            vec![poly(square(35.60, 139.70, 0.1))],
            wards(&[]),
        ),
        (
            "circle centred in a ward",
            vec![circle(34.675, 135.505, 0.1)],
            wards(&["chuo"]),
        ),
        (
            "circle reaching a ward's edge",
            vec![circle(34.745, 135.495, 1.8)],
            wards(&["kita"]),
        ),
        (
            "circle just short of it",
            vec![circle(34.745, 135.495, 1.5)],
            wards(&[]),
        ),
        ("no areas", vec![], wards(&[])),
    ];
    for (name, areas, expected) in cases {
        assert_eq!(t.match_areas(&areas), expected, "{name}");
    }
    assert_eq!(WardMatch::All.to_targets(), vec![Target::All]);
    assert_eq!(
        wards(&["kita"]).to_targets(),
        vec![Target::Ward(WardId::from("kita"))]
    );
    assert!(wards(&[]).to_targets().is_empty());
}

proptest! {
    #[test]
    fn every_point_of_a_ward_matches_it(dlat in 0.001f64..0.029, dlon in 0.001f64..0.029) {
        let t = table();
        let mut a = Area::described("x");
        a.circles.push(Circle { center: Point::new(34.70 + dlat, 135.48 + dlon), radius_km: 0.0 });
        prop_assert_eq!(t.match_areas([&a]), wards(&["kita"]));
    }
}

/// Names per language: the wards' own names, a shelter's English name, and elsewhere the
/// Japanese shelter name with its reading.
#[test]
fn names_follow_the_screen_language() {
    use alerts::templates::LocalNames;
    let mut values = Placeholders {
        area: "北区".into(),
        shelter: Some("扇町公園".into()),
        shelter_reading: Some("おうぎまちこうえん".into()),
        ..Default::default()
    };
    for (lang, area) in [("en", "Kita Ward"), ("ko", "기타구")] {
        values.names.insert(
            lang.into(),
            LocalNames {
                area: Some(area.into()),
                shelter: None,
            },
        );
    }
    values.names.get_mut("en").unwrap().shelter = Some("Ogimachi Park".into());
    let en = render(TemplateKind::Tsunami, "en", &values, Status::Actual).unwrap();
    assert!(
        en.headline.contains("Kita Ward") && !en.headline.contains("北区"),
        "{}",
        en.headline
    );
    assert!(
        en.instruction.contains("Ogimachi Park"),
        "{}",
        en.instruction
    );
    let ko = render(TemplateKind::Tsunami, "ko", &values, Status::Actual).unwrap();
    assert!(ko.headline.contains("기타구"), "{}", ko.headline);
    assert!(
        ko.instruction.contains("扇町公園 (おうぎまちこうえん)"),
        "{}",
        ko.instruction
    );
    let ja = render(TemplateKind::Tsunami, "ja", &values, Status::Actual).unwrap();
    assert!(ja.headline.contains("北区") && ja.instruction.contains("扇町公園"));
    assert!(!ja.instruction.contains("おうぎまち"), "{}", ja.instruction);
    // A language with no name of its own falls back to the Japanese area.
    let vi = render(TemplateKind::Tsunami, "vi", &values, Status::Actual).unwrap();
    assert!(vi.headline.contains("北区"), "{}", vi.headline);
}

//! The CAP rules one by one: a valid document, one change per case, the rule named.

use alerts::cap::{self, CapVersion};
use alerts::model::*;
use chrono::{FixedOffset, TimeZone};
use proptest::prelude::*;

const BASE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>osaka-2026-0001</identifier>
  <sender>bousai@city.osaka.example</sender>
  <sent>2026-04-01T10:00:00+09:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <language>ja-JP</language>
    <category>Met</category>
    <event>大雨</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Likely</certainty>
    <expires>2026-04-01T12:00:00+09:00</expires>
    <headline>【警戒レベル4】避難指示</headline>
    <area>
      <areaDesc>北区</areaDesc>
      <polygon>34.70,135.49 34.72,135.49 34.72,135.52 34.70,135.52 34.70,135.49</polygon>
      <circle>34.705,135.498 2.5</circle>
      <geocode><valueName>JIS X 0402</valueName><value>27127</value></geocode>
    </area>
  </info>
</alert>"#;

fn with(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "test bug: {from:?} not in base");
    BASE.replacen(from, to, 1)
}

#[test]
fn base_is_valid() {
    let parsed = cap::parse(BASE.as_bytes()).unwrap();
    assert_eq!(parsed.version, CapVersion::V1_2);
    let area = &parsed.alert.infos[0].areas[0];
    assert_eq!(area.polygons[0].points.len(), 5);
    assert_eq!(area.circles[0].radius_km, 2.5);
    assert_eq!(area.geocodes[0], ValuePair::new("JIS X 0402", "27127"));
}

#[test]
fn each_rule_refuses_with_its_name() {
    let sent = "<sent>2026-04-01T10:00:00+09:00</sent>";
    let refs = "<msgType>Alert</msgType>";
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "no identifier",
            with("<identifier>osaka-2026-0001</identifier>", ""),
            "required-element",
        ),
        (
            "identifier with a space",
            with("osaka-2026-0001", "osaka 2026"),
            "identifier-characters",
        ),
        (
            "identifier with a comma",
            with("osaka-2026-0001", "osaka,2026"),
            "identifier-characters",
        ),
        (
            "sender with &amp;",
            with("bousai@city", "bou&amp;sai@city"),
            "identifier-characters",
        ),
        (
            "two identifiers",
            with("<sender>", "<identifier>x</identifier><sender>"),
            "single-element",
        ),
        ("no sent", with(sent, ""), "required-element"),
        (
            "sent with Z",
            with(sent, "<sent>2026-04-01T01:00:00Z</sent>"),
            "date-time",
        ),
        (
            "sent without offset",
            with(sent, "<sent>2026-04-01T10:00:00</sent>"),
            "date-time",
        ),
        (
            "sent with fraction",
            with(sent, "<sent>2026-04-01T10:00:00.5+09:00</sent>"),
            "date-time",
        ),
        (
            "impossible date",
            with(sent, "<sent>2026-02-30T10:00:00+09:00</sent>"),
            "date-time",
        ),
        (
            "status lowercase",
            with("<status>Actual</status>", "<status>actual</status>"),
            "enumeration",
        ),
        (
            "unknown status",
            with("<status>Actual</status>", "<status>Real</status>"),
            "enumeration",
        ),
        (
            "unknown msgType",
            with(refs, "<msgType>Notice</msgType>"),
            "enumeration",
        ),
        (
            "unknown scope",
            with("<scope>Public</scope>", "<scope>Everyone</scope>"),
            "enumeration",
        ),
        (
            "no scope",
            with("<scope>Public</scope>", ""),
            "required-element",
        ),
        (
            "update without references",
            with(refs, "<msgType>Update</msgType>"),
            "references-required",
        ),
        (
            "cancel with empty references",
            with(refs, "<msgType>Cancel</msgType><references/>"),
            "references-required",
        ),
        (
            "reference with two parts",
            with(
                refs,
                "<msgType>Cancel</msgType><references>a,b</references>",
            ),
            "references-format",
        ),
        (
            "reference with bad time",
            with(
                refs,
                "<msgType>Cancel</msgType><references>a,b,yesterday</references>",
            ),
            "references-format",
        ),
        (
            "restricted without restriction",
            with("<scope>Public</scope>", "<scope>Restricted</scope>"),
            "restriction-required",
        ),
        (
            "private without addresses",
            with(
                "<scope>Public</scope>",
                "<scope>Private</scope><addresses> </addresses>",
            ),
            "addresses-required",
        ),
        (
            "info without category",
            with("<category>Met</category>", ""),
            "required-element",
        ),
        (
            "unknown category",
            with("<category>Met</category>", "<category>Weather</category>"),
            "enumeration",
        ),
        (
            "info without event",
            with("<event>大雨</event>", ""),
            "required-element",
        ),
        (
            "empty urgency",
            with("<urgency>Immediate</urgency>", "<urgency></urgency>"),
            "enumeration",
        ),
        (
            "no severity",
            with("<severity>Severe</severity>", ""),
            "required-element",
        ),
        (
            "unknown certainty",
            with(
                "<certainty>Likely</certainty>",
                "<certainty>Very Likely</certainty>",
            ),
            "enumeration",
        ),
        (
            "expires before sent",
            with(
                "<expires>2026-04-01T12:00:00+09:00",
                "<expires>2026-04-01T09:59:59+09:00",
            ),
            "expires-after-sent",
        ),
        (
            "open polygon",
            with(
                "34.70,135.52 34.70,135.49</polygon>",
                "34.70,135.52 34.71,135.49</polygon>",
            ),
            "polygon",
        ),
        (
            "polygon of three points",
            with(
                "34.70,135.49 34.72,135.49 34.72,135.52 34.70,135.52 34.70,135.49",
                "34.70,135.49 34.72,135.49 34.70,135.49",
            ),
            "polygon",
        ),
        (
            "polygon latitude out of range",
            with("34.72,135.49 34.72", "94.72,135.49 34.72"),
            "polygon",
        ),
        (
            "polygon point not a pair",
            with("34.72,135.49 34.72", "34.72;135.49 34.72"),
            "polygon",
        ),
        (
            "circle without radius",
            with("34.705,135.498 2.5", "34.705,135.498"),
            "circle",
        ),
        (
            "circle with negative radius",
            with("34.705,135.498 2.5", "34.705,135.498 -1"),
            "circle",
        ),
        (
            "area without areaDesc",
            with("<areaDesc>北区</areaDesc>", ""),
            "required-element",
        ),
        (
            "ceiling without altitude",
            with("</geocode>", "</geocode><ceiling>100</ceiling>"),
            "ceiling-altitude",
        ),
        (
            "ceiling below altitude",
            with(
                "</geocode>",
                "</geocode><altitude>100</altitude><ceiling>50</ceiling>",
            ),
            "ceiling-altitude",
        ),
        (
            "altitude not a number",
            with("</geocode>", "</geocode><altitude>high</altitude>"),
            "number",
        ),
        (
            "unknown CAP element",
            with("<scope>", "<priority>1</priority><scope>"),
            "known-elements",
        ),
        (
            "text element with children",
            with("<event>大雨</event>", "<event><b>大雨</b></event>"),
            "text-only",
        ),
        (
            "1.1 element inside 1.2",
            with(
                "<scope>",
                "<note xmlns=\"urn:oasis:names:tc:emergency:cap:1.1\">x</note><scope>",
            ),
            "one-namespace",
        ),
        (
            "root not alert",
            BASE.replace("<alert ", "<alarm ")
                .replace("</alert>", "</alarm>"),
            "cap-root",
        ),
        (
            "unknown namespace",
            BASE.replace("emergency:cap:1.2", "emergency:cap:9.9"),
            "cap-root",
        ),
        (
            "no namespace",
            BASE.replace(" xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"", ""),
            "cap-root",
        ),
        (
            "internal DTD",
            with("<alert ", "<!DOCTYPE alert [<!ENTITY n \"北区\">]><alert "),
            "no-doctype",
        ),
        (
            "undeclared entity",
            with("<areaDesc>北区", "<areaDesc>&ward;"),
            "no-entities",
        ),
        ("malformed", BASE.replace("</info>", ""), "well-formed-xml"),
        ("Shift_JIS", BASE.replace("UTF-8", "Shift_JIS"), "encoding"),
    ];
    let mut failures = Vec::new();
    for (name, doc, rule) in cases {
        match cap::parse(doc.as_bytes()) {
            Ok(_) => failures.push(format!("{name}: accepted, expected [{rule}]")),
            Err(e) if e.rule() != rule => {
                failures.push(format!("{name}: [{}] {e}, expected [{rule}]", e.rule()))
            }
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn lenient_where_real_feeds_need_it() {
    let cases = [
        (
            "foreign element skipped",
            with(
                "<scope>",
                "<x:sig xmlns:x=\"urn:other\"><x:v>1</x:v></x:sig><scope>",
            ),
        ),
        (
            "empty optional elements",
            with(
                "<scope>Public</scope>",
                "<scope>Public</scope><note/><incidents></incidents>",
            ),
        ),
        (
            "empty polygon",
            with("<circle>", "<polygon></polygon><circle>"),
        ),
        (
            "expires equal to sent",
            with(
                "<expires>2026-04-01T12:00:00+09:00",
                "<expires>2026-04-01T10:00:00+09:00",
            ),
        ),
        (
            "prefixed CAP names",
            BASE.replace("<", "<c:")
                .replace("<c:/", "</c:")
                .replace("<c:?xml", "<?xml")
                .replace("xmlns=", "xmlns:c="),
        ),
        (
            "restricted with restriction",
            with(
                "<scope>Public</scope>",
                "<scope>Restricted</scope><restriction>staff</restriction>",
            ),
        ),
        (
            "CDATA text",
            with(
                "<areaDesc>北区</areaDesc>",
                "<areaDesc><![CDATA[北区 & 都島区]]></areaDesc>",
            ),
        ),
    ];
    for (name, doc) in cases {
        let parsed =
            cap::parse(doc.as_bytes()).unwrap_or_else(|e| panic!("{name}: [{}] {e}", e.rule()));
        if name == "foreign element skipped" {
            assert_eq!(parsed.skipped, ["{urn:other}sig"]);
        }
        if name == "CDATA text" {
            assert_eq!(parsed.alert.infos[0].areas[0].area_desc, "北区 & 都島区");
        }
    }
}

#[test]
fn cap_1_0_and_1_1_map_onto_the_1_2_model() {
    let v10 = BASE
        .replace(
            "urn:oasis:names:tc:emergency:cap:1.2",
            "http://www.incident.com/cap/1.0",
        )
        .replace(
            "<certainty>Likely</certainty>",
            "<certainty>Very Likely</certainty>",
        )
        .replace("<scope>", "<password>secret</password><scope>");
    let parsed = cap::parse(v10.as_bytes()).unwrap();
    assert_eq!(parsed.version, CapVersion::V1_0);
    assert_eq!(parsed.alert.infos[0].certainty, Certainty::Likely);
    assert!(
        !cap::to_xml(&parsed.alert).contains("secret"),
        "1.0 passwords are never kept"
    );
    let v11 = BASE.replace("emergency:cap:1.2", "emergency:cap:1.1");
    assert_eq!(
        cap::parse(v11.as_bytes()).unwrap().version,
        CapVersion::V1_1
    );
}

#[test]
fn cancellation_references_the_cancelled_message() {
    let alert = cap::parse(BASE.as_bytes()).unwrap().alert;
    let at = FixedOffset::east_opt(9 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 4, 1, 10, 30, 0)
        .unwrap();
    let cancel = alert.cancellation("osaka-2026-0001-cancel", at);
    assert_eq!(cancel.msg_type, MsgType::Cancel);
    assert_eq!(
        cancel.status, alert.status,
        "a drill's cancel is a drill too"
    );
    assert_eq!(cancel.references, vec![alert.as_reference()]);
    let xml = cap::to_xml(&cancel);
    assert!(xml.contains(
        "<references>bousai@city.osaka.example,osaka-2026-0001,2026-04-01T10:00:00+09:00</references>"
    ));
    assert_eq!(cap::parse(xml.as_bytes()).unwrap().alert, cancel);
}

#[test]
fn size_limit() {
    let big = with(
        "<headline>",
        &format!(
            "<description>{}</description><headline>",
            "x".repeat(2 << 20)
        ),
    );
    assert_eq!(cap::parse(big.as_bytes()).unwrap_err().rule(), "size-limit");
    assert!(cap::parse_with_limit(BASE.as_bytes(), BASE.len()).is_ok());
    assert!(cap::parse_with_limit(BASE.as_bytes(), BASE.len() - 1).is_err());
}

// Round-trip property: any valid alert built in code exports to CAP 1.2 that parses back equal.

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._@:-]{1,20}"
}

fn text() -> impl Strategy<Value = String> {
    // Trimmed (CAP text is trimmed on reading), with XML specials and Japanese.
    "[a-zA-Z0-9<>&\"' 大阪北区避難\n]{0,30}".prop_map(|s| s.trim().to_owned())
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(text()).prop_map(|t| t.filter(|s| !s.is_empty()))
}

fn time() -> impl Strategy<Value = chrono::DateTime<FixedOffset>> {
    (0i64..2_000_000_000, -12i32..=14).prop_map(|(secs, hours)| {
        FixedOffset::east_opt(hours * 3600)
            .unwrap()
            .timestamp_opt(secs, 0)
            .unwrap()
    })
}

fn point() -> impl Strategy<Value = Point> {
    (-90.0f64..=90.0, -180.0f64..=180.0).prop_map(|(lat, lon)| Point { lat, lon })
}

fn area() -> impl Strategy<Value = Area> {
    (
        text().prop_filter("areaDesc required", |s| !s.is_empty()),
        proptest::collection::vec(proptest::collection::vec(point(), 3..6), 0..2),
        proptest::collection::vec((point(), 0.0f64..500.0), 0..2),
        proptest::collection::vec((token(), token()), 0..3),
        proptest::option::of((0.0f64..10_000.0, proptest::option::of(0.0f64..10_000.0))),
    )
        .prop_map(|(desc, rings, circles, geocodes, alt)| Area {
            area_desc: desc,
            polygons: rings
                .into_iter()
                .map(|mut pts| {
                    pts.push(pts[0]);
                    Polygon { points: pts }
                })
                .collect(),
            circles: circles
                .into_iter()
                .map(|(center, radius_km)| Circle { center, radius_km })
                .collect(),
            geocodes: geocodes
                .into_iter()
                .map(|(n, v)| ValuePair {
                    value_name: n,
                    value: v,
                })
                .collect(),
            altitude: alt.map(|(a, _)| a),
            ceiling: alt.and_then(|(a, c)| c.map(|c| a + c)),
        })
}

fn info(sent: chrono::DateTime<FixedOffset>) -> impl Strategy<Value = Info> {
    (
        (
            proptest::sample::select(vec!["ja", "ja-easy", "en-US", "zh-Hans", "vi"]),
            proptest::collection::vec(proptest::sample::select(Category::ALL.to_vec()), 1..3),
            text().prop_filter("event required", |s| !s.is_empty()),
            proptest::sample::select(Urgency::ALL.to_vec()),
            proptest::sample::select(Severity::ALL.to_vec()),
            proptest::sample::select(Certainty::ALL.to_vec()),
        ),
        (
            proptest::collection::vec(proptest::sample::select(ResponseType::ALL.to_vec()), 0..2),
            opt_text(),
            opt_text(),
            proptest::option::of(0i64..1_000_000),
            proptest::collection::vec(area(), 0..3),
            proptest::collection::vec((token(), text()), 0..2),
        ),
    )
        .prop_map(
            move |(
                (lang, cats, event, u, s, c),
                (resp, headline, instruction, ttl, areas, params),
            )| {
                let mut info = Info::new(lang, cats[0], &event, u, s, c);
                info.categories = cats;
                info.response_types = resp;
                info.headline = headline;
                info.instruction = instruction;
                info.expires = ttl.map(|t| sent + chrono::Duration::seconds(t));
                info.areas = areas;
                info.parameters = params
                    .into_iter()
                    .map(|(n, v)| ValuePair {
                        value_name: n,
                        value: v,
                    })
                    .collect();
                info
            },
        )
}

fn alert() -> impl Strategy<Value = Alert> {
    (
        token(),
        token(),
        time(),
        proptest::sample::select(Status::ALL.to_vec()),
        proptest::sample::select(vec![
            MsgType::Alert,
            MsgType::Update,
            MsgType::Cancel,
            MsgType::Ack,
        ]),
        proptest::collection::vec((token(), token(), time()), 1..3),
        opt_text(),
    )
        .prop_flat_map(|(identifier, sender, sent, status, msg_type, refs, note)| {
            proptest::collection::vec(info(sent), 0..3).prop_map(move |infos| Alert {
                identifier: identifier.clone(),
                sender: sender.clone(),
                sent,
                status,
                msg_type,
                source: None,
                scope: Scope::Public,
                restriction: None,
                addresses: None,
                codes: vec!["IPAWSv1.0".into()],
                note: note.clone(),
                references: if msg_type == MsgType::Alert {
                    vec![]
                } else {
                    refs.iter()
                        .map(|(s, i, t)| Reference {
                            sender: s.clone(),
                            identifier: i.clone(),
                            sent: *t,
                        })
                        .collect()
                },
                incidents: None,
                infos,
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn export_round_trips(alert in alert()) {
        cap::validate(&alert).unwrap();
        let xml = cap::to_xml(&alert);
        let parsed = cap::parse(xml.as_bytes()).map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
        prop_assert_eq!(parsed.version, CapVersion::V1_2);
        prop_assert_eq!(parsed.alert, alert);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = cap::parse(&bytes);
    }

    #[test]
    fn mangled_base_never_panics(cut in 0usize..BASE.len(), insert in "[<>&;!\\[\\]a-z]{0,8}") {
        if BASE.is_char_boundary(cut) {
            let doc = format!("{}{}{}", &BASE[..cut], insert, &BASE[cut..]);
            let _ = cap::parse(doc.as_bytes());
        }
    }
}

//! Element tree to [`Alert`], then the standard's semantic rules ([`validate`]).

use chrono::{DateTime, FixedOffset};

use super::xml::Element;
use super::{CapError, CapVersion, ParsedCap};
use crate::model::*;

/// Reads the root element as a CAP alert and validates it.
pub fn alert(root: &Element) -> Result<ParsedCap, CapError> {
    let version = match (&root.ns, root.name.as_str()) {
        (Some(ns), "alert") => CapVersion::from_namespace(ns),
        _ => None,
    }
    .ok_or_else(|| CapError::NotCap {
        found: match &root.ns {
            Some(ns) => format!("<{}> in namespace {ns}", root.name),
            None => format!("<{}> without a namespace", root.name),
        },
    })?;
    let mut reader = Reader {
        version,
        skipped: Vec::new(),
    };
    let alert = reader.alert(root)?;
    validate(&alert)?;
    Ok(ParsedCap {
        alert,
        version,
        skipped: reader.skipped,
        enveloped: false,
    })
}

struct Reader {
    version: CapVersion,
    skipped: Vec<String>,
}

/// The CAP children of one element, by name, with duplicate and unknown checks.
struct Children<'a> {
    parent: &'static str,
    items: Vec<(&'a str, &'a Element)>,
}

impl<'a> Children<'a> {
    fn one(&self, name: &'static str) -> Result<Option<&'a Element>, CapError> {
        let mut found = self.items.iter().filter(|(n, _)| *n == name);
        let first = found.next().map(|(_, e)| *e);
        if found.next().is_some() {
            return Err(CapError::Duplicate {
                parent: self.parent,
                element: name.to_owned(),
            });
        }
        Ok(first)
    }

    fn many(&self, name: &'static str) -> impl Iterator<Item = &'a Element> + '_ {
        self.items
            .iter()
            .filter(move |(n, _)| *n == name)
            .map(|(_, e)| *e)
    }

    fn required_text(&self, name: &'static str) -> Result<String, CapError> {
        self.opt_text(name)?.ok_or(CapError::Missing {
            parent: self.parent,
            element: name,
        })
    }

    /// Trimmed text; empty reads as absent.
    fn opt_text(&self, name: &'static str) -> Result<Option<String>, CapError> {
        match self.one(name)? {
            None => Ok(None),
            Some(e) => {
                let t = text(e)?;
                Ok((!t.is_empty()).then_some(t))
            }
        }
    }

    /// Trimmed text; present-but-empty stays `Some("")` so enumeration checks can name it.
    fn required_raw(&self, name: &'static str) -> Result<String, CapError> {
        match self.one(name)? {
            None => Err(CapError::Missing {
                parent: self.parent,
                element: name,
            }),
            Some(e) => text(e),
        }
    }

    fn required_enum<T>(
        &self,
        name: &'static str,
        parse: impl Fn(&str) -> Option<T>,
        expected: impl Fn() -> String,
    ) -> Result<T, CapError> {
        let value = self.required_raw(name)?;
        parse(&value).ok_or_else(|| CapError::NotInEnum {
            element: name,
            value,
            expected: expected(),
        })
    }

    fn opt_time(&self, name: &'static str) -> Result<Option<DateTime<FixedOffset>>, CapError> {
        self.opt_text(name)?
            .map(|v| parse_time(name, &v))
            .transpose()
    }
}

fn text(e: &Element) -> Result<String, CapError> {
    if !e.children.is_empty() {
        return Err(CapError::NotText {
            element: e.name.clone(),
        });
    }
    Ok(e.text.trim().to_owned())
}

/// CAP date-time: exactly `YYYY-MM-DDThh:mm:ss±hh:mm`.
pub fn parse_time(element: &'static str, value: &str) -> Result<DateTime<FixedOffset>, CapError> {
    let bad = || CapError::BadDateTime {
        element,
        value: value.to_owned(),
    };
    let b = value.as_bytes();
    let shape_ok = b.len() == 25
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 | 22 => *c == b':',
            19 => *c == b'+' || *c == b'-',
            _ => c.is_ascii_digit(),
        });
    if !shape_ok {
        return Err(bad());
    }
    DateTime::parse_from_rfc3339(value).map_err(|_| bad())
}

impl Reader {
    fn children<'a>(
        &mut self,
        parent: &'static str,
        e: &'a Element,
        known: &[&'static str],
    ) -> Result<Children<'a>, CapError> {
        let own = self.version.namespace();
        let mut items = Vec::new();
        for child in &e.children {
            match child.ns.as_deref() {
                Some(ns) if ns == own => {
                    let Some(name) = known.iter().find(|k| **k == child.name) else {
                        return Err(CapError::Unknown {
                            parent,
                            element: child.name.clone(),
                        });
                    };
                    items.push((*name, child));
                }
                Some(ns) if CapVersion::from_namespace(ns).is_some() => {
                    return Err(CapError::MixedNamespace {
                        element: child.name.clone(),
                        ns: ns.to_owned(),
                        version: self.version,
                    });
                }
                ns => self
                    .skipped
                    .push(format!("{{{}}}{}", ns.unwrap_or(""), child.name)),
            }
        }
        Ok(Children { parent, items })
    }

    fn alert(&mut self, e: &Element) -> Result<Alert, CapError> {
        const KNOWN: &[&str] = &[
            "identifier",
            "sender",
            "password", // CAP 1.0 only; deprecated, never kept
            "sent",
            "status",
            "msgType",
            "source",
            "scope",
            "restriction",
            "addresses",
            "code",
            "note",
            "references",
            "incidents",
            "info",
        ];
        let c = self.children("alert", e, KNOWN)?;
        let sent = parse_time("sent", &c.required_raw("sent")?)?;
        let msg_type = c.required_enum("msgType", MsgType::from_cap, MsgType::expected)?;
        let references = match c.opt_text("references")? {
            None => Vec::new(),
            Some(list) => list
                .split_whitespace()
                .map(parse_reference)
                .collect::<Result<_, _>>()?,
        };
        let infos = c
            .many("info")
            .map(|i| self.info(i))
            .collect::<Result<_, _>>()?;
        Ok(Alert {
            identifier: c.required_text("identifier")?,
            sender: c.required_text("sender")?,
            sent,
            status: c.required_enum("status", Status::from_cap, Status::expected)?,
            msg_type,
            source: c.opt_text("source")?,
            scope: c.required_enum("scope", Scope::from_cap, Scope::expected)?,
            restriction: c.opt_text("restriction")?,
            addresses: c.opt_text("addresses")?,
            codes: c
                .many("code")
                .map(text)
                .filter(|t| !matches!(t, Ok(s) if s.is_empty()))
                .collect::<Result<_, _>>()?,
            note: c.opt_text("note")?,
            references,
            incidents: c.opt_text("incidents")?,
            infos,
        })
    }

    fn info(&mut self, e: &Element) -> Result<Info, CapError> {
        const KNOWN: &[&str] = &[
            "language",
            "category",
            "event",
            "responseType",
            "urgency",
            "severity",
            "certainty",
            "audience",
            "eventCode",
            "effective",
            "onset",
            "expires",
            "senderName",
            "headline",
            "description",
            "instruction",
            "web",
            "contact",
            "parameter",
            "resource",
            "area",
        ];
        let c = self.children("info", e, KNOWN)?;
        let categories = c
            .many("category")
            .map(|e| enum_text(e, "category", Category::from_cap, Category::expected))
            .collect::<Result<Vec<_>, _>>()?;
        if categories.is_empty() {
            return Err(CapError::Missing {
                parent: "info",
                element: "category",
            });
        }
        let certainty = {
            let value = c.required_raw("certainty")?;
            // CAP 1.1 §3.2.2: "Very Likely" (1.0) is to be treated as "Likely".
            let mapped = if self.version != CapVersion::V1_2 && value == "Very Likely" {
                "Likely"
            } else {
                value.as_str()
            };
            Certainty::from_cap(mapped).ok_or_else(|| CapError::NotInEnum {
                element: "certainty",
                value: value.clone(),
                expected: Certainty::expected(),
            })?
        };
        Ok(Info {
            language: c.opt_text("language")?.unwrap_or_else(|| "en-US".into()),
            categories,
            event: c.required_text("event")?,
            response_types: c
                .many("responseType")
                .map(|e| {
                    enum_text(
                        e,
                        "responseType",
                        ResponseType::from_cap,
                        ResponseType::expected,
                    )
                })
                .collect::<Result<_, _>>()?,
            urgency: c.required_enum("urgency", Urgency::from_cap, Urgency::expected)?,
            severity: c.required_enum("severity", Severity::from_cap, Severity::expected)?,
            certainty,
            audience: c.opt_text("audience")?,
            event_codes: c
                .many("eventCode")
                .map(|e| self.pair("eventCode", e))
                .collect::<Result<_, _>>()?,
            effective: c.opt_time("effective")?,
            onset: c.opt_time("onset")?,
            expires: c.opt_time("expires")?,
            sender_name: c.opt_text("senderName")?,
            headline: c.opt_text("headline")?,
            description: c.opt_text("description")?,
            instruction: c.opt_text("instruction")?,
            web: c.opt_text("web")?,
            contact: c.opt_text("contact")?,
            parameters: c
                .many("parameter")
                .map(|e| self.pair("parameter", e))
                .collect::<Result<_, _>>()?,
            resources: c
                .many("resource")
                .map(|e| self.resource(e))
                .collect::<Result<_, _>>()?,
            areas: c
                .many("area")
                .map(|e| self.area(e))
                .collect::<Result<_, _>>()?,
        })
    }

    fn pair(&mut self, parent: &'static str, e: &Element) -> Result<ValuePair, CapError> {
        let c = self.children(parent, e, &["valueName", "value"])?;
        Ok(ValuePair {
            value_name: c.required_raw("valueName")?,
            value: c.required_raw("value")?,
        })
    }

    fn resource(&mut self, e: &Element) -> Result<Resource, CapError> {
        const KNOWN: &[&str] = &[
            "resourceDesc",
            "mimeType",
            "size",
            "uri",
            "derefUri",
            "digest",
        ];
        let c = self.children("resource", e, KNOWN)?;
        let mime_type = match (c.opt_text("mimeType")?, self.version) {
            (Some(m), _) => m,
            (None, CapVersion::V1_2) => {
                return Err(CapError::Missing {
                    parent: "resource",
                    element: "mimeType",
                });
            }
            (None, _) => "application/octet-stream".into(),
        };
        let size = c
            .opt_text("size")?
            .map(|s| {
                s.parse::<u64>().map_err(|_| CapError::BadNumber {
                    element: "size",
                    value: s,
                })
            })
            .transpose()?;
        Ok(Resource {
            resource_desc: c.required_text("resourceDesc")?,
            mime_type,
            size,
            uri: c.opt_text("uri")?,
            deref_uri: c.opt_text("derefUri")?,
            digest: c.opt_text("digest")?,
        })
    }

    fn area(&mut self, e: &Element) -> Result<Area, CapError> {
        const KNOWN: &[&str] = &[
            "areaDesc", "polygon", "circle", "geocode", "altitude", "ceiling",
        ];
        let c = self.children("area", e, KNOWN)?;
        let number = |name: &'static str| -> Result<Option<f64>, CapError> {
            c.opt_text(name)?
                .map(|s| parse_number(name, &s))
                .transpose()
        };
        Ok(Area {
            area_desc: c.required_text("areaDesc")?,
            polygons: c
                .many("polygon")
                .map(text)
                .filter(|t| !matches!(t, Ok(s) if s.is_empty()))
                .map(|t| t.and_then(|t| parse_polygon(&t)))
                .collect::<Result<_, _>>()?,
            circles: c
                .many("circle")
                .map(text)
                .filter(|t| !matches!(t, Ok(s) if s.is_empty()))
                .map(|t| t.and_then(|t| parse_circle(&t)))
                .collect::<Result<_, _>>()?,
            geocodes: c
                .many("geocode")
                .map(|e| self.pair("geocode", e))
                .collect::<Result<_, _>>()?,
            altitude: number("altitude")?,
            ceiling: number("ceiling")?,
        })
    }
}

fn enum_text<T>(
    e: &Element,
    element: &'static str,
    parse: impl Fn(&str) -> Option<T>,
    expected: impl Fn() -> String,
) -> Result<T, CapError> {
    let value = text(e)?;
    parse(&value).ok_or_else(|| CapError::NotInEnum {
        element,
        value,
        expected: expected(),
    })
}

fn parse_number(element: &'static str, s: &str) -> Result<f64, CapError> {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| CapError::BadNumber {
            element,
            value: s.to_owned(),
        })
}

fn parse_reference(entry: &str) -> Result<Reference, CapError> {
    let bad = |detail: &str| CapError::BadReference {
        entry: entry.to_owned(),
        detail: detail.to_owned(),
    };
    let parts: Vec<&str> = entry.split(',').collect();
    let [sender, identifier, sent] = parts[..] else {
        return Err(bad("expected three comma-separated parts"));
    };
    if sender.is_empty() || identifier.is_empty() {
        return Err(bad("sender and identifier must not be empty"));
    }
    let sent = parse_time("references", sent).map_err(|_| bad("sent is not a CAP date-time"))?;
    Ok(Reference {
        sender: sender.to_owned(),
        identifier: identifier.to_owned(),
        sent,
    })
}

fn parse_point(pair: &str) -> Result<Point, String> {
    let (lat, lon) = pair
        .split_once(',')
        .ok_or_else(|| format!("point {pair:?} is not lat,lon"))?;
    let num = |s: &str| s.trim().parse::<f64>().ok().filter(|v| v.is_finite());
    let (Some(lat), Some(lon)) = (num(lat), num(lon)) else {
        return Err(format!("point {pair:?} is not two numbers"));
    };
    let point = Point { lat, lon };
    check_point(point)?;
    Ok(point)
}

fn check_point(p: Point) -> Result<(), String> {
    if !(-90.0..=90.0).contains(&p.lat) || !(-180.0..=180.0).contains(&p.lon) {
        return Err(format!(
            "point {},{} is outside latitude -90..90 / longitude -180..180",
            p.lat, p.lon
        ));
    }
    Ok(())
}

pub fn parse_polygon(text: &str) -> Result<Polygon, CapError> {
    let points = text
        .split_whitespace()
        .map(parse_point)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|detail| CapError::BadPolygon { detail })?;
    Ok(Polygon { points })
}

pub fn parse_circle(text: &str) -> Result<Circle, CapError> {
    let bad = |detail: String| CapError::BadCircle {
        value: text.to_owned(),
        detail,
    };
    let mut parts = text.split_whitespace();
    let (Some(center), Some(radius), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad(
            "expected a point and a radius separated by a space".into()
        ));
    };
    let center = parse_point(center).map_err(bad)?;
    let radius_km = radius
        .parse::<f64>()
        .ok()
        .filter(|r| r.is_finite() && *r >= 0.0)
        .ok_or_else(|| bad(format!("radius {radius:?} is not a number >= 0")))?;
    Ok(Circle { center, radius_km })
}

fn check_identifier(element: &'static str, value: &str) -> Result<(), CapError> {
    let bad = value.is_empty()
        || value
            .chars()
            .any(|c| c.is_whitespace() || c == ',' || c == '<' || c == '&');
    if bad {
        return Err(CapError::BadIdentifier {
            element,
            value: value.to_owned(),
        });
    }
    Ok(())
}

/// The standard's rules that hold between elements. [`super::parse`] runs it on every
/// document; [`super::to_xml`] callers (and the lifecycle) run it on alerts built in code.
pub fn validate(alert: &Alert) -> Result<(), CapError> {
    check_identifier("identifier", &alert.identifier)?;
    check_identifier("sender", &alert.sender)?;
    if matches!(alert.msg_type, MsgType::Update | MsgType::Cancel) && alert.references.is_empty() {
        return Err(CapError::ReferencesRequired {
            msg_type: alert.msg_type,
        });
    }
    for r in &alert.references {
        let entry = format!("{},{},{}", r.sender, r.identifier, r.sent.to_rfc3339());
        for (element, value) in [("sender", &r.sender), ("identifier", &r.identifier)] {
            if check_identifier(element, value).is_err() {
                return Err(CapError::BadReference {
                    entry,
                    detail: format!("{element} must not contain spaces, commas, '<' or '&'"),
                });
            }
        }
    }
    let non_empty = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.trim().is_empty());
    match alert.scope {
        Scope::Restricted if !non_empty(&alert.restriction) => {
            return Err(CapError::RestrictionRequired);
        }
        Scope::Private if !non_empty(&alert.addresses) => return Err(CapError::AddressesRequired),
        _ => {}
    }
    for info in &alert.infos {
        if info.categories.is_empty() {
            return Err(CapError::Missing {
                parent: "info",
                element: "category",
            });
        }
        if info.event.trim().is_empty() {
            return Err(CapError::Missing {
                parent: "info",
                element: "event",
            });
        }
        if let Some(expires) = info.expires
            && expires < alert.sent
        {
            return Err(CapError::ExpiresBeforeSent {
                element: "expires",
                value: expires.to_rfc3339(),
                sent: alert.sent.to_rfc3339(),
            });
        }
        for area in &info.areas {
            validate_area(area)?;
        }
    }
    Ok(())
}

fn validate_area(area: &Area) -> Result<(), CapError> {
    if area.area_desc.trim().is_empty() {
        return Err(CapError::Missing {
            parent: "area",
            element: "areaDesc",
        });
    }
    for polygon in &area.polygons {
        let points = &polygon.points;
        if points.len() < 4 {
            return Err(CapError::BadPolygon {
                detail: format!(
                    "has {} points; a closed ring needs at least 4",
                    points.len()
                ),
            });
        }
        if points.first() != points.last() {
            return Err(CapError::BadPolygon {
                detail: "is not closed: the first and last points must be the same".into(),
            });
        }
        for p in points {
            check_point(*p).map_err(|detail| CapError::BadPolygon { detail })?;
        }
    }
    for circle in &area.circles {
        let value = format!(
            "{},{} {}",
            circle.center.lat, circle.center.lon, circle.radius_km
        );
        check_point(circle.center).map_err(|detail| CapError::BadCircle {
            value: value.clone(),
            detail,
        })?;
        if !(circle.radius_km.is_finite() && circle.radius_km >= 0.0) {
            return Err(CapError::BadCircle {
                value,
                detail: "radius must be a number >= 0".into(),
            });
        }
    }
    match (area.altitude, area.ceiling) {
        (None, Some(_)) => Err(CapError::CeilingWithoutAltitude),
        (Some(altitude), Some(ceiling)) if ceiling < altitude => {
            Err(CapError::CeilingBelowAltitude { altitude, ceiling })
        }
        _ => Ok(()),
    }
}

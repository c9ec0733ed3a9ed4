//! [`Alert`] to CAP 1.2 XML, in the schema's element order.

use std::fmt::Write;

use chrono::{DateTime, FixedOffset};

use super::NS_1_2;
use crate::model::*;

/// Writes `alert` as a CAP 1.2 document (UTF-8, with an XML declaration). Run
/// [`super::validate`] first when the alert was built in code: this function writes what it
/// is given.
pub fn to_xml(alert: &Alert) -> String {
    let mut w = Writer::default();
    w.out
        .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(w.out, "<alert xmlns=\"{NS_1_2}\">");
    w.depth = 1;
    w.leaf("identifier", &alert.identifier);
    w.leaf("sender", &alert.sender);
    w.leaf("sent", &time(&alert.sent));
    w.leaf("status", alert.status.as_cap());
    w.leaf("msgType", alert.msg_type.as_cap());
    w.opt("source", &alert.source);
    w.leaf("scope", alert.scope.as_cap());
    w.opt("restriction", &alert.restriction);
    w.opt("addresses", &alert.addresses);
    for code in &alert.codes {
        w.leaf("code", code);
    }
    w.opt("note", &alert.note);
    if !alert.references.is_empty() {
        let refs: Vec<String> = alert
            .references
            .iter()
            .map(|r| format!("{},{},{}", r.sender, r.identifier, time(&r.sent)))
            .collect();
        w.leaf("references", &refs.join(" "));
    }
    w.opt("incidents", &alert.incidents);
    for info in &alert.infos {
        w.info(info);
    }
    w.out.push_str("</alert>\n");
    w.out
}

fn time(t: &DateTime<FixedOffset>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

#[derive(Default)]
struct Writer {
    out: String,
    depth: usize,
}

impl Writer {
    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    fn open(&mut self, name: &str) {
        self.indent();
        let _ = writeln!(self.out, "<{name}>");
        self.depth += 1;
    }

    fn close(&mut self, name: &str) {
        self.depth -= 1;
        self.indent();
        let _ = writeln!(self.out, "</{name}>");
    }

    fn leaf(&mut self, name: &str, value: &str) {
        self.indent();
        let _ = writeln!(self.out, "<{name}>{}</{name}>", escape(value));
    }

    fn opt(&mut self, name: &str, value: &Option<String>) {
        if let Some(v) = value {
            self.leaf(name, v);
        }
    }

    fn pair(&mut self, name: &str, pair: &ValuePair) {
        self.open(name);
        self.leaf("valueName", &pair.value_name);
        self.leaf("value", &pair.value);
        self.close(name);
    }

    fn info(&mut self, info: &Info) {
        self.open("info");
        self.leaf("language", &info.language);
        for c in &info.categories {
            self.leaf("category", c.as_cap());
        }
        self.leaf("event", &info.event);
        for r in &info.response_types {
            self.leaf("responseType", r.as_cap());
        }
        self.leaf("urgency", info.urgency.as_cap());
        self.leaf("severity", info.severity.as_cap());
        self.leaf("certainty", info.certainty.as_cap());
        self.opt("audience", &info.audience);
        for p in &info.event_codes {
            self.pair("eventCode", p);
        }
        for (name, t) in [
            ("effective", info.effective),
            ("onset", info.onset),
            ("expires", info.expires),
        ] {
            if let Some(t) = t {
                self.leaf(name, &time(&t));
            }
        }
        self.opt("senderName", &info.sender_name);
        self.opt("headline", &info.headline);
        self.opt("description", &info.description);
        self.opt("instruction", &info.instruction);
        self.opt("web", &info.web);
        self.opt("contact", &info.contact);
        for p in &info.parameters {
            self.pair("parameter", p);
        }
        for r in &info.resources {
            self.open("resource");
            self.leaf("resourceDesc", &r.resource_desc);
            self.leaf("mimeType", &r.mime_type);
            if let Some(size) = r.size {
                self.leaf("size", &size.to_string());
            }
            self.opt("uri", &r.uri);
            self.opt("derefUri", &r.deref_uri);
            self.opt("digest", &r.digest);
            self.close("resource");
        }
        for a in &info.areas {
            self.area(a);
        }
        self.close("info");
    }

    fn area(&mut self, area: &Area) {
        self.open("area");
        self.leaf("areaDesc", &area.area_desc);
        for p in &area.polygons {
            let points: Vec<String> = p
                .points
                .iter()
                .map(|p| format!("{},{}", p.lat, p.lon))
                .collect();
            self.leaf("polygon", &points.join(" "));
        }
        for c in &area.circles {
            self.leaf(
                "circle",
                &format!("{},{} {}", c.center.lat, c.center.lon, c.radius_km),
            );
        }
        for g in &area.geocodes {
            self.pair("geocode", g);
        }
        if let Some(a) = area.altitude {
            self.leaf("altitude", &a.to_string());
        }
        if let Some(c) = area.ceiling {
            self.leaf("ceiling", &c.to_string());
        }
        self.close("area");
    }
}

/// Escapes character data; carriage returns as references so they survive parsing.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

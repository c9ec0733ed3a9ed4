//! EDXL-DE 1.0 envelopes (`urn:oasis:names:tc:emergency:EDXL:DE:1.0`), as L-Alert (災害情報
//! 共有システム) and other relays send CAP: the envelope is opened and its CAP alert read like
//! any other; an envelope carrying anything else is refused with what it carries.
//!
//! The alert is `EDXLDistribution/contentObject/xmlContent/embeddedXMLContent/alert`; the
//! envelope's own routing (distributionID, senderID, targetArea) is not trusted for anything:
//! trust comes from the credential the document was posted with.

use super::xml::Element;
use super::{CapError, CapVersion};

pub const NS_DE_1_0: &str = "urn:oasis:names:tc:emergency:EDXL:DE:1.0";

pub fn is_envelope(root: &Element) -> bool {
    root.name == "EDXLDistribution" && root.ns.as_deref() == Some(NS_DE_1_0)
}

/// The first CAP alert inside an envelope; `None` when `root` is no envelope.
pub fn embedded_cap(root: &Element) -> Result<Option<&Element>, CapError> {
    if !is_envelope(root) {
        return Ok(None);
    }
    let mut found = Vec::new();
    for object in root.children_named("contentObject") {
        if let Some(xml) = object.child("xmlContent") {
            for embedded in xml.children_named("embeddedXMLContent") {
                for content in &embedded.children {
                    let cap = content.name == "alert"
                        && content
                            .ns
                            .as_deref()
                            .and_then(CapVersion::from_namespace)
                            .is_some();
                    if cap {
                        return Ok(Some(content));
                    }
                    found.push(format!(
                        "<{}> in {}",
                        content.name,
                        content.ns.as_deref().unwrap_or("no namespace")
                    ));
                }
            }
        }
        if object.child("nonXMLContent").is_some() {
            found.push("non-XML content (a file or a link)".into());
        }
    }
    Err(CapError::EnvelopeWithoutCap {
        found: if found.is_empty() {
            "nothing".into()
        } else {
            found.join(", ")
        },
    })
}

#[cfg(test)]
mod tests {
    use super::super::{parse, parse_with_limit};

    const CAP: &str = r#"<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>L-ALERT-1</identifier><sender>lalert@example.jp</sender>
  <sent>2026-12-07T10:00:00+09:00</sent><status>Actual</status><msgType>Alert</msgType>
  <scope>Public</scope>
  <info><language>ja-JP</language><category>Safety</category><event>避難指示</event>
    <urgency>Immediate</urgency><severity>Severe</severity><certainty>Observed</certainty>
    <headline>避難指示（北区）</headline>
    <area><areaDesc>大阪市北区</areaDesc><geocode><valueName>LGCode</valueName><value>27127</value></geocode></area>
  </info></alert>"#;

    fn envelope(content: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<EDXLDistribution xmlns="urn:oasis:names:tc:emergency:EDXL:DE:1.0">
  <distributionID>d-1</distributionID><senderID>lalert@example.jp</senderID>
  <dateTimeSent>2026-12-07T10:00:00+09:00</dateTimeSent><distributionStatus>Actual</distributionStatus>
  <distributionType>Report</distributionType><combinedConfidentiality>UNCLASSIFIED</combinedConfidentiality>
  <contentObject><xmlContent><embeddedXMLContent>{content}</embeddedXMLContent></xmlContent></contentObject>
</EDXLDistribution>"#
        )
    }

    #[test]
    fn the_cap_inside_an_envelope_reads_like_the_cap_itself() {
        let wrapped = envelope(CAP);
        let inside = parse(wrapped.as_bytes()).unwrap();
        let bare = parse(CAP.as_bytes()).unwrap();
        assert_eq!(inside.alert, bare.alert);
        assert!(inside.enveloped && !bare.enveloped);
    }

    #[test]
    fn an_envelope_without_cap_is_refused_with_what_it_carries() {
        let other = envelope(r#"<report xmlns="urn:example:other"><x/></report>"#);
        let err = parse(other.as_bytes()).unwrap_err();
        assert_eq!(err.rule(), "edxl-content");
        assert!(
            err.to_string().contains("<report> in urn:example:other"),
            "{err}"
        );
        let empty = envelope("");
        assert!(
            parse(empty.as_bytes())
                .unwrap_err()
                .to_string()
                .contains("nothing")
        );
        // The envelope is held to the same limits as CAP.
        let hostile = format!(
            "<!DOCTYPE EDXLDistribution [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{}",
            envelope("&x;")
        );
        assert_eq!(
            parse_with_limit(hostile.as_bytes(), 1 << 20)
                .unwrap_err()
                .rule(),
            "no-doctype"
        );
    }
}

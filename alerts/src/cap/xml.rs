//! Bytes to a small element tree, safely: a size limit, the prolog's encoding decoded (UTF-8,
//! US-ASCII, ISO-8859-1) or refused, any DOCTYPE refused before anything in it is looked at,
//! entity references other than the five XML ones refused (never resolved, never fetched),
//! nesting depth and element count bounded.

use std::borrow::Cow;

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use super::CapError;

/// Deeper than any real CAP document (alert/info/area/geocode/value is 5).
pub const MAX_DEPTH: usize = 64;
/// Far above real documents (the 459 KB IPAWS sample has a few hundred elements).
pub const MAX_ELEMENTS: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// The namespace URI the element's name resolved to, if any.
    pub ns: Option<String>,
    pub name: String,
    pub children: Vec<Element>,
    /// The concatenated character data directly inside the element.
    pub text: String,
    /// Attributes by local name (no namespace), values unescaped; at most [`MAX_ATTRIBUTES`].
    pub attributes: Vec<(String, String)>,
}

/// Attributes read per element (Atom's `link` has four).
pub const MAX_ATTRIBUTES: usize = 32;

impl Element {
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The direct children named `name`.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }

    pub fn child<'a>(&'a self, name: &'a str) -> Option<&'a Element> {
        self.children_named(name).next()
    }
}

/// Decodes `bytes` according to the XML prolog. UTF-8 (with or without BOM) and US-ASCII are
/// read as they are, ISO-8859-1 byte for byte; anything else is refused by name.
pub fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, CapError> {
    if bytes.starts_with(&[0xFE, 0xFF]) || bytes.starts_with(&[0xFF, 0xFE]) {
        return Err(CapError::UnsupportedEncoding("UTF-16".into()));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let declared = declared_encoding(bytes).unwrap_or_else(|| "UTF-8".into());
    let key = declared.to_ascii_lowercase().replace('_', "-");
    match key.as_str() {
        "utf-8" | "utf8" => utf8(bytes, &declared),
        "us-ascii" | "ascii" => {
            if let Some(pos) = bytes.iter().position(|b| !b.is_ascii()) {
                return Err(CapError::BadEncoding {
                    encoding: declared,
                    detail: format!("non-ASCII byte 0x{:02X} at offset {pos}", bytes[pos]),
                });
            }
            utf8(bytes, &declared)
        }
        "iso-8859-1" | "latin1" | "latin-1" | "l1" | "iso8859-1" | "iso-ir-100" => {
            // Each byte is the code point of the same value: no table needed.
            Ok(Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()))
        }
        _ => Err(CapError::UnsupportedEncoding(declared)),
    }
}

fn utf8<'a>(bytes: &'a [u8], declared: &str) -> Result<Cow<'a, str>, CapError> {
    std::str::from_utf8(bytes)
        .map(Cow::Borrowed)
        .map_err(|e| CapError::BadEncoding {
            encoding: declared.to_owned(),
            detail: format!("invalid byte sequence at offset {}", e.valid_up_to()),
        })
}

/// The `encoding` pseudo-attribute of a leading `<?xml ...?>`, read as ASCII.
fn declared_encoding(bytes: &[u8]) -> Option<String> {
    if !bytes.starts_with(b"<?xml") {
        return None;
    }
    let end = bytes.windows(2).take(512).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&bytes[..end]).ok()?;
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?;
    let rest = rest.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    Some(value[..value.find(quote)?].to_owned())
}

/// Parses `text` into its root element.
pub fn parse_tree(text: &str) -> Result<Element, CapError> {
    let mut reader = NsReader::from_str(text);
    let config = reader.config_mut();
    config.expand_empty_elements = true;
    config.check_end_names = true;
    config.trim_text(false);

    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    loop {
        let position = reader.buffer_position();
        let (resolved, event) = reader
            .read_resolved_event()
            .map_err(|e| CapError::Xml(format!("after byte {position}: {e}")))?;
        let ns = match resolved {
            ResolveResult::Bound(ns) => Some(ns.as_ref().to_owned()),
            ResolveResult::Unbound => None,
            ResolveResult::Unknown(prefix) => {
                return Err(CapError::Xml(format!(
                    "undeclared namespace prefix {prefix:?}"
                )));
            }
        };
        match event {
            Event::DocType(_) => return Err(CapError::Doctype),
            Event::Start(start) => {
                if root.is_some() {
                    return Err(CapError::Xml("content after the root element".into()));
                }
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(CapError::TooManyElements(MAX_ELEMENTS));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(CapError::TooDeep(MAX_DEPTH));
                }
                let name = start.local_name().as_ref().to_owned();
                let mut attributes = Vec::new();
                for attr in start.attributes() {
                    let attr = attr.map_err(|e| CapError::Xml(format!("bad attribute: {e}")))?;
                    if attributes.len() == MAX_ATTRIBUTES {
                        return Err(CapError::Xml(format!(
                            "<{name}> has more than {MAX_ATTRIBUTES} attributes"
                        )));
                    }
                    // Predefined entities and character references only: anything else is an
                    // error here, never a lookup.
                    let value = attr
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|e| CapError::Xml(format!("bad attribute value: {e}")))?;
                    attributes.push((
                        attr.key.local_name().as_ref().to_owned(),
                        value.into_owned(),
                    ));
                }
                stack.push(Element {
                    ns,
                    name,
                    children: Vec::new(),
                    text: String::new(),
                    attributes,
                });
            }
            Event::End(_) => {
                let done = stack
                    .pop()
                    .ok_or_else(|| CapError::Xml("unbalanced end tag".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(text) => push_text(&mut stack, &text.xml10_content())?,
            Event::CData(data) => push_text(&mut stack, &data.xml10_content())?,
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c,
                    Ok(None) => match predefined(&reference.xml10_content()) {
                        Some(c) => c,
                        None => {
                            return Err(CapError::UndefinedEntity(
                                reference.xml10_content().into_owned(),
                            ));
                        }
                    },
                    Err(e) => return Err(CapError::Xml(format!("bad character reference: {e}"))),
                };
                push_text(&mut stack, resolved.encode_utf8(&mut [0; 4]))?;
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Empty(_) => unreachable!("expand_empty_elements is on"),
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(CapError::Xml(format!(
            "document ends inside <{}>",
            stack.last().map_or("", |e| e.name.as_str())
        )));
    }
    root.ok_or_else(|| CapError::Xml("no root element".into()))
}

fn push_text(stack: &mut [Element], text: &str) -> Result<(), CapError> {
    match stack.last_mut() {
        Some(top) => {
            top.text.push_str(text);
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err(CapError::Xml("text outside the root element".into())),
    }
}

fn predefined(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prolog_encodings() {
        let latin = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>Usulut\xE1n</a>";
        assert_eq!(
            parse_tree(&decode(latin).unwrap()).unwrap().text,
            "Usulután"
        );
        let utf = "<?xml version='1.0' encoding = 'UTF-8'?><a>大阪</a>";
        assert_eq!(
            parse_tree(&decode(utf.as_bytes()).unwrap()).unwrap().text,
            "大阪"
        );
        assert!(matches!(
            decode(b"<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><a/>"),
            Err(CapError::UnsupportedEncoding(e)) if e == "Shift_JIS"
        ));
        assert!(matches!(
            decode(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>\xE1</a>"),
            Err(CapError::BadEncoding { .. })
        ));
        assert!(matches!(
            decode(b"\xFF\xFE<\0a\0/\0>\0"),
            Err(CapError::UnsupportedEncoding(_))
        ));
    }

    #[test]
    fn entities_and_doctypes() {
        let ok = parse_tree("<a>&lt;&amp;&#176;&#x41;</a>").unwrap();
        assert_eq!(ok.text, "<&°A");
        assert_eq!(
            parse_tree("<a>&xxe;</a>"),
            Err(CapError::UndefinedEntity("xxe".into()))
        );
        assert_eq!(
            parse_tree("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>"),
            Err(CapError::Doctype)
        );
    }

    #[test]
    fn limits() {
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert_eq!(parse_tree(&deep), Err(CapError::TooDeep(MAX_DEPTH)));
        let ok = "<a>".repeat(MAX_DEPTH) + &"</a>".repeat(MAX_DEPTH);
        assert!(parse_tree(&ok).is_ok());
        assert!(matches!(parse_tree("<a><b></a>"), Err(CapError::Xml(_))));
        assert!(matches!(parse_tree("<a/><b/>"), Err(CapError::Xml(_))));
    }

    #[test]
    fn namespaces_resolve_through_prefixes() {
        let tree =
            parse_tree("<c:a xmlns:c=\"urn:x\"><c:b>t</c:b><d xmlns=\"urn:y\"/></c:a>").unwrap();
        assert_eq!(tree.ns.as_deref(), Some("urn:x"));
        assert_eq!(tree.children[0].name, "b");
        assert_eq!(tree.children[0].ns.as_deref(), Some("urn:x"));
        assert_eq!(tree.children[1].ns.as_deref(), Some("urn:y"));
    }
}

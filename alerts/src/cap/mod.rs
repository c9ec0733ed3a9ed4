//! CAP (Common Alerting Protocol) in and out.
//!
//! [`parse`] reads a CAP 1.2 document (1.1 and 1.0 are read too and mapped onto the 1.2
//! model) into an [`Alert`], checking the standard's rules; every refusal is a [`CapError`]
//! whose [`CapError::rule`] names the rule broken. [`to_xml`] writes an [`Alert`] as CAP 1.2.
//!
//! Safety: no DOCTYPE is accepted and no entity is ever resolved (the parser has no way to
//! fetch or read anything: it sees only the bytes it is given), the input size is limited
//! before decoding, and nesting and element counts are bounded.
//!
//! Deliberate leniencies, each seen in real feeds: elements in other namespaces (XML-DSig
//! `<Signature>`, vendor extensions) are skipped and listed in [`ParsedCap::skipped`];
//! optional elements that are empty (`<note/>`, `<addresses></addresses>`) read as absent;
//! element order is not enforced. An empty `<references/>` is *not* lenient: on an Update or
//! Cancel it is refused, because a screen could not know what to replace.

pub mod edxl;
mod read;
mod write;
pub mod xml;

use crate::model::Alert;

pub use read::validate;
pub use write::to_xml;

/// The CAP 1.2 namespace, the only one [`to_xml`] writes.
pub const NS_1_2: &str = "urn:oasis:names:tc:emergency:cap:1.2";
pub const NS_1_1: &str = "urn:oasis:names:tc:emergency:cap:1.1";
pub const NS_1_0: &str = "http://www.incident.com/cap/1.0";

/// Largest document accepted by [`parse`]: 1 MiB (the largest real sample, an IPAWS message
/// with inline audio, is 459 KB).
pub const MAX_BYTES: usize = 1 << 20;

/// Which CAP version a document declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CapVersion {
    V1_0,
    V1_1,
    V1_2,
}

impl CapVersion {
    pub fn from_namespace(ns: &str) -> Option<Self> {
        match ns {
            NS_1_2 => Some(Self::V1_2),
            NS_1_1 => Some(Self::V1_1),
            NS_1_0 => Some(Self::V1_0),
            _ => None,
        }
    }

    pub fn namespace(self) -> &'static str {
        match self {
            Self::V1_0 => NS_1_0,
            Self::V1_1 => NS_1_1,
            Self::V1_2 => NS_1_2,
        }
    }
}

impl std::fmt::Display for CapVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::V1_0 => "1.0",
            Self::V1_1 => "1.1",
            Self::V1_2 => "1.2",
        })
    }
}

/// A parsed document.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedCap {
    pub alert: Alert,
    /// The version the document declared; the alert itself is in the 1.2 model.
    pub version: CapVersion,
    /// Elements in foreign namespaces that were skipped, as `{namespace}name` (e.g. an
    /// XML-DSig signature, which is not verified here).
    pub skipped: Vec<String>,
    /// The alert came inside an EDXL-DE envelope (as L-Alert sends it).
    pub enveloped: bool,
}

/// Parses a CAP document of at most [`MAX_BYTES`].
pub fn parse(bytes: &[u8]) -> Result<ParsedCap, CapError> {
    parse_with_limit(bytes, MAX_BYTES)
}

/// Parses a CAP document of at most `max_bytes`.
pub fn parse_with_limit(bytes: &[u8], max_bytes: usize) -> Result<ParsedCap, CapError> {
    if bytes.len() > max_bytes {
        return Err(CapError::TooLarge {
            size: bytes.len(),
            limit: max_bytes,
        });
    }
    let text = xml::decode(bytes)?;
    let root = xml::parse_tree(&text)?;
    match edxl::embedded_cap(&root)? {
        Some(alert) => Ok(ParsedCap {
            enveloped: true,
            ..read::alert(alert)?
        }),
        None => read::alert(&root),
    }
}

/// Why a CAP document was refused. Each message names the rule and what to send instead.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CapError {
    #[error("document is {size} bytes, over the {limit}-byte limit; send a smaller document")]
    TooLarge { size: usize, limit: usize },
    #[error(
        "DOCTYPE/DTD refused: CAP needs none, and entities declared in one are never resolved \
         (XML external entity protection); remove the <!DOCTYPE ...> declaration"
    )]
    Doctype,
    #[error(
        "entity reference &{0}; refused: only &lt; &gt; &amp; &apos; &quot; and character \
         references are allowed, entities are never resolved"
    )]
    UndefinedEntity(String),
    #[error("encoding {0:?} is not supported; send UTF-8 (US-ASCII and ISO-8859-1 are also read)")]
    UnsupportedEncoding(String),
    #[error("document is not valid {encoding}: {detail}")]
    BadEncoding { encoding: String, detail: String },
    #[error("malformed XML: {0}")]
    Xml(String),
    #[error("elements nested deeper than {0} levels refused")]
    TooDeep(usize),
    #[error("more than {0} elements refused")]
    TooManyElements(usize),
    #[error(
        "not a CAP alert: the root element is {found}; expected <alert> in {NS_1_2} \
         (CAP 1.1 and 1.0 are also read). Atom feeds are indexes: fetch each entry's CAP link"
    )]
    NotCap { found: String },
    #[error(
        "<{element}> is in namespace {ns}, but the document is CAP {version}; mixed versions refused"
    )]
    MixedNamespace {
        element: String,
        ns: String,
        version: CapVersion,
    },
    #[error("<{parent}> lacks the required <{element}>")]
    Missing {
        parent: &'static str,
        element: &'static str,
    },
    #[error("<{element}> appears more than once in <{parent}>; CAP allows one")]
    Duplicate {
        parent: &'static str,
        element: String,
    },
    #[error("unknown element <{element}> in <{parent}>")]
    Unknown {
        parent: &'static str,
        element: String,
    },
    #[error("<{element}> must contain text only, not elements")]
    NotText { element: String },
    #[error("<{element}> {value:?} is not one of: {expected}")]
    NotInEnum {
        element: &'static str,
        value: String,
        expected: String,
    },
    #[error(
        "<{element}> {value:?} is not a CAP date-time: use YYYY-MM-DDThh:mm:ss+hh:mm \
         (UTC as -00:00 or +00:00; CAP forbids 'Z' and fractions of a second)"
    )]
    BadDateTime {
        element: &'static str,
        value: String,
    },
    #[error("<{element}> {value:?} must be non-empty without spaces, commas, '<' or '&'")]
    BadIdentifier {
        element: &'static str,
        value: String,
    },
    #[error(
        "msgType {msg_type} requires <references> naming the earlier message(s) as \
         sender,identifier,sent"
    )]
    ReferencesRequired { msg_type: crate::model::MsgType },
    #[error("<references> entry {entry:?} is not sender,identifier,sent: {detail}")]
    BadReference { entry: String, detail: String },
    #[error("scope Restricted requires a non-empty <restriction> saying who may see it")]
    RestrictionRequired,
    #[error("scope Private requires a non-empty <addresses> listing the recipients")]
    AddressesRequired,
    #[error("<polygon> {detail}")]
    BadPolygon { detail: String },
    #[error("<circle> {value:?} is not \"lat,lon radius-km\": {detail}")]
    BadCircle { value: String, detail: String },
    #[error("<{element}> {value:?} is not a finite number")]
    BadNumber {
        element: &'static str,
        value: String,
    },
    #[error(
        "<{element}> {value} is before <sent> {sent}; a message cannot expire before it is sent"
    )]
    ExpiresBeforeSent {
        element: &'static str,
        value: String,
        sent: String,
    },
    #[error(
        "EDXL-DE envelope without a CAP alert (it carries: {found}); only CAP content is taken \
         from an envelope"
    )]
    EnvelopeWithoutCap { found: String },
    #[error("<ceiling> given without <altitude>")]
    CeilingWithoutAltitude,
    #[error("<ceiling> {ceiling} is below <altitude> {altitude}")]
    CeilingBelowAltitude { altitude: f64, ceiling: f64 },
}

impl CapError {
    /// A short, stable name of the rule broken, for tests, logs and API responses.
    pub fn rule(&self) -> &'static str {
        match self {
            CapError::TooLarge { .. } => "size-limit",
            CapError::Doctype => "no-doctype",
            CapError::UndefinedEntity(_) => "no-entities",
            CapError::UnsupportedEncoding(_) | CapError::BadEncoding { .. } => "encoding",
            CapError::Xml(_) => "well-formed-xml",
            CapError::TooDeep(_) => "depth-limit",
            CapError::TooManyElements(_) => "element-limit",
            CapError::NotCap { .. } => "cap-root",
            CapError::MixedNamespace { .. } => "one-namespace",
            CapError::Missing { .. } => "required-element",
            CapError::Duplicate { .. } => "single-element",
            CapError::Unknown { .. } => "known-elements",
            CapError::NotText { .. } => "text-only",
            CapError::NotInEnum { .. } => "enumeration",
            CapError::BadDateTime { .. } => "date-time",
            CapError::BadIdentifier { .. } => "identifier-characters",
            CapError::ReferencesRequired { .. } => "references-required",
            CapError::BadReference { .. } => "references-format",
            CapError::RestrictionRequired => "restriction-required",
            CapError::AddressesRequired => "addresses-required",
            CapError::BadPolygon { .. } => "polygon",
            CapError::BadCircle { .. } => "circle",
            CapError::BadNumber { .. } => "number",
            CapError::ExpiresBeforeSent { .. } => "expires-after-sent",
            CapError::EnvelopeWithoutCap { .. } => "edxl-content",
            CapError::CeilingWithoutAltitude | CapError::CeilingBelowAltitude { .. } => {
                "ceiling-altitude"
            }
        }
    }
}

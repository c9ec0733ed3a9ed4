//! The alert document, aligned element for element with CAP 1.2 (OASIS, 2010). CAP 1.0 and 1.1
//! documents map onto the same types (see [`crate::cap`]); export always writes 1.2.
//!
//! Times keep the offset they were sent with (`2003-06-17T14:57:00-07:00` stays `-07:00`) so
//! an export shows the sender's own clock; compare them as instants.

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

/// A CAP `<alert>`: one message about one event, in one or more languages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Unique per sender; no spaces, commas, `<` or `&`.
    pub identifier: String,
    /// Who sent it, unique worldwide (an e-mail address or URI); same character rules.
    pub sender: String,
    pub sent: DateTime<FixedOffset>,
    pub status: Status,
    pub msg_type: MsgType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub scope: Scope,
    /// Required when `scope` is `Restricted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restriction: Option<String>,
    /// Required when `scope` is `Private`: space-separated, quoted when an address has spaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addresses: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub codes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The earlier messages this one updates, cancels, acknowledges or reports an error on.
    /// Required (non-empty) for every msgType but `Alert`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incidents: Option<String>,
    /// One per language (CAP allows several per language; we keep them all in order).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub infos: Vec<Info>,
}

impl Alert {
    /// A public first message (`Alert`, no references, codes or note) in the given
    /// languages: how the controller issues an alert from a template or its own infos.
    pub fn new(
        identifier: String,
        sender: String,
        sent: DateTime<FixedOffset>,
        status: Status,
        infos: Vec<Info>,
    ) -> Alert {
        Alert {
            identifier,
            sender,
            sent,
            status,
            msg_type: MsgType::Alert,
            source: None,
            scope: Scope::Public,
            restriction: None,
            addresses: None,
            codes: Vec::new(),
            note: None,
            references: Vec::new(),
            incidents: None,
            infos,
        }
    }

    /// Whether the message must never look real on a screen (CAP `Exercise` or `Test`).
    pub fn is_drill(&self) -> bool {
        matches!(self.status, Status::Exercise | Status::Test)
    }

    /// When the alert stops applying: the latest `expires` of its infos, or `None` when an
    /// info has none (that info applies until cancelled). The latest, because a screen must
    /// keep the last language's instruction as long as any language's still applies.
    pub fn expires(&self) -> Option<DateTime<Utc>> {
        if self.infos.is_empty() {
            return None;
        }
        self.infos
            .iter()
            .map(|info| info.expires.map(|e| e.with_timezone(&Utc)))
            .collect::<Option<Vec<_>>>()?
            .into_iter()
            .max()
    }

    /// This message as a `references` entry of a later Update or Cancel.
    pub fn as_reference(&self) -> Reference {
        Reference {
            sender: self.sender.clone(),
            identifier: self.identifier.clone(),
            sent: self.sent,
        }
    }

    /// The CAP Cancel for this message (and every message it referenced), for export after
    /// staff cancel an alert. `identifier` must be new; `sent` is the time of the cancel.
    pub fn cancellation(&self, identifier: &str, sent: DateTime<FixedOffset>) -> Alert {
        let mut references = self.references.clone();
        references.push(self.as_reference());
        Alert {
            identifier: identifier.to_owned(),
            sender: self.sender.clone(),
            sent,
            status: self.status,
            msg_type: MsgType::Cancel,
            source: self.source.clone(),
            scope: self.scope,
            restriction: self.restriction.clone(),
            addresses: self.addresses.clone(),
            codes: self.codes.clone(),
            note: None,
            references,
            incidents: self.incidents.clone(),
            infos: Vec::new(),
        }
    }

    /// The info in `lang` (exact, then same primary subtag), else the first one.
    pub fn info_for(&self, lang: &str) -> Option<&Info> {
        let primary = |l: &str| l.split('-').next().unwrap_or("").to_ascii_lowercase();
        self.infos
            .iter()
            .find(|i| i.language.eq_ignore_ascii_case(lang))
            .or_else(|| {
                self.infos
                    .iter()
                    .find(|i| primary(&i.language) == primary(lang))
            })
            .or_else(|| self.infos.first())
    }
}

macro_rules! cap_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in the order of the standard.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The exact CAP spelling.
            pub fn as_cap(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Parses the exact CAP spelling (case-sensitive, as the schema is).
            pub fn from_cap(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// The accepted spellings, for error messages.
            pub fn expected() -> String {
                [$($text),+].join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_cap())
            }
        }
    };
}

cap_enum!(
    /// CAP `status`: how to handle the message.
    Status {
        /// Actionable by all targeted recipients.
        Actual = "Actual",
        /// Only for designated exercise participants: a drill (訓練).
        Exercise = "Exercise",
        /// Messages supporting the alert network's internal functions; never displayed.
        System = "System",
        /// Technical testing only (試験); all recipients ignore it.
        Test = "Test",
        /// A preliminary template or draft, not actionable.
        Draft = "Draft",
    }
);

cap_enum!(
    /// CAP `msgType`.
    MsgType {
        Alert = "Alert",
        /// Supersedes the messages in `references`.
        Update = "Update",
        /// Cancels the messages in `references`.
        Cancel = "Cancel",
        Ack = "Ack",
        Error = "Error",
    }
);

cap_enum!(
    /// CAP `scope`: who may receive it.
    Scope {
        Public = "Public",
        Restricted = "Restricted",
        Private = "Private",
    }
);

cap_enum!(
    /// CAP `category`.
    Category {
        Geo = "Geo",
        Met = "Met",
        Safety = "Safety",
        Security = "Security",
        Rescue = "Rescue",
        Fire = "Fire",
        Health = "Health",
        Env = "Env",
        Transport = "Transport",
        Infra = "Infra",
        Cbrne = "CBRNE",
        Other = "Other",
    }
);

cap_enum!(
    /// CAP `responseType`: the recommended action.
    ResponseType {
        Shelter = "Shelter",
        Evacuate = "Evacuate",
        Prepare = "Prepare",
        Execute = "Execute",
        Avoid = "Avoid",
        Monitor = "Monitor",
        Assess = "Assess",
        AllClear = "AllClear",
        None = "None",
    }
);

cap_enum!(
    /// CAP `urgency`.
    Urgency {
        Immediate = "Immediate",
        Expected = "Expected",
        Future = "Future",
        Past = "Past",
        Unknown = "Unknown",
    }
);

cap_enum!(
    /// CAP `severity`.
    Severity {
        Extreme = "Extreme",
        Severe = "Severe",
        Moderate = "Moderate",
        Minor = "Minor",
        Unknown = "Unknown",
    }
);

cap_enum!(
    /// CAP `certainty` (CAP 1.0's `Very Likely` is read as `Likely`, as CAP 1.1 directs).
    Certainty {
        Observed = "Observed",
        Likely = "Likely",
        Possible = "Possible",
        Unlikely = "Unlikely",
        Unknown = "Unknown",
    }
);

/// One entry of `references`: `sender,identifier,sent`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    pub sender: String,
    pub identifier: String,
    pub sent: DateTime<FixedOffset>,
}

/// A `valueName` / `value` pair (eventCode, parameter, geocode).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ValuePair {
    pub value_name: String,
    pub value: String,
}

impl ValuePair {
    pub fn new(value_name: &str, value: &str) -> Self {
        Self {
            value_name: value_name.to_owned(),
            value: value.to_owned(),
        }
    }
}

/// A CAP `<info>`: the event in one language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Info {
    /// RFC 3066 language; CAP's default when absent is `en-US`.
    pub language: String,
    pub categories: Vec<Category>,
    pub event: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_types: Vec<ResponseType>,
    pub urgency: Urgency,
    pub severity: Severity,
    pub certainty: Certainty,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub event_codes: Vec<ValuePair>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective: Option<DateTime<FixedOffset>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onset: Option<DateTime<FixedOffset>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<DateTime<FixedOffset>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headline: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instruction: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<ValuePair>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Resource>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub areas: Vec<Area>,
}

impl Info {
    /// An info with the required elements only.
    pub fn new(
        language: &str,
        category: Category,
        event: &str,
        urgency: Urgency,
        severity: Severity,
        certainty: Certainty,
    ) -> Self {
        Info {
            language: language.to_owned(),
            categories: vec![category],
            event: event.to_owned(),
            response_types: Vec::new(),
            urgency,
            severity,
            certainty,
            audience: None,
            event_codes: Vec::new(),
            effective: None,
            onset: None,
            expires: None,
            sender_name: None,
            headline: None,
            description: None,
            instruction: None,
            web: None,
            contact: None,
            parameters: Vec::new(),
            resources: Vec::new(),
            areas: Vec::new(),
        }
    }
}

/// A CAP `<resource>`: a file with more information (image, audio, map).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    pub resource_desc: String,
    /// Required in 1.2; a 1.0/1.1 resource without one reads as `application/octet-stream`.
    pub mime_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// The resource inline, base64; kept verbatim and never decoded here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deref_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// A CAP `<area>`: where the info applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Area {
    pub area_desc: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub polygons: Vec<Polygon>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub circles: Vec<Circle>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub geocodes: Vec<ValuePair>,
    /// Feet above mean sea level (CAP's unit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub altitude: Option<f64>,
    /// Feet; only with `altitude`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ceiling: Option<f64>,
}

impl Area {
    pub fn described(desc: &str) -> Self {
        Area {
            area_desc: desc.to_owned(),
            polygons: Vec::new(),
            circles: Vec::new(),
            geocodes: Vec::new(),
            altitude: None,
            ceiling: None,
        }
    }
}

/// WGS 84 coordinates in decimal degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub lat: f64,
    pub lon: f64,
}

impl Point {
    pub fn new(lat: f64, lon: f64) -> Self {
        Self { lat, lon }
    }
}

/// A closed ring: at least 4 points, the first equal to the last.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Polygon {
    pub points: Vec<Point>,
}

/// A centre and a radius in kilometres.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Circle {
    pub center: Point,
    pub radius_km: f64,
}

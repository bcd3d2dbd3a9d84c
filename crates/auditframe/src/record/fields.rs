//! The parsed fields of one audit event, and the small serde visitors shared by every shape.
//!
//! Strings borrow from the input where they contain no escapes (`Cow::Borrowed`); values of
//! columns that are not projected are skipped by the JSON parser without being decoded.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::schema::{Column, Projection};
use crate::timestamp::parse_timestamp;

/// One audit event's fields, as far as the projection asks for them.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct EventFields<'a> {
    pub time_generated: Option<i64>,
    pub request_received: Option<i64>,
    pub stage_timestamp: Option<i64>,
    /// The v1beta1 top-level `timestamp`, used for `time_generated` when `stageTimestamp` is absent.
    pub legacy_timestamp: Option<i64>,
    pub kind: Option<Cow<'a, str>>,
    pub audit_id: Option<Cow<'a, str>>,
    pub stage: Option<Cow<'a, str>>,
    pub level: Option<Cow<'a, str>>,
    pub verb: Option<Cow<'a, str>>,
    pub user_agent: Option<Cow<'a, str>>,
    pub username: Option<Cow<'a, str>>,
    pub request_uri: Option<Cow<'a, str>>,
    pub source_ip: Option<Cow<'a, str>>,
    pub resource: Option<Cow<'a, str>>,
    pub subresource: Option<Cow<'a, str>>,
    pub namespace: Option<Cow<'a, str>>,
    pub name: Option<Cow<'a, str>>,
    pub api_group: Option<Cow<'a, str>>,
    pub api_version: Option<Cow<'a, str>>,
    pub status_code: Option<i32>,
    pub category: Option<Cow<'a, str>>,
    /// The Azure resource ID of the record (`_ResourceId`, `ResourceId`, `resourceId`).
    pub resource_id: Option<Cow<'a, str>>,
    /// `kind:webhook` entries from admission annotations, comma-separated (see
    /// [`Column::AdmissionWebhooks`]).
    pub admission_webhooks: Option<String>,
    /// The `apiserver.latency.k8s.io/*` annotations in nanoseconds, in the order of
    /// [`Column::LATENCY_ANNOTATIONS`].
    pub latency: [Option<i64>; 9],
    /// Whether any key that only audit events carry was seen (used to reject non-events).
    pub looks_like_event: bool,
    /// Whether the event text was cut short and only its complete members were read.
    pub truncated: bool,
}

impl EventFields<'_> {
    /// The same fields, owning their strings.
    pub(crate) fn into_owned(self) -> EventFields<'static> {
        let o = |c: Option<Cow<'_, str>>| c.map(|c| Cow::Owned(c.into_owned()));
        EventFields {
            time_generated: self.time_generated,
            request_received: self.request_received,
            stage_timestamp: self.stage_timestamp,
            legacy_timestamp: self.legacy_timestamp,
            kind: o(self.kind),
            audit_id: o(self.audit_id),
            stage: o(self.stage),
            level: o(self.level),
            verb: o(self.verb),
            user_agent: o(self.user_agent),
            username: o(self.username),
            request_uri: o(self.request_uri),
            source_ip: o(self.source_ip),
            resource: o(self.resource),
            subresource: o(self.subresource),
            namespace: o(self.namespace),
            name: o(self.name),
            api_group: o(self.api_group),
            api_version: o(self.api_version),
            status_code: self.status_code,
            category: o(self.category),
            resource_id: o(self.resource_id),
            admission_webhooks: self.admission_webhooks,
            latency: self.latency,
            looks_like_event: self.looks_like_event,
            truncated: self.truncated,
        }
    }
}

/// The managed cluster's name in an Azure resource ID (the segment after
/// `/managedClusters/`, any case), lower-cased; `None` when the ID names no managed cluster.
pub(crate) fn cluster_of(resource_id: &str) -> Option<Cow<'_, str>> {
    const MARKER: &[u8] = b"/managedclusters/";
    let at = resource_id
        .as_bytes()
        .windows(MARKER.len())
        .position(|w| w.eq_ignore_ascii_case(MARKER))?;
    let name = resource_id.get(at + MARKER.len()..)?;
    let name = name.split('/').next().unwrap_or("");
    if name.is_empty() {
        return None;
    }
    Some(if name.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    })
}

/// Which JSON values a record parser must decode, precomputed from a [`Projection`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Need {
    pub time_generated: bool,
    pub request_received: bool,
    pub stage_timestamp: bool,
    pub audit_id: bool,
    pub stage: bool,
    pub level: bool,
    pub verb: bool,
    pub user_agent: bool,
    pub username: bool,
    pub request_uri: bool,
    pub source_ip: bool,
    pub object_ref: bool,
    pub resource: bool,
    pub subresource: bool,
    pub namespace: bool,
    pub name: bool,
    pub api_group: bool,
    pub api_version: bool,
    pub status_code: bool,
    pub admission_webhooks: bool,
    /// Any `lat_*_ns` column.
    pub latency: bool,
    /// `cluster` or `resource_id`.
    pub resource_id: bool,
}

impl Need {
    pub fn from_projection(p: Projection) -> Need {
        let latency = p.contains(Column::LatencyMs);
        let n = Need {
            time_generated: p.contains(Column::TimeGenerated),
            request_received: latency || p.contains(Column::RequestReceived),
            stage_timestamp: latency || p.contains(Column::StageTimestamp),
            audit_id: p.contains(Column::AuditId),
            stage: p.contains(Column::Stage),
            level: p.contains(Column::Level),
            verb: p.contains(Column::Verb),
            user_agent: p.contains(Column::UserAgent),
            username: p.contains(Column::Username),
            request_uri: p.contains(Column::RequestUri),
            source_ip: p.contains(Column::SourceIp),
            object_ref: false,
            resource: p.contains(Column::Resource),
            subresource: p.contains(Column::Subresource),
            namespace: p.contains(Column::Namespace),
            name: p.contains(Column::Name),
            api_group: p.contains(Column::ApiGroup),
            api_version: p.contains(Column::ApiVersion),
            status_code: p.contains(Column::StatusCode),
            admission_webhooks: p.contains(Column::AdmissionWebhooks),
            latency: Column::LATENCY_ANNOTATIONS
                .iter()
                .any(|(c, _)| p.contains(*c)),
            resource_id: p.contains(Column::Cluster) || p.contains(Column::ResourceId),
        };
        Need {
            object_ref: n.resource
                || n.subresource
                || n.namespace
                || n.name
                || n.api_group
                || n.api_version,
            ..n
        }
    }

    /// Whether the `annotations` object must be read at all.
    #[inline]
    pub fn annotations(&self) -> bool {
        self.admission_webhooks || self.latency
    }

    /// Whether the annotation `key` holds a value the projection needs (cheap: the keys of
    /// other annotations are skipped without decoding their values).
    #[inline]
    pub fn annotation_key(&self, key: &[u8]) -> bool {
        (self.latency && key.starts_with(Column::LATENCY_ANNOTATION_PREFIX.as_bytes()))
            || (self.admission_webhooks && names_a_webhook(key))
    }
}

/// Whether an annotation key contains `webhook.admission.k8s.io/`. The needle's only `/` is
/// its last byte, so every occurrence ends at a `/` of the key far enough in: checking what
/// precedes each such `/` is the same test as a substring search, without building a searcher
/// per key (which was 3.5 % of an all-columns read) or calling one for a short key.
#[inline]
fn names_a_webhook(key: &[u8]) -> bool {
    const NEEDLE: &[u8] = b"webhook.admission.k8s.io/";
    (NEEDLE.len() - 1..key.len()).any(|slash| {
        key.get(slash) == Some(&b'/') && key.get(..=slash).is_some_and(|h| h.ends_with(NEEDLE))
    })
}

/// Side channel from the visitors to the error classifier: which field was being read and
/// whether a timestamp failed (serde errors do not carry that distinction).
#[derive(Debug, Default)]
pub(crate) struct Ctx {
    pub field: &'static str,
    pub bad_timestamp: bool,
}

/// A nullable JSON string, borrowed from the input when it holds no escapes.
pub(crate) struct OptStr<'a>(pub Option<Cow<'a, str>>);

impl<'de> de::Deserialize<'de> for OptStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OptStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or null")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(OptStr(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(OptStr(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(OptStr(Some(Cow::Owned(v))))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(OptStr(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(OptStr(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// Any JSON value: a string is kept, anything else is skipped (for values read only in some
/// cases, which must not be type-checked otherwise).
pub(crate) struct MaybeStr<'a>(pub Option<Cow<'a, str>>);

impl<'de> de::Deserialize<'de> for MaybeStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MaybeStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(MaybeStr(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(MaybeStr(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(MaybeStr(Some(Cow::Owned(v))))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(MaybeStr(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(MaybeStr(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(MaybeStr(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(MaybeStr(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(MaybeStr(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(MaybeStr(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(MaybeStr(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map
                    .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(MaybeStr(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// A timestamp kept as text because its column was not projected, parsed where it is needed
/// after all (the time of a log line): `None` for no or empty text.
pub(crate) fn late_timestamp(field: &str, text: Option<&str>) -> Result<Option<i64>, String> {
    match text {
        None => Ok(None),
        Some("") => Ok(None),
        Some(t) => parse_timestamp(t)
            .map(Some)
            .map_err(|e| format!("`{field}`: {e}: {t:?}")),
    }
}

/// Reads the next map value as a nullable string, noting the field for error messages.
pub(crate) fn next_str<'de, A: MapAccess<'de>>(
    map: &mut A,
    ctx: &mut Ctx,
    field: &'static str,
) -> Result<Option<Cow<'de, str>>, A::Error> {
    ctx.field = field;
    Ok(map.next_value::<OptStr<'de>>()?.0)
}

/// Reads the next map value as a nullable RFC 3339 timestamp.
pub(crate) fn next_timestamp<'de, A: MapAccess<'de>>(
    map: &mut A,
    ctx: &mut Ctx,
    field: &'static str,
) -> Result<Option<i64>, A::Error> {
    ctx.field = field;
    match map.next_value::<OptStr<'de>>()?.0 {
        None => Ok(None),
        Some(s) if s.is_empty() => Ok(None),
        Some(s) => match parse_timestamp(&s) {
            Ok(ns) => Ok(Some(ns)),
            Err(e) => {
                ctx.bad_timestamp = true;
                Err(de::Error::custom(format_args!("`{field}`: {e}: {s:?}")))
            }
        },
    }
}

/// Skips the next map value without decoding it.
#[inline]
pub(crate) fn skip<'de, A: MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    map.next_value::<IgnoredAny>().map(|_| ())
}

/// A JSON object key, borrowed when it has no escapes.
pub(crate) struct Key<'a>(pub Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Where a dynamic column that arrived as JSON text (`"{\"username\":…}"`) is kept until the
/// enclosing record is parsed; it is then parsed with the same visitor.
pub(crate) type Pending<'a> = Option<Cow<'a, str>>;

/// Runs `visit` for an object value, or — when `text` is given — stores a string value there
/// for a second pass (Log Analytics dynamic columns exported as JSON strings). `null` and
/// the Azure CLI's `"None"` are null.
macro_rules! object_or_text {
    ($name:ident, $expect:literal, |$slf:ident, $map:ident| $body:block) => {
        impl<'de> Visitor<'de> for $name<'_, 'de> {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str($expect)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut $map: A) -> Result<(), A::Error> {
                let $slf = self;
                $body
                Ok(())
            }
            fn visit_unit<E: de::Error>(self) -> Result<(), E> {
                Ok(())
            }
            fn visit_none<E: de::Error>(self) -> Result<(), E> {
                Ok(())
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<(), E> {
                self.take_text(Cow::Borrowed(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
                self.take_text(Cow::Owned(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<(), E> {
                self.take_text(Cow::Owned(v))
            }
        }
        impl<'de> DeserializeSeed<'de> for $name<'_, 'de> {
            type Value = ();
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
                d.deserialize_any(self)
            }
        }
        impl<'de> $name<'_, 'de> {
            fn take_text<E: de::Error>(self, v: Cow<'de, str>) -> Result<(), E> {
                match self.text {
                    Some(slot) => {
                        if v != "None" && !v.trim().is_empty() {
                            *slot = Some(v);
                        }
                        Ok(())
                    }
                    None => Err(de::Error::invalid_type(de::Unexpected::Str(&v), &$expect)),
                }
            }
        }
    };
}

/// `user` / `User`: only `username` is read.
pub(crate) struct UserSeed<'f, 'a> {
    pub out: &'f mut EventFields<'a>,
    pub ctx: &'f mut Ctx,
    pub text: Option<&'f mut Pending<'a>>,
}

object_or_text!(UserSeed, "a user object", |s, map| {
    while let Some(k) = map.next_key::<Key<'de>>()? {
        match &*k.0 {
            "username" => s.out.username = next_str(&mut map, s.ctx, "user.username")?,
            _ => skip(&mut map)?,
        }
    }
});

/// `objectRef` / `ObjectRef`.
pub(crate) struct ObjectRefSeed<'f, 'a> {
    pub out: &'f mut EventFields<'a>,
    pub ctx: &'f mut Ctx,
    pub need: &'f Need,
    pub text: Option<&'f mut Pending<'a>>,
}

object_or_text!(ObjectRefSeed, "an objectRef object", |s, map| {
    while let Some(k) = map.next_key::<Key<'de>>()? {
        let (n, o, c) = (s.need, &mut *s.out, &mut *s.ctx);
        match &*k.0 {
            "resource" if n.resource => o.resource = next_str(&mut map, c, "objectRef.resource")?,
            "subresource" if n.subresource => {
                o.subresource = next_str(&mut map, c, "objectRef.subresource")?
            }
            "namespace" if n.namespace => {
                o.namespace = next_str(&mut map, c, "objectRef.namespace")?
            }
            "name" if n.name => o.name = next_str(&mut map, c, "objectRef.name")?,
            "apiGroup" if n.api_group => o.api_group = next_str(&mut map, c, "objectRef.apiGroup")?,
            "apiVersion" if n.api_version => {
                o.api_version = next_str(&mut map, c, "objectRef.apiVersion")?
            }
            _ => skip(&mut map)?,
        }
    }
});

/// `responseStatus` / `ResponseStatus`: only `code` is read.
pub(crate) struct StatusSeed<'f, 'a> {
    pub out: &'f mut EventFields<'a>,
    pub ctx: &'f mut Ctx,
    pub text: Option<&'f mut Pending<'a>>,
}

object_or_text!(StatusSeed, "a responseStatus object", |s, map| {
    while let Some(k) = map.next_key::<Key<'de>>()? {
        match &*k.0 {
            "code" => {
                s.ctx.field = "responseStatus.code";
                s.out.status_code = map.next_value::<StatusCode>()?.0;
            }
            _ => skip(&mut map)?,
        }
    }
});

/// An HTTP status code: an integer in `i32` range, or a numeric string (Azure CLI output).
struct StatusCode(Option<i32>);

impl<'de> de::Deserialize<'de> for StatusCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = StatusCode;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer HTTP status code")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<StatusCode, E> {
                i32::try_from(v)
                    .map(|c| StatusCode(Some(c)))
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<StatusCode, E> {
                i32::try_from(v)
                    .map(|c| StatusCode(Some(c)))
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StatusCode, E> {
                v.trim()
                    .parse::<i32>()
                    .map(|c| StatusCode(Some(c)))
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
            }
            fn visit_unit<E: de::Error>(self) -> Result<StatusCode, E> {
                Ok(StatusCode(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<StatusCode, E> {
                Ok(StatusCode(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// `sourceIPs` / `SourceIps`: the first string of an array (or of a JSON-text array).
pub(crate) struct FirstIpSeed<'f, 'a> {
    pub out: &'f mut EventFields<'a>,
    pub ctx: &'f mut Ctx,
    pub text: Option<&'f mut Pending<'a>>,
}

impl<'de> Visitor<'de> for FirstIpSeed<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of IP strings")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.ctx.field = "sourceIPs";
        if let Some(first) = seq.next_element::<OptStr<'de>>()? {
            self.out.source_ip = first.0;
            while seq.next_element::<IgnoredAny>()?.is_some() {}
        }
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<(), E> {
        self.text_value(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.text_value(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<(), E> {
        self.text_value(Cow::Owned(v))
    }
}

impl<'de> FirstIpSeed<'_, 'de> {
    fn text_value<E: de::Error>(self, v: Cow<'de, str>) -> Result<(), E> {
        match self.text {
            // A JSON-text array is parsed in the second pass; a bare address is taken as is.
            Some(slot) if v.trim_start().starts_with('[') => {
                *slot = Some(v);
                Ok(())
            }
            Some(_) => {
                if v != "None" && !v.is_empty() {
                    self.out.source_ip = Some(v);
                }
                Ok(())
            }
            None => Err(de::Error::invalid_type(
                de::Unexpected::Str(&v),
                &"an array of IP strings",
            )),
        }
    }
}

impl<'de> DeserializeSeed<'de> for FirstIpSeed<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// Adds the webhook an admission annotation names to `out` (see
/// [`Column::AdmissionWebhooks`]); other annotations are ignored.
pub(crate) fn add_webhook_annotation(out: &mut Option<String>, key: &str, value: &str) {
    let (kind, name) = if key.starts_with("mutation.webhook.admission.k8s.io/") {
        // The value is JSON text: {"configuration":"…","webhook":"…","mutated":true}.
        #[derive(serde::Deserialize)]
        struct Mutation<'a> {
            #[serde(borrow)]
            webhook: Cow<'a, str>,
        }
        match sonic_rs::from_str::<Mutation<'_>>(value) {
            Ok(m) => ("mutating", m.webhook.into_owned()),
            // An unreadable value still says a mutating webhook ran.
            Err(_) => ("mutating", String::from("?")),
        }
    } else if key.starts_with("failed-open.mutation.webhook.admission.k8s.io/") {
        ("failed-open-mutating", value.to_owned())
    } else if key.starts_with("failed-open.validating.webhook.admission.k8s.io/") {
        ("failed-open-validating", value.to_owned())
    } else {
        return;
    };
    let list = out.get_or_insert_with(String::new);
    if !list.is_empty() {
        list.push(',');
    }
    list.push_str(kind);
    list.push(':');
    // Commas would split the entry; webhook names are DNS names and never hold one.
    list.push_str(&name.replace(',', "%2C"));
}

/// Takes what the projection needs from one annotation: an admission webhook (see
/// [`Column::AdmissionWebhooks`]) or a latency component (`lat_*_ns`). `Err`: the message
/// for a latency value that is not a Go duration (a `field_type` error, as any bad field).
pub(crate) fn add_annotation(
    out: &mut EventFields<'_>,
    need: &Need,
    key: &str,
    value: &str,
) -> Result<(), String> {
    if let Some(component) = key.strip_prefix(Column::LATENCY_ANNOTATION_PREFIX) {
        if need.latency {
            // Other keys under the prefix (`authentication`, `authorization`, future ones)
            // have no column.
            let slot = Column::LATENCY_ANNOTATIONS
                .iter()
                .position(|(_, k)| *k == component)
                .and_then(|i| out.latency.get_mut(i));
            if let Some(slot) = slot {
                let ns = crate::go_duration::parse_go_duration(value)
                    .map_err(|e| format!("`annotations.{key}`: {e}: {value:?}"))?;
                *slot = Some(ns);
            }
        }
    } else if need.admission_webhooks {
        add_webhook_annotation(&mut out.admission_webhooks, key, value);
    }
    Ok(())
}

/// `annotations` / `Annotations`: a string-to-string map; only the admission webhook and
/// latency keys the projection needs are read.
pub(crate) struct AnnotationsSeed<'f, 'a> {
    pub out: &'f mut EventFields<'a>,
    pub need: &'f Need,
    pub ctx: &'f mut Ctx,
    pub text: Option<&'f mut Pending<'a>>,
}

object_or_text!(AnnotationsSeed, "an annotations object", |s, map| {
    s.ctx.field = "annotations";
    while let Some(k) = map.next_key::<Key<'de>>()? {
        if s.need.annotation_key(k.0.as_bytes()) {
            if let Some(v) = next_str(&mut map, s.ctx, "annotations")? {
                add_annotation(s.out, s.need, &k.0, &v).map_err(de::Error::custom)?;
            }
        } else {
            skip(&mut map)?;
        }
    }
});

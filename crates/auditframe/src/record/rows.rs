//! Azure export rows: `AKSAudit` (resource-specific), `AzureDiagnostics` (`log_s`), and the
//! diagnostic-settings archive record (`properties.log`), which Event Hub wraps in `records`.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};

use super::fields::{
    next_str, next_timestamp, skip, AnnotationsSeed, Ctx, EventFields, FirstIpSeed, Key, MaybeStr,
    Need, ObjectRefSeed, Pending, StatusSeed, UserSeed,
};

/// Dynamic columns of an AKSAudit row that arrived as JSON text, parsed in a second pass.
#[derive(Default)]
pub(crate) struct AksPending<'a> {
    pub user: Pending<'a>,
    pub source_ips: Pending<'a>,
    pub object_ref: Pending<'a>,
    pub status: Pending<'a>,
    pub annotations: Pending<'a>,
    /// `Message` of an `AKSControlPlane` row (a log line, not an event).
    pub message: Option<Cow<'a, str>>,
    /// `TimeGenerated` as text when the column is not projected (a log line still needs it).
    pub time_text: Option<Cow<'a, str>>,
}

/// Visits one `AKSAudit` / `AKSAuditAdmin` row.
pub(crate) struct AksRowSeed<'f, 'a> {
    pub out: &'f mut EventFields<'a>,
    pub ctx: &'f mut Ctx,
    pub need: &'f Need,
    pub pending: &'f mut AksPending<'a>,
}

impl<'de> Visitor<'de> for AksRowSeed<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an AKSAudit row object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let AksRowSeed {
            out,
            ctx,
            need,
            pending,
        } = self;
        let mut category_seen = false;
        while let Some(k) = map.next_key::<Key<'de>>()? {
            if matches!(
                &*k.0,
                "AuditId" | "Verb" | "RequestUri" | "Stage" | "StageReceivedTime"
            ) {
                out.looks_like_event = true;
            }
            match &*k.0 {
                "TimeGenerated" if need.time_generated => {
                    out.time_generated = next_timestamp(&mut map, ctx, "TimeGenerated")?
                }
                // Not projected: kept as text, for an `AKSControlPlane` log line's time.
                "TimeGenerated" => pending.time_text = map.next_value::<MaybeStr<'de>>()?.0,
                "RequestReceivedTime" if need.request_received => {
                    out.request_received = next_timestamp(&mut map, ctx, "RequestReceivedTime")?
                }
                "StageReceivedTime" if need.stage_timestamp => {
                    out.stage_timestamp = next_timestamp(&mut map, ctx, "StageReceivedTime")?
                }
                "AuditId" if need.audit_id => out.audit_id = next_str(&mut map, ctx, "AuditId")?,
                "Stage" if need.stage => out.stage = next_str(&mut map, ctx, "Stage")?,
                "Level" if need.level => out.level = next_str(&mut map, ctx, "Level")?,
                "Verb" if need.verb => out.verb = next_str(&mut map, ctx, "Verb")?,
                "RequestUri" if need.request_uri => {
                    out.request_uri = next_str(&mut map, ctx, "RequestUri")?
                }
                "UserAgent" if need.user_agent => {
                    out.user_agent = next_str(&mut map, ctx, "UserAgent")?
                }
                "User" if need.username => {
                    ctx.field = "User";
                    map.next_value_seed(UserSeed {
                        out: &mut *out,
                        ctx: &mut *ctx,
                        text: Some(&mut pending.user),
                    })?
                }
                "SourceIps" if need.source_ip => {
                    ctx.field = "SourceIps";
                    map.next_value_seed(FirstIpSeed {
                        out: &mut *out,
                        ctx: &mut *ctx,
                        text: Some(&mut pending.source_ips),
                    })?
                }
                "ObjectRef" if need.object_ref => {
                    ctx.field = "ObjectRef";
                    map.next_value_seed(ObjectRefSeed {
                        out: &mut *out,
                        ctx: &mut *ctx,
                        need,
                        text: Some(&mut pending.object_ref),
                    })?
                }
                "ResponseStatus" if need.status_code => {
                    ctx.field = "ResponseStatus";
                    map.next_value_seed(StatusSeed {
                        out: &mut *out,
                        ctx: &mut *ctx,
                        text: Some(&mut pending.status),
                    })?
                }
                "Annotations" if need.annotations() => {
                    ctx.field = "Annotations";
                    map.next_value_seed(AnnotationsSeed {
                        out: &mut *out,
                        need,
                        ctx: &mut *ctx,
                        text: Some(&mut pending.annotations),
                    })?
                }
                "Message" => pending.message = next_str(&mut map, ctx, "Message")?,
                // `Type` is the table name; `Category` appears in some exports.
                // `Category` wins over `Type` whatever the key order.
                "Category" => {
                    if let Some(t) = next_str(&mut map, ctx, "Category")? {
                        out.category = Some(category_of_table(t));
                        category_seen = true;
                    }
                }
                "Type" => {
                    if let Some(t) = next_str(&mut map, ctx, "Type")? {
                        if !category_seen {
                            out.category = Some(category_of_table(t));
                        }
                    }
                }
                "_ResourceId" | "ResourceId" if need.resource_id => {
                    out.resource_id = next_str(&mut map, ctx, "_ResourceId")?
                }
                _ => skip(&mut map)?,
            }
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for AksRowSeed<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

/// `AKSAudit` rows are category `kube-audit`, `AKSAuditAdmin` rows `kube-audit-admin`.
pub(crate) fn category_of_table(t: Cow<'_, str>) -> Cow<'static, str> {
    match &*t {
        "AKSAuditAdmin" | "kube-audit-admin" => Cow::Borrowed("kube-audit-admin"),
        "AKSAudit" | "kube-audit" => Cow::Borrowed("kube-audit"),
        other => Cow::Owned(other.to_owned()),
    }
}

/// The outer fields of an `AzureDiagnostics` row or an archive record: a time, a category and
/// the event (or log line) as JSON text.
#[derive(Default)]
pub(crate) struct Envelope<'a> {
    pub time: Option<i64>,
    /// The time as text when `time_generated` is not projected (a log line still needs it).
    pub time_text: Option<Cow<'a, str>>,
    pub category: Option<Cow<'a, str>>,
    pub payload: Option<Cow<'a, str>>,
    /// The payload string's raw content, escapes undecoded (the fast path's): the event is
    /// walked in place and decoded only if that gives up, or for a log line.
    pub payload_raw: Option<&'a [u8]>,
    /// The event when `log` / `log_s` is a JSON object, not text (storage exports write
    /// both): parsed in place by the serde path.
    pub event: Option<Box<EventFields<'a>>>,
    /// The same object's raw JSON (the fast path's), parsed like a native event line.
    pub payload_object: Option<&'a [u8]>,
    /// Archive records whose `properties` arrived as JSON text.
    pub properties_text: Pending<'a>,
    /// Whether the keys identify the shape at all (`log_s`, `properties`).
    pub has_payload_key: bool,
    /// `ResourceId` / `_ResourceId` (AzureDiagnostics), `resourceId` (archive records).
    pub resource_id: Option<Cow<'a, str>>,
}

/// Visits an `AzureDiagnostics` row (`archive == false`) or an archive record (`archive == true`).
pub(crate) struct EnvelopeSeed<'f, 'a> {
    pub out: &'f mut Envelope<'a>,
    pub ctx: &'f mut Ctx,
    pub need: &'f Need,
    pub archive: bool,
}

impl<'de> Visitor<'de> for EnvelopeSeed<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.archive {
            "a diagnostic archive record object"
        } else {
            "an AzureDiagnostics row object"
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let EnvelopeSeed {
            out,
            ctx,
            need,
            archive,
        } = self;
        let need_time = need.time_generated;
        while let Some(k) = map.next_key::<Key<'de>>()? {
            match (&*k.0, archive) {
                ("TimeGenerated", false) | ("time", true) if need_time => {
                    out.time = next_timestamp(
                        &mut map,
                        ctx,
                        if archive { "time" } else { "TimeGenerated" },
                    )?
                }
                ("TimeGenerated", false) | ("time", true) => {
                    out.time_text = map.next_value::<MaybeStr<'de>>()?.0
                }
                ("Category", false) | ("category", true) => {
                    out.category = next_str(&mut map, ctx, "category")?
                }
                ("ResourceId" | "_ResourceId", false) | ("resourceId", true)
                    if need.resource_id =>
                {
                    out.resource_id = next_str(&mut map, ctx, "resourceId")?
                }
                ("log_s", false) => {
                    out.has_payload_key = true;
                    ctx.field = "log_s";
                    map.next_value_seed(PayloadSeed {
                        out: &mut *out,
                        ctx: &mut *ctx,
                        need,
                    })?;
                }
                ("properties", true) => {
                    out.has_payload_key = true;
                    ctx.field = "properties";
                    map.next_value_seed(PropertiesSeed {
                        out: &mut *out,
                        ctx: &mut *ctx,
                        need,
                    })?;
                }
                _ => skip(&mut map)?,
            }
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for EnvelopeSeed<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

/// An archive record's `properties`: `log` holds the event. Also accepts `properties` as
/// JSON text, kept for a second pass.
pub(crate) struct PropertiesSeed<'f, 'a> {
    pub out: &'f mut Envelope<'a>,
    pub ctx: &'f mut Ctx,
    pub need: &'f Need,
}

impl<'de> Visitor<'de> for PropertiesSeed<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a properties object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(k) = map.next_key::<Key<'de>>()? {
            match &*k.0 {
                "log" => {
                    self.ctx.field = "properties.log";
                    map.next_value_seed(PayloadSeed {
                        out: &mut *self.out,
                        ctx: &mut *self.ctx,
                        need: self.need,
                    })?
                }
                _ => skip(&mut map)?,
            }
        }
        Ok(())
    }
    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<(), E> {
        self.out.properties_text = Some(Cow::Borrowed(v));
        Ok(())
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
        self.out.properties_text = Some(Cow::Owned(v.to_owned()));
        Ok(())
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<(), E> {
        self.out.properties_text = Some(Cow::Owned(v));
        Ok(())
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for PropertiesSeed<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// `log_s` / `properties.log`: the event as JSON text (or a log line), null, or — in some
/// storage exports — the event object itself.
pub(crate) struct PayloadSeed<'f, 'a> {
    pub out: &'f mut Envelope<'a>,
    pub ctx: &'f mut Ctx,
    pub need: &'f Need,
}

impl<'de> Visitor<'de> for PayloadSeed<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, an event object or null")
    }
    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<(), E> {
        self.out.payload = Some(Cow::Borrowed(v));
        Ok(())
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
        self.out.payload = Some(Cow::Owned(v.to_owned()));
        Ok(())
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<(), E> {
        self.out.payload = Some(Cow::Owned(v));
        Ok(())
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let mut f = EventFields::default();
        super::native::EventSeed {
            out: &mut f,
            ctx: &mut *self.ctx,
            need: self.need,
        }
        .visit_map(map)?;
        self.out.event = Some(Box::new(f));
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for PayloadSeed<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// The diagnostic category whose log lines auditframe keeps (for the webhook-failure
/// diagnosis); lines of other non-audit categories are counted and dropped.
pub(crate) fn is_kept_log_category(c: &str) -> bool {
    c.eq_ignore_ascii_case("kube-apiserver")
}

/// Whether a diagnostic category carries audit events.
pub(crate) fn is_audit_category(c: &str) -> bool {
    c.eq_ignore_ascii_case("kube-audit") || c.eq_ignore_ascii_case("kube-audit-admin")
}

//! The native `audit.k8s.io` `Event` object (kube-apiserver `--audit-log-path`), which is also
//! what AzureDiagnostics `log_s` and archive `properties.log` hold as JSON text.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};

use super::fields::{
    next_str, next_timestamp, skip, AnnotationsSeed, Ctx, EventFields, FirstIpSeed, Key, Need,
    ObjectRefSeed, StatusSeed, UserSeed,
};

/// Visits one native event object into [`EventFields`].
pub(crate) struct EventSeed<'f, 'a> {
    pub out: &'f mut EventFields<'a>,
    pub ctx: &'f mut Ctx,
    pub need: &'f Need,
}

impl<'de> Visitor<'de> for EventSeed<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an audit event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let EventSeed { out, ctx, need } = self;
        while let Some(k) = map.next_key::<Key<'de>>()? {
            match &*k.0 {
                "kind" => out.kind = next_str(&mut map, ctx, "kind")?,
                "auditID" => {
                    out.looks_like_event = true;
                    if need.audit_id {
                        out.audit_id = next_str(&mut map, ctx, "auditID")?;
                    } else {
                        skip(&mut map)?;
                    }
                }
                "stage" => {
                    out.looks_like_event = true;
                    if need.stage {
                        out.stage = next_str(&mut map, ctx, "stage")?;
                    } else {
                        skip(&mut map)?;
                    }
                }
                "verb" => {
                    out.looks_like_event = true;
                    if need.verb {
                        out.verb = next_str(&mut map, ctx, "verb")?;
                    } else {
                        skip(&mut map)?;
                    }
                }
                "requestURI" => {
                    out.looks_like_event = true;
                    if need.request_uri {
                        out.request_uri = next_str(&mut map, ctx, "requestURI")?;
                    } else {
                        skip(&mut map)?;
                    }
                }
                "level" if need.level => out.level = next_str(&mut map, ctx, "level")?,
                "userAgent" if need.user_agent => {
                    out.user_agent = next_str(&mut map, ctx, "userAgent")?
                }
                "user" if need.username => {
                    ctx.field = "user";
                    map.next_value_seed(UserSeed {
                        out: &mut *out,
                        ctx: &mut *ctx,
                        text: None,
                    })?
                }
                "sourceIPs" if need.source_ip => {
                    ctx.field = "sourceIPs";
                    map.next_value_seed(FirstIpSeed {
                        out: &mut *out,
                        ctx: &mut *ctx,
                        text: None,
                    })?
                }
                "objectRef" if need.object_ref => {
                    ctx.field = "objectRef";
                    map.next_value_seed(ObjectRefSeed {
                        out: &mut *out,
                        ctx: &mut *ctx,
                        need,
                        text: None,
                    })?
                }
                "responseStatus" if need.status_code => {
                    ctx.field = "responseStatus";
                    map.next_value_seed(StatusSeed {
                        out: &mut *out,
                        ctx: &mut *ctx,
                        text: None,
                    })?
                }
                "requestReceivedTimestamp" => {
                    out.looks_like_event = true;
                    if need.request_received {
                        out.request_received =
                            next_timestamp(&mut map, ctx, "requestReceivedTimestamp")?;
                    } else {
                        skip(&mut map)?;
                    }
                }
                "stageTimestamp" => {
                    out.looks_like_event = true;
                    if need.stage_timestamp || need.time_generated {
                        out.stage_timestamp = next_timestamp(&mut map, ctx, "stageTimestamp")?;
                    } else {
                        skip(&mut map)?;
                    }
                }
                "annotations" if need.annotations() => {
                    ctx.field = "annotations";
                    map.next_value_seed(AnnotationsSeed {
                        out: &mut *out,
                        need,
                        ctx: &mut *ctx,
                        text: None,
                    })?
                }
                "timestamp" if need.time_generated => {
                    out.legacy_timestamp = next_timestamp(&mut map, ctx, "timestamp")?
                }
                _ => skip(&mut map)?,
            }
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for EventSeed<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

/// Checks that a parsed native object is an audit event and fills the native
/// `time_generated` rule: `stageTimestamp`, else the v1beta1 `timestamp`, else
/// `requestReceivedTimestamp`.
pub(crate) fn finish_native(f: &mut EventFields<'_>) -> Result<(), &'static str> {
    match f.kind.as_deref() {
        Some("Event") | None => {}
        Some(_) => return Err("`kind` is not `Event`"),
    }
    if !f.looks_like_event {
        return Err("no audit event fields (auditID, stage, verb, requestURI, timestamps)");
    }
    if f.time_generated.is_none() {
        f.time_generated = f
            .stage_timestamp
            .or(f.legacy_timestamp)
            .or(f.request_received);
    }
    Ok(())
}

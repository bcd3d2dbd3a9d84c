//! The records that carry an audit event inside an envelope: `AzureDiagnostics` rows
//! (`log_s`), storage-archive records (`properties.log`) and their Event Hub wrappers — the
//! outer fields, then the event as an object or as JSON text (salvaged when cut short).

use super::*;

/// An `AzureDiagnostics` row or an archive record (alone, or inside an Event Hub message).
pub(super) fn envelope(bytes: &[u8], shape: Shape, need: &Need, sink: &mut dyn Sink, nested: bool) {
    let archive = shape != Shape::AzureDiagnostics;
    let env = match fast::envelope(bytes, archive, need) {
        Some(f) => f.into(),
        None => match envelope_serde(bytes, archive, need, nested) {
            Ok(env) => env,
            Err(e) => return sink.error(e),
        },
    };
    envelope_payload(env, bytes, shape, need, sink);
}

impl<'a> From<fast::FastEnvelope<'a>> for Envelope<'a> {
    fn from(f: fast::FastEnvelope<'a>) -> Self {
        Envelope {
            time: f.time,
            time_text: f.time_text,
            category: f.category,
            payload: None,
            payload_raw: f.payload_raw,
            event: None,
            payload_object: f.payload_object,
            properties_text: None,
            has_payload_key: f.has_payload_key,
            resource_id: f.resource_id,
        }
    }
}

/// The serde path for an envelope: the reference, and what decides when the fast path gives
/// up. `properties` given as JSON text is parsed here too.
pub(super) fn envelope_serde<'a>(
    bytes: &'a [u8],
    archive: bool,
    need: &Need,
    nested: bool,
) -> Result<Envelope<'a>, RecErr> {
    if let Some(msg) = crate::framing::too_deep(bytes) {
        return Err(RecErr::new(SkipReason::Json, msg));
    }
    let mut env = Envelope::default();
    let mut ctx = Ctx::default();
    let seed = EnvelopeSeed {
        out: &mut env,
        ctx: &mut ctx,
        need,
        archive,
    };
    run(bytes, seed).map_err(|e| classify(&e, &ctx, bytes, nested))?;
    if let Some(text) = env.properties_text.take() {
        if let Some(msg) = crate::framing::too_deep(text.as_bytes()) {
            return Err(RecErr::new(
                SkipReason::Json,
                format!("in embedded JSON text: {msg}"),
            ));
        }
        let mut inner = Envelope::default();
        let mut ctx = Ctx::default();
        run(
            text.as_bytes(),
            PropertiesSeed {
                out: &mut inner,
                ctx: &mut ctx,
                need,
            },
        )
        .map_err(|e| classify(&e, &ctx, text.as_bytes(), true))?;
        if let Some(log) = inner.payload {
            env.payload = Some(std::borrow::Cow::Owned(log.into_owned()));
        }
        if let Some(event) = inner.event {
            env.event = Some(Box::new(event.into_owned()));
        }
    }
    Ok(env)
}

/// What an envelope holds: an audit event, a kept log line, or a row of another category.
pub(super) fn envelope_payload<'a>(
    env: Envelope<'a>,
    record: &'a [u8],
    shape: Shape,
    need: &Need,
    sink: &mut dyn Sink,
) {
    let archive = shape != Shape::AzureDiagnostics;
    if !env.has_payload_key {
        let key = if archive { "properties.log" } else { "log_s" };
        return sink.error(RecErr::new(SkipReason::NotAnEvent, format!("no `{key}`")));
    }
    // A log line, or an event the in-place walk gives up on, needs the raw text decoded
    // (the index checked its escapes).
    let decode = |raw: &[u8]| {
        std::str::from_utf8(raw)
            .ok()
            .and_then(crate::scan::unescape)
            .ok_or_else(|| RecErr::new(SkipReason::Json, "invalid string escape"))
    };
    let mut payload = env.payload;
    match env.category.as_deref() {
        Some(c) if is_kept_log_category(c) => {
            let field = if archive { "time" } else { "TimeGenerated" };
            let time = match env.time {
                Some(t) => Some(t),
                None => match fields::late_timestamp(field, env.time_text.as_deref()) {
                    Ok(t) => t,
                    Err(m) => return sink.error(RecErr::new(SkipReason::Timestamp, m)),
                },
            };
            if let Some(raw) = env.payload_raw {
                match decode(raw) {
                    Ok(t) => payload = Some(std::borrow::Cow::Owned(t)),
                    Err(e) => return sink.error(e),
                }
            }
            return match payload.as_deref() {
                Some(line) => sink.log_line(time, c, line.trim_end_matches(['\n', '\r'])),
                None => sink.other_category(),
            };
        }
        Some(c) if !is_audit_category(c) => return sink.other_category(),
        // Archive records without a category (hand-made fixtures) are taken as audit.
        None if !archive => {
            return sink.error(RecErr::new(SkipReason::NotAnEvent, "no `Category`"));
        }
        _ => {}
    }
    let outer = Outer {
        category: env.category.as_deref(),
        resource_id: env.resource_id.as_deref(),
        text: false,
    };
    // The event as an object (storage exports write `properties.log` both ways).
    if let Some(object) = env.payload_object {
        return native_event(object, need, false, env.time, outer, sink, shape);
    }
    if let Some(mut f) = env.event {
        f.time_generated = env.time;
        return emit_event(&mut f, outer, sink, shape);
    }
    // The event walked in place, inside the escaped text.
    if let Some(raw) = env.payload_raw {
        let mut f = EventFields {
            time_generated: env.time,
            ..EventFields::default()
        };
        if fast::nested_native_event(record, raw, need, &mut f).is_some() {
            return emit_event(&mut f, outer, sink, shape);
        }
        match decode(raw) {
            Ok(t) => payload = Some(std::borrow::Cow::Owned(t)),
            Err(e) => return sink.error(e),
        }
    }
    let Some(payload) = payload.as_deref() else {
        return sink.error(RecErr::new(
            SkipReason::NotAnEvent,
            "the event text is null",
        ));
    };
    let outer = Outer {
        text: true,
        ..outer
    };
    native_event(payload.as_bytes(), need, true, env.time, outer, sink, shape);
}

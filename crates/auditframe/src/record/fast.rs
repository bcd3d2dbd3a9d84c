//! The fast path: projection-aware walks over the structural scanner's tokens
//! ([`crate::scan`]) for native events, and for `AzureDiagnostics` rows and archive records
//! whose event is JSON text (walked in place, one escaping level deep).
//!
//! Only the values the projection needs are decoded; the rest are skipped token by token,
//! their grammar still checked. The fast path is deliberately *at least as strict* as the
//! serde path: anything unusual — an escaped key, a float status code, a value of an
//! unexpected type, any JSON error — makes it give up (`None`), and the caller re-parses the
//! record with the serde path, which then produces the same fields or the precise error.
//! Tests check that both paths agree on valid input and that the fast path never accepts a
//! record the serde path rejects.

use std::borrow::Cow;
use std::cell::RefCell;
use std::ops::Range;

use super::fields::{add_annotation, EventFields, Need};
use crate::scan::{Cursor, Index};
use crate::timestamp::parse_timestamp_bytes;

thread_local! {
    /// Per-thread index buffers, reused across records: one for the record, one for JSON
    /// text inside it.
    static INDEXES: RefCell<(Index, Index)> = RefCell::new((Index::default(), Index::default()));
}

/// Scans one native event object. `None`: fall back to the serde path.
pub(crate) fn native_event<'a>(b: &'a [u8], need: &Need, out: &mut EventFields<'a>) -> Option<()> {
    walk_record(b, false, |c| event(c, need, out))
}

/// Indexes the record `b` with this thread's record index (keeping its escapes for JSON
/// text inside it when `text_inside`) and hands a cursor at its first token to `walk`.
/// `None` when the index or the walk gives up, or the walk leaves tokens unread (trailing
/// content).
pub(super) fn walk_record<'a, R>(
    b: &'a [u8],
    text_inside: bool,
    walk: impl for<'t> FnOnce(&mut Cursor<'a, 't>) -> Option<R>,
) -> Option<R> {
    INDEXES.with(|ix| {
        let mut ix = ix.try_borrow_mut().ok()?;
        let index = &mut ix.0;
        index.build_keeping(b, text_inside)?;
        let mut c = index.cursor(b)?;
        let r = walk(&mut c)?;
        c.at_end().then_some(r)
    })
}

/// Whether `b` is exactly one valid JSON value (surrounding whitespace aside), by the
/// structural scanner: a few instructions per byte where a byte-by-byte scan takes a dozen
/// (it decides the framing of an input whose first line is a whole, possibly huge, document).
pub(crate) fn is_one_value(b: &[u8]) -> bool {
    walk_record(b, false, |c| c.skip_value()).is_some()
}

/// One element of a wrapper's array: its bytes, and its tokens in the wrapper's index (for
/// [`walk_item`], so that the element is not indexed again).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WrapperItem {
    /// The element's byte range in the wrapper record.
    pub span: Range<usize>,
    /// The element's token range in the wrapper's index.
    pub toks: Range<usize>,
}

/// The elements of the array under `member` in a wrapper object (`records` of an Event Hubs
/// capture row, `items` of an `EventList`), the whole record validated on the way and indexed
/// for [`walk_item`] (keeping its escapes when `text_inside`: its elements hold JSON text).
/// `None`: fall back (the serde path reports what is wrong, including a missing or null
/// array). A repeated `member` key: the last one counts, as in the serde path.
pub(crate) fn wrapper_items(
    b: &[u8],
    member: &[u8],
    text_inside: bool,
) -> Option<Vec<WrapperItem>> {
    walk_record(b, text_inside, |c| {
        let mut items = None;
        c.object(&mut |c, k| {
            if k != member {
                return c.skip_value();
            }
            if c.is_null() {
                items = None;
                return Some(());
            }
            let mut found = Vec::new();
            c.array(|c| {
                let first = c.token();
                let (s, e) = c.value_span()?;
                found.push(WrapperItem {
                    span: s..e,
                    toks: first..c.token(),
                });
                Some(())
            })?;
            items = Some(found);
            Some(())
        })?;
        items
    })
}

/// Hands `walk` a cursor over the tokens `toks` of `b`, the wrapper record that
/// [`wrapper_items`] indexed; positions are `b`'s. `None` when the walk gives up or leaves
/// tokens unread, or when this thread's index has since moved on to other bytes (an element
/// whose event is an object is indexed on its own): then index the element alone.
fn walk_item<'a, R>(
    b: &'a [u8],
    toks: Range<usize>,
    walk: impl for<'t> FnOnce(&mut Cursor<'a, 't>) -> Option<R>,
) -> Option<R> {
    INDEXES.with(|ix| {
        let ix = ix.try_borrow().ok()?;
        let mut c = ix.0.cursor_over(b, toks)?;
        let r = walk(&mut c)?;
        c.at_end().then_some(r)
    })
}

/// [`native_event`] for an element of the wrapper `b` ([`walk_item`]).
pub(crate) fn native_event_in<'a>(
    b: &'a [u8],
    item: &WrapperItem,
    need: &Need,
    out: &mut EventFields<'a>,
) -> Option<()> {
    walk_item(b, item.toks.clone(), |c| event(c, need, out))
}

/// The fields of an `AzureDiagnostics` row or archive record read by the fast path, with the
/// event still as escaped JSON text.
#[derive(Debug, Default)]
pub(crate) struct FastEnvelope<'a> {
    pub time: Option<i64>,
    pub time_text: Option<Cow<'a, str>>,
    pub category: Option<Cow<'a, str>>,
    /// The payload string's raw content (escapes not decoded), or `None` for null.
    pub payload_raw: Option<&'a [u8]>,
    /// The payload when it is the event object itself, as raw JSON.
    pub payload_object: Option<&'a [u8]>,
    pub has_payload_key: bool,
    pub resource_id: Option<Cow<'a, str>>,
}

/// Scans an `AzureDiagnostics` row (`archive == false`: `TimeGenerated`, `Category`,
/// `log_s`) or an archive record (`time`, `category`, `properties.log`). `None`: fall back.
pub(crate) fn envelope<'a>(b: &'a [u8], archive: bool, need: &Need) -> Option<FastEnvelope<'a>> {
    walk_record(b, true, |c| envelope_walk(c, b, archive, need))
}

/// [`envelope`] for an archive record inside the Event Hubs row `b` ([`walk_item`]).
pub(crate) fn envelope_in<'a>(
    b: &'a [u8],
    item: &WrapperItem,
    need: &Need,
) -> Option<FastEnvelope<'a>> {
    walk_item(b, item.toks.clone(), |c| envelope_walk(c, b, true, need))
}

/// [`envelope`]'s walk, at the record's first token (`b`: the bytes the cursor walks).
fn envelope_walk<'a>(
    c: &mut Cursor<'a, '_>,
    b: &'a [u8],
    archive: bool,
    need: &Need,
) -> Option<FastEnvelope<'a>> {
    let need_time = need.time_generated;
    let mut env = FastEnvelope::default();
    c.object(&mut |c, k| {
        match (k, archive) {
            (b"TimeGenerated", false) | (b"time", true) if need_time => {
                env.time = timestamp(c)?;
            }
            (b"TimeGenerated", false) | (b"time", true) => {
                env.time_text = if c.peek() == Some(b'"') {
                    Some(c.string()?)
                } else {
                    c.skip_value()?;
                    None
                };
            }
            (b"Category", false) | (b"category", true) => env.category = c.opt_str()?,
            (b"ResourceId" | b"_ResourceId", false) | (b"resourceId", true) if need.resource_id => {
                env.resource_id = c.opt_str()?
            }
            (b"log_s", false) => {
                env.has_payload_key = true;
                payload(c, b, &mut env)?;
            }
            (b"properties", true) => {
                env.has_payload_key = true;
                // `properties` as JSON text is left to the serde path.
                c.object_or_null(|c, k| match k {
                    b"log" => payload(c, b, &mut env),
                    _ => c.skip_value(),
                })?;
            }
            _ => c.skip_value()?,
        }
        Some(())
    })?;
    Some(env)
}

/// `log_s` / `properties.log`: a string's raw content, or the event object's raw JSON (a
/// later duplicate key replaces an earlier one, as in the serde path).
fn payload<'a>(c: &mut Cursor<'a, '_>, b: &'a [u8], env: &mut FastEnvelope<'a>) -> Option<()> {
    if c.peek() == Some(b'{') {
        let (s, e) = c.value_span()?;
        env.payload_object = Some(b.get(s..e)?);
        env.payload_raw = None;
    } else {
        env.payload_raw = raw_str(c, b)?;
        env.payload_object = None;
    }
    Some(())
}

/// A string's raw content (escapes undecoded), or `None` for null.
fn raw_str<'a>(c: &mut Cursor<'a, '_>, b: &'a [u8]) -> Option<Option<&'a [u8]>> {
    if c.is_null() {
        return Some(None);
    }
    let (s, e) = c.string_span()?;
    b.get(s..e).map(Some)
}

/// Scans a native event given as the raw (escaped) content of a JSON string of `record`, in
/// place. `None`: fall back (decode the text, then parse it).
pub(crate) fn nested_native_event<'a>(
    record: &'a [u8],
    raw: &'a [u8],
    need: &Need,
    out: &mut EventFields<'a>,
) -> Option<()> {
    INDEXES.with(|ix| {
        let mut ix = ix.try_borrow_mut().ok()?;
        let (outer, index) = &mut *ix;
        // The record around `raw` was just indexed (the envelope): the text is indexed in
        // the record's blocks, with the record's classes and escapes.
        let text = index.build_nested_in(outer, record, raw)?;
        let mut c = index.cursor(text)?;
        event(&mut c, need, out)?;
        c.at_end().then_some(())
    })
}

/// The fields of an `AKSAudit` row read by the fast path (dynamic columns as objects).
#[derive(Debug, Default)]
pub(crate) struct FastAks<'a> {
    /// `Message` of an `AKSControlPlane` row.
    pub message: Option<Cow<'a, str>>,
    /// `TimeGenerated` as text when it is not projected.
    pub time_text: Option<Cow<'a, str>>,
}

/// Scans an `AKSAudit` / `AKSAuditAdmin` / `AKSControlPlane` row into `out`. Dynamic columns
/// given as JSON text (query API / CLI exports) give up, like anything unusual: the serde
/// path reads those.
pub(crate) fn aks_row<'a>(
    b: &'a [u8],
    need: &Need,
    out: &mut EventFields<'a>,
) -> Option<FastAks<'a>> {
    walk_record(b, false, |c| {
        let mut row = FastAks::default();
        let mut category_seen = false;
        c.object(&mut |c, key| {
            match key {
                b"TimeGenerated" if need.time_generated => out.time_generated = timestamp(c)?,
                b"TimeGenerated" => {
                    row.time_text = if c.peek() == Some(b'"') {
                        Some(c.string()?)
                    } else {
                        c.skip_value()?;
                        None
                    };
                }
                b"RequestReceivedTime" if need.request_received => {
                    out.request_received = timestamp(c)?
                }
                // These five mark a row as an event (whether projected or not).
                b"StageReceivedTime" => {
                    out.looks_like_event = true;
                    if need.stage_timestamp {
                        out.stage_timestamp = timestamp(c)?;
                    } else {
                        c.skip_value()?;
                    }
                }
                b"AuditId" => {
                    out.looks_like_event = true;
                    str_if(c, need.audit_id, &mut out.audit_id)?;
                }
                b"Stage" => {
                    out.looks_like_event = true;
                    str_if(c, need.stage, &mut out.stage)?;
                }
                b"Verb" => {
                    out.looks_like_event = true;
                    str_if(c, need.verb, &mut out.verb)?;
                }
                b"RequestUri" => {
                    out.looks_like_event = true;
                    str_if(c, need.request_uri, &mut out.request_uri)?;
                }
                b"Level" if need.level => out.level = c.opt_str()?,
                b"UserAgent" if need.user_agent => out.user_agent = c.opt_str()?,
                b"User" if need.username => user(c, out)?,
                b"SourceIps" if need.source_ip => out.source_ip = c.first_str_of_array()?,
                b"ObjectRef" if need.object_ref => object_ref(c, need, out)?,
                b"ResponseStatus" if need.status_code => status(c, out)?,
                b"Annotations" if need.annotations() => annotations(c, need, out)?,
                b"_ResourceId" | b"ResourceId" if need.resource_id => {
                    out.resource_id = c.opt_str()?
                }
                b"Message" => row.message = c.opt_str()?,
                // `Category` wins over `Type` (the table name) whatever the key order.
                b"Category" => {
                    if let Some(t) = c.opt_str()? {
                        out.category = Some(super::rows::category_of_table(t));
                        category_seen = true;
                    }
                }
                b"Type" => {
                    if let Some(t) = c.opt_str()? {
                        if !category_seen {
                            out.category = Some(super::rows::category_of_table(t));
                        }
                    }
                }
                _ => c.skip_value()?,
            }
            Some(())
        })?;
        Some(row)
    })
}

/// `user` / `User`: the username.
fn user<'a>(c: &mut Cursor<'a, '_>, out: &mut EventFields<'a>) -> Option<()> {
    c.object_or_null(|c, k| match k {
        b"username" => {
            out.username = c.opt_str()?;
            Some(())
        }
        _ => c.skip_value(),
    })
}

/// `objectRef` / `ObjectRef`: the projected members.
fn object_ref<'a>(c: &mut Cursor<'a, '_>, need: &Need, out: &mut EventFields<'a>) -> Option<()> {
    c.object_or_null(|c, k| {
        let slot = match k {
            b"resource" if need.resource => &mut out.resource,
            b"subresource" if need.subresource => &mut out.subresource,
            b"namespace" if need.namespace => &mut out.namespace,
            b"name" if need.name => &mut out.name,
            b"apiGroup" if need.api_group => &mut out.api_group,
            b"apiVersion" if need.api_version => &mut out.api_version,
            _ => return c.skip_value(),
        };
        *slot = c.opt_str()?;
        Some(())
    })
}

/// `responseStatus` / `ResponseStatus`: the code.
fn status(c: &mut Cursor<'_, '_>, out: &mut EventFields<'_>) -> Option<()> {
    c.object_or_null(|c, k| match k {
        b"code" => {
            out.status_code = c.opt_i32()?;
            Some(())
        }
        _ => c.skip_value(),
    })
}

/// `annotations` / `Annotations`: the admission webhook and latency ones the projection
/// needs. A bad latency value gives up: the serde path reports it.
fn annotations(c: &mut Cursor<'_, '_>, need: &Need, out: &mut EventFields<'_>) -> Option<()> {
    c.object_or_null(|c, k| {
        if !need.annotation_key(k) {
            return c.skip_value();
        }
        let key = std::str::from_utf8(k).ok()?;
        if let Some(v) = c.opt_str()? {
            add_annotation(out, need, key, &v).ok()?;
        }
        Some(())
    })
}

/// A native event object.
fn event<'a>(c: &mut Cursor<'a, '_>, need: &Need, out: &mut EventFields<'a>) -> Option<()> {
    c.object(&mut |c, key| {
        match key {
            b"kind" => out.kind = c.opt_str()?,
            b"auditID" => {
                out.looks_like_event = true;
                str_if(c, need.audit_id, &mut out.audit_id)?;
            }
            b"stage" => {
                out.looks_like_event = true;
                str_if(c, need.stage, &mut out.stage)?;
            }
            b"verb" => {
                out.looks_like_event = true;
                str_if(c, need.verb, &mut out.verb)?;
            }
            b"requestURI" => {
                out.looks_like_event = true;
                str_if(c, need.request_uri, &mut out.request_uri)?;
            }
            b"level" if need.level => out.level = c.opt_str()?,
            b"userAgent" if need.user_agent => out.user_agent = c.opt_str()?,
            b"user" if need.username => user(c, out)?,
            b"sourceIPs" if need.source_ip => out.source_ip = c.first_str_of_array()?,
            b"objectRef" if need.object_ref => object_ref(c, need, out)?,
            b"responseStatus" if need.status_code => status(c, out)?,
            b"requestReceivedTimestamp" => {
                out.looks_like_event = true;
                if need.request_received {
                    out.request_received = timestamp(c)?;
                } else {
                    c.skip_value()?;
                }
            }
            b"stageTimestamp" => {
                out.looks_like_event = true;
                if need.stage_timestamp || need.time_generated {
                    out.stage_timestamp = timestamp(c)?;
                } else {
                    c.skip_value()?;
                }
            }
            b"annotations" if need.annotations() => annotations(c, need, out)?,
            b"timestamp" if need.time_generated => out.legacy_timestamp = timestamp(c)?,
            _ => c.skip_value()?,
        }
        Some(())
    })
}

/// A string or null into `slot` when `want`, else skipped.
#[inline]
fn str_if<'a>(c: &mut Cursor<'a, '_>, want: bool, slot: &mut Option<Cow<'a, str>>) -> Option<()> {
    if want {
        *slot = c.opt_str()?;
        Some(())
    } else {
        c.skip_value()
    }
}

/// A timestamp string (empty → null) or null.
fn timestamp(c: &mut Cursor<'_, '_>) -> Option<Option<i64>> {
    match c.opt_str()? {
        None => Some(None),
        Some(s) if s.is_empty() => Some(None),
        Some(s) => parse_timestamp_bytes(s.as_bytes()).ok().map(Some),
    }
}

//! Record shapes: sniffing, and parsing one record (one NDJSON line or one array element)
//! into zero or more audit events.

mod envelope;
mod fast;
mod fields;
mod native;
mod rows;
mod salvage;
mod sniff;

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use sonic_rs::LazyValue;

#[cfg(feature = "arrow")]
pub(crate) use fields::add_annotation;
pub(crate) use fields::cluster_of;
use fields::{skip, Key};
pub(crate) use fields::{Ctx, EventFields, Need};
#[cfg(feature = "arrow")]
pub(crate) use native::finish_native;
#[cfg(not(feature = "arrow"))]
use native::finish_native;
use native::EventSeed;
#[cfg(feature = "arrow")]
pub(crate) use rows::category_of_table;
pub(crate) use rows::is_kept_log_category;
use rows::{is_audit_category, AksPending, AksRowSeed, Envelope, EnvelopeSeed, PropertiesSeed};

use crate::error::SkipReason;
use envelope::envelope;
pub(crate) use fast::is_one_value;
pub use sniff::sniff_shape;

/// The record shapes auditframe reads. Sniffed from an input's first record unless set
/// explicitly; see the crate docs for examples of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Shape {
    /// A native `audit.k8s.io` `Event` per record (kube-apiserver `--audit-log-path`).
    Native,
    /// A `{"kind":"EventList","items":[…]}` document of native events.
    EventList,
    /// A Log Analytics `AKSAudit` / `AKSAuditAdmin` row (resource-specific mode); dynamic
    /// columns may be JSON objects or JSON-encoded strings. `AKSControlPlane` rows
    /// (`Category`, `Message`) of the same export are read as control-plane log lines.
    AksAudit,
    /// A Log Analytics `AzureDiagnostics` row whose `log_s` holds the event as JSON text.
    AzureDiagnostics,
    /// A diagnostic-settings storage-archive record (`time`, `category`, `properties.log`).
    Archive,
    /// An Event Hub message `{"records":[…archive records…]}`.
    EventHub,
}

impl Shape {
    /// Every shape.
    pub const ALL: &'static [Shape] = &[
        Shape::Native,
        Shape::EventList,
        Shape::AksAudit,
        Shape::AzureDiagnostics,
        Shape::Archive,
        Shape::EventHub,
    ];

    /// A short stable name, as stored in the `source_shape` column.
    pub const fn name(self) -> &'static str {
        match self {
            Shape::Native => "native",
            Shape::EventList => "event_list",
            Shape::AksAudit => "aks_audit",
            Shape::AzureDiagnostics => "azure_diagnostics",
            Shape::Archive => "archive",
            Shape::EventHub => "event_hub",
        }
    }

    /// Looks a shape up by [`name`](Shape::name).
    pub fn from_name(name: &str) -> Option<Shape> {
        Shape::ALL.iter().copied().find(|s| s.name() == name)
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A record-level failure, before a position is attached.
#[derive(Debug)]
pub(crate) struct RecErr {
    pub reason: SkipReason,
    pub message: String,
    /// 1-based byte column in the record, when the error is in the record's own bytes.
    pub column: Option<u64>,
}

impl RecErr {
    fn new(reason: SkipReason, message: impl Into<String>) -> RecErr {
        RecErr {
            reason,
            message: message.into(),
            column: None,
        }
    }
}

/// Receives what a record holds.
pub(crate) trait Sink {
    /// One audit event of `shape`.
    fn event(&mut self, fields: &EventFields<'_>, shape: Shape);
    /// A row of a diagnostic category that carries no audit event and is not kept.
    fn other_category(&mut self);
    /// A kept control-plane log line (`kube-apiserver` category).
    fn log_line(&mut self, time: Option<i64>, category: &str, message: &str);
    /// A bad record or wrapper element; the rest of the record is still read.
    fn error(&mut self, err: RecErr);
}

fn run<'a, S: DeserializeSeed<'a, Value = ()>>(bytes: &'a [u8], seed: S) -> sonic_rs::Result<()> {
    let mut de = sonic_rs::Deserializer::from_slice(bytes);
    seed.deserialize(&mut de)?;
    de.end()
}

/// Turns a parser error into a skip reason. `nested` errors come from JSON text inside the
/// record (`log_s`, dynamic columns), so their column is not a column of the line.
fn classify(e: &sonic_rs::Error, ctx: &Ctx, bytes: &[u8], nested: bool) -> RecErr {
    use sonic_rs::error::Category;
    // Invalid UTF-8 anywhere in the record wins: sonic-rs may report it after a field
    // visitor has already seen a bad timestamp.
    let reason = if std::str::from_utf8(bytes).is_err() {
        SkipReason::Utf8
    } else if ctx.bad_timestamp {
        SkipReason::Timestamp
    } else {
        match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => {
                if std::str::from_utf8(bytes).is_err() {
                    SkipReason::Utf8
                } else {
                    SkipReason::Json
                }
            }
            _ => SkipReason::FieldType,
        }
    };
    // sonic-rs appends " at line L column C" and a multi-line excerpt; the position and our
    // own excerpt say that better.
    let text = e.to_string();
    let text = text.split(" at line ").next().unwrap_or_default().trim();
    let mut message = match reason {
        SkipReason::FieldType if !ctx.field.is_empty() && !text.starts_with('`') => {
            format!("`{}`: {text}", ctx.field)
        }
        _ => text.to_owned(),
    };
    if nested {
        message = format!("in embedded JSON text: {message}");
    }
    RecErr {
        reason,
        message,
        column: (!nested && e.column() > 0).then(|| e.column() as u64),
    }
}

fn first_non_ws(bytes: &[u8]) -> Option<u8> {
    bytes.iter().copied().find(|b| !b.is_ascii_whitespace())
}

/// Parses one record of `shape` and hands its events to `sink`.
pub(crate) fn parse_record(bytes: &[u8], shape: Shape, need: &Need, sink: &mut dyn Sink) {
    let first = first_non_ws(bytes);
    // Objects of every shape take the fast scanner first, which needs no nesting guard (it
    // gives up on deep records); whatever reaches the recursive serde parser is checked
    // first — here, or where a fast path falls back.
    let fast = first == Some(b'{');
    if !fast {
        let lazy = shape == Shape::EventList || shape == Shape::EventHub || first == Some(b'[');
        if let Some(e) = serde_guard(bytes, lazy) {
            return sink.error(e);
        }
    }
    if first == Some(b'[') {
        // A JSON array on one line (query exports): each element is a record of the shape.
        match sonic_rs::from_slice::<Vec<LazyValue<'_>>>(bytes) {
            Ok(items) => {
                for item in items {
                    parse_one(item.as_raw_str().as_bytes(), shape, need, sink, false);
                }
            }
            Err(e) => sink.error(classify(&e, &Ctx::default(), bytes, false)),
        }
    } else {
        parse_one(bytes, shape, need, sink, true);
    }
}

fn parse_one(bytes: &[u8], shape: Shape, need: &Need, sink: &mut dyn Sink, own_line: bool) {
    let nested = !own_line;
    match shape {
        Shape::Native => native_event(bytes, need, nested, None, Outer::default(), sink, shape),
        Shape::AksAudit => {
            if let Err(e) = aks_row(bytes, need, nested, sink) {
                sink.error(e);
            }
        }
        Shape::AzureDiagnostics | Shape::Archive => envelope(bytes, shape, need, sink, nested),
        // Elements the scanner delimited are walked in the row's index, not indexed again.
        Shape::EventHub => for_each_wrapper_item(
            bytes,
            "records",
            true,
            sink,
            nested,
            |item, at, sink| match at.and_then(|at| fast::envelope_in(bytes, at, need)) {
                Some(env) => envelope::envelope_payload(env.into(), bytes, shape, need, sink),
                None => envelope(item, shape, need, sink, true),
            },
        ),
        Shape::EventList => {
            for_each_wrapper_item(bytes, "items", false, sink, nested, |item, at, sink| {
                let mut f = EventFields::default();
                match at.and_then(|at| fast::native_event_in(bytes, at, need, &mut f)) {
                    Some(()) => emit_event(&mut f, Outer::default(), sink, shape),
                    None => native_event(item, need, true, None, Outer::default(), sink, shape),
                }
            })
        }
    }
}

/// The serde (sonic-rs) parse of a native event: the reference, and the path for anything
/// the fast scanner gives up on. It reports precise errors.
fn native_event_serde<'a>(
    bytes: &'a [u8],
    need: &Need,
    nested: bool,
    time: Option<i64>,
) -> Result<EventFields<'a>, RecErr> {
    let mut f = EventFields {
        time_generated: time,
        ..EventFields::default()
    };
    let mut ctx = Ctx::default();
    run(
        bytes,
        EventSeed {
            out: &mut f,
            ctx: &mut ctx,
            need,
        },
    )
    .map_err(|e| classify(&e, &ctx, bytes, nested))?;
    Ok(f)
}

/// Parses a native event and hands it to `sink`; `time` and `category` come from an
/// enclosing row when there is one.
fn native_event<'a>(
    bytes: &'a [u8],
    need: &Need,
    nested: bool,
    time: Option<i64>,
    outer: Outer<'a>,
    sink: &mut dyn Sink,
    shape: Shape,
) {
    // Filled in place and lent to the sink: the fields are a few hundred bytes, which
    // returning them by value would copy per record.
    let mut f = EventFields {
        time_generated: time,
        ..EventFields::default()
    };
    if fast::native_event(bytes, need, &mut f).is_none() {
        // Whatever the fast scanner does not accept is decided by the serde path.
        if let Some(msg) = crate::framing::too_deep(bytes) {
            return sink.error(RecErr::new(SkipReason::Json, msg));
        }
        match native_event_serde(bytes, need, nested, time) {
            Ok(serde) => f = serde,
            Err(e) if outer.text && e.reason == SkipReason::Json => {
                return salvage_cut_event(bytes, e, need, time, outer, sink, shape)
            }
            Err(e) => return sink.error(e),
        }
    }
    emit_event(&mut f, outer, sink, shape);
}

/// Hands a native event's fields to `sink` once they are complete and the envelope's are
/// applied, or the reason they are not an event.
fn emit_event<'a>(f: &mut EventFields<'a>, outer: Outer<'a>, sink: &mut dyn Sink, shape: Shape) {
    if let Err(m) = finish_native(f) {
        return sink.error(RecErr::new(SkipReason::NotAnEvent, m));
    }
    outer.apply(f);
    sink.event(f, shape);
}

/// An embedded event's text that is not valid JSON: when it is a valid beginning cut short
/// (storage exports cut `properties.log` at 16 KiB), the members complete before the cut make
/// a row marked `truncated`; otherwise `error` stands.
fn salvage_cut_event(
    text: &[u8],
    error: RecErr,
    need: &Need,
    time: Option<i64>,
    outer: Outer<'_>,
    sink: &mut dyn Sink,
    shape: Shape,
) {
    let Some(closed) = salvage::close_cut_object(text) else {
        return sink.error(error);
    };
    let mut f = match native_event_serde(&closed, need, true, time) {
        Ok(f) => f,
        // A complete member with a bad value is that member's error, as in a whole event.
        Err(e) if e.reason != SkipReason::Json => return sink.error(e),
        Err(_) => return sink.error(error),
    };
    if finish_native(&mut f).is_err() {
        return sink.error(RecErr::new(
            SkipReason::Json,
            format!(
                "the event text ends after {} bytes, before any audit event field: {}",
                text.len(),
                error.message
            ),
        ));
    }
    f.truncated = true;
    outer.apply(&mut f);
    sink.event(&f, shape);
}

/// What the record around an embedded event says about it: its diagnostic category and
/// Azure resource ID (`None` for native lines).
#[derive(Clone, Copy, Default)]
struct Outer<'a> {
    category: Option<&'a str>,
    resource_id: Option<&'a str>,
    /// Whether the event was JSON text inside the record (`log_s`, `properties.log`), which
    /// exports cut short: see [`salvage_cut_event`].
    text: bool,
}

impl<'a> Outer<'a> {
    fn apply<'f>(self, f: &mut EventFields<'f>)
    where
        'a: 'f,
    {
        f.category = self.category.map(std::borrow::Cow::Borrowed);
        f.resource_id = self.resource_id.map(std::borrow::Cow::Borrowed);
    }
}

fn aks_row(bytes: &[u8], need: &Need, nested: bool, sink: &mut dyn Sink) -> Result<(), RecErr> {
    aks_row_via(bytes, need, nested, sink, true)
}

/// An `AKSAudit` row through the fast path first (`try_fast`), or the serde path only.
fn aks_row_via(
    bytes: &[u8],
    need: &Need,
    nested: bool,
    sink: &mut dyn Sink,
    try_fast: bool,
) -> Result<(), RecErr> {
    let mut f = EventFields::default();
    let mut pending = AksPending::default();
    match try_fast
        .then(|| fast::aks_row(bytes, need, &mut f))
        .flatten()
    {
        Some(row) => {
            pending.message = row.message;
            pending.time_text = row.time_text;
        }
        None => {
            if let Some(msg) = crate::framing::too_deep(bytes) {
                return Err(RecErr::new(SkipReason::Json, msg));
            }
            f = EventFields::default();
            let mut ctx = Ctx::default();
            run(
                bytes,
                AksRowSeed {
                    out: &mut f,
                    ctx: &mut ctx,
                    need,
                    pending: &mut pending,
                },
            )
            .map_err(|e| classify(&e, &ctx, bytes, nested))?;
        }
    }
    if !f.looks_like_event {
        // An `AKSControlPlane` row: a log line, kept for the kube-apiserver category.
        if let Some(message) = pending.message.as_deref() {
            match f.category.as_deref() {
                Some(c) if is_kept_log_category(c) => {
                    let time = match f.time_generated {
                        Some(t) => Some(t),
                        None => {
                            fields::late_timestamp("TimeGenerated", pending.time_text.as_deref())
                                .map_err(|m| RecErr::new(SkipReason::Timestamp, m))?
                        }
                    };
                    sink.log_line(time, c, message)
                }
                _ => sink.other_category(),
            }
            return Ok(());
        }
        return Err(RecErr::new(
            SkipReason::NotAnEvent,
            "no AKSAudit columns (AuditId, Verb, RequestUri, Stage, StageReceivedTime)",
        ));
    }
    // Second pass over dynamic columns that arrived as JSON text. The texts live in
    // `pending`, which outlives `f`'s use here, so `f` may borrow from them.
    let mut f: EventFields<'_> = f;
    let texts = [
        (pending.user.as_deref(), Dynamic::User),
        (pending.source_ips.as_deref(), Dynamic::SourceIps),
        (pending.object_ref.as_deref(), Dynamic::ObjectRef),
        (pending.status.as_deref(), Dynamic::Status),
        (pending.annotations.as_deref(), Dynamic::Annotations),
    ];
    for (text, which) in texts {
        if let Some(text) = text {
            apply_dynamic_text(&mut f, which, text, need)?;
        }
    }
    if f.category.is_none() {
        f.category = Some(std::borrow::Cow::Borrowed("kube-audit"));
    }
    sink.event(&f, Shape::AksAudit);
    Ok(())
}

/// A dynamic column of an `AKSAudit` row (or a struct column of a flattened native event)
/// that may arrive as JSON text instead of a JSON value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dynamic {
    User,
    SourceIps,
    ObjectRef,
    Status,
    Annotations,
}

/// Parses a dynamic column's JSON text (`"{\"username\":…}"`) into `f`, with the same
/// visitor that reads the column as a JSON value.
pub(crate) fn apply_dynamic_text<'a>(
    f: &mut EventFields<'a>,
    which: Dynamic,
    text: &'a str,
    need: &Need,
) -> Result<(), RecErr> {
    let b = text.as_bytes();
    // JSON text inside a string escapes the record's nesting check: check it too before
    // the recursive parse (found by fuzzing: a stack overflow).
    if let Some(msg) = crate::framing::too_deep(b) {
        return Err(RecErr::new(
            SkipReason::Json,
            format!("in embedded JSON text: {msg}"),
        ));
    }
    let mut ctx = Ctx::default();
    let r = match which {
        Dynamic::User => run(
            b,
            fields::UserSeed {
                out: f,
                ctx: &mut ctx,
                text: None,
            },
        ),
        Dynamic::SourceIps => run(
            b,
            fields::FirstIpSeed {
                out: f,
                ctx: &mut ctx,
                text: None,
            },
        ),
        Dynamic::ObjectRef => run(
            b,
            fields::ObjectRefSeed {
                out: f,
                ctx: &mut ctx,
                need,
                text: None,
            },
        ),
        Dynamic::Status => run(
            b,
            fields::StatusSeed {
                out: f,
                ctx: &mut ctx,
                text: None,
            },
        ),
        Dynamic::Annotations => run(
            b,
            fields::AnnotationsSeed {
                out: f,
                need,
                ctx: &mut ctx,
                text: None,
            },
        ),
    };
    r.map_err(|e| classify(&e, &ctx, b, true))
}

/// What must hold before the serde path may see `bytes`: nesting within
/// [`MAX_NESTING`](crate::MAX_NESTING) (the parser recurses), and valid UTF-8 when sonic-rs
/// `LazyValue`s will split it (`lazy`: array elements, wrapper items; they assume UTF-8, a
/// debug assertion unchecked in release — found by fuzzing).
fn serde_guard(bytes: &[u8], lazy: bool) -> Option<RecErr> {
    if let Some(msg) = crate::framing::too_deep(bytes) {
        return Some(RecErr::new(SkipReason::Json, msg));
    }
    if lazy {
        if let Err(e) = std::str::from_utf8(bytes) {
            let mut err = RecErr::new(SkipReason::Utf8, "invalid UTF-8");
            err.column = Some(e.valid_up_to() as u64 + 1);
            return Some(err);
        }
    }
    None
}

/// Hands each raw element of a wrapper's array member (`records` or `items`) to `f`:
/// delimited by the structural scanner, with its place in the row's index (for
/// [`fast::envelope_in`] and [`fast::native_event_in`]; `text_inside`: the elements hold
/// JSON text), or by the serde path when the scanner gives up (which reports any error).
fn for_each_wrapper_item(
    bytes: &[u8],
    member: &'static str,
    text_inside: bool,
    sink: &mut dyn Sink,
    nested: bool,
    mut f: impl FnMut(&[u8], Option<&fast::WrapperItem>, &mut dyn Sink),
) {
    match fast::wrapper_items(bytes, member.as_bytes(), text_inside) {
        Some(items) => {
            for at in &items {
                if let Some(item) = bytes.get(at.span.clone()) {
                    f(item, Some(at), sink);
                }
            }
        }
        None => {
            if let Some(e) = serde_guard(bytes, true) {
                return sink.error(e);
            }
            for item in wrapper_items(bytes, member, sink, nested) {
                f(item.as_raw_str().as_bytes(), None, sink);
            }
        }
    }
}

/// The raw elements of a wrapper's array member (`records` or `items`).
fn wrapper_items<'a>(
    bytes: &'a [u8],
    member: &'static str,
    sink: &mut dyn Sink,
    nested: bool,
) -> Vec<LazyValue<'a>> {
    struct W<'f, 'a> {
        member: &'static str,
        items: &'f mut Option<Vec<LazyValue<'a>>>,
        ctx: &'f mut Ctx,
    }
    impl<'de> Visitor<'de> for W<'_, 'de> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "an object with `{}`", self.member)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(k) = map.next_key::<Key<'de>>()? {
                if k.0 == self.member {
                    self.ctx.field = self.member;
                    *self.items = map.next_value::<Option<Vec<LazyValue<'de>>>>()?;
                } else {
                    skip(&mut map)?;
                }
            }
            Ok(())
        }
    }
    impl<'de> DeserializeSeed<'de> for W<'_, 'de> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_map(self)
        }
    }
    let mut items = None;
    let mut ctx = Ctx::default();
    match run(
        bytes,
        W {
            member,
            items: &mut items,
            ctx: &mut ctx,
        },
    ) {
        Ok(()) => match items {
            Some(items) => items,
            None => {
                sink.error(RecErr::new(
                    SkipReason::NotAnEvent,
                    format!("no `{member}` array"),
                ));
                Vec::new()
            }
        },
        Err(e) => {
            sink.error(classify(&e, &ctx, bytes, nested));
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests;

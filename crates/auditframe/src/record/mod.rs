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
mod tests {
    use super::envelope::{envelope_payload, envelope_serde};
    use super::*;
    use crate::generate::{write_native, Generator, GeneratorOptions};
    use crate::schema::{Column, Projection};
    use proptest::prelude::*;

    fn projections() -> Vec<Projection> {
        vec![
            Projection::all(),
            Projection::analyses(),
            Projection::none(),
            Projection::of(&[Column::Username, Column::StatusCode]),
            Projection::of(&[Column::Resource, Column::SourceIp, Column::TimeGenerated]),
        ]
    }

    fn fast(bytes: &[u8], need: &Need) -> Option<EventFields<'static>> {
        let mut f = EventFields::default();
        fast::native_event(bytes, need, &mut f)?;
        Some(owned(f))
    }

    fn serde(bytes: &[u8], need: &Need) -> Option<EventFields<'static>> {
        native_event_serde(bytes, need, false, None).ok().map(owned)
    }

    fn owned(f: EventFields<'_>) -> EventFields<'static> {
        f.into_owned()
    }

    const HAND_MADE: &[&str] = &[
        r#"{"kind":"Event","auditID":"a","userAgent":"x \"q\" \\ \/ \b\f\n\r\t \u00e9 \ud83d\ude00","verb":"get","objectRef":{"resource":"pods","name":"n\u0026m"},"responseStatus":{"code":0}}"#,
        r#" { "kind" : "Event" , "sourceIPs" : [ null , 1 ] , "user" : null , "objectRef" : null , "responseStatus" : { "code" : null } , "stage" : null } "#,
        r#"{"kind":"Event","verb":"get","verb":"list","annotations":{"a":[1,-2.5e+3,true,false,null,{"b":[]}],"c":{}},"x":0}"#,
        r#"{"kind":"Event","sourceIPs":[],"requestReceivedTimestamp":"","stageTimestamp":"2026-11-20T10:00:00.1234567+01:00","timestamp":"2026-11-20T10:00:00Z"}"#,
        r#"{}"#,
    ];

    #[test]
    fn fast_path_equals_serde_path_on_valid_events() {
        let mut events: Vec<Vec<u8>> = HAND_MADE.iter().map(|s| s.as_bytes().to_vec()).collect();
        let mut g = Generator::new(GeneratorOptions::default().with_events(3000).with_seed(5));
        while let Some(e) = g.next_event() {
            let mut b = Vec::new();
            write_native(&e, &mut b);
            events.push(b);
        }
        for p in projections() {
            let need = Need::from_projection(p);
            for e in &events {
                let f = fast(e, &need);
                assert!(
                    f.is_some(),
                    "fast path gave up on a valid event: {}",
                    String::from_utf8_lossy(e)
                );
                assert_eq!(f, serde(e, &need), "{}", String::from_utf8_lossy(e));
            }
        }
    }

    #[test]
    fn fast_path_gives_up_on_what_it_does_not_handle() {
        let need = Need::from_projection(Projection::all());
        for bad in [
            r#"{"kind":"Event","verb":3}"#,
            r#"{"kind":"Event","responseStatus":{"code":200.0}}"#,
            r#"{"kind":"Event","responseStatus":{"code":"200"}}"#,
            r#"{"kind":"Event","responseStatus":{"code":-0}}"#,
            r#"{"k\u0069nd":"Event"}"#,
            r#"{"kind":"Event","stageTimestamp":"yesterday"}"#,
            r#"{"kind":"Event","userAgent":"\ud83d"}"#,
            r#"{"kind":"Event"} x"#,
            r#"[{"kind":"Event"}]"#,
            "{\"kind\":\"Ev\u{1}ent\"}",
            r#"{"kind":"Event","annotations":{"a":01}}"#,
            r#"{"kind":"Event","annotations":{"a":tru}}"#,
            r#"{"kind":"Event","annotations":{"a":"\x"}}"#,
            r#"{"kind":"Event","annotations":{"a":1,}}"#,
        ] {
            assert!(fast(bad.as_bytes(), &need).is_none(), "{bad}");
        }
    }

    fn mutate(base: &[u8], at: usize, how: u8) -> Vec<u8> {
        let mut b = base.to_vec();
        let at = at % (b.len() + 1);
        const BYTES: &[u8] = b"\"\\{}[],: 0-1ex\x01\xff\xc3tnu";
        match how % 3 {
            0 => b.truncate(at),
            1 => {
                if let Some(c) = b.get_mut(at) {
                    *c = BYTES[usize::from(how) % BYTES.len()];
                }
            }
            _ => b.insert(at.min(b.len()), BYTES[usize::from(how) % BYTES.len()]),
        }
        b
    }

    /// What an envelope route produced: events (owned) and errors (reason, message).
    #[derive(Debug, Default, PartialEq)]
    struct Collect {
        events: Vec<EventFields<'static>>,
        errors: Vec<(SkipReason, String)>,
        logs: Vec<(Option<i64>, String, String)>,
        other: usize,
    }

    impl Sink for Collect {
        fn event(&mut self, fields: &EventFields<'_>, _: Shape) {
            self.events.push(owned(fields.clone()));
        }
        fn other_category(&mut self) {
            self.other += 1;
        }
        fn log_line(&mut self, time: Option<i64>, category: &str, message: &str) {
            self.logs
                .push((time, category.to_owned(), message.to_owned()));
        }
        fn error(&mut self, err: RecErr) {
            self.errors.push((err.reason, err.message));
        }
    }

    /// An envelope through the fast route (`envelope`) and through the serde route only.
    fn both_routes(bytes: &[u8], shape: Shape, need: &Need) -> (Collect, Collect) {
        let mut fast = Collect::default();
        if crate::framing::too_deep(bytes).is_none() {
            envelope(bytes, shape, need, &mut fast, false);
        }
        let mut serde = Collect::default();
        if crate::framing::too_deep(bytes).is_none() {
            match envelope_serde(bytes, shape != Shape::AzureDiagnostics, need, false) {
                Ok(env) => envelope_payload(env, bytes, shape, need, &mut serde),
                Err(e) => serde.error(e),
            }
        }
        (fast, serde)
    }

    fn envelope_rows(shape: Shape, n: usize, seed: u64) -> Vec<Vec<u8>> {
        let mut g = Generator::new(
            GeneratorOptions::default()
                .with_events(n)
                .with_seed(seed)
                .with_story(true),
        );
        let mut all = Vec::new();
        g.write(shape, &mut all);
        let mut rows: Vec<Vec<u8>> = all
            .split(|&c| c == b'\n')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect();
        // Hand-made rows: escapes at both levels, an escaped quote inside an inner string,
        // an outer `\n`, nulls, a log line, another category.
        let extra: &[&str] = if shape == Shape::AzureDiagnostics {
            &[
                r#"{"TimeGenerated":"2026-11-20T10:00:00Z","Category":"kube-audit","log_s":"{\"kind\":\"Event\",\"verb\":\"get\",\"userAgent\":\"a \\\"q\\\" \\u0026 b\",\"stage\":\"ResponseComplete\",\"objectRef\":{\"resource\":\"pods\"},\"annotations\":{\"r\":\"x\\\\y\"}}"}"#,
                r#"{"TimeGenerated":"2026-11-20T10:00:00Z","Category":"kube-audit","log_s":"{\"kind\":\"Event\",\n\"verb\":\"get\"}"}"#,
                r#"{"TimeGenerated":null,"Category":"kube-apiserver","log_s":"I1120 webhook \"x\" failed\n"}"#,
                r#"{"TimeGenerated":"2026-11-20T10:00:00Z","Category":"guard","log_s":null}"#,
                r#"{"Category":"kube-audit","log_s":null}"#,
                r#"{"Category":"kube-audit"}"#,
            ]
        } else {
            &[
                r#"{"time":"2026-11-20T10:00:00Z","category":"kube-audit","properties":{"log":"{\"kind\":\"Event\",\"verb\":\"list\"}","pod":"x"}}"#,
                r#"{"time":"2026-11-20T10:00:00Z","category":"kube-audit","properties":"{\"log\":\"{}\"}"}"#,
                r#"{"time":"2026-11-20T10:00:00Z","properties":null}"#,
            ]
        };
        rows.extend(extra.iter().map(|s| s.as_bytes().to_vec()));
        rows
    }

    /// A wrapper row (Event Hubs `records`, `EventList` `items`) through `parse_record`,
    /// whose elements the scanner walks in the row's index, and split by the serde path with
    /// each element then read on its own.
    fn wrapper_routes(row: &[u8], shape: Shape, need: &Need) -> (Collect, Collect) {
        let mut one_index = Collect::default();
        parse_record(row, shape, need, &mut one_index);
        let mut alone = Collect::default();
        let member = if shape == Shape::EventList {
            "items"
        } else {
            "records"
        };
        match serde_guard(row, true) {
            Some(e) => alone.error(e),
            None => {
                for item in wrapper_items(row, member, &mut alone, false) {
                    let item = item.as_raw_str().as_bytes();
                    match shape {
                        Shape::EventList => native_event(
                            item,
                            need,
                            true,
                            None,
                            Outer::default(),
                            &mut alone,
                            shape,
                        ),
                        _ => envelope(item, shape, need, &mut alone, true),
                    }
                }
            }
        }
        (one_index, alone)
    }

    /// Elements for wrapper rows: generated records of the element's shape and hand-made
    /// ones (for Event Hubs: an event given as an object, which indexes it on its own and so
    /// moves the thread's index off the row).
    fn wrapper_elements(shape: Shape) -> Vec<Vec<u8>> {
        if shape == Shape::EventList {
            let mut g = Generator::new(GeneratorOptions::default().with_events(20).with_seed(3));
            let mut out: Vec<Vec<u8>> = HAND_MADE.iter().map(|s| s.as_bytes().to_vec()).collect();
            while let Some(e) = g.next_event() {
                let mut b = Vec::new();
                write_native(&e, &mut b);
                out.push(b);
            }
            return out;
        }
        let mut out = envelope_rows(Shape::Archive, 20, 4);
        out.push(br#"{"time":"2026-11-20T10:00:00Z","category":"kube-audit","properties":{"log":{"kind":"Event","verb":"watch","objectRef":{"resource":"pods"}}}}"#.to_vec());
        out
    }

    fn wrapper_row(shape: Shape, elements: &[&[u8]]) -> Vec<u8> {
        let head: &[u8] = match shape {
            Shape::EventList => br#"{"kind":"EventList","items":["#,
            _ => br#"{"records":["#,
        };
        [head, &elements.join(&b","[..]), b"]}"].concat()
    }

    #[test]
    fn wrapper_elements_after_an_event_object_are_read_alone() {
        let need = Need::from_projection(Projection::all());
        let all = wrapper_elements(Shape::EventHub);
        let (object, text) = (&all[all.len() - 1], &all[0]);
        let row = wrapper_row(Shape::EventHub, &[text, object, text, text]);
        let (one_index, alone) = wrapper_routes(&row, Shape::EventHub, &need);
        assert_eq!(one_index.events.len(), 4);
        assert_eq!(one_index.events[1].verb.as_deref(), Some("watch"));
        assert_eq!(one_index, alone);
        // Elements are walked in the row's index (the text ones before the object, at least).
        let items = fast::wrapper_items(&row, b"records", true).unwrap_or_default();
        assert_eq!(items.len(), 4);
        assert!(fast::envelope_in(&row, &items[0], &need).is_some());
        let list = wrapper_row(
            Shape::EventList,
            &[HAND_MADE[0].as_bytes(), HAND_MADE[2].as_bytes()],
        );
        let items = fast::wrapper_items(&list, b"items", false).unwrap_or_default();
        let mut f = EventFields::default();
        assert!(fast::native_event_in(&list, &items[1], &need, &mut f).is_some());
        assert_eq!(f.verb.as_deref(), Some("list"));
    }

    /// An `AKSAudit` row through the fast route and through the serde route only.
    fn both_aks_routes(bytes: &[u8], need: &Need) -> (Collect, Collect) {
        let run = |try_fast: bool| {
            let mut c = Collect::default();
            if crate::framing::too_deep(bytes).is_none() {
                if let Err(e) = aks_row_via(bytes, need, false, &mut c, try_fast) {
                    c.error(e);
                }
            }
            c
        };
        (run(true), run(false))
    }

    fn aks_rows(n: usize, seed: u64) -> Vec<Vec<u8>> {
        let mut all = Vec::new();
        let opts = GeneratorOptions::default()
            .with_events(n)
            .with_seed(seed)
            .with_story(true);
        Generator::new(opts.clone()).write(Shape::AksAudit, &mut all);
        Generator::new(opts).write_aks_strings(&mut all);
        let mut rows: Vec<Vec<u8>> = all
            .split(|&c| c == b'\n')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect();
        rows.push(br#"{"Type":"AKSAuditAdmin","Category":"kube-audit","Verb":"get","User":null,"ObjectRef":{"resource":"pods","x":[1,{}]},"ResponseStatus":{"code":201},"SourceIps":["1.2.3.4",null],"Annotations":{"a":"b"}}"#.to_vec());
        rows
    }

    #[test]
    fn aks_fast_route_equals_serde_route() {
        for p in projections() {
            let need = Need::from_projection(p);
            for row in aks_rows(300, 4) {
                let (fast, serde) = both_aks_routes(&row, &need);
                assert_eq!(fast, serde, "{}", String::from_utf8_lossy(&row));
            }
        }
        // Rows with dynamic columns as objects take the fast path.
        let rows = aks_rows(5, 4);
        let mut f = EventFields::default();
        let need = Need::from_projection(Projection::all());
        assert!(fast::aks_row(&rows[0], &need, &mut f).is_some());
        assert!(f.verb.is_some());
    }

    #[test]
    fn fast_paths_count_nesting_like_the_serde_guard() {
        let need = Need::from_projection(Projection::all());
        // The event object is level 1; `x` (skipped) holds `k` nested arrays.
        let native = |k: usize| {
            format!(
                r#"{{"kind":"Event","verb":"get","x":{}{}}}"#,
                "[".repeat(k),
                "]".repeat(k)
            )
        };
        for (k, ok) in [(63, true), (64, false)] {
            let rec = native(k);
            let mut f = EventFields::default();
            let fast = fast::native_event(rec.as_bytes(), &need, &mut f).is_some();
            assert_eq!(fast, ok, "{} levels", k + 1);
            assert_eq!(crate::framing::too_deep(rec.as_bytes()).is_none(), ok);
        }
        // A wrapper: the row (1), `records` (2), then the element's own levels.
        let hub = |k: usize| format!(r#"{{"records":[{}{}]}}"#, "[".repeat(k), "]".repeat(k));
        for (k, ok) in [(62, true), (63, false)] {
            let row = hub(k);
            assert_eq!(
                fast::wrapper_items(row.as_bytes(), b"records", true).is_some(),
                ok,
                "{} levels",
                k + 2
            );
            assert_eq!(crate::framing::too_deep(row.as_bytes()).is_none(), ok);
        }
    }

    #[test]
    fn envelope_fast_route_equals_serde_route() {
        for shape in [Shape::AzureDiagnostics, Shape::Archive] {
            for p in projections() {
                let need = Need::from_projection(p);
                for row in envelope_rows(shape, 400, 9) {
                    let (fast, serde) = both_routes(&row, shape, &need);
                    assert_eq!(fast, serde, "{}", String::from_utf8_lossy(&row));
                }
            }
        }
        // Generated rows take the fast path, the event walked in place.
        for shape in [Shape::AzureDiagnostics, Shape::Archive] {
            let rows = envelope_rows(shape, 20, 2);
            let event = rows
                .iter()
                .find(|r| memchr::memmem::find(r, br#"kind\":\"Event"#).is_some());
            let need = Need::from_projection(Projection::all());
            let env = event.and_then(|r| fast::envelope(r, shape == Shape::Archive, &need));
            let raw = env.and_then(|e| e.payload_raw);
            let mut f = EventFields::default();
            let record = event.map(|r| r.as_slice()).unwrap_or_default();
            assert!(
                raw.is_some_and(|r| fast::nested_native_event(record, r, &need, &mut f).is_some())
            );
            assert!(f.verb.is_some());
        }
        // The hand-made AzureDiagnostics row decodes both levels of escapes.
        let rows = envelope_rows(Shape::AzureDiagnostics, 0, 1);
        let (fast, _) = both_routes(
            &rows[0],
            Shape::AzureDiagnostics,
            &Need::from_projection(Projection::all()),
        );
        assert_eq!(fast.events[0].user_agent.as_deref(), Some(r#"a "q" & b"#));
    }

    proptest! {
        /// The webhook annotation test is a substring search for `webhook.admission.k8s.io/`,
        /// on keys built from pieces of it, slashes and other bytes.
        #[test]
        fn webhook_keys_are_found_like_a_substring_search(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("webhook.admission.k8s.io/"),
                    Just("webhook.admission.k8s.io"),
                    Just("mutation."),
                    Just("/"),
                    Just("x"),
                    Just("ebhook.admission.k8s.io/"),
                ],
                0..6,
            ),
        ) {
            let key = parts.concat();
            let need = Need::from_projection(Projection::of(&[Column::AdmissionWebhooks]));
            let substring = memchr::memmem::find(key.as_bytes(), b"webhook.admission.k8s.io/").is_some();
            prop_assert_eq!(need.annotation_key(key.as_bytes()), substring, "{:?}", key);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// The fast path never accepts what the serde path rejects, and agrees when both accept.
        #[test]
        fn fast_path_is_never_more_lenient(which in 0usize..6, at in 0usize..2000, how in any::<u8>(), twice in any::<bool>(), p in 0usize..5) {
            let mut g = Generator::new(GeneratorOptions::default().with_events(1).with_seed(which as u64));
            let base = match HAND_MADE.get(which) {
                Some(s) => s.as_bytes().to_vec(),
                None => {
                    let mut b = Vec::new();
                    if let Some(e) = g.next_event() { write_native(&e, &mut b); }
                    b
                }
            };
            let mut m = mutate(&base, at, how);
            if twice {
                m = mutate(&m, at / 2 + 7, how.wrapping_mul(31));
            }
            let need = Need::from_projection(projections()[p]);
            if let Some(f) = fast(&m, &need) {
                prop_assert_eq!(Some(f), serde(&m, &need), "{}", String::from_utf8_lossy(&m));
            }
        }

        /// Mutated `AKSAudit` rows: the fast route always ends as the serde route does.
        #[test]
        fn aks_fast_route_is_never_more_lenient(row in 0usize..40, at in 0usize..3000, how in any::<u8>(), twice in any::<bool>(), p in 0usize..5) {
            let rows = aks_rows(20, 6);
            let base = &rows[row % rows.len()];
            let mut m = mutate(base, at, how);
            if twice {
                m = mutate(&m, at / 3 + 11, how.wrapping_mul(17));
            }
            let need = Need::from_projection(projections()[p]);
            let (fast, serde) = both_aks_routes(&m, &need);
            prop_assert_eq!(fast, serde, "{}", String::from_utf8_lossy(&m));
        }

        /// Mutated wrapper rows (Event Hubs `records`, `EventList` `items`): whenever the
        /// scanner delimits the elements, the serde split accepts the row too and yields the
        /// same element bytes.
        #[test]
        fn wrapper_spans_equal_the_serde_split(list in any::<bool>(), at in 0usize..6000, how in any::<u8>(), twice in any::<bool>(), mutated in any::<bool>()) {
            let (shape, member) = if list { (Shape::EventList, "items") } else { (Shape::EventHub, "records") };
            let mut g = Generator::new(GeneratorOptions::default().with_events(3).with_seed(5));
            let mut base = Vec::new();
            g.write(shape, &mut base);
            let base = base.split(|&c| c == b'\n').find(|l| !l.is_empty()).unwrap_or_default().to_vec();
            let mut m = base.clone();
            if mutated {
                m = mutate(&m, at, how);
                if twice {
                    m = mutate(&m, at / 3 + 11, how.wrapping_mul(17));
                }
            }
            let fast = fast::wrapper_items(&m, member.as_bytes(), !list);
            if !mutated {
                prop_assert!(fast.as_ref().is_some_and(|s| s.len() == 3), "generated rows take the fast path");
            }
            if let Some(spans) = fast {
                let mut errors = Collect::default();
                let serde: Vec<Vec<u8>> = wrapper_items(&m, member, &mut errors, false)
                    .iter()
                    .map(|v| v.as_raw_str().as_bytes().to_vec())
                    .collect();
                prop_assert_eq!(errors, Collect::default());
                let spans: Vec<Vec<u8>> = spans.iter().map(|at| m[at.span.clone()].to_vec()).collect();
                prop_assert_eq!(spans, serde, "{}", String::from_utf8_lossy(&m));
            }
        }

        /// Mutated wrapper rows: reading the elements in the row's index ends exactly as
        /// reading each element on its own does.
        #[test]
        fn wrapper_elements_read_in_the_rows_index_equal_read_alone(list in any::<bool>(), picks in proptest::collection::vec(0usize..64, 0..6), at in 0usize..8000, how in any::<u8>(), mutated in any::<bool>(), p in 0usize..5) {
            let shape = if list { Shape::EventList } else { Shape::EventHub };
            let all = wrapper_elements(shape);
            let elements: Vec<&[u8]> = picks.iter().map(|&i| all[i % all.len()].as_slice()).collect();
            let row = wrapper_row(shape, &elements);
            let m = if mutated { mutate(&row, at, how) } else { row };
            prop_assume!(m.first() == Some(&b'{'));
            let need = Need::from_projection(projections()[p]);
            if !mutated {
                let member: &[u8] = if list { b"items" } else { b"records" };
                prop_assert!(fast::wrapper_items(&m, member, !list).is_some());
            }
            let (one_index, alone) = wrapper_routes(&m, shape, &need);
            prop_assert_eq!(one_index, alone, "{}", String::from_utf8_lossy(&m));
        }

        /// Mutated envelopes: the fast route (with its in-place walk of the event text)
        /// always ends as the serde route does.
        #[test]
        fn envelope_fast_route_is_never_more_lenient(archive in any::<bool>(), row in 0usize..40, at in 0usize..3000, how in any::<u8>(), twice in any::<bool>(), p in 0usize..5) {
            let shape = if archive { Shape::Archive } else { Shape::AzureDiagnostics };
            let rows = envelope_rows(shape, 30, 3);
            let base = &rows[row % rows.len()];
            let mut m = mutate(base, at, how);
            if twice {
                m = mutate(&m, at / 3 + 11, how.wrapping_mul(17));
            }
            let need = Need::from_projection(projections()[p]);
            let (fast, serde) = both_routes(&m, shape, &need);
            prop_assert_eq!(fast, serde, "{}", String::from_utf8_lossy(&m));
        }
    }
}

//! Tests of record parsing: the fast routes against the serde routes on every shape and
//! projection, on valid records and on mutated ones (never more lenient), wrapper rows read
//! in their own index and element by element, the nesting guard.

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
                    Shape::EventList => {
                        native_event(item, need, true, None, Outer::default(), &mut alone, shape)
                    }
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
        assert!(raw.is_some_and(|r| fast::nested_native_event(record, r, &need, &mut f).is_some()));
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

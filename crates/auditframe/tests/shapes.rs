//! Every record shape, with exact column values.

use auditframe::polars::prelude::*;
use auditframe::time::parse_timestamp;
use auditframe::{AuditFrame, Column, ParseOptions, Projection, Shape, SkipReason};

fn read(input: &str) -> (AuditFrame, auditframe::ParseReport) {
    AuditFrame::from_slice(input.as_bytes(), &ParseOptions::new().with_strict(true))
        .expect("parses")
}

fn strs(f: &AuditFrame, c: Column) -> Vec<Option<String>> {
    let s = f
        .column(c)
        .unwrap()
        .as_materialized_series()
        .cast(&DataType::String)
        .unwrap();
    s.str()
        .unwrap()
        .iter()
        .map(|v| v.map(str::to_owned))
        .collect()
}

fn ints(f: &AuditFrame, c: Column) -> Vec<Option<i64>> {
    let s = f
        .column(c)
        .unwrap()
        .as_materialized_series()
        .to_physical_repr()
        .cast(&DataType::Int64)
        .unwrap();
    s.i64().unwrap().iter().collect()
}

fn ts(s: &str) -> Option<i64> {
    Some(parse_timestamp(s).unwrap())
}

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

/// The same two logical events: a pod LIST with an escaped user agent and `\u0026` in the
/// URI, and a `/healthz` GET without objectRef or user agent.
const NATIVE: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a-1","stage":"ResponseComplete","requestURI":"/api/v1/pods?limit=500\u0026resourceVersion=0","verb":"list","user":{"username":"system:serviceaccount:tools:inv","groups":["system:authenticated"]},"sourceIPs":["10.0.0.7","10.0.0.8"],"userAgent":"bad \"client\"/1.0 caf\u00e9 \ud83d\ude00","objectRef":{"resource":"pods","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2026-11-20T10:55:55.1009Z","stageTimestamp":"2026-11-20T10:55:57.2001+00:00","annotations":{"authorization.k8s.io/decision":"allow"}}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"None","auditID":"a-2","stage":"ResponseComplete","requestURI":"/healthz","verb":"get","user":{"username":"system:anonymous"},"sourceIPs":["::1"],"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-11-20T11:55:55+01:00","stageTimestamp":"2026-11-20T10:55:55.003Z"}
"#;

fn assert_common(f: &AuditFrame) {
    assert_eq!(f.height(), 2);
    assert_eq!(strs(f, Column::AuditId), vec![s("a-1"), s("a-2")]);
    assert_eq!(strs(f, Column::Verb), vec![s("list"), s("get")]);
    assert_eq!(
        strs(f, Column::Stage),
        vec![s("ResponseComplete"), s("ResponseComplete")]
    );
    assert_eq!(
        strs(f, Column::UserAgent),
        vec![s("bad \"client\"/1.0 café 😀"), s("")]
    );
    assert_eq!(
        strs(f, Column::Username),
        vec![s("system:serviceaccount:tools:inv"), s("system:anonymous")]
    );
    assert_eq!(
        strs(f, Column::RequestUri),
        vec![s("/api/v1/pods?limit=500&resourceVersion=0"), s("/healthz")]
    );
    assert_eq!(strs(f, Column::SourceIp), vec![s("10.0.0.7"), s("::1")]);
    assert_eq!(strs(f, Column::Resource), vec![s("pods"), None]);
    assert_eq!(strs(f, Column::Subresource), vec![None, None]);
    assert_eq!(strs(f, Column::Namespace), vec![None, None]);
    assert_eq!(strs(f, Column::ApiVersion), vec![s("v1"), None]);
    assert_eq!(strs(f, Column::ApiGroup), vec![None, None]);
    assert_eq!(ints(f, Column::StatusCode), vec![Some(200), Some(200)]);
    assert_eq!(
        ints(f, Column::RequestReceived),
        vec![ts("2026-11-20T10:55:55.1009Z"), ts("2026-11-20T10:55:55Z")]
    );
    assert_eq!(
        ints(f, Column::StageTimestamp),
        vec![
            ts("2026-11-20T10:55:57.2001Z"),
            ts("2026-11-20T10:55:55.003Z")
        ]
    );
    // KQL datetime_diff truncates each side to whole milliseconds: 57200 − 55100.
    assert_eq!(ints(f, Column::LatencyMs), vec![Some(2100), Some(3)]);
}

#[test]
fn native_events() {
    let (f, r) = read(NATIVE);
    assert_eq!(r.shape, Some(Shape::Native));
    assert_common(&f);
    assert_eq!(strs(&f, Column::Level), vec![s("Metadata"), s("None")]);
    assert_eq!(
        ints(&f, Column::TimeGenerated),
        ints(&f, Column::StageTimestamp)
    );
    assert_eq!(strs(&f, Column::Category), vec![None, None]);
    assert_eq!(
        strs(&f, Column::SourceShape),
        vec![s("native"), s("native")]
    );
}

#[test]
fn event_list_document_pretty_printed() {
    let lines: Vec<&str> = NATIVE.lines().collect();
    let doc = format!("{{\n  \"kind\": \"EventList\",\n  \"apiVersion\": \"audit.k8s.io/v1\",\n  \"items\": [\n    {},\n    {}\n  ]\n}}\n", lines[0], lines[1]);
    let (f, r) = read(&doc);
    assert_eq!(r.shape, Some(Shape::EventList));
    assert_common(&f);
    let (f2, _) = read(&doc.replace('\n', " "));
    assert_common(&f2);
}

fn aks_rows(text_dynamic: bool) -> String {
    let dynv = |json: &str| {
        if text_dynamic {
            serde_json::to_string(json).unwrap()
        } else {
            json.to_owned()
        }
    };
    let row1 = format!(
        r#"{{"TimeGenerated":"2026-11-20T10:55:58.3059890Z","Level":"Metadata","AuditId":"a-1","Stage":"ResponseComplete","RequestUri":"/api/v1/pods?limit=500\u0026resourceVersion=0","Verb":"list","User":{},"SourceIps":{},"UserAgent":"bad \"client\"/1.0 caf\u00e9 \ud83d\ude00","ObjectRef":{},"ResponseStatus":{},"RequestReceivedTime":"2026-11-20T10:55:55.1009000Z","StageReceivedTime":"2026-11-20T10:55:57.2001000Z","Annotations":{},"Type":"AKSAudit","TableName":"PrimaryResult"}}"#,
        dynv(r#"{"username":"system:serviceaccount:tools:inv","groups":["system:authenticated"]}"#),
        dynv(r#"["10.0.0.7","10.0.0.8"]"#),
        dynv(r#"{"resource":"pods","apiVersion":"v1"}"#),
        dynv(r#"{"metadata":{},"code":200}"#),
        dynv(r#"{"authorization.k8s.io/decision":"allow"}"#),
    );
    let row2 = format!(
        r#"{{"TimeGenerated":"2026-11-20T10:55:59Z","Level":"None","AuditId":"a-2","Stage":"ResponseComplete","RequestUri":"/healthz","Verb":"get","User":{},"SourceIps":{},"UserAgent":"","ObjectRef":{},"ResponseStatus":{},"RequestReceivedTime":"2026-11-20T10:55:55.0000000Z","StageReceivedTime":"2026-11-20T10:55:55.0030000Z","Type":"AKSAuditAdmin"}}"#,
        dynv(r#"{"username":"system:anonymous"}"#),
        dynv(r#"["::1"]"#),
        if text_dynamic {
            "\"None\"".to_owned()
        } else {
            "null".to_owned()
        },
        dynv(r#"{"code":200}"#),
    );
    format!("{row1}\n{row2}\n")
}

#[test]
fn aks_audit_rows_with_object_and_text_dynamic_columns() {
    for text in [false, true] {
        let (f, r) = read(&aks_rows(text));
        assert_eq!(r.shape, Some(Shape::AksAudit), "text={text}");
        assert_common(&f);
        assert_eq!(
            ints(&f, Column::TimeGenerated),
            vec![
                ts("2026-11-20T10:55:58.305989Z"),
                ts("2026-11-20T10:55:59Z")
            ]
        );
        assert_eq!(
            strs(&f, Column::Category),
            vec![s("kube-audit"), s("kube-audit-admin")]
        );
        assert_eq!(
            strs(&f, Column::SourceShape),
            vec![s("aks_audit"), s("aks_audit")]
        );
    }
}

fn azure_diagnostics() -> String {
    let mut out = String::new();
    for (i, line) in NATIVE.lines().enumerate() {
        let tg = [
            "2026-11-20T10:55:58.3059890Z",
            "2026-11-20T10:55:59.0000000Z",
        ][i];
        out.push_str(&format!(r#"{{"TimeGenerated":"{tg}","Category":"kube-audit","log_s":{},"Type":"AzureDiagnostics"}}"#, serde_json::to_string(line).unwrap()));
        out.push('\n');
        // kube-apiserver log lines share the table: kept beside the events.
        out.push_str(r#"{"TimeGenerated":"2026-11-20T10:55:59Z","Category":"kube-apiserver","log_s":"I1120 10:55:59.000000 1 trace.go:236] Trace[1]: \"List\" url:/api/v1/pods\n"}"#);
        out.push('\n');
        // Rows of other categories: skipped and counted, not an error.
        out.push_str(r#"{"TimeGenerated":"2026-11-20T10:55:59Z","Category":"guard","log_s":"guard started"}"#);
        out.push('\n');
    }
    out
}

#[test]
fn azure_diagnostics_rows() {
    let (f, r) = read(&azure_diagnostics());
    assert_eq!(r.shape, Some(Shape::AzureDiagnostics));
    assert_eq!(r.other_category, 2);
    assert_eq!(r.log_lines, 2);
    assert_eq!(r.skipped_total(), 0);
    let logs = f.control_plane_logs();
    assert_eq!(logs.len(), 2);
    assert_eq!(logs[0].category, "kube-apiserver");
    assert_eq!(
        logs[0].message,
        r#"I1120 10:55:59.000000 1 trace.go:236] Trace[1]: "List" url:/api/v1/pods"#
    );
    assert_eq!(
        logs[0].time_generated,
        Some(auditframe::time::parse_timestamp("2026-11-20T10:55:59Z").unwrap())
    );
    assert_common(&f);
    assert_eq!(
        ints(&f, Column::TimeGenerated),
        vec![
            ts("2026-11-20T10:55:58.305989Z"),
            ts("2026-11-20T10:55:59Z")
        ]
    );
    assert_eq!(
        strs(&f, Column::Category),
        vec![s("kube-audit"), s("kube-audit")]
    );
}

fn archive_records() -> Vec<String> {
    NATIVE
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let t = ["2026-11-20T10:55:58.3059890Z", "2026-11-20T10:55:59.0000000Z"][i];
            format!(
                r#"{{"time":"{t}","resourceId":"/SUBSCRIPTIONS/X/MANAGEDCLUSTERS/C","category":"kube-audit","operationName":"Microsoft.ContainerService/managedClusters/diagnosticLogs/Read","properties":{{"log":{},"stream":"stdout","pod":"kube-apiserver-1"}}}}"#,
                serde_json::to_string(&format!("{line}\n")).unwrap()
            )
        })
        .collect()
}

#[test]
fn archive_records_and_event_hub_messages() {
    let archive = archive_records().join("\n");
    let (f, r) = read(&archive);
    assert_eq!(r.shape, Some(Shape::Archive));
    assert_common(&f);
    assert_eq!(
        ints(&f, Column::TimeGenerated),
        vec![
            ts("2026-11-20T10:55:58.305989Z"),
            ts("2026-11-20T10:55:59Z")
        ]
    );

    let hub = format!("{{\"records\":[{}]}}\n", archive_records().join(","));
    let (f, r) = read(&hub);
    assert_eq!(r.shape, Some(Shape::EventHub));
    assert_common(&f);
    assert_eq!(
        strs(&f, Column::SourceShape),
        vec![s("event_hub"), s("event_hub")]
    );

    // One message per record works too.
    let hub2: String = archive_records()
        .iter()
        .map(|r| format!("{{\"records\":[{r}]}}\n"))
        .collect();
    let (f, _) = read(&hub2);
    assert_common(&f);
}

#[test]
fn top_level_json_arrays_of_every_row_shape() {
    let rows: Vec<String> = aks_rows(true).lines().map(str::to_owned).collect();
    let arr = format!("[\n  {},\n  {}\n]\n", rows[0], rows[1]);
    let (f, r) = read(&arr);
    assert_eq!(r.shape, Some(Shape::AksAudit));
    assert_common(&f);
    // On one line too.
    let (f, _) = read(&arr.replace('\n', ""));
    assert_common(&f);
    let native = format!("[{}]", NATIVE.lines().collect::<Vec<_>>().join(","));
    let (f, r) = read(&native);
    assert_eq!(r.shape, Some(Shape::Native));
    assert_common(&f);
    let arch = format!("\u{feff}[{}]", archive_records().join(",\r\n"));
    let (f, r) = read(&arch);
    assert_eq!(r.shape, Some(Shape::Archive));
    assert_common(&f);
}

#[test]
fn every_shape_gives_the_same_frame() {
    every_shape_same_frame(false);
}

/// With the incident story, Azure shapes interleave kube-apiserver log rows with the events
/// (a JSON array writer once put the separator after them and broke the array).
#[test]
fn every_shape_gives_the_same_frame_with_the_story() {
    every_shape_same_frame(true);
}

fn every_shape_same_frame(story: bool) {
    use auditframe::generate::{Generator, GeneratorOptions};
    let opts = GeneratorOptions::default()
        .with_events(300)
        .with_seed(9)
        .with_story(story);
    let read_shape = |write: &dyn Fn(&mut Generator, &mut Vec<u8>)| {
        let mut buf = Vec::new();
        write(&mut Generator::new(opts.clone()), &mut buf);
        let (f, r) = AuditFrame::from_slice(&buf, &ParseOptions::new().with_strict(true)).unwrap();
        assert_eq!(r.skipped_total(), 0);
        f.dataframe().drop_many([
            "source_shape",
            "category",
            "time_generated",
            "cluster",
            "resource_id",
        ])
    };
    let native = read_shape(&|g, b| g.write(Shape::Native, b));
    assert_eq!(native.height(), 300);
    if story {
        let mut buf = Vec::new();
        Generator::new(opts.clone()).write_array(Shape::AksAudit, &mut buf);
        let (_, r) = AuditFrame::from_slice(&buf, &ParseOptions::new().with_strict(true)).unwrap();
        assert!(r.log_lines > 0, "the story writes log lines");
    }
    let others = [
        read_shape(&|g, b| g.write(Shape::EventList, b)),
        read_shape(&|g, b| g.write(Shape::AksAudit, b)),
        read_shape(&|g, b| g.write_aks_strings(b)),
        read_shape(&|g, b| g.write(Shape::AzureDiagnostics, b)),
        read_shape(&|g, b| g.write(Shape::Archive, b)),
        read_shape(&|g, b| g.write(Shape::EventHub, b)),
        read_shape(&|g, b| g.write_array(Shape::AksAudit, b)),
    ];
    // Categorical dictionaries differ between frames; compare as strings.
    let as_strings = |df: &DataFrame| {
        df.columns()
            .iter()
            .map(|c| {
                let s = c.as_materialized_series();
                match s.dtype() {
                    DataType::Categorical(..) => s.cast(&DataType::String).unwrap(),
                    _ => s.to_physical_repr().into_owned(),
                }
            })
            .collect::<Vec<_>>()
    };
    let want = as_strings(&native);
    for (i, o) in others.iter().enumerate() {
        let got = as_strings(o);
        for (a, b) in want.iter().zip(&got) {
            assert!(a.equals_missing(b), "shape #{i}, column {}", a.name());
        }
    }
}

#[test]
fn projection_keeps_only_asked_columns_and_same_values() {
    let opts =
        ParseOptions::new().with_projection(Projection::of(&[Column::Verb, Column::LatencyMs]));
    let (f, _) = AuditFrame::from_slice(NATIVE.as_bytes(), &opts).unwrap();
    assert_eq!(f.dataframe().width(), 2);
    assert_eq!(ints(&f, Column::LatencyMs), vec![Some(2100), Some(3)]);
    assert!(f.column(Column::AuditId).is_err());
    let (f, _) = AuditFrame::from_slice(
        NATIVE.as_bytes(),
        &ParseOptions::new().with_projection(Projection::none()),
    )
    .unwrap();
    assert_eq!(f.height(), 2);
}

#[test]
fn forced_shape_overrides_sniffing() {
    let opts = ParseOptions::new().with_shape(Some(Shape::AksAudit));
    let (f, r) = AuditFrame::from_slice(NATIVE.as_bytes(), &opts).unwrap();
    assert_eq!(f.height(), 0);
    assert_eq!(r.skipped.get(&SkipReason::ShapeMismatch), Some(&2));
}

#[test]
fn legacy_v1beta1_timestamp_and_missing_timestamps() {
    let line = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","timestamp":"2017-09-11T19:55:05Z","auditID":"x","stage":"ResponseComplete","requestURI":"/api","verb":"get","user":{"username":"system:admin"},"impersonatedUser":{"username":"bob"},"sourceIPs":["::1"],"responseStatus":{"code":403}}"#;
    let (f, _) = read(line);
    assert_eq!(
        ints(&f, Column::TimeGenerated),
        vec![ts("2017-09-11T19:55:05Z")]
    );
    assert_eq!(ints(&f, Column::LatencyMs), vec![None]);
    assert_eq!(ints(&f, Column::StatusCode), vec![Some(403)]);
}

mod roundtrip {
    use super::*;
    use auditframe::generate::{
        write_aks, write_archive, write_azure_diagnostics, write_native, GenEvent, ObjectRef,
        SlowPart,
    };
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        // Quotes, backslashes, control characters, non-ASCII, astral plane, '&' (escaped Go-style).
        prop::string::string_regex("[a-z0-9 \"\\\\/&\u{1}\u{1f}é€😀-]{0,24}").unwrap()
    }

    prop_compose! {
        fn event()(
            audit_id in text(), ua in prop::option::of(text()), user in text(), uri in text(), ip in text(),
            ns in prop::option::of(text()), name in prop::option::of(text()),
            res in prop::option::of(prop::sample::select(vec!["pods", "leases", "configmaps"])),
            sub in prop::option::of(Just("status")),
            code in 100i32..600, received in 0i64..4_000_000_000_000_000_000, dur_us in -1_000_000i64..1_000_000_000,
            webhook in prop::option::of((prop::sample::select(vec![
                "mutation.webhook.admission.k8s.io/round_0_index_0",
                "failed-open.validating.webhook.admission.k8s.io/round_1_index_2",
                "failed-open.mutation.webhook.admission.k8s.io/round_0_index_0",
                "not.a.webhook/x",
            ]), text())),
            slow_part in prop::sample::select(vec![SlowPart::Storage, SlowPart::ApfQueue, SlowPart::MutatingWebhook]),
        ) -> GenEvent {
            GenEvent {
                audit_id, stage: "ResponseComplete", verb: "get", request_uri: uri, user_agent: ua, username: user,
                groups: &["system:authenticated"], source_ip: ip,
                object_ref: res.map(|r| ObjectRef { resource: r, subresource: sub, namespace: ns, name, api_group: None, api_version: "v1" }),
                code,
                // Microseconds: every shape's timestamp precision (6 or 7 digits) keeps them.
                received_ns: received / 1000 * 1000,
                stage_ns: received / 1000 * 1000 + dur_us * 1000,
                annotations: webhook.map(|(k, name)| {
                    let v = if k.starts_with("mutation.") {
                        serde_json::json!({"configuration": "c", "webhook": name, "mutated": true}).to_string()
                    } else {
                        name
                    };
                    vec![(k.to_owned(), v)]
                }).unwrap_or_default(),
                slow_part,
            }
        }
    }

    fn frame(bytes: &[u8]) -> DataFrame {
        let (f, r) = AuditFrame::from_slice(bytes, &ParseOptions::new().with_strict(true)).unwrap();
        assert_eq!(r.skipped_total(), 0);
        f.into_dataframe().drop_many([
            "source_shape",
            "category",
            "time_generated",
            "cluster",
            "resource_id",
        ])
    }

    fn same(a: &DataFrame, b: &DataFrame) -> bool {
        a.height() == b.height()
            && a.columns().iter().zip(b.columns()).all(|(x, y)| {
                let (x, y) = (x.as_materialized_series(), y.as_materialized_series());
                let norm = |s: &Series| match s.dtype() {
                    DataType::Categorical(..) => s.cast(&DataType::String).unwrap(),
                    _ => s.to_physical_repr().into_owned(),
                };
                norm(x).equals_missing(&norm(y))
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Random events (escapes, control characters, astral characters, nulls) written in
        /// every shape read back to the same frame, through both the fast scanner and serde.
        #[test]
        fn every_shape_reads_back_the_same_events(events in prop::collection::vec(event(), 1..12)) {
            let lines = |w: &dyn Fn(&GenEvent, &mut Vec<u8>)| {
                let mut out = Vec::new();
                for e in &events {
                    w(e, &mut out);
                    out.push(b'\n');
                }
                out
            };
            let native = frame(&lines(&|e, o| write_native(e, o)));
            prop_assert_eq!(native.height(), events.len());
            // The latency annotations: written (exactly) only for requests over 500 ms.
            let total = native.column("lat_total_ns").unwrap().i64().unwrap().clone();
            for (e, t) in events.iter().zip(total.iter()) {
                let d = e.stage_ns - e.received_ns;
                prop_assert_eq!(t, (d > 500_000_000).then_some(d));
            }
            for other in [
                lines(&|e, o| write_aks(e, o, false)),
                lines(&|e, o| write_aks(e, o, true)),
                lines(&|e, o| write_azure_diagnostics(e, o)),
                lines(&|e, o| write_archive(e, o)),
            ] {
                prop_assert!(same(&native, &frame(&other)));
            }
        }
    }
}

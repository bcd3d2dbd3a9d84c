//! Tables written with arrow-rs in the shapes other tools produce (maps, JSON text, flattened
//! dotted columns, millisecond and naive timestamps), and bad files: every error names the
//! file and the column, nothing panics.

mod common;

use std::sync::Arc;

use arrow_array::builder::{MapBuilder, StringBuilder};
use arrow_array::{
    ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray,
    TimestampNanosecondArray,
};
use auditframe::{Column, ErrorKind, SkipReason};
use auditframe_parquet::{Error, ReaderBuilder, TableLayout, WriterBuilder};
use parquet::arrow::ArrowWriter;

fn parquet_of(batch: &RecordBatch) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(&mut buf, batch.schema(), None).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
    buf
}

fn batch(cols: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(cols.into_iter().map(|(n, a)| (n.to_owned(), a))).unwrap()
}

fn strs(v: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

const T0: i64 = 1_763_632_800_000; // 2025-11-20T10:00:00Z in ms

/// `AKSAudit` rows as a Spark job might land them: `TimeGenerated` in ms without a time
/// zone, `Annotations` as a map, `SourceIps` as JSON text, `ResponseStatus` as JSON text
/// with the CLI's `"None"`, `User` as JSON text.
fn aks_batch() -> RecordBatch {
    let mut ann = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
    ann.keys().append_value("authorization.k8s.io/decision");
    ann.values().append_value("allow");
    ann.keys()
        .append_value("mutation.webhook.admission.k8s.io/round_0_index_0");
    ann.values().append_value(
        r#"{"configuration":"kyverno-resource-mutating-webhook-cfg","webhook":"mutate.kyverno.svc-fail","mutated":true}"#,
    );
    ann.append(true).unwrap();
    ann.append(false).unwrap();
    batch(vec![
        (
            "TimeGenerated",
            Arc::new(TimestampMillisecondArray::from(vec![T0, T0 + 1000])),
        ),
        (
            "RequestReceivedTime",
            Arc::new(TimestampMillisecondArray::from(vec![T0 - 250, T0 + 500])),
        ),
        (
            "StageReceivedTime",
            Arc::new(TimestampMillisecondArray::from(vec![T0, T0 + 1000])),
        ),
        ("Verb", strs(&[Some("create"), Some("list")])),
        (
            "RequestUri",
            strs(&[Some("/api/v1/namespaces/a/pods"), Some("/api/v1/pods")]),
        ),
        ("UserAgent", strs(&[Some("kubectl/v1.31"), None])),
        (
            "User",
            strs(&[
                Some(r#"{"username":"alice","groups":["dev"]}"#),
                Some("None"),
            ]),
        ),
        (
            "SourceIps",
            strs(&[Some(r#"["10.0.0.7","10.0.0.8"]"#), Some("10.0.0.9")]),
        ),
        (
            "ObjectRef",
            strs(&[
                Some(r#"{"resource":"pods","namespace":"a","apiVersion":"v1"}"#),
                Some(r#"{"resource":"pods","apiVersion":"v1"}"#),
            ]),
        ),
        (
            "ResponseStatus",
            strs(&[Some(r#"{"code":201}"#), Some("None")]),
        ),
        ("Annotations", Arc::new(ann.finish())),
        ("Type", strs(&[Some("AKSAuditAdmin"), Some("AKSAudit")])),
    ])
}

#[test]
fn aks_audit_with_maps_json_text_and_millisecond_times() {
    let bytes = parquet_of(&aks_batch());
    let (f, report) = ReaderBuilder::new()
        .strict(true)
        .read_bytes(bytes, "aks.parquet")
        .unwrap();
    assert_eq!(
        report.inputs[0].table.as_ref().unwrap().layout,
        TableLayout::AksAudit
    );
    assert_eq!(f.height(), 2);
    let col = |c: Column| f.column(c).unwrap().as_materialized_series().clone();
    let latency = col(Column::LatencyMs);
    assert_eq!(latency.i64().unwrap().to_vec(), [Some(250), Some(500)]);
    let t = col(Column::TimeGenerated).to_physical_repr().into_owned();
    assert_eq!(t.i64().unwrap().get(1), Some((T0 + 1000) * 1_000_000));
    let s = |c: Column, i: usize| -> Option<String> {
        let s = col(c)
            .cast(&auditframe::polars::prelude::DataType::String)
            .unwrap();
        s.str().unwrap().get(i).map(str::to_owned)
    };
    assert_eq!(s(Column::Username, 0).as_deref(), Some("alice"));
    assert_eq!(s(Column::Username, 1), None);
    assert_eq!(s(Column::SourceIp, 0).as_deref(), Some("10.0.0.7"));
    assert_eq!(
        s(Column::SourceIp, 1).as_deref(),
        Some("10.0.0.9"),
        "a bare address"
    );
    assert_eq!(s(Column::Namespace, 0).as_deref(), Some("a"));
    assert_eq!(s(Column::Namespace, 1), None);
    assert_eq!(
        s(Column::UserAgent, 1).as_deref(),
        Some(""),
        "absent agent is \"\""
    );
    assert_eq!(s(Column::Category, 0).as_deref(), Some("kube-audit-admin"));
    assert_eq!(s(Column::Category, 1).as_deref(), Some("kube-audit"));
    assert_eq!(s(Column::SourceShape, 0).as_deref(), Some("aks_audit"));
    assert_eq!(
        s(Column::AdmissionWebhooks, 0).as_deref(),
        Some("mutating:mutate.kyverno.svc-fail")
    );
    assert_eq!(s(Column::AdmissionWebhooks, 1), None);
    let code = col(Column::StatusCode);
    assert_eq!(code.i32().unwrap().to_vec(), [Some(201), None]);
}

/// Native events fully flattened by a Spark `select("objectRef.*")`-style job: dotted
/// top-level columns, `sourceIPs` as a list, ns timestamps, `responseStatus.code` as Int64.
#[test]
fn native_events_with_dotted_flattened_columns() {
    let mut list = arrow_array::builder::ListBuilder::new(StringBuilder::new());
    list.values().append_value("192.0.2.1");
    list.append(true);
    list.append(false);
    let ns = |ms: i64| ms * 1_000_000;
    let b = batch(vec![
        ("kind", strs(&[Some("Event"), Some("Event")])),
        ("verb", strs(&[Some("get"), Some("watch")])),
        (
            "stage",
            strs(&[Some("ResponseComplete"), Some("ResponseStarted")]),
        ),
        (
            "stageTimestamp",
            Arc::new(TimestampNanosecondArray::from(vec![
                Some(ns(T0 + 12)),
                None,
            ])),
        ),
        (
            "requestReceivedTimestamp",
            Arc::new(TimestampNanosecondArray::from(vec![ns(T0), ns(T0 + 5)])),
        ),
        (
            "objectRef.resource",
            strs(&[Some("configmaps"), Some("pods")]),
        ),
        ("objectRef.namespace", strs(&[Some("kube-system"), None])),
        ("user.username", strs(&[Some("system:node:a"), Some("bob")])),
        (
            "responseStatus.code",
            Arc::new(Int64Array::from(vec![Some(200), None])),
        ),
        ("sourceIPs", Arc::new(list.finish())),
    ]);
    let (f, report) = ReaderBuilder::new()
        .strict(true)
        .read_bytes(parquet_of(&b), "spark.parquet")
        .unwrap();
    assert_eq!(
        report.inputs[0].table.as_ref().unwrap().layout,
        TableLayout::NativeEvents
    );
    let col = |c: Column| f.column(c).unwrap().as_materialized_series().clone();
    // time_generated: stageTimestamp, falling back to requestReceivedTimestamp.
    let t = col(Column::TimeGenerated).to_physical_repr().into_owned();
    assert_eq!(
        t.i64().unwrap().to_vec(),
        [Some(ns(T0 + 12)), Some(ns(T0 + 5))]
    );
    assert_eq!(
        col(Column::LatencyMs).i64().unwrap().to_vec(),
        [Some(12), None]
    );
    let s = |c: Column| -> Vec<Option<String>> {
        let s = col(c)
            .cast(&auditframe::polars::prelude::DataType::String)
            .unwrap();
        s.str()
            .unwrap()
            .iter()
            .map(|v| v.map(str::to_owned))
            .collect()
    };
    assert_eq!(
        s(Column::Resource),
        [Some("configmaps".into()), Some("pods".into())]
    );
    assert_eq!(s(Column::Namespace), [Some("kube-system".into()), None]);
    assert_eq!(s(Column::Username)[1].as_deref(), Some("bob"));
    assert_eq!(s(Column::SourceIp), [Some("192.0.2.1".into()), None]);
    assert_eq!(
        col(Column::StatusCode).i32().unwrap().to_vec(),
        [Some(200), None]
    );
    // Only the columns an analysis needs are decoded.
    let (_, report) = ReaderBuilder::new()
        .projection(auditframe::Projection::of(&[Column::Resource]))
        .read_bytes(parquet_of(&b), "spark.parquet")
        .unwrap();
    assert_eq!(
        report.inputs[0].table.as_ref().unwrap().columns_read,
        ["kind", "objectRef.resource"],
        "the container's flattened children, and `kind` (events only)"
    );
}

fn expect_table_error(r: auditframe_parquet::Result<impl Sized>) -> (String, auditframe::Error) {
    match r {
        Err(e @ Error::Table { .. }) => {
            let msg = e.to_string();
            let Error::Table { source, .. } = e else {
                unreachable!()
            };
            (msg, source)
        }
        Err(e) => panic!("expected a table error, got {e}"),
        Ok(_) => panic!("expected a table error, got a frame"),
    }
}

#[test]
fn bad_values_name_file_row_and_column_in_strict_mode_and_are_counted_in_lenient_mode() {
    let b = batch(vec![
        (
            "TimeGenerated",
            strs(&[
                Some("2026-11-20T10:00:00Z"),
                Some("yesterday"),
                Some("2026-11-20T10:00:02Z"),
            ]),
        ),
        ("Verb", strs(&[Some("get"), Some("get"), Some("list")])),
        (
            "ObjectRef",
            strs(&[
                Some(r#"{"resource":"pods"}"#),
                Some("{}"),
                Some(r#"{"resource":"#),
            ]),
        ),
    ]);
    let bytes = parquet_of(&b);
    let (msg, e) = expect_table_error(
        ReaderBuilder::new()
            .strict(true)
            .read_bytes(bytes.clone(), "bad.parquet"),
    );
    assert!(
        msg.starts_with("bad.parquet: row 2, column `TimeGenerated`: timestamp:"),
        "{msg}"
    );
    match e.kind() {
        ErrorKind::Value {
            row,
            column,
            reason,
            ..
        } => {
            assert_eq!(
                (*row, column.as_str(), *reason),
                (2, "TimeGenerated", SkipReason::Timestamp)
            );
        }
        other => panic!("{other:?}"),
    }
    let (f, report) = ReaderBuilder::new()
        .read_bytes(bytes, "bad.parquet")
        .unwrap();
    assert_eq!(f.height(), 1, "rows 2 (time) and 3 (JSON text) are skipped");
    assert_eq!(report.parse.skipped.get(&SkipReason::Timestamp), Some(&1));
    assert_eq!(report.parse.skipped.get(&SkipReason::Json), Some(&1));
    assert_eq!(report.parse.records, 3);
    assert_eq!(report.parse.rows, 1);
    let last = report.parse.errors[1].to_string();
    assert!(
        last.starts_with("bad.parquet: row 3, column `ObjectRef`: json:"),
        "{last}"
    );
}

#[test]
fn wrong_types_and_missing_columns_are_schema_errors_naming_the_column() {
    // `Verb` as a number.
    let b = batch(vec![
        ("TimeGenerated", strs(&[Some("2026-11-20T10:00:00Z")])),
        ("Verb", Arc::new(Int32Array::from(vec![3]))),
    ]);
    let (msg, _) = expect_table_error(ReaderBuilder::new().read_bytes(parquet_of(&b), "t.parquet"));
    assert!(
        msg.contains("column `Verb` has type Int32, expected a string"),
        "{msg}"
    );

    // Not an audit table at all.
    let b = batch(vec![("a", strs(&[Some("x")])), ("b", strs(&[Some("y")]))]);
    let (msg, _) = expect_table_error(ReaderBuilder::new().read_bytes(parquet_of(&b), "t.parquet"));
    assert!(
        msg.contains("not an audit table") && msg.contains("`a`, `b`"),
        "{msg}"
    );

    // A canonical file without a column the projection needs.
    let (frame, _) = auditframe::AuditFrame::from_slice(
        br#"{"kind":"Event","verb":"get","stageTimestamp":"2026-11-20T10:00:00Z"}"#,
        &auditframe::ParseOptions::new().with_projection(auditframe::Projection::of(&[
            Column::TimeGenerated,
            Column::Verb,
        ])),
    )
    .unwrap();
    let mut buf = Vec::new();
    WriterBuilder::new()
        .write(&frame, &mut buf, "narrow")
        .unwrap();
    let (msg, _) = expect_table_error(
        ReaderBuilder::new()
            .projection(auditframe::Projection::analyses())
            .read_bytes(buf.clone(), "narrow.parquet"),
    );
    assert_eq!(
        msg,
        "narrow.parquet: schema: column `request_received` is missing from the canonical table"
    );
    // Reading the columns it has works.
    let (f, _) = ReaderBuilder::new()
        .projection(auditframe::Projection::of(&[Column::Verb]))
        .read_bytes(buf, "narrow.parquet")
        .unwrap();
    assert_eq!(f.height(), 1);

    // A canonical column of the wrong type.
    let b = batch(vec![
        (
            "time_generated",
            Arc::new(TimestampMillisecondArray::from(vec![T0])),
        ),
        ("verb", Arc::new(Int32Array::from(vec![1]))),
    ]);
    let (msg, _) = expect_table_error(
        ReaderBuilder::new()
            .projection(auditframe::Projection::of(&[
                Column::TimeGenerated,
                Column::Verb,
            ]))
            .read_bytes(parquet_of(&b), "c.parquet"),
    );
    assert!(msg.contains("column `verb` has type Int32"), "{msg}");
}

#[test]
fn truncated_and_garbage_files_are_parquet_errors_naming_the_file() {
    let good = parquet_of(&aks_batch());
    for (name, bytes) in [
        ("empty.parquet", Vec::new()),
        ("garbage.parquet", b"{\"this\": \"is json\"}\n".to_vec()),
        ("truncated.parquet", good[..good.len() / 2].to_vec()),
        ("no-footer.parquet", good[..good.len() - 4].to_vec()),
    ] {
        match ReaderBuilder::new().read_bytes(bytes, name) {
            Err(e @ Error::Parquet { .. }) => {
                let msg = e.to_string();
                assert!(
                    msg.starts_with(&format!("{name}: not readable as Parquet")),
                    "{msg}"
                );
            }
            Err(e) => panic!("{name}: unexpected error {e}"),
            Ok(_) => panic!("{name}: read"),
        }
    }
    // A corrupt data page (the footer is intact): the error names the row group. Flip bytes
    // in the middle of the column chunks until the decoder objects (some flips land in
    // values and are simply read).
    let mut saw_row_group_error = false;
    for pos in (4..good.len() / 2).step_by(7) {
        let mut bad = good.clone();
        bad[pos] ^= 0xff;
        if let Err(Error::Parquet {
            row_group: Some(0), ..
        }) = ReaderBuilder::new().read_bytes(bad, "corrupt.parquet")
        {
            saw_row_group_error = true;
        }
    }
    assert!(saw_row_group_error);
    let missing = ReaderBuilder::new().read_path("/nonexistent/x.parquet");
    assert!(matches!(missing, Err(Error::Io { .. })));
}

/// `AKSControlPlane` rows landed in the same table as the audit rows: `kube-apiserver` lines
/// are kept as log lines, other categories counted; the frame holds only the events.
#[test]
fn control_plane_rows_of_a_mixed_aks_table_are_log_lines() {
    let b = batch(vec![
        (
            "TimeGenerated",
            Arc::new(TimestampMillisecondArray::from(vec![T0, T0 + 1, T0 + 2])),
        ),
        ("Verb", strs(&[Some("get"), None, None])),
        ("RequestUri", strs(&[Some("/api/v1/pods"), None, None])),
        (
            "Message",
            strs(&[
                None,
                Some(
                    r#"E1120 failed calling webhook "mutate.kyverno.svc-fail": context deadline exceeded"#,
                ),
                Some("guard: allowed"),
            ]),
        ),
        (
            "Category",
            strs(&[None, Some("kube-apiserver"), Some("guard")]),
        ),
        (
            "Type",
            strs(&[
                Some("AKSAudit"),
                Some("AKSControlPlane"),
                Some("AKSControlPlane"),
            ]),
        ),
    ]);
    let (f, report) = ReaderBuilder::new()
        .strict(true)
        .read_bytes(parquet_of(&b), "mixed.parquet")
        .unwrap();
    assert_eq!(f.height(), 1);
    assert_eq!(
        (report.parse.log_lines, report.parse.other_category),
        (1, 1)
    );
    let logs = f.control_plane_logs();
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].category, "kube-apiserver");
    assert_eq!(logs[0].time_generated, Some((T0 + 1) * 1_000_000));
    assert!(logs[0].message.contains("mutate.kyverno.svc-fail"));
}

//! `properties.log` and `log_s` holding the event as a JSON object instead of JSON text (some
//! storage exports write it so): read like the text, on the fast and the serde path.

use auditframe::polars::prelude::DataType;
use auditframe::{AuditFrame, Column, ParseOptions, Shape};

const EVENT: &str = r#"{"kind":"Event","auditID":"a-1","stage":"ResponseComplete","verb":"list","requestURI":"/api/v1/pods","userAgent":"kubectl/v1.30","objectRef":{"resource":"pods"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-11-20T10:00:00Z","stageTimestamp":"2026-11-20T10:00:01.5Z","annotations":{"apiserver.latency.k8s.io/etcd":"1.2s","apiserver.latency.k8s.io/total":"1.5s"}}"#;

fn text() -> String {
    serde_json::to_string(EVENT).unwrap()
}

fn read(input: &str) -> (AuditFrame, auditframe::ParseReport) {
    AuditFrame::from_slice(input.as_bytes(), &ParseOptions::new().with_strict(true))
        .expect("parses")
}

/// The frame without the columns that say where a row came from.
fn content(f: &AuditFrame) -> Vec<String> {
    Column::ALL
        .iter()
        .filter(|c| {
            !matches!(
                c,
                Column::SourceShape | Column::Category | Column::TimeGenerated
            )
        })
        .map(|c| {
            let s = f.column(*c).unwrap().as_materialized_series();
            let s = match s.dtype() {
                DataType::Categorical(..) => s.cast(&DataType::String).unwrap(),
                _ => s.to_physical_repr().into_owned(),
            };
            format!("{c}={:?}", s.get(0).unwrap())
        })
        .collect()
}

#[test]
fn object_payloads_read_like_text() {
    let archive = |log: &str, key: &str| {
        format!(
            r#"{{"time":"2026-11-20T10:00:02Z","category":"kube-audit","{key}":{{"log":{log},"pod":"x"}}}}"#
        )
    };
    let azd = |log: &str, key: &str| {
        format!(
            r#"{{"TimeGenerated":"2026-11-20T10:00:02Z","Category":"kube-audit","{key}":{log}}}"#
        )
    };
    let (reference, _) = read(&archive(&text(), "properties"));
    let want = content(&reference);
    assert_eq!(reference.height(), 1);
    let cases = [
        (Shape::Archive, archive(EVENT, "properties")),
        // An escaped key: the serde path.
        (Shape::Archive, archive(EVENT, r"propert\u0069es")),
        // `properties` itself as JSON text, holding the event object.
        (
            Shape::Archive,
            format!(
                r#"{{"time":"2026-11-20T10:00:02Z","category":"kube-audit","properties":{}}}"#,
                serde_json::to_string(&format!(r#"{{"log":{EVENT}}}"#)).unwrap()
            ),
        ),
        (
            Shape::EventHub,
            format!(r#"{{"records":[{}]}}"#, archive(EVENT, "properties")),
        ),
        (Shape::AzureDiagnostics, azd(EVENT, "log_s")),
        (Shape::AzureDiagnostics, azd(&text(), "log_s")),
    ];
    for (shape, input) in cases {
        let (f, r) = read(&input);
        assert_eq!(
            (r.shape, f.height(), r.skipped_total()),
            (Some(shape), 1, 0),
            "{input}"
        );
        assert_eq!(content(&f), want, "{input}");
        // The envelope's time wins, as for text payloads.
        let t = f
            .column(Column::TimeGenerated)
            .unwrap()
            .as_materialized_series()
            .to_physical_repr()
            .i64()
            .unwrap()
            .get(0);
        assert_eq!(
            t,
            Some(auditframe::time::parse_timestamp("2026-11-20T10:00:02Z").unwrap())
        );
    }
}

#[test]
fn bad_object_payloads_are_errors() {
    for (bad, reason) in [
        // An object that is no audit event.
        (
            r#"{"time":"2026-11-20T10:00:02Z","category":"kube-audit","properties":{"log":{"hello":1}}}"#,
            "not_an_event",
        ),
        // A number is neither text nor an event.
        (
            r#"{"time":"2026-11-20T10:00:02Z","category":"kube-audit","properties":{"log":7}}"#,
            "field_type",
        ),
        // A bad value inside the object.
        (
            r#"{"TimeGenerated":"2026-11-20T10:00:02Z","Category":"kube-audit","log_s":{"kind":"Event","verb":3}}"#,
            "field_type",
        ),
    ] {
        let (f, r) = AuditFrame::from_slice(bad.as_bytes(), &ParseOptions::new()).unwrap();
        assert_eq!(f.height(), 0, "{bad}");
        assert_eq!(r.errors.len(), 1, "{bad}");
        let reason_name = r.errors[0].reason().map(|x| x.name());
        assert_eq!(reason_name, Some(reason), "{bad}: {}", r.errors[0]);
        assert!(
            AuditFrame::from_slice(bad.as_bytes(), &ParseOptions::new().with_strict(true)).is_err()
        );
    }
}

//! The `apiserver.latency.k8s.io/*` annotations as `lat_*_ns` columns, in every shape that
//! carries annotations, on the fast and the serde path, and their errors.

use auditframe::{AuditFrame, Column, ParseOptions, Projection, Shape, SkipReason};

/// Annotations as kube-apiserver writes them on a slow request (Go's map order is sorted).
const ANNOTATIONS: &str = r#"{"apiserver.latency.k8s.io/apf-queue-wait":"1.5ms","apiserver.latency.k8s.io/authentication":"3.056µs","apiserver.latency.k8s.io/decode-response-object":"450.6649ns","apiserver.latency.k8s.io/etcd":"4.730661757s","apiserver.latency.k8s.io/response-write":"2.248µs","apiserver.latency.k8s.io/serialize-response-object":"57.106ms","apiserver.latency.k8s.io/total":"4.8s","apiserver.latency.k8s.io/transform-response-object":"1µs","authorization.k8s.io/decision":"allow","mutation.webhook.admission.k8s.io/round_0_index_0":"{\"configuration\":\"c\",\"webhook\":\"w.example.com\",\"mutated\":true}"}"#;

/// The expected `lat_*_ns` values, in [`Column::LATENCY_ANNOTATIONS`] order.
const EXPECTED: [Option<i64>; 9] = [
    Some(4_730_661_757), // etcd
    Some(1_500_000),     // apf-queue-wait
    None,                // mutating-webhook
    None,                // validating-webhook
    Some(450),           // decode-response-object
    Some(1_000),         // transform-response-object
    Some(57_106_000),    // serialize-response-object
    Some(2_248),         // response-write
    Some(4_800_000_000), // total
];

fn latency_projection() -> Projection {
    Column::LATENCY_ANNOTATIONS
        .iter()
        .fold(Projection::of(&[Column::Verb]), |p, (c, _)| p.with(*c))
}

fn lat(f: &AuditFrame, row: usize) -> [Option<i64>; 9] {
    let mut out = [None; 9];
    for (slot, (c, _)) in out.iter_mut().zip(Column::LATENCY_ANNOTATIONS) {
        *slot = f.column(c).unwrap().i64().unwrap().get(row);
    }
    out
}

fn read(input: &str, projection: Projection) -> (AuditFrame, auditframe::ParseReport) {
    let opts = ParseOptions::new()
        .with_strict(true)
        .with_projection(projection);
    AuditFrame::from_slice(input.as_bytes(), &opts).expect("parses")
}

fn native(key: &str, annotations: &str) -> String {
    format!(
        r#"{{"kind":"Event","auditID":"a","stage":"ResponseComplete","verb":"list","requestURI":"/api/v1/pods","objectRef":{{"resource":"pods"}},"requestReceivedTimestamp":"2026-11-20T10:00:00Z","stageTimestamp":"2026-11-20T10:00:04.8Z","{key}":{annotations}}}"#
    )
}

fn text(json: &str) -> String {
    serde_json::to_string(json).unwrap()
}

#[test]
fn every_shape_fast_and_serde_paths() {
    let event = native("annotations", ANNOTATIONS);
    let plain = native(
        "annotations",
        r#"{"authorization.k8s.io/decision":"allow"}"#,
    );
    let inputs = [
        (Shape::Native, format!("{event}\n{plain}\n")),
        // An escaped key sends the record down the serde path.
        (
            Shape::Native,
            format!(
                "{}\n{}\n",
                native(r"annot\u0061tions", ANNOTATIONS),
                native(r"annot\u0061tions", "{}")
            ),
        ),
        (
            Shape::AksAudit,
            format!(
                "{{\"TimeGenerated\":\"2026-11-20T10:00:05Z\",\"Verb\":\"list\",\"Annotations\":{ANNOTATIONS},\"Type\":\"AKSAudit\"}}\n{{\"TimeGenerated\":\"2026-11-20T10:00:05Z\",\"Verb\":\"get\",\"Annotations\":\"None\",\"Type\":\"AKSAudit\"}}\n"
            ),
        ),
        // AKSAudit with the dynamic column as JSON text.
        (
            Shape::AksAudit,
            format!(
                "{{\"TimeGenerated\":\"2026-11-20T10:00:05Z\",\"Verb\":\"list\",\"Annotations\":{},\"Type\":\"AKSAudit\"}}\n{{\"TimeGenerated\":\"2026-11-20T10:00:05Z\",\"Verb\":\"get\",\"Type\":\"AKSAudit\"}}\n",
                text(ANNOTATIONS)
            ),
        ),
        (
            Shape::AzureDiagnostics,
            format!(
                "{{\"TimeGenerated\":\"2026-11-20T10:00:05Z\",\"Category\":\"kube-audit\",\"log_s\":{}}}\n{{\"TimeGenerated\":\"2026-11-20T10:00:05Z\",\"Category\":\"kube-audit\",\"log_s\":{}}}\n",
                text(&event),
                text(&plain)
            ),
        ),
        (
            Shape::Archive,
            format!(
                "{{\"time\":\"2026-11-20T10:00:05Z\",\"category\":\"kube-audit\",\"properties\":{{\"log\":{}}}}}\n{{\"time\":\"2026-11-20T10:00:05Z\",\"category\":\"kube-audit\",\"properties\":{{\"log\":{}}}}}\n",
                text(&event),
                text(&plain)
            ),
        ),
    ];
    for (shape, input) in inputs {
        let (f, r) = read(&input, latency_projection());
        assert_eq!(r.shape, Some(shape));
        assert_eq!(f.height(), 2, "{shape:?}");
        assert_eq!(lat(&f, 0), EXPECTED, "{shape:?}: {input}");
        assert_eq!(lat(&f, 1), [None; 9], "{shape:?}");
        // The webhook column still reads its annotations next to the latency ones.
        let (f, _) = read(&input, latency_projection().with(Column::AdmissionWebhooks));
        assert_eq!(lat(&f, 0), EXPECTED);
        let w = f.column(Column::AdmissionWebhooks).unwrap();
        assert_eq!(w.str().unwrap().get(0), Some("mutating:w.example.com"));
    }
}

#[test]
fn not_projected_means_not_read() {
    // A bad latency value is not even looked at when no `lat_*` column is projected.
    let bad = native("annotations", r#"{"apiserver.latency.k8s.io/etcd":"fast"}"#);
    let (f, r) = read(&bad, Projection::analyses());
    assert_eq!((f.height(), r.skipped_total()), (1, 0));
    assert!(f.column(Column::LatEtcdNs).is_err());
}

#[test]
fn bad_durations_are_field_type_errors() {
    for (value, shape_input) in [
        ("\"fast\"", None),
        ("\"1.5\"", None),
        ("7", None),
        ("\"9999999999h\"", None),
        ("\"fast\"", Some(Shape::AzureDiagnostics)),
    ] {
        let event = native(
            "annotations",
            &format!(r#"{{"apiserver.latency.k8s.io/etcd":{value}}}"#),
        );
        let input = match shape_input {
            Some(_) => format!(
                "{{\"TimeGenerated\":\"2026-11-20T10:00:05Z\",\"Category\":\"kube-audit\",\"log_s\":{}}}\n",
                text(&event)
            ),
            None => format!("{event}\n"),
        };
        let lenient = ParseOptions::new().with_projection(latency_projection());
        let (f, r) = AuditFrame::from_slice(input.as_bytes(), &lenient).unwrap();
        assert_eq!(f.height(), 0, "{value}");
        assert_eq!(r.skipped.get(&SkipReason::FieldType), Some(&1), "{value}");
        let message = r.errors[0].to_string();
        assert!(message.contains("annotations"), "{message}");
        let strict = lenient.clone().with_strict(true);
        assert!(AuditFrame::from_slice(input.as_bytes(), &strict).is_err());
    }
    // Unknown keys under the prefix (authentication, authorization, future ones) are ignored,
    // whatever their value; the bogus negative total some releases write is kept as written.
    let odd = native(
        "annotations",
        r#"{"apiserver.latency.k8s.io/authorization":"n/a","apiserver.latency.k8s.io/total":"-2562047h47m16.854775808s"}"#,
    );
    let (f, _) = read(&odd, latency_projection());
    assert_eq!(lat(&f, 0)[8], Some(i64::MIN));
}

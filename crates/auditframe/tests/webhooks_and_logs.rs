//! Admission webhook annotations (`admission_webhooks`) and control-plane log lines
//! (`AKSControlPlane` rows, `kube-apiserver` diagnostics) in every shape that carries them.

use auditframe::time::parse_timestamp;
use auditframe::{AuditFrame, Column, ParseOptions, Shape};

fn read(input: &str) -> (AuditFrame, auditframe::ParseReport) {
    AuditFrame::from_slice(input.as_bytes(), &ParseOptions::new().with_strict(true))
        .expect("parses")
}

fn webhooks(f: &AuditFrame) -> Vec<Option<String>> {
    let c = f.column(Column::AdmissionWebhooks).unwrap();
    c.str()
        .unwrap()
        .iter()
        .map(|v| v.map(str::to_owned))
        .collect()
}

const ANNOTATIONS: &str = r#"{"authorization.k8s.io/decision":"allow","mutation.webhook.admission.k8s.io/round_0_index_0":"{\"configuration\":\"kyverno-resource-mutating-webhook-cfg\",\"webhook\":\"mutate.kyverno.svc-fail\",\"mutated\":true}","patch.webhook.admission.k8s.io/round_0_index_0":"{\"configuration\":\"x\",\"webhook\":\"mutate.kyverno.svc-fail\",\"patch\":[],\"patchType\":\"JSONPatch\"}","failed-open.validating.webhook.admission.k8s.io/round_0_index_2":"validate.gatekeeper.sh","failed-open.mutation.webhook.admission.k8s.io/round_1_index_0":"inject.istio.io"}"#;
const EXPECTED: &str = "mutating:mutate.kyverno.svc-fail,failed-open-validating:validate.gatekeeper.sh,failed-open-mutating:inject.istio.io";

fn native(annotations_key: &str, annotations: &str) -> String {
    format!(
        r#"{{"kind":"Event","auditID":"a","stage":"ResponseComplete","verb":"create","requestURI":"/api/v1/namespaces/d/pods","objectRef":{{"resource":"pods","namespace":"d"}},"responseStatus":{{"code":201}},"stageTimestamp":"2026-11-20T10:00:00Z","{annotations_key}":{annotations}}}"#
    )
}

#[test]
fn native_annotations_fast_and_serde_paths_agree() {
    // An escaped key sends the record down the serde path; a plain one takes the fast path.
    for key in ["annotations", r"annot\u0061tions"] {
        let input = format!(
            "{}\n{}\n",
            native(key, ANNOTATIONS),
            native(key, r#"{"authorization.k8s.io/decision":"allow"}"#)
        );
        let (f, _) = read(&input);
        assert_eq!(webhooks(&f), vec![Some(EXPECTED.to_owned()), None], "{key}");
    }
    // Without the column projected, annotations are not even looked at.
    let opts = ParseOptions::new().with_projection(auditframe::Projection::analyses());
    let (f, r) =
        AuditFrame::from_slice(native("annotations", ANNOTATIONS).as_bytes(), &opts).unwrap();
    assert_eq!((f.height(), r.skipped_total()), (1, 0));
    assert!(f.column(Column::AdmissionWebhooks).is_err());
}

#[test]
fn bad_annotation_values_are_field_type_errors_in_both_paths() {
    let bad = native(
        "annotations",
        r#"{"failed-open.validating.webhook.admission.k8s.io/round_0_index_0":7}"#,
    );
    let lenient = AuditFrame::from_slice(bad.as_bytes(), &ParseOptions::new()).unwrap();
    assert_eq!(
        lenient.1.skipped.get(&auditframe::SkipReason::FieldType),
        Some(&1)
    );
    // Unrelated non-string annotation values are skipped, as Kubernetes never writes them.
    let odd = native("annotations", r#"{"other":7}"#);
    assert_eq!(read(&odd).0.height(), 1);
}

#[test]
fn aks_rows_with_annotations_as_object_or_text() {
    let object = format!(
        r#"{{"TimeGenerated":"2026-11-20T10:00:00Z","AuditId":"a","Verb":"create","Stage":"ResponseComplete","Annotations":{ANNOTATIONS},"Type":"AKSAudit"}}"#
    );
    let text = format!(
        r#"{{"TimeGenerated":"2026-11-20T10:00:00Z","AuditId":"b","Verb":"create","Stage":"ResponseComplete","Annotations":{},"Type":"AKSAudit"}}"#,
        serde_json::to_string(ANNOTATIONS).unwrap()
    );
    let none = r#"{"TimeGenerated":"2026-11-20T10:00:00Z","AuditId":"c","Verb":"get","Annotations":"None","Type":"AKSAudit"}"#;
    let (f, _) = read(&format!("{object}\n{text}\n{none}\n"));
    assert_eq!(
        webhooks(&f),
        vec![Some(EXPECTED.to_owned()), Some(EXPECTED.to_owned()), None]
    );
}

#[test]
fn aks_control_plane_rows_are_log_lines() {
    let input = r#"{"TimeGenerated":"2026-11-20T10:00:01.5Z","Category":"kube-apiserver","Level":"error","Message":"E1120 10:00:01.500000 1 dispatcher.go:214] Failed calling webhook, failing closed mutate.kyverno.svc-fail: failed calling webhook \"mutate.kyverno.svc-fail\": context deadline exceeded","PodName":"kube-apiserver-7d9c","Type":"AKSControlPlane"}
{"TimeGenerated":"2026-11-20T10:00:02Z","Category":"kube-controller-manager","Message":"I1120 leader election","Type":"AKSControlPlane"}
{"TimeGenerated":"2026-11-20T10:00:03Z","AuditId":"x","Verb":"get","Stage":"ResponseComplete","Type":"AKSAudit"}
"#;
    let (f, r) = read(input);
    assert_eq!(r.shape, Some(Shape::AksAudit));
    assert_eq!((f.height(), r.log_lines, r.other_category), (1, 1, 1));
    let log = &f.control_plane_logs()[0];
    assert_eq!(
        log.time_generated,
        Some(parse_timestamp("2026-11-20T10:00:01.5Z").unwrap())
    );
    assert_eq!(log.category, "kube-apiserver");
    assert!(log.message.starts_with("E1120 10:00:01.500000 1 dispatcher.go:214] Failed calling webhook, failing closed mutate.kyverno.svc-fail: failed calling webhook \"mutate.kyverno.svc-fail\""));
}

#[test]
fn archive_and_event_hub_kube_apiserver_records_are_log_lines() {
    let rec = r#"{"time":"2026-11-20T10:00:01Z","category":"kube-apiserver","operationName":"Microsoft.ContainerService/managedClusters/diagnosticLogs/Read","properties":{"log":"W1120 10:00:01.000000 1 dispatcher.go:205] Failed calling webhook, failing open inject.istio.io: failed calling webhook \"inject.istio.io\": EOF\n","pod":"kube-apiserver-1","stream":"stderr"}}"#;
    let (f, r) = read(&format!("{rec}\n"));
    assert_eq!(
        (r.shape, f.height(), r.log_lines),
        (Some(Shape::Archive), 0, 1)
    );
    assert!(f.control_plane_logs()[0].message.ends_with("EOF"));
    let (f, r) = read(&format!("{{\"records\":[{rec},{rec}]}}\n"));
    assert_eq!((r.shape, r.log_lines), (Some(Shape::EventHub), 2));
    assert_eq!(f.control_plane_logs().len(), 2);
}

#[test]
fn log_lines_survive_chunked_appends_in_order() {
    let line = |i: u32| {
        format!(
            r#"{{"TimeGenerated":"2026-11-20T10:00:0{i}Z","Category":"kube-apiserver","log_s":"line {i}"}}"#
        )
    };
    let input: String = (0..6).map(|i| line(i) + "\n").collect();
    let opts = ParseOptions::new();
    let mut all = auditframe::decoder::FrameBuilder::new(&opts, None);
    for part in input.split_inclusive('\n').collect::<Vec<_>>().chunks(4) {
        let mut b = auditframe::decoder::FrameBuilder::new(&opts, None);
        b.push_lines(part.concat().as_bytes()).unwrap();
        all.append(b);
    }
    let (f, r) = all.finish().unwrap();
    assert_eq!(r.log_lines, 6);
    let messages: Vec<&str> = f
        .control_plane_logs()
        .iter()
        .map(|l| l.message.as_str())
        .collect();
    assert_eq!(
        messages,
        ["line 0", "line 1", "line 2", "line 3", "line 4", "line 5"]
    );
}

#[test]
fn log_lines_keep_their_time_when_time_generated_is_not_projected() {
    let input = r#"{"TimeGenerated":"2026-11-20T10:00:01Z","Category":"kube-apiserver","Message":"E1 failed calling webhook \"w\": EOF","Type":"AKSControlPlane"}
{"TimeGenerated":"yesterday","AuditId":"x","Verb":"get","Type":"AKSAudit"}
{"TimeGenerated":7,"AuditId":"y","Verb":"get","Type":"AKSAudit"}
{"TimeGenerated":"not a time","Category":"kube-apiserver","Message":"E2","Type":"AKSControlPlane"}
"#;
    let opts = ParseOptions::new().with_projection(auditframe::Projection::of(&[Column::Verb]));
    let (f, r) = AuditFrame::from_slice(input.as_bytes(), &opts).unwrap();
    // Events: `TimeGenerated` is not projected, so it is not type-checked.
    assert_eq!(f.height(), 2);
    // Log lines: their time is parsed anyway, and a bad one is a timestamp error.
    assert_eq!(
        f.control_plane_logs()[0].time_generated,
        Some(parse_timestamp("2026-11-20T10:00:01Z").unwrap())
    );
    assert_eq!(r.skipped.get(&auditframe::SkipReason::Timestamp), Some(&1));
    assert_eq!(r.errors[0].position().unwrap().line, 4);
    // The same for AzureDiagnostics rows.
    let azd =
        r#"{"TimeGenerated":"2026-11-20T10:00:02Z","Category":"kube-apiserver","log_s":"I1 ok"}"#;
    let (f, _) = AuditFrame::from_slice(azd.as_bytes(), &opts).unwrap();
    assert_eq!(
        f.control_plane_logs()[0].time_generated,
        Some(parse_timestamp("2026-11-20T10:00:02Z").unwrap())
    );
}

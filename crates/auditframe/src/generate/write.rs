//! Serialising generated events in every shape, byte for byte like the real exporters.

use super::{GenEvent, ObjectRef, SlowPart};
use crate::go_duration::format_go_duration;
use crate::timestamp::{civil_from_days, NANOS_PER_MILLI, NANOS_PER_SECOND};
use crate::Shape;

pub(super) fn write_event(shape: Shape, e: &GenEvent, out: &mut Vec<u8>, dynamic_as_text: bool) {
    match shape {
        Shape::AksAudit => write_aks(e, out, dynamic_as_text),
        Shape::AzureDiagnostics => write_azure_diagnostics(e, out),
        Shape::Archive | Shape::EventHub => write_archive(e, out),
        _ => write_native(e, out),
    }
}

/// Appends `s` as a JSON string literal.
pub fn push_json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            // Go's encoder escapes & < > as \u0026 etc.; do the same for '&'.
            '&' => out.extend_from_slice(b"\\u0026"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// `YYYY-MM-DDTHH:MM:SS.` + `digits` fractional digits + `Z`.
pub fn push_timestamp(out: &mut Vec<u8>, ns: i64, digits: usize) {
    let secs = ns.div_euclid(NANOS_PER_SECOND);
    let frac = ns.rem_euclid(NANOS_PER_SECOND);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let mut s = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    );
    if digits > 0 {
        let f = format!("{frac:09}");
        s.push('.');
        s.push_str(f.get(..digits.min(9)).unwrap_or(&f));
    }
    s.push('Z');
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
}

fn push_key(out: &mut Vec<u8>, first: &mut bool, key: &str) {
    if !*first {
        out.push(b',');
    }
    *first = false;
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
}

fn write_user(e: &GenEvent, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"username\":");
    push_json_str(out, &e.username);
    // A uid derived from the audit ID (escaped: IDs given by callers may hold any text).
    let prefix: String = e.audit_id.chars().take(8).collect();
    out.extend_from_slice(b",\"uid\":");
    push_json_str(out, &format!("{prefix}-0000-4000-8000-000000000000"));
    out.extend_from_slice(b",\"groups\":[");
    for (i, g) in e.groups.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_json_str(out, g);
    }
    out.extend_from_slice(b"]}");
}

fn write_object_ref(o: &ObjectRef, out: &mut Vec<u8>) {
    let mut first = true;
    out.push(b'{');
    push_key(out, &mut first, "resource");
    push_json_str(out, o.resource);
    if let Some(ns) = &o.namespace {
        push_key(out, &mut first, "namespace");
        push_json_str(out, ns);
    }
    if let Some(n) = &o.name {
        push_key(out, &mut first, "name");
        push_json_str(out, n);
    }
    if let Some(g) = o.api_group {
        push_key(out, &mut first, "apiGroup");
        push_json_str(out, g);
    }
    push_key(out, &mut first, "apiVersion");
    push_json_str(out, o.api_version);
    if let Some(s) = o.subresource {
        push_key(out, &mut first, "subresource");
        push_json_str(out, s);
    }
    out.push(b'}');
}

fn write_status(e: &GenEvent, out: &mut Vec<u8>) {
    if e.code == 429 {
        out.extend_from_slice(br#"{"metadata":{},"status":"Failure","message":"Too many requests, please try again later.","reason":"TooManyRequests","details":{"retryAfterSeconds":1},"code":429}"#);
    } else {
        out.extend_from_slice(format!(r#"{{"metadata":{{}},"code":{}}}"#, e.code).as_bytes());
    }
}

fn write_annotations(e: &GenEvent, out: &mut Vec<u8>) {
    out.push(b'{');
    // Go's encoder sorts map keys: `apiserver.latency.k8s.io/…` come first.
    for (k, v) in latency_annotations(e) {
        out.extend_from_slice(b"\"apiserver.latency.k8s.io/");
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b"\":");
        push_json_str(out, &format_go_duration(v));
        out.push(b',');
    }
    out.extend_from_slice(br#""authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by ClusterRoleBinding \"system:controller:generic-garbage-collector\" of ClusterRole \"system:controller:generic-garbage-collector\" to ServiceAccount \"generic-garbage-collector/kube-system\"""#);
    for (k, v) in &e.annotations {
        out.push(b',');
        push_json_str(out, k);
        out.push(b':');
        push_json_str(out, v);
    }
    out.push(b'}');
}

/// The `apiserver.latency.k8s.io/*` annotations kube-apiserver writes for this event, sorted
/// by key: only on the `ResponseComplete` event of a request over 500 ms
/// (`writeLatencyToAnnotation`), with the components that took time and the total.
/// Watches are left out here (their latency is the time the stream was held).
fn latency_annotations(e: &GenEvent) -> Vec<(&'static str, i64)> {
    let total = e.stage_ns - e.received_ns;
    if e.stage != "ResponseComplete" || total <= 500 * NANOS_PER_MILLI || e.verb == "watch" {
        return Vec::new();
    }
    let part = |permille: i64| total / 1000 * permille;
    let read = matches!(e.verb, "get" | "list");
    let mut parts: Vec<(&'static str, i64)> = match e.slow_part {
        SlowPart::Storage if read => vec![
            ("etcd", part(820)),
            ("decode-response-object", part(30)),
            ("serialize-response-object", part(60)),
            ("response-write", part(10)),
            ("transform-response-object", part(20)),
        ],
        SlowPart::Storage => vec![("etcd", part(900)), ("response-write", part(5))],
        SlowPart::ApfQueue => vec![
            ("apf-queue-wait", part(880)),
            ("etcd", part(60)),
            ("response-write", part(5)),
        ],
        SlowPart::MutatingWebhook => {
            vec![("mutating-webhook", part(985)), ("response-write", part(2))]
        }
    };
    parts.push(("total", total));
    parts.sort_unstable_by_key(|(k, _)| *k);
    parts
}

/// Writes the native `Event` JSON (6 fractional digits, as kube-apiserver does).
pub fn write_native(e: &GenEvent, out: &mut Vec<u8>) {
    out.extend_from_slice(
        br#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"#,
    );
    push_json_str(out, &e.audit_id);
    out.extend_from_slice(b",\"stage\":");
    push_json_str(out, e.stage);
    out.extend_from_slice(b",\"requestURI\":");
    push_json_str(out, &e.request_uri);
    out.extend_from_slice(b",\"verb\":");
    push_json_str(out, e.verb);
    out.extend_from_slice(b",\"user\":");
    write_user(e, out);
    out.extend_from_slice(b",\"sourceIPs\":[");
    push_json_str(out, &e.source_ip);
    out.push(b']');
    if let Some(ua) = &e.user_agent {
        out.extend_from_slice(b",\"userAgent\":");
        push_json_str(out, ua);
    }
    if let Some(o) = &e.object_ref {
        out.extend_from_slice(b",\"objectRef\":");
        write_object_ref(o, out);
    }
    out.extend_from_slice(b",\"responseStatus\":");
    write_status(e, out);
    out.extend_from_slice(b",\"requestReceivedTimestamp\":");
    push_timestamp(out, e.received_ns, 6);
    out.extend_from_slice(b",\"stageTimestamp\":");
    push_timestamp(out, e.stage_ns, 6);
    out.extend_from_slice(b",\"annotations\":");
    write_annotations(e, out);
    out.push(b'}');
}

fn native_string(e: &GenEvent) -> String {
    native_string_with_body(e, None)
}

/// The native event as text; with `body`, a `requestObject` of about that many bytes sits
/// where kube-apiserver writes it (before the timestamps), as a large ConfigMap would.
pub(super) fn native_string_with_body(e: &GenEvent, body: Option<usize>) -> String {
    let mut v = Vec::with_capacity(1200 + body.unwrap_or(0));
    write_native(e, &mut v);
    let mut s = String::from_utf8_lossy(&v).into_owned();
    const AT: &str = ",\"requestReceivedTimestamp\":";
    if let (Some(n), Some(at)) = (body, s.find(AT)) {
        // Base64-like text with an escaped newline every 76 characters, so that a cut can
        // fall inside an escape.
        let mut data = String::with_capacity(n + n / 38);
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for i in 0..n {
            if i % 77 == 76 {
                data.push_str("\\n");
            } else {
                let c = alphabet.get(i.wrapping_mul(7919) % alphabet.len());
                data.push(char::from(c.copied().unwrap_or(b'A')));
            }
        }
        let object = format!(
            ",\"requestObject\":{{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":{{\"name\":\"bundle\",\"resourceVersion\":\"{}\"}},\"data\":{{\"bundle.pem\":\"{data}\"}}}}",
            n
        );
        s.insert_str(at, &object);
    }
    s
}

/// `TimeGenerated` of Log Analytics rows: the record time, a little after the stage time.
pub(super) fn time_generated(e: &GenEvent) -> i64 {
    e.stage_ns + 137 * NANOS_PER_MILLI / 10
}

fn write_dynamic(out: &mut Vec<u8>, as_text: bool, f: impl FnOnce(&mut Vec<u8>)) {
    if as_text {
        let mut inner = Vec::new();
        f(&mut inner);
        push_json_str(out, &String::from_utf8_lossy(&inner));
    } else {
        f(out);
    }
}

/// Writes an `AKSAudit` row (7 fractional digits, like Log Analytics).
pub fn write_aks(e: &GenEvent, out: &mut Vec<u8>, dynamic_as_text: bool) {
    out.extend_from_slice(b"{\"TimeGenerated\":");
    push_timestamp(out, time_generated(e), 7);
    out.extend_from_slice(b",\"Level\":\"Metadata\",\"AuditId\":");
    push_json_str(out, &e.audit_id);
    out.extend_from_slice(b",\"Stage\":");
    push_json_str(out, e.stage);
    out.extend_from_slice(b",\"RequestUri\":");
    push_json_str(out, &e.request_uri);
    out.extend_from_slice(b",\"Verb\":");
    push_json_str(out, e.verb);
    out.extend_from_slice(b",\"User\":");
    write_dynamic(out, dynamic_as_text, |o| write_user(e, o));
    out.extend_from_slice(b",\"SourceIps\":");
    write_dynamic(out, dynamic_as_text, |o| {
        o.push(b'[');
        push_json_str(o, &e.source_ip);
        o.push(b']');
    });
    out.extend_from_slice(b",\"UserAgent\":");
    push_json_str(out, e.user_agent.as_deref().unwrap_or(""));
    out.extend_from_slice(b",\"ObjectRef\":");
    match &e.object_ref {
        Some(r) => write_dynamic(out, dynamic_as_text, |o| write_object_ref(r, o)),
        None if dynamic_as_text => out.extend_from_slice(b"\"None\""),
        None => out.extend_from_slice(b"{}"),
    }
    out.extend_from_slice(b",\"ResponseStatus\":");
    write_dynamic(out, dynamic_as_text, |o| write_status(e, o));
    out.extend_from_slice(b",\"RequestReceivedTime\":");
    push_timestamp(out, e.received_ns, 7);
    out.extend_from_slice(b",\"StageReceivedTime\":");
    push_timestamp(out, e.stage_ns, 7);
    out.extend_from_slice(b",\"Annotations\":");
    write_dynamic(out, dynamic_as_text, |o| write_annotations(e, o));
    out.extend_from_slice(br#","PodName":"kube-apiserver-6b8f9c7d4-x2x9z","Type":"AKSAudit","_ResourceId":"/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg/providers/microsoft.containerservice/managedclusters/aks-prod"}"#);
}

/// Writes an `AzureDiagnostics` row with the event in `log_s`.
pub fn write_azure_diagnostics(e: &GenEvent, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"TimeGenerated\":");
    push_timestamp(out, time_generated(e), 7);
    out.extend_from_slice(br#","Category":"kube-audit","log_s":"#);
    push_json_str(out, &native_string(e));
    out.extend_from_slice(br#","pod_s":"kube-apiserver-6b8f9c7d4-x2x9z","stream_s":"stdout","SourceSystem":"Azure","Type":"AzureDiagnostics","ResourceId":"/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/AKS-PROD"}"#);
}

/// Writes a storage-archive record with the event in `properties.log` (ending in `\n`).
pub fn write_archive(e: &GenEvent, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"time\":");
    push_timestamp(out, time_generated(e), 7);
    out.extend_from_slice(br#","resourceId":"/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/AKS-PROD","category":"kube-audit","operationName":"Microsoft.ContainerService/managedClusters/diagnosticLogs/Read","properties":{"log":"#);
    let mut log = native_string(e);
    log.push('\n');
    push_json_str(out, &log);
    out.extend_from_slice(br#","stream":"stdout","pod":"kube-apiserver-6b8f9c7d4-x2x9z"}}"#);
}

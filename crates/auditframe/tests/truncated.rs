//! Event text cut short (storage exports cut `properties.log` at 16 KiB): the members complete
//! before the cut are salvaged into a row marked `truncated`; garbage stays an error.
//!
//! The sweep cuts one event at every byte offset and checks each projected field against an
//! independent expectation computed from where each value ends in the whole text.

use auditframe::polars::prelude::DataType;
use auditframe::{AuditFrame, Column, ParseOptions, ParseReport, SkipReason};

const TIME: &str = "2026-11-20T10:00:07Z";
const TIME_NS: i64 = 1_795_168_807_000_000_000;

/// An event written like kube-apiserver writes one (Go's field order: the bodies come before
/// the timestamps and annotations), with escapes and numbers inside its request body.
fn event(body_pad: usize) -> String {
    // Escaped newlines in the pad: a cut can fall right after a backslash.
    let pad = "xy\\n".repeat(body_pad / 4) + &"x".repeat(body_pad % 4);
    format!(
        concat!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","#,
            r#""auditID":"0b4c8a37-9a57-4c1e-8d3e-4f0e5a6b7c8d","stage":"ResponseComplete","#,
            r#""requestURI":"/api/v1/namespaces/team-a/configmaps/cfg-1","verb":"update","#,
            r#""user":{{"username":"system:serviceaccount:team-a:deployer","groups":["system:authenticated"]}},"#,
            r#""sourceIPs":["10.1.2.3","10.9.9.9"],"userAgent":"helm/v3.14 \"fleet\"","#,
            r#""objectRef":{{"resource":"configmaps","namespace":"team-a","name":"cfg-1","apiVersion":"v1"}},"#,
            r#""responseStatus":{{"metadata":{{}},"code":200}},"#,
            r#""requestObject":{{"kind":"ConfigMap","data":{{"a.json":"{{\"k\":[1,2.5e3,-7],\"s\":\"t\\u00e9\\n\"}}","pad":"{pad}"}},"replicas":12345}},"#,
            r#""requestReceivedTimestamp":"2026-11-20T10:00:00.000000Z","#,
            r#""stageTimestamp":"2026-11-20T10:00:01.250000Z","#,
            r#""annotations":{{"apiserver.latency.k8s.io/total":"1.25s"}}}}"#
        ),
        pad = pad
    )
}

/// Where the value of `member` (its text as written, e.g. `"verb":"update"`) ends in `text`.
fn end_of(text: &str, member: &str) -> usize {
    text.find(member).expect("member in the event") + member.len()
}

/// The row expected from `text` cut at `cut`: each field iff its member ended before the cut
/// (a number needs the byte after it: more digits might have followed).
#[derive(Debug, PartialEq)]
struct Row {
    audit_id: Option<String>,
    stage: Option<String>,
    verb: Option<String>,
    request_uri: Option<String>,
    username: Option<String>,
    source_ip: Option<String>,
    user_agent: String,
    resource: Option<String>,
    namespace: Option<String>,
    name: Option<String>,
    status_code: Option<i32>,
    request_received: Option<i64>,
    stage_timestamp: Option<i64>,
    latency_ms: Option<i64>,
    lat_total_ns: Option<i64>,
    time_generated: Option<i64>,
    truncated: bool,
}

fn expected(text: &str, cut: usize) -> Option<Row> {
    let has = |member: &str| end_of(text, member) <= cut;
    let s = |member: &str, v: &str| has(member).then(|| v.to_owned());
    let received = has(r#""requestReceivedTimestamp":"2026-11-20T10:00:00.000000Z""#)
        .then_some(1_795_168_800_000_000_000);
    let stage_ts = has(r#""stageTimestamp":"2026-11-20T10:00:01.250000Z""#)
        .then_some(1_795_168_801_250_000_000);
    let row = Row {
        audit_id: s(
            r#""auditID":"0b4c8a37-9a57-4c1e-8d3e-4f0e5a6b7c8d""#,
            "0b4c8a37-9a57-4c1e-8d3e-4f0e5a6b7c8d",
        ),
        stage: s(r#""stage":"ResponseComplete""#, "ResponseComplete"),
        verb: s(r#""verb":"update""#, "update"),
        request_uri: s(
            r#""requestURI":"/api/v1/namespaces/team-a/configmaps/cfg-1""#,
            "/api/v1/namespaces/team-a/configmaps/cfg-1",
        ),
        username: s(
            r#""username":"system:serviceaccount:team-a:deployer""#,
            "system:serviceaccount:team-a:deployer",
        ),
        // An array is only taken whole.
        source_ip: s(r#""sourceIPs":["10.1.2.3","10.9.9.9"]"#, "10.1.2.3"),
        user_agent: s(
            r#""userAgent":"helm/v3.14 \"fleet\"""#,
            r#"helm/v3.14 "fleet""#,
        )
        .unwrap_or_default(),
        resource: s(r#""resource":"configmaps""#, "configmaps"),
        namespace: s(r#""namespace":"team-a""#, "team-a"),
        name: s(r#""name":"cfg-1""#, "cfg-1"),
        status_code: (end_of(text, r#""code":200"#) < cut).then_some(200),
        request_received: received,
        stage_timestamp: stage_ts,
        latency_ms: received.and(stage_ts).map(|_| 1250),
        lat_total_ns: has(r#""apiserver.latency.k8s.io/total":"1.25s""#).then_some(1_250_000_000),
        time_generated: Some(TIME_NS),
        truncated: cut < text.len(),
    };
    // A row needs one of the fields that mark an audit event.
    let event_field = row.audit_id.is_some()
        || row.stage.is_some()
        || row.verb.is_some()
        || row.request_uri.is_some()
        || received.is_some()
        || stage_ts.is_some();
    event_field.then_some(row)
}

fn rows(frame: &AuditFrame) -> Vec<Row> {
    let col = |c: Column| {
        let s = frame.column(c).unwrap().as_materialized_series().clone();
        match s.dtype() {
            DataType::Categorical(..) => s.cast(&DataType::String).unwrap(),
            _ => s.to_physical_repr().into_owned(),
        }
    };
    let text = |c: Column, i: usize| col(c).str().unwrap().get(i).map(str::to_owned);
    let int = |c: Column, i: usize| col(c).i64().unwrap().get(i);
    (0..frame.height())
        .map(|i| Row {
            audit_id: text(Column::AuditId, i),
            stage: text(Column::Stage, i),
            verb: text(Column::Verb, i),
            request_uri: text(Column::RequestUri, i),
            username: text(Column::Username, i),
            source_ip: text(Column::SourceIp, i),
            user_agent: text(Column::UserAgent, i).unwrap_or_default(),
            resource: text(Column::Resource, i),
            namespace: text(Column::Namespace, i),
            name: text(Column::Name, i),
            status_code: col(Column::StatusCode).i32().unwrap().get(i),
            request_received: int(Column::RequestReceived, i),
            stage_timestamp: int(Column::StageTimestamp, i),
            latency_ms: int(Column::LatencyMs, i),
            lat_total_ns: int(Column::LatTotalNs, i),
            time_generated: int(Column::TimeGenerated, i),
            truncated: col(Column::Truncated).bool().unwrap().get(i).unwrap(),
        })
        .collect()
}

/// The cut event text as a storage-export record and as an `AzureDiagnostics` row.
fn records(cut_text: &str) -> [String; 2] {
    let log = serde_json::to_string(cut_text).unwrap();
    [
        format!(
            r#"{{"time":"{TIME}","resourceId":"/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/AKS-1","category":"kube-audit","properties":{{"log":{log},"pod":"kube-apiserver-1"}}}}"#
        ),
        format!(r#"{{"TimeGenerated":"{TIME}","Category":"kube-audit","log_s":{log}}}"#),
    ]
}

fn read(record: &str, opts: &ParseOptions) -> (AuditFrame, ParseReport) {
    AuditFrame::from_slice(record.as_bytes(), opts).expect("lenient read")
}

#[test]
fn every_cut_keeps_exactly_the_members_complete_before_it() {
    let text = event(40);
    assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok());
    let first_field = end_of(&text, r#""auditID":"0b4c8a37-9a57-4c1e-8d3e-4f0e5a6b7c8d""#);
    let mut salvaged = 0;
    for cut in 1..=text.len() {
        let Some(cut_text) = text.get(..cut) else {
            continue;
        };
        for record in records(cut_text) {
            let (frame, report) = read(&record, &ParseOptions::new());
            let want = expected(&text, cut);
            assert_eq!(
                rows(&frame).pop(),
                want,
                "cut at {cut}: …{}",
                &cut_text[cut.saturating_sub(20)..]
            );
            match want {
                Some(row) => {
                    assert_eq!(report.skipped_total(), 0, "cut at {cut}");
                    assert_eq!(report.truncated_rows, u64::from(row.truncated));
                    salvaged += usize::from(row.truncated);
                }
                None => {
                    assert!(cut < first_field);
                    assert_eq!(
                        report.skipped.get(&SkipReason::Json),
                        Some(&1),
                        "cut at {cut}"
                    );
                    assert_eq!(report.truncated_rows, 0);
                }
            }
        }
    }
    assert_eq!(salvaged, 2 * (text.len() - first_field));
}

#[test]
fn a_cut_at_16_kib_inside_a_string_an_escape_a_number_or_between_fields() {
    const CUT: usize = 16 * 1024;
    // Padding moves the cut through the request body's pad string, then through the
    // members after it (a number, between members, the timestamps).
    let base = event(0);
    let pad_end = end_of(&base, r#""pad":""#);
    let mut contexts = std::collections::BTreeSet::new();
    for shift in 0..160 {
        let text = event(CUT - pad_end - 60 + shift);
        let Some(cut_text) = text.get(..CUT) else {
            continue;
        };
        let context = match cut_text.as_bytes()[CUT - 1] {
            b'x' | b'y' | b'n' => "string",
            b'\\' => "escape",
            b'0'..=b'9' => "number",
            b',' => "between fields",
            _ => "other",
        };
        contexts.insert(context);
        for record in records(cut_text) {
            let (frame, report) = read(&record, &ParseOptions::new());
            assert_eq!(
                rows(&frame).pop(),
                expected(&text, CUT),
                "{context} at shift {shift}"
            );
            assert_eq!(report.truncated_rows, 1);
        }
    }
    for c in ["string", "number", "between fields", "escape"] {
        assert!(contexts.contains(c), "no cut {c}: {contexts:?}");
    }
}

#[test]
fn rejecting_truncated_events_skips_them_or_fails_in_strict_mode() {
    let text = event(0);
    let cut = &text[..end_of(&text, r#""replicas":"#)];
    for record in records(cut) {
        let lenient = ParseOptions::new().with_reject_truncated(true);
        let (frame, report) = read(&record, &lenient);
        assert_eq!(frame.height(), 0);
        assert_eq!(report.skipped.get(&SkipReason::Truncated), Some(&1));
        assert_eq!(report.truncated_rows, 0);
        // Strict without the flag keeps the salvaged row; with it, the read fails.
        let (frame, _) = read(&record, &ParseOptions::new().with_strict(true));
        assert_eq!(frame.height(), 1);
        let err = AuditFrame::from_slice(
            record.as_bytes(),
            &ParseOptions::new()
                .with_strict(true)
                .with_reject_truncated(true),
        )
        .unwrap_err();
        assert_eq!(err.reason(), Some(SkipReason::Truncated));
        assert!(err.to_string().contains("cut short"), "{err}");
    }
}

#[test]
fn garbage_is_not_salvaged() {
    let text = event(0);
    let at = end_of(&text, r#""verb":"update""#);
    let broken = [
        // Invalid before the end.
        format!("{}}}{}", &text[..at], &text[at..text.len() - 40]),
        format!(
            "{}\"x\":nope,{}",
            &text[..at + 1],
            &text[at + 1..text.len() - 40]
        ),
        // Complete but with trailing garbage.
        format!("{text}}}"),
        // Not an object.
        format!("[{}", &text[..200]),
    ];
    for bad in broken {
        for record in records(&bad) {
            let (frame, report) = read(&record, &ParseOptions::new());
            assert_eq!(frame.height(), 0, "{bad}");
            assert_eq!(report.truncated_rows, 0);
            assert_eq!(report.skipped_total(), 1);
        }
    }
    // A bad value in a complete member is that member's error, as in a whole event.
    let bad_time = text.replace("2026-11-20T10:00:00.000000Z", "yesterday");
    let cut = &bad_time[..end_of(&bad_time, r#""stageTimestamp":"#)];
    for record in records(cut) {
        let (_, report) = read(&record, &ParseOptions::new());
        assert_eq!(report.skipped.get(&SkipReason::Timestamp), Some(&1));
    }
}

#[test]
fn the_truncated_column_is_false_for_whole_events_and_counted_in_any_projection() {
    let text = event(0);
    let whole = records(&text)[0].clone();
    let cut = records(&text[..end_of(&text, r#""replicas":12"#)])[0].clone();
    let (frame, report) = read(&format!("{whole}\n{cut}\n"), &ParseOptions::new());
    assert_eq!(report.truncated_rows, 1);
    let flags = frame
        .column(Column::Truncated)
        .unwrap()
        .bool()
        .unwrap()
        .clone();
    let flags: Vec<Option<bool>> = (0..flags.len()).map(|i| flags.get(i)).collect();
    assert_eq!(flags, [Some(false), Some(true)]);
    // Whole events with the column not projected cost nothing and read as before.
    let narrow = ParseOptions::new().with_projection(auditframe::Projection::analyses());
    let (frame, report) = read(&format!("{whole}\n{cut}\n"), &narrow);
    assert_eq!((frame.height(), report.truncated_rows), (2, 1));
}

//! Bad input: lenient mode skips and counts, strict mode fails with the same error.

use auditframe::{AuditFrame, ErrorKind, ParseOptions, SkipReason};

const GOOD: &str = r#"{"kind":"Event","auditID":"g","stage":"ResponseComplete","verb":"get","requestURI":"/api","userAgent":"ua","requestReceivedTimestamp":"2026-11-20T10:00:00Z","stageTimestamp":"2026-11-20T10:00:00.5Z"}"#;

fn lenient(input: &[u8]) -> auditframe::ParseReport {
    let (f, r) = AuditFrame::from_slice(input, &ParseOptions::new())
        .expect("lenient never fails on records");
    assert_eq!(f.height() as u64, r.rows);
    r
}

fn strict_err(input: &[u8]) -> auditframe::Error {
    AuditFrame::from_slice(input, &ParseOptions::new().with_strict(true)).expect_err("strict fails")
}

/// Input = GOOD, `bad`, GOOD: the bad record is line 2, both good rows survive.
fn check(bad: &[u8], reason: SkipReason) {
    let mut input = format!("{GOOD}\n").into_bytes();
    input.extend_from_slice(bad);
    input.extend_from_slice(format!("\n{GOOD}\n").as_bytes());
    let r = lenient(&input);
    assert_eq!(r.rows, 2, "{:?}", String::from_utf8_lossy(bad));
    assert_eq!(
        r.skipped.get(&reason),
        Some(&1),
        "{:?}: {:?}",
        String::from_utf8_lossy(bad),
        r.skipped
    );
    assert_eq!(r.skipped_total(), 1);
    let e = &r.errors[0];
    let pos = e.position().expect("position");
    assert_eq!((pos.line, pos.byte), (2, GOOD.len() as u64 + 1));
    let s = strict_err(&input);
    assert_eq!(s.reason(), Some(reason));
    assert_eq!(s.position().map(|p| p.line), Some(2));
    assert_eq!(&s, e, "strict and lenient report the same error");
}

#[test]
fn truncated_record() {
    check(&GOOD.as_bytes()[..60], SkipReason::Json);
}

#[test]
fn wrong_types() {
    for bad in [
        r#"{"kind":"Event","auditID":"x","verb":3}"#,
        r#"{"kind":"Event","auditID":"x","verb":"get","user":"alice"}"#,
        r#"{"kind":"Event","auditID":"x","verb":"get","objectRef":[1]}"#,
        r#"{"kind":"Event","auditID":"x","verb":"get","responseStatus":{"code":"abc"}}"#,
        r#"{"kind":"Event","auditID":"x","verb":"get","responseStatus":{"code":1e99}}"#,
        r#"{"kind":"Event","auditID":"x","verb":"get","responseStatus":{"code":99999999999}}"#,
        r#"{"kind":"Event","auditID":"x","verb":"get","sourceIPs":"1.2.3.4"}"#,
        r#"{"kind":"Event","auditID":"x","verb":"get","stageTimestamp":17}"#,
    ] {
        check(bad.as_bytes(), SkipReason::FieldType);
    }
}

#[test]
fn field_type_error_names_the_field() {
    let r =
        lenient(format!("{GOOD}\n{}\n", r#"{"kind":"Event","auditID":"x","verb":3}"#).as_bytes());
    assert!(
        r.errors[0].to_string().contains("`verb`"),
        "{}",
        r.errors[0]
    );
    assert_eq!(r.errors[0].position().and_then(|p| p.column), Some(38));
}

#[test]
fn bad_timestamps() {
    for bad in [
        r#"{"kind":"Event","auditID":"x","verb":"get","stageTimestamp":"2026-13-01T00:00:00Z"}"#,
        r#"{"kind":"Event","auditID":"x","verb":"get","requestReceivedTimestamp":"yesterday"}"#,
        r#"{"kind":"Event","auditID":"x","verb":"get","stageTimestamp":"9999-01-01T00:00:00Z"}"#,
    ] {
        check(bad.as_bytes(), SkipReason::Timestamp);
    }
}

#[test]
fn invalid_utf8() {
    check(
        b"{\"kind\":\"Event\",\"auditID\":\"x\",\"verb\":\"g\xff\xfet\"}",
        SkipReason::Utf8,
    );
}

#[test]
fn not_an_event() {
    check(br#"{"kind": 0}"#, SkipReason::FieldType);
    check(br#"{"kind":"Pod","metadata":{}}"#, SkipReason::NotAnEvent);
    check(br#"{"hello":"world"}"#, SkipReason::NotAnEvent);
    check(br#"42"#, SkipReason::FieldType);
}

#[test]
fn mixed_shapes_are_reported_as_such() {
    let aks =
        r#"{"TimeGenerated":"2026-11-20T10:00:00Z","AuditId":"a","Verb":"get","Type":"AKSAudit"}"#;
    check(aks.as_bytes(), SkipReason::ShapeMismatch);
}

#[test]
fn too_large_record() {
    let big = format!(r#"{{"kind":"Event","auditID":"{}"}}"#, "x".repeat(5000));
    let mut input = format!("{GOOD}\n{big}\n{GOOD}\n").into_bytes();
    let opts = ParseOptions::new().with_max_record_bytes(4096);
    let (f, r) = AuditFrame::from_slice(&input, &opts).unwrap();
    assert_eq!(f.height(), 2);
    assert_eq!(r.skipped.get(&SkipReason::TooLarge), Some(&1));
    input.clear();
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!(
        r#"{{"kind":"Event","auditID":"x","verb":"get","annotations":{}{}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    check(deep.as_bytes(), SkipReason::Json);
}

#[test]
fn bom_crlf_blank_lines() {
    let input = format!("\u{feff}{GOOD}\r\n\r\n   \n\t\n{GOOD}\r\n");
    let r = lenient(input.as_bytes());
    assert_eq!(r.rows, 2);
    assert_eq!(r.blank_lines, 3);
    assert_eq!(r.skipped_total(), 0);
}

#[test]
fn duplicate_keys_last_wins() {
    let dup = r#"{"kind":"Event","auditID":"x","verb":"get","verb":"list","stageTimestamp":"2026-11-20T10:00:00Z"}"#;
    let (f, _) =
        AuditFrame::from_slice(dup.as_bytes(), &ParseOptions::new().with_strict(true)).unwrap();
    let v = f
        .column(auditframe::Column::Verb)
        .unwrap()
        .as_materialized_series()
        .cast(&auditframe::polars::prelude::DataType::String)
        .unwrap();
    assert_eq!(v.str().unwrap().get(0), Some("list"));
}

#[test]
fn wrapper_with_one_bad_element_keeps_the_others() {
    let rec = |log: &str| {
        format!(
            r#"{{"time":"2026-11-20T10:00:00Z","category":"kube-audit","properties":{{"log":{}}}}}"#,
            serde_json::to_string(log).unwrap()
        )
    };
    let msg = format!(
        "{{\"records\":[{},{},{}]}}\n",
        rec(GOOD),
        rec("{broken"),
        rec(GOOD)
    );
    let r = lenient(msg.as_bytes());
    assert_eq!(r.rows, 2);
    assert_eq!(r.skipped.get(&SkipReason::Json), Some(&1));
    assert!(
        r.errors[0].to_string().contains("embedded JSON text"),
        "{}",
        r.errors[0]
    );
}

#[test]
fn unknown_first_record_in_strict_mode() {
    let e = strict_err(b"hello\n");
    assert!(matches!(e.kind(), ErrorKind::UnknownShape { .. }), "{e}");
    // Lenient: garbage before the first good record does not stop sniffing.
    let r = lenient(format!("garbage\n{GOOD}\n").as_bytes());
    assert_eq!((r.rows, r.skipped_total()), (1, 1));
}

#[test]
fn truncated_json_array() {
    let input = format!("[{GOOD},{GOOD},{{\"kind\":\"Ev");
    let r = lenient(input.as_bytes());
    assert_eq!(r.rows, 2);
    assert_eq!(r.skipped.get(&SkipReason::Json), Some(&1));
    assert!(strict_err(input.as_bytes())
        .to_string()
        .contains("truncated"));
}

#[test]
fn empty_input() {
    let r = lenient(b"");
    assert_eq!((r.rows, r.records), (0, 0));
    let r = lenient(b"\n\n");
    assert_eq!(r.blank_lines, 2);
}

/// Found by fuzzing: JSON text inside a string (an AKSAudit dynamic column, an archive
/// `properties` text) escaped the nesting check and overflowed the stack when parsed.
#[test]
fn deep_nesting_inside_json_text_is_an_error_not_a_crash() {
    let deep = format!("{}{}", "[".repeat(50_000), "]".repeat(50_000));
    let text = serde_json::to_string(&deep).unwrap();
    for row in [
        format!(r#"{{"AuditId":"a","Verb":"get","ObjectRef":{text}}}"#),
        format!(r#"{{"AuditId":"a","Verb":"get","User":{text}}}"#),
        format!(r#"{{"AuditId":"a","Verb":"get","Annotations":{text}}}"#),
        format!(r#"{{"time":"2026-11-20T10:00:00Z","category":"kube-audit","properties":{text}}}"#),
    ] {
        let (f, r) =
            auditframe::AuditFrame::from_slice(row.as_bytes(), &auditframe::ParseOptions::new())
                .unwrap();
        assert_eq!(
            (f.height(), r.skipped.get(&auditframe::SkipReason::Json)),
            (0, Some(&1)),
            "{}",
            &row[..40]
        );
        assert!(
            r.errors[0].to_string().contains("nesting deeper than 64"),
            "{}",
            r.errors[0]
        );
    }
}

/// Nesting just under the limit parses without exhausting a 2 MiB (test or rayon) thread
/// stack, in every shape's recursive path, in debug builds too.
#[test]
fn nesting_just_under_the_limit_fits_a_small_stack() {
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    let d = deep(auditframe::decoder::MAX_NESTING - 2);
    let text = serde_json::to_string(&deep(auditframe::decoder::MAX_NESTING - 2)).unwrap();
    let rows = [
        format!(r#"{{"kind":"Event","auditID":"a","verb":"get","x":{d}}}"#),
        format!(r#"{{"AuditId":"a","Verb":"get","X":{d}}}"#),
        format!(r#"{{"AuditId":"a","Verb":"get","ObjectRef":{text}}}"#),
    ];
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            for row in rows {
                let (f, r) = auditframe::AuditFrame::from_slice(
                    row.as_bytes(),
                    &auditframe::ParseOptions::new(),
                )
                .unwrap();
                assert_eq!(f.height() as u64 + r.skipped_total(), 1);
            }
        })
        .unwrap()
        .join()
        .unwrap();
}

//! Each diagnosis on hand-made events: cases that trigger it and cases that must not.

use auditframe::analysis::parse_duration;
use auditframe::diagnose::{diagnose_partial, ListReadRules, ReadType, SloClass};
use auditframe::{
    diagnose, AuditFrame, DiagnoseOptions, DiagnosisReport, LogLine, ParseOptions, TimeWindow,
};

/// One native event. `t` is seconds after 10:00:00, `ms` the latency.
#[allow(clippy::too_many_arguments)]
fn ev(
    verb: &str,
    uri: &str,
    ua: &str,
    resource: &str,
    ns: Option<&str>,
    name: Option<&str>,
    code: i32,
    t: f64,
    ms: i64,
) -> String {
    let ts = |secs: f64| {
        let whole = secs.floor() as i64;
        let micros = ((secs - secs.floor()) * 1e6).round() as i64;
        format!(
            "2026-11-20T{:02}:{:02}:{:02}.{:06}Z",
            10 + whole / 3600,
            whole / 60 % 60,
            whole % 60,
            micros
        )
    };
    let mut obj = format!(r#""resource":"{resource}""#);
    if let Some(ns) = ns {
        obj.push_str(&format!(r#","namespace":"{ns}""#));
    }
    if let Some(n) = name {
        obj.push_str(&format!(r#","name":"{n}""#));
    }
    format!(
        r#"{{"kind":"Event","auditID":"x","stage":"ResponseComplete","verb":"{verb}","requestURI":"{uri}","user":{{"username":"u-{ua}"}},"userAgent":"{ua}","objectRef":{{{obj}}},"responseStatus":{{"code":{code}}},"requestReceivedTimestamp":"{}","stageTimestamp":"{}"}}"#,
        ts(t),
        ts(t + ms as f64 / 1000.0)
    ) + "\n"
}

fn frame(lines: &[String]) -> AuditFrame {
    AuditFrame::from_slice(
        lines.concat().as_bytes(),
        &ParseOptions::new().with_strict(true),
    )
    .unwrap()
    .0
}

fn run(lines: &[String]) -> DiagnosisReport {
    diagnose(&frame(lines), &DiagnoseOptions::default()).unwrap()
}

#[test]
fn list_read_types_follow_the_rule_sets() {
    let lines = vec![
        ev(
            "list",
            "/api/v1/pods?limit=500&continue=abc",
            "pager",
            "pods",
            None,
            None,
            200,
            0.0,
            900,
        ),
        ev(
            "list",
            "/api/v1/pods?limit=500",
            "pager",
            "pods",
            None,
            None,
            200,
            1.0,
            800,
        ),
        ev(
            "list",
            "/api/v1/namespaces/a/pods?resourceVersion=0",
            "informer",
            "pods",
            Some("a"),
            None,
            200,
            2.0,
            5,
        ),
        ev(
            "list",
            "/api/v1/namespaces/a/pods?resourceVersion=123&resourceVersionMatch=Exact",
            "exact",
            "pods",
            Some("a"),
            None,
            200,
            3.0,
            50,
        ),
        ev(
            "list",
            "/api/v1/namespaces/a/pods?resourceVersion=123&limit=10",
            "legacy",
            "pods",
            Some("a"),
            None,
            200,
            4.0,
            40,
        ),
        // Not counted: failed or throttled LISTs, and other verbs.
        ev(
            "list",
            "/api/v1/pods",
            "pager",
            "pods",
            None,
            None,
            429,
            5.0,
            1,
        ),
        ev(
            "list",
            "/api/v1/pods",
            "pager",
            "pods",
            None,
            None,
            500,
            5.0,
            1,
        ),
        ev(
            "get",
            "/api/v1/namespaces/a/pods/p",
            "pager",
            "pods",
            Some("a"),
            Some("p"),
            200,
            6.0,
            1,
        ),
    ];
    let f = frame(&lines);
    let since = diagnose(&f, &DiagnoseOptions::default()).unwrap().list;
    assert_eq!(since.total, 5);
    let class = |r: &auditframe::diagnose::ListReport, t: ReadType, scope: &str| {
        r.classes
            .iter()
            .find(|c| c.read_type == t && c.scope == scope)
            .map(|c| (c.count, c.latency_sum_ms, c.p99_ms))
    };
    // since 1.31: the first page (no resourceVersion) comes from the cache.
    assert_eq!(
        class(&since, ReadType::Etcd, "cluster"),
        Some((1, 900, Some(900)))
    );
    assert_eq!(
        class(&since, ReadType::Cache, "cluster"),
        Some((1, 800, Some(800)))
    );
    assert_eq!(
        class(&since, ReadType::Etcd, "namespace"),
        Some((2, 90, Some(50)))
    );
    assert_eq!(
        class(&since, ReadType::Cache, "namespace"),
        Some((1, 5, Some(5)))
    );
    // The worst offender by latency sum.
    let top = &since.offenders[0];
    assert_eq!(
        (top.key.as_str(), top.namespace.as_deref(), top.read_type),
        ("pager", None, ReadType::Etcd)
    );
    let before = diagnose(
        &f,
        &DiagnoseOptions::default().with_list_rules(ListReadRules::Before131),
    )
    .unwrap()
    .list;
    assert_eq!(
        class(&before, ReadType::Etcd, "cluster"),
        Some((2, 1700, Some(900)))
    );
    assert_eq!(class(&before, ReadType::Cache, "cluster"), None);
}

#[test]
fn lists_of_resources_without_a_watch_cache_read_etcd() {
    let list = |uri: &str, resource: &str, t: f64| {
        ev("list", uri, "lister", resource, Some("a"), None, 200, t, 20)
    };
    let lines = vec![
        // Trigger: events have no watch cache upstream, so even `resourceVersion=0` reads etcd
        // (core and events.k8s.io alike).
        list(
            "/api/v1/namespaces/a/events?resourceVersion=0",
            "events",
            1.0,
        ),
        list("/apis/events.k8s.io/v1/namespaces/a/events", "events", 2.0),
        // No trigger: the same query on a cached resource is served from the cache.
        list("/api/v1/namespaces/a/pods?resourceVersion=0", "pods", 3.0),
    ];
    let read = |opts: &DiagnoseOptions| {
        let d = diagnose(&frame(&lines), opts).unwrap().list;
        let mut r: Vec<(String, ReadType, u64)> = d
            .offenders
            .iter()
            .map(|o| (o.resource.clone(), o.read_type, o.count))
            .collect();
        r.sort();
        r
    };
    assert_eq!(
        read(&DiagnoseOptions::default()),
        [
            ("events".to_owned(), ReadType::Etcd, 2),
            ("pods".to_owned(), ReadType::Cache, 1)
        ]
    );
    // A cluster whose events have a watch cache: the query decides again.
    let cached = DiagnoseOptions::default().with_uncached_resources(Vec::new());
    assert_eq!(
        read(&cached),
        [
            ("events".to_owned(), ReadType::Cache, 2),
            ("pods".to_owned(), ReadType::Cache, 1)
        ]
    );
}

#[test]
fn list_peak_windows_by_count_and_by_latency() {
    let mut lines = Vec::new();
    // 10:00–10:10: many fast cached LISTs; 11:00: few very slow etcd LISTs.
    for i in 0..40 {
        lines.push(ev(
            "list",
            "/api/v1/namespaces/a/pods?resourceVersion=0",
            "fast",
            "pods",
            Some("a"),
            None,
            200,
            i as f64 * 15.0,
            2,
        ));
    }
    for i in 0..3 {
        lines.push(ev(
            "list",
            "/api/v1/pods?limit=500&continue=x",
            "slow",
            "pods",
            None,
            None,
            200,
            3600.0 + i as f64 * 60.0,
            20_000,
        ));
    }
    let d = run(&lines).list;
    let by_count = d.peak_by_count.unwrap();
    assert_eq!(
        (by_count.start.to_string().as_str(), by_count.count),
        ("2026-11-20T10:00:00Z", 40)
    );
    assert_eq!(by_count.top[0].key, "fast");
    let by_latency = d.peak_by_latency.unwrap();
    assert_eq!(
        (
            by_latency.start.to_string().as_str(),
            by_latency.end.to_string().as_str(),
            by_latency.count,
            by_latency.latency_sum_ms
        ),
        ("2026-11-20T11:00:00Z", "2026-11-20T11:30:00Z", 3, 60_000)
    );
    assert_eq!(by_latency.top[0].key, "slow");
}

#[test]
fn throttling_shares_series_and_guard_events() {
    let mut lines = vec![
        ev(
            "create",
            "/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas",
            "aks-guard",
            "flowschemas",
            None,
            Some("aks-managed-apiserver-guard"),
            201,
            60.0,
            5,
        ),
        ev(
            "create",
            "/apis/flowcontrol.apiserver.k8s.io/v1/prioritylevelconfigurations",
            "aks-guard",
            "prioritylevelconfigurations",
            None,
            Some("aks-managed-apiserver-guard"),
            201,
            61.0,
            5,
        ),
        // Not the guard: another FlowSchema, and a read of the guard.
        ev(
            "create",
            "/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas",
            "me",
            "flowschemas",
            None,
            Some("mine"),
            201,
            62.0,
            5,
        ),
        ev(
            "get",
            "/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas/aks-managed-apiserver-guard",
            "me",
            "flowschemas",
            None,
            Some("aks-managed-apiserver-guard"),
            200,
            63.0,
            5,
        ),
        ev(
            "delete",
            "/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas/aks-managed-apiserver-guard",
            "alice",
            "flowschemas",
            None,
            Some("aks-managed-apiserver-guard"),
            200,
            900.0,
            5,
        ),
    ];
    for i in 0..10 {
        let code = if i < 3 { 200 } else { 429 };
        lines.push(ev(
            "list",
            "/api/v1/pods",
            "noisy",
            "pods",
            None,
            None,
            code,
            120.0 + i as f64,
            1,
        ));
    }
    lines.push(ev(
        "get",
        "/api/v1/namespaces/a/pods/p",
        "calm",
        "pods",
        Some("a"),
        Some("p"),
        200,
        130.0,
        1,
    ));
    let d = run(&lines).throttling;
    assert_eq!((d.requests, d.throttled), (16, 7));
    assert_eq!(d.by_key.len(), 1, "only keys with 429s are listed");
    assert_eq!(
        (
            d.by_key[0].key.as_str(),
            d.by_key[0].requests,
            d.by_key[0].throttled
        ),
        ("noisy", 10, 7)
    );
    assert!((d.by_key[0].share - 0.7).abs() < 1e-12);
    assert_eq!(d.series.len(), 1);
    assert_eq!(
        (
            d.series[0].bin_start.to_string().as_str(),
            d.series[0].throttled
        ),
        ("2026-11-20T10:00:00Z", 7)
    );
    let guard: Vec<(String, &str, &str)> = d
        .guard_events
        .iter()
        .map(|g| (g.time.to_string(), g.verb.as_str(), g.resource.as_str()))
        .collect();
    let guard: Vec<(&str, &str, &str)> =
        guard.iter().map(|(t, v, r)| (t.as_str(), *v, *r)).collect();
    assert_eq!(
        guard,
        [
            ("2026-11-20T10:01:00.005Z", "create", "flowschemas"),
            (
                "2026-11-20T10:01:01.005Z",
                "create",
                "prioritylevelconfigurations"
            ),
            ("2026-11-20T10:15:00.005Z", "delete", "flowschemas"),
        ]
    );
    assert_eq!(d.guard_events[2].username.as_deref(), Some("u-alice"));
}

#[test]
fn growth_counts_stored_objects_and_flags_by_projection() {
    let mut lines = Vec::new();
    // A CronJob leaking jobs: 50 creates, 5 deletes over 10 minutes → 45 net, 6 480/day.
    for i in 0..50 {
        lines.push(ev(
            "create",
            "/apis/batch/v1/namespaces/batch/jobs",
            "cronjob-controller",
            "jobs",
            Some("batch"),
            Some("j"),
            201,
            i as f64 * 12.0,
            3,
        ));
    }
    for i in 0..5 {
        lines.push(ev(
            "delete",
            "/apis/batch/v1/namespaces/batch/jobs/j",
            "ttl-controller",
            "jobs",
            Some("batch"),
            Some("j"),
            200,
            i as f64 * 12.0 + 1.0,
            3,
        ));
    }
    // Balanced configmaps; and things that store nothing or failed.
    lines.push(ev(
        "create",
        "/api/v1/namespaces/a/configmaps",
        "app",
        "configmaps",
        Some("a"),
        Some("c"),
        201,
        5.0,
        1,
    ));
    lines.push(ev(
        "delete",
        "/api/v1/namespaces/a/configmaps/c",
        "app",
        "configmaps",
        Some("a"),
        Some("c"),
        200,
        6.0,
        1,
    ));
    lines.push(ev(
        "create",
        "/apis/authentication.k8s.io/v1/tokenreviews",
        "kubelet",
        "tokenreviews",
        None,
        None,
        201,
        7.0,
        1,
    ));
    lines.push(ev(
        "create",
        "/api/v1/namespaces/a/configmaps?dryRun=All",
        "app",
        "configmaps",
        Some("a"),
        Some("d"),
        201,
        8.0,
        1,
    ));
    lines.push(ev(
        "create",
        "/api/v1/namespaces/a/configmaps",
        "app",
        "configmaps",
        Some("a"),
        Some("e"),
        409,
        9.0,
        1,
    ));
    lines.push(ev(
        "deletecollection",
        "/apis/batch/v1/namespaces/batch/jobs",
        "gc",
        "jobs",
        Some("batch"),
        None,
        200,
        10.0,
        1,
    ));
    let opts = DiagnoseOptions::default().with_growth_threshold(5_000);
    let d = diagnose(&frame(&lines), &opts).unwrap().growth;
    let jobs = &d.types[0];
    assert_eq!(
        (jobs.resource.as_str(), jobs.creates, jobs.deletes, jobs.net),
        ("jobs", 50, 5, 45)
    );
    assert!(jobs.flagged);
    assert_eq!(jobs.deletecollection_calls, 1);
    // Observed span: first counted event at 10:00:00.003, last at 10:09:48.003 (588 s).
    assert!(
        (jobs.projected - 45.0 * 86_400.0 / 588.0).abs() < 1e-6,
        "{}",
        jobs.projected
    );
    assert_eq!(jobs.top_creators[0].key, "cronjob-controller");
    assert_eq!(jobs.top_namespaces[0].namespace.as_deref(), Some("batch"));
    let cm = d.types.iter().find(|t| t.resource == "configmaps").unwrap();
    assert_eq!(
        (cm.creates, cm.deletes, cm.net, cm.flagged),
        (1, 1, 0, false)
    );
    assert!(d.types.iter().all(|t| t.resource != "tokenreviews"));
    assert_eq!(d.series.last().map(|b| b.cumulative), Some(45));
    // With the default threshold (10 000) the leak is not yet flagged.
    let d = run(&lines).growth;
    assert!(!d.types[0].flagged);
}

#[test]
fn growth_counts_writes_answered_created_as_creates() {
    let w = |verb: &str, code: i32, query: &str, t: f64| {
        ev(
            verb,
            &format!("/api/v1/namespaces/a/configmaps/c{t}{query}"),
            "applier",
            "configmaps",
            Some("a"),
            Some("c"),
            code,
            t,
            2,
        )
    };
    let lines = vec![
        // Trigger: a PUT and a server-side apply that created their objects.
        w("update", 201, "", 1.0),
        w("patch", 201, "?fieldManager=kubectl", 2.0),
        // No trigger: writes of existing objects, a dry run, a failure.
        w("update", 200, "", 3.0),
        w("patch", 200, "", 4.0),
        w("update", 201, "?dryRun=All", 5.0),
        w("patch", 409, "", 6.0),
    ];
    let g = run(&lines).growth;
    let cm = g
        .types
        .iter()
        .find(|t| t.resource == "configmaps")
        .expect("configmaps counted");
    assert_eq!((cm.creates, cm.deletes, cm.net), (2, 0, 2));
    assert_eq!(cm.top_creators[0].key, "applier");
}

#[test]
fn webhook_failures_from_log_lines_and_annotations() {
    let mut f = frame(&[ev(
        "create",
        "/api/v1/namespaces/a/pods",
        "rs",
        "pods",
        Some("a"),
        Some("p"),
        201,
        0.0,
        5,
    )]);
    let t = |s: &str| Some(auditframe::time::parse_timestamp(s).unwrap());
    let line = |ts: &str, m: &str| LogLine {
        time_generated: t(ts),
        category: "kube-apiserver".into(),
        message: m.into(),
    };
    f = f.with_control_plane_logs(vec![
        line("2026-11-20T10:00:01Z", r#"E1120 10:00:01.000000 1 dispatcher.go:214] Failed calling webhook, failing closed mutate.kyverno.svc-fail: failed calling webhook "mutate.kyverno.svc-fail": failed to call webhook: Post "https://kyverno-svc.kyverno.svc:443/mutate/fail?timeout=10s": write unix @->/tunnel-uds/proxysocket: write: broken pipe"#),
        line("2026-11-20T10:07:00Z", r#"E1120 10:07:00.000000 1 dispatcher.go:214] Failed calling webhook, failing closed mutate.kyverno.svc-fail: failed calling webhook "mutate.kyverno.svc-fail": context deadline exceeded"#),
        line("2026-11-20T10:08:00Z", r#"W1120 10:08:00.000000 1 dispatcher.go:205] Failed calling webhook, failing open inject.istio.io: failed calling webhook "inject.istio.io": EOF"#),
        line("2026-11-20T10:09:00Z", r#"I1120 10:09:00.000000 1 trace.go:236] Trace[42]: "List" url:/api/v1/pods"#),
    ]);
    let d = diagnose(&f, &DiagnoseOptions::default()).unwrap().webhooks;
    assert_eq!((d.failures, d.log_lines), (3, 4));
    let w = &d.webhooks[0];
    assert_eq!(
        (
            w.webhook.as_str(),
            w.source,
            w.kind.as_str(),
            w.count,
            w.first_seen.map(|t| t.to_string()).as_deref(),
            w.last_seen.map(|t| t.to_string()).as_deref()
        ),
        (
            "mutate.kyverno.svc-fail",
            "log",
            "failing_closed",
            2,
            Some("2026-11-20T10:00:01Z"),
            Some("2026-11-20T10:07:00Z")
        )
    );
    assert_eq!(
        d.series.len(),
        3,
        "10:00 and 10:05 for kyverno, 10:05 for istio"
    );
    // A window before the failures sees none of them.
    let opts = DiagnoseOptions::default().with_window(TimeWindow::Between {
        start: t("2026-11-20T09:00:00Z").unwrap(),
        end: t("2026-11-20T10:00:00Z").unwrap(),
    });
    assert_eq!(diagnose(&f, &opts).unwrap().webhooks.failures, 0);
    assert!(auditframe::diagnose::webhook_failure("I1120 all good").is_none());
    assert_eq!(
        auditframe::diagnose::webhook_failure(
            r#"Internal error occurred: failed calling webhook "mutate.kyverno.svc-fail": failed to call webhook"#
        ),
        Some(("mutate.kyverno.svc-fail", "error"))
    );
}

#[test]
fn webhook_annotations_in_audit_events() {
    let with = |ann: &str| {
        ev(
            "create",
            "/api/v1/namespaces/a/pods",
            "rs",
            "pods",
            Some("a"),
            Some("p"),
            201,
            0.0,
            5,
        )
        .replace(
            r#""responseStatus""#,
            &format!(r#""annotations":{ann},"responseStatus""#),
        )
    };
    let lines = vec![
        with(
            r#"{"failed-open.validating.webhook.admission.k8s.io/round_0_index_0":"validate.gatekeeper.sh"}"#,
        ),
        with(
            r#"{"failed-open.validating.webhook.admission.k8s.io/round_0_index_0":"validate.gatekeeper.sh"}"#,
        ),
        with(
            r#"{"mutation.webhook.admission.k8s.io/round_0_index_0":"{\"configuration\":\"c\",\"webhook\":\"defaults.example.com\",\"mutated\":false}"}"#,
        ),
        ev(
            "get",
            "/api/v1/namespaces/a/pods/p",
            "rs",
            "pods",
            Some("a"),
            Some("p"),
            200,
            1.0,
            5,
        ),
    ];
    let d = run(&lines).webhooks;
    assert_eq!((d.failures, d.annotated_requests), (2, 3));
    let rows: Vec<(&str, &str, bool, u64)> = d
        .webhooks
        .iter()
        .map(|r| (r.webhook.as_str(), r.kind.as_str(), r.failure, r.count))
        .collect();
    assert_eq!(
        rows,
        [
            ("validate.gatekeeper.sh", "failed-open-validating", true, 2),
            ("defaults.example.com", "mutating", false, 1)
        ]
    );
}

/// (class, verb, resource, p99) of every SLO violation.
fn violations(lines: &[String]) -> Vec<(SloClass, String, String, i64)> {
    run(lines)
        .slo
        .violations
        .iter()
        .map(|v| (v.class, v.verb.clone(), v.resource.clone(), v.p99_ms))
        .collect()
}

#[test]
fn slo_leaves_out_429s_and_deletecollection() {
    let call = |verb: &str, code: i32, ms: i64| {
        ev(
            verb,
            "/api/v1/namespaces/a/configmaps",
            "c",
            "configmaps",
            Some("a"),
            None,
            code,
            1.0,
            ms,
        )
    };
    // Trigger: a 3 s create that succeeded breaks the 1 s mutating SLO.
    assert_eq!(
        violations(&[call("create", 201, 3_000)]),
        [(
            SloClass::Mutating,
            "create".to_owned(),
            "configmaps".to_owned(),
            3_000
        )]
    );
    // No trigger: APF rejections (429) are not in the SLI; nor is a deletecollection, which
    // is no single-object call.
    assert!(violations(&[
        call("create", 429, 3_000),
        call("deletecollection", 200, 9_000)
    ])
    .is_empty());
}

#[test]
fn slo_grades_a_list_naming_one_object_as_a_single_object_read() {
    let list = |name: Option<&str>, ms: i64| {
        let uri = match name {
            Some(n) => format!("/api/v1/namespaces/a/pods?fieldSelector=metadata.name%3D{n}"),
            None => "/api/v1/namespaces/a/pods".to_owned(),
        };
        ev("list", &uri, "c", "pods", Some("a"), name, 200, 1.0, ms)
    };
    // Trigger: a 2 s LIST of one named pod is a `resource`-scope read (1 s).
    assert_eq!(
        violations(&[list(Some("p"), 2_000)]),
        [(
            SloClass::ReadObject,
            "list".to_owned(),
            "pods".to_owned(),
            2_000
        )]
    );
    // No trigger: the same 2 s on a namespace LIST is within its 5 s.
    assert!(violations(&[list(None, 2_000)]).is_empty());
}

#[test]
fn slo_windows_follow_completion_not_ingestion() {
    // AKSAudit rows: TimeGenerated is when Log Analytics ingested the row, minutes after the
    // call completed. Two slow calls complete in the 10:00 window but are ingested in 10:05.
    let row = |received: &str, stage: &str, ms: &str| {
        format!(
            r#"{{"TimeGenerated":"2026-11-20T10:06:00Z","Category":"kube-audit","Stage":"ResponseComplete","Verb":"create","RequestUri":"/api/v1/namespaces/a/configmaps","UserAgent":"c","ObjectRef":{{"resource":"configmaps","namespace":"a"}},"ResponseStatus":{{"code":201}},"RequestReceivedTime":"2026-11-20T{received}Z","StageReceivedTime":"2026-11-20T{stage}Z","Type":"AKSAudit","x":"{ms}"}}"#
        ) + "\n"
    };
    let lines = [
        row("10:04:50", "10:04:53", "3000"),
        row("10:04:55", "10:04:58", "3000"),
    ];
    let d = run(&lines).slo;
    let windows: Vec<String> = d
        .violations
        .iter()
        .map(|v| v.window_start.to_string())
        .collect();
    assert_eq!(windows, ["2026-11-20T10:00:00Z"]);
}

#[test]
fn slo_violations_per_class_and_window() {
    let mut lines = Vec::new();
    // Window 10:00: 100 gets of pods, two slow ones (P99 = the 99th value = 1 500 ms > 1 s).
    for i in 0..100 {
        let ms = if i >= 98 { 1_500 } else { 10 };
        let who = if i >= 98 { "slow-client" } else { "ok-client" };
        lines.push(ev(
            "get",
            "/api/v1/namespaces/a/pods/p",
            who,
            "pods",
            Some("a"),
            Some("p"),
            200,
            i as f64,
            ms,
        ));
    }
    // Window 10:05: one namespace LIST at 4 s (within 5 s), one cluster LIST at 31 s (over 30 s).
    lines.push(ev(
        "list",
        "/api/v1/namespaces/a/pods",
        "a",
        "pods",
        Some("a"),
        None,
        200,
        300.0,
        4_000,
    ));
    lines.push(ev(
        "list",
        "/api/v1/pods",
        "b",
        "pods",
        None,
        None,
        200,
        301.0,
        31_000,
    ));
    // Excluded: a long watch, an exec, a 2-minute log stream.
    lines.push(ev(
        "watch",
        "/api/v1/pods?watch=true",
        "w",
        "pods",
        None,
        None,
        200,
        302.0,
        600_000,
    ));
    lines.push(
        ev(
            "create",
            "/api/v1/namespaces/a/pods/p/exec",
            "k",
            "pods",
            Some("a"),
            Some("p"),
            101,
            303.0,
            60_000,
        )
        .replace(
            r#""resource":"pods""#,
            r#""resource":"pods","subresource":"exec""#,
        ),
    );
    // Window 10:10: a slow patch (mutating, 1 001 ms).
    lines.push(ev(
        "patch",
        "/api/v1/namespaces/a/pods/p",
        "c",
        "pods",
        Some("a"),
        Some("p"),
        200,
        600.0,
        1_001,
    ));
    let d = run(&lines).slo;
    assert!(!d.pass);
    let v: Vec<(String, SloClass, &str, u64, i64)> = d
        .violations
        .iter()
        .map(|v| {
            (
                v.window_start.to_string(),
                v.class,
                v.verb.as_str(),
                v.calls,
                v.p99_ms,
            )
        })
        .collect();
    let v: Vec<(&str, SloClass, &str, u64, i64)> = v
        .iter()
        .map(|(t, c, vb, n, p)| (t.as_str(), *c, *vb, *n, *p))
        .collect();
    assert_eq!(
        v,
        [
            (
                "2026-11-20T10:00:00Z",
                SloClass::ReadObject,
                "get",
                100,
                1_500
            ),
            (
                "2026-11-20T10:05:00Z",
                SloClass::ReadCluster,
                "list",
                1,
                31_000
            ),
            (
                "2026-11-20T10:10:00Z",
                SloClass::Mutating,
                "patch",
                1,
                1_001
            ),
        ]
    );
    assert_eq!(d.violations[0].top_slow_keys[0].key, "slow-client");
    assert_eq!(d.violations[0].top_slow_keys[0].slow_calls, 2);
    assert_eq!(d.calls, 100 + 2 + 1);
    // One slow get in 100 is within the SLO (P99 is the 99th value); raising the threshold passes.
    let opts = DiagnoseOptions::default().with_slo(auditframe::diagnose::SloThresholds {
        read_object_ms: 2_000,
        mutating_ms: 2_000,
        read_cluster_ms: 60_000,
        ..Default::default()
    });
    assert!(diagnose(&frame(&lines), &opts).unwrap().slo.pass);
}

#[test]
fn partials_of_any_split_merge_to_the_whole() {
    use auditframe::generate::{Generator, GeneratorOptions};
    let mut out = Vec::new();
    Generator::new(
        GeneratorOptions::default()
            .with_events(3000)
            .with_seed(9)
            .with_story(true),
    )
    .write(auditframe::Shape::Native, &mut out);
    let opts =
        DiagnoseOptions::default().with_window(TimeWindow::Last(parse_duration("90m").unwrap()));
    let (whole, _) = AuditFrame::from_slice(&out, &ParseOptions::new()).unwrap();
    // Resolve `Last` once, as a stream must.
    let (_, newest) = whole.time_range().unwrap();
    let opts = opts.with_window(TimeWindow::Between {
        start: newest - parse_duration("90m").unwrap(),
        end: newest,
    });
    let expected = diagnose(&whole, &opts).unwrap();
    for parts in [2usize, 3, 7] {
        let pieces = auditframe::decoder::lines(&out).collect::<Vec<_>>();
        let per = pieces.len().div_ceil(parts);
        let mut merged = auditframe::DiagnosisPartial::default();
        for chunk in pieces.chunks(per) {
            let bytes: Vec<u8> = chunk
                .iter()
                .flat_map(|(_, l)| l.iter().copied().chain([b'\n']))
                .collect();
            let (f, _) = AuditFrame::from_slice(&bytes, &ParseOptions::new()).unwrap();
            merged.merge(diagnose_partial(&f, &opts).unwrap());
        }
        assert_eq!(merged.finish(&opts).unwrap(), expected, "{parts} parts");
    }
}

mod reference {
    //! Every diagnosis against a naive reference written from the documented rules, on
    //! random events.
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, BTreeSet};

    #[derive(Debug, Clone)]
    struct E {
        verb: &'static str,
        query: &'static str,
        agent: &'static str,
        resource: &'static str,
        ns: Option<&'static str>,
        code: i32,
        t: f64,
        ms: i64,
    }

    fn event() -> impl Strategy<Value = E> {
        (
            prop::sample::select(vec!["get", "list", "create", "delete", "patch", "watch"]),
            prop::sample::select(vec![
                "",
                "?resourceVersion=0",
                "?limit=500",
                "?limit=500&continue=x",
                "?resourceVersion=7&limit=5",
                "?resourceVersion=7&resourceVersionMatch=Exact",
                "?resourceVersion=7&resourceVersionMatch=NotOlderThan",
            ]),
            prop::sample::select(vec!["a", "b", "c"]),
            prop::sample::select(vec!["pods", "jobs", "configmaps"]),
            prop::option::of(prop::sample::select(vec!["x", "y"])),
            prop::sample::select(vec![200, 201, 404, 429, 500]),
            0.0f64..7200.0,
            0i64..40_000,
        )
            .prop_map(|(verb, query, agent, resource, ns, code, t, ms)| E {
                verb,
                query,
                agent,
                resource,
                ns,
                code,
                t: (t * 1000.0).round() / 1000.0,
                ms,
            })
    }

    fn nearest_rank_p99(mut v: Vec<i64>) -> i64 {
        v.sort();
        let rank = ((99 * v.len()) as f64 / 100.0).ceil().max(1.0) as usize;
        v[rank - 1]
    }

    fn etcd(query: &str) -> bool {
        // The documented since-1.31 table, written out case by case.
        match query {
            "" | "?resourceVersion=0" | "?limit=500" => false,
            "?limit=500&continue=x" => true,
            "?resourceVersion=7&limit=5" => true,
            "?resourceVersion=7&resourceVersionMatch=Exact" => true,
            "?resourceVersion=7&resourceVersionMatch=NotOlderThan" => false,
            other => panic!("{other}"),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

        #[test]
        fn diagnoses_equal_the_naive_reference(events in prop::collection::vec(event(), 1..120)) {
            let lines: Vec<String> = events
                .iter()
                .map(|e| {
                    let uri = format!("/api/v1/{}{}", e.resource, e.query);
                    ev(e.verb, &uri, e.agent, e.resource, e.ns, None, e.code, e.t, e.ms)
                })
                .collect();
            let d = run(&lines);
            let ok = |e: &E| (200..300).contains(&e.code);

            // LIST classes.
            let mut classes: BTreeMap<(bool, bool), Vec<i64>> = BTreeMap::new();
            for e in events.iter().filter(|e| e.verb == "list" && ok(e)) {
                classes.entry((etcd(e.query), e.ns.is_none())).or_default().push(e.ms);
            }
            let got: BTreeMap<(bool, bool), (u64, i128, Option<i64>)> = d.list.classes.iter()
                .map(|c| ((c.read_type == ReadType::Etcd, c.scope == "cluster"), (c.count, c.latency_sum_ms, c.p99_ms)))
                .collect();
            let want: BTreeMap<(bool, bool), (u64, i128, Option<i64>)> = classes.into_iter()
                .map(|(k, v)| (k, (v.len() as u64, v.iter().map(|&x| i128::from(x)).sum(), Some(nearest_rank_p99(v)))))
                .collect();
            prop_assert_eq!(got, want);

            // Throttling.
            prop_assert_eq!(d.throttling.requests, events.len() as u64);
            prop_assert_eq!(d.throttling.throttled, events.iter().filter(|e| e.code == 429).count() as u64);
            for k in &d.throttling.by_key {
                let mine: Vec<&E> = events.iter().filter(|e| e.agent == k.key).collect();
                prop_assert_eq!((k.requests, k.throttled), (mine.len() as u64, mine.iter().filter(|e| e.code == 429).count() as u64));
            }

            // Growth.
            let mut net: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
            for e in events.iter().filter(|e| ok(e)) {
                match (e.verb, e.code) {
                    ("create", _) | ("patch", 201) => net.entry(e.resource).or_default().0 += 1,
                    ("delete", _) => net.entry(e.resource).or_default().1 += 1,
                    _ => {}
                }
            }
            let got: BTreeMap<&str, (u64, u64)> = d.growth.types.iter().map(|t| (t.resource.as_str(), (t.creates, t.deletes))).collect();
            prop_assert_eq!(got, net);

            // SLO violations.
            let mut cells: BTreeMap<(i64, String, &str, &str), Vec<i64>> = BTreeMap::new();
            for e in events.iter().filter(|e| e.verb != "watch" && e.code != 429) {
                let (class, limit) = match (e.verb, e.ns) {
                    ("get", _) => ("ReadObject", 1000),
                    ("list", Some(_)) => ("ReadNamespace", 5000),
                    ("list", None) => ("ReadCluster", 30000),
                    _ => ("Mutating", 1000),
                };
                // Windows count completions (`time_generated` = stageTimestamp here), from
                // 10:00:00, a window boundary.
                let done = e.t + e.ms as f64 / 1000.0;
                cells.entry(((done / 300.0).floor() as i64, format!("{class}/{limit}"), e.verb, e.resource)).or_default().push(e.ms);
            }
            let want: BTreeSet<(i64, String, String, i64)> = cells.into_iter()
                .filter_map(|((w, cl, verb, resource), v)| {
                    let limit: i64 = cl.split('/').nth(1).unwrap().parse().unwrap();
                    let p = nearest_rank_p99(v);
                    (p > limit).then(|| (w, verb.to_owned(), resource.to_owned(), p))
                })
                .collect();
            let start = auditframe::time::parse_timestamp("2026-11-20T10:00:00Z").unwrap();
            let got: BTreeSet<(i64, String, String, i64)> = d.slo.violations.iter()
                .map(|v| ((v.window_start.nanos() - start) / 300_000_000_000, v.verb.clone(), v.resource.clone(), v.p99_ms))
                .collect();
            prop_assert_eq!(got, want);
        }
    }
}

//! The latency attribution, watch load and findings: trigger / no-trigger cases, a property
//! test against naive references, and split / merge equal to one pass.

use auditframe::diagnose::{
    self as diag, diagnose_partial, LatencyAttribution, Severity, WatchLoad,
};
use auditframe::time::{format_go_duration, format_timestamp};
use auditframe::{diagnose, AuditFrame, DiagnoseOptions, ParseOptions};
use proptest::prelude::*;

const T0: i64 = 1_779_271_200_000_000_000; // 2026-05-20T10:00:00Z

struct Ev<'a> {
    id: String,
    ua: &'a str,
    verb: &'a str,
    resource: &'a str,
    stage: &'a str,
    received: i64,
    stage_ts: i64,
    lat: Vec<(&'a str, i64)>,
}

fn ev<'a>(
    id: usize,
    ua: &'a str,
    verb: &'a str,
    resource: &'a str,
    received: i64,
    dur: i64,
) -> Ev<'a> {
    Ev {
        id: format!("id-{id}"),
        ua,
        verb,
        resource,
        stage: "ResponseComplete",
        received,
        stage_ts: received + dur,
        lat: Vec::new(),
    }
}

fn line(e: &Ev<'_>) -> String {
    let ann: Vec<String> = e
        .lat
        .iter()
        .map(|(k, v)| {
            format!(
                "\"apiserver.latency.k8s.io/{k}\":\"{}\"",
                format_go_duration(*v)
            )
        })
        .collect();
    format!(
        r#"{{"kind":"Event","auditID":"{}","stage":"{}","verb":"{}","requestURI":"/api/v1/{}","userAgent":"{}","objectRef":{{"resource":"{}"}},"responseStatus":{{"code":200}},"requestReceivedTimestamp":"{}","stageTimestamp":"{}","annotations":{{{}}}}}"#,
        e.id,
        e.stage,
        e.verb,
        e.resource,
        e.ua,
        e.resource,
        format_timestamp(e.received),
        format_timestamp(e.stage_ts),
        ann.join(",")
    )
}

fn frame(events: &[Ev<'_>]) -> AuditFrame {
    let text: String = events.iter().map(|e| line(e) + "\n").collect();
    let (f, r) = AuditFrame::from_slice(text.as_bytes(), &ParseOptions::new().with_strict(true))
        .expect("parses");
    assert_eq!(r.skipped_total(), 0);
    f
}

const MS: i64 = 1_000_000;
const S: i64 = 1_000 * MS;

#[test]
fn attribution_triggers_and_rules() {
    let mut etcd = ev(1, "lister", "list", "pods", T0, 2 * S);
    etcd.lat = vec![
        ("etcd", 1_600 * MS),
        ("serialize-response-object", 200 * MS),
        ("total", 2 * S),
    ];
    let mut hook = ev(2, "creator", "create", "pods", T0, 10 * S);
    hook.lat = vec![("mutating-webhook", 9_900 * MS), ("total", 10 * S)];
    // A bogus negative total: the timestamps' latency is used instead.
    let mut bogus = ev(3, "lister", "list", "pods", T0 + S, 3 * S);
    bogus.lat = vec![("etcd", 3 * S), ("total", i64::MIN)];
    let unannotated = ev(4, "old", "get", "pods", T0, 700 * MS);
    let fast = ev(5, "fast", "get", "pods", T0, 20 * MS);
    // A watch carries annotations too, but its latency is how long it was held.
    let mut watch = ev(6, "informer", "watch", "pods", T0, 300 * S);
    watch.lat = vec![("etcd", 15 * S), ("total", 300 * S)];
    let f = frame(&[etcd, hook, bogus, unannotated, fast, watch]);
    let a = diag::run::<LatencyAttribution>(&f, &DiagnoseOptions::default()).unwrap();
    assert_eq!((a.slow_requests, a.annotated, a.unannotated), (4, 3, 1));
    assert_eq!(a.total_ms, 15_000.0);
    assert_eq!(a.dominant_cause, Some("webhook"));
    let lister = a
        .by_group
        .iter()
        .find(|g| g.key.as_deref() == Some("lister"))
        .unwrap();
    assert_eq!((lister.requests, lister.total_ms), (2, 5_000.0));
    assert_eq!(lister.dominant_cause, "etcd");
    let share = |g: &diag::AttributionRow, c: &str| {
        g.components
            .iter()
            .find(|x| x.component == c)
            .unwrap()
            .share
    };
    // etcd 4.6 s, serialize 0.2 s, other 0.2 s of 5 s.
    assert!((share(lister, "etcd") - 0.92).abs() < 1e-12);
    assert!((share(lister, "other") - 0.04).abs() < 1e-12);
    let p99 = lister
        .components
        .iter()
        .find(|x| x.component == "etcd")
        .unwrap()
        .p99_ms;
    assert_eq!(p99, 3_000.0);
    assert_eq!(a.by_group[0].key.as_deref(), Some("creator"));
    assert_eq!(a.by_group[0].dominant_cause, "webhook");
    // No slow request at all: nothing found, no dominant cause.
    let f = frame(&[ev(7, "fast", "get", "pods", T0, 20 * MS)]);
    let a = diag::run::<LatencyAttribution>(&f, &DiagnoseOptions::default()).unwrap();
    assert_eq!((a.slow_requests, a.dominant_cause), (0, None));
}

#[test]
fn watch_load_holds_open_watches_to_the_window_end() {
    let m = 60 * S;
    let mut started = ev(1, "informer", "watch", "pods", T0, 2 * MS);
    started.stage = "ResponseStarted";
    let mut done = ev(1, "informer", "watch", "pods", T0, 8 * m);
    done.stage = "ResponseComplete";
    // Still open at the end: only its ResponseStarted event is in the input.
    let mut open = ev(2, "informer", "watch", "pods", T0 + 2 * m, 2 * MS);
    open.stage = "ResponseStarted";
    let busy: Vec<Ev<'_>> = (0..5)
        .map(|i| ev(10 + i, "chatty", "get", "pods", T0 + i as i64 * m, 10 * MS))
        .collect();
    let mut all = vec![started, done, open];
    all.extend(busy);
    // The newest time read: the last `chatty` call completes at 4 m + 10 ms; the window ends
    // at 10 m when given.
    let f = frame(&all);
    let w = diag::run::<WatchLoad>(&f, &DiagnoseOptions::default()).unwrap();
    assert_eq!((w.watches, w.open, w.unplaced), (2, 1, 0));
    let row = &w.by_key_resource[0];
    assert_eq!(
        (row.key.as_str(), row.watches, row.max_concurrent),
        ("informer", 2, 2)
    );
    // 8 m + (from 2 m to the newest time, 8 m: the completed watch's end).
    assert_eq!(row.watch_seconds, 480.0 + 360.0);
    let load = &w.top_by_load[0];
    assert_eq!(load.key, "informer");
    assert_eq!(load.rank_by_requests, Some(2));
    assert_eq!(load.requests, 1);
    // No watch: nothing held.
    let f = frame(&[ev(1, "chatty", "get", "pods", T0, MS)]);
    let w = diag::run::<WatchLoad>(&f, &DiagnoseOptions::default()).unwrap();
    assert_eq!((w.watches, w.top_by_load.len()), (0, 0));
}

#[test]
fn findings_trigger_and_stay_quiet() {
    // Quiet traffic: no finding at all.
    let quiet: Vec<Ev<'_>> = (0..50)
        .map(|i| ev(i, "kubelet", "get", "pods", T0 + i as i64 * S, 5 * MS))
        .collect();
    let d = diagnose(&frame(&quiet), &DiagnoseOptions::default()).unwrap();
    assert!(d.findings.is_empty(), "{:?}", d.findings);
    // A client listing from etcd for seconds, annotated as etcd time.
    let mut noisy = quiet;
    for i in 0..3 {
        let mut e = ev(100 + i, "bad", "list", "pods", T0 + i as i64 * S, 40 * S);
        e.lat = vec![("etcd", 38 * S), ("total", 40 * S)];
        noisy.push(e);
    }
    let text: String = noisy
        .iter()
        .map(|e| line(e).replace("/api/v1/pods", "/api/v1/pods?limit=500&continue=x") + "\n")
        .collect();
    let (f, _) = AuditFrame::from_slice(text.as_bytes(), &ParseOptions::new()).unwrap();
    let d = diagnose(&f, &DiagnoseOptions::default()).unwrap();
    let five = d
        .findings
        .iter()
        .find(|f| f.cause == Some(5))
        .expect("cause 5");
    assert_eq!(five.severity, Severity::Critical);
    assert!(
        five.summary
            .starts_with("Cause 5 — bad lists pods from etcd: 3 LISTs, 120 s, 100 %"),
        "{}",
        five.summary
    );
    assert!(d.findings.iter().any(|f| f.summary.starts_with("Why slow — bad list pods: 3 slow requests, 120 s (100 % of slow latency), 95 % of it in etcd")));
    // Ranked: critical first.
    assert!(d
        .findings
        .windows(2)
        .all(|w| w[0].severity >= w[1].severity));
}

/// Naive references: the attribution's per-key totals and components, and the watch-seconds.
fn naive(events: &[(usize, i64, i64, i64)]) -> (u64, u64, i128, i128, i128) {
    // (ua, duration, etcd, webhook): slow when annotated (etcd or webhook > 0) or > 500 ms.
    let mut slow = 0;
    let mut annotated = 0;
    let (mut total, mut etcd, mut other) = (0i128, 0i128, 0i128);
    for &(_, dur, e, w) in events {
        if e > 0 || w > 0 || dur > 500 * MS {
            slow += 1;
        }
        if e > 0 || w > 0 {
            annotated += 1;
            total += i128::from(dur);
            etcd += i128::from(e);
            other += i128::from((dur - e - w).max(0));
        }
    }
    (slow, annotated, total, etcd, other)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn attribution_and_watches_match_naive_and_merge_exactly(
        events in prop::collection::vec((0usize..3, 1i64..3_000, 0i64..2_000, 0i64..2_000, 0i64..600), 1..40),
        split in 0usize..40,
    ) {
        let uas = ["a", "b", "c"];
        let mut evs = Vec::new();
        let mut reference = Vec::new();
        for (i, &(ua, dur_ms, etcd_ms, hook_ms, start_s)) in events.iter().enumerate() {
            let dur = dur_ms * MS;
            let mut e = ev(i, uas[ua], "get", "pods", T0 + start_s * S, dur);
            // Annotate like the API server: only slow requests, only non-zero parts.
            let (etcd, hook) = if dur > 500 * MS { (etcd_ms * MS / 2, hook_ms * MS / 2) } else { (0, 0) };
            if etcd > 0 { e.lat.push(("etcd", etcd)); }
            if hook > 0 { e.lat.push(("validating-webhook", hook)); }
            if !e.lat.is_empty() { e.lat.push(("total", dur)); }
            reference.push((ua, dur, etcd, hook));
            // Every third one is also a watch of the same length.
            if i % 3 == 0 {
                let mut w = ev(1000 + i, uas[ua], "watch", "pods", T0 + start_s * S, dur);
                w.id = format!("w-{i}");
                evs.push(w);
            }
            evs.push(e);
        }
        let f = frame(&evs);
        let opts = DiagnoseOptions::default();
        let a = diag::run::<LatencyAttribution>(&f, &opts).unwrap();
        let (slow, annotated, total, etcd, other) = naive(&reference);
        prop_assert_eq!((a.slow_requests, a.annotated), (slow, annotated));
        let ms = |ns: i128| ns as f64 / MS as f64;
        prop_assert!((a.total_ms - ms(total)).abs() < 1e-6);
        let comp = |c: &str| a.components.iter().find(|x| x.component == c).map_or(0.0, |x| x.total_ms);
        prop_assert!((comp("etcd") - ms(etcd)).abs() < 1e-6);
        prop_assert!((comp("other") - ms(other)).abs() < 1e-6);
        // Exact nearest-rank P99 of each annotated component over the annotated requests.
        let annotated_rows: Vec<&(usize, i64, i64, i64)> = reference.iter().filter(|r| r.2 > 0 || r.3 > 0).collect();
        for (name, pick) in [("etcd", 2usize), ("validating_webhook", 3)] {
            let mut v: Vec<i64> = annotated_rows.iter().map(|r| if pick == 2 { r.2 } else { r.3 }).collect();
            v.sort_unstable();
            let want = if v.is_empty() { 0 } else { v[(v.len() * 99).div_ceil(100) - 1] };
            let got = a.components.iter().find(|x| x.component == name).unwrap().p99_ms;
            prop_assert_eq!(got, ms(i128::from(want)), "{}", name);
        }
        // Per key: requests, summed etcd and the exact P99 of etcd; per 5-minute bin of the
        // completion: summed etcd.
        for (k, ua) in uas.iter().enumerate() {
            let mine: Vec<&&(usize, i64, i64, i64)> = annotated_rows.iter().filter(|r| r.0 == k).collect();
            let row = a.by_key.iter().find(|r| r.key.as_deref() == Some(ua));
            prop_assert_eq!(row.map_or(0, |r| r.requests), mine.len() as u64, "{}", ua);
            if let Some(row) = row {
                let etcd_row = row.components.iter().find(|c| c.component == "etcd").unwrap();
                let sum: i64 = mine.iter().map(|r| r.2).sum();
                prop_assert!((etcd_row.total_ms - ms(i128::from(sum))).abs() < 1e-6);
                let mut v: Vec<i64> = mine.iter().map(|r| r.2).collect();
                v.sort_unstable();
                prop_assert_eq!(etcd_row.p99_ms, ms(i128::from(v[(v.len() * 99).div_ceil(100) - 1])));
            }
        }
        let bin = 300 * S;
        let mut bins: std::collections::BTreeMap<i64, i64> = Default::default();
        for (i, r) in reference.iter().enumerate() {
            if r.2 > 0 || r.3 > 0 {
                let end = T0 + events[i].4 * S + r.1;
                *bins.entry(end.div_euclid(bin) * bin).or_default() += r.2;
            }
        }
        let got: std::collections::BTreeMap<i64, f64> = a.series.iter().map(|b| {
            (b.bin_start.nanos(), b.components_ms.iter().find(|c| c.0 == "etcd").unwrap().1)
        }).collect();
        prop_assert_eq!(got.len(), bins.len());
        for (b, etcd) in &bins {
            prop_assert!(got.get(b).is_some_and(|g| (g - ms(i128::from(*etcd))).abs() < 1e-6), "bin {}", b);
        }
        let w = diag::run::<WatchLoad>(&f, &opts).unwrap();
        let held: i64 = events.iter().enumerate().filter(|(i, _)| i % 3 == 0).map(|(_, e)| e.1 * MS).sum();
        prop_assert!((w.watch_seconds - held as f64 / S as f64).abs() < 1e-6);
        // Split anywhere, merged: the same reports (findings included).
        let cut = split.min(evs.len());
        let (x, y) = evs.split_at(cut);
        let whole = diagnose(&f, &opts).unwrap();
        let mut p = diagnose_partial(&frame_or_empty(x), &opts).unwrap();
        p.merge(diagnose_partial(&frame_or_empty(y), &opts).unwrap());
        let merged = p.finish(&opts).unwrap();
        prop_assert_eq!(&merged.findings, &whole.findings);
        prop_assert_eq!(merged, whole);
    }
}

fn frame_or_empty(events: &[Ev<'_>]) -> AuditFrame {
    if events.is_empty() {
        AuditFrame::from_slice(b"", &ParseOptions::new()).unwrap().0
    } else {
        frame(events)
    }
}

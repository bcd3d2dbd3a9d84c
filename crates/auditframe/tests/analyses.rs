//! The seed analyses: hand-checked golden values, edge cases, and property tests against a
//! naive reference implementation.

use std::collections::{BTreeMap, HashMap};

use auditframe::analysis::{bin_start, parse_duration, partial};
use auditframe::generate::push_timestamp;
use auditframe::time::parse_timestamp;
use auditframe::{analyze, AnalysisOptions, AuditFrame, GroupKey, ParseOptions, TimeWindow};
use proptest::prelude::*;

/// One synthetic row.
#[derive(Debug, Clone)]
struct Row {
    ua: Option<String>,
    user: Option<String>,
    verb: String,
    resource: Option<String>,
    subresource: Option<String>,
    stage: String,
    received: Option<i64>,
    stage_ts: Option<i64>,
}

fn json_line(r: &Row) -> String {
    let mut out = Vec::new();
    out.extend_from_slice(br#"{"kind":"Event","auditID":"x","verb":"#);
    out.extend_from_slice(serde_json::to_string(&r.verb).unwrap().as_bytes());
    out.extend_from_slice(br#","stage":"#);
    out.extend_from_slice(serde_json::to_string(&r.stage).unwrap().as_bytes());
    if let Some(ua) = &r.ua {
        out.extend_from_slice(
            format!(r#","userAgent":{}"#, serde_json::to_string(ua).unwrap()).as_bytes(),
        );
    }
    if let Some(u) = &r.user {
        out.extend_from_slice(
            format!(
                r#","user":{{"username":{}}}"#,
                serde_json::to_string(u).unwrap()
            )
            .as_bytes(),
        );
    }
    if r.resource.is_some() || r.subresource.is_some() {
        let mut o = serde_json::Map::new();
        if let Some(x) = &r.resource {
            o.insert("resource".into(), x.clone().into());
        }
        if let Some(x) = &r.subresource {
            o.insert("subresource".into(), x.clone().into());
        }
        out.extend_from_slice(
            format!(r#","objectRef":{}"#, serde_json::Value::Object(o)).as_bytes(),
        );
    }
    if let Some(t) = r.received {
        out.extend_from_slice(br#","requestReceivedTimestamp":"#);
        push_timestamp(&mut out, t, 9);
    }
    if let Some(t) = r.stage_ts {
        out.extend_from_slice(br#","stageTimestamp":"#);
        push_timestamp(&mut out, t, 9);
    }
    out.push(b'}');
    String::from_utf8(out).unwrap()
}

fn frame_of(rows: &[Row]) -> AuditFrame {
    let text: String = rows.iter().map(|r| json_line(r) + "\n").collect();
    let (f, rep) =
        AuditFrame::from_slice(text.as_bytes(), &ParseOptions::new().with_strict(true)).unwrap();
    assert_eq!(rep.rows as usize, rows.len());
    f
}

fn ts(s: &str) -> i64 {
    parse_timestamp(s).unwrap()
}

fn row(ua: &str, verb: &str, resource: Option<&str>, received: &str, ms: Option<i64>) -> Row {
    let r = ts(received);
    Row {
        ua: Some(ua.to_owned()),
        user: Some(format!("user-of-{ua}")),
        verb: verb.to_owned(),
        resource: resource.map(str::to_owned),
        subresource: None,
        stage: "ResponseComplete".to_owned(),
        received: Some(r),
        stage_ts: ms.map(|m| r + m * 1_000_000),
    }
}

/// `events` rows from the seeded generator, as [`Row`]s.
fn generated_rows(events: usize, seed: u64) -> Vec<Row> {
    use auditframe::generate::{Generator, GeneratorOptions};
    let mut g = Generator::new(
        GeneratorOptions::default()
            .with_events(events)
            .with_seed(seed),
    );
    let mut rows = Vec::new();
    while let Some(e) = g.next_event() {
        rows.push(Row {
            ua: e.user_agent.clone(),
            user: Some(e.username.clone()),
            verb: e.verb.to_owned(),
            resource: e.object_ref.as_ref().map(|o| o.resource.to_owned()),
            subresource: e
                .object_ref
                .as_ref()
                .and_then(|o| o.subresource.map(str::to_owned)),
            stage: e.stage.to_owned(),
            received: Some(e.received_ns),
            stage_ts: Some(e.stage_ns),
        });
    }
    rows
}

/// A one-minute `kubectl exec`: long-running, so excluded from latency figures on request.
fn exec_row() -> Row {
    let mut exec = row(
        "kubectl",
        "create",
        Some("pods"),
        "2026-11-20T10:04:00Z",
        Some(60_000),
    );
    exec.subresource = Some("exec".into());
    exec
}

/// A small hand-checked scenario.
fn golden_rows() -> Vec<Row> {
    vec![
        row(
            "bad-client",
            "list",
            Some("pods"),
            "2026-11-20T10:00:01Z",
            Some(3000),
        ),
        row(
            "bad-client",
            "list",
            Some("pods"),
            "2026-11-20T10:02:00Z",
            Some(5000),
        ),
        row(
            "bad-client",
            "list",
            Some("pods"),
            "2026-11-20T10:06:00Z",
            Some(1000),
        ),
        row(
            "bad-client",
            "get",
            Some("pods"),
            "2026-11-20T10:06:30Z",
            Some(10),
        ),
        row(
            "kubelet",
            "get",
            Some("nodes"),
            "2026-11-20T10:01:00Z",
            Some(4),
        ),
        row(
            "kubelet",
            "update",
            Some("nodes"),
            "2026-11-20T10:07:00Z",
            Some(8),
        ),
        row("kubelet", "get", None, "2026-11-20T10:08:00Z", Some(2)), // /healthz
        row("", "get", Some(""), "2026-11-20T10:09:00Z", Some(7)),    // empty agent, empty resource
        row("probe", "get", Some("pods"), "2026-11-20T10:09:30Z", None), // no stage timestamp
    ]
}

#[test]
fn golden_by_user_agent() {
    let f = frame_of(&golden_rows());
    let a = analyze(&f, &AnalysisOptions::default()).unwrap();
    assert_eq!(a.rows, 9);
    let top: Vec<(&str, u64)> = a.top.iter().map(|t| (t.key.as_str(), t.count)).collect();
    assert_eq!(
        top,
        vec![("bad-client", 4), ("kubelet", 3), ("", 1), ("probe", 1)]
    );
    let lat: Vec<(&str, String, f64, u64)> = a
        .latency
        .iter()
        .map(|p| (p.key.as_str(), p.bin_start.to_string(), p.avg_ms, p.count))
        .collect();
    assert_eq!(
        lat,
        vec![
            ("", "2026-11-20T10:05:00Z".to_owned(), 7.0, 1),
            ("bad-client", "2026-11-20T10:00:00Z".to_owned(), 4000.0, 2),
            ("bad-client", "2026-11-20T10:05:00Z".to_owned(), 505.0, 2),
            ("kubelet", "2026-11-20T10:00:00Z".to_owned(), 4.0, 1),
            ("kubelet", "2026-11-20T10:05:00Z".to_owned(), 5.0, 2),
        ]
    );
    let p: Vec<(&str, &str, &str, Option<i64>, u64)> = a
        .percentile_rows
        .iter()
        .map(|r| {
            (
                r.key.as_str(),
                r.verb.as_str(),
                r.resource.as_str(),
                r.get(99.0),
                r.count,
            )
        })
        .collect();
    assert_eq!(
        p,
        vec![
            ("bad-client", "get", "pods", Some(10), 1),
            ("bad-client", "list", "pods", Some(5000), 3),
            ("kubelet", "get", "nodes", Some(4), 1),
            ("kubelet", "update", "nodes", Some(8), 1),
        ]
    );
    // Results serialise as typed data (the CLI's JSON contract is pinned in its own tests).
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["group_by"], "user_agent");
    assert_eq!(json["percentile_rows"][1]["values"][0][1], 5000);
    assert_eq!(json["latency"][1]["bin_start"], "2026-11-20T10:00:00Z");
}

#[test]
fn golden_by_user_top_n_ties_and_percentile_list() {
    let f = frame_of(&golden_rows());
    let o = AnalysisOptions::default()
        .with_key(GroupKey::User)
        .with_top(2)
        .with_percentiles(vec![50.0, 99.0, 0.0]);
    let a = analyze(&f, &o).unwrap();
    let top: Vec<(&str, u64)> = a.top.iter().map(|t| (t.key.as_str(), t.count)).collect();
    assert_eq!(top, vec![("user-of-bad-client", 4), ("user-of-kubelet", 3)]);
    let list = a.percentile_rows.iter().find(|r| r.verb == "list").unwrap();
    // values 1000, 3000, 5000: p0 → rank 1, p50 → rank ceil(1.5)=2, p99 → rank 3.
    assert_eq!(list.values, vec![(0.0, 1000), (50.0, 3000), (99.0, 5000)]);
    // Ties in Top N: count desc, then key ascending by bytes.
    let a = analyze(&f, &AnalysisOptions::default().with_top(10)).unwrap();
    assert_eq!(a.top[2].key, "");
    assert_eq!(a.top[3].key, "probe");
}

#[test]
fn only_key_windows_and_stage_filter() {
    let mut rows = golden_rows();
    let mut started = row(
        "watcher",
        "watch",
        Some("pods"),
        "2026-11-20T10:03:00Z",
        Some(2),
    );
    started.stage = "ResponseStarted".into();
    rows.push(started);
    rows.push(row(
        "watcher",
        "watch",
        Some("pods"),
        "2026-11-20T10:03:00Z",
        Some(300_000),
    ));
    rows.push(exec_row());
    let f = frame_of(&rows);

    let a = analyze(
        &f,
        &AnalysisOptions::default().with_only_key(Some("kubelet".into())),
    )
    .unwrap();
    assert!(a.percentile_rows.iter().all(|r| r.key == "kubelet"));
    assert_eq!(a.percentile_rows.len(), 2);
    assert_eq!(a.top.len(), 6, "Top N and the series still cover every key");

    let a = analyze(
        &f,
        &AnalysisOptions::default().with_stage(Some("ResponseComplete".into())),
    )
    .unwrap();
    assert_eq!(a.rows, 11);
    let a = analyze(
        &f,
        &AnalysisOptions::default().with_stage(Some("Nope".into())),
    )
    .unwrap();
    assert_eq!((a.rows, a.top.len()), (0, 0));

    let a = analyze(
        &f,
        &AnalysisOptions::default().with_exclude_long_running(true),
    )
    .unwrap();
    assert_eq!(
        a.top.iter().find(|t| t.key == "watcher").map(|t| t.count),
        Some(2)
    );
    assert!(a
        .percentile_rows
        .iter()
        .all(|r| r.verb != "watch" && r.key != "kubectl"));
    assert!(a
        .latency
        .iter()
        .all(|p| p.key != "watcher" && p.key != "kubectl"));

    // Windows on time_generated (= stageTimestamp for native events), inclusive.
    let w = TimeWindow::Between {
        start: ts("2026-11-20T10:00:04Z"),
        end: ts("2026-11-20T10:01:00.004Z"),
    };
    let a = analyze(&f, &AnalysisOptions::default().with_window(w)).unwrap();
    assert_eq!(a.rows, 2, "{:?}", a.top); // bad-client 10:00:04 and kubelet 10:01:00.004
    let a = analyze(
        &f,
        &AnalysisOptions::default().with_window(TimeWindow::Last(parse_duration("2m").unwrap())),
    )
    .unwrap();
    // Newest time_generated is the probe's 10:09:30 (no stage timestamp: request received);
    // from 10:07:30 on: kubelet 10:08:00.002, watch end 10:08:00, "" 10:09:00.007, probe.
    assert_eq!(a.rows, 4, "{:?}", a.top);
}

#[test]
fn edge_cases() {
    // Empty input.
    let (f, _) = AuditFrame::from_slice(b"", &ParseOptions::new()).unwrap();
    let a = analyze(&f, &AnalysisOptions::default()).unwrap();
    assert_eq!(
        (
            a.rows,
            a.top.len(),
            a.latency.len(),
            a.percentile_rows.len()
        ),
        (0, 0, 0, 0)
    );
    // One row; all-null latency.
    let f = frame_of(&[row("a", "get", Some("pods"), "2026-11-20T10:00:00Z", None)]);
    let a = analyze(&f, &AnalysisOptions::default()).unwrap();
    assert_eq!(a.top.len(), 1);
    assert!(a.latency.is_empty() && a.percentile_rows.is_empty());
    // Negative latency is kept.
    let f = frame_of(&[row(
        "a",
        "get",
        Some("pods"),
        "2026-11-20T10:00:00Z",
        Some(-5),
    )]);
    let a = analyze(&f, &AnalysisOptions::default()).unwrap();
    assert_eq!(a.percentile_rows[0].get(99.0), Some(-5));
    assert_eq!(a.latency[0].avg_ms, -5.0);
    // Window with no rows.
    let a = analyze(
        &f,
        &AnalysisOptions::default().with_window(TimeWindow::Between { start: 0, end: 1 }),
    )
    .unwrap();
    assert_eq!((a.rows, a.top.len()), (0, 0));
    // Missing columns are a clear error.
    let (narrow, _) = AuditFrame::from_slice(
        json_line(&golden_rows()[0]).as_bytes(),
        &ParseOptions::new()
            .with_projection(auditframe::Projection::of(&[auditframe::Column::Verb])),
    )
    .unwrap();
    let e = analyze(&narrow, &AnalysisOptions::default()).unwrap_err();
    assert!(e.to_string().contains("not in the frame"), "{e}");
}

#[test]
fn dataframes() {
    let f = frame_of(&golden_rows());
    let a = analyze(
        &f,
        &AnalysisOptions::default().with_percentiles(vec![50.0, 99.9]),
    )
    .unwrap();
    assert_eq!(a.top_dataframe().unwrap().shape(), (4, 2));
    assert_eq!(a.latency_dataframe().unwrap().shape(), (5, 4));
    let p = a.percentiles_dataframe().unwrap();
    let names: Vec<&str> = p.columns().iter().map(|c| c.name().as_str()).collect();
    assert_eq!(
        names,
        vec!["key", "verb", "resource", "p50_ms", "p99.9_ms", "count"]
    );
}

// ---------- property tests against a naive reference ----------

struct Reference {
    rows: u64,
    top: Vec<(String, u64)>,
    series: Vec<(String, i64, f64, u64)>,
    pct: Vec<(String, String, String, Vec<i64>, u64)>,
}

fn reference(rows: &[Row], o: &AnalysisOptions) -> Reference {
    let key = |r: &Row| match o.key() {
        GroupKey::UserAgent => r.ua.clone().unwrap_or_default(),
        GroupKey::User => r.user.clone().unwrap_or_default(),
        // Native lines carry no resource ID: one null cluster, shown as "".
        GroupKey::Cluster => String::new(),
    };
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut series: BTreeMap<(String, i64), (i128, u64)> = BTreeMap::new();
    let mut groups: BTreeMap<(String, String, String), Vec<i64>> = BTreeMap::new();
    let mut n = 0;
    for r in rows {
        // time_generated of native events: stageTimestamp, else requestReceivedTimestamp.
        let tg = r.stage_ts.or(r.received);
        if let TimeWindow::Between { start, end } = o.window() {
            match tg {
                Some(t) if t >= start && t <= end => {}
                _ => continue,
            }
        }
        if let Some(s) = &o.stage() {
            if &r.stage != s {
                continue;
            }
        }
        n += 1;
        *counts.entry(key(r)).or_default() += 1;
        let (Some(a), Some(b)) = (r.received, r.stage_ts) else {
            continue;
        };
        let ms = b.div_euclid(1_000_000) - a.div_euclid(1_000_000);
        let e = series
            .entry((key(r), bin_start(a, o.bin_ns())))
            .or_default();
        e.0 += i128::from(ms);
        e.1 += 1;
        let res = r.resource.clone().unwrap_or_default();
        if res.is_empty() || o.only_key().as_ref().is_some_and(|k| *k != key(r)) {
            continue;
        }
        groups
            .entry((key(r), r.verb.clone(), res))
            .or_default()
            .push(ms);
    }
    let mut top: Vec<(String, u64)> = counts.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.as_bytes().cmp(b.0.as_bytes())));
    top.truncate(o.top());
    let mut ps = o.percentiles().to_vec();
    ps.sort_by(f64::total_cmp);
    ps.dedup();
    Reference {
        rows: n,
        top,
        series: series
            .into_iter()
            .map(|((k, b), (s, c))| (k, b, s as f64 / c as f64, c))
            .collect(),
        pct: groups
            .into_iter()
            .map(|((k, v, r), mut vals)| {
                vals.sort();
                let n = vals.len();
                // Nearest rank, computed the plain way with exact rationals (p has ≤ 1 decimal here).
                let picks = ps
                    .iter()
                    .map(|p| {
                        let tenths = (p * 10.0).round() as usize;
                        let rank = (tenths * n).div_ceil(1000).max(1);
                        vals[rank - 1]
                    })
                    .collect();
                (k, v, r, picks, n as u64)
            })
            .collect(),
    }
}

fn arb_row() -> impl Strategy<Value = Row> {
    let agents = prop::sample::select(vec!["a", "b", "c", "kube \"x\"", "", "é"]);
    (
        prop::option::weighted(0.9, agents),
        prop::option::weighted(0.9, prop::sample::select(vec!["u1", "u2", "u3"])),
        prop::sample::select(vec!["get", "list", "watch", "create"]),
        prop::option::weighted(
            0.8,
            prop::sample::select(vec!["pods", "nodes", "", "leases"]),
        ),
        prop::option::weighted(0.1, prop::sample::select(vec!["exec", "status"])),
        prop::sample::select(vec!["ResponseComplete", "ResponseStarted"]),
        prop::option::weighted(0.95, 0i64..4 * 3600 * 1_000_000_000),
        prop::option::weighted(0.9, -2_000_000_000i64..30_000_000_000),
    )
        .prop_map(|(ua, user, verb, res, sub, stage, rec, dur)| {
            let base = 1_795_168_800_000_000_000i64;
            Row {
                ua: ua.map(str::to_owned),
                user: user.map(str::to_owned),
                verb: verb.to_owned(),
                resource: res.map(str::to_owned),
                subresource: sub.map(str::to_owned),
                stage: stage.to_owned(),
                received: rec.map(|r| base + r),
                stage_ts: match (rec, dur) {
                    (Some(r), Some(d)) => Some(base + r + d),
                    (None, Some(d)) => Some(base + d.abs()),
                    _ => None,
                },
            }
        })
}

fn arb_opts() -> impl Strategy<Value = AnalysisOptions> {
    (
        prop::sample::select(vec![GroupKey::UserAgent, GroupKey::User]),
        1usize..8,
        prop::sample::select(vec!["1m", "5m", "7m", "1h", "90s"]),
        prop::collection::vec(
            prop::sample::select(vec![0.0, 50.0, 90.0, 99.0, 99.9, 100.0]),
            1..4,
        ),
        prop::option::weighted(0.3, prop::sample::select(vec!["a", "u1", "", "zzz"])),
        prop::option::weighted(0.3, (0i64..3 * 3600, 0i64..3600)),
        prop::option::weighted(0.3, Just("ResponseComplete")),
    )
        .prop_map(|(key, top, bin, ps, only, win, stage)| {
            let base = 1_795_168_800_000_000_000i64;
            AnalysisOptions::default()
                .with_key(key)
                .with_top(top)
                .with_bin(parse_duration(bin).unwrap())
                .with_percentiles(ps)
                .with_only_key(only.map(str::to_owned))
                .with_window(match win {
                    Some((s, len)) => TimeWindow::Between {
                        start: base + s * 1_000_000_000,
                        end: base + (s + len) * 1_000_000_000,
                    },
                    None => TimeWindow::All,
                })
                .with_stage(stage.map(str::to_owned))
        })
}

fn assert_matches_reference(rows: &[Row], o: &AnalysisOptions, a: &auditframe::Analysis) {
    let r = reference(rows, o);
    assert_eq!(a.rows, r.rows);
    let top: Vec<(String, u64)> = a.top.iter().map(|t| (t.key.clone(), t.count)).collect();
    assert_eq!(top, r.top);
    let series: Vec<(String, i64, f64, u64)> = a
        .latency
        .iter()
        .map(|p| (p.key.clone(), p.bin_start.nanos(), p.avg_ms, p.count))
        .collect();
    assert_eq!(series.len(), r.series.len());
    for (x, y) in series.iter().zip(&r.series) {
        assert_eq!((&x.0, x.1, x.3), (&y.0, y.1, y.3));
        assert!(
            (x.2 - y.2).abs() <= 1e-9 * y.2.abs().max(1.0),
            "{x:?} {y:?}"
        );
    }
    let pct: Vec<(String, String, String, Vec<i64>, u64)> = a
        .percentile_rows
        .iter()
        .map(|p| {
            (
                p.key.clone(),
                p.verb.clone(),
                p.resource.clone(),
                p.values.iter().map(|v| v.1).collect(),
                p.count,
            )
        })
        .collect();
    assert_eq!(pct, r.pct);
}

/// The frame of `rows` as the parallel reader builds it: a builder per part (cut at `cuts`),
/// appended, so that every column has a chunk per non-empty part. With `misalign`, the
/// `verb` and `latency_ms` columns are then joined into one chunk while the others keep
/// theirs, so that chunk boundaries differ between columns.
fn chunked_frame_of(rows: &[Row], cuts: &[usize], misalign: bool) -> AuditFrame {
    use auditframe::decoder::FrameBuilder;
    let opts = ParseOptions::new().with_strict(true);
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(rows.len())).collect();
    cuts.extend([0, rows.len()]);
    cuts.sort_unstable();
    let mut all = FrameBuilder::new(&opts, None);
    let mut parts = 0;
    for w in cuts.windows(2) {
        let text: String = rows[w[0]..w[1]]
            .iter()
            .map(|r| json_line(r) + "\n")
            .collect();
        let mut b = FrameBuilder::new(&opts, None);
        b.push_lines(text.as_bytes()).unwrap();
        parts += usize::from(w[1] > w[0]);
        all.append(b);
    }
    let (f, _) = all.finish().unwrap();
    let chunks = |f: &AuditFrame, c: &str| f.dataframe().column(c).unwrap().n_chunks();
    assert_eq!(chunks(&f, "verb"), parts.max(1));
    if !misalign {
        return f;
    }
    let mut df = f.into_dataframe();
    for c in ["verb", "latency_ms"] {
        let joined = df.column(c).unwrap().as_materialized_series().rechunk();
        df.with_column(joined.into()).unwrap();
    }
    let f = AuditFrame::from_dataframe(df).unwrap();
    assert_eq!(chunks(&f, "latency_ms"), 1);
    assert_eq!(chunks(&f, "user_agent"), parts.max(1));
    f
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The kernel reads a frame's chunks in place (windows within one chunk of every
    /// column): any chunking, aligned or not across columns, gives the one-chunk answer.
    #[test]
    fn chunked_frames_analyse_like_one_chunk(
        rows in prop::collection::vec(arb_row(), 0..120),
        cuts in prop::collection::vec(0usize..120, 0..6),
        misalign in any::<bool>(),
        o in arb_opts(),
    ) {
        let whole = analyze(&frame_of(&rows), &o).unwrap();
        let chunked = chunked_frame_of(&rows, &cuts, misalign);
        prop_assert_eq!(&analyze(&chunked, &o).unwrap(), &whole);
        let one = auditframe::analysis::partial_with_threads(&chunked, &o, 1)
            .unwrap()
            .finish(&o)
            .unwrap();
        prop_assert_eq!(&one, &whole);
    }

    #[test]
    fn analyses_equal_the_naive_reference(rows in prop::collection::vec(arb_row(), 0..120), o in arb_opts()) {
        let f = frame_of(&rows);
        let a = analyze(&f, &o).unwrap();
        assert_matches_reference(&rows, &o, &a);
    }

    #[test]
    fn partials_of_any_split_merge_to_the_whole(
        rows in prop::collection::vec(arb_row(), 0..120),
        cuts in prop::collection::vec(0usize..120, 0..4),
        o in arb_opts(),
    ) {
        let whole = analyze(&frame_of(&rows), &o).unwrap();
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(rows.len())).collect();
        cuts.push(0);
        cuts.push(rows.len());
        cuts.sort();
        let mut merged = auditframe::Partial::default();
        for w in cuts.windows(2) {
            let part = &rows[w[0]..w[1]];
            if part.is_empty() { continue; }
            // Each part is its own frame with its own dictionaries.
            merged.merge(partial(&frame_of(part), &o).unwrap());
        }
        let merged = merged.finish(&o).unwrap();
        // `Last` windows depend on the newest row of each part, so the splits use Between/All only.
        assert_eq!(merged, whole);
    }
}

#[test]
fn big_generated_frame_matches_reference_in_parallel() {
    let rows = generated_rows(60_000, 11);
    let f = frame_of(&rows);
    for o in [
        AnalysisOptions::default(),
        AnalysisOptions::default()
            .with_key(GroupKey::User)
            .with_percentiles(vec![50.0, 99.9]),
    ] {
        let a = analyze(&f, &o).unwrap();
        assert_matches_reference(&rows, &o, &a);
        let one = auditframe::analysis::partial_with_threads(&f, &o, 1)
            .unwrap()
            .finish(&o)
            .unwrap();
        assert_eq!(one, a);
    }
}

#[test]
fn each_part_alone_equals_its_part_of_the_whole() {
    use auditframe::analysis::{analyze_parts, Parts};
    let mut rows = golden_rows();
    rows.push(exec_row());
    let f = frame_of(&rows);
    for o in [
        AnalysisOptions::default(),
        AnalysisOptions::default()
            .with_exclude_long_running(true)
            .with_key(GroupKey::User),
        AnalysisOptions::default()
            .with_window(TimeWindow::Last(parse_duration("5m").unwrap()))
            .with_stage(Some("ResponseComplete".into())),
    ] {
        let all = analyze(&f, &o).unwrap();
        let top = analyze_parts(&f, &o, Parts::TOP).unwrap();
        let series = analyze_parts(&f, &o, Parts::SERIES).unwrap();
        let pct = analyze_parts(&f, &o, Parts::PERCENTILES).unwrap();
        assert_eq!(top.top, all.top);
        assert!(top.latency.is_empty() && top.percentile_rows.is_empty());
        assert_eq!(series.latency, all.latency);
        assert!(series.top.is_empty() && series.percentile_rows.is_empty());
        assert_eq!(pct.percentile_rows, all.percentile_rows);
        assert!(pct.top.is_empty() && pct.latency.is_empty());
        assert_eq!(
            (top.rows, series.rows, pct.rows),
            (all.rows, all.rows, all.rows)
        );
    }
    // Top N needs only the key column.
    let text: String = rows.iter().map(|r| json_line(r) + "\n").collect();
    let opts = ParseOptions::new()
        .with_projection(auditframe::Projection::of(&[auditframe::Column::UserAgent]));
    let (narrow, _) = AuditFrame::from_slice(text.as_bytes(), &opts).unwrap();
    let t = analyze_parts(&narrow, &AnalysisOptions::default(), Parts::TOP).unwrap();
    assert_eq!(t.top, analyze(&f, &AnalysisOptions::default()).unwrap().top);
    assert!(analyze_parts(&narrow, &AnalysisOptions::default(), Parts::SERIES).is_err());
}

#[test]
fn types_are_send_and_sync_and_analyses_run_from_many_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<AuditFrame>();
    send_sync::<auditframe::Partial>();
    send_sync::<auditframe::Analysis>();
    send_sync::<AnalysisOptions>();
    send_sync::<auditframe::Error>();
    send_sync::<auditframe::ParseReport>();

    let f = frame_of(&golden_rows());
    let want: Vec<_> = (0..4)
        .map(|i| {
            analyze(
                &f,
                &AnalysisOptions::default()
                    .with_top(i + 1)
                    .with_key(if i % 2 == 0 {
                        GroupKey::User
                    } else {
                        GroupKey::UserAgent
                    }),
            )
            .unwrap()
        })
        .collect();
    std::thread::scope(|s| {
        for t in 0..8 {
            let (f, want) = (&f, &want);
            s.spawn(move || {
                for round in 0..20 {
                    let i = (t + round) % 4;
                    let o = AnalysisOptions::default()
                        .with_top(i + 1)
                        .with_key(if i % 2 == 0 {
                            GroupKey::User
                        } else {
                            GroupKey::UserAgent
                        });
                    assert_eq!(&analyze(f, &o).unwrap(), &want[i]);
                }
            });
        }
    });
}

#[test]
fn sketched_percentiles_are_within_their_relative_error_and_merge_exactly() {
    let rows = generated_rows(20_000, 17);
    let f = frame_of(&rows);
    let ps = vec![50.0, 99.0, 99.9];
    let exact = analyze(&f, &AnalysisOptions::default().with_percentiles(ps.clone())).unwrap();
    let o = AnalysisOptions::default()
        .with_percentiles(ps)
        .with_percentile_sketch(Some(0.01));
    let approx = analyze(&f, &o).unwrap();
    assert_eq!(approx.top, exact.top);
    assert_eq!(approx.latency, exact.latency);
    assert_eq!(approx.percentile_rows.len(), exact.percentile_rows.len());
    for (a, e) in approx.percentile_rows.iter().zip(&exact.percentile_rows) {
        assert_eq!(
            (&a.key, &a.verb, &a.resource, a.count),
            (&e.key, &e.verb, &e.resource, e.count)
        );
        for ((_, x), (_, y)) in a.values.iter().zip(&e.values) {
            assert!(
                (x - y).abs() as f64 <= 0.01 * y.abs() as f64 + 0.5,
                "{x} vs {y} in {e:?}"
            );
        }
    }
    // Partials of parts merge into exactly the sketch of the whole.
    let (a, b) = rows.split_at(7_777);
    let mut merged = partial(&frame_of(a), &o).unwrap();
    merged.merge(partial(&frame_of(b), &o).unwrap());
    assert_eq!(merged.finish(&o).unwrap(), approx);
    assert!(AnalysisOptions::default()
        .with_percentile_sketch(Some(0.9))
        .validate()
        .is_err());
}

/// `compare` of two windows against a naive reading of the rows of each window.
fn assert_compare_matches_reference(
    rows: &[Row],
    o: &AnalysisOptions,
    before: TimeWindow,
    after: TimeWindow,
) {
    use auditframe::analysis::compare;
    let f = frame_of(rows);
    let side = |w: TimeWindow| {
        o.clone()
            .with_top(usize::MAX)
            .with_only_key(None)
            .with_percentiles(vec![99.0])
            .with_window(w)
    };
    let (ob, oa) = (side(before), side(after));
    let c = compare(&analyze(&f, &ob).unwrap(), &analyze(&f, &oa).unwrap(), 99.0).unwrap();
    let (rb, ra) = (reference(rows, &ob), reference(rows, &oa));

    // Requests: every key of either side, |delta| descending, ties in key order.
    let mut keys: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for (k, n) in &rb.top {
        keys.entry(k.clone()).or_default().0 = *n;
    }
    for (k, n) in &ra.top {
        keys.entry(k.clone()).or_default().1 = *n;
    }
    let mut want: Vec<(String, u64, u64, i64)> = keys
        .into_iter()
        .map(|(k, (b, a))| (k, b, a, a as i64 - b as i64))
        .collect();
    want.sort_by_key(|w| std::cmp::Reverse(w.3.unsigned_abs()));
    let got: Vec<(String, u64, u64, i64)> = c
        .requests
        .iter()
        .map(|d| (d.key.clone(), d.before, d.after, d.delta))
        .collect();
    assert_eq!(got, want);

    // Average latency per key over the whole side.
    let mean = |r: &Reference| {
        let mut m: BTreeMap<String, (f64, u64)> = BTreeMap::new();
        for (k, _, avg, n) in &r.series {
            let e = m.entry(k.clone()).or_default();
            e.0 += avg * *n as f64;
            e.1 += n;
        }
        m
    };
    let (mb, ma) = (mean(&rb), mean(&ra));
    let lat_keys: std::collections::BTreeSet<&String> = mb.keys().chain(ma.keys()).collect();
    assert_eq!(c.latency.len(), lat_keys.len());
    for d in &c.latency {
        let b = mb.get(&d.key).map(|(s, n)| s / *n as f64);
        let a = ma.get(&d.key).map(|(s, n)| s / *n as f64);
        let close = |x: Option<f64>, y: Option<f64>| match (x, y) {
            (Some(x), Some(y)) => (x - y).abs() <= 1e-6 * y.abs().max(1.0),
            (x, y) => x.is_none() && y.is_none(),
        };
        assert!(
            close(d.before_avg_ms, b) && close(d.after_avg_ms, a),
            "{d:?} {b:?} {a:?}"
        );
        assert_eq!(d.before_count, mb.get(&d.key).map_or(0, |x| x.1));
    }
    assert!(c
        .latency
        .windows(2)
        .all(|w| w[0].delta_ms.abs() >= w[1].delta_ms.abs() - 1e-6));

    // P99 per (key, verb, resource), |delta| descending, ties in group order.
    type Side = (Option<i64>, u64);
    let mut groups: BTreeMap<(String, String, String), (Side, Side)> = BTreeMap::new();
    for (k, v, r, p, n) in &rb.pct {
        groups
            .entry((k.clone(), v.clone(), r.clone()))
            .or_default()
            .0 = (Some(p[0]), *n);
    }
    for (k, v, r, p, n) in &ra.pct {
        groups
            .entry((k.clone(), v.clone(), r.clone()))
            .or_default()
            .1 = (Some(p[0]), *n);
    }
    let mut want: Vec<_> = groups
        .into_iter()
        .map(|(g, ((b, bn), (a, an)))| (g, b, a, a.unwrap_or(0) - b.unwrap_or(0), bn, an))
        .collect();
    want.sort_by_key(|w| std::cmp::Reverse(w.3.unsigned_abs()));
    let got: Vec<_> = c
        .percentiles
        .iter()
        .map(|d| {
            (
                (d.key.clone(), d.verb.clone(), d.resource.clone()),
                d.before_ms,
                d.after_ms,
                d.delta_ms,
                d.before_count,
                d.after_count,
            )
        })
        .collect();
    assert_eq!(got, want);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn comparisons_equal_the_naive_reference(
        rows in prop::collection::vec(arb_row(), 0..120),
        o in arb_opts(),
        b in (0i64..3 * 3600, 0i64..3600),
        a in (0i64..3 * 3600, 0i64..3600),
    ) {
        let base = 1_795_168_800_000_000_000i64;
        let w = |(s, len): (i64, i64)| TimeWindow::Between {
            start: base + s * 1_000_000_000,
            end: base + (s + len) * 1_000_000_000,
        };
        assert_compare_matches_reference(&rows, &o, w(b), w(a));
    }
}

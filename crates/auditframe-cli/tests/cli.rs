//! The installed command as a user runs it: subcommands, the JSON contract, exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn auditframe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_auditframe"))
        .args(args)
        .output()
        .expect("run auditframe")
}

fn ok(args: &[&str]) -> String {
    let out = auditframe(args);
    assert!(
        out.status.success(),
        "auditframe {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// A fresh directory under the target's temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("auditframe-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
    fn path(&self, file: &str) -> String {
        self.0.join(file).display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The run's timings vary; everything else is the contract.
fn without_seconds(mut v: Value) -> Value {
    if let Some(m) = v.as_object_mut() {
        m.remove("seconds");
        if let Some(input) = m.get_mut("input").and_then(Value::as_object_mut) {
            input.remove("seconds");
        }
    }
    v
}

fn golden(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("golden file");
    serde_json::from_str(&text).expect("golden JSON")
}

/// Asserts equal JSON, naming the first differing path instead of printing both documents.
#[track_caller]
fn assert_same(got: &Value, want: &Value, what: &str) {
    fn first_difference(a: &Value, b: &Value, path: String) -> Option<String> {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                keys.into_iter().find_map(|k| match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => first_difference(p, q, format!("{path}.{k}")),
                    _ => Some(format!("{path}.{k}: present on one side only")),
                })
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
                .iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (p, q))| first_difference(p, q, format!("{path}[{i}]"))),
            _ if a == b => None,
            _ => Some(format!(
                "{path}: {:.200} vs {:.200}",
                a.to_string(),
                b.to_string()
            )),
        }
    }
    if let Some(d) = first_difference(got, want, String::new()) {
        panic!("{what}: {d}");
    }
}

fn json(args: &[&str]) -> Value {
    without_seconds(serde_json::from_str(&ok(args)).expect("JSON output"))
}

#[test]
fn analyze_json_contract_is_unchanged() {
    // The analyze goldens were written by the `analyze` example this command replaces: the
    // JSON contract is the old one. The diagnose golden was written the same way and
    // regenerated when the diagnoses' rules were corrected (the uncached `events` LISTs and
    // the SLO's 429s / completion windows moved its numbers, not its fields).
    assert_same(
        &json(&["analyze", "--format", "json"]),
        &golden("analyze-sample.json"),
        "analyze",
    );
    assert_same(
        &json(&[
            "analyze",
            "--format",
            "json",
            "--by",
            "user",
            "--since",
            "2026-11-20T10:20:00Z",
            "--until",
            "2026-11-20T10:40:00Z",
        ]),
        &golden("analyze-sample-user-window.json"),
        "analyze --by user --since --until",
    );
    assert_same(
        &json(&["diagnose", "--format", "json"]),
        &golden("diagnose-sample.json"),
        "diagnose",
    );
}

#[test]
fn tables_for_a_person_are_unchanged() {
    // The first line carries the run's time; the rest is pinned.
    for (cmd, file) in [
        ("analyze", "analyze-sample.txt"),
        ("diagnose", "diagnose-sample.txt"),
    ] {
        let out = ok(&[cmd]);
        let body: String = out.lines().skip(1).map(|l| format!("{l}\n")).collect();
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(file);
        let want = std::fs::read_to_string(&path).expect("golden file");
        if body != want {
            let line = body
                .lines()
                .zip(want.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(body.lines().count().min(want.lines().count()));
            panic!("{cmd}: table differs from {file} at line {}", line + 2);
        }
    }
}

#[test]
fn analyze_json_has_the_documented_values() {
    // The sample is one cluster's export: `--by cluster` puts every row under its name.
    let c = json(&["analyze", "--format", "json", "--by", "cluster"]);
    assert_eq!(c["group_by"], "cluster");
    assert_eq!(
        c["top"],
        serde_json::json!([{"key": "aks-prod", "count": 6000}])
    );
    let v = json(&["analyze", "--format", "json"]);
    assert_eq!(v["rows"], 6000);
    assert_eq!(v["group_by"], "user_agent");
    assert_eq!(v["bin"], "5m");
    assert_eq!(
        v["top"][1]["key"],
        "kubelet/v1.30.4 (linux/amd64) kubernetes/2c7c2b4"
    );
    assert_eq!(v["top"][1]["count"], 979);
    assert_eq!(v["latency"][0]["bin_start"], "2026-11-20T10:00:00Z");
    assert!(v["p99"][0]["p99_ms"].is_i64());
}

#[test]
fn table_shows_watches_apart_from_slow_requests() {
    let out = ok(&["analyze"]);
    let (requests, watches) = out
        .split_once("\nWatches (held connections")
        .expect("a watch table");
    let p99 = requests
        .split_once("Exact nearest-rank latency percentiles")
        .expect("the percentile table")
        .1;
    assert!(!p99
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some("watch")));
    assert!(watches.lines().skip(2).all(|l| l.trim().is_empty()
        || l.split_whitespace().nth(1) == Some("watch")
        || l.trim_start().starts_with('…')));
}

#[test]
fn csv_tables_quote_with_the_csv_rules() {
    let out = ok(&["analyze", "--format", "csv", "--table", "p99"]);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("key,verb,resource,p99_ms,count"));
    // User agents with commas or quotes are quoted; every row has five fields.
    let mut r = csv::Reader::from_reader(out.as_bytes());
    let rows: Vec<csv::StringRecord> = r.records().map(|r| r.expect("csv row")).collect();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r.len() == 5));
    let diag = ok(&["diagnose", "--format", "csv", "--table", "list-offenders"]);
    assert!(diag.starts_with("key,namespace,resource,read_type,count,latency_sum_ms,p99_ms\n"));
}

#[test]
fn exit_codes_are_documented_ones() {
    // Usage: unknown flag (clap), bad value found after parsing.
    assert_eq!(
        auditframe(&["analyze", "--no-such-flag"]).status.code(),
        Some(2)
    );
    assert_eq!(
        auditframe(&["analyze", "--bin", "five"]).status.code(),
        Some(2)
    );
    assert_eq!(
        auditframe(&["diagnose", "--since", "yesterday"])
            .status
            .code(),
        Some(2)
    );
    // Input: a file that does not exist, a bad record under --strict.
    let dir = TempDir::new("exit");
    assert_eq!(
        auditframe(&["analyze", &dir.path("missing.log")])
            .status
            .code(),
        Some(1)
    );
    let bad = dir.path("bad.log");
    std::fs::write(&bad, b"{\"kind\":\"Event\",\"verb\":\"get\"}\n{not json\n").expect("write");
    let strict = auditframe(&["analyze", "--strict", &bad]);
    assert_eq!(strict.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&strict.stderr).contains("bad.log"));
    let lenient = json(&["analyze", "--format", "json", &bad]);
    assert_eq!(lenient["skipped"], 1);
}

#[test]
fn every_shape_generates_inspects_analyses_and_diagnoses() {
    let dir = TempDir::new("shapes");
    let shapes = [
        ("native", "native"),
        ("event-list", "event_list"),
        ("aks-audit", "aks_audit"),
        ("aks-audit-strings", "aks_audit"),
        ("azure-diagnostics", "azure_diagnostics"),
        ("archive", "archive"),
        ("event-hub", "event_hub"),
        ("json-array", "aks_audit"),
    ];
    let mut rows = None;
    for (arg, shape) in shapes {
        let file = dir.path(&format!("{arg}.json"));
        ok(&[
            "generate", "--events", "1500", "--story", "--shape", arg, "-o", &file,
        ]);
        let inspect = json(&["inspect", "--format", "json", &file]);
        assert_eq!(inspect["inputs"][0]["shape"], shape, "{arg}");
        let analysis = json(&["analyze", "--format", "json", &file]);
        // Every shape carries the same events, so the same answers.
        let answers = (
            analysis["rows"].clone(),
            analysis["top"].clone(),
            analysis["p99"].clone(),
        );
        match &rows {
            None => rows = Some(answers),
            Some(first) => assert!(&answers == first, "{arg}: other answers than native"),
        }
        let d = json(&["diagnose", "--format", "json", &file]);
        assert_eq!(d["input"]["shape"], shape, "{arg}");
        assert!(
            d["diagnosis"]["list"]["total"].as_u64().unwrap_or(0) > 0,
            "{arg}"
        );
    }
}

#[test]
fn convert_to_parquet_gives_the_same_answers() {
    let dir = TempDir::new("convert");
    let src = dir.path("aks.json.gz");
    ok(&[
        "generate",
        "--events",
        "3000",
        "--story",
        "--shape",
        "aks-audit",
        "--gzip",
        "-o",
        &src,
    ]);
    let parquet = dir.path("aks.parquet");
    ok(&["convert", &src, "-o", &parquet]);
    for cmd in ["analyze", "diagnose"] {
        let a = json(&[cmd, "--format", "json", &src]);
        let b = json(&[cmd, "--format", "json", &parquet]);
        let strip = |mut v: Value| {
            // What was read differs by design (format, JSON shape); the answers must not.
            if let Some(m) = v.as_object_mut() {
                for k in ["format", "input", "shape"] {
                    m.remove(k);
                }
            }
            v
        };
        assert_same(&strip(a), &strip(b), cmd);
    }
    let inspect = json(&["inspect", "--format", "json", &parquet]);
    assert_eq!(inspect["inputs"][0]["rows"], 3000);
}

#[test]
fn completions_and_help_read_well() {
    let bash = ok(&["completions", "bash"]);
    assert!(bash.contains("auditframe") && bash.contains("analyze"));
    let help = ok(&["analyze", "--help"]);
    for heading in ["Input:", "Grouping and window:", "Analyses:", "Output:"] {
        assert!(help.contains(heading), "{heading} in\n{help}");
    }
    let top = ok(&["--help"]);
    assert!(top.contains("Exit status") && top.contains("Examples:"));
}

#[test]
fn a_storage_tree_is_pruned_by_the_window_and_grouped_by_cluster() {
    // Two clusters × three hourly blobs, each holding one request of its hour.
    let dir = TempDir::new("storage-tree");
    for cluster in ["AKS-A", "AKS-B"] {
        for hour in [9, 10, 11] {
            let blob = dir.0.join(format!(
                "insights-logs-kube-audit/resourceId=/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/{cluster}/y=2026/m=11/d=20/h={hour:02}/m=00"
            ));
            std::fs::create_dir_all(&blob).unwrap();
            let event = format!(
                r#"{{\"kind\":\"Event\",\"auditID\":\"{cluster}-{hour}\",\"stage\":\"ResponseComplete\",\"verb\":\"get\",\"requestURI\":\"/api\",\"userAgent\":\"ua\",\"requestReceivedTimestamp\":\"2026-11-20T{hour:02}:30:00Z\",\"stageTimestamp\":\"2026-11-20T{hour:02}:30:00.1Z\"}}"#
            );
            let line = format!(
                r#"{{"time":"2026-11-20T{hour:02}:30:00Z","resourceId":"/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/{cluster}","category":"kube-audit","properties":{{"log":"{event}"}}}}"#
            );
            std::fs::write(blob.join("PT1H.json"), line + "\n").unwrap();
        }
    }
    let root = dir.path("insights-logs-kube-audit");
    let v = json(&[
        "analyze",
        "--format",
        "json",
        "--by",
        "cluster",
        "--since",
        "2026-11-20T10:00:00Z",
        "--until",
        "2026-11-20T10:59:59Z",
        &root,
    ]);
    assert_eq!(v["pruned_files"], 4, "{v}");
    assert_eq!(v["rows_read"], 2, "{v}");
    // `--cluster` leaves the other clusters' files unopened too.
    let w = json(&[
        "analyze",
        "--format",
        "json",
        "--cluster",
        "aks-a",
        "--since",
        "2026-11-20T10:00:00Z",
        "--until",
        "2026-11-20T10:59:59Z",
        &root,
    ]);
    assert_eq!(
        (w["pruned_files"].clone(), w["rows_read"].clone()),
        (5.into(), 1.into()),
        "{w}"
    );
    let w = json(&[
        "analyze",
        "--format",
        "json",
        "--cluster",
        "aks-b",
        "--last",
        "30m",
        &root,
    ]);
    assert_eq!(
        (w["pruned_files"].clone(), w["rows_read"].clone()),
        (5.into(), 1.into()),
        "{w}"
    );
    assert_eq!(
        v["top"],
        serde_json::json!([{"key": "aks-a", "count": 1}, {"key": "aks-b", "count": 1}])
    );
    // What was read of each cluster, in memory and streamed (file by file).
    for mode in ["--in-memory", "--stream"] {
        let v = json(&["analyze", "--format", "json", mode, &root]);
        assert_eq!(
            v["clusters"],
            serde_json::json!([
                {"cluster": "aks-a", "rows": 3, "files": 3},
                {"cluster": "aks-b", "rows": 3, "files": 3}
            ]),
            "{mode}"
        );
    }
    assert!(ok(&["analyze", &root])
        .contains("clusters: aks-a 3 rows in 3 files, aks-b 3 rows in 3 files"));
    // One cluster against another, in one window.
    let v = json(&[
        "analyze",
        "--format",
        "json",
        "--cluster",
        "AKS-A",
        "--compare-cluster",
        "aks-b",
        "--since",
        "2026-11-20T10:00:00Z",
        "--until",
        "2026-11-20T11:59:59Z",
        &root,
    ]);
    assert_eq!(v["before"]["cluster"], "aks-a", "{v}");
    assert_eq!(v["after"]["cluster"], "aks-b", "{v}");
    assert_eq!(
        (v["before"]["rows"].clone(), v["after"]["rows"].clone()),
        (2.into(), 2.into())
    );
    assert_eq!(v["pruned_files"], 2, "{v}");
    assert_eq!(
        v["requests"],
        serde_json::json!([{"key": "ua", "before": 2, "after": 2, "delta": 0}])
    );
    // Native logs name no cluster: one `--cluster` labels them (and keeps them).
    let native = dir.path("native.log");
    std::fs::write(
        &native,
        r#"{"kind":"Event","auditID":"n1","stage":"ResponseComplete","verb":"get","requestURI":"/api","userAgent":"ua","stageTimestamp":"2026-11-20T10:30:00Z"}"#,
    )
    .unwrap();
    let v = json(&["analyze", "--format", "json", "--by", "cluster", &native]);
    assert_eq!(
        v["clusters"],
        serde_json::json!([{"cluster": null, "rows": 1, "files": 1}])
    );
    assert_eq!(v["top"], serde_json::json!([{"key": "", "count": 1}]));
    let v = json(&[
        "analyze",
        "--format",
        "json",
        "--by",
        "cluster",
        "--cluster",
        "On-Prem",
        &native,
    ]);
    assert_eq!(
        v["top"],
        serde_json::json!([{"key": "on-prem", "count": 1}]),
        "{v}"
    );
    assert_eq!(v["clusters"][0]["cluster"], "on-prem");
    // `--last` finds the newest time in the newest hour's files, then prunes the same way,
    // in memory and streamed.
    for mode in ["--in-memory", "--stream"] {
        let v = json(&["analyze", "--format", "json", "--last", "30m", mode, &root]);
        assert_eq!(v["pruned_files"], 4, "{mode}: {v}");
        assert_eq!(v["rows_read"], 2, "{mode}");
        assert_eq!(v["rows"], 2, "{mode}");
        assert_eq!(v["window"]["start"], "2026-11-20T11:00:00Z", "{mode}");
    }
    // Without a window nothing is pruned; a window no hour overlaps is a clear error.
    let all = json(&["analyze", "--format", "json", &root]);
    assert_eq!(all["pruned_files"], 0);
    assert_eq!(all["rows"], 6);
    let out = auditframe(&[
        "analyze",
        "--since",
        "2026-11-21T00:00:00Z",
        "--until",
        "2026-11-21T01:00:00Z",
        &root,
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("6 pruned"));
}

#[test]
fn a_cut_short_event_is_salvaged_counted_and_rejectable() {
    // A storage export whose `properties.log` was cut at 16 KiB inside a large request body,
    // after a whole request that was not cut.
    let dir = TempDir::new("truncated");
    let whole = r#"{\"kind\":\"Event\",\"auditID\":\"a1\",\"stage\":\"ResponseComplete\",\"verb\":\"get\",\"requestURI\":\"/api\",\"userAgent\":\"ua\",\"requestReceivedTimestamp\":\"2026-11-20T10:30:00Z\",\"stageTimestamp\":\"2026-11-20T10:30:00.1Z\"}"#;
    let body = "x".repeat(20_000);
    let cut = format!(
        r#"{{\"kind\":\"Event\",\"auditID\":\"a2\",\"stage\":\"ResponseComplete\",\"verb\":\"update\",\"requestURI\":\"/api/v1/namespaces/ns/configmaps/big\",\"userAgent\":\"writer\",\"objectRef\":{{\"resource\":\"configmaps\",\"namespace\":\"ns\",\"name\":\"big\"}},\"requestObject\":{{\"data\":{{\"k\":\"{body}\"}}}},\"requestReceivedTimestamp\":\"2026-11-20T10:31:00Z\",\"stageTimestamp\":\"2026-11-20T10:31:00.2Z\"}}"#
    );
    let cut = &cut[..16_384];
    let mut text = String::new();
    for (time, event) in [("10:30:00", whole), ("10:31:00", cut)] {
        text.push_str(&format!(
            r#"{{"time":"2026-11-20T{time}Z","resourceId":"/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/AKS","category":"kube-audit","properties":{{"log":"{event}"}}}}"#
        ));
        text.push('\n');
    }
    let file = dir.path("PT1H.json");
    std::fs::write(&file, text).expect("write");

    let v = json(&["analyze", "--format", "json", &file]);
    assert_eq!(v["rows"], 2, "{v}");
    assert_eq!(v["skipped"], 0, "{v}");
    assert_eq!(v["truncated"], 1, "{v}");
    assert_eq!(
        v["top"],
        serde_json::json!([{"key": "ua", "count": 1}, {"key": "writer", "count": 1}])
    );
    let table = ok(&["analyze", &file]);
    assert!(table.contains("1 cut-short events salvaged"), "{table}");

    // Rejected on request: skipped and counted when lenient, an error under --strict.
    let v = json(&["analyze", "--format", "json", "--reject-truncated", &file]);
    assert_eq!(v["rows"], 1, "{v}");
    assert_eq!(v["truncated"], 0, "{v}");
    assert_eq!(v["skipped_by_reason"]["truncated"], 1, "{v}");
    let strict = auditframe(&["analyze", "--strict", "--reject-truncated", &file]);
    assert_eq!(strict.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&strict.stderr).contains("cut short"));
}

#[test]
fn a_request_exported_under_both_audit_categories_counts_once() {
    // A storage export of both categories: every write is in both trees, reads only in
    // kube-audit; one write of hour 11 is missing from kube-audit (its admin copy stays).
    let dir = TempDir::new("copies");
    let event = |id: &str, verb: &str, hour: u32| {
        format!(
            r#"{{\"kind\":\"Event\",\"auditID\":\"{id}\",\"stage\":\"ResponseComplete\",\"verb\":\"{verb}\",\"requestURI\":\"/api\",\"userAgent\":\"{verb}-agent\",\"requestReceivedTimestamp\":\"2026-11-20T{hour:02}:30:00Z\",\"stageTimestamp\":\"2026-11-20T{hour:02}:30:00.1Z\"}}"#
        )
    };
    let record = |category: &str, hour: u32, event: String| {
        format!(
            r#"{{"time":"2026-11-20T{hour:02}:30:00Z","resourceId":"/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/AKS","category":"{category}","properties":{{"log":"{event}"}}}}"#
        ) + "\n"
    };
    for category in ["kube-audit", "kube-audit-admin"] {
        for hour in [10, 11] {
            let blob = dir.0.join(format!(
                "insights-logs-{category}/resourceId=/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/AKS/y=2026/m=11/d=20/h={hour:02}/m=00"
            ));
            std::fs::create_dir_all(&blob).unwrap();
            let mut text = record(category, hour, event(&format!("c{hour}"), "create", hour));
            if category == "kube-audit" {
                text += &record(category, hour, event(&format!("g{hour}"), "get", hour));
            }
            if category == "kube-audit-admin" || hour == 10 {
                text += &record(category, hour, event(&format!("p{hour}"), "patch", hour));
            }
            std::fs::write(blob.join("PT1H.json"), text).unwrap();
        }
    }
    for mode in ["--in-memory", "--stream"] {
        let v = json(&["analyze", "--format", "json", mode, &dir.path("")]);
        assert_eq!(v["rows_read"], 9, "{mode}: {v}");
        assert_eq!(v["duplicates_dropped"], 3, "{mode}: {v}");
        assert_eq!(v["rows"], 6, "{mode}: {v}");
        assert_eq!(
            v["top"],
            serde_json::json!([
                {"key": "create-agent", "count": 2},
                {"key": "get-agent", "count": 2},
                {"key": "patch-agent", "count": 2}
            ]),
            "{mode}"
        );
        assert_eq!(v["notes"], serde_json::json!([]), "{mode}");
    }
    let kept = json(&[
        "analyze",
        "--format",
        "json",
        "--keep-copies",
        &dir.path(""),
    ]);
    assert_eq!(kept["rows"], 9);
    assert_eq!(kept["duplicates_dropped"], 0);
    // The admin tree alone: analysed as such, with a note.
    let admin = dir.path("insights-logs-kube-audit-admin");
    let v = json(&["analyze", "--format", "json", &admin]);
    assert_eq!(v["rows"], 4);
    assert!(v["notes"][0]
        .as_str()
        .unwrap()
        .contains("no get, list or watch"));
    assert!(ok(&["analyze", &admin]).contains("only kube-audit-admin rows"));
}

#[test]
fn two_windows_compare_with_ranked_deltas() {
    let dir = TempDir::new("compare");
    let ev = |id: u32, ua: &str, minute: u32, ms: u32| {
        format!(
            r#"{{"kind":"Event","auditID":"e{id}","stage":"ResponseComplete","verb":"get","requestURI":"/api/v1/pods/x","userAgent":"{ua}","objectRef":{{"resource":"pods"}},"requestReceivedTimestamp":"2026-11-20T10:{minute:02}:00Z","stageTimestamp":"2026-11-20T10:{minute:02}:00.{ms:03}Z"}}"#
        )
    };
    // Before (10:00–10:09): a 100 ms and 300 ms, b 50 ms. After (10:10–10:19): a 999 ms, c 10 ms ×3.
    let lines = [
        ev(1, "a", 1, 100),
        ev(2, "a", 2, 300),
        ev(3, "b", 3, 50),
        ev(4, "a", 11, 999),
        ev(5, "c", 12, 10),
        ev(6, "c", 13, 10),
        ev(7, "c", 14, 10),
    ];
    let file = dir.path("audit.log");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let args = [
        "analyze",
        "--format",
        "json",
        "--since",
        "2026-11-20T10:00:00Z",
        "--until",
        "2026-11-20T10:09:59Z",
        "--compare-since",
        "2026-11-20T10:10:00Z",
        "--compare-until",
        "2026-11-20T10:19:59Z",
    ];
    for mode in ["--in-memory", "--stream"] {
        let mut a = args.to_vec();
        a.extend([mode, &file]);
        let v = json(&a);
        assert_eq!(v["before"]["rows"], 3, "{mode}: {v}");
        assert_eq!(v["after"]["rows"], 4, "{mode}");
        assert_eq!(
            v["after"]["window"]["start"], "2026-11-20T10:10:00Z",
            "{mode}"
        );
        let req: Vec<(String, i64)> = v["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["key"].as_str().unwrap().to_owned(),
                    d["delta"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            req,
            vec![("c".into(), 3), ("a".into(), -1), ("b".into(), -1)],
            "{mode}"
        );
        assert_eq!(
            v["latency"][0],
            serde_json::json!({"key": "a", "before_avg_ms": 200.0, "after_avg_ms": 999.0,
                "delta_ms": 799.0, "before_count": 2, "after_count": 1}),
            "{mode}"
        );
        assert_eq!(v["latency"][1]["key"], "b", "{mode}");
        assert_eq!(v["latency"][1]["after_avg_ms"], Value::Null, "{mode}");
        assert_eq!(
            v["p99"][0],
            serde_json::json!({"key": "a", "verb": "get", "resource": "pods", "before_ms": 300,
                "after_ms": 999, "delta_ms": 699, "before_count": 2, "after_count": 1}),
            "{mode}"
        );
    }
    let mut a = args.to_vec();
    a[2] = "csv";
    a.extend(["--table", "top", &file]);
    assert_eq!(
        ok(&a),
        "key,before,after,delta\nc,0,3,3\na,2,1,-1\nb,1,0,-1\n"
    );
    let mut a = args.to_vec();
    a.drain(1..3);
    a.push(&file);
    let table = ok(&a);
    assert!(
        table.contains("Requests per user agent, largest change first"),
        "{table}"
    );
    // A cluster comparison needs the first side's cluster.
    assert_eq!(
        auditframe(&["analyze", "--compare-cluster", "x", &file])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn a_generated_fleet_tree_is_pruned_deduplicated_and_salvaged() {
    // 3 clusters × 2 days of hourly blobs, both audit categories, large bodies cut at 16 KiB.
    let dir = TempDir::new("fleet");
    let root = dir.path("tree");
    let out = auditframe(&[
        "generate",
        "--storage-tree",
        &root,
        "--clusters",
        "3",
        "--hours",
        "48",
        "--events",
        "3000",
        "--admin-copies",
        "--large-body-every",
        "20",
    ]);
    assert!(out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    // "wrote B blobs: R records (A kube-audit-admin copies, C cut at 16384 bytes)"
    let numbers: Vec<u64> = said
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    let [blobs, records, copies, cut, 16384] = numbers[..] else {
        panic!("{said}");
    };
    assert!(copies > 0 && cut > 0, "{said}");

    // Everything: each request once, the cut ones salvaged.
    let all = json(&["analyze", "--format", "json", &root]);
    assert_eq!(all["rows_read"], records);
    assert_eq!(all["duplicates_dropped"], copies);
    assert_eq!(all["rows"], 9000);
    assert_eq!(all["truncated"], cut);
    assert_eq!(all["skipped"], 0);
    assert_eq!(all["clusters"].as_array().unwrap().len(), 3);

    // A window of the second day's morning: the files outside it are never opened. Count
    // them from the paths here, by the y=/m=/d=/h= segments.
    let (since, until) = ("2026-11-21T06:00:00Z", "2026-11-21T08:59:59Z");
    let mut files = Vec::new();
    let mut stack = vec![PathBuf::from(&root)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p.display().to_string());
            }
        }
    }
    assert_eq!(files.len() as u64, blobs);
    let inside = files
        .iter()
        .filter(|f| {
            ["/d=21/h=06/", "/d=21/h=07/", "/d=21/h=08/"]
                .iter()
                .any(|h| f.contains(h))
        })
        .count();
    let mut answers = Vec::new();
    for mode in ["--in-memory", "--stream"] {
        let v = json(&[
            "analyze", "--format", "json", "--since", since, "--until", until, mode, &root,
        ]);
        assert_eq!(v["pruned_files"], blobs - inside as u64, "{mode}");
        answers.push((v["rows"].clone(), v["top"].clone(), v["p99"].clone()));
    }
    assert_eq!(answers[0], answers[1]);
    // Pruning changes no answer: the same window over every record, from one file whose
    // path names no hour.
    files.sort();
    let mut every = Vec::new();
    for f in &files {
        every.extend(std::fs::read(f).unwrap());
    }
    let one = dir.path("every-record.json");
    std::fs::write(&one, every).unwrap();
    let v = json(&[
        "analyze", "--format", "json", "--since", since, "--until", until, &one,
    ]);
    assert_eq!(v["pruned_files"], 0);
    assert_eq!(
        (v["rows"].clone(), v["top"].clone(), v["p99"].clone()),
        answers[0]
    );
}

/// A named pipe fed `bytes` by a thread (what `<(zcat audit.log.gz)` gives a command).
#[cfg(unix)]
fn fifo(dir: &TempDir, name: &str, bytes: Vec<u8>) -> (String, std::thread::JoinHandle<()>) {
    let path = dir.path(name);
    let made = Command::new("mkfifo").arg(&path).status().expect("mkfifo");
    assert!(made.success());
    let p = path.clone();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        // Opening blocks until the command opens the pipe for reading.
        let mut w = std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .expect("open fifo");
        let _ = w.write_all(&bytes);
    });
    (path, writer)
}

#[test]
#[cfg(unix)]
fn a_pipe_is_read_once_and_whole() {
    let dir = TempDir::new("pipe");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/shapes");
    // Shapes with and without audit categories: the copies check must not peek at a pipe.
    for file in ["native.json", "azure-diagnostics.json"] {
        let bytes = std::fs::read(sample.join(file)).expect("sample");
        let (path, writer) = fifo(&dir, &format!("{file}.pipe"), bytes);
        let v = json(&["analyze", &path, "--format", "json"]);
        writer.join().expect("writer");
        assert_eq!(
            (v["rows_read"].as_u64(), v["rows"].as_u64()),
            (Some(100), Some(100)),
            "{file}"
        );
    }
    // `--last` over a stream needs a pre-pass, which a pipe cannot give: a usage error.
    let (path, writer) = fifo(&dir, "last.pipe", b"{}\n".to_vec());
    let out = auditframe(&["analyze", &path, "--stream", "--last", "10m"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("pipe"));
    // Unblock the writer, which waits for a reader.
    let _ = std::fs::read(&path);
    writer.join().expect("writer");
}

#[test]
fn inspect_prints_each_format_whole() {
    let dir = TempDir::new("inspect-formats");
    let (a, b) = (dir.path("a.log"), dir.path("b.log"));
    ok(&["generate", "--events", "200", "-o", &a]);
    ok(&[
        "generate", "--events", "300", "--shape", "archive", "-o", &b,
    ]);
    let table = ok(&["inspect", &a, &b]);
    assert!(table.starts_with(&a), "{table}");
    assert!(table.contains("  shape       archive"), "{table}");
    assert!(
        table.lines().last().is_some_and(|l| l.contains("500")),
        "{table}"
    );
    let csv = ok(&["inspect", "--format", "csv", &a, &b]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("name,shape,bytes,rows"));
    assert!(lines[2].starts_with(&format!("{b},archive,")), "{csv}");
    let doc = json(&["inspect", "--format", "json", &a, &b]);
    assert_eq!(doc["inputs"][1]["rows"], 300);
}

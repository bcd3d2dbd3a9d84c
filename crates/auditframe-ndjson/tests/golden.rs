//! Golden tests on testdata/: every shape sample, and the embedded default sample with
//! values checked by hand (an independent Python reading of the same file).

use std::path::PathBuf;

use auditframe::generate::{Generator, GeneratorOptions};
use auditframe::polars::prelude::*;
use auditframe::{analyze, AnalysisOptions, GroupKey, Shape};
use auditframe_ndjson::ReaderBuilder;

fn testdata(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(p)
}

#[test]
fn every_shape_sample_reads_to_the_same_frame() {
    let files = [
        ("native.json", Shape::Native),
        ("native.json.gz", Shape::Native),
        ("event-list.json", Shape::EventList),
        ("aks-audit.json", Shape::AksAudit),
        ("aks-audit-strings.json", Shape::AksAudit),
        ("azure-diagnostics.json", Shape::AzureDiagnostics),
        ("archive.json", Shape::Archive),
        ("event-hub.json", Shape::EventHub),
        ("json-array.json", Shape::AksAudit),
    ];
    let mut want: Option<Vec<Series>> = None;
    for (file, shape) in files {
        let (f, r) = ReaderBuilder::new()
            .strict(true)
            .read_path(testdata(&format!("shapes/{file}")))
            .unwrap();
        assert_eq!((f.height(), r.parse.shape), (100, Some(shape)), "{file}");
        // The Azure shapes carry the cluster's resource ID (in upper or lower case); native
        // logs none.
        let clusters: Vec<Option<String>> = f
            .column(auditframe::Column::Cluster)
            .unwrap()
            .as_materialized_series()
            .cast(&DataType::String)
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|c| c.map(str::to_owned))
            .collect();
        let expected = match shape {
            Shape::Native | Shape::EventList => None,
            _ => Some("aks-prod".to_owned()),
        };
        assert!(
            clusters.iter().all(|c| *c == expected),
            "{file}: {:?}",
            clusters.first()
        );
        let cols: Vec<Series> = f
            .dataframe()
            .drop_many([
                "source_shape",
                "category",
                "time_generated",
                "cluster",
                "resource_id",
            ])
            .columns()
            .iter()
            .map(|c| {
                let s = c.as_materialized_series();
                match s.dtype() {
                    DataType::Categorical(..) => s.cast(&DataType::String).unwrap(),
                    _ => s.to_physical_repr().into_owned(),
                }
            })
            .collect();
        match &want {
            None => want = Some(cols),
            Some(w) => {
                for (a, b) in w.iter().zip(&cols) {
                    assert!(a.equals_missing(b), "{file}: column {}", a.name());
                }
            }
        }
    }
}

#[test]
fn shape_samples_are_what_the_generator_writes() {
    let mut out = Vec::new();
    Generator::new(GeneratorOptions::default().with_events(100).with_seed(1))
        .write(Shape::Native, &mut out);
    assert_eq!(
        out,
        std::fs::read(testdata("shapes/native.json")).unwrap(),
        "regenerate testdata (see testdata/README.md)"
    );
    let mut out = Vec::new();
    Generator::new(GeneratorOptions::default().with_events(100).with_seed(1))
        .write(Shape::AksAudit, &mut out);
    assert_eq!(
        out,
        std::fs::read(testdata("shapes/aks-audit.json")).unwrap()
    );
}

#[test]
fn default_sample_golden_values() {
    let (frame, report) = ReaderBuilder::new()
        .read_path(testdata("default-sample.aks.json.gz"))
        .unwrap();
    assert_eq!((frame.height(), report.parse.skipped_total()), (6000, 0));
    assert_eq!(report.parse.log_lines, 88);

    let a = analyze(
        &frame,
        &AnalysisOptions::default().with_percentiles(vec![50.0, 99.0]),
    )
    .unwrap();
    let top: Vec<(&str, u64)> = a
        .top
        .iter()
        .take(3)
        .map(|t| (t.key.as_str(), t.count))
        .collect();
    assert_eq!(
        top,
        vec![
            ("kube-controller-manager/v1.30.4 (linux/amd64) kubernetes/2c7c2b4/system:serviceaccount:kube-system:generic-garbage-collector", 1320),
            ("kubelet/v1.30.4 (linux/amd64) kubernetes/2c7c2b4", 979),
            ("kube-scheduler/v1.30.4 (linux/amd64) kubernetes/2c7c2b4/leader-election", 600),
        ]
    );
    let bad = "bad-client/0.1.0 (linux/amd64) list-all-pods";
    let row = a
        .percentile_rows
        .iter()
        .find(|r| r.key == bad && r.verb == "list" && r.resource == "pods")
        .unwrap();
    assert_eq!(
        (row.count, row.get(50.0), row.get(99.0)),
        (466, Some(432), Some(10374))
    );
    let p = a
        .latency
        .iter()
        .find(|p| p.key == bad && p.bin_start.to_string() == "2026-11-20T10:00:00Z")
        .unwrap();
    assert_eq!(p.count, 41);
    assert!((p.avg_ms - 2_587.0 / 41.0).abs() < 1e-9, "{}", p.avg_ms);

    let u = analyze(
        &frame,
        &AnalysisOptions::default()
            .with_key(GroupKey::User)
            .with_top(2),
    )
    .unwrap();
    let top: Vec<(&str, u64)> = u.top.iter().map(|t| (t.key.as_str(), t.count)).collect();
    assert_eq!(
        top,
        vec![
            (
                "system:serviceaccount:kube-system:generic-garbage-collector",
                1320
            ),
            ("system:kube-scheduler", 600)
        ]
    );
}

/// The story the default sample tells (testdata/README.md), as the diagnoses see it. The
/// counts marked (py) were checked by an independent Python reading of the file.
#[test]
fn default_sample_diagnosis_tells_the_story() {
    use auditframe::diagnose::{ReadType, SloClass};
    use auditframe::{diagnose, DiagnoseOptions};
    let (frame, _) = ReaderBuilder::new()
        .projection(auditframe::Projection::diagnostics())
        .read_path(testdata("default-sample.aks.json.gz"))
        .unwrap();
    let d = diagnose(&frame, &DiagnoseOptions::default()).unwrap();
    let bad = "bad-client/0.1.0 (linux/amd64) list-all-pods";

    // A bad client listing pods from etcd: 929 LISTs, 201 from etcd (py): 177 by their
    // queries, plus the 24 LISTs of `events`, which have no watch cache upstream.
    assert_eq!(d.list.total, 929);
    let etcd: u64 = d
        .list
        .classes
        .iter()
        .filter(|c| c.read_type == ReadType::Etcd)
        .map(|c| c.count)
        .sum();
    assert_eq!(etcd, 201);
    let top = &d.list.offenders[0];
    assert_eq!(
        (
            top.key.as_str(),
            top.namespace.as_deref(),
            top.read_type,
            top.count
        ),
        (bad, None, ReadType::Etcd, 121)
    );
    let peak = d.list.peak_by_latency.as_ref().unwrap();
    assert_eq!(
        (
            peak.start.to_string().as_str(),
            peak.end.to_string().as_str()
        ),
        ("2026-11-20T10:12:00Z", "2026-11-20T10:42:00Z")
    );
    assert_eq!(peak.top[0].key, bad);

    // The guard appears at 10:38, a 429 burst follows, an operator deletes it at 10:55.
    assert_eq!((d.throttling.requests, d.throttling.throttled), (5679, 351)); // (py)
    let guard: Vec<(&str, &str)> = d
        .throttling
        .guard_events
        .iter()
        .map(|g| (g.verb.as_str(), g.resource.as_str()))
        .collect();
    assert_eq!(
        guard,
        [
            ("create", "flowschemas"),
            ("create", "prioritylevelconfigurations"),
            ("delete", "flowschemas"),
            ("delete", "prioritylevelconfigurations")
        ]
    );
    assert!(d.throttling.guard_events[0]
        .time
        .to_string()
        .starts_with("2026-11-20T10:38:24"));
    let bins: Vec<String> = d
        .throttling
        .series
        .iter()
        .map(|b| b.bin_start.to_string())
        .collect();
    assert!(
        bins.iter()
            .all(|b| *b == "2026-11-20T10:40:00Z" || *b == "2026-11-20T10:45:00Z"),
        "{bins:?}"
    );

    // A leaking CronJob: 453 Job creates, 23 deletes (py); flagged against 10 000 a day.
    let jobs = &d.growth.types[0];
    assert_eq!(
        (
            jobs.resource.as_str(),
            jobs.creates,
            jobs.deletes,
            jobs.flagged
        ),
        ("jobs", 453, 23, true)
    );
    assert_eq!(d.growth.types.iter().filter(|t| t.flagged).count(), 1);
    assert!(jobs.top_creators[0].key.ends_with("cronjob-controller"));

    // A failing webhook: 33 `failing closed` lines (py) between 10:20 and 10:30.
    let w = &d.webhooks.webhooks[0];
    assert_eq!(
        (w.webhook.as_str(), w.kind.as_str(), w.count),
        ("mutate.kyverno.svc-fail", "failing_closed", 33)
    );
    assert!(w
        .first_seen
        .map(|t| t.to_string())
        .as_deref()
        .unwrap()
        .starts_with("2026-11-20T10:20"));
    assert!(w
        .last_seen
        .map(|t| t.to_string())
        .as_deref()
        .unwrap()
        .starts_with("2026-11-20T10:30"));

    // SLOs: pod creates stuck on the webhook, and the bad client's LISTs, break them.
    assert!(!d.slo.pass);
    let creates: Vec<String> = d
        .slo
        .violations
        .iter()
        .filter(|v| v.class == SloClass::Mutating && v.verb == "create" && v.resource == "pods")
        .map(|v| v.window_start.to_string())
        .collect();
    assert_eq!(
        creates,
        [
            "2026-11-20T10:20:00Z",
            "2026-11-20T10:25:00Z",
            "2026-11-20T10:30:00Z"
        ]
    );
    assert!(d
        .slo
        .violations
        .iter()
        .any(|v| v.class == SloClass::ReadCluster && v.top_slow_keys[0].key == bad));
}

/// Streamed a frame per small block, the merged diagnosis partials equal the diagnosis of
/// the whole sample (log lines and annotations included).
#[test]
fn default_sample_diagnosis_streamed_equals_in_memory() {
    use auditframe::diagnose::diagnose_partial;
    use auditframe::{diagnose, DiagnoseOptions, DiagnosisPartial};
    let reader = ReaderBuilder::new()
        .projection(auditframe::Projection::diagnostics())
        .block_bytes(256 << 10);
    let opts = DiagnoseOptions::default();
    let (frame, _) = reader
        .read_path(testdata("default-sample.aks.json.gz"))
        .unwrap();
    let whole = diagnose(&frame, &opts).unwrap();
    let mut merged = DiagnosisPartial::default();
    let mut frames = 0;
    reader
        .for_each_frame(&[testdata("default-sample.aks.json.gz")], |f, _| {
            frames += 1;
            merged.merge(diagnose_partial(&f, &opts).map_err(auditframe_ndjson::Error::Parse)?);
            Ok(())
        })
        .unwrap();
    assert!(frames > 10, "{frames} frames");
    assert_eq!(merged.finish(&opts).unwrap(), whole);
}

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
        let cols: Vec<Series> = f
            .dataframe()
            .drop_many(["source_shape", "category", "time_generated"])
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
    Generator::new(GeneratorOptions {
        events: 100,
        seed: 1,
        ..GeneratorOptions::default()
    })
    .write(Shape::Native, &mut out);
    assert_eq!(
        out,
        std::fs::read(testdata("shapes/native.json")).unwrap(),
        "regenerate testdata (see testdata/README.md)"
    );
    let mut out = Vec::new();
    Generator::new(GeneratorOptions {
        events: 100,
        seed: 1,
        ..GeneratorOptions::default()
    })
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
    assert_eq!((frame.height(), report.parse.skipped_total()), (2000, 0));

    let a = analyze(
        &frame,
        &AnalysisOptions::default().percentiles(vec![50.0, 99.0]),
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
            ("kube-controller-manager/v1.30.4 (linux/amd64) kubernetes/2c7c2b4/system:serviceaccount:kube-system:generic-garbage-collector", 465),
            ("kubelet/v1.30.4 (linux/amd64) kubernetes/2c7c2b4", 378),
            ("kube-scheduler/v1.30.4 (linux/amd64) kubernetes/2c7c2b4/leader-election", 203),
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
        (168, Some(1545), Some(36242))
    );
    let p = a
        .latency
        .iter()
        .find(|p| p.key == bad && p.bin_start == "2026-11-20T10:00:00Z")
        .unwrap();
    assert_eq!(p.count, 12);
    assert!((p.avg_ms - 27_997.0 / 12.0).abs() < 1e-9, "{}", p.avg_ms);

    let u = analyze(
        &frame,
        &AnalysisOptions::default().key(GroupKey::User).top(2),
    )
    .unwrap();
    let top: Vec<(&str, u64)> = u.top.iter().map(|t| (t.key.as_str(), t.count)).collect();
    assert_eq!(
        top,
        vec![
            (
                "system:serviceaccount:kube-system:generic-garbage-collector",
                465
            ),
            ("system:kube-scheduler", 203)
        ]
    );
}

//! The diagnoses on an in-memory frame of the incident story, each beside a baseline: the
//! same grouping as a polars lazy plan on the same frame (or, for the log-line scan, a plain
//! substring filter).

use auditframe::diagnose::{
    run, GrowthDetector, LatencyAttribution, ListDetector, SloVerdicts, ThrottleDetector,
    WatchLoad, WebhookDetector,
};
use auditframe::polars::prelude::{ChunkAgg, DataFrame, DataType};
use auditframe::{diagnose, DiagnoseOptions};
use auditframe_benches::{
    diagnosis_frame, naive_webhook_scan, polars_attribution, polars_growth, polars_list,
    polars_slo, polars_throttling, rows,
};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// The sum of an integer column.
fn sum(df: &DataFrame, name: &str) -> u64 {
    df.column(name)
        .and_then(|c| c.cast(&DataType::UInt64))
        .and_then(|c| c.u64().map(|c| c.sum().unwrap_or(0)))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn bench(c: &mut Criterion) {
    let n = rows(1_000_000);
    let frame = diagnosis_frame(n);
    let df = frame.dataframe().clone();
    let opts = DiagnoseOptions::default();
    // The answers agree before anything is timed.
    let d = diagnose(&frame, &DiagnoseOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let lists = polars_list(&df).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sum(&lists, "count"), d.list.total);
    let (per_key, throttled) = polars_throttling(&df).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sum(&per_key, "requests"), d.throttling.requests);
    assert_eq!(sum(&throttled, "throttled"), d.throttling.throttled);
    let log_failures: u64 = d
        .webhooks
        .webhooks
        .iter()
        .filter(|w| w.source == "log")
        .map(|w| w.count)
        .sum();
    assert_eq!(naive_webhook_scan(&frame) as u64, log_failures);
    let (groups, _) = polars_attribution(&df).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sum(&groups, "requests"), d.attribution.annotated);
    for (column, component) in [("lat_etcd_ns_sum", "etcd"), ("other_sum", "other")] {
        let ours = d
            .attribution
            .components
            .iter()
            .find(|c| c.component == component);
        let ours_ns = ours.map_or(0.0, |c| c.total_ms * 1e6);
        let theirs = sum(&groups, column) as f64;
        assert!(
            (ours_ns - theirs).abs() <= theirs * 1e-9,
            "{component}: {ours_ns} vs {theirs}"
        );
    }

    let mut g = c.benchmark_group("diagnose");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("auditframe/all", |b| {
        b.iter(|| diagnose(&frame, &DiagnoseOptions::default()))
    });
    g.bench_function("auditframe/list", |b| {
        b.iter(|| run::<ListDetector>(&frame, &opts))
    });
    g.bench_function("polars_lazy/list_without_read_types", |b| {
        b.iter(|| polars_list(&df))
    });
    g.bench_function("auditframe/throttling", |b| {
        b.iter(|| run::<ThrottleDetector>(&frame, &opts))
    });
    g.bench_function("polars_lazy/throttling", |b| {
        b.iter(|| polars_throttling(&df))
    });
    g.bench_function("auditframe/growth", |b| {
        b.iter(|| run::<GrowthDetector>(&frame, &opts))
    });
    g.bench_function("polars_lazy/growth", |b| b.iter(|| polars_growth(&df)));
    g.bench_function("auditframe/webhooks", |b| {
        b.iter(|| run::<WebhookDetector>(&frame, &opts))
    });
    g.bench_function("naive/webhook_substring_scan", |b| {
        b.iter(|| naive_webhook_scan(&frame))
    });
    g.bench_function("auditframe/slo", |b| {
        b.iter(|| run::<SloVerdicts>(&frame, &opts))
    });
    g.bench_function("polars_lazy/slo", |b| b.iter(|| polars_slo(&df)));
    // The column loading every diagnosis starts with, alone (for the attribution's columns).
    g.bench_function("auditframe/attribution_columns_only", |b| {
        let p = <LatencyAttribution as auditframe::diagnose::Diagnosis>::projection(&opts);
        b.iter(|| auditframe::diagnose::DiagnosisFrame::new(&frame, &opts, p).map(|_| ()))
    });
    g.bench_function("auditframe/attribution", |b| {
        b.iter(|| run::<LatencyAttribution>(&frame, &opts))
    });
    g.bench_function("polars_lazy/attribution", |b| {
        b.iter(|| polars_attribution(&df))
    });
    g.bench_function("auditframe/watches", |b| {
        b.iter(|| run::<WatchLoad>(&frame, &opts))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

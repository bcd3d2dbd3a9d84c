//! The three seed analyses on an in-memory frame, beside the same queries as polars lazy
//! plans on the same frame, and on 1 thread vs all threads.

use auditframe::analysis::{analyze_parts, partial_with_threads, Parts};
use auditframe::{analyze, AnalysisOptions, GroupKey};
use auditframe_benches::{
    analysis_frame, copies_frame, polars_all, polars_drop_copies, polars_p99, polars_series,
    polars_top, rows,
};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn bench(c: &mut Criterion) {
    let n = rows(1_000_000);
    let frame = analysis_frame(n);
    let df = frame.dataframe().clone();
    let opts = AnalysisOptions::default();
    // The answers agree before anything is timed.
    let ours = analyze(&frame, &opts).unwrap_or_else(|e| panic!("{e}"));
    let theirs = polars_top(&df).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(theirs.height(), ours.top.len());
    let p = polars_p99(&df).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.height(), ours.percentile_rows.len());

    let mut g = c.benchmark_group("analyses");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("auditframe/all_three", |b| {
        b.iter(|| analyze(&frame, &opts))
    });
    g.bench_function("polars_lazy/all_three", |b| b.iter(|| polars_all(&df)));
    g.bench_function("auditframe/by_user", |b| {
        b.iter(|| analyze(&frame, &AnalysisOptions::default().with_key(GroupKey::User)))
    });
    g.bench_function("auditframe/top", |b| {
        b.iter(|| analyze_parts(&frame, &opts, Parts::TOP))
    });
    g.bench_function("polars_lazy/top", |b| b.iter(|| polars_top(&df)));
    g.bench_function("auditframe/series", |b| {
        b.iter(|| analyze_parts(&frame, &opts, Parts::SERIES))
    });
    g.bench_function("polars_lazy/series", |b| b.iter(|| polars_series(&df)));
    g.bench_function("auditframe/p99", |b| {
        b.iter(|| analyze_parts(&frame, &opts, Parts::PERCENTILES))
    });
    g.bench_function("polars_lazy/p99", |b| b.iter(|| polars_p99(&df)));
    g.finish();

    let mut g = c.benchmark_group("analyses_threads");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    for t in [1, 2] {
        g.bench_function(format!("auditframe/{t}_threads"), |b| {
            b.iter(|| partial_with_threads(&frame, &opts, t).and_then(|p| p.finish(&opts)))
        });
    }
    g.finish();
}

/// Dropping the second copy of requests exported under both audit categories (every CLI run
/// does it), beside the same rule as a polars lazy plan.
fn copies(c: &mut Criterion) {
    use auditframe::copies::CategoryCopies;
    let n = rows(1_000_000);
    let both = copies_frame(n, true);
    let df = both.dataframe().clone();
    let ours = CategoryCopies::new()
        .drop_copies(&both)
        .unwrap_or_else(|e| panic!("{e}"));
    let theirs = polars_drop_copies(&df).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ours.height(), theirs.height());
    assert_eq!(ours.height(), n);
    let mut g = c.benchmark_group("copies");
    g.sample_size(10);
    g.throughput(Throughput::Elements(both.height() as u64));
    // Both categories: every write's key is built and looked up (the stream's path).
    g.bench_function("auditframe/both_categories", |b| {
        b.iter(|| CategoryCopies::new().drop_copies(&both))
    });
    g.bench_function("polars_lazy/both_categories", |b| {
        b.iter(|| polars_drop_copies(&df))
    });
    g.finish();
    // One category, the whole input in one frame (the in-memory path of a usual export).
    let one = copies_frame(n, false);
    let df = one.dataframe().clone();
    let mut g = c.benchmark_group("copies_one_category");
    g.sample_size(10);
    g.throughput(Throughput::Elements(one.height() as u64));
    g.bench_function("auditframe/whole_input", |b| {
        b.iter(|| CategoryCopies::drop_copies_in_whole(&one))
    });
    g.bench_function("auditframe/as_a_stream_frame", |b| {
        b.iter(|| CategoryCopies::new().drop_copies(&one))
    });
    g.bench_function("polars_lazy/drop_copies", |b| {
        b.iter(|| polars_drop_copies(&df))
    });
    g.finish();
}

criterion_group!(benches, bench, copies);
criterion_main!(benches);

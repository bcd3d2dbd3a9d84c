//! NDJSON → frame per shape, with all columns and with the analyses' projection, beside a
//! plain serde_json `Value` parse of the same bytes (the in-process baseline), and on one
//! thread vs all threads.

use auditframe::analysis::partial;
use auditframe::{AnalysisOptions, Partial, Projection, Shape};
use auditframe_benches::{generate, rows};
use auditframe_ndjson::ReaderBuilder;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rayon::prelude::*;

fn serde_value_parse(data: &[u8]) -> usize {
    data.par_split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            serde_json::from_slice::<serde_json::Value>(l)
                .map(|_| 1)
                .unwrap_or(0)
        })
        .sum()
}

fn bench(c: &mut Criterion) {
    let n = rows(200_000);
    let native = generate(Shape::Native, n);
    let mut g = c.benchmark_group("parse_native");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(native.len() as u64));
    g.bench_function("serde_json_value/parallel", |b| {
        b.iter(|| serde_value_parse(&native))
    });
    g.bench_function("auditframe/all_columns", |b| {
        b.iter(|| ReaderBuilder::new().read_slice(&native, "b"))
    });
    g.bench_function("auditframe/analyses_projection", |b| {
        b.iter(|| {
            ReaderBuilder::new()
                .projection(Projection::analyses())
                .read_slice(&native, "b")
        })
    });
    // The same plus the nine `lat_*_ns` columns: what reading the latency annotations costs
    // when they are projected (without them, the annotations object is skipped as before).
    g.bench_function(
        "auditframe/analyses_projection_with_latency_annotations",
        |b| {
            let projection = Projection::analyses().union(Projection::latency_annotations());
            b.iter(|| {
                ReaderBuilder::new()
                    .projection(projection)
                    .read_slice(&native, "b")
            })
        },
    );
    g.bench_function("auditframe/default_analyze_projection", |b| {
        let projection = AnalysisOptions::default().projection();
        b.iter(|| {
            ReaderBuilder::new()
                .projection(projection)
                .read_slice(&native, "b")
        })
    });
    g.bench_function("auditframe/diagnostics_projection", |b| {
        b.iter(|| {
            ReaderBuilder::new()
                .projection(Projection::diagnostics())
                .read_slice(&native, "b")
        })
    });
    g.finish();

    // A file on disk (memory-mapped), read into one frame or streamed as a frame per 16 MiB
    // block folded into partial analyses (`analyze --stream`), against serde_json `Value`s.
    let path =
        std::env::temp_dir().join(format!("auditframe-bench-parse-{}.log", std::process::id()));
    std::fs::write(&path, &native).unwrap_or_else(|e| panic!("{e}"));
    let mut g = c.benchmark_group("parse_file");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(native.len() as u64));
    g.bench_function("serde_json_value/parallel", |b| {
        b.iter(|| serde_value_parse(&native))
    });
    g.bench_function("auditframe/read_path", |b| {
        b.iter(|| {
            ReaderBuilder::new()
                .projection(Projection::analyses())
                .read_path(&path)
        })
    });
    g.bench_function("auditframe/stream_partial_analyses", |b| {
        let opts = AnalysisOptions::default();
        b.iter(|| {
            let mut acc = Partial::default();
            ReaderBuilder::new()
                .projection(opts.projection())
                .block_bytes(16 << 20)
                .for_each_frame(std::slice::from_ref(&path), |frame, _| {
                    acc.merge(partial(&frame, &opts)?);
                    Ok(())
                })
                .and_then(|_| acc.finish(&opts).map_err(Into::into))
        })
    });
    g.finish();
    let _ = std::fs::remove_file(&path);

    let mut g = c.benchmark_group("parse_threads");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(native.len() as u64));
    for t in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        g.bench_function(format!("auditframe/analyses_projection/{t}_threads"), |b| {
            b.iter(|| {
                pool.install(|| {
                    ReaderBuilder::new()
                        .projection(Projection::analyses())
                        .read_slice(&native, "b")
                })
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("parse_shapes");
    g.sample_size(10);
    let m = (n / 4).max(1000);
    for shape in Shape::ALL {
        let data = generate(*shape, m);
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.bench_function(format!("serde_json_value/{shape}"), |b| {
            b.iter(|| serde_value_parse(&data))
        });
        g.bench_function(format!("auditframe/{shape}"), |b| {
            b.iter(|| {
                ReaderBuilder::new()
                    .projection(Projection::analyses())
                    .read_slice(&data, "b")
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

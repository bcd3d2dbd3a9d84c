//! NDJSON → frame per shape, with all columns and with the analyses' projection, beside a
//! plain serde_json `Value` parse of the same bytes (the in-process baseline), and on one
//! thread vs all threads.

use auditframe::{Projection, Shape};
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
    g.finish();

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

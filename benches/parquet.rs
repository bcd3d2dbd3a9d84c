//! Parquet → frame for 1M events (canonical file written by auditframe), all columns and the
//! analyses' projection, beside polars' own Parquet reader on the same file (the in-process
//! baseline) and NDJSON parsing of the same events (the ≥ 10× the Parquet issue asks for).
//! Also: writing the file, an AKSAudit table written by another tool (row by row), and the
//! `AuditFrame` → `RecordBatch` export.

use std::fs::File;
use std::path::{Path, PathBuf};

use auditframe::{AuditFrame, Column, Projection, Shape};
use auditframe_benches::{generate, rows};
use auditframe_parquet::{ReaderBuilder, WriterBuilder};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use polars_io::parquet::read::ParquetReader;
use polars_io::SerReader;

fn polars_read(path: &Path, columns: Option<Vec<String>>) -> usize {
    let f = File::open(path).unwrap_or_else(|e| panic!("{e}"));
    ParquetReader::new(f)
        .with_columns(columns)
        .finish()
        .unwrap_or_else(|e| panic!("{e}"))
        .height()
}

fn bench_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("auditframe-bench-{}-{name}", std::process::id()))
}

fn bench(c: &mut Criterion) {
    let n = rows(1_000_000);
    let ndjson = generate(Shape::AksAudit, n);
    let (frame, _) = auditframe_ndjson::ReaderBuilder::new()
        .read_slice(&ndjson, "bench")
        .unwrap_or_else(|e| panic!("{e}"));
    let path = bench_path("canonical.parquet");
    WriterBuilder::new()
        .write_path(&frame, &path)
        .unwrap_or_else(|e| panic!("{e}"));
    let file_bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
    let projected: Vec<String> = Projection::analyses()
        .columns()
        .map(|c| c.name().to_owned())
        .collect();

    let mut g = c.benchmark_group("parquet_read");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("auditframe/all_columns", |b| {
        b.iter(|| {
            ReaderBuilder::new()
                .read_path(&path)
                .map(|(f, _)| f.height())
        })
    });
    g.bench_function("polars/all_columns", |b| {
        b.iter(|| polars_read(&path, None))
    });
    g.bench_function("auditframe/analyses_projection", |b| {
        b.iter(|| {
            ReaderBuilder::new()
                .projection(Projection::analyses())
                .read_path(&path)
                .map(|(f, _)| f.height())
        })
    });
    g.bench_function("polars/analyses_projection", |b| {
        b.iter(|| polars_read(&path, Some(projected.clone())))
    });
    // The same events as NDJSON (AKSAudit rows), parsed with the same projection.
    g.bench_function("ndjson/analyses_projection", |b| {
        b.iter(|| {
            auditframe_ndjson::ReaderBuilder::new()
                .projection(Projection::analyses())
                .read_slice(&ndjson, "bench")
                .map(|(f, _)| f.height())
        })
    });
    g.finish();

    let mut g = c.benchmark_group("parquet_write");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    let out = bench_path("write.parquet");
    g.bench_function("auditframe/all_columns", |b| {
        b.iter(|| WriterBuilder::new().write_path(&frame, &out))
    });
    g.bench_function("polars/all_columns", |b| {
        b.iter(|| {
            let mut df = frame.dataframe().clone();
            let f = File::create(&out).unwrap_or_else(|e| panic!("{e}"));
            polars_io::parquet::write::ParquetWriter::new(f)
                .with_compression(polars_io::parquet::write::ParquetCompression::Zstd(None))
                .with_row_group_size(Some(auditframe_parquet::DEFAULT_ROW_GROUP_ROWS))
                .finish(&mut df)
        })
    });
    g.finish();

    // An AKSAudit-shaped table written by another tool (here: the frame's rows with the Log
    // Analytics names and JSON-text dynamic columns) is decoded row by row.
    let aks_path = bench_path("aks.parquet");
    write_aks_table(&frame, &aks_path);
    let mut g = c.benchmark_group("parquet_read_aks_table");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("auditframe/analyses_projection", |b| {
        b.iter(|| {
            ReaderBuilder::new()
                .projection(Projection::analyses())
                .read_path(&aks_path)
                .map(|(f, _)| f.height())
        })
    });
    g.bench_function("polars/raw_columns", |b| {
        b.iter(|| {
            polars_read(
                &aks_path,
                Some(
                    [
                        "TimeGenerated",
                        "RequestReceivedTime",
                        "StageReceivedTime",
                        "Stage",
                        "Verb",
                        "UserAgent",
                        "User",
                        "ObjectRef",
                    ]
                    .map(String::from)
                    .to_vec(),
                ),
            )
        })
    });
    g.finish();

    let mut g = c.benchmark_group("arrow_export");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("auditframe/to_record_batches", |b| {
        b.iter(|| frame.to_record_batches().map(|v| v.len()))
    });
    g.finish();

    eprintln!(
        "parquet bench: {n} events, {:.1} MB NDJSON, {:.1} MB canonical Parquet",
        ndjson.len() as f64 / 1e6,
        file_bytes as f64 / 1e6
    );
    for p in [path, out, aks_path] {
        let _ = std::fs::remove_file(p);
    }
}

/// Writes `frame` as an `AKSAudit`-named table with JSON-text `User` / `ObjectRef`, as a
/// data-lake export of Log Analytics rows would hold it.
fn write_aks_table(frame: &AuditFrame, path: &Path) {
    use polars::prelude as pl;
    use polars::prelude::IntoSeries;
    let df = frame.dataframe();
    let s = |c: Column| -> pl::Series {
        df.column(c.name())
            .unwrap_or_else(|e| panic!("{e}"))
            .as_materialized_series()
            .cast(&pl::DataType::String)
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let json_of = |key: &str, c: Column| -> pl::Series {
        let v: pl::StringChunked = s(c)
            .str()
            .unwrap_or_else(|e| panic!("{e}"))
            .iter()
            .map(|v| v.map(|v| format!("{{\"{key}\":{}}}", serde_json::Value::from(v))))
            .collect();
        v.into_series()
    };
    let t = |c: Column| -> pl::Series {
        df.column(c.name())
            .unwrap_or_else(|e| panic!("{e}"))
            .as_materialized_series()
            .clone()
    };
    let mut out = pl::DataFrame::new(
        df.height(),
        vec![
            t(Column::TimeGenerated)
                .with_name("TimeGenerated".into())
                .into(),
            t(Column::RequestReceived)
                .with_name("RequestReceivedTime".into())
                .into(),
            t(Column::StageTimestamp)
                .with_name("StageReceivedTime".into())
                .into(),
            s(Column::Stage).with_name("Stage".into()).into(),
            s(Column::Verb).with_name("Verb".into()).into(),
            s(Column::UserAgent).with_name("UserAgent".into()).into(),
            json_of("username", Column::Username)
                .with_name("User".into())
                .into(),
            json_of("resource", Column::Resource)
                .with_name("ObjectRef".into())
                .into(),
            s(Column::RequestUri).with_name("RequestUri".into()).into(),
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let f = File::create(path).unwrap_or_else(|e| panic!("{e}"));
    polars_io::parquet::write::ParquetWriter::new(f)
        .with_row_group_size(Some(128 * 1024))
        .finish(&mut out)
        .unwrap_or_else(|e| panic!("{e}"));
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Shared bench data and the polars baseline queries.
//!
//! Sizes come from `AUDITFRAME_BENCH_ROWS` (default 1,000,000 events for the analyses and
//! 200,000 for parsing) so that CI can smoke-run every bench on small inputs.

use auditframe::generate::{Generator, GeneratorOptions};
use auditframe::polars::prelude::*;
use auditframe::{AuditFrame, ParseOptions, Projection, Shape};

/// Rows to generate: `AUDITFRAME_BENCH_ROWS`, else `default`.
pub fn rows(default: usize) -> usize {
    std::env::var("AUDITFRAME_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `n` generated events in `shape` (seed 42).
pub fn generate(shape: Shape, n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n * 1200);
    Generator::new(GeneratorOptions {
        events: n,
        seed: 42,
        ..GeneratorOptions::default()
    })
    .write(shape, &mut out);
    out
}

/// A frame of `n` generated native events with the analyses' columns.
pub fn analysis_frame(n: usize) -> AuditFrame {
    let data = generate(Shape::Native, n);
    let opts = ParseOptions::new().projection(Projection::analyses());
    auditframe_ndjson::ReaderBuilder::new()
        .options(opts)
        .read_slice(&data, "bench")
        .map(|(f, _)| f)
        .unwrap_or_else(|e| panic!("bench data: {e}"))
}

/// The guide's step 1 as a polars lazy plan: `summarize count() by UserAgent | top 10`.
pub fn polars_top(df: &DataFrame) -> PolarsResult<DataFrame> {
    df.clone()
        .lazy()
        .group_by([col("user_agent")])
        .agg([len().alias("count")])
        .sort_by_exprs(
            [col("count"), col("user_agent").cast(DataType::String)],
            SortMultipleOptions::default().with_order_descending_multi([true, false]),
        )
        .limit(10)
        .collect()
}

/// Step 2: `summarize avg(latency) by UserAgent, bin(start_time, 5m)`.
pub fn polars_series(df: &DataFrame) -> PolarsResult<DataFrame> {
    df.clone()
        .lazy()
        .filter(col("latency_ms").is_not_null())
        .group_by([
            col("user_agent"),
            col("request_received")
                .dt()
                .truncate(lit("5m"))
                .alias("bin"),
        ])
        .agg([
            col("latency_ms").mean().alias("avg_ms"),
            len().alias("count"),
        ])
        .collect()
}

/// Step 3 for every agent: `summarize percentile(latency, 99) by Verb, Resource` (per agent),
/// with polars' textbook nearest-rank method so the answers are the same as auditframe's.
pub fn polars_p99(df: &DataFrame) -> PolarsResult<DataFrame> {
    df.clone()
        .lazy()
        .filter(
            col("resource")
                .is_not_null()
                .and(col("latency_ms").is_not_null()),
        )
        .group_by([col("user_agent"), col("verb"), col("resource")])
        .agg([
            col("latency_ms")
                .quantile(lit(0.99), QuantileMethod::Equiprobable)
                .alias("p99_ms"),
            len().alias("count"),
        ])
        .collect()
}

/// All three, as one would run them.
pub fn polars_all(df: &DataFrame) -> PolarsResult<(DataFrame, DataFrame, DataFrame)> {
    Ok((polars_top(df)?, polars_series(df)?, polars_p99(df)?))
}

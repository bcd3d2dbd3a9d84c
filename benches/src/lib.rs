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
    Generator::new(GeneratorOptions::default().with_events(n).with_seed(42)).write(shape, &mut out);
    out
}

/// A frame of `n` generated native events with the analyses' columns.
pub fn analysis_frame(n: usize) -> AuditFrame {
    let data = generate(Shape::Native, n);
    let opts = ParseOptions::new().with_projection(Projection::analyses());
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

/// A frame of `n` generated events telling the incident story (AKSAudit rows with
/// kube-apiserver log lines), with the diagnoses' columns.
pub fn diagnosis_frame(n: usize) -> AuditFrame {
    let mut data = Vec::with_capacity(n * 1300);
    Generator::new(
        GeneratorOptions::default()
            .with_events(n)
            .with_seed(42)
            .with_story(true),
    )
    .write(Shape::AksAudit, &mut data);
    auditframe_ndjson::ReaderBuilder::new()
        .projection(Projection::diagnostics())
        .read_slice(&data, "bench")
        .map(|(f, _)| f)
        .unwrap_or_else(|e| panic!("bench data: {e}"))
}

/// Rows that are a request's final event (what the diagnoses count).
fn complete() -> Expr {
    col("stage").eq(lit("ResponseComplete"))
}

fn success() -> Expr {
    col("status_code")
        .gt_eq(lit(200))
        .and(col("status_code").lt(lit(300)))
}

/// The LIST detector's grouping as a polars plan: successful LISTs per (agent, namespace,
/// resource) with count, latency sum and P99. It does *not* classify read types (that needs
/// the request URI's query, which this polars build has no string kernels for), so it does
/// less work than auditframe's.
pub fn polars_list(df: &DataFrame) -> PolarsResult<DataFrame> {
    df.clone()
        .lazy()
        .filter(col("verb").eq(lit("list")).and(success()).and(complete()))
        .group_by([col("user_agent"), col("namespace"), col("resource")])
        .agg([
            len().alias("count"),
            col("latency_ms").sum().alias("latency_sum_ms"),
            col("latency_ms")
                .quantile(lit(0.99), QuantileMethod::Equiprobable)
                .alias("p99_ms"),
        ])
        .collect()
}

/// Throttling as a polars plan: requests and 429s per agent, and 429s per (agent, 5m bin).
pub fn polars_throttling(df: &DataFrame) -> PolarsResult<(DataFrame, DataFrame)> {
    let lf = df.clone().lazy().filter(complete());
    let per_key = lf
        .clone()
        .group_by([col("user_agent")])
        .agg([
            len().alias("requests"),
            col("status_code").eq(lit(429)).sum().alias("throttled"),
        ])
        .collect()?;
    let series = lf
        .filter(col("status_code").eq(lit(429)))
        .group_by([
            col("user_agent"),
            col("time_generated").dt().truncate(lit("5m")).alias("bin"),
        ])
        .agg([len().alias("throttled")])
        .collect()?;
    Ok((per_key, series))
}

/// Object growth as a polars plan: net creates − deletes per (resource, namespace), per
/// (resource, 5m bin), and creates per (resource, agent).
pub fn polars_growth(df: &DataFrame) -> PolarsResult<(DataFrame, DataFrame, DataFrame)> {
    let create = col("verb").eq(lit("create"));
    let lf = df
        .clone()
        .lazy()
        .filter(
            create
                .clone()
                .or(col("verb").eq(lit("delete")))
                .and(success())
                .and(complete())
                .and(col("subresource").is_null())
                .and(col("resource").is_not_null()),
        )
        .with_column(
            when(create.clone())
                .then(lit(1i64))
                .otherwise(lit(-1i64))
                .alias("delta"),
        );
    let cells = lf
        .clone()
        .group_by([col("resource"), col("namespace")])
        .agg([col("delta").sum().alias("net"), len().alias("calls")])
        .collect()?;
    let series = lf
        .clone()
        .group_by([
            col("resource"),
            col("time_generated").dt().truncate(lit("5m")).alias("bin"),
        ])
        .agg([col("delta").sum().alias("net")])
        .collect()?;
    let creators = lf
        .filter(create)
        .group_by([col("resource"), col("user_agent")])
        .agg([len().alias("creates")])
        .collect()?;
    Ok((cells, series, creators))
}

/// The SLO check as a polars plan: P99 per (5m window, class, verb, resource).
pub fn polars_slo(df: &DataFrame) -> PolarsResult<DataFrame> {
    let verb = |v: &str| col("verb").eq(lit(v.to_owned()));
    let mutating = verb("create")
        .or(verb("update"))
        .or(verb("patch"))
        .or(verb("delete"))
        .or(verb("deletecollection"));
    let long = col("subresource")
        .eq(lit("exec"))
        .or(col("subresource").eq(lit("attach")))
        .or(col("subresource").eq(lit("portforward")))
        .or(col("subresource").eq(lit("proxy")))
        .or(col("subresource").eq(lit("log")));
    df.clone()
        .lazy()
        .filter(
            mutating
                .clone()
                .or(verb("get"))
                .or(verb("list"))
                .and(complete())
                .and(col("resource").is_not_null())
                .and(col("latency_ms").is_not_null())
                .and(long.fill_null(lit(false)).not()),
        )
        .with_column(
            when(mutating)
                .then(lit("mutating"))
                .when(verb("get"))
                .then(lit("read_object"))
                .when(col("namespace").is_null())
                .then(lit("read_cluster"))
                .otherwise(lit("read_namespace"))
                .alias("class"),
        )
        .group_by([
            col("time_generated")
                .dt()
                .truncate(lit("5m"))
                .alias("window"),
            col("class"),
            col("verb"),
            col("resource"),
        ])
        .agg([
            col("latency_ms")
                .quantile(lit(0.99), QuantileMethod::Equiprobable)
                .alias("p99_ms"),
            len().alias("calls"),
        ])
        .collect()
}

/// The latency attribution as polars lazy plans, the same computation as
/// `diagnose::LatencyAttribution`: the annotated slow requests (final event, no watch or
/// stream) with their components (absent = 0) and `other` (total minus components, at least
/// 0); per (user agent, verb, resource), per user agent, per (verb, resource) and overall each
/// component's sum and P99; the component sums per 5-minute bin. Returns the per-group table
/// and the bins.
pub fn polars_attribution(df: &DataFrame) -> PolarsResult<(DataFrame, DataFrame)> {
    let components = [
        "lat_etcd_ns",
        "lat_apf_queue_wait_ns",
        "lat_mutating_webhook_ns",
        "lat_validating_webhook_ns",
        "lat_decode_ns",
        "lat_transform_ns",
        "lat_serialize_ns",
        "lat_response_write_ns",
    ];
    let annotated = components
        .iter()
        .fold(col("lat_total_ns").is_not_null(), |e, c| {
            e.or(col(*c).is_not_null())
        });
    let long = col("subresource")
        .eq(lit("exec"))
        .or(col("subresource").eq(lit("attach")))
        .or(col("subresource").eq(lit("portforward")))
        .or(col("subresource").eq(lit("proxy")));
    let total = when(col("lat_total_ns").gt(lit(0)))
        .then(col("lat_total_ns"))
        .otherwise(
            (col("stage_timestamp").cast(DataType::Int64)
                - col("request_received").cast(DataType::Int64))
            .fill_null(col("latency_ms") * lit(1_000_000i64)),
        )
        .alias("total");
    let attributed = components
        .iter()
        .fold(lit(0i64), |e, c| e + col(*c).fill_null(lit(0i64)));
    let slow = df
        .clone()
        .lazy()
        .filter(
            complete()
                .and(col("verb").neq(lit("watch")))
                .and(long.fill_null(lit(false)).not())
                .and(annotated),
        )
        .with_columns(
            components
                .iter()
                .map(|c| {
                    let v = col(*c).fill_null(lit(0i64));
                    when(v.clone().lt(lit(0i64)))
                        .then(lit(0i64))
                        .otherwise(v)
                        .alias(*c)
                })
                .chain(std::iter::once(total))
                .collect::<Vec<_>>(),
        )
        .with_column({
            let other = col("total") - attributed;
            when(other.clone().lt(lit(0i64)))
                .then(lit(0i64))
                .otherwise(other)
                .alias("other")
        })
        // Materialised once, as auditframe keeps the slow requests' rows.
        .collect()?;
    let parts: Vec<&str> = components.iter().copied().chain(["other"]).collect();
    let aggs = || {
        let mut a = vec![len().alias("requests"), col("total").sum()];
        for c in &parts {
            a.push(col(*c).sum().alias(format!("{c}_sum")));
            a.push(
                col(*c)
                    .quantile(lit(0.99), QuantileMethod::Equiprobable)
                    .alias(format!("{c}_p99")),
            );
        }
        a
    };
    let groups = slow
        .clone()
        .lazy()
        .group_by([col("user_agent"), col("verb"), col("resource")])
        .agg(aggs())
        .collect()?;
    slow.clone()
        .lazy()
        .group_by([col("user_agent")])
        .agg(aggs())
        .collect()?;
    slow.clone()
        .lazy()
        .group_by([col("verb"), col("resource")])
        .agg(aggs())
        .collect()?;
    slow.clone().lazy().select(aggs()).collect()?;
    let bins = slow
        .lazy()
        .group_by([col("stage_timestamp").dt().truncate(lit("5m")).alias("bin")])
        .agg(parts.iter().map(|c| col(*c).sum()).collect::<Vec<_>>())
        .collect()?;
    Ok((groups, bins))
}

/// The webhook-failure scan as a plain Rust baseline: the substring test alone over every
/// log line (no name extraction, no grouping).
pub fn naive_webhook_scan(frame: &AuditFrame) -> usize {
    frame
        .control_plane_logs()
        .iter()
        .filter(|l| l.message.contains("ailed calling webhook"))
        .count()
}

/// A frame of one cluster's storage export of `n` requests, with both audit categories (every
/// write twice) or only `kube-audit`, with the columns [`auditframe::copies::CategoryCopies`]
/// reads.
pub fn copies_frame(n: usize, admin_copies: bool) -> AuditFrame {
    use auditframe::generate::storage_tree::{write_storage_tree, StorageTreeOptions};
    let mut data = Vec::new();
    let tree = StorageTreeOptions::default()
        .with_clusters(1)
        .with_admin_copies(admin_copies)
        .with_large_body_every(0);
    let opts = GeneratorOptions::default().with_events(n).with_seed(42);
    write_storage_tree(&opts, &tree, |b| {
        data.extend(b.data);
        Ok::<(), ()>(())
    })
    .unwrap_or_else(|()| panic!("bench data"));
    let projection = auditframe::copies::with_copy_key_columns(Projection::analyses());
    auditframe_ndjson::ReaderBuilder::new()
        .options(ParseOptions::new().with_projection(projection))
        .read_slice(&data, "bench")
        .map(|(f, _)| f)
        .unwrap_or_else(|e| panic!("bench data: {e}"))
}

/// The same "first copy wins across the two audit categories" as a polars lazy plan: each
/// candidate key's first category (group by audit ID and stage), joined back, and the
/// candidates of another category dropped.
pub fn polars_drop_copies(df: &DataFrame) -> PolarsResult<DataFrame> {
    let lf = df.clone().lazy().with_row_index("row", None);
    let category = || col("category").cast(DataType::String);
    let verb = || col("verb").cast(DataType::String);
    let candidate = category()
        .eq(lit("kube-audit"))
        .or(category().eq(lit("kube-audit-admin")))
        .and(verb().neq(lit("get")))
        .and(verb().neq(lit("list")))
        .and(verb().neq(lit("watch")))
        .and(col("audit_id").neq(lit("")))
        .fill_null(lit(false));
    let lf = lf.with_column(candidate.alias("candidate"));
    let first = lf
        .clone()
        .filter(col("candidate"))
        .sort(["row"], SortMultipleOptions::default())
        .group_by([col("audit_id"), col("stage")])
        .agg([col("category").first().alias("first_category")]);
    lf.join(
        first,
        [col("audit_id"), col("stage")],
        [col("audit_id"), col("stage")],
        JoinArgs::new(JoinType::Left),
    )
    .filter(
        col("candidate")
            .and(
                col("category")
                    .cast(DataType::String)
                    .neq(col("first_category").cast(DataType::String)),
            )
            .not(),
    )
    .collect()
}

//! The troubleshooting guide's three queries, and the diagnoses' core queries, as SQL over a
//! registered audit table — and [`analyze`], which runs the three and returns the core's
//! [`Analysis`]: the answers of `auditframe analyze`, in its JSON contract
//! ([`Analysis::contract`]).
//!
//! With the defaults (`AnalysisOptions::default()`, table `audit`) the SQL is:
//!
//! ```sql
//! -- rows
//! SELECT count(*) AS rows FROM audit;
//! -- top: top user agents by requests (KQL: summarize count() by UserAgent | top 10 by count_)
//! SELECT coalesce(user_agent, '') AS key, count(*) AS count FROM audit
//! GROUP BY 1 ORDER BY count DESC, key LIMIT 10;
//! -- latency: average latency per agent in 5-minute bins (KQL: bin(TimeGenerated, 5m))
//! SELECT coalesce(user_agent, '') AS key, kusto_bin(request_received, '5m') AS bin_start,
//!        CAST(sum(latency_ms) AS DOUBLE) / count(latency_ms) AS avg_ms, count(latency_ms) AS count
//! FROM audit WHERE latency_ms IS NOT NULL AND request_received IS NOT NULL
//! GROUP BY 1, 2 ORDER BY key, bin_start;
//! -- p99: P99 latency per verb and resource (KQL: percentile(latency, 99) by Verb, Resource)
//! SELECT coalesce(user_agent, '') AS key, coalesce(verb, '') AS verb, resource,
//!        percentile_exact(latency_ms, 99) AS "p99_ms", count(latency_ms) AS count
//! FROM audit WHERE latency_ms IS NOT NULL AND resource IS NOT NULL AND resource <> ''
//! GROUP BY 1, 2, 3 ORDER BY key, verb, resource;
//! ```
//!
//! The same semantics as the core (crate README, *Semantics*): null keys and verbs count as
//! `""`; rows without a latency are counted by Top N only; bins are KQL's; percentiles are
//! exact nearest-rank; a time window is on `time_generated`, both ends inclusive.

use auditframe::analysis::{
    percentile_field, LatencyPoint, PercentileRow, TopEntry, LONG_RUNNING_SUBRESOURCES,
};
use auditframe::diagnose::ReadType;
use auditframe::time::{format_whole_unit, Timestamp};
use auditframe::{Analysis, AnalysisOptions, Column, TimeWindow};
use datafusion::prelude::SessionContext;

use crate::{Error, Result};

mod one_scan;
mod results;

pub use one_scan::{analyze, one_scan_sql};
use results::{collect, floats, ints, strs};

/// The SQL of the guide's three queries (and the row count) for one set of options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuideSql {
    /// Rows in the window: one row, column `rows`.
    pub rows: String,
    /// Top N: `key`, `count`.
    pub top: String,
    /// The latency series: `key`, `bin_start`, `avg_ms`, `count`.
    pub latency: String,
    /// Percentiles: `key`, `verb`, `resource`, one `p<P>_ms` column per percentile, `count`.
    pub percentiles: String,
}

/// `s` as a SQL string literal.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A nanosecond instant as a SQL timestamp expression (exact to the nanosecond).
fn instant(ns: i64) -> String {
    format!("to_timestamp_nanos({ns})")
}

/// The SQL of the guide's queries over `table` with `opts`, the time window already resolved
/// to `window` (ns, inclusive; see [`window_of`]).
///
/// ```
/// use auditframe::AnalysisOptions;
/// let sql = auditframe_datafusion::guide::guide_sql("audit", &AnalysisOptions::default(), None)?;
/// assert!(sql.top.contains("ORDER BY count DESC, key LIMIT 10"));
/// assert!(sql.latency.contains("kusto_bin(request_received, '5m')"));
/// assert!(sql.percentiles.contains("percentile_exact(latency_ms, 99) AS \"p99_ms\""));
/// # Ok::<(), auditframe_datafusion::Error>(())
/// ```
pub fn guide_sql(
    table: &str,
    opts: &AnalysisOptions,
    window: Option<(i64, i64)>,
) -> Result<GuideSql> {
    let Predicates {
        key,
        rows: rows_filter,
        series,
        percentiles,
    } = Predicates::new(opts, window)?;
    let series_filter = [rows_filter.clone(), series].concat();
    let pct_filter = [rows_filter.clone(), percentiles].concat();
    let where_of = |f: &[String]| {
        if f.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", f.join(" AND "))
        }
    };
    let pcts: Vec<String> = sorted_percentiles(opts)
        .iter()
        .map(|p| {
            format!(
                "percentile_exact(latency_ms, {p}) AS \"{}\"",
                percentile_field(*p)
            )
        })
        .collect();
    Ok(GuideSql {
        rows: format!("SELECT count(*) AS rows FROM {table}{}", where_of(&rows_filter)),
        top: format!(
            "SELECT {key} AS key, count(*) AS count FROM {table}{} GROUP BY 1 ORDER BY count DESC, key LIMIT {}",
            where_of(&rows_filter),
            opts.top()
        ),
        latency: format!(
            "SELECT {key} AS key, kusto_bin(request_received, {}) AS bin_start, \
             CAST(sum(latency_ms) AS DOUBLE) / count(latency_ms) AS avg_ms, count(latency_ms) AS count \
             FROM {table}{} GROUP BY 1, 2 ORDER BY key, bin_start",
            quote(&format_whole_unit(opts.bin_ns())),
            where_of(&series_filter)
        ),
        percentiles: format!(
            "SELECT {key} AS key, coalesce(verb, '') AS verb, resource, {}, count(latency_ms) AS count \
             FROM {table}{} GROUP BY 1, 2, 3 ORDER BY key, verb, resource",
            pcts.join(", "),
            where_of(&pct_filter)
        ),
    })
}

/// The filters of the three queries as SQL predicates (each list ANDed).
struct Predicates {
    /// The group key: `coalesce(user_agent, '')` or `coalesce(username, '')`.
    key: String,
    /// Rows counted (Top N, `rows`): the window and the stage.
    rows: Vec<String>,
    /// Of those, the rows in the latency series: with a latency and a request time, not
    /// long-running if excluded.
    series: Vec<String>,
    /// Of those, the rows in the percentiles: with a latency and a resource (of the one key,
    /// if asked), not long-running if excluded.
    percentiles: Vec<String>,
}

impl Predicates {
    fn new(opts: &AnalysisOptions, window: Option<(i64, i64)>) -> Result<Predicates> {
        opts.validate()?;
        if opts.percentile_sketch().is_some() {
            return Err(Error::Usage(
                "percentile sketches are not available in SQL: percentiles are exact".into(),
            ));
        }
        let key = format!("coalesce({}, '')", opts.key().column().name());
        let mut rows = Vec::new();
        if let Some((a, b)) = window {
            rows.push(format!(
                "time_generated BETWEEN {} AND {}",
                instant(a),
                instant(b)
            ));
        }
        if let Some(stage) = opts.stage() {
            rows.push(format!("stage = {}", quote(stage)));
        }
        let mut latency = vec!["latency_ms IS NOT NULL".to_owned()];
        if opts.exclude_long_running() {
            let subs: Vec<String> = LONG_RUNNING_SUBRESOURCES.iter().map(|s| quote(s)).collect();
            latency.push(format!(
                "coalesce(verb, '') <> 'watch' AND coalesce(subresource, '') NOT IN ({})",
                subs.join(", ")
            ));
        }
        let mut series = latency.clone();
        series.push("request_received IS NOT NULL".into());
        let mut percentiles = latency;
        percentiles.push("resource IS NOT NULL AND resource <> ''".into());
        if let Some(only) = opts.only_key() {
            percentiles.push(format!("{key} = {}", quote(only)));
        }
        Ok(Predicates {
            key,
            rows,
            series,
            percentiles,
        })
    }
}

/// The percentiles asked for, ascending, without repeats (as the core reports them).
fn sorted_percentiles(opts: &AnalysisOptions) -> Vec<f64> {
    let mut ps = opts.percentiles().to_vec();
    ps.sort_by(f64::total_cmp);
    ps.dedup();
    ps
}

/// The `time_generated` window of `opts` over `table` (a `--last` window ends at the newest
/// `time_generated`, which a query finds), as `analyze` applies it.
pub async fn window_of(
    ctx: &SessionContext,
    table: &str,
    opts: &AnalysisOptions,
) -> Result<Option<(i64, i64)>> {
    let newest = match opts.window() {
        TimeWindow::Last(_) => {
            let batches = collect(
                ctx,
                &format!("SELECT CAST(max(time_generated) AS BIGINT) AS newest FROM {table}"),
            )
            .await?;
            ints(&batches, 0)?.first().copied().flatten()
        }
        _ => None,
    };
    Ok(opts.window().bounds(newest))
}

/// Runs the guide's three queries (and the row count) of [`guide_sql`] over `table` as four
/// queries — four scans — and returns the core's [`Analysis`]; [`analyze`] gives the same in
/// one scan.
pub async fn analyze_by_three_queries(
    ctx: &SessionContext,
    table: &str,
    opts: &AnalysisOptions,
) -> Result<Analysis> {
    let window = window_of(ctx, table, opts).await?;
    let sql = guide_sql(table, opts, window)?;
    let rows_b = collect(ctx, &sql.rows).await?;
    let rows = ints(&rows_b, 0)?.first().copied().flatten().unwrap_or(0);

    let top_b = collect(ctx, &sql.top).await?;
    let top = strs(&top_b, 0)?
        .into_iter()
        .zip(ints(&top_b, 1)?)
        .map(|(key, count)| TopEntry {
            key: key.unwrap_or_default(),
            count: u64::try_from(count.unwrap_or(0)).unwrap_or(0),
        })
        .collect();

    let lat_b = collect(ctx, &sql.latency).await?;
    let latency = strs(&lat_b, 0)?
        .into_iter()
        .zip(ints(&lat_b, 1)?)
        .zip(floats(&lat_b, 2)?)
        .zip(ints(&lat_b, 3)?)
        .map(|(((key, bin), avg), count)| LatencyPoint {
            key: key.unwrap_or_default(),
            bin_start: Timestamp::from_nanos(bin.unwrap_or(0)),
            avg_ms: avg.unwrap_or(f64::NAN),
            count: u64::try_from(count.unwrap_or(0)).unwrap_or(0),
        })
        .collect();

    let ps = sorted_percentiles(opts);
    let pct_b = collect(ctx, &sql.percentiles).await?;
    let mut values: Vec<Vec<Option<i64>>> = Vec::with_capacity(ps.len());
    for i in 0..ps.len() {
        values.push(ints(&pct_b, 3 + i)?);
    }
    let counts = ints(&pct_b, 3 + ps.len())?;
    let keys = strs(&pct_b, 0)?;
    let verbs = strs(&pct_b, 1)?;
    let resources = strs(&pct_b, 2)?;
    let percentile_rows = (0..keys.len())
        .map(|r| PercentileRow {
            key: keys[r].clone().unwrap_or_default(),
            verb: verbs[r].clone().unwrap_or_default(),
            resource: resources[r].clone().unwrap_or_default(),
            count: u64::try_from(counts[r].unwrap_or(0)).unwrap_or(0),
            values: ps
                .iter()
                .zip(&values)
                .filter_map(|(p, v)| v[r].map(|x| (*p, x)))
                .collect(),
        })
        .collect();
    Ok(Analysis {
        rows: u64::try_from(rows).unwrap_or(0),
        group_by: opts.key(),
        bin_ns: opts.bin_ns(),
        percentiles: ps,
        top,
        latency,
        percentile_rows,
    })
}

/// The LIST detector's core query (Cause 5): successful final-stage LISTs per read type and
/// scope, with their count, latency sum and exact P99 — the `classes` of `diagnose`'s LIST
/// report. `rules` is `--list-rules`' name (`since-1.31` or `before-1.31`); LISTs of the
/// `uncached` resources (`--uncached-resources`, by default `events`, which has no watch
/// cache) always read etcd.
///
/// ```
/// let sql = auditframe_datafusion::guide::list_read_types_sql("audit", "since-1.31", &["events"]);
/// assert!(sql.contains("WHEN resource IN ('events') THEN 'etcd' \
///                       ELSE list_read_type(coalesce(request_uri, ''), 'since-1.31') END"));
/// ```
pub fn list_read_types_sql(table: &str, rules: &str, uncached: &[impl AsRef<str>]) -> String {
    let read_type = format!(
        "list_read_type(coalesce(request_uri, ''), {})",
        quote(rules)
    );
    let read_type = if uncached.is_empty() {
        read_type
    } else {
        let names: Vec<String> = uncached.iter().map(|r| quote(r.as_ref())).collect();
        format!(
            "CASE WHEN resource IN ({}) THEN 'etcd' ELSE {read_type} END",
            names.join(", ")
        )
    };
    format!(
        "SELECT {read_type} AS read_type, \
         CASE WHEN coalesce(namespace, '') = '' THEN 'cluster' ELSE 'namespace' END AS scope, \
         count(*) AS count, sum(latency_ms) AS latency_sum_ms, \
         percentile_exact(latency_ms, 99) AS p99_ms \
         FROM {table} \
         WHERE verb = 'list' AND status_code BETWEEN 200 AND 299 \
         AND (stage IS NULL OR stage = 'ResponseComplete') \
         GROUP BY 1, 2 ORDER BY 1, 2"
    )
}

/// The throttling diagnosis' core query (Cause 4): per key, final-stage requests and how
/// many were answered 429, keys with 429s only, most throttled first — `diagnose`'s
/// `throttling.by_key`.
///
/// ```
/// let sql = auditframe_datafusion::guide::throttled_sql("audit", "user_agent", 10);
/// assert!(sql.contains("FILTER (WHERE status_code = 429)"));
/// ```
pub fn throttled_sql(table: &str, key_column: &str, top: usize) -> String {
    format!(
        "SELECT coalesce({key_column}, '') AS key, count(*) AS requests, \
         count(*) FILTER (WHERE status_code = 429) AS throttled \
         FROM {table} WHERE (stage IS NULL OR stage = 'ResponseComplete') \
         GROUP BY 1 HAVING count(*) FILTER (WHERE status_code = 429) > 0 \
         ORDER BY throttled DESC, key LIMIT {top}"
    )
}

/// One row of [`list_read_types`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadTypeRow {
    /// Cache or etcd.
    pub read_type: ReadType,
    /// `cluster` or `namespace`.
    pub scope: String,
    /// Successful LISTs.
    pub count: u64,
    /// Their latency sum, ms.
    pub latency_sum_ms: i128,
    /// Exact nearest-rank P99, ms.
    pub p99_ms: Option<i64>,
}

/// Runs [`list_read_types_sql`].
pub async fn list_read_types(
    ctx: &SessionContext,
    table: &str,
    rules: &str,
    uncached: &[impl AsRef<str>],
) -> Result<Vec<ReadTypeRow>> {
    let b = collect(ctx, &list_read_types_sql(table, rules, uncached)).await?;
    let types = strs(&b, 0)?;
    let scopes = strs(&b, 1)?;
    let counts = ints(&b, 2)?;
    let sums = ints(&b, 3)?;
    let p99 = ints(&b, 4)?;
    (0..types.len())
        .map(|i| {
            let read_type = match types[i].as_deref() {
                Some("cache") => ReadType::Cache,
                Some("etcd") => ReadType::Etcd,
                other => return Err(Error::Result(format!("read type {other:?}"))),
            };
            Ok(ReadTypeRow {
                read_type,
                scope: scopes[i].clone().unwrap_or_default(),
                count: u64::try_from(counts[i].unwrap_or(0)).unwrap_or(0),
                latency_sum_ms: i128::from(sums[i].unwrap_or(0)),
                p99_ms: p99[i],
            })
        })
        .collect()
}

/// Runs [`throttled_sql`]: `(key, requests, throttled)`.
pub async fn throttled(
    ctx: &SessionContext,
    table: &str,
    key: Column,
    top: usize,
) -> Result<Vec<(String, u64, u64)>> {
    let b = collect(ctx, &throttled_sql(table, key.name(), top)).await?;
    let keys = strs(&b, 0)?;
    let requests = ints(&b, 1)?;
    let throttled = ints(&b, 2)?;
    Ok((0..keys.len())
        .map(|i| {
            (
                keys[i].clone().unwrap_or_default(),
                u64::try_from(requests[i].unwrap_or(0)).unwrap_or(0),
                u64::try_from(throttled[i].unwrap_or(0)).unwrap_or(0),
            )
        })
        .collect())
}

//! The guide's three queries in one scan: `GROUPING SETS` over (key), (key, bin) and (key,
//! verb, resource), each aggregate filtered as its own query filters. A scan parses the
//! input; three queries would parse it three times.

use std::cmp::Ordering;

use auditframe::analysis::{percentile_field, LatencyPoint, PercentileRow, TopEntry};
use auditframe::time::{format_whole_unit, Timestamp};
use auditframe::{Analysis, AnalysisOptions};
use datafusion::prelude::SessionContext;

use super::results::{collect, ints, strs};
use super::{quote, sorted_percentiles, window_of, Predicates};
use crate::Result;

/// The one-scan form of the guide's queries over `table` with `opts` (the window resolved to
/// `window`): one row per group of each grouping set, told apart by `gb` = `grouping(bin)`
/// and `gv` = `grouping(verb)`: (key) is `gb = 1, gv = 1`, (key, bin) `gb = 0`, (key, verb,
/// resource) `gv = 0`.
///
/// ```
/// use auditframe::AnalysisOptions;
/// let sql = auditframe_datafusion::guide::one_scan_sql("audit", &AnalysisOptions::default(), None)?;
/// assert!(sql.contains("GROUP BY GROUPING SETS ((k), (k, b), (k, v, r))"));
/// assert!(sql.contains("percentile_exact(latency_ms, 99) FILTER (WHERE p_ok) AS \"p99_ms\""));
/// # Ok::<(), auditframe_datafusion::Error>(())
/// ```
pub fn one_scan_sql(
    table: &str,
    opts: &AnalysisOptions,
    window: Option<(i64, i64)>,
) -> Result<String> {
    let p = Predicates::new(opts, window)?;
    let pcts: Vec<String> = sorted_percentiles(opts)
        .iter()
        .map(|x| {
            format!(
                ", percentile_exact(latency_ms, {x}) FILTER (WHERE p_ok) AS \"{}\"",
                percentile_field(*x)
            )
        })
        .collect();
    let rows = if p.rows.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", p.rows.join(" AND "))
    };
    Ok(format!(
        "SELECT grouping(b) AS gb, grouping(v) AS gv, k AS key, CAST(b AS BIGINT) AS bin_start, \
         v AS verb, r AS resource, count(*) AS n, \
         sum(latency_ms) FILTER (WHERE s_ok) AS lat_sum, \
         count(latency_ms) FILTER (WHERE s_ok) AS lat_n, \
         count(latency_ms) FILTER (WHERE p_ok) AS pct_n{} \
         FROM (SELECT {} AS k, kusto_bin(request_received, {}) AS b, coalesce(verb, '') AS v, \
         resource AS r, latency_ms, ({}) AS s_ok, ({}) AS p_ok FROM {table}{rows}) \
         GROUP BY GROUPING SETS ((k), (k, b), (k, v, r))",
        pcts.concat(),
        p.key,
        quote(&format_whole_unit(opts.bin_ns())),
        p.series.join(" AND "),
        p.percentiles.join(" AND "),
    ))
}

/// Runs the guide's queries over `table` in one scan ([`one_scan_sql`]) and returns the
/// core's [`Analysis`]: equal to `auditframe::analyze` on the same rows, in the core's order
/// (Top N by count descending then key; the series by key and bin; percentiles by key, verb
/// and resource; keys compared as bytes).
pub async fn analyze(
    ctx: &SessionContext,
    table: &str,
    opts: &AnalysisOptions,
) -> Result<Analysis> {
    let window = window_of(ctx, table, opts).await?;
    let b = collect(ctx, &one_scan_sql(table, opts, window)?).await?;
    let ps = sorted_percentiles(opts);
    let (gb, gv) = (ints(&b, 0)?, ints(&b, 1)?);
    let (keys, bins, verbs, resources) = (strs(&b, 2)?, ints(&b, 3)?, strs(&b, 4)?, strs(&b, 5)?);
    let (n, lat_sum, lat_n, pct_n) = (ints(&b, 6)?, ints(&b, 7)?, ints(&b, 8)?, ints(&b, 9)?);
    let values = (0..ps.len())
        .map(|i| ints(&b, 10 + i))
        .collect::<Result<Vec<_>>>()?;
    let count = |v: Option<i64>| u64::try_from(v.unwrap_or(0)).unwrap_or(0);

    let mut rows = 0u64;
    let mut top = Vec::new();
    let mut latency = Vec::new();
    let mut percentile_rows = Vec::new();
    for i in 0..keys.len() {
        let key = keys[i].clone().unwrap_or_default();
        match (gb[i], gv[i]) {
            (Some(1), Some(1)) => {
                rows += count(n[i]);
                top.push(TopEntry {
                    key,
                    count: count(n[i]),
                });
            }
            (Some(0), _) => {
                if let (Some(bin), Some(sum), c @ 1..) = (bins[i], lat_sum[i], count(lat_n[i])) {
                    latency.push(LatencyPoint {
                        key,
                        bin_start: Timestamp::from_nanos(bin),
                        avg_ms: sum as f64 / c as f64,
                        count: c,
                    });
                }
            }
            (_, Some(0)) => {
                let c = count(pct_n[i]);
                if c > 0 {
                    percentile_rows.push(PercentileRow {
                        key,
                        verb: verbs[i].clone().unwrap_or_default(),
                        resource: resources[i].clone().unwrap_or_default(),
                        count: c,
                        values: ps
                            .iter()
                            .zip(&values)
                            .filter_map(|(p, v)| v[i].map(|x| (*p, x)))
                            .collect(),
                    });
                }
            }
            _ => {}
        }
    }
    top.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| bytes(&a.key, &b.key)));
    top.truncate(opts.top());
    latency.sort_by(|a, b| bytes(&a.key, &b.key).then(a.bin_start.cmp(&b.bin_start)));
    percentile_rows.sort_by(|a, b| {
        bytes(&a.key, &b.key)
            .then_with(|| bytes(&a.verb, &b.verb))
            .then_with(|| bytes(&a.resource, &b.resource))
    });
    Ok(Analysis {
        rows,
        group_by: opts.key(),
        bin_ns: opts.bin_ns(),
        percentiles: ps,
        top,
        latency,
        percentile_rows,
    })
}

fn bytes(a: &str, b: &str) -> Ordering {
    a.as_bytes().cmp(b.as_bytes())
}

//! The comparison of two sides: tables ranked by change, JSON, CSV.

use std::io::Write;

use auditframe::analysis::Comparison;
use auditframe::GroupKey;
use serde_json::{json, Value};

use super::{fmt_time, key_name, problems, read_fields, run_part, show_key, skipped_part, Context};
use crate::args::AnalysisTable;
use crate::Res;

/// What each side is: its window (resolved) and, comparing clusters, its cluster.
pub(crate) struct Sides {
    pub before_window: Option<(i64, i64)>,
    pub after_window: Option<(i64, i64)>,
    pub before_cluster: Option<String>,
    pub after_cluster: Option<String>,
}

fn side_text(window: Option<(i64, i64)>, cluster: Option<&str>, rows: u64) -> String {
    let w = window.map_or_else(
        || "all time".to_owned(),
        |(a, b)| format!("[{} .. {}]", fmt_time(a), fmt_time(b)),
    );
    match cluster {
        Some(c) => format!("{w} cluster {c}: {rows} rows"),
        None => format!("{w}: {rows} rows"),
    }
}

fn signed(v: f64) -> String {
    if v > 0.0 {
        format!("+{v:.1}")
    } else {
        format!("{v:.1}")
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"))
}

pub(crate) fn table(
    out: &mut impl Write,
    ctx: &Context<'_>,
    sides: &Sides,
    key: GroupKey,
    c: &Comparison,
) -> Res {
    let r = &ctx.summary.report.parse;
    writeln!(out, "{} read{}{}", r.rows, skipped_part(r), run_part(ctx))?;
    problems(out, ctx)?;
    let name = key_name(key);
    writeln!(
        out,
        "before {}\nafter  {}",
        side_text(
            sides.before_window,
            sides.before_cluster.as_deref(),
            c.before_rows
        ),
        side_text(
            sides.after_window,
            sides.after_cluster.as_deref(),
            c.after_rows
        )
    )?;
    let n = ctx.top;
    writeln!(out, "\nRequests per {name}, largest change first (top {n})")?;
    writeln!(
        out,
        "{:>3}  {:>9}  {:>9}  {:>9}  {name}",
        "#", "before", "after", "change"
    )?;
    for (i, d) in c.requests.iter().take(n).enumerate() {
        let delta = if d.delta > 0 {
            format!("+{}", d.delta)
        } else {
            d.delta.to_string()
        };
        writeln!(
            out,
            "{:>3}  {:>9}  {:>9}  {:>9}  {}",
            i + 1,
            d.before,
            d.after,
            delta,
            show_key(&d.key)
        )?;
    }
    writeln!(
        out,
        "\nAverage latency (ms) per {name}, largest change first"
    )?;
    writeln!(
        out,
        "{:>3}  {:>9}  {:>9}  {:>9}  {name}",
        "#", "before", "after", "change"
    )?;
    for (i, d) in c.latency.iter().take(n).enumerate() {
        writeln!(
            out,
            "{:>3}  {:>9}  {:>9}  {:>9}  {}",
            i + 1,
            opt(d.before_avg_ms),
            opt(d.after_avg_ms),
            signed(d.delta_ms),
            show_key(&d.key)
        )?;
    }
    writeln!(
        out,
        "\nP99 latency (ms) per {name}, verb and resource, largest change first"
    )?;
    writeln!(
        out,
        "{:>3}  {:>9}  {:>9}  {:>9}  {:<8}  {:<24}  {name}",
        "#", "before", "after", "change", "verb", "resource"
    )?;
    for (i, d) in c.percentiles.iter().take(n).enumerate() {
        let show = |v: Option<i64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
        let delta = if d.delta_ms > 0 {
            format!("+{}", d.delta_ms)
        } else {
            d.delta_ms.to_string()
        };
        writeln!(
            out,
            "{:>3}  {:>9}  {:>9}  {:>9}  {:<8}  {:<24}  {}",
            i + 1,
            show(d.before_ms),
            show(d.after_ms),
            delta,
            d.verb,
            d.resource,
            show_key(&d.key)
        )?;
    }
    Ok(())
}

fn side_json(window: Option<(i64, i64)>, cluster: Option<&str>, rows: u64) -> Value {
    json!({
        "window": window.map(|(a, b)| json!({"start": fmt_time(a), "end": fmt_time(b)})),
        "cluster": cluster,
        "rows": rows,
    })
}

/// The read's fields, then `group_by`, `before` / `after` and every delta row, ranked.
pub(crate) fn json(
    out: &mut impl Write,
    ctx: &Context<'_>,
    sides: &Sides,
    key: GroupKey,
    c: &Comparison,
) -> Res {
    let mut m = read_fields(ctx);
    m.insert("group_by".into(), json!(key.name()));
    m.insert(
        "before".into(),
        side_json(
            sides.before_window,
            sides.before_cluster.as_deref(),
            c.before_rows,
        ),
    );
    m.insert(
        "after".into(),
        side_json(
            sides.after_window,
            sides.after_cluster.as_deref(),
            c.after_rows,
        ),
    );
    m.insert("requests".into(), serde_json::to_value(&c.requests)?);
    m.insert("latency".into(), serde_json::to_value(&c.latency)?);
    m.insert("p99".into(), serde_json::to_value(&c.percentiles)?);
    serde_json::to_writer_pretty(&mut *out, &Value::Object(m))?;
    writeln!(out)?;
    Ok(())
}

/// `--table top|latency|p99`: the requests, latency or P99 deltas, ranked.
pub(crate) fn csv(out: &mut impl Write, c: &Comparison, table: AnalysisTable) -> Res {
    let mut w = csv::Writer::from_writer(out);
    let opt_f = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let opt_i = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    match table {
        AnalysisTable::Top => {
            w.write_record(["key", "before", "after", "delta"])?;
            for d in &c.requests {
                w.write_record([
                    d.key.clone(),
                    d.before.to_string(),
                    d.after.to_string(),
                    d.delta.to_string(),
                ])?;
            }
        }
        AnalysisTable::Latency => {
            w.write_record([
                "key",
                "before_avg_ms",
                "after_avg_ms",
                "delta_ms",
                "before_count",
                "after_count",
            ])?;
            for d in &c.latency {
                w.write_record([
                    d.key.clone(),
                    opt_f(d.before_avg_ms),
                    opt_f(d.after_avg_ms),
                    d.delta_ms.to_string(),
                    d.before_count.to_string(),
                    d.after_count.to_string(),
                ])?;
            }
        }
        AnalysisTable::P99 => {
            w.write_record([
                "key",
                "verb",
                "resource",
                "before_ms",
                "after_ms",
                "delta_ms",
                "before_count",
                "after_count",
            ])?;
            for d in &c.percentiles {
                w.write_record([
                    d.key.clone(),
                    d.verb.clone(),
                    d.resource.clone(),
                    opt_i(d.before_ms),
                    opt_i(d.after_ms),
                    d.delta_ms.to_string(),
                    d.before_count.to_string(),
                    d.after_count.to_string(),
                ])?;
            }
        }
    }
    w.flush()?;
    Ok(())
}

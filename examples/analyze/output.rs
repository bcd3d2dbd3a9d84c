//! Table, JSON and CSV output of `analyze`.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use auditframe::{format_timestamp_secs, percentile_field, Analysis, AnalysisOptions, TimeWindow};
use auditframe_ndjson::ReadReport;
use serde_json::{json, Map, Value};

use crate::Table;

pub(crate) struct Context<'a> {
    pub args_top: usize,
    pub agent: Option<&'a str>,
    /// Earliest and latest `time_generated` read.
    pub time_range: Option<(i64, i64)>,
    /// `memory` (one frame) or `stream` (a frame per block, partial aggregates merged).
    pub mode: &'static str,
    /// What was read: `json` (NDJSON / JSON shapes) or `parquet`.
    pub format: &'static str,
    /// Frames analysed (1 in memory mode).
    pub frames: usize,
    pub report: &'a ReadReport,
    pub opts: &'a AnalysisOptions,
    pub read_time: Duration,
    pub total_time: Duration,
}

type Res = Result<(), Box<dyn std::error::Error>>;

/// Percentile rows printed in table mode; JSON and CSV carry all of them.
const PERCENTILE_ROWS_SHOWN: usize = 25;

/// The window actually applied, as (start, end) ns.
fn window(ctx: &Context<'_>) -> Option<(i64, i64)> {
    match ctx.opts.window {
        TimeWindow::All => ctx.time_range,
        TimeWindow::Last(ns) => ctx.time_range.map(|(_, b)| (b.saturating_sub(ns), b)),
        TimeWindow::Between { start, end } => Some((start, end)),
    }
}

fn fmt_time(t: i64) -> String {
    if t == i64::MIN || t == i64::MAX {
        "…".to_owned()
    } else {
        format_timestamp_secs(t)
    }
}

/// Keys are printed as JSON strings when they need it, so that `""` and quotes are visible.
pub(crate) fn show_key(k: &str) -> String {
    if k.is_empty() || k.contains(['"', '\\']) || k.chars().any(char::is_control) {
        serde_json::to_string(k).unwrap_or_default()
    } else {
        k.to_owned()
    }
}

/// `, N skipped (reason: n, …)`.
fn skipped_part(r: &auditframe::ParseReport) -> String {
    let mut s = format!(", {} skipped", r.skipped_total());
    if !r.skipped.is_empty() {
        let parts: Vec<String> = r.skipped.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        s.push_str(&format!(" ({})", parts.join(", ")));
    }
    if r.other_category > 0 {
        s.push_str(&format!(", {} rows of other categories", r.other_category));
    }
    s
}

/// `; shape X; streamed in N frames; M MB in S s`.
fn run_part(ctx: &Context<'_>) -> String {
    let mut s = String::new();
    if ctx.format == "parquet" {
        s.push_str("; parquet");
    }
    if let Some(shape) = ctx.report.parse.shape {
        s.push_str(&format!("; shape {shape}"));
    }
    if ctx.mode == "stream" {
        s.push_str(&format!("; streamed in {} frames", ctx.frames));
    }
    s.push_str(&format!(
        "; {:.1} MB in {:.2}s",
        ctx.report.bytes() as f64 / 1e6,
        ctx.total_time.as_secs_f64()
    ));
    s
}

fn summary_line(ctx: &Context<'_>, a: &Analysis) -> String {
    let r = &ctx.report.parse;
    let mut s = format!("{} rows in window", a.rows);
    if let Some((x, y)) = window(ctx) {
        s.push_str(&format!(" [{} .. {}]", fmt_time(x), fmt_time(y)));
    }
    s.push_str(&format!(" of {} read", r.rows));
    s.push_str(&skipped_part(r));
    s.push_str(&run_part(ctx));
    s
}

/// What was read, for `--diagnose`: rows, skips, log lines, window, shape, time.
pub(crate) fn read_line(ctx: &Context<'_>) -> String {
    let r = &ctx.report.parse;
    let mut s = format!("{} rows read", r.rows);
    s.push_str(&skipped_part(r));
    s.push_str(&format!(", {} kube-apiserver log lines", r.log_lines));
    if let Some((x, y)) = window(ctx) {
        s.push_str(&format!("; window [{} .. {}]", fmt_time(x), fmt_time(y)));
    }
    s.push_str(&run_part(ctx));
    s
}

/// The read summary as JSON (the `input` object of `--diagnose --format json`).
pub(crate) fn input_json(ctx: &Context<'_>) -> Value {
    let r = &ctx.report.parse;
    let skipped: Map<String, Value> = r
        .skipped
        .iter()
        .map(|(k, v)| (k.name().to_owned(), (*v).into()))
        .collect();
    json!({
        "rows_read": r.rows,
        "skipped": r.skipped_total(),
        "skipped_by_reason": skipped,
        "log_lines": r.log_lines,
        "other_category_rows": r.other_category,
        "shape": r.shape.map(|s| s.name()),
        "window": window(ctx).map(|(x, y)| json!({"start": fmt_time(x), "end": fmt_time(y)})),
        "errors": r.errors.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
        "seconds": {"read": ctx.read_time.as_secs_f64(), "total": ctx.total_time.as_secs_f64()},
        "mode": ctx.mode,
        "format": ctx.format,
        "frames": ctx.frames,
    })
}

pub(crate) fn table(out: &mut impl Write, ctx: &Context<'_>, a: &Analysis) -> Res {
    let key_name = match a.group_by {
        auditframe::GroupKey::UserAgent => "user agent",
        auditframe::GroupKey::User => "user",
    };
    writeln!(out, "{}", summary_line(ctx, a))?;
    for e in ctx.report.parse.errors.iter().take(3) {
        writeln!(out, "  skipped: {e}")?;
    }
    for i in &ctx.report.inputs {
        if let Some(t) = &i.truncated {
            writeln!(out, "  {}: {t}", i.name)?;
        }
    }

    writeln!(
        out,
        "\nTop {} {key_name}s by requests (summarize count() by {} | top {} by count_)",
        ctx.args_top, a.group_by, ctx.args_top
    )?;
    writeln!(out, "{:>3}  {:>8}  {key_name}", "#", "count")?;
    for (i, t) in a.top.iter().enumerate() {
        writeln!(out, "{:>3}  {:>8}  {}", i + 1, t.count, show_key(&t.key))?;
    }

    // The series as a pivot: one row per bin, one column per top-N key (numbered as above).
    let bin = humanize(a.bin_ns);
    writeln!(out, "\nAverage latency (ms) per {key_name}, {bin} bins of request received (columns: # above; all keys in JSON/CSV)")?;
    let keys: Vec<&str> = a.top.iter().map(|t| t.key.as_str()).collect();
    let mut bins: BTreeMap<i64, Vec<Option<f64>>> = BTreeMap::new();
    for p in &a.latency {
        if let Some(col) = keys.iter().position(|k| *k == p.key) {
            bins.entry(p.bin_start_ns)
                .or_insert_with(|| vec![None; keys.len()])[col] = Some(p.avg_ms);
        }
    }
    write!(out, "{:<20}", "bin_start")?;
    for i in 0..keys.len() {
        write!(out, " {:>9}", format!("#{}", i + 1))?;
    }
    writeln!(out)?;
    for (b, vals) in &bins {
        write!(out, "{:<20}", format_timestamp_secs(*b))?;
        for v in vals {
            match v {
                Some(v) => write!(out, " {:>9.1}", v)?,
                None => write!(out, " {:>9}", "-")?,
            }
        }
        writeln!(out)?;
    }

    let ps: Vec<String> = a.percentiles.iter().map(|p| percentile_field(*p)).collect();
    // The slowest (verb, resource) combinations first, by P99: what step 3 of the guide is for.
    let mut rows: Vec<(Option<usize>, &auditframe::PercentileRow)> = a
        .percentile_rows
        .iter()
        .map(|r| (keys.iter().position(|k| *k == r.key), r))
        .filter(|(rank, _)| ctx.agent.is_some() || rank.is_some())
        .collect();
    rows.sort_by(|x, y| y.1.get(99.0).cmp(&x.1.get(99.0)).then(x.0.cmp(&y.0)));
    let total = rows.len();
    let scope = match ctx.agent {
        Some(k) => format!("for {key_name} {}", show_key(k)),
        None => format!("of the top {} {key_name}s, slowest first", keys.len()),
    };
    let method = match ctx.opts.percentile_sketch {
        Some(a) => format!(
            "Nearest-rank latency percentiles (ms, sketched: within {}%)",
            a * 100.0
        ),
        None => "Exact nearest-rank latency percentiles (ms)".to_owned(),
    };
    writeln!(out, "\n{method} per verb and resource {scope}")?;
    write!(out, "{:>3}  {:<10} {:<28}", "#", "verb", "resource")?;
    for p in &ps {
        write!(out, " {:>9}", p)?;
    }
    writeln!(out, " {:>8}", "count")?;
    for (rank, r) in rows.iter().take(PERCENTILE_ROWS_SHOWN) {
        let label = rank
            .map(|i| format!("#{}", i + 1))
            .unwrap_or_else(|| "-".to_owned());
        write!(out, "{:>3}  {:<10} {:<28}", label, r.verb, r.resource)?;
        for (_, v) in &r.values {
            write!(out, " {:>9}", v)?;
        }
        writeln!(out, " {:>8}", r.count)?;
    }
    if total == 0 {
        writeln!(out, "  (no rows with a resource and a latency)")?;
    } else if total > PERCENTILE_ROWS_SHOWN {
        writeln!(
            out,
            "  … {} more rows (--format json, or --format csv --table p99)",
            total - PERCENTILE_ROWS_SHOWN
        )?;
    }
    Ok(())
}

pub(crate) fn humanize(ns: i64) -> String {
    const UNITS: &[(i64, &str)] = &[
        (86_400_000_000_000, "d"),
        (3_600_000_000_000, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
    ];
    for (n, u) in UNITS {
        if ns % n == 0 {
            return format!("{}{u}", ns / n);
        }
    }
    format!("{ns}ns")
}

pub(crate) fn json(out: &mut impl Write, ctx: &Context<'_>, a: &Analysis) -> Res {
    let r = &ctx.report.parse;
    let p99: Vec<Value> = a
        .percentile_rows
        .iter()
        .map(|row| {
            let mut m = Map::new();
            m.insert("key".into(), row.key.clone().into());
            m.insert("verb".into(), row.verb.clone().into());
            m.insert("resource".into(), row.resource.clone().into());
            for (p, v) in &row.values {
                m.insert(percentile_field(*p), (*v).into());
            }
            m.insert("count".into(), row.count.into());
            Value::Object(m)
        })
        .collect();
    let skipped: Map<String, Value> = r
        .skipped
        .iter()
        .map(|(k, v)| (k.name().to_owned(), (*v).into()))
        .collect();
    let doc = json!({
        "rows": a.rows,
        "skipped": r.skipped_total(),
        "group_by": a.group_by.name(),
        "top": a.top,
        "latency": a.latency,
        "p99": p99,
        "rows_read": r.rows,
        "skipped_by_reason": skipped,
        "other_category_rows": r.other_category,
        "shape": r.shape.map(|s| s.name()),
        "window": window(ctx).map(|(x, y)| json!({"start": fmt_time(x), "end": fmt_time(y)})),
        "bin": humanize(a.bin_ns),
        "percentiles": a.percentiles,
        "errors": r.errors.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
        "seconds": {"read": ctx.read_time.as_secs_f64(), "total": ctx.total_time.as_secs_f64()},
        "mode": ctx.mode,
        "format": ctx.format,
        "percentile_relative_error": ctx.opts.percentile_sketch,
        "frames": ctx.frames,
    });
    serde_json::to_writer(&mut *out, &doc)?;
    writeln!(out)?;
    Ok(())
}

pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

pub(crate) fn csv(out: &mut impl Write, a: &Analysis, table: Table) -> Res {
    match table {
        Table::Top => {
            writeln!(out, "key,count")?;
            for t in &a.top {
                writeln!(out, "{},{}", csv_field(&t.key), t.count)?;
            }
        }
        Table::Latency => {
            writeln!(out, "key,bin_start,avg_ms,count")?;
            for p in &a.latency {
                writeln!(
                    out,
                    "{},{},{},{}",
                    csv_field(&p.key),
                    p.bin_start,
                    p.avg_ms,
                    p.count
                )?;
            }
        }
        Table::P99 => {
            let ps: Vec<String> = a.percentiles.iter().map(|p| percentile_field(*p)).collect();
            writeln!(out, "key,verb,resource,{},count", ps.join(","))?;
            for r in &a.percentile_rows {
                let vals: Vec<String> = r.values.iter().map(|(_, v)| v.to_string()).collect();
                writeln!(
                    out,
                    "{},{},{},{},{}",
                    csv_field(&r.key),
                    csv_field(&r.verb),
                    csv_field(&r.resource),
                    vals.join(","),
                    r.count
                )?;
            }
        }
        other => return Err(format!("--table {other:?} needs --diagnose").into()),
    }
    Ok(())
}

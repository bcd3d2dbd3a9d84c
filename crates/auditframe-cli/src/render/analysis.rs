//! `analyze`'s report: tables, the JSON contract, CSV.

use std::collections::BTreeMap;
use std::io::Write;

use auditframe::analysis::{percentile_field, PercentileRow};
use auditframe::time::format_timestamp_secs;
use auditframe::Analysis;

use super::{humanize, key_name, problems, read_fields, run_part, show_key, skipped_part};
use super::{window_part, Context};
use crate::args::AnalysisTable;
use crate::Res;

/// Percentile rows printed in table mode; JSON and CSV carry all of them.
const PERCENTILE_ROWS_SHOWN: usize = 25;
/// Watch rows printed apart in table mode.
const WATCH_ROWS_SHOWN: usize = 5;

fn summary_line(ctx: &Context<'_>, a: &Analysis) -> String {
    let r = &ctx.summary.report.parse;
    let mut s = format!("{} rows in window", a.rows);
    if ctx.window.is_some() {
        s.push(' ');
        s.push_str(&window_part(ctx));
    }
    s.push_str(&format!(" of {} read", r.rows));
    s.push_str(&skipped_part(r));
    s.push_str(&run_part(ctx));
    s
}

pub(crate) fn table(out: &mut impl Write, ctx: &Context<'_>, a: &Analysis) -> Res {
    let key_name = key_name(a.group_by);
    writeln!(out, "{}", summary_line(ctx, a))?;
    problems(out, ctx)?;

    writeln!(
        out,
        "\nTop {} {key_name}s by requests (summarize count() by {} | top {} by count_)",
        ctx.top, a.group_by, ctx.top
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
            if let Some(cell) = bins
                .entry(p.bin_start.nanos())
                .or_insert_with(|| vec![None; keys.len()])
                .get_mut(col)
            {
                *cell = Some(p.avg_ms);
            }
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
    percentile_tables(out, ctx, a, &keys)
}

/// The percentile table, slowest first. Watches are held connections whose "latency" is how
/// long the client watched (minutes): ranked together with requests they would hide the
/// slowest real requests, so they get their own short table.
fn percentile_tables(out: &mut impl Write, ctx: &Context<'_>, a: &Analysis, keys: &[&str]) -> Res {
    let key_name = key_name(a.group_by);
    let mut rows: Vec<(Option<usize>, &PercentileRow)> = a
        .percentile_rows
        .iter()
        .map(|r| (keys.iter().position(|k| *k == r.key), r))
        .filter(|(rank, _)| ctx.agent.is_some() || rank.is_some())
        .collect();
    // The slowest (verb, resource) combinations first, by P99: what step 3 of the guide is for.
    rows.sort_by(|x, y| y.1.get(99.0).cmp(&x.1.get(99.0)).then(x.0.cmp(&y.0)));
    let (watches, requests): (Vec<_>, Vec<_>) =
        rows.into_iter().partition(|(_, r)| r.verb == "watch");
    let scope = match ctx.agent {
        Some(k) => format!("for {key_name} {}", show_key(k)),
        None => format!("of the top {} {key_name}s, slowest first", keys.len()),
    };
    let method = match ctx.percentile_sketch {
        Some(a) => format!(
            "Nearest-rank latency percentiles (ms, sketched: within {}%)",
            a * 100.0
        ),
        None => "Exact nearest-rank latency percentiles (ms)".to_owned(),
    };
    writeln!(out, "\n{method} per verb and resource {scope}")?;
    if !watches.is_empty() {
        writeln!(
            out,
            "(watches are listed apart below: their latency is how long a watch was held)"
        )?;
    }
    percentile_rows(out, a, &requests, PERCENTILE_ROWS_SHOWN)?;
    if requests.is_empty() {
        writeln!(out, "  (no rows with a resource and a latency)")?;
    }
    if !watches.is_empty() {
        writeln!(
            out,
            "\nWatches (held connections, not slow requests), longest first"
        )?;
        percentile_rows(out, a, &watches, WATCH_ROWS_SHOWN)?;
    }
    Ok(())
}

fn percentile_rows(
    out: &mut impl Write,
    a: &Analysis,
    rows: &[(Option<usize>, &PercentileRow)],
    shown: usize,
) -> Res {
    if rows.is_empty() {
        return Ok(());
    }
    write!(out, "{:>3}  {:<10} {:<28}", "#", "verb", "resource")?;
    for p in &a.percentiles {
        write!(out, " {:>9}", percentile_field(*p))?;
    }
    writeln!(out, " {:>8}", "count")?;
    for (rank, r) in rows.iter().take(shown) {
        let label = rank
            .map(|i| format!("#{}", i + 1))
            .unwrap_or_else(|| "-".to_owned());
        write!(out, "{:>3}  {:<10} {:<28}", label, r.verb, r.resource)?;
        for (_, v) in &r.values {
            write!(out, " {:>9}", v)?;
        }
        writeln!(out, " {:>8}", r.count)?;
    }
    if rows.len() > shown {
        writeln!(
            out,
            "  … {} more rows (--format json, or --format csv --table p99)",
            rows.len() - shown
        )?;
    }
    Ok(())
}

/// The JSON contract of `analyze --format json` (README, *What `analyze` prints*).
pub(crate) fn json(out: &mut impl Write, ctx: &Context<'_>, a: &Analysis) -> Res {
    let read = read_fields(ctx);
    // Written straight out: a tree of values for a large answer costs milliseconds.
    serde_json::to_writer(
        &mut *out,
        &a.contract(ctx.percentile_sketch).with_fields(&read),
    )?;
    writeln!(out)?;
    Ok(())
}

pub(crate) fn csv(out: &mut impl Write, a: &Analysis, table: AnalysisTable) -> Res {
    let mut w = csv::Writer::from_writer(out);
    match table {
        AnalysisTable::Top => {
            w.write_record(["key", "count"])?;
            for t in &a.top {
                w.write_record([t.key.clone(), t.count.to_string()])?;
            }
        }
        AnalysisTable::Latency => {
            w.write_record(["key", "bin_start", "avg_ms", "count"])?;
            for p in &a.latency {
                w.write_record([
                    p.key.clone(),
                    format_timestamp_secs(p.bin_start.nanos()),
                    p.avg_ms.to_string(),
                    p.count.to_string(),
                ])?;
            }
        }
        AnalysisTable::P99 => {
            let mut header = vec!["key".to_owned(), "verb".to_owned(), "resource".to_owned()];
            header.extend(a.percentiles.iter().map(|p| percentile_field(*p)));
            header.push("count".to_owned());
            w.write_record(&header)?;
            for r in &a.percentile_rows {
                let mut rec = vec![r.key.clone(), r.verb.clone(), r.resource.clone()];
                rec.extend(r.values.iter().map(|(_, v)| v.to_string()));
                rec.push(r.count.to_string());
                w.write_record(&rec)?;
            }
        }
    }
    w.flush()?;
    Ok(())
}

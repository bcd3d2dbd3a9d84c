//! `auditframe inspect`: what each input is — shape, size, rows, skipped records, time range
//! and diagnostic categories — read a frame at a time (bounded memory) with only the columns
//! that answer it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use auditframe::{AuditFrame, Column, Projection};
use serde_json::json;

use crate::args::{Format, InputArgs, InspectArgs};
use crate::render::fmt_time;
use crate::run::Run;
use crate::Res;

/// One input's description.
struct Described {
    name: String,
    shape: Option<String>,
    bytes: u64,
    rows: u64,
    skipped: u64,
    log_lines: u64,
    range: Option<(i64, i64)>,
    categories: BTreeMap<String, u64>,
}

fn describe(run: &Run) -> Res<Vec<Described>> {
    let mut range: Option<(i64, i64)> = None;
    let mut categories: BTreeMap<String, u64> = BTreeMap::new();
    let report = run.reader.for_each_frame(&run.paths, &mut |frame, _| {
        if let Some((a, b)) = frame.time_range() {
            range = Some(range.map_or((a, b), |(x, y)| (x.min(a), y.max(b))));
        }
        count_categories(&frame, &mut categories)
    })?;
    let shape = report.parse.shape.map(|s| s.name().to_owned());
    let r = &report.parse;
    Ok(vec![Described {
        name: match report.inputs.as_slice() {
            [one] => one.name.clone(),
            _ => run.paths.first().map_or_else(
                || crate::inputs::DEFAULT_SAMPLE_NAME.to_owned(),
                |p| p.display().to_string(),
            ),
        },
        shape,
        bytes: report.bytes(),
        rows: r.rows,
        skipped: r.skipped_total(),
        log_lines: r.log_lines,
        range,
        categories,
    }])
}

fn count_categories(
    frame: &AuditFrame,
    into: &mut BTreeMap<String, u64>,
) -> auditframe::Result<()> {
    use auditframe::polars::prelude::DataType;
    let col = frame.column(Column::Category)?.cast(&DataType::String)?;
    let mut counts: BTreeMap<Option<&str>, u64> = BTreeMap::new();
    for v in col.str()?.iter() {
        *counts.entry(v).or_default() += 1;
    }
    for (name, n) in counts {
        *into.entry(name.unwrap_or("(none)").to_owned()).or_default() += n;
    }
    Ok(())
}

/// Each file of the arguments on its own (directories expanded), so that each gets its line.
fn files(paths: &[PathBuf]) -> Res<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" || !p.is_dir() {
            out.push(p.clone());
        } else if crate::inputs::paths_are_parquet(std::slice::from_ref(p))? {
            out.extend(auditframe_parquet::walk(p)?);
        } else {
            out.extend(auditframe_ndjson::walk(p)?);
        }
    }
    Ok(out)
}

pub(crate) fn run(args: &InspectArgs) -> Res {
    let projection = Projection::of(&[Column::TimeGenerated, Column::Category]);
    let mut described = Vec::new();
    let inputs: Vec<Vec<PathBuf>> = if args.paths.is_empty() {
        vec![Vec::new()]
    } else {
        files(&args.paths)?.into_iter().map(|p| vec![p]).collect()
    };
    for paths in inputs {
        let input = InputArgs {
            paths,
            strict: args.strict,
            reject_truncated: false,
            keep_copies: true,
            shape: args.shape,
            stream: true,
            in_memory: false,
            clusters: Vec::new(),
        };
        let run = Run::new(&input, projection, auditframe::TimeWindow::All)?;
        described.extend(describe(&run)?);
    }
    let mut out = crate::render::stdout();
    match args.format {
        Format::Table => table(&mut out, &described)?,
        Format::Json => {
            let doc: Vec<_> = described
                .iter()
                .map(|d| {
                    json!({
                        "name": d.name,
                        "shape": d.shape,
                        "bytes": d.bytes,
                        "rows": d.rows,
                        "skipped": d.skipped,
                        "log_lines": d.log_lines,
                        "start": d.range.map(|r| fmt_time(r.0)),
                        "end": d.range.map(|r| fmt_time(r.1)),
                        "categories": d.categories,
                    })
                })
                .collect();
            serde_json::to_writer(&mut out, &json!({ "inputs": doc }))?;
            writeln!(out)?;
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record([
                "name",
                "shape",
                "bytes",
                "rows",
                "skipped",
                "log_lines",
                "start",
                "end",
                "categories",
            ])?;
            for d in &described {
                w.write_record([
                    d.name.clone(),
                    d.shape.clone().unwrap_or_default(),
                    d.bytes.to_string(),
                    d.rows.to_string(),
                    d.skipped.to_string(),
                    d.log_lines.to_string(),
                    d.range.map(|r| fmt_time(r.0)).unwrap_or_default(),
                    d.range.map(|r| fmt_time(r.1)).unwrap_or_default(),
                    categories(&d.categories),
                ])?;
            }
            w.flush()?;
        }
    }
    out.flush()?;
    Ok(())
}

fn categories(c: &BTreeMap<String, u64>) -> String {
    c.iter()
        .map(|(k, v)| format!("{k}:{v}"))
        .collect::<Vec<_>>()
        .join(";")
}

fn table(out: &mut impl Write, described: &[Described]) -> Res {
    for d in described {
        writeln!(out, "{}", d.name)?;
        writeln!(
            out,
            "  shape       {}",
            d.shape.as_deref().unwrap_or("(empty)")
        )?;
        writeln!(
            out,
            "  bytes       {} ({:.1} MB)",
            d.bytes,
            d.bytes as f64 / 1e6
        )?;
        writeln!(
            out,
            "  rows        {} ({} skipped, {} kube-apiserver log lines)",
            d.rows, d.skipped, d.log_lines
        )?;
        match d.range {
            Some((a, b)) => writeln!(out, "  time        {} .. {}", fmt_time(a), fmt_time(b))?,
            None => writeln!(out, "  time        (no rows)")?,
        }
        writeln!(out, "  categories  {}", categories(&d.categories))?;
    }
    if described.len() > 1 {
        let rows: u64 = described.iter().map(|d| d.rows).sum();
        let bytes: u64 = described.iter().map(|d| d.bytes).sum();
        writeln!(
            out,
            "{} inputs: {rows} rows, {:.1} MB",
            described.len(),
            bytes as f64 / 1e6
        )?;
    }
    Ok(())
}

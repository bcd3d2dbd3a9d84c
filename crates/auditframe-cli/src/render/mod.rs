//! Output: tables for a person, the JSON contract, CSV. One renderer per report.

pub(crate) mod analysis;
pub(crate) mod chart;
pub(crate) mod compare;
pub(crate) mod diagnosis;
pub(crate) mod why;

use std::time::Duration;

use auditframe::{GroupKey, ParseReport};
use serde_json::{json, Map, Value};

use crate::run::Summary;

/// What a renderer needs to know about the run besides its results.
/// Standard output, buffered: a JSON answer is written in many small pieces, and stdout's
/// own buffer passes them on a kilobyte at a time (600 `write` calls for an `analyze`).
/// Callers flush it, so that a write error is reported.
pub(crate) fn stdout() -> std::io::BufWriter<std::io::StdoutLock<'static>> {
    std::io::BufWriter::with_capacity(64 << 10, std::io::stdout().lock())
}

pub(crate) struct Context<'a> {
    /// `--top`.
    pub top: usize,
    /// `--agent`.
    pub agent: Option<&'a str>,
    pub summary: &'a Summary,
    /// The window applied, (start, end) ns.
    pub window: Option<(i64, i64)>,
    /// Streamed (a frame per block, partial aggregates merged) or one frame in memory.
    pub stream: bool,
    /// What was read: `json` (NDJSON / JSON shapes) or `parquet`.
    pub format: &'static str,
    /// `--approx-percentiles`.
    pub percentile_sketch: Option<f64>,
    pub total_time: Duration,
}

impl Context<'_> {
    fn mode(&self) -> &'static str {
        if self.stream {
            "stream"
        } else {
            "memory"
        }
    }
}

pub(crate) fn fmt_time(t: i64) -> String {
    auditframe::time::format_window_bound(t)
}

/// Keys are printed as JSON strings when they need it, so that `""` and quotes are visible.
pub(crate) fn show_key(k: &str) -> String {
    if k.is_empty() || k.contains(['"', '\\']) || k.chars().any(char::is_control) {
        serde_json::to_string(k).unwrap_or_default()
    } else {
        k.to_owned()
    }
}

/// How a report names its grouping key: `user agent`, `user` or `cluster`.
pub(crate) fn key_name(k: GroupKey) -> &'static str {
    match k {
        GroupKey::UserAgent => "user agent",
        GroupKey::User => "user",
        GroupKey::Cluster => "cluster",
    }
}

/// A duration in its largest whole unit: `5m`, `1h`, `250ms`.
pub(crate) fn humanize(ns: i64) -> String {
    auditframe::time::format_whole_unit(ns)
}

/// `, N skipped (reason: n, …)`.
fn skipped_part(r: &ParseReport) -> String {
    let mut s = format!(", {} skipped", r.skipped_total());
    if !r.skipped.is_empty() {
        let parts: Vec<String> = r.skipped.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        s.push_str(&format!(" ({})", parts.join(", ")));
    }
    if r.other_category > 0 {
        s.push_str(&format!(", {} rows of other categories", r.other_category));
    }
    if r.truncated_rows > 0 {
        s.push_str(&format!(
            ", {} cut-short events salvaged (truncated)",
            r.truncated_rows
        ));
    }
    s
}

/// `; shape X; streamed in N frames; M MB in S s`.
fn run_part(ctx: &Context<'_>) -> String {
    let mut s = String::new();
    if ctx.format == "parquet" {
        s.push_str("; parquet");
    }
    if let Some(shape) = ctx.summary.report.parse.shape {
        s.push_str(&format!("; shape {shape}"));
    }
    if ctx.stream {
        s.push_str(&format!("; streamed in {} frames", ctx.summary.frames));
    }
    if ctx.summary.pruned_files > 0 {
        s.push_str(&format!(
            "; {} files outside the window or clusters not opened",
            ctx.summary.pruned_files
        ));
    }
    if ctx.summary.copies_dropped > 0 {
        s.push_str(&format!(
            "; {} copies of requests in both kube-audit and kube-audit-admin dropped",
            ctx.summary.copies_dropped
        ));
    }
    s.push_str(&format!(
        "; {:.1} MB in {:.2}s",
        ctx.summary.report.bytes() as f64 / 1e6,
        ctx.total_time.as_secs_f64()
    ));
    s
}

fn window_part(ctx: &Context<'_>) -> String {
    ctx.window
        .map(|(x, y)| format!("[{} .. {}]", fmt_time(x), fmt_time(y)))
        .unwrap_or_default()
}

/// `skipped: …` lines for the first bad records and truncated inputs.
fn problems(out: &mut impl std::io::Write, ctx: &Context<'_>) -> std::io::Result<()> {
    for e in ctx.summary.report.parse.errors.iter().take(3) {
        writeln!(out, "  skipped: {e}")?;
    }
    for i in &ctx.summary.report.inputs {
        if let Some(t) = &i.truncated {
            writeln!(out, "  {}: {t}", i.name)?;
        }
    }
    if ctx.summary.admin_only {
        writeln!(out, "  {ADMIN_ONLY}")?;
    }
    // A read of several clusters says what it read of each (one line, the first few).
    let clusters = ctx.summary.clusters.rows();
    if clusters.len() > 1 {
        const SHOWN: usize = 8;
        let mut parts: Vec<String> = clusters
            .iter()
            .take(SHOWN)
            .map(|(c, rows, files)| {
                let files = if *files == 1 {
                    "1 file".to_owned()
                } else {
                    format!("{files} files")
                };
                format!("{} {rows} rows in {files}", c.unwrap_or("(none)"))
            })
            .collect();
        if clusters.len() > SHOWN {
            parts.push(format!("… {} more", clusters.len() - SHOWN));
        }
        writeln!(out, "  clusters: {}", parts.join(", "))?;
    }
    Ok(())
}

/// Said of an export holding only the `kube-audit-admin` category.
const ADMIN_ONLY: &str = "note: only kube-audit-admin rows were read: that category has no get, list or watch requests (export kube-audit for them)";

/// The JSON fields that describe the read (shared by both reports).
fn read_fields(ctx: &Context<'_>) -> Map<String, Value> {
    let mut m = match serde_json::to_value(ctx.summary.report.parse.contract()) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let v = json!({
        "window": auditframe::analysis::WindowContract(ctx.window),
        "seconds": {"read": ctx.summary.read_time.as_secs_f64(), "total": ctx.total_time.as_secs_f64()},
        "mode": ctx.mode(),
        "format": ctx.format,
        "frames": ctx.summary.frames,
        "pruned_files": ctx.summary.pruned_files,
        "duplicates_dropped": ctx.summary.copies_dropped,
        "clusters": ctx.summary.clusters.rows().into_iter().map(|(cluster, rows, files)| {
            json!({"cluster": cluster, "rows": rows, "files": files})
        }).collect::<Vec<_>>(),
        "notes": if ctx.summary.admin_only { vec![ADMIN_ONLY] } else { vec![] },
    });
    if let Value::Object(run) = v {
        m.extend(run);
    }
    m
}

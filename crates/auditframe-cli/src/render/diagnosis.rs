//! `diagnose`'s report: the guide's causes as tables, the JSON contract, CSV.

use std::io::Write;

use auditframe::diagnose::{GrowthReport, ListReport, SloReport, ThrottlingReport, WebhookReport};
use auditframe::{DiagnoseOptions, DiagnosisReport};
use serde::Serialize;
use serde_json::{json, Value};

use super::{
    humanize, key_name, problems, read_fields, run_part, show_key, skipped_part, window_part,
};
use super::{why, Context};
use crate::args::DiagnosisTable as Table;
use crate::Res;

/// What was read: rows, skips, log lines, window, shape, time.
fn read_line(ctx: &Context<'_>) -> String {
    let r = &ctx.summary.report.parse;
    let mut s = format!("{} rows read", r.rows);
    s.push_str(&skipped_part(r));
    s.push_str(&format!(", {} kube-apiserver log lines", r.log_lines));
    if ctx.window.is_some() {
        s.push_str("; window ");
        s.push_str(&window_part(ctx));
    }
    s.push_str(&run_part(ctx));
    s
}

fn secs(ms: i128) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

/// `HH:MM` of a time (the day is in the report's window line).
fn hour_minute(t: auditframe::Timestamp) -> String {
    let s = t.to_string();
    s.get(11..16).map_or(s.clone(), str::to_owned)
}

fn opt_ms(ms: Option<i64>) -> String {
    ms.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// The diagnoses as tables, one renderer per report, in the guide's order of causes.
pub(crate) fn table(
    out: &mut impl Write,
    ctx: &Context<'_>,
    d: &DiagnosisReport,
    o: &DiagnoseOptions,
) -> Res {
    writeln!(out, "{}", read_line(ctx))?;
    problems(out, ctx)?;
    why::findings_table(out, &d.findings)?;
    list_table(out, &d.list, key_name(o.key()))?;
    throttling_table(out, &d.throttling, o)?;
    growth_table(out, &d.growth)?;
    webhooks_table(out, &d.webhooks)?;
    slo_table(out, &d.slo, o)?;
    why::attribution_table(out, &d.attribution)?;
    why::watch_table(out, &d.watches)
}

/// Cause 5: LISTs by read type, offenders, peak windows.
fn list_table(out: &mut impl Write, l: &ListReport, key_name: &str) -> Res {
    writeln!(
        out,
        "\nLIST detector (Cause 5): {} successful LISTs; read types by the {} rules",
        l.total, l.rules
    )?;
    writeln!(
        out,
        "  {:<6} {:<10} {:>8} {:>13} {:>9}",
        "read", "scope", "lists", "latency sum", "p99 ms"
    )?;
    for c in &l.classes {
        writeln!(
            out,
            "  {:<6} {:<10} {:>8} {:>13} {:>9}",
            c.read_type.name(),
            c.scope,
            c.count,
            secs(c.latency_sum_ms),
            opt_ms(c.p99_ms)
        )?;
    }
    writeln!(
        out,
        "  Top offenders by latency sum ({key_name}, namespace, resource, read type):"
    )?;
    for x in &l.offenders {
        writeln!(
            out,
            "  {:>8} lists {:>11} p99 {:>7} ms  {:<5} {}/{}  {}",
            x.count,
            secs(x.latency_sum_ms),
            opt_ms(x.p99_ms),
            x.read_type.name(),
            x.namespace.as_deref().unwrap_or("*"),
            x.resource,
            show_key(&x.key)
        )?;
    }
    for (what, p) in [
        ("latency sum", &l.peak_by_latency),
        ("count", &l.peak_by_count),
    ] {
        if let Some(p) = p {
            let top: Vec<String> = p
                .top
                .iter()
                .take(3)
                .map(|t| {
                    format!(
                        "{} ({} lists, {})",
                        show_key(&t.key),
                        t.count,
                        secs(t.latency_sum_ms)
                    )
                })
                .collect();
            writeln!(
                out,
                "  Peak {} window by {what}: {} .. {}: {} lists, {}; top: {}",
                p.width,
                p.start,
                p.end,
                p.count,
                secs(p.latency_sum_ms),
                top.join(", ")
            )?;
        }
    }
    Ok(())
}

/// Cause 4: 429s per client and bin, the API server guard.
fn throttling_table(out: &mut impl Write, t: &ThrottlingReport, o: &DiagnoseOptions) -> Res {
    let share = if t.requests > 0 {
        100.0 * t.throttled as f64 / t.requests as f64
    } else {
        0.0
    };
    writeln!(
        out,
        "\nThrottling (Cause 4): {} of {} requests answered 429 ({share:.1} %)",
        t.throttled, t.requests
    )?;
    if t.guard_events.is_empty() {
        writeln!(
            out,
            "  {} : no create/update/patch/delete seen",
            auditframe::diagnose::AKS_GUARD_NAME
        )?;
    }
    for g in &t.guard_events {
        writeln!(
            out,
            "  {}  {} {} {} by {} ({})",
            g.time,
            g.verb,
            g.resource,
            auditframe::diagnose::AKS_GUARD_NAME,
            g.username.as_deref().unwrap_or("?"),
            g.status_code
                .map_or_else(|| "-".to_owned(), |c| c.to_string())
        )?;
    }
    for k in &t.by_key {
        writeln!(
            out,
            "  {:>7} of {:>7} throttled ({:>5.1} %)  {}",
            k.throttled,
            k.requests,
            k.share * 100.0,
            show_key(&k.key)
        )?;
    }
    let mut bins: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    for b in &t.series {
        *bins.entry(b.bin_start.to_string()).or_default() += b.throttled;
    }
    if !bins.is_empty() {
        let s: Vec<String> = bins
            .iter()
            .map(|(b, n)| format!("{} {n}", b.get(11..16).unwrap_or(b.as_str())))
            .collect();
        writeln!(
            out,
            "  429s per {} bin (keys above): {}",
            humanize(o.bin_ns()),
            s.join(", ")
        )?;
    }
    Ok(())
}

/// Cause 3: object growth per resource.
fn growth_table(out: &mut impl Write, g: &GrowthReport) -> Res {
    writeln!(out, "\nObject growth (Cause 3): creates − deletes over {} observed; flagged when reaching {} objects within {}", g.observed, g.threshold, g.horizon)?;
    writeln!(
        out,
        "  {:<24} {:>8} {:>8} {:>8} {:>9} {:>10}  top creator",
        "resource", "creates", "deletes", "net", "per hour", "projected"
    )?;
    for x in &g.types {
        let creator = x
            .top_creators
            .first()
            .map(|c| format!("{} ({})", show_key(&c.key), c.creates))
            .unwrap_or_default();
        let flag = if x.flagged { "!" } else { " " };
        writeln!(
            out,
            "{flag} {:<24} {:>8} {:>8} {:>8} {:>9.0} {:>10.0}  {creator}",
            x.resource, x.creates, x.deletes, x.net, x.per_hour, x.projected
        )?;
        if let Some(n) = x.note {
            writeln!(out, "    ({n})")?;
        }
    }
    Ok(())
}

/// Cause 2: failing admission webhooks.
fn webhooks_table(out: &mut impl Write, w: &WebhookReport) -> Res {
    writeln!(out, "\nWebhook failures (Cause 2): {} failures; {} kube-apiserver log lines, {} requests with webhook annotations", w.failures, w.log_lines, w.annotated_requests)?;
    if w.log_lines == 0 {
        writeln!(out, "  (no kube-apiserver log lines in the input: export AKSControlPlane or the kube-apiserver category too)")?;
    }
    for r in &w.webhooks {
        writeln!(
            out,
            "  {:>7}  {:<10} {:<22} {}  {} .. {}",
            r.count,
            r.source,
            r.kind,
            r.webhook,
            r.first_seen
                .map_or_else(|| "?".to_owned(), |t| t.to_string()),
            r.last_seen
                .map_or_else(|| "?".to_owned(), |t| t.to_string())
        )?;
    }
    Ok(())
}

/// The upstream latency SLO verdicts.
fn slo_table(out: &mut impl Write, s: &SloReport, o: &DiagnoseOptions) -> Res {
    writeln!(
        out,
        "\nSLO verdicts (upstream API call latency SLOs, P99 per {} window): {} — {} violations in {} windows, {} calls",
        humanize(o.slo_window_ns()),
        if s.pass { "PASS" } else { "FAIL" },
        s.violations.len(),
        s.windows,
        s.calls
    )?;
    for c in &s.classes {
        writeln!(
            out,
            "  {:<15} ≤ {:>6} ms: {:>4} of {:>5} cells violate, worst p99 {} ms",
            format!("{:?}", c.class),
            c.threshold_ms,
            c.violating,
            c.cells,
            c.worst_p99_ms
        )?;
    }
    const SHOWN: usize = 15;
    for v in s.violations.iter().take(SHOWN) {
        let who: Vec<String> = v
            .top_slow_keys
            .iter()
            .take(2)
            .map(|k| format!("{} ({})", show_key(&k.key), k.slow_calls))
            .collect();
        writeln!(
            out,
            "  {} {:<15} {:<7} {:<22} p99 {:>7} ms > {:>6} ({} calls)  {}",
            hour_minute(v.window_start),
            format!("{:?}", v.class),
            v.verb,
            v.resource,
            v.p99_ms,
            v.threshold_ms,
            v.calls,
            who.join(", ")
        )?;
    }
    if s.violations.len() > SHOWN {
        writeln!(
            out,
            "  … {} more (--format json, or --format csv --table slo)",
            s.violations.len() - SHOWN
        )?;
    }
    Ok(())
}

pub(crate) fn json(out: &mut impl Write, ctx: &Context<'_>, d: &DiagnosisReport) -> Res {
    let mut input = read_fields(ctx);
    input.insert(
        "log_lines".into(),
        ctx.summary.report.parse.log_lines.into(),
    );
    let doc = json!({
        "input": input,
        "findings": d.findings,
        "diagnosis": d,
    });
    serde_json::to_writer(&mut *out, &doc)?;
    writeln!(out)?;
    Ok(())
}

/// A JSON value as one CSV cell: lists joined with `;`, objects' values with `:`.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(cell).collect::<Vec<_>>().join(";"),
        Value::Object(m) => m.values().map(cell).collect::<Vec<_>>().join(":"),
        other => other.to_string(),
    }
}

fn rows<T: Serialize>(out: &mut impl Write, items: &[T], cols: &[&str]) -> Res {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(cols)?;
    for it in items {
        let v = serde_json::to_value(it)?;
        w.write_record(cols.iter().map(|c| cell(&v[*c])))?;
    }
    w.flush()?;
    Ok(())
}

pub(crate) fn csv(out: &mut impl Write, d: &DiagnosisReport, table: Table) -> Res {
    match table {
        Table::ListClasses => rows(
            out,
            &d.list.classes,
            &["read_type", "scope", "count", "latency_sum_ms", "p99_ms"],
        ),
        Table::ListOffenders => rows(
            out,
            &d.list.offenders,
            &[
                "key",
                "namespace",
                "resource",
                "read_type",
                "count",
                "latency_sum_ms",
                "p99_ms",
            ],
        ),
        Table::Throttled => rows(
            out,
            &d.throttling.by_key,
            &["key", "requests", "throttled", "share"],
        ),
        Table::ThrottledSeries => rows(
            out,
            &d.throttling.series,
            &["key", "bin_start", "throttled"],
        ),
        Table::Guard => rows(
            out,
            &d.throttling.guard_events,
            &[
                "time",
                "verb",
                "resource",
                "status_code",
                "username",
                "user_agent",
            ],
        ),
        Table::Growth => rows(
            out,
            &d.growth.types,
            &[
                "resource",
                "creates",
                "deletes",
                "net",
                "per_hour",
                "projected",
                "flagged",
                "deletecollection_calls",
                "top_creators",
                "note",
            ],
        ),
        Table::GrowthSeries => rows(
            out,
            &d.growth.series,
            &["resource", "bin_start", "net", "cumulative"],
        ),
        Table::Webhooks => rows(
            out,
            &d.webhooks.webhooks,
            &[
                "webhook",
                "source",
                "kind",
                "failure",
                "count",
                "first_seen",
                "last_seen",
            ],
        ),
        Table::WebhookSeries => rows(
            out,
            &d.webhooks.series,
            &["webhook", "bin_start", "failures"],
        ),
        Table::Findings => rows(
            out,
            &d.findings,
            &["severity", "cause", "summary", "evidence"],
        ),
        Table::Attribution => why::attribution_csv(out, &d.attribution),
        Table::AttributionSeries => why::attribution_series_csv(out, &d.attribution),
        Table::Watches => rows(
            out,
            &d.watches.by_key_resource,
            &[
                "key",
                "resource",
                "watches",
                "open",
                "watch_seconds",
                "max_concurrent",
            ],
        ),
        Table::WatchLoad => rows(
            out,
            &d.watches.top_by_load,
            &[
                "key",
                "watches",
                "watch_seconds",
                "load_share",
                "requests",
                "request_share",
                "rank_by_requests",
            ],
        ),
        Table::WatchSeries => rows(
            out,
            &d.watches.series,
            &["key", "resource", "bin_start", "max_concurrent"],
        ),
        Table::Slo => rows(
            out,
            &d.slo.violations,
            &[
                "window_start",
                "class",
                "verb",
                "resource",
                "calls",
                "p99_ms",
                "threshold_ms",
                "top_slow_keys",
            ],
        ),
    }
}

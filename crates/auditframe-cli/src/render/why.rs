//! `diagnose`'s verdict-first parts: the ranked findings, the latency attribution (why slow
//! requests were slow) and the watch load (what request counts hide).

use std::io::Write;

use auditframe::diagnose::{AttributionReport, AttributionRow, Finding, WatchReport, COMPONENTS};

use super::show_key;
use crate::Res;

/// The ranked findings, or a clear "nothing found".
pub(crate) fn findings_table(out: &mut impl Write, findings: &[Finding]) -> Res {
    if findings.is_empty() {
        writeln!(
            out,
            "\nFindings: none — no diagnosis crossed its threshold (see the README's findings table)"
        )?;
        return Ok(());
    }
    writeln!(out, "\nFindings (most urgent first):")?;
    for (i, f) in findings.iter().enumerate() {
        let severity = serde_json::to_value(f.severity)?;
        writeln!(
            out,
            "  {:>2}. [{}] {}",
            i + 1,
            severity.as_str().unwrap_or("?"),
            f.summary
        )?;
    }
    Ok(())
}

/// A row's largest components, `etcd 82 %, serialize 6 %`.
fn main_components(r: &AttributionRow) -> String {
    let mut parts: Vec<(&str, f64)> = r
        .components
        .iter()
        .filter(|c| c.share >= 0.05)
        .map(|c| (c.component, c.share))
        .collect();
    parts.sort_by(|a, b| b.1.total_cmp(&a.1));
    parts
        .iter()
        .take(3)
        .map(|(c, s)| format!("{c} {:.0} %", s * 100.0))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why slow requests were slow, from the API server's latency annotations.
pub(crate) fn attribution_table(out: &mut impl Write, a: &AttributionReport) -> Res {
    writeln!(
        out,
        "\nWhy slow (apiserver.latency.k8s.io annotations on requests over 500 ms): {} slow requests, {} annotated, {} without annotations",
        a.slow_requests, a.annotated, a.unannotated
    )?;
    if a.annotated == 0 {
        writeln!(out, "  (no latency annotations: Kubernetes ≥ 1.23 writes them on ResponseComplete events of slow requests)")?;
        return Ok(());
    }
    writeln!(
        out,
        "  overall: {:.1} s, mostly {}",
        a.total_ms / 1000.0,
        a.dominant_cause.unwrap_or("-")
    )?;
    writeln!(
        out,
        "  {:>5}  {:>9}  {:<28} {:<7} {:<16} components; key",
        "slow", "total s", "dominant cause", "verb", "resource"
    )?;
    for r in &a.by_group {
        writeln!(
            out,
            "  {:>5}  {:>9.1}  {:<28} {:<7} {:<16} {}; {}",
            r.requests,
            r.total_ms / 1000.0,
            r.dominant_cause,
            r.verb.as_deref().unwrap_or("-"),
            r.resource.as_deref().unwrap_or("-"),
            main_components(r),
            show_key(r.key.as_deref().unwrap_or(""))
        )?;
    }
    Ok(())
}

/// Watch load per key and resource, and the keys by load next to their request rank.
pub(crate) fn watch_table(out: &mut impl Write, w: &WatchReport) -> Res {
    writeln!(
        out,
        "\nWatch load (held connections, which request counts hide): {} watches, {} still open, {:.0} watch-seconds",
        w.watches, w.open, w.watch_seconds
    )?;
    if w.top_by_load.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "  {:>7}  {:>6}  {:>8}  {:>9}  key",
        "watch-s", "load", "watches", "req rank"
    )?;
    for l in &w.top_by_load {
        writeln!(
            out,
            "  {:>7.0}  {:>5.0}%  {:>8}  {:>9}  {}",
            l.watch_seconds,
            l.load_share * 100.0,
            l.watches,
            l.rank_by_requests
                .map_or_else(|| "-".to_owned(), |r| format!("#{r}")),
            show_key(&l.key)
        )?;
    }
    Ok(())
}

/// `--table attribution`: one row per (key, verb, resource), a share and a P99 column per
/// component.
pub(crate) fn attribution_csv(out: &mut impl Write, a: &AttributionReport) -> Res {
    let mut w = csv::Writer::from_writer(out);
    let mut header: Vec<String> = [
        "key",
        "verb",
        "resource",
        "requests",
        "total_ms",
        "dominant_cause",
    ]
    .map(str::to_owned)
    .to_vec();
    for c in COMPONENTS {
        header.push(format!("{c}_share"));
        header.push(format!("{c}_p99_ms"));
    }
    w.write_record(&header)?;
    for r in &a.by_group {
        let mut rec = vec![
            r.key.clone().unwrap_or_default(),
            r.verb.clone().unwrap_or_default(),
            r.resource.clone().unwrap_or_default(),
            r.requests.to_string(),
            r.total_ms.to_string(),
            r.dominant_cause.to_owned(),
        ];
        for c in &r.components {
            rec.push(c.share.to_string());
            rec.push(c.p99_ms.to_string());
        }
        w.write_record(&rec)?;
    }
    w.flush()?;
    Ok(())
}

/// `--table attribution-series`: one row per bin, a column per component (ms).
pub(crate) fn attribution_series_csv(out: &mut impl Write, a: &AttributionReport) -> Res {
    let mut w = csv::Writer::from_writer(out);
    let mut header = vec!["bin_start".to_owned()];
    header.extend(COMPONENTS.iter().map(|c| format!("{c}_ms")));
    w.write_record(&header)?;
    for b in &a.series {
        let mut rec = vec![b.bin_start.to_string()];
        rec.extend(b.components_ms.iter().map(|(_, v)| v.to_string()));
        w.write_record(&rec)?;
    }
    w.flush()?;
    Ok(())
}

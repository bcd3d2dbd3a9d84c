//! `analyze --compare-since/--compare-until` or `--compare-cluster`: the guide's answers for
//! two sides (two windows, or two clusters in one window) and their per-key deltas.

use auditframe::analysis::{compare, partial};
use auditframe::{AnalysisOptions, AuditFrame, Partial, TimeWindow};

use crate::analyze::{context, resolved};
use crate::args::AnalyzeArgs;
use crate::render;
use crate::render::compare::Sides;
use crate::run::Run;
use crate::{options, Res};

/// The percentile compared (always computed by `analyze`).
const COMPARED_PERCENTILE: f64 = 99.0;

pub(crate) fn run(args: &AnalyzeArgs, opts: AnalysisOptions) -> Res {
    let c = &args.compare;
    // Deltas need every key's count, not a top N.
    let before_opts = opts.clone().with_top(usize::MAX);
    let after_window = match &c.compare_cluster {
        Some(_) => opts.window(),
        None => options::window_of(&None, &c.compare_since, &c.compare_until, "compare-")?,
    };
    let after_opts = before_opts.clone().with_window(after_window);
    // Two clusters: read both, then split the rows by side.
    let before_clusters = args.input.clusters.clone();
    let after_clusters: Vec<String> = c.compare_cluster.iter().cloned().collect();
    let mut input = args.input.clone();
    input.clusters.extend(after_clusters.iter().cloned());
    let side = |frame: &AuditFrame, clusters: &[String]| -> auditframe::Result<AuditFrame> {
        if c.compare_cluster.is_some() {
            frame.filter_clusters(clusters)
        } else {
            Ok(frame.clone())
        }
    };
    let run = Run::new(
        &input,
        before_opts.projection(),
        hull(opts.window(), after_window),
    )?;
    let (before, after, summary, before_window) = if run.stream {
        let before_window = run.resolve_last(opts.window())?;
        let ob = before_opts.clone().with_window(before_window);
        let (mut b, mut a) = (Partial::default(), Partial::default());
        let summary = run.stream(&mut |f| {
            b.merge(partial(&side(f, &before_clusters)?, &ob)?);
            a.merge(partial(&side(f, &after_clusters)?, &after_opts)?);
            Ok(())
        })?;
        (
            b.finish(&ob)?,
            a.finish(&after_opts)?,
            summary,
            before_window,
        )
    } else {
        let (frame, summary) = run.read()?;
        let b = auditframe::analyze(&side(&frame, &before_clusters)?, &before_opts)?;
        let a = auditframe::analyze(&side(&frame, &after_clusters)?, &after_opts)?;
        (b, a, summary, opts.window())
    };
    let comparison = compare(&before, &after, COMPARED_PERCENTILE)?;
    let one = |v: &[String]| match v {
        [one] => Some(one.to_ascii_lowercase()),
        _ => None,
    };
    let sides = Sides {
        before_window: resolved(before_window, summary.time_range),
        after_window: resolved(after_window, summary.time_range),
        before_cluster: c.compare_cluster.as_ref().and(one(&before_clusters)),
        after_cluster: one(&after_clusters),
    };
    let ctx = context(args, &opts, &run, &summary, sides.before_window);
    let mut out = render::stdout();
    match args.format {
        crate::args::Format::Table => {
            render::compare::table(&mut out, &ctx, &sides, before.group_by, &comparison)?
        }
        crate::args::Format::Json => {
            render::compare::json(&mut out, &ctx, &sides, before.group_by, &comparison)?
        }
        crate::args::Format::Csv => render::compare::csv(&mut out, &comparison, args.table)?,
    }
    std::io::Write::flush(&mut out)?;
    Ok(())
}

/// The smallest window holding both (storage files are pruned to it); `All` unless both
/// are fixed.
fn hull(a: TimeWindow, b: TimeWindow) -> TimeWindow {
    match (a, b) {
        (
            TimeWindow::Between { start: s1, end: e1 },
            TimeWindow::Between { start: s2, end: e2 },
        ) => TimeWindow::Between {
            start: s1.min(s2),
            end: e1.max(e2),
        },
        _ => TimeWindow::All,
    }
}

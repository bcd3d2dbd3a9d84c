//! `auditframe analyze`: the guide's three queries.

use auditframe::{AnalysisOptions, Partial, TimeWindow};

use crate::args::{AnalyzeArgs, Format};
use crate::render::{self, Context};
use crate::run::{Run, Summary};
use crate::{options, Res};

pub(crate) fn run(args: &AnalyzeArgs) -> Res {
    let opts = options::analysis(args)?;
    if args.compare.any() {
        return crate::compare::run(args, opts);
    }
    // Only the columns these analyses read are parsed.
    let run = Run::new(&args.input, opts.projection(), opts.window())?;
    let (analysis, summary, window) = if run.stream {
        let window = run.resolve_last(opts.window())?;
        let o = opts.clone().with_window(window);
        let mut acc = Partial::default();
        let summary = run.stream(&mut |f| {
            acc.merge(auditframe::analysis::partial(f, &o)?);
            Ok(())
        })?;
        (acc.finish(&o)?, summary, window)
    } else {
        let (frame, summary) = run.read()?;
        (auditframe::analyze(&frame, &opts)?, summary, opts.window())
    };
    let ctx = context(
        args,
        &opts,
        &run,
        &summary,
        resolved(window, summary.time_range),
    );
    let mut out = render::stdout();
    match args.format {
        Format::Table => render::analysis::table(&mut out, &ctx, &analysis)?,
        Format::Json => render::analysis::json(&mut out, &ctx, &analysis)?,
        Format::Csv => render::analysis::csv(&mut out, &analysis, args.table)?,
    }
    std::io::Write::flush(&mut out)?;
    if let Some(path) = &args.chart {
        render::chart::write_svg(path, &analysis, args.group.top)?;
        if args.format == Format::Table {
            eprintln!("chart written to {}", path.display());
        }
    }
    Ok(())
}

/// What the renderers need of an `analyze` run.
pub(crate) fn context<'a>(
    args: &'a AnalyzeArgs,
    opts: &AnalysisOptions,
    run: &Run,
    summary: &'a Summary,
    window: Option<(i64, i64)>,
) -> Context<'a> {
    Context {
        top: args.group.top,
        agent: args.agent.as_deref(),
        summary,
        window,
        stream: run.stream,
        format: run.format,
        percentile_sketch: opts.percentile_sketch(),
        total_time: run.elapsed(),
    }
}

/// The window actually applied, as (start, end) ns.
pub(crate) fn resolved(window: TimeWindow, read: Option<(i64, i64)>) -> Option<(i64, i64)> {
    window.applied(read)
}

//! `auditframe diagnose`: the guide's causes.

use auditframe::DiagnosisPartial;

use crate::analyze::resolved;
use crate::args::{DiagnoseArgs, Format};
use crate::render::{self, Context};
use crate::run::Run;
use crate::{options, Res};

pub(crate) fn run(args: &DiagnoseArgs) -> Res {
    let mut opts = options::diagnosis(args)?;
    let run = Run::new(
        &args.input,
        auditframe::Projection::diagnostics(),
        opts.window(),
    )?;
    let (diagnosis, summary) = if run.stream {
        opts = opts.clone().with_window(run.resolve_last(opts.window())?);
        let mut acc = DiagnosisPartial::default();
        let summary = run.stream(&mut |f| {
            acc.merge(auditframe::diagnose::diagnose_partial(f, &opts)?);
            Ok(())
        })?;
        (acc.finish(&opts)?, summary)
    } else {
        let (frame, summary) = run.read()?;
        (auditframe::diagnose(&frame, &opts)?, summary)
    };
    let ctx = Context {
        top: args.group.top,
        agent: None,
        summary: &summary,
        window: resolved(opts.window(), summary.time_range),
        stream: run.stream,
        format: run.format,
        percentile_sketch: None,
        total_time: run.elapsed(),
    };
    let mut out = render::stdout();
    match args.format {
        Format::Table => render::diagnosis::table(&mut out, &ctx, &diagnosis, &opts)?,
        Format::Json => render::diagnosis::json(&mut out, &ctx, &diagnosis)?,
        Format::Csv => render::diagnosis::csv(&mut out, &diagnosis, args.table)?,
    }
    std::io::Write::flush(&mut out)?;
    Ok(())
}

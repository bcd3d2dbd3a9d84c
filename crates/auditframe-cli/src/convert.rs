//! `auditframe convert`: any export auditframe reads (NDJSON / JSON shapes, `.gz`,
//! directories) into canonical Parquet, a frame at a time (bounded memory), with a progress
//! line.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::sync::Arc;
use std::time::Instant;

use auditframe::Projection;
use auditframe_parquet::WriterBuilder;

use crate::args::{Columns, ConvertArgs};
use crate::Res;

pub(crate) fn run(args: &ConvertArgs) -> Res {
    let projection = match args.columns {
        Columns::All => Projection::all(),
        Columns::Analyses => Projection::analyses(),
        Columns::Diagnostics => Projection::diagnostics().with(auditframe::Column::TimeGenerated),
    };
    let started = Instant::now();
    let tty = std::io::stderr().is_terminal();
    // The progress line: on a terminal rewritten in place, else a line per 64 MiB block.
    let progress = Arc::new(move |p: &auditframe::source::Progress<'_>| {
        let secs = started.elapsed().as_secs_f64().max(1e-9);
        let bytes = p.bytes.unwrap_or(0) as f64 / 1e6;
        let line = format!(
            "converting {}: {bytes:.0} MB read, {} rows, {:.0} MB/s",
            p.input,
            p.rows,
            bytes / secs
        );
        if tty {
            eprint!("\r\x1b[K{line}");
        } else {
            eprintln!("{line}");
        }
    });
    let reader = auditframe_ndjson::ReaderBuilder::new()
        .projection(projection)
        .strict(args.strict)
        .reject_truncated(args.reject_truncated)
        .shape(args.shape)
        .progress(progress);
    let out = File::create(&args.output).map_err(|e| format!("{}: {e}", args.output.display()))?;
    let name = args.output.display().to_string();
    let mut writer = WriterBuilder::new()
        .row_group_rows(args.row_group_rows)
        .zstd_level(args.zstd_level)
        .open(BufWriter::new(out), projection, &name)?;
    let mut write_error = None;
    let report = reader.for_each_frame(&args.paths, |frame, _| {
        writer.write(&frame).map_err(|e| {
            let msg = e.to_string();
            write_error = Some(e);
            auditframe_ndjson::Error::Parse(auditframe::Error::new(
                auditframe::ErrorKind::InvalidArgument(msg),
            ))
        })
    });
    if let Some(e) = write_error {
        return Err(e.into());
    }
    let report = report?;
    let rows = writer.rows();
    writer.finish()?.flush()?;
    if tty {
        eprint!("\r\x1b[K");
    }
    let size = std::fs::metadata(&args.output)?.len();
    let r = &report.parse;
    eprintln!(
        "{}: {rows} rows, {} log lines, {} skipped; {:.1} MB of input → {:.1} MB of Parquet in {:.2}s",
        args.output.display(),
        r.log_lines,
        r.skipped_total(),
        report.bytes() as f64 / 1e6,
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    for e in r.errors.iter().take(3) {
        eprintln!("  skipped: {e}");
    }
    Ok(())
}

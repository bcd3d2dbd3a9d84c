//! `convert`: any export auditframe reads (NDJSON / JSON shapes, `.gz`, directories) into
//! canonical Parquet, a frame at a time (bounded memory), with a progress line.
//!
//! ```text
//! cargo run --release --example convert -- export/ -o audit.parquet
//! cargo run --release --example analyze -- audit.parquet
//! ```

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use auditframe::{Projection, Shape};
use auditframe_parquet::WriterBuilder;
use clap::{Parser, ValueEnum};

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum Columns {
    /// Every canonical column.
    All,
    /// Only what the guide's three queries read (smallest, fastest file).
    Analyses,
    /// What the analyses and `--diagnose` read.
    Diagnostics,
}

/// Convert Kubernetes audit exports to canonical Parquet.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Args {
    /// Inputs: files (.gz too), directories (read recursively), `-` for stdin.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The Parquet file to write.
    #[arg(short, long)]
    output: PathBuf,
    /// Which columns to keep.
    #[arg(long, value_enum, default_value = "all")]
    columns: Columns,
    /// Rows per row group.
    #[arg(long, default_value_t = auditframe_parquet::DEFAULT_ROW_GROUP_ROWS)]
    row_group_rows: usize,
    /// zstd level (1–22).
    #[arg(long, default_value_t = auditframe_parquet::DEFAULT_ZSTD_LEVEL)]
    zstd_level: i32,
    /// Fail on the first bad record instead of skipping and counting it.
    #[arg(long)]
    strict: bool,
    /// Force the input shape instead of sniffing it.
    #[arg(long, value_parser = |s: &str| Shape::from_name(s).ok_or_else(|| format!("unknown shape `{s}`")))]
    shape: Option<Shape>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("convert: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let projection = match args.columns {
        Columns::All => Projection::all(),
        Columns::Analyses => Projection::analyses(),
        Columns::Diagnostics => Projection::diagnostics().with(auditframe::Column::TimeGenerated),
    };
    let started = Instant::now();
    let tty = std::io::stderr().is_terminal();
    // The progress line: on a terminal rewritten in place, else a line per 64 MiB block.
    let progress = Arc::new(move |name: &str, bytes: u64, rows: u64| {
        let secs = started.elapsed().as_secs_f64().max(1e-9);
        let line = format!(
            "converting {name}: {:.0} MB read, {rows} rows, {:.0} MB/s",
            bytes as f64 / 1e6,
            bytes as f64 / 1e6 / secs
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

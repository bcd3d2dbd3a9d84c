//! `auditframe`: the AKS troubleshooting guide's audit-log queries and diagnoses, offline.
//!
//! ```text
//! auditframe analyze                              # the embedded sample
//! auditframe analyze audit.log.gz export/         # files, .gz, directories, `-` for stdin
//! auditframe analyze --by user --last 1h --format json export.json
//! auditframe diagnose export/
//! auditframe convert export/ -o audit.parquet && auditframe analyze audit.parquet
//! auditframe inspect export/
//! ```
//!
//! Exit status: 0 on success, 1 when an input cannot be read (or holds a bad record under
//! `--strict`), 2 on a usage error.

mod analyze;
mod args;
mod clusters;
mod compare;
mod convert;
mod diagnose;
mod generate;
mod inputs;
mod inspect;
mod options;
mod render;
mod run;

use std::fmt;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use args::{Cli, Command};

/// A usage error found after parsing (a bad duration, a window that is out of order…): exit
/// status 2, like clap's own.
#[derive(Debug)]
pub(crate) struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// What every subcommand returns.
pub(crate) type Res<T = ()> = Result<T, Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (name, result) = match &cli.command {
        Command::Analyze(a) => ("analyze", analyze::run(a)),
        Command::Diagnose(a) => ("diagnose", diagnose::run(a)),
        Command::Convert(a) => ("convert", convert::run(a)),
        Command::Generate(a) => ("generate", generate::run(a)),
        Command::Inspect(a) => ("inspect", inspect::run(a)),
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(*shell, &mut cmd, "auditframe", &mut std::io::stdout());
            ("completions", Ok(()))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `auditframe analyze | head` closing the pipe early is not an error.
        Err(e) if is_broken_pipe(e.as_ref()) => ExitCode::SUCCESS,
        Err(e) if e.is::<UsageError>() => {
            eprintln!("auditframe {name}: usage error: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("auditframe {name}: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    let kind = e
        .downcast_ref::<std::io::Error>()
        .map(std::io::Error::kind)
        .or_else(|| {
            e.downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
        })
        .or_else(
            || match e.downcast_ref::<csv::Error>().map(csv::Error::kind) {
                Some(csv::ErrorKind::Io(io)) => Some(io.kind()),
                _ => None,
            },
        );
    kind == Some(std::io::ErrorKind::BrokenPipe)
}

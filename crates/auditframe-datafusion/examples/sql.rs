//! The guide's three answers — or any SQL — over audit exports, with DataFusion on this
//! machine or on a Ballista cluster.
//!
//! ```text
//! cargo run --release -p auditframe-datafusion --example sql -- PATH… [--by user-agent|user]
//!     [--top N] [--bin 5m] [--percentiles 99,99.9] [--agent UA] [--last 1h]
//!     [--format json|table] [--ballista | --ballista-url df://host:port] [--sql QUERY]
//! ```
//!
//! Without `--sql` it prints the guide's three answers in exactly the JSON contract of
//! `auditframe analyze --format json` (`rows`, `group_by`, `top`, `latency`, `p99`, `bin`,
//! `percentiles`, `percentile_relative_error`). With `--sql` it runs the query over the
//! registered table `audit` and prints its result (`json`: an array of row objects).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use auditframe::analysis::parse_duration;
use auditframe::{AnalysisOptions, GroupKey, TimeWindow};
use auditframe_datafusion::{ballista, guide, register_audit, AuditTableOptions};
use clap::{Parser, ValueEnum};
use common::Res;
use datafusion::arrow::array::RecordBatch;
use datafusion::prelude::{SessionConfig, SessionContext};

mod common;

#[derive(Parser)]
#[command(
    about = "The guide's three answers, or any SQL, over audit exports (DataFusion / Ballista)"
)]
struct Args {
    /// Audit exports: files or directories of any JSON shape (.gz too), or Parquet.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Group by user agent (the guide) or username.
    #[arg(long, value_enum, default_value = "user-agent")]
    by: By,
    /// How many keys Top N keeps.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// Bin width of the latency series.
    #[arg(long, default_value = "5m")]
    bin: String,
    /// Percentiles, comma separated.
    #[arg(long, default_value = "99", value_delimiter = ',')]
    percentiles: Vec<f64>,
    /// Percentiles for this key only (the guide's third query).
    #[arg(long)]
    agent: Option<String>,
    /// Only the last DURATION before the newest event (by time_generated).
    #[arg(long)]
    last: Option<String>,
    /// Keep only this stage (e.g. ResponseComplete).
    #[arg(long)]
    stage: Option<String>,
    /// Leave watches and exec/attach/portforward/proxy out of latencies.
    #[arg(long)]
    exclude_long_running: bool,
    /// Keep both copies of requests exported under kube-audit and kube-audit-admin.
    #[arg(long)]
    keep_copies: bool,
    /// Fail on the first bad record instead of skipping it.
    #[arg(long)]
    strict: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Run on an in-process Ballista scheduler and executor.
    #[arg(long, conflicts_with = "ballista_url")]
    ballista: bool,
    /// Run on the Ballista cluster at this scheduler (its scheduler and executors must be
    /// auditframe's: see the `scheduler` and `executor` examples).
    #[arg(long, value_name = "df://host:port")]
    ballista_url: Option<String>,
    /// Partitions DataFusion plans for (default: the cores).
    #[arg(long)]
    partitions: Option<usize>,
    /// A query over the table `audit`, printed instead of the guide's answers.
    #[arg(long)]
    sql: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum By {
    UserAgent,
    User,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Json,
    Table,
}

fn main() -> ExitCode {
    common::run(run(Args::parse()))
}

async fn run(args: Args) -> Res<()> {
    let ctx = if let Some(url) = &args.ballista_url {
        ballista::remote_context(url).await?
    } else if args.ballista {
        ballista::standalone_context().await?
    } else {
        let mut config = SessionConfig::new();
        if let Some(n) = args.partitions {
            config = config.with_target_partitions(n);
        }
        SessionContext::new_with_config(config)
    };
    let table = AuditTableOptions::default()
        .with_keep_copies(args.keep_copies)
        .with_strict(args.strict);
    register_audit(&ctx, "audit", &args.paths, &table).await?;
    if let Some(sql) = &args.sql {
        let batches = ctx.sql(sql).await?.collect().await?;
        return print_batches(&batches, args.format);
    }
    let mut opts = AnalysisOptions::default()
        .with_key(match args.by {
            By::UserAgent => GroupKey::UserAgent,
            By::User => GroupKey::User,
        })
        .with_top(args.top)
        .with_bin(parse_duration(&args.bin)?)
        .with_percentiles(args.percentiles.clone())
        .with_only_key(args.agent.clone())
        .with_stage(args.stage.clone())
        .with_exclude_long_running(args.exclude_long_running);
    if let Some(last) = &args.last {
        opts = opts.with_window(TimeWindow::Last(parse_duration(last)?));
    }
    match args.format {
        Format::Json => {
            let answers = guide::analyze(&ctx, "audit", &opts).await?;
            let mut out = std::io::stdout().lock();
            serde_json::to_writer(&mut out, &answers.contract(None))?;
            writeln!(out)?;
        }
        Format::Table => {
            let window = guide::window_of(&ctx, "audit", &opts).await?;
            let sql = guide::guide_sql("audit", &opts, window)?;
            for (title, q) in [
                ("Top user agents by requests", &sql.top),
                ("Average latency per key and bin", &sql.latency),
                (
                    "Latency percentiles per verb and resource",
                    &sql.percentiles,
                ),
            ] {
                writeln!(std::io::stdout().lock(), "{title}\n{q}")?;
                let batches = ctx.sql(q).await?.collect().await?;
                print_batches(&batches, Format::Table)?;
            }
        }
    }
    Ok(())
}

fn print_batches(batches: &[RecordBatch], format: Format) -> Res<()> {
    match format {
        Format::Table => {
            let table = datafusion::arrow::util::pretty::pretty_format_batches(batches)?;
            writeln!(std::io::stdout().lock(), "{table}\n")?;
        }
        Format::Json => {
            let mut w = datafusion::arrow::json::ArrayWriter::new(Vec::new());
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
            let mut out = std::io::stdout().lock();
            out.write_all(&w.into_inner())?;
            writeln!(out)?;
        }
    }
    Ok(())
}

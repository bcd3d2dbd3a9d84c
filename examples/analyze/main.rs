//! `analyze`: the AKS troubleshooting guide's three audit-log queries, offline.
//!
//! ```text
//! cargo run --release --example analyze                       # the embedded sample
//! cargo run --release --example analyze -- audit.log.gz dir/ # files, .gz, directories
//! cargo run --release --example analyze -- audit.parquet      # Parquet files or directories
//! cargo run --release --example analyze -- --by user --last 1h --format json export.json
//! ```

mod chart;
mod diagnosis;
mod inputs;
mod output;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use auditframe::{
    parse_duration, parse_timestamp, AnalysisOptions, AuditFrame, DiagnoseOptions, GroupKey,
    ListReadRules, Projection, Shape, TimeWindow,
};
use auditframe_ndjson::ReaderBuilder;
use clap::{Parser, ValueEnum};
use inputs::Inputs;

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum By {
    UserAgent,
    User,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum StageArg {
    /// Every event row, like the guide's queries.
    All,
    /// Only `ResponseComplete` rows, so that multi-stage requests count once.
    Complete,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(crate) enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(crate) enum Table {
    Top,
    Latency,
    P99,
    // With --diagnose:
    ListClasses,
    ListOffenders,
    Throttled,
    ThrottledSeries,
    Guard,
    Growth,
    GrowthSeries,
    Webhooks,
    WebhookSeries,
    Slo,
}

fn parse_rules(s: &str) -> Result<ListReadRules, String> {
    ListReadRules::from_name(s)
        .ok_or_else(|| format!("unknown rules {s:?}; before-1.31 or since-1.31"))
}

/// `--shape`: a shape name as in the `source_shape` column, `-` or `_` alike.
fn parse_shape(s: &str) -> Result<Shape, String> {
    Shape::from_name(&s.replace('-', "_")).ok_or_else(|| {
        let names: Vec<&str> = Shape::ALL.iter().map(|s| s.name()).collect();
        format!("unknown shape {s:?}; one of {}", names.join(", "))
    })
}

/// Top clients, latency timechart and P99 per verb and resource, from Kubernetes audit logs.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Args {
    /// Inputs: files (.gz too), directories (read recursively), `-` for stdin; or Parquet
    /// files / directories of them (written by `convert`, DuckDB, Spark…).
    /// Without any, the embedded sample is analysed.
    paths: Vec<PathBuf>,
    /// Group by user agent (the guide's AKSAudit queries) or username (its AzureDiagnostics ones).
    #[arg(long, value_enum, default_value = "user-agent")]
    by: By,
    /// How many keys Top N lists.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// Bin width of the latency series (KQL `bin(start_time, 5m)`).
    #[arg(long, default_value = "5m")]
    bin: String,
    /// Percentiles only for this key (the guide's `where UserAgent == "…"`).
    #[arg(long)]
    agent: Option<String>,
    /// Percentiles to compute (repeatable); P99 is always included.
    #[arg(long = "percentile", default_value = "99")]
    percentiles: Vec<f64>,
    /// Only the last duration up to the newest event (e.g. 1h).
    #[arg(long, conflicts_with_all = ["since", "until"])]
    last: Option<String>,
    /// Window start, RFC 3339, inclusive.
    #[arg(long)]
    since: Option<String>,
    /// Window end, RFC 3339, inclusive.
    #[arg(long)]
    until: Option<String>,
    /// Which stages count.
    #[arg(long, value_enum, default_value = "all")]
    stage: StageArg,
    /// Leave watch / exec / attach / portforward / proxy out of latency figures.
    #[arg(long)]
    exclude_long_running: bool,
    /// Fail on the first bad record instead of skipping and counting it.
    #[arg(long)]
    strict: bool,
    /// Force the input shape instead of sniffing it (native, event-list, aks-audit,
    /// azure-diagnostics, archive, event-hub).
    #[arg(long, value_parser = parse_shape)]
    shape: Option<Shape>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Which table `--format csv` prints (default: top; with --diagnose: slo).
    #[arg(long, value_enum)]
    table: Option<Table>,
    /// Diagnose the guide's causes instead: LIST read types (cache vs etcd), throttling and
    /// the API server guard, object growth, webhook failures, SLO verdicts.
    #[arg(long)]
    diagnose: bool,
    /// LIST read-type rules of the apiserver version: before-1.31 or since-1.31.
    #[arg(long, value_parser = parse_rules, default_value = "since-1.31")]
    list_rules: ListReadRules,
    /// Objects per type that count as too many (the guide's 10 000).
    #[arg(long, default_value_t = 10_000)]
    growth_threshold: i64,
    /// How far object growth is extrapolated when flagging.
    #[arg(long, default_value = "24h")]
    growth_horizon: String,
    /// SLO thresholds (P99): mutating calls.
    #[arg(long, default_value = "1s")]
    slo_mutating: String,
    /// SLO threshold: read-only single-object calls.
    #[arg(long, default_value = "1s")]
    slo_read_object: String,
    /// SLO threshold: read-only namespace-scope LISTs.
    #[arg(long, default_value = "5s")]
    slo_read_namespace: String,
    /// SLO threshold: read-only cluster-scope LISTs.
    #[arg(long, default_value = "30s")]
    slo_read_cluster: String,
    /// Also write an SVG timechart of the latency series (top-N keys) to this file.
    #[arg(long, conflicts_with = "diagnose")]
    chart: Option<PathBuf>,
    /// Percentiles from bounded-memory sketches with this relative error (e.g. 0.01) instead
    /// of exact values: for inputs whose latencies do not fit in memory.
    #[arg(long, value_name = "ALPHA")]
    approx_percentiles: Option<f64>,
    /// Stream: a frame per 64 MiB block (per ~1M rows for Parquet), merged partial aggregates,
    /// bounded memory. Chosen automatically for inputs over 2 GiB (gzip and Parquet counted
    /// at 10× their size) and for stdin.
    #[arg(long, conflicts_with = "in_memory")]
    stream: bool,
    /// Build one frame of the whole input, whatever its size.
    #[arg(long)]
    in_memory: bool,
}

/// Inputs larger than this are streamed unless `--in-memory` is given.
const STREAM_ABOVE_BYTES: u64 = 2 << 30;

/// Whether to stream: by flag, or by the inputs' (estimated uncompressed) size.
fn should_stream(args: &Args) -> bool {
    if args.stream {
        return true;
    }
    if args.in_memory || args.paths.is_empty() {
        return false;
    }
    let mut total = 0u64;
    for p in &args.paths {
        if p.as_os_str() == "-" {
            // stdin: unknown size; stream unless `--last` needs to see it all first.
            return args.last.is_none();
        }
        total = total.saturating_add(inputs::estimated_bytes(p));
    }
    total > STREAM_ABOVE_BYTES
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        // `analyze | head` closing the pipe early is not an error.
        Err(e) if is_broken_pipe(e.as_ref()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("analyze: error: {e}");
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
        });
    kind == Some(std::io::ErrorKind::BrokenPipe)
}

fn options(args: &Args) -> Result<AnalysisOptions, Box<dyn std::error::Error>> {
    let window = match (&args.last, &args.since, &args.until) {
        (Some(d), _, _) => TimeWindow::Last(parse_duration(d)?),
        (None, None, None) => TimeWindow::All,
        (None, s, u) => {
            let ts = |v: &Option<String>, dflt: i64| -> Result<i64, Box<dyn std::error::Error>> {
                match v {
                    Some(v) => parse_timestamp(v).map_err(|e| format!("{v:?}: {e}").into()),
                    None => Ok(dflt),
                }
            };
            TimeWindow::Between {
                start: ts(s, i64::MIN)?,
                end: ts(u, i64::MAX)?,
            }
        }
    };
    let mut percentiles = args.percentiles.clone();
    if !percentiles.contains(&99.0) {
        percentiles.push(99.0);
    }
    let opts = AnalysisOptions::default()
        .key(match args.by {
            By::UserAgent => GroupKey::UserAgent,
            By::User => GroupKey::User,
        })
        .top(args.top)
        .bin(parse_duration(&args.bin)?)
        .percentiles(percentiles)
        .only_key(args.agent.clone())
        .window(window)
        .stage((args.stage == StageArg::Complete).then(|| "ResponseComplete".to_owned()))
        .exclude_long_running(args.exclude_long_running)
        .percentile_sketch(args.approx_percentiles);
    opts.validate()?;
    Ok(opts)
}

fn diagnose_options(
    args: &Args,
    opts: &AnalysisOptions,
) -> Result<DiagnoseOptions, Box<dyn std::error::Error>> {
    let ms = |s: &str| -> Result<i64, Box<dyn std::error::Error>> {
        Ok(parse_duration(s)? / auditframe::NANOS_PER_MILLI)
    };
    let d = DiagnoseOptions {
        key: opts.key,
        window: opts.window,
        top: args.top,
        bin_ns: opts.bin_ns,
        list_rules: args.list_rules,
        growth_threshold: args.growth_threshold,
        growth_horizon_ns: parse_duration(&args.growth_horizon)?,
        slo: auditframe::SloThresholds {
            mutating_ms: ms(&args.slo_mutating)?,
            read_object_ms: ms(&args.slo_read_object)?,
            read_namespace_ms: ms(&args.slo_read_namespace)?,
            read_cluster_ms: ms(&args.slo_read_cluster)?,
        },
        ..DiagnoseOptions::default()
    };
    d.validate()?;
    Ok(d)
}

/// `--last` over a stream needs the newest time first: a pre-pass reads only
/// `time_generated`, and the window becomes a fixed one.
fn resolve_last(
    reader: &Inputs,
    paths: &[PathBuf],
    window: TimeWindow,
) -> Result<TimeWindow, Box<dyn std::error::Error>> {
    let TimeWindow::Last(_) = window else {
        return Ok(window);
    };
    if paths.iter().any(|p| p.as_os_str() == "-") {
        return Err("--last cannot stream stdin (it needs the newest time first): use --since/--until or --in-memory".into());
    }
    if paths.is_empty() {
        return Err(
            "--last --stream needs paths (the embedded sample is small: drop --stream)".into(),
        );
    }
    let mut newest: Option<i64> = None;
    reader
        .with_projection(Projection::of(&[auditframe::Column::TimeGenerated]))
        .for_each_frame(paths, &mut |f, _| {
            newest = newest.max(f.time_range().map(|(_, b)| b));
            Ok(())
        })?;
    let (start, end) = window.bounds(newest).unwrap_or((i64::MIN, i64::MIN));
    Ok(TimeWindow::Between { start, end })
}

/// What a stream read returns besides the accumulated results: the read report, the time
/// range read and the number of frames.
type Streamed = (auditframe_ndjson::ReadReport, Option<(i64, i64)>, usize);

/// Streams the inputs: each block's frame goes to `each` (which folds it into a partial
/// aggregate) and is dropped.
fn stream_frames(
    reader: &Inputs,
    paths: &[PathBuf],
    each: &mut dyn FnMut(&AuditFrame) -> auditframe::Result<()>,
) -> Result<Streamed, Box<dyn std::error::Error>> {
    let mut range: Option<(i64, i64)> = None;
    let mut frames = 0;
    let report = reader.for_each_frame(paths, &mut |frame, _| {
        frames += 1;
        if let Some((a, b)) = frame.time_range() {
            range = Some(range.map_or((a, b), |(x, y)| (x.min(a), y.max(b))));
        }
        each(&frame)
    })?;
    Ok((report, range, frames))
}

/// The results of a run: the seed analyses or the diagnoses.
enum Results {
    Analysis(auditframe::Analysis),
    Diagnosis(Box<auditframe::Diagnosis>, DiagnoseOptions),
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let opts = options(args)?;
    let shape = args.shape;
    // Only the columns these analyses read are parsed.
    let projection = if args.diagnose {
        Projection::diagnostics()
    } else {
        opts.projection()
    };
    let tty = std::io::stderr().is_terminal();
    let started = Instant::now();
    let reader = if inputs::paths_are_parquet(&args.paths)? {
        let mut r = auditframe_parquet::ReaderBuilder::new()
            .projection(projection)
            .strict(args.strict);
        // A fixed window lets the reader skip row groups by their statistics.
        if let TimeWindow::Between { start, end } = opts.window {
            r = r.time_window(start, end);
        }
        if tty {
            r = r.progress(Arc::new(|name, done, total| {
                eprint!("\r\x1b[Kreading {name}: row group {done} of {total}");
            }));
        }
        Inputs::Parquet(r)
    } else {
        let mut r = ReaderBuilder::new()
            .projection(projection)
            .strict(args.strict)
            .shape(shape);
        if tty {
            r = r.progress(Arc::new(move |name, bytes, rows| {
                let secs = started.elapsed().as_secs_f64().max(1e-9);
                eprint!(
                    "\r\x1b[Kreading {name}: {:.0} MB, {rows} rows, {:.0} MB/s",
                    bytes as f64 / 1e6,
                    bytes as f64 / 1e6 / secs
                );
            }));
        }
        Inputs::Json(r)
    };
    let stream = should_stream(args);
    let diag = if args.diagnose {
        Some(diagnose_options(args, &opts)?)
    } else {
        None
    };
    // In stream mode reading and analysing interleave: "read" is the whole run.
    let (results, report, time_range, frames, read_time) = if stream {
        let window = resolve_last(&reader, &args.paths, opts.window)?;
        match diag {
            Some(mut d) => {
                d.window = window;
                let mut acc = auditframe::DiagnosisPartial::default();
                let (r, t, n) = stream_frames(&reader, &args.paths, &mut |f| {
                    acc.merge(auditframe::diagnose_partial(f, &d)?);
                    Ok(())
                })?;
                let results = Results::Diagnosis(Box::new(acc.finish(&d)?), d);
                (results, r, t, n, started.elapsed())
            }
            None => {
                let o = opts.clone().window(window);
                let mut acc = auditframe::Partial::default();
                let (r, t, n) = stream_frames(&reader, &args.paths, &mut |f| {
                    acc.merge(auditframe::partial(f, &o)?);
                    Ok(())
                })?;
                (
                    Results::Analysis(acc.finish(&o)?),
                    r,
                    t,
                    n,
                    started.elapsed(),
                )
            }
        }
    } else {
        let (frame, report) = reader.read(&args.paths)?;
        let read_time = started.elapsed();
        let results = match diag {
            Some(d) => Results::Diagnosis(Box::new(auditframe::diagnose(&frame, &d)?), d),
            None => Results::Analysis(auditframe::analyze(&frame, &opts)?),
        };
        (results, report, frame.time_range(), 1, read_time)
    };
    if tty {
        eprint!("\r\x1b[K");
    }
    let total_time = started.elapsed();
    let ctx = output::Context {
        args_top: args.top,
        agent: args.agent.as_deref(),
        time_range,
        mode: if stream { "stream" } else { "memory" },
        format: match reader {
            Inputs::Json(_) => "json",
            Inputs::Parquet(_) => "parquet",
        },
        frames,
        report: &report,
        opts: &opts,
        read_time,
        total_time,
    };
    let mut out = std::io::stdout().lock();
    match results {
        Results::Analysis(analysis) => {
            match args.format {
                Format::Table => output::table(&mut out, &ctx, &analysis)?,
                Format::Json => output::json(&mut out, &ctx, &analysis)?,
                Format::Csv => output::csv(&mut out, &analysis, args.table.unwrap_or(Table::Top))?,
            }
            if let Some(path) = &args.chart {
                chart::write_svg(path, &analysis, args.top)?;
                if args.format == Format::Table {
                    eprintln!("chart written to {}", path.display());
                }
            }
        }
        Results::Diagnosis(d, o) => match args.format {
            Format::Table => diagnosis::table(&mut out, &ctx, &d, &o)?,
            Format::Json => diagnosis::json(&mut out, &ctx, &d)?,
            Format::Csv => diagnosis::csv(&mut out, &d, args.table.unwrap_or(Table::Slo))?,
        },
    }
    Ok(())
}

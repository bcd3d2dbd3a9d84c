//! The module's functions. Arguments arrive already normalised by the Python package
//! (`auditframe/__init__.py`: paths as a list, datetimes as RFC 3339 text); options are
//! checked here and bad ones raise `ValueError`.

use std::path::PathBuf;

use auditframe::analysis::parse_duration;
use auditframe::analysis::WindowContract;
use auditframe::diagnose::{ListReadRules, SloThresholds};
use auditframe::time::{parse_timestamp, NANOS_PER_MILLI};
use auditframe::{AnalysisOptions, Column, DiagnoseOptions, GroupKey, Projection, Shape};
use auditframe::{AuditFrame, TimeWindow};
use pyo3::prelude::*;
use serde_json::{json, Map, Value};

use crate::arrow_export::Table;
use crate::errors::Failure;
use crate::frame::Frame;
use crate::inputs::{read_fields, ReadOptions};
use crate::interrupt;

/// A `--since`-style option: RFC 3339 text.
fn timestamp(what: &str, v: &str) -> Result<i64, Failure> {
    parse_timestamp(v).map_err(|e| Failure::Usage(format!("{what} {v:?}: {e}")))
}

/// A `5m`-style duration, ns.
fn duration(what: &str, v: &str) -> Result<i64, Failure> {
    parse_duration(v).map_err(|e| Failure::Usage(format!("{what} {v:?}: {e}")))
}

/// The window of `last` / `since` / `until` (as the CLI's flags: `last` wins).
fn window(
    last: Option<&str>,
    since: Option<&str>,
    until: Option<&str>,
) -> Result<TimeWindow, Failure> {
    Ok(match (last, since, until) {
        (Some(d), _, _) => TimeWindow::Last(duration("last", d)?),
        (None, None, None) => TimeWindow::All,
        (None, s, u) => TimeWindow::Between {
            start: s
                .map(|s| timestamp("since", s))
                .transpose()?
                .unwrap_or(i64::MIN),
            end: u
                .map(|u| timestamp("until", u))
                .transpose()?
                .unwrap_or(i64::MAX),
        },
    })
}

/// The window applied, in the contract's form (with no window, the read's own time range).
fn window_json(window: TimeWindow, read_range: Option<(i64, i64)>) -> Value {
    serde_json::to_value(WindowContract(window.applied(read_range))).unwrap_or(Value::Null)
}

fn group_key(by: &str) -> Result<GroupKey, Failure> {
    match by.replace('-', "_").as_str() {
        "user_agent" => Ok(GroupKey::UserAgent),
        "user" => Ok(GroupKey::User),
        "cluster" => Ok(GroupKey::Cluster),
        _ => Err(Failure::Usage(format!(
            "by {by:?}: one of user_agent, user, cluster"
        ))),
    }
}

fn shape(name: Option<&str>) -> Result<Option<Shape>, Failure> {
    name.map(|n| {
        Shape::from_name(n).ok_or_else(|| {
            let known: Vec<&str> = Shape::ALL.iter().map(|s| s.name()).collect();
            Failure::Usage(format!("shape {n:?}: one of {}", known.join(", ")))
        })
    })
    .transpose()
}

/// A preset's or a list's columns.
fn projection(columns: &[String]) -> Result<Projection, Failure> {
    let cols = columns
        .iter()
        .map(|n| {
            Column::from_name(n).ok_or_else(|| Failure::Usage(format!("unknown column {n:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Projection::of(&cols))
}

/// A frame from `read`, or paths to read: what `analyze` and `diagnose` take.
enum Source {
    Frame(Py<Frame>),
    Paths(ReadOptions),
}

impl Source {
    fn new(source: &Bound<'_, PyAny>, read: ReadArgs) -> PyResult<Source> {
        if let Ok(frame) = source.cast::<Frame>() {
            return Ok(Source::Frame(frame.clone().unbind()));
        }
        let paths: Vec<PathBuf> = source.extract()?;
        Ok(Source::Paths(read.options(paths)?))
    }

    /// The frame and the read's fields (a frame's own report when it was read before).
    fn frame<T: Send + 'static>(
        &self,
        py: Python<'_>,
        projection: Projection,
        window: TimeWindow,
        then: impl FnOnce(&AuditFrame) -> Result<T, Failure> + Send + 'static,
    ) -> PyResult<(T, Map<String, Value>)> {
        match self {
            Source::Frame(f) => {
                let f = f.get();
                let mut fields = f.report.clone();
                // This call's window, not the read's.
                fields.insert("window".into(), window_json(window, f.frame.time_range()));
                // Cheap: the columns are shared, not copied.
                let frame = f.frame.clone();
                let out = interrupt::run(py, move |_| then(&frame))?;
                Ok((out, fields))
            }
            Source::Paths(opts) => {
                let opts = opts.clone();
                interrupt::run(py, move |cancel| {
                    let read = opts.read(projection, window, cancel)?;
                    let mut fields = read.fields();
                    fields.insert(
                        "window".into(),
                        window_json(window, read.frame.time_range()),
                    );
                    Ok((then(&read.frame)?, fields))
                })
            }
        }
    }
}

/// The read options every function shares.
struct ReadArgs {
    shape: Option<String>,
    strict: bool,
    reject_truncated: bool,
    clusters: Vec<String>,
    keep_copies: bool,
}

impl ReadArgs {
    fn options(self, paths: Vec<PathBuf>) -> PyResult<ReadOptions> {
        Ok(ReadOptions {
            paths,
            shape: shape(self.shape.as_deref()).map_err(Failure::into_py)?,
            strict: self.strict,
            reject_truncated: self.reject_truncated,
            clusters: self.clusters,
            keep_copies: self.keep_copies,
        })
    }
}

/// Reads exports into a frame (see the Python package's `read`).
#[pyfunction]
#[pyo3(signature = (paths, shape=None, columns=None, strict=false, since=None, until=None, last=None, clusters=Vec::new(), keep_copies=false, reject_truncated=false))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn read(
    py: Python<'_>,
    paths: Vec<PathBuf>,
    shape: Option<String>,
    columns: Option<Vec<String>>,
    strict: bool,
    since: Option<String>,
    until: Option<String>,
    last: Option<String>,
    clusters: Vec<String>,
    keep_copies: bool,
    reject_truncated: bool,
) -> PyResult<Frame> {
    let opts = ReadArgs {
        shape,
        strict,
        reject_truncated,
        clusters,
        keep_copies,
    }
    .options(paths)?;
    let wanted = match &columns {
        Some(c) => projection(c).map_err(Failure::into_py)?,
        None => Projection::all(),
    };
    let window =
        window(last.as_deref(), since.as_deref(), until.as_deref()).map_err(Failure::into_py)?;
    interrupt::run(py, move |cancel| {
        let read = opts.read(wanted, window, cancel)?;
        let range = read.frame.time_range();
        let frame = match window.bounds(range.map(|(_, newest)| newest)) {
            Some((start, end)) => read.frame.filter_time(start, end)?,
            None => read.frame.clone(),
        };
        // Columns read only to drop copies or pick clusters are not the caller's.
        let frame = if columns.is_some() && frame.projection() != wanted {
            only(&frame, wanted)?
        } else {
            frame
        };
        let mut fields = read.fields();
        fields.insert("window".into(), window_json(window, range));
        fields.insert("rows".into(), frame.height().into());
        Ok(Frame {
            frame,
            report: fields,
        })
    })
}

/// `frame` with only the columns of `projection`.
fn only(frame: &AuditFrame, projection: Projection) -> Result<AuditFrame, Failure> {
    let names: Vec<&str> = projection.columns().map(Column::name).collect();
    let df = frame
        .dataframe()
        .select(names)
        .map_err(|e| Failure::Arrow(e.to_string()))?;
    Ok(
        AuditFrame::from_dataframe(df)?
            .with_control_plane_logs(frame.control_plane_logs().to_vec()),
    )
}

/// The guide's three answers: the JSON contract (serialised) and the three result tables
/// (top, latency, p99).
#[pyfunction]
#[pyo3(signature = (source, by="user_agent", top=10, bin="5m", percentiles=vec![99.0], agent=None, last=None, since=None, until=None, stage="all", exclude_long_running=false, approx_percentiles=None, shape=None, strict=false, clusters=Vec::new(), keep_copies=false, reject_truncated=false))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn analyze(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    by: &str,
    top: usize,
    bin: &str,
    percentiles: Vec<f64>,
    agent: Option<String>,
    last: Option<String>,
    since: Option<String>,
    until: Option<String>,
    stage: &str,
    exclude_long_running: bool,
    approx_percentiles: Option<f64>,
    shape: Option<String>,
    strict: bool,
    clusters: Vec<String>,
    keep_copies: bool,
    reject_truncated: bool,
) -> PyResult<(String, Table, Table, Table)> {
    let source = Source::new(
        source,
        ReadArgs {
            shape,
            strict,
            reject_truncated,
            clusters,
            keep_copies,
        },
    )?;
    let opts = analysis_options(
        by,
        top,
        bin,
        percentiles,
        agent,
        window(last.as_deref(), since.as_deref(), until.as_deref()),
        stage,
        exclude_long_running,
        approx_percentiles,
    )
    .map_err(Failure::into_py)?;
    let o = opts.clone();
    let (a, doc) = source.frame(py, opts.projection(), opts.window(), move |frame| {
        Ok(auditframe::analyze(frame, &o)?)
    })?;
    let text = serde_json::to_string(&a.contract(opts.percentile_sketch()).with_fields(&doc))
        .map_err(|e| Failure::Arrow(e.to_string()).into_py())?;
    let table = |df: auditframe::Result<auditframe::polars::prelude::DataFrame>| {
        df.and_then(|df| auditframe::arrow::dataframe_to_record_batch(&df))
            .map(Table::new)
            .map_err(|e| Failure::Core(e).into_py())
    };
    Ok((
        text,
        table(a.top_dataframe())?,
        table(a.latency_dataframe())?,
        table(a.percentiles_dataframe())?,
    ))
}

#[allow(clippy::too_many_arguments)]
fn analysis_options(
    by: &str,
    top: usize,
    bin: &str,
    mut percentiles: Vec<f64>,
    agent: Option<String>,
    window: Result<TimeWindow, Failure>,
    stage: &str,
    exclude_long_running: bool,
    approx_percentiles: Option<f64>,
) -> Result<AnalysisOptions, Failure> {
    // P99 is always computed: it is the guide's third query (and the contract's `p99`).
    if !percentiles.contains(&99.0) {
        percentiles.push(99.0);
    }
    let stage = match stage {
        "all" => None,
        "complete" => Some("ResponseComplete".to_owned()),
        s => return Err(Failure::Usage(format!("stage {s:?}: all or complete"))),
    };
    let opts = AnalysisOptions::default()
        .with_key(group_key(by)?)
        .with_top(top)
        .with_bin(duration("bin", bin)?)
        .with_percentiles(percentiles)
        .with_only_key(agent)
        .with_window(window?)
        .with_stage(stage)
        .with_exclude_long_running(exclude_long_running)
        .with_percentile_sketch(approx_percentiles);
    opts.validate()?;
    Ok(opts)
}

/// The diagnoses: the JSON contract of `diagnose --format json`, serialised.
#[pyfunction]
#[pyo3(signature = (source, by="user_agent", top=10, bin="5m", last=None, since=None, until=None, list_rules="since-1.31", uncached_resources=vec!["events".to_owned()], growth_threshold=10_000, growth_horizon="24h", slo_mutating="1s", slo_read_object="1s", slo_read_namespace="5s", slo_read_cluster="30s", shape=None, strict=false, clusters=Vec::new(), keep_copies=false, reject_truncated=false))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn diagnose(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    by: &str,
    top: usize,
    bin: &str,
    last: Option<String>,
    since: Option<String>,
    until: Option<String>,
    list_rules: &str,
    uncached_resources: Vec<String>,
    growth_threshold: i64,
    growth_horizon: &str,
    slo_mutating: &str,
    slo_read_object: &str,
    slo_read_namespace: &str,
    slo_read_cluster: &str,
    shape: Option<String>,
    strict: bool,
    clusters: Vec<String>,
    keep_copies: bool,
    reject_truncated: bool,
) -> PyResult<String> {
    let source = Source::new(
        source,
        ReadArgs {
            shape,
            strict,
            reject_truncated,
            clusters,
            keep_copies,
        },
    )?;
    let options = || -> Result<DiagnoseOptions, Failure> {
        let ms = |what: &str, v: &str| Ok::<_, Failure>(duration(what, v)? / NANOS_PER_MILLI);
        let rules = ListReadRules::from_name(list_rules).ok_or_else(|| {
            Failure::Usage(format!(
                "list_rules {list_rules:?}: before-1.31 or since-1.31"
            ))
        })?;
        let d = DiagnoseOptions::default()
            .with_key(group_key(by)?)
            .with_window(window(last.as_deref(), since.as_deref(), until.as_deref())?)
            .with_top(top)
            .with_bin(duration("bin", bin)?)
            .with_list_rules(rules)
            .with_uncached_resources(
                uncached_resources
                    .iter()
                    .filter(|r| !r.is_empty())
                    .cloned()
                    .collect(),
            )
            .with_growth_threshold(growth_threshold)
            .with_growth_horizon(duration("growth_horizon", growth_horizon)?)
            .with_slo(SloThresholds {
                mutating_ms: ms("slo_mutating", slo_mutating)?,
                read_object_ms: ms("slo_read_object", slo_read_object)?,
                read_namespace_ms: ms("slo_read_namespace", slo_read_namespace)?,
                read_cluster_ms: ms("slo_read_cluster", slo_read_cluster)?,
            });
        d.validate()?;
        Ok(d)
    };
    let opts = options().map_err(Failure::into_py)?;
    let window = opts.window();
    let (d, input) = source.frame(py, Projection::diagnostics(), window, move |frame| {
        Ok(auditframe::diagnose(frame, &opts)?)
    })?;
    let doc = json!({
        "input": input,
        "findings": d.findings,
        "diagnosis": d,
    });
    Ok(doc.to_string())
}

/// Converts exports to canonical Parquet, a frame at a time (bounded memory), like
/// `auditframe convert`; returns the read's fields (serialised) with `rows_written`.
#[pyfunction]
#[pyo3(signature = (paths, output, columns=None, row_group_rows=auditframe_parquet::DEFAULT_ROW_GROUP_ROWS, zstd_level=auditframe_parquet::DEFAULT_ZSTD_LEVEL, shape=None, strict=false, reject_truncated=false))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn convert(
    py: Python<'_>,
    paths: Vec<PathBuf>,
    output: PathBuf,
    columns: Option<Vec<String>>,
    row_group_rows: usize,
    zstd_level: i32,
    shape: Option<String>,
    strict: bool,
    reject_truncated: bool,
) -> PyResult<String> {
    let projection = match &columns {
        Some(c) => projection(c).map_err(Failure::into_py)?,
        None => Projection::all(),
    };
    let forced = self::shape(shape.as_deref()).map_err(Failure::into_py)?;
    if paths.is_empty() {
        return Err(Failure::Usage("no input paths given".into()).into_py());
    }
    interrupt::run(py, move |cancel| {
        let reader = auditframe_ndjson::ReaderBuilder::new()
            .projection(projection)
            .strict(strict)
            .reject_truncated(reject_truncated)
            .shape(forced)
            .cancel(cancel);
        let file = std::fs::File::create(&output).map_err(|e| Failure::Io(output.clone(), e))?;
        let name = output.display().to_string();
        let mut writer = auditframe_parquet::WriterBuilder::new()
            .row_group_rows(row_group_rows)
            .zstd_level(zstd_level)
            .open(std::io::BufWriter::new(file), projection, &name)?;
        let mut write_error = None;
        let report = reader.for_each_frame(&paths, |frame, _| {
            writer.write(&frame).map_err(|e| {
                let message = e.to_string();
                write_error = Some(e);
                auditframe_ndjson::Error::Parse(auditframe::Error::new(
                    auditframe::ErrorKind::InvalidArgument(message),
                ))
            })
        });
        if let Some(e) = write_error {
            return Err(e.into());
        }
        let report = report?;
        let rows = writer.rows();
        let mut out = writer.finish()?;
        std::io::Write::flush(&mut out).map_err(|e| Failure::Io(output.clone(), e))?;
        let mut fields = read_fields(&report, "json", 0, false);
        fields.insert("rows_written".into(), rows.into());
        fields.insert("output".into(), name.into());
        Ok(Value::Object(fields).to_string())
    })
}

/// The column names of a preset: `all`, `analyses` (what the guide's three queries read),
/// `analyze` (what `analyze` reads by default), `diagnostics` (what `diagnose` reads).
#[pyfunction]
pub(crate) fn column_names(preset: &str) -> PyResult<Vec<String>> {
    let p = match preset {
        "all" => Projection::all(),
        "analyses" => Projection::analyses(),
        "analyze" => AnalysisOptions::default().projection(),
        "diagnostics" => Projection::diagnostics(),
        other => {
            return Err(Failure::Usage(format!(
                "column preset {other:?}: all, analyses, analyze or diagnostics"
            ))
            .into_py())
        }
    };
    Ok(p.columns().map(|c| c.name().to_owned()).collect())
}

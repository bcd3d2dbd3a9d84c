//! Rust errors → Python exceptions.
//!
//! - a bad record or value (strict mode), an unknown shape, an unreadable Parquet file or
//!   table: `auditframe.ParseError` with `source`, `line`, `column`, `byte`, `row`, `field`,
//!   `reason` (the skip reason's name: `json`, `field_type`, …) and `excerpt` attributes
//!   (`None` where not known);
//! - a file that cannot be opened or read: `OSError` (`FileNotFoundError`,
//!   `PermissionError`, … by errno) with `filename`;
//! - a bad option (a zero bin width, a percentile of 120): `ValueError`;
//! - anything else the library reports: `auditframe.AuditframeError`, the base of
//!   `ParseError`.

use auditframe::ErrorKind;
use pyo3::exceptions::{PyException, PyKeyboardInterrupt, PyOSError, PyValueError};
use pyo3::prelude::*;

pyo3::create_exception!(
    auditframe,
    AuditframeError,
    PyException,
    "An error reported by auditframe."
);
pyo3::create_exception!(
    auditframe,
    ParseError,
    AuditframeError,
    "Input auditframe cannot read: a bad record in strict mode, an unknown shape, a file that is not Parquet. Attributes: source, line, column, byte, row, field, reason, excerpt."
);

/// Adds the exception classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("AuditframeError", py.get_type::<AuditframeError>())?;
    m.add("ParseError", py.get_type::<ParseError>())?;
    Ok(())
}

/// An error of a call, made on a worker thread without the GIL and raised in Python later.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The core library's error.
    Core(auditframe::Error),
    /// The JSON reader's error.
    Ndjson(auditframe_ndjson::Error),
    /// The Parquet reader's or writer's error.
    Parquet(auditframe_parquet::Error),
    /// A bad argument.
    Usage(String),
    /// Exporting Arrow data failed.
    Arrow(String),
    /// A file could not be written.
    Io(std::path::PathBuf, std::io::Error),
}

impl From<auditframe::Error> for Failure {
    fn from(e: auditframe::Error) -> Failure {
        Failure::Core(e)
    }
}

impl From<auditframe_ndjson::Error> for Failure {
    fn from(e: auditframe_ndjson::Error) -> Failure {
        Failure::Ndjson(e)
    }
}

impl From<auditframe_parquet::Error> for Failure {
    fn from(e: auditframe_parquet::Error) -> Failure {
        Failure::Parquet(e)
    }
}

impl Failure {
    /// The Python exception.
    pub(crate) fn into_py(self) -> PyErr {
        match self {
            Failure::Core(e) => core_error(e),
            Failure::Ndjson(auditframe_ndjson::Error::Io { path, source }) => {
                os_error(&path, source)
            }
            Failure::Ndjson(auditframe_ndjson::Error::Parse(e)) => core_error(e),
            Failure::Ndjson(auditframe_ndjson::Error::Cancelled)
            | Failure::Parquet(auditframe_parquet::Error::Cancelled) => {
                PyKeyboardInterrupt::new_err("read cancelled")
            }
            Failure::Ndjson(e) => AuditframeError::new_err(e.to_string()),
            Failure::Parquet(e) => parquet_error(e),
            Failure::Usage(m) => PyValueError::new_err(m),
            Failure::Arrow(m) => AuditframeError::new_err(m),
            Failure::Io(path, e) => os_error(&path, e),
        }
    }
}

/// What a `ParseError` says about where and why.
#[derive(Default)]
struct Where {
    source: Option<String>,
    line: Option<u64>,
    column: Option<u64>,
    byte: Option<u64>,
    row: Option<u64>,
    field: Option<String>,
    reason: Option<&'static str>,
    excerpt: Option<String>,
}

fn parse_error(message: String, at: Where) -> PyErr {
    Python::attach(|py| {
        let err = ParseError::new_err(message);
        let value = err.value(py);
        let set = || -> PyResult<()> {
            value.setattr("source", at.source)?;
            value.setattr("line", at.line)?;
            value.setattr("column", at.column)?;
            value.setattr("byte", at.byte)?;
            value.setattr("row", at.row)?;
            value.setattr("field", at.field)?;
            value.setattr("reason", at.reason)?;
            value.setattr("excerpt", at.excerpt)?;
            Ok(())
        };
        match set() {
            Ok(()) => err,
            Err(e) => e,
        }
    })
}

fn core_error(e: auditframe::Error) -> PyErr {
    let message = e.to_string();
    let reason = e.reason().map(|r| r.name());
    match e.into_kind() {
        ErrorKind::Record {
            position, excerpt, ..
        }
        | ErrorKind::UnknownShape { position, excerpt } => parse_error(
            message,
            Where {
                source: position.source.map(|s| s.to_string()),
                line: Some(position.line),
                column: position.column,
                byte: Some(position.byte),
                reason,
                excerpt: Some(excerpt),
                ..Where::default()
            },
        ),
        ErrorKind::Value {
            source,
            row,
            column,
            ..
        } => parse_error(
            message,
            Where {
                source: source.map(|s| s.to_string()),
                row: Some(row),
                field: Some(column),
                reason,
                ..Where::default()
            },
        ),
        ErrorKind::InvalidArgument(_) => PyValueError::new_err(message),
        _ => AuditframeError::new_err(message),
    }
}

fn parquet_error(e: auditframe_parquet::Error) -> PyErr {
    let message = e.to_string();
    match e {
        auditframe_parquet::Error::Io { path, source } => os_error(&path, source),
        auditframe_parquet::Error::Parquet {
            path, row_group, ..
        } => parse_error(
            message,
            Where {
                source: Some(path.display().to_string()),
                row: row_group.map(|g| g as u64),
                ..Where::default()
            },
        ),
        auditframe_parquet::Error::Table { path, source } => {
            let reason = source.reason().map(|r| r.name());
            let (row, field) = match source.kind() {
                ErrorKind::Value { row, column, .. } => (Some(*row), Some(column.clone())),
                _ => (None, None),
            };
            parse_error(
                message,
                Where {
                    source: Some(path.display().to_string()),
                    row,
                    field,
                    reason,
                    ..Where::default()
                },
            )
        }
        auditframe_parquet::Error::Frame(e) => core_error(e),
        _ => AuditframeError::new_err(message),
    }
}

/// `OSError(errno, message, filename)`: Python picks the subclass from the errno
/// (`FileNotFoundError`, `PermissionError`, `IsADirectoryError`, …).
fn os_error(path: &std::path::Path, e: std::io::Error) -> PyErr {
    let filename = path.display().to_string();
    match e.raw_os_error() {
        Some(errno) => PyOSError::new_err((errno, e.to_string(), filename)),
        None => PyOSError::new_err(format!("{filename}: {e}")),
    }
}

//! The core crate's error type: a kind plus, for input errors, a position.

use std::fmt;
use std::sync::Arc;

use crate::timestamp::TimestampError;

/// Where in the input a record starts or an error happened.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Position {
    /// The input's name (a path, `<stdin>`, or a caller-chosen label).
    pub source: Option<Arc<str>>,
    /// 1-based line number of the record's first byte.
    pub line: u64,
    /// 1-based byte column within that line where the error was found, where known.
    pub column: Option<u64>,
    /// 0-based byte offset of the record in the (decompressed) input.
    pub byte: u64,
}

impl Position {
    /// A position at `line` / `byte` in `source`.
    pub fn new(source: Option<Arc<str>>, line: u64, byte: u64) -> Position {
        Position {
            source,
            line,
            column: None,
            byte,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = &self.source {
            write!(f, "{s}:")?;
        }
        write!(f, "{}", self.line)?;
        if let Some(c) = self.column {
            write!(f, ":{c}")?;
        }
        write!(f, " (byte {})", self.byte)
    }
}

/// Why a record could not be read. Also the key of the per-reason skip counts in
/// [`ParseReport`](crate::ParseReport).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum SkipReason {
    /// Not valid JSON (includes truncated records and nesting beyond the limit).
    Json,
    /// Invalid UTF-8 in the record.
    Utf8,
    /// Valid JSON, but a field has the wrong type (e.g. `"verb": 3`).
    FieldType,
    /// A timestamp field is not a valid RFC 3339 datetime.
    Timestamp,
    /// The record is larger than the configured maximum.
    TooLarge,
    /// The record is of another shape than the one sniffed or chosen for its input.
    ShapeMismatch,
    /// The record is JSON but not an audit event or row of any known shape.
    NotAnEvent,
    /// The event text was cut short and
    /// [`ParseOptions::with_reject_truncated`](crate::ParseOptions::with_reject_truncated)
    /// asked for such events to be rejected rather than salvaged.
    Truncated,
}

impl SkipReason {
    /// A short stable name (`json`, `utf8`, `field_type`, …) used in reports and JSON output.
    pub const fn name(self) -> &'static str {
        match self {
            SkipReason::Json => "json",
            SkipReason::Utf8 => "utf8",
            SkipReason::FieldType => "field_type",
            SkipReason::Timestamp => "timestamp",
            SkipReason::TooLarge => "too_large",
            SkipReason::ShapeMismatch => "shape_mismatch",
            SkipReason::NotAnEvent => "not_an_event",
            SkipReason::Truncated => "truncated",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The kinds of error the core crate reports.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A record could not be read; `position` says where, `excerpt` shows its start.
    Record {
        /// Why.
        reason: SkipReason,
        /// Human-readable detail (the JSON parser's message, the offending field…).
        message: String,
        /// Where the record is.
        position: Position,
        /// The first bytes of the record, lossily decoded, for the error message.
        excerpt: String,
    },
    /// A value of a columnar input (an Arrow / Parquet table) could not be read.
    Value {
        /// Why.
        reason: SkipReason,
        /// The input's name, where known.
        source: Option<Arc<str>>,
        /// 1-based row number in the input.
        row: u64,
        /// The column (a path such as `objectRef.resource` for nested fields).
        column: String,
        /// Human-readable detail, with the offending value where it is short.
        message: String,
    },
    /// No known shape matches the input's first record.
    UnknownShape {
        /// Where the first record is.
        position: Position,
        /// The first bytes of the record.
        excerpt: String,
    },
    /// An option or argument is invalid (a zero bin width, a percentile of 120, …).
    InvalidArgument(String),
    /// The frame does not have the column or type an operation needs.
    Schema(String),
    /// An error from polars while building or reading a frame.
    Polars(String),
}

/// The error type of the core crate. Boxed so that `Result<T, Error>` stays small.
#[derive(Debug, Clone, PartialEq)]
pub struct Error(Box<ErrorKind>);

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

const EXCERPT_BYTES: usize = 80;

/// The first bytes of a record, lossily decoded, with control characters escaped.
pub(crate) fn excerpt(record: &[u8]) -> String {
    let cut = record.len().min(EXCERPT_BYTES);
    let mut s: String = String::from_utf8_lossy(record.get(..cut).unwrap_or(record))
        .chars()
        .flat_map(char::escape_default)
        .collect();
    if record.len() > cut {
        s.push('…');
    }
    s
}

impl Error {
    /// Creates an error of this kind.
    pub fn new(kind: ErrorKind) -> Error {
        Error(Box::new(kind))
    }

    /// The kind of error.
    pub fn kind(&self) -> &ErrorKind {
        &self.0
    }

    /// Consumes the error, returning its kind.
    pub fn into_kind(self) -> ErrorKind {
        *self.0
    }

    /// Where in the input the error is, for input errors.
    pub fn position(&self) -> Option<&Position> {
        match &*self.0 {
            ErrorKind::Record { position, .. } | ErrorKind::UnknownShape { position, .. } => {
                Some(position)
            }
            _ => None,
        }
    }

    pub(crate) fn position_mut(&mut self) -> Option<&mut Position> {
        match &mut *self.0 {
            ErrorKind::Record { position, .. } | ErrorKind::UnknownShape { position, .. } => {
                Some(position)
            }
            _ => None,
        }
    }

    /// The skip reason, for record and value errors.
    pub fn reason(&self) -> Option<SkipReason> {
        match &*self.0 {
            ErrorKind::Record { reason, .. } | ErrorKind::Value { reason, .. } => Some(*reason),
            _ => None,
        }
    }

    pub(crate) fn record(
        reason: SkipReason,
        message: impl Into<String>,
        position: Position,
        record: &[u8],
    ) -> Error {
        Error::new(ErrorKind::Record {
            reason,
            message: message.into(),
            position,
            excerpt: excerpt(record),
        })
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidArgument(message.into()))
    }

    pub(crate) fn schema(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Schema(message.into()))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            ErrorKind::Record { reason, message, position, excerpt } => {
                write!(f, "{position}: {reason}: {message}; record starts `{excerpt}`")
            }
            ErrorKind::Value {
                reason,
                source,
                row,
                column,
                message,
            } => {
                if let Some(s) = source {
                    write!(f, "{s}: ")?;
                }
                write!(f, "row {row}, column `{column}`: {reason}: {message}")
            }
            ErrorKind::UnknownShape { position, excerpt } => write!(
                f,
                "{position}: the first record matches no known audit export shape; record starts `{excerpt}`"
            ),
            ErrorKind::InvalidArgument(m) => write!(f, "invalid argument: {m}"),
            ErrorKind::Schema(m) => write!(f, "schema: {m}"),
            ErrorKind::Polars(m) => write!(f, "polars: {m}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<polars::error::PolarsError> for Error {
    fn from(e: polars::error::PolarsError) -> Error {
        Error::new(ErrorKind::Polars(e.to_string()))
    }
}

impl From<TimestampError> for Error {
    fn from(e: TimestampError) -> Error {
        Error::invalid(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_carries_position_and_excerpt() {
        let pos = Position {
            source: Some("audit.log".into()),
            line: 18233,
            column: Some(17),
            byte: 9120441,
        };
        let e = Error::record(
            SkipReason::FieldType,
            "`verb`: expected a string",
            pos,
            b"{\"verb\":3}\n",
        );
        assert_eq!(
            e.to_string(),
            "audit.log:18233:17 (byte 9120441): field_type: `verb`: expected a string; record starts `{\\\"verb\\\":3}\\n`"
        );
        assert_eq!(e.reason(), Some(SkipReason::FieldType));
        assert_eq!(e.position().map(|p| p.line), Some(18233));
    }

    #[test]
    fn excerpt_is_bounded() {
        let long = vec![b'a'; 1000];
        let x = excerpt(&long);
        assert_eq!(x.chars().count(), EXCERPT_BYTES + 1);
        assert!(x.ends_with('…'));
        assert_eq!(excerpt(b"\xff\xfeok"), "\\u{fffd}\\u{fffd}ok");
    }
}

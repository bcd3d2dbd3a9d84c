//! The Parquet crate's error type: every error names the file, and the column or row group
//! where that is known.

use std::path::{Path, PathBuf};

/// Errors from reading or writing Parquet.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid Parquet (bad magic, truncated footer, corrupt page, an
    /// unsupported codec), or the Parquet library failed on it.
    #[error("{path}: not readable as Parquet{}: {message}", row_group.map(|g| format!(" (row group {g})")).unwrap_or_default())]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The row group being decoded, if the footer was fine.
        row_group: Option<usize>,
        /// What the Parquet library reported.
        message: String,
    },
    /// The table is not an audit table auditframe knows, a column has the wrong type or is
    /// missing, or (in strict mode) a value is bad: the message names the column (and row).
    #[error("{}", table_message(path, source))]
    Table {
        /// The file.
        path: PathBuf,
        /// The core error, naming the column.
        #[source]
        source: auditframe::Error,
    },
    /// An option is invalid, or the frame could not be turned into Arrow batches.
    #[error(transparent)]
    Frame(#[from] auditframe::Error),
    /// The read was cancelled through [`ReaderBuilder::cancel`](crate::ReaderBuilder::cancel).
    #[error("read cancelled")]
    Cancelled,
}

impl Error {
    pub(crate) fn io(path: impl AsRef<Path>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    pub(crate) fn parquet(
        path: impl AsRef<Path>,
        row_group: Option<usize>,
        message: impl std::fmt::Display,
    ) -> Error {
        Error::Parquet {
            path: path.as_ref().to_path_buf(),
            row_group,
            message: message.to_string(),
        }
    }

    pub(crate) fn table(path: impl AsRef<Path>, source: auditframe::Error) -> Error {
        Error::Table {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }
}

/// `<path>: <error>`, unless the error already starts with the path (a bad value's error
/// names its source itself).
fn table_message(path: &Path, source: &auditframe::Error) -> String {
    let msg = source.to_string();
    let p = path.display().to_string();
    if msg.starts_with(&format!("{p}: ")) {
        msg
    } else {
        format!("{p}: {msg}")
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

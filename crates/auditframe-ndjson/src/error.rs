//! The reader's error type.

use std::path::{Path, PathBuf};

/// Errors from reading inputs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input could not be opened or read (in strict mode this includes a truncated `.gz`).
    #[error("{path}: {source}")]
    Io {
        /// The file (or `<stdin>`).
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A record was bad in strict mode, or the frame could not be built. The error carries
    /// the source name, line, column and an excerpt.
    #[error(transparent)]
    Parse(#[from] auditframe::Error),
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
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

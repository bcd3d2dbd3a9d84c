//! The crate's error type: the readers' errors (with their positions) as they are, and
//! DataFusion's.

use datafusion::error::DataFusionError;

/// Errors from registering, scanning or querying audit tables.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An NDJSON input could not be read (the error names the input and position).
    #[error(transparent)]
    Json(#[from] auditframe_ndjson::Error),
    /// A Parquet input could not be read (the error names the file, row group, column).
    #[error(transparent)]
    Parquet(#[from] auditframe_parquet::Error),
    /// auditframe's core (a frame to Arrow, an option).
    #[error(transparent)]
    Core(#[from] auditframe::Error),
    /// DataFusion planning or execution.
    #[error(transparent)]
    DataFusion(#[from] DataFusionError),
    /// An option or argument is not valid (the message says which).
    #[error("{0}")]
    Usage(String),
    /// A query's result did not have the columns or types expected of it.
    #[error("unexpected query result: {0}")]
    Result(String),
}

/// `Result<T, auditframe_datafusion::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for DataFusionError {
    fn from(e: Error) -> DataFusionError {
        match e {
            Error::DataFusion(e) => e,
            other => DataFusionError::External(Box::new(other)),
        }
    }
}

//! # auditframe-parquet
//!
//! Parquet in and out of [`auditframe::AuditFrame`]s. Converting an export to Parquet once
//! and analysing that is an order of magnitude faster than re-parsing JSON each time.
//!
//! [`ReaderBuilder`] reads three table layouts ([`TableLayout`]):
//! - the **canonical** schema written by [`WriterBuilder`] (and by
//!   [`AuditFrame::to_record_batch`](auditframe::AuditFrame::to_record_batch)): read column by
//!   column, losslessly (nanosecond timestamps, dictionary columns);
//! - **`AKSAudit`**-shaped tables with the Log Analytics column names, whose dynamic columns
//!   (`User`, `ObjectRef`, `ResponseStatus`, `SourceIps`, `Annotations`) are structs, maps or
//!   JSON text;
//! - **native audit events flattened** by a generic tool (DuckDB
//!   `COPY (SELECT * FROM read_json('audit.log')) TO 'a.parquet'`, Spark): `user`,
//!   `objectRef`, `responseStatus` as structs, timestamps as text or `TIMESTAMP` of any unit.
//!
//! Only the columns the projection needs are decoded, row groups are decoded in parallel, and
//! with a [time window](ReaderBuilder::time_window) the row groups whose statistics lie
//! outside it are skipped. Bad files give an [`Error`] naming the file and the column or row
//! group; the decoder's own panics on corrupt input are caught and reported the same way.
//!
//! This crate knows files and Parquet; the layouts and the frame are the core's
//! ([`auditframe::arrow`]).
//!
//! ```no_run
//! use auditframe::Projection;
//! use auditframe_parquet::ReaderBuilder;
//! let (frame, report) = ReaderBuilder::new()
//!     .projection(Projection::analyses())
//!     .read_path("exports/aks-audit/")?;
//! println!("{} rows from {} files", frame.height(), report.inputs.len());
//! # Ok::<(), auditframe_parquet::Error>(())
//! ```
#![deny(missing_docs)]
// Input-driven code must not panic: errors are returned instead.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod error;
mod logs;
mod read;
mod source;
mod write;

pub use auditframe::arrow::TableLayout;
pub use auditframe::source::{InputReport, Progress, ProgressFn, ReadReport, TableReport};
pub use auditframe::AuditFrame;
pub use error::{Error, Result};
pub use logs::LOGS_KEY;
pub use read::{
    is_parquet_input, is_parquet_path, walk, ReaderBuilder, DEFAULT_BATCH_ROWS, DEFAULT_FRAME_ROWS,
};
pub use write::{FrameWriter, WriterBuilder, DEFAULT_ROW_GROUP_ROWS, DEFAULT_ZSTD_LEVEL};

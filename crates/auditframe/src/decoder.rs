//! The low-level tier: what readers build on. A reader crate (files, `.gz`, stdin, object
//! stores…) frames its bytes into records and pushes them into a [`FrameBuilder`], the core's
//! push decoder; everything here is about bytes and records, nothing about files.
//!
//! Most users never need this module: `AuditFrame::from_slice` decodes a whole input, and the
//! `auditframe-ndjson` and `auditframe-parquet` crates read files.
//!
//! ```
//! use auditframe::decoder::FrameBuilder;
//! use auditframe::ParseOptions;
//! let mut b = FrameBuilder::new(&ParseOptions::new(), Some("example".into()));
//! b.push_lines(b"{\"kind\":\"Event\",\"verb\":\"get\",\"stageTimestamp\":\"2026-11-20T10:00:00Z\"}\n")?;
//! let (frame, report) = b.finish()?;
//! assert_eq!((frame.height(), report.rows), (1, 1));
//! # Ok::<(), auditframe::Error>(())
//! ```

pub use crate::decode::{
    sniff_framed_shape, sniff_input_shape, FrameBuilder, DEFAULT_MAX_RECORD_BYTES, MAX_NESTING,
    REPORT_ERRORS_KEPT, SNIFF_RECORDS,
};
pub use crate::framing::{
    last_newline_before, lines, strip_bom, values, Framing, FramingError, Value,
};
pub use crate::record::sniff_shape;

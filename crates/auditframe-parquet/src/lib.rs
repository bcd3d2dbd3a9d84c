//! # auditframe-parquet
//!
//! Parquet reader and writer for [`auditframe::AuditFrame`]s — a placeholder crate: the
//! Parquet capability (canonical round trip, AKSAudit-shaped and generically flattened
//! tables, projection pushdown, row-group skipping, Arrow interop) is tracked as its own
//! issue and not implemented yet. The crate exists so that the workspace layout and its
//! dependency direction (reader → core, never the reverse) are fixed from the start.
#![deny(missing_docs)]

/// The canonical frame this crate will read and write.
pub use auditframe::AuditFrame;

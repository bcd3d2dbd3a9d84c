//! # auditframe
//!
//! Kubernetes API-server audit-log analytics, offline and exact. auditframe reads the audit
//! exports an AKS operator can get out of Azure (and plain kube-apiserver audit logs) into one
//! canonical columnar frame ([`AuditFrame`], a polars `DataFrame`), and answers the questions
//! of Microsoft's *Troubleshoot API server and etcd problems in AKS* guide on it.
//!
//! This crate knows records and analytics; it does no file I/O. The `auditframe-ndjson`
//! crate reads files, stdin, `.gz` and directories in parallel (whole, or streamed a frame
//! per block); `auditframe-parquet` reads and writes Parquet.
//!
//! ## Arrow (feature `arrow`)
//! `auditframe::arrow` turns frames into arrow-rs `RecordBatch`es and back over the Arrow C Data
//! Interface (zero-copy), and reads record-shaped Arrow tables — the canonical schema,
//! `AKSAudit` columns, natively flattened events — into frames
//! (`FrameBuilder::push_record_batch`).
//!
//! ## The API in tiers
//! The root holds what an embedding tool needs: the frame and its schema, parse options and
//! reports, errors, [`analyze()`] and [`diagnose()`] with their options and results, and the
//! typed [`Timestamp`] / [`TimeSpan`] that results hold. Below it:
//! [`analysis`] (partial aggregates, sketches, result rows), [`mod@diagnose`] (the
//! [`Diagnosis`](diagnose::Diagnosis) trait and one type per diagnosis), [`time`],
//! [`generate`], [`source`] (what the readers share: the [`FrameSource`](source::FrameSource)
//! trait, the read report, the directory walk), [`storage`] (storage-export paths: hour,
//! cluster, pruning), [`copies`] (a request exported under both audit categories counted
//! once) and [`decoder`], the low-level tier of
//! readers (the push decoder). Options are built with `with_*` setters and read with getters
//! of the same name.
//!
//! ## Analyses
//! [`analyze()`] answers the guide's three queries — top N keys by requests, average latency
//! per key in time bins, exact nearest-rank latency percentiles per verb and resource — with
//! KQL's semantics (see [`analyze()`] and the README).
//! Each is a mergeable [`Partial`], so chunks, files or machines combine exactly;
//! [`analysis::analyze_parts`] computes one query alone.
//!
//! ## Diagnoses
//! [`diagnose()`] goes beyond the queries to the guide's causes: LISTs by read type (watch
//! cache or etcd, [`diagnose::classify_list`]) with offenders and peak windows, throttling and the AKS
//! API server guard, object growth, admission webhook failures (from kube-apiserver
//! [`LogLine`]s and the `admission_webhooks` column), and the upstream API call latency SLO
//! verdicts. Each is a mergeable [`DiagnosisPartial`] too.
//!
//! ## Test data
//! [`generate`] writes realistic, seeded audit logs in every shape, for benches and tests.
//!
//! ## Record shapes
//! Each input's shape is sniffed from its first record ([`Shape`]):
//! native `Event` lines and `EventList` documents, `AKSAudit` rows (dynamic columns as
//! objects or JSON text), `AzureDiagnostics` rows (`log_s`), storage-archive records
//! (`properties.log`), Event Hub `{"records":[…]}` messages, and top-level JSON arrays of
//! any of these. See [`ParseOptions`] for strict/lenient handling of bad records.
//!
//! ## Example
//! ```
//! use auditframe::{AuditFrame, Column, ParseOptions};
//!
//! let log = br#"{"kind":"Event","auditID":"a1","stage":"ResponseComplete","verb":"list","requestURI":"/api/v1/pods","userAgent":"bad-client/1.0","objectRef":{"resource":"pods","apiVersion":"v1"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-11-20T10:00:00.100000Z","stageTimestamp":"2026-11-20T10:00:02.350000Z"}
//! {"kind":"Event","auditID":"a2","stage":"ResponseComplete","verb":"get","requestURI":"/healthz","userAgent":"kube-probe/1.30","responseStatus":{"code":200},"requestReceivedTimestamp":"2026-11-20T10:00:01Z","stageTimestamp":"2026-11-20T10:00:01.002Z"}
//! "#;
//! let (frame, report) = AuditFrame::from_slice(log, &ParseOptions::new())?;
//! assert_eq!(frame.height(), 2);
//! assert_eq!(report.skipped_total(), 0);
//! let latency = frame.column(Column::LatencyMs)?.i64()?;
//! assert_eq!(latency.get(0), Some(2250));
//! // Non-resource URLs have no resource.
//! assert_eq!(frame.column(Column::Resource)?.as_materialized_series().null_count(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
// Input-driven code must not panic: errors are returned or counted instead.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod analysis;
#[cfg(feature = "arrow")]
pub mod arrow;
mod audit_keys;
mod builder;
pub mod copies;
mod decode;
pub mod decoder;
pub mod diagnose;
mod error;
mod frame;
mod framing;
pub mod generate;
mod go_duration;
mod record;
mod scan;
mod schema;
pub mod source;
pub mod storage;
pub mod time;
mod timestamp;

pub use analysis::{analyze, Analysis, AnalysisOptions, GroupKey, Partial, TimeWindow};
pub use decode::{ParseOptions, ParseReport};
pub use diagnose::{diagnose, DiagnoseOptions, DiagnosisPartial, DiagnosisReport};
pub use error::{Error, ErrorKind, Position, Result, SkipReason};
pub use frame::{AuditFrame, LogLine};
pub use record::Shape;
pub use schema::{Column, ColumnKind, Projection};
pub use time::{TimeSpan, Timestamp};

/// The polars version this crate is built against, re-exported so that users can name the
/// frame's types without a version mismatch.
pub use polars;

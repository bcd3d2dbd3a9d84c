//! Kubernetes audit logs in [Apache DataFusion](https://datafusion.apache.org) and
//! [Ballista](https://datafusion.apache.org/ballista/): SQL over every export auditframe
//! reads, on one machine or a cluster.
//!
//! - [`AuditTable`]: a [`TableProvider`](datafusion::catalog::TableProvider) over NDJSON
//!   exports of every shape (`.gz`, directories) or Parquet (canonical or foreign), with
//!   auditframe's **canonical schema** ([`auditframe::arrow::canonical_schema`]). Only the
//!   columns a query uses are parsed (projection pushdown into auditframe's scanner); a
//!   `time_generated` range lets Parquet skip row groups; every file is a partition of its own,
//!   so files are scanned in parallel (by DataFusion's threads, or Ballista's executors).
//! - [`register_audit`]: registers the table (and the functions) under a name. Copies of
//!   requests exported under both `kube-audit` and `kube-audit-admin` are dropped, as
//!   `auditframe analyze` drops them (see [`AuditTableOptions::keep_copies`]).
//! - Functions ([`functions`]): `list_read_type(request_uri [, rules])` (the LIST detector's
//!   cache-or-etcd rule), `kusto_bin(ts, '5m')` (KQL `bin()`, counted from 0001-01-01), and
//!   `percentile_exact(value, p)`, an exact nearest-rank percentile aggregate (DataFusion's
//!   `percentile_cont` interpolates and `approx_percentile_cont` estimates).
//! - [`guide`]: the troubleshooting guide's three queries (and the diagnoses' core queries)
//!   as SQL, and [`guide::analyze`], which runs them and returns auditframe's
//!   [`Analysis`](auditframe::Analysis) — the same answers, in the same JSON contract, as
//!   `auditframe analyze --format json`.
//! - [`ballista`]: the codecs and session state that a Ballista scheduler and its executors
//!   need to run these tables and functions.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use auditframe_datafusion::{register_audit, AuditTableOptions};
//! use datafusion::prelude::SessionContext;
//!
//! # let dir = std::env::temp_dir().join("auditframe-datafusion-doc");
//! # std::fs::create_dir_all(&dir)?;
//! # let path = dir.join("audit.log");
//! # std::fs::write(&path, br#"{"kind":"Event","stage":"ResponseComplete","verb":"list","requestURI":"/api/v1/pods?limit=500","userAgent":"ci/1.0","objectRef":{"resource":"pods"},"requestReceivedTimestamp":"2026-11-20T10:07:01.5Z","stageTimestamp":"2026-11-20T10:07:02Z","responseStatus":{"code":200}}
//! # "#)?;
//! let ctx = SessionContext::new();
//! register_audit(&ctx, "audit", &[path], &AuditTableOptions::default()).await?;
//! let df = ctx
//!     .sql("SELECT user_agent, list_read_type(request_uri) AS read, \
//!                  percentile_exact(latency_ms, 99) AS p99 \
//!           FROM audit GROUP BY 1, 2")
//!     .await?;
//! let batches = df.collect().await?;
//! assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

pub mod ballista;
mod error;
pub mod functions;
pub mod guide;
mod partitions;
mod scan;
mod table;

pub use error::{Error, Result};
pub use scan::AuditScanExec;
pub use table::{register_audit, AuditTable, AuditTableOptions, Format};

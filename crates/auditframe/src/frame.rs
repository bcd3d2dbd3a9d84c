//! [`AuditFrame`]: a polars `DataFrame` with the canonical schema.

use std::fmt;
use std::sync::Arc;

use polars::prelude as pl;

use crate::audit_keys::AuditKeys;
use crate::schema::{Column, ColumnKind, Projection};
use crate::timestamp::format_timestamp;
use crate::{Error, Result};

/// Audit events as a polars `DataFrame` with a fixed, documented schema.
///
/// | column | type | notes |
/// |---|---|---|
/// | `time_generated` | Datetime(ns, UTC) | `TimeGenerated` / archive `time` / native `stageTimestamp` |
/// | `request_received` | Datetime(ns, UTC), nullable | `requestReceivedTimestamp` |
/// | `stage_timestamp` | Datetime(ns, UTC), nullable | `stageTimestamp` |
/// | `latency_ms` | Int64, nullable | KQL `datetime_diff('millisecond', stage, received)` |
/// | `audit_id`, `request_uri`, `name` | String, nullable | |
/// | `stage`, `level`, `verb`, `user_agent`, `username`, `source_ip`, `resource`, `subresource`, `namespace`, `api_group`, `api_version`, `category`, `source_shape` | Categorical, nullable | `user_agent` is `""` when absent |
/// | `status_code` | Int32, nullable | `responseStatus.code` |
/// | `admission_webhooks` | String, nullable | webhooks named by admission annotations (see [`Column::AdmissionWebhooks`]) |
/// | `cluster`, `resource_id` | Categorical, nullable | the managed cluster's name (lower-cased) and the Azure resource ID it comes from (see [`Column::Cluster`]) |
/// | `lat_etcd_ns`, `lat_apf_queue_wait_ns`, `lat_mutating_webhook_ns`, `lat_validating_webhook_ns`, `lat_decode_ns`, `lat_transform_ns`, `lat_serialize_ns`, `lat_response_write_ns`, `lat_total_ns` | Int64 nanoseconds, nullable | the API server's `apiserver.latency.k8s.io/*` annotations, written only on requests slower than 500 ms (see [`Column::LatEtcdNs`]) |
/// | `truncated` | Boolean | the event text was cut short and the row salvaged from its complete members (see [`Column::Truncated`]) |
///
/// Beside the rows, a frame carries the control-plane log lines read with them
/// ([`control_plane_logs`](AuditFrame::control_plane_logs)).
///
/// A frame read with a narrower [`Projection`] has only the projected columns, in this order.
/// Categorical columns of frames built by auditframe use one dictionary per column with
/// dense codes, which the analyses exploit.
#[derive(Clone)]
pub struct AuditFrame {
    df: pl::DataFrame,
    projection: Projection,
    logs: Vec<LogLine>,
    /// The rows' audit IDs as keys, when the frame was parsed with
    /// [`ParseOptions::with_copy_keys`](crate::ParseOptions::with_copy_keys). Only frames
    /// with exactly the parsed rows carry them: every operation that makes new rows drops
    /// them.
    audit_keys: Option<Arc<AuditKeys>>,
}

/// A control-plane log line read beside the audit events: an `AKSControlPlane` row, or an
/// `AzureDiagnostics` / archive / Event Hub record of category `kube-apiserver` (the klog
/// text in `Message`, `log_s` or `properties.log`). Only the `kube-apiserver` category is
/// kept (it holds the admission webhook errors the guide looks for); rows of other non-audit
/// categories are counted in [`ParseReport::other_category`](crate::ParseReport).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// `TimeGenerated` / `time`, ns since the epoch; `None` when absent.
    pub time_generated: Option<i64>,
    /// The diagnostic category (`kube-apiserver`).
    pub category: String,
    /// The log text, without a trailing newline.
    pub message: String,
}

impl AuditFrame {
    /// Wraps a `DataFrame`, checking that every column with a canonical name has the
    /// canonical type. Columns with other names are not allowed.
    pub fn from_dataframe(df: pl::DataFrame) -> Result<AuditFrame> {
        let mut projection = Projection::none();
        for c in df.columns() {
            let col = Column::from_name(c.name()).ok_or_else(|| {
                Error::schema(format!("`{}` is not a canonical column", c.name()))
            })?;
            let ok = matches!(
                (col.kind(), c.dtype()),
                (
                    ColumnKind::Timestamp,
                    pl::DataType::Datetime(pl::TimeUnit::Nanoseconds, _)
                ) | (ColumnKind::Int64, pl::DataType::Int64)
                    | (ColumnKind::Int32, pl::DataType::Int32)
                    | (ColumnKind::Categorical, pl::DataType::Categorical(..))
                    | (ColumnKind::String, pl::DataType::String)
                    | (ColumnKind::Boolean, pl::DataType::Boolean)
            );
            if !ok {
                return Err(Error::schema(format!(
                    "column `{col}` has type {}, expected {:?}",
                    c.dtype(),
                    col.kind()
                )));
            }
            projection = projection.with(col);
        }
        Ok(AuditFrame {
            df,
            projection,
            logs: Vec::new(),
            audit_keys: None,
        })
    }

    pub(crate) fn from_parts(df: pl::DataFrame, projection: Projection) -> Result<AuditFrame> {
        Ok(AuditFrame {
            df,
            projection,
            logs: Vec::new(),
            audit_keys: None,
        })
    }

    /// Attaches the rows' audit IDs as keys (one per row, in row order).
    pub(crate) fn with_audit_keys(mut self, keys: Option<AuditKeys>) -> AuditFrame {
        self.audit_keys = keys.filter(|k| k.len() == self.height()).map(Arc::new);
        self
    }

    /// The rows' audit IDs as keys, if the frame carries them (see
    /// [`ParseOptions::with_copy_keys`](crate::ParseOptions::with_copy_keys)).
    pub(crate) fn audit_keys(&self) -> Option<&AuditKeys> {
        self.audit_keys.as_deref()
    }

    /// The control-plane log lines read with the events, in input order.
    pub fn control_plane_logs(&self) -> &[LogLine] {
        &self.logs
    }

    /// Replaces the frame's control-plane log lines (for frames built by hand).
    #[must_use]
    pub fn with_control_plane_logs(mut self, logs: Vec<LogLine>) -> AuditFrame {
        self.logs = logs;
        self
    }

    /// The underlying `DataFrame`.
    pub fn dataframe(&self) -> &pl::DataFrame {
        &self.df
    }

    /// Unwraps the `DataFrame`.
    pub fn into_dataframe(self) -> pl::DataFrame {
        self.df
    }

    /// Number of rows (audit events).
    pub fn height(&self) -> usize {
        self.df.height()
    }

    /// Whether the frame has no rows.
    pub fn is_empty(&self) -> bool {
        self.df.height() == 0
    }

    /// The columns present.
    pub fn projection(&self) -> Projection {
        self.projection
    }

    /// A column, or a schema error naming it if it was not projected.
    pub fn column(&self, col: Column) -> Result<&pl::Column> {
        if !self.projection.contains(col) {
            return Err(Error::schema(format!(
                "column `{col}` is not in the frame (projection)"
            )));
        }
        Ok(self.df.column(col.name())?)
    }

    /// Approximate heap size of the frame's buffers in bytes.
    pub fn estimated_size(&self) -> usize {
        self.df.estimated_size()
    }

    /// The rows whose `time_generated` is in `start ..= end` (ns since the epoch, both
    /// inclusive like KQL `between` and [`TimeWindow::Between`](crate::TimeWindow)); rows
    /// without a time are dropped. Control-plane log lines are filtered the same way.
    ///
    /// ```
    /// use auditframe::{AuditFrame, ParseOptions};
    /// use auditframe::time::parse_timestamp;
    /// let log = br#"{"kind":"Event","verb":"get","stageTimestamp":"2026-11-20T10:00:00Z"}
    /// {"kind":"Event","verb":"get","stageTimestamp":"2026-11-20T11:00:00Z"}
    /// "#;
    /// let (frame, _) = AuditFrame::from_slice(log, &ParseOptions::new())?;
    /// let t = parse_timestamp("2026-11-20T10:00:00Z")?;
    /// assert_eq!(frame.filter_time(t, t + 1)?.height(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn filter_time(&self, start: i64, end: i64) -> Result<AuditFrame> {
        let c = self.column(Column::TimeGenerated)?.as_materialized_series();
        let phys = c.to_physical_repr();
        let mask: pl::BooleanChunked = phys
            .i64()?
            .iter()
            .map(|t| Some(t.is_some_and(|t| t >= start && t <= end)))
            .collect();
        let logs = self
            .logs
            .iter()
            .filter(|l| l.time_generated.is_some_and(|t| t >= start && t <= end))
            .cloned()
            .collect();
        Ok(AuditFrame {
            df: self.df.filter(&mask)?,
            projection: self.projection,
            logs,
            audit_keys: None,
        })
    }

    /// The rows of the given managed clusters (the `cluster` column; names compared
    /// case-insensitively, as Azure does). Rows without a cluster are dropped. Control-plane
    /// log lines carry no cluster and are all kept.
    ///
    /// ```
    /// use auditframe::{AuditFrame, ParseOptions};
    /// let rows = br#"{"TimeGenerated":"2026-11-20T10:00:00Z","Verb":"get","Type":"AKSAudit","_ResourceId":"/s/managedClusters/aks-prod"}
    /// {"TimeGenerated":"2026-11-20T10:00:00Z","Verb":"get","Type":"AKSAudit","_ResourceId":"/s/managedClusters/aks-dev"}
    /// "#;
    /// let (frame, _) = AuditFrame::from_slice(rows, &ParseOptions::new())?;
    /// assert_eq!(frame.filter_clusters(&["AKS-PROD"])?.height(), 1);
    /// # Ok::<(), auditframe::Error>(())
    /// ```
    pub fn filter_clusters<S: AsRef<str>>(&self, clusters: &[S]) -> Result<AuditFrame> {
        let wanted: Vec<String> = clusters
            .iter()
            .map(|c| c.as_ref().to_ascii_lowercase())
            .collect();
        let c = self.column(Column::Cluster)?.as_materialized_series();
        let names = c.cast(&pl::DataType::String)?;
        let mask: pl::BooleanChunked = names
            .str()?
            .iter()
            .map(|v| Some(v.is_some_and(|v| wanted.iter().any(|w| w == v))))
            .collect();
        self.filter_rows(&mask)
    }

    /// The rows where `mask` is true (log lines kept).
    pub(crate) fn filter_rows(&self, mask: &pl::BooleanChunked) -> Result<AuditFrame> {
        Ok(AuditFrame {
            df: self.df.filter(mask)?,
            projection: self.projection,
            logs: self.logs.clone(),
            audit_keys: None,
        })
    }

    /// Rows per value of the categorical column `col` among rows `rows` (cut to the frame's
    /// height): each value that occurs with its count, in the column's dictionary order
    /// (first seen first, in frames auditframe built), then `None` with the null rows if
    /// there are any. Counted by dictionary code, chunk by chunk on all threads: no string
    /// is hashed per row, nothing is copied.
    ///
    /// Errors if the column is not in the frame or is not categorical.
    ///
    /// ```
    /// use auditframe::{AuditFrame, Column, ParseOptions};
    /// let rows = br#"{"TimeGenerated":"2026-11-20T10:00:00Z","Verb":"get","Type":"AKSAudit","_ResourceId":"/s/managedClusters/aks-prod"}
    /// {"TimeGenerated":"2026-11-20T10:00:01Z","Verb":"list","Type":"AKSAudit","_ResourceId":"/s/managedClusters/aks-dev"}
    /// {"TimeGenerated":"2026-11-20T10:00:02Z","Verb":"get","Type":"AKSAudit","_ResourceId":"/s/managedClusters/aks-prod"}
    /// "#;
    /// let (frame, _) = AuditFrame::from_slice(rows, &ParseOptions::new())?;
    /// let verbs = frame.value_counts(Column::Verb, 0..frame.height())?;
    /// assert_eq!(verbs, [(Some("get".to_owned()), 2), (Some("list".to_owned()), 1)]);
    /// // The last two rows only.
    /// let clusters = frame.value_counts(Column::Cluster, 1..3)?;
    /// assert_eq!(clusters, [(Some("aks-prod".to_owned()), 1), (Some("aks-dev".to_owned()), 1)]);
    /// # Ok::<(), auditframe::Error>(())
    /// ```
    pub fn value_counts(
        &self,
        col: Column,
        rows: std::ops::Range<usize>,
    ) -> Result<Vec<(Option<String>, u64)>> {
        Ok(crate::analysis::columns::Codes::load_rows(self, col, rows)?.value_counts())
    }

    /// The earliest and latest `time_generated`, if the column is present and has values.
    pub fn time_range(&self) -> Option<(i64, i64)> {
        let c = self.column(Column::TimeGenerated).ok()?;
        let phys = c.as_materialized_series().to_physical_repr();
        crate::analysis::columns::i64_range(phys.i64().ok()?)
    }
}

impl fmt::Debug for AuditFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditFrame")
            .field("height", &self.height())
            .field("control_plane_logs", &self.logs.len())
            .field(
                "columns",
                &self
                    .projection
                    .columns()
                    .map(Column::name)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl fmt::Display for AuditFrame {
    /// A one-line summary: rows, columns and time range.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} rows × {} columns",
            self.height(),
            self.projection.len()
        )?;
        if let Some((a, b)) = self.time_range() {
            write!(f, ", {} .. {}", format_timestamp(a), format_timestamp(b))?;
        }
        Ok(())
    }
}

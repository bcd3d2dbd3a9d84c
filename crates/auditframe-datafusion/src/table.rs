//! [`AuditTable`]: audit exports as a DataFusion table of auditframe's canonical schema.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_schema::{Schema, SchemaRef};
use async_trait::async_trait;
use auditframe::{Column, Projection, Shape};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::stats::Precision;
use datafusion::common::{JoinType, ScalarValue, Statistics};
use datafusion::datasource::TableType;
use datafusion::logical_expr::{
    col, lit, Between, BinaryExpr, Expr, Operator, TableProviderFilterPushDown,
};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use serde::{Deserialize, Serialize};

use crate::partitions::{copies_stay_in_units, partitions};
use crate::scan::AuditScanExec;
use crate::{functions, Error, Result};

/// What the table's files hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Audit events as JSON: NDJSON of any export shape, JSON arrays, `.gz`.
    Json,
    /// Parquet: auditframe's canonical files, `AKSAudit`-shaped or flattened tables.
    Parquet,
}

/// How an [`AuditTable`] reads its files. The defaults are `auditframe analyze`'s: the
/// shape sniffed per file, lenient (bad records skipped and counted in the scan's
/// `skipped_records` metric), copies of requests exported under both audit categories dropped.
///
/// ```
/// use auditframe_datafusion::AuditTableOptions;
/// let o = AuditTableOptions::default().with_strict(true).with_shape(Some("azure_diagnostics"))?;
/// assert!(o.strict());
/// # Ok::<(), auditframe_datafusion::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditTableOptions {
    shape: Option<String>,
    strict: bool,
    reject_truncated: bool,
    keep_copies: bool,
}

impl AuditTableOptions {
    /// Forces the record shape of JSON inputs by name (`native`, `aks_audit`,
    /// `azure_diagnostics`, …; see `auditframe::Shape`); `None` sniffs each file.
    pub fn with_shape(mut self, shape: Option<&str>) -> Result<Self> {
        if let Some(name) = shape {
            if Shape::from_name(name).is_none() {
                return Err(Error::Usage(format!("unknown record shape {name:?}")));
            }
        }
        self.shape = shape.map(str::to_owned);
        Ok(self)
    }

    /// The forced record shape of JSON inputs, if any.
    pub fn shape(&self) -> Option<Shape> {
        self.shape.as_deref().and_then(Shape::from_name)
    }

    /// Fails the scan on the first bad record (with its position) instead of skipping it.
    #[must_use]
    pub fn with_strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Whether the scan fails on the first bad record.
    pub fn strict(&self) -> bool {
        self.strict
    }

    /// Fails the scan on a record cut short by the exporter's size limit (AzureDiagnostics'
    /// 32 KiB `log_s`) instead of keeping its row.
    #[must_use]
    pub fn with_reject_truncated(mut self, reject: bool) -> Self {
        self.reject_truncated = reject;
        self
    }

    /// Whether truncated records fail the scan.
    pub fn reject_truncated(&self) -> bool {
        self.reject_truncated
    }

    /// Keeps both copies of requests exported under `kube-audit` and `kube-audit-admin`
    /// (by default [`register_audit`] drops the admin copy, as `auditframe analyze` does).
    #[must_use]
    pub fn with_keep_copies(mut self, keep: bool) -> Self {
        self.keep_copies = keep;
        self
    }

    /// Whether both copies are kept.
    pub fn keep_copies(&self) -> bool {
        self.keep_copies
    }
}

/// Audit exports as a table of auditframe's canonical schema (every column of
/// [`Projection::all`], nullable; categorical columns are `Dictionary(UInt32, Utf8)`,
/// timestamps `Timestamp(ns, "UTC")`).
///
/// The files must be readable at the same paths wherever the scan runs (every Ballista
/// executor): a shared or replicated file system.
#[derive(Debug, Clone)]
pub struct AuditTable {
    files: Vec<(PathBuf, u64)>,
    format: Format,
    options: AuditTableOptions,
    /// The scan drops copies as it reads (each copy unit in one partition).
    copies_in_scan: bool,
    schema: SchemaRef,
}

impl AuditTable {
    /// A table over `paths` (files or directories, walked as the readers walk them). All
    /// inputs are Parquet or all are JSON; stdin (`-`) cannot be scanned more than once and
    /// is refused.
    pub fn try_new(paths: &[PathBuf], options: AuditTableOptions) -> Result<AuditTable> {
        if paths.is_empty() {
            return Err(Error::Usage("no input paths given".into()));
        }
        if paths.iter().any(|p| p.as_os_str() == "-") {
            return Err(Error::Usage(
                "stdin cannot be a table (a query may read it twice): save it to a file".into(),
            ));
        }
        let parquet = paths
            .iter()
            .filter(|p| auditframe_parquet::is_parquet_input(p))
            .count();
        let format = match parquet {
            0 => Format::Json,
            n if n == paths.len() => Format::Parquet,
            _ => {
                return Err(Error::Usage(
                    "Parquet and JSON inputs mixed in one table: register them separately".into(),
                ))
            }
        };
        let mut files = Vec::new();
        for p in paths {
            let walked = match format {
                Format::Json => auditframe_ndjson::walk(p)?,
                Format::Parquet => auditframe_parquet::walk(p)?,
            };
            for f in walked {
                let size = std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
                files.push((f, size));
            }
        }
        let mut table = AuditTable::from_parts(files, format, options, false);
        table.copies_in_scan = !table.options.keep_copies()
            && table.may_hold_copies()
            && copies_stay_in_units(&table.files);
        Ok(table)
    }

    /// A table from files already listed (with their sizes): what a Ballista codec decodes.
    pub(crate) fn from_parts(
        files: Vec<(PathBuf, u64)>,
        format: Format,
        options: AuditTableOptions,
        copies_in_scan: bool,
    ) -> AuditTable {
        AuditTable {
            files,
            format,
            options,
            copies_in_scan,
            schema: Arc::new(auditframe::arrow::canonical_schema(Projection::all())),
        }
    }

    /// The files scanned, in order, with their sizes in bytes.
    pub fn files(&self) -> &[(PathBuf, u64)] {
        &self.files
    }

    /// JSON or Parquet.
    pub fn format(&self) -> Format {
        self.format
    }

    /// How the files are read.
    pub fn options(&self) -> &AuditTableOptions {
        &self.options
    }

    /// Whether the scan drops copies of requests exported under both audit categories as it
    /// reads: the files may hold both categories, copies are not kept, and every copy's
    /// files share a partition (a storage tree, or one file).
    pub fn copies_in_scan(&self) -> bool {
        self.copies_in_scan
    }

    /// Whether copies still have to be dropped across partitions ([`register_audit`] does
    /// it with an anti-join): the files may hold both categories, copies are not kept, and
    /// the scan cannot drop them on its own.
    pub fn copies_need_join(&self) -> bool {
        !self.options.keep_copies() && !self.copies_in_scan && self.may_hold_copies()
    }

    /// Whether the files may hold both audit categories (AzureDiagnostics rows, storage
    /// archives, Parquet), so that copies have to be dropped.
    pub fn may_hold_copies(&self) -> bool {
        match self.format {
            Format::Parquet => true,
            Format::Json => {
                let files: Vec<PathBuf> = self.files.iter().map(|(f, _)| f.clone()).collect();
                auditframe_ndjson::may_hold_categories(&files)
            }
        }
    }

    /// The files a scan with these filters opens: storage-export blobs whose path names an
    /// hour outside the `time_generated` range, or another cluster than the `cluster`
    /// filter's, are skipped unopened (as `auditframe analyze` skips them); the count skipped.
    fn files_for(
        &self,
        window: Option<(i64, i64)>,
        clusters: Option<&[String]>,
    ) -> (Vec<(PathBuf, u64)>, usize) {
        let kept: Vec<(PathBuf, u64)> = self
            .files
            .iter()
            .filter(|(f, _)| {
                window.is_none_or(|(a, b)| {
                    auditframe::storage::partition_hour(f).is_none_or(|(s, e)| s <= b && e > a)
                }) && clusters.is_none_or(|cs| {
                    auditframe::storage::cluster_of_path(f).is_none_or(|c| cs.contains(&c))
                })
            })
            .cloned()
            .collect();
        let pruned = self.files.len() - kept.len();
        (kept, pruned)
    }
}

#[async_trait]
impl TableProvider for AuditTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        let fields = self.schema.fields();
        let columns: Vec<Column> = match projection {
            Some(ix) => ix
                .iter()
                .filter_map(|&i| fields.get(i))
                .filter_map(|f| Column::from_name(f.name()))
                .collect(),
            None => Projection::all().columns().collect(),
        };
        let window = time_bounds(filters);
        let clusters = cluster_values(filters);
        let (files, pruned) = self.files_for(window, clusters.as_deref());
        let groups = partitions(&files, state.config().target_partitions());
        Ok(Arc::new(AuditScanExec::new(
            groups,
            self.format,
            self.options.clone(),
            columns,
            window,
            pruned,
            self.copies_in_scan,
        )))
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::error::Result<Vec<TableProviderFilterPushDown>> {
        // A time range prunes storage blobs and Parquet row groups, a cluster prunes blobs;
        // DataFusion still applies every filter to the rows (Inexact), so no pushed filter
        // changes a query's answer.
        Ok(filters
            .iter()
            .map(|f| {
                let one = std::slice::from_ref(*f);
                if time_bounds(one).is_some() || cluster_values(one).is_some() {
                    TableProviderFilterPushDown::Inexact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    fn statistics(&self) -> Option<Statistics> {
        let bytes: u64 = self.files.iter().map(|(_, s)| s).sum();
        let mut s = Statistics::new_unknown(&self.schema);
        s.total_byte_size = Precision::Inexact(usize::try_from(bytes).unwrap_or(usize::MAX));
        Some(s)
    }
}

/// The `time_generated` range (ns, both ends inclusive) that `filters` (ANDed) imply, if
/// any: comparisons and `BETWEEN` with timestamp literals. Exclusive bounds are widened to
/// inclusive ones (a row-group prune must never drop a matching row).
pub(crate) fn time_bounds(filters: &[Expr]) -> Option<(i64, i64)> {
    let mut lo = i64::MIN;
    let mut hi = i64::MAX;
    let mut any = false;
    for f in filters {
        for (op, v) in time_comparisons(f) {
            any = true;
            match op {
                Operator::Gt | Operator::GtEq => lo = lo.max(v),
                Operator::Lt | Operator::LtEq => hi = hi.min(v),
                Operator::Eq => {
                    lo = lo.max(v);
                    hi = hi.min(v);
                }
                _ => {}
            }
        }
    }
    any.then_some((lo, hi))
}

/// `(op, ns)` pairs of `time_generated <op> literal` in a conjunction, the column on the left.
fn time_comparisons(e: &Expr) -> Vec<(Operator, i64)> {
    match e {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            Operator::And => {
                let mut v = time_comparisons(left);
                v.extend(time_comparisons(right));
                v
            }
            Operator::Gt | Operator::GtEq | Operator::Lt | Operator::LtEq | Operator::Eq => {
                match (is_time_column(left), is_time_column(right)) {
                    (true, false) => timestamp_ns(right).map(|v| vec![(*op, v)]),
                    (false, true) => op
                        .swap()
                        .and_then(|op| timestamp_ns(left).map(|v| vec![(op, v)])),
                    _ => None,
                }
                .unwrap_or_default()
            }
            _ => Vec::new(),
        },
        Expr::Between(Between {
            expr,
            negated: false,
            low,
            high,
        }) if is_time_column(expr) => match (timestamp_ns(low), timestamp_ns(high)) {
            (Some(a), Some(b)) => vec![(Operator::GtEq, a), (Operator::LtEq, b)],
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// The clusters (lower-cased, as the column holds them) a `cluster = 'x'` or
/// `cluster IN ('x', 'y')` filter (or a conjunction holding one) keeps, if any.
pub(crate) fn cluster_values(filters: &[Expr]) -> Option<Vec<String>> {
    fn of(e: &Expr) -> Option<Vec<String>> {
        let is_cluster =
            |e: &Expr| matches!(e, Expr::Column(c) if c.name == Column::Cluster.name());
        let text = |e: &Expr| match e {
            Expr::Literal(v, _) => v.try_as_str().flatten().map(str::to_lowercase),
            _ => None,
        };
        match e {
            Expr::BinaryExpr(BinaryExpr {
                left,
                op: Operator::And,
                right,
            }) => of(left).or_else(|| of(right)),
            Expr::BinaryExpr(BinaryExpr {
                left,
                op: Operator::Eq,
                right,
            }) => match (is_cluster(left), is_cluster(right)) {
                (true, false) => text(right).map(|v| vec![v]),
                (false, true) => text(left).map(|v| vec![v]),
                _ => None,
            },
            Expr::InList(l) if !l.negated && is_cluster(&l.expr) => {
                l.list.iter().map(text).collect()
            }
            _ => None,
        }
    }
    filters.iter().find_map(of)
}

fn is_time_column(e: &Expr) -> bool {
    matches!(e, Expr::Column(c) if c.name == Column::TimeGenerated.name())
}

/// A timestamp literal in ns (any unit; seconds to nanoseconds).
fn timestamp_ns(e: &Expr) -> Option<i64> {
    let Expr::Literal(v, _) = e else {
        return None;
    };
    match v {
        ScalarValue::TimestampNanosecond(Some(x), _) => Some(*x),
        ScalarValue::TimestampMicrosecond(Some(x), _) => x.checked_mul(1_000),
        ScalarValue::TimestampMillisecond(Some(x), _) => x.checked_mul(1_000_000),
        ScalarValue::TimestampSecond(Some(x), _) => x.checked_mul(1_000_000_000),
        _ => None,
    }
}

/// Registers an [`AuditTable`] over `paths` as `name` in `ctx`, and auditframe's functions
/// ([`functions::register`]).
///
/// Copies of requests exported under both audit categories are dropped unless
/// [`AuditTableOptions::keep_copies`]. A storage tree (copies in the two categories' blobs of
/// one cluster and hour) or a single file has them dropped by the scan as it reads, exactly
/// as `auditframe analyze` drops them ([`AuditTable::copies_in_scan`]). Other sets of files
/// that may hold both categories make `name` a view that drops the `kube-audit-admin` row of
/// a request whose (`audit_id`, `stage`) also has a `kube-audit` row — an anti-join, which
/// runs distributed too but reads the files twice; it equals `analyze`'s rule whenever a
/// request appears at most once per category, which is what AKS writes.
pub async fn register_audit(
    ctx: &SessionContext,
    name: &str,
    paths: &[impl AsRef<Path>],
    options: &AuditTableOptions,
) -> Result<()> {
    let paths: Vec<PathBuf> = paths.iter().map(|p| p.as_ref().to_path_buf()).collect();
    let table = AuditTable::try_new(&paths, options.clone())?;
    functions::register(ctx);
    let provider: Arc<dyn TableProvider> = if table.copies_need_join() {
        without_copies(ctx, Arc::new(table))?
    } else {
        Arc::new(table)
    };
    ctx.register_table(name, provider)?;
    Ok(())
}

/// `table` without the `kube-audit-admin` copies of requests that have a `kube-audit` row.
fn without_copies(ctx: &SessionContext, table: Arc<AuditTable>) -> Result<Arc<dyn TableProvider>> {
    const ID: &str = "__copy_audit_id";
    const STAGE: &str = "__copy_stage";
    let rows = ctx.read_table(table.clone())?;
    let kube_audit = ctx
        .read_table(table)?
        .filter(col(Column::Category.name()).eq(lit("kube-audit")))?
        .select(vec![
            col(Column::AuditId.name()).alias(ID),
            col(Column::Stage.name()).alias(STAGE),
        ])?
        .distinct()?;
    let kept = rows.join(
        kube_audit,
        JoinType::LeftAnti,
        &[Column::AuditId.name(), Column::Stage.name()],
        &[ID, STAGE],
        Some(col(Column::Category.name()).eq(lit("kube-audit-admin"))),
    )?;
    Ok(kept.into_view())
}

/// The table's schema with only `columns`, in that order.
pub(crate) fn projected_schema(columns: &[Column]) -> SchemaRef {
    let all = auditframe::arrow::canonical_schema(Projection::all());
    let fields: Vec<_> = columns
        .iter()
        .filter_map(|c| all.field_with_name(c.name()).ok().cloned())
        .collect();
    Arc::new(Schema::new_with_metadata(fields, all.metadata().clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::logical_expr::{col, lit};

    fn ts(ns: i64) -> Expr {
        lit(ScalarValue::TimestampNanosecond(
            Some(ns),
            Some("UTC".into()),
        ))
    }

    #[test]
    fn time_bounds_of_comparisons_and_between() {
        let t = col("time_generated");
        assert_eq!(
            time_bounds(&[t.clone().gt_eq(ts(10))]),
            Some((10, i64::MAX))
        );
        assert_eq!(
            time_bounds(&[t.clone().gt(ts(10)), t.clone().lt(ts(20))]),
            Some((10, 20))
        );
        assert_eq!(
            time_bounds(&[ts(10).lt_eq(t.clone()).and(t.clone().lt_eq(ts(30)))]),
            Some((10, 30))
        );
        assert_eq!(
            time_bounds(&[t.clone().between(ts(5), ts(7))]),
            Some((5, 7))
        );
        assert_eq!(time_bounds(&[t.clone().eq(ts(9))]), Some((9, 9)));
        // Not on time_generated, or not a conjunction: no pruning.
        assert_eq!(time_bounds(&[col("request_received").gt(ts(1))]), None);
        assert_eq!(time_bounds(&[t.clone().gt(ts(1)).or(t.lt(ts(0)))]), None);
    }

    #[test]
    fn cluster_filters_and_blob_pruning() {
        let c = col("cluster");
        assert_eq!(
            cluster_values(&[c.clone().eq(lit("AKS-1"))]),
            Some(vec!["aks-1".into()])
        );
        assert_eq!(
            cluster_values(&[c.clone().in_list(vec![lit("a"), lit("b")], false)]),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            cluster_values(&[c.clone().in_list(vec![lit("a")], true)]),
            None
        );
        assert_eq!(cluster_values(&[c.not_eq(lit("a"))]), None);
        let blob = |cluster: &str, h: u32| {
            (
                PathBuf::from(format!(
                    "insights-logs-kube-audit/resourceId=/S/MANAGEDCLUSTERS/{cluster}/y=2026/m=11/d=20/h={h:02}/m=00/PT1H.json"
                )),
                1,
            )
        };
        let files = vec![
            blob("AKS-1", 9),
            blob("AKS-1", 10),
            blob("AKS-2", 10),
            (PathBuf::from("native.log"), 1),
        ];
        let t = AuditTable::from_parts(
            files.clone(),
            Format::Json,
            AuditTableOptions::default(),
            false,
        );
        let (ten, _) = auditframe::storage::partition_hour(&files[1].0).unwrap();
        let (kept, pruned) = t.files_for(Some((ten, ten + 60)), None);
        assert_eq!((kept.len(), pruned), (3, 1));
        let (kept, pruned) = t.files_for(Some((ten, ten + 60)), Some(&["aks-2".to_owned()]));
        assert_eq!(pruned, 2);
        assert_eq!(
            kept.iter().map(|f| f.0.clone()).collect::<Vec<_>>(),
            vec![files[2].0.clone(), files[3].0.clone()]
        );
    }
}

//! [`AuditScanExec`]: the physical scan of an [`AuditTable`](crate::AuditTable), one
//! partition per group of files, each read by auditframe's readers a block (NDJSON) or a few
//! row groups (Parquet) at a time and handed on as Arrow batches.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arrow_array::{RecordBatch, RecordBatchOptions};
use arrow_schema::SchemaRef;
use auditframe::copies::{with_copy_key_columns, with_copy_key_columns_for_keys, CategoryCopies};
use auditframe::ParseReport;
use auditframe::{AuditFrame, Column, Projection};
use datafusion::common::stats::Precision;
use datafusion::common::Statistics;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::metrics::{
    Count, ExecutionPlanMetricsSet, MetricBuilder, MetricsSet,
};
use datafusion::physical_plan::stream::RecordBatchReceiverStream;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream,
};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::Sender;

use crate::table::projected_schema;
use crate::{AuditTableOptions, Format};

/// What a scan reads: everything a Ballista codec has to carry to an executor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ScanConfig {
    /// The files of each partition.
    pub groups: Vec<Vec<PathBuf>>,
    /// The bytes of each partition's files (statistics, without asking the file system again).
    pub group_bytes: Vec<u64>,
    pub format: Format,
    pub options: AuditTableOptions,
    /// The output columns (canonical names), in output order.
    pub columns: Vec<String>,
    /// A `time_generated` range (inclusive) Parquet row groups are pruned by.
    pub window: Option<(i64, i64)>,
    /// Storage blobs left unopened by the table's filters (shown by `EXPLAIN`).
    pub pruned_files: usize,
    /// Drop copies of requests exported under both audit categories while reading (every
    /// copy's files are in one partition).
    pub drop_copies: bool,
}

/// Scans audit files with auditframe's readers: only the projected columns are parsed.
#[derive(Debug)]
pub struct AuditScanExec {
    config: ScanConfig,
    columns: Vec<Column>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
}

impl AuditScanExec {
    pub(crate) fn new(
        groups: Vec<(u64, Vec<PathBuf>)>,
        format: Format,
        options: AuditTableOptions,
        columns: Vec<Column>,
        window: Option<(i64, i64)>,
        pruned_files: usize,
        drop_copies: bool,
    ) -> AuditScanExec {
        let (group_bytes, groups) = groups.into_iter().unzip();
        AuditScanExec::from_config(ScanConfig {
            groups,
            group_bytes,
            format,
            options,
            columns: columns.iter().map(|c| c.name().to_owned()).collect(),
            window,
            pruned_files,
            drop_copies,
        })
    }

    pub(crate) fn from_config(config: ScanConfig) -> AuditScanExec {
        let columns: Vec<Column> = config
            .columns
            .iter()
            .filter_map(|n| Column::from_name(n))
            .collect();
        let schema = projected_schema(&columns);
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(config.groups.len().max(1)),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        AuditScanExec {
            config,
            columns,
            schema,
            properties: Arc::new(properties),
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }

    pub(crate) fn config(&self) -> &ScanConfig {
        &self.config
    }

    /// The files of each partition.
    pub fn partition_files(&self) -> &[Vec<PathBuf>] {
        &self.config.groups
    }
}

impl DisplayAs for AuditScanExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let files: usize = self.config.groups.iter().map(Vec::len).sum();
        match t {
            DisplayFormatType::Default | DisplayFormatType::Verbose => write!(
                f,
                "AuditScanExec: format={:?}, files={}, pruned_files={}, partitions={}, drop_copies={}, columns=[{}]{}",
                self.config.format,
                files,
                self.config.pruned_files,
                self.config.groups.len(),
                self.config.drop_copies,
                self.config.columns.join(", "),
                self.config
                    .window
                    .map(|(a, b)| format!(", time_generated=[{a}, {b}]"))
                    .unwrap_or_default()
            ),
            DisplayFormatType::TreeRender => write!(f, "files={files}"),
        }
    }
}

impl ExecutionPlan for AuditScanExec {
    fn name(&self) -> &str {
        "AuditScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        if children.is_empty() {
            Ok(self)
        } else {
            Err(DataFusionError::Internal(
                "AuditScanExec has no children".into(),
            ))
        }
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> DfResult<SendableRecordBatchStream> {
        let files = match self.config.groups.get(partition) {
            Some(f) => f.clone(),
            // A table without files has one empty partition.
            None if partition == 0 => Vec::new(),
            None => {
                return Err(DataFusionError::Internal(format!(
                    "AuditScanExec: no partition {partition}"
                )))
            }
        };
        let read = PartitionRead {
            files,
            format: self.config.format,
            options: self.config.options.clone(),
            columns: self.columns.clone(),
            schema: self.schema.clone(),
            window: self.config.window,
            drop_copies: self.config.drop_copies,
            skipped: MetricBuilder::new(&self.metrics).counter("skipped_records", partition),
            copies: MetricBuilder::new(&self.metrics).counter("copies_dropped", partition),
            rows: MetricBuilder::new(&self.metrics).output_rows(partition),
        };
        let mut builder = RecordBatchReceiverStream::builder(self.schema.clone(), 2);
        let tx = builder.tx();
        builder.spawn_blocking(move || read.run(&tx));
        Ok(builder.build())
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }

    fn partition_statistics(&self, partition: Option<usize>) -> DfResult<Arc<Statistics>> {
        let bytes: u64 = match partition {
            Some(p) => self.config.group_bytes.get(p).copied().unwrap_or(0),
            None => self.config.group_bytes.iter().sum(),
        };
        let mut s = Statistics::new_unknown(&self.schema);
        s.total_byte_size = Precision::Inexact(usize::try_from(bytes).unwrap_or(usize::MAX));
        Ok(Arc::new(s))
    }
}

/// One partition's read, run on a blocking thread.
struct PartitionRead {
    files: Vec<PathBuf>,
    format: Format,
    options: AuditTableOptions,
    columns: Vec<Column>,
    schema: SchemaRef,
    window: Option<(i64, i64)>,
    drop_copies: bool,
    skipped: Count,
    copies: Count,
    rows: Count,
}

impl PartitionRead {
    fn run(self, tx: &Sender<DfResult<RecordBatch>>) -> DfResult<()> {
        // A query that counts rows reads no column: read the cheapest one and drop it.
        let mut projection = if self.columns.is_empty() {
            Projection::of(&[Column::TimeGenerated])
        } else {
            Projection::of(&self.columns)
        };
        // Exact: every key of the partition is kept, and no copy lies in another partition.
        // JSON keeps audit IDs as compact keys beside each frame (not a string column);
        // Parquet reads the column.
        let copy_keys = self.drop_copies && matches!(self.format, Format::Json);
        let mut copies = self.drop_copies.then(|| {
            projection = if copy_keys {
                with_copy_key_columns_for_keys(projection)
            } else {
                with_copy_key_columns(projection)
            };
            CategoryCopies::new()
        });
        let cancel = Arc::new(AtomicBool::new(false));
        let mut failure: Option<DataFusionError> = None;
        let mut each = |frame: AuditFrame, report: &ParseReport| {
            self.skipped.add(report.skipped_total() as usize);
            if failure.is_some() || cancel.load(Ordering::Relaxed) {
                return;
            }
            let frame = match copies.as_mut() {
                None => Ok(frame),
                Some(c) => {
                    let before = c.dropped();
                    let kept = c.drop_copies(&frame).map_err(external);
                    self.copies.add((c.dropped() - before) as usize);
                    kept
                }
            };
            match frame.and_then(|frame| self.send_frame(&frame, tx)) {
                Ok(true) => {}
                // The consumer is gone (a LIMIT was met, the query was cancelled).
                Ok(false) => cancel.store(true, Ordering::Relaxed),
                Err(e) => {
                    failure = Some(e);
                    cancel.store(true, Ordering::Relaxed);
                }
            }
        };
        let read = match self.format {
            Format::Json => auditframe_ndjson::ReaderBuilder::new()
                .projection(projection)
                .strict(self.options.strict())
                .reject_truncated(self.options.reject_truncated())
                .shape(self.options.shape())
                .copy_keys(copy_keys)
                .cancel(cancel.clone())
                .for_each_frame(&self.files, |frame, report| {
                    each(frame, report);
                    Ok(())
                })
                .map(drop)
                .map_err(|e| match e {
                    auditframe_ndjson::Error::Cancelled => None,
                    e => Some(DataFusionError::External(Box::new(e))),
                }),
            Format::Parquet => {
                let mut r = auditframe_parquet::ReaderBuilder::new()
                    .projection(projection)
                    .strict(self.options.strict())
                    .cancel(cancel.clone());
                if let Some((a, b)) = self.window {
                    r = r.time_window(a, b);
                }
                r.for_each_frame(&self.files, |frame, report| {
                    each(frame, report);
                    Ok(())
                })
                .map(drop)
                .map_err(|e| match e {
                    auditframe_parquet::Error::Cancelled => None,
                    e => Some(DataFusionError::External(Box::new(e))),
                })
            }
        };
        if let Some(e) = failure {
            return Err(e);
        }
        match read {
            Ok(()) | Err(None) => Ok(()),
            Err(Some(e)) => Err(e),
        }
    }

    /// Sends the frame's batches in the output schema; `false` when nobody listens.
    fn send_frame(&self, frame: &AuditFrame, tx: &Sender<DfResult<RecordBatch>>) -> DfResult<bool> {
        let frame_columns: Vec<Column> = frame.projection().columns().collect();
        for batch in frame.to_record_batches().map_err(external)? {
            if batch.num_rows() == 0 {
                continue;
            }
            let arrays = self
                .columns
                .iter()
                .map(|c| {
                    frame_columns
                        .iter()
                        .position(|f| f == c)
                        .map(|i| batch.column(i).clone())
                        .ok_or_else(|| {
                            DataFusionError::Internal(format!("column {} not read", c.name()))
                        })
                })
                .collect::<DfResult<Vec<_>>>()?;
            let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
            let out = RecordBatch::try_new_with_options(self.schema.clone(), arrays, &options)?;
            self.rows.add(out.num_rows());
            if tx.blocking_send(Ok(out)).is_err() {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

fn external(e: auditframe::Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

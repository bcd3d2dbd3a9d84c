//! The inputs of a call, read as `auditframe analyze` reads them in memory, through the
//! readers' public API: JSON exports or Parquet (picked by the paths), copies of requests
//! exported under both audit categories dropped, only the asked-for clusters kept.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use auditframe::copies::CategoryCopies;
use auditframe::source::ReadReport;
use auditframe::{AuditFrame, Column, Projection, Shape, TimeWindow};
use serde_json::{json, Map, Value};

use crate::errors::Failure;

/// How the inputs are read.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReadOptions {
    pub paths: Vec<PathBuf>,
    /// Forced record shape (JSON inputs); sniffed per input when `None`.
    pub shape: Option<Shape>,
    pub strict: bool,
    pub reject_truncated: bool,
    /// Keep only these clusters' rows (case-insensitive); one name also labels native logs.
    pub clusters: Vec<String>,
    /// Keep both copies of requests exported under both audit categories.
    pub keep_copies: bool,
}

/// What was read.
pub(crate) struct Read {
    pub frame: AuditFrame,
    pub report: ReadReport,
    /// `json` or `parquet`.
    pub format: &'static str,
    /// Second copies of requests dropped.
    pub copies_dropped: u64,
    /// Only `kube-audit-admin` rows were read.
    pub admin_only: bool,
}

/// Said of an export holding only the `kube-audit-admin` category (as the CLI says it).
const ADMIN_ONLY: &str = "note: only kube-audit-admin rows were read: that category has no get, list or watch requests (export kube-audit for them)";

impl ReadOptions {
    /// Reads the inputs into one frame with (at least) `projection`; `window` lets Parquet
    /// skip row groups (rows are not filtered here).
    pub(crate) fn read(
        &self,
        projection: Projection,
        window: TimeWindow,
        cancel: Arc<AtomicBool>,
    ) -> Result<Read, Failure> {
        if self.paths.is_empty() {
            return Err(Failure::Usage("no input paths given".into()));
        }
        let parquet = self.paths_are_parquet()?;
        let files = self.files(parquet)?;
        let mut projection = projection;
        if !self.clusters.is_empty() {
            projection = projection.with(Column::Cluster);
        }
        let drop_copies =
            !self.keep_copies && (parquet || auditframe_ndjson::may_hold_categories(&files));
        // JSON readers keep audit IDs as compact keys beside the frame for the copy detection
        // (as the CLI does); Parquet reads the column.
        let copy_keys = drop_copies && !parquet;
        if copy_keys {
            projection = auditframe::copies::with_copy_key_columns_for_keys(projection);
        } else if drop_copies {
            projection = auditframe::copies::with_copy_key_columns(projection);
        }
        let (frame, report) = if parquet {
            let mut r = auditframe_parquet::ReaderBuilder::new()
                .projection(projection)
                .strict(self.strict)
                .cancel(cancel);
            if let TimeWindow::Between { start, end } = window {
                r = r.time_window(start, end);
            }
            r.read_paths(&files)?
        } else {
            auditframe_ndjson::ReaderBuilder::new()
                .projection(projection)
                .strict(self.strict)
                .reject_truncated(self.reject_truncated)
                .cluster_label(match self.clusters.as_slice() {
                    [one] => Some(one.as_str()),
                    _ => None,
                })
                .shape(self.shape)
                .copy_keys(copy_keys)
                .cancel(cancel)
                .read_paths(&files)?
        };
        let (frame, copies_dropped, admin_only) = if drop_copies {
            let (frame, copies) = CategoryCopies::drop_copies_in_whole(&frame)?;
            (frame, copies.dropped(), copies.admin_only())
        } else {
            (frame, 0, false)
        };
        let frame = if self.clusters.is_empty() {
            frame
        } else {
            frame.filter_clusters(&self.clusters)?
        };
        Ok(Read {
            frame,
            report,
            format: if parquet { "parquet" } else { "json" },
            copies_dropped,
            admin_only,
        })
    }

    /// All Parquet or all JSON; a mix is an error.
    fn paths_are_parquet(&self) -> Result<bool, Failure> {
        let parquet = self
            .paths
            .iter()
            .filter(|p| auditframe_parquet::is_parquet_input(p))
            .count();
        match parquet {
            0 => Ok(false),
            n if n == self.paths.len() => Ok(true),
            _ => Err(Failure::Usage(
                "Parquet and JSON inputs mixed in one call: read them separately".into(),
            )),
        }
    }

    /// The files the paths stand for (directories walked; `-`, stdin, kept).
    fn files(&self, parquet: bool) -> Result<Vec<PathBuf>, Failure> {
        let mut files = Vec::new();
        for p in &self.paths {
            if p.as_os_str() == "-" {
                files.push(p.clone());
            } else if parquet {
                files.extend(auditframe_parquet::walk(p)?);
            } else {
                files.extend(auditframe_ndjson::walk(p)?);
            }
        }
        Ok(files)
    }
}

impl Read {
    /// The read's fields of the JSON contract.
    pub(crate) fn fields(&self) -> Map<String, Value> {
        read_fields(
            &self.report,
            self.format,
            self.copies_dropped,
            self.admin_only,
        )
    }
}

/// A read's fields of the JSON contract: the core's read report, plus the format, the copies
/// dropped, notes and one entry per input.
pub(crate) fn read_fields(
    report: &ReadReport,
    format: &str,
    copies_dropped: u64,
    admin_only: bool,
) -> Map<String, Value> {
    let mut m = match serde_json::to_value(report.parse.contract()) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    m.insert("format".into(), format.into());
    m.insert("duplicates_dropped".into(), copies_dropped.into());
    m.insert("log_lines".into(), report.parse.log_lines.into());
    let notes: Vec<&str> = if admin_only { vec![ADMIN_ONLY] } else { vec![] };
    m.insert("notes".into(), notes.into());
    let inputs: Vec<Value> = report
        .inputs
        .iter()
        .map(|i| {
            json!({
                "name": i.name,
                "shape": i.shape.map(|s| s.name()),
                "bytes": i.bytes,
                "rows": i.rows,
                "truncated": i.truncated,
            })
        })
        .collect();
    m.insert("inputs".into(), inputs.into());
    m
}

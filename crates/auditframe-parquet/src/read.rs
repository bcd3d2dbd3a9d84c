//! Reading Parquet files into one [`AuditFrame`]: footer and layout first, then the row
//! groups that the projection and time window need, decoded in parallel.

use std::fs::File;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use auditframe::arrow::{ArrowTable, TableLayout};
use auditframe::decoder::FrameBuilder;
use auditframe::source::{InputReport, Progress, ProgressFn, ReadReport, TableReport};
use auditframe::{AuditFrame, LogLine, ParseOptions, ParseReport, Projection};
use bytes::Bytes;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;
use parquet::file::metadata::RowGroupMetaData;
use parquet::file::reader::ChunkReader;
use parquet::file::statistics::Statistics;
use rayon::prelude::*;

use crate::logs::read_logs;
use crate::{Error, Result};

/// Rows per frame of [`ReaderBuilder::for_each_frame`] unless told otherwise.
pub const DEFAULT_FRAME_ROWS: usize = 1 << 20;

/// Rows per Arrow batch while decoding a row group.
pub const DEFAULT_BATCH_ROWS: usize = 64 * 1024;

/// Configures and runs a Parquet read. Cheap to clone.
///
/// ```
/// use auditframe::{AuditFrame, ParseOptions, Projection};
/// use auditframe_parquet::{ReaderBuilder, WriterBuilder};
///
/// let log = br#"{"kind":"Event","verb":"list","stage":"ResponseComplete","userAgent":"kubectl","objectRef":{"resource":"pods"},"requestReceivedTimestamp":"2026-11-20T10:00:00Z","stageTimestamp":"2026-11-20T10:00:00.5Z"}
/// "#;
/// let (frame, _) = AuditFrame::from_slice(log, &ParseOptions::new())?;
/// let dir = std::env::temp_dir().join(format!("auditframe-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("audit.parquet");
/// WriterBuilder::new().write_path(&frame, &path)?;
///
/// let (back, report) = ReaderBuilder::new()
///     .projection(Projection::analyses())
///     .read_path(&path)?;
/// assert_eq!(back.height(), 1);
/// let table = report.inputs[0].table.as_ref().expect("a table");
/// assert_eq!(table.columns_read.len(), Projection::analyses().len());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct ReaderBuilder {
    opts: ParseOptions,
    window: Option<(i64, i64)>,
    batch_rows: usize,
    frame_rows: usize,
    progress: Option<Arc<ProgressFn>>,
    cancel: Option<Arc<AtomicBool>>,
}

impl std::fmt::Debug for ReaderBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReaderBuilder")
            .field("opts", &self.opts)
            .field("window", &self.window)
            .field("batch_rows", &self.batch_rows)
            .field("frame_rows", &self.frame_rows)
            .field("progress", &self.progress.is_some())
            .field("cancel", &self.cancel.is_some())
            .finish()
    }
}

impl Default for ReaderBuilder {
    fn default() -> Self {
        ReaderBuilder {
            opts: ParseOptions::new(),
            window: None,
            batch_rows: DEFAULT_BATCH_ROWS,
            frame_rows: DEFAULT_FRAME_ROWS,
            progress: None,
            cancel: None,
        }
    }
}

/// An input: a file, or bytes in memory.
#[derive(Clone)]
enum Source {
    File(PathBuf),
    Bytes(Bytes, PathBuf),
}

impl Source {
    fn path(&self) -> &Path {
        match self {
            Source::File(p) | Source::Bytes(_, p) => p,
        }
    }
}

/// A file whose footer is read and whose table is recognised.
struct Opened {
    source: Source,
    meta: ArrowReaderMetadata,
    table: ArrowTable,
    mask: ProjectionMask,
    report: InputReport,
    /// Row groups to decode: index, file row number of the first row, rows.
    groups: Vec<(usize, u64, usize)>,
    logs: Vec<LogLine>,
}

/// One row group to decode.
struct Task<'o> {
    file: &'o Opened,
    group: usize,
    /// The file row number of the group's first row.
    first_row: u64,
    rows: usize,
}

impl Opened {
    fn tasks(&self) -> impl Iterator<Item = Task<'_>> + '_ {
        self.groups
            .iter()
            .map(move |&(group, first_row, rows)| Task {
                file: self,
                group,
                first_row,
                rows,
            })
    }
}

impl ReaderBuilder {
    /// Lenient, every column, no time window.
    pub fn new() -> ReaderBuilder {
        ReaderBuilder::default()
    }

    /// Parse options (projection, strictness; the shape is taken from the table's layout).
    #[must_use]
    pub fn options(mut self, opts: ParseOptions) -> ReaderBuilder {
        self.opts = opts;
        self
    }

    /// The columns to build; only the file columns they need are decoded.
    #[must_use]
    pub fn projection(mut self, projection: Projection) -> ReaderBuilder {
        self.opts = self.opts.with_projection(projection);
        self
    }

    /// Strict: the first bad value is an error naming its file, row and column. Lenient
    /// (default): the row is skipped and counted per reason.
    #[must_use]
    pub fn strict(mut self, strict: bool) -> ReaderBuilder {
        self.opts = self.opts.with_strict(strict);
        self
    }

    /// Keeps only rows whose `time_generated` is in `start ..= end` (ns since the epoch,
    /// both inclusive as KQL `between`); rows without a time are dropped. Row groups whose
    /// statistics show no row in the window are not decoded. `time_generated` is added to
    /// the projection.
    #[must_use]
    pub fn time_window(mut self, start: i64, end: i64) -> ReaderBuilder {
        self.window = Some((start, end));
        self
    }

    /// Rows per Arrow batch while decoding (default [`DEFAULT_BATCH_ROWS`]).
    #[must_use]
    pub fn batch_rows(mut self, rows: usize) -> ReaderBuilder {
        self.batch_rows = rows.max(1);
        self
    }

    /// Rows per frame of [`for_each_frame`](Self::for_each_frame), in whole row groups
    /// (default [`DEFAULT_FRAME_ROWS`]).
    #[must_use]
    pub fn frame_rows(mut self, rows: usize) -> ReaderBuilder {
        self.frame_rows = rows.max(1);
        self
    }

    /// Stops the read with [`Error::Cancelled`] before the next row group once `flag` is set
    /// (from another thread: a front end's Ctrl-C handler).
    #[must_use]
    pub fn cancel(mut self, flag: Arc<AtomicBool>) -> ReaderBuilder {
        self.cancel = Some(flag);
        self
    }

    fn check_cancelled(&self) -> Result<()> {
        match &self.cancel {
            Some(c) if c.load(std::sync::atomic::Ordering::Relaxed) => Err(Error::Cancelled),
            _ => Ok(()),
        }
    }

    /// Reports progress after each row group.
    #[must_use]
    pub fn progress(mut self, f: Arc<ProgressFn>) -> ReaderBuilder {
        self.progress = Some(f);
        self
    }

    fn effective_options(&self) -> ParseOptions {
        let p = self.opts.projection();
        match self.window {
            Some(_) => self
                .opts
                .clone()
                .with_projection(p.with(auditframe::Column::TimeGenerated)),
            None => self.opts.clone(),
        }
    }

    /// Reads a file, or every `.parquet` file under a directory (sorted by path).
    pub fn read_path(&self, path: impl AsRef<Path>) -> Result<(AuditFrame, ReadReport)> {
        self.read_paths(&[path.as_ref().to_path_buf()])
    }

    /// Reads several files or directories into one frame, in order.
    pub fn read_paths(&self, paths: &[PathBuf]) -> Result<(AuditFrame, ReadReport)> {
        let mut sources = Vec::new();
        for p in paths {
            sources.extend(walk(p)?.into_iter().map(Source::File));
        }
        self.read_sources(sources)
    }

    /// Reads Parquet bytes held in memory; `name` is used in errors and the report.
    pub fn read_bytes(
        &self,
        bytes: impl Into<Bytes>,
        name: &str,
    ) -> Result<(AuditFrame, ReadReport)> {
        self.read_sources(vec![Source::Bytes(bytes.into(), PathBuf::from(name))])
    }

    /// Reads the footer of each file and recognises its table without decoding rows.
    pub fn inspect(&self, path: impl AsRef<Path>) -> Result<Vec<InputReport>> {
        walk(path.as_ref())?
            .into_iter()
            .map(|p| Ok(self.open(Source::File(p))?.report))
            .collect()
    }

    fn read_sources(&self, sources: Vec<Source>) -> Result<(AuditFrame, ReadReport)> {
        // Results are collected in input order and the first error in that order wins, so
        // that a strict read fails the same way however the threads were scheduled.
        let opened: Vec<Opened> = sources
            .into_par_iter()
            .map(|s| self.open(s))
            .collect::<Vec<_>>()
            .into_iter()
            .collect::<Result<_>>()?;
        let tasks: Vec<Task<'_>> = opened.iter().flat_map(Opened::tasks).collect();
        let logs = opened.iter().flat_map(|o| o.logs.iter().cloned()).collect();
        let (frame, parse) = self.build(&tasks, logs, &opened)?;
        let inputs = opened.into_iter().map(|o| o.report).collect();
        Ok((frame, ReadReport { parse, inputs }))
    }

    /// Reads the files (or directories) a frame of at most about
    /// [`frame_rows`](Self::frame_rows) rows at a time
    /// — whole row groups, decoded in parallel — and calls `f` with each frame and its counts:
    /// bounded memory for inputs of any size. Frames follow the file order; a file's
    /// control-plane log lines come with its first frame.
    pub fn for_each_frame(
        &self,
        paths: &[PathBuf],
        mut f: impl FnMut(AuditFrame, &ParseReport) -> Result<()>,
    ) -> Result<ReadReport> {
        let frame_rows = self.frame_rows;
        let mut report = ReadReport::default();
        for p in paths {
            for file in walk(p)? {
                let o = self.open(Source::File(file))?;
                let tasks: Vec<Task<'_>> = o.tasks().collect();
                let mut logs = Some(o.logs.clone());
                let mut rest = tasks.as_slice();
                while !rest.is_empty() || logs.is_some() {
                    // Whole row groups up to `frame_rows` (at least one).
                    let mut n = 0;
                    let mut rows = 0usize;
                    while let Some(t) = rest.get(n) {
                        if n > 0 && rows + t.rows > frame_rows {
                            break;
                        }
                        rows += t.rows;
                        n += 1;
                    }
                    let (chunk, tail) = rest.split_at(n);
                    rest = tail;
                    let (frame, parse) = self.build(
                        chunk,
                        logs.take().unwrap_or_default(),
                        std::slice::from_ref(&o),
                    )?;
                    f(frame, &parse)?;
                    report.parse.merge(parse);
                }
                report.inputs.push(o.report.clone());
            }
        }
        Ok(report)
    }

    /// Decodes row groups (in parallel) into one frame with `logs`, applying the window.
    fn build(
        &self,
        tasks: &[Task<'_>],
        logs: Vec<LogLine>,
        opened: &[Opened],
    ) -> Result<(AuditFrame, ParseReport)> {
        let opts = self.effective_options();
        let total = tasks.len();
        let done = std::sync::atomic::AtomicUsize::new(0);
        let rows_done = std::sync::atomic::AtomicU64::new(0);
        let parts: Vec<FrameBuilder> = tasks
            .par_iter()
            .map(|t| {
                self.check_cancelled()?;
                let b = self.decode_group(t.file, t.group, t.first_row, &opts)?;
                if let Some(p) = &self.progress {
                    use std::sync::atomic::Ordering::Relaxed;
                    let n = done.fetch_add(1, Relaxed) + 1;
                    let rows = rows_done.fetch_add(t.rows as u64, Relaxed) + t.rows as u64;
                    p(&Progress {
                        input: &t.file.source.path().display().to_string(),
                        bytes: None,
                        row_groups: Some((n, total)),
                        rows,
                    });
                }
                Ok(b)
            })
            .collect::<Vec<_>>()
            .into_iter()
            .collect::<Result<_>>()?;
        let mut all = FrameBuilder::new(&opts, None);
        for part in parts {
            all.append(part);
        }
        let (frame, mut parse) = all.finish().map_err(|e| match opened {
            [one] => Error::table(one.source.path(), e),
            _ => Error::Frame(e),
        })?;
        parse.log_lines += logs.len() as u64;
        // Log lines stored in the files' metadata follow those read as table rows.
        let mut all_logs = frame.control_plane_logs().to_vec();
        all_logs.extend(logs);
        let mut frame = frame.with_control_plane_logs(all_logs);
        if let Some((start, end)) = self.window {
            frame = frame.filter_time(start, end)?;
            parse.rows = frame.height() as u64;
        }
        Ok((frame, parse))
    }

    /// Reads the footer, recognises the table, plans projection and row groups.
    fn open(&self, source: Source) -> Result<Opened> {
        let path = source.path().to_path_buf();
        let (meta, bytes) = match &source {
            Source::File(p) => {
                let f = File::open(p).map_err(|e| Error::io(p, e))?;
                let len = f.metadata().map_err(|e| Error::io(p, e))?.len();
                (guarded(&path, None, || load_meta(&f))?, len)
            }
            Source::Bytes(b, _) => (guarded(&path, None, || load_meta(b))?, b.len() as u64),
        };
        let table =
            ArrowTable::detect(meta.schema().clone()).map_err(|e| Error::table(&path, e))?;
        let opts = self.effective_options();
        table
            .check_projection(opts.projection())
            .map_err(|e| Error::table(&path, e))?;
        let columns_read = table.columns_for(opts.projection());
        let roots: Vec<usize> = columns_read
            .iter()
            .filter_map(|n| meta.schema().index_of(n).ok())
            .collect();
        let mask = ProjectionMask::roots(meta.parquet_schema(), roots);
        let md = meta.metadata();
        let time = table.time_column().and_then(|(name, unit)| {
            let leaf = meta
                .parquet_schema()
                .columns()
                .iter()
                .position(|c| c.path().parts() == [name.to_owned()])?;
            Some((leaf, nanos_per(unit)))
        });
        // A native event without `stageTimestamp` takes its time from other fields, so its
        // row group may only be skipped when the column has no nulls.
        let nulls_fall_back = table.layout() == TableLayout::NativeEvents;
        let mut groups = Vec::new();
        let mut skipped = 0;
        let mut first = 0u64;
        for (g, rg) in md.row_groups().iter().enumerate() {
            let keep = match (self.window, time) {
                (Some(w), Some((leaf, factor))) => {
                    may_overlap(rg, leaf, factor, w, nulls_fall_back)
                }
                _ => true,
            };
            if keep {
                groups.push((g, first, usize::try_from(rg.num_rows()).unwrap_or(0)));
            } else {
                skipped += 1;
            }
            first += u64::try_from(rg.num_rows()).unwrap_or(0);
        }
        let logs = read_logs(md.file_metadata().key_value_metadata())
            .map_err(|e| Error::parquet(&path, None, e))?;
        let report = InputReport {
            name: path.display().to_string(),
            shape: None,
            bytes,
            rows: u64::try_from(md.file_metadata().num_rows()).unwrap_or(0),
            truncated: None,
            table: Some(TableReport {
                layout: table.layout(),
                row_groups: md.num_row_groups(),
                row_groups_skipped: skipped,
                columns_read,
            }),
        };
        Ok(Opened {
            source,
            meta,
            table,
            mask,
            report,
            groups,
            logs,
        })
    }

    fn decode_group(
        &self,
        o: &Opened,
        group: usize,
        first_row: u64,
        opts: &ParseOptions,
    ) -> Result<FrameBuilder> {
        let path = o.source.path();
        // The source name goes into the errors of skipped rows (lenient mode), so that a
        // directory's report says which file each came from.
        let name: Arc<str> = Arc::from(path.display().to_string());
        let mut b = FrameBuilder::new(opts, Some(name));
        let batches = guarded(path, Some(group), || match &o.source {
            Source::File(p) => {
                let f = File::open(p).map_err(|e| e.to_string())?;
                decode(f, o, group, self.batch_rows)
            }
            Source::Bytes(bytes, _) => decode(bytes.clone(), o, group, self.batch_rows),
        })?;
        let mut row = first_row;
        for batch in &batches {
            b.push_record_batch(&o.table, batch, row)
                .map_err(|e| Error::table(path, e))?;
            row += batch.num_rows() as u64;
        }
        Ok(b)
    }
}

fn load_meta<T: ChunkReader>(r: &T) -> std::result::Result<ArrowReaderMetadata, String> {
    ArrowReaderMetadata::load(r, ArrowReaderOptions::new()).map_err(|e| e.to_string())
}

fn decode<T: ChunkReader + 'static>(
    input: T,
    o: &Opened,
    group: usize,
    batch_rows: usize,
) -> std::result::Result<Vec<arrow_array::RecordBatch>, String> {
    ParquetRecordBatchReaderBuilder::new_with_metadata(input, o.meta.clone())
        .with_projection(o.mask.clone())
        .with_row_groups(vec![group])
        .with_batch_size(batch_rows)
        .build()
        .map_err(|e| e.to_string())?
        .map(|b| b.map_err(|e| e.to_string()))
        .collect()
}

/// Runs a Parquet library call, turning its errors — and its panics, which a corrupt file can
/// still provoke in a decoder — into an error naming the file.
fn guarded<T>(
    path: &Path,
    row_group: Option<usize>,
    f: impl FnOnce() -> std::result::Result<T, String>,
) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(m)) => Err(Error::parquet(path, row_group, m)),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(Error::parquet(
                path,
                row_group,
                format!("the Parquet decoder failed: {what}"),
            ))
        }
    }
}

fn nanos_per(unit: arrow_schema::TimeUnit) -> i64 {
    match unit {
        arrow_schema::TimeUnit::Second => 1_000_000_000,
        arrow_schema::TimeUnit::Millisecond => 1_000_000,
        arrow_schema::TimeUnit::Microsecond => 1_000,
        arrow_schema::TimeUnit::Nanosecond => 1,
    }
}

/// Whether a row group's statistics allow a row in `start ..= end` (unknown: yes).
fn may_overlap(
    rg: &RowGroupMetaData,
    leaf: usize,
    factor: i64,
    (start, end): (i64, i64),
    nulls_fall_back: bool,
) -> bool {
    let Some(col) = rg.columns().get(leaf) else {
        return true;
    };
    let Some(Statistics::Int64(s)) = col.statistics() else {
        return true;
    };
    if nulls_fall_back && s.null_count_opt() != Some(0) {
        return true;
    }
    let (Some(&min), Some(&max)) = (s.min_opt(), s.max_opt()) else {
        return true;
    };
    let (Some(min), Some(max)) = (min.checked_mul(factor), max.checked_mul(factor)) else {
        return true;
    };
    max >= start && min <= end
}

/// The Parquet files a path stands for, by the rules of [`auditframe::source`] with the
/// extensions [`auditframe::source::PARQUET_EXTENSIONS`].
pub fn walk(path: &Path) -> Result<Vec<PathBuf>> {
    auditframe::source::walk(path, auditframe::source::PARQUET_EXTENSIONS)
        .map_err(|e| Error::io(e.path, e.source))
}

/// Whether a path names a Parquet file (`.parquet` / `.parq`, any case).
pub fn is_parquet_path(p: &Path) -> bool {
    auditframe::source::has_extension(p, auditframe::source::PARQUET_EXTENSIONS)
}

/// Whether an input path is Parquet: a Parquet file ([`is_parquet_path`]), or a directory
/// holding Parquet files. What front ends use to pick this crate's reader over the JSON one.
pub fn is_parquet_input(p: &Path) -> bool {
    if p.is_dir() {
        return walk(p).is_ok_and(|f| !f.is_empty());
    }
    is_parquet_path(p)
}

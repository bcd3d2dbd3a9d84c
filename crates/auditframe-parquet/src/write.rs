//! Writing an [`AuditFrame`] as canonical Parquet.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use auditframe::{AuditFrame, LogLine, Projection};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use crate::logs::logs_metadata;
use crate::{Error, Result};

/// Default rows per row group: small enough for parallel decoding and for statistics to skip
/// time ranges, large enough to keep per-group overhead low.
pub const DEFAULT_ROW_GROUP_ROWS: usize = 128 * 1024;

/// Default zstd level.
pub const DEFAULT_ZSTD_LEVEL: i32 = 3;

/// Writes frames as canonical Parquet: the [canonical Arrow schema]
/// (`Timestamp(ns, UTC)`, `Int64`/`Int32`, dictionary-encoded categoricals, strings), zstd,
/// row groups of [`DEFAULT_ROW_GROUP_ROWS`] rows with page statistics, and the frame's
/// control-plane log lines in the footer metadata ([`LOGS_KEY`](crate::LOGS_KEY)).
///
/// [canonical Arrow schema]: auditframe::arrow::canonical_schema
///
/// ```
/// use auditframe::{AuditFrame, ParseOptions};
/// use auditframe_parquet::WriterBuilder;
/// let (frame, _) = AuditFrame::from_slice(br#"{"kind":"Event","verb":"get","stage":"ResponseComplete"}"#, &ParseOptions::new())?;
/// let mut buf = Vec::new();
/// WriterBuilder::new().row_group_rows(1000).write(&frame, &mut buf, "buffer")?;
/// assert_eq!(&buf[..4], b"PAR1");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct WriterBuilder {
    row_group_rows: usize,
    zstd_level: i32,
}

impl Default for WriterBuilder {
    fn default() -> Self {
        WriterBuilder {
            row_group_rows: DEFAULT_ROW_GROUP_ROWS,
            zstd_level: DEFAULT_ZSTD_LEVEL,
        }
    }
}

impl WriterBuilder {
    /// zstd level 3, [`DEFAULT_ROW_GROUP_ROWS`] rows per group.
    pub fn new() -> WriterBuilder {
        WriterBuilder::default()
    }

    /// Rows per row group (at least 1).
    #[must_use]
    pub fn row_group_rows(mut self, rows: usize) -> WriterBuilder {
        self.row_group_rows = rows.max(1);
        self
    }

    /// The zstd compression level (1–22).
    #[must_use]
    pub fn zstd_level(mut self, level: i32) -> WriterBuilder {
        self.zstd_level = level;
        self
    }

    fn properties(&self) -> Result<WriterProperties> {
        let level = ZstdLevel::try_new(self.zstd_level).map_err(|e| {
            Error::Frame(auditframe::Error::new(
                auditframe::ErrorKind::InvalidArgument(format!("zstd level: {e}")),
            ))
        })?;
        Ok(WriterProperties::builder()
            .set_compression(Compression::ZSTD(level))
            .set_max_row_group_row_count(Some(self.row_group_rows))
            .set_dictionary_enabled(true)
            .set_statistics_enabled(EnabledStatistics::Page)
            .build())
    }

    /// Writes `frame` to a new file at `path`.
    pub fn write_path(&self, frame: &AuditFrame, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let f = File::create(path).map_err(|e| Error::io(path, e))?;
        let name = path.display().to_string();
        let mut w = self.open(BufWriter::new(f), frame.projection(), &name)?;
        w.write(frame)?;
        w.finish()?.flush().map_err(|e| Error::io(path, e))
    }

    /// Writes `frame` to `out`; `name` is used in errors.
    pub fn write<W: Write + Send>(&self, frame: &AuditFrame, out: W, name: &str) -> Result<()> {
        let mut w = self.open(out, frame.projection(), name)?;
        w.write(frame)?;
        w.finish().map(drop)
    }

    /// Starts a file of `projection`'s columns to which frames are appended one after the
    /// other ([`FrameWriter::write`]): for inputs read a frame at a time, in bounded memory.
    pub fn open<W: Write + Send>(
        &self,
        out: W,
        projection: Projection,
        name: &str,
    ) -> Result<FrameWriter<W>> {
        let schema = Arc::new(auditframe::arrow::canonical_schema(projection));
        let w = ArrowWriter::try_new(out, schema, Some(self.properties()?))
            .map_err(|e| Error::parquet(name, None, e))?;
        Ok(FrameWriter {
            w,
            projection,
            name: name.to_owned(),
            logs: Vec::new(),
            rows: 0,
        })
    }
}

/// A Parquet file being written frame by frame (see [`WriterBuilder::open`]). Each frame's
/// dictionaries are re-encoded into the file's, so frames read separately can be appended.
pub struct FrameWriter<W: Write + Send> {
    w: ArrowWriter<W>,
    projection: Projection,
    name: String,
    logs: Vec<LogLine>,
    rows: u64,
}

impl<W: Write + Send> std::fmt::Debug for FrameWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameWriter")
            .field("name", &self.name)
            .field("rows", &self.rows)
            .finish()
    }
}

impl<W: Write + Send> FrameWriter<W> {
    /// Appends a frame's rows (it must have the file's columns) and keeps its log lines for
    /// the footer.
    pub fn write(&mut self, frame: &AuditFrame) -> Result<()> {
        if frame.projection() != self.projection {
            return Err(Error::Frame(auditframe::Error::new(
                auditframe::ErrorKind::Schema(format!(
                    "frame columns {:?} differ from the file's {:?}",
                    frame.projection().columns().collect::<Vec<_>>(),
                    self.projection.columns().collect::<Vec<_>>()
                )),
            )));
        }
        for b in frame.to_record_batches()? {
            self.w
                .write(&b)
                .map_err(|e| Error::parquet(&self.name, None, e))?;
        }
        self.rows += frame.height() as u64;
        self.logs.extend_from_slice(frame.control_plane_logs());
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes the footer (with the log lines) and returns the output.
    pub fn finish(mut self) -> Result<W> {
        if let Some(kv) =
            logs_metadata(&self.logs).map_err(|e| Error::parquet(&self.name, None, e))?
        {
            self.w.append_key_value_metadata(kv);
        }
        self.w
            .into_inner()
            .map_err(|e| Error::parquet(&self.name, None, e))
    }
}

//! Writing an [`AuditFrame`] as canonical Parquet.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use auditframe::AuditFrame;
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
        let mut w = BufWriter::new(f);
        self.write(frame, &mut w, &path.display().to_string())?;
        w.flush().map_err(|e| Error::io(path, e))
    }

    /// Writes `frame` to `out`; `name` is used in errors.
    pub fn write<W: Write + Send>(&self, frame: &AuditFrame, out: W, name: &str) -> Result<()> {
        let batches = frame.to_record_batches()?;
        let schema = Arc::new(auditframe::arrow::canonical_schema(frame.projection()));
        let fail = |e: parquet::errors::ParquetError| Error::parquet(name, None, e);
        let mut w = ArrowWriter::try_new(out, schema, Some(self.properties()?)).map_err(fail)?;
        for b in &batches {
            w.write(b).map_err(fail)?;
        }
        if let Some(kv) =
            logs_metadata(frame.control_plane_logs()).map_err(|e| Error::parquet(name, None, e))?
        {
            w.append_key_value_metadata(kv);
        }
        w.close().map_err(fail)?;
        Ok(())
    }
}

//! Writing an [`AuditFrame`] as canonical Parquet.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use auditframe::{AuditFrame, LogLine, Projection};
use parquet::arrow::arrow_writer::{compute_leaves, ArrowRowGroupWriterFactory};
use parquet::arrow::{add_encoded_arrow_schema_to_metadata, ArrowSchemaConverter};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use rayon::prelude::*;

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
        let fail = |e: parquet::errors::ParquetError| Error::parquet(name, None, e);
        let schema = Arc::new(auditframe::arrow::canonical_schema(projection));
        let mut props = self.properties()?;
        let parquet_schema = ArrowSchemaConverter::new()
            .with_coerce_types(props.coerce_types())
            .convert(&schema)
            .map_err(fail)?;
        // The Arrow schema in the footer gives readers back dictionary and view types.
        add_encoded_arrow_schema_to_metadata(&schema, &mut props);
        let file =
            SerializedFileWriter::new(out, parquet_schema.root_schema_ptr(), Arc::new(props))
                .map_err(fail)?;
        let factory = ArrowRowGroupWriterFactory::new(&file, schema.clone());
        Ok(FrameWriter {
            file,
            factory,
            schema,
            row_group_rows: self.row_group_rows,
            pending: Vec::new(),
            pending_rows: 0,
            row_groups: 0,
            projection,
            name: name.to_owned(),
            logs: Vec::new(),
            rows: 0,
        })
    }
}

/// A Parquet file being written frame by frame (see [`WriterBuilder::open`]). Each frame's
/// dictionaries are re-encoded into the file's, so frames read separately can be appended.
/// Rows are buffered up to a row group; a row group's columns are encoded and compressed in
/// parallel.
pub struct FrameWriter<W: Write + Send> {
    file: SerializedFileWriter<W>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    row_group_rows: usize,
    /// Rows waiting for the next row group.
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    row_groups: usize,
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
            .field("row_groups", &self.row_groups)
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
        for mut b in frame.to_record_batches()? {
            // Cut the batch where row groups end.
            while self.pending_rows + b.num_rows() >= self.row_group_rows {
                let take = self.row_group_rows - self.pending_rows;
                self.pending.push(b.slice(0, take));
                self.pending_rows += take;
                b = b.slice(take, b.num_rows() - take);
                self.flush_row_group()?;
            }
            if b.num_rows() > 0 {
                self.pending_rows += b.num_rows();
                self.pending.push(b);
            }
        }
        self.rows += frame.height() as u64;
        self.logs.extend_from_slice(frame.control_plane_logs());
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Encodes the pending rows as one row group, a column per task.
    fn flush_row_group(&mut self) -> Result<()> {
        if self.pending_rows == 0 {
            return Ok(());
        }
        let name = self.name.as_str();
        let fail = |e: parquet::errors::ParquetError| Error::parquet(name, None, e);
        let writers = self
            .factory
            .create_column_writers(self.row_groups)
            .map_err(fail)?;
        let (pending, schema) = (&self.pending, &self.schema);
        // The canonical schema is flat: one column writer per field.
        let chunks = writers
            .into_par_iter()
            .zip(schema.fields().par_iter())
            .enumerate()
            .map(|(j, (mut w, field))| {
                for b in pending {
                    for leaf in compute_leaves(field, b.column(j))? {
                        w.write(&leaf)?;
                    }
                }
                w.close()
            })
            .collect::<Vec<_>>();
        let mut rg = self.file.next_row_group().map_err(fail)?;
        for chunk in chunks {
            chunk
                .map_err(fail)?
                .append_to_row_group(&mut rg)
                .map_err(fail)?;
        }
        rg.close().map_err(fail)?;
        self.row_groups += 1;
        self.pending.clear();
        self.pending_rows = 0;
        Ok(())
    }

    /// Writes the last row group and the footer (with the log lines); returns the output.
    pub fn finish(mut self) -> Result<W> {
        self.flush_row_group()?;
        if let Some(kv) =
            logs_metadata(&self.logs).map_err(|e| Error::parquet(&self.name, None, e))?
        {
            self.file.append_key_value_metadata(kv);
        }
        self.file
            .into_inner()
            .map_err(|e| Error::parquet(&self.name, None, e))
    }
}

//! Arrow interop (feature `arrow`): [`AuditFrame`] ↔ arrow-rs [`RecordBatch`] over the Arrow
//! C Data Interface, analysis results as record batches, and record-shaped Arrow tables
//! ([`ArrowTable`]: canonical, `AKSAudit`, flattened native events) into frames.
//!
//! ## The canonical Arrow schema
//! [`canonical_schema`] maps the frame's column kinds to Arrow types:
//!
//! | frame | Arrow |
//! |---|---|
//! | Datetime(ns, UTC) | `Timestamp(Nanosecond, "UTC")` |
//! | Int64 / Int32 | `Int64` / `Int32` |
//! | Categorical | `Dictionary(UInt32, Utf8)`: the frame's codes as keys |
//! | String | `Utf8View` |
//!
//! and marks the schema with the metadata `auditframe:schema = canonical-v1`. Timestamps,
//! integers, dictionary keys and strings are shared with the frame, not copied; only each
//! dictionary's values (one per distinct string) are built. The way back
//! ([`AuditFrame::from_record_batches`]) also shares strings and re-codes dictionary keys
//! into one dense dictionary per column, as the analyses expect.
//!
//! ```
//! use auditframe::{AuditFrame, Column, ParseOptions};
//! let log = br#"{"kind":"Event","auditID":"a1","stage":"ResponseComplete","verb":"list","requestURI":"/api/v1/pods","userAgent":"bad-client/1.0","objectRef":{"resource":"pods"},"requestReceivedTimestamp":"2026-11-20T10:00:00.1Z","stageTimestamp":"2026-11-20T10:00:02.35Z"}
//! "#;
//! let (frame, _) = AuditFrame::from_slice(log, &ParseOptions::new())?;
//! let batch = frame.to_record_batch()?;
//! assert_eq!(batch.num_rows(), 1);
//! assert_eq!(batch.schema().field_with_name("verb")?.data_type().to_string(), "Dictionary(UInt32, Utf8)");
//! let back = AuditFrame::from_record_batches(&[batch])?;
//! assert_eq!(back.projection(), frame.projection());
//! assert_eq!(back.column(Column::LatencyMs)?.i64()?.get(0), Some(2250));
//! let verbs = back.column(Column::Verb)?.cast(&auditframe::polars::prelude::DataType::String)?;
//! assert_eq!(verbs.str()?.get(0), Some("list"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![allow(clippy::module_name_repetitions)]

mod access;
mod canonical;
mod ffi;
mod table;

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::types::UInt32Type;
use arrow_array::{
    Array, ArrayRef, DictionaryArray, Int64Array, RecordBatch, StringArray,
    TimestampNanosecondArray, UInt32Array,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use polars::prelude as pl;
use polars::prelude::CategoricalMapping;

pub use table::{ArrowTable, TableLayout, CANONICAL_SCHEMA_KEY, CANONICAL_SCHEMA_VERSION};

use crate::{
    decoder::FrameBuilder, AuditFrame, Column, ColumnKind, Error, ParseOptions, Projection, Result,
};

/// The Arrow type of a canonical column kind (see the [module docs](self)).
pub fn arrow_type(kind: ColumnKind) -> DataType {
    match kind {
        ColumnKind::Timestamp => DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
        ColumnKind::Int64 => DataType::Int64,
        ColumnKind::Int32 => DataType::Int32,
        ColumnKind::Categorical => {
            DataType::Dictionary(Box::new(DataType::UInt32), Box::new(DataType::Utf8))
        }
        ColumnKind::String => DataType::Utf8View,
        ColumnKind::Boolean => DataType::Boolean,
    }
}

/// The canonical Arrow schema of `projection`'s columns, in frame order, every field
/// nullable, marked with [`CANONICAL_SCHEMA_KEY`].
pub fn canonical_schema(projection: Projection) -> Schema {
    let fields: Vec<Field> = projection
        .columns()
        .map(|c| Field::new(c.name(), arrow_type(c.kind()), true))
        .collect();
    Schema::new_with_metadata(
        fields,
        HashMap::from([(
            CANONICAL_SCHEMA_KEY.to_owned(),
            CANONICAL_SCHEMA_VERSION.to_owned(),
        )]),
    )
}

impl AuditFrame {
    /// The frame as Arrow record batches of the [`canonical_schema`], sharing its buffers
    /// (zero-copy): one batch per run of rows that lies within one chunk of every column
    /// (a frame from the readers has one chunk per column, or one per decoded batch).
    pub fn to_record_batches(&self) -> Result<Vec<RecordBatch>> {
        let df = self.dataframe();
        let schema = Arc::new(canonical_schema(self.projection()));
        let mut per_col: Vec<Vec<ArrayRef>> = Vec::new();
        for c in self.projection().columns() {
            let s = df.column(c.name())?.as_materialized_series();
            per_col.push(export_column(c, s)?);
        }
        // Every chunk end of every column is a batch boundary.
        let mut ends: Vec<usize> = per_col
            .iter()
            .flat_map(|chunks| {
                chunks.iter().scan(0usize, |end, a| {
                    *end += a.len();
                    Some(*end)
                })
            })
            .collect();
        ends.sort_unstable();
        ends.dedup();
        let mut out = Vec::with_capacity(ends.len());
        let mut start = 0;
        for end in ends.into_iter().filter(|&e| e > 0) {
            let arrays = per_col
                .iter()
                .map(|chunks| slice_rows(chunks, start, end - start))
                .collect::<Result<Vec<_>>>()?;
            out.push(RecordBatch::try_new(schema.clone(), arrays).map_err(arrow_error)?);
            start = end;
        }
        if out.is_empty() {
            out.push(RecordBatch::new_empty(schema));
        }
        Ok(out)
    }

    /// The frame as one Arrow record batch of the [`canonical_schema`]; shares its buffers
    /// when the frame has one chunk per column (else the chunks are concatenated first).
    pub fn to_record_batch(&self) -> Result<RecordBatch> {
        let batches = self.to_record_batches()?;
        match batches.as_slice() {
            [one] => Ok(one.clone()),
            _ => {
                let schema = Arc::new(canonical_schema(self.projection()));
                arrow_select::concat::concat_batches(&schema, &batches).map_err(arrow_error)
            }
        }
    }

    /// A frame from record batches of any layout [`ArrowTable::detect`] recognises (all of
    /// one schema), strictly: the first bad value is an error naming its row and column.
    /// Canonical batches (for example from [`to_record_batches`](Self::to_record_batches))
    /// keep their projection; other layouts produce every column.
    pub fn from_record_batches(batches: &[RecordBatch]) -> Result<AuditFrame> {
        let Some(first) = batches.first() else {
            return Err(Error::invalid("no record batches (the schema is unknown)"));
        };
        let table = ArrowTable::detect(first.schema())?;
        let projection = match table.layout() {
            TableLayout::Canonical => Projection::of(
                &first
                    .schema()
                    .fields()
                    .iter()
                    .filter_map(|f| Column::from_name(f.name()))
                    .collect::<Vec<_>>(),
            ),
            _ => Projection::all(),
        };
        let opts = ParseOptions::new()
            .with_strict(true)
            .with_projection(projection);
        let mut b = FrameBuilder::new(&opts, None);
        let mut row = 0u64;
        for batch in batches {
            if batch.schema().fields() != first.schema().fields() {
                return Err(Error::schema("record batches of different schemas"));
            }
            b.push_record_batch(&table, batch, row)?;
            row += batch.num_rows() as u64;
        }
        Ok(b.finish()?.0)
    }
}

/// Any polars frame (an analysis result such as
/// [`Analysis::top_dataframe`](crate::Analysis::top_dataframe), or a frame's
/// `dataframe()`) as one Arrow record batch, with polars' own Arrow types (strings as
/// `Utf8View`, datetimes as `Timestamp`), sharing buffers where polars' layout allows.
///
/// ```
/// use auditframe::{analyze, AnalysisOptions, AuditFrame, ParseOptions};
/// let log = br#"{"kind":"Event","verb":"get","stage":"ResponseComplete","userAgent":"kubectl","requestReceivedTimestamp":"2026-11-20T10:00:00Z","stageTimestamp":"2026-11-20T10:00:00.5Z"}
/// "#;
/// let (frame, _) = AuditFrame::from_slice(log, &ParseOptions::new())?;
/// let top = analyze(&frame, &AnalysisOptions::default())?.top_dataframe()?;
/// let batch = auditframe::arrow::dataframe_to_record_batch(&top)?;
/// assert_eq!(batch.num_rows(), 1);
/// assert_eq!(batch.schema().field(0).name(), "key");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn dataframe_to_record_batch(df: &pl::DataFrame) -> Result<RecordBatch> {
    let mut fields = Vec::with_capacity(df.width());
    let mut arrays = Vec::with_capacity(df.width());
    for c in df.columns() {
        let s = c.as_materialized_series().rechunk();
        let arr = if s.is_empty() {
            let dtype = s.dtype().to_arrow(pl::CompatLevel::newest());
            polars_arrow::array::new_empty_array(dtype)
        } else {
            s.to_arrow(0, pl::CompatLevel::newest())
        };
        let arr = ffi::to_arrow_rs(arr)?;
        fields.push(Field::new(c.name().as_str(), arr.data_type().clone(), true));
        arrays.push(arr);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(arrow_error)
}

/// Rows `start .. start + len` of a column given as chunks, when they lie in one chunk (a
/// zero-copy slice).
fn slice_rows(chunks: &[ArrayRef], start: usize, len: usize) -> Result<ArrayRef> {
    let mut chunk_start = 0;
    for c in chunks {
        if start < chunk_start + c.len() {
            if start + len > chunk_start + c.len() {
                break;
            }
            return Ok(c.slice(start - chunk_start, len));
        }
        chunk_start += c.len();
    }
    Err(Error::schema("columns of different lengths"))
}

fn arrow_error(e: impl std::fmt::Display) -> Error {
    Error::schema(format!("arrow: {e}"))
}

/// One canonical column's chunks as Arrow arrays.
fn export_column(col: Column, s: &pl::Series) -> Result<Vec<ArrayRef>> {
    let mut out = Vec::new();
    match col.kind() {
        ColumnKind::Timestamp => {
            let phys = s.to_physical_repr();
            for arr in phys.i64()?.downcast_iter() {
                let ints = ffi::to_arrow_rs(Box::new(arr.clone()))?;
                let ints = ints
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .ok_or_else(|| Error::schema("timestamp chunk is not Int64"))?;
                let ts =
                    TimestampNanosecondArray::new(ints.values().clone(), ints.nulls().cloned())
                        .with_timezone("UTC");
                out.push(Arc::new(ts) as ArrayRef);
            }
        }
        ColumnKind::Int64 => {
            for arr in s.i64()?.downcast_iter() {
                out.push(ffi::to_arrow_rs(Box::new(arr.clone()))?);
            }
        }
        ColumnKind::Int32 => {
            for arr in s.i32()?.downcast_iter() {
                out.push(ffi::to_arrow_rs(Box::new(arr.clone()))?);
            }
        }
        ColumnKind::String => {
            for arr in s.str()?.downcast_iter() {
                out.push(ffi::to_arrow_rs(Box::new(arr.clone()))?);
            }
        }
        ColumnKind::Boolean => {
            for arr in s.bool()?.downcast_iter() {
                out.push(ffi::to_arrow_rs(Box::new(arr.clone()))?);
            }
        }
        ColumnKind::Categorical => {
            let mapping = match s.dtype() {
                pl::DataType::Categorical(_, m) | pl::DataType::Enum(_, m) => m.clone(),
                other => {
                    return Err(Error::schema(format!(
                        "`{col}` is {other}, expected Categorical"
                    )))
                }
            };
            let phys = s.to_physical_repr();
            let phys = match phys.dtype() {
                pl::DataType::UInt32 => phys.into_owned(),
                _ => phys.cast(&pl::DataType::UInt32)?,
            };
            let codes = phys.u32()?;
            let values = Arc::new(dictionary_values(&mapping, codes)) as ArrayRef;
            for arr in codes.downcast_iter() {
                let keys = ffi::to_arrow_rs(Box::new(arr.clone()))?;
                let keys = keys
                    .as_any()
                    .downcast_ref::<UInt32Array>()
                    .ok_or_else(|| Error::schema("categorical codes are not UInt32"))?
                    .clone();
                let dict = DictionaryArray::<UInt32Type>::try_new(keys, values.clone())
                    .map_err(arrow_error)?;
                out.push(Arc::new(dict) as ArrayRef);
            }
        }
    }
    Ok(out)
}

/// The strings of codes `0..=max code` (a frame built by auditframe has a dense dictionary,
/// so this is its value list; holes of a shared mapping read as "").
fn dictionary_values(mapping: &CategoricalMapping, codes: &pl::UInt32Chunked) -> StringArray {
    let len = crate::analysis::columns::codes_len(mapping, codes);
    StringArray::from_iter_values((0..len).map(|c| mapping.cat_to_str(c as u32).unwrap_or("")))
}

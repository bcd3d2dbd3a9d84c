//! The built chunks → the frame's columns, without copying rows: each chunk's column becomes
//! a chunk of the frame's column (row order kept), so the parallel parse has no serial join.
//! Categorical chunks share one dictionary per column: each chunk's distinct values are looked
//! up once in the first chunk's dictionary and its codes re-coded in place, chunks in
//! parallel.

use polars::prelude as pl;
use polars::prelude::{IntoSeries, PlSmallStr};
use polars_arrow::bitmap::Bitmap;
use rayon::prelude::*;

use super::{Cells, ColBuilder, Columns, DictBuilder, StrBuilder};
use crate::audit_keys::AuditKeys;
use crate::schema::{Column, ColumnKind};
use crate::{AuditFrame, Result};

/// More chunks than this in a column, of fewer than [`MIN_ROWS_PER_CHUNK`] rows on average,
/// are coalesced into one when the frame is built: row lookups, polars' per-chunk work and
/// Arrow export (a batch per chunk) stay cheap. Big chunks are kept as they are.
pub(super) const MAX_CHUNKS: usize = 64;

/// See [`MAX_CHUNKS`].
pub(super) const MIN_ROWS_PER_CHUNK: usize = 4096;

/// Whether `parts` chunks holding `rows` rows are too many and too small to keep.
pub(super) fn coalesce(parts: usize, rows: usize) -> bool {
    parts > MAX_CHUNKS && rows / parts.max(1) < MIN_ROWS_PER_CHUNK
}

/// Chunks appended into one column (no rows copied); an empty column for none. A macro:
/// polars' `append_owned` bounds are not nameable through its prelude.
macro_rules! chunked {
    ($parts:expr) => {{
        let mut parts = $parts;
        let mut out = parts.next().unwrap_or_default();
        for p in parts {
            out.append_owned(p)?;
        }
        out
    }};
}

impl Columns {
    /// Builds the frame: each column on its own thread, its chunks kept.
    pub fn finish(self) -> Result<AuditFrame> {
        let projection = self.projection;
        let height = self.rows();
        let (per_column, keys) = self.split();
        let cols = per_column
            .into_par_iter()
            .map(|(col, parts)| column_series(col, parts).map(pl::Column::from))
            .collect::<Result<Vec<_>>>()?;
        let df = pl::DataFrame::new(height, cols)?;
        Ok(AuditFrame::from_parts(df, projection)?.with_audit_keys(keys))
    }

    /// Each column's chunks, in order; the keys, when kept, of every row.
    #[allow(clippy::type_complexity)]
    fn split(self) -> (Vec<(Column, Vec<ColBuilder>)>, Option<AuditKeys>) {
        let height = self.rows();
        let mut per_column: Vec<(Column, Vec<ColBuilder>)> =
            self.projection.columns().map(|c| (c, Vec::new())).collect();
        let mut keys = Vec::new();
        for chunk in self.done.into_iter().chain(std::iter::once(self.current)) {
            if chunk.rows == 0 {
                continue;
            }
            for ((_, b), (_, parts)) in chunk.cols.into_iter().zip(per_column.iter_mut()) {
                parts.push(b);
            }
            keys.extend(chunk.keys);
        }
        // Every chunk pushes a key per row, so they cover the frame's rows exactly.
        let keys = self
            .keys
            .then(|| AuditKeys::concat(keys))
            .filter(|k| k.len() == height);
        (per_column, keys)
    }
}

/// One column of the frame from its chunks, in order.
fn column_series(col: Column, parts: Vec<ColBuilder>) -> Result<pl::Series> {
    macro_rules! gather {
        ($variant:ident) => {
            parts
                .into_iter()
                .filter_map(|p| match p {
                    ColBuilder::$variant(b) => Some(b),
                    _ => None,
                })
                .collect::<Vec<_>>()
        };
    }
    let name = PlSmallStr::from_static(col.name());
    Ok(match col.kind() {
        ColumnKind::Timestamp => numbers::<pl::Int64Type>(name, gather!(Time))?
            .into_datetime(pl::TimeUnit::Nanoseconds, Some(pl::TimeZone::UTC))
            .into_series(),
        ColumnKind::Int64 => numbers::<pl::Int64Type>(name, gather!(I64))?.into_series(),
        ColumnKind::Int32 => numbers::<pl::Int32Type>(name, gather!(I32))?.into_series(),
        ColumnKind::Categorical => categorical(col.name(), gather!(Dict))?,
        ColumnKind::String => StrBuilder::concat(gather!(Str)).into_series(col.name())?,
        ColumnKind::Boolean => {
            let parts = gather!(Bool);
            let rows = parts.iter().map(Vec::len).sum();
            let parts = if coalesce(parts.len(), rows) {
                vec![parts.concat()]
            } else {
                parts
            };
            let mut ca = chunked!(parts.into_iter().map(|b| {
                <pl::BooleanChunked as pl::NewChunkedArray<_, bool>>::from_slice(name.clone(), &b)
            }));
            ca.rename(name);
            ca.into_series()
        }
    })
}

/// A numeric column, a chunk per part.
fn numbers<P>(name: PlSmallStr, parts: Vec<Cells<P::Native>>) -> Result<pl::ChunkedArray<P>>
where
    P: pl::PolarsNumericType,
    P::Native: Default,
{
    let rows = parts.iter().map(Cells::rows).sum();
    let parts = if coalesce(parts.len(), rows) {
        vec![Cells::concat(parts)]
    } else {
        parts
    };
    let mut ca: pl::ChunkedArray<P> = chunked!(parts.into_iter().map(|b| {
        let (values, validity) = b.into_parts();
        pl::ChunkedArray::<P>::from_vec_validity(name.clone(), values, validity)
    }));
    ca.rename(name);
    Ok(ca)
}

/// A categorical column, a chunk per part, over one dictionary: the first part's, which the
/// other parts' values are added to.
fn categorical(name: &str, parts: Vec<DictBuilder>) -> Result<pl::Series> {
    let rows = parts.iter().map(|p| p.codes.rows()).sum();
    let mut parts = if coalesce(parts.len(), rows) {
        vec![DictBuilder::concat(parts)]
    } else {
        parts
    };
    let Some((first, rest)) = parts.split_first_mut() else {
        return DictBuilder::default().into_series(name);
    };
    let remaps: Vec<Vec<u32>> = rest
        .iter()
        .map(|p| p.values.iter().map(|v| first.code_of(v)).collect())
        .collect();
    // Null rows hold code 0 of their part; re-coded like any other, they stay in range.
    rest.par_iter_mut()
        .zip(&remaps)
        .for_each(|(p, remap)| p.recode(remap));
    let values = std::mem::take(&mut first.values);
    let chunks = parts.into_iter().map(|p| p.codes.into_parts());
    DictBuilder::series_of(name, values, chunks)
}

impl DictBuilder {
    /// This column alone as a series.
    fn into_series(self, name: &str) -> Result<pl::Series> {
        DictBuilder::series_of(name, self.values, std::iter::once(self.codes.into_parts()))
    }

    /// A categorical series over the dictionary `values` (code `i` is `values[i]`), a chunk
    /// per (codes, validity).
    fn series_of(
        name: &str,
        values: Vec<Box<str>>,
        chunks: impl Iterator<Item = (Vec<u32>, Option<Bitmap>)>,
    ) -> Result<pl::Series> {
        let cats = pl::Categories::random(
            PlSmallStr::from_static("auditframe"),
            pl::CategoricalPhysical::U32,
        );
        let mapping = cats.mapping();
        // A fresh mapping hands out codes 0, 1, 2… in insertion order; check rather than
        // assume.
        for (i, v) in values.iter().enumerate() {
            let c = mapping.insert_cat(v)?;
            if c as usize != i {
                return Err(crate::Error::schema("categorical mapping is not dense"));
            }
        }
        let n = values.len();
        let mut in_range = true;
        let codes: pl::UInt32Chunked = chunked!(chunks.map(|(codes, validity)| {
            // Null rows hold code 0, which need not exist; valid rows must be in range. The
            // common case (every code in range, nulls or not) is one branch-free pass.
            let max = codes.iter().copied().max().unwrap_or(0);
            in_range &= (max as usize) < n
                || codes.iter().enumerate().all(|(i, &c)| {
                    (c as usize) < n || validity.as_ref().is_some_and(|v| !v.get_bit(i))
                });
            pl::UInt32Chunked::from_vec_validity(PlSmallStr::from(name), codes, validity)
        }));
        let dtype = pl::DataType::from_categories(cats);
        if in_range {
            // SAFETY: every valid row's code is below `values.len()` (checked above), the
            // mapping holds exactly `values` with codes 0..len (checked while inserting), and
            // the dtype's physical type is U32 as created. polars' checked constructor would
            // look every row's code up in the mapping again.
            #[allow(unsafe_code)]
            let ca =
                unsafe { pl::Categorical32Chunked::from_cats_and_dtype_unchecked(codes, dtype) };
            return Ok(ca.into_series());
        }
        Ok(pl::Categorical32Chunked::from_cats_and_dtype(codes, dtype).into_series())
    }
}

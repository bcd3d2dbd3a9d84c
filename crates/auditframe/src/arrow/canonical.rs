//! Canonical tables column by column: Arrow arrays into the frame's builders without per-row
//! parsing (dictionary columns re-coded once per distinct value, strings shared).

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use arrow_buffer::NullBuffer;
use arrow_schema::DataType;
use polars::prelude as pl;
use polars::prelude::PlSmallStr;

use super::access::{is_string, timestamp_values, Found, Ints32, Strs};
use super::ffi;
use crate::builder::{ColBuilder, Columns};
use crate::{Error, Result};

/// Appends every column of a canonical `batch` that `cols` builds; returns how many rows are
/// flagged `truncated` (0 when that column is not built).
pub(crate) fn push_columns(cols: &mut Columns, batch: &RecordBatch) -> Result<u64> {
    let n = batch.num_rows();
    let mut truncated = 0;
    for (col, b) in cols.builders_mut() {
        let name = col.name();
        let arr = match batch.column_by_name(name) {
            Some(arr) => arr,
            // A file written before the column existed (see `ArrowTable::check_projection`).
            None if col.added_after_v1() => {
                b.push_nulls(n);
                continue;
            }
            None => return Err(Error::schema(format!("column `{name}` is missing"))),
        };
        let found = Found {
            arr,
            nulls: arr.logical_nulls(),
            name: name.to_owned(),
        };
        let bad = |expected: &str| {
            Error::schema(format!(
                "column `{name}` has type {}, expected {expected}",
                arr.data_type()
            ))
        };
        match b {
            ColBuilder::Time(b) => {
                let (values, factor) = timestamp_values(arr).ok_or_else(|| bad("a timestamp"))?;
                let valid = validity(&found.nulls);
                if factor == 1 {
                    b.extend_from_slice(values, valid.as_deref());
                } else {
                    let scaled: Option<Vec<i64>> =
                        values.iter().map(|v| v.checked_mul(factor)).collect();
                    let scaled = scaled.ok_or_else(|| {
                        Error::schema(format!(
                            "column `{name}` has a timestamp outside the nanosecond range"
                        ))
                    })?;
                    b.extend_from_slice(&scaled, valid.as_deref());
                }
            }
            ColBuilder::I64(b) => {
                let a = arr
                    .as_primitive_opt::<Int64Type>()
                    .ok_or_else(|| bad("Int64"))?;
                b.extend_from_slice(a.values(), validity(&found.nulls).as_deref());
            }
            ColBuilder::I32(b) => {
                if !arr.data_type().is_integer() {
                    return Err(bad("Int32"));
                }
                match arr.as_primitive_opt::<Int32Type>() {
                    Some(a) => b.extend_from_slice(a.values(), validity(&found.nulls).as_deref()),
                    None => {
                        let v = Ints32::at(batch, &[name])?;
                        let mut err = None;
                        b.extend((0..n).map(|i| {
                            v.get(i).unwrap_or_else(|m| {
                                err.get_or_insert(m);
                                None
                            })
                        }));
                        if let Some(m) = err {
                            return Err(Error::schema(m));
                        }
                    }
                }
            }
            ColBuilder::Dict(b) => match arr.as_any_dictionary_opt() {
                Some(dict) if is_string(arr.data_type()) && dict.values().is_empty() => {
                    // No values, so every row is null.
                    (0..n).for_each(|_| b.push(None));
                }
                Some(dict) if is_string(arr.data_type()) => {
                    let values = Strs::new(&Found {
                        arr: dict.values(),
                        nulls: dict.values().logical_nulls(),
                        name: name.to_owned(),
                    })?;
                    b.extend_keys(
                        &dict.normalized_keys(),
                        validity(&found.nulls).as_deref(),
                        dict.values().len(),
                        |k| values.get(k),
                    );
                }
                _ if is_string(arr.data_type()) => {
                    let s = Strs::new(&found)?;
                    (0..n).for_each(|i| b.push(s.get(i)));
                }
                _ => return Err(bad("a string or a dictionary of strings")),
            },
            ColBuilder::Str(b) => {
                if !is_string(arr.data_type())
                    || matches!(arr.data_type(), DataType::Dictionary(..))
                {
                    return Err(bad("a string"));
                }
                // Shares the buffers (zero-copy for Utf8View; polars converts other layouts).
                let s = pl::Series::from_arrow(PlSmallStr::from(name), ffi::to_polars(arr)?)?;
                b.append_chunked(s.str()?.clone());
            }
            ColBuilder::Bool(b) => {
                let a = arr.as_boolean_opt().ok_or_else(|| bad("Boolean"))?;
                // Null reads as false: the column is never null in a frame.
                let start = b.len();
                b.extend((0..n).map(|i| a.is_valid(i) && a.value(i)));
                truncated = b
                    .get(start..)
                    .map_or(0, |v| v.iter().filter(|&&t| t).count());
            }
        }
    }
    cols.add_rows(n);
    Ok(truncated as u64)
}

/// Row validity as bools (`None`: every row valid).
fn validity(nulls: &Option<NullBuffer>) -> Option<Vec<bool>> {
    nulls.as_ref().map(|n| n.iter().collect())
}

//! Canonical tables column by column: Arrow arrays into the frame's builders without per-row
//! parsing (dictionary columns re-coded once per distinct value, strings shared).

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use polars::prelude as pl;
use polars::prelude::PlSmallStr;

use super::access::{is_string, Found, Ints32, Strs, Times};
use super::ffi;
use crate::builder::{ColBuilder, Columns};
use crate::{Error, Result};

/// Appends every column of a canonical `batch` that `cols` builds.
pub(crate) fn push_columns(cols: &mut Columns, batch: &RecordBatch) -> Result<()> {
    let n = batch.num_rows();
    for (col, b) in cols.builders_mut() {
        let name = col.name();
        let arr = batch
            .column_by_name(name)
            .ok_or_else(|| Error::schema(format!("column `{name}` is missing")))?;
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
                if !matches!(arr.data_type(), DataType::Timestamp(..)) {
                    return Err(bad("a timestamp"));
                }
                let t = Times::at(batch, &[name])?;
                let mut err = None;
                b.extend((0..n).map(|i| {
                    t.get(i).unwrap_or_else(|m| {
                        err.get_or_insert(m);
                        None
                    })
                }));
                if let Some(m) = err {
                    return Err(Error::schema(m));
                }
            }
            ColBuilder::I64(b) => {
                let a = arr
                    .as_primitive_opt::<Int64Type>()
                    .ok_or_else(|| bad("Int64"))?;
                b.extend((0..n).map(|i| a.is_valid(i).then(|| a.value(i))));
            }
            ColBuilder::I32(b) => {
                if !arr.data_type().is_integer() {
                    return Err(bad("Int32"));
                }
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
                    let keys = dict.normalized_keys();
                    let nulls = arr.logical_nulls();
                    b.extend_keys(
                        keys.iter().enumerate().map(|(i, &k)| {
                            nulls.as_ref().is_none_or(|n| n.is_valid(i)).then_some(k)
                        }),
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
        }
    }
    cols.add_rows(n);
    Ok(())
}

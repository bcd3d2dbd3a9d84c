//! Reading query results: every batch's column cast to one type.

use datafusion::arrow::array::{ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::prelude::SessionContext;

use crate::{Error, Result};

pub(super) async fn collect(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>> {
    Ok(ctx.sql(sql).await?.collect().await?)
}

/// Column `i` of every batch, cast to `t`.
pub(super) fn column(batches: &[RecordBatch], i: usize, t: &DataType) -> Result<Vec<ArrayRef>> {
    batches
        .iter()
        .map(|b| {
            if i >= b.num_columns() {
                return Err(Error::Result(format!("no column {i}")));
            }
            Ok(cast(b.column(i), t).map_err(datafusion::error::DataFusionError::from)?)
        })
        .collect()
}

pub(super) fn ints(batches: &[RecordBatch], i: usize) -> Result<Vec<Option<i64>>> {
    Ok(column(batches, i, &DataType::Int64)?
        .iter()
        .flat_map(|a| a.as_primitive::<Int64Type>().iter().collect::<Vec<_>>())
        .collect())
}

pub(super) fn floats(batches: &[RecordBatch], i: usize) -> Result<Vec<Option<f64>>> {
    Ok(column(batches, i, &DataType::Float64)?
        .iter()
        .flat_map(|a| a.as_primitive::<Float64Type>().iter().collect::<Vec<_>>())
        .collect())
}

pub(super) fn strs(batches: &[RecordBatch], i: usize) -> Result<Vec<Option<String>>> {
    Ok(column(batches, i, &DataType::Utf8)?
        .iter()
        .flat_map(|a| {
            a.as_string::<i32>()
                .iter()
                .map(|s| s.map(str::to_owned))
                .collect::<Vec<_>>()
        })
        .collect())
}

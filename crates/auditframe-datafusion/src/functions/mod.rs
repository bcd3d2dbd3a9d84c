//! auditframe's SQL functions: the LIST read-type rule, KQL's `bin()` and an exact
//! nearest-rank percentile aggregate, each the core's own code (not a re-implementation).
//!
//! | function | returns | meaning |
//! |---|---|---|
//! | `list_read_type(request_uri [, rules])` | `Utf8`: `cache` or `etcd` | where the apiserver serves a LIST with this URI from ([`auditframe::diagnose::classify_list`]; `rules` is `since-1.31`, the default, or `before-1.31`) |
//! | `kusto_bin(ts, width)` | the timestamp's type | KQL `bin(ts, width)`: floored to a multiple of `width` counted from 0001-01-01 ([`auditframe::analysis::bin_start`]); `width` a constant `'5m'`-style string or an `INTERVAL` without months |
//! | `percentile_exact(value, p)` | `Int64` | exact nearest-rank percentile `p` (0–100) of integer values, nulls ignored ([`auditframe::analysis::percentile_rank`]): the value of rank `ceil(p/100 · n)` |
//!
//! DataFusion's `date_bin(width, ts)` counts bins from the Unix epoch; that equals
//! `kusto_bin` whenever the width divides a day (5 minutes, an hour, a day), and differs
//! otherwise (7 minutes, a week). `percentile_cont` interpolates between values and
//! `approx_percentile_cont` estimates; neither equals Log Analytics' (or auditframe's)
//! nearest-rank definition.

mod bin;
mod percentile;
mod read_type;

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
use datafusion::prelude::SessionContext;

pub use bin::KustoBin;
pub use percentile::PercentileExact;
pub use read_type::ListReadType;

/// The scalar functions: `list_read_type`, `kusto_bin`.
pub fn scalar_functions() -> Vec<Arc<ScalarUDF>> {
    vec![
        Arc::new(ScalarUDF::new_from_impl(ListReadType::new())),
        Arc::new(ScalarUDF::new_from_impl(KustoBin::new())),
    ]
}

/// The aggregate functions: `percentile_exact`.
pub fn aggregate_functions() -> Vec<Arc<AggregateUDF>> {
    vec![Arc::new(
        AggregateUDF::new_from_impl(PercentileExact::new()),
    )]
}

/// Registers every function in `ctx` (idempotent).
pub fn register(ctx: &SessionContext) {
    for f in scalar_functions() {
        ctx.register_udf(f.as_ref().clone());
    }
    for f in aggregate_functions() {
        ctx.register_udaf(f.as_ref().clone());
    }
}

/// Whether a string-like type (read as text by [`strings`]).
fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8)
}

/// The text values of a `Utf8`, `Utf8View` or `LargeUtf8` array.
fn strings(a: &ArrayRef) -> DfResult<Box<dyn Iterator<Item = Option<&str>> + '_>> {
    Ok(match a.data_type() {
        DataType::Utf8 => Box::new(a.as_string::<i32>().iter()),
        DataType::LargeUtf8 => Box::new(a.as_string::<i64>().iter()),
        DataType::Utf8View => Box::new(a.as_string_view().iter()),
        other => {
            return Err(DataFusionError::Plan(format!(
                "expected a string, got {other}"
            )))
        }
    })
}

/// A string argument's coerced type: text stays as it is, dictionaries of text are decoded.
fn coerce_text(t: &DataType, what: &str) -> DfResult<DataType> {
    match t {
        t if is_text(t) => Ok(t.clone()),
        DataType::Dictionary(_, v) if is_text(v) => Ok(v.as_ref().clone()),
        DataType::Null => Ok(DataType::Utf8),
        other => Err(DataFusionError::Plan(format!(
            "{what} must be a string, got {other}"
        ))),
    }
}

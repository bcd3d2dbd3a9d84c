//! `kusto_bin(ts, width)`.

use std::sync::Arc;

use auditframe::analysis::bin_start;
use datafusion::arrow::array::{Array, TimestampNanosecondArray};
use datafusion::arrow::datatypes::{DataType, IntervalUnit, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::is_text;

/// `kusto_bin(ts, width)`: KQL `bin(ts, width)`, `ts` floored to a multiple of `width`
/// counted from 0001-01-01T00:00:00Z, Kusto's datetime origin
/// ([`bin_start`](auditframe::analysis::bin_start)). `width` is a constant: a duration
/// string as auditframe's options take it (`'5m'`, `'1h'`, `'30s'`) or an `INTERVAL` without
/// months. The result is a nanosecond timestamp in `ts`'s time zone.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct KustoBin {
    signature: Signature,
}

impl KustoBin {
    /// The function.
    pub fn new() -> KustoBin {
        KustoBin {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for KustoBin {
    fn default() -> Self {
        KustoBin::new()
    }
}

impl ScalarUDFImpl for KustoBin {
    fn name(&self) -> &str {
        "kusto_bin"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> DfResult<Vec<DataType>> {
        let [ts, width] = arg_types else {
            return Err(DataFusionError::Plan(
                "kusto_bin(ts, width) takes two arguments".into(),
            ));
        };
        let ts = match ts {
            DataType::Timestamp(_, tz) => DataType::Timestamp(TimeUnit::Nanosecond, tz.clone()),
            DataType::Null => DataType::Timestamp(TimeUnit::Nanosecond, None),
            other => {
                return Err(DataFusionError::Plan(format!(
                    "kusto_bin's first argument must be a timestamp, got {other}"
                )))
            }
        };
        let width = match width {
            t if is_text(t) => t.clone(),
            DataType::Interval(_) => DataType::Interval(IntervalUnit::MonthDayNano),
            other => {
                return Err(DataFusionError::Plan(format!(
                    "kusto_bin's width must be a duration string or an interval, got {other}"
                )))
            }
        };
        Ok(vec![ts, width])
    }

    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        match arg_types.first() {
            Some(DataType::Timestamp(_, tz)) => {
                Ok(DataType::Timestamp(TimeUnit::Nanosecond, tz.clone()))
            }
            _ => Ok(DataType::Timestamp(TimeUnit::Nanosecond, None)),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let [ts, width] = args.args.as_slice() else {
            return Err(DataFusionError::Internal("kusto_bin: two arguments".into()));
        };
        let ColumnarValue::Scalar(width) = width else {
            return Err(DataFusionError::Execution(
                "kusto_bin's width must be a constant".into(),
            ));
        };
        let width_ns = width_ns(width)?;
        let tz = match args.return_type() {
            DataType::Timestamp(_, tz) => tz.clone(),
            _ => None,
        };
        let ts = ts.to_array(args.number_rows)?;
        let Some(ts) = ts.as_any().downcast_ref::<TimestampNanosecondArray>() else {
            return Err(DataFusionError::Internal(format!(
                "kusto_bin: timestamp expected, got {}",
                ts.data_type()
            )));
        };
        let out: TimestampNanosecondArray = ts
            .iter()
            .map(|t| t.map(|t| bin_start(t, width_ns)))
            .collect::<TimestampNanosecondArray>()
            .with_timezone_opt(tz);
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// A positive bin width in ns.
fn width_ns(width: &ScalarValue) -> DfResult<i64> {
    let ns = match width {
        ScalarValue::IntervalMonthDayNano(Some(v)) => {
            if v.months != 0 {
                return Err(DataFusionError::Execution(
                    "kusto_bin: a width in months has no fixed length".into(),
                ));
            }
            i64::from(v.days)
                .checked_mul(86_400_000_000_000)
                .and_then(|d| d.checked_add(v.nanoseconds))
        }
        s => match s.try_as_str() {
            Some(Some(text)) => Some(
                auditframe::analysis::parse_duration(text)
                    .map_err(|e| DataFusionError::Execution(format!("kusto_bin: {e}")))?,
            ),
            _ => None,
        },
    };
    match ns {
        Some(ns) if ns > 0 => Ok(ns),
        _ => Err(DataFusionError::Execution(format!(
            "kusto_bin: the width must be a positive duration, got {width}"
        ))),
    }
}

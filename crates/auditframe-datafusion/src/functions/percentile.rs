//! `percentile_exact(value, p)`: the exact nearest-rank percentile, as an aggregate with a
//! row accumulator and a [`GroupsAccumulator`] (DataFusion's fast path for `GROUP BY`).
//!
//! Exactness needs every value: the partial state is the list of a group's values, so
//! partial aggregates merge exactly across partitions and Ballista executors (memory grows
//! with the rows of a group, as it does for auditframe's exact percentiles).

use std::sync::Arc;

use auditframe::analysis::percentile_rank;
use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, Int64Array, ListArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Int64Type};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility,
};
use datafusion::physical_expr::expressions::Literal;

/// `percentile_exact(value, p)`: the exact nearest-rank percentile `p` (0–100) of integer
/// values, nulls ignored, null for a group without values. The value of rank
/// `ceil(p/100 · n)` (at least 1) among the `n` sorted values, which is what auditframe's
/// analyses report and what Log Analytics' `percentile()` estimates.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> datafusion::error::Result<()> {
/// let ctx = datafusion::prelude::SessionContext::new();
/// auditframe_datafusion::functions::register(&ctx);
/// let df = ctx
///     .sql("SELECT percentile_exact(v, 99) AS p99, percentile_exact(v, 50) AS p50 \
///           FROM (VALUES (1), (2), (3), (4), (100)) AS t(v)")
///     .await?;
/// let batch = &df.collect().await?[0];
/// use datafusion::arrow::array::AsArray;
/// use datafusion::arrow::datatypes::Int64Type;
/// assert_eq!(batch.column(0).as_primitive::<Int64Type>().value(0), 100);
/// assert_eq!(batch.column(1).as_primitive::<Int64Type>().value(0), 3);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PercentileExact {
    signature: Signature,
}

impl PercentileExact {
    /// The function.
    pub fn new() -> PercentileExact {
        PercentileExact {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for PercentileExact {
    fn default() -> Self {
        PercentileExact::new()
    }
}

impl AggregateUDFImpl for PercentileExact {
    fn name(&self) -> &str {
        "percentile_exact"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> DfResult<Vec<DataType>> {
        let [value, p] = arg_types else {
            return Err(DataFusionError::Plan(
                "percentile_exact(value, p) takes two arguments".into(),
            ));
        };
        let integer = |t: &DataType| {
            matches!(
                t,
                DataType::Null
                    | DataType::Int8
                    | DataType::Int16
                    | DataType::Int32
                    | DataType::Int64
                    | DataType::UInt8
                    | DataType::UInt16
                    | DataType::UInt32
            )
        };
        if !integer(value) {
            return Err(DataFusionError::Plan(format!(
                "percentile_exact's value must be an integer (e.g. latency_ms), got {value}"
            )));
        }
        if !(integer(p) || p.is_floating() || matches!(p, DataType::UInt64)) {
            return Err(DataFusionError::Plan(format!(
                "percentile_exact's p must be a number in [0, 100], got {p}"
            )));
        }
        Ok(vec![DataType::Int64, DataType::Float64])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Int64)
    }

    fn state_fields(&self, args: StateFieldsArgs<'_>) -> DfResult<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format_state_name(args.name, "values"),
            DataType::List(Arc::new(Field::new_list_field(DataType::Int64, true))),
            true,
        ))])
    }

    fn accumulator(&self, args: AccumulatorArgs<'_>) -> DfResult<Box<dyn Accumulator>> {
        Ok(Box::new(ExactAccumulator {
            p: percent(&args)?,
            values: Vec::new(),
        }))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs<'_>) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs<'_>,
    ) -> DfResult<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(ExactGroups {
            p: percent(&args)?,
            groups: Vec::new(),
            bytes: 0,
        }))
    }
}

/// The constant `p` argument, checked to lie in `[0, 100]`.
fn percent(args: &AccumulatorArgs<'_>) -> DfResult<f64> {
    let lit = args
        .exprs
        .get(1)
        .and_then(|e| e.downcast_ref::<Literal>())
        .ok_or_else(|| DataFusionError::Plan("percentile_exact's p must be a constant".into()))?;
    let p = match lit.value() {
        ScalarValue::Float64(Some(p)) => *p,
        ScalarValue::Float32(Some(p)) => f64::from(*p),
        ScalarValue::Int64(Some(p)) => *p as f64,
        ScalarValue::Int32(Some(p)) => f64::from(*p),
        other => {
            return Err(DataFusionError::Plan(format!(
                "percentile_exact's p must be a number, got {other}"
            )))
        }
    };
    if (0.0..=100.0).contains(&p) {
        Ok(p)
    } else {
        Err(DataFusionError::Plan(format!(
            "percentile_exact's p must lie in [0, 100], got {p}"
        )))
    }
}

/// The nearest-rank percentile `p` of `values` (reordered in place); `None` when empty.
pub(crate) fn nearest_rank(values: &mut [i64], p: f64) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    let idx = percentile_rank(p, values.len()) - 1;
    let (_, v, _) = values.select_nth_unstable(idx);
    Some(*v)
}

fn int64s(a: &ArrayRef) -> DfResult<&Int64Array> {
    a.as_any()
        .downcast_ref::<Int64Array>()
        .ok_or_else(|| DataFusionError::Internal(format!("Int64 expected, got {}", a.data_type())))
}

fn lists(a: &ArrayRef) -> DfResult<&ListArray> {
    a.as_any()
        .downcast_ref::<ListArray>()
        .ok_or_else(|| DataFusionError::Internal(format!("List expected, got {}", a.data_type())))
}

/// One group's values, as a list state.
fn list_of<'a>(groups: impl IntoIterator<Item = &'a Vec<i64>>) -> ListArray {
    ListArray::from_iter_primitive::<Int64Type, _, _>(
        groups.into_iter().map(|g| Some(g.iter().map(|v| Some(*v)))),
    )
}

/// The row accumulator (no `GROUP BY`, or DataFusion's fallback).
#[derive(Debug)]
struct ExactAccumulator {
    p: f64,
    values: Vec<i64>,
}

impl Accumulator for ExactAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> DfResult<()> {
        if let Some(a) = values.first() {
            self.values.extend(int64s(a)?.iter().flatten());
        }
        Ok(())
    }

    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        Ok(ScalarValue::Int64(nearest_rank(&mut self.values, self.p)))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.values.capacity() * std::mem::size_of::<i64>()
    }

    fn state(&mut self) -> DfResult<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::List(Arc::new(list_of([&self.values])))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> DfResult<()> {
        if let Some(a) = states.first() {
            for list in lists(a)?.iter().flatten() {
                self.values.extend(int64s(&list)?.iter().flatten());
            }
        }
        Ok(())
    }
}

/// Values per group index.
struct ExactGroups {
    p: f64,
    groups: Vec<Vec<i64>>,
    /// Bytes held by the groups' vectors (kept up to date for `size`).
    bytes: usize,
}

impl ExactGroups {
    fn push(&mut self, g: usize, v: i64) {
        if let Some(values) = self.groups.get_mut(g) {
            let before = values.capacity();
            values.push(v);
            self.bytes += (values.capacity() - before) * std::mem::size_of::<i64>();
        }
    }

    fn take(&mut self, emit_to: EmitTo) -> Vec<Vec<i64>> {
        let taken = emit_to.take_needed(&mut self.groups);
        let freed: usize = taken.iter().map(Vec::capacity).sum();
        self.bytes = self
            .bytes
            .saturating_sub(freed * std::mem::size_of::<i64>());
        taken
    }
}

/// Calls `f(row, group)` for the rows the filter keeps whose value is not null.
fn for_each_kept(
    group_indices: &[usize],
    opt_filter: Option<&BooleanArray>,
    values: &dyn Array,
    mut f: impl FnMut(usize, usize) -> DfResult<()>,
) -> DfResult<()> {
    for (i, &g) in group_indices.iter().enumerate() {
        let kept = opt_filter.is_none_or(|f| f.is_valid(i) && f.value(i));
        if kept && values.is_valid(i) {
            f(i, g)?;
        }
    }
    Ok(())
}

impl GroupsAccumulator for ExactGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> DfResult<()> {
        self.groups.resize_with(total_num_groups, Vec::new);
        let Some(a) = values.first() else {
            return Ok(());
        };
        let a = int64s(a)?;
        for_each_kept(group_indices, opt_filter, a, |i, g| {
            self.push(g, a.value(i));
            Ok(())
        })
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> DfResult<ArrayRef> {
        let p = self.p;
        let out: Int64Array = self
            .take(emit_to)
            .into_iter()
            .map(|mut g| nearest_rank(&mut g, p))
            .collect();
        Ok(Arc::new(out))
    }

    fn state(&mut self, emit_to: EmitTo) -> DfResult<Vec<ArrayRef>> {
        let taken = self.take(emit_to);
        Ok(vec![Arc::new(list_of(&taken))])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> DfResult<()> {
        self.groups.resize_with(total_num_groups, Vec::new);
        let Some(a) = values.first() else {
            return Ok(());
        };
        let a = lists(a)?;
        for_each_kept(group_indices, opt_filter, a, |i, g| {
            for v in int64s(&a.value(i))?.iter().flatten() {
                self.push(g, v);
            }
            Ok(())
        })
    }

    fn size(&self) -> usize {
        self.bytes + self.groups.capacity() * std::mem::size_of::<Vec<i64>>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition, naively: sort, take rank ceil(p/100·n).
    fn naive(values: &[i64], p: f64) -> Option<i64> {
        let mut v = values.to_vec();
        v.sort_unstable();
        let n = v.len();
        if n == 0 {
            return None;
        }
        let rank = ((p / 100.0) * n as f64 - 1e-9).ceil().max(1.0) as usize;
        v.get(rank.min(n) - 1).copied()
    }

    fn groups_result(
        p: f64,
        rows: &[(usize, Option<i64>)],
        split: usize,
        n_groups: usize,
    ) -> Vec<Option<i64>> {
        // Two partial accumulators over the two halves, merged through their list state.
        let (a, b) = rows.split_at(split.min(rows.len()));
        let mut partials = Vec::new();
        for part in [a, b] {
            let mut acc = ExactGroups {
                p,
                groups: Vec::new(),
                bytes: 0,
            };
            let values: ArrayRef = Arc::new(part.iter().map(|r| r.1).collect::<Int64Array>());
            let idx: Vec<usize> = part.iter().map(|r| r.0).collect();
            acc.update_batch(&[values], &idx, None, n_groups).unwrap();
            partials.push(acc.state(EmitTo::All).unwrap());
        }
        let mut fin = ExactGroups {
            p,
            groups: Vec::new(),
            bytes: 0,
        };
        let idx: Vec<usize> = (0..n_groups).collect();
        for s in partials {
            fin.merge_batch(&s, &idx, None, n_groups).unwrap();
        }
        let out = fin.evaluate(EmitTo::All).unwrap();
        int64s(&out).unwrap().iter().collect()
    }

    proptest! {
        #[test]
        fn groups_accumulator_equals_the_definition(
            rows in proptest::collection::vec((0usize..4, proptest::option::of(-50i64..500)), 0..200),
            split in 0usize..200,
            p in prop_oneof![Just(0.0), Just(50.0), Just(90.0), Just(99.0), Just(99.9), Just(100.0), 0.0f64..100.0],
        ) {
            let got = groups_result(p, &rows, split, 4);
            for (g, value) in got.iter().enumerate() {
                let vals: Vec<i64> = rows.iter().filter(|r| r.0 == g).filter_map(|r| r.1).collect();
                let mut exact = vals.clone();
                prop_assert_eq!(*value, nearest_rank(&mut exact, p));
                // The naive float definition agrees away from float ties.
                if (p * vals.len() as f64 / 100.0).fract().abs() > 1e-6 {
                    prop_assert_eq!(*value, naive(&vals, p));
                }
            }
        }

        #[test]
        fn row_accumulator_merges_exactly(
            values in proptest::collection::vec(proptest::option::of(0i64..1000), 0..100),
            split in 0usize..100,
        ) {
            let (a, b) = values.split_at(split.min(values.len()));
            let mut states = Vec::new();
            for part in [a, b] {
                let mut acc = ExactAccumulator { p: 99.0, values: Vec::new() };
                acc.update_batch(&[Arc::new(part.iter().copied().collect::<Int64Array>())]).unwrap();
                states.push(acc.state().unwrap().remove(0).to_array().unwrap());
            }
            let mut fin = ExactAccumulator { p: 99.0, values: Vec::new() };
            for s in states {
                fin.merge_batch(&[s]).unwrap();
            }
            let all: Vec<i64> = values.iter().flatten().copied().collect();
            prop_assert_eq!(fin.evaluate().unwrap(), ScalarValue::Int64(naive(&all, 99.0)));
        }
    }

    #[test]
    fn nearest_rank_matches_the_core_on_known_values() {
        let mut v: Vec<i64> = (1..=100).collect();
        assert_eq!(nearest_rank(&mut v, 99.0), Some(99));
        assert_eq!(nearest_rank(&mut v, 100.0), Some(100));
        assert_eq!(nearest_rank(&mut v, 0.0), Some(1));
        assert_eq!(nearest_rank(&mut [], 50.0), None);
        let mut filtered = ExactGroups {
            p: 50.0,
            groups: Vec::new(),
            bytes: 0,
        };
        let values: ArrayRef = Arc::new(Int64Array::from(vec![Some(5), Some(1), None, Some(9)]));
        let keep = BooleanArray::from(vec![true, false, true, true]);
        filtered
            .update_batch(&[values], &[0, 0, 0, 1], Some(&keep), 3)
            .unwrap();
        let out = filtered.evaluate(EmitTo::All).unwrap();
        assert_eq!(
            int64s(&out).unwrap().iter().collect::<Vec<_>>(),
            vec![Some(5), Some(9), None]
        );
    }
}

//! Nullable fixed-width values (numbers, dictionary codes) under construction: sparse while
//! most rows are null, then dense.

use polars_arrow::bitmap::Bitmap;

/// A nullable column of fixed-width values (`i64`, `i32`, dictionary codes) under construction.
///
/// It starts *sparse*: only the rows that hold a value are written (value and row number),
/// and a null row costs a count. The nine `lat_*_ns` columns are null on nearly every row:
/// writing a value and a flag per row for each of them cost an all-columns read ~9 % of its
/// wall time. Once more than a quarter of its rows hold values the builder turns *dense* (a
/// value per row, validity from the first null on), which a column with few nulls does within
/// its first rows. Dictionary codes are kept in the same cells (no measurable gain there,
/// one builder for both).
#[derive(Debug, Default, Clone)]
pub(crate) struct Cells<T> {
    /// Dense: one value per row. Sparse: the values of the rows in `at`.
    values: Vec<T>,
    /// Dense only: row validity, kept only from the first null on (`valid.len() ==
    /// values.len()` then): columns without nulls cost no per-row flag.
    valid: Vec<bool>,
    /// Dense only: null rows.
    nulls: usize,
    /// Sparse only: the row number of each of `values`, ascending.
    at: Vec<usize>,
    /// Rows pushed.
    rows: usize,
    dense: bool,
    /// Rows the column is expected to reach ([`Cells::reserve`]), reserved when it turns
    /// dense.
    expected: usize,
}

impl<T: Default + Copy> Cells<T> {
    /// Rows pushed.
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Room for `rows` more rows (reserved when the cells turn dense).
    pub(crate) fn reserve(&mut self, rows: usize) {
        if self.dense {
            self.values.reserve(rows);
        } else {
            self.expected = self.rows + rows;
        }
    }

    /// Appends a row.
    #[inline(always)]
    pub(crate) fn push(&mut self, v: Option<T>) {
        if self.dense {
            self.push_dense(v);
        } else if let Some(v) = v {
            self.at.push(self.rows);
            self.values.push(v);
            if self.values.len() * 4 > self.rows + 64 {
                self.rows += 1;
                return self.densify();
            }
        }
        self.rows += 1;
    }

    #[inline(always)]
    fn push_dense(&mut self, v: Option<T>) {
        match v {
            Some(v) => {
                self.values.push(v);
                if self.nulls > 0 {
                    self.valid.push(true);
                }
            }
            None => {
                if self.nulls == 0 {
                    self.valid.resize(self.values.len(), true);
                }
                self.values.push(T::default());
                self.valid.push(false);
                self.nulls += 1;
            }
        }
    }

    /// Turns a sparse builder dense: its values scattered to their rows.
    #[inline(never)]
    fn densify(&mut self) {
        if self.dense {
            return;
        }
        let mut values = Vec::with_capacity(self.expected.max(self.rows));
        values.resize(self.rows, T::default());
        let mut valid = vec![false; self.rows];
        for (&row, &v) in self.at.iter().zip(&self.values) {
            if let (Some(slot), Some(ok)) = (values.get_mut(row), valid.get_mut(row)) {
                *slot = v;
                *ok = true;
            }
        }
        self.nulls = self.rows - self.values.len();
        if self.nulls == 0 {
            valid = Vec::new();
        }
        self.values = values;
        self.valid = valid;
        self.at = Vec::new();
        self.dense = true;
    }

    /// The builder, dense.
    pub(crate) fn into_dense(mut self) -> Self {
        self.densify();
        self
    }

    /// Appends values in order.
    #[cfg(feature = "arrow")]
    pub(crate) fn extend(&mut self, values: impl Iterator<Item = Option<T>>) {
        values.for_each(|v| self.push(v));
    }

    /// Appends `values` with their validity (`None`: all valid) in bulk.
    #[cfg(feature = "arrow")]
    pub(crate) fn extend_from_slice(&mut self, values: &[T], valid: Option<&[bool]>) {
        self.densify();
        match valid {
            Some(v) if v.iter().any(|&ok| !ok) => {
                if self.nulls == 0 {
                    self.valid.resize(self.values.len(), true);
                }
                self.valid.extend_from_slice(v);
                self.nulls += v.iter().filter(|&&b| !b).count();
            }
            _ if self.nulls > 0 => self.valid.resize(self.values.len() + values.len(), true),
            _ => {}
        }
        self.values.extend_from_slice(values);
        self.rows = self.values.len();
    }

    /// One dense column of the chunks' values, in order.
    pub(crate) fn concat(parts: Vec<Cells<T>>) -> Cells<T> {
        let parts: Vec<_> = parts.into_iter().map(Cells::into_dense).collect();
        let rows = parts.iter().map(|p| p.rows).sum();
        let nulls: usize = parts.iter().map(|p| p.nulls).sum();
        let mut out = Cells {
            values: Vec::with_capacity(rows),
            valid: Vec::with_capacity(if nulls > 0 { rows } else { 0 }),
            nulls,
            rows,
            dense: true,
            ..Cells::default()
        };
        for p in parts {
            out.values.extend_from_slice(&p.values);
            if nulls > 0 {
                if p.nulls > 0 {
                    out.valid.extend_from_slice(&p.valid);
                } else {
                    out.valid.resize(out.values.len(), true);
                }
            }
        }
        out
    }

    /// The validity of a dense builder.
    fn validity(&self) -> Option<Bitmap> {
        validity(self.nulls, &self.valid)
    }

    /// The values, a value per row (null rows hold `T::default()`), and their validity
    /// (`None`: no nulls).
    pub(crate) fn into_parts(self) -> (Vec<T>, Option<Bitmap>) {
        let dense = self.into_dense();
        let validity = dense.validity();
        (dense.values, validity)
    }

    /// Maps every stored value in place (in dense cells, null rows' placeholders too).
    pub(crate) fn map_values(&mut self, f: impl Fn(T) -> T) {
        self.values.iter_mut().for_each(|v| *v = f(*v));
    }
}

/// Cells' validity as a bitmap: `None` (all valid) unless it holds nulls, whose flags
/// `valid` then holds for every row.
fn validity(nulls: usize, valid: &[bool]) -> Option<Bitmap> {
    (nulls > 0).then(|| Bitmap::from_iter(valid.iter().copied()))
}

#[cfg(test)]
mod tests {
    use super::Cells;
    use proptest::prelude::*;

    /// A builder's rows as options, read back from its dense form.
    fn rows_of(b: Cells<i64>) -> Vec<Option<i64>> {
        let b = b.into_dense();
        assert_eq!(b.values.len(), b.rows);
        let valid = b.validity();
        b.values
            .iter()
            .enumerate()
            .map(|(i, &v)| valid.as_ref().is_none_or(|m| m.get_bit(i)).then_some(v))
            .collect()
    }

    proptest! {
        /// Whatever the density (sparse all along, dense from the start, or turning dense
        /// part way), and however the rows are cut into chunks, the rows read back as pushed.
        #[test]
        fn numbers_read_back_as_pushed(
            rows in proptest::collection::vec(any::<u8>(), 0..600),
            percent_valid in prop_oneof![Just(0u8), Just(2), Just(30), Just(100), 0u8..=100],
            cuts in proptest::collection::vec(any::<usize>(), 0..3),
        ) {
            let rows: Vec<Option<i64>> = rows
                .iter()
                .enumerate()
                .map(|(i, &r)| (u32::from(r) * 100 < u32::from(percent_valid) * 256).then_some(i as i64 * 7 - 3))
                .collect();
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (rows.len() + 1)).collect();
            cuts.push(rows.len());
            cuts.sort_unstable();
            let mut parts = Vec::new();
            let mut from = 0;
            for &to in &cuts {
                let mut b = Cells::default();
                b.reserve(to - from);
                rows[from..to].iter().for_each(|&v| b.push(v));
                prop_assert_eq!(rows_of(b.clone()), rows[from..to].to_vec());
                parts.push(b);
                from = to;
            }
            prop_assert_eq!(rows_of(Cells::concat(parts)), rows);
        }
    }
}

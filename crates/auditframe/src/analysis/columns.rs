//! Columns of a frame as physical arrays, for one-pass kernels: categorical codes with their
//! dictionary, nullable i64s (timestamps as ns, latencies as ms), and strings. Loaded either
//! joined into one contiguous array, or as the frame's chunks (nothing copied), read through
//! windows that lie within one chunk.

use std::ops::Range;
use std::sync::Arc;

use polars::prelude as pl;
use polars::prelude::{CategoricalMapping, ChunkAgg};
use polars_arrow::array::{Array, PrimitiveArray, Utf8ViewArray};
use polars_arrow::types::NativeType;

use crate::schema::Column;
use crate::{AuditFrame, Error, Result};

/// How many codes a categorical column can use: `0..len`. Frames built by auditframe have
/// one dense dictionary per column, so the mapping's size bounds the codes; a shared (global)
/// mapping may be much larger: then the codes are scanned for their maximum.
pub(crate) fn codes_len(mapping: &CategoricalMapping, codes: &pl::UInt32Chunked) -> usize {
    let bound = mapping.num_cats_upper_bound();
    if bound <= 1 << 20 {
        bound
    } else {
        codes.max().map_or(0, |m| m as usize + 1)
    }
}

/// A categorical column's codes (contiguous) and its dictionary.
pub(crate) struct Codes {
    pub(crate) arr: PrimitiveArray<u32>,
    /// `None` for a column the requested analyses do not read ([`Codes::unused`]).
    mapping: Option<Arc<CategoricalMapping>>,
    /// Codes are `< len`; the extra slot `len` stands for null.
    pub(crate) len: u32,
    /// The column's chunks, when loaded without joining them ([`Codes::load_chunks`]);
    /// `arr` is then empty until a [`window`](Codes::window) is taken.
    chunks: Chunks<u32>,
}

impl Codes {
    /// Loads `col` as one contiguous array (its chunks joined, when it has several).
    pub(crate) fn load(frame: &AuditFrame, col: Column) -> Result<Codes> {
        Codes::load_as(frame, col, true)
    }

    /// Loads `col` keeping its chunks (nothing copied): rows are read through windows that
    /// lie within one chunk ([`Codes::window`]).
    pub(crate) fn load_chunks(frame: &AuditFrame, col: Column) -> Result<Codes> {
        Codes::load_as(frame, col, false)
    }

    /// Loads rows `rows` of `col` (cut to the column's length), keeping their chunks.
    pub(crate) fn load_rows(frame: &AuditFrame, col: Column, rows: Range<usize>) -> Result<Codes> {
        let c = frame.column(col)?.as_materialized_series();
        let start = rows.start.min(c.len());
        let len = rows.end.min(c.len()).saturating_sub(start);
        let offset = i64::try_from(start).unwrap_or(i64::MAX);
        Codes::of_series(&c.slice(offset, len), col, false)
    }

    fn load_as(frame: &AuditFrame, col: Column, join: bool) -> Result<Codes> {
        Codes::of_series(frame.column(col)?.as_materialized_series(), col, join)
    }

    fn of_series(c: &pl::Series, col: Column, join: bool) -> Result<Codes> {
        let mapping = match c.dtype() {
            pl::DataType::Categorical(_, m) | pl::DataType::Enum(_, m) => Some(m.clone()),
            other => {
                return Err(Error::schema(format!(
                    "`{col}` is {other}, expected Categorical"
                )))
            }
        };
        let phys = c.to_physical_repr();
        let phys = match phys.dtype() {
            pl::DataType::UInt32 => phys.into_owned(),
            _ => phys.cast(&pl::DataType::UInt32)?,
        };
        let phys = if join { phys.rechunk() } else { phys };
        let ca = phys.u32()?;
        let (arr, chunks) = if join {
            (first_chunk(ca.downcast_iter()), Chunks::default())
        } else {
            (empty(), Chunks::of(ca.downcast_iter()))
        };
        let n = mapping.as_deref().map_or(0, |m| codes_len(m, ca));
        let max = n.saturating_sub(1) as u32;
        if max >= (1 << 24) {
            return Err(Error::schema(format!(
                "`{col}` has dictionary codes up to {max}; expected a dense dictionary"
            )));
        }
        Ok(Codes {
            len: if n == 0 && ca.is_empty() { 0 } else { max + 1 },
            arr,
            mapping,
            chunks,
        })
    }

    /// Rows `range` as a column of their own (row `i` of the window is row
    /// `range.start + i`), sharing the buffers; `None` when the range crosses a chunk
    /// boundary. A stand-in ([`Codes::unused`]) stays one.
    pub(crate) fn window(&self, range: Range<usize>) -> Option<Codes> {
        Some(Codes {
            arr: window_of(&self.arr, &self.chunks, range)?,
            mapping: self.mapping.clone(),
            len: self.len,
            chunks: Chunks::default(),
        })
    }

    /// Rows where one of the column's chunks ends (when loaded with its chunks).
    pub(crate) fn chunk_ends(&self) -> impl Iterator<Item = usize> + '_ {
        self.chunks.ends()
    }

    /// The code at `i`, or `len` for null.
    #[inline]
    pub(crate) fn at(&self, i: usize) -> u32 {
        match self.arr.validity() {
            Some(v) if !v.get_bit(i) => self.len,
            _ => self.arr.values().get(i).copied().unwrap_or(self.len),
        }
    }

    /// Each value that occurs, with its rows, in code order, then null rows (`None`) if any.
    /// Counted by code ([`counts`](Codes::counts)); a dictionary too large for a slot per
    /// code (a shared mapping) is counted in a map instead.
    pub(crate) fn value_counts(&self) -> Vec<(Option<String>, u64)> {
        const DENSE: u32 = 1 << 16;
        let per_code: Vec<(u32, u64)> = if self.len <= DENSE {
            let counts = self.counts();
            (0u32..).zip(counts).filter(|&(_, n)| n > 0).collect()
        } else {
            let mut map = std::collections::HashMap::<u32, u64>::new();
            for a in self.arrays() {
                for i in 0..a.len() {
                    let c = match a.validity() {
                        Some(v) if !v.get_bit(i) => self.len,
                        _ => a.values().get(i).copied().unwrap_or(self.len).min(self.len),
                    };
                    *map.entry(c).or_default() += 1;
                }
            }
            let mut v: Vec<_> = map.into_iter().collect();
            v.sort_unstable();
            v
        };
        per_code
            .into_iter()
            .map(|(c, n)| ((c < self.len).then(|| self.name(c).to_owned()), n))
            .collect()
    }

    /// The loaded rows' arrays: the chunks, or the one joined array.
    fn arrays(&self) -> &[PrimitiveArray<u32>] {
        match self.chunks.arrs.is_empty() {
            true => std::slice::from_ref(&self.arr),
            false => &self.chunks.arrs[..],
        }
    }

    /// How many rows hold each code (the last slot, `len`: null rows, and any code past the
    /// dictionary), read chunk by chunk (a column loaded with its chunks is not joined for
    /// this).
    pub(crate) fn counts(&self) -> Vec<u64> {
        use rayon::prelude::*;
        let arrs = self.arrays();
        let slots = self.len as usize + 1;
        // Chunks on all threads: this runs between the parallel parse and the queries.
        arrs.par_iter()
            .map(|a| {
                let mut n = vec![0u64; slots];
                let valid = a.validity().filter(|v| v.unset_bits() > 0);
                for (i, &c) in a.values().iter().enumerate() {
                    // A code past the dictionary (which cannot name a value) counts with
                    // the nulls rather than vanish.
                    let c = match valid {
                        Some(v) if !v.get_bit(i) => self.len,
                        _ => c.min(self.len),
                    };
                    if let Some(k) = n.get_mut(c as usize) {
                        *k += 1;
                    }
                }
                n
            })
            .reduce(
                || vec![0u64; slots],
                |mut a, b| {
                    a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                    a
                },
            )
    }

    pub(crate) fn name(&self, code: u32) -> &str {
        match &self.mapping {
            Some(m) if code < self.len => m.cat_to_str(code).unwrap_or(""),
            _ => "",
        }
    }

    pub(crate) fn code_of(&self, s: &str) -> Option<u32> {
        self.mapping.as_ref()?.get_cat(s).filter(|&c| c < self.len)
    }

    /// A stand-in for a column that is not read: every row is null.
    pub(crate) fn unused() -> Codes {
        Codes {
            arr: empty(),
            mapping: None,
            len: 0,
            chunks: Chunks::default(),
        }
    }

    /// Loads `col` if `needed`, else a stand-in (so that the frame need not have it).
    pub(crate) fn load_if(frame: &AuditFrame, col: Column, needed: bool) -> Result<Codes> {
        if needed {
            Codes::load(frame, col)
        } else {
            Ok(Codes::unused())
        }
    }

    /// [`Codes::load_chunks`] if `needed`, else a stand-in.
    pub(crate) fn load_chunks_if(frame: &AuditFrame, col: Column, needed: bool) -> Result<Codes> {
        if needed {
            Codes::load_chunks(frame, col)
        } else {
            Ok(Codes::unused())
        }
    }
}

/// A nullable i64 column (timestamps as ns, latency as ms), contiguous, with its range when
/// asked for.
#[derive(Clone)]
pub(crate) struct Ints {
    pub(crate) arr: PrimitiveArray<i64>,
    pub(crate) min_max: Option<(i64, i64)>,
    /// As [`Codes`]' chunks.
    chunks: Chunks<i64>,
}

impl Ints {
    /// A contiguous column of `arr`'s values.
    pub(crate) fn of(arr: PrimitiveArray<i64>) -> Ints {
        Ints {
            arr,
            min_max: None,
            chunks: Chunks::default(),
        }
    }

    /// Loads `col` as one contiguous array; with `range`, also its min and max (only bins
    /// and `Last` need them).
    pub(crate) fn load(frame: &AuditFrame, col: Column, range: bool) -> Result<Ints> {
        Ints::load_as(frame, col, range, true)
    }

    /// Loads `col` keeping its chunks, as [`Codes::load_chunks`].
    pub(crate) fn load_chunks(frame: &AuditFrame, col: Column, range: bool) -> Result<Ints> {
        Ints::load_as(frame, col, range, false)
    }

    fn load_as(frame: &AuditFrame, col: Column, range: bool, join: bool) -> Result<Ints> {
        let c = frame.column(col)?.as_materialized_series();
        let phys = c.to_physical_repr();
        let phys = if join {
            phys.rechunk()
        } else {
            phys.into_owned()
        };
        let ca = phys.i64()?;
        let min_max = if range { i64_range(ca) } else { None };
        Ok(if join {
            Ints {
                min_max,
                ..Ints::of(first_chunk(ca.downcast_iter()))
            }
        } else {
            Ints {
                arr: empty(),
                min_max,
                chunks: Chunks::of(ca.downcast_iter()),
            }
        })
    }

    /// Loads `col` if `needed`, else a column of nulls (so that the frame need not have it).
    pub(crate) fn load_if(
        frame: &AuditFrame,
        col: Column,
        needed: bool,
        range: bool,
    ) -> Result<Ints> {
        Ints::load_as_if(frame, col, (needed, range, true))
    }

    /// [`Ints::load_chunks`] if `needed`, else a column of nulls.
    pub(crate) fn load_chunks_if(
        frame: &AuditFrame,
        col: Column,
        needed: bool,
        range: bool,
    ) -> Result<Ints> {
        Ints::load_as_if(frame, col, (needed, range, false))
    }

    fn load_as_if(
        frame: &AuditFrame,
        col: Column,
        (needed, range, join): (bool, bool, bool),
    ) -> Result<Ints> {
        match needed {
            true => Ints::load_as(frame, col, range, join),
            false => Ok(Ints::of(empty())),
        }
    }

    /// As [`Codes::window`].
    pub(crate) fn window(&self, range: Range<usize>) -> Option<Ints> {
        Some(Ints {
            min_max: self.min_max,
            ..Ints::of(window_of(&self.arr, &self.chunks, range)?)
        })
    }

    /// As [`Codes::chunk_ends`].
    pub(crate) fn chunk_ends(&self) -> impl Iterator<Item = usize> + '_ {
        self.chunks.ends()
    }

    #[inline]
    pub(crate) fn at(&self, i: usize) -> Option<i64> {
        match self.arr.validity() {
            Some(v) if !v.get_bit(i) => None,
            _ => self.arr.values().get(i).copied(),
        }
    }
}

/// The smallest and the largest valid value of `ca` (`None` when every value is null), its
/// chunks on all threads. polars' `min`/`max` walk a nullable column value by value on the
/// caller's thread: two such passes over a 1M-row time column were ~6 ms of a serial phase
/// between the parallel parse and the parallel queries.
pub(crate) fn i64_range(ca: &pl::Int64Chunked) -> Option<(i64, i64)> {
    use rayon::prelude::*;
    let arrs: Vec<&PrimitiveArray<i64>> = ca.downcast_iter().collect();
    arrs.par_iter()
        .filter_map(|a| array_range(a))
        .reduce_with(|(a, b), (c, d)| (a.min(c), b.max(d)))
}

/// [`i64_range`] of one array: 64 rows per validity word, a full word's rows folded without
/// looking at their bits.
fn array_range(arr: &PrimitiveArray<i64>) -> Option<(i64, i64)> {
    let vals = arr.values().as_slice();
    let fold = |(lo, hi): (i64, i64), &x: &i64| (lo.min(x), hi.max(x));
    let start = (i64::MAX, i64::MIN);
    let Some(valid) = arr.validity().filter(|v| v.unset_bits() > 0) else {
        return (!vals.is_empty()).then(|| vals.iter().fold(start, fold));
    };
    let (mut acc, mut any) = (start, false);
    let mut words = valid.chunks::<u64>();
    let mut blocks = vals.chunks_exact(64);
    let mut fold_bits = |mut bits: u64, block: &[i64]| {
        if bits == u64::MAX {
            acc = block.iter().fold(acc, fold);
            any = true;
            return;
        }
        any |= bits != 0;
        while bits != 0 {
            if let Some(x) = block.get(bits.trailing_zeros() as usize) {
                acc = fold(acc, x);
            }
            bits &= bits - 1;
        }
    };
    for (bits, block) in (&mut words).zip(&mut blocks) {
        fold_bits(bits, block);
    }
    let rest = blocks.remainder();
    let mask = if rest.len() >= 64 {
        u64::MAX
    } else {
        (1u64 << rest.len()) - 1
    };
    fold_bits(words.remainder() & mask, rest);
    any.then_some(acc)
}

/// A column's chunks as loaded (not joined), and the row each starts at.
#[derive(Clone)]
struct Chunks<T: NativeType> {
    arrs: Vec<PrimitiveArray<T>>,
    starts: Vec<usize>,
}

impl<T: NativeType> Default for Chunks<T> {
    fn default() -> Self {
        Chunks {
            arrs: Vec::new(),
            starts: Vec::new(),
        }
    }
}

impl<T: NativeType> Chunks<T> {
    fn of<'a>(arrs: impl Iterator<Item = &'a PrimitiveArray<T>>) -> Chunks<T> {
        let mut c = Chunks::default();
        let mut start = 0;
        for a in arrs {
            c.starts.push(start);
            start += a.len();
            c.arrs.push(a.clone());
        }
        c
    }

    fn ends(&self) -> impl Iterator<Item = usize> + '_ {
        self.starts
            .iter()
            .zip(&self.arrs)
            .map(|(&s, a)| s + a.len())
    }
}

/// Rows `range` of a column held as `arr` (contiguous) or as `chunks` (when it has any), as
/// one array sharing the buffers. `None` when the range crosses a chunk boundary or runs
/// past the end; an empty column (a stand-in for one not read) stays empty.
fn window_of<T: NativeType>(
    arr: &PrimitiveArray<T>,
    chunks: &Chunks<T>,
    range: Range<usize>,
) -> Option<PrimitiveArray<T>> {
    let (arr, offset) = if chunks.arrs.is_empty() {
        if arr.is_empty() {
            return Some(arr.clone());
        }
        (arr, range.start)
    } else {
        let k = chunks
            .starts
            .partition_point(|&s| s <= range.start)
            .checked_sub(1)?;
        (chunks.arrs.get(k)?, range.start - chunks.starts.get(k)?)
    };
    if offset + range.len() > arr.len() {
        return None;
    }
    let mut out = arr.clone();
    out.slice(offset, range.len());
    Some(out)
}

fn first_chunk<'a, T: NativeType>(
    mut arrs: impl Iterator<Item = &'a PrimitiveArray<T>>,
) -> PrimitiveArray<T> {
    arrs.next().cloned().unwrap_or_else(empty)
}

fn empty<T: NativeType>() -> PrimitiveArray<T> {
    PrimitiveArray::from_vec(Vec::new())
}

/// A nullable string column, read in place: its chunks (a frame built by the parallel reader
/// has many) and where each starts, so that a row lookup is a binary search, not a copy.
pub(crate) struct Strs {
    chunks: Vec<Utf8ViewArray>,
    starts: Vec<usize>,
}

impl Strs {
    /// Loads `col` if `needed`, else a stand-in whose rows are all null.
    pub(crate) fn load_if(frame: &AuditFrame, col: Column, needed: bool) -> Result<Strs> {
        let mut s = Strs {
            chunks: Vec::new(),
            starts: Vec::new(),
        };
        if needed {
            let ca = frame.column(col)?.as_materialized_series().str()?.clone();
            let mut start = 0;
            for arr in ca.downcast_iter() {
                s.starts.push(start);
                start += arr.len();
                s.chunks.push(arr.clone());
            }
        }
        Ok(s)
    }

    #[inline]
    fn in_chunk(&self, k: usize, i: usize) -> Option<&str> {
        let arr = self.chunks.get(k)?;
        let j = i.checked_sub(*self.starts.get(k)?)?;
        (j < arr.len() && arr.is_valid(j)).then(|| arr.value(j))
    }

    /// The non-null rows with their index, skipping all-null chunks at once (for sparse
    /// columns such as `admission_webhooks`).
    pub(crate) fn non_null(&self) -> impl Iterator<Item = (usize, &str)> + '_ {
        self.chunks
            .iter()
            .zip(&self.starts)
            .filter(|(arr, _)| arr.null_count() < arr.len())
            .flat_map(|(arr, &start)| {
                arr.iter()
                    .enumerate()
                    .filter_map(move |(j, v)| v.map(|v| (start + j, v)))
            })
    }

    /// A reader for rows visited in increasing order: O(1) per row instead of a search.
    pub(crate) fn cursor(&self) -> StrCursor<'_> {
        StrCursor { strs: self, k: 0 }
    }
}

/// See [`Strs::cursor`].
pub(crate) struct StrCursor<'a> {
    strs: &'a Strs,
    k: usize,
}

impl<'a> StrCursor<'a> {
    #[inline]
    pub(crate) fn at(&mut self, i: usize) -> Option<&'a str> {
        let starts = &self.strs.starts;
        if starts.get(self.k).is_some_and(|&s| s > i) {
            self.k = 0; // went backwards: start over
        }
        while starts.get(self.k + 1).is_some_and(|&s| s <= i) {
            self.k += 1;
        }
        self.strs.in_chunk(self.k, i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use polars::prelude::IntoSeries;

    /// A dictionary too large for a slot per code is counted in a map: the same counts as
    /// counting the strings, over two chunks and a row range, nulls last.
    #[test]
    fn value_counts_of_a_large_dictionary() {
        let n = (1 << 16) + 10;
        let mut values: Vec<Option<String>> = (0..n).map(|i| Some(format!("v{i}"))).collect();
        values.extend([Some("v1".to_owned()), None, Some("v7".to_owned()), None]);
        let cats = pl::Categories::random("t".into(), pl::CategoricalPhysical::U32);
        let dtype = pl::DataType::from_categories(cats);
        let column = |rows: &[Option<String>]| {
            let s: pl::Series = rows
                .iter()
                .map(Option::as_deref)
                .collect::<pl::StringChunked>()
                .into_series();
            s.cast(&dtype).unwrap()
        };
        let (a, b) = values.split_at(n - 3);
        let mut s = column(a);
        s.append(&column(b)).unwrap();
        s.rename("verb".into());
        assert_eq!(s.n_chunks(), 2);
        let frame =
            AuditFrame::from_dataframe(pl::DataFrame::new(s.len(), vec![s.into()]).unwrap())
                .unwrap();
        let codes = Codes::load_rows(&frame, Column::Verb, 0..usize::MAX).unwrap();
        assert!(codes.len > 1 << 16);
        let naive = |rows: &[Option<String>]| {
            let mut m = std::collections::BTreeMap::<Option<String>, u64>::new();
            rows.iter()
                .for_each(|r| *m.entry(r.clone()).or_default() += 1);
            m
        };
        let counted = |range: Range<usize>| {
            let got = frame.value_counts(Column::Verb, range).unwrap();
            // Nulls come last.
            assert!(got.iter().rev().skip(1).all(|(v, _)| v.is_some()));
            got.into_iter()
                .collect::<std::collections::BTreeMap<_, _>>()
        };
        assert_eq!(counted(0..values.len()), naive(&values));
        assert_eq!(counted(n - 5..n + 3), naive(&values[n - 5..n + 3]));
        assert!(counted(n + 4..n + 9).is_empty());
    }

    proptest! {
        /// The range of the valid values, over several chunks of any length, each sliced at
        /// any offset (validity bits not word-aligned), with any density of nulls.
        #[test]
        fn i64_range_is_the_range_of_the_valid_values(
            chunks in proptest::collection::vec(
                (proptest::collection::vec(proptest::option::weighted(0.9, -1000i64..1000), 0..300), 0usize..70),
                1..4,
            ),
        ) {
            let mut ca: Option<pl::Int64Chunked> = None;
            let mut expect: Option<(i64, i64)> = None;
            for (rows, cut) in &chunks {
                let cut = (*cut).min(rows.len());
                let arr = PrimitiveArray::<i64>::from(rows.clone()).sliced(cut, rows.len() - cut);
                for x in rows.iter().skip(cut).flatten() {
                    expect = Some(expect.map_or((*x, *x), |(a, b)| (a.min(*x), b.max(*x))));
                }
                let part = pl::Int64Chunked::with_chunk("t".into(), arr);
                match &mut ca {
                    None => ca = Some(part),
                    Some(c) => c.append(&part).map_err(|e| TestCaseError::fail(e.to_string()))?,
                }
            }
            let ca = ca.ok_or_else(|| TestCaseError::fail("no chunk"))?;
            prop_assert_eq!(i64_range(&ca), expect);
        }
    }
}

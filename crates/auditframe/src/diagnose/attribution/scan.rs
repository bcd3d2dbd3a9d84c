//! The attribution's pass over one frame's rows: the slow requests of a range of rows,
//! grouped by the frame's (key, verb, resource) codes.

use polars::prelude::PlHashMap;
use polars_arrow::bitmap::Bitmap;

use super::{add_to_bin, Requests, Sums, N, OTHER};
use crate::analysis::columns::Ints;
use crate::analysis::{bin_start, LONG_RUNNING_SUBRESOURCES};
use crate::diagnose::rows::Cols;
use crate::diagnose::DiagnoseOptions;
use crate::timestamp::NANOS_PER_MILLI;

/// What one range of rows adds, grouped by this frame's (key, verb, resource) codes.
#[derive(Default)]
pub(super) struct Scan {
    pub slow: u64,
    pub unannotated: u64,
    /// The groups' codes and sums, by local index (`requests.group`).
    pub codes: Vec<(u32, u32, u32)>,
    pub sums: Vec<Sums>,
    pub requests: Requests,
    pub bins: PlHashMap<i64, [i128; N]>,
}

/// The bin being summed. Rows come roughly in time order, so requests are summed into it
/// until one falls outside it: no hashing and no bin arithmetic per row, and i64 adds (an
/// add that would overflow spills into the i128 sums first).
struct RunningBin {
    start: i64,
    end: i64,
    sums: [i64; N],
    spill: [i128; N],
    seen: bool,
}

impl RunningBin {
    fn new() -> RunningBin {
        RunningBin {
            start: i64::MIN,
            end: i64::MIN,
            sums: [0; N],
            spill: [0; N],
            seen: false,
        }
    }

    /// Adds a request completed at `t`, moving to its bin first if needed.
    #[inline]
    fn add(&mut self, t: i64, parts: &[i64; N], bin_ns: i64, out: &mut Scan) {
        if !(self.seen && self.start <= t && t < self.end) {
            self.flush(out);
            self.start = bin_start(t, bin_ns);
            self.end = self.start.saturating_add(bin_ns);
            self.seen = true;
        }
        for ((s, spill), &p) in self.sums.iter_mut().zip(&mut self.spill).zip(parts) {
            match s.checked_add(p) {
                Some(v) => *s = v,
                None => {
                    *spill += i128::from(*s);
                    *s = p;
                }
            }
        }
    }

    /// Adds the bin's sums to `out` and empties it.
    fn flush(&mut self, out: &mut Scan) {
        if self.seen {
            let mut sums = self.spill;
            for (t, &s) in sums.iter_mut().zip(&self.sums) {
                *t += i128::from(s);
            }
            add_to_bin(&mut out.bins, self.start, &sums);
        }
        self.sums = [0; N];
        self.spill = [0; N];
        self.seen = false;
    }
}

/// Scans the rows of `range` (whole 64-row words but the last).
///
/// Slow requests are a small share of all rows (one in ~17 on the generated story), so only
/// the candidates are visited: rows with a latency annotation or a latency over 500 ms, that
/// are a request's final event and not a watch — found 64 rows at a time from validity
/// bitmaps and sequential passes over three columns. Each other column is then gathered
/// for all candidates in one increasing pass into its own contiguous vector: one
/// prefetchable stream at a time, and writes that stay in cache (a row-major gather would
/// rewrite a megabyte-sized array of rows once per column).
pub(super) fn scan(c: &Cols, opts: &DiagnoseOptions, range: std::ops::Range<usize>) -> Scan {
    let mut out = Scan::default();
    let mut cand = candidates(c, range);
    if c.window.is_some() {
        cand.keep_where(|i| c.in_window(c.time.at(i)));
    }
    // The long-running subresources' latency is how long a stream was held.
    let long_running: Vec<bool> = (0..c.subresource.len)
        .map(|code| LONG_RUNNING_SUBRESOURCES.contains(&c.subresource.name(code)))
        .collect();
    if long_running.contains(&true) {
        cand.keep_where(|i| {
            let sub = c.subresource.at(i);
            !long_running.get(sub as usize).copied().unwrap_or(false)
        });
    }
    let Candidates { rows, annotated } = cand;
    let g = Gathered::new(c, rows);
    fold_requests(c, opts, &g, &annotated, &mut out);
    out
}

/// The columns the attribution reads, gathered at the candidate rows.
struct Gathered {
    rows: Vec<usize>,
    lat: [Vec<i64>; N],
    ends: Vec<Option<i64>>,
    verbs: Vec<u32>,
    keys: Vec<u32>,
    resources: Vec<u32>,
}

impl Gathered {
    // Out of line (as are `candidates` and `fold_requests`): a profile then names each stage.
    #[inline(never)]
    fn new(c: &Cols, rows: Vec<usize>) -> Gathered {
        let lat: [Vec<i64>; N] = std::array::from_fn(|j| {
            c.lat
                .get(j)
                .map_or_else(Vec::new, |col| gather_or_zero(col, &rows))
        });
        let ends: Vec<Option<i64>> = rows.iter().map(|&i| c.stage_time.at(i)).collect();
        let verbs: Vec<u32> = rows.iter().map(|&i| c.verb.at(i)).collect();
        let keys: Vec<u32> = rows.iter().map(|&i| c.key.at(i)).collect();
        let resources: Vec<u32> = rows.iter().map(|&i| c.resource.at(i)).collect();
        Gathered {
            rows,
            lat,
            ends,
            verbs,
            keys,
            resources,
        }
    }
}

/// Adds the candidates' slow requests to `out`.
#[inline(never)]
fn fold_requests(
    c: &Cols,
    opts: &DiagnoseOptions,
    g: &Gathered,
    annotated: &[bool],
    out: &mut Scan,
) {
    let Gathered {
        rows,
        lat,
        ends,
        verbs,
        keys,
        resources,
    } = g;
    // Keyed by the three codes packed into one integer: one hash round per request.
    let mut index: PlHashMap<u128, u32> = PlHashMap::default();
    out.requests.group.reserve_exact(rows.len());
    out.requests.parts.reserve_exact(rows.len());
    let mut bin = RunningBin::new();
    for (k, (&i, &annotated)) in rows.iter().zip(annotated).enumerate() {
        let end = ends.get(k).copied().flatten();
        // The timestamps' latency, read only where it is needed.
        let measured = || match (end, c.received.at(i)) {
            (Some(end), Some(start)) => Some(end.saturating_sub(start)),
            _ => c.latency.at(i).map(|ms| ms.saturating_mul(NANOS_PER_MILLI)),
        };
        if !annotated {
            if measured().is_some_and(|ns| ns > 500 * NANOS_PER_MILLI) {
                out.slow += 1;
                out.unannotated += 1;
            }
            continue;
        }
        out.slow += 1;
        // The last slot holds the written total until `other` replaces it.
        let mut parts: [i64; N] =
            std::array::from_fn(|j| lat.get(j).and_then(|v| v.get(k)).copied().unwrap_or(0));
        let written_total = parts.get(OTHER).copied().filter(|t| *t > 0);
        parts = parts.map(|v| v.max(0));
        let total = written_total.or_else(measured).unwrap_or(0).max(0);
        let attributed: i64 = parts
            .iter()
            .take(OTHER)
            .fold(0i64, |a, p| a.saturating_add(*p));
        if let Some(o) = parts.get_mut(OTHER) {
            *o = total.saturating_sub(attributed).max(0);
        }
        let verb = verbs.get(k).copied().unwrap_or(c.verb.len);
        let key = keys.get(k).copied().unwrap_or(c.key.len);
        let resource = resources.get(k).copied().unwrap_or(c.resource.len);
        let packed = u128::from(key) | u128::from(verb) << 32 | u128::from(resource) << 64;
        let g = *index.entry(packed).or_insert_with(|| {
            out.codes.push((key, verb, resource));
            out.sums.push(Sums::default());
            out.codes.len() as u32 - 1
        });
        if let Some(s) = out.sums.get_mut(g as usize) {
            s.add_request(total, &parts);
        }
        out.requests.group.push(g);
        out.requests.parts.push(parts);
        if let Some(t) = end {
            bin.add(t, &parts, opts.bin_ns, out);
        }
    }
    bin.flush(out);
}

/// The values of `col` at `rows` (increasing), 0 where null; empty for a column that is
/// not loaded or null throughout.
fn gather_or_zero(col: &Ints, rows: &[usize]) -> Vec<i64> {
    let values = col.arr.values();
    if values.is_empty() {
        return Vec::new();
    }
    match col.arr.validity() {
        Some(v) if v.unset_bits() == v.len() => Vec::new(),
        Some(v) => rows
            .iter()
            .map(|&i| match v.get(i) {
                Some(true) => values.get(i).copied().unwrap_or(0),
                _ => 0,
            })
            .collect(),
        None => rows
            .iter()
            .map(|&i| values.get(i).copied().unwrap_or(0))
            .collect(),
    }
}

/// The rows that may be slow requests, in order, and whether each carries an annotation.
struct Candidates {
    rows: Vec<usize>,
    annotated: Vec<bool>,
}

impl Candidates {
    /// Keeps the rows for which `keep` holds.
    fn keep_where(&mut self, keep: impl Fn(usize) -> bool) {
        let mut at = 0;
        for k in 0..self.rows.len() {
            if let (Some(&i), Some(&a)) = (self.rows.get(k), self.annotated.get(k)) {
                if keep(i) {
                    if let (Some(r), Some(x)) = (self.rows.get_mut(at), self.annotated.get_mut(at))
                    {
                        *r = i;
                        *x = a;
                    }
                    at += 1;
                }
            }
        }
        self.rows.truncate(at);
        self.annotated.truncate(at);
    }
}

/// Rows of `range` (starting on a 64-row word) that may be slow requests: any `lat_*`
/// value, or `latency_ms` over 500; only a request's final event (stage
/// `ResponseComplete`, or none), and never a watch.
#[inline(never)]
fn candidates(c: &Cols, range: std::ops::Range<usize>) -> Candidates {
    let first_word = range.start / 64;
    let words = range.end.div_ceil(64).saturating_sub(first_word);
    let mut annotated = vec![0u64; words];
    for col in &c.lat {
        let arr = &col.arr;
        if arr.values().is_empty() {
            continue;
        }
        match arr.validity() {
            Some(v) if v.unset_bits() == v.len() => {}
            Some(v) => {
                for (m, w) in annotated.iter_mut().zip(bitmap_words(v, &range)) {
                    *m |= w;
                }
            }
            None => annotated.iter_mut().for_each(|m| *m = u64::MAX),
        }
    }
    let mut marks = annotated.clone();
    let latency = c
        .latency
        .arr
        .values()
        .get(range.clone())
        .unwrap_or_default();
    for (word, chunk) in marks.iter_mut().zip(latency.chunks(64)) {
        let mut bits = 0u64;
        for (j, &ms) in chunk.iter().enumerate() {
            bits |= u64::from(ms > 500) << j;
        }
        *word |= bits;
    }
    // Watches are never counted, and their completions are most of the rows over 500 ms.
    if let Some(watch) = c.verb.code_of("watch") {
        drop_code(&mut marks, &c.verb.arr, watch, &range, |v, w| v == w);
    }
    // A request counts once, at its final event: rows of another (non-null) stage go.
    if !c.stage.arr.values().is_empty() {
        let complete = c.complete.unwrap_or(u32::MAX);
        drop_code(&mut marks, &c.stage.arr, complete, &range, |v, w| v != w);
    }
    let (start, end) = (range.start, range.end);
    let mut out = Candidates {
        rows: Vec::new(),
        annotated: Vec::new(),
    };
    for (k, (&w, &a)) in marks.iter().zip(&annotated).enumerate() {
        let mut w = w;
        while w != 0 {
            let j = w.trailing_zeros();
            w &= w - 1;
            let i = start + k * 64 + j as usize;
            if i < end {
                out.rows.push(i);
                out.annotated.push(a >> j & 1 == 1);
            }
        }
    }
    out
}

/// Clears, in `marks`, the rows of `range` whose valid code `v` has `drop(v, code)`.
fn drop_code(
    marks: &mut [u64],
    codes: &polars_arrow::array::PrimitiveArray<u32>,
    code: u32,
    range: &std::ops::Range<usize>,
    drop: impl Fn(u32, u32) -> bool,
) {
    let values = codes.values().get(range.clone()).unwrap_or_default();
    // A null's slot holds any code: only valid ones count.
    let valid = codes.validity().map(|v| bitmap_words(v, range));
    for (k, (word, chunk)) in marks.iter_mut().zip(values.chunks(64)).enumerate() {
        let mut bits = 0u64;
        for (j, &v) in chunk.iter().enumerate() {
            bits |= u64::from(drop(v, code)) << j;
        }
        if let Some(valid) = &valid {
            bits &= valid.get(k).copied().unwrap_or(0);
        }
        *word &= !bits;
    }
}

/// The words of bitmap `v` over `range` (which starts on a 64-row word), the last partial.
fn bitmap_words(v: &Bitmap, range: &std::ops::Range<usize>) -> Vec<u64> {
    let end = range.end.min(v.len());
    let start = range.start.min(end);
    let part = v.clone().sliced(start, end - start);
    let mut it = part.fast_iter_u64();
    let mut words: Vec<u64> = it.by_ref().collect();
    let (rest, bits) = it.remainder();
    words.extend(rest.iter().take(bits.div_ceil(64)));
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sums that overflow i64 spill into the i128 sums exactly; a request outside the bin
    /// moves to its own bin.
    #[test]
    fn running_bin_spills_instead_of_overflowing() {
        let mut out = Scan::default();
        let mut bin = RunningBin::new();
        let big = [i64::MAX / 2 + 1; N];
        for _ in 0..5 {
            bin.add(10, &big, 100, &mut out);
        }
        bin.add(250, &[1; N], 100, &mut out);
        bin.flush(&mut out);
        let want = i128::from(i64::MAX / 2 + 1) * 5;
        assert_eq!(out.bins.get(&0), Some(&[want; N]));
        assert_eq!(out.bins.get(&200), Some(&[1i128; N]));
        assert_eq!(out.bins.len(), 2);
    }
}

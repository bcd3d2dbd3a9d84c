//! The per-frame kernel: one pass over physical columns (dictionary codes, i64 nanoseconds),
//! split across threads, into dense arrays indexed by codes; then turned into a string-keyed
//! [`Partial`].

use rayon::prelude::*;

use super::columns::{Codes, Ints};
use super::partial::{Partial, SumCount};
use super::{bin_start, Parts};
use crate::schema::Column;
use crate::{AnalysisOptions, AuditFrame, Error, Result, TimeWindow};

/// Long-running subresources, excluded from latency figures on request (and always from the
/// latency attribution).
pub const LONG_RUNNING_SUBRESOURCES: &[&str] = &["exec", "attach", "portforward", "proxy"];

/// The columns an analysis reads, and its filters resolved to codes.
struct Plan {
    parts: Parts,
    /// Percentiles from sketches of this relative accuracy instead of exact values.
    sketch: Option<f64>,
    key: Codes,
    verb: Codes,
    resource: Codes,
    latency: Ints,
    received: Ints,
    time: Option<(Ints, i64, i64)>,
    stage: Option<(Codes, Option<u32>)>,
    long_running: Option<(Codes, Vec<bool>)>,
    watch: Option<u32>,
    only_key: Option<Option<u32>>,
    empty_resource: Option<u32>,
    bin_ns: i64,
    first_bin: i64,
    n_bins: usize,
}

/// Dense per-thread state indexed by codes.
struct Dense {
    rows: u64,
    counts: Vec<u64>,
    /// (key, bin) cells: `key * n_bins + bin`.
    series: Vec<SumCount>,
    /// Latencies for the percentiles, per range of rows, grouped by (key, verb, resource)
    /// with a counting sort (group `g` = `(key * nv + verb) * nr + resource`).
    latencies: Vec<Grouped>,
    /// (group, ms) pairs of the ranges run since the last [`Plan::seal`], in row order: a
    /// thread runs many ranges (a frame's chunks cut them), grouped once, not per range.
    pending: (Vec<u32>, Vec<i64>),
}

/// Latencies of a run of ranges, grouped: group `g`'s values are
/// `vals[offsets[g]..offsets[g + 1]]`. Appending (group, ms) pairs to two flat vectors and
/// sorting them by counting afterwards is far cheaper than pushing into thousands of
/// per-group vectors.
struct Grouped {
    offsets: Vec<usize>,
    vals: Vec<i64>,
}

impl Grouped {
    fn from_pairs(gids: &[u32], vals: &[i64], groups: usize) -> Grouped {
        let mut offsets = vec![0usize; groups + 1];
        for &g in gids {
            if let Some(c) = offsets.get_mut(g as usize + 1) {
                *c += 1;
            }
        }
        let mut total = 0usize;
        for o in &mut offsets {
            total += *o;
            *o = total;
        }
        let mut next = offsets.clone();
        let mut out = vec![0i64; vals.len()];
        for (&g, &v) in gids.iter().zip(vals) {
            if let Some(pos) = next.get_mut(g as usize) {
                if let Some(slot) = out.get_mut(*pos) {
                    *slot = v;
                }
                *pos += 1;
            }
        }
        Grouped { offsets, vals: out }
    }

    fn group(&self, g: usize) -> &[i64] {
        match (self.offsets.get(g), self.offsets.get(g + 1)) {
            (Some(&a), Some(&b)) => self.vals.get(a..b).unwrap_or_default(),
            _ => &[],
        }
    }
}

const MAX_DENSE_CELLS: usize = 1 << 24;

impl Plan {
    fn new(frame: &AuditFrame, opts: &AnalysisOptions, parts: Parts) -> Result<Plan> {
        opts.validate()?;
        let key_col = opts.key.column();
        // Columns keep the frame's chunks: rows are read through windows within one chunk.
        let key = Codes::load_chunks(frame, key_col)?;
        // Only the columns the requested analyses read are loaded (and required).
        let latency_parts = parts.series || parts.percentiles;
        let verb = Codes::load_chunks_if(
            frame,
            Column::Verb,
            parts.percentiles || (latency_parts && opts.exclude_long_running),
        )?;
        let resource = Codes::load_chunks_if(frame, Column::Resource, parts.percentiles)?;
        let latency = Ints::load_chunks_if(frame, Column::LatencyMs, latency_parts, false)?;
        let received = Ints::load_chunks_if(frame, Column::RequestReceived, parts.series, true)?;
        let time = match opts.window {
            TimeWindow::All => None,
            // Only `Last` needs the newest time (the column's range).
            w => {
                let t = Ints::load_chunks(
                    frame,
                    Column::TimeGenerated,
                    matches!(w, TimeWindow::Last(_)),
                )?;
                let newest = t.min_max.map(|(_, hi)| hi);
                w.bounds(newest).map(|(start, end)| (t, start, end))
            }
        };
        let stage = match &opts.stage {
            None => None,
            Some(s) => {
                let c = Codes::load_chunks(frame, Column::Stage)?;
                let code = c.code_of(s);
                Some((c, code))
            }
        };
        let (long_running, watch) = if opts.exclude_long_running && latency_parts {
            let sub = Codes::load_chunks(frame, Column::Subresource)?;
            let mask = (0..=sub.len)
                .map(|c| LONG_RUNNING_SUBRESOURCES.contains(&sub.name(c)) && c < sub.len)
                .collect();
            (Some((sub, mask)), verb.code_of("watch"))
        } else {
            (None, None)
        };
        let only_key = opts.only_key.as_deref().map(|k| {
            if k.is_empty() {
                Some(key.code_of("").unwrap_or(key.len))
            } else {
                key.code_of(k)
            }
        });
        let empty_resource = resource.code_of("");
        // Bins span the request-received range of the frame.
        let (first_bin, n_bins) = if let Some((lo, hi)) = received.min_max {
            let a = bin_start(lo, opts.bin_ns);
            let b = bin_start(hi, opts.bin_ns);
            (
                a,
                usize::try_from((i128::from(b) - i128::from(a)) / i128::from(opts.bin_ns) + 1)
                    .unwrap_or(usize::MAX),
            )
        } else {
            (0, 0)
        };
        Ok(Plan {
            parts,
            sketch: opts.percentile_sketch,
            key,
            verb,
            resource,
            latency,
            received,
            time,
            stage,
            long_running,
            watch,
            only_key,
            empty_resource,
            bin_ns: opts.bin_ns,
            first_bin,
            n_bins,
        })
    }

    /// Row ranges that lie within one chunk of every column, none longer than `target`.
    fn segments(&self, rows: usize, target: usize) -> Vec<std::ops::Range<usize>> {
        let mut ends: Vec<usize> = self
            .key
            .chunk_ends()
            .chain(self.verb.chunk_ends())
            .chain(self.resource.chunk_ends())
            .chain(self.latency.chunk_ends())
            .chain(self.received.chunk_ends())
            .chain(self.time.iter().flat_map(|(t, _, _)| t.chunk_ends()))
            .chain(self.stage.iter().flat_map(|(c, _)| c.chunk_ends()))
            .chain(self.long_running.iter().flat_map(|(c, _)| c.chunk_ends()))
            .filter(|&e| e < rows)
            .chain(std::iter::once(rows))
            .collect();
        ends.sort_unstable();
        ends.dedup();
        let target = target.max(1);
        let mut out = Vec::with_capacity(ends.len());
        let mut start = 0;
        for end in ends {
            while end - start > target {
                out.push(start..start + target);
                start += target;
            }
            if end > start {
                out.push(start..end);
            }
            start = end;
        }
        out
    }

    /// The plan over rows `range` only (row `i` of the window is row `range.start + i`);
    /// `None` when the range crosses a chunk boundary of a column.
    fn window(&self, range: std::ops::Range<usize>) -> Option<Plan> {
        let r = || range.clone();
        Some(Plan {
            key: self.key.window(r())?,
            verb: self.verb.window(r())?,
            resource: self.resource.window(r())?,
            latency: self.latency.window(r())?,
            received: self.received.window(r())?,
            time: match &self.time {
                Some((t, a, b)) => Some((t.window(r())?, *a, *b)),
                None => None,
            },
            stage: match &self.stage {
                Some((c, code)) => Some((c.window(r())?, *code)),
                None => None,
            },
            long_running: match &self.long_running {
                Some((c, mask)) => Some((c.window(r())?, mask.clone())),
                None => None,
            },
            ..*self
        })
    }

    fn dims(&self) -> (usize, usize, usize) {
        (
            self.key.len as usize + 1,
            self.verb.len as usize + 1,
            self.resource.len as usize + 1,
        )
    }

    fn dense_ok(&self) -> bool {
        let (nk, nv, nr) = self.dims();
        nk.saturating_mul(self.n_bins) <= MAX_DENSE_CELLS
            && nk.saturating_mul(nv).saturating_mul(nr) <= MAX_DENSE_CELLS
    }

    fn new_dense(&self) -> Dense {
        let (nk, _, _) = self.dims();
        Dense {
            rows: 0,
            counts: vec![0; nk],
            series: vec![SumCount::default(); nk * self.n_bins],
            latencies: Vec::new(),
            pending: (Vec::new(), Vec::new()),
        }
    }

    /// Accumulates rows `range` into `d`.
    fn run(&self, range: std::ops::Range<usize>, d: &mut Dense) {
        let (_, nv, nr) = self.dims();
        let (gids, vals) = &mut d.pending;
        gids.reserve(range.len());
        vals.reserve(range.len());
        let (mut cur_lo, mut cur_hi, mut cur_bin) = (i64::MAX, i64::MIN, 0i64);
        for i in range {
            if let Some((t, start, end)) = &self.time {
                match t.at(i) {
                    Some(x) if x >= *start && x <= *end => {}
                    _ => continue,
                }
            }
            if let Some((stage, want)) = &self.stage {
                if Some(stage.at(i)) != *want {
                    continue;
                }
            }
            d.rows += 1;
            let k = self.key.at(i) as usize;
            if let Some(c) = d.counts.get_mut(k) {
                *c += 1;
            }
            let Some(ms) = self.latency.at(i) else {
                continue;
            };
            if let Some((sub, mask)) = &self.long_running {
                let v = self.verb.at(i);
                if Some(v) == self.watch || mask.get(sub.at(i) as usize).copied().unwrap_or(false) {
                    continue;
                }
            }
            if let Some(received) = self.received.at(i) {
                // `first_bin` lies on the bin grid, so flooring the offset from it gives the
                // bin. Rows come roughly in time order: reuse the last row's bin while the
                // time stays inside it, and divide only when it leaves.
                let bin = if received >= cur_lo && received < cur_hi {
                    Some(cur_bin)
                } else {
                    received
                        .checked_sub(self.first_bin)
                        .map(|d| d / self.bin_ns)
                };
                if let Some(b) = bin {
                    cur_bin = b;
                    cur_lo = self.first_bin.saturating_add(b.saturating_mul(self.bin_ns));
                    cur_hi = cur_lo.saturating_add(self.bin_ns);
                }
                if let Some(cell) = bin
                    .and_then(|b| usize::try_from(b).ok())
                    .and_then(|b| d.series.get_mut(k * self.n_bins + b))
                {
                    cell.sum += i128::from(ms);
                    cell.count += 1;
                }
            }
            if !self.parts.percentiles {
                continue;
            }
            if let Some(only) = self.only_key {
                if Some(k as u32) != only {
                    continue;
                }
            }
            let r = self.resource.at(i);
            if r == self.resource.len || Some(r) == self.empty_resource {
                continue;
            }
            let g = (k * nv + self.verb.at(i) as usize) * nr + r as usize;
            gids.push(g as u32);
            vals.push(ms);
        }
    }

    /// Groups `d`'s pending latencies.
    fn seal(&self, mut d: Dense) -> Dense {
        let (nk, nv, nr) = self.dims();
        let (gids, vals) = std::mem::take(&mut d.pending);
        if !gids.is_empty() {
            d.latencies
                .push(Grouped::from_pairs(&gids, &vals, nk * nv * nr));
        }
        d
    }

    fn merge(&self, a: Dense, b: Dense) -> Dense {
        let (mut a, b) = (self.seal(a), self.seal(b));
        a.rows += b.rows;
        a.counts
            .iter_mut()
            .zip(&b.counts)
            .for_each(|(x, y)| *x += y);
        a.series.iter_mut().zip(&b.series).for_each(|(x, y)| {
            x.sum += y.sum;
            x.count += y.count;
        });
        a.latencies.extend(b.latencies);
        a
    }

    /// One exactly-sized vector per non-empty group, the ranges' values in row order;
    /// groups are concatenated in parallel.
    fn gather(&self, parts: Vec<Grouped>) -> Vec<(usize, Vec<i64>)> {
        let (nk, nv, nr) = self.dims();
        (0..nk * nv * nr)
            .into_par_iter()
            .with_min_len(256)
            .filter_map(|g| {
                let n: usize = parts.iter().map(|p| p.group(g).len()).sum();
                (n > 0).then(|| {
                    let mut v = Vec::with_capacity(n);
                    for p in &parts {
                        v.extend_from_slice(p.group(g));
                    }
                    (g, v)
                })
            })
            .collect()
    }

    /// Dense, code-keyed state → string-keyed partial (groups with the same name merge).
    fn to_partial(&self, d: Dense) -> Partial {
        let (_, nv, nr) = self.dims();
        let mut p = Partial {
            rows: d.rows,
            ..Partial::default()
        };
        for (k, &n) in d.counts.iter().enumerate() {
            if n > 0 {
                *p.counts
                    .entry(self.key.name(k as u32).to_owned())
                    .or_insert(0) += n;
            }
        }
        for (cell, sc) in d.series.iter().enumerate() {
            if sc.count > 0 {
                let k = cell / self.n_bins.max(1);
                let bin = self.first_bin + (cell % self.n_bins.max(1)) as i64 * self.bin_ns;
                let e = p
                    .series
                    .entry((self.key.name(k as u32).to_owned(), bin))
                    .or_default();
                e.sum += sc.sum;
                e.count += sc.count;
            }
        }
        for (g, v) in self.gather(d.latencies) {
            let (k, rest) = (g / (nv * nr), g % (nv * nr));
            let (vb, r) = (rest / nr, rest % nr);
            let key = (
                self.key.name(k as u32).to_owned(),
                self.verb.name(vb as u32).to_owned(),
                self.resource.name(r as u32).to_owned(),
            );
            if let Some(alpha) = self.sketch {
                let sk = p
                    .sketches
                    .entry(key)
                    .or_insert_with(|| super::LatencySketch::new(alpha));
                v.into_iter().for_each(|x| sk.add(x));
                continue;
            }
            match p.latencies.entry(key) {
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(v);
                }
                std::collections::hash_map::Entry::Occupied(mut e) => e.get_mut().extend(v),
            }
        }
        p
    }
}

/// Computes the partial aggregate of `frame` on all threads.
pub(crate) fn partial(
    frame: &AuditFrame,
    opts: &AnalysisOptions,
    parts: Parts,
    threads: Option<usize>,
) -> Result<Partial> {
    let plan = Plan::new(frame, opts, parts)?;
    if !plan.dense_ok() {
        return Err(Error::invalid(format!(
            "too many groups for one pass ({} keys × {} bins); use a wider bin or a narrower window",
            plan.key.len, plan.n_bins
        )));
    }
    let n = frame.height();
    let parts = threads.unwrap_or_else(rayon::current_num_threads).max(1);
    // A few ranges per thread balance the load (more where the frame's chunks cut them).
    let ranges = plan.segments(n, n.div_ceil(parts * 2).max(16 * 1024));
    // One range's rows into `d`, read through a window of the columns.
    let run_range = |mut d: Dense, r: &std::ops::Range<usize>| -> Result<Dense> {
        let w = plan
            .window(r.clone())
            .ok_or_else(|| Error::invalid("internal: a row range crosses a column chunk"))?;
        w.run(0..r.len(), &mut d);
        Ok(d)
    };
    let dense = if ranges.len() <= 1 {
        ranges.iter().try_fold(plan.new_dense(), run_range)?
    } else {
        let run = || {
            ranges
                .par_iter()
                .try_fold(|| plan.new_dense(), run_range)
                .try_reduce_with(|a, b| Ok(plan.merge(a, b)))
        };
        let d = match threads {
            Some(t) => rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .map_err(|e| Error::invalid(e.to_string()))?
                .install(run),
            None => run(),
        };
        d.transpose()?.unwrap_or_else(|| plan.new_dense())
    };
    Ok(plan.to_partial(plan.seal(dense)))
}

//! The mergeable partial aggregate of the three seed analyses, keyed by strings so that
//! partials of different frames (chunks of a stream, files, machines) merge exactly.

use std::collections::HashMap;

use rayon::prelude::*;

use super::{percentile_rank, Analysis, LatencyPoint, LatencySketch, PercentileRow, TopEntry};
use crate::time::Timestamp;
use crate::{AnalysisOptions, Result};

/// Sum and count of latencies in one (key, bin) cell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SumCount {
    /// Sum of latencies, ms (i128: cannot overflow for any realistic input).
    pub sum: i128,
    /// Number of latencies.
    pub count: u64,
}

/// The state of Top N, the latency series and the percentiles over some rows. Merging the
/// partials of any split of the rows gives the partial of all of them; [`finish`] turns it
/// into results. Percentiles stay exact: every latency is kept, per group.
///
/// [`finish`]: Partial::finish
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Partial {
    /// Rows that passed the window and stage filters.
    pub rows: u64,
    /// Requests per key.
    pub counts: HashMap<String, u64>,
    /// Latency sum and count per (key, bin start ns).
    pub series: HashMap<(String, i64), SumCount>,
    /// Latencies (ms) per (key, verb, resource), for exact percentiles.
    pub latencies: HashMap<(String, String, String), Vec<i64>>,
    /// Latency sketches per (key, verb, resource), when
    /// [`AnalysisOptions::percentile_sketch`] is set: bounded memory, relative error.
    pub sketches: HashMap<(String, String, String), LatencySketch>,
}

impl Partial {
    /// Adds another partial's rows.
    pub fn merge(&mut self, other: Partial) {
        self.rows += other.rows;
        for (k, n) in other.counts {
            *self.counts.entry(k).or_insert(0) += n;
        }
        for (k, sc) in other.series {
            let e = self.series.entry(k).or_default();
            e.sum += sc.sum;
            e.count += sc.count;
        }
        for (k, mut v) in other.latencies {
            self.latencies.entry(k).or_default().append(&mut v);
        }
        for (k, sk) in other.sketches {
            match self.sketches.entry(k) {
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(sk);
                }
                std::collections::hash_map::Entry::Occupied(mut e) => e.get_mut().merge(&sk),
            }
        }
    }

    /// The results, in the documented order: Top N by count descending then key ascending
    /// (bytes); the series by key then bin; percentiles by key, verb, resource.
    pub fn finish(self, opts: &AnalysisOptions) -> Result<Analysis> {
        opts.validate()?;
        let mut top: Vec<TopEntry> = self
            .counts
            .into_iter()
            .map(|(key, count)| TopEntry { key, count })
            .collect();
        top.sort_unstable_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.key.as_bytes().cmp(b.key.as_bytes()))
        });
        top.truncate(opts.top);

        let mut latency: Vec<LatencyPoint> = self
            .series
            .into_iter()
            .filter(|(_, sc)| sc.count > 0)
            .map(|((key, bin), sc)| LatencyPoint {
                key,
                bin_start: Timestamp::from_nanos(bin),
                avg_ms: sc.sum as f64 / sc.count as f64,
                count: sc.count,
            })
            .collect();
        latency.sort_unstable_by(|a, b| {
            a.key
                .as_bytes()
                .cmp(b.key.as_bytes())
                .then(a.bin_start.cmp(&b.bin_start))
        });

        let mut ps: Vec<f64> = opts.percentiles.clone();
        ps.sort_by(f64::total_cmp);
        ps.dedup();
        // Sketched groups (with exact values of the same groups from other partials added
        // to their sketch) are read from the sketch; the rest exactly.
        let mut latencies = self.latencies;
        let mut sketches = self.sketches;
        for (k, sk) in sketches.iter_mut() {
            if let Some(v) = latencies.remove(k) {
                v.into_iter().for_each(|x| sk.add(x));
            }
        }
        let mut sketched: Vec<PercentileRow> = sketches
            .into_iter()
            .filter(|(_, sk)| sk.count() > 0)
            .map(|((key, verb, resource), sk)| PercentileRow {
                key,
                verb,
                resource,
                count: sk.count(),
                values: ps
                    .iter()
                    .filter_map(|&p| sk.percentile(p).map(|v| (p, v)))
                    .collect(),
            })
            .collect();
        // Groups are independent: select their percentiles in parallel.
        let groups: Vec<_> = latencies
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect();
        let mut rows: Vec<PercentileRow> = groups
            .into_par_iter()
            .map(|((key, verb, resource), mut values)| {
                let count = values.len() as u64;
                let mut out = Vec::with_capacity(ps.len());
                // Ascending percentiles select in the part right of the previous one: O(n).
                let mut lo = 0usize;
                for &p in &ps {
                    let idx = percentile_rank(p, values.len()).saturating_sub(1).max(lo);
                    if let Some(part) = values.get_mut(lo..).filter(|part| idx - lo < part.len()) {
                        let (_, nth, _) = part.select_nth_unstable(idx - lo);
                        out.push((p, *nth));
                    }
                    lo = idx;
                }
                PercentileRow {
                    key,
                    verb,
                    resource,
                    count,
                    values: out,
                }
            })
            .collect();
        rows.append(&mut sketched);
        rows.sort_unstable_by(|a, b| {
            a.key
                .as_bytes()
                .cmp(b.key.as_bytes())
                .then_with(|| a.verb.as_bytes().cmp(b.verb.as_bytes()))
                .then_with(|| a.resource.as_bytes().cmp(b.resource.as_bytes()))
        });
        Ok(Analysis {
            rows: self.rows,
            group_by: opts.key,
            bin_ns: opts.bin_ns,
            percentiles: ps,
            top,
            latency,
            percentile_rows: rows,
        })
    }
}

//! Why slow requests were slow: the API server's own latency annotations
//! (`apiserver.latency.k8s.io/*`, the `lat_*_ns` columns) summed per key, per (verb,
//! resource) and per bin, with each component's share, its exact P99 and a dominant cause.
//!
//! Rules (documented in the README):
//! - a request counts once, at `ResponseComplete`, inside the window; watches and the
//!   long-running `exec` / `attach` / `portforward` / `proxy` subresources are left out (their
//!   latency is how long a stream was held);
//! - a request is *slow* when its latency exceeds 500 ms (kube-apiserver annotates exactly
//!   those) or it carries annotations; a slow request without any is counted as
//!   `unannotated` (clusters before 1.23, audit policies at level `None` for the stage, and
//!   releases that dropped them);
//! - its total is `lat_total_ns` when positive, else the timestamps' latency (some releases
//!   write a bogus negative total); a component it lacks took no time (kube-apiserver writes
//!   only non-zero ones); `other` is the total minus the components, never below zero.

use polars::prelude::PlHashMap;
use rayon::prelude::*;
use serde::Serialize;

use super::rows::Cols;
use super::DiagnoseOptions;
use crate::analysis::{bin_start, percentile_rank, LONG_RUNNING_SUBRESOURCES};
use crate::schema::{Column, Projection};
use crate::time::Timestamp;
use crate::timestamp::NANOS_PER_MILLI;

/// The latency components, in report order: the eight annotated ones, then `other`.
pub const COMPONENTS: [&str; 9] = [
    "etcd",
    "apf_queue_wait",
    "mutating_webhook",
    "validating_webhook",
    "decode",
    "transform",
    "serialize",
    "response_write",
    "other",
];
const N: usize = COMPONENTS.len();
/// Index of `other`; the annotated components come before it, in the order of
/// [`Column::LATENCY_ANNOTATIONS`] (whose last entry, `total`, has no component).
const OTHER: usize = N - 1;

/// The causes a dominant component points to, with the components each sums.
pub const CAUSES: [(&str, &[usize]); 5] = [
    ("etcd", &[0, 4]),
    ("apf queue", &[1]),
    ("webhook", &[2, 3]),
    ("serialization/response write", &[5, 6, 7]),
    ("unattributed", &[OTHER]),
];

/// Component sums and per-request values of one group.
#[derive(Debug, Clone, Default, PartialEq)]
struct Group {
    total_ns: i128,
    sums: [i128; N],
    /// One entry per request: its components (0 when absent), for exact percentiles.
    rows: Vec<[i64; N]>,
}

impl Group {
    fn add(&mut self, total: i64, parts: [i64; N]) {
        self.total_ns += i128::from(total);
        for (s, &p) in self.sums.iter_mut().zip(&parts) {
            *s += i128::from(p);
        }
        self.rows.push(parts);
    }

    fn merge(&mut self, o: &Group) {
        self.total_ns += o.total_ns;
        for (s, os) in self.sums.iter_mut().zip(&o.sums) {
            *s += os;
        }
        self.rows.extend_from_slice(&o.rows);
    }
}

/// (key, verb, resource); `None` is null.
type GroupKey = (String, Option<String>, Option<String>);

/// A reported row's (key, verb, resource): `None` where the level does not group by it.
type RowKey = (Option<String>, Option<String>, Option<String>);

/// The mergeable state of the attribution diagnosis.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LatencyAttribution {
    slow: u64,
    unannotated: u64,
    groups: PlHashMap<GroupKey, Group>,
    /// Component sums per bin start (of the completion time).
    bins: PlHashMap<i64, [i128; N]>,
}

impl LatencyAttribution {
    fn add(&mut self, c: &Cols, opts: &DiagnoseOptions) {
        // Row ranges of whole 64-row words, one per thread, scanned in parallel; their
        // groups are keyed by this frame's codes, so they merge before becoming strings.
        let words = c.height.div_ceil(64);
        let per = words.div_ceil(rayon::current_num_threads().max(1)).max(1);
        let starts: Vec<usize> = (0..words).step_by(per).collect();
        let scans: Vec<Scan> = starts
            .into_par_iter()
            .map(|w| scan(c, opts, w * 64..((w + per) * 64).min(c.height)))
            .collect();
        let mut by_codes: PlHashMap<(u32, u32, u32), Group> = PlHashMap::default();
        for part in scans {
            self.slow += part.slow;
            self.unannotated += part.unannotated;
            for (k, g) in part.groups {
                match by_codes.get_mut(&k) {
                    Some(mine) => mine.merge(&g),
                    None => {
                        by_codes.insert(k, g);
                    }
                }
            }
            for (b, sums) in part.bins {
                add_to_bin(&mut self.bins, b, &sums);
            }
        }
        for ((k, v, r), g) in by_codes {
            let key = (
                c.key_of(&c.key, k),
                c.str_of_code(&c.verb, v).map(str::to_owned),
                c.str_of_code(&c.resource, r).map(str::to_owned),
            );
            match self.groups.get_mut(&key) {
                Some(mine) => mine.merge(&g),
                None => {
                    self.groups.insert(key, g);
                }
            }
        }
    }

    fn merge_from(&mut self, o: LatencyAttribution) {
        self.slow += o.slow;
        self.unannotated += o.unannotated;
        for (k, g) in o.groups {
            match self.groups.get_mut(&k) {
                Some(mine) => mine.merge(&g),
                None => {
                    self.groups.insert(k, g);
                }
            }
        }
        for (b, sums) in o.bins {
            add_to_bin(&mut self.bins, b, &sums);
        }
    }

    fn report(self, opts: &DiagnoseOptions) -> AttributionReport {
        // Every level sums its groups first; percentiles are computed only for the rows
        // reported (the top ones by summed latency), from the groups' rows.
        let groups: Vec<(&GroupKey, &Group)> = self.groups.iter().collect();
        let level = |of: &dyn Fn(&GroupKey) -> RowKey| {
            let mut m: PlHashMap<RowKey, Level<'_>> = PlHashMap::default();
            for (k, g) in &groups {
                m.entry(of(k)).or_default().add(g);
            }
            let mut rows: Vec<(RowKey, Level<'_>)> = m.into_iter().collect();
            rows.sort_by(|(ka, a), (kb, b)| b.total_ns.cmp(&a.total_ns).then_with(|| ka.cmp(kb)));
            rows.truncate(opts.top);
            // Each reported row selects nine percentiles over its requests: in parallel.
            rows.into_par_iter()
                .map(|((k, v, r), l)| l.row(k, v, r))
                .collect::<Vec<_>>()
        };
        // The three levels and the overall row are independent: in parallel.
        let overall = || {
            let mut all = Level::default();
            for (_, g) in &groups {
                all.add(g);
            }
            let annotated = all.requests();
            (annotated, all.row(None, None, None))
        };
        let ((by_group, by_key), (by_verb_resource, (annotated, overall))) = rayon::join(
            || {
                rayon::join(
                    || level(&|(k, v, r)| (Some(k.clone()), v.clone(), r.clone())),
                    || level(&|(k, _, _)| (Some(k.clone()), None, None)),
                )
            },
            || rayon::join(|| level(&|(_, v, r)| (None, v.clone(), r.clone())), overall),
        );
        let mut series: Vec<AttributionBin> = self
            .bins
            .iter()
            .map(|(&b, sums)| AttributionBin {
                bin_start: Timestamp::from_nanos(b),
                components_ms: COMPONENTS
                    .iter()
                    .zip(sums)
                    .map(|(&name, &s)| (name, ms(s)))
                    .collect(),
            })
            .collect();
        series.sort_by_key(|b| b.bin_start);
        AttributionReport {
            slow_requests: self.slow,
            annotated,
            unannotated: self.unannotated,
            total_ms: overall.total_ms,
            dominant_cause: (annotated > 0).then_some(overall.dominant_cause),
            components: overall.components,
            by_key,
            by_verb_resource,
            by_group,
            series,
        }
    }
}

/// The groups one reported row sums.
#[derive(Default)]
struct Level<'g> {
    total_ns: i128,
    sums: [i128; N],
    groups: Vec<&'g Group>,
}

impl<'g> Level<'g> {
    fn add(&mut self, g: &'g Group) {
        self.total_ns += g.total_ns;
        for (s, gs) in self.sums.iter_mut().zip(&g.sums) {
            *s += gs;
        }
        self.groups.push(g);
    }

    fn requests(&self) -> u64 {
        self.groups.iter().map(|g| g.rows.len() as u64).sum()
    }

    fn row(
        self,
        key: Option<String>,
        verb: Option<String>,
        resource: Option<String>,
    ) -> AttributionRow {
        let n = self.groups.iter().map(|g| g.rows.len()).sum::<usize>();
        let p99 = p99_of(&self.groups, n);
        row(
            key,
            verb,
            resource,
            n as u64,
            self.total_ns,
            &self.sums,
            &p99,
        )
    }
}

/// What one range of rows adds, grouped by this frame's (key, verb, resource) codes.
#[derive(Default)]
struct Scan {
    slow: u64,
    unannotated: u64,
    groups: PlHashMap<(u32, u32, u32), Group>,
    bins: PlHashMap<i64, [i128; N]>,
}

/// Scans the rows of `range` (whole 64-row words but the last).
fn scan(c: &Cols, opts: &DiagnoseOptions, range: std::ops::Range<usize>) -> Scan {
    let mut out = Scan::default();
    let mut index: PlHashMap<(u32, u32, u32), u32> = PlHashMap::default();
    let mut flat: Vec<(u32, i64, [i64; N])> = Vec::new();
    // The bin being summed: (start, sums, whether a request fell in it).
    let mut bin: (i64, [i128; N], bool) = (i64::MIN, [0; N], false);
    let watch = c.verb.code_of("watch");
    let long_running: Vec<bool> = (0..c.subresource.len)
        .map(|code| LONG_RUNNING_SUBRESOURCES.contains(&c.subresource.name(code)))
        .collect();
    // Slow requests are a small share of all rows: visit only the candidates (a latency
    // annotation, or a latency over 500 ms), found a 64-row word at a time. They are
    // scattered, so each column is then read for all of them in one increasing pass — one
    // prefetchable stream at a time instead of a dozen interleaved ones per row.
    let mut cand: Vec<usize> = candidates(c, range).collect();
    cand.retain(|&i| c.keep(i));
    let verbs: Vec<u32> = cand.iter().map(|&i| c.verb.at(i)).collect();
    let subs: Vec<u32> = cand.iter().map(|&i| c.subresource.at(i)).collect();
    let mut kept = Vec::with_capacity(cand.len());
    let mut kept_verbs = Vec::with_capacity(cand.len());
    for ((&i, &verb), &sub) in cand.iter().zip(&verbs).zip(&subs) {
        let long = long_running.get(sub as usize).copied().unwrap_or(false);
        if Some(verb) != watch && !long {
            kept.push(i);
            kept_verbs.push(verb);
        }
    }
    let n = kept.len();
    let mut parts = vec![[0i64; N]; n];
    let mut annotated = vec![false; n];
    for (j, col) in c.lat.iter().enumerate() {
        if col.arr.values().is_empty() {
            continue;
        }
        for ((p, a), &i) in parts.iter_mut().zip(annotated.iter_mut()).zip(&kept) {
            if let (Some(v), Some(slot)) = (col.at(i), p.get_mut(j)) {
                *slot = v;
                *a = true;
            }
        }
    }
    let ends: Vec<Option<i64>> = kept.iter().map(|&i| c.stage_time.at(i)).collect();
    let starts: Vec<Option<i64>> = kept.iter().map(|&i| c.received.at(i)).collect();
    let keys: Vec<u32> = kept.iter().map(|&i| c.key.at(i)).collect();
    let resources: Vec<u32> = kept.iter().map(|&i| c.resource.at(i)).collect();
    for k in 0..n {
        let (Some(&i), Some(row), Some(&annotated)) = (kept.get(k), parts.get(k), annotated.get(k))
        else {
            continue;
        };
        let end = ends.get(k).copied().flatten();
        let measured = match (end, starts.get(k).copied().flatten()) {
            (Some(end), Some(start)) => Some(end.saturating_sub(start)),
            _ => c.latency.at(i).map(|ms| ms.saturating_mul(NANOS_PER_MILLI)),
        };
        if !annotated {
            if measured.is_some_and(|ns| ns > 500 * NANOS_PER_MILLI) {
                out.slow += 1;
                out.unannotated += 1;
            }
            continue;
        }
        out.slow += 1;
        // The last slot holds the written total until `other` replaces it.
        let written_total = row.get(OTHER).copied().filter(|t| *t > 0);
        let mut parts = row.map(|v| v.max(0));
        let total = written_total.or(measured).unwrap_or(0).max(0);
        let attributed: i64 = parts
            .iter()
            .take(OTHER)
            .fold(0i64, |a, p| a.saturating_add(*p));
        if let Some(o) = parts.get_mut(OTHER) {
            *o = total.saturating_sub(attributed).max(0);
        }
        // One flat vector of (group, row): no per-group vector grows row by row.
        let verb = kept_verbs.get(k).copied().unwrap_or(c.verb.len);
        let key = keys.get(k).copied().unwrap_or(c.key.len);
        let resource = resources.get(k).copied().unwrap_or(c.resource.len);
        let next = index.len() as u32;
        let g = *index.entry((key, verb, resource)).or_insert(next);
        flat.push((g, total, parts));
        if let Some(t) = end {
            // Rows come roughly in time order: sum into the current bin until one falls
            // outside it (no hashing and no bin arithmetic per row).
            if !(bin.2 && bin.0 <= t && t < bin.0.saturating_add(opts.bin_ns)) {
                out.add_bin(&bin);
                bin = (bin_start(t, opts.bin_ns), [0; N], true);
            }
            for (b, p) in bin.1.iter_mut().zip(parts) {
                *b += i128::from(p);
            }
        }
    }
    out.add_bin(&bin);
    // The groups, each row vector allocated once at its final size.
    let mut counts = vec![0usize; index.len()];
    for (g, _, _) in &flat {
        if let Some(n) = counts.get_mut(*g as usize) {
            *n += 1;
        }
    }
    let mut groups: Vec<Group> = counts
        .iter()
        .map(|&n| Group {
            rows: Vec::with_capacity(n),
            ..Group::default()
        })
        .collect();
    for (g, total, parts) in flat {
        if let Some(group) = groups.get_mut(g as usize) {
            group.add(total, parts);
        }
    }
    let mut keys: Vec<((u32, u32, u32), u32)> = index.into_iter().collect();
    keys.sort_unstable_by_key(|(_, g)| *g);
    out.groups = keys.into_iter().map(|(k, _)| k).zip(groups).collect();
    out
}

impl Scan {
    fn add_bin(&mut self, (start, sums, seen): &(i64, [i128; N], bool)) {
        if *seen {
            add_to_bin(&mut self.bins, *start, sums);
        }
    }
}

/// Adds component sums to the bin starting at `start`.
fn add_to_bin(bins: &mut PlHashMap<i64, [i128; N]>, start: i64, sums: &[i128; N]) {
    let mine = bins.entry(start).or_insert([0; N]);
    for (m, s) in mine.iter_mut().zip(sums) {
        *m += s;
    }
}

/// Rows of `range` (starting on a 64-row word) that may be slow requests, in order: any
/// `lat_*` value, or `latency_ms` over 500 (a superset: each is checked again).
fn candidates(c: &Cols, range: std::ops::Range<usize>) -> impl Iterator<Item = usize> + '_ {
    let first_word = range.start / 64;
    let words = range.end.div_ceil(64).saturating_sub(first_word);
    let mut marks = vec![0u64; words];
    for col in &c.lat {
        let arr = &col.arr;
        if arr.values().is_empty() {
            continue;
        }
        match arr.validity() {
            Some(v) if v.unset_bits() == v.len() => {}
            Some(v) => {
                for (m, w) in marks.iter_mut().zip(bitmap_words(v, &range)) {
                    *m |= w;
                }
            }
            None => marks.iter_mut().for_each(|m| *m = u64::MAX),
        }
    }
    let slow_ms = 500;
    let latency = c
        .latency
        .arr
        .values()
        .get(range.clone())
        .unwrap_or_default();
    for (word, chunk) in marks.iter_mut().zip(latency.chunks(64)) {
        let mut bits = 0u64;
        for (j, &ms) in chunk.iter().enumerate() {
            bits |= u64::from(ms > slow_ms) << j;
        }
        *word |= bits;
    }
    // Watches are never counted, and their completions are most of the rows over 500 ms:
    // drop them here, from one sequential pass over the verb codes, rather than row by row.
    if let Some(watch) = c.verb.code_of("watch") {
        let verbs = c.verb.arr.values().get(range.clone()).unwrap_or_default();
        // A null verb's slot holds any code: only valid ones count.
        let valid = c.verb.arr.validity().map(|v| bitmap_words(v, &range));
        for (k, (word, chunk)) in marks.iter_mut().zip(verbs.chunks(64)).enumerate() {
            let mut bits = 0u64;
            for (j, &v) in chunk.iter().enumerate() {
                bits |= u64::from(v == watch) << j;
            }
            if let Some(valid) = &valid {
                bits &= valid.get(k).copied().unwrap_or(0);
            }
            *word &= !bits;
        }
    }
    let (start, end) = (range.start, range.end);
    marks.into_iter().enumerate().flat_map(move |(k, mut w)| {
        std::iter::from_fn(move || {
            (w != 0).then(|| {
                let j = w.trailing_zeros() as usize;
                w &= w - 1;
                start + k * 64 + j
            })
        })
        .filter(move |&i| i < end)
    })
}

/// The words of bitmap `v` over `range` (which starts on a 64-row word), the last partial.
fn bitmap_words(v: &polars_arrow::bitmap::Bitmap, range: &std::ops::Range<usize>) -> Vec<u64> {
    let end = range.end.min(v.len());
    let start = range.start.min(end);
    let part = v.clone().sliced(start, end - start);
    let mut it = part.fast_iter_u64();
    let mut words: Vec<u64> = it.by_ref().collect();
    let (rest, bits) = it.remainder();
    words.extend(rest.iter().take(bits.div_ceil(64)));
    words
}

fn ms(ns: i128) -> f64 {
    ns as f64 / NANOS_PER_MILLI as f64
}

/// The exact nearest-rank P99 of each component over the rows of `groups` (`n` in all).
///
/// The P99 is the m-th largest value, m = n − rank + 1 (about 1 % of n). A threshold from a
/// sample of the rows keeps only the values at or above it — a few percent — in one pass;
/// if at least m are kept, the m-th largest of them is the answer, exactly. Otherwise (an
/// unlucky sample) the component falls back to selecting among all its non-zero values.
/// Values are never negative, and a P99 is zero when fewer than m values are non-zero.
fn p99_of(groups: &[&Group], n: usize) -> Vec<i64> {
    if n == 0 {
        return vec![0; N];
    }
    let m = n + 1 - percentile_rank(99.0, n);
    let rows = || groups.iter().flat_map(|g| g.rows.iter());
    // Thresholds: about the 97th percentile of an evenly spaced sample (at least 1, so that
    // zeros are never kept).
    const SAMPLE: usize = 1024;
    let step = (n / SAMPLE).max(1);
    let mut thresholds = [1i64; N];
    if n >= 4 * SAMPLE {
        let mut sample: [Vec<i64>; N] = Default::default();
        for r in rows().step_by(step) {
            for (v, &x) in sample.iter_mut().zip(r) {
                v.push(x);
            }
        }
        for (t, v) in thresholds.iter_mut().zip(&mut sample) {
            let at = v.len() * 97 / 100;
            if at < v.len() {
                *t = (*v.select_nth_unstable(at).1).max(1);
            }
        }
    }
    let mut kept: [Vec<i64>; N] = Default::default();
    for r in rows() {
        for ((v, &x), &t) in kept.iter_mut().zip(r).zip(&thresholds) {
            if x >= t {
                v.push(x);
            }
        }
    }
    kept.into_iter()
        .zip(thresholds)
        .enumerate()
        .map(|(j, (mut v, t))| {
            if v.len() >= m {
                let at = v.len() - m;
                *v.select_nth_unstable(at).1
            } else if t <= 1 {
                // Every non-zero value was kept and there are fewer than m: zero.
                0
            } else {
                let mut all: Vec<i64> = rows()
                    .filter_map(|r| r.get(j).copied().filter(|&x| x > 0))
                    .collect();
                if all.len() >= m {
                    let at = all.len() - m;
                    *all.select_nth_unstable(at).1
                } else {
                    0
                }
            }
        })
        .collect()
}

fn row(
    key: Option<String>,
    verb: Option<String>,
    resource: Option<String>,
    requests: u64,
    total_ns: i128,
    sums: &[i128; N],
    p99: &[i64],
) -> AttributionRow {
    let denominator: i128 = sums.iter().sum();
    let components: Vec<ComponentStat> = COMPONENTS
        .iter()
        .zip(sums.iter().zip(p99))
        .map(|(&component, (&sum, &p))| ComponentStat {
            component,
            total_ms: ms(sum),
            share: super::ratio(sum, denominator),
            p99_ms: ms(i128::from(p)),
        })
        .collect();
    let dominant_cause = CAUSES
        .iter()
        .map(|(cause, parts)| {
            let sum: i128 = parts.iter().filter_map(|&i| sums.get(i)).sum();
            (*cause, sum)
        })
        // The first of equal sums wins: the order of `CAUSES`.
        .fold(("unattributed", -1i128), |best, c| {
            if c.1 > best.1 {
                c
            } else {
                best
            }
        })
        .0;
    AttributionRow {
        key,
        verb,
        resource,
        requests,
        total_ms: ms(total_ns),
        dominant_cause,
        components,
    }
}

/// One component of a group's slow-request latency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentStat {
    /// One of [`COMPONENTS`].
    pub component: &'static str,
    /// Summed over the group's slow requests, ms.
    pub total_ms: f64,
    /// Of the group's summed components (which add up to its total latency, unless the
    /// annotated ones exceed it).
    pub share: f64,
    /// Exact nearest-rank P99 over the group's slow requests (0 where absent), ms.
    pub p99_ms: f64,
}

/// The attribution of one group: a key, a (verb, resource), or a (key, verb, resource).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttributionRow {
    /// The user agent or username (absent in the per-(verb, resource) table).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Verb (absent in the per-key table; null when the rows have none).
    pub verb: Option<String>,
    /// Resource (absent in the per-key table; null for non-resource URLs).
    pub resource: Option<String>,
    /// Annotated slow requests.
    pub requests: u64,
    /// Their summed latency, ms.
    pub total_ms: f64,
    /// The cause with the largest summed time: `etcd` (etcd + decode), `apf queue`,
    /// `webhook` (mutating + validating), `serialization/response write` (transform +
    /// serialize + response write) or `unattributed` (`other`).
    pub dominant_cause: &'static str,
    /// Per component, in [`COMPONENTS`] order.
    pub components: Vec<ComponentStat>,
}

/// Component sums of the slow requests completed in one bin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttributionBin {
    /// Bin start (KQL `bin` of the completion time).
    pub bin_start: Timestamp,
    /// Summed time per component, ms, in [`COMPONENTS`] order.
    pub components_ms: Vec<(&'static str, f64)>,
}

/// What the latency attribution found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttributionReport {
    /// Slow requests (annotated, or over 500 ms), watches and streams left out.
    pub slow_requests: u64,
    /// Of those, carrying latency annotations.
    pub annotated: u64,
    /// Slow requests without any annotation (older clusters, or releases that dropped them).
    pub unannotated: u64,
    /// Summed latency of the annotated ones, ms.
    pub total_ms: f64,
    /// The dominant cause over all annotated requests (`None`: there are none).
    pub dominant_cause: Option<&'static str>,
    /// Components over all annotated requests.
    pub components: Vec<ComponentStat>,
    /// Per key, by summed latency.
    pub by_key: Vec<AttributionRow>,
    /// Per (verb, resource), by summed latency.
    pub by_verb_resource: Vec<AttributionRow>,
    /// Per (key, verb, resource), by summed latency.
    pub by_group: Vec<AttributionRow>,
    /// Component sums per bin of the completion time.
    pub series: Vec<AttributionBin>,
}

impl super::Diagnosis for LatencyAttribution {
    const NAME: &'static str = "attribution";
    type Report = AttributionReport;

    /// The latency annotations, the verb and resource, the latency and the completion time.
    fn projection(opts: &DiagnoseOptions) -> Projection {
        super::base_projection(opts)
            .union(Projection::of(&[
                Column::Verb,
                Column::Resource,
                Column::Subresource,
                Column::LatencyMs,
                Column::StageTimestamp,
                Column::RequestReceived,
            ]))
            .union(Projection::latency_annotations())
    }

    fn add_frame(&mut self, f: &super::DiagnosisFrame<'_>, opts: &DiagnoseOptions) {
        self.add(f.cols(), opts);
    }

    fn merge(&mut self, other: Self) {
        self.merge_from(other);
    }

    fn finish(self, opts: &DiagnoseOptions) -> AttributionReport {
        self.report(opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sampled selection equals sorting, for sizes on both sides of the sampling cut-off,
    /// sparse and dense components, ties and constant values, over several groups.
    #[test]
    fn p99_of_equals_sorting() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for n in [1usize, 7, 100, 4095, 4096, 5000, 20_000, 57_000] {
            let mut groups: Vec<Group> = (0..3).map(|_| Group::default()).collect();
            for i in 0..n {
                let r = next();
                let mut row = [0i64; N];
                row[0] = (r % 1_000_000) as i64; // dense
                row[1] = if r % 50 == 0 { (r % 777) as i64 + 1 } else { 0 }; // 2 % non-zero
                row[2] = if r % 200 == 0 { 5 } else { 0 }; // 0.5 % non-zero: P99 is 0
                row[3] = 42; // constant
                row[4] = (r % 3) as i64; // heavy ties
                row[5] = if i % 2 == 0 { (i as i64) * 1000 } else { 0 }; // ordered
                row[8] = (r >> 40) as i64;
                groups[(r % 3) as usize].add(row.iter().sum(), row);
            }
            let refs: Vec<&Group> = groups.iter().collect();
            let got = p99_of(&refs, n);
            for j in 0..N {
                let mut all: Vec<i64> = groups
                    .iter()
                    .flat_map(|g| g.rows.iter().map(|r| r[j]))
                    .collect();
                all.sort_unstable();
                let want = all[percentile_rank(99.0, n) - 1];
                assert_eq!(got[j], want, "n {n}, component {j}");
            }
        }
        assert_eq!(p99_of(&[], 0), vec![0; N]);
    }
}

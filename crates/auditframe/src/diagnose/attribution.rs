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

use std::collections::HashMap;

use serde::Serialize;

use super::rows::Cols;
use super::DiagnoseOptions;
use crate::analysis::{bin_start, percentile_rank};
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

/// Latency subresources that hold a stream open.
const LONG_RUNNING_SUBRESOURCES: &[&str] = &["exec", "attach", "portforward", "proxy"];

/// Component sums and per-request values of one group.
#[derive(Debug, Clone, Default, PartialEq)]
struct Group {
    requests: u64,
    total_ns: i128,
    sums: [i128; N],
    /// Per component, one value per request (0 when absent), for exact percentiles.
    values: [Vec<i64>; N],
}

impl Group {
    fn add(&mut self, total: i64, parts: &[i64; N]) {
        self.requests += 1;
        self.total_ns += i128::from(total);
        for ((s, v), &p) in self.sums.iter_mut().zip(&mut self.values).zip(parts) {
            *s += i128::from(p);
            v.push(p);
        }
    }

    fn merge(&mut self, o: &Group) {
        self.requests += o.requests;
        self.total_ns += o.total_ns;
        for ((s, v), (os, ov)) in self
            .sums
            .iter_mut()
            .zip(&mut self.values)
            .zip(o.sums.iter().zip(&o.values))
        {
            *s += os;
            v.extend_from_slice(ov);
        }
    }
}

/// (key, verb, resource); `None` is null.
type GroupKey = (String, Option<String>, Option<String>);

/// The mergeable state of the attribution diagnosis.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LatencyAttribution {
    slow: u64,
    unannotated: u64,
    groups: HashMap<GroupKey, Group>,
    /// Component sums per bin start (of the completion time).
    bins: HashMap<i64, [i128; N]>,
}

impl LatencyAttribution {
    fn add(&mut self, c: &Cols, opts: &DiagnoseOptions) {
        let watch = c.verb.code_of("watch");
        let long_running: Vec<bool> = (0..c.subresource.len)
            .map(|code| LONG_RUNNING_SUBRESOURCES.contains(&c.subresource.name(code)))
            .collect();
        let mut by_codes: HashMap<(u32, u32, u32), Group> = HashMap::new();
        // Slow requests are a small share of all rows: visit only the candidates (a latency
        // annotation, or a latency over 500 ms), found a 64-row word at a time.
        for i in candidates(c) {
            if !c.keep(i) {
                continue;
            }
            let verb = c.verb.at(i);
            if Some(verb) == watch
                || long_running
                    .get(c.subresource.at(i) as usize)
                    .copied()
                    .unwrap_or(false)
            {
                continue;
            }
            let mut parts = [0i64; N];
            let mut annotated = false;
            for (p, col) in parts.iter_mut().zip(&c.lat) {
                if let Some(v) = col.at(i) {
                    *p = v.max(0);
                    annotated = true;
                }
            }
            let written_total = c.lat.get(N - 1).and_then(|t| t.at(i));
            annotated |= written_total.is_some();
            let measured = match (c.stage_time.at(i), c.received.at(i)) {
                (Some(end), Some(start)) => Some(end.saturating_sub(start)),
                _ => c.latency.at(i).map(|ms| ms.saturating_mul(NANOS_PER_MILLI)),
            };
            if !annotated {
                if measured.is_some_and(|ns| ns > 500 * NANOS_PER_MILLI) {
                    self.slow += 1;
                    self.unannotated += 1;
                }
                continue;
            }
            self.slow += 1;
            let total = written_total
                .filter(|t| *t > 0)
                .or(measured)
                .unwrap_or(0)
                .max(0);
            let attributed: i64 = parts
                .iter()
                .take(OTHER)
                .fold(0i64, |a, p| a.saturating_add(*p));
            if let Some(o) = parts.get_mut(OTHER) {
                *o = total.saturating_sub(attributed).max(0);
            }
            by_codes
                .entry((c.key.at(i), verb, c.resource.at(i)))
                .or_default()
                .add(total, &parts);
            if let Some(t) = c.stage_time.at(i) {
                let bin = self.bins.entry(bin_start(t, opts.bin_ns)).or_insert([0; N]);
                for (b, p) in bin.iter_mut().zip(parts) {
                    *b += i128::from(p);
                }
            }
        }
        for ((k, v, r), g) in by_codes {
            let key = (
                c.key_of(&c.key, k),
                c.str_of_code(&c.verb, v).map(str::to_owned),
                c.str_of_code(&c.resource, r).map(str::to_owned),
            );
            self.groups.entry(key).or_default().merge(&g);
        }
    }

    fn merge_from(&mut self, o: LatencyAttribution) {
        self.slow += o.slow;
        self.unannotated += o.unannotated;
        for (k, g) in o.groups {
            self.groups.entry(k).or_default().merge(&g);
        }
        for (b, sums) in o.bins {
            let mine = self.bins.entry(b).or_insert([0; N]);
            for (m, s) in mine.iter_mut().zip(sums) {
                *m += s;
            }
        }
    }

    fn report(self, opts: &DiagnoseOptions) -> AttributionReport {
        let mut all = Group::default();
        let mut by_key: HashMap<String, Group> = HashMap::new();
        let mut by_vr: HashMap<(Option<String>, Option<String>), Group> = HashMap::new();
        for ((k, v, r), g) in &self.groups {
            all.merge(g);
            by_key.entry(k.clone()).or_default().merge(g);
            by_vr.entry((v.clone(), r.clone())).or_default().merge(g);
        }
        let rank = |rows: &mut Vec<AttributionRow>| {
            rows.sort_by(|a, b| {
                b.total_ms
                    .total_cmp(&a.total_ms)
                    .then_with(|| a.key.cmp(&b.key))
                    .then_with(|| a.verb.cmp(&b.verb))
                    .then_with(|| a.resource.cmp(&b.resource))
            });
            rows.truncate(opts.top);
        };
        let mut key_rows: Vec<AttributionRow> = by_key
            .iter()
            .map(|(k, g)| row(Some(k.clone()), None, None, g))
            .collect();
        rank(&mut key_rows);
        let mut vr_rows: Vec<AttributionRow> = by_vr
            .iter()
            .map(|((v, r), g)| row(None, v.clone(), r.clone(), g))
            .collect();
        rank(&mut vr_rows);
        let mut group_rows: Vec<AttributionRow> = self
            .groups
            .iter()
            .map(|((k, v, r), g)| row(Some(k.clone()), v.clone(), r.clone(), g))
            .collect();
        rank(&mut group_rows);
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
        let overall = row(None, None, None, &all);
        AttributionReport {
            slow_requests: self.slow,
            annotated: all.requests,
            unannotated: self.unannotated,
            total_ms: overall.total_ms,
            dominant_cause: (all.requests > 0).then_some(overall.dominant_cause),
            components: overall.components,
            by_key: key_rows,
            by_verb_resource: vr_rows,
            by_group: group_rows,
            series,
        }
    }
}

/// Rows that may be slow requests, in order: any `lat_*` value, or `latency_ms` over 500
/// (a superset: each is checked again).
fn candidates(c: &Cols) -> impl Iterator<Item = usize> + '_ {
    let words = c.height.div_ceil(64);
    let mut marks = vec![0u64; words];
    for col in &c.lat {
        let arr = &col.arr;
        if arr.values().is_empty() {
            continue;
        }
        match arr.validity() {
            Some(v) if v.unset_bits() == v.len() => {}
            Some(v) => {
                let mut words = v.fast_iter_u64();
                let mut k = 0;
                for (m, w) in marks.iter_mut().zip(words.by_ref()) {
                    *m |= w;
                    k += 1;
                }
                // The last words, the final one partial.
                for (m, w) in marks.iter_mut().skip(k).zip(words.remainder().0) {
                    *m |= w;
                }
            }
            None => marks.iter_mut().for_each(|m| *m = u64::MAX),
        }
    }
    let slow_ms = 500;
    for (word, chunk) in marks.iter_mut().zip(c.latency.arr.values().chunks(64)) {
        let mut bits = 0u64;
        for (j, &ms) in chunk.iter().enumerate() {
            bits |= u64::from(ms > slow_ms) << j;
        }
        *word |= bits;
    }
    let height = c.height;
    marks.into_iter().enumerate().flat_map(move |(k, mut w)| {
        std::iter::from_fn(move || {
            (w != 0).then(|| {
                let j = w.trailing_zeros() as usize;
                w &= w - 1;
                k * 64 + j
            })
        })
        .filter(move |&i| i < height)
    })
}

fn ms(ns: i128) -> f64 {
    ns as f64 / NANOS_PER_MILLI as f64
}

/// The exact nearest-rank percentile `p` of `values` (sorted here), in ns.
fn nearest_rank(values: &[i64], p: f64) -> i64 {
    let mut v = values.to_vec();
    if v.is_empty() {
        return 0;
    }
    let k = percentile_rank(p, v.len()) - 1;
    let (_, x, _) = v.select_nth_unstable(k);
    *x
}

fn row(
    key: Option<String>,
    verb: Option<String>,
    resource: Option<String>,
    g: &Group,
) -> AttributionRow {
    let denominator: i128 = g.sums.iter().sum();
    let components: Vec<ComponentStat> = COMPONENTS
        .iter()
        .zip(g.sums.iter().zip(&g.values))
        .map(|(&component, (&sum, values))| ComponentStat {
            component,
            total_ms: ms(sum),
            share: if denominator > 0 {
                sum as f64 / denominator as f64
            } else {
                0.0
            },
            p99_ms: ms(i128::from(nearest_rank(values, 99.0))),
        })
        .collect();
    let dominant_cause = CAUSES
        .iter()
        .map(|(cause, parts)| {
            let sum: i128 = parts.iter().filter_map(|&i| g.sums.get(i)).sum();
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
        requests: g.requests,
        total_ms: ms(g.total_ns),
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

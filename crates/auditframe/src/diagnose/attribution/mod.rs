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

mod scan;

use super::p99::p99_of;
use super::rows::Cols;
use super::DiagnoseOptions;
use crate::analysis::columns::Codes;
use crate::schema::{Column, Projection};
use crate::time::Timestamp;
use crate::timestamp::NANOS_PER_MILLI;
use scan::{scan, Scan};

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

/// Summed latency of one group (or one reported row).
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    requests: u64,
    total_ns: i128,
    parts: [i128; N],
}

impl Sums {
    fn add_request(&mut self, total: i64, parts: &[i64; N]) {
        self.requests += 1;
        self.total_ns += i128::from(total);
        for (s, &p) in self.parts.iter_mut().zip(parts) {
            *s += i128::from(p);
        }
    }

    fn add(&mut self, o: &Sums) {
        self.requests += o.requests;
        self.total_ns += o.total_ns;
        for (s, os) in self.parts.iter_mut().zip(&o.parts) {
            *s += os;
        }
    }
}

/// Annotated requests: each one's components (0 when absent; `other` last) and group.
/// A frame's scan threads each leave one of these; they are kept as they are (never copied
/// into per-group vectors), and only the reported rows' percentiles read them again.
#[derive(Debug, Clone, Default)]
struct Requests {
    group: Vec<u32>,
    parts: Vec<[i64; N]>,
}

/// A name id standing for null (or, in a reported row, a column the level does not group by).
const NULL: u32 = u32::MAX;

/// Strings (keys, verbs or resources), each stored once, by id.
#[derive(Debug, Clone, Default)]
struct Names {
    names: Vec<String>,
    ids: PlHashMap<String, u32>,
}

impl Names {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.ids.get(s) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(s.to_owned());
        self.ids.insert(s.to_owned(), i);
        i
    }

    /// The name of `id` (`None` for [`NULL`]).
    fn name(&self, id: u32) -> Option<&str> {
        self.names.get(id as usize).map(String::as_str)
    }
}

/// A frame's dictionary codes turned into [`Names`] ids, each once, as they are met.
struct CodeIds<'c> {
    codes: &'c Codes,
    ids: Vec<Option<u32>>,
    /// What a null code stands for: `Some("")` for a key (counted under the empty key, as
    /// every string-keyed partial does), `None` for a verb or resource (kept null).
    null: Option<&'static str>,
}

impl<'c> CodeIds<'c> {
    fn new(codes: &'c Codes, null: Option<&'static str>) -> Self {
        CodeIds {
            codes,
            ids: vec![None; codes.len as usize + 1],
            null,
        }
    }

    fn id(&mut self, names: &mut Names, code: u32) -> u32 {
        if let Some(id) = self.ids.get(code as usize).copied().flatten() {
            return id;
        }
        let id = if code >= self.codes.len {
            self.null.map_or(NULL, |n| names.id(n))
        } else {
            names.id(self.codes.name(code))
        };
        if let Some(slot) = self.ids.get_mut(code as usize) {
            *slot = Some(id);
        }
        id
    }
}

/// A group: (key, verb, resource) name ids.
type GroupKey = [u32; 3];

/// The mergeable state of the attribution diagnosis.
#[derive(Debug, Clone, Default)]
pub struct LatencyAttribution {
    slow: u64,
    unannotated: u64,
    /// Keys, verbs and resources.
    names: [Names; 3],
    /// The groups, by index: their key and sums.
    groups: Vec<GroupKey>,
    sums: Vec<Sums>,
    index: PlHashMap<GroupKey, u32>,
    /// The annotated requests, their `group` indexing `groups`.
    requests: Vec<Requests>,
    /// Component sums per bin start (of the completion time).
    bins: PlHashMap<i64, [i128; N]>,
}

impl LatencyAttribution {
    /// Adds `sums` to group `key` (added if new); its index.
    fn add_group(&mut self, key: GroupKey, sums: &Sums) -> u32 {
        let g = match self.index.get(&key) {
            Some(&g) => g,
            None => {
                let g = self.groups.len() as u32;
                self.index.insert(key, g);
                self.groups.push(key);
                self.sums.push(Sums::default());
                g
            }
        };
        if let Some(mine) = self.sums.get_mut(g as usize) {
            mine.add(sums);
        }
        g
    }

    /// Adds requests whose groups are indices into `to_mine`.
    fn add_requests(&mut self, mut requests: Requests, to_mine: &[u32]) {
        for g in &mut requests.group {
            *g = to_mine.get(*g as usize).copied().unwrap_or(u32::MAX);
        }
        self.requests.push(requests);
    }

    fn add_bins(&mut self, bins: PlHashMap<i64, [i128; N]>) {
        for (b, sums) in bins {
            add_to_bin(&mut self.bins, b, &sums);
        }
    }

    fn add(&mut self, c: &Cols, opts: &DiagnoseOptions) {
        // Row ranges of whole 64-row words, one per thread, scanned in parallel; their
        // groups are keyed by this frame's codes, and each distinct code becomes a string
        // once.
        let words = c.height.div_ceil(64);
        // A few ranges per thread, so that a thread slowed by a busy core is helped out.
        let per = words
            .div_ceil(4 * rayon::current_num_threads().max(1))
            .max(1);
        let starts: Vec<usize> = (0..words).step_by(per).collect();
        let scans: Vec<Scan> = starts
            .into_par_iter()
            .map(|w| scan(c, opts, w * 64..((w + per) * 64).min(c.height)))
            .collect();
        let mut ids = [
            CodeIds::new(&c.key, Some("")),
            CodeIds::new(&c.verb, None),
            CodeIds::new(&c.resource, None),
        ];
        for part in scans {
            self.slow += part.slow;
            self.unannotated += part.unannotated;
            let mut to_mine = Vec::with_capacity(part.codes.len());
            for (&(k, v, r), sums) in part.codes.iter().zip(&part.sums) {
                let mut key = [NULL; 3];
                for (((slot, ids), names), code) in key
                    .iter_mut()
                    .zip(&mut ids)
                    .zip(&mut self.names)
                    .zip([k, v, r])
                {
                    *slot = ids.id(names, code);
                }
                to_mine.push(self.add_group(key, sums));
            }
            self.add_requests(part.requests, &to_mine);
            self.add_bins(part.bins);
        }
    }

    fn merge_from(&mut self, o: LatencyAttribution) {
        self.slow += o.slow;
        self.unannotated += o.unannotated;
        let mut maps: [Vec<u32>; 3] = Default::default();
        for ((map, mine), theirs) in maps.iter_mut().zip(&mut self.names).zip(&o.names) {
            *map = theirs.names.iter().map(|n| mine.id(n)).collect();
        }
        let mut to_mine = Vec::with_capacity(o.groups.len());
        for (key, sums) in o.groups.iter().zip(&o.sums) {
            let mut mine = [NULL; 3];
            for ((m, &id), map) in mine.iter_mut().zip(key).zip(&maps) {
                *m = map.get(id as usize).copied().unwrap_or(NULL);
            }
            to_mine.push(self.add_group(mine, sums));
        }
        for r in o.requests {
            self.add_requests(r, &to_mine);
        }
        self.add_bins(o.bins);
    }

    /// The names of a reported row's key (`None` for null or not grouped).
    fn names_of(&self, key: &GroupKey) -> RowKey<'_> {
        let [k, v, r] = key;
        let [kn, vn, rn] = &self.names;
        (kn.name(*k), vn.name(*v), rn.name(*r))
    }

    fn report(self, opts: &DiagnoseOptions) -> AttributionReport {
        // Every level sums its groups; percentiles are computed only for the rows reported
        // (the top ones by summed latency), in parallel.
        let levels: [Level; 3] = [
            self.level(opts.top, |[k, v, r]| [k, v, r]),
            self.level(opts.top, |[k, _, _]| [k, NULL, NULL]),
            self.level(opts.top, |[_, v, r]| [NULL, v, r]),
        ];
        let all = || {
            let mut all: Vec<&[i64; N]> =
                Vec::with_capacity(self.requests.iter().map(|r| r.parts.len()).sum());
            for r in &self.requests {
                all.extend(r.parts.iter());
            }
            vec![all]
        };
        let [l0, l1, l2] = &levels;
        let ((overall_rows, m0), (m1, m2)) = rayon::join(
            || rayon::join(all, || self.members(l0)),
            || rayon::join(|| self.members(l1), || self.members(l2)),
        );
        let members: Vec<Vec<&[i64; N]>> = [overall_rows, m0, m1, m2].concat();
        // The largest first, so that the threads share the work evenly.
        let mut order: Vec<usize> = (0..members.len()).collect();
        order.sort_by_key(|&s| std::cmp::Reverse(members.get(s).map_or(0, Vec::len)));
        let mut p99s: Vec<(usize, [i64; N])> = order
            .into_par_iter()
            .map(|s| (s, members.get(s).map_or([0; N], |m| p99_of(m))))
            .collect();
        p99s.sort_unstable_by_key(|(s, _)| *s);
        let mut p99s = p99s.into_iter().map(|(_, p)| p);
        let mut overall = Sums::default();
        for s in &self.sums {
            overall.add(s);
        }
        let annotated = overall.requests;
        let overall = row((None, None, None), &overall, &p99s.next().unwrap_or([0; N]));
        let [by_group, by_key, by_verb_resource] = levels.map(|l| {
            l.rows
                .iter()
                .map(|(k, s)| row(self.names_of(k), s, &p99s.next().unwrap_or([0; N])))
                .collect::<Vec<_>>()
        });
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

    /// One level's reported rows: the groups summed by `of`, the top `top` by summed
    /// latency (ties by name).
    fn level(&self, top: usize, of: impl Fn(GroupKey) -> GroupKey) -> Level {
        let mut index: PlHashMap<GroupKey, u32> = PlHashMap::default();
        let mut rows: Vec<(GroupKey, Sums)> = Vec::new();
        let mut row_of: Vec<u32> = Vec::with_capacity(self.groups.len());
        for (&key, sums) in self.groups.iter().zip(&self.sums) {
            let k = of(key);
            let r = *index.entry(k).or_insert_with(|| {
                rows.push((k, Sums::default()));
                rows.len() as u32 - 1
            });
            if let Some((_, s)) = rows.get_mut(r as usize) {
                s.add(sums);
            }
            row_of.push(r);
        }
        let mut order: Vec<u32> = (0..rows.len() as u32).collect();
        let at = |r: u32| rows.get(r as usize);
        order.sort_by(|&a, &b| match (at(a), at(b)) {
            (Some((ka, sa)), Some((kb, sb))) => sb
                .total_ns
                .cmp(&sa.total_ns)
                .then_with(|| self.names_of(ka).cmp(&self.names_of(kb))),
            _ => std::cmp::Ordering::Equal,
        });
        order.truncate(top);
        let mut rank = vec![u32::MAX; rows.len()];
        for (slot, &r) in order.iter().enumerate() {
            if let Some(x) = rank.get_mut(r as usize) {
                *x = slot as u32;
            }
        }
        Level {
            slot: row_of
                .iter()
                .map(|&r| rank.get(r as usize).copied().unwrap_or(u32::MAX))
                .collect(),
            rows: order.iter().filter_map(|&r| at(r).copied()).collect(),
        }
    }

    /// The requests of each of a level's reported rows, by reference.
    fn members(&self, level: &Level) -> Vec<Vec<&[i64; N]>> {
        let mut m: Vec<Vec<&[i64; N]>> = level
            .rows
            .iter()
            .map(|(_, s)| Vec::with_capacity(s.requests as usize))
            .collect();
        for r in &self.requests {
            for (&g, parts) in r.group.iter().zip(&r.parts) {
                let slot = level.slot.get(g as usize).copied().unwrap_or(u32::MAX);
                if let Some(v) = m.get_mut(slot as usize) {
                    v.push(parts);
                }
            }
        }
        m
    }
}

/// A reported row's (key, verb, resource) names: `None` where null or not grouped by.
type RowKey<'k> = (Option<&'k str>, Option<&'k str>, Option<&'k str>);

/// One level's reported rows, and each group's position among them (`u32::MAX`: none).
struct Level {
    rows: Vec<(GroupKey, Sums)>,
    slot: Vec<u32>,
}

/// Adds component sums to the bin starting at `start`.
fn add_to_bin(bins: &mut PlHashMap<i64, [i128; N]>, start: i64, sums: &[i128; N]) {
    let mine = bins.entry(start).or_insert([0; N]);
    for (m, s) in mine.iter_mut().zip(sums) {
        *m += s;
    }
}

fn ms(ns: i128) -> f64 {
    ns as f64 / NANOS_PER_MILLI as f64
}

/// A reported row from its key, sums and P99s.
fn row((key, verb, resource): RowKey<'_>, s: &Sums, p99: &[i64; N]) -> AttributionRow {
    let sums = &s.parts;
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
        key: key.map(str::to_owned),
        verb: verb.map(str::to_owned),
        resource: resource.map(str::to_owned),
        requests: s.requests,
        total_ms: ms(s.total_ns),
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

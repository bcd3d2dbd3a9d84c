//! Cause 5: the LIST detector, with each LIST's read type (watch cache or etcd).
//!
//! The read type follows the kube-apiserver's cacher (`shouldDelegateList` in
//! `k8s.io/apiserver/pkg/storage/cacher`) and the documented semantics of `resourceVersion`
//! for LIST (<https://kubernetes.io/docs/reference/using-api/api-concepts/#semantics-for-get-and-list>):
//!
//! | request | [`ListReadRules::Before131`] | [`ListReadRules::Since131`] |
//! |---|---|---|
//! | `resourceVersionMatch=Exact` | etcd | etcd |
//! | `resourceVersionMatch=NotOlderThan` | cache | cache |
//! | `continue=…` (a later page) | etcd | etcd |
//! | `limit>0` with `resourceVersion` ≠ `""`, `"0"` (legacy exact) | etcd | etcd |
//! | no `resourceVersion` (a consistent read) | etcd | cache (`ConsistentListFromCache`, beta and on by default since 1.31) |
//! | `resourceVersion=0`, or another `resourceVersion` without `limit` | cache | cache |
//! | any LIST of a resource without a watch cache ([`DiagnoseOptions::uncached_resources`]: `events` by default) | etcd | etcd |
//!
//! Kubernetes 1.34 adds `ListFromCacheSnapshot` (beta), with which the cache may also serve
//! `continue` pages and exact reads from a snapshot; the audit log does not say whether it
//! did, so those stay "etcd" (the costlier possibility).
//!
//! A resource whose watch cache is disabled has every LIST served from etcd, whatever its
//! query: upstream kube-apiserver disables it for `events` and `events.k8s.io/events`
//! (`DefaultWatchCacheSizes` in `pkg/kubeapiserver/default_storage_factory_builder.go`, size
//! 0), which is the default of [`DiagnoseOptions::uncached_resources`].

use std::collections::HashMap;

use polars::prelude::PlHashMap;

use serde::Serialize;

use super::rows::{is_success, Cols};
use super::DiagnoseOptions;
use crate::analysis::percentile_rank;
use crate::schema::Column;
use crate::time::{TimeSpan, Timestamp};
use crate::timestamp::NANOS_PER_SECOND;

/// Where the apiserver served a LIST from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadType {
    /// The apiserver's watch cache (cheap).
    Cache,
    /// etcd (a range read over every object of the type; the costly case).
    Etcd,
}

impl ReadType {
    /// `cache` or `etcd`.
    pub const fn name(self) -> &'static str {
        match self {
            ReadType::Cache => "cache",
            ReadType::Etcd => "etcd",
        }
    }
}

/// Which apiserver rules decide a LIST's read type (see the module table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListReadRules {
    /// Kubernetes 1.30 and earlier: a LIST without `resourceVersion` reads etcd.
    Before131,
    /// Kubernetes 1.31 and later (`ConsistentListFromCache` on): it is served from the cache.
    #[default]
    Since131,
}

impl ListReadRules {
    /// `before-1.31` or `since-1.31`.
    pub const fn name(self) -> &'static str {
        match self {
            ListReadRules::Before131 => "before-1.31",
            ListReadRules::Since131 => "since-1.31",
        }
    }

    /// Looks rules up by [`name`](ListReadRules::name).
    pub fn from_name(s: &str) -> Option<ListReadRules> {
        [ListReadRules::Before131, ListReadRules::Since131]
            .into_iter()
            .find(|r| r.name() == s)
    }
}

/// Classifies a LIST by its request URI's query.
///
/// ```
/// use auditframe::diagnose::{classify_list, ListReadRules, ReadType};
/// let r = ListReadRules::Since131;
/// assert_eq!(classify_list("/api/v1/pods?resourceVersion=0", r), ReadType::Cache);
/// assert_eq!(classify_list("/api/v1/pods?limit=500&continue=eyJ2Ijo", r), ReadType::Etcd);
/// assert_eq!(classify_list("/api/v1/pods", r), ReadType::Cache);
/// assert_eq!(classify_list("/api/v1/pods", ListReadRules::Before131), ReadType::Etcd);
/// ```
pub fn classify_list(request_uri: &str, rules: ListReadRules) -> ReadType {
    let b = request_uri.as_bytes();
    let mut query = match memchr::memchr(b'?', b) {
        Some(q) => b.get(q + 1..).unwrap_or_default(),
        None => &[],
    };
    let (mut rv, mut rv_match, mut limit, mut cont): (&[u8], &[u8], bool, bool) =
        (b"", b"", false, false);
    // One pass over `k=v&k=v…`; this runs for every LIST.
    while !query.is_empty() {
        let end = query.iter().position(|&c| c == b'&').unwrap_or(query.len());
        let (pair, rest) = query.split_at(end);
        query = rest.get(1..).unwrap_or_default();
        let (k, v) = match pair.iter().position(|&c| c == b'=') {
            Some(e) => (
                pair.get(..e).unwrap_or_default(),
                pair.get(e + 1..).unwrap_or_default(),
            ),
            None => (pair, &[][..]),
        };
        match k {
            b"resourceVersion" => rv = v,
            b"resourceVersionMatch" => rv_match = v,
            b"limit" => {
                limit = std::str::from_utf8(v)
                    .ok()
                    .and_then(|v| v.parse::<i64>().ok())
                    .is_some_and(|n| n > 0)
            }
            b"continue" => cont = !v.is_empty(),
            _ => {}
        }
    }
    match rv_match {
        b"Exact" => return ReadType::Etcd,
        b"NotOlderThan" => return ReadType::Cache,
        _ => {}
    }
    if cont || (limit && !rv.is_empty() && rv != b"0") {
        return ReadType::Etcd;
    }
    match (rv.is_empty(), rules) {
        (true, ListReadRules::Before131) => ReadType::Etcd,
        _ => ReadType::Cache,
    }
}

/// Count, latency sum and latencies of some LISTs.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Cell {
    pub count: u64,
    pub latency_sum_ms: i128,
    pub latencies: Vec<i64>,
}

impl Cell {
    fn add(&mut self, latency: Option<i64>) {
        self.count += 1;
        if let Some(ms) = latency {
            self.latency_sum_ms += i128::from(ms);
            self.latencies.push(ms);
        }
    }

    fn merge(&mut self, other: Cell) {
        self.count += other.count;
        self.latency_sum_ms += other.latency_sum_ms;
        self.latencies.extend(other.latencies);
    }
}

/// Exact nearest-rank P99 (sorts in place); `None` without values.
pub(crate) fn p99(v: &mut [i64]) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    v.get(percentile_rank(99.0, v.len()) - 1).copied()
}

/// (key, namespace or "" for cluster scope, resource, read type).
type CellKey = (String, String, String, ReadType);

/// The mergeable state of the LIST detector.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListDetector {
    cells: HashMap<CellKey, Cell>,
    /// Count and latency sum per (minute start, key), for the peak windows.
    minutes: HashMap<(i64, String), (u64, i128)>,
}

const MINUTE: i64 = 60 * NANOS_PER_SECOND;

impl ListDetector {
    fn add(&mut self, c: &Cols, opts: &DiagnoseOptions) {
        let Some(list) = c.verb.code_of("list") else {
            return;
        };
        // Code-keyed per frame (no string work per row), then turned into strings.
        let mut cells: PlHashMap<(u32, u32, u32, ReadType), Cell> = PlHashMap::default();
        let mut minutes: PlHashMap<(i64, u32), (u64, i128)> = PlHashMap::default();
        // Per resource code (the null code last): served without a watch cache.
        let uncached: Vec<bool> = (0..=c.resource.len)
            .map(|code| {
                c.str_of_code(&c.resource, code)
                    .is_some_and(|r| opts.uncached_resources.iter().any(|u| u == r))
            })
            .collect();
        let mut uri = c.uri.cursor();
        for i in 0..c.height {
            if c.verb.at(i) != list || !is_success(c.status.at(i)) || !c.keep(i) {
                continue;
            }
            let read = if uncached.get(c.resource.at(i) as usize) == Some(&true) {
                ReadType::Etcd
            } else {
                classify_list(uri.at(i).unwrap_or(""), opts.list_rules)
            };
            let key = c.key.at(i);
            let latency = c.latency.at(i);
            cells
                .entry((key, c.namespace.at(i), c.resource.at(i), read))
                .or_default()
                .add(latency);
            if let Some(t) = c.time.at(i) {
                let m = minutes
                    .entry((t.div_euclid(MINUTE) * MINUTE, key))
                    .or_default();
                m.0 += 1;
                m.1 += i128::from(latency.unwrap_or(0));
            }
        }
        let s = |codes, code| c.key_of(codes, code);
        for ((k, ns, r, read), cell) in cells {
            let key = (s(&c.key, k), s(&c.namespace, ns), s(&c.resource, r), read);
            self.cells.entry(key).or_default().merge(cell);
        }
        for ((m, k), (n, sum)) in minutes {
            let e = self.minutes.entry((m, s(&c.key, k))).or_default();
            e.0 += n;
            e.1 += sum;
        }
    }

    fn merge_from(&mut self, other: ListDetector) {
        for (k, cell) in other.cells {
            self.cells.entry(k).or_default().merge(cell);
        }
        for (k, (n, sum)) in other.minutes {
            let e = self.minutes.entry(k).or_default();
            e.0 += n;
            e.1 += sum;
        }
    }

    fn report(self, opts: &DiagnoseOptions) -> ListReport {
        let mut classes: HashMap<(ReadType, &'static str), Cell> = HashMap::new();
        let mut offenders = Vec::with_capacity(self.cells.len());
        let mut total = 0;
        for ((key, namespace, resource, read_type), mut cell) in self.cells {
            total += cell.count;
            let scope = if namespace.is_empty() {
                "cluster"
            } else {
                "namespace"
            };
            let class = classes.entry((read_type, scope)).or_default();
            class.count += cell.count;
            class.latency_sum_ms += cell.latency_sum_ms;
            class.latencies.extend_from_slice(&cell.latencies);
            let p99_ms = p99(&mut cell.latencies);
            offenders.push(ListOffender {
                key,
                namespace: (!namespace.is_empty()).then_some(namespace),
                resource,
                read_type,
                count: cell.count,
                latency_sum_ms: cell.latency_sum_ms,
                p99_ms,
            });
        }
        offenders.sort_by(|a, b| {
            b.latency_sum_ms
                .cmp(&a.latency_sum_ms)
                .then(b.count.cmp(&a.count))
                .then_with(|| {
                    (&a.key, &a.namespace, &a.resource).cmp(&(&b.key, &b.namespace, &b.resource))
                })
                .then(a.read_type.cmp(&b.read_type))
        });
        offenders.truncate(opts.top);
        let mut classes: Vec<ListClassRow> = classes
            .into_iter()
            .map(|((read_type, scope), mut cell)| ListClassRow {
                read_type,
                scope,
                count: cell.count,
                latency_sum_ms: cell.latency_sum_ms,
                p99_ms: p99(&mut cell.latencies),
            })
            .collect();
        classes.sort_by(|a, b| (a.read_type, a.scope).cmp(&(b.read_type, b.scope)));
        let (peak_by_count, peak_by_latency) = peaks(&self.minutes, opts);
        ListReport {
            rules: opts.list_rules.name(),
            total,
            classes,
            offenders,
            peak_by_count,
            peak_by_latency,
        }
    }
}

/// The busiest `opts.peak_window_ns` window by count and by latency sum, over minute buckets.
fn peaks(
    minutes: &HashMap<(i64, String), (u64, i128)>,
    opts: &DiagnoseOptions,
) -> (Option<PeakWindow>, Option<PeakWindow>) {
    let mut per_minute: Vec<(i64, u64, i128)> = Vec::new();
    {
        let mut m: HashMap<i64, (u64, i128)> = HashMap::new();
        for ((t, _), (n, s)) in minutes {
            let e = m.entry(*t).or_default();
            e.0 += n;
            e.1 += s;
        }
        per_minute.extend(m.into_iter().map(|(t, (n, s))| (t, n, s)));
    }
    per_minute.sort_unstable();
    let width = opts.peak_window_ns.max(MINUTE);
    // Windows start at a minute that has LISTs; a maximum is always among them.
    let mut best_n: Option<(i64, u64)> = None;
    let mut best_s: Option<(i64, i128)> = None;
    let (mut end, mut n, mut s) = (0usize, 0u64, 0i128);
    for start in 0..per_minute.len() {
        let Some(&(t0, _, _)) = per_minute.get(start) else {
            break;
        };
        while let Some(&(t, cn, cs)) = per_minute.get(end) {
            if t >= t0.saturating_add(width) {
                break;
            }
            n += cn;
            s += cs;
            end += 1;
        }
        if best_n.is_none_or(|(_, b)| n > b) {
            best_n = Some((t0, n));
        }
        if best_s.is_none_or(|(_, b)| s > b) {
            best_s = Some((t0, s));
        }
        if let Some(&(_, cn, cs)) = per_minute.get(start) {
            n -= cn;
            s -= cs;
        }
    }
    let window = |t0: i64| -> PeakWindow {
        let t1 = t0.saturating_add(width);
        let mut by_key: HashMap<&str, (u64, i128)> = HashMap::new();
        for ((t, key), (cn, cs)) in minutes {
            if *t >= t0 && *t < t1 {
                let e = by_key.entry(key.as_str()).or_default();
                e.0 += cn;
                e.1 += cs;
            }
        }
        let (count, latency_sum_ms) = by_key
            .values()
            .fold((0, 0), |(a, b), (n, s)| (a + n, b + s));
        let mut top: Vec<PeakOffender> = by_key
            .into_iter()
            .map(|(k, (count, latency_sum_ms))| PeakOffender {
                key: k.to_owned(),
                count,
                latency_sum_ms,
            })
            .collect();
        top.sort_by(|a, b| {
            (b.latency_sum_ms, b.count)
                .cmp(&(a.latency_sum_ms, a.count))
                .then_with(|| a.key.cmp(&b.key))
        });
        top.truncate(opts.top);
        PeakWindow {
            start: Timestamp::from_nanos(t0).floor_to_second(),
            end: Timestamp::from_nanos(t1).floor_to_second(),
            width: TimeSpan::from_nanos(width),
            count,
            latency_sum_ms,
            top,
        }
    };
    (
        best_n.map(|(t, _)| window(t)),
        best_s.map(|(t, _)| window(t)),
    )
}

/// LISTs of one read type and scope.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListClassRow {
    /// Cache or etcd.
    pub read_type: ReadType,
    /// `cluster` (no namespace: all namespaces, or a cluster-scoped type) or `namespace`.
    pub scope: &'static str,
    /// Successful LISTs.
    pub count: u64,
    /// Sum of their latencies, ms.
    pub latency_sum_ms: i128,
    /// Exact nearest-rank P99 latency, ms.
    pub p99_ms: Option<i64>,
}

/// LISTs of one (key, namespace, resource, read type).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListOffender {
    /// User agent or username.
    pub key: String,
    /// `None`: a cluster-scope LIST.
    pub namespace: Option<String>,
    /// Resource listed.
    pub resource: String,
    /// Cache or etcd.
    pub read_type: ReadType,
    /// Successful LISTs.
    pub count: u64,
    /// Sum of their latencies, ms.
    pub latency_sum_ms: i128,
    /// Exact nearest-rank P99 latency, ms.
    pub p99_ms: Option<i64>,
}

/// One key's LISTs inside a peak window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeakOffender {
    /// User agent or username.
    pub key: String,
    /// Successful LISTs in the window.
    pub count: u64,
    /// Sum of their latencies, ms.
    pub latency_sum_ms: i128,
}

/// The busiest window (30 minutes by default, like the portal's detector).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeakWindow {
    /// Start (inclusive), minute-aligned.
    pub start: Timestamp,
    /// End (exclusive).
    pub end: Timestamp,
    /// Width, e.g. `30m`.
    pub width: TimeSpan,
    /// Successful LISTs in the window.
    pub count: u64,
    /// Sum of their latencies, ms.
    pub latency_sum_ms: i128,
    /// Keys by latency sum, then count.
    pub top: Vec<PeakOffender>,
}

/// What the LIST detector found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListReport {
    /// The read-type rules used ([`ListReadRules::name`]).
    pub rules: &'static str,
    /// Successful LISTs (2xx, final stage) in the window.
    pub total: u64,
    /// Per read type and scope.
    pub classes: Vec<ListClassRow>,
    /// The top (key, namespace, resource, read type) by latency sum.
    pub offenders: Vec<ListOffender>,
    /// The window with most LISTs.
    pub peak_by_count: Option<PeakWindow>,
    /// The window with the largest LIST latency sum.
    pub peak_by_latency: Option<PeakWindow>,
}

impl super::Diagnosis for ListDetector {
    const NAME: &'static str = "list";
    type Report = ListReport;

    /// The LIST detector (Cause 5): successful LISTs by read type (watch cache or etcd), offenders, peak windows.
    fn projection(opts: &DiagnoseOptions) -> crate::Projection {
        super::base_projection(opts).union(crate::Projection::of(&[
            Column::LatencyMs,
            Column::StatusCode,
            Column::Verb,
            Column::Resource,
            Column::Namespace,
            Column::RequestUri,
        ]))
    }

    fn add_frame(&mut self, f: &super::DiagnosisFrame<'_>, opts: &DiagnoseOptions) {
        self.add(f.cols(), opts);
    }

    fn merge(&mut self, other: Self) {
        self.merge_from(other);
    }

    fn finish(self, opts: &DiagnoseOptions) -> ListReport {
        self.report(opts)
    }
}

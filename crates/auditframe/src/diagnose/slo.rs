//! SLO verdicts: the upstream SIG-scalability API call latency SLOs
//! (<https://github.com/kubernetes/community/blob/master/sig-scalability/slos/api_call_latency.md>),
//! checked per 5-minute window.
//!
//! - mutating calls on single objects (`create`, `update`, `patch`, `delete`) per
//!   (verb, resource): P99 ≤ 1 s;
//! - read-only single-object calls per resource: a `get`, or a `list` naming one object
//!   (`objectRef.name` set, e.g. `fieldSelector=metadata.name=…`: the apiserver's metrics put
//!   it in `resource` scope, `CleanListScope`): P99 ≤ 1 s;
//! - read-only namespace-scope `list` per resource: P99 ≤ 5 s;
//! - read-only cluster-scope `list` per resource: P99 ≤ 30 s.
//!
//! Excluded like upstream: `watch`, long-running subresources (`exec`, `attach`,
//! `portforward`, `proxy`, `log`), non-resource URLs, and events that are not a request's
//! final stage. Also left out:
//! - `429` responses: requests rejected by API Priority and Fairness (or max-in-flight) are
//!   counted by `RecordDroppedRequest` in `apiserver_request_total` only and never observed in
//!   `apiserver_request_duration_seconds`, the SLI the SLO is defined on
//!   (`k8s.io/apiserver/pkg/endpoints/metrics`); the audit log cannot tell them from the
//!   rare handler 429 (an eviction refused by a PodDisruptionBudget), so every 429 is out;
//! - `deletecollection`: it is not a call on a single object, and no read SLO applies to it.
//!
//! A call belongs to the window of its completion, `stage_timestamp` (as the apiserver's
//! latency histogram observes it), in every shape — never `TimeGenerated`, which Log
//! Analytics sets at ingestion, minutes later. Upstream measures "over the last 5 minutes"
//! continuously; auditframe uses fixed windows aligned like KQL `bin(…, 5m)`, so a burst
//! that straddles two windows is judged in each half. P99s are exact nearest-rank.

use std::collections::HashMap;

use polars::prelude::PlHashMap;

use serde::Serialize;

use super::list::p99;
use super::rows::Cols;
use super::DiagnoseOptions;
use crate::analysis::bin_start;
use crate::schema::Column;
use crate::time::Timestamp;

/// Latency thresholds (P99, ms) of the four SLO classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SloThresholds {
    /// Mutating calls (default 1 000 ms).
    pub mutating_ms: i64,
    /// Read-only single-object calls (default 1 000 ms).
    pub read_object_ms: i64,
    /// Read-only namespace-scope LISTs (default 5 000 ms).
    pub read_namespace_ms: i64,
    /// Read-only cluster-scope LISTs (default 30 000 ms).
    pub read_cluster_ms: i64,
}

impl Default for SloThresholds {
    fn default() -> Self {
        SloThresholds {
            mutating_ms: 1_000,
            read_object_ms: 1_000,
            read_namespace_ms: 5_000,
            read_cluster_ms: 30_000,
        }
    }
}

/// The SLO class of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SloClass {
    /// A mutating call.
    Mutating,
    /// A `get` of one object.
    ReadObject,
    /// A `list` in one namespace.
    ReadNamespace,
    /// A `list` across namespaces, or of a cluster-scoped type.
    ReadCluster,
}

impl SloClass {
    fn threshold(self, t: &SloThresholds) -> i64 {
        match self {
            SloClass::Mutating => t.mutating_ms,
            SloClass::ReadObject => t.read_object_ms,
            SloClass::ReadNamespace => t.read_namespace_ms,
            SloClass::ReadCluster => t.read_cluster_ms,
        }
    }
}

const MUTATING: &[&str] = &["create", "update", "patch", "delete"];
/// A request rejected by API Priority and Fairness: not in the SLI.
const TOO_MANY_REQUESTS: i64 = 429;
const LONG_RUNNING: &[&str] = &["exec", "attach", "portforward", "proxy", "log"];

/// (window start, class, verb, resource).
type CellKey = (i64, SloClass, String, String);
/// The same, with verb and resource as dictionary codes of one frame.
type CodeKey = (i64, SloClass, u32, u32);

/// The mergeable state of the SLO verdicts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SloVerdicts {
    latencies: HashMap<CellKey, Vec<i64>>,
    /// Calls over their class threshold per (cell, key): who made a window slow.
    slow: HashMap<(CellKey, String), u64>,
}

impl SloVerdicts {
    fn add(&mut self, c: &Cols, opts: &DiagnoseOptions) {
        // Per verb code: its class family (None: not an SLO call).
        let verbs: Vec<Option<bool>> = (0..c.verb.len)
            .map(|code| {
                let v = c.verb.name(code);
                if MUTATING.contains(&v) {
                    Some(true)
                } else if v == "get" || v == "list" {
                    Some(false)
                } else {
                    None
                }
            })
            .collect();
        let list = c.verb.code_of("list");
        let long: Vec<u32> = LONG_RUNNING
            .iter()
            .filter_map(|s| c.subresource.code_of(s))
            .collect();
        let mut latencies: PlHashMap<CodeKey, Vec<i64>> = PlHashMap::default();
        let mut slow: PlHashMap<(CodeKey, u32), u64> = PlHashMap::default();
        let mut name = c.name.cursor();
        for i in 0..c.height {
            let verb = c.verb.at(i);
            let Some(&Some(mutating)) = verbs.get(verb as usize) else {
                continue;
            };
            let resource = c.resource.at(i);
            if resource == c.resource.len
                || long.contains(&c.subresource.at(i))
                || c.status.at(i) == Some(TOO_MANY_REQUESTS)
                || !c.keep(i)
            {
                continue;
            }
            // The window is the completion's.
            let (Some(ms), Some(t)) = (c.latency.at(i), c.stage_time.at(i)) else {
                continue;
            };
            let class = if mutating {
                SloClass::Mutating
            } else if Some(verb) != list || name.at(i).is_some_and(|n| !n.is_empty()) {
                SloClass::ReadObject
            } else if c.namespace.at(i) == c.namespace.len {
                SloClass::ReadCluster
            } else {
                SloClass::ReadNamespace
            };
            let key = (bin_start(t, opts.slo_window_ns), class, verb, resource);
            if ms > class.threshold(&opts.slo) {
                *slow.entry((key, c.key.at(i))).or_default() += 1;
            }
            latencies.entry(key).or_default().push(ms);
        }
        let s = |codes, code| c.key_of(codes, code);
        let name = |(w, class, v, r): CodeKey| (w, class, s(&c.verb, v), s(&c.resource, r));
        for (k, mut v) in latencies {
            self.latencies.entry(name(k)).or_default().append(&mut v);
        }
        for ((k, who), n) in slow {
            *self.slow.entry((name(k), s(&c.key, who))).or_default() += n;
        }
    }

    fn merge_from(&mut self, other: SloVerdicts) {
        for (k, mut v) in other.latencies {
            self.latencies.entry(k).or_default().append(&mut v);
        }
        for (k, n) in other.slow {
            *self.slow.entry(k).or_default() += n;
        }
    }

    fn report(self, opts: &DiagnoseOptions) -> SloReport {
        let mut slow_by_cell: HashMap<CellKey, Vec<(String, u64)>> = HashMap::new();
        for ((cell, who), n) in self.slow {
            slow_by_cell.entry(cell).or_default().push((who, n));
        }
        let mut classes: HashMap<SloClass, SloClassSummary> = HashMap::new();
        let mut windows = std::collections::BTreeSet::new();
        let mut violations = Vec::new();
        let mut calls = 0;
        for (cell, mut v) in self.latencies {
            let (window, class, verb, resource) = cell.clone();
            let threshold_ms = class.threshold(&opts.slo);
            let n = v.len() as u64;
            calls += n;
            windows.insert(window);
            let p = p99(&mut v).unwrap_or(0);
            let sum = classes.entry(class).or_insert_with(|| SloClassSummary {
                class,
                threshold_ms,
                cells: 0,
                violating: 0,
                worst_p99_ms: 0,
            });
            sum.cells += 1;
            sum.worst_p99_ms = sum.worst_p99_ms.max(p);
            if p > threshold_ms {
                sum.violating += 1;
                let mut who = slow_by_cell.remove(&cell).unwrap_or_default();
                who.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                who.truncate(opts.top.min(5));
                violations.push(SloViolation {
                    window_start: Timestamp::from_nanos(window),
                    window_start_ns: window,
                    class,
                    verb,
                    resource,
                    calls: n,
                    p99_ms: p,
                    threshold_ms,
                    top_slow_keys: who
                        .into_iter()
                        .map(|(key, slow_calls)| SlowKey { key, slow_calls })
                        .collect(),
                });
            }
        }
        violations.sort_by(|a, b| {
            (a.window_start_ns, a.class, &a.resource, &a.verb).cmp(&(
                b.window_start_ns,
                b.class,
                &b.resource,
                &b.verb,
            ))
        });
        let mut classes: Vec<SloClassSummary> = classes.into_values().collect();
        classes.sort_by_key(|c| c.class);
        SloReport {
            pass: violations.is_empty(),
            windows: windows.len() as u64,
            calls,
            classes,
            violations,
        }
    }
}

/// A key's calls over the threshold in a violating window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlowKey {
    /// User agent or username.
    pub key: String,
    /// Its calls slower than the threshold.
    pub slow_calls: u64,
}

/// One (window, class, verb, resource) whose P99 broke its SLO.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SloViolation {
    /// Window start (aligned like KQL `bin`).
    pub window_start: Timestamp,
    #[serde(skip)]
    pub(crate) window_start_ns: i64,
    /// SLO class (which also gives the scope).
    pub class: SloClass,
    /// Verb.
    pub verb: String,
    /// Resource.
    pub resource: String,
    /// Calls in the cell.
    pub calls: u64,
    /// Exact nearest-rank P99, ms.
    pub p99_ms: i64,
    /// The class threshold, ms.
    pub threshold_ms: i64,
    /// Keys with most calls over the threshold.
    pub top_slow_keys: Vec<SlowKey>,
}

/// Per class: cells checked, cells violating, worst P99.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SloClassSummary {
    /// SLO class.
    pub class: SloClass,
    /// Threshold, ms.
    pub threshold_ms: i64,
    /// (window, verb, resource) cells checked.
    pub cells: u64,
    /// Of which over the threshold.
    pub violating: u64,
    /// Worst P99 of a cell, ms.
    pub worst_p99_ms: i64,
}

/// The SLO verdicts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SloReport {
    /// No cell violated its SLO.
    pub pass: bool,
    /// Windows with SLO-relevant calls.
    pub windows: u64,
    /// Calls checked.
    pub calls: u64,
    /// Per class.
    pub classes: Vec<SloClassSummary>,
    /// Every violating cell, by window.
    pub violations: Vec<SloViolation>,
}

impl super::Diagnosis for SloVerdicts {
    const NAME: &'static str = "slo";
    type Report = SloReport;

    /// The upstream API call latency SLOs: P99 per 5-minute window, verb, resource and scope.
    fn projection(opts: &DiagnoseOptions) -> crate::Projection {
        super::base_projection(opts).union(crate::Projection::of(&[
            Column::LatencyMs,
            Column::StageTimestamp,
            Column::StatusCode,
            Column::Verb,
            Column::Resource,
            Column::Subresource,
            Column::Namespace,
            Column::Name,
        ]))
    }

    fn add_frame(&mut self, f: &super::DiagnosisFrame<'_>, opts: &DiagnoseOptions) {
        self.add(f.cols(), opts);
    }

    fn merge(&mut self, other: Self) {
        self.merge_from(other);
    }

    fn finish(self, opts: &DiagnoseOptions) -> SloReport {
        self.report(opts)
    }
}

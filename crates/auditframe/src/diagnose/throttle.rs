//! Cause 4: throttling (HTTP 429) per key over time, and the `aks-managed-apiserver-guard`
//! FlowSchema / PriorityLevelConfiguration appearing, changing or going away.

use std::collections::HashMap;

use polars::prelude::PlHashMap;

use serde::Serialize;

use super::rows::Cols;
use super::DiagnoseOptions;
use crate::analysis::bin_start;
use crate::schema::Column;
use crate::time::Timestamp;

/// The name AKS gives the guard's FlowSchema and PriorityLevelConfiguration.
pub const AKS_GUARD_NAME: &str = "aks-managed-apiserver-guard";

/// One create/update/patch/delete of the guard objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GuardEvent {
    /// When (`time_generated`, RFC 3339).
    pub time: Timestamp,
    /// `create`, `update`, `patch` or `delete`.
    pub verb: String,
    /// `flowschemas` or `prioritylevelconfigurations`.
    pub resource: String,
    /// Response status (a failed attempt is listed too).
    pub status_code: Option<i32>,
    /// Who did it.
    pub username: Option<String>,
    /// With which client.
    pub user_agent: Option<String>,
}

/// The mergeable state of the throttling diagnosis.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ThrottleDetector {
    /// (requests, 429s) per key.
    requests: HashMap<String, (u64, u64)>,
    /// 429s per (key, bin start).
    series: HashMap<(String, i64), u64>,
    guard: Vec<GuardEvent>,
}

const GUARD_VERBS: &[&str] = &["create", "update", "patch", "delete"];

impl ThrottleDetector {
    fn add(&mut self, c: &Cols, opts: &DiagnoseOptions) {
        // Dense per key code (the null code is `len`).
        let mut requests: Vec<(u64, u64)> = vec![(0, 0); c.key.len as usize + 1];
        let mut series: PlHashMap<(u32, i64), u64> = PlHashMap::default();
        let guard_resources = [
            c.resource.code_of("flowschemas"),
            c.resource.code_of("prioritylevelconfigurations"),
        ];
        let mut name = c.name.cursor();
        for i in 0..c.height {
            if !c.keep(i) {
                continue;
            }
            let key = c.key.at(i);
            let Some(e) = requests.get_mut(key as usize) else {
                continue;
            };
            e.0 += 1;
            if c.status.at(i) == Some(429) {
                e.1 += 1;
                if let Some(t) = c.time.at(i) {
                    *series.entry((key, bin_start(t, opts.bin_ns))).or_default() += 1;
                }
            }
            let r = Some(c.resource.at(i));
            if (r == guard_resources[0] || r == guard_resources[1])
                && name.at(i) == Some(AKS_GUARD_NAME)
            {
                let verb = c.str_of(&c.verb, i).unwrap_or("");
                if GUARD_VERBS.contains(&verb) {
                    let t = c.time.at(i).unwrap_or(i64::MIN);
                    self.guard.push(GuardEvent {
                        time: Timestamp::from_nanos(t),
                        verb: verb.to_owned(),
                        resource: c.str_of(&c.resource, i).unwrap_or("").to_owned(),
                        status_code: c.status.at(i).and_then(|s| i32::try_from(s).ok()),
                        username: c.str_of(&c.username, i).map(str::to_owned),
                        user_agent: c.str_of(&c.user_agent, i).map(str::to_owned),
                    });
                }
            }
        }
        let s = |code| c.key_of(&c.key, code);
        for (k, &(n, t)) in requests.iter().enumerate().filter(|(_, r)| r.0 > 0) {
            let e = self.requests.entry(s(k as u32)).or_default();
            e.0 += n;
            e.1 += t;
        }
        for ((k, b), n) in series {
            *self.series.entry((s(k), b)).or_default() += n;
        }
    }

    fn merge_from(&mut self, other: ThrottleDetector) {
        for (k, (n, t)) in other.requests {
            let e = self.requests.entry(k).or_default();
            e.0 += n;
            e.1 += t;
        }
        for (k, n) in other.series {
            *self.series.entry(k).or_default() += n;
        }
        self.guard.extend(other.guard);
    }

    fn report(mut self, opts: &DiagnoseOptions) -> ThrottlingReport {
        let requests: u64 = self.requests.values().map(|r| r.0).sum();
        let throttled: u64 = self.requests.values().map(|r| r.1).sum();
        let mut by_key: Vec<ThrottledKey> = self
            .requests
            .into_iter()
            .filter(|(_, (_, t))| *t > 0)
            .map(|(key, (requests, throttled))| ThrottledKey {
                share: throttled as f64 / requests as f64,
                key,
                requests,
                throttled,
            })
            .collect();
        by_key.sort_by(|a, b| {
            b.throttled
                .cmp(&a.throttled)
                .then_with(|| a.key.cmp(&b.key))
        });
        by_key.truncate(opts.top);
        let shown: std::collections::HashSet<&str> =
            by_key.iter().map(|k| k.key.as_str()).collect();
        let mut series: Vec<ThrottledBin> = self
            .series
            .into_iter()
            .filter(|((k, _), _)| shown.contains(k.as_str()))
            .map(|((key, bin), throttled)| ThrottledBin {
                bin_start: Timestamp::from_nanos(bin),
                bin_start_ns: bin,
                key,
                throttled,
            })
            .collect();
        series.sort_by(|a, b| (a.bin_start_ns, &a.key).cmp(&(b.bin_start_ns, &b.key)));
        self.guard
            .sort_by(|a, b| (a.time, &a.resource, &a.verb).cmp(&(b.time, &b.resource, &b.verb)));
        ThrottlingReport {
            requests,
            throttled,
            by_key,
            series,
            guard_events: self.guard,
        }
    }
}

/// One key's throttled requests.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThrottledKey {
    /// User agent or username.
    pub key: String,
    /// Its requests (final-stage events) in the window.
    pub requests: u64,
    /// Of which answered 429.
    pub throttled: u64,
    /// `throttled / requests`.
    pub share: f64,
}

/// 429s of one key in one bin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThrottledBin {
    /// User agent or username.
    pub key: String,
    /// Bin start (KQL `bin`).
    pub bin_start: Timestamp,
    #[serde(skip)]
    pub(crate) bin_start_ns: i64,
    /// 429 responses.
    pub throttled: u64,
}

/// What the throttling diagnosis found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThrottlingReport {
    /// Requests (final-stage events) in the window.
    pub requests: u64,
    /// Of which answered 429.
    pub throttled: u64,
    /// Keys with 429s, most throttled first (top N).
    pub by_key: Vec<ThrottledKey>,
    /// 429s per bin for those keys.
    pub series: Vec<ThrottledBin>,
    /// Changes to the `aks-managed-apiserver-guard` objects, by time.
    pub guard_events: Vec<GuardEvent>,
}

impl super::Diagnosis for ThrottleDetector {
    const NAME: &'static str = "throttling";
    type Report = ThrottlingReport;

    /// Throttling (Cause 4): 429s per client and bin, and changes to the AKS API server guard.
    fn projection(opts: &DiagnoseOptions) -> crate::Projection {
        super::base_projection(opts).union(crate::Projection::of(&[
            Column::StatusCode,
            Column::Verb,
            Column::Resource,
            Column::Name,
            Column::Username,
            Column::UserAgent,
        ]))
    }

    fn add_frame(&mut self, f: &super::DiagnosisFrame<'_>, opts: &DiagnoseOptions) {
        self.add(f.cols(), opts);
    }

    fn merge(&mut self, other: Self) {
        self.merge_from(other);
    }

    fn finish(self, opts: &DiagnoseOptions) -> ThrottlingReport {
        self.report(opts)
    }
}

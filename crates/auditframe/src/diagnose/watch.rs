//! Watch load: what ranking by request count hides. A watch is one request held open for
//! minutes; informer-heavy clients make few requests and hold many watches.
//!
//! Rules (documented in the README): a watch is a `verb = watch` request, identified by its
//! audit ID; it is held from its `request_received` to the `stage_timestamp` of its
//! `ResponseComplete` event. A watch whose `ResponseComplete` is not in the input (still
//! open when the export ends) is held until the end of the window (its upper bound, or the
//! newest time read) and counted as `open`. Watches with no audit ID or no received time
//! cannot be placed in time and are counted apart (`unplaced`).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::rows::Cols;
use super::{max_some, ratio, DiagnoseOptions};
use crate::analysis::bin_start;
use crate::schema::{Column, Projection};
use crate::time::Timestamp;
use crate::timestamp::NANOS_PER_SECOND;

/// (key, resource).
type WatchKey = (String, Option<String>);

#[derive(Debug, Clone, Default, PartialEq)]
struct Watch {
    key: WatchKey,
    received: i64,
    /// `None`: no `ResponseComplete` seen (yet).
    end: Option<i64>,
}

/// The mergeable state of the watch-load diagnosis.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WatchLoad {
    /// By audit ID.
    watches: HashMap<String, Watch>,
    unplaced: u64,
    /// Requests per key (every verb), for the load-versus-requests table.
    requests: HashMap<String, u64>,
    /// The newest time read (the end of open watches when the window has no upper bound).
    latest: Option<i64>,
}

impl WatchLoad {
    fn add(&mut self, c: &Cols) {
        let watch = c.verb.code_of("watch");
        let started = c.stage.code_of("ResponseStarted");
        // Per key code (the last slot: null).
        let mut requests = vec![0u64; c.key.len as usize + 1];
        let mut ids = c.audit_id.cursor();
        for i in 0..c.height {
            let t = c.time.at(i);
            if !c.in_window(t) {
                continue;
            }
            if let Some(t) = t {
                self.latest = Some(self.latest.map_or(t, |l| l.max(t)));
            }
            let stage = c.stage.at(i);
            let complete = c.keep(i);
            if complete {
                if let Some(n) = requests.get_mut(c.key.at(i) as usize) {
                    *n += 1;
                }
            }
            if watch.is_none() || Some(c.verb.at(i)) != watch {
                continue;
            }
            if !complete && Some(stage) != started {
                continue;
            }
            let (Some(id), Some(received)) = (ids.at(i), c.received.at(i)) else {
                if complete {
                    self.unplaced += 1;
                }
                continue;
            };
            let w = self.watches.entry(id.to_owned()).or_insert_with(|| Watch {
                key: (
                    c.key_of(&c.key, c.key.at(i)),
                    c.str_of(&c.resource, i).map(str::to_owned),
                ),
                received,
                end: None,
            });
            if complete {
                w.end = c.stage_time.at(i).or(Some(received));
            }
        }
        for (k, n) in requests.into_iter().enumerate().filter(|(_, n)| *n > 0) {
            *self.requests.entry(c.key_of(&c.key, k as u32)).or_default() += n;
        }
    }

    fn merge_from(&mut self, o: WatchLoad) {
        for (id, w) in o.watches {
            match self.watches.get_mut(&id) {
                Some(mine) => {
                    mine.end = mine.end.or(w.end);
                    mine.received = mine.received.min(w.received);
                }
                None => {
                    self.watches.insert(id, w);
                }
            }
        }
        self.unplaced += o.unplaced;
        for (k, n) in o.requests {
            *self.requests.entry(k).or_default() += n;
        }
        self.latest = max_some(self.latest, o.latest);
    }

    fn report(self, opts: &DiagnoseOptions) -> WatchReport {
        let window_end = opts
            .window
            .bounds(self.latest)
            .map(|(_, hi)| hi)
            .filter(|hi| *hi != i64::MAX)
            .or(self.latest);
        // Intervals per (key, resource); open ones end at the window's end.
        let mut per: BTreeMap<WatchKey, Vec<(i64, i64, bool)>> = BTreeMap::new();
        for w in self.watches.into_values() {
            let (end, open) = match w.end {
                Some(e) => (e, false),
                None => (window_end.unwrap_or(w.received), true),
            };
            per.entry(w.key)
                .or_default()
                .push((w.received, end.max(w.received), open));
        }
        let mut rows = Vec::new();
        let mut series = Vec::new();
        let mut held_by_key: HashMap<String, (u64, i128)> = HashMap::new();
        for ((key, resource), intervals) in per {
            let held: i128 = intervals.iter().map(|(s, e, _)| i128::from(e - s)).sum();
            let open = intervals.iter().filter(|(_, _, o)| *o).count() as u64;
            let peaks = peak_concurrency(&intervals, opts.bin_ns);
            let max_concurrent = peaks.iter().map(|(_, m)| *m).max().unwrap_or(0);
            let e = held_by_key.entry(key.clone()).or_default();
            e.0 += intervals.len() as u64;
            e.1 += held;
            for (bin, max) in peaks {
                series.push(WatchBin {
                    key: key.clone(),
                    resource: resource.clone(),
                    bin_start: Timestamp::from_nanos(bin),
                    max_concurrent: max,
                });
            }
            rows.push(WatchRow {
                key,
                resource,
                watches: intervals.len() as u64,
                open,
                watch_seconds: held as f64 / NANOS_PER_SECOND as f64,
                max_concurrent,
            });
        }
        rows.sort_by(|a, b| {
            b.watch_seconds
                .total_cmp(&a.watch_seconds)
                .then_with(|| a.key.cmp(&b.key))
                .then_with(|| a.resource.cmp(&b.resource))
        });
        let total_requests: u64 = self.requests.values().sum();
        let total_held: i128 = held_by_key.values().map(|(_, h)| h).sum();
        let mut by_count: Vec<(&String, &u64)> = self.requests.iter().collect();
        by_count.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        let rank_of: HashMap<&String, usize> = by_count
            .iter()
            .enumerate()
            .map(|(i, (k, _))| (*k, i + 1))
            .collect();
        let mut top_by_load: Vec<LoadRow> = held_by_key
            .iter()
            .map(|(k, (n, held))| {
                let requests = self.requests.get(k).copied().unwrap_or(0);
                LoadRow {
                    key: k.clone(),
                    watches: *n,
                    watch_seconds: *held as f64 / NANOS_PER_SECOND as f64,
                    load_share: ratio(*held, total_held),
                    requests,
                    request_share: ratio(i128::from(requests), i128::from(total_requests)),
                    rank_by_requests: rank_of.get(k).copied(),
                }
            })
            .collect();
        top_by_load.sort_by(|a, b| {
            b.watch_seconds
                .total_cmp(&a.watch_seconds)
                .then_with(|| a.key.cmp(&b.key))
        });
        top_by_load.truncate(opts.top);
        let watches = rows.iter().map(|r| r.watches).sum();
        let open = rows.iter().map(|r| r.open).sum();
        rows.truncate(opts.top);
        series.sort_by(|a, b| {
            (a.bin_start, &a.key, &a.resource).cmp(&(b.bin_start, &b.key, &b.resource))
        });
        WatchReport {
            watches,
            open,
            unplaced: self.unplaced,
            watch_seconds: total_held as f64 / NANOS_PER_SECOND as f64,
            by_key_resource: rows,
            top_by_load,
            series,
        }
    }
}

/// The most watches open at once in each bin an interval touches. An interval is open on
/// `[start, end)`; a watch ending as another starts does not overlap it.
fn peak_concurrency(intervals: &[(i64, i64, bool)], bin_ns: i64) -> Vec<(i64, u64)> {
    // Ends before starts at the same instant.
    let mut events: Vec<(i64, i8)> = Vec::with_capacity(intervals.len() * 2);
    for &(s, e, _) in intervals {
        events.push((s, 1));
        events.push((e.max(s), -1));
    }
    events.sort_unstable();
    let mut peaks: BTreeMap<i64, u64> = BTreeMap::new();
    let mut open: u64 = 0;
    let mut last_t: Option<i64> = None;
    for (t, d) in events {
        // Every bin from the previous event to this one held `open` watches throughout.
        if let Some(prev) = last_t {
            if open > 0 && t > prev {
                let mut b = bin_start(prev, bin_ns);
                while b < t {
                    let p = peaks.entry(b).or_default();
                    *p = (*p).max(open);
                    b = b.saturating_add(bin_ns.max(1));
                }
            }
        }
        if d > 0 {
            open += 1;
        } else {
            open = open.saturating_sub(1);
        }
        last_t = Some(t);
    }
    peaks.into_iter().collect()
}

/// Watches of one key on one resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WatchRow {
    /// The user agent or username.
    pub key: String,
    /// The watched resource.
    pub resource: Option<String>,
    /// Watches (requests).
    pub watches: u64,
    /// Of those, still open at the end of the window.
    pub open: u64,
    /// Total time held, seconds.
    pub watch_seconds: f64,
    /// The most open at once.
    pub max_concurrent: u64,
}

/// One key's watch load next to its request count.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadRow {
    /// The user agent or username.
    pub key: String,
    /// Watches.
    pub watches: u64,
    /// Watch-seconds held.
    pub watch_seconds: f64,
    /// Of all watch-seconds.
    pub load_share: f64,
    /// Requests of every verb (one per request).
    pub requests: u64,
    /// Of all requests.
    pub request_share: f64,
    /// Its place in a ranking by request count (1 = most requests).
    pub rank_by_requests: Option<usize>,
}

/// The most watches of one key and resource open at once in one bin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WatchBin {
    /// The user agent or username.
    pub key: String,
    /// The watched resource.
    pub resource: Option<String>,
    /// Bin start (KQL `bin`).
    pub bin_start: Timestamp,
    /// The most open at once during the bin.
    pub max_concurrent: u64,
}

/// What the watch-load diagnosis found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WatchReport {
    /// Watches placed in time.
    pub watches: u64,
    /// Of those, still open at the end of the window.
    pub open: u64,
    /// Completed watches without an audit ID or received time.
    pub unplaced: u64,
    /// Total watch-seconds held.
    pub watch_seconds: f64,
    /// Per key and resource, by watch-seconds.
    pub by_key_resource: Vec<WatchRow>,
    /// Keys by watch-seconds, with their request counts: informers show up here.
    pub top_by_load: Vec<LoadRow>,
    /// Peak concurrent watches per key, resource and bin.
    pub series: Vec<WatchBin>,
}

impl super::Diagnosis for WatchLoad {
    const NAME: &'static str = "watches";
    type Report = WatchReport;

    /// Watch requests by audit ID, held from received to completion.
    fn projection(opts: &DiagnoseOptions) -> Projection {
        super::base_projection(opts).union(Projection::of(&[
            Column::Verb,
            Column::Resource,
            Column::AuditId,
            Column::RequestReceived,
            Column::StageTimestamp,
        ]))
    }

    fn add_frame(&mut self, f: &super::DiagnosisFrame<'_>, _opts: &DiagnoseOptions) {
        self.add(f.cols());
    }

    fn merge(&mut self, other: Self) {
        self.merge_from(other);
    }

    fn finish(self, opts: &DiagnoseOptions) -> WatchReport {
        self.report(opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_counts_overlaps_per_bin() {
        let m = 60 * NANOS_PER_SECOND;
        // Two overlapping in bin 0, one alone in bin 1, back to back (no overlap) at 7 m.
        let iv = [
            (0, 3 * m, false),
            (m, 2 * m, false),
            (6 * m, 7 * m, false),
            (7 * m, 8 * m, false),
        ];
        assert_eq!(peak_concurrency(&iv, 5 * m), vec![(0, 2), (5 * m, 1)]);
        assert!(peak_concurrency(&[], 5 * m).is_empty());
    }
}

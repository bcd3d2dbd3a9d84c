//! "What changed": the guide's three answers for two sides (two windows, two clusters) and
//! their per-key differences, ranked by change.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Analysis;
use crate::{Error, Result};

/// Requests of one key on both sides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestsDelta {
    /// The key.
    pub key: String,
    /// Requests before (0 when the key is absent).
    pub before: u64,
    /// Requests after (0 when the key is absent).
    pub after: u64,
    /// `after − before`.
    pub delta: i64,
}

/// Average latency of one key over its side's whole window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyDelta {
    /// The key.
    pub key: String,
    /// Average latency before, ms (`None`: no latency on that side).
    pub before_avg_ms: Option<f64>,
    /// Average latency after, ms.
    pub after_avg_ms: Option<f64>,
    /// `after − before`, a missing side counted as 0.
    pub delta_ms: f64,
    /// Latencies averaged before.
    pub before_count: u64,
    /// Latencies averaged after.
    pub after_count: u64,
}

/// One percentile of one (key, verb, resource) on both sides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PercentileDelta {
    /// The key.
    pub key: String,
    /// Verb.
    pub verb: String,
    /// Resource.
    pub resource: String,
    /// The value before, ms (`None`: the group is absent).
    pub before_ms: Option<i64>,
    /// The value after, ms.
    pub after_ms: Option<i64>,
    /// `after − before`, a missing side counted as 0.
    pub delta_ms: i64,
    /// Latencies in the group before.
    pub before_count: u64,
    /// Latencies in the group after.
    pub after_count: u64,
}

/// Two analyses side by side: every key's change, largest change first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Rows analysed before.
    pub before_rows: u64,
    /// Rows analysed after.
    pub after_rows: u64,
    /// The percentile compared (99 unless asked otherwise).
    pub percentile: f64,
    /// Requests per key, by |delta| (then key).
    pub requests: Vec<RequestsDelta>,
    /// Average latency per key, by |delta_ms| (then key).
    pub latency: Vec<LatencyDelta>,
    /// The percentile per (key, verb, resource), by |delta_ms| (then key, verb, resource).
    pub percentiles: Vec<PercentileDelta>,
}

/// Compares two analyses made with the same key: requests, average latency per key (over
/// each side's latency series) and `percentile` per (key, verb, resource), ranked by the size
/// of the change. A key or group present on one side only compares against 0 and shows the
/// missing side as `None`.
///
/// Both analyses must cover every key: compute them with
/// [`AnalysisOptions::with_top(usize::MAX)`](crate::AnalysisOptions::with_top) (a top-N list
/// would make the keys outside it look absent), and with `percentile` among their
/// percentiles.
///
/// ```
/// use auditframe::analysis::compare;
/// use auditframe::generate::{Generator, GeneratorOptions};
/// use auditframe::{analyze, AnalysisOptions, AuditFrame, ParseOptions, Shape, TimeWindow};
///
/// let mut data = Vec::new();
/// Generator::new(GeneratorOptions::default().with_events(4000).with_story(true))
///     .write(Shape::AksAudit, &mut data);
/// let (frame, _) = AuditFrame::from_slice(&data, &ParseOptions::new())?;
/// let (start, end) = frame.time_range().ok_or("no rows")?;
/// let mid = start + (end - start) / 2;
/// let side = |start, end| {
///     AnalysisOptions::default().with_top(usize::MAX).with_window(TimeWindow::Between { start, end })
/// };
/// let before = analyze(&frame, &side(start, mid))?;
/// let after = analyze(&frame, &side(mid, end))?;
/// let c = compare(&before, &after, 99.0)?;
/// let biggest = &c.requests[0];
/// assert_eq!(biggest.delta, biggest.after as i64 - biggest.before as i64);
/// assert!(c.requests.windows(2).all(|w| w[0].delta.abs() >= w[1].delta.abs()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn compare(before: &Analysis, after: &Analysis, percentile: f64) -> Result<Comparison> {
    if before.group_by != after.group_by {
        return Err(Error::schema(format!(
            "cannot compare analyses grouped by {} and by {}",
            before.group_by.name(),
            after.group_by.name()
        )));
    }
    for (side, a) in [("before", before), ("after", after)] {
        let counted: u64 = a.top.iter().map(|t| t.count).sum();
        if counted != a.rows {
            return Err(Error::schema(format!(
                "the {side} analysis lists {counted} of its {} rows by key: compute it with top = usize::MAX",
                a.rows
            )));
        }
        if !a.percentiles.contains(&percentile) {
            return Err(Error::schema(format!(
                "the {side} analysis has no P{percentile}"
            )));
        }
    }
    Ok(Comparison {
        before_rows: before.rows,
        after_rows: after.rows,
        percentile,
        requests: requests(before, after),
        latency: latency(before, after),
        percentiles: percentiles(before, after, percentile),
    })
}

fn requests(before: &Analysis, after: &Analysis) -> Vec<RequestsDelta> {
    let mut both: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for t in &before.top {
        both.entry(&t.key).or_default().0 += t.count;
    }
    for t in &after.top {
        both.entry(&t.key).or_default().1 += t.count;
    }
    let mut v: Vec<RequestsDelta> = both
        .into_iter()
        .map(|(key, (b, a))| RequestsDelta {
            key: key.to_owned(),
            before: b,
            after: a,
            delta: i64::try_from(a).unwrap_or(i64::MAX) - i64::try_from(b).unwrap_or(i64::MAX),
        })
        .collect();
    // Stable: equal changes stay in key order.
    v.sort_by_key(|d| std::cmp::Reverse(d.delta.unsigned_abs()));
    v
}

/// (latency sum, count) per key over a side's series.
fn sums(a: &Analysis) -> BTreeMap<&str, (f64, u64)> {
    let mut m: BTreeMap<&str, (f64, u64)> = BTreeMap::new();
    for p in &a.latency {
        let e = m.entry(p.key.as_str()).or_default();
        e.0 += p.avg_ms * p.count as f64;
        e.1 += p.count;
    }
    m
}

fn latency(before: &Analysis, after: &Analysis) -> Vec<LatencyDelta> {
    let (b, a) = (sums(before), sums(after));
    let keys: std::collections::BTreeSet<&str> = b.keys().chain(a.keys()).copied().collect();
    let avg = |m: &BTreeMap<&str, (f64, u64)>, k: &str| match m.get(k) {
        Some(&(sum, n)) if n > 0 => (Some(sum / n as f64), n),
        _ => (None, 0),
    };
    let mut v: Vec<LatencyDelta> = keys
        .into_iter()
        .map(|k| {
            let (before_avg_ms, before_count) = avg(&b, k);
            let (after_avg_ms, after_count) = avg(&a, k);
            LatencyDelta {
                key: k.to_owned(),
                delta_ms: after_avg_ms.unwrap_or(0.0) - before_avg_ms.unwrap_or(0.0),
                before_avg_ms,
                after_avg_ms,
                before_count,
                after_count,
            }
        })
        .collect();
    v.sort_by(|x, y| y.delta_ms.abs().total_cmp(&x.delta_ms.abs()));
    v
}

fn percentiles(before: &Analysis, after: &Analysis, p: f64) -> Vec<PercentileDelta> {
    type Side = (Option<i64>, u64);
    let mut both: BTreeMap<(&str, &str, &str), (Side, Side)> = BTreeMap::new();
    for r in &before.percentile_rows {
        let e = both.entry((&r.key, &r.verb, &r.resource)).or_default();
        e.0 = (r.get(p), r.count);
    }
    for r in &after.percentile_rows {
        let e = both.entry((&r.key, &r.verb, &r.resource)).or_default();
        e.1 = (r.get(p), r.count);
    }
    let mut v: Vec<PercentileDelta> = both
        .into_iter()
        .map(
            |((key, verb, resource), ((b, bn), (a, an)))| PercentileDelta {
                key: key.to_owned(),
                verb: verb.to_owned(),
                resource: resource.to_owned(),
                before_ms: b,
                after_ms: a,
                delta_ms: a.unwrap_or(0).saturating_sub(b.unwrap_or(0)),
                before_count: bn,
                after_count: an,
            },
        )
        .collect();
    v.sort_by_key(|d| std::cmp::Reverse(d.delta_ms.unsigned_abs()));
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{LatencyPoint, PercentileRow, TopEntry};
    use crate::{GroupKey, Timestamp};

    fn analysis(top: &[(&str, u64)], lat: &[(&str, f64, u64)], p99: &[(&str, i64)]) -> Analysis {
        Analysis {
            rows: top.iter().map(|t| t.1).sum(),
            group_by: GroupKey::UserAgent,
            bin_ns: 300_000_000_000,
            percentiles: vec![99.0],
            top: top
                .iter()
                .map(|&(k, c)| TopEntry {
                    key: k.into(),
                    count: c,
                })
                .collect(),
            latency: lat
                .iter()
                .enumerate()
                .map(|(i, &(k, avg, n))| LatencyPoint {
                    key: k.into(),
                    bin_start: Timestamp::from_nanos(i as i64),
                    avg_ms: avg,
                    count: n,
                })
                .collect(),
            percentile_rows: p99
                .iter()
                .map(|&(k, v)| PercentileRow {
                    key: k.into(),
                    verb: "list".into(),
                    resource: "pods".into(),
                    count: 1,
                    values: vec![(99.0, v)],
                })
                .collect(),
        }
    }

    #[test]
    fn deltas_are_ranked_and_absent_sides_count_as_zero() {
        let before = analysis(
            &[("a", 10), ("b", 5), ("gone", 3)],
            &[("a", 100.0, 2), ("a", 200.0, 2), ("b", 50.0, 1)],
            &[("a", 300), ("b", 40)],
        );
        let after = analysis(
            &[("a", 12), ("b", 50), ("new", 1)],
            &[("a", 150.0, 4), ("new", 900.0, 1)],
            &[("a", 310), ("new", 5000)],
        );
        let c = compare(&before, &after, 99.0).unwrap();
        let req: Vec<(&str, i64)> = c
            .requests
            .iter()
            .map(|d| (d.key.as_str(), d.delta))
            .collect();
        assert_eq!(req, vec![("b", 45), ("gone", -3), ("a", 2), ("new", 1)]);
        let lat: Vec<(&str, f64)> = c
            .latency
            .iter()
            .map(|d| (d.key.as_str(), d.delta_ms))
            .collect();
        assert_eq!(lat, vec![("new", 900.0), ("b", -50.0), ("a", 0.0)]);
        assert_eq!(c.latency[2].before_avg_ms, Some(150.0));
        assert_eq!(c.latency[1].after_avg_ms, None);
        let p: Vec<(&str, i64)> = c
            .percentiles
            .iter()
            .map(|d| (d.key.as_str(), d.delta_ms))
            .collect();
        assert_eq!(p, vec![("new", 5000), ("b", -40), ("a", 10)]);
    }

    #[test]
    fn incomplete_or_mismatched_analyses_are_refused() {
        let full = analysis(&[("a", 1)], &[], &[]);
        let mut cut = analysis(&[("a", 1)], &[], &[]);
        cut.rows = 2;
        assert!(compare(&full, &cut, 99.0).is_err());
        let mut by_user = full.clone();
        by_user.group_by = GroupKey::User;
        assert!(compare(&full, &by_user, 99.0).is_err());
        assert!(compare(&full, &full, 50.0).is_err());
        assert!(compare(&full, &full, 99.0).is_ok());
    }
}

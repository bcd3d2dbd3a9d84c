//! The guide's three questions: top user agents (or users) by requests, average latency per
//! key in time bins, and latency percentiles per verb and resource.
//!
//! Semantics follow KQL (see the crate README's *Semantics* section):
//! - latency is `datetime_diff('millisecond', stage_timestamp, request_received)`; rows with
//!   a null latency are left out of the series and percentiles but counted by Top N;
//! - `bin(t, B)` floors `request_received` to a multiple of `B` counted from
//!   0001-01-01T00:00:00Z (Kusto's datetime origin; the same as the Unix epoch for bins that
//!   divide a day);
//! - percentiles are **exact nearest-rank** (Log Analytics' `percentile()` is a T-Digest
//!   estimate of the same definition, so the portal may differ slightly);
//! - rows whose `resource` is null or empty are left out of the percentiles
//!   (`where Resource != ""`).

pub(crate) mod columns;
mod compare;
mod contract;
mod kernel;
pub use kernel::LONG_RUNNING_SUBRESOURCES;
mod options;
mod partial;
mod sketch;

use polars::prelude as pl;
use polars::prelude::{IntoSeries, NamedFrom, PlSmallStr};
use serde::Serialize;

pub use compare::{compare, Comparison, LatencyDelta, PercentileDelta, RequestsDelta};
pub use contract::{AnalysisContract, AnalysisDocument, ReadContract, WindowContract};
pub use options::{parse_duration, AnalysisOptions, GroupKey, TimeWindow};
pub use partial::{Partial, SumCount};
pub use sketch::LatencySketch;

use crate::time::Timestamp;
use crate::{AuditFrame, Result};

/// Nanoseconds from 0001-01-01T00:00:00Z (Kusto's datetime origin) to the Unix epoch.
const KUSTO_ORIGIN_OFFSET_NS: i128 = 62_135_596_800 * 1_000_000_000;

/// KQL `bin(t, width)`: `t` floored to a multiple of `width` counted from 0001-01-01.
///
/// ```
/// use auditframe::analysis::{bin_start, parse_duration};
/// use auditframe::time::parse_timestamp;
/// let t = parse_timestamp("2026-11-20T10:07:59.9Z")?;
/// assert_eq!(bin_start(t, parse_duration("5m")?), parse_timestamp("2026-11-20T10:05:00Z")?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn bin_start(t_ns: i64, width_ns: i64) -> i64 {
    if width_ns <= 0 {
        return t_ns;
    }
    let w = i128::from(width_ns);
    let since_origin = i128::from(t_ns) + KUSTO_ORIGIN_OFFSET_NS;
    let floored = since_origin.div_euclid(w) * w - KUSTO_ORIGIN_OFFSET_NS;
    // Always within one bin below t, so it fits unless t is near i64::MIN.
    i64::try_from(floored).unwrap_or(i64::MIN)
}

/// 1-based nearest rank of percentile `p` among `n` values: `ceil(p/100 · n)`, at least 1.
/// Computed in integers (p to 1e-6 precision) so that e.g. p99 of 100 values is rank 99,
/// not 100 through float rounding.
pub fn percentile_rank(p: f64, n: usize) -> usize {
    let p_micro = (p.clamp(0.0, 100.0) * 1e6).round() as u128;
    let num = p_micro * n as u128;
    let den = 100_000_000u128;
    (num.div_ceil(den) as usize).clamp(1, n.max(1))
}

/// One Top N row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopEntry {
    /// The user agent or username.
    pub key: String,
    /// Requests (event rows).
    pub count: u64,
}

/// One point of the latency series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyPoint {
    /// The key.
    pub key: String,
    /// Bin start (KQL `bin(request_received, width)`).
    pub bin_start: Timestamp,
    /// Mean latency, ms.
    pub avg_ms: f64,
    /// Latencies in the bin.
    pub count: u64,
}

/// Latency percentiles of one (key, verb, resource).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PercentileRow {
    /// The key.
    pub key: String,
    /// Verb.
    pub verb: String,
    /// Resource.
    pub resource: String,
    /// Latencies in the group.
    pub count: u64,
    /// (percentile, exact nearest-rank value in ms), ascending by percentile.
    pub values: Vec<(f64, i64)>,
}

impl PercentileRow {
    /// The value of percentile `p`, if it was computed.
    pub fn get(&self, p: f64) -> Option<i64> {
        self.values.iter().find(|(q, _)| *q == p).map(|(_, v)| *v)
    }
}

/// The JSON field name of a percentile: `p99_ms`, `p99.9_ms`, `p50_ms`.
pub fn percentile_field(p: f64) -> String {
    format!("p{}_ms", format_percentile(p))
}

fn format_percentile(p: f64) -> String {
    let s = format!("{p}");
    s.strip_suffix(".0").map(str::to_owned).unwrap_or(s)
}

/// The results of the three analyses.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    /// Rows in the window (after the stage filter).
    pub rows: u64,
    /// The key grouped by.
    pub group_by: GroupKey,
    /// Bin width of the series, ns.
    pub bin_ns: i64,
    /// The percentiles computed, ascending.
    pub percentiles: Vec<f64>,
    /// Top N by request count.
    pub top: Vec<TopEntry>,
    /// Average latency per key and bin (every key, not only the top N).
    pub latency: Vec<LatencyPoint>,
    /// Percentiles per key, verb and resource.
    pub percentile_rows: Vec<PercentileRow>,
}

impl Serialize for GroupKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl Analysis {
    /// Top N as a frame: `key` (String), `count` (UInt64).
    pub fn top_dataframe(&self) -> Result<pl::DataFrame> {
        let keys: Vec<&str> = self.top.iter().map(|t| t.key.as_str()).collect();
        let counts: Vec<u64> = self.top.iter().map(|t| t.count).collect();
        Ok(pl::DataFrame::new(
            keys.len(),
            vec![
                pl::Series::new(PlSmallStr::from_static("key"), keys).into(),
                pl::Series::new(PlSmallStr::from_static("count"), counts).into(),
            ],
        )?)
    }

    /// The series as a frame: `key`, `bin_start` (Datetime ns UTC), `avg_ms` (Float64), `count`.
    pub fn latency_dataframe(&self) -> Result<pl::DataFrame> {
        let l = &self.latency;
        let bins = pl::Int64Chunked::from_vec(
            PlSmallStr::from_static("bin_start"),
            l.iter().map(|p| p.bin_start.nanos()).collect(),
        )
        .into_datetime(pl::TimeUnit::Nanoseconds, Some(pl::TimeZone::UTC))
        .into_series();
        Ok(pl::DataFrame::new(
            l.len(),
            vec![
                pl::Series::new(
                    PlSmallStr::from_static("key"),
                    l.iter().map(|p| p.key.as_str()).collect::<Vec<_>>(),
                )
                .into(),
                bins.into(),
                pl::Series::new(
                    PlSmallStr::from_static("avg_ms"),
                    l.iter().map(|p| p.avg_ms).collect::<Vec<_>>(),
                )
                .into(),
                pl::Series::new(
                    PlSmallStr::from_static("count"),
                    l.iter().map(|p| p.count).collect::<Vec<_>>(),
                )
                .into(),
            ],
        )?)
    }

    /// Percentiles as a frame: `key`, `verb`, `resource`, one Int64 column per percentile
    /// (`p99_ms`, …), `count`.
    pub fn percentiles_dataframe(&self) -> Result<pl::DataFrame> {
        let r = &self.percentile_rows;
        let mut cols: Vec<pl::Column> = vec![
            pl::Series::new(
                PlSmallStr::from_static("key"),
                r.iter().map(|x| x.key.as_str()).collect::<Vec<_>>(),
            )
            .into(),
            pl::Series::new(
                PlSmallStr::from_static("verb"),
                r.iter().map(|x| x.verb.as_str()).collect::<Vec<_>>(),
            )
            .into(),
            pl::Series::new(
                PlSmallStr::from_static("resource"),
                r.iter().map(|x| x.resource.as_str()).collect::<Vec<_>>(),
            )
            .into(),
        ];
        for &p in &self.percentiles {
            let v: Vec<Option<i64>> = r.iter().map(|x| x.get(p)).collect();
            cols.push(pl::Series::new(PlSmallStr::from(percentile_field(p)), v).into());
        }
        cols.push(
            pl::Series::new(
                PlSmallStr::from_static("count"),
                r.iter().map(|x| x.count).collect::<Vec<_>>(),
            )
            .into(),
        );
        Ok(pl::DataFrame::new(r.len(), cols)?)
    }
}

/// Runs the three analyses on a frame, in parallel on all threads.
///
/// The frame needs `request_received`, `latency_ms`, `verb`, `resource` and the key column;
/// `time_generated` for a window, `stage` for a stage filter, `subresource` for excluding
/// long-running requests ([`Projection::analyses`](crate::Projection::analyses) has them all).
///
/// ```
/// use auditframe::{analyze, AnalysisOptions, AuditFrame, ParseOptions};
/// let log = br#"{"kind":"Event","verb":"list","userAgent":"a","objectRef":{"resource":"pods"},"requestReceivedTimestamp":"2026-11-20T10:00:00Z","stageTimestamp":"2026-11-20T10:00:01Z"}
/// {"kind":"Event","verb":"list","userAgent":"a","objectRef":{"resource":"pods"},"requestReceivedTimestamp":"2026-11-20T10:06:00Z","stageTimestamp":"2026-11-20T10:06:03Z"}
/// {"kind":"Event","verb":"get","userAgent":"b","requestURI":"/healthz","requestReceivedTimestamp":"2026-11-20T10:06:00Z","stageTimestamp":"2026-11-20T10:06:00.002Z"}"#;
/// let (frame, _) = AuditFrame::from_slice(log, &ParseOptions::new())?;
/// let a = analyze(&frame, &AnalysisOptions::default())?;
/// assert_eq!((a.top[0].key.as_str(), a.top[0].count), ("a", 2));
/// assert_eq!(a.latency.len(), 3); // a@10:00, a@10:05, b@10:05
/// assert_eq!(a.percentile_rows[0].get(99.0), Some(3000)); // a, list, pods
/// assert_eq!(a.percentile_rows.len(), 1); // /healthz has no resource
/// # Ok::<(), auditframe::Error>(())
/// ```
pub fn analyze(frame: &AuditFrame, opts: &AnalysisOptions) -> Result<Analysis> {
    partial(frame, opts)?.finish(opts)
}

/// Which of the three analyses to compute. A part that is not asked for is left empty in
/// the [`Analysis`], costs nothing, and its columns need not be in the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    /// Top N (needs the key column).
    pub top: bool,
    /// The latency series (`latency_ms`, `request_received`).
    pub series: bool,
    /// The percentiles (`latency_ms`, `verb`, `resource`).
    pub percentiles: bool,
}

impl Parts {
    /// All three.
    pub const ALL: Parts = Parts {
        top: true,
        series: true,
        percentiles: true,
    };
    /// Only Top N.
    pub const TOP: Parts = Parts {
        top: true,
        series: false,
        percentiles: false,
    };
    /// Only the latency series.
    pub const SERIES: Parts = Parts {
        top: false,
        series: true,
        percentiles: false,
    };
    /// Only the percentiles.
    pub const PERCENTILES: Parts = Parts {
        top: false,
        series: false,
        percentiles: true,
    };
}

/// Computes only some of the analyses (see [`Parts`]); the others are empty.
///
/// ```
/// use auditframe::{AnalysisOptions, AuditFrame, Column, ParseOptions, Projection};
/// use auditframe::analysis::{analyze_parts, Parts};
/// let log = br#"{"kind":"Event","verb":"get","userAgent":"a"}"#;
/// // Top N needs only the key column.
/// let opts = ParseOptions::new().with_projection(Projection::of(&[Column::UserAgent]));
/// let (frame, _) = AuditFrame::from_slice(log, &opts)?;
/// let a = analyze_parts(&frame, &AnalysisOptions::default(), Parts::TOP)?;
/// assert_eq!(a.top[0].count, 1);
/// assert!(a.latency.is_empty() && a.percentile_rows.is_empty());
/// # Ok::<(), auditframe::Error>(())
/// ```
pub fn analyze_parts(frame: &AuditFrame, opts: &AnalysisOptions, parts: Parts) -> Result<Analysis> {
    let mut a = kernel::partial(frame, opts, parts, None)?.finish(opts)?;
    if !parts.top {
        a.top.clear();
    }
    Ok(a)
}

/// The mergeable partial aggregate of a frame (see [`Partial`]), computed on all threads.
pub fn partial(frame: &AuditFrame, opts: &AnalysisOptions) -> Result<Partial> {
    kernel::partial(frame, opts, Parts::ALL, None)
}

/// [`partial`] on exactly `threads` threads (a dedicated pool), e.g. to measure speed-up.
pub fn partial_with_threads(
    frame: &AuditFrame,
    opts: &AnalysisOptions,
    threads: usize,
) -> Result<Partial> {
    kernel::partial(frame, opts, Parts::ALL, Some(threads))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks() {
        assert_eq!(percentile_rank(99.0, 100), 99);
        assert_eq!(percentile_rank(99.0, 101), 100);
        assert_eq!(percentile_rank(50.0, 1), 1);
        assert_eq!(percentile_rank(0.0, 10), 1);
        assert_eq!(percentile_rank(100.0, 10), 10);
        assert_eq!(percentile_rank(99.9, 1000), 999);
        assert_eq!(percentile_rank(90.0, 10), 9);
        assert_eq!(percentile_rank(33.0, 3), 1);
    }

    #[test]
    fn bins_use_the_kusto_origin() {
        let m = 60_000_000_000i64;
        // 5m bins divide a day: same as epoch alignment.
        assert_eq!(bin_start(7 * m + 1, 5 * m), 5 * m);
        assert_eq!(bin_start(-1, 5 * m), -5 * m);
        // 7m bins: 0001-01-01 origin. Minutes from origin to epoch = 1035593280 = 7·147941897 + 1,
        // so bins start 1 minute after multiples of 7 minutes past the epoch... minus 7.
        assert_eq!(bin_start(0, 7 * m), -m);
        assert_eq!(bin_start(6 * m, 7 * m), 6 * m);
        assert_eq!(percentile_field(99.9), "p99.9_ms");
        assert_eq!(percentile_field(99.0), "p99_ms");
    }
}

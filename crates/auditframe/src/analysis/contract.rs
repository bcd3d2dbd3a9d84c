//! The JSON contract of the analyses' answers and of a read: what `analyze --format json`
//! prints and what the Python package's `analyze()` returns. One serialisation, so that the
//! front ends cannot drift apart.

use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::Serialize;

use super::{percentile_field, Analysis, LatencyPoint, PercentileRow, TopEntry};
use crate::time::{format_timestamp_secs, format_whole_unit, format_window_bound};
use crate::ParseReport;

/// An [`Analysis`] in the JSON contract: `rows`, `group_by`, `top` (`key`, `count`),
/// `latency` (`key`, `bin_start` to the second, `avg_ms`, `count`), `p99` (`key`, `verb`,
/// `resource`, one `p<P>_ms` field per percentile, `count`), `bin` (`5m`), `percentiles`
/// and `percentile_relative_error` (`null` when percentiles are exact).
///
/// ```
/// use auditframe::{analyze, AnalysisOptions, AuditFrame, ParseOptions};
///
/// let log = br#"{"kind":"Event","verb":"list","userAgent":"ci/1.0","objectRef":{"resource":"pods"},"stage":"ResponseComplete","requestReceivedTimestamp":"2026-11-20T10:07:01.5Z","stageTimestamp":"2026-11-20T10:07:02Z"}"#;
/// let (frame, _) = AuditFrame::from_slice(log, &ParseOptions::new())?;
/// let opts = AnalysisOptions::default();
/// let answers = analyze(&frame, &opts)?;
/// let json = serde_json::to_value(answers.contract(opts.percentile_sketch()))?;
/// assert_eq!(json["bin"], "5m");
/// assert_eq!(json["top"][0], serde_json::json!({"key": "ci/1.0", "count": 1}));
/// assert_eq!(json["latency"][0]["bin_start"], "2026-11-20T10:05:00Z");
/// assert_eq!(json["p99"][0]["p99_ms"], 500);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct AnalysisContract<'a> {
    analysis: &'a Analysis,
    relative_error: Option<f64>,
}

impl Analysis {
    /// These answers in the JSON contract; `percentile_relative_error` is the sketch's
    /// relative error when percentiles were sketched
    /// ([`AnalysisOptions::percentile_sketch`](super::AnalysisOptions::percentile_sketch)).
    pub fn contract(&self, percentile_relative_error: Option<f64>) -> AnalysisContract<'_> {
        AnalysisContract {
            analysis: self,
            relative_error: percentile_relative_error,
        }
    }
}

impl Serialize for AnalysisContract<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let a = self.analysis;
        let mut m = s.serialize_map(Some(8))?;
        m.serialize_entry("rows", &a.rows)?;
        m.serialize_entry("group_by", &a.group_by)?;
        m.serialize_entry("top", &Rows(&a.top))?;
        m.serialize_entry("latency", &Rows(&a.latency))?;
        m.serialize_entry("p99", &Rows(&a.percentile_rows))?;
        m.serialize_entry("bin", &format_whole_unit(a.bin_ns))?;
        m.serialize_entry("percentiles", &a.percentiles)?;
        m.serialize_entry("percentile_relative_error", &self.relative_error)?;
        m.end()
    }
}

/// A list of result rows, each in its contract form.
struct Rows<'a, T>(&'a [T]);

/// One row's contract form.
struct Row<'a, T>(&'a T);

impl<'a, T> Serialize for Rows<'a, T>
where
    Row<'a, T>: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for r in self.0 {
            seq.serialize_element(&Row(r))?;
        }
        seq.end()
    }
}

impl Serialize for Row<'_, TopEntry> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("key", &self.0.key)?;
        m.serialize_entry("count", &self.0.count)?;
        m.end()
    }
}

impl Serialize for Row<'_, LatencyPoint> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("key", &p.key)?;
        // Bins are whole seconds or coarser: no fraction, as in the portal's chart.
        m.serialize_entry("bin_start", &format_timestamp_secs(p.bin_start.nanos()))?;
        m.serialize_entry("avg_ms", &p.avg_ms)?;
        m.serialize_entry("count", &p.count)?;
        m.end()
    }
}

impl Serialize for Row<'_, PercentileRow> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut m = s.serialize_map(Some(4 + r.values.len()))?;
        m.serialize_entry("key", &r.key)?;
        m.serialize_entry("verb", &r.verb)?;
        m.serialize_entry("resource", &r.resource)?;
        for (p, v) in &r.values {
            m.serialize_entry(&percentile_field(*p), v)?;
        }
        m.serialize_entry("count", &r.count)?;
        m.end()
    }
}

/// An applied time window ([`TimeWindow::applied`](super::TimeWindow::applied)) in the JSON
/// contract: `{"start", "end"}` to the second, `…` for an open end; `null` for none.
///
/// ```
/// use auditframe::analysis::WindowContract;
/// let w = serde_json::to_value(WindowContract(Some((1_763_632_800_000_000_000, i64::MAX))))?;
/// assert_eq!(w, serde_json::json!({"start": "2025-11-20T10:00:00Z", "end": "…"}));
/// assert!(serde_json::to_value(WindowContract(None))?.is_null());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct WindowContract(pub Option<(i64, i64)>);

impl Serialize for WindowContract {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            None => s.serialize_none(),
            Some((start, end)) => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("start", &format_window_bound(start))?;
                m.serialize_entry("end", &format_window_bound(end))?;
                m.end()
            }
        }
    }
}

/// A read's counts in the JSON contract: `rows_read`, `skipped`, `skipped_by_reason`
/// (reason name → count), `truncated` (rows salvaged from cut-short events),
/// `other_category_rows`, `shape` and `errors` (the first few, with positions).
///
/// ```
/// use auditframe::{AuditFrame, ParseOptions};
///
/// let log = b"{\"kind\":\"Event\",\"verb\":\"get\",\"stage\":\"ResponseComplete\"}\nnot json\n";
/// let (_, report) = AuditFrame::from_slice(log, &ParseOptions::new())?;
/// let json = serde_json::to_value(report.contract())?;
/// assert_eq!(json["rows_read"], 1);
/// assert_eq!(json["skipped_by_reason"]["json"], 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ReadContract<'a>(&'a ParseReport);

impl ParseReport {
    /// This report in the JSON contract.
    pub fn contract(&self) -> ReadContract<'_> {
        ReadContract(self)
    }
}

impl Serialize for ReadContract<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut m = s.serialize_map(Some(7))?;
        m.serialize_entry("rows_read", &r.rows)?;
        m.serialize_entry("skipped", &r.skipped_total())?;
        m.serialize_entry("skipped_by_reason", &SkippedByReason(r))?;
        m.serialize_entry("truncated", &r.truncated_rows)?;
        m.serialize_entry("other_category_rows", &r.other_category)?;
        m.serialize_entry("shape", &r.shape.map(|s| s.name()))?;
        let errors: Vec<String> = r.errors.iter().map(|e| e.to_string()).collect();
        m.serialize_entry("errors", &errors)?;
        m.end()
    }
}

struct SkippedByReason<'a>(&'a ParseReport);

impl Serialize for SkippedByReason<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.skipped.iter().map(|(k, v)| (k.name(), v)))
    }
}

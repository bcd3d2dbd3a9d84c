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

/// An [`AnalysisContract`] with more top-level fields merged in (a read's counts, a run's
/// settings): the whole document `analyze --format json` prints. Keys come out in byte
/// order at every level, as from a `serde_json::Value` (the order the contract has always
/// had), but it is written straight to the serializer, with no tree of values in between.
/// Where a field has the name of one of the analysis', the analysis' wins.
///
/// ```
/// use auditframe::{analyze, AnalysisOptions, AuditFrame, ParseOptions};
///
/// let log = br#"{"kind":"Event","verb":"get","userAgent":"ci/1.0","stage":"ResponseComplete"}"#;
/// let (frame, _) = AuditFrame::from_slice(log, &ParseOptions::new())?;
/// let answers = analyze(&frame, &AnalysisOptions::default())?;
/// let mut read = serde_json::Map::new();
/// read.insert("format".into(), "native".into());
/// let text = serde_json::to_string(&answers.contract(None).with_fields(&read))?;
/// assert!(text.starts_with(r#"{"bin":"5m","format":"native","group_by":"#));
/// assert!(text.contains(r#""top":[{"count":1,"key":"ci/1.0"}]"#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct AnalysisDocument<'a, V> {
    contract: AnalysisContract<'a>,
    fields: Vec<(&'a str, &'a V)>,
}

impl<'a> AnalysisContract<'a> {
    /// This contract with `fields` (name, value) merged in at the top level, e.g. a
    /// `serde_json::Map`.
    pub fn with_fields<K, V>(
        self,
        fields: impl IntoIterator<Item = (&'a K, &'a V)>,
    ) -> AnalysisDocument<'a, V>
    where
        K: AsRef<str> + ?Sized + 'a,
        V: Serialize,
    {
        AnalysisDocument {
            contract: self,
            fields: fields.into_iter().map(|(k, v)| (k.as_ref(), v)).collect(),
        }
    }
}

/// One top-level entry of an [`AnalysisDocument`]: a merged-in field or one of the analysis'.
enum Entry<'a, V> {
    Field(&'a V),
    Own(Own),
}

/// The analysis' own top-level entries.
#[derive(Clone, Copy)]
enum Own {
    Rows,
    GroupBy,
    Top,
    Latency,
    Percentiles,
    Bin,
    PercentileList,
    RelativeError,
}

const OWN: [(&str, Own); 8] = [
    ("rows", Own::Rows),
    ("group_by", Own::GroupBy),
    ("top", Own::Top),
    ("latency", Own::Latency),
    ("p99", Own::Percentiles),
    ("bin", Own::Bin),
    ("percentiles", Own::PercentileList),
    ("percentile_relative_error", Own::RelativeError),
];

impl<V: Serialize> Serialize for AnalysisDocument<'_, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (a, relative_error) = (self.contract.analysis, self.contract.relative_error);
        let mut entries: Vec<(&str, Entry<'_, V>)> =
            OWN.iter().map(|&(k, own)| (k, Entry::Own(own))).collect();
        // Of two fields with one name the later wins, as in a map: fields go in last first,
        // a stable sort keeps that order among equal names, and the dedup keeps the first.
        entries.extend(
            self.fields
                .iter()
                .rev()
                .filter(|(k, _)| !OWN.iter().any(|(own, _)| own == k))
                .map(|&(k, v)| (k, Entry::Field(v))),
        );
        entries.sort_by(|x, y| x.0.cmp(y.0));
        entries.dedup_by(|later, earlier| later.0 == earlier.0);
        let mut m = s.serialize_map(Some(entries.len()))?;
        for (k, e) in entries {
            match e {
                Entry::Field(v) => m.serialize_entry(k, v)?,
                Entry::Own(Own::Rows) => m.serialize_entry(k, &a.rows)?,
                Entry::Own(Own::GroupBy) => m.serialize_entry(k, &a.group_by)?,
                Entry::Own(Own::Top) => m.serialize_entry(k, &Rows(&a.top))?,
                Entry::Own(Own::Latency) => m.serialize_entry(k, &Rows(&a.latency))?,
                Entry::Own(Own::Percentiles) => m.serialize_entry(k, &Rows(&a.percentile_rows))?,
                Entry::Own(Own::Bin) => m.serialize_entry(k, &format_whole_unit(a.bin_ns))?,
                Entry::Own(Own::PercentileList) => m.serialize_entry(k, &a.percentiles)?,
                Entry::Own(Own::RelativeError) => m.serialize_entry(k, &relative_error)?,
            }
        }
        m.end()
    }
}

impl Serialize for AnalysisContract<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        AnalysisDocument::<()> {
            contract: *self,
            fields: Vec::new(),
        }
        .serialize(s)
    }
}

/// A list of result rows, each in its contract form.
struct Rows<'a, T>(&'a [T]);

/// One row's contract form (keys in byte order, see [`AnalysisDocument`]).
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
        m.serialize_entry("count", &self.0.count)?;
        m.serialize_entry("key", &self.0.key)?;
        m.end()
    }
}

impl Serialize for Row<'_, LatencyPoint> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("avg_ms", &p.avg_ms)?;
        // Bins are whole seconds or coarser: no fraction, as in the portal's chart.
        m.serialize_entry("bin_start", &format_timestamp_secs(p.bin_start.nanos()))?;
        m.serialize_entry("count", &p.count)?;
        m.serialize_entry("key", &p.key)?;
        m.end()
    }
}

impl Serialize for Row<'_, PercentileRow> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        // `p<P>_ms` sorts between `key` and `resource`; a percentile asked twice is one field.
        let mut values: Vec<(String, i64)> = r
            .values
            .iter()
            .map(|(p, v)| (percentile_field(*p), *v))
            .collect();
        values.sort_by(|x, y| x.0.cmp(&y.0));
        values.dedup_by(|later, earlier| later.0 == earlier.0);
        let mut m = s.serialize_map(Some(4 + values.len()))?;
        m.serialize_entry("count", &r.count)?;
        m.serialize_entry("key", &r.key)?;
        for (field, v) in &values {
            m.serialize_entry(field, v)?;
        }
        m.serialize_entry("resource", &r.resource)?;
        m.serialize_entry("verb", &r.verb)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{Generator, GeneratorOptions};
    use crate::{analyze, AnalysisOptions, AuditFrame, ParseOptions, Shape};
    use serde_json::{json, Value};

    /// The document written straight to text is the text of its tree of values (whose maps
    /// sort their keys): same keys, same order, same numbers, at every level.
    #[test]
    fn document_is_written_as_its_value_tree_would_be() {
        let mut data = Vec::new();
        Generator::new(
            GeneratorOptions::default()
                .with_events(3000)
                .with_story(true),
        )
        .write(Shape::Native, &mut data);
        let (frame, report) = AuditFrame::from_slice(&data, &ParseOptions::new()).unwrap();
        let mut fields = match serde_json::to_value(report.contract()).unwrap() {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        fields.insert(
            "window".into(),
            serde_json::to_value(WindowContract(None)).unwrap(),
        );
        fields.insert("seconds".into(), json!({"read": 0.25, "total": 0.5}));
        // A field named like one of the analysis' is overridden by it.
        fields.insert("top".into(), json!("not the analysis"));
        for (percentiles, sketch) in [
            (vec![99.0], None),
            (vec![0.0, 50.0, 99.0, 99.9, 100.0, 99.0], None),
            (vec![90.0, 99.0], Some(0.01)),
        ] {
            let opts = AnalysisOptions::default()
                .with_top(usize::MAX)
                .with_percentiles(percentiles)
                .with_percentile_sketch(sketch);
            let a = analyze(&frame, &opts).unwrap();
            assert!(a.latency.len() > 10 && a.percentile_rows.len() > 3);
            let doc = a.contract(sketch).with_fields(&fields);
            let direct = serde_json::to_string(&doc).unwrap();
            let mut tree = fields.clone();
            if let Value::Object(m) = serde_json::to_value(a.contract(sketch)).unwrap() {
                tree.extend(m);
            }
            assert_eq!(direct, Value::Object(tree).to_string());
            assert_eq!(
                serde_json::to_string(&a.contract(sketch)).unwrap(),
                serde_json::to_value(a.contract(sketch))
                    .unwrap()
                    .to_string()
            );
        }
    }

    #[test]
    fn a_field_given_twice_is_written_once_with_its_later_value() {
        let (frame, _) = AuditFrame::from_slice(
            br#"{"kind":"Event","verb":"get","userAgent":"a","stage":"ResponseComplete"}"#,
            &ParseOptions::new(),
        )
        .unwrap();
        let a = analyze(&frame, &AnalysisOptions::default()).unwrap();
        let fields = [("x", 1), ("rows", 7), ("x", 2), ("a", 0)];
        let text = serde_json::to_string(
            &a.contract(None)
                .with_fields(fields.iter().map(|(k, v)| (*k, v))),
        )
        .unwrap();
        assert!(text.starts_with(r#"{"a":0,"bin":"5m","#), "{text}");
        assert!(
            text.contains(r#""rows":1,"#) && text.ends_with(r#","x":2}"#),
            "{text}"
        );
    }
}

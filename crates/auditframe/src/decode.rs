//! Records → frame: options, the per-chunk [`FrameBuilder`], and the read report.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::builder::Columns;
use crate::error::{excerpt, ErrorKind, Position, SkipReason};
use crate::framing::{self, Framing, FramingError, Value};
use crate::record::{self, EventFields, Need, RecErr, Sink};
use crate::{AuditFrame, Error, LogLine, Projection, Result, Shape};

/// Default for [`ParseOptions::max_record_bytes`]: 64 MiB.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 64 << 20;

/// Records nested deeper than this are rejected as [`SkipReason::Json`] before parsing, so
/// that no input can exhaust the stack. Real audit events nest about 10 levels
/// (`RequestResponse` objects a few dozen). The bound is set by sonic-rs, which skips values
/// recursively with ~21 KiB of stack per level (measured, optimised build): 64 levels fit a
/// 2 MiB thread stack (Rust's and rayon's default) with room to spare; 128 would not.
pub const MAX_NESTING: usize = 64;

/// How many errors a [`ParseReport`] keeps in full (all are counted).
pub const REPORT_ERRORS_KEPT: usize = 10;

/// Options for turning records into a frame.
///
/// ```
/// use auditframe::{Column, ParseOptions, Projection, Shape};
/// let opts = ParseOptions::new()
///     .with_shape(Some(Shape::Native))
///     .with_projection(Projection::of(&[Column::Verb]))
///     .with_strict(true);
/// assert!(opts.strict());
/// ```
#[derive(Debug, Clone)]
pub struct ParseOptions {
    shape: Option<Shape>,
    projection: Projection,
    strict: bool,
    max_record_bytes: usize,
    reject_truncated: bool,
    cluster_label: Option<Arc<str>>,
    copy_keys: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            shape: None,
            projection: Projection::all(),
            strict: false,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            reject_truncated: false,
            cluster_label: None,
            copy_keys: false,
        }
    }
}

impl ParseOptions {
    /// Lenient, every column, shape sniffed from the first record.
    pub fn new() -> ParseOptions {
        ParseOptions::default()
    }

    /// The forced shape (`None`: sniffed from the first records).
    pub fn shape(&self) -> Option<Shape> {
        self.shape
    }

    /// Sets the forced shape (`None`: sniffed from the first records).
    #[must_use]
    pub fn with_shape(mut self, shape: Option<Shape>) -> Self {
        self.shape = shape;
        self
    }

    /// The columns materialised; the parser skips the other values.
    pub fn projection(&self) -> Projection {
        self.projection
    }

    /// Sets the columns materialised; the parser skips the other values.
    #[must_use]
    pub fn with_projection(mut self, projection: Projection) -> Self {
        self.projection = projection;
        self
    }

    /// Whether strict: fail on the first bad record. Lenient (default): skip it and count it.
    pub fn strict(&self) -> bool {
        self.strict
    }

    /// Sets whether strict: fail on the first bad record. Lenient (default): skip it and count it.
    #[must_use]
    pub fn with_strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// The record size limit: longer records are errors rather than parsed (default 64 MiB).
    pub fn max_record_bytes(&self) -> usize {
        self.max_record_bytes
    }

    /// Sets the record size limit: longer records are errors rather than parsed (default 64 MiB).
    #[must_use]
    pub fn with_max_record_bytes(mut self, n: usize) -> Self {
        self.max_record_bytes = n;
        self
    }

    /// Whether an event whose text was cut short is an error ([`SkipReason::Truncated`])
    /// rather than a row salvaged from its complete members (the default; see
    /// [`Column::Truncated`](crate::Column::Truncated)).
    pub fn reject_truncated(&self) -> bool {
        self.reject_truncated
    }

    /// Sets whether an event whose text was cut short is an error ([`SkipReason::Truncated`]:
    /// skipped and counted, or fatal in strict mode) rather than a salvaged row.
    ///
    /// ```
    /// use auditframe::{AuditFrame, Column, ParseOptions};
    /// // A storage-export record whose `properties.log` was cut inside `requestObject`.
    /// let cut = br#"{"time":"2026-11-20T10:00:00Z","category":"kube-audit","properties":{"log":"{\"kind\":\"Event\",\"auditID\":\"a-1\",\"verb\":\"update\",\"requestObject\":{\"data\":\"xxxx"}}"#;
    /// let (frame, report) = AuditFrame::from_slice(cut, &ParseOptions::new())?;
    /// assert_eq!((frame.height(), report.truncated_rows), (1, 1));
    /// assert_eq!(frame.column(Column::Truncated)?.bool()?.get(0), Some(true));
    /// let strict = ParseOptions::new().with_strict(true).with_reject_truncated(true);
    /// assert!(AuditFrame::from_slice(cut, &strict).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_reject_truncated(mut self, reject: bool) -> Self {
        self.reject_truncated = reject;
        self
    }

    /// The `cluster` of events whose record names no managed cluster (native logs).
    pub fn cluster_label(&self) -> Option<&str> {
        self.cluster_label.as_deref()
    }

    /// Sets the `cluster` of events whose record names no managed cluster — native
    /// kube-apiserver logs, which carry no Azure resource ID — lower-cased like the names
    /// read from resource IDs. Rows whose record names a cluster keep their own.
    ///
    /// ```
    /// use auditframe::{AuditFrame, Column, ParseOptions};
    /// let line = br#"{"kind":"Event","auditID":"a","verb":"get","stageTimestamp":"2026-11-20T10:00:00Z"}"#;
    /// let opts = ParseOptions::new().with_cluster_label(Some("AKS-Prod"));
    /// let (frame, _) = AuditFrame::from_slice(line, &opts)?;
    /// let cluster = frame.column(Column::Cluster)?.as_materialized_series().cast(&auditframe::polars::prelude::DataType::String)?;
    /// assert_eq!(cluster.str()?.get(0), Some("aks-prod"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_cluster_label(mut self, cluster: Option<&str>) -> Self {
        self.cluster_label = cluster.map(|c| Arc::from(c.to_lowercase()));
        self
    }

    /// Whether frames keep their rows' audit IDs as compact keys (see
    /// [`with_copy_keys`](Self::with_copy_keys)).
    pub fn copy_keys(&self) -> bool {
        self.copy_keys
    }

    /// Keeps each row's audit ID as a compact key beside the frame, for
    /// [`CategoryCopies`](crate::copies::CategoryCopies), whether or not the projection holds
    /// the `audit_id` column. A read that needs audit IDs only to drop copies asks for these
    /// instead of the column: a UUID costs 16 bytes a row instead of 52 (IDs of other forms
    /// are kept exactly, as text), and reads (`get`, `list`, `watch`), which can never be a
    /// copy, cost nothing. Frames built from JSON text carry the keys; frames made
    /// from them by filtering, and frames read from Arrow or Parquet, do not (read the
    /// `audit_id` column there).
    ///
    /// ```
    /// use auditframe::copies::{with_copy_key_columns, CategoryCopies, COPY_KEY_COLUMNS};
    /// use auditframe::{AuditFrame, Column, ParseOptions, Projection};
    /// let rows = br#"{"TimeGenerated":"2026-11-20T10:00:00Z","Category":"kube-audit","log_s":"{\"auditID\":\"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\",\"stage\":\"ResponseComplete\",\"verb\":\"create\"}"}
    /// {"TimeGenerated":"2026-11-20T10:00:00Z","Category":"kube-audit-admin","log_s":"{\"auditID\":\"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\",\"stage\":\"ResponseComplete\",\"verb\":\"create\"}"}
    /// "#;
    /// // The copy-key columns without `audit_id`, and the IDs as keys.
    /// let projection = with_copy_key_columns(Projection::none()).without(Column::AuditId);
    /// let opts = ParseOptions::new().with_projection(projection).with_copy_keys(true);
    /// let (frame, _) = AuditFrame::from_slice(rows, &opts)?;
    /// assert!(!frame.projection().contains(Column::AuditId));
    /// let (frame, copies) = CategoryCopies::drop_copies_in_whole(&frame)?;
    /// assert_eq!((frame.height(), copies.dropped()), (1, 1));
    /// # Ok::<(), auditframe::Error>(())
    /// ```
    #[must_use]
    pub fn with_copy_keys(mut self, keep: bool) -> Self {
        self.copy_keys = keep;
        self
    }
}

/// What a read did: rows produced, records skipped per reason, and the first few errors.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParseReport {
    /// The shape the input was read as (sniffed or forced).
    pub shape: Option<Shape>,
    /// Non-blank records seen (lines, or array elements).
    pub records: u64,
    /// Audit events in the frame.
    pub rows: u64,
    /// Rows salvaged from event text cut short (marked in the `truncated` column; see
    /// [`Column::Truncated`](crate::Column::Truncated)). They are rows, not skips.
    pub truncated_rows: u64,
    /// Bad records (or wrapper elements) skipped, per reason.
    pub skipped: BTreeMap<SkipReason, u64>,
    /// Rows of diagnostic categories that carry no audit event and are not kept (e.g.
    /// `kube-controller-manager`, `guard`).
    pub other_category: u64,
    /// Control-plane log lines kept (see [`LogLine`](crate::LogLine)).
    pub log_lines: u64,
    /// Empty or whitespace-only lines.
    pub blank_lines: u64,
    /// The first [`REPORT_ERRORS_KEPT`] errors, with positions.
    pub errors: Vec<Error>,
}

impl ParseReport {
    /// All skipped records.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }

    /// Adds another report's counts (for several inputs or chunks read in order).
    pub fn merge(&mut self, other: ParseReport) {
        self.shape = self.shape.or(other.shape);
        self.records += other.records;
        self.rows += other.rows;
        self.truncated_rows += other.truncated_rows;
        for (k, v) in other.skipped {
            *self.skipped.entry(k).or_insert(0) += v;
        }
        self.other_category += other.other_category;
        self.log_lines += other.log_lines;
        self.blank_lines += other.blank_lines;
        let room = REPORT_ERRORS_KEPT.saturating_sub(self.errors.len());
        self.errors.extend(other.errors.into_iter().take(room));
    }
}

/// Builds one frame from records pushed in input order.
///
/// Readers create one per chunk of input, in parallel, and [`append`](FrameBuilder::append)
/// them in order. Positions are kept relative to the builder's first byte and shifted when
/// appended, so a chunk need not know where in the input it starts.
///
/// ```
/// use auditframe::{ParseOptions};
/// use auditframe::decoder::FrameBuilder;
/// let mut b = FrameBuilder::new(&ParseOptions::new(), None);
/// b.push_lines(br#"{"kind":"Event","verb":"get","stage":"ResponseComplete","userAgent":"kubectl"}
/// not json
/// "#)?;
/// let (frame, report) = b.finish()?;
/// assert_eq!(frame.height(), 1);
/// assert_eq!(report.skipped_total(), 1);
/// assert_eq!(report.errors[0].position().unwrap().line, 2);
/// # Ok::<(), auditframe::Error>(())
/// ```
pub struct FrameBuilder {
    pub(crate) opts: ParseOptions,
    pub(crate) need: Need,
    shape: Option<Shape>,
    pub(crate) source: Option<Arc<str>>,
    pub(crate) cols: Columns,
    pub(crate) logs: Vec<LogLine>,
    pub(crate) report: ParseReport,
    failed: Option<Error>,
    /// Newlines and bytes consumed so far, for positions.
    lines: u64,
    bytes: u64,
}

impl FrameBuilder {
    /// A builder for an input called `source` (used in error positions).
    pub fn new(opts: &ParseOptions, source: Option<Arc<str>>) -> FrameBuilder {
        FrameBuilder {
            need: Need {
                audit_id: opts.projection.contains(crate::Column::AuditId) || opts.copy_keys,
                ..Need::from_projection(opts.projection)
            },
            shape: opts.shape,
            cols: Columns::new(opts.projection, opts.cluster_label.clone(), opts.copy_keys),
            logs: Vec::new(),
            report: ParseReport {
                shape: opts.shape,
                ..ParseReport::default()
            },
            opts: opts.clone(),
            source,
            failed: None,
            lines: 0,
            bytes: 0,
        }
    }

    /// The shape in use: forced, or sniffed from the first good record (`None` before that).
    pub fn shape(&self) -> Option<Shape> {
        self.shape
    }

    /// Fixes the shape (readers sniff once per input, then give it to every chunk).
    pub fn set_shape(&mut self, shape: Shape) {
        self.shape = Some(shape);
        self.report.shape = Some(shape);
    }

    /// Makes room for about `rows` more rows, so that the columns need not grow (copying
    /// themselves) while they are pushed to. A hint: more rows may follow, fewer may come.
    ///
    /// ```
    /// use auditframe::{decoder::FrameBuilder, ParseOptions};
    /// let mut b = FrameBuilder::new(&ParseOptions::new(), None);
    /// b.reserve(2);
    /// b.push_lines(b"{\"kind\":\"Event\",\"verb\":\"get\"}\n{\"kind\":\"Event\",\"verb\":\"list\"}\n")?;
    /// assert_eq!(b.rows(), 2);
    /// # Ok::<(), auditframe::Error>(())
    /// ```
    pub fn reserve(&mut self, rows: usize) {
        self.cols.reserve(rows);
    }

    /// Rows built so far.
    pub fn rows(&self) -> usize {
        self.cols.rows()
    }

    /// In strict mode, whether a record has failed (further input is ignored).
    pub fn has_failed(&self) -> bool {
        self.failed.is_some()
    }

    /// Pushes NDJSON text: one record per line (`\n` or `\r\n`), blank lines ignored. A final
    /// line without a newline is a record too. In strict mode returns the first error.
    pub fn push_lines(&mut self, buf: &[u8]) -> Result<()> {
        let mut line = 0u64;
        for (start, rec) in framing::lines(buf) {
            line += 1;
            if self.failed.is_some() {
                break;
            }
            if rec.iter().all(u8::is_ascii_whitespace) {
                self.report.blank_lines += 1;
                continue;
            }
            self.record_at(rec, self.lines + line, self.bytes + start as u64);
        }
        // Every yielded line but an unterminated last one ended in a newline.
        let unterminated = u64::from(!buf.is_empty() && buf.last() != Some(&b'\n'));
        self.lines += line.saturating_sub(unterminated);
        self.bytes += buf.len() as u64;
        self.check()
    }

    /// Pushes one record whose first byte is at 1-based `line` and 0-based `byte`, relative to
    /// this builder's start. Call [`advance`](FrameBuilder::advance) afterwards to say how
    /// much input the records covered.
    pub fn push_record(&mut self, record: &[u8], line: u64, byte: u64) -> Result<()> {
        if self.failed.is_none() {
            self.record_at(record, line, byte);
        }
        self.check()
    }

    /// Newlines and bytes of input consumed so far (relative to where the builder started).
    pub fn consumed(&self) -> (u64, u64) {
        (self.lines, self.bytes)
    }

    /// Records that this builder has consumed `lines` newlines and `bytes` bytes of input
    /// beyond what [`push_lines`](FrameBuilder::push_lines) counted.
    pub fn advance(&mut self, lines: u64, bytes: u64) {
        self.lines += lines;
        self.bytes += bytes;
    }

    /// Records that this builder has consumed all of `input` (its newlines and bytes) beyond
    /// what [`push_lines`](FrameBuilder::push_lines) counted — after pushing the
    /// [`values`](crate::decoder::values) of a document-framed input, whose positions are absolute.
    pub fn advance_over(&mut self, input: &[u8]) {
        let lines = memchr::memchr_iter(b'\n', input).count() as u64;
        self.advance(lines, input.len() as u64);
    }

    /// Pushes one item of [`values`](crate::decoder::values) over `input`: a record at its absolute
    /// position, or the framing error that ends the input.
    pub fn push_value(
        &mut self,
        item: &Result<Value<'_>, FramingError>,
        input: &[u8],
    ) -> Result<()> {
        match item {
            Ok(v) => self.push_record(v.bytes, v.line, v.byte),
            Err(e) => self.push_framing_error(e, input),
        }
    }

    /// Records a framing error (the input could not be delimited into records from here on).
    pub fn push_framing_error(&mut self, e: &FramingError, input: &[u8]) -> Result<()> {
        let pos = self.position(e.line, e.byte);
        let rest = input.get(e.byte as usize..).unwrap_or_default();
        self.fail(Error::record(
            SkipReason::Json,
            e.message.clone(),
            pos,
            rest,
        ));
        self.check()
    }

    pub(crate) fn check(&self) -> Result<()> {
        match &self.failed {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    fn position(&self, line: u64, byte: u64) -> Position {
        Position::new(self.source.clone(), line, byte)
    }

    fn record_at(&mut self, rec: &[u8], line: u64, byte: u64) {
        self.report.records += 1;
        if rec.len() > self.opts.max_record_bytes {
            let msg = format!(
                "record of {} bytes exceeds the limit of {} bytes",
                rec.len(),
                self.opts.max_record_bytes
            );
            let e = Error::record(SkipReason::TooLarge, msg, self.position(line, byte), rec);
            return self.fail(e);
        }
        let shape = match self.shape {
            Some(s) => s,
            None => match record::sniff_shape(rec) {
                Some(s) => {
                    self.set_shape(s);
                    s
                }
                None => {
                    let pos = self.position(line, byte);
                    let e = if let Some(msg) = framing::too_deep(rec) {
                        Error::record(SkipReason::Json, msg, pos, rec)
                    } else if self.opts.strict {
                        Error::new(ErrorKind::UnknownShape {
                            position: pos,
                            excerpt: excerpt(rec),
                        })
                    } else {
                        let (reason, msg) = match std::str::from_utf8(rec) {
                            Err(_) => (SkipReason::Utf8, "invalid UTF-8"),
                            Ok(_)
                                if sonic_rs::from_slice::<sonic_rs::LazyValue<'_>>(rec)
                                    .is_err() =>
                            {
                                (SkipReason::Json, "not valid JSON")
                            }
                            Ok(_) => (
                                SkipReason::NotAnEvent,
                                "matches no known audit export shape",
                            ),
                        };
                        Error::record(reason, msg, pos, rec)
                    };
                    return self.fail(e);
                }
            },
        };
        let need = self.need;
        let mut sink = BuilderSink {
            b: self,
            rec,
            line,
            byte,
            shape,
        };
        record::parse_record(rec, shape, &need, &mut sink);
    }

    pub(crate) fn fail(&mut self, e: Error) {
        if let Some(reason) = e.reason() {
            *self.report.skipped.entry(reason).or_insert(0) += 1;
        }
        if self.opts.strict {
            if self.failed.is_none() {
                self.failed = Some(e);
            }
        } else if self.report.errors.len() < REPORT_ERRORS_KEPT {
            self.report.errors.push(e);
        }
    }

    /// Appends the rows of a builder that read the input right after this one.
    pub fn append(&mut self, mut other: FrameBuilder) {
        if self.failed.is_some() {
            return;
        }
        // Positions count from the start of their source: shift only chunks of the same one.
        let (dl, db) = if self.source == other.source {
            (self.lines, self.bytes)
        } else {
            (0, 0)
        };
        let shift = |e: &mut Error| {
            if let Some(position) = e.position_mut() {
                position.line += dl;
                position.byte += db;
            }
        };
        other.report.errors.iter_mut().for_each(shift);
        if let Some(e) = other.failed.as_mut() {
            shift(e);
        }
        self.failed = other.failed;
        self.shape = self.shape.or(other.shape);
        self.report.merge(other.report);
        self.cols.append(other.cols);
        self.logs.append(&mut other.logs);
        self.lines += other.lines;
        self.bytes += other.bytes;
    }

    /// Builds the frame and the report; in strict mode, the first error instead.
    pub fn finish(mut self) -> Result<(AuditFrame, ParseReport)> {
        self.check()?;
        self.report.rows = self.cols.rows() as u64;
        let frame = self.cols.finish()?.with_control_plane_logs(self.logs);
        Ok((frame, self.report))
    }
}

struct BuilderSink<'b, 'r> {
    b: &'b mut FrameBuilder,
    rec: &'r [u8],
    line: u64,
    byte: u64,
    shape: Shape,
}

impl Sink for BuilderSink<'_, '_> {
    fn event(&mut self, fields: &EventFields<'_>, shape: Shape) {
        if fields.truncated {
            if self.b.opts.reject_truncated {
                let message = "the event text was cut short (only its first members are valid)";
                return self.error(RecErr {
                    reason: SkipReason::Truncated,
                    message: message.to_owned(),
                    column: None,
                });
            }
            self.b.report.truncated_rows += 1;
        }
        self.b.cols.push(fields, shape);
    }

    fn other_category(&mut self) {
        self.b.report.other_category += 1;
    }

    fn log_line(&mut self, time: Option<i64>, category: &str, message: &str) {
        self.b.report.log_lines += 1;
        self.b.logs.push(LogLine {
            time_generated: time,
            category: category.to_owned(),
            message: message.to_owned(),
        });
    }

    fn error(&mut self, err: RecErr) {
        let mut reason = err.reason;
        let mut message = err.message;
        // A record of another shape than the input's is reported as such.
        if reason == SkipReason::NotAnEvent {
            if let Some(other) = record::sniff_shape(self.rec).filter(|&s| s != self.shape) {
                reason = SkipReason::ShapeMismatch;
                message = format!(
                    "a `{}` record in a `{}` input",
                    other.name(),
                    self.shape.name()
                );
            }
        }
        let mut pos = self.b.position(self.line, self.byte);
        pos.column = err.column;
        let e = Error::record(reason, message, pos, self.rec);
        self.b.fail(e);
    }
}

impl AuditFrame {
    /// Parses an in-memory export (NDJSON, a JSON array, or concatenated JSON documents of
    /// any supported shape) on the calling thread. Readers for files, `.gz` and directories,
    /// with parallel parsing, are in the `auditframe-ndjson` crate.
    ///
    /// ```
    /// use auditframe::{AuditFrame, ParseOptions};
    /// let input = br#"[{"TimeGenerated":"2026-11-20T10:00:00.1234567Z","Verb":"list","UserAgent":"bad-client",
    ///   "RequestReceivedTime":"2026-11-20T10:00:00Z","StageReceivedTime":"2026-11-20T10:00:02.5Z",
    ///   "ObjectRef":"{\"resource\":\"pods\"}","Type":"AKSAudit"}]"#;
    /// let (frame, report) = AuditFrame::from_slice(input, &ParseOptions::new())?;
    /// assert_eq!(report.shape, Some(auditframe::Shape::AksAudit));
    /// assert_eq!(frame.height(), 1);
    /// # Ok::<(), auditframe::Error>(())
    /// ```
    pub fn from_slice(input: &[u8], opts: &ParseOptions) -> Result<(AuditFrame, ParseReport)> {
        let input = framing::strip_bom(input);
        let mut b = FrameBuilder::new(opts, None);
        // Like the readers: the shape is the input's — its first record that matches one —
        // sniffed up front, so that a bad record before the first good one is parsed (and
        // reported) like any other.
        let framing = Framing::detect(input);
        if b.shape().is_none() {
            if let Some(shape) = sniff_framed_shape(input, framing, usize::MAX) {
                b.set_shape(shape);
            }
        }
        match framing {
            Framing::Lines => b.push_lines(input)?,
            framing => {
                for item in framing::values(input, framing) {
                    b.push_value(&item, input)?;
                }
                b.advance_over(input);
            }
        }
        b.finish()
    }
}

/// How many records a quick look at an input's head reads to guess its shape (the first
/// that matches a shape decides). [`AuditFrame::from_slice`] and the readers do not stop
/// there: they look until a record decides, so that the shape — and so how every record
/// is read and why a bad one is skipped — does not depend on where the input is cut into
/// parallel chunks.
pub const SNIFF_RECORDS: usize = 100;

/// Sniffs the shape from the first records of an input that parse (up to `max_records`).
///
/// ```
/// use auditframe::{decoder::sniff_input_shape, Shape};
/// let input = br#"{"kind":"Event","verb":"get","stage":"ResponseComplete"}"#;
/// assert_eq!(sniff_input_shape(input, 100), Some(Shape::Native));
/// ```
pub fn sniff_input_shape(input: &[u8], max_records: usize) -> Option<Shape> {
    sniff_framed_shape(input, Framing::detect(input), max_records)
}

/// [`sniff_input_shape`] for an input whose framing is already known (a reader that detected
/// it need not scan the first record twice).
///
/// ```
/// use auditframe::{decoder::{sniff_framed_shape, Framing}, Shape};
/// let input = b"{\n  \"kind\": \"EventList\",\n  \"items\": []\n}\n";
/// let framing = Framing::detect(input);
/// assert_eq!(framing, Framing::Values);
/// assert_eq!(sniff_framed_shape(input, framing, 100), Some(Shape::EventList));
/// ```
pub fn sniff_framed_shape(input: &[u8], framing: Framing, max_records: usize) -> Option<Shape> {
    let input = framing::strip_bom(input);
    match framing {
        Framing::Lines => framing::lines(input)
            .map(|(_, l)| l)
            .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
            .take(max_records)
            .find_map(record::sniff_shape),
        framing => framing::values(input, framing)
            .take(max_records)
            .filter_map(|v| v.ok())
            .find_map(|v| record::sniff_shape(v.bytes)),
    }
}

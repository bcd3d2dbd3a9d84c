//! Cause 2: admission webhook failures, from kube-apiserver log lines
//! (`Failed calling webhook, failing closed …` / `failing open …`, and `failed calling
//! webhook "…"` errors) and from the admission annotations of audit events.

use std::collections::HashMap;

use serde::Serialize;

use super::rows::Cols;
use super::DiagnoseOptions;
use crate::analysis::bin_start;
use crate::schema::Column;
use crate::time::Timestamp;
use crate::LogLine;

/// What a log line says about a webhook call, if anything: (webhook name, kind).
///
/// ```
/// use auditframe::diagnose::webhook_failure;
/// let line = r#"E1120 10:00:01.500000 1 dispatcher.go:214] Failed calling webhook, failing closed mutate.kyverno.svc-fail: failed calling webhook "mutate.kyverno.svc-fail": failed to call webhook: context deadline exceeded"#;
/// assert_eq!(webhook_failure(line), Some(("mutate.kyverno.svc-fail", "failing_closed")));
/// assert_eq!(webhook_failure("I1120 trace.go:236] Trace[1]"), None);
/// ```
pub fn webhook_failure(message: &str) -> Option<(&str, &'static str)> {
    let at = memchr::memmem::find(message.as_bytes(), b"ailed calling webhook")?;
    let rest = message.get(at..)?;
    for (marker, kind) in [
        ("failing closed ", "failing_closed"),
        ("failing open ", "failing_open"),
    ] {
        if let Some(p) = rest.find(marker) {
            let name = rest.get(p + marker.len()..)?;
            let name = name.split([':', ' ']).next().unwrap_or("");
            if !name.is_empty() {
                return Some((name, kind));
            }
        }
    }
    // `failed calling webhook "name": …` (an error returned to the client, or an event).
    let name = rest
        .split_once("webhook \"")
        .and_then(|(_, n)| n.split_once('"'))
        .map_or("?", |(n, _)| n);
    Some((name, "error"))
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Seen {
    count: u64,
    first: Option<i64>,
    last: Option<i64>,
}

impl Seen {
    fn add(&mut self, t: Option<i64>) {
        self.count += 1;
        if let Some(t) = t {
            self.first = Some(self.first.map_or(t, |f| f.min(t)));
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
    }

    fn merge(&mut self, o: Seen) {
        self.count += o.count;
        self.first = super::min_some(self.first, o.first);
        self.last = super::max_some(self.last, o.last);
    }
}

/// (webhook, source, kind).
type Key = (String, &'static str, String);

/// The mergeable state of the webhook diagnosis.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebhookDetector {
    seen: HashMap<Key, Seen>,
    /// Failures per (webhook, bin start).
    series: HashMap<(String, i64), u64>,
    log_lines: u64,
    annotated_requests: u64,
}

impl WebhookDetector {
    fn add_logs(&mut self, logs: &[LogLine], c: &Cols, opts: &DiagnoseOptions) {
        for l in logs {
            if !c.in_window(l.time_generated) {
                continue;
            }
            self.log_lines += 1;
            if let Some((name, kind)) = webhook_failure(&l.message) {
                self.failure(name, "log", kind, l.time_generated, opts);
            }
        }
    }

    fn add(&mut self, c: &Cols, opts: &DiagnoseOptions) {
        for (i, list) in c.webhooks.non_null() {
            if !c.keep(i) {
                continue;
            }
            self.annotated_requests += 1;
            let t = c.time.at(i);
            for entry in list.split(',') {
                let (kind, name) = entry.split_once(':').unwrap_or(("?", entry));
                if kind.starts_with("failed-open") {
                    self.failure(name, "annotation", kind, t, opts);
                } else {
                    self.seen
                        .entry((name.to_owned(), "annotation", kind.to_owned()))
                        .or_default()
                        .add(t);
                }
            }
        }
    }

    fn failure(
        &mut self,
        name: &str,
        source: &'static str,
        kind: &str,
        t: Option<i64>,
        opts: &DiagnoseOptions,
    ) {
        self.seen
            .entry((name.to_owned(), source, kind.to_owned()))
            .or_default()
            .add(t);
        if let Some(t) = t {
            *self
                .series
                .entry((name.to_owned(), bin_start(t, opts.bin_ns)))
                .or_default() += 1;
        }
    }

    fn merge_from(&mut self, other: WebhookDetector) {
        for (k, s) in other.seen {
            self.seen.entry(k).or_default().merge(s);
        }
        for (k, n) in other.series {
            *self.series.entry(k).or_default() += n;
        }
        self.log_lines += other.log_lines;
        self.annotated_requests += other.annotated_requests;
    }

    fn report(self) -> WebhookReport {
        let fmt = |t: Option<i64>| t.map(Timestamp::from_nanos);
        let mut rows: Vec<WebhookRow> = self
            .seen
            .into_iter()
            .map(|((webhook, source, kind), s)| WebhookRow {
                failure: source == "log" || kind.starts_with("failed-open"),
                webhook,
                source,
                kind,
                count: s.count,
                first_seen: fmt(s.first),
                last_seen: fmt(s.last),
            })
            .collect();
        rows.sort_by(|a, b| {
            (b.failure, b.count)
                .cmp(&(a.failure, a.count))
                .then_with(|| (&a.webhook, a.source, &a.kind).cmp(&(&b.webhook, b.source, &b.kind)))
        });
        let mut series: Vec<(i64, String, u64)> = self
            .series
            .into_iter()
            .map(|((w, b), n)| (b, w, n))
            .collect();
        series.sort();
        WebhookReport {
            failures: rows.iter().filter(|r| r.failure).map(|r| r.count).sum(),
            log_lines: self.log_lines,
            annotated_requests: self.annotated_requests,
            webhooks: rows,
            series: series
                .into_iter()
                .map(|(b, webhook, failures)| WebhookBin {
                    bin_start: Timestamp::from_nanos(b),
                    webhook,
                    failures,
                })
                .collect(),
        }
    }
}

/// One webhook seen in one way.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookRow {
    /// The webhook's name (e.g. `mutate.kyverno.svc-fail`).
    pub webhook: String,
    /// `log` (kube-apiserver log lines) or `annotation` (audit event annotations).
    pub source: &'static str,
    /// Log: `failing_closed` (the request was rejected), `failing_open` (let through), `error`;
    /// annotation: `mutating` (called), `failed-open-mutating`, `failed-open-validating`.
    pub kind: String,
    /// Whether this is a failure (every log kind; `failed-open-*` annotations).
    pub failure: bool,
    /// Lines or annotated requests.
    pub count: u64,
    /// First time seen.
    pub first_seen: Option<Timestamp>,
    /// Last time seen.
    pub last_seen: Option<Timestamp>,
}

/// Failures of one webhook in one bin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookBin {
    /// Webhook name.
    pub webhook: String,
    /// Bin start (KQL `bin`).
    pub bin_start: Timestamp,
    /// Failures (log lines and failed-open annotations).
    pub failures: u64,
}

/// What the webhook diagnosis found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookReport {
    /// Failures seen (log lines plus failed-open annotations).
    pub failures: u64,
    /// kube-apiserver log lines scanned (in the window).
    pub log_lines: u64,
    /// Audit events with admission webhook annotations (in the window).
    pub annotated_requests: u64,
    /// Per webhook, source and kind: failures first, then by count.
    pub webhooks: Vec<WebhookRow>,
    /// Failures per bin.
    pub series: Vec<WebhookBin>,
}

impl super::Diagnosis for WebhookDetector {
    const NAME: &'static str = "webhooks";
    type Report = WebhookReport;

    /// Admission webhook failures (Cause 2), from event annotations and kube-apiserver log lines.
    fn projection(opts: &DiagnoseOptions) -> crate::Projection {
        super::base_projection(opts).union(crate::Projection::of(&[Column::AdmissionWebhooks]))
    }

    fn add_frame(&mut self, f: &super::DiagnosisFrame<'_>, opts: &DiagnoseOptions) {
        self.add(f.cols(), opts);
        self.add_logs(f.frame().control_plane_logs(), f.cols(), opts);
    }

    fn merge(&mut self, other: Self) {
        self.merge_from(other);
    }

    fn finish(self, _opts: &DiagnoseOptions) -> WebhookReport {
        self.report()
    }
}

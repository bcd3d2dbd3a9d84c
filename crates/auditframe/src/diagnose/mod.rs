//! Diagnoses of the guide's causes, from the same exports: the LIST detector with read types
//! (Cause 5), throttling and the AKS API server guard (Cause 4), object growth (Cause 3),
//! admission webhook failures (Cause 2), SLO verdicts, and the attribution of slow requests'
//! latency to etcd, APF queueing, webhooks or serialisation (the API server's own
//! annotations).
//!
//! Each implements [`Diagnosis`]: a mergeable partial aggregate that declares the columns it
//! reads, so chunks of a stream, files or machines combine exactly. [`diagnose`] runs the
//! selected ones ([`Diagnoses`]) over one column load; [`run`] runs one alone.

mod attribution;
mod findings;
mod growth;
mod list;
mod p99;
mod rows;
mod slo;
mod throttle;
mod watch;
mod webhook;

pub use attribution::{
    AttributionBin, AttributionReport, AttributionRow, ComponentStat, LatencyAttribution, CAUSES,
    COMPONENTS,
};
pub use findings::{Evidence, Finding, Severity};
pub use growth::{Creator, GrowthBin, GrowthDetector, GrowthReport, GrowthType, NamespaceGrowth};
pub use list::{
    classify_list, ListClassRow, ListDetector, ListOffender, ListReadRules, ListReport,
    PeakOffender, PeakWindow, ReadType,
};
pub use slo::{
    SloClass, SloClassSummary, SloReport, SloThresholds, SloVerdicts, SloViolation, SlowKey,
};
pub use throttle::{
    GuardEvent, ThrottleDetector, ThrottledBin, ThrottledKey, ThrottlingReport, AKS_GUARD_NAME,
};
pub use watch::{LoadRow, WatchBin, WatchLoad, WatchReport, WatchRow};
pub use webhook::{webhook_failure, WebhookBin, WebhookDetector, WebhookReport, WebhookRow};

use std::fmt;

use serde::Serialize;

use crate::schema::{Column, Projection};
use crate::timestamp::NANOS_PER_SECOND;
use crate::{AuditFrame, Error, GroupKey, Result, TimeWindow};

/// Options of [`diagnose`]. The defaults follow the guide and the upstream SLOs.
///
/// ```
/// use auditframe::{DiagnoseOptions};
/// use auditframe::diagnose::ListReadRules;
/// let o = DiagnoseOptions::default().with_growth_threshold(5_000);
/// assert_eq!(o.growth_threshold(), 5_000);
/// assert_eq!(o.list_rules(), ListReadRules::Since131);
/// assert_eq!(o.slo().read_cluster_ms, 30_000);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct DiagnoseOptions {
    /// Who offenders, throttled clients and creators are (user agent or username).
    pub(crate) key: GroupKey,
    /// Rows (and log lines) considered, by `time_generated`.
    pub(crate) window: TimeWindow,
    /// How many offenders, keys and types each report lists.
    pub(crate) top: usize,
    /// Bin width of the throttling, growth and webhook series (default 5 minutes).
    pub(crate) bin_ns: i64,
    /// Read-type rules of the LIST detector.
    pub(crate) list_rules: ListReadRules,
    /// Width of the LIST detector's peak window (default 30 minutes, like the portal's).
    pub(crate) peak_window_ns: i64,
    /// Objects per type that the guide calls too many (default 10 000).
    pub(crate) growth_threshold: i64,
    /// How far object growth is extrapolated when flagging (default 24 hours).
    pub(crate) growth_horizon_ns: i64,
    /// SLO window (default 5 minutes, as upstream).
    pub(crate) slo_window_ns: i64,
    /// SLO thresholds.
    pub(crate) slo: SloThresholds,
    /// Which diagnoses to run (default: all); the others come back empty.
    pub(crate) parts: Diagnoses,
    pub(crate) uncached_resources: Vec<String>,
}

impl Default for DiagnoseOptions {
    fn default() -> Self {
        let minute = 60 * NANOS_PER_SECOND;
        DiagnoseOptions {
            key: GroupKey::UserAgent,
            window: TimeWindow::All,
            top: 10,
            bin_ns: 5 * minute,
            list_rules: ListReadRules::default(),
            peak_window_ns: 30 * minute,
            growth_threshold: 10_000,
            growth_horizon_ns: 24 * 60 * minute,
            slo_window_ns: 5 * minute,
            slo: SloThresholds::default(),
            parts: Diagnoses::ALL,
            uncached_resources: vec!["events".to_owned()],
        }
    }
}

impl DiagnoseOptions {
    /// Who offenders, throttled clients and creators are (user agent or username).
    pub fn key(&self) -> GroupKey {
        self.key
    }

    /// Sets who offenders, throttled clients and creators are (user agent or username).
    #[must_use]
    pub fn with_key(mut self, key: GroupKey) -> Self {
        self.key = key;
        self
    }

    /// The rows (and log lines) considered, by `time_generated`.
    pub fn window(&self) -> TimeWindow {
        self.window
    }

    /// Sets the rows (and log lines) considered, by `time_generated`.
    #[must_use]
    pub fn with_window(mut self, window: TimeWindow) -> Self {
        self.window = window;
        self
    }

    /// How many offenders, keys and types each report lists.
    pub fn top(&self) -> usize {
        self.top
    }

    /// Sets how many offenders, keys and types each report lists.
    #[must_use]
    pub fn with_top(mut self, n: usize) -> Self {
        self.top = n;
        self
    }

    /// The bin width of the throttling, growth and webhook series, ns (default 5 minutes).
    pub fn bin_ns(&self) -> i64 {
        self.bin_ns
    }

    /// Sets the bin width of the throttling, growth and webhook series, ns (default 5 minutes).
    #[must_use]
    pub fn with_bin(mut self, bin_ns: i64) -> Self {
        self.bin_ns = bin_ns;
        self
    }

    /// The read-type rules of the LIST detector.
    pub fn list_rules(&self) -> ListReadRules {
        self.list_rules
    }

    /// Sets the read-type rules of the LIST detector.
    #[must_use]
    pub fn with_list_rules(mut self, rules: ListReadRules) -> Self {
        self.list_rules = rules;
        self
    }

    /// The width of the LIST detector's peak window, ns (default 30 minutes, like the portal's).
    pub fn peak_window_ns(&self) -> i64 {
        self.peak_window_ns
    }

    /// Sets the width of the LIST detector's peak window, ns (default 30 minutes, like the portal's).
    #[must_use]
    pub fn with_peak_window(mut self, peak_window_ns: i64) -> Self {
        self.peak_window_ns = peak_window_ns;
        self
    }

    /// The objects per type that the guide calls too many (default 10 000).
    pub fn growth_threshold(&self) -> i64 {
        self.growth_threshold
    }

    /// Sets the objects per type that the guide calls too many (default 10 000).
    #[must_use]
    pub fn with_growth_threshold(mut self, growth_threshold: i64) -> Self {
        self.growth_threshold = growth_threshold;
        self
    }

    /// How far object growth is extrapolated when flagging, ns (default 24 hours).
    pub fn growth_horizon_ns(&self) -> i64 {
        self.growth_horizon_ns
    }

    /// Sets how far object growth is extrapolated when flagging, ns (default 24 hours).
    #[must_use]
    pub fn with_growth_horizon(mut self, growth_horizon_ns: i64) -> Self {
        self.growth_horizon_ns = growth_horizon_ns;
        self
    }

    /// The SLO window, ns (default 5 minutes, as upstream).
    pub fn slo_window_ns(&self) -> i64 {
        self.slo_window_ns
    }

    /// Sets the SLO window, ns (default 5 minutes, as upstream).
    #[must_use]
    pub fn with_slo_window(mut self, slo_window_ns: i64) -> Self {
        self.slo_window_ns = slo_window_ns;
        self
    }

    /// The SLO thresholds.
    pub fn slo(&self) -> SloThresholds {
        self.slo
    }

    /// Sets the SLO thresholds.
    #[must_use]
    pub fn with_slo(mut self, slo: SloThresholds) -> Self {
        self.slo = slo;
        self
    }

    /// Which diagnoses run (default: all); the others report nothing found.
    pub fn parts(&self) -> Diagnoses {
        self.parts
    }

    /// Sets which diagnoses run (default: all); the others report nothing found.
    #[must_use]
    pub fn with_parts(mut self, parts: Diagnoses) -> Self {
        self.parts = parts;
        self
    }

    /// The resources served without a watch cache, whose LISTs always read etcd (default
    /// `events`: upstream kube-apiserver's `DefaultWatchCacheSizes` sets the cache of `events`
    /// and `events.k8s.io/events` to 0; a cluster started with other `--watch-cache-sizes`
    /// differs).
    pub fn uncached_resources(&self) -> &[String] {
        &self.uncached_resources
    }

    /// Sets the resources served without a watch cache (see
    /// [`uncached_resources`](Self::uncached_resources)).
    #[must_use]
    pub fn with_uncached_resources(mut self, resources: Vec<String>) -> Self {
        self.uncached_resources = resources;
        self
    }

    /// Checks that widths are positive.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("bin", self.bin_ns),
            ("peak window", self.peak_window_ns),
            ("growth horizon", self.growth_horizon_ns),
            ("SLO window", self.slo_window_ns),
        ] {
            if v <= 0 {
                return Err(Error::invalid(format!("the {name} must be positive")));
            }
        }
        Ok(())
    }
}

/// One diagnosis: a mergeable partial aggregate over frames (the implementing type is its
/// state), finished into a typed report. Chunks of a stream, files or machines merge exactly,
/// in any order.
///
/// A diagnosis is one file implementing this trait plus one line in the registry of
/// `diagnose/mod.rs`, which gives it a field in [`Diagnoses`], [`DiagnosisPartial`] and
/// [`DiagnosisReport`]. Run one alone with [`run`]:
///
/// ```
/// use auditframe::diagnose::{run, Diagnosis, ListDetector, ReadType};
/// use auditframe::{AuditFrame, DiagnoseOptions, ParseOptions};
/// let log = br#"{"kind":"Event","stage":"ResponseComplete","verb":"list","requestURI":"/api/v1/pods?limit=500&continue=abc","userAgent":"bad-client","objectRef":{"resource":"pods"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-11-20T10:00:00Z","stageTimestamp":"2026-11-20T10:00:31Z"}
/// "#;
/// let opts = DiagnoseOptions::default();
/// let parse = ParseOptions::new().with_projection(ListDetector::projection(&opts));
/// let (frame, _) = AuditFrame::from_slice(log, &parse)?;
/// let report = run::<ListDetector>(&frame, &opts)?;
/// assert_eq!(report.offenders[0].read_type, ReadType::Etcd);
/// # Ok::<(), auditframe::Error>(())
/// ```
pub trait Diagnosis: Default + Clone + fmt::Debug + Send {
    /// Its name: the field of [`DiagnosisReport`] and of the JSON report.
    const NAME: &'static str;
    /// What it finds.
    type Report: Serialize + Clone + fmt::Debug + PartialEq;
    /// The columns it reads with these options (a frame may lack the optional ones).
    fn projection(opts: &DiagnoseOptions) -> Projection;
    /// Adds one frame's rows.
    fn add_frame(&mut self, frame: &DiagnosisFrame<'_>, opts: &DiagnoseOptions);
    /// Adds another partial's rows.
    fn merge(&mut self, other: Self);
    /// The report.
    fn finish(self, opts: &DiagnoseOptions) -> Self::Report;
}

/// `part / whole`, 0 when there is no whole.
pub(crate) fn ratio(part: i128, whole: i128) -> f64 {
    if whole > 0 {
        part as f64 / whole as f64
    } else {
        0.0
    }
}

/// The smaller of two optional values (either alone when the other is absent).
pub(crate) fn min_some<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

/// The larger of two optional values (either alone when the other is absent).
pub(crate) fn max_some<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    }
}

/// The columns every diagnosis reads: the window's time and the stage (a request counts
/// once, at `ResponseComplete`), and the grouping key.
pub(crate) fn base_projection(opts: &DiagnoseOptions) -> Projection {
    Projection::of(&[Column::TimeGenerated, Column::Stage, opts.key.column()])
}

/// One frame as the diagnoses read it: its columns loaded once (physical arrays, the window
/// resolved) for every diagnosis of a run, and the frame itself (rows and log lines).
pub struct DiagnosisFrame<'a> {
    frame: &'a AuditFrame,
    cols: rows::Cols,
}

impl<'a> DiagnosisFrame<'a> {
    /// Loads the columns of `needed` that the frame has.
    pub fn new(frame: &'a AuditFrame, opts: &DiagnoseOptions, needed: Projection) -> Result<Self> {
        opts.validate()?;
        Ok(DiagnosisFrame {
            frame,
            cols: rows::Cols::load(frame, opts, needed)?,
        })
    }

    /// The frame.
    pub fn frame(&self) -> &'a AuditFrame {
        self.frame
    }

    pub(crate) fn cols(&self) -> &rows::Cols {
        &self.cols
    }
}

/// Runs one diagnosis on a frame.
pub fn run<D: Diagnosis>(frame: &AuditFrame, opts: &DiagnoseOptions) -> Result<D::Report> {
    let f = DiagnosisFrame::new(frame, opts, D::projection(opts))?;
    let mut d = D::default();
    d.add_frame(&f, opts);
    Ok(d.finish(opts))
}

/// The registry: each line gives a diagnosis its field in the selection, the partial and the
/// report.
macro_rules! registry {
    ($( $(#[$doc:meta])* $field:ident : $ty:ty ),* $(,)?) => {
        /// A selection of diagnoses (default: all).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct Diagnoses {
            $( $(#[$doc])* pub $field: bool, )*
        }

        impl Diagnoses {
            /// No diagnosis.
            pub const NONE: Diagnoses = Diagnoses { $( $field: false, )* };
            /// Every diagnosis.
            pub const ALL: Diagnoses = Diagnoses { $( $field: true, )* };

            /// The columns the selected diagnoses read.
            pub fn projection(self, opts: &DiagnoseOptions) -> Projection {
                let mut p = Projection::none();
                $( if self.$field { p = p.union(<$ty as Diagnosis>::projection(opts)); } )*
                p
            }
        }

        /// Every diagnosis's mergeable state. Build one per frame with
        /// [`diagnose_partial`], merge in any order, then
        /// [`finish`](DiagnosisPartial::finish).
        #[derive(Debug, Clone, Default)]
        pub struct DiagnosisPartial {
            $( $field: $ty, )*
        }

        impl DiagnosisPartial {
            /// Adds another partial's rows.
            pub fn merge(&mut self, other: DiagnosisPartial) {
                $( self.$field.merge(other.$field); )*
            }

            /// The reports (a diagnosis left out of the selection reports nothing found).
            pub fn finish(self, opts: &DiagnoseOptions) -> Result<DiagnosisReport> {
                opts.validate()?;
                let mut report = DiagnosisReport {
                    findings: Vec::new(),
                    $( $field: self.$field.finish(opts), )*
                };
                report.findings = findings::findings(&report);
                Ok(report)
            }

            fn add_frame(&mut self, f: &DiagnosisFrame<'_>, opts: &DiagnoseOptions) {
                $( if opts.parts.$field { self.$field.add_frame(f, opts); } )*
            }
        }

        /// What [`diagnose`] found.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        pub struct DiagnosisReport {
            /// The verdicts of every diagnosis, ranked (see [`Finding`]); serialised apart by
            /// front ends, which show them first.
            #[serde(skip)]
            pub findings: Vec<Finding>,
            $( $(#[$doc])* pub $field: <$ty as Diagnosis>::Report, )*
        }

        #[cfg(test)]
        const NAMES: &[(&str, &str)] = &[ $( (stringify!($field), <$ty as Diagnosis>::NAME), )* ];
    };
}

registry! {
    /// Cause 5: LISTs by read type, offenders, peak windows.
    list: ListDetector,
    /// Cause 4: 429s and the API server guard.
    throttling: ThrottleDetector,
    /// Cause 3: object growth.
    growth: GrowthDetector,
    /// Cause 2: admission webhook failures.
    webhooks: WebhookDetector,
    /// Upstream API call latency SLOs.
    slo: SloVerdicts,
    /// Why slow requests were slow: the API server's latency annotations.
    attribution: LatencyAttribution,
    /// Watch load: held connections, which request counts hide.
    watches: WatchLoad,
}

impl Default for Diagnoses {
    fn default() -> Self {
        Diagnoses::ALL
    }
}

/// The diagnoses of one frame (its rows and its control-plane log lines), as a partial.
///
/// The frame needs the columns of [`Projection::diagnostics`](crate::Projection::diagnostics)
/// (`admission_webhooks`, `username` and `user_agent` may be missing). A
/// [`TimeWindow::Last`] is resolved against this frame's newest row: for a stream, resolve
/// it first (as `analyze` does).
pub fn diagnose_partial(frame: &AuditFrame, opts: &DiagnoseOptions) -> Result<DiagnosisPartial> {
    let f = DiagnosisFrame::new(frame, opts, opts.parts.projection(opts))?;
    let mut p = DiagnosisPartial::default();
    p.add_frame(&f, opts);
    Ok(p)
}

/// Runs every diagnosis on a frame.
///
/// ```
/// use auditframe::{diagnose, AuditFrame, DiagnoseOptions, ParseOptions};
/// use auditframe::diagnose::ReadType;
/// let log = br#"{"kind":"Event","auditID":"1","stage":"ResponseComplete","verb":"list","requestURI":"/api/v1/pods?limit=500&continue=abc","userAgent":"bad-client","objectRef":{"resource":"pods"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-11-20T10:00:00Z","stageTimestamp":"2026-11-20T10:00:31Z"}
/// {"kind":"Event","auditID":"2","stage":"ResponseComplete","verb":"get","requestURI":"/api/v1/namespaces/a/pods/p","userAgent":"kubectl","objectRef":{"resource":"pods","namespace":"a","name":"p"},"responseStatus":{"code":429},"requestReceivedTimestamp":"2026-11-20T10:00:01Z","stageTimestamp":"2026-11-20T10:00:01.002Z"}
/// "#;
/// let (frame, _) = AuditFrame::from_slice(log, &ParseOptions::new())?;
/// let d = diagnose(&frame, &DiagnoseOptions::default())?;
/// assert_eq!(d.list.offenders[0].key, "bad-client");
/// assert_eq!(d.list.offenders[0].read_type, ReadType::Etcd);
/// assert_eq!(d.throttling.by_key[0].key, "kubectl");
/// assert!(!d.slo.pass); // a 31 s cluster-scope LIST breaks the 30 s SLO
/// # Ok::<(), auditframe::Error>(())
/// ```
pub fn diagnose(frame: &AuditFrame, opts: &DiagnoseOptions) -> Result<DiagnosisReport> {
    diagnose_partial(frame, opts)?.finish(opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_diagnosis_is_named_as_its_field() {
        for (field, name) in NAMES {
            assert_eq!(field, name);
        }
    }

    #[test]
    fn the_diagnostics_projection_covers_every_diagnosis() {
        for key in [GroupKey::UserAgent, GroupKey::User] {
            let opts = DiagnoseOptions::default().with_key(key);
            let all = Diagnoses::ALL.projection(&opts);
            assert!(Projection::diagnostics().contains_all(all));
        }
    }
}

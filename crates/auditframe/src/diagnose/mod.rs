//! Diagnoses of the guide's causes, from the same exports: the LIST detector with read types
//! (Cause 5), throttling and the AKS API server guard (Cause 4), object growth (Cause 3),
//! admission webhook failures (Cause 2), and SLO verdicts.
//!
//! Like the seed analyses, each is a mergeable partial aggregate ([`DiagnosisPartial`]):
//! chunks of a stream, files or machines combine exactly.

mod growth;
mod list;
mod rows;
mod slo;
mod throttle;
mod webhook;

pub use growth::{Creator, GrowthBin, GrowthReport, GrowthType, NamespaceGrowth};
pub use list::{
    classify_list, ListClassRow, ListOffender, ListReadRules, ListReport, PeakOffender, PeakWindow,
    ReadType,
};
pub use slo::{SloClass, SloClassSummary, SloReport, SloThresholds, SloViolation, SlowKey};
pub use throttle::{GuardEvent, ThrottledBin, ThrottledKey, ThrottlingReport, AKS_GUARD_NAME};
pub use webhook::{webhook_failure, WebhookBin, WebhookReport, WebhookRow};

use serde::Serialize;

use crate::timestamp::NANOS_PER_SECOND;
use crate::{AuditFrame, Error, GroupKey, Result, TimeWindow};

/// Options of [`diagnose`]. The defaults follow the guide and the upstream SLOs.
///
/// ```
/// use auditframe::{DiagnoseOptions, ListReadRules};
/// let o = DiagnoseOptions::default();
/// assert_eq!(o.growth_threshold, 10_000);
/// assert_eq!(o.list_rules, ListReadRules::Since131);
/// assert_eq!(o.slo.read_cluster_ms, 30_000);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct DiagnoseOptions {
    /// Who offenders, throttled clients and creators are (user agent or username).
    pub key: GroupKey,
    /// Rows (and log lines) considered, by `time_generated`.
    pub window: TimeWindow,
    /// How many offenders, keys and types each report lists.
    pub top: usize,
    /// Bin width of the throttling, growth and webhook series (default 5 minutes).
    pub bin_ns: i64,
    /// Read-type rules of the LIST detector.
    pub list_rules: ListReadRules,
    /// Width of the LIST detector's peak window (default 30 minutes, like the portal's).
    pub peak_window_ns: i64,
    /// Objects per type that the guide calls too many (default 10 000).
    pub growth_threshold: i64,
    /// How far object growth is extrapolated when flagging (default 24 hours).
    pub growth_horizon_ns: i64,
    /// SLO window (default 5 minutes, as upstream).
    pub slo_window_ns: i64,
    /// SLO thresholds.
    pub slo: SloThresholds,
    /// Which diagnoses to run (default: all); the others come back empty.
    pub parts: Diagnoses,
}

/// A selection of diagnoses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Diagnoses {
    /// The LIST detector.
    pub list: bool,
    /// Throttling and the guard.
    pub throttling: bool,
    /// Object growth.
    pub growth: bool,
    /// Webhook failures.
    pub webhooks: bool,
    /// SLO verdicts.
    pub slo: bool,
}

impl Diagnoses {
    const NONE: Diagnoses = Diagnoses {
        list: false,
        throttling: false,
        growth: false,
        webhooks: false,
        slo: false,
    };
    /// Every diagnosis.
    pub const ALL: Diagnoses = Diagnoses {
        list: true,
        throttling: true,
        growth: true,
        webhooks: true,
        slo: true,
    };
    /// Only the LIST detector.
    pub const LIST: Diagnoses = Diagnoses {
        list: true,
        ..Diagnoses::NONE
    };
    /// Only throttling.
    pub const THROTTLING: Diagnoses = Diagnoses {
        throttling: true,
        ..Diagnoses::NONE
    };
    /// Only object growth.
    pub const GROWTH: Diagnoses = Diagnoses {
        growth: true,
        ..Diagnoses::NONE
    };
    /// Only webhook failures.
    pub const WEBHOOKS: Diagnoses = Diagnoses {
        webhooks: true,
        ..Diagnoses::NONE
    };
    /// Only the SLO verdicts.
    pub const SLO: Diagnoses = Diagnoses {
        slo: true,
        ..Diagnoses::NONE
    };
}

impl Default for Diagnoses {
    fn default() -> Self {
        Diagnoses::ALL
    }
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
        }
    }
}

impl DiagnoseOptions {
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

/// Every diagnosis's mergeable state. Build one per frame with [`diagnose_partial`], merge
/// in any order, then [`finish`](DiagnosisPartial::finish).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiagnosisPartial {
    list: list::ListPartial,
    throttling: throttle::ThrottlePartial,
    growth: growth::GrowthPartial,
    webhooks: webhook::WebhookPartial,
    slo: slo::SloPartial,
}

impl DiagnosisPartial {
    /// Adds another partial's rows.
    pub fn merge(&mut self, other: DiagnosisPartial) {
        self.list.merge(other.list);
        self.throttling.merge(other.throttling);
        self.growth.merge(other.growth);
        self.webhooks.merge(other.webhooks);
        self.slo.merge(other.slo);
    }

    /// The reports.
    pub fn finish(self, opts: &DiagnoseOptions) -> Result<Diagnosis> {
        opts.validate()?;
        Ok(Diagnosis {
            list: self.list.finish(opts),
            throttling: self.throttling.finish(opts),
            growth: self.growth.finish(opts),
            webhooks: self.webhooks.finish(),
            slo: self.slo.finish(opts),
        })
    }
}

/// The diagnoses of one frame (its rows and its control-plane log lines), as a partial.
///
/// The frame needs the columns of [`Projection::diagnostics`](crate::Projection::diagnostics)
/// (`admission_webhooks`, `username` and `user_agent` may be missing). A
/// [`TimeWindow::Last`] is resolved against this frame's newest row: for a stream, resolve
/// it first (as `analyze` does).
pub fn diagnose_partial(frame: &AuditFrame, opts: &DiagnoseOptions) -> Result<DiagnosisPartial> {
    opts.validate()?;
    let cols = rows::Cols::load(frame, opts)?;
    let mut p = DiagnosisPartial::default();
    let parts = opts.parts;
    if parts.list {
        p.list.add_frame(&cols, opts);
    }
    if parts.throttling {
        p.throttling.add_frame(&cols, opts);
    }
    if parts.growth {
        p.growth.add_frame(&cols, opts);
    }
    if parts.webhooks {
        p.webhooks.add_frame(&cols, opts);
        p.webhooks.add_logs(frame.control_plane_logs(), &cols, opts);
    }
    if parts.slo {
        p.slo.add_frame(&cols, opts);
    }
    Ok(p)
}

/// Runs every diagnosis on a frame.
///
/// ```
/// use auditframe::{diagnose, AuditFrame, DiagnoseOptions, ParseOptions, ReadType};
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
pub fn diagnose(frame: &AuditFrame, opts: &DiagnoseOptions) -> Result<Diagnosis> {
    diagnose_partial(frame, opts)?.finish(opts)
}

/// What [`diagnose`] found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnosis {
    /// Cause 5: LISTs by read type, offenders, peak windows.
    pub list: ListReport,
    /// Cause 4: 429s and the API server guard.
    pub throttling: ThrottlingReport,
    /// Cause 3: object growth.
    pub growth: GrowthReport,
    /// Cause 2: admission webhook failures.
    pub webhooks: WebhookReport,
    /// Upstream API call latency SLOs.
    pub slo: SloReport,
}

/// `24h`, `1h30m`, `30m`, `45s`, `0s`, and days from two days on (`2d3h`): a duration for
/// reports.
pub(crate) fn hours_minutes(ns: i64) -> String {
    let s = ns.max(0) / NANOS_PER_SECOND;
    let days = if s >= 2 * 86_400 { s / 86_400 } else { 0 };
    let (d, h, m, sec) = (days, (s - days * 86_400) / 3600, s / 60 % 60, s % 60);
    let mut out = String::new();
    if d > 0 {
        out.push_str(&format!("{d}d"));
    }
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if sec > 0 || out.is_empty() {
        out.push_str(&format!("{sec}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        let s = NANOS_PER_SECOND;
        assert_eq!(hours_minutes(0), "0s");
        assert_eq!(hours_minutes(-5 * s), "0s");
        assert_eq!(hours_minutes(30 * 60 * s), "30m");
        assert_eq!(hours_minutes(24 * 3600 * s), "24h");
        assert_eq!(hours_minutes(47 * 3600 * s), "47h");
        assert_eq!(hours_minutes((2 * 86_400 + 3 * 3600 + 59) * s), "2d3h59s");
    }
}

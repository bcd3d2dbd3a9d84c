//! What the seed analyses are asked: key, window, bins, percentiles, filters.

use std::fmt;

use crate::schema::{Column, Projection};
use crate::timestamp::NANOS_PER_SECOND;
use crate::{Error, Result};

/// What the analyses group by. The guide groups `AKSAudit` rows by `UserAgent` and
/// `AzureDiagnostics` rows by `user.username`; both keys work for every shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum GroupKey {
    /// `user_agent` (absent user agents are the group `""`).
    #[default]
    UserAgent,
    /// `username`.
    User,
    /// `cluster`: the managed cluster of each row (null for native logs, a group of its own).
    Cluster,
}

impl GroupKey {
    /// `user_agent`, `user` or `cluster`, as in the JSON output's `group_by`.
    pub const fn name(self) -> &'static str {
        match self {
            GroupKey::UserAgent => "user_agent",
            GroupKey::User => "user",
            GroupKey::Cluster => "cluster",
        }
    }

    /// The frame column this key groups by: `user_agent`, `username` or `cluster`.
    pub const fn column(self) -> Column {
        match self {
            GroupKey::UserAgent => Column::UserAgent,
            GroupKey::User => Column::Username,
            GroupKey::Cluster => Column::Cluster,
        }
    }
}

impl fmt::Display for GroupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which rows count, by `time_generated`; both ends inclusive like KQL `between(a .. b)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeWindow {
    /// Every row (rows without a time included).
    #[default]
    All,
    /// The last `ns` nanoseconds up to the newest `time_generated` in the input (the offline
    /// stand-in for `now()`): `between((newest - ns) .. newest)`.
    Last(i64),
    /// From `start` to `end` (ns since the epoch), inclusive.
    Between {
        /// Start, inclusive.
        start: i64,
        /// End, inclusive.
        end: i64,
    },
}

impl TimeWindow {
    /// The inclusive bounds on `time_generated`, given the newest time of the input
    /// (`Last` counts back from it; with no time at all it keeps nothing); `None` for `All`.
    ///
    /// ```
    /// use auditframe::TimeWindow;
    /// assert_eq!(TimeWindow::Last(10).bounds(Some(100)), Some((90, 100)));
    /// assert_eq!(TimeWindow::All.bounds(Some(100)), None);
    /// ```
    pub fn bounds(self, newest: Option<i64>) -> Option<(i64, i64)> {
        match self {
            TimeWindow::All => None,
            TimeWindow::Last(ns) => {
                let end = newest.unwrap_or(i64::MIN);
                Some((end.saturating_sub(ns), end))
            }
            TimeWindow::Between { start, end } => Some((start, end)),
        }
    }

    /// The window as applied to a read whose `time_generated` spans `read` (earliest,
    /// latest): all of it without a window, the last span before its newest time with
    /// `Last` (nothing read: `None`), the fixed bounds otherwise. What reports show.
    ///
    /// ```
    /// use auditframe::TimeWindow;
    /// assert_eq!(TimeWindow::All.applied(Some((5, 100))), Some((5, 100)));
    /// assert_eq!(TimeWindow::Last(10).applied(Some((5, 100))), Some((90, 100)));
    /// assert_eq!(TimeWindow::Last(10).applied(None), None);
    /// ```
    pub fn applied(self, read: Option<(i64, i64)>) -> Option<(i64, i64)> {
        match self {
            TimeWindow::All => read,
            TimeWindow::Last(_) => read.and_then(|(_, newest)| self.bounds(Some(newest))),
            TimeWindow::Between { start, end } => Some((start, end)),
        }
    }
}

/// Options of [`analyze`](crate::analyze).
///
/// The defaults reproduce the guide's KQL: group by user agent, top 10, 5-minute bins, P99,
/// every row and every stage.
///
/// ```
/// use auditframe::{AnalysisOptions, GroupKey, TimeWindow};
/// let o = AnalysisOptions::default()
///     .with_key(GroupKey::User)
///     .with_bin(auditframe::time::parse_duration("1m")?)
///     .with_percentiles(vec![50.0, 99.0, 99.9])
///     .with_window(TimeWindow::Last(auditframe::time::parse_duration("1h")?));
/// assert_eq!(o.top(), 10);
/// assert_eq!(o.key(), GroupKey::User);
/// # Ok::<(), auditframe::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisOptions {
    /// Group key for all three analyses.
    pub(crate) key: GroupKey,
    /// How many groups Top N keeps.
    pub(crate) top: usize,
    /// Bin width of the latency series, ns (positive).
    pub(crate) bin_ns: i64,
    /// Percentiles to compute, each in `[0, 100]`.
    pub(crate) percentiles: Vec<f64>,
    /// Percentiles only for this key (the guide's `where UserAgent == "…"`); `None`: every key.
    pub(crate) only_key: Option<String>,
    /// Row filter on `time_generated`.
    pub(crate) window: TimeWindow,
    /// Keep only rows of this stage (e.g. `ResponseComplete`, so that multi-stage requests
    /// count once). `None`: every stage, like the guide.
    pub(crate) stage: Option<String>,
    /// Leave long-running requests (`watch`; `exec`, `attach`, `portforward`, `proxy`
    /// subresources) out of the latency series and percentiles. They are still counted by
    /// Top N.
    pub(crate) exclude_long_running: bool,
    /// Percentiles from a bounded-memory [`LatencySketch`](crate::LatencySketch) with this
    /// relative accuracy (e.g. `0.01`) instead of exact values; `None` (default): exact.
    pub(crate) percentile_sketch: Option<f64>,
}

impl Default for AnalysisOptions {
    fn default() -> Self {
        AnalysisOptions {
            key: GroupKey::UserAgent,
            top: 10,
            bin_ns: 5 * 60 * NANOS_PER_SECOND,
            percentiles: vec![99.0],
            only_key: None,
            window: TimeWindow::All,
            stage: None,
            exclude_long_running: false,
            percentile_sketch: None,
        }
    }
}

impl AnalysisOptions {
    /// The group key of all three analyses.
    pub fn key(&self) -> GroupKey {
        self.key
    }

    /// Sets the group key of all three analyses.
    #[must_use]
    pub fn with_key(mut self, key: GroupKey) -> Self {
        self.key = key;
        self
    }

    /// How many groups Top N keeps.
    pub fn top(&self) -> usize {
        self.top
    }

    /// Sets how many groups Top N keeps.
    #[must_use]
    pub fn with_top(mut self, n: usize) -> Self {
        self.top = n;
        self
    }

    /// The bin width of the latency series, ns (positive).
    pub fn bin_ns(&self) -> i64 {
        self.bin_ns
    }

    /// Sets the bin width of the latency series, ns (positive).
    #[must_use]
    pub fn with_bin(mut self, ns: i64) -> Self {
        self.bin_ns = ns;
        self
    }

    /// The percentiles to compute, each in `[0, 100]`.
    pub fn percentiles(&self) -> &[f64] {
        &self.percentiles
    }

    /// Sets the percentiles to compute, each in `[0, 100]`.
    #[must_use]
    pub fn with_percentiles(mut self, p: Vec<f64>) -> Self {
        self.percentiles = p;
        self
    }

    /// The one key percentiles are restricted to (the guide's `where UserAgent == "…"`); `None`: every key.
    pub fn only_key(&self) -> Option<&str> {
        self.only_key.as_deref()
    }

    /// Sets the one key percentiles are restricted to (the guide's `where UserAgent == "…"`); `None`: every key.
    #[must_use]
    pub fn with_only_key(mut self, key: Option<String>) -> Self {
        self.only_key = key;
        self
    }

    /// The row filter on `time_generated`.
    pub fn window(&self) -> TimeWindow {
        self.window
    }

    /// Sets the row filter on `time_generated`.
    #[must_use]
    pub fn with_window(mut self, window: TimeWindow) -> Self {
        self.window = window;
        self
    }

    /// The one stage kept (e.g. `ResponseComplete`, so that multi-stage requests count once); `None`: every stage, like the guide.
    pub fn stage(&self) -> Option<&str> {
        self.stage.as_deref()
    }

    /// Sets the one stage kept (e.g. `ResponseComplete`, so that multi-stage requests count once); `None`: every stage, like the guide.
    #[must_use]
    pub fn with_stage(mut self, stage: Option<String>) -> Self {
        self.stage = stage;
        self
    }

    /// Whether long-running requests (`watch`; `exec`, `attach`, `portforward`, `proxy` subresources) are left out of the latency series and percentiles (Top N still counts them).
    pub fn exclude_long_running(&self) -> bool {
        self.exclude_long_running
    }

    /// Sets whether long-running requests (`watch`; `exec`, `attach`, `portforward`, `proxy` subresources) are left out of the latency series and percentiles (Top N still counts them).
    #[must_use]
    pub fn with_exclude_long_running(mut self, yes: bool) -> Self {
        self.exclude_long_running = yes;
        self
    }

    /// The relative accuracy of bounded-memory percentile sketches ([`LatencySketch`](crate::analysis::LatencySketch)), e.g. `0.01`; `None` (default): exact percentiles.
    pub fn percentile_sketch(&self) -> Option<f64> {
        self.percentile_sketch
    }

    /// Sets the relative accuracy of bounded-memory percentile sketches ([`LatencySketch`](crate::analysis::LatencySketch)), e.g. `0.01`; `None` (default): exact percentiles.
    #[must_use]
    pub fn with_percentile_sketch(mut self, alpha: Option<f64>) -> Self {
        self.percentile_sketch = alpha;
        self
    }

    /// The columns the analyses read with these options — the projection a reader needs
    /// for them, and no more: the key column (not the other one), `verb`, `resource`, the
    /// latency and its start time, `time_generated` (the window, and the time range a
    /// report shows), plus `stage` and `subresource` only when a stage filter or the
    /// long-running exclusion asks for them. ([`Projection::analyses`] reads every column
    /// any option could need.)
    ///
    /// ```
    /// use auditframe::{AnalysisOptions, Column, GroupKey};
    /// let p = AnalysisOptions::default().projection();
    /// assert!(p.contains(Column::UserAgent) && !p.contains(Column::Username));
    /// let p = AnalysisOptions::default()
    ///     .with_key(GroupKey::User)
    ///     .with_stage(Some("ResponseComplete".into()))
    ///     .projection();
    /// assert!(p.contains(Column::Username) && p.contains(Column::Stage));
    /// ```
    pub fn projection(&self) -> Projection {
        let mut p = Projection::of(&[
            self.key.column(),
            Column::TimeGenerated,
            Column::RequestReceived,
            Column::LatencyMs,
            Column::Verb,
            Column::Resource,
        ]);
        if self.stage.is_some() {
            p = p.with(Column::Stage);
        }
        if self.exclude_long_running {
            p = p.with(Column::Subresource);
        }
        p
    }

    /// Checks the options: a positive bin, percentiles in `[0, 100]`, a valid window.
    pub fn validate(&self) -> Result<()> {
        if self.bin_ns <= 0 {
            return Err(Error::invalid(format!(
                "bin width must be positive, got {} ns",
                self.bin_ns
            )));
        }
        if self.percentiles.is_empty() {
            return Err(Error::invalid("at least one percentile is needed"));
        }
        for &p in &self.percentiles {
            if !(0.0..=100.0).contains(&p) {
                return Err(Error::invalid(format!(
                    "percentile {p} is outside [0, 100]"
                )));
            }
        }
        if let Some(a) = self.percentile_sketch {
            if !(0.0001..=0.5).contains(&a) {
                return Err(Error::invalid(format!(
                    "sketch accuracy {a} is outside [0.0001, 0.5]"
                )));
            }
        }
        match self.window {
            TimeWindow::Last(ns) if ns < 0 => {
                Err(Error::invalid("`last` duration must not be negative"))
            }
            TimeWindow::Between { start, end } if start > end => {
                Err(Error::invalid("window start is after its end"))
            }
            _ => Ok(()),
        }
    }
}

/// Parses a KQL-style duration: a number with unit `ns`, `us`, `ms`, `s`, `m`, `h` or `d`
/// (`5m`, `1.5h`, `250ms`), or several summed (`1h30m`).
///
/// ```
/// use auditframe::analysis::parse_duration;
/// assert_eq!(parse_duration("5m")?, 300_000_000_000);
/// assert_eq!(parse_duration("1h30m")?, 5_400_000_000_000);
/// assert_eq!(parse_duration("1.5s")?, 1_500_000_000);
/// assert!(parse_duration("5").is_err());
/// # Ok::<(), auditframe::Error>(())
/// ```
pub fn parse_duration(s: &str) -> Result<i64> {
    let bad = || {
        Error::invalid(format!(
            "invalid duration {s:?} (examples: 5m, 1h, 30s, 250ms)"
        ))
    };
    let t = s.trim();
    if t.is_empty() {
        return Err(bad());
    }
    let mut total: i128 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let (num, tail) = rest.split_at(num_len);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" | "min" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "d" => 86_400_000_000_000,
            _ => return Err(bad()),
        };
        // Integer and fractional parts separately: no float rounding for "0.1s" and the like.
        let (int, frac) = num.split_once('.').unwrap_or((num, ""));
        if int.is_empty() && frac.is_empty() {
            return Err(bad());
        }
        let int: i128 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| bad())?
        };
        let mut part = int.checked_mul(scale).ok_or_else(bad)?;
        let mut div: i128 = 1;
        for d in frac.chars() {
            let d = i128::from(d.to_digit(10).ok_or_else(bad)?);
            div = div.checked_mul(10).ok_or_else(bad)?;
            part = part.checked_add(d * scale / div).ok_or_else(bad)?;
        }
        total = total.checked_add(part).ok_or_else(bad)?;
        rest = next;
    }
    i64::try_from(total).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms").unwrap(), 250_000_000);
        assert_eq!(parse_duration("7m").unwrap(), 420_000_000_000);
        assert_eq!(parse_duration("1d").unwrap(), 86_400_000_000_000);
        assert_eq!(parse_duration(" 0.1s ").unwrap(), 100_000_000);
        for bad in ["", "m", "5x", "1.2.3s", "99999999999999d", "-5m", "."] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn validation() {
        assert!(AnalysisOptions::default().validate().is_ok());
        assert!(AnalysisOptions::default().with_bin(0).validate().is_err());
        assert!(AnalysisOptions::default()
            .with_percentiles(vec![100.1])
            .validate()
            .is_err());
        assert!(AnalysisOptions::default()
            .with_percentiles(vec![])
            .validate()
            .is_err());
        assert!(AnalysisOptions::default()
            .with_window(TimeWindow::Between { start: 2, end: 1 })
            .validate()
            .is_err());
    }
}

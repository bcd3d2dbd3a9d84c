//! Time: RFC 3339 timestamps as integer nanoseconds, KQL's `bin()` and `datetime_diff()`,
//! durations (`5m`, `1h30m`), and the typed [`Timestamp`] and [`TimeSpan`] that results hold.
//!
//! ```
//! use auditframe::time::{bin_start, parse_duration, parse_timestamp, Timestamp};
//! let t = parse_timestamp("2026-11-20T10:07:59.9Z")?;
//! let bin = Timestamp::from_nanos(bin_start(t, parse_duration("5m")?));
//! assert_eq!(bin.to_string(), "2026-11-20T10:05:00Z");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use serde::{Serialize, Serializer};

pub use crate::analysis::{bin_start, parse_duration};
pub use crate::go_duration::{
    format_go_duration, parse_go_duration, parse_go_duration_bytes, GoDurationError,
};
pub use crate::timestamp::{
    datetime_diff_millis, format_timestamp, format_timestamp_secs, parse_timestamp,
    parse_timestamp_bytes, TimestampError, NANOS_PER_MILLI, NANOS_PER_SECOND,
};

/// An instant: nanoseconds since the Unix epoch, UTC. Displays and serialises as RFC 3339,
/// with a fraction only when it is non-zero (`2026-11-20T10:00:00Z`,
/// `2026-11-20T10:00:00.25Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The instant `ns` nanoseconds after the Unix epoch.
    pub const fn from_nanos(ns: i64) -> Timestamp {
        Timestamp(ns)
    }

    /// Nanoseconds since the Unix epoch.
    pub const fn nanos(self) -> i64 {
        self.0
    }

    /// The same instant floored to a whole second.
    #[must_use]
    pub const fn floor_to_second(self) -> Timestamp {
        Timestamp(self.0 - self.0.rem_euclid(NANOS_PER_SECOND))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_timestamp(self.0))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A length of time in nanoseconds. Displays and serialises in whole units, as a person
/// writes it: `24h`, `1h30m`, `45s`, `0s`, and days from two days on (`2d3h`); sub-second
/// parts are dropped and negative spans show as `0s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeSpan(i64);

impl TimeSpan {
    /// A span of `ns` nanoseconds.
    pub const fn from_nanos(ns: i64) -> TimeSpan {
        TimeSpan(ns)
    }

    /// Its length in nanoseconds.
    pub const fn nanos(self) -> i64 {
        self.0
    }
}

impl fmt::Display for TimeSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.max(0) / NANOS_PER_SECOND;
        let days = if s >= 2 * 86_400 { s / 86_400 } else { 0 };
        let (d, h, m, sec) = (days, (s - days * 86_400) / 3600, s / 60 % 60, s % 60);
        let mut any = false;
        for (n, unit) in [(d, "d"), (h, "h"), (m, "m")] {
            if n > 0 {
                write!(f, "{n}{unit}")?;
                any = true;
            }
        }
        if sec > 0 || !any {
            write!(f, "{sec}s")?;
        }
        Ok(())
    }
}

impl Serialize for TimeSpan {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A window's bound to the second, or `…` for an open end (`i64::MIN` / `i64::MAX`, what
/// `--since` alone or `--until` alone leave).
///
/// ```
/// use auditframe::time::{format_window_bound, parse_timestamp};
/// assert_eq!(format_window_bound(parse_timestamp("2026-11-20T10:00:00.5Z")?), "2026-11-20T10:00:00Z");
/// assert_eq!(format_window_bound(i64::MAX), "…");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn format_window_bound(ns: i64) -> String {
    if ns == i64::MIN || ns == i64::MAX {
        "…".to_owned()
    } else {
        format_timestamp_secs(ns)
    }
}

/// A duration in its largest whole unit, as a bin width is written: `5m`, `1h`, `250ms`,
/// `1d`; nanoseconds when no unit divides it.
///
/// ```
/// use auditframe::time::{format_whole_unit, parse_duration};
/// assert_eq!(format_whole_unit(parse_duration("5m")?), "5m");
/// assert_eq!(format_whole_unit(parse_duration("90s")?), "90s");
/// assert_eq!(format_whole_unit(1_500), "1500ns");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn format_whole_unit(ns: i64) -> String {
    const UNITS: &[(i64, &str)] = &[
        (86_400_000_000_000, "d"),
        (3_600_000_000_000, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
    ];
    for (n, u) in UNITS {
        if ns % n == 0 {
            return format!("{}{u}", ns / n);
        }
    }
    format!("{ns}ns")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_well() {
        let s = NANOS_PER_SECOND;
        let span = |ns: i64| TimeSpan::from_nanos(ns).to_string();
        assert_eq!(span(0), "0s");
        assert_eq!(span(-5 * s), "0s");
        assert_eq!(span(30 * 60 * s), "30m");
        assert_eq!(span(24 * 3600 * s), "24h");
        assert_eq!(span(47 * 3600 * s), "47h");
        assert_eq!(span((2 * 86_400 + 3 * 3600 + 59) * s), "2d3h59s");
        assert_eq!(span(90 * 60 * s + s / 2), "1h30m");
    }

    #[test]
    fn timestamps_serialise_as_rfc3339() {
        let t = Timestamp::from_nanos(parse_timestamp("2026-11-20T10:00:00.250Z").unwrap_or(0));
        assert_eq!(
            serde_json::to_string(&t).ok().as_deref(),
            Some("\"2026-11-20T10:00:00.25Z\"")
        );
        assert_eq!(t.floor_to_second().to_string(), "2026-11-20T10:00:00Z");
    }
}

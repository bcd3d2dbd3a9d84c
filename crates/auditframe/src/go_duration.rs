//! Go's `time.Duration` text (`Duration.String()` / `time.ParseDuration`), as kube-apiserver
//! writes it into the `apiserver.latency.k8s.io/*` audit annotations: `"4.730661757s"`,
//! `"512.3ms"`, `"3.056µs"`, `"1h2m3.5s"`, `"0s"`, `"-2562047h47m16.854775808s"`.

use std::fmt;

/// Why a Go duration string could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoDurationError;

impl fmt::Display for GoDurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid Go duration (expected e.g. \"1.5s\", \"512.3ms\", \"3µs\")")
    }
}

impl std::error::Error for GoDurationError {}

/// Parses a Go duration string to integer nanoseconds, with the grammar of Go's
/// `time.ParseDuration`: an optional sign, then one or more decimal numbers (optional
/// fraction) each followed by a unit `ns`, `us`, `µs` (U+00B5 or U+03BC), `ms`, `s`, `m` or `h`;
/// or the lone `0`. Fractions are truncated to whole nanoseconds, as Go does; values outside
/// `i64` nanoseconds are errors.
///
/// ```
/// use auditframe::time::parse_go_duration;
/// assert_eq!(parse_go_duration("4.730661757s"), Ok(4_730_661_757));
/// assert_eq!(parse_go_duration("512.3ms"), Ok(512_300_000));
/// assert_eq!(parse_go_duration("3.056µs"), Ok(3_056));
/// assert_eq!(parse_go_duration("1h2m3.5s"), Ok(3_723_500_000_000));
/// assert_eq!(parse_go_duration("-2562047h47m16.854775808s"), Ok(i64::MIN));
/// assert!(parse_go_duration("1.5").is_err());
/// ```
pub fn parse_go_duration(s: &str) -> Result<i64, GoDurationError> {
    parse_go_duration_bytes(s.as_bytes())
}

/// [`parse_go_duration`] on bytes.
pub fn parse_go_duration_bytes(b: &[u8]) -> Result<i64, GoDurationError> {
    let (negative, mut rest) = match b {
        [b'-', r @ ..] => (true, r),
        [b'+', r @ ..] => (false, r),
        r => (false, r),
    };
    if rest == b"0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(GoDurationError);
    }
    // Magnitude in u128: exact for every valid input, checked against 2^63 at the end.
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.iter().take_while(|c| c.is_ascii_digit()).count();
        let (int, tail) = rest.split_at(int_len);
        let (frac, tail) = match tail {
            [b'.', t @ ..] => {
                let n = t.iter().take_while(|c| c.is_ascii_digit()).count();
                t.split_at(n)
            }
            t => (&b""[..], t),
        };
        if int.is_empty() && frac.is_empty() {
            return Err(GoDurationError);
        }
        let unit_len = tail
            .iter()
            .take_while(|c| !(c.is_ascii_digit() || **c == b'.'))
            .count();
        let (unit, next) = tail.split_at(unit_len);
        let scale: u128 = match unit {
            b"ns" => 1,
            // `us`, `µs` (U+00B5 micro sign) and `μs` (U+03BC Greek mu), as Go accepts.
            b"us" | b"\xc2\xb5s" | b"\xce\xbcs" => 1_000,
            b"ms" => 1_000_000,
            b"s" => 1_000_000_000,
            b"m" => 60_000_000_000,
            b"h" => 3_600_000_000_000,
            _ => return Err(GoDurationError),
        };
        let int_value = digits(int)?;
        // Go keeps fraction digits while they fit; 30 digits are far below a nanosecond
        // for any unit, and the remainder is truncated like Go's.
        let kept = frac.get(..frac.len().min(30)).unwrap_or(frac);
        let frac_value = digits(kept)?;
        let frac_scale = 10u128.pow(kept.len() as u32);
        total = int_value
            .checked_mul(scale)
            .and_then(|v| v.checked_add(frac_value * scale / frac_scale))
            .and_then(|v| total.checked_add(v))
            .ok_or(GoDurationError)?;
        if total > 1u128 << 63 {
            return Err(GoDurationError);
        }
        rest = next;
    }
    if negative {
        // -(2^63) is i64::MIN; anything larger was rejected above.
        Ok((total as i128).wrapping_neg() as i64)
    } else {
        i64::try_from(total).map_err(|_| GoDurationError)
    }
}

/// Formats nanoseconds as Go's `Duration.String()` does: `"0s"`, `"450ns"`, `"3.056µs"`,
/// `"512.3ms"`, `"4.730661757s"`, `"1m0s"`, `"1h2m3.5s"` (the inverse of
/// [`parse_go_duration`]).
///
/// ```
/// use auditframe::time::format_go_duration;
/// assert_eq!(format_go_duration(512_300_000), "512.3ms");
/// assert_eq!(format_go_duration(3_723_500_000_000), "1h2m3.5s");
/// ```
pub fn format_go_duration(ns: i64) -> String {
    let sign = if ns < 0 { "-" } else { "" };
    let u = ns.unsigned_abs();
    // `whole.fraction` of `v` in units of `unit_ns`, the fraction's trailing zeros trimmed.
    let decimal = |v: u64, unit_ns: u64| {
        let width = unit_ns.ilog10() as usize;
        let frac = format!("{:0width$}", v % unit_ns);
        let frac = frac.trim_end_matches('0');
        let dot = if frac.is_empty() { "" } else { "." };
        format!("{}{dot}{frac}", v / unit_ns)
    };
    match u {
        0 => "0s".to_owned(),
        1..=999 => format!("{sign}{u}ns"),
        1_000..=999_999 => format!("{sign}{}µs", decimal(u, 1_000)),
        1_000_000..=999_999_999 => format!("{sign}{}ms", decimal(u, 1_000_000)),
        _ => {
            const MINUTE: u64 = 60_000_000_000;
            const HOUR: u64 = 60 * MINUTE;
            let seconds = decimal(u % MINUTE, 1_000_000_000);
            match (u / HOUR, u % HOUR / MINUTE) {
                (0, 0) => format!("{sign}{seconds}s"),
                (0, m) => format!("{sign}{m}m{seconds}s"),
                (h, m) => format!("{sign}{h}h{m}m{seconds}s"),
            }
        }
    }
}

fn digits(d: &[u8]) -> Result<u128, GoDurationError> {
    d.iter().try_fold(0u128, |acc, &c| {
        acc.checked_mul(10)
            .and_then(|v| v.checked_add(u128::from(c - b'0')))
            .ok_or(GoDurationError)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_duration_strings() {
        let ok = [
            ("0", 0),
            ("0s", 0),
            ("-0", 0),
            ("+5s", 5_000_000_000),
            ("100ns", 100),
            ("450.6649ns", 450),
            ("3.056µs", 3_056),
            ("3.056μs", 3_056),
            ("2us", 2_000),
            ("57.106µs", 57_106),
            ("629.994µs", 629_994),
            ("1.201s", 1_201_000_000),
            ("15.999592078s", 15_999_592_078),
            ("2m0.5s", 120_500_000_000),
            (".5s", 500_000_000),
            ("1.s", 1_000_000_000),
            ("2562047h47m16.854775807s", i64::MAX),
            ("-2562047h47m16.854775808s", i64::MIN),
        ];
        for (s, want) in ok {
            assert_eq!(parse_go_duration(s), Ok(want), "{s}");
        }
        for bad in [
            "",
            "-",
            "s",
            "1",
            "1.5",
            "1d",
            "1 s",
            "1S",
            ".s",
            "1.2.3s",
            "2562047h47m16.854775808s",
            "-2562047h47m16.854775809s",
            "99999999999999999999999999999999999999999h",
            "1h-2m",
        ] {
            assert_eq!(parse_go_duration(bad), Err(GoDurationError), "{bad:?}");
        }
    }

    #[test]
    fn formats_like_go() {
        for (ns, want) in [
            (0, "0s"),
            (1, "1ns"),
            (999, "999ns"),
            (1_000, "1µs"),
            (3_056, "3.056µs"),
            (1_500_000, "1.5ms"),
            (512_300_000, "512.3ms"),
            (1_000_000_000, "1s"),
            (4_730_661_757, "4.730661757s"),
            (60_000_000_000, "1m0s"),
            (61_500_000_000, "1m1.5s"),
            (3_600_000_000_000, "1h0m0s"),
            (3_723_500_000_000, "1h2m3.5s"),
            (-1_500_000, "-1.5ms"),
            (i64::MIN, "-2562047h47m16.854775808s"),
            (i64::MAX, "2562047h47m16.854775807s"),
        ] {
            assert_eq!(format_go_duration(ns), want, "{ns}");
            assert_eq!(parse_go_duration(want), Ok(ns), "{want}");
        }
    }

    proptest::proptest! {
        #[test]
        fn format_then_parse_round_trips(ns in proptest::prelude::any::<i64>()) {
            proptest::prop_assert_eq!(parse_go_duration(&format_go_duration(ns)), Ok(ns));
        }
    }
}

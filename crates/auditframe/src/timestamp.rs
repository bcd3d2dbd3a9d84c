//! RFC 3339 timestamps as integer nanoseconds since the Unix epoch (UTC).
//!
//! Audit exports write datetimes with 0–9 fractional digits (kube-apiserver writes 6, Log
//! Analytics 7, some tools 9) and either `Z` or a numeric offset. Everything is parsed with
//! integer arithmetic so that no precision is lost: a float round trip would turn
//! `.3059890` into `.305988999…` and move events across millisecond and bin boundaries.

use std::cell::Cell;
use std::fmt;

/// Nanoseconds in one second.
pub const NANOS_PER_SECOND: i64 = 1_000_000_000;
/// Nanoseconds in one millisecond.
pub const NANOS_PER_MILLI: i64 = 1_000_000;

/// Why a timestamp did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimestampError {
    /// The text is not of the form `YYYY-MM-DDTHH:MM:SS[.fffffffff](Z|±HH:MM)`.
    Syntax,
    /// A field is out of range (month 13, day 31 in April, hour 24, …).
    OutOfRange,
    /// The instant does not fit in an `i64` of nanoseconds (years 1677–2262).
    Overflow,
}

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimestampError::Syntax => {
                "expected an RFC 3339 timestamp like 2026-11-20T10:55:55.305989Z"
            }
            TimestampError::OutOfRange => "a timestamp field is out of range",
            TimestampError::Overflow => "timestamp outside the representable range (1677..2262)",
        })
    }
}

impl std::error::Error for TimestampError {}

#[inline]
fn digits<const N: usize>(b: &[u8], at: usize) -> Result<i64, TimestampError> {
    let mut v: i64 = 0;
    for i in 0..N {
        let c = *b.get(at + i).ok_or(TimestampError::Syntax)?;
        if !c.is_ascii_digit() {
            return Err(TimestampError::Syntax);
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Ok(v)
}

#[inline]
fn expect(b: &[u8], at: usize, what: u8) -> Result<(), TimestampError> {
    match b.get(at) {
        Some(&c) if c == what => Ok(()),
        _ => Err(TimestampError::Syntax),
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day count since 1970-01-01.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// No date remembered yet (no valid date has this day count).
const NO_DATE: i64 = i64::MIN;

thread_local! {
    /// The date bytes (`YYYY-MM-DD`) of the last valid timestamp parsed on this thread, and
    /// its day count.
    static LAST_DATE: Cell<([u8; 10], i64)> = const { Cell::new(([0; 10], NO_DATE)) };
}

/// Parses an RFC 3339 timestamp into nanoseconds since the Unix epoch, UTC.
///
/// Accepts `T`, `t` or a space between date and time, 0–9 fractional digits (more than 9
/// are a syntax error rather than silently truncated), and `Z`, `z` or `±HH:MM`. A timestamp
/// without any offset (as some log pipelines normalise them) is taken as UTC.
///
/// ```
/// use auditframe::time::parse_timestamp;
/// assert_eq!(parse_timestamp("1970-01-01T00:00:01.5Z"), Ok(1_500_000_000));
/// assert_eq!(parse_timestamp("2026-11-20T10:55:55.3059890Z"), parse_timestamp("2026-11-20T11:55:55.305989+01:00"));
/// ```
pub fn parse_timestamp(s: &str) -> Result<i64, TimestampError> {
    parse_timestamp_bytes(s.as_bytes())
}

/// [`parse_timestamp`] on bytes.
pub fn parse_timestamp_bytes(b: &[u8]) -> Result<i64, TimestampError> {
    match common_utc(b) {
        Some(ns) => Ok(ns),
        None => parse_any(b),
    }
}

/// `b"00:00:00"` as a little-endian word: XOR-ing a time with it leaves digits as their
/// values and the colons as zero bytes.
const TIME_ZERO: u64 = u64::from_le_bytes(*b"00:00:00");
/// The colons' bytes of a time word.
const TIME_COLONS: u64 = 0x0000_FF00_00FF_0000;
const HIGH_NIBBLES: u64 = 0xF0F0_F0F0_F0F0_F0F0;

/// Powers of ten that scale a fraction of `n` digits to nanoseconds (index `n`).
const FRACTION_SCALE: [i64; 10] = [
    1_000_000_000,
    100_000_000,
    10_000_000,
    1_000_000,
    100_000,
    10_000,
    1_000,
    100,
    10,
    1,
];

/// The shape nearly every audit timestamp has, `YYYY-MM-DDTHH:MM:SS[.f…]Z` on the date this
/// thread parsed last, read with a few word operations: the time's six digits and two colons
/// are checked at once (SWAR). `None` for anything else — another date, shape or offset, or
/// a value out of range — which [`parse_any`] then decides, so answers and errors are the
/// same either way (tested against it).
#[inline]
fn common_utc(b: &[u8]) -> Option<i64> {
    let (&b'Z', body) = b.split_last()? else {
        return None;
    };
    let date: [u8; 10] = body.get(..10)?.try_into().ok()?;
    let (last, days) = LAST_DATE.with(Cell::get);
    if date != last || days == NO_DATE || body.get(10) != Some(&b'T') {
        return None;
    }
    let time: [u8; 8] = body.get(11..19)?.try_into().ok()?;
    let d = u64::from_le_bytes(time) ^ TIME_ZERO;
    // Every byte 0–9 (high nibble clear, and still clear after adding 6), colons zero.
    if d & (HIGH_NIBBLES | TIME_COLONS) != 0
        || d.wrapping_add(0x0606_0606_0606_0606) & HIGH_NIBBLES != 0
    {
        return None;
    }
    let [h1, h2, _, m1, m2, _, s1, s2] = d.to_le_bytes().map(i64::from);
    let (hour, minute, second) = (h1 * 10 + h2, m1 * 10 + m2, s1 * 10 + s2);
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let frac = match body.get(19..) {
        Some([]) => 0,
        Some([b'.', digits @ ..]) if (1..=9).contains(&digits.len()) => {
            fraction_nanos(body, digits.len())?
        }
        _ => return None,
    };
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    secs.checked_mul(NANOS_PER_SECOND)?.checked_add(frac)
}

/// `b"00000000"` as a little-endian word.
const ZEROS: u64 = u64::from_le_bytes(*b"00000000");

/// The fraction of a [`common_utc`] timestamp in nanoseconds: `body` is the timestamp
/// without its `Z`, ending in `n` (1–9) fraction digits after the `.` at 19. The first eight
/// digits are read as one word (the eight bytes ending at the eighth digit or the last, all
/// inside `body` since it is at least 20 bytes long), the digits shifted to its low bytes and
/// padded with `'0'`s, checked and summed in three steps (SWAR); a ninth digit is added
/// alone. A byte loop took ~70 of the ~180 instructions of the word path (1.4 % of an
/// AKSAudit parse).
#[inline(always)]
fn fraction_nanos(body: &[u8], n: usize) -> Option<i64> {
    let m = n.min(8);
    let end = 20 + m;
    let word: [u8; 8] = body.get(end - 8..end)?.try_into().ok()?;
    // The `m` digits are the word's last bytes; below them lie the seconds and the dot.
    let pad = ZEROS.checked_shl(8 * m as u32).unwrap_or(0);
    let d = (u64::from_le_bytes(word) >> (8 * (8 - m))) | pad;
    let d = d ^ ZEROS;
    if d & HIGH_NIBBLES != 0 || d.wrapping_add(0x0606_0606_0606_0606) & HIGH_NIBBLES != 0 {
        return None;
    }
    // Byte i (the digit of weight 10^(7-i)): pairs, then fours, then all eight.
    let d = (d.wrapping_mul(10) + (d >> 8)) & 0x00FF_00FF_00FF_00FF;
    let d = (d.wrapping_mul(100) + (d >> 16)) & 0x0000_FFFF_0000_FFFF;
    let d = (d.wrapping_mul(10_000) + (d >> 32)) & 0xFFFF_FFFF;
    let ninth = match body.get(28) {
        Some(&c) if n == 9 => match c.wrapping_sub(b'0') {
            c @ 0..=9 => i64::from(c),
            _ => return None,
        },
        _ => 0,
    };
    Some(d as i64 * 10 + ninth)
}

/// Any timestamp [`parse_timestamp`] accepts, and its errors. Kept out of line: inlined,
/// its registers made every call of the common path save and restore six.
#[inline(never)]
fn parse_any(b: &[u8]) -> Result<i64, TimestampError> {
    // The events of an export share a handful of dates: the last valid date this thread
    // parsed is remembered, and a timestamp on it skips the date's digits and calendar
    // arithmetic (the rest is checked as always, so errors are the same).
    let date = b.get(..10).and_then(|d| <[u8; 10]>::try_from(d).ok());
    let cached = date.and_then(|d| {
        let (last, days) = LAST_DATE.with(Cell::get);
        (d == last && days != NO_DATE).then_some(days)
    });
    let (year, month, day) = match cached {
        Some(_) => (0, 1, 1),
        None => {
            let year = digits::<4>(b, 0)?;
            expect(b, 4, b'-')?;
            let month = digits::<2>(b, 5)?;
            expect(b, 7, b'-')?;
            (year, month, digits::<2>(b, 8)?)
        }
    };
    match b.get(10) {
        Some(b'T' | b't' | b' ') => {}
        _ => return Err(TimestampError::Syntax),
    }
    let hour = digits::<2>(b, 11)?;
    expect(b, 13, b':')?;
    let minute = digits::<2>(b, 14)?;
    expect(b, 16, b':')?;
    let second = digits::<2>(b, 17)?;
    let mut at = 19;
    let mut frac: i64 = 0;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while let Some(c) = b.get(at).filter(|c| c.is_ascii_digit()) {
            if at - start == 9 {
                return Err(TimestampError::Syntax);
            }
            frac = frac * 10 + i64::from(c - b'0');
            at += 1;
        }
        let n = at - start;
        if n == 0 {
            return Err(TimestampError::Syntax);
        }
        frac *= FRACTION_SCALE.get(n).ok_or(TimestampError::Syntax)?;
    }
    let offset_secs = match b.get(at) {
        Some(b'Z' | b'z') => {
            at += 1;
            0
        }
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits::<2>(b, at + 1)?;
            expect(b, at + 3, b':')?;
            let om = digits::<2>(b, at + 4)?;
            if oh > 23 || om > 59 {
                return Err(TimestampError::OutOfRange);
            }
            at += 6;
            let secs = oh * 3600 + om * 60;
            if sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        // No offset (e.g. Panther's normalised `2022-11-29 00:09:04.38`): taken as UTC.
        None => 0,
        _ => return Err(TimestampError::Syntax),
    };
    if at != b.len() {
        return Err(TimestampError::Syntax);
    }
    // Leap seconds (:60) are not representable in UTC nanoseconds; reject like chrono does.
    if (cached.is_none()
        && (!(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month)))
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(TimestampError::OutOfRange);
    }
    let days = match (cached, date) {
        (Some(days), _) => days,
        (None, Some(d)) => {
            let days = days_from_civil(year, month, day);
            LAST_DATE.with(|c| c.set((d, days)));
            days
        }
        (None, None) => days_from_civil(year, month, day),
    };
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    secs.checked_mul(NANOS_PER_SECOND)
        .and_then(|ns| ns.checked_add(frac))
        .ok_or(TimestampError::Overflow)
}

/// Formats nanoseconds since the epoch as `YYYY-MM-DDTHH:MM:SS[.fffffffff]Z`, printing the
/// fraction only when it is non-zero (trailing zeros trimmed).
pub fn format_timestamp(ns: i64) -> String {
    let mut out = format_timestamp_secs(ns);
    let frac = ns.rem_euclid(NANOS_PER_SECOND);
    if frac != 0 {
        out.pop(); // the 'Z'
        let digits = format!("{frac:09}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
        out.push('Z');
    }
    out
}

/// Formats nanoseconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (fraction dropped, floor).
pub fn format_timestamp_secs(ns: i64) -> String {
    let secs = ns.div_euclid(NANOS_PER_SECOND);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    )
}

/// KQL `datetime_diff('millisecond', end, start)`: both instants truncated (floored) to whole
/// milliseconds, then subtracted. `.2001 s − .1009 s` is 100, not 99.
#[inline]
pub fn datetime_diff_millis(end_ns: i64, start_ns: i64) -> i64 {
    end_ns.div_euclid(NANOS_PER_MILLI) - start_ns.div_euclid(NANOS_PER_MILLI)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_fraction_length() {
        let base = parse_timestamp("2026-11-20T10:55:55Z").unwrap();
        assert_eq!(base, 1_795_172_155 * NANOS_PER_SECOND);
        let cases = [
            ("2026-11-20T10:55:55.3Z", 300_000_000),
            ("2026-11-20T10:55:55.305989Z", 305_989_000),
            ("2026-11-20T10:55:55.3059890Z", 305_989_000),
            ("2026-11-20T10:55:55.305989123Z", 305_989_123),
            ("2026-11-20T10:55:55.000000001Z", 1),
        ];
        for (s, frac) in cases {
            assert_eq!(parse_timestamp(s), Ok(base + frac), "{s}");
        }
    }

    #[test]
    fn offsets_and_separators() {
        let z = parse_timestamp("2026-11-20T10:55:55.5Z").unwrap();
        assert_eq!(parse_timestamp("2026-11-20T12:25:55.5+01:30"), Ok(z));
        assert_eq!(parse_timestamp("2026-11-20T05:55:55.5-05:00"), Ok(z));
        assert_eq!(parse_timestamp("2026-11-20 10:55:55.5z"), Ok(z));
        assert_eq!(parse_timestamp("2026-11-20t10:55:55.5Z"), Ok(z));
        assert_eq!(parse_timestamp("2026-11-20 10:55:55.5"), Ok(z));
    }

    #[test]
    fn the_remembered_date_changes_no_answer() {
        let forget = || LAST_DATE.with(|c| c.set(([0; 10], NO_DATE)));
        let dates = [
            "2026-11-20",
            "2026-11-21",
            "2024-02-29",
            "2026-02-29",
            "2026-13-01",
        ];
        let times = [
            "T10:55:55Z",
            "T10:55:55.123Z",
            "T24:00:00Z",
            "T10:55:55+01:00",
            "t10:55:55",
            "T10:55:55Zx",
            "X10:55:55Z",
            "",
        ];
        // Every pair, each after every other (so each is parsed with every date remembered).
        let all: Vec<String> = dates
            .iter()
            .flat_map(|d| times.iter().map(move |t| format!("{d}{t}")))
            .collect();
        for before in &all {
            for s in &all {
                forget();
                let cold = parse_timestamp(s);
                forget();
                let _ = parse_timestamp(before);
                assert_eq!(parse_timestamp(s), cold, "{s:?} after {before:?}");
            }
        }
    }

    #[test]
    fn the_common_shape_takes_the_word_path() {
        let _ = parse_any(b"2026-11-20T00:00:00Z");
        for (s, want) in [
            ("2026-11-20T10:55:55.3059890Z", 1_795_172_155_305_989_000),
            ("2026-11-20T10:55:55.305989Z", 1_795_172_155_305_989_000),
            ("2026-11-20T10:55:55Z", 1_795_172_155_000_000_000),
            ("2026-11-20T23:59:59.999999999Z", 1_795_219_199_999_999_999),
            ("2026-11-20T10:55:55.1Z", 1_795_172_155_100_000_000),
            ("2026-11-20T10:55:55.01Z", 1_795_172_155_010_000_000),
            ("2026-11-20T10:55:55.12345678Z", 1_795_172_155_123_456_780),
            ("2026-11-20T10:55:55.123456789Z", 1_795_172_155_123_456_789),
            ("2026-11-20T10:55:55.000000001Z", 1_795_172_155_000_000_001),
        ] {
            assert_eq!(common_utc(s.as_bytes()), Some(want), "{s}");
        }
        // Another date, offset or separator: left to the general parser.
        for s in [
            "2026-11-21T10:55:55Z",
            "2026-11-20T10:55:55+00:00",
            "2026-11-20 10:55:55Z",
            "2026-11-20T10:55:55.1234567890Z",
            "2026-11-20T24:00:00Z",
            "2026-11-20T10;55:55Z",
            "2026-11-20T10:55:55.Z",
            "2026-11-20T10:55:55.1:Z",
            "2026-11-20T10:55:55.12345678aZ",
            "2026-11-20T10:55:55.a2345678Z",
            "2026-11-20T10:55:55.1234/678Z",
        ] {
            assert_eq!(common_utc(s.as_bytes()), None, "{s}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 3000, ..Default::default() })]

        /// The word path gives the general parser's answer whenever it answers, and answers
        /// for the common shape on the remembered date.
        #[test]
        fn the_word_path_equals_the_general_parser(
            date in proptest::sample::select(vec!["2026-11-20", "2024-02-29", "1677-09-21", "2262-04-11", "0000-01-01"]),
            time in "[0-9:;/ ]{8}|[0-2][0-9]:[0-6][0-9]:[0-6][0-9]",
            sep in proptest::sample::select(vec!["T", "t", " ", "X", ""]),
            frac in "(\\.[0-9]{0,11})?|\\.[0-9]{0,4}[a/:.][0-9]{0,3}",
            end in proptest::sample::select(vec!["Z", "z", "", "+01:00", "Zx", "ZZ"]),
        ) {
            let s = format!("{date}{sep}{time}{frac}{end}");
            let _ = parse_any(format!("{date}T12:00:00Z").as_bytes());
            let general = parse_any(s.as_bytes());
            match common_utc(s.as_bytes()) {
                Some(ns) => proptest::prop_assert_eq!(Ok(ns), general, "{}", s),
                None => proptest::prop_assert!(
                    general.is_err() || sep != "T" || end != "Z" || !time.contains(':'),
                    "{} parsed only by the general parser", s
                ),
            }
        }
    }

    #[test]
    fn rejects_bad_input() {
        for s in [
            "",
            "2026-11-20",
            "2026-11-20T10:55:55.Z",
            "2026-11-20T10:55:55.1234567890Z",
            "2026-11-20T10:55:55Zjunk",
            "2026-11-20T10:55:55+0100",
            "2026/11/20T10:55:55Z",
            "２026-11-20T10:55:55Z",
        ] {
            assert_eq!(parse_timestamp(s), Err(TimestampError::Syntax), "{s:?}");
        }
        for s in [
            "2026-13-20T10:55:55Z",
            "2026-02-29T10:55:55Z",
            "2026-04-31T10:55:55Z",
            "2026-11-20T24:00:00Z",
            "2026-11-20T10:60:00Z",
            "2026-11-20T10:55:60Z",
            "2026-11-00T10:55:55Z",
        ] {
            assert_eq!(parse_timestamp(s), Err(TimestampError::OutOfRange), "{s:?}");
        }
        assert!(parse_timestamp("2024-02-29T00:00:00Z").is_ok());
        assert_eq!(
            parse_timestamp("9999-12-31T23:59:59Z"),
            Err(TimestampError::Overflow)
        );
        assert_eq!(
            parse_timestamp("0001-01-01T00:00:00Z"),
            Err(TimestampError::Overflow)
        );
    }

    #[test]
    fn before_epoch_and_formatting() {
        let t = parse_timestamp("1969-12-31T23:59:59.999Z").unwrap();
        assert_eq!(t, -1_000_000);
        assert_eq!(format_timestamp(t), "1969-12-31T23:59:59.999Z");
        assert_eq!(format_timestamp_secs(t), "1969-12-31T23:59:59Z");
        let u = parse_timestamp("2026-11-20T10:55:55.305989Z").unwrap();
        assert_eq!(format_timestamp(u), "2026-11-20T10:55:55.305989Z");
        assert_eq!(format_timestamp_secs(u), "2026-11-20T10:55:55Z");
    }

    #[test]
    fn civil_round_trip() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, i64::from(m), i64::from(d)), days);
        }
    }

    #[test]
    fn datetime_diff_truncates_each_side() {
        let s = parse_timestamp("2026-01-01T00:00:00.1009Z").unwrap();
        let e = parse_timestamp("2026-01-01T00:00:00.2001Z").unwrap();
        assert_eq!(datetime_diff_millis(e, s), 100);
        assert_eq!(datetime_diff_millis(s, e), -100);
        // Floors below zero too: -0.5 ms is in millisecond -1.
        assert_eq!(datetime_diff_millis(0, -500_000), 1);
    }
}

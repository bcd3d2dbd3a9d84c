//! Record framing: where one record ends and the next begins.
//!
//! NDJSON is split on newlines (the fast path, and the one readers parallelise). A top-level
//! JSON array (portal / CLI / query API exports) or pretty-printed concatenated documents are
//! split by a structural scan that tracks strings and nesting depth iteratively, so deep
//! nesting cannot overflow a stack.

use crate::decode::MAX_NESTING;

/// How an input's records are delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// One JSON value per line.
    Lines,
    /// One top-level JSON array (or several in a row) whose elements are the records.
    Array,
    /// JSON values one after another, each possibly spanning lines (pretty-printed).
    Values,
}

impl Framing {
    /// Picks the framing from the start of an input: `[` → [`Array`](Framing::Array); a
    /// first line that is not a whole JSON value → [`Values`](Framing::Values); otherwise
    /// [`Lines`](Framing::Lines).
    ///
    /// ```
    /// use auditframe::decoder::Framing;
    /// assert_eq!(Framing::detect(b"{\"a\":1}\n{\"a\":2}\n"), Framing::Lines);
    /// assert_eq!(Framing::detect(b"  [\n{\"a\":1}\n]"), Framing::Array);
    /// assert_eq!(Framing::detect(b"{\n  \"a\": 1\n}\n"), Framing::Values);
    /// ```
    pub fn detect(input: &[u8]) -> Framing {
        let input = strip_bom(input);
        let Some(start) = input.iter().position(|b| !b.is_ascii_whitespace()) else {
            return Framing::Lines;
        };
        match input.get(start) {
            Some(b'[') => Framing::Array,
            Some(b'{') => {
                let rest = input.get(start..).unwrap_or_default();
                let first_line = match memchr::memchr(b'\n', rest) {
                    Some(n) => rest.get(..n).unwrap_or_default(),
                    None => rest,
                };
                // A valid value (the common case, checked at the structural scanner's speed)
                // closes on the line; anything else takes the byte-by-byte scan.
                if crate::record::is_one_value(first_line) {
                    return Framing::Lines;
                }
                match scan_value(first_line, 0) {
                    // The object closes on its first line: NDJSON.
                    Ok(_) => Framing::Lines,
                    // It continues past the line: a pretty-printed document.
                    Err(ScanError::Eof) if first_line.len() < rest.len() => Framing::Values,
                    Err(_) => Framing::Lines,
                }
            }
            _ => Framing::Lines,
        }
    }
}

/// Strips a UTF-8 byte-order mark.
pub fn strip_bom(input: &[u8]) -> &[u8] {
    input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input)
}

/// Lines of `buf` with their start offsets, without the `\n` or `\r\n` terminator. A final
/// line without a terminator is included; an empty tail after the last newline is not.
pub fn lines(buf: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut pos = 0;
    let mut fetched = 0;
    std::iter::from_fn(move || {
        if pos >= buf.len() {
            return None;
        }
        let start = pos;
        let rest = buf.get(start..)?;
        let (line, next) = match memchr::memchr(b'\n', rest) {
            Some(n) => (rest.get(..n)?, start + n + 1),
            None => (rest, buf.len()),
        };
        pos = next;
        fetched = prefetch::ahead(buf, fetched, start, next);
        Some((start, line.strip_suffix(b"\r").unwrap_or(line)))
    })
}

/// Index of the last newline in `buf` at or before `at`, for splitting work on line bounds.
pub fn last_newline_before(buf: &[u8], at: usize) -> Option<usize> {
    memchr::memrchr(b'\n', buf.get(..at.min(buf.len()))?)
}

/// Whether `rec` nests objects/arrays deeper than `limit`; returns the depth reached. Counting
/// `{` and `[` bytes (SIMD) bounds the depth, so only records with more than `limit` of them
/// pay for the exact, string-aware scan.
pub(crate) fn nesting_over(rec: &[u8], limit: usize) -> Option<usize> {
    // Each level takes at least two bytes, so a short record cannot nest deeper than the
    // limit; most audit events are that short and skip the count.
    if rec.len() <= limit.saturating_mul(2)
        || memchr::memchr2_iter(b'{', b'[', rec).count() <= limit
    {
        return None;
    }
    let (mut depth, mut in_str, mut esc) = (0usize, false, false);
    for &c in rec {
        if in_str {
            match (esc, c) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            b'"' => in_str = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > limit {
                    return Some(depth);
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// The error message for a record nested deeper than [`MAX_NESTING`], if it is. Checked
/// before any recursive (serde) parse of a record, so that no input can exhaust the stack.
pub(crate) fn too_deep(rec: &[u8]) -> Option<String> {
    nesting_over(rec, MAX_NESTING)
        .map(|depth| format!("nesting deeper than {MAX_NESTING} levels (at least {depth})"))
}

/// A record found by [`values`].
#[derive(Debug, Clone, Copy)]
pub struct Value<'a> {
    /// The record's bytes.
    pub bytes: &'a [u8],
    /// 1-based line of its first byte.
    pub line: u64,
    /// 0-based offset of its first byte.
    pub byte: u64,
}

/// A framing error: the input is not a well-formed sequence of JSON values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FramingError {
    /// What is wrong.
    pub message: String,
    /// 1-based line where it was found.
    pub line: u64,
    /// 0-based byte offset where it was found.
    pub byte: u64,
}

#[derive(Debug, PartialEq, Eq)]
enum ScanError {
    Eof,
    Unbalanced,
}

/// Scans one JSON value starting at `at` (which must not be whitespace); returns its end
/// offset (exclusive). Its newlines are counted by the caller in one pass over the value
/// (counting them string by string cost more than the scan on large documents).
fn scan_value(b: &[u8], at: usize) -> Result<usize, ScanError> {
    let mut i = at;
    let mut depth: usize = 0;
    loop {
        let Some(&c) = b.get(i) else {
            return Err(ScanError::Eof);
        };
        match c {
            b'"' => {
                i = string_end(b, i + 1)?;
                if depth == 0 {
                    return Ok(i);
                }
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1).ok_or(ScanError::Unbalanced)?;
                if depth == 0 {
                    return Ok(i + 1);
                }
            }
            b'\n' if depth == 0 => return Ok(i),
            b',' | b' ' | b'\t' | b'\r' if depth == 0 => return Ok(i),
            _ => {}
        }
        i += 1;
    }
}

/// The offset just past the closing quote of the string whose content starts at `i`.
#[inline]
fn string_end(b: &[u8], mut i: usize) -> Result<usize, ScanError> {
    loop {
        let rest = b.get(i..).ok_or(ScanError::Eof)?;
        i += memchr::memchr2(b'"', b'\\', rest).ok_or(ScanError::Eof)?;
        if b.get(i) == Some(&b'\\') {
            i += 2;
        } else {
            return Ok(i + 1);
        }
    }
}

/// Splits an input framed as [`Framing::Array`] or [`Framing::Values`] into records. After
/// a framing error the iterator ends (the rest of the input cannot be delimited).
pub fn values(
    input: &[u8],
    framing: Framing,
) -> impl Iterator<Item = Result<Value<'_>, FramingError>> {
    let mut i = 0usize;
    let mut line = 1u64;
    // For arrays: whether we are inside `[...]`, and whether an element was just read.
    let mut in_array = false;
    let mut after_element = false;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        loop {
            // Skip whitespace, counting lines.
            while let Some(&c) = input.get(i) {
                if !c.is_ascii_whitespace() {
                    break;
                }
                if c == b'\n' {
                    line += 1;
                }
                i += 1;
            }
            let err = |msg: &str, line: u64, i: usize| {
                Some(Err(FramingError {
                    message: msg.to_owned(),
                    line,
                    byte: i as u64,
                }))
            };
            let Some(&c) = input.get(i) else {
                done = true;
                if in_array {
                    return err("unterminated JSON array (truncated input?)", line, i);
                }
                return None;
            };
            if framing == Framing::Array {
                if !in_array {
                    if c != b'[' {
                        done = true;
                        return err("expected `[` to start a JSON array", line, i);
                    }
                    in_array = true;
                    after_element = false;
                    i += 1;
                    continue;
                }
                match c {
                    b']' => {
                        in_array = false;
                        i += 1;
                        continue;
                    }
                    b',' if after_element => {
                        after_element = false;
                        i += 1;
                        continue;
                    }
                    _ if after_element => {
                        done = true;
                        return err("expected `,` or `]` between array elements", line, i);
                    }
                    _ => {}
                }
            }
            return match scan_value(input, i) {
                // A stray `,` (between concatenated documents, or `[1,,2]`) delimits nothing:
                // stop instead of yielding empty values forever (found by fuzzing).
                Ok(end) if end == i => {
                    done = true;
                    err(&format!("unexpected `{}`", char::from(c)), line, i)
                }
                Ok(end) => {
                    let bytes = input.get(i..end).unwrap_or_default();
                    let v = Value {
                        bytes,
                        line,
                        byte: i as u64,
                    };
                    line += memchr::memchr_iter(b'\n', bytes).count() as u64;
                    i = end;
                    after_element = true;
                    Some(Ok(v))
                }
                Err(ScanError::Eof) => {
                    done = true;
                    err("truncated JSON value at end of input", line, i)
                }
                Err(ScanError::Unbalanced) => {
                    done = true;
                    err("unbalanced `}` or `]`", line, i)
                }
            };
        }
    })
}

/// Keeping the input ahead of the line search in cache.
mod prefetch {
    /// How far ahead of the line being read the input is asked for.
    const DISTANCE: usize = 8 << 10;

    /// Asks for the cache lines of `buf` from `fetched` up to `DISTANCE` bytes past `at`,
    /// the end of the line that starts at `start`, and returns the new bound. The line search
    /// is the first pass to touch each line's bytes, and with short lines (archive and
    /// AzureDiagnostics rows, 1–2 KB) it stalled on memory for most of its time; asked for a
    /// few lines ahead, they are in cache when it reaches them. A line longer than that
    /// (Event Hubs rows, ~30 KB) streams well enough by itself, and the next bytes asked for
    /// early only pushed its own out of the first-level cache (measured 3 % slower): none.
    #[inline(always)]
    pub(super) fn ahead(buf: &[u8], fetched: usize, start: usize, at: usize) -> usize {
        if at - start > DISTANCE {
            return fetched.max(at);
        }
        let until = at.saturating_add(DISTANCE).min(buf.len());
        let mut p = fetched.max(at);
        while p < until {
            touch(buf, p);
            p += 64;
        }
        p.max(fetched)
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn touch(buf: &[u8], p: usize) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: SSE, which `prefetcht0` needs, is part of x86-64. A prefetch is a hint: it
        // reads nothing the program sees and cannot fault, whatever the address (which is
        // inside `buf` anyway).
        #[allow(unsafe_code)]
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(buf.as_ptr().wrapping_add(p).cast());
        }
    }

    #[cfg(not(target_arch = "x86_64"))]
    #[inline(always)]
    fn touch(_: &[u8], _: usize) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `ndjson_splitter` fuzz target: a `,` between concatenated documents made
    /// `values` yield empty values forever (until out of memory).
    #[test]
    fn stray_comma_is_a_framing_error_not_an_endless_loop() {
        let got: Vec<_> = values(b"{\"a\":1}, {\"b\":2}", Framing::Values)
            .take(5)
            .collect();
        assert_eq!(got.len(), 2);
        assert!(got[0].is_ok());
        let e = got[1].as_ref().unwrap_err();
        assert_eq!(
            (e.message.as_str(), e.line, e.byte),
            ("unexpected `,`", 1, 7)
        );
        let got: Vec<_> = values(b"[1,,2]", Framing::Array).take(5).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].as_ref().unwrap_err().message, "unexpected `,`");
    }

    fn collect(input: &[u8], f: Framing) -> Vec<Result<(String, u64, u64), FramingError>> {
        values(input, f)
            .map(|r| {
                r.map(|v| {
                    (
                        String::from_utf8_lossy(v.bytes).into_owned(),
                        v.line,
                        v.byte,
                    )
                })
            })
            .collect()
    }

    #[test]
    fn lines_handle_crlf_and_missing_final_newline() {
        let got: Vec<_> = lines(b"a\r\nbb\n\nccc").collect();
        assert_eq!(
            got,
            vec![
                (0, &b"a"[..]),
                (3, &b"bb"[..]),
                (6, &b""[..]),
                (7, &b"ccc"[..])
            ]
        );
        assert_eq!(lines(b"x\n").count(), 1);
        assert_eq!(lines(b"").count(), 0);
    }

    #[test]
    fn arrays_split_on_top_level_commas_only() {
        let input = b"[\n {\"a\":\"x,]}\\\"\"},\n {\"b\":[1,2]}\n]\n";
        let got = collect(input, Framing::Array);
        assert_eq!(
            got,
            vec![
                Ok((r#"{"a":"x,]}\""}"#.to_owned(), 2, 3)),
                Ok((r#"{"b":[1,2]}"#.to_owned(), 3, 20)),
            ]
        );
        assert_eq!(collect(b"[]", Framing::Array), vec![]);
    }

    #[test]
    fn pretty_printed_documents() {
        let input = b"{\n  \"kind\": \"EventList\",\n  \"items\": []\n}\n{\"a\":\n1}";
        assert_eq!(Framing::detect(input), Framing::Values);
        let got = collect(input, Framing::Values);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].as_ref().map(|v| v.1), Ok(5));
        // A raw newline inside a string (invalid JSON, reported later) still counts as a line,
        // and so do the newlines inside long strings (past the short-string byte loop).
        let input = b"{\"a\":\"x\ny\"}\n{\"b\":\"0123456789abcdef\\\"\n01234567890\"}\n{}";
        let got = collect(input, Framing::Values);
        let lines: Vec<_> = got.iter().map(|v| v.as_ref().map(|v| (v.1, v.2))).collect();
        assert_eq!(lines, vec![Ok((1, 0)), Ok((3, 12)), Ok((5, 51))]);
    }

    #[test]
    fn truncated_and_malformed_arrays() {
        let got = collect(b"[{\"a\":1},{\"b\":", Framing::Array);
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[1].as_ref().unwrap_err().message,
            "truncated JSON value at end of input"
        );
        let got = collect(b"[{\"a\":1} {\"b\":2}]", Framing::Array);
        assert!(got[1].is_err());
        let got = collect(b"[{\"a\":1}", Framing::Array);
        assert_eq!(
            got[1].as_ref().unwrap_err().message,
            "unterminated JSON array (truncated input?)"
        );
    }

    #[test]
    fn deep_nesting_is_iterative() {
        let mut s = vec![b'['];
        s.extend(std::iter::repeat_n(b'[', 100_000));
        s.extend(std::iter::repeat_n(b']', 100_000));
        s.push(b']');
        let got = collect(&s, Framing::Array);
        assert_eq!(got.len(), 1);
        assert!(got[0].is_ok());
    }

    #[test]
    fn bom_and_detection() {
        assert_eq!(strip_bom(b"\xEF\xBB\xBF{}"), b"{}");
        assert_eq!(Framing::detect(b"\xEF\xBB\xBF[{}]"), Framing::Array);
        assert_eq!(Framing::detect(b"{\"a\":1"), Framing::Lines);
        assert_eq!(Framing::detect(b""), Framing::Lines);
    }
}

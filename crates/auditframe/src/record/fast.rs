//! A projection-aware scanner for native audit events: the fast path.
//!
//! It decodes only the values the projection needs and skips the rest (annotations, groups,
//! request/response objects) with a validating byte scanner instead of going through serde,
//! which is where most of the parse time went. It is deliberately *at least as strict* as the
//! serde path: anything unusual — an escaped key, a float status code, a value of an
//! unexpected type, any JSON error — makes it give up (`None`), and the caller re-parses the
//! record with the serde path, which then produces the same fields or the precise error.
//! Tests check that both paths agree on valid input and that the fast path never accepts a
//! record the serde path rejects.

use std::borrow::Cow;

use super::fields::{add_webhook_annotation, EventFields, Need};
use crate::timestamp::parse_timestamp_bytes;

/// Scans one native event object. `None`: fall back to the serde path.
pub(crate) fn native_event<'a>(b: &'a [u8], need: &Need, out: &mut EventFields<'a>) -> Option<()> {
    // sonic-rs validates UTF-8 for the whole input; so must we. Slicing the `str` later
    // then only checks character boundaries.
    let text = std::str::from_utf8(b).ok()?;
    let mut s = Scanner { b, text, i: 0 };
    s.ws();
    s.eat(b'{')?;
    s.ws();
    if !s.try_eat(b'}') {
        loop {
            let key = s.key()?;
            s.ws();
            s.eat(b':')?;
            s.ws();
            match key {
                b"kind" => out.kind = s.opt_str()?,
                b"auditID" => {
                    out.looks_like_event = true;
                    s.str_if(need.audit_id, &mut out.audit_id)?;
                }
                b"stage" => {
                    out.looks_like_event = true;
                    s.str_if(need.stage, &mut out.stage)?;
                }
                b"verb" => {
                    out.looks_like_event = true;
                    s.str_if(need.verb, &mut out.verb)?;
                }
                b"requestURI" => {
                    out.looks_like_event = true;
                    s.str_if(need.request_uri, &mut out.request_uri)?;
                }
                b"level" if need.level => out.level = s.opt_str()?,
                b"userAgent" if need.user_agent => out.user_agent = s.opt_str()?,
                b"user" if need.username => s.object_or_null(|s, k| match k {
                    b"username" => {
                        out.username = s.opt_str()?;
                        Some(())
                    }
                    _ => s.skip_value(),
                })?,
                b"sourceIPs" if need.source_ip => s.first_ip(&mut out.source_ip)?,
                b"objectRef" if need.object_ref => s.object_or_null(|s, k| {
                    let slot = match k {
                        b"resource" if need.resource => &mut out.resource,
                        b"subresource" if need.subresource => &mut out.subresource,
                        b"namespace" if need.namespace => &mut out.namespace,
                        b"name" if need.name => &mut out.name,
                        b"apiGroup" if need.api_group => &mut out.api_group,
                        b"apiVersion" if need.api_version => &mut out.api_version,
                        _ => return s.skip_value(),
                    };
                    *slot = s.opt_str()?;
                    Some(())
                })?,
                b"responseStatus" if need.status_code => s.object_or_null(|s, k| match k {
                    b"code" => {
                        out.status_code = s.opt_i32()?;
                        Some(())
                    }
                    _ => s.skip_value(),
                })?,
                b"requestReceivedTimestamp" => {
                    out.looks_like_event = true;
                    if need.request_received {
                        out.request_received = s.opt_timestamp()?;
                    } else {
                        s.skip_value()?;
                    }
                }
                b"stageTimestamp" => {
                    out.looks_like_event = true;
                    if need.stage_timestamp || need.time_generated {
                        out.stage_timestamp = s.opt_timestamp()?;
                    } else {
                        s.skip_value()?;
                    }
                }
                b"annotations" if need.admission_webhooks => s.object_or_null(|s, k| {
                    if memchr::memmem::find(k, b"webhook.admission.k8s.io/").is_none() {
                        return s.skip_value();
                    }
                    let key = std::str::from_utf8(k).ok()?;
                    if let Some(v) = s.opt_str()? {
                        add_webhook_annotation(&mut out.admission_webhooks, key, &v);
                    }
                    Some(())
                })?,
                b"timestamp" if need.time_generated => out.legacy_timestamp = s.opt_timestamp()?,
                _ => s.skip_value()?,
            }
            s.ws();
            if s.try_eat(b',') {
                s.ws();
                continue;
            }
            s.eat(b'}')?;
            break;
        }
    }
    s.ws();
    (s.i == b.len()).then_some(())
}

/// Containers nested deeper than this inside a skipped value send the record to the serde
/// path (which enforces its own limits), so that the fast path never accepts more.
const MAX_FAST_DEPTH: usize = 64;

struct Scanner<'a> {
    b: &'a [u8],
    text: &'a str,
    i: usize,
}

impl<'a> Scanner<'a> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    #[inline]
    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek() == Some(c)).then(|| self.i += 1)
    }

    #[inline]
    fn try_eat(&mut self, c: u8) -> bool {
        self.eat(c).is_some()
    }

    /// The end of plain string content from `self.i`: the index of the next `"`, `\` or
    /// control byte. memchr finds the quote or backslash (a plain byte loop measured slower
    /// even for short strings); the control-byte check over the span is a branch-free fold
    /// that vectorises.
    #[inline]
    fn plain_end(&self) -> usize {
        let rest = self.b.get(self.i..).unwrap_or_default();
        let n = memchr::memchr2(b'"', b'\\', rest).unwrap_or(rest.len());
        let span = rest.get(..n).unwrap_or_default();
        if span.iter().fold(false, |acc, &c| acc | (c < 0x20)) {
            // Rare: stop at the first control byte, which the callers reject.
            return self.i + span.iter().position(|&c| c < 0x20).unwrap_or(n);
        }
        self.i + n
    }

    /// A string value (after its opening quote was seen at `self.i`), borrowed when it has
    /// no escapes. `None` on any invalid content.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.eat(b'"')?;
        let start = self.i;
        let end = self.plain_end();
        self.i = end;
        match self.peek()? {
            b'"' => {
                self.i += 1;
                // Quotes and backslashes are ASCII: the slice is on character boundaries.
                self.text.get(start..end).map(Cow::Borrowed)
            }
            b'\\' => {
                let mut out = String::from(self.text.get(start..end)?);
                loop {
                    match self.peek()? {
                        b'"' => {
                            self.i += 1;
                            return Some(Cow::Owned(out));
                        }
                        b'\\' => {
                            self.i += 1;
                            let c = self.escape()?;
                            out.push(c);
                        }
                        c if c < 0x20 => return None,
                        _ => {
                            let s = self.i;
                            let e = self.plain_end();
                            out.push_str(self.text.get(s..e)?);
                            self.i = e;
                        }
                    }
                }
            }
            _ => None, // a control character
        }
    }

    /// One escape after its backslash.
    fn escape(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += 1;
        Some(match c {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = self.hex4()?;
                if (0xD800..0xDC00).contains(&hi) {
                    // A high surrogate must be followed by an escaped low one.
                    self.eat(b'\\')?;
                    self.eat(b'u')?;
                    let lo = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return None;
                    }
                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))?
                } else {
                    char::from_u32(hi)?
                }
            }
            _ => return None,
        })
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.b.get(self.i..self.i + 4)?;
        self.i += 4;
        let s = std::str::from_utf8(h).ok()?;
        if !s.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(s, 16).ok()
    }

    /// Skips a string, validating escapes and control characters.
    fn skip_string(&mut self) -> Option<()> {
        self.eat(b'"')?;
        loop {
            self.i = self.plain_end();
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    return Some(());
                }
                b'\\' => {
                    self.i += 1;
                    self.escape()?;
                }
                _ => return None,
            }
        }
    }

    /// An object key. Keys with escapes make the fast path give up (serde decodes them).
    #[inline]
    fn key(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.i;
        let end = self.plain_end();
        self.i = end;
        self.eat(b'"')?;
        self.b.get(start..end)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if self.b.get(self.i..self.i + word.len())? == word {
            self.i += word.len();
            Some(())
        } else {
            None
        }
    }

    /// A JSON number per the grammar; returns whether it was a plain integer.
    fn number(&mut self) -> Option<bool> {
        let digits = |s: &mut Self| {
            let st = s.i;
            while s.peek().is_some_and(|c| c.is_ascii_digit()) {
                s.i += 1;
            }
            s.i > st
        };
        self.try_eat(b'-');
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => {
                digits(self);
            }
            _ => return None,
        }
        let mut integer = true;
        if self.try_eat(b'.') {
            integer = false;
            digits(self).then_some(())?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            integer = false;
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            digits(self).then_some(())?;
        }
        Some(integer)
    }

    /// Skips any value, validating it. Iterative: nesting cannot exhaust the stack.
    fn skip_value(&mut self) -> Option<()> {
        // Each entry: whether the open container is an object.
        let mut stack: Vec<bool> = Vec::new();
        loop {
            // A value.
            match self.peek()? {
                b'"' => self.skip_string()?,
                // Deep nesting is left to the serde path and its limits.
                b'{' | b'[' if stack.len() >= MAX_FAST_DEPTH => return None,
                b'{' | b'[' => {
                    let obj = self.peek() == Some(b'{');
                    self.i += 1;
                    self.ws();
                    if self.try_eat(if obj { b'}' } else { b']' }) {
                        // Empty container: a complete value.
                    } else {
                        stack.push(obj);
                        if obj {
                            self.skip_string()?;
                            self.ws();
                            self.eat(b':')?;
                            self.ws();
                        }
                        continue;
                    }
                }
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                _ => {
                    self.number()?;
                }
            }
            // After a value: close containers or move to the next element.
            loop {
                let Some(&obj) = stack.last() else {
                    return Some(());
                };
                self.ws();
                if self.try_eat(b',') {
                    self.ws();
                    if obj {
                        self.skip_string()?;
                        self.ws();
                        self.eat(b':')?;
                        self.ws();
                    }
                    break;
                }
                self.eat(if obj { b'}' } else { b']' })?;
                stack.pop();
            }
        }
    }

    fn is_null(&mut self) -> bool {
        if self.peek() == Some(b'n') && self.literal(b"null").is_some() {
            return true;
        }
        false
    }

    /// A string or null.
    fn opt_str(&mut self) -> Option<Option<Cow<'a, str>>> {
        if self.is_null() {
            return Some(None);
        }
        if self.peek()? != b'"' {
            return None;
        }
        self.string().map(Some)
    }

    /// A string or null into `slot` when `want`, else skipped.
    #[inline]
    fn str_if(&mut self, want: bool, slot: &mut Option<Cow<'a, str>>) -> Option<()> {
        if want {
            *slot = self.opt_str()?;
            Some(())
        } else {
            self.skip_value()
        }
    }

    /// A timestamp string (empty → null) or null.
    fn opt_timestamp(&mut self) -> Option<Option<i64>> {
        match self.opt_str()? {
            None => Some(None),
            Some(s) if s.is_empty() => Some(None),
            Some(s) => parse_timestamp_bytes(s.as_bytes()).ok().map(Some),
        }
    }

    /// A plain integer in `i32` range, or null.
    fn opt_i32(&mut self) -> Option<Option<i32>> {
        if self.is_null() {
            return Some(None);
        }
        // Negative codes (and `-0`, which parsers read differently) go to the serde path.
        if self.peek() == Some(b'-') {
            return None;
        }
        let start = self.i;
        if !self.number()? {
            return None;
        }
        self.text.get(start..self.i)?.parse::<i32>().ok().map(Some)
    }

    /// An object (each key handed to `field`, which must consume the value) or null.
    fn object_or_null(
        &mut self,
        mut field: impl FnMut(&mut Self, &[u8]) -> Option<()>,
    ) -> Option<()> {
        if self.is_null() {
            return Some(());
        }
        self.eat(b'{')?;
        self.ws();
        if self.try_eat(b'}') {
            return Some(());
        }
        loop {
            let k = self.key()?;
            self.ws();
            self.eat(b':')?;
            self.ws();
            field(self, k)?;
            self.ws();
            if self.try_eat(b',') {
                self.ws();
                continue;
            }
            return self.eat(b'}');
        }
    }

    /// `sourceIPs`: the first element (a string or null) of an array, or null.
    fn first_ip(&mut self, slot: &mut Option<Cow<'a, str>>) -> Option<()> {
        if self.is_null() {
            return Some(());
        }
        self.eat(b'[')?;
        self.ws();
        if self.try_eat(b']') {
            return Some(());
        }
        *slot = self.opt_str()?;
        loop {
            self.ws();
            if self.try_eat(b',') {
                self.ws();
                self.skip_value()?;
                continue;
            }
            return self.eat(b']');
        }
    }
}

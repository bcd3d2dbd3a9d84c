//! Stage 2: walking a record's tokens on demand.

use std::borrow::Cow;

use super::{unescape, Masks};

/// Containers nested deeper than this, counted from the outermost one (as the serde path's
/// guard counts them, [`MAX_NESTING`](crate::MAX_NESTING)), give up: the serde path then
/// reports the nesting error.
const MAX_DEPTH: u32 = crate::decode::MAX_NESTING as u32;

/// A position in one record's token list ([`Index`](super::Index)). Every method returns
/// `None` where the JSON is invalid or unusual; the caller then falls back to the serde path.
pub(crate) struct Cursor<'a, 't> {
    /// The indexed bytes (a record, or the escaped content of a JSON-text string), whose
    /// UTF-8 the index checked.
    b: &'a [u8],
    toks: &'t [u32],
    /// The stage-1 masks of `b`: a string's escapes are found from its backslash bits.
    masks: &'t [Masks],
    t: usize,
    /// 0 for a record; 1 for JSON text inside a string, where each string's closing
    /// delimiter is preceded by the `\` of its escape.
    level: usize,
    /// Containers open around the current token.
    depth: u32,
    /// No string content at or after the current token that ends at or before this byte has
    /// a backslash ([`Index`](super::Index)'s `plain_until` to start with, then moved on by
    /// [`has_backslash`](Cursor::has_backslash)).
    plain_until: usize,
}

impl<'a, 't> Cursor<'a, 't> {
    /// A cursor at the first token of `b`, indexed at escape `level` 0 or 1. Only
    /// [`Index::cursor`](super::Index::cursor) makes one, for the bytes it validated.
    pub(super) fn new(
        b: &'a [u8],
        toks: &'t [u32],
        masks: &'t [Masks],
        level: usize,
        plain_until: usize,
    ) -> Cursor<'a, 't> {
        Cursor {
            b,
            toks,
            masks,
            t: 0,
            level,
            depth: 0,
            plain_until,
        }
    }

    /// Whether any byte of the string content `s..e` is a backslash, from the masks (no pass
    /// over the bytes). Strings are asked about in order, so once past `plain_until` the
    /// next backslash from `s` on becomes the new bound: a record's strings after its last
    /// escape (AKSAudit rows' `PodName`, `Type`, `_ResourceId` after the annotations' quoted
    /// reason) are then answered by one compare each, not by a look at their blocks.
    #[inline]
    fn has_backslash(&mut self, s: usize, e: usize) -> bool {
        if e <= self.plain_until {
            return false;
        }
        // No content from `s` on that ends at or before the next backslash holds one.
        self.plain_until = self.next_backslash(s);
        self.plain_until < e
    }

    /// The position of the first backslash at or after `from` (`usize::MAX` if none).
    #[inline(never)]
    fn next_backslash(&self, from: usize) -> usize {
        let mut k = from / 64;
        let first = self
            .masks
            .get(k)
            .map(|m| m.backslash & (!0u64 << (from % 64)));
        let mut bits = first.unwrap_or(0);
        loop {
            if bits != 0 {
                return k * 64 + bits.trailing_zeros() as usize;
            }
            k += 1;
            match self.masks.get(k) {
                Some(m) => bits = m.backslash,
                None => return usize::MAX,
            }
        }
    }

    /// The text of the string content `s..e`, cut between two tokens.
    #[inline]
    fn text(&self, s: usize, e: usize) -> Option<&'a str> {
        let bytes = self.b.get(s..e)?;
        debug_assert!(std::str::from_utf8(bytes).is_ok());
        // SAFETY: the cursor exists only for bytes its index validated as UTF-8 (all ASCII,
        // or checked whole by `Index::build`; JSON text is a string of such a record, cut at
        // its quotes), and `s` and `e` are next to quote or backslash tokens, which are ASCII
        // and so on character boundaries. A slice of valid UTF-8 between character
        // boundaries is valid UTF-8. Re-checking here cost ~5 % of a parse.
        #[allow(unsafe_code)]
        Some(unsafe { std::str::from_utf8_unchecked(bytes) })
    }

    /// Whether every token has been consumed.
    #[inline]
    pub(crate) fn at_end(&self) -> bool {
        self.t >= self.toks.len()
    }

    /// The index of the current token in the list the cursor walks (for
    /// [`Index::cursor_over`](super::Index::cursor_over)).
    #[inline]
    pub(crate) fn token(&self) -> usize {
        self.t
    }

    #[inline]
    fn pos(&self) -> Option<usize> {
        self.toks.get(self.t).map(|&p| p as usize)
    }

    /// The byte of the current token.
    #[inline]
    pub(crate) fn peek(&self) -> Option<u8> {
        self.toks.get(self.t).map(|&p| self.byte(p))
    }

    /// The byte at token position `p` (one of `toks`), read without a bounds check: every
    /// token lies inside `b` ([`Index::cursor`](super::Index::cursor) checks it before it
    /// hands out a cursor). The checks cost ~5 % of an `AKSAudit` parse's instructions: two
    /// to four per object member, one per skipped token.
    #[inline(always)]
    fn byte(&self, p: u32) -> u8 {
        let p = p as usize;
        debug_assert!(p < self.b.len());
        // SAFETY: `p` is a token position, and a cursor exists only for bytes `b` whose every
        // token position is below `b.len()` (`Index::cursor` checks the largest, the last).
        #[allow(unsafe_code)]
        unsafe {
            *self.b.get_unchecked(p)
        }
    }

    /// Consumes the current token if it is the structural byte `c`.
    #[inline]
    pub(crate) fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.t += 1)
    }

    #[inline]
    fn try_eat(&mut self, c: u8) -> bool {
        self.eat(c).is_some()
    }

    /// The content range of the string whose opening delimiter is the current token.
    #[inline]
    pub(crate) fn string_span(&mut self) -> Option<(usize, usize)> {
        // Nothing inside a string is a token: the next token is its closing delimiter.
        let &[open, close] = self.toks.get(self.t..self.t + 2)? else {
            return None;
        };
        if self.byte(open) != b'"' {
            return None;
        }
        let (open, close) = (open as usize, close as usize);
        self.t += 2;
        Some((open + 1, close.checked_sub(self.level)?))
    }

    /// An object member's key (undecoded) and the colon after it, the cursor left at its
    /// value. Keys with escapes give up (serde decodes them).
    #[inline]
    fn member_key(&mut self) -> Option<&'a [u8]> {
        // The key's two delimiters and the colon, loaded and bounds-checked together.
        let &[open, close, colon] = self.toks.get(self.t..self.t + 3)? else {
            return None;
        };
        if self.byte(open) != b'"' || self.byte(colon) != b':' {
            return None;
        }
        let (open, close) = (open as usize, close as usize);
        let (s, e) = (open + 1, close.checked_sub(self.level)?);
        if self.has_backslash(s, e) {
            return None;
        }
        self.t += 3;
        self.b.get(s..e)
    }

    /// After a member or element: `Some(true)` past a comma (another follows), `Some(false)`
    /// past the container's closing bracket `close`.
    #[inline]
    fn next_or_close(&mut self, close: u8) -> Option<bool> {
        let c = self.peek()?;
        self.t += 1;
        match c {
            b',' => Some(true),
            c if c == close => Some(false),
            _ => None,
        }
    }

    /// A string value, borrowed unless it has escapes.
    pub(crate) fn string(&mut self) -> Option<Cow<'a, str>> {
        let (s, e) = self.string_span()?;
        let raw = self.text(s, e)?;
        if !self.has_backslash(s, e) {
            return Some(Cow::Borrowed(raw));
        }
        let once = unescape(raw)?;
        Some(Cow::Owned(match self.level {
            0 => once,
            _ => unescape(&once)?,
        }))
    }

    /// A string or null.
    pub(crate) fn opt_str(&mut self) -> Option<Option<Cow<'a, str>>> {
        if self.is_null() {
            return Some(None);
        }
        self.string().map(Some)
    }

    /// The bytes of the number or literal at the current token (not checked).
    fn scalar_bytes(&mut self) -> Option<&'a [u8]> {
        let start = self.pos()?;
        let rest = self.b.get(start..)?;
        let level = self.level;
        let len = rest
            .iter()
            .position(|&c| {
                matches!(
                    c,
                    b' ' | b'\t' | b'\n' | b'\r' | b'{' | b'}' | b'[' | b']' | b':' | b',' | b'"'
                ) || (level > 0 && c == b'\\')
            })
            .unwrap_or(rest.len());
        self.t += 1;
        rest.get(..len)
    }

    /// A number or literal, checked against the grammar; returns it and whether it is a
    /// plain integer (no fraction or exponent).
    fn scalar(&mut self) -> Option<(&'a [u8], Scalar)> {
        match self.peek()? {
            b'{' | b'}' | b'[' | b']' | b':' | b',' | b'"' => None,
            _ => {
                let s = self.scalar_bytes()?;
                Some((s, classify_scalar(s)?))
            }
        }
    }

    /// Consumes `null` if it is the current token.
    #[inline]
    pub(crate) fn is_null(&mut self) -> bool {
        if self.peek() == Some(b'n') {
            let save = self.t;
            if let Some((_, Scalar::Null)) = self.scalar() {
                return true;
            }
            self.t = save;
        }
        false
    }

    /// A plain non-negative integer in `i32` range, or null. Negative codes (and `-0`, which
    /// parsers read differently) give up.
    pub(crate) fn opt_i32(&mut self) -> Option<Option<i32>> {
        if self.is_null() {
            return Some(None);
        }
        match self.scalar()? {
            (s, Scalar::Integer) if s.first() != Some(&b'-') => {
                std::str::from_utf8(s).ok()?.parse::<i32>().ok().map(Some)
            }
            _ => None,
        }
    }

    /// An object (each key handed to `field`, which must consume the value) or null.
    pub(crate) fn object_or_null(
        &mut self,
        mut field: impl FnMut(&mut Self, &'a [u8]) -> Option<()>,
    ) -> Option<()> {
        if self.is_null() {
            return Some(());
        }
        self.object(&mut field)
    }

    /// An object; each key is handed to `field`, which must consume the value.
    pub(crate) fn object(
        &mut self,
        field: &mut impl FnMut(&mut Self, &'a [u8]) -> Option<()>,
    ) -> Option<()> {
        self.open(b'{')?;
        if self.try_eat(b'}') {
            return self.close();
        }
        loop {
            let k = self.member_key()?;
            field(self, k)?;
            if !self.next_or_close(b'}')? {
                return self.close();
            }
        }
    }

    /// Enters the container opened by the current token `c`, within the depth limit.
    #[inline]
    fn open(&mut self, c: u8) -> Option<()> {
        if self.depth >= MAX_DEPTH {
            return None;
        }
        self.eat(c)?;
        self.depth += 1;
        Some(())
    }

    /// Leaves a container entered with [`open`](Cursor::open).
    #[inline]
    fn close(&mut self) -> Option<()> {
        self.depth = self.depth.checked_sub(1)?;
        Some(())
    }

    /// An array; each element is handed to `item`, which must consume it.
    pub(crate) fn array(&mut self, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.open(b'[')?;
        if self.try_eat(b']') {
            return self.close();
        }
        loop {
            item(self)?;
            if !self.next_or_close(b']')? {
                return self.close();
            }
        }
    }

    /// Skips one value (checked like [`skip_value`](Cursor::skip_value)) and returns its
    /// byte range, from its first byte to just after its last. Level 0 only.
    pub(crate) fn value_span(&mut self) -> Option<(usize, usize)> {
        if self.level != 0 {
            return None;
        }
        let start = self.pos()?;
        match self.peek()? {
            b'{' | b'[' | b'"' => {
                self.skip_value()?;
                // The value's last token is its closing bracket or quote.
                let last = *self.toks.get(self.t.checked_sub(1)?)? as usize;
                Some((start, last + 1))
            }
            _ => {
                let (s, _) = self.scalar()?;
                Some((start, start + s.len()))
            }
        }
    }

    /// An array's first element (a string or null), the rest skipped; or null.
    pub(crate) fn first_str_of_array(&mut self) -> Option<Option<Cow<'a, str>>> {
        if self.is_null() {
            return Some(None);
        }
        self.open(b'[')?;
        if self.try_eat(b']') {
            self.close()?;
            return Some(None);
        }
        let first = self.opt_str()?;
        loop {
            if self.try_eat(b',') {
                self.skip_value()?;
                continue;
            }
            self.eat(b']')?;
            self.close()?;
            return Some(first);
        }
    }

    /// Skips one value, checking its grammar token by token.
    #[inline]
    pub(crate) fn skip_value(&mut self) -> Option<()> {
        // Most skipped values are strings: two tokens (nothing inside a string is a token),
        // without a call.
        if self.peek()? == b'"' {
            self.t += 2;
            return Some(());
        }
        self.skip_nested()
    }

    /// [`skip_value`](Cursor::skip_value) for containers and scalars. Iterative, bounded
    /// depth.
    #[inline(never)]
    fn skip_nested(&mut self) -> Option<()> {
        // Bit `d` of `objects`: whether the container at depth `d + 1` is an object.
        let (mut depth, mut objects) = (0u32, 0u64);
        loop {
            match self.peek()? {
                b'"' => {
                    self.t += 2;
                }
                open @ (b'{' | b'[') => {
                    if self.depth + depth >= MAX_DEPTH {
                        return None;
                    }
                    self.t += 1;
                    let obj = open == b'{';
                    if !self.try_eat(if obj { b'}' } else { b']' }) {
                        objects = (objects & !(1 << depth)) | (u64::from(obj) << depth);
                        depth += 1;
                        if obj {
                            self.skip_key()?;
                        }
                        continue;
                    }
                }
                _ => {
                    self.scalar()?;
                }
            }
            // After a value: close containers, or move on to the next element.
            loop {
                if depth == 0 {
                    return Some(());
                }
                let obj = objects >> (depth - 1) & 1 == 1;
                if self.try_eat(b',') {
                    if obj {
                        self.skip_key()?;
                    }
                    break;
                }
                self.eat(if obj { b'}' } else { b']' })?;
                depth -= 1;
            }
        }
    }

    /// A member's key and colon, inside a skipped object (the key is not read, so escapes
    /// are fine). [`member_key`](Cursor::member_key)'s first half, written again on
    /// purpose: sharing a helper between the two measured +1 % instructions on native.
    #[inline]
    fn skip_key(&mut self) -> Option<()> {
        let &[open, _, colon] = self.toks.get(self.t..self.t + 3)? else {
            return None;
        };
        if self.byte(open) != b'"' || self.byte(colon) != b':' {
            return None;
        }
        self.t += 3;
        Some(())
    }
}

/// What a checked number or literal is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scalar {
    Integer,
    Float,
    Bool,
    Null,
}

/// Checks a number or literal against the JSON grammar.
fn classify_scalar(s: &[u8]) -> Option<Scalar> {
    match s {
        b"true" | b"false" => return Some(Scalar::Bool),
        b"null" => return Some(Scalar::Null),
        _ => {}
    }
    let mut i = 0;
    let digits = |i: &mut usize| {
        let st = *i;
        while s.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i > st
    };
    if s.first() == Some(&b'-') {
        i += 1;
    }
    match s.get(i)? {
        b'0' => i += 1,
        b'1'..=b'9' => {
            digits(&mut i);
        }
        _ => return None,
    }
    let mut kind = Scalar::Integer;
    if s.get(i) == Some(&b'.') {
        i += 1;
        kind = Scalar::Float;
        digits(&mut i).then_some(())?;
    }
    if let Some(b'e' | b'E') = s.get(i) {
        i += 1;
        kind = Scalar::Float;
        if let Some(b'+' | b'-') = s.get(i) {
            i += 1;
        }
        digits(&mut i).then_some(())?;
    }
    (i == s.len()).then_some(kind)
}

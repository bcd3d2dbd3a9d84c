//! The structural scanner: simdjson's two stages, shaped for projection.
//!
//! **Stage 1** ([`classify`]) turns 64 bytes at a time into bit masks (quotes, backslashes,
//! `{}[]:,`, whitespace, control and non-ASCII bytes) with SIMD. [`Index::build`] then
//! resolves escapes and string spans with carry-less bit arithmetic and flattens the
//! *tokens* of one record — structural characters outside strings, string delimiters, the
//! first byte of each number or literal — into a list of positions. All per-byte checks are
//! done here, once per record, as mask tests: no control byte inside a string, every escape
//! valid, every string closed, UTF-8 valid (only records with non-ASCII bytes pay for it).
//!
//! **Stage 2** ([`Cursor`]) walks the tokens on demand: a skipped value costs work per token,
//! not per byte, yet its grammar is still checked token by token, so the fast path accepts
//! exactly the valid JSON the serde path accepts (and gives up on anything else).
//!
//! **JSON inside a string** (`log_s`, `properties.log`): [`Index::build_nested`] indexes the
//! *escaped* text in place, one escaping level deep — `\"` is a delimiter, `\\\"` an escaped
//! quote inside an inner string — so the event is walked where it lies, without unescaping it
//! into a buffer; only projected values that contain escapes are decoded.
//!
//! The scanner gives up (`None`) on anything it does not handle — escaped keys, `\u`
//! escapes in the outer level of JSON text, surrogates inside JSON text, records over 4 GiB —
//! and the caller falls back to the serde path, which decides and reports precisely.

pub(crate) mod classify;
mod cursor;

pub(crate) use classify::{classify, Masks};
pub(crate) use cursor::Cursor;

const EVEN: u64 = 0x5555_5555_5555_5555;
const ODD: u64 = !EVEN;

/// Escapes in one block: returns `(escaped, introducers)` — the bytes escaped by a
/// backslash (escaped backslashes included) and the backslashes that start an escape.
/// `carry` is 1 when the previous block's last byte started an escape (simdjson's
/// `json_escape_scanner`).
#[inline]
fn escapes(backslash: u64, carry: &mut u64) -> (u64, u64) {
    if backslash == 0 {
        let escaped = *carry;
        *carry = 0;
        return (escaped, 0);
    }
    let potential = backslash & !*carry;
    // Within a run of backslashes, those at an even distance from the run's start introduce
    // an escape; the subtraction finds the runs' starts and ends in one carry chain.
    let maybe_escaped = potential << 1;
    let codes = ((maybe_escaped | ODD).wrapping_sub(potential)) ^ ODD;
    let escaped = codes ^ (backslash | *carry);
    let intro = codes & backslash;
    *carry = intro >> 63;
    (escaped, intro)
}

/// Bit `i` set iff an odd number of bits `0..=i` of `x` are set.
#[inline]
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// The bit operations of the token passes that have faster CPU instructions than the
/// portable build may assume: each pass is compiled once generic over this, and once more
/// for x86-64 CPUs with carry-less multiply and popcount (chosen at run time, see
/// `classify::x86`).
pub(crate) trait Bits {
    /// [`prefix_xor`].
    fn prefix_xor(x: u64) -> u64;
}

/// The portable [`Bits`].
pub(crate) struct Portable;

impl Bits for Portable {
    #[inline(always)]
    fn prefix_xor(x: u64) -> u64 {
        prefix_xor(x)
    }
}

/// All ones if the top bit is set, else zero.
#[inline]
fn spread_top(x: u64) -> u64 {
    0u64.wrapping_sub(x >> 63)
}

#[inline]
fn bit(masks: &[u64], p: usize) -> bool {
    masks.get(p / 64).is_some_and(|m| m >> (p % 64) & 1 == 1)
}

#[inline]
fn set_bit(masks: &mut [u64], p: usize) {
    if let Some(m) = masks.get_mut(p / 64) {
        *m |= 1 << (p % 64);
    }
}

/// Token positions under construction: a buffer kept at least as long as the bytes indexed
/// (a byte is at most one token), so that a block's positions are written without a
/// capacity check per token.
#[derive(Debug, Default)]
struct Tokens {
    buf: Vec<u32>,
    len: usize,
}

impl Tokens {
    /// Empties the list, making room for the tokens of `n` bytes.
    fn reset(&mut self, n: usize) {
        let room = n + 64;
        if self.buf.len() < room {
            self.buf.resize(room, 0);
        }
        self.len = 0;
    }

    /// Appends the positions of the set bits of `toks` (block `k`).
    #[inline(always)]
    fn flatten(&mut self, k: usize, mut toks: u64) -> Option<()> {
        let base = (k * 64) as u32;
        let n = toks.count_ones() as usize;
        for slot in self.buf.get_mut(self.len..self.len + n)? {
            *slot = base + toks.trailing_zeros();
            toks &= toks.wrapping_sub(1);
        }
        self.len += n;
        Some(())
    }

    fn as_slice(&self) -> &[u32] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

/// One record's token positions (and the scratch space to build them, reused across
/// records).
#[derive(Debug, Default)]
pub(crate) struct Index {
    masks: Vec<Masks>,
    /// Per block, for JSON text: the outer level's escape introducers, escaped bytes, and the
    /// inner level's escaped bytes.
    intro: Vec<u64>,
    outer_escaped: Vec<u64>,
    /// Outer `\n`, `\r`, `\t`: whitespace of the inner text (archive events end in `\n`).
    escaped_ws: Vec<u64>,
    inner_escaped: Vec<u64>,
    /// Token positions, ascending.
    toks: Tokens,
    /// No string content that ends at or before this byte holds an escape: string values and
    /// keys there are borrowed without looking at their bytes' backslash bits. (Records put
    /// their escapes late — annotations' quoted reasons — so this covers most strings.)
    plain_until: usize,
    /// The bytes last indexed successfully (address, length, escape level): a cursor is
    /// handed out only for those, which is what lets it trust their UTF-8.
    indexed: Option<(usize, usize, usize)>,
}

impl Index {
    /// Indexes one JSON record. `None`: the record is not valid JSON text at the byte level
    /// (or is too large); let the serde path decide.
    pub(crate) fn build(&mut self, b: &[u8]) -> Option<()> {
        self.indexed = None;
        u32::try_from(b.len()).ok()?;
        classify(b, &mut self.masks);
        self.toks.reset(b.len());
        #[cfg(target_arch = "x86_64")]
        if let Some(done) = classify::x86::tokens(self, b, false) {
            return done;
        }
        self.tokens::<Portable>(b)
    }

    /// [`build`](Index::build)'s token pass over the classified blocks.
    #[inline(always)]
    pub(crate) fn tokens<B: Bits>(&mut self, b: &[u8]) -> Option<()> {
        let (mut esc_carry, mut str_carry, mut scalar_carry) = (0u64, 0u64, 0u64);
        let (mut high, mut bad, mut expect_low) = (0u64, 0u64, usize::MAX);
        for (k, m) in self.masks.iter().enumerate() {
            let (esc, _) = escapes(m.backslash, &mut esc_carry);
            let quote = m.quote & !esc;
            // Inside a string: from its opening quote up to (not including) its closing one.
            let in_str = B::prefix_xor(quote) ^ str_carry;
            str_carry = spread_top(in_str);
            bad |= m.ctrl & (in_str | !m.ws);
            high |= m.high;
            // `\"` and `\\` are valid wherever they are (JSON text inside a string is full of
            // them): only the other escapes are looked at one by one.
            let other = esc & !(m.quote | m.backslash);
            if other != 0 && !valid_escapes(b, k, other, &mut expect_low) {
                return None;
            }
            let scalar = !(in_str | quote | m.ws | m.structural);
            let scalar_start = scalar & !((scalar << 1) | scalar_carry);
            scalar_carry = scalar >> 63;
            self.toks
                .flatten(k, (m.structural & !in_str) | quote | scalar_start)?;
        }
        if bad != 0 || str_carry != 0 || (high != 0 && std::str::from_utf8(b).is_err()) {
            return None;
        }
        self.plain_until = self
            .masks
            .iter()
            .enumerate()
            .find(|(_, m)| m.backslash != 0)
            .map_or(b.len(), |(k, m)| {
                k * 64 + m.backslash.trailing_zeros() as usize
            });
        self.indexed = Some((b.as_ptr() as usize, b.len(), 0));
        Some(())
    }

    /// A cursor at the first token of `b`, which must be the bytes last indexed (else
    /// `None`).
    pub(crate) fn cursor<'a>(&self, b: &'a [u8]) -> Option<Cursor<'a, '_>> {
        let (at, len, level) = self.indexed?;
        (at == b.as_ptr() as usize && len == b.len()).then(|| {
            Cursor::new(
                b,
                self.toks.as_slice(),
                &self.masks,
                level,
                self.plain_until,
            )
        })
    }

    /// The token positions of the bytes last indexed, ascending.
    #[cfg(test)]
    pub(crate) fn toks(&self) -> &[u32] {
        self.toks.as_slice()
    }

    /// Indexes JSON text found escaped inside a string: `raw` is the string's content between
    /// its quotes, already validated as part of its record by [`build`](Index::build).
    /// `None`: the text uses escapes this level does not handle, or is not valid JSON at the
    /// byte level.
    #[cfg(test)]
    pub(crate) fn build_nested(&mut self, raw: &[u8]) -> Option<()> {
        self.indexed = None;
        u32::try_from(raw.len()).ok()?;
        classify(raw, &mut self.masks);
        self.nested_passes(raw)
    }

    /// [`build_nested`](Index::build_nested) for text inside the record that `outer` has
    /// indexed: the text's classes are shifted out of the record's instead of classified
    /// again. Falls back to classifying when `raw` does not lie inside that record.
    pub(crate) fn build_nested_in(&mut self, outer: &Index, raw: &[u8]) -> Option<()> {
        self.indexed = None;
        u32::try_from(raw.len()).ok()?;
        match outer.offset_of(raw) {
            Some(start) => shifted_masks(&outer.masks, start, raw.len(), &mut self.masks),
            None => classify(raw, &mut self.masks),
        }
        self.nested_passes(raw)
    }

    /// Where `part` starts in the bytes last indexed at level 0, if it lies inside them.
    fn offset_of(&self, part: &[u8]) -> Option<usize> {
        let (at, len, level) = self.indexed?;
        let start = (part.as_ptr() as usize).checked_sub(at)?;
        (level == 0 && start.checked_add(part.len())? <= len).then_some(start)
    }

    /// The passes of [`build_nested`](Index::build_nested) after classification.
    fn nested_passes(&mut self, raw: &[u8]) -> Option<()> {
        #[cfg(target_arch = "x86_64")]
        if let Some(done) = classify::x86::tokens(self, raw, true) {
            return done;
        }
        self.nested_tokens::<Portable>(raw)
    }

    /// [`build_nested`](Index::build_nested)'s passes over the classified blocks.
    #[inline(always)]
    pub(crate) fn nested_tokens<B: Bits>(&mut self, raw: &[u8]) -> Option<()> {
        let Index {
            masks,
            intro,
            outer_escaped,
            escaped_ws,
            inner_escaped,
            toks,
            plain_until: plain_until_out,
            indexed,
            ..
        } = self;
        let n = masks.len();
        toks.reset(raw.len());
        // Per-block arrays sized once and written through iterators: a push per block and
        // array paid a length check and a store of the length each.
        // (The first three are overwritten whole by the first pass: no zeroing.)
        for v in [&mut *intro, &mut *outer_escaped, &mut *escaped_ws] {
            v.resize(n, 0);
        }
        inner_escaped.clear();
        inner_escaped.resize(n + 1, 0);
        // Outer level: which backslashes introduce an escape, which bytes are escaped. Only
        // `\"`, `\\` and whitespace (`\n`, `\r`, `\t`, outside inner strings) are read in
        // place; anything else (`\/`, `\u…`) gives up.
        let (mut carry, mut high) = (0u64, 0u64);
        let per_block = intro
            .iter_mut()
            .zip(outer_escaped.iter_mut())
            .zip(escaped_ws.iter_mut());
        for (k, (m, ((intro, outer), ws_out))) in masks.iter().zip(per_block).enumerate() {
            let (esc, intro_bits) = escapes(m.backslash, &mut carry);
            if m.ctrl != 0 {
                return None;
            }
            high |= m.high;
            let (mut other, mut ws) = (esc & !(m.quote | m.backslash), 0u64);
            while other != 0 {
                let bit = other & other.wrapping_neg();
                other &= other - 1;
                match raw.get(k * 64 + bit.trailing_zeros() as usize) {
                    Some(b'n' | b'r' | b't') => ws |= bit,
                    _ => return None,
                }
            }
            *intro = intro_bits;
            *outer = esc;
            *ws_out = ws;
        }
        // Inner level: an inner backslash (an escaped `\`) that is not itself escaped
        // escapes the next visible byte (skipping the next escape's introducer).
        for (k, (m, outer)) in masks.iter().zip(outer_escaped.iter()).enumerate() {
            let mut inner_bs = m.backslash & outer;
            while inner_bs != 0 {
                let p = k * 64 + inner_bs.trailing_zeros() as usize;
                inner_bs &= inner_bs - 1;
                if bit(inner_escaped, p) {
                    continue;
                }
                let q = if bit(intro, p + 1) { p + 2 } else { p + 1 };
                if !valid_inner_escape(raw, q, bit(outer_escaped, q)) {
                    return None;
                }
                set_bit(inner_escaped, q);
            }
        }
        // Delimiters, strings and tokens of the inner text. Each block looks at the first
        // byte of the next one (an escape introduced at a block's last byte).
        let (mut str_carry, mut scalar_carry) = (0u64, 0u64);
        let mut plain_until = raw.len();
        let next_first = masks
            .iter()
            .skip(1)
            .zip(inner_escaped.iter().skip(1))
            .zip(escaped_ws.iter().skip(1))
            .map(|((m, &esc), &ws)| ((m.quote & !esc) | ws) << 63)
            .chain(std::iter::once(0));
        let per_block = intro
            .iter()
            .zip(outer_escaped.iter())
            .zip(escaped_ws.iter())
            .zip(inner_escaped.iter())
            .zip(next_first);
        for (k, (m, ((((&intro, &outer_esc), &ws_esc), &inner_esc), next_first))) in
            masks.iter().zip(per_block).enumerate()
        {
            let delim = m.quote & !inner_esc;
            let in_str = B::prefix_xor(delim) ^ str_carry;
            str_carry = spread_top(in_str);
            // A control character inside an inner string is invalid JSON.
            if ws_esc & in_str != 0 {
                return None;
            }
            // Outside inner strings the only escapes allowed are the introducers of opening
            // delimiters; an inner backslash or escaped byte there is invalid JSON.
            let next_ok = (delim >> 1) | (ws_esc >> 1) | next_first;
            // A string's content holds a backslash only where one does not introduce a
            // delimiter (an inner escape); the first such one bounds the plain strings.
            let odd = intro & !next_ok;
            if odd != 0 && plain_until == raw.len() {
                plain_until = k * 64 + odd.trailing_zeros() as usize;
            }
            let outside = !in_str;
            if (odd & outside) != 0
                || (outer_esc & outside & !(delim | ws_esc)) != 0
                || (inner_esc & outside) != 0
            {
                return None;
            }
            let scalar = !(in_str | delim | m.ws | m.structural | intro | ws_esc);
            let scalar_start = scalar & !((scalar << 1) | scalar_carry);
            scalar_carry = scalar >> 63;
            toks.flatten(k, (m.structural & outside) | delim | scalar_start)?;
        }
        // The enclosing record was validated, but the cursor relies on it: check non-ASCII
        // text again (rare, and only then).
        if str_carry != 0 || (high != 0 && std::str::from_utf8(raw).is_err()) {
            return None;
        }
        *plain_until_out = plain_until;
        *indexed = Some((raw.as_ptr() as usize, raw.len(), 1));
        Some(())
    }
}

/// The classes of `len` bytes starting at byte `start` of classified input, as
/// [`classify`] would give them for those bytes alone (the last block padded with spaces).
fn shifted_masks(masks: &[Masks], start: usize, len: usize, out: &mut Vec<Masks>) {
    const PAD: Masks = Masks {
        quote: 0,
        backslash: 0,
        structural: 0,
        ws: !0,
        ctrl: 0,
        high: 0,
    };
    out.clear();
    let (q, r) = (start / 64, start % 64);
    let blocks = len.div_ceil(64);
    out.reserve(blocks);
    let join = |lo: u64, hi: u64| {
        if r == 0 {
            lo
        } else {
            (lo >> r) | (hi << (64 - r))
        }
    };
    for k in 0..blocks {
        let lo = masks.get(q + k).copied().unwrap_or(PAD);
        let hi = masks.get(q + k + 1).copied().unwrap_or(PAD);
        let mut m = Masks {
            quote: join(lo.quote, hi.quote),
            backslash: join(lo.backslash, hi.backslash),
            structural: join(lo.structural, hi.structural),
            ws: join(lo.ws, hi.ws),
            ctrl: join(lo.ctrl, hi.ctrl),
            high: join(lo.high, hi.high),
        };
        let tail = len - k * 64;
        if tail < 64 {
            let keep = (1u64 << tail) - 1;
            m.quote &= keep;
            m.backslash &= keep;
            m.structural &= keep;
            m.ws = (m.ws & keep) | !keep;
            m.ctrl &= keep;
            m.high &= keep;
        }
        out.push(m);
    }
}

/// Checks the escapes whose escaped bytes are marked in `esc` (block `k` of `b`).
/// `expect_low` carries, across blocks, where the low half of a surrogate pair must be.
fn valid_escapes(b: &[u8], k: usize, mut esc: u64, expect_low: &mut usize) -> bool {
    while esc != 0 {
        let p = k * 64 + esc.trailing_zeros() as usize;
        esc &= esc - 1;
        match b.get(p) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {}
            Some(b'u') => match hex4(b, p + 1) {
                // A high surrogate must be followed by an escaped low one, which is then
                // checked as a `u` escape of its own (the `\\` after four hex digits always
                // starts an escape).
                Some(0xD800..=0xDBFF) => {
                    let low = (b.get(p + 5..p + 7) == Some(b"\\u"))
                        .then(|| hex4(b, p + 7))
                        .flatten();
                    if !low.is_some_and(|lo| (0xDC00..0xE000).contains(&lo)) {
                        return false;
                    }
                    *expect_low = p + 6;
                }
                // A low surrogate is valid only right after a high one.
                Some(0xDC00..=0xDFFF) if *expect_low != p => return false,
                Some(_) => {}
                None => return false,
            },
            _ => return false,
        }
    }
    true
}

/// An escape of the inner level: the escaped byte at `q` of the escaped text is `"` or `\`
/// when escaped at the outer level too (`\\\"`, `\\\\`), else one of `/bfnrt` or a `u` with
/// four hex digits (surrogates give up).
fn valid_inner_escape(raw: &[u8], q: usize, outer_escaped: bool) -> bool {
    match raw.get(q) {
        Some(b'"' | b'\\') => outer_escaped,
        Some(b'/' | b'b' | b'f' | b'n' | b'r' | b't') => !outer_escaped,
        Some(b'u') if !outer_escaped => {
            hex4(raw, q + 1).is_some_and(|c| !(0xD800..0xE000).contains(&c))
        }
        _ => false,
    }
}

/// Four hex digits at `at`.
pub(crate) fn hex4(b: &[u8], at: usize) -> Option<u32> {
    let h = b.get(at..at + 4)?;
    h.iter().try_fold(0u32, |acc, &c| {
        let d = (c as char).to_digit(16)?;
        Some(acc * 16 + d)
    })
}

/// Decodes the escapes of a JSON string's content (validated). `None` on an invalid escape.
pub(crate) fn unescape(raw: &str) -> Option<String> {
    let b = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < b.len() {
        let n = memchr::memchr(b'\\', b.get(i..)?).unwrap_or(b.len() - i);
        out.push_str(raw.get(i..i + n)?);
        i += n;
        if i >= b.len() {
            break;
        }
        i += 1;
        let c = *b.get(i)?;
        i += 1;
        out.push(match c {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = hex4(b, i)?;
                i += 4;
                if (0xD800..0xDC00).contains(&hi) {
                    if b.get(i..i + 2)? != b"\\u" {
                        return None;
                    }
                    let lo = hex4(b, i + 2)?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return None;
                    }
                    i += 6;
                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))?
                } else {
                    char::from_u32(hi)?
                }
            }
            _ => return None,
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests;

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
//! **JSON inside a string** (`log_s`, `properties.log`, [`text`]): the *escaped* text is
//! indexed in place, one escaping level deep — `\"` is a delimiter, `\\\"` an escaped quote
//! inside an inner string — in its record's own blocks, so the event is walked where it lies,
//! without unescaping it into a buffer; only projected values that contain escapes are
//! decoded.
//!
//! The scanner gives up (`None`) on anything it does not handle — escaped keys, `\u`
//! escapes in the outer level of JSON text, surrogates inside JSON text, records over 4 GiB —
//! and the caller falls back to the serde path, which decides and reports precisely.

pub(crate) mod classify;
mod cursor;
mod text;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86_passes;

pub(crate) use classify::{classify, control_bytes, Found, Masks};
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
/// for x86-64 CPUs with carry-less multiply, popcount and BMI1 (chosen at run time, see
/// [`x86_passes`]).
pub(crate) trait Bits {
    /// [`prefix_xor`].
    fn prefix_xor(x: u64) -> u64;

    /// Appends the positions of the set bits of `bits` (block `k`) to `toks`.
    #[inline(always)]
    fn flatten(toks: &mut Tokens, k: usize, bits: u64) -> Option<()> {
        toks.flatten(k, bits)
    }
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

/// How many tokens a record of `n` bytes classified as `masks` can have, for
/// [`Tokens::reset`]: `n` (a token per byte at most) for ordinary records; for a large one (a
/// multi-megabyte `EventList` document) a bound from its masks, which spares zeroing four
/// times its size in memory when its tokens fill about a sixth of that.
///
/// The bound: a token is a structural byte or a quote, or a scalar's first byte, whose
/// previous byte is a quote, a structural byte or whitespace (a string's content runs up to
/// its closing quote), or which is the first byte. So there are at most
/// `|structural ∪ quote| + |structural ∪ quote ∪ whitespace| + 1`.
fn token_room(n: usize, masks: &[Masks]) -> usize {
    const LARGE: usize = 64 << 10;
    if n <= LARGE {
        return n;
    }
    token_bound(masks).min(n)
}

/// [`token_room`]'s bound from the masks.
fn token_bound(masks: &[Masks]) -> usize {
    masks.iter().fold(1usize, |sum, m| {
        let s = m.structural | m.quote;
        sum + (s.count_ones() + (s | m.ws).count_ones()) as usize
    })
}

/// Token positions under construction: a buffer kept at least 64 positions longer than a
/// record can have tokens (see [`token_room`]), so that a block's positions are written
/// without a capacity check per token.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    buf: Vec<u32>,
    len: usize,
}

impl Tokens {
    /// Empties the list, making room for `n` tokens (and a block's 64 scratch slots).
    fn reset(&mut self, n: usize) {
        let room = n + 64;
        if self.buf.len() < room {
            self.buf.resize(room, 0);
        }
        self.len = 0;
    }

    /// Appends the positions of the set bits of `toks` (block `k`).
    ///
    /// simdjson's flatten: eight positions are written whether or not the block has that
    /// many tokens (the slots past the count are scratch, overwritten by the next block), then
    /// eight more if it has over eight, then the rest one by one. A loop that stops exactly at
    /// the count mispredicts its exit on most blocks.
    #[inline(always)]
    fn flatten(&mut self, k: usize, mut toks: u64) -> Option<()> {
        let base = (k * 64) as u32;
        let n = toks.count_ones() as usize;
        let (spare, len) = self.spare_block()?;
        let mut write = |slots: &mut [u32]| {
            for slot in slots {
                *slot = base + toks.trailing_zeros();
                toks &= toks.wrapping_sub(1);
            }
        };
        let (first, rest) = spare.split_at_mut(8);
        write(first);
        if n > 8 {
            let (second, rest) = rest.split_at_mut(8);
            write(second);
            if n > 16 {
                write(rest.get_mut(..n - 16).unwrap_or_default());
            }
        }
        *len += n;
        Some(())
    }

    /// The 64 slots after the last token (a block's tokens fit; the buffer always has them
    /// while a pass runs, see [`reset`](Tokens::reset)), and the count so far.
    #[inline(always)]
    fn spare_block(&mut self) -> Option<(&mut [u32; 64], &mut usize)> {
        let Tokens { buf, len } = self;
        let spare = buf.get_mut(*len..*len + 64)?;
        Some((<&mut [u32; 64]>::try_from(spare).ok()?, len))
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
    /// Whether the bytes classified last have control or non-ASCII bytes.
    found: Found,
    /// Per block, the control bytes of a record that has any ([`control_bytes`]); empty
    /// otherwise.
    ctrl: Vec<u64>,
    /// Per block: the escape introducers and the escaped bytes of a record (kept for the
    /// JSON text inside it, [`text`]), or of JSON text's outer level.
    intro: Vec<u64>,
    outer_escaped: Vec<u64>,
    /// Outer `\n`, `\r`, `\t`: whitespace of the inner text (archive events end in `\n`).
    escaped_ws: Vec<u64>,
    inner_escaped: Vec<u64>,
    /// Token positions, ascending.
    toks: Tokens,
    /// Whether `intro` and `outer_escaped` hold the escapes of the record last indexed.
    escapes_kept: bool,
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
    #[cfg(test)]
    pub(crate) fn build(&mut self, b: &[u8]) -> Option<()> {
        self.build_keeping(b, false)
    }

    /// [`build`](Index::build), keeping the record's escapes when `keep_escapes` for JSON
    /// text inside it ([`build_nested_in`](Index::build_nested_in)).
    pub(crate) fn build_keeping(&mut self, b: &[u8], keep_escapes: bool) -> Option<()> {
        self.indexed = None;
        self.escapes_kept = keep_escapes;
        u32::try_from(b.len()).ok()?;
        self.classify(b);
        self.toks.reset(token_room(b.len(), &self.masks));
        #[cfg(target_arch = "x86_64")]
        if let Some(done) = x86_passes::tokens(self, b, keep_escapes) {
            return done;
        }
        match keep_escapes {
            true => self.tokens::<Portable, true>(b),
            false => self.tokens::<Portable, false>(b),
        }
    }

    /// Stage 1 of a record: its masks, and its control bytes if it has any.
    pub(crate) fn classify(&mut self, b: &[u8]) {
        self.found = classify(b, &mut self.masks);
        match self.found.ctrl {
            true => control_bytes(b, &mut self.ctrl),
            false => self.ctrl.clear(),
        }
    }

    /// [`build`](Index::build)'s token pass over the classified blocks; `KEEP`: store each
    /// block's escapes.
    #[inline(always)]
    pub(crate) fn tokens<B: Bits, const KEEP: bool>(&mut self, b: &[u8]) -> Option<()> {
        let Index {
            masks,
            found,
            ctrl,
            intro,
            outer_escaped,
            toks,
            ..
        } = self;
        let (mut esc_carry, mut str_carry, mut scalar_carry) = (0u64, 0u64, 0u64);
        let (mut bad, mut expect_low) = (0u64, usize::MAX);
        // The first backslash, found on the way (a pass over the masks afterwards cost 0.4 %
        // of an AKSAudit parse's instructions).
        let mut plain_until = b.len();
        // Kept escapes are overwritten whole below.
        if KEEP {
            intro.resize(masks.len(), 0);
            outer_escaped.resize(masks.len(), 0);
        }
        for (k, m) in masks.iter().enumerate() {
            if m.backslash != 0 && plain_until == b.len() {
                plain_until = k * 64 + m.backslash.trailing_zeros() as usize;
            }
            let (esc, intro_bits) = escapes(m.backslash, &mut esc_carry);
            if KEEP {
                if let (Some(i), Some(e)) = (intro.get_mut(k), outer_escaped.get_mut(k)) {
                    (*i, *e) = (intro_bits, esc);
                }
            }
            let quote = m.quote & !esc;
            // Inside a string: from its opening quote up to (not including) its closing one.
            let in_str = B::prefix_xor(quote) ^ str_carry;
            str_carry = spread_top(in_str);
            // Control bytes: only whitespace, and only outside strings (a record without any
            // has no masks to look at).
            if let Some(&c) = ctrl.get(k) {
                bad |= c & (in_str | !m.ws);
            }
            // `\"` and `\\` are valid wherever they are (JSON text inside a string is full of
            // them): only the other escapes are looked at one by one.
            let other = esc & !(m.quote | m.backslash);
            if other != 0 && !valid_escapes(b, k, other, &mut expect_low) {
                return None;
            }
            let scalar = !(in_str | quote | m.ws | m.structural);
            let scalar_start = scalar & !((scalar << 1) | scalar_carry);
            scalar_carry = scalar >> 63;
            B::flatten(toks, k, (m.structural & !in_str) | quote | scalar_start)?;
        }
        if bad != 0 || str_carry != 0 || (found.high && std::str::from_utf8(b).is_err()) {
            return None;
        }
        self.plain_until = plain_until;
        self.indexed = Some((b.as_ptr() as usize, b.len(), 0));
        Some(())
    }

    /// A cursor at the first token of `b`, which must be the bytes last indexed (else
    /// `None`).
    pub(crate) fn cursor<'a>(&self, b: &'a [u8]) -> Option<Cursor<'a, '_>> {
        self.cursor_over(b, 0..self.toks.len)
    }

    /// A cursor over tokens `toks` (indices into the token list, as
    /// [`Cursor::token`] tells them) of the bytes `b` last indexed: one value inside the
    /// record, walked without indexing its bytes again (the elements of a wrapper's array).
    /// `None` if `b` is not what was indexed last or the range is not in the list.
    pub(crate) fn cursor_over<'a>(
        &self,
        b: &'a [u8],
        toks: std::ops::Range<usize>,
    ) -> Option<Cursor<'a, '_>> {
        let toks = self.toks.as_slice().get(toks)?;
        let (at, len, level) = self.indexed?;
        // Every token inside `b`: what lets the cursor read token bytes unchecked. True by
        // construction (positions come from bits of `b`'s blocks; the last block's padding is
        // whitespace, never a token) and ascending (blocks in order, bits in order), so the
        // last token is the largest: checked anyway, so that a bug in a kernel cannot turn
        // into a read outside `b`.
        let inside = toks.last().is_none_or(|&p| (p as usize) < len);
        (inside && at == b.as_ptr() as usize && len == b.len())
            .then(|| Cursor::new(b, toks, &self.masks, level, self.plain_until))
    }

    /// The token positions of the bytes last indexed, ascending.
    #[cfg(test)]
    pub(crate) fn toks(&self) -> &[u32] {
        self.toks.as_slice()
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

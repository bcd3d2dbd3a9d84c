//! JSON inside a string (`log_s`, `properties.log`): the escaped text indexed in place, one
//! escaping level deep — `\"` is a delimiter, `\\\"` an escaped quote inside an inner
//! string — so the event is walked where it lies, without unescaping it into a buffer.
//!
//! Text inside a record that was just indexed is indexed in the record's own *frame*: the
//! record's 64-byte blocks from the one where the text starts, with the bytes before and
//! after the text masked out. Its classes and its outer level's escapes are the record's,
//! copied block for block — neither classified, shifted nor escaped again.

use super::{bit, classify, escapes, set_bit, spread_top, Bits, Found, Index, Portable};

impl Index {
    /// Indexes JSON text found escaped inside a string: `raw` is the string's content between
    /// its quotes, already validated as part of its record by [`build`](Index::build).
    /// `None`: the text uses escapes this level does not handle, or is not valid JSON at the
    /// byte level.
    #[cfg(test)]
    pub(crate) fn build_nested(&mut self, raw: &[u8]) -> Option<()> {
        self.indexed = None;
        u32::try_from(raw.len()).ok()?;
        self.found = classify(raw, &mut self.masks);
        self.nested_passes(raw, None)
    }

    /// [`build_nested`](Index::build_nested) for text `raw` inside `record`, which `outer`
    /// has just indexed: indexed in the record's frame (see the module). Returns the bytes
    /// to walk with [`cursor`](Index::cursor): the frame, or `raw` itself when it does not
    /// lie inside `outer`'s record (then classified on its own).
    pub(crate) fn build_nested_in<'a>(
        &mut self,
        outer: &Index,
        record: &'a [u8],
        raw: &'a [u8],
    ) -> Option<&'a [u8]> {
        self.indexed = None;
        u32::try_from(raw.len()).ok()?;
        match outer.offset_in(record, raw) {
            Some(start) => {
                let first_block = start / 64;
                let frame = record.get(first_block * 64..start + raw.len())?;
                let lo = start % 64;
                self.frame_from(outer, first_block, frame.len(), lo)?;
                self.nested_passes(frame, Some(lo))?;
                Some(frame)
            }
            None => {
                self.found = classify(raw, &mut self.masks);
                self.nested_passes(raw, None)?;
                Some(raw)
            }
        }
    }

    /// Copies the classes and escapes of the `len` bytes from block `first_block` of the
    /// record `outer` indexed, masking out the `lo` bytes before the text and the bytes after
    /// it (as whitespace, like the padding of a classified block).
    fn frame_from(
        &mut self,
        outer: &Index,
        first_block: usize,
        len: usize,
        lo: usize,
    ) -> Option<()> {
        let blocks = first_block..first_block + len.div_ceil(64);
        self.masks.clear();
        self.masks
            .extend_from_slice(outer.masks.get(blocks.clone())?);
        // The text lies inside a string of a validated record: no control bytes.
        self.found = Found {
            ctrl: false,
            high: outer.found.high,
        };
        self.outer_escaped.clear();
        self.outer_escaped
            .extend_from_slice(outer.outer_escaped.get(blocks.clone())?);
        self.intro.clear();
        self.intro.extend_from_slice(outer.intro.get(blocks)?);
        let tail = len % 64;
        let last = self.masks.len().checked_sub(1)?;
        let mut mask_out = |k: usize, keep: u64| {
            if let Some(m) = self.masks.get_mut(k) {
                m.quote &= keep;
                m.backslash &= keep;
                m.structural &= keep;
                m.ws |= !keep;
            }
            for v in [&mut self.outer_escaped, &mut self.intro] {
                if let Some(w) = v.get_mut(k) {
                    *w &= keep;
                }
            }
        };
        mask_out(0, !0u64 << lo);
        if tail != 0 {
            mask_out(last, (1u64 << tail) - 1);
        }
        Some(())
    }

    /// Where `part` starts in `record`, if `record` is what this index last indexed (at level
    /// 0, keeping its escapes) and `part` lies inside it.
    fn offset_in(&self, record: &[u8], part: &[u8]) -> Option<usize> {
        let (at, len, level) = self.indexed?;
        if level != 0 || !self.escapes_kept || at != record.as_ptr() as usize || len != record.len()
        {
            return None;
        }
        let start = (part.as_ptr() as usize).checked_sub(at)?;
        (start.checked_add(part.len())? <= len).then_some(start)
    }

    /// The passes of [`build_nested`](Index::build_nested) after classification; `framed`:
    /// the text starts this many bytes into `raw`, whose classes and escapes
    /// [`frame_from`](Index::frame_from) copied.
    fn nested_passes(&mut self, raw: &[u8], framed: Option<usize>) -> Option<()> {
        #[cfg(target_arch = "x86_64")]
        if let Some(done) = super::x86_passes::nested_tokens(self, raw, framed) {
            return done;
        }
        self.nested_tokens::<Portable>(raw, framed)
    }

    /// [`build_nested`](Index::build_nested)'s passes over the classified blocks of `raw`
    /// (`framed`: see [`nested_passes`](Index::nested_passes)).
    #[inline(always)]
    pub(crate) fn nested_tokens<B: Bits>(
        &mut self,
        raw: &[u8],
        framed: Option<usize>,
    ) -> Option<()> {
        let Index {
            masks,
            found,
            ctrl: _,
            intro,
            outer_escaped,
            escaped_ws,
            inner_escaped,
            toks,
            plain_until: plain_until_out,
            indexed,
            // Only a record's index keeps escapes for text inside it (level 0).
            escapes_kept: _,
        } = self;
        let n = masks.len();
        toks.reset(raw.len());
        // (Overwritten whole below, or copied with the frame: no zeroing.)
        for v in [&mut *intro, &mut *outer_escaped, &mut *escaped_ws] {
            v.resize(n, 0);
        }
        inner_escaped.clear();
        inner_escaped.resize(n + 1, 0);
        // Outer level: which backslashes introduce an escape, which bytes are escaped (a
        // frame has its record's). Only `\"`, `\\` and whitespace (`\n`, `\r`, `\t`, outside
        // inner strings) are read in place; anything else (`\/`, `\u…`) gives up.
        if framed.is_none() {
            let mut carry = 0u64;
            let per_block = intro.iter_mut().zip(outer_escaped.iter_mut());
            for (m, (intro, outer)) in masks.iter().zip(per_block) {
                (*outer, *intro) = escapes(m.backslash, &mut carry);
            }
        }
        // A control byte cannot be in a string's content (unescaped text gives up).
        if found.ctrl {
            return None;
        }
        let per_block = outer_escaped.iter().zip(escaped_ws.iter_mut());
        for (k, (m, (&esc, ws_out))) in masks.iter().zip(per_block).enumerate() {
            let (mut other, mut ws) = (esc & !(m.quote | m.backslash), 0u64);
            while other != 0 {
                let bit = other & other.wrapping_neg();
                other &= other - 1;
                match raw.get(k * 64 + bit.trailing_zeros() as usize) {
                    Some(b'n' | b'r' | b't') => ws |= bit,
                    _ => return None,
                }
            }
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
        // byte of the next one (an escape introduced at a block's last byte); that byte is
        // always the text's.
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
            B::flatten(toks, k, (m.structural & outside) | delim | scalar_start)?;
        }
        // The enclosing record was validated, but the cursor relies on it: check non-ASCII
        // text again (rare, and only then; only the text's bytes, which are cut at quotes).
        let lo = framed.unwrap_or(0);
        if str_carry != 0 || (found.high && std::str::from_utf8(raw.get(lo..)?).is_err()) {
            return None;
        }
        *plain_until_out = plain_until;
        *indexed = Some((raw.as_ptr() as usize, raw.len(), 1));
        Some(())
    }
}

/// An escape of the inner level: the escaped byte at `q` of the escaped text is `"` or `\`
/// when escaped at the outer level too (`\\\"`, `\\\\`), else one of `/bfnrt` or a `u` with
/// four hex digits (surrogates give up).
fn valid_inner_escape(raw: &[u8], q: usize, outer_escaped: bool) -> bool {
    match raw.get(q) {
        Some(b'"' | b'\\') => outer_escaped,
        Some(b'/' | b'b' | b'f' | b'n' | b'r' | b't') => !outer_escaped,
        Some(b'u') if !outer_escaped => {
            super::hex4(raw, q + 1).is_some_and(|c| !(0xD800..0xE000).contains(&c))
        }
        _ => false,
    }
}

//! Stage 1: classify 64 input bytes at a time into bit masks (one bit per byte).
//!
//! On x86-64 the AVX-512 kernel, else the AVX2 one, is chosen at run time when the CPU has
//! it (users get it without `-C target-cpu=native`); otherwise SSE2, which every x86-64 CPU
//! has. Other architectures use a portable table-driven loop. All kernels are tested against
//! the portable one. The token passes' CPU-specific builds are in [`super::x86_passes`].

/// The classes of one 64-byte block; bit `i` describes byte `i`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Masks {
    /// `"`
    pub quote: u64,
    /// `\`
    pub backslash: u64,
    /// `{ } [ ] : ,` — and the control bytes 0x0C and 0x1A, which the SIMD kernels' nibble
    /// lookup cannot tell from `,` and `:` without another compare per lane. Tokens of a
    /// record are used only when it has no control byte outside whitespace, so these never
    /// reach a cursor.
    pub structural: u64,
    /// JSON whitespace: space, tab, line feed, carriage return.
    pub ws: u64,
}

/// What [`classify`] found in all the bytes together: control bytes and non-ASCII bytes are
/// rare, so the kernels only note whether there are any (one vector min and max per lane)
/// instead of a mask per block; the callers look closer only when there are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Found {
    /// Some byte is below 0x20 (a control character, including tab, LF and CR).
    pub ctrl: bool,
    /// Some byte is 0x80 or above (non-ASCII).
    pub high: bool,
}

impl Masks {
    /// Adds one SIMD lane's classes (quote, backslash, structural, whitespace, in that
    /// order) for the bytes starting at bit `shift`.
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn add_lane(&mut self, l: [u64; 4], shift: usize) {
        self.quote |= l[0] << shift;
        self.backslash |= l[1] << shift;
        self.structural |= l[2] << shift;
        self.ws |= l[3] << shift;
    }
}

/// Classifies `bytes` into `out`, one [`Masks`] per 64-byte block (the last block padded
/// with spaces), and says whether any byte is a control or non-ASCII byte.
pub(crate) fn classify(bytes: &[u8], out: &mut Vec<Masks>) -> Found {
    out.clear();
    out.reserve(bytes.len().div_ceil(64));
    #[cfg(target_arch = "x86_64")]
    return x86::classify(bytes, out);
    #[cfg(not(target_arch = "x86_64"))]
    classify_portable(bytes, out)
}

/// The control bytes (below 0x20) of `bytes`, one mask per 64-byte block, into `out`: only
/// for the rare records [`classify`] found any in (pretty-printed documents, tabs), where
/// whether each one is whitespace outside a string decides the record's validity.
pub(crate) fn control_bytes(bytes: &[u8], out: &mut Vec<u64>) {
    out.clear();
    out.extend(bytes.chunks(64).map(|block| {
        block
            .iter()
            .enumerate()
            .fold(0u64, |m, (i, &c)| m | (u64::from(c < 0x20) << i))
    }));
}

#[cfg(any(test, not(target_arch = "x86_64")))]
/// One byte's classes, for the portable kernel: bit 0 quote, 1 backslash, 2 structural,
/// 3 whitespace, 4 control, 5 high.
const fn class_table() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        let mut v = 0u8;
        if c == b'"' {
            v |= 1;
        }
        if c == b'\\' {
            v |= 2;
        }
        // 0x0C and 0x1A: see `Masks::structural`.
        if matches!(c, b'{' | b'}' | b'[' | b']' | b':' | b',' | 0x0c | 0x1a) {
            v |= 4;
        }
        if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
            v |= 8;
        }
        if c < 0x20 {
            v |= 16;
        }
        if c >= 0x80 {
            v |= 32;
        }
        t[i] = v;
        i += 1;
    }
    t
}

#[cfg(any(test, not(target_arch = "x86_64")))]
static CLASSES: [u8; 256] = class_table();

/// The reference kernel: a table lookup per byte.
#[cfg(any(test, not(target_arch = "x86_64")))]
pub(crate) fn classify_portable(bytes: &[u8], out: &mut Vec<Masks>) -> Found {
    let mut found = Found::default();
    for block in bytes.chunks(64) {
        let mut m = Masks::default();
        for (i, &c) in block.iter().enumerate() {
            let v = CLASSES[usize::from(c)];
            let bit = 1u64 << i;
            m.quote |= u64::from(v & 1) * bit;
            m.backslash |= u64::from((v >> 1) & 1) * bit;
            m.structural |= u64::from((v >> 2) & 1) * bit;
            m.ws |= u64::from((v >> 3) & 1) * bit;
            found.ctrl |= v & 16 != 0;
            found.high |= v & 32 != 0;
        }
        // Padding counts as whitespace, as in the SIMD kernels.
        if block.len() < 64 {
            m.ws |= !0u64 << block.len();
        }
        out.push(m);
    }
    found
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
pub(crate) mod x86 {
    use super::{Found, Masks};
    use std::arch::x86_64::*;

    /// Whether the CPU has AVX-512 with byte operations (F + BW; detection is cached by std).
    #[inline]
    pub(crate) fn has_avx512() -> bool {
        std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512bw")
    }

    /// AVX-512 when the CPU has it, else AVX2 when it has that, else SSE2.
    pub(super) fn classify(bytes: &[u8], out: &mut Vec<Masks>) -> Found {
        if has_avx512() {
            // SAFETY: the CPU supports AVX-512 F and BW (checked just above).
            unsafe { classify_avx512(bytes, out) }
        } else if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { classify_avx2(bytes, out) }
        } else {
            // SAFETY: SSE2 is part of x86-64.
            unsafe { classify_sse2(bytes, out) }
        }
    }

    /// A 64-byte block: the input's bytes, or its last bytes padded with spaces.
    #[inline(always)]
    fn blocks(bytes: &[u8], mut f: impl FnMut(&[u8; 64])) {
        let mut chunks = bytes.chunks_exact(64);
        for c in &mut chunks {
            if let Ok(block) = <&[u8; 64]>::try_from(c) {
                f(block);
            }
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut pad = [b' '; 64];
            if let Some(head) = pad.get_mut(..rest.len()) {
                head.copy_from_slice(rest);
            }
            f(&pad);
        }
    }

    /// SSE2 (baseline on x86-64): four 16-byte lanes per block.
    #[target_feature(enable = "sse2")]
    pub(super) fn classify_sse2(bytes: &[u8], out: &mut Vec<Masks>) -> Found {
        // The smallest byte and the bytes or-ed together, over all lanes (`Found`).
        let (mut min, mut or) = (_mm_set1_epi8(-1), _mm_setzero_si128());
        blocks(bytes, |block| {
            let mut m = Masks::default();
            for lane in 0..4 {
                // SAFETY: `block` is 64 bytes, so each 16-byte lane read at 16 * lane is in
                // bounds; `loadu` has no alignment requirement. SSE2 is part of x86-64.
                let v = unsafe { _mm_loadu_si128(block.as_ptr().add(16 * lane).cast()) };
                min = _mm_min_epu8(min, v);
                or = _mm_or_si128(or, v);
                m.add_lane(lane16(v), 16 * lane);
            }
            out.push(m);
        });
        // c < 0x20 (unsigned) ⇔ max(c, 0x1f) == 0x1f.
        let low = _mm_cmpeq_epi8(_mm_max_epu8(min, _mm_set1_epi8(0x1f)), _mm_set1_epi8(0x1f));
        Found {
            ctrl: _mm_movemask_epi8(low) != 0,
            high: _mm_movemask_epi8(or) != 0,
        }
    }

    /// One 16-byte lane's classes.
    #[target_feature(enable = "sse2")]
    #[inline]
    fn lane16(v: __m128i) -> [u64; 4] {
        let eq = |c: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8));
        let bits = |x: __m128i| u64::from(_mm_movemask_epi8(x) as u16);
        // The structural bytes with 0x20 set, like the nibble table of `lane32` (so 0x0C and
        // 0x1A count too, as there).
        let curlified = _mm_or_si128(v, _mm_set1_epi8(0x20));
        let ceq = |c: u8| _mm_cmpeq_epi8(curlified, _mm_set1_epi8(c as i8));
        let structural = _mm_or_si128(
            _mm_or_si128(ceq(b'{'), ceq(b'}')),
            _mm_or_si128(ceq(b':'), ceq(b',')),
        );
        let ws = _mm_or_si128(
            _mm_or_si128(eq(b' '), eq(b'\t')),
            _mm_or_si128(eq(b'\n'), eq(b'\r')),
        );
        [bits(eq(b'"')), bits(eq(b'\\')), bits(structural), bits(ws)]
    }

    /// AVX2: two 32-byte lanes per block.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn classify_avx2(bytes: &[u8], out: &mut Vec<Masks>) -> Found {
        let (ws_table, op_table) = (nibble_table(&WS_TABLE), nibble_table(&OP_TABLE));
        // The smallest byte and the bytes or-ed together, over all lanes (`Found`).
        let (mut min, mut or) = (_mm256_set1_epi8(-1), _mm256_setzero_si256());
        blocks(bytes, |block| {
            let mut m = Masks::default();
            for lane in 0..2 {
                // SAFETY: each 32-byte lane at 32 * lane lies inside the 64-byte block;
                // `loadu` has no alignment requirement; AVX2 is enabled for this function.
                let v = unsafe { _mm256_loadu_si256(block.as_ptr().add(32 * lane).cast()) };
                min = _mm256_min_epu8(min, v);
                or = _mm256_or_si256(or, v);
                m.add_lane(lane32(v, ws_table, op_table), 32 * lane);
            }
            out.push(m);
        });
        let low = _mm256_cmpeq_epi8(
            _mm256_max_epu8(min, _mm256_set1_epi8(0x1f)),
            _mm256_set1_epi8(0x1f),
        );
        Found {
            ctrl: _mm256_movemask_epi8(low) != 0,
            high: _mm256_movemask_epi8(or) != 0,
        }
    }

    /// AVX-512: a whole block in one register, each class compared straight into a 64-bit
    /// mask (no per-lane `movemask`, shift and merge as in [`classify_avx2`]). Measured on
    /// an AKSAudit `analyze` (AMD EPYC, Zen 4): 4.6 % of the samples against AVX2's 7.5–8.2 %.
    /// Same nibble tables.
    ///
    /// # Safety
    /// The CPU must support AVX-512 F and BW.
    #[target_feature(enable = "avx512f,avx512bw")]
    pub(super) unsafe fn classify_avx512(bytes: &[u8], out: &mut Vec<Masks>) -> Found {
        // SAFETY (both loads): each table is 16 readable bytes; `loadu` has no alignment
        // requirement.
        let ws_table = _mm512_broadcast_i32x4(unsafe { _mm_loadu_si128(WS_TABLE.as_ptr().cast()) });
        let op_table = _mm512_broadcast_i32x4(unsafe { _mm_loadu_si128(OP_TABLE.as_ptr().cast()) });
        let (mut min, mut or) = (_mm512_set1_epi8(-1), _mm512_setzero_si512());
        blocks(bytes, |block| {
            // SAFETY: `block` is 64 readable bytes; `loadu` has no alignment requirement.
            let v = unsafe { _mm512_loadu_si512(block.as_ptr().cast()) };
            min = _mm512_min_epu8(min, v);
            or = _mm512_or_si512(or, v);
            let eq = |c: u8| _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(c as i8));
            // See `lane32` for the tables: `vpshufb` works per 128-bit lane, as in AVX2.
            let ws = _mm512_cmpeq_epi8_mask(v, _mm512_shuffle_epi8(ws_table, v));
            let curlified = _mm512_or_si512(v, _mm512_set1_epi8(0x20));
            out.push(Masks {
                quote: eq(b'"'),
                backslash: eq(b'\\'),
                structural: _mm512_cmpeq_epi8_mask(curlified, _mm512_shuffle_epi8(op_table, v)),
                ws,
            });
        });
        Found {
            ctrl: _mm512_cmplt_epu8_mask(min, _mm512_set1_epi8(0x20)) != 0,
            high: _mm512_movepi8_mask(or) != 0,
        }
    }

    /// Per low nibble, the whitespace byte with that nibble (other entries have another low
    /// nibble, so they match no byte).
    const WS_TABLE: [u8; 16] = [
        b' ', 100, 100, 100, 17, 100, 113, 2, 100, b'\t', b'\n', 112, 100, b'\r', 100, 100,
    ];

    /// Per low nibble, the structural byte with that nibble once 0x20 is set (`[` → `{`,
    /// `]` → `}`); 0 where there is none.
    const OP_TABLE: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, b':', b'{', b',', b'}', 0, 0];

    /// A 16-entry table in both 128-bit lanes, for `vpshufb`.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn nibble_table(t: &[u8; 16]) -> __m256i {
        // SAFETY: `t` is 16 readable bytes; `loadu` has no alignment requirement.
        let lane = unsafe { _mm_loadu_si128(t.as_ptr().cast()) };
        _mm256_broadcastsi128_si256(lane)
    }

    /// One 32-byte lane's classes.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn lane32(v: __m256i, ws_table: __m256i, op_table: __m256i) -> [u64; 4] {
        let eq = |c: u8| _mm256_cmpeq_epi8(v, _mm256_set1_epi8(c as i8));
        let bits = |x: __m256i| u64::from(_mm256_movemask_epi8(x) as u32);
        // simdjson's classification by table lookup on the low nibble (`vpshufb` gives 0 for
        // bytes with the high bit set, which then match nothing): a byte is whitespace iff
        // it equals the table entry for its low nibble, and structural iff the byte with
        // 0x20 set does (`[`/`]` become `{`/`}`; 0x0C and 0x1A become `,` and `:`, see
        // `Masks::structural`). Entries that are not the class's bytes have another low
        // nibble, so they never match.
        let ws = _mm256_cmpeq_epi8(v, _mm256_shuffle_epi8(ws_table, v));
        let curlified = _mm256_or_si256(v, _mm256_set1_epi8(0x20));
        let structural = _mm256_cmpeq_epi8(curlified, _mm256_shuffle_epi8(op_table, v));
        [bits(eq(b'"')), bits(eq(b'\\')), bits(structural), bits(ws)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reference(bytes: &[u8]) -> (Vec<Masks>, Found) {
        let mut v = Vec::new();
        let found = classify_portable(bytes, &mut v);
        (v, found)
    }

    #[test]
    fn classes_of_each_byte() {
        let mut all: Vec<u8> = (0..=255u8).collect();
        all.extend_from_slice(br#"{"a":[1, "b\"c"]}"#);
        let mut got = Vec::new();
        let found = classify(&all, &mut got);
        assert_eq!((got, found), reference(&all));
        // Spot checks on the reference itself.
        let (m, found) = reference(b"{\"\\ \x01\xff,");
        assert_eq!(m[0].structural, 0b100_0001);
        assert_eq!(m[0].quote, 0b10);
        assert_eq!(m[0].backslash, 0b100);
        assert_eq!(m[0].ws & 0b111_1111, 0b1000);
        assert_eq!(m[0].ws >> 7, !0u64 >> 7, "padding is whitespace");
        assert_eq!(
            found,
            Found {
                ctrl: true,
                high: true
            }
        );
        assert_eq!(
            reference(b"{\"a\": [1]}\n").1,
            Found {
                ctrl: true,
                high: false
            }
        );
        assert_eq!(
            reference("{\"é\":1}".as_bytes()).1,
            Found {
                ctrl: false,
                high: true
            }
        );
        assert_eq!(reference(b"{\"a\":1}").1, Found::default());
        // The two control bytes the nibble lookup takes for `,` and `:`.
        assert_eq!(reference(b"\x0c\x1a\x0b").0[0].structural, 0b11);
    }

    #[test]
    fn control_bytes_per_block() {
        let mut b = vec![b'a'; 130];
        for p in [0, 63, 64, 100, 129] {
            b[p] = b'\t';
        }
        b[5] = 0x1f;
        b[6] = 0x20;
        b[7] = 0x00;
        let mut got = Vec::new();
        control_bytes(&b, &mut got);
        assert_eq!(got, [1 | 1 << 5 | 1 << 7 | 1 << 63, 1 | 1 << 36, 1 << 1]);
    }

    fn bytes() -> impl Strategy<Value = Vec<u8>> {
        // Any bytes (almost always with control and non-ASCII ones), and bytes around the
        // printable ASCII range, where either is rare (so `Found` is false too).
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..300),
            proptest::collection::vec(0x1fu8..0x81, 0..300),
        ]
    }

    proptest! {
        #[test]
        fn simd_kernels_equal_the_portable_one(bytes in bytes()) {
            let want = reference(&bytes);
            let mut got = Vec::new();
            let found = classify(&bytes, &mut got);
            prop_assert_eq!(&(got, found), &want);
            prop_assert_eq!(want.1.ctrl, bytes.iter().any(|&c| c < 0x20));
            prop_assert_eq!(want.1.high, bytes.iter().any(|&c| c >= 0x80));
            #[cfg(target_arch = "x86_64")]
            {
                let mut sse = Vec::new();
                // SAFETY: SSE2 is part of x86-64.
                #[allow(unsafe_code)]
                let found = unsafe { x86::classify_sse2(&bytes, &mut sse) };
                prop_assert_eq!(&(sse, found), &want);
                if std::is_x86_feature_detected!("avx2") {
                    let mut avx2 = Vec::new();
                    // SAFETY: the CPU supports AVX2 (checked just above).
                    #[allow(unsafe_code)]
                    let found = unsafe { x86::classify_avx2(&bytes, &mut avx2) };
                    prop_assert_eq!(&(avx2, found), &want);
                }
                if x86::has_avx512() {
                    let mut avx512 = Vec::new();
                    // SAFETY: the CPU supports AVX-512 F and BW (checked just above).
                    #[allow(unsafe_code)]
                    let found = unsafe { x86::classify_avx512(&bytes, &mut avx512) };
                    prop_assert_eq!(&(avx512, found), &want);
                }
            }
        }
    }
}

//! The index's token passes compiled again for x86-64 CPUs that have faster instructions
//! for their bit operations than the portable build may assume (chosen at run time, so
//! users get them without `-C target-cpu=native`): carry-less multiply, popcount and BMI1
//! everywhere they exist, and the token flatten with AVX-512's byte compression. Each is
//! tested against the portable pass.

#![allow(unsafe_code)]

use super::classify::x86::has_avx512;
use super::{Bits, Index, Tokens};
use std::arch::x86_64::*;

/// Whether the CPU has carry-less multiply, popcount and BMI1 (detection is cached by
/// std). BMI1's `tzcnt`, `blsr` and `andn` take 3.5–4 % of all instructions off a parse
/// (the flatten's clear-lowest-bit, the masks' and-nots); every CPU with AVX2 has it.
#[inline]
fn has_token_features() -> bool {
    std::is_x86_feature_detected!("pclmulqdq")
        && std::is_x86_feature_detected!("popcnt")
        && std::is_x86_feature_detected!("bmi1")
}

/// [`Bits`] with `pclmulqdq`. Private to this module, and only instantiated inside the
/// `#[target_feature]` functions below, which run only after detection: that is what
/// makes its `unsafe` sound.
struct Clmul;

impl Bits for Clmul {
    #[inline(always)]
    fn prefix_xor(x: u64) -> u64 {
        // SAFETY: see the type's comment: the CPU has `pclmulqdq` (and SSE2, which
        // x86-64 always has). Multiplying by all ones carry-less is the prefix xor.
        unsafe {
            let p = _mm_clmulepi64_si128(_mm_set_epi64x(0, x as i64), _mm_set1_epi8(-1), 0);
            _mm_cvtsi128_si64(p) as u64
        }
    }
}

/// Whether the CPU also has AVX-512 with byte compression (VBMI2), for [`Compress`].
#[inline]
fn has_compress() -> bool {
    has_avx512() && std::is_x86_feature_detected!("avx512vbmi2")
}

/// [`Clmul`], and the token flatten done with AVX-512's byte compression: a block's token
/// positions are packed into one register and stored sixteen at a time (simdjson's Ice
/// Lake indexer): a fixed handful of instructions per block instead of four per token
/// (the token pass's share of a parse 13.4 → 8.3 %). Like `Clmul`, only instantiated
/// inside `#[target_feature]` functions run after detection.
struct Compress;

/// The byte offsets 0, 1, …, 63.
#[rustfmt::skip]
static OFFSETS: [u8; 64] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
    32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,
    48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63,
];

impl Bits for Compress {
    #[inline(always)]
    fn prefix_xor(x: u64) -> u64 {
        Clmul::prefix_xor(x)
    }

    #[inline(always)]
    fn flatten(toks: &mut Tokens, k: usize, bits: u64) -> Option<()> {
        let (spare, len) = toks.spare_block()?;
        let count = bits.count_ones() as usize;
        let dst = spare.as_mut_ptr();
        // SAFETY: see the type's comment: the CPU has AVX-512 F, BW and VBMI2. `OFFSETS`
        // is 64 readable bytes; `spare` is 64 writable `u32`s, and each store writes
        // sixteen of them at `16 * q` for `q < 4` (`loadu`/`storeu` need no alignment).
        unsafe {
            let offsets = _mm512_loadu_si512(OFFSETS.as_ptr().cast());
            let packed = _mm512_maskz_compress_epi8(bits, offsets);
            let base = _mm512_set1_epi32((k * 64) as i32);
            let widen = |q: __m128i| _mm512_add_epi32(_mm512_cvtepu8_epi32(q), base);
            _mm512_storeu_si512(dst.cast(), widen(_mm512_castsi512_si128(packed)));
            if count > 16 {
                let q = _mm512_extracti32x4_epi32::<1>(packed);
                _mm512_storeu_si512(dst.add(16).cast(), widen(q));
            }
            if count > 32 {
                let q = _mm512_extracti32x4_epi32::<2>(packed);
                _mm512_storeu_si512(dst.add(32).cast(), widen(q));
            }
            if count > 48 {
                let q = _mm512_extracti32x4_epi32::<3>(packed);
                _mm512_storeu_si512(dst.add(48).cast(), widen(q));
            }
        }
        *len += count;
        Some(())
    }
}

/// [`Index::tokens`] compiled for the best build this CPU has: [`Compress`] with AVX-512
/// VBMI2, else [`Clmul`]; `None` when it lacks even `Clmul`'s features (use the portable
/// pass).
#[inline]
pub(crate) fn tokens(index: &mut Index, b: &[u8], keep: bool) -> Option<Option<()>> {
    if !has_token_features() {
        return None;
    }
    if has_compress() {
        #[target_feature(enable = "pclmulqdq,popcnt,bmi1,avx512f,avx512bw,avx512vbmi2")]
        unsafe fn run(index: &mut Index, b: &[u8], keep: bool) -> Option<()> {
            match keep {
                true => index.tokens::<Compress, true>(b),
                false => index.tokens::<Compress, false>(b),
            }
        }
        // SAFETY: the CPU has every feature enabled (checked above).
        return Some(unsafe { run(index, b, keep) });
    }
    Some(clmul_tokens(index, b, keep))
}

/// [`tokens`] with [`Clmul`], whose features the caller checked.
fn clmul_tokens(index: &mut Index, b: &[u8], keep: bool) -> Option<()> {
    #[target_feature(enable = "pclmulqdq,popcnt,bmi1")]
    unsafe fn run(index: &mut Index, b: &[u8], keep: bool) -> Option<()> {
        match keep {
            true => index.tokens::<Clmul, true>(b),
            false => index.tokens::<Clmul, false>(b),
        }
    }
    // SAFETY: the caller checked the three features.
    unsafe { run(index, b, keep) }
}

/// The token pass at level 0 of `b` with [`Clmul`]'s scalar flatten, which [`tokens`]
/// skips on CPUs with AVX-512 VBMI2 (for tests): the result and the tokens, or nothing when
/// the CPU lacks `Clmul`'s features.
#[cfg(test)]
pub(crate) fn tokens_with_scalar_flatten(b: &[u8]) -> Option<(Option<()>, Vec<u32>)> {
    if !has_token_features() {
        return None;
    }
    let mut ix = Index::default();
    ix.classify(b);
    ix.toks.reset(b.len());
    let r = clmul_tokens(&mut ix, b, false);
    Some((r, ix.toks.as_slice().to_vec()))
}

/// [`Index::nested_tokens`] compiled like [`tokens`].
#[inline]
pub(crate) fn nested_tokens(
    index: &mut Index,
    raw: &[u8],
    framed: Option<usize>,
) -> Option<Option<()>> {
    if !has_token_features() {
        return None;
    }
    if has_compress() {
        #[target_feature(enable = "pclmulqdq,popcnt,bmi1,avx512f,avx512bw,avx512vbmi2")]
        unsafe fn run(index: &mut Index, raw: &[u8], framed: Option<usize>) -> Option<()> {
            index.nested_tokens::<Compress>(raw, framed)
        }
        // SAFETY: the CPU has every feature enabled (checked above).
        return Some(unsafe { run(index, raw, framed) });
    }
    #[target_feature(enable = "pclmulqdq,popcnt,bmi1")]
    unsafe fn run(index: &mut Index, raw: &[u8], framed: Option<usize>) -> Option<()> {
        index.nested_tokens::<Clmul>(raw, framed)
    }
    // SAFETY: the CPU has the three features (checked above).
    Some(unsafe { run(index, raw, framed) })
}

//! A string column's chunk written straight as Arrow string views (polars' `String` type).
//!
//! polars' builder returns each view through a stack slot that the caller then copies as one
//! 16-byte load: the view had just been stored there in 4- and 8-byte parts, so the load
//! waits for those stores to drain (a failed store-to-load forward) — the single hottest
//! instruction of an all-columns read (a fifth of `Columns::push`'s samples, four string
//! columns per row). Here a view is made in registers and stored once, in place.

use polars::prelude as pl;
use polars::prelude::PlSmallStr;
use polars_arrow::array::{Utf8ViewArray, View};
use polars_arrow::datatypes::ArrowDataType;

use super::cells::validity;

/// The first data buffer's size; each next one doubles, up to [`MAX_BUFFER`] (polars' policy).
const FIRST_BUFFER: usize = 8 << 10;
/// See [`FIRST_BUFFER`].
const MAX_BUFFER: usize = 16 << 20;

/// A string column's rows under construction, as views.
#[derive(Debug, Default)]
pub(crate) struct Views {
    views: Vec<View>,
    /// Row validity, kept only from the first null on (like [`super::Cells`]).
    valid: Vec<bool>,
    nulls: usize,
    /// The data buffer strings over 12 bytes are copied into, and the full ones before it.
    active: Vec<u8>,
    full: Vec<Vec<u8>>,
    /// The bytes of all valid strings, and of all data buffers.
    total_bytes: usize,
    total_buffer: usize,
}

impl Views {
    /// Rows pushed.
    pub(crate) fn len(&self) -> usize {
        self.views.len()
    }

    /// Room for `rows` more views.
    pub(crate) fn reserve(&mut self, rows: usize) {
        self.views.reserve(rows);
    }

    /// Appends a row.
    #[inline]
    pub(crate) fn push(&mut self, v: Option<&str>) {
        match v {
            Some(s) => self.push_value(s.as_bytes()),
            None => self.push_null(),
        }
    }

    #[inline]
    fn push_value(&mut self, s: &[u8]) {
        let view = if s.len() <= View::MAX_INLINE_SIZE as usize {
            inline_view(s)
        } else {
            // Arrow views hold up to 4 GiB - 1 bytes, and so do records at most
            // (`ParseOptions::with_max_record_bytes`): unreachable, a guard.
            let Ok(length) = u32::try_from(s.len()) else {
                return self.push_null();
            };
            let (buffer_idx, offset) = self.room_for(s.len());
            self.active.extend_from_slice(s);
            View {
                length,
                prefix: word4(s, 0),
                buffer_idx,
                offset,
            }
        };
        self.total_bytes += s.len();
        self.views.push(view);
        if self.nulls > 0 {
            self.valid.push(true);
        }
    }

    #[inline]
    fn push_null(&mut self) {
        if self.nulls == 0 {
            self.valid.resize(self.views.len(), true);
        }
        self.views.push(View::default());
        self.valid.push(false);
        self.nulls += 1;
    }

    /// The buffer index and offset where `n` more bytes go, starting a new buffer when the
    /// active one is full (a string never spans two). Both fit `u32`: a buffer is at most
    /// 16 MiB or one string (< 4 GiB), and a column chunk has far fewer than 2³² buffers.
    #[inline]
    fn room_for(&mut self, n: usize) -> (u32, u32) {
        if self.active.len() + n > self.active.capacity() {
            self.start_buffer(n);
        }
        let index = u32::try_from(self.full.len()).unwrap_or(u32::MAX);
        let offset = u32::try_from(self.active.len()).unwrap_or(u32::MAX);
        (index, offset)
    }

    #[inline(never)]
    fn start_buffer(&mut self, n: usize) {
        let size = (self.active.capacity() * 2)
            .clamp(FIRST_BUFFER, MAX_BUFFER)
            .max(n);
        let full = std::mem::replace(&mut self.active, Vec::with_capacity(size));
        if !full.is_empty() {
            self.total_buffer += full.len();
            self.full.push(full);
        }
    }

    /// The rows as one string column chunk named `name`.
    pub(crate) fn finish(mut self, name: PlSmallStr) -> pl::StringChunked {
        if !self.active.is_empty() {
            self.total_buffer += self.active.len();
            self.full.push(std::mem::take(&mut self.active));
        }
        let validity = validity(self.nulls, &self.valid);
        // SAFETY: every view was made by `push_value` from a `&str` (valid UTF-8): inline
        // views hold its bytes; the others its length and first four bytes, and the index
        // and offset where its bytes were copied whole into one buffer — `room_for`'s
        // buffer, which is the `full` entry of that index once finished (a new one is only
        // started after the active one is pushed). Null rows hold the empty inline view and
        // are marked in `validity`, whose length is the views' (`valid` is kept a flag per
        // row from the first null on). The totals count the valid strings' and the buffers'
        // bytes as polars defines them.
        // (The buffers are handed over, not copied.)
        let buffers: Vec<_> = self.full.into_iter().map(Into::into).collect();
        #[allow(unsafe_code)]
        let array = unsafe {
            Utf8ViewArray::new_unchecked(
                ArrowDataType::Utf8View,
                self.views.into(),
                buffers.into(),
                validity,
                Some(self.total_bytes),
                self.total_buffer,
            )
        };
        pl::StringChunked::with_chunk(name, array)
    }
}

/// The first four bytes of `s` at `at`, little-endian (`s` has them).
#[inline(always)]
fn word4(s: &[u8], at: usize) -> u32 {
    s.get(at..at + 4)
        .and_then(|w| <[u8; 4]>::try_from(w).ok())
        .map_or(0, u32::from_le_bytes)
}

/// The inline view of a string of at most 12 bytes: its length, then its bytes, zero-padded,
/// assembled from two overlapping word loads in registers (a byte copy into a stack slot
/// would be read back as one wide load, the very stall this module avoids).
#[inline(always)]
fn inline_view(s: &[u8]) -> View {
    let n = s.len();
    let word8 = |at: usize| {
        s.get(at..at + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            .map_or(0, u64::from_le_bytes)
    };
    // Overlapping loads put the same bytes in the same places, so `|` joins them.
    let data = if n >= 8 {
        u128::from(word8(0)) | u128::from(word8(n - 8)) << (8 * (n - 8))
    } else if n >= 4 {
        u128::from(u64::from(word4(s, 0)) | u64::from(word4(s, n - 4)) << (8 * (n - 4)))
    } else {
        s.iter()
            .rev()
            .fold(0u128, |acc, &c| (acc << 8) | u128::from(c))
    };
    View::from(n as u128 | data << 32)
}

#[cfg(test)]
mod tests {
    use super::{inline_view, Views};
    use polars::prelude::PlSmallStr;
    use polars_arrow::array::View;
    use proptest::prelude::*;

    proptest! {
        /// The inline view equals polars' own for every length up to 12.
        #[test]
        fn inline_views_equal_polars(s in proptest::collection::vec(any::<u8>(), 0..=12)) {
            prop_assert_eq!(inline_view(&s), View::new_inline(&s));
        }

        /// Any mix of nulls, short, long and very long strings (across buffers) reads back
        /// as pushed, with polars' totals.
        #[test]
        fn rows_read_back_as_pushed(
            rows in proptest::collection::vec(
                proptest::option::weighted(0.8, prop_oneof![
                    "[a-zé]{0,14}",
                    "[a-z0-9/._-]{12,80}",
                    Just("x".repeat(9000)),
                ]),
                0..300,
            ),
        ) {
            let mut v = Views::default();
            for r in &rows {
                v.push(r.as_deref());
            }
            prop_assert_eq!(v.len(), rows.len());
            let ca = v.finish(PlSmallStr::from_static("s"));
            let back: Vec<Option<String>> = ca.iter().map(|s| s.map(str::to_owned)).collect();
            prop_assert_eq!(&back, &rows);
            prop_assert_eq!(ca.null_count(), rows.iter().filter(|r| r.is_none()).count());
            // polars' totals, which its kernels trust (e.g. when gathering or concatenating).
            let arr = ca.downcast_iter().next().unwrap();
            let bytes: usize = rows.iter().flatten().map(String::len).sum();
            prop_assert_eq!(arr.total_bytes_len(), bytes);
            let buffers: usize = arr.data_buffers().iter().map(|b| b.len()).sum();
            prop_assert_eq!(arr.total_buffer_len(), buffers);
        }
    }
}

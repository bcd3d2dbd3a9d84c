//! Audit IDs as compact keys, read beside a frame instead of as its `audit_id` column.
//!
//! Copy detection ([`CategoryCopies`](crate::copies::CategoryCopies)) is the only reason most
//! reads look at audit IDs. As a string column they cost 52 bytes a row (a 16-byte view and
//! 36 bytes of text) of fresh memory — on a 1M-row AKSAudit read, a quarter of the page faults
//! and ~8 % of the CPU. A canonical UUID (what kube-apiserver writes) packed into 128 bits
//! costs 16 (and 4 for its row number), anything else is kept as text on the side, so keys
//! are as exact as the column. Only rows that can be a copy keep a key, and it carries their
//! audit category, so such a frame needs neither an `audit_id` nor a `category` column. [`ParseOptions::with_copy_keys`](crate::ParseOptions::with_copy_keys) asks for them.

/// A request's audit ID: a canonical lower-case UUID packed into 128 bits, else the text
/// itself. Exact either way: two IDs are equal iff their keys are.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum AuditId {
    Uuid(u128),
    Text(Box<str>),
}

impl AuditId {
    pub(crate) fn of(id: &str) -> AuditId {
        parse_uuid(id).map_or_else(|| AuditId::Text(id.into()), AuditId::Uuid)
    }
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in lower-case hex, as a number. The 32 digits are
/// read as four 8-byte words and each word is checked and packed with a few word operations
/// (a digit at a time, this was ~2 % of an AKSAudit `analyze`).
pub(crate) fn parse_uuid(id: &str) -> Option<u128> {
    let b = id.as_bytes();
    if b.len() != 36 || [8, 13, 18, 23].iter().any(|&at| b.get(at) != Some(&b'-')) {
        return None;
    }
    let word = |at: usize| -> Option<u64> {
        Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
    };
    let half = |at: usize| -> Option<u64> {
        Some(u64::from(u32::from_le_bytes(
            b.get(at..at + 4)?.try_into().ok()?,
        )))
    };
    let words = [
        word(0)?,
        half(9)? | half(14)? << 32,
        half(19)? | half(24)? << 32,
        word(28)?,
    ];
    words
        .iter()
        .try_fold(0u128, |v, &w| hex8(w).map(|d| v << 32 | u128::from(d)))
}

/// Eight lower-case hex digits (the first in the lowest byte) as a number, or `None` if any
/// byte is not one.
#[inline]
fn hex8(x: u64) -> Option<u32> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x80 * ONES;
    if x & HIGH != 0 {
        return None;
    }
    // Every byte is below 0x80: `x + (0x80 - lo)` sets a byte's high bit iff it is ≥ lo, and
    // no byte carries into the next (nor out of the word).
    let at_least = |lo: u64| (x + (0x80 - lo) * ONES) & HIGH;
    let digit = at_least(b'0'.into()) & !at_least(u64::from(b'9') + 1);
    let letter = at_least(b'a'.into()) & !at_least(u64::from(b'f') + 1);
    if digit | letter != HIGH {
        return None;
    }
    // '0'..'9' → 0..9 (bit 6 clear), 'a'..'f' → 1..6 + 9 (bit 6 set).
    let nibbles = (x & (0x0F * ONES)) + 9 * ((x >> 6) & ONES);
    // Pairs of nibbles into bytes, pairs of bytes into 16 bits, then into 32, first digit
    // highest.
    let x = ((nibbles << 4) | (nibbles >> 8)) & 0x00FF_00FF_00FF_00FF;
    let x = ((x << 8) | (x >> 16)) & 0x0000_FFFF_0000_FFFF;
    Some((((x << 16) | (x >> 32)) & 0xFFFF_FFFF) as u32)
}

/// The audit IDs of the rows that can be a copy, in row order, each with its audit category:
/// UUIDs in per-chunk arrays (the chunks the parallel readers built, kept as they are), the
/// rest on the side; and every row's category, counted.
///
/// Only a row of one of the two audit categories that is not a read can be a copy or be
/// copied: reads (`get`, `list`, `watch`) are never exported under `kube-audit-admin`
/// ([`is_read_verb`](crate::copies::is_read_verb)), and other rows are never compared. Only
/// those rows keep a key — in audit logs most requests are reads (69 % of the generated
/// AKSAudit rows) — and the key carries the row's category, so a frame with keys needs no
/// `category` column to have its copies dropped, nor to tell a one-category input from a
/// two-category one.
#[derive(Debug, Clone, Default)]
pub(crate) struct AuditKeys {
    chunks: Vec<KeyChunk>,
    /// Rows that can be a copy and whose ID is not a canonical UUID (nor empty), with their
    /// category bit. Ascending by row.
    other: Vec<(usize, Box<str>, u8)>,
    /// Rows per category bit: neither audit category, `kube-audit`, `kube-audit-admin`.
    categories: [u64; 3],
    len: usize,
}

/// The UUID keys of rows `first..first + rows`.
#[derive(Debug, Clone, Default)]
struct KeyChunk {
    first: usize,
    rows: usize,
    /// The rows (offsets from `first`, ascending) whose ID is a UUID, each with the category
    /// bit in its top bit ([`ADMIN`]); and their keys.
    at: Vec<u32>,
    keys: Vec<u128>,
}

/// The top bit of a [`KeyChunk::at`] entry: the row is `kube-audit-admin` (else `kube-audit`).
const ADMIN: u32 = 1 << 31;

impl AuditKeys {
    /// Rows held.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Rows per category bit (0: neither audit category, 1: `kube-audit`, 2:
    /// `kube-audit-admin`), keyed or not.
    pub(crate) fn category_rows(&self) -> [u64; 3] {
        self.categories
    }

    /// Room for `rows` rows in a still empty key list (capacity that no row uses is never
    /// touched, so it costs no memory).
    pub(crate) fn reserve(&mut self, rows: usize) {
        if self.len == 0 {
            self.chunks = vec![KeyChunk {
                at: Vec::with_capacity(rows),
                keys: Vec::with_capacity(rows),
                ..KeyChunk::default()
            }];
        }
    }

    /// Appends the next row: its ID (`None`: the row has none; an empty ID counts as none, as
    /// in the column) and its category bit (see [`category_rows`](Self::category_rows)),
    /// the ID kept only if the row `may_copy` (is not a read) and is of an audit category.
    #[inline]
    pub(crate) fn push(&mut self, id: Option<&str>, may_copy: bool, category: u8) {
        let row = self.len;
        self.len += 1;
        if let Some(n) = self.categories.get_mut(usize::from(category)) {
            *n += 1;
        }
        if self.chunks.is_empty() {
            self.chunks.push(KeyChunk::default());
        }
        let Some(chunk) = self.chunks.last_mut() else {
            return;
        };
        let offset = row - chunk.first;
        chunk.rows = offset + 1;
        let admin = match category {
            1 => false,
            2 => true,
            _ => return,
        };
        let Some(id) = id.filter(|id| may_copy && !id.is_empty()) else {
            return;
        };
        match parse_uuid(id) {
            // A chunk never reaches 2^31 rows (a parallel piece is at most 64 MiB).
            Some(v) if offset < ADMIN as usize => {
                chunk.at.push(offset as u32 | if admin { ADMIN } else { 0 });
                chunk.keys.push(v);
            }
            _ => self.other.push((row, id.into(), category)),
        }
    }

    /// The keys of `parts`, one after another (their arrays are moved, not copied).
    pub(crate) fn concat(parts: impl IntoIterator<Item = AuditKeys>) -> AuditKeys {
        let mut out = AuditKeys::default();
        for p in parts {
            let base = out.len;
            out.chunks.extend(
                p.chunks
                    .into_iter()
                    .filter(|c| c.rows > 0)
                    .map(|c| KeyChunk {
                        first: base + c.first,
                        ..c
                    }),
            );
            out.other
                .extend(p.other.into_iter().map(|(row, t, c)| (base + row, t, c)));
            for (n, m) in out.categories.iter_mut().zip(p.categories) {
                *n += m;
            }
            out.len += p.len;
        }
        out
    }

    /// A reader of rows `from..` in ascending order.
    pub(crate) fn reader(&self, from: usize) -> KeyReader<'_> {
        let chunk = self
            .chunks
            .partition_point(|c| c.first <= from)
            .saturating_sub(1);
        let at = self.chunks.get(chunk).map_or(0, |c| {
            let offset = from.saturating_sub(c.first);
            c.at.partition_point(|&a| ((a & !ADMIN) as usize) < offset)
        });
        KeyReader {
            keys: self,
            chunk,
            at,
            other: self.other.partition_point(|(row, _, _)| *row < from),
        }
    }
}

/// Reads [`AuditKeys`] row by row, rows ascending.
pub(crate) struct KeyReader<'a> {
    keys: &'a AuditKeys,
    chunk: usize,
    /// Position in the current chunk's keyed rows.
    at: usize,
    other: usize,
}

impl KeyReader<'_> {
    /// Row `i`'s ID and category bit (1 `kube-audit`, 2 `kube-audit-admin`); `None` for a row
    /// that cannot be a copy (no ID, a read, another category), whose ID is not kept. Rows
    /// must be asked for in ascending order.
    #[inline]
    pub(crate) fn at(&mut self, i: usize) -> Option<(AuditId, u8)> {
        while self
            .keys
            .other
            .get(self.other)
            .is_some_and(|(r, _, _)| *r < i)
        {
            self.other += 1;
        }
        if let Some((r, text, category)) = self.keys.other.get(self.other) {
            if *r == i {
                return Some((AuditId::Text(text.clone()), *category));
            }
        }
        loop {
            let c = self.keys.chunks.get(self.chunk)?;
            let offset = i.checked_sub(c.first)?;
            if offset >= c.rows {
                self.chunk += 1;
                self.at = 0;
                continue;
            }
            let row = |a: u32| (a & !ADMIN) as usize;
            while c.at.get(self.at).is_some_and(|&a| row(a) < offset) {
                self.at += 1;
            }
            return match c.at.get(self.at) {
                Some(&a) if row(a) == offset => {
                    let category = if a & ADMIN != 0 { 2 } else { 1 };
                    c.keys.get(self.at).map(|&v| (AuditId::Uuid(v), category))
                }
                _ => None,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "7e348a0e-4516-40be-836d-ed897f3e46e6";
    const B: &str = "00000000-0000-0000-0000-000000000000";

    #[test]
    fn uuids_pack_and_anything_else_stays_text() {
        assert_eq!(parse_uuid(A), Some(0x7e348a0e_4516_40be_836d_ed897f3e46e6));
        assert_eq!(parse_uuid(B), Some(0));
        for not in [
            "",
            "a1",
            "7E348A0E-4516-40BE-836D-ED897F3E46E6",
            "7e348a0e-4516-40be-836d-ed897f3e46e",
            "7e348a0e_4516-40be-836d-ed897f3e46e6",
            "7e348a0e-4516-40be-836d-ed897f3e46eg",
            // Non-ASCII bytes where digits belong (36 bytes, dashes in place).
            "7e348a0e-4516-40be-836d-ed897f3e46é",
            "ÿÿÿÿ-4516-40be-836d-ed897f3e46e6",
            "7e348a0e4-516-40be-836d-ed897f3e46e6",
        ] {
            assert_eq!(parse_uuid(not), None, "{not}");
        }
        assert_eq!(AuditId::of("a1"), AuditId::Text("a1".into()));
    }

    /// The digit-at-a-time reading of a canonical lower-case UUID.
    fn naive_uuid(id: &str) -> Option<u128> {
        let canonical = id.len() == 36
            && id.char_indices().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => c == '-',
                _ => c.is_ascii_digit() || ('a'..='f').contains(&c),
            });
        canonical
            .then(|| u128::from_str_radix(&id.replace('-', ""), 16).ok())
            .flatten()
    }

    proptest::proptest! {
        /// Agrees with the digit-at-a-time reading on UUIDs, on UUIDs with one byte changed to
        /// anything (often a byte next to a digit range's ends), and on other lengths.
        #[test]
        fn uuids_parse_like_the_naive_reading(
            v in proptest::prelude::any::<u128>(),
            at in 0usize..40,
            byte in proptest::prop_oneof![
                proptest::prelude::any::<u8>(),
                proptest::sample::select(b"/09:`afgAF-\x7f".to_vec()),
            ],
            cut in 0usize..3,
        ) {
            let hex = format!("{v:032x}");
            let id = format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]);
            proptest::prop_assert_eq!(parse_uuid(&id), Some(v));
            let mut bytes = id.clone().into_bytes();
            if let Some(b) = bytes.get_mut(at) {
                *b = byte;
            }
            bytes.truncate(36 - cut.min(1) * (at % 36));
            if let Ok(changed) = String::from_utf8(bytes) {
                proptest::prop_assert_eq!(parse_uuid(&changed), naive_uuid(&changed), "{:?}", changed);
            }
        }
    }

    /// The reference: each row's ID as `AuditId::of` gives it (empty as none) with its
    /// category; none for reads and rows outside the two audit categories.
    fn expected(ids: &[(Option<&str>, bool, u8)]) -> Vec<Option<(AuditId, u8)>> {
        ids.iter()
            .map(|&(id, may_copy, c)| {
                id.filter(|s| may_copy && !s.is_empty() && (1..=2).contains(&c))
                    .map(|id| (AuditId::of(id), c))
            })
            .collect()
    }

    #[test]
    fn concatenated_parts_read_back_from_any_row() {
        let ids = [
            (Some(A), true, 1),
            (None, true, 2),
            (Some("a1"), true, 2),
            (Some(B), false, 1),
            (Some(B), true, 2),
            (Some(""), true, 1),
            (Some("y"), false, 2),
            (Some(A), true, 0),
            (Some(A), true, 2),
            (Some("z"), true, 0),
            (Some("x"), true, 1),
        ];
        let want = expected(&ids);
        assert_eq!(want.iter().filter(|k| k.is_some()).count(), 5);
        // Every split of the rows into three parts, read from every starting row, every row
        // or every other row (a reader skips the rows it is not asked for).
        for cut1 in 0..=ids.len() {
            for cut2 in cut1..=ids.len() {
                let parts = [&ids[..cut1], &ids[cut1..cut2], &ids[cut2..]].map(|rows| {
                    let mut k = AuditKeys::default();
                    k.reserve(rows.len());
                    rows.iter()
                        .for_each(|&(id, may_copy, c)| k.push(id, may_copy, c));
                    k
                });
                let keys = AuditKeys::concat(parts);
                assert_eq!(keys.len(), ids.len());
                assert_eq!(keys.category_rows(), [2, 4, 5]);
                for from in 0..ids.len() {
                    for step in [1, 2] {
                        let mut r = keys.reader(from);
                        let got: Vec<_> =
                            (from..ids.len()).step_by(step).map(|i| r.at(i)).collect();
                        let want: Vec<_> = want[from..].iter().step_by(step).cloned().collect();
                        assert_eq!(got, want, "cuts {cut1} {cut2} from {from} step {step}");
                    }
                }
            }
        }
        assert_eq!(AuditKeys::default().reader(0).at(0), None);
    }
}

//! Audit IDs as compact keys, read beside a frame instead of as its `audit_id` column.
//!
//! Copy detection ([`CategoryCopies`](crate::copies::CategoryCopies)) is the only reason most
//! reads look at audit IDs. As a string column they cost 52 bytes a row (a 16-byte view and
//! 36 bytes of text) of fresh memory — on a 1M-row AKSAudit read, a quarter of the page faults
//! and ~8 % of the CPU. A canonical UUID (what kube-apiserver writes) packed into 128 bits
//! costs 16, and anything else is kept as text on the side, so keys are as exact as the
//! column. [`ParseOptions::with_copy_keys`](crate::ParseOptions::with_copy_keys) asks for them.

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

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in lower-case hex, as a number. Branch-light: the
/// 32 digit positions are fixed, and a bad digit shows in the or-ed table values.
// Every index is in bounds by type: constants below 36 into a `[u8; 36]`, a `u8` into a
// 256-entry table.
#[allow(clippy::indexing_slicing)]
pub(crate) fn parse_uuid(id: &str) -> Option<u128> {
    const DIGITS: [usize; 32] = [
        0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15, 16, 17, 19, 20, 21, 22, 24, 25, 26, 27, 28,
        29, 30, 31, 32, 33, 34, 35,
    ];
    /// Lower-case hex digit → value; anything else → 0x10.
    const HEX: [u8; 256] = {
        let mut t = [0x10u8; 256];
        let mut c = 0;
        while c < 10 {
            t[b'0' as usize + c] = c as u8;
            c += 1;
        }
        let mut c = 0;
        while c < 6 {
            t[b'a' as usize + c] = 10 + c as u8;
            c += 1;
        }
        t
    };
    let b: &[u8; 36] = id.as_bytes().try_into().ok()?;
    if b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
        return None;
    }
    let (mut v, mut bad) = (0u128, 0u8);
    for at in DIGITS {
        let d = HEX[usize::from(b[at])];
        bad |= d;
        v = (v << 4) | u128::from(d & 0xF);
    }
    (bad & 0x10 == 0).then_some(v)
}

/// Each row's audit ID as an [`AuditId`], in row order: UUIDs in per-chunk arrays (the
/// chunks the parallel readers built, kept as they are), the rest on the side.
#[derive(Debug, Clone, Default)]
pub(crate) struct AuditKeys {
    /// (first row, one key per row; 0 where the row's ID is in `other`).
    chunks: Vec<(usize, Vec<u128>)>,
    /// Rows whose ID is not a canonical UUID: absent or empty (`None`), or other text.
    /// Ascending by row.
    other: Vec<(usize, Option<Box<str>>)>,
    len: usize,
}

impl AuditKeys {
    /// Rows held.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Room for `rows` rows in a still empty key list.
    pub(crate) fn reserve(&mut self, rows: usize) {
        if self.len == 0 {
            self.chunks = vec![(0, Vec::with_capacity(rows))];
        }
    }

    /// Appends the next row's ID (`None`: the row has none; an empty ID counts as none, as
    /// in the column).
    #[inline]
    pub(crate) fn push(&mut self, id: Option<&str>) {
        let row = self.len;
        if self.chunks.is_empty() {
            self.chunks.push((0, Vec::new()));
        }
        let Some((_, keys)) = self.chunks.last_mut() else {
            return;
        };
        match id.map(|id| (id, parse_uuid(id))) {
            Some((_, Some(v))) => keys.push(v),
            other => {
                let text = other.and_then(|(id, _)| (!id.is_empty()).then(|| id.into()));
                self.other.push((row, text));
                keys.push(0);
            }
        }
        self.len += 1;
    }

    /// The keys of `parts`, one after another (their arrays are moved, not copied).
    pub(crate) fn concat(parts: impl IntoIterator<Item = AuditKeys>) -> AuditKeys {
        let mut out = AuditKeys::default();
        for p in parts {
            let base = out.len;
            out.chunks.extend(
                p.chunks
                    .into_iter()
                    .filter(|(_, k)| !k.is_empty())
                    .map(|(first, k)| (base + first, k)),
            );
            out.other
                .extend(p.other.into_iter().map(|(row, t)| (base + row, t)));
            out.len += p.len;
        }
        out
    }

    /// A reader of rows `from..` in ascending order.
    pub(crate) fn reader(&self, from: usize) -> KeyReader<'_> {
        KeyReader {
            keys: self,
            chunk: self
                .chunks
                .partition_point(|(first, _)| *first <= from)
                .saturating_sub(1),
            other: self.other.partition_point(|(row, _)| *row < from),
        }
    }
}

/// Reads [`AuditKeys`] row by row, rows ascending.
pub(crate) struct KeyReader<'a> {
    keys: &'a AuditKeys,
    chunk: usize,
    other: usize,
}

impl KeyReader<'_> {
    /// Row `i`'s ID (`None`: absent or empty). Rows must be asked for in ascending order.
    #[inline]
    pub(crate) fn at(&mut self, i: usize) -> Option<AuditId> {
        while self.keys.other.get(self.other).is_some_and(|(r, _)| *r < i) {
            self.other += 1;
        }
        if let Some((r, text)) = self.keys.other.get(self.other) {
            if *r == i {
                return text.as_deref().map(|t| AuditId::Text(t.into()));
            }
        }
        loop {
            let (first, keys) = self.keys.chunks.get(self.chunk)?;
            match i.checked_sub(*first) {
                Some(at) if at < keys.len() => return keys.get(at).map(|&v| AuditId::Uuid(v)),
                Some(_) => self.chunk += 1,
                None => return None,
            }
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
            "7e348a0e4-516-40be-836d-ed897f3e46e6",
        ] {
            assert_eq!(parse_uuid(not), None, "{not}");
        }
        assert_eq!(AuditId::of("a1"), AuditId::Text("a1".into()));
    }

    /// The reference: each row's ID as `AuditId::of` gives it (empty as none).
    fn expected(ids: &[Option<&str>]) -> Vec<Option<AuditId>> {
        ids.iter()
            .map(|id| id.filter(|s| !s.is_empty()).map(AuditId::of))
            .collect()
    }

    #[test]
    fn concatenated_parts_read_back_from_any_row() {
        let ids = [
            Some(A),
            None,
            Some("a1"),
            Some(B),
            Some(""),
            Some(A),
            Some("x"),
        ];
        // Every split of the rows into three parts, read from every starting row.
        for cut1 in 0..=ids.len() {
            for cut2 in cut1..=ids.len() {
                let parts = [&ids[..cut1], &ids[cut1..cut2], &ids[cut2..]].map(|rows| {
                    let mut k = AuditKeys::default();
                    k.reserve(rows.len());
                    rows.iter().for_each(|id| k.push(*id));
                    k
                });
                let keys = AuditKeys::concat(parts);
                assert_eq!(keys.len(), ids.len());
                for from in 0..ids.len() {
                    let mut r = keys.reader(from);
                    let got: Vec<_> = (from..ids.len()).map(|i| r.at(i)).collect();
                    assert_eq!(
                        got,
                        expected(&ids)[from..],
                        "cuts {cut1} {cut2} from {from}"
                    );
                }
            }
        }
        assert_eq!(AuditKeys::default().reader(0).at(0), None);
    }
}

//! Column builders: parsed events → the canonical frame's columns.
//!
//! Each parallel chunk builds its own columns with chunk-local dictionaries; the chunks then
//! become the frame's chunks, without a copy ([`series`]), and its categorical columns share
//! one dense dictionary per column (codes `0..k` in first-seen order), which the analyses
//! index arrays with.

use polars::prelude as pl;
use polars::prelude::{IntoSeries, PlHashMap, PlSmallStr};

use crate::audit_keys::AuditKeys;
use crate::record::EventFields;
use crate::schema::{Column, ColumnKind, Projection};
use crate::timestamp::datetime_diff_millis;
use crate::{Result, Shape};

mod cells;
mod series;

pub(crate) use cells::Cells;

/// A dictionary-encoded string column under construction.
#[derive(Debug, Default)]
pub(crate) struct DictBuilder {
    index: PlHashMap<Box<str>, u32>,
    /// Distinct values in first-seen order; `codes` index into it.
    values: Vec<Box<str>>,
    /// Each row's code (sparse while most rows are null, like any [`Cells`]).
    codes: Cells<u32>,
    /// A direct-mapped cache in front of `index`: code + 1 (0: empty) per slot of
    /// [`quick_slot`]. A column has few distinct values, so most rows are found here with one
    /// cheap hash and one comparison instead of a full hash and a probe.
    recent: Vec<u32>,
}

/// Slots of [`DictBuilder::recent`].
const RECENT_SLOTS: usize = 1024;

/// A slot for `s` from its length and its first, middle and last eight bytes.
#[inline]
fn quick_slot(s: &[u8]) -> usize {
    let n = s.len();
    let word = |at: usize| {
        s.get(at..at + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            .map_or(0, u64::from_le_bytes)
    };
    let h = if n >= 8 {
        word(0)
            ^ word(n / 2 - 4 * usize::from(n >= 16)).rotate_left(21)
            ^ word(n - 8).rotate_left(42)
    } else {
        s.iter().fold(0u64, |h, &c| (h << 8) | u64::from(c))
    };
    let h = (h ^ n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h >> 54) as usize % RECENT_SLOTS
}

/// Whether `a` and `b` are the same bytes. Dictionary values are mostly short (verbs,
/// resources, categories, cluster names), for which a call to `memcmp` cost more than the
/// comparison: up to 16 bytes are compared as two overlapping words.
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| {
        s.get(at..at + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            .map(u64::from_le_bytes)
    };
    let half = |s: &[u8], at: usize| {
        s.get(at..at + 4)
            .and_then(|w| <[u8; 4]>::try_from(w).ok())
            .map(u32::from_le_bytes)
    };
    match n {
        0..=3 => a == b,
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        _ => a == b,
    }
}

impl DictBuilder {
    fn reserve(&mut self, rows: usize) {
        self.codes.reserve(rows);
    }

    /// The code of `s`: found in the cache in front of the dictionary (inlined into the row
    /// loop), else looked up or added ([`DictBuilder::code_of_slow`]).
    #[inline(always)]
    fn code_of(&mut self, s: &str) -> u32 {
        let slot = quick_slot(s.as_bytes());
        if let Some(&c) = self.recent.get(slot) {
            if c != 0
                && self
                    .values
                    .get(c as usize - 1)
                    .is_some_and(|v| same_bytes(v.as_bytes(), s.as_bytes()))
            {
                return c - 1;
            }
        }
        self.code_of_slow(s, slot)
    }

    /// [`DictBuilder::code_of`] past the cache: the dictionary's hash map, then the cache slot
    /// set.
    #[inline(never)]
    fn code_of_slow(&mut self, s: &str, slot: usize) -> u32 {
        if self.recent.is_empty() {
            self.recent = vec![0; RECENT_SLOTS];
        }
        let code = match self.index.get(s) {
            Some(&c) => c,
            None => {
                let c = self.values.len() as u32;
                self.values.push(s.into());
                self.index.insert(s.into(), c);
                c
            }
        };
        if let Some(r) = self.recent.get_mut(slot) {
            *r = code + 1;
        }
        code
    }

    #[inline(always)]
    pub(crate) fn push(&mut self, v: Option<&str>) {
        match v {
            Some(s) => {
                let c = self.code_of(s);
                self.push_code(c);
            }
            None => self.push_null(),
        }
    }

    #[inline(always)]
    fn push_code(&mut self, c: u32) {
        self.codes.push(Some(c));
    }

    /// A null row.
    #[inline(always)]
    fn push_null(&mut self) {
        self.codes.push(None);
    }

    /// Appends rows given as keys into a dictionary of `values` (an Arrow dictionary array):
    /// each distinct key is looked up in this dictionary once, not once per row.
    #[cfg(feature = "arrow")]
    pub(crate) fn extend_keys<'v>(
        &mut self,
        keys: &[usize],
        valid: Option<&[bool]>,
        dictionary_len: usize,
        values: impl Fn(usize) -> Option<&'v str>,
    ) {
        const UNSEEN: u32 = u32::MAX;
        const NULL: u32 = u32::MAX - 1;
        let mut remap = vec![UNSEEN; dictionary_len];
        self.codes.reserve(keys.len());
        for (i, &k) in keys.iter().enumerate() {
            let row_valid = valid.is_none_or(|v| v.get(i).copied().unwrap_or(false));
            let code = match remap.get_mut(k) {
                Some(slot) if row_valid => {
                    if *slot == UNSEEN {
                        *slot = values(k).map_or(NULL, |v| self.code_of(v));
                    }
                    *slot
                }
                _ => NULL,
            };
            if code == NULL {
                self.push_null();
            } else {
                self.push_code(code);
            }
        }
    }

    /// One column of the chunks' rows, in order, with one dictionary: each chunk's distinct
    /// values are looked up once, then its codes are re-coded through that table.
    fn concat(parts: Vec<DictBuilder>) -> DictBuilder {
        let mut parts = parts.into_iter();
        let Some(mut out) = parts.next() else {
            return DictBuilder::default();
        };
        let mut codes = vec![std::mem::take(&mut out.codes)];
        for mut other in parts {
            let remap: Vec<u32> = other.values.iter().map(|v| out.code_of(v)).collect();
            other.recode(&remap);
            codes.push(other.codes);
        }
        out.codes = Cells::concat(codes);
        out
    }

    /// Re-codes the rows through `remap` (old code → new code). Null rows' placeholder codes
    /// stay in range.
    fn recode(&mut self, remap: &[u32]) {
        self.codes
            .map_values(|c| remap.get(c as usize).copied().unwrap_or(0));
    }
}

/// A plain string column under construction.
pub(crate) struct StrBuilder {
    parts: Vec<pl::StringChunked>,
    current: pl::StringChunkedBuilder,
    len: usize,
}

impl Default for StrBuilder {
    fn default() -> Self {
        StrBuilder {
            parts: Vec::new(),
            current: pl::StringChunkedBuilder::new(PlSmallStr::EMPTY, 0),
            len: 0,
        }
    }
}

impl StrBuilder {
    /// Room for `rows` rows' views in a column still empty (string bytes still grow by
    /// polars' buffer policy).
    fn reserve(&mut self, rows: usize) {
        if self.len == 0 {
            self.current = pl::StringChunkedBuilder::new(PlSmallStr::EMPTY, rows);
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, v: Option<&str>) {
        match v {
            Some(s) => self.current.append_value(s),
            None => self.current.append_null(),
        }
        self.len += 1;
    }

    fn seal(&mut self) {
        let cur = std::mem::replace(
            &mut self.current,
            pl::StringChunkedBuilder::new(PlSmallStr::EMPTY, 0),
        );
        let ca = cur.finish();
        if !ca.is_empty() {
            self.parts.push(ca);
        }
    }

    /// Appends a whole string column (shares its buffers).
    #[cfg(feature = "arrow")]
    pub(crate) fn append_chunked(&mut self, ca: pl::StringChunked) {
        self.seal();
        self.len += ca.len();
        if !ca.is_empty() {
            self.parts.push(ca);
        }
    }

    /// One column of the chunks' strings (their buffers are shared, not copied).
    fn concat(parts: Vec<StrBuilder>) -> StrBuilder {
        let mut out = StrBuilder::default();
        for mut p in parts {
            p.seal();
            out.parts.append(&mut p.parts);
            out.len += p.len;
        }
        out
    }

    fn into_series(mut self, name: &str) -> Result<pl::Series> {
        self.seal();
        let mut parts = self.parts.into_iter();
        let mut ca = match parts.next() {
            Some(first) => first,
            None => pl::StringChunkedBuilder::new(PlSmallStr::EMPTY, 0).finish(),
        };
        for p in parts {
            ca.append_owned(p)?;
        }
        // Many small chunks (small parallel pieces, small streamed blocks) are coalesced so
        // that row lookups and Arrow export (a batch per chunk) stay cheap. Big ones are kept
        // as they are: copying them (audit IDs read for copy detection, which most reads never
        // look at again) measured ~5 % of an AKSAudit read's CPU.
        if series::coalesce(ca.chunks().len(), ca.len()) {
            ca.rechunk_mut();
        }
        ca.rename(PlSmallStr::from(name));
        Ok(ca.into_series())
    }
}

/// One column under construction.
pub(crate) enum ColBuilder {
    Time(Cells<i64>),
    I64(Cells<i64>),
    I32(Cells<i32>),
    Dict(DictBuilder),
    Str(StrBuilder),
    Bool(Vec<bool>),
}

impl ColBuilder {
    fn new(kind: ColumnKind) -> ColBuilder {
        match kind {
            ColumnKind::Timestamp => ColBuilder::Time(Cells::default()),
            ColumnKind::Int64 => ColBuilder::I64(Cells::default()),
            ColumnKind::Int32 => ColBuilder::I32(Cells::default()),
            ColumnKind::Categorical => ColBuilder::Dict(DictBuilder::default()),
            ColumnKind::String => ColBuilder::Str(StrBuilder::default()),
            ColumnKind::Boolean => ColBuilder::Bool(Vec::new()),
        }
    }
}

impl ColBuilder {
    fn reserve(&mut self, rows: usize) {
        match self {
            ColBuilder::Time(b) | ColBuilder::I64(b) => b.reserve(rows),
            ColBuilder::I32(b) => b.reserve(rows),
            ColBuilder::Dict(b) => b.reserve(rows),
            ColBuilder::Str(b) => b.reserve(rows),
            ColBuilder::Bool(b) => b.reserve(rows),
        }
    }

    /// Appends `n` nulls.
    #[cfg(feature = "arrow")]
    pub(crate) fn push_nulls(&mut self, n: usize) {
        match self {
            ColBuilder::Time(b) | ColBuilder::I64(b) => b.extend((0..n).map(|_| None)),
            ColBuilder::I32(b) => b.extend((0..n).map(|_| None)),
            ColBuilder::Dict(b) => (0..n).for_each(|_| b.push(None)),
            ColBuilder::Str(b) => (0..n).for_each(|_| b.push(None)),
            // Never null: a row read from a table without the column was not salvaged.
            ColBuilder::Bool(b) => b.resize(b.len() + n, false),
        }
    }
}

/// The columns of one chunk of rows, in projection order.
struct Chunk {
    cols: Vec<(Column, ColBuilder)>,
    /// The rows' audit IDs as keys, when asked for (`ParseOptions::with_copy_keys`).
    keys: Option<AuditKeys>,
    rows: usize,
}

impl Chunk {
    fn new(projection: Projection, keys: bool) -> Chunk {
        Chunk {
            cols: projection
                .columns()
                .map(|c| (c, ColBuilder::new(c.kind())))
                .collect(),
            keys: keys.then(AuditKeys::default),
            rows: 0,
        }
    }
}

/// The cluster column's source, remembered from the last row: one export holds a handful
/// of resource IDs, so most rows name the last row's, whose cluster name and dictionary code
/// are then reused (the resource ID is compared, the name neither derived nor looked up).
#[derive(Debug, Default)]
struct LastCluster {
    /// The last resource ID, and its cluster name.
    id: Option<String>,
    name: Option<String>,
    /// `name`'s code in the current chunk's dictionary; `None` until a row of the chunk
    /// used it.
    code: Option<u32>,
    /// The code of the cluster label (rows that name no resource) in the current chunk's
    /// dictionary.
    label_code: Option<u32>,
}

impl LastCluster {
    /// Pushes the cluster of a row with resource ID `id` (else `label`) into `b`, the
    /// current chunk's cluster column.
    #[inline]
    fn push(&mut self, b: &mut DictBuilder, id: Option<&str>, label: Option<&str>) {
        let (name, code) = match id {
            None => (label, &mut self.label_code),
            Some(id) => {
                if self.id.as_deref() != Some(id) {
                    self.name = crate::record::cluster_of(id).map(|c| c.into_owned());
                    self.id = Some(id.to_owned());
                    self.code = None;
                }
                (self.name.as_deref(), &mut self.code)
            }
        };
        match name {
            Some(name) => {
                let c = *code.get_or_insert_with(|| b.code_of(name));
                b.push_code(c);
            }
            None => b.push_null(),
        }
    }

    /// Rows now go to a new chunk, with its own dictionary.
    fn new_chunk(&mut self) {
        (self.code, self.label_code) = (None, None);
    }
}

/// The rows of a frame under construction: chunks built separately (one per parse task, in
/// parallel) and kept as they are when appended, in input order. [`Columns::finish`] joins
/// them once, each column on its own thread, so no reader ever merges chunks serially.
pub(crate) struct Columns {
    projection: Projection,
    /// Earlier chunks, in order.
    done: Vec<Chunk>,
    /// The chunk rows are pushed into (after `done`).
    current: Chunk,
    /// The cluster column's source, remembered from the last row.
    last_cluster: LastCluster,
    /// The cluster of events whose record names none (see `ParseOptions::with_cluster_label`).
    cluster_label: Option<std::sync::Arc<str>>,
    /// Whether chunks keep their rows' audit IDs as keys.
    keys: bool,
}

impl Columns {
    pub fn new(
        projection: Projection,
        cluster_label: Option<std::sync::Arc<str>>,
        keys: bool,
    ) -> Columns {
        Columns {
            projection,
            done: Vec::new(),
            current: Chunk::new(projection, keys),
            last_cluster: LastCluster::default(),
            cluster_label,
            keys,
        }
    }

    /// Room for `rows` more rows in every column of the current chunk: columns that grow
    /// by doubling copy themselves into fresh memory at each step, and on a 1M-row read that
    /// copying and its page faults were a sixth of all faults.
    pub fn reserve(&mut self, rows: usize) {
        for (_, b) in &mut self.current.cols {
            b.reserve(rows);
        }
        if let Some(k) = &mut self.current.keys {
            k.reserve(rows);
        }
    }

    pub fn rows(&self) -> usize {
        self.done.iter().map(|c| c.rows).sum::<usize>() + self.current.rows
    }

    /// The column builders, for appending whole columns; [`Columns::add_rows`] must follow
    /// with the number of rows every builder received.
    #[cfg(feature = "arrow")]
    pub(crate) fn builders_mut(&mut self) -> &mut [(Column, ColBuilder)] {
        &mut self.current.cols
    }

    #[cfg(feature = "arrow")]
    pub(crate) fn add_rows(&mut self, n: usize) {
        self.current.rows += n;
    }

    /// Appends one event as a row.
    pub fn push(&mut self, f: &EventFields<'_>, shape: Shape) {
        let chunk = &mut self.current;
        chunk.rows += 1;
        if let Some(k) = &mut chunk.keys {
            // A read's ID is never looked at (it cannot be a copy); a row without a verb
            // keeps its ID.
            let may_copy = !f.verb.as_deref().is_some_and(crate::copies::is_read_verb);
            let category = crate::copies::category_bit(f.category.as_deref());
            k.push(f.audit_id.as_deref(), may_copy, category);
        }
        for (col, b) in &mut chunk.cols {
            match b {
                ColBuilder::Time(b) => b.push(match col {
                    Column::TimeGenerated => f.time_generated,
                    Column::RequestReceived => f.request_received,
                    _ => f.stage_timestamp,
                }),
                ColBuilder::I64(b) => b.push(match col.latency_annotation() {
                    Some(i) => f.latency.get(i).copied().flatten(),
                    None => match (f.stage_timestamp, f.request_received) {
                        (Some(end), Some(start)) => Some(datetime_diff_millis(end, start)),
                        _ => None,
                    },
                }),
                ColBuilder::I32(b) => b.push(f.status_code),
                ColBuilder::Dict(b) if *col == Column::Cluster => {
                    let label = self.cluster_label.as_deref();
                    self.last_cluster.push(b, f.resource_id.as_deref(), label);
                }
                ColBuilder::Dict(b) => b.push(match col {
                    Column::Stage => f.stage.as_deref(),
                    Column::Level => f.level.as_deref(),
                    Column::Verb => f.verb.as_deref(),
                    // KQL groups a missing user agent under "": keep it a real key.
                    Column::UserAgent => Some(f.user_agent.as_deref().unwrap_or("")),
                    Column::Username => f.username.as_deref(),
                    Column::SourceIp => f.source_ip.as_deref(),
                    Column::Resource => f.resource.as_deref(),
                    Column::Subresource => f.subresource.as_deref(),
                    Column::Namespace => f.namespace.as_deref(),
                    Column::ApiGroup => f.api_group.as_deref(),
                    Column::ApiVersion => f.api_version.as_deref(),
                    Column::Category => f.category.as_deref(),
                    Column::ResourceId => f.resource_id.as_deref(),
                    _ => Some(shape.name()),
                }),
                ColBuilder::Str(b) => b.push(match col {
                    Column::AuditId => f.audit_id.as_deref(),
                    Column::RequestUri => f.request_uri.as_deref(),
                    Column::AdmissionWebhooks => f.admission_webhooks.as_deref(),
                    _ => f.name.as_deref(),
                }),
                ColBuilder::Bool(b) => b.push(f.truncated),
            }
        }
    }

    /// Appends another chunk's rows after this chunk's (in O(chunks): nothing is copied).
    pub fn append(&mut self, other: Columns) {
        let current = std::mem::replace(&mut self.current, Chunk::new(self.projection, self.keys));
        self.last_cluster.new_chunk();
        self.done.extend(
            std::iter::once(current)
                .chain(other.done)
                .chain(std::iter::once(other.current))
                .filter(|c| c.rows > 0),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::{same_bytes, Columns};
    use crate::record::EventFields;
    use crate::{Column, Projection, Shape};
    use proptest::prelude::*;

    /// The cluster column's values, row by row.
    fn clusters(cols: Columns) -> Vec<Option<String>> {
        let frame = cols.finish().unwrap();
        let col = frame.column(Column::Cluster).unwrap();
        let col = col.cast(&polars::prelude::DataType::String).unwrap();
        let ca = col.str().unwrap();
        ca.iter().map(|v| v.map(str::to_owned)).collect()
    }

    #[test]
    fn cluster_codes_are_reused_within_a_chunk_only() {
        let id = |name: &str| {
            format!("/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/{name}")
        };
        let row = |id: Option<&str>| EventFields {
            resource_id: id.map(|s| std::borrow::Cow::Owned(s.to_owned())),
            ..EventFields::default()
        };
        let projection = Projection::of(&[Column::Cluster]);
        let label = Some(std::sync::Arc::<str>::from("native"));
        let (a, b) = (id("Alpha"), id("beta"));
        let mut cols = Columns::new(projection, label.clone(), false);
        // In a second builder another cluster comes first, so its dictionary codes differ.
        let mut other = Columns::new(projection, label, false);
        for r in [Some(&b), Some(&a), None] {
            other.push(&row(r.map(String::as_str)), Shape::AksAudit);
        }
        let rows = [Some(&a), Some(&a), None, Some(&b), Some(&b), None, Some(&a)];
        for r in rows {
            cols.push(&row(r.map(String::as_str)), Shape::AksAudit);
        }
        cols.append(other);
        // The same resource ID and the label again, in the chunk after the appended ones.
        for r in [Some(&a), None, Some(&b), Some(&a)] {
            cols.push(&row(r.map(String::as_str)), Shape::AksAudit);
        }
        let name = |n: &str| Some(n.to_owned());
        assert_eq!(
            clusters(cols),
            [
                name("alpha"),
                name("alpha"),
                name("native"),
                name("beta"),
                name("beta"),
                name("native"),
                name("alpha"),
                name("beta"),
                name("alpha"),
                name("native"),
                name("alpha"),
                name("native"),
                name("beta"),
                name("alpha"),
            ]
        );
    }

    proptest! {
        /// Equal to slice equality, for every length up to past the word compare's, and for
        /// pairs that differ in one byte anywhere.
        #[test]
        fn same_bytes_is_equality(
            a in proptest::collection::vec(any::<u8>(), 0..40),
            at in any::<usize>(),
            flip in 1u8..,
        ) {
            prop_assert!(same_bytes(&a, &a.clone()));
            let mut b = a.clone();
            if let Some(i) = (!b.is_empty()).then(|| at % b.len()) {
                b[i] ^= flip;
                prop_assert!(!same_bytes(&a, &b));
            }
            b.push(0);
            prop_assert_eq!(same_bytes(&a, &b), false);
            prop_assert_eq!(same_bytes(&a, &b[..a.len()]), a[..] == b[..a.len()]);
        }
    }
}

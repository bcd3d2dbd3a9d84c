//! The same request exported twice: once under `kube-audit` and once under
//! `kube-audit-admin`.
//!
//! AKS's `kube-audit-admin` diagnostic category (the `AKSAuditAdmin` table) is `kube-audit`
//! without the get, list and watch requests. A cluster that exports both writes every other
//! request twice, and an analysis over both would count it twice; the guide's KQL filters
//! `Category == "kube-audit"`, so Log Analytics counts it once. [`CategoryCopies`] drops the
//! second copy: a row whose (`audit_id`, `stage`) was already seen **under the other audit
//! category** is a copy (the first copy in read order is kept). Rows of one category are never
//! compared with each other, and rows without an audit ID or outside the two audit categories
//! (native logs) are kept as they are.
//!
//! Exact over one frame or any number of frames while every key is kept; bounded for streams
//! with [`CategoryCopies::bounded`], which forgets keys older than a horizon behind the newest
//! time seen (the two copies of one request carry the same time, and a storage export holds
//! them in the blobs of the same hour).

use polars::prelude as pl;
use polars::prelude::{NewChunkedArray, PlHashMap};
use rayon::prelude::*;

use crate::analysis::columns::{Codes, Ints, Strs};
use crate::audit_keys::AuditId;

use crate::schema::{Column, Projection};
use crate::time::TimeSpan;
use crate::{AuditFrame, Result};

/// The two audit categories, as the `category` column holds them.
const KUBE_AUDIT: &str = "kube-audit";
const KUBE_AUDIT_ADMIN: &str = "kube-audit-admin";

/// Whether `verb` is a read. Reads are never exported under `kube-audit-admin`, so they can
/// never be a copy (nor be copied).
#[inline]
pub(crate) fn is_read_verb(verb: &str) -> bool {
    matches!(verb, "get" | "list" | "watch")
}

/// A row's category bit: 1 `kube-audit`, 2 `kube-audit-admin`, 0 anything else (or none).
#[inline]
pub(crate) fn category_bit(category: Option<&str>) -> u8 {
    match category {
        Some(KUBE_AUDIT) => 1,
        Some(KUBE_AUDIT_ADMIN) => 2,
        _ => 0,
    }
}

/// The columns [`CategoryCopies`] reads; a frame without them is passed through unchanged.
/// A frame parsed with [`ParseOptions::with_copy_keys`](crate::ParseOptions::with_copy_keys)
/// needs no `audit_id` nor `category` column: its keys, which carry each row's category,
/// stand in for them.
pub const COPY_KEY_COLUMNS: [Column; 5] = [
    Column::AuditId,
    Column::Stage,
    Column::Category,
    Column::Verb,
    Column::TimeGenerated,
];

/// Which audit categories a key was seen under (bits), its latest time, and the frame that
/// last touched it.
#[derive(Clone, Copy)]
struct Seen {
    categories: u8,
    frame: u64,
    time: i64,
}

/// One shard's keys.
#[derive(Default)]
struct Shard {
    keys: PlHashMap<(AuditId, u32), Seen>,
    /// Keys held after the shard was last pruned.
    pruned_len: usize,
}

/// A bounded shard is pruned once it holds twice as many keys as after its last pruning (and
/// at least this many): pruning after every frame walked all its keys every time.
const PRUNE_AT_LEAST: usize = if cfg!(test) { 2 } else { 64 * 1024 };

impl Default for CategoryCopies {
    fn default() -> Self {
        CategoryCopies::new()
    }
}

/// Key tables: a key's shard comes from its bits, so every row of one request lands in one.
const SHARDS: usize = 4;
/// Rows per range of the parallel scan (tiny in unit tests, so that they cross ranges).
const SCAN_ROWS: usize = if cfg!(test) { 7 } else { 64 * 1024 };

/// The shard of an audit ID (UUIDs are random in their low bits).
fn shard_of(id: &AuditId) -> usize {
    let h = match id {
        AuditId::Uuid(v) => *v as usize,
        AuditId::Text(t) => t.bytes().fold(0usize, |h, b| {
            h.wrapping_mul(31).wrapping_add(usize::from(b))
        }),
    };
    h % SHARDS
}

/// A row that may have a copy.
struct Candidate {
    row: usize,
    key: (AuditId, u32),
    bit: u8,
    time: i64,
}

/// What the scan of one row range found.
struct Scan {
    /// Candidates per shard, in row order.
    shards: Vec<Vec<Candidate>>,
    /// Rows per category bit (none, kube-audit, admin).
    rows: [u64; 3],
    newest: i64,
}

impl Default for Scan {
    fn default() -> Self {
        Scan {
            shards: (0..SHARDS).map(|_| Vec::new()).collect(),
            rows: [0; 3],
            newest: i64::MIN,
        }
    }
}

/// Drops the second copy of a request exported under both `kube-audit` and
/// `kube-audit-admin` (see the [module docs](self)).
///
/// ```
/// use auditframe::copies::CategoryCopies;
/// use auditframe::{AuditFrame, ParseOptions};
///
/// // An AzureDiagnostics export of both categories: the create is there twice.
/// let rows = br#"{"TimeGenerated":"2026-11-20T10:00:00Z","Category":"kube-audit","log_s":"{\"auditID\":\"a1\",\"stage\":\"ResponseComplete\",\"verb\":\"create\"}"}
/// {"TimeGenerated":"2026-11-20T10:00:01Z","Category":"kube-audit","log_s":"{\"auditID\":\"a2\",\"stage\":\"ResponseComplete\",\"verb\":\"get\"}"}
/// {"TimeGenerated":"2026-11-20T10:00:00Z","Category":"kube-audit-admin","log_s":"{\"auditID\":\"a1\",\"stage\":\"ResponseComplete\",\"verb\":\"create\"}"}
/// "#;
/// let (frame, _) = AuditFrame::from_slice(rows, &ParseOptions::new())?;
/// let mut copies = CategoryCopies::new();
/// let frame = copies.drop_copies(&frame)?;
/// assert_eq!(frame.height(), 2);
/// assert_eq!(copies.dropped(), 1);
/// assert!(!copies.admin_only());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct CategoryCopies {
    /// Keys by shard (see `shard_of`): each shard's keys are looked up on their own thread.
    seen: Vec<Shard>,
    /// Bounded: keys whose time is below this when a frame starts are forgotten (absent),
    /// whether or not their shard was pruned yet.
    forgotten_below: i64,
    /// Frames read so far.
    frames: u64,
    /// Stage names, interned: frames have their own dictionaries, keys need one numbering.
    stages: Vec<Box<str>>,
    horizon: Option<i64>,
    newest: i64,
    dropped: u64,
    kube_audit_rows: u64,
    admin_rows: u64,
}

impl CategoryCopies {
    /// Exact: every key is kept until the end (memory grows with the writes read).
    pub fn new() -> CategoryCopies {
        CategoryCopies {
            seen: (0..SHARDS).map(|_| Shard::default()).collect(),
            forgotten_below: i64::MIN,
            frames: 0,
            stages: Vec::new(),
            horizon: None,
            newest: i64::MIN,
            dropped: 0,
            kube_audit_rows: 0,
            admin_rows: 0,
        }
    }

    /// Bounded for streams: keys older than `horizon` behind the newest `time_generated`
    /// seen are forgotten after each frame, so a copy read further away than that is kept.
    pub fn bounded(horizon: TimeSpan) -> CategoryCopies {
        CategoryCopies {
            horizon: Some(horizon.nanos().max(0)),
            ..CategoryCopies::new()
        }
    }

    /// Copies dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Whether the rows seen so far hold `kube-audit-admin` rows and no `kube-audit` ones:
    /// such an export has no get, list or watch requests.
    pub fn admin_only(&self) -> bool {
        self.admin_rows > 0 && self.kube_audit_rows == 0
    }

    /// Keys held now (for bounded-memory checks): those not forgotten. Forgotten keys stay in
    /// memory until their shard holds twice as many keys as after it was last pruned.
    pub fn keys_held(&self) -> usize {
        self.seen
            .iter()
            .flat_map(|s| s.keys.values())
            .filter(|s| s.time >= self.forgotten_below)
            .count()
    }

    /// [`drop_copies`](Self::drop_copies) for a frame holding the whole input (no frame
    /// follows): when the frame holds rows of only one audit category — an export of one
    /// category, the usual case — nothing can be a copy and no key is built, so it costs one
    /// pass over the category codes. Returns the frame and the tally.
    pub fn drop_copies_in_whole(frame: &AuditFrame) -> Result<(AuditFrame, CategoryCopies)> {
        let mut copies = CategoryCopies::new();
        if !has_copy_keys(frame) {
            return Ok((frame.clone(), copies));
        }
        let rows = match frame.audit_keys() {
            // Counted as the keys were built.
            Some(keys) => keys.category_rows(),
            None => {
                // The category column's chunks as they are: joining them (a copy of the
                // column, on the caller's thread) was most of this check's cost.
                let category = Codes::load_chunks(frame, Column::Category)?;
                let bits = copies.category_bits(&category);
                let mut rows = [0u64; 3];
                for (code, n) in category.counts().into_iter().enumerate() {
                    if let Some(r) = bits.get(code).and_then(|&b| rows.get_mut(usize::from(b))) {
                        *r += n;
                    }
                }
                rows
            }
        };
        let [_, kube_audit, admin] = rows;
        if kube_audit == 0 || admin == 0 {
            copies.kube_audit_rows = kube_audit;
            copies.admin_rows = admin;
            return Ok((frame.clone(), copies));
        }
        let frame = copies.drop_copies(frame)?;
        Ok((frame, copies))
    }

    /// Per category code (and the null slot): its [`category_bit`].
    fn category_bits(&self, category: &Codes) -> Vec<u8> {
        (0..=category.len)
            .map(|c| match c == category.len {
                true => 0,
                false => category_bit(Some(category.name(c))),
            })
            .collect()
    }

    /// `frame` without the rows that copy a row seen before under the other audit category.
    /// A frame lacking any of [`COPY_KEY_COLUMNS`] (audit-ID keys may stand in for
    /// `audit_id` and `category`) comes back unchanged.
    pub fn drop_copies(&mut self, frame: &AuditFrame) -> Result<AuditFrame> {
        if !has_copy_keys(frame) {
            return Ok(frame.clone());
        }
        // The audit IDs and categories: the frame's keys when it carries them (the columns
        // need not be there), else the columns.
        let keys = frame.audit_keys();
        // Per-frame dictionaries, mapped once: category → bit, verb → read, stage → interned.
        // Keys are kept only for non-read rows of the two categories: with them, neither
        // column is read (loading one joins its chunks into a copy).
        let (category, verb) = match keys {
            Some(_) => (Codes::unused(), Codes::unused()),
            None => (
                Codes::load(frame, Column::Category)?,
                Codes::load(frame, Column::Verb)?,
            ),
        };
        let stage = Codes::load(frame, Column::Stage)?;
        let bits = self.category_bits(&category);
        // Reads are never in the admin category, so they cannot have a copy.
        let reads: Vec<bool> = (0..=verb.len)
            .map(|c| c < verb.len && is_read_verb(verb.name(c)))
            .collect();
        let stage_ids: Vec<u32> = (0..=stage.len)
            .map(|c| {
                let name = if c < stage.len { stage.name(c) } else { "" };
                self.intern_stage(name)
            })
            .collect();
        let ids = Strs::load_if(frame, Column::AuditId, keys.is_none())?;
        let time = Ints::load(frame, Column::TimeGenerated, false)?;
        let n = frame.height();

        // Pass 1, in parallel over row ranges: each range's candidates (rows that may have a
        // copy), split by shard, in row order; and its row counts and newest time.
        let scan = |lo: usize, hi: usize| {
            let mut ids = ids.cursor();
            let mut keys = keys.map(|k| k.reader(lo));
            let mut out = Scan::default();
            for i in lo..hi {
                let t = time.at(i).unwrap_or(i64::MIN);
                out.newest = out.newest.max(t);
                // Keys are kept only for rows that can be a copy, with their category.
                let (id, bit) = match &mut keys {
                    Some(keys) => match keys.at(i) {
                        Some(key) => key,
                        None => continue,
                    },
                    None => {
                        let bit = bits.get(category.at(i) as usize).copied().unwrap_or(0);
                        if let Some(n) = out.rows.get_mut(usize::from(bit)) {
                            *n += 1;
                        }
                        let read = reads.get(verb.at(i) as usize).copied().unwrap_or(false);
                        if bit == 0 || read {
                            continue;
                        }
                        match ids.at(i).filter(|id| !id.is_empty()) {
                            Some(id) => (AuditId::of(id), bit),
                            None => continue,
                        }
                    }
                };
                let stage = stage_ids.get(stage.at(i) as usize).copied().unwrap_or(0);
                if let Some(shard) = out.shards.get_mut(shard_of(&id)) {
                    shard.push(Candidate {
                        row: i,
                        key: (id, stage),
                        bit,
                        time: t,
                    });
                }
            }
            out
        };
        let ranges: Vec<(usize, usize)> = (0..n)
            .step_by(SCAN_ROWS)
            .map(|lo| (lo, (lo + SCAN_ROWS).min(n)))
            .collect();
        let scans: Vec<Scan> = ranges.par_iter().map(|&(lo, hi)| scan(lo, hi)).collect();
        // Keys counted every row's category as they were built; the scan counts the column.
        let mut rows = keys.map_or([0; 3], |k| k.category_rows());
        for sc in &scans {
            for (n, m) in rows.iter_mut().zip(sc.rows) {
                *n += m;
            }
            self.newest = self.newest.max(sc.newest);
        }
        let [_, kube_audit, admin] = rows;
        self.kube_audit_rows += kube_audit;
        self.admin_rows += admin;
        let mut by_shard: Vec<Vec<Vec<Candidate>>> = (0..SHARDS).map(|_| Vec::new()).collect();
        for sc in scans {
            for (all, part) in by_shard.iter_mut().zip(sc.shards) {
                all.push(part);
            }
        }

        // Pass 2, a thread per shard: a key's rows all fall in one shard, in row order, so
        // "first copy wins" holds within each shard as over the whole frame.
        // A key older than the horizon at the end of a frame is forgotten: absent from the
        // next frame on (not within the frame that touched it last).
        let oldest = self.horizon.map(|h| self.newest.saturating_sub(h));
        let (forgotten_below, this_frame) = (self.forgotten_below, self.frames);
        let dropped: Vec<Vec<usize>> = self
            .seen
            .par_iter_mut()
            .zip(by_shard)
            .map(|(shard, parts)| {
                let mut dropped = Vec::new();
                for c in parts.into_iter().flatten() {
                    let fresh = Seen {
                        categories: 0,
                        frame: this_frame,
                        time: c.time,
                    };
                    let e = shard.keys.entry(c.key).or_insert(fresh);
                    if e.time < forgotten_below && e.frame != this_frame {
                        *e = fresh;
                    }
                    e.frame = this_frame;
                    if e.categories & !c.bit != 0 {
                        dropped.push(c.row);
                    } else {
                        e.categories |= c.bit;
                        e.time = e.time.max(c.time);
                    }
                }
                if let Some(oldest) = oldest {
                    if shard.keys.len() >= 2 * shard.pruned_len.max(PRUNE_AT_LEAST / 2) {
                        shard.keys.retain(|_, s| s.time >= oldest);
                        shard.pruned_len = shard.keys.len();
                    }
                }
                dropped
            })
            .collect();
        if let Some(oldest) = oldest {
            self.forgotten_below = self.forgotten_below.max(oldest);
        }
        self.frames += 1;
        let dropped_here: u64 = dropped.iter().map(|d| d.len() as u64).sum();
        self.dropped += dropped_here;
        if dropped_here == 0 {
            return Ok(frame.clone());
        }
        let mut keep = vec![true; n];
        for row in dropped.into_iter().flatten() {
            if let Some(k) = keep.get_mut(row) {
                *k = false;
            }
        }
        let mask = pl::BooleanChunked::from_slice("keep".into(), &keep);
        frame.filter_rows(&mask)
    }
}

impl CategoryCopies {
    fn intern_stage(&mut self, name: &str) -> u32 {
        let at = match self.stages.iter().position(|s| &**s == name) {
            Some(at) => at,
            None => {
                self.stages.push(name.into());
                self.stages.len() - 1
            }
        };
        u32::try_from(at).unwrap_or(u32::MAX)
    }
}

/// Whether `frame` has what [`CategoryCopies`] reads: [`COPY_KEY_COLUMNS`], where the
/// frame's audit-ID keys may stand in for the `audit_id` and `category` columns.
fn has_copy_keys(frame: &AuditFrame) -> bool {
    let projection = frame.projection();
    let keyed = frame.audit_keys().is_some();
    COPY_KEY_COLUMNS.iter().all(|&c| {
        projection.contains(c) || (keyed && matches!(c, Column::AuditId | Column::Category))
    })
}

/// `projection` with the columns [`CategoryCopies`] reads.
pub fn with_copy_key_columns(projection: Projection) -> Projection {
    COPY_KEY_COLUMNS.iter().fold(projection, |p, &c| p.with(c))
}

/// `projection` with the columns [`CategoryCopies`] reads from a frame parsed with
/// [`ParseOptions::with_copy_keys`](crate::ParseOptions::with_copy_keys): those of
/// [`with_copy_key_columns`] except `audit_id` and `category`, which the keys stand in for
/// (each stays when `projection` itself has it).
///
/// ```
/// use auditframe::copies::with_copy_key_columns_for_keys;
/// use auditframe::{Column, Projection};
///
/// let p = with_copy_key_columns_for_keys(Projection::of(&[Column::Verb]));
/// assert!(p.contains(Column::Verb) && p.contains(Column::Stage));
/// assert!(!p.contains(Column::AuditId) && !p.contains(Column::Category));
/// let p = with_copy_key_columns_for_keys(Projection::of(&[Column::AuditId]));
/// assert!(p.contains(Column::AuditId));
/// ```
pub fn with_copy_key_columns_for_keys(projection: Projection) -> Projection {
    with_copy_key_columns(projection)
        .without(Column::AuditId)
        .without(Column::Category)
        .union(projection)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ParseOptions;

    fn diag(time: &str, category: &str, id: &str, verb: &str) -> String {
        format!(
            r#"{{"TimeGenerated":"2026-11-20T{time}Z","Category":"{category}","log_s":"{{\"auditID\":\"{id}\",\"stage\":\"ResponseComplete\",\"verb\":\"{verb}\",\"userAgent\":\"{category}\"}}"}}"#
        )
    }

    fn frame(lines: &[String]) -> AuditFrame {
        let text = lines.join("\n");
        AuditFrame::from_slice(text.as_bytes(), &ParseOptions::new())
            .unwrap()
            .0
    }

    /// `lines` parsed with audit-ID keys (which carry the categories) instead of the
    /// `audit_id` and `category` columns.
    fn keyed_frame(lines: &[String]) -> AuditFrame {
        let projection = Projection::all()
            .without(Column::AuditId)
            .without(Column::Category);
        let opts = ParseOptions::new()
            .with_projection(projection)
            .with_copy_keys(true);
        let f = AuditFrame::from_slice(lines.join("\n").as_bytes(), &opts)
            .unwrap()
            .0;
        assert!(f.audit_keys().is_some() && f.projection() == projection);
        f
    }

    #[test]
    fn the_first_copy_in_read_order_is_kept_in_either_order() {
        let a = diag("10:00:00", "kube-audit", "a1", "create");
        let b = diag("10:00:00", "kube-audit-admin", "a1", "create");
        for lines in [vec![a.clone(), b.clone()], vec![b.clone(), a.clone()]] {
            let f = frame(&lines);
            let mut c = CategoryCopies::new();
            let out = c.drop_copies(&f).unwrap();
            assert_eq!(out.height(), 1);
            let first = lines[0].contains("\"kube-audit-admin\"");
            let ua = out.column(Column::UserAgent).unwrap();
            let ua = ua
                .as_materialized_series()
                .cast(&pl::DataType::String)
                .unwrap();
            let want = if first {
                "kube-audit-admin"
            } else {
                "kube-audit"
            };
            assert_eq!(ua.str().unwrap().get(0), Some(want));
        }
    }

    #[test]
    fn same_category_repeats_reads_and_missing_ids_are_kept() {
        let lines = vec![
            diag("10:00:00", "kube-audit", "a1", "create"),
            diag("10:00:00", "kube-audit", "a1", "create"),
            diag("10:00:01", "kube-audit", "r1", "get"),
            diag("10:00:01", "kube-audit-admin", "r1", "get"),
            diag("10:00:02", "kube-audit", "", "update"),
            diag("10:00:02", "kube-audit-admin", "", "update"),
        ];
        let mut c = CategoryCopies::new();
        assert_eq!(c.drop_copies(&frame(&lines)).unwrap().height(), 6);
        assert_eq!(c.dropped(), 0);
    }

    #[test]
    fn copies_across_frames_and_the_horizon() {
        let first = frame(&[diag("10:00:00", "kube-audit", "a1", "delete")]);
        let copy = frame(&[diag("10:00:00", "kube-audit-admin", "a1", "delete")]);
        let later = frame(&[diag("13:00:00", "kube-audit", "z9", "patch")]);
        // Exact: remembered across frames however far apart.
        let mut exact = CategoryCopies::new();
        exact.drop_copies(&first).unwrap();
        exact.drop_copies(&later).unwrap();
        assert_eq!(exact.drop_copies(&copy).unwrap().height(), 0);
        // Bounded to 2 h: within the horizon the copy is dropped, beyond it forgotten.
        let two_hours = TimeSpan::from_nanos(2 * 3_600 * 1_000_000_000);
        let mut near = CategoryCopies::bounded(two_hours);
        near.drop_copies(&first).unwrap();
        assert_eq!(near.drop_copies(&copy).unwrap().height(), 0);
        let mut far = CategoryCopies::bounded(two_hours);
        far.drop_copies(&first).unwrap();
        far.drop_copies(&later).unwrap();
        assert_eq!(far.keys_held(), 1);
        assert_eq!(far.drop_copies(&copy).unwrap().height(), 1);
    }

    #[test]
    fn a_whole_input_of_one_category_is_left_as_it_is() {
        // From the category column, and from keys that carry the categories.
        for read in [frame, keyed_frame] {
            let one = read(&[
                diag("10:00:00", "kube-audit", "a1", "create"),
                diag("10:00:00", "kube-audit", "a1", "create"),
                diag("10:00:00", "kube-audit", "a2", "get"),
            ]);
            let (out, c) = CategoryCopies::drop_copies_in_whole(&one).unwrap();
            assert_eq!((out.height(), c.dropped(), c.keys_held()), (3, 0, 0));
            assert!(!c.admin_only());
            let admin = read(&[diag("10:00:00", "kube-audit-admin", "a1", "create")]);
            assert!(CategoryCopies::drop_copies_in_whole(&admin)
                .unwrap()
                .1
                .admin_only());
            let both = read(&[
                diag("10:00:00", "kube-audit-admin", "a1", "create"),
                diag("10:00:00", "kube-audit", "a1", "create"),
                diag("10:00:00", "kube-audit", "a1", "get"),
            ]);
            let (out, c) = CategoryCopies::drop_copies_in_whole(&both).unwrap();
            assert_eq!((out.height(), c.dropped(), c.keys_held()), (2, 1, 1));
            assert!(!c.admin_only());
            // Only reads under kube-audit: both categories are there, nothing can be a copy.
            let reads = read(&[
                diag("10:00:00", "kube-audit-admin", "a1", "create"),
                diag("10:00:00", "kube-audit", "a1", "list"),
            ]);
            let (out, c) = CategoryCopies::drop_copies_in_whole(&reads).unwrap();
            assert_eq!((out.height(), c.dropped()), (2, 0));
            assert!(!c.admin_only());
        }
    }

    #[test]
    fn a_whole_input_in_several_chunks_is_counted_chunk_by_chunk() {
        let rows = [
            diag("10:00:00", "kube-audit", "a1", "create"),
            diag("10:00:01", "kube-audit", "a2", "create"),
            diag("10:00:02", "kube-audit-admin", "a3", "create"),
        ];
        let stacked = |f: AuditFrame| {
            let df = f.dataframe().vstack(f.dataframe()).unwrap();
            AuditFrame::from_dataframe(df).unwrap()
        };
        let two = stacked(frame(&rows));
        let category = two.column(Column::Category).unwrap();
        assert_eq!(category.as_materialized_series().n_chunks(), 2);
        // Codes in first-seen order, then the null slot.
        let codes = Codes::load_chunks(&two, Column::Category).unwrap();
        assert_eq!(codes.counts(), [4, 2, 0]);
        let (out, c) = CategoryCopies::drop_copies_in_whole(&two).unwrap();
        assert_eq!((out.height(), c.dropped()), (6, 0));
        let one = stacked(frame(&rows[..2]));
        let (out, c) = CategoryCopies::drop_copies_in_whole(&one).unwrap();
        assert_eq!((out.height(), c.dropped(), c.keys_held()), (4, 0, 0));
    }

    #[test]
    fn aks_audit_and_aks_audit_admin_tables_count_once() {
        let row = |table: &str, id: &str, verb: &str| {
            format!(
                r#"{{"TimeGenerated":"2026-11-20T10:00:00Z","AuditId":"{id}","Stage":"ResponseComplete","Verb":"{verb}","UserAgent":"ua","Type":"{table}"}}"#
            )
        };
        let f = frame(&[
            row("AKSAudit", "a1", "update"),
            row("AKSAudit", "a2", "list"),
            row("AKSAuditAdmin", "a1", "update"),
        ]);
        let (out, c) = CategoryCopies::drop_copies_in_whole(&f).unwrap();
        assert_eq!((out.height(), c.dropped()), (2, 1));
    }

    /// The rule read plainly: in order, a candidate row is dropped when an earlier kept row
    /// of the other audit category has its (audit ID, stage).
    fn naive_kept(rows: &[(u8, u8, u8, bool)]) -> Vec<usize> {
        let mut kept = Vec::new();
        for (i, &(cat, id, stage, read)) in rows.iter().enumerate() {
            // ID 6 is the empty one: a row without an ID is never a copy.
            let candidate = cat != 0 && !read && id != 6;
            let copy = candidate
                && kept.iter().any(|&j: &usize| {
                    let (c, d, s, r) = rows[j];
                    c != 0 && !r && c != cat && d == id && s == stage
                });
            if !copy {
                kept.push(i);
            }
        }
        kept
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..Default::default() })]
        #[test]
        fn sharded_parallel_drops_equal_the_plain_rule(
            rows in proptest::collection::vec((0u8..3, 0u8..7, 0u8..2, proptest::bool::weighted(0.2)), 0..60),
            cut in 0usize..60,
            keyed in proptest::bool::ANY,
        ) {
            let cats = ["other", "kube-audit", "kube-audit-admin"];
            let stages = ["ResponseComplete", "ResponseStarted"];
            let lines: Vec<String> = rows
                .iter()
                .enumerate()
                .map(|(i, &(c, id, st, read))| {
                    // Half the IDs are UUIDs (packed keys), half text; one is empty (no ID).
                    let id = match id { 6 => String::new(), 3.. => format!("0a1b2c3d-0000-4000-8000-00000000000{id}"), _ => format!("id-{id}") };
                    let verb = if read { "list" } else { "patch" };
                    format!(
                        r#"{{"TimeGenerated":"2026-11-20T10:00:00Z","Category":"{}","log_s":"{{\"auditID\":\"{id}\",\"stage\":\"{}\",\"verb\":\"{verb}\",\"userAgent\":\"r{i}\"}}"}}"#,
                        cats[usize::from(c)], stages[usize::from(st)]
                    )
                })
                .collect();
            // Rows of category "other" are not audit rows: the reader counts and drops them.
            let audit: Vec<(u8, u8, u8, bool)> = rows.iter().copied().filter(|r| r.0 != 0).collect();
            let audit_lines: Vec<String> = lines.iter().zip(&rows).filter(|(_, r)| r.0 != 0).map(|(l, _)| l.clone()).collect();
            let want: Vec<String> = naive_kept(&audit).into_iter().map(|i| {
                let l = &audit_lines[i];
                l[l.find("userAgent").unwrap() + 14..].split('\\').next().unwrap().to_owned()
            }).collect();
            // Read in two frames cut anywhere: the same rows are kept.
            let cut = cut.min(audit_lines.len());
            let mut c = CategoryCopies::new();
            let mut got = Vec::new();
            for part in [&audit_lines[..cut], &audit_lines[cut..]] {
                if part.is_empty() { continue; }
                let f = if keyed { keyed_frame(part) } else { frame(part) };
                let out = c.drop_copies(&f).unwrap();
                let ua = out.column(Column::UserAgent).unwrap().as_materialized_series().cast(&pl::DataType::String).unwrap();
                got.extend(ua.str().unwrap().iter().map(|v| v.unwrap().to_owned()));
            }
            proptest::prop_assert_eq!(&got, &want);
            // The whole input as one frame: the same rows.
            if !audit_lines.is_empty() {
                let f = if keyed { keyed_frame(&audit_lines) } else { frame(&audit_lines) };
                let (out, _) = CategoryCopies::drop_copies_in_whole(&f).unwrap();
                let ua = out.column(Column::UserAgent).unwrap().as_materialized_series().cast(&pl::DataType::String).unwrap();
                let whole: Vec<String> = ua.str().unwrap().iter().map(|v| v.unwrap().to_owned()).collect();
                proptest::prop_assert_eq!(whole, want);
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..Default::default() })]
        /// Bounded by a horizon, over several frames: the rows kept are those of the rule
        /// with every key older than the horizon behind the newest time removed after each
        /// frame (here pruned lazily, and physically only now and then).
        #[test]
        fn bounded_drops_equal_forgetting_after_every_frame(
            frames in proptest::collection::vec(
                proptest::collection::vec((1u8..3, 0u8..4, 0u16..300), 0..8),
                1..6,
            ),
        ) {
            let horizon: i64 = 60; // minutes
            let mut seen: std::collections::HashMap<u8, (u8, u16)> = Default::default();
            let mut newest = 0u16;
            let mut copies = CategoryCopies::bounded(TimeSpan::from_nanos(horizon * 60 * 1_000_000_000));
            let cats = ["", "kube-audit", "kube-audit-admin"];
            for (n, rows) in frames.iter().enumerate() {
                newest = rows.iter().map(|r| r.2).fold(newest, u16::max);
                let mut want = Vec::new();
                for (i, &(cat, id, t)) in rows.iter().enumerate() {
                    let e = seen.entry(id).or_insert((0, t));
                    if e.0 & !cat != 0 {
                        continue;
                    }
                    e.0 |= cat;
                    e.1 = e.1.max(t);
                    want.push(format!("f{n}r{i}"));
                }
                seen.retain(|_, e| i64::from(e.1) + horizon >= i64::from(newest));
                if rows.is_empty() {
                    continue;
                }
                let lines: Vec<String> = rows.iter().enumerate().map(|(i, &(cat, id, t))| {
                    format!(
                        r#"{{"TimeGenerated":"2026-11-20T{:02}:{:02}:00Z","Category":"{}","log_s":"{{\"auditID\":\"id-{id}\",\"stage\":\"ResponseComplete\",\"verb\":\"patch\",\"userAgent\":\"f{n}r{i}\"}}"}}"#,
                        10 + t / 60, t % 60, cats[usize::from(cat)]
                    )
                }).collect();
                let out = copies.drop_copies(&frame(&lines)).unwrap();
                let ua = out.column(Column::UserAgent).unwrap().as_materialized_series().cast(&pl::DataType::String).unwrap();
                let got: Vec<String> = ua.str().unwrap().iter().map(|v| v.unwrap().to_owned()).collect();
                proptest::prop_assert_eq!(got, want, "frame {}", n);
                proptest::prop_assert_eq!(copies.keys_held(), seen.len());
            }
        }
    }

    #[test]
    fn admin_only_exports_are_recognised() {
        let mut c = CategoryCopies::new();
        c.drop_copies(&frame(&[diag(
            "10:00:00",
            "kube-audit-admin",
            "a",
            "create",
        )]))
        .unwrap();
        assert!(c.admin_only());
        c.drop_copies(&frame(&[diag("10:00:00", "kube-audit", "b", "get")]))
            .unwrap();
        assert!(!c.admin_only());
    }

    #[test]
    fn a_frame_without_the_key_columns_passes_through() {
        let text = diag("10:00:00", "kube-audit", "a1", "create")
            + "\n"
            + &diag("10:00:00", "kube-audit-admin", "a1", "create");
        let opts = ParseOptions::new().with_projection(Projection::of(&[Column::Verb]));
        let (f, _) = AuditFrame::from_slice(text.as_bytes(), &opts).unwrap();
        let mut c = CategoryCopies::new();
        assert_eq!(c.drop_copies(&f).unwrap().height(), 2);
    }
}

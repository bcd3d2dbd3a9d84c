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

use std::collections::HashMap;

use polars::prelude as pl;
use polars::prelude::NewChunkedArray;

use crate::schema::{Column, Projection};
use crate::time::TimeSpan;
use crate::{AuditFrame, Result};

/// The two audit categories, as the `category` column holds them.
const KUBE_AUDIT: &str = "kube-audit";
const KUBE_AUDIT_ADMIN: &str = "kube-audit-admin";

/// The columns [`CategoryCopies`] reads; a frame without them is passed through unchanged.
pub const COPY_KEY_COLUMNS: [Column; 5] = [
    Column::AuditId,
    Column::Stage,
    Column::Category,
    Column::Verb,
    Column::TimeGenerated,
];

/// Which audit categories a key was seen under (bits) and its latest time.
#[derive(Clone, Copy)]
struct Seen {
    categories: u8,
    time: i64,
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
#[derive(Default)]
pub struct CategoryCopies {
    seen: HashMap<(Box<str>, Box<str>), Seen>,
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
            newest: i64::MIN,
            ..CategoryCopies::default()
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

    /// Keys held now (for bounded-memory checks).
    pub fn keys_held(&self) -> usize {
        self.seen.len()
    }

    /// `frame` without the rows that copy a row seen before under the other audit category.
    /// A frame lacking any of [`COPY_KEY_COLUMNS`] comes back unchanged.
    pub fn drop_copies(&mut self, frame: &AuditFrame) -> Result<AuditFrame> {
        let projection = frame.projection();
        if !COPY_KEY_COLUMNS.iter().all(|&c| projection.contains(c)) {
            return Ok(frame.clone());
        }
        let strings = |col: Column| -> Result<pl::StringChunked> {
            let s = frame.column(col)?.as_materialized_series();
            Ok(s.cast(&pl::DataType::String)?.str()?.clone())
        };
        let category = strings(Column::Category)?;
        let audit_id = strings(Column::AuditId)?;
        let stage = strings(Column::Stage)?;
        let verb = strings(Column::Verb)?;
        let time = frame
            .column(Column::TimeGenerated)?
            .as_materialized_series();
        let time = time.to_physical_repr();
        let time = time.i64()?;

        let mut keep = Vec::with_capacity(frame.height());
        let mut dropped_here = 0u64;
        let rows = category
            .iter()
            .zip(audit_id.iter())
            .zip(stage.iter())
            .zip(verb.iter())
            .zip(time.iter());
        for ((((cat, id), stage), verb), time) in rows {
            let bit = match cat {
                Some(KUBE_AUDIT) => 1u8,
                Some(KUBE_AUDIT_ADMIN) => 2u8,
                _ => 0,
            };
            match bit {
                1 => self.kube_audit_rows += 1,
                2 => self.admin_rows += 1,
                _ => {}
            }
            let time = time.unwrap_or(i64::MIN);
            self.newest = self.newest.max(time);
            // Reads are never in the admin category, so they cannot have a copy.
            let read = matches!(verb, Some("get" | "list" | "watch"));
            let (Some(id), false, false) = (id.filter(|i| !i.is_empty()), bit == 0, read) else {
                keep.push(true);
                continue;
            };
            let key = (Box::from(id), Box::from(stage.unwrap_or("")));
            let seen = self.seen.entry(key).or_insert(Seen {
                categories: 0,
                time,
            });
            if seen.categories & !bit != 0 {
                keep.push(false);
                dropped_here += 1;
            } else {
                seen.categories |= bit;
                seen.time = seen.time.max(time);
                keep.push(true);
            }
        }
        self.dropped += dropped_here;
        if let Some(horizon) = self.horizon {
            let oldest = self.newest.saturating_sub(horizon);
            self.seen.retain(|_, s| s.time >= oldest);
        }
        if dropped_here == 0 {
            return Ok(frame.clone());
        }
        let mask = pl::BooleanChunked::from_slice("keep".into(), &keep);
        frame.filter_rows(&mask)
    }
}

/// `projection` with the columns [`CategoryCopies`] reads.
pub fn with_copy_key_columns(projection: Projection) -> Projection {
    COPY_KEY_COLUMNS.iter().fold(projection, |p, &c| p.with(c))
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

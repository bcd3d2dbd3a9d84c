//! Whether a set of files can hold one request under both audit categories: what decides
//! if a read must parse the columns that [`auditframe::copies::CategoryCopies`] keys on.

use std::io::Read;
use std::path::PathBuf;

/// How much of a plain file is sniffed for its shape.
const PEEK: u64 = 256 << 10;

/// Whether `files` may hold the same request under both audit categories (`kube-audit` and
/// `kube-audit-admin`, or `AKSAudit` and `AKSAuditAdmin`). No when every file is either a
/// storage-export blob of one category's container (`insights-logs-kube-audit/…`; Azure
/// writes each category to its own) with no `kube-audit-admin` blob among them, or a plain
/// file whose first records sniff as native `Event`s or an `EventList` (no category field
/// exists there). stdin (`-`), pipes (never read here: their bytes are the reader's), an
/// empty list and unreadable files count as may (a reader then reports the file by name). An admin container alone counts as may: the rows' categories
/// tell an admin-only export.
///
/// ```
/// use std::path::PathBuf;
/// let dir = std::env::temp_dir().join(format!("af-categories-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let native = dir.join("audit.log");
/// std::fs::write(&native, br#"{"kind":"Event","verb":"get","stage":"ResponseComplete"}"#)?;
/// assert!(!auditframe_ndjson::may_hold_categories(&[native.clone()]));
/// let diag = dir.join("diag.json");
/// std::fs::write(&diag, br#"{"Category":"kube-audit","log_s":"{}"}"#)?;
/// assert!(auditframe_ndjson::may_hold_categories(&[native, diag]));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn may_hold_categories(files: &[PathBuf]) -> bool {
    if files.is_empty() || files.iter().any(|p| p.as_os_str() == "-") {
        return true;
    }
    let container = |f: &PathBuf| {
        f.components().find_map(|c| match c.as_os_str().to_str() {
            Some("insights-logs-kube-audit") => Some(1u8),
            Some("insights-logs-kube-audit-admin") => Some(2u8),
            _ => None,
        })
    };
    let mut containers = 0u8;
    for file in files {
        if let Some(c) = container(file) {
            containers |= c;
            continue;
        }
        // Only a regular file can be peeked at: the bytes read from a pipe (a FIFO, `<(zcat
        // …)`) would be gone for the reader.
        if !std::fs::metadata(file).is_ok_and(|m| m.is_file()) {
            return true;
        }
        let mut head = Vec::new();
        let read = std::fs::File::open(file).and_then(|f| f.take(PEEK).read_to_end(&mut head));
        if read.is_err() {
            return true;
        }
        let native = matches!(
            auditframe::decoder::sniff_input_shape(&head, auditframe::decoder::SNIFF_RECORDS),
            Some(auditframe::Shape::Native | auditframe::Shape::EventList)
        );
        if !native {
            return true;
        }
    }
    containers & 2 != 0
}

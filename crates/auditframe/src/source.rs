//! What every reader shares, so that a tool reads JSON exports and Parquet the same way: the
//! directory walk, the read report, progress, and the [`FrameSource`] trait that the
//! `auditframe-ndjson` and `auditframe-parquet` readers implement.
//!
//! ## Which files a directory stands for ([`walk`])
//! - A path named explicitly is always read, whatever its name.
//! - A directory is walked recursively; a file under it is read when its extension is one
//!   of the reader's (case-insensitive): `.json .ndjson .jsonl .log .txt .gz` for JSON
//!   exports, `.parquet .parq` for Parquet.
//! - Entries whose name starts with `.` are skipped, files and directories alike (editor
//!   swap files, `.git`, partial downloads such as `.PT1H.json.tmp`).
//! - Symbolic links to files are read; symbolic links to directories are not followed, so
//!   that a link cycle cannot loop a walk.
//! - The files come back sorted by path (byte order), so that rows keep a stable order and
//!   archive trees (`y=2026/m=11/d=20/h=10/m=00/PT1H.json`) read in time order.
//!
//! ```
//! use auditframe::source::{walk, JSON_EXTENSIONS};
//! let dir = std::env::temp_dir().join(format!("auditframe-walk-doc-{}", std::process::id()));
//! std::fs::create_dir_all(dir.join("h=11"))?;
//! std::fs::create_dir_all(dir.join(".cache"))?;
//! for f in ["h=11/PT1H.json", "h=10.json.gz", "notes.md", ".swap.json", ".cache/x.json"] {
//!     std::fs::write(dir.join(f), b"")?;
//! }
//! let files = walk(&dir, JSON_EXTENSIONS)?;
//! let names: Vec<_> = files.iter().map(|p| p.strip_prefix(&dir).unwrap().to_path_buf()).collect();
//! assert_eq!(names, [std::path::Path::new("h=10.json.gz"), std::path::Path::new("h=11/PT1H.json")]);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use crate::{AuditFrame, ParseReport, Projection, Shape};

/// Extensions of JSON exports read from directories (`.gz` is decompressed whatever it holds).
pub const JSON_EXTENSIONS: &[&str] = &["json", "ndjson", "jsonl", "log", "txt", "gz"];
/// Extensions of Parquet files read from directories.
pub const PARQUET_EXTENSIONS: &[&str] = &["parquet", "parq"];

/// A directory walk that failed: which path, and the I/O error.
#[derive(Debug)]
pub struct WalkError {
    /// The file or directory that could not be read.
    pub path: PathBuf,
    /// Why.
    pub source: std::io::Error,
}

impl fmt::Display for WalkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.source)
    }
}

impl std::error::Error for WalkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Whether a path's extension is one of `extensions` (case-insensitive).
pub fn has_extension(path: &Path, extensions: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| extensions.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// The files `path` stands for, by the rules of the [module docs](self).
pub fn walk(path: &Path, extensions: &[&str]) -> Result<Vec<PathBuf>, WalkError> {
    let err = |p: &Path| {
        let p = p.to_path_buf();
        move |source| WalkError { path: p, source }
    };
    let meta = std::fs::metadata(path).map_err(err(path))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(err(&dir))? {
            let entry = entry.map_err(err(&dir))?;
            let p = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            // `file_type` does not follow links: a linked directory stays a link.
            let ft = entry.file_type().map_err(err(&p))?;
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_symlink() {
                let target = std::fs::metadata(&p).map_err(err(&p))?;
                if target.is_file() && has_extension(&p, extensions) {
                    out.push(p);
                }
            } else if has_extension(&p, extensions) {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The layouts of audit tables auditframe reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TableLayout {
    /// The canonical frame's columns (`time_generated`, `verb`, …), as written by auditframe
    /// (`AuditFrame::to_record_batch`, the Parquet writer). Read column by column, without per-row work.
    Canonical,
    /// Log Analytics `AKSAudit` / `AKSAuditAdmin` columns (`TimeGenerated`, `Verb`,
    /// `ObjectRef`, …) whose dynamic columns are structs (maps for `Annotations`) or JSON
    /// text. Read as [`Shape::AksAudit`] rows.
    AksAudit,
    /// Native audit events flattened by a generic tool (DuckDB `read_json`, Spark): `verb`,
    /// `requestURI`, `stageTimestamp`, … with `user`, `objectRef`, `responseStatus` as
    /// structs (or JSON text, or flattened `objectRef.resource` / `objectRef_resource`
    /// columns) and timestamps as `Timestamp` of any unit or as text. Read as
    /// [`Shape::Native`] events.
    NativeEvents,
}

impl fmt::Display for TableLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TableLayout::Canonical => "canonical",
            TableLayout::AksAudit => "AKSAudit",
            TableLayout::NativeEvents => "native events",
        })
    }
}

/// What one input contributed to a read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputReport {
    /// The input's name: its path, `<stdin>`, or the caller's name for bytes in memory.
    pub name: String,
    /// The record shape it was read as (JSON inputs; `None` for an empty input or a table).
    pub shape: Option<Shape>,
    /// Bytes read: after decompression for JSON, the file size for Parquet.
    pub bytes: u64,
    /// Rows it produced.
    pub rows: u64,
    /// An I/O problem that ended the input early in lenient mode (e.g. a truncated `.gz`);
    /// the rows before it are kept.
    pub truncated: Option<String>,
    /// For a table (Parquet): its layout, row groups and the columns decoded.
    pub table: Option<TableReport>,
}

/// What a table input (Parquet) was and how much of it was decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableReport {
    /// The table layout recognised.
    pub layout: TableLayout,
    /// Row groups in the file.
    pub row_groups: usize,
    /// Row groups not decoded because their `time_generated` statistics lie outside the
    /// time window.
    pub row_groups_skipped: usize,
    /// Top-level columns decoded (projection pushdown), in file order.
    pub columns_read: Vec<String>,
}

/// The report of a read: the core parser's counts (rows, skips per reason, first errors)
/// over all inputs, plus one entry per input in read order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadReport {
    /// Over all inputs.
    pub parse: ParseReport,
    /// Per input, in read order.
    pub inputs: Vec<InputReport>,
}

impl ReadReport {
    /// Bytes read over all inputs.
    pub fn bytes(&self) -> u64 {
        self.inputs.iter().map(|i| i.bytes).sum()
    }

    /// Adds another read's report (inputs appended).
    pub fn merge(&mut self, other: ReadReport) {
        self.parse.merge(other.parse);
        self.inputs.extend(other.inputs);
    }
}

/// How far a read has come, reported after each block (JSON) or row group (Parquet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress<'a> {
    /// The input being read.
    pub input: &'a str,
    /// Bytes of this input read so far (after decompression; Parquet: `None`).
    pub bytes: Option<u64>,
    /// Row groups of this read decoded so far and in all (Parquet; JSON: `None`).
    pub row_groups: Option<(usize, usize)>,
    /// Rows built so far: of this input (JSON), of this read (Parquet).
    pub rows: u64,
}

/// A progress callback, shared across reader threads.
pub type ProgressFn = dyn Fn(&Progress<'_>) + Send + Sync;

/// A configured reader of some kind of input (JSON exports, Parquet…): whole into one frame,
/// or a frame at a time into partial aggregates. Front ends (the CLI, SQL, Python) hold a
/// `FrameSource` and need not know which kind they read.
///
/// ```
/// use std::path::PathBuf;
/// use auditframe::source::FrameSource;
/// use auditframe::{analysis, AnalysisOptions, Partial};
///
/// /// The guide's answers from any reader, a frame at a time (bounded memory).
/// fn top_agent<S: FrameSource>(source: &S, paths: &[PathBuf]) -> Result<Option<String>, S::Error> {
///     let opts = AnalysisOptions::default();
///     let mut acc = Partial::default();
///     source
///         .with_projection(opts.projection())
///         .for_each_frame(paths, &mut |frame, _| {
///             acc.merge(analysis::partial(&frame, &opts)?);
///             Ok(())
///         })?;
///     Ok(acc.finish(&opts)?.top.first().map(|t| t.key.clone()))
/// }
/// ```
pub trait FrameSource {
    /// The reader's error type (a bad record in strict mode converts from [`crate::Error`]).
    type Error: std::error::Error + Send + Sync + 'static + From<crate::Error>;

    /// Reads every input into one frame.
    fn read(&self, paths: &[PathBuf]) -> Result<(AuditFrame, ReadReport), Self::Error>;

    /// Calls `each` with one frame per block of the inputs (bounded memory), in input order.
    fn for_each_frame(
        &self,
        paths: &[PathBuf],
        each: &mut dyn FnMut(AuditFrame, &ParseReport) -> crate::Result<()>,
    ) -> Result<ReadReport, Self::Error>;

    /// The same reader, building only `projection`.
    fn with_projection(&self, projection: Projection) -> Self
    where
        Self: Sized;

    /// The files `paths` stand for (directories walked by this reader's extensions).
    fn files(&self, paths: &[PathBuf]) -> Result<Vec<PathBuf>, WalkError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_linked_directory_is_not_followed_but_a_linked_file_is() {
        let dir = std::env::temp_dir().join(format!("auditframe-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("real")).unwrap();
        std::fs::write(dir.join("real/a.json"), b"").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.join("real"), dir.join("loop")).unwrap();
            std::os::unix::fs::symlink(dir.join("real/a.json"), dir.join("b.json")).unwrap();
        }
        let files = walk(&dir, JSON_EXTENSIONS).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|p| p.strip_prefix(&dir).unwrap().display().to_string())
            .collect();
        if cfg!(unix) {
            assert_eq!(names, ["b.json", "real/a.json"]);
        }
        // A file named explicitly is read whatever its extension; a missing path is an error.
        assert_eq!(walk(&dir.join("real/a.json"), &[]).unwrap().len(), 1);
        let e = walk(&dir.join("missing"), JSON_EXTENSIONS).unwrap_err();
        assert!(e.to_string().contains("missing"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! The inputs of a run: JSON exports through `auditframe-ndjson`, or Parquet files through
//! `auditframe-parquet` — chosen by the paths, read whole or a frame at a time.

use std::path::{Path, PathBuf};

use auditframe::{AuditFrame, ParseReport};
use auditframe_ndjson::{InputReport, ReadReport};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The embedded default sample: 6000 AKSAudit rows over one hour (see testdata/README.md).
pub(crate) const DEFAULT_SAMPLE: &[u8] =
    include_bytes!("../../../testdata/default-sample.aks.json.gz");
pub(crate) const DEFAULT_SAMPLE_NAME: &str = "testdata/default-sample.aks.json.gz (embedded)";

/// A configured reader for the run's inputs.
pub(crate) enum Inputs {
    Json(auditframe_ndjson::ReaderBuilder),
    Parquet(auditframe_parquet::ReaderBuilder),
}

/// Whether a path is Parquet: a `.parquet` file, or a directory holding Parquet files.
fn is_parquet(p: &Path) -> bool {
    if p.is_dir() {
        return auditframe_parquet::collect_files(p).is_ok_and(|f| !f.is_empty());
    }
    auditframe_parquet::is_parquet_path(p)
}

/// Whether the paths are Parquet (all of them) or JSON (none of them); a mix is an error.
pub(crate) fn paths_are_parquet(paths: &[PathBuf]) -> Res<bool> {
    let parquet = paths.iter().filter(|p| is_parquet(p)).count();
    match parquet {
        0 => Ok(false),
        n if n == paths.len() => Ok(true),
        _ => Err("Parquet and JSON inputs mixed in one run: analyse them separately".into()),
    }
}

/// Bytes to reckon with for the stream-or-not decision: Parquet and gzip count at 10× their
/// size (what they expand to in memory is closer to that than to the file size).
pub(crate) fn estimated_bytes(p: &Path) -> u64 {
    let files = if is_parquet(p) {
        auditframe_parquet::collect_files(p).unwrap_or_default()
    } else {
        auditframe_ndjson::collect_files(p).unwrap_or_default()
    };
    files
        .iter()
        .map(|f| {
            let len = std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
            let packed = f.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"))
                || auditframe_parquet::is_parquet_path(f);
            if packed {
                len.saturating_mul(10)
            } else {
                len
            }
        })
        .fold(0, u64::saturating_add)
}

/// A Parquet read report in the JSON reader's terms (one input per file).
fn as_read_report(r: auditframe_parquet::ReadReport) -> ReadReport {
    ReadReport {
        inputs: r
            .files
            .iter()
            .map(|f| InputReport {
                name: f.path.display().to_string(),
                shape: r.parse.shape,
                bytes: f.bytes,
                rows: f.rows,
                truncated: None,
            })
            .collect(),
        parse: r.parse,
    }
}

impl Inputs {
    /// Reads everything into one frame (no paths: the embedded sample).
    pub(crate) fn read(&self, paths: &[PathBuf]) -> Res<(AuditFrame, ReadReport)> {
        Ok(match self {
            Inputs::Json(r) if paths.is_empty() => {
                r.read_slice(DEFAULT_SAMPLE, DEFAULT_SAMPLE_NAME)?
            }
            Inputs::Json(r) => r.read_paths(paths)?,
            Inputs::Parquet(r) => {
                let (frame, report) = r.read_paths(paths)?;
                (frame, as_read_report(report))
            }
        })
    }

    /// Calls `each` with a frame per 64 MiB block (JSON) or per ~1M rows of whole row groups
    /// (Parquet).
    pub(crate) fn for_each_frame(
        &self,
        paths: &[PathBuf],
        each: &mut dyn FnMut(AuditFrame, &ParseReport) -> auditframe::Result<()>,
    ) -> Res<ReadReport> {
        match self {
            Inputs::Json(r) => {
                let mut f = |frame, report: &ParseReport| {
                    each(frame, report).map_err(auditframe_ndjson::Error::Parse)
                };
                Ok(if paths.is_empty() {
                    r.for_each_frame_in(DEFAULT_SAMPLE, DEFAULT_SAMPLE_NAME, &mut f)?
                } else {
                    r.for_each_frame(paths, &mut f)?
                })
            }
            Inputs::Parquet(r) => {
                let report = r.for_each_frame(
                    paths,
                    auditframe_parquet::DEFAULT_FRAME_ROWS,
                    |frame, parse| each(frame, parse).map_err(auditframe_parquet::Error::Frame),
                )?;
                Ok(as_read_report(report))
            }
        }
    }

    /// The same reader, building only `projection`.
    pub(crate) fn with_projection(&self, projection: auditframe::Projection) -> Inputs {
        match self {
            Inputs::Json(r) => Inputs::Json(r.clone().projection(projection)),
            Inputs::Parquet(r) => Inputs::Parquet(r.clone().projection(projection)),
        }
    }
}

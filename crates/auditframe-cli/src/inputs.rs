//! The run's inputs as one reader, whatever they are: JSON exports (`auditframe-ndjson`),
//! Parquet (`auditframe-parquet`) — both [`FrameSource`]s — or the embedded sample.

use std::path::{Path, PathBuf};

use auditframe::source::{FrameSource, ReadReport};
use auditframe::{AuditFrame, ParseReport, Projection};

use crate::Res;

/// The embedded default sample: 6000 AKSAudit rows over one hour (see testdata/README.md).
pub(crate) const DEFAULT_SAMPLE: &[u8] =
    include_bytes!("../../../testdata/default-sample.aks.json.gz");
pub(crate) const DEFAULT_SAMPLE_NAME: &str = "testdata/default-sample.aks.json.gz (embedded)";

/// A [`FrameSource`] with its error boxed, so that a run holds any kind of reader.
pub(crate) trait Source {
    /// Reads everything into one frame.
    fn read(&self, paths: &[PathBuf]) -> Res<(AuditFrame, ReadReport)>;
    /// Calls `each` with a frame per block.
    fn for_each_frame(
        &self,
        paths: &[PathBuf],
        each: &mut dyn FnMut(AuditFrame, &ParseReport) -> auditframe::Result<()>,
    ) -> Res<ReadReport>;
    /// The same reader, building only `projection`.
    fn with_projection(&self, projection: Projection) -> Box<dyn Source>;
}

impl<S: FrameSource + 'static> Source for S {
    fn read(&self, paths: &[PathBuf]) -> Res<(AuditFrame, ReadReport)> {
        Ok(FrameSource::read(self, paths)?)
    }

    fn for_each_frame(
        &self,
        paths: &[PathBuf],
        each: &mut dyn FnMut(AuditFrame, &ParseReport) -> auditframe::Result<()>,
    ) -> Res<ReadReport> {
        Ok(FrameSource::for_each_frame(self, paths, each)?)
    }

    fn with_projection(&self, projection: Projection) -> Box<dyn Source> {
        Box::new(FrameSource::with_projection(self, projection))
    }
}

/// The embedded sample, read by a JSON reader when no path is given.
pub(crate) struct Embedded(pub auditframe_ndjson::ReaderBuilder);

impl Source for Embedded {
    fn read(&self, _: &[PathBuf]) -> Res<(AuditFrame, ReadReport)> {
        Ok(self.0.read_slice(DEFAULT_SAMPLE, DEFAULT_SAMPLE_NAME)?)
    }

    fn for_each_frame(
        &self,
        _: &[PathBuf],
        each: &mut dyn FnMut(AuditFrame, &ParseReport) -> auditframe::Result<()>,
    ) -> Res<ReadReport> {
        Ok(self
            .0
            .for_each_frame_in(DEFAULT_SAMPLE, DEFAULT_SAMPLE_NAME, |f, r| {
                each(f, r).map_err(auditframe_ndjson::Error::Parse)
            })?)
    }

    fn with_projection(&self, projection: Projection) -> Box<dyn Source> {
        Box::new(Embedded(self.0.clone().projection(projection)))
    }
}

fn is_parquet(p: &Path) -> bool {
    auditframe_parquet::is_parquet_input(p)
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
        auditframe_parquet::walk(p).unwrap_or_default()
    } else {
        auditframe_ndjson::walk(p).unwrap_or_default()
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

//! [`FrameSource`]: this reader as any front end holds it.

use std::path::PathBuf;

use auditframe::source::{FrameSource, ReadReport, WalkError};
use auditframe::{AuditFrame, ParseReport, Projection};

use crate::{Error, ReaderBuilder, Result};

impl FrameSource for ReaderBuilder {
    type Error = Error;

    fn read(&self, paths: &[PathBuf]) -> Result<(AuditFrame, ReadReport)> {
        self.read_paths(paths)
    }

    fn for_each_frame(
        &self,
        paths: &[PathBuf],
        each: &mut dyn FnMut(AuditFrame, &ParseReport) -> auditframe::Result<()>,
    ) -> Result<ReadReport> {
        ReaderBuilder::for_each_frame(self, paths, |frame, parse| {
            each(frame, parse).map_err(Error::Parse)
        })
    }

    fn with_projection(&self, projection: Projection) -> ReaderBuilder {
        self.clone().projection(projection)
    }

    /// `-` (stdin) stays as is.
    fn files(&self, paths: &[PathBuf]) -> std::result::Result<Vec<PathBuf>, WalkError> {
        crate::expand_paths(paths)
    }
}

//! # auditframe for Python (`auditframe._native`)
//!
//! The extension module behind the `auditframe` Python package (`python/auditframe`): reads
//! audit exports with the Rust readers into an [`AuditFrame`](auditframe::AuditFrame) held by
//! a `Frame`, hands frames and result tables to Python through the Arrow
//! PyCapsule interface (`__arrow_c_stream__`, no copy, no pyarrow needed), and returns the
//! analyses and diagnoses in the JSON contract of `auditframe analyze|diagnose --format json`
//! (built by the core's serialisers, so the two cannot differ).
//!
//! Every call releases the GIL while it works and can be interrupted with Ctrl-C
//! (module `interrupt`); errors become Python exceptions carrying the file, line and reason
//! (module `errors`). The typed, documented API is the Python package's; this module is its engine.
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod api;
mod arrow_export;
mod errors;
mod frame;
mod inputs;
mod interrupt;

use pyo3::prelude::*;

/// The module: classes, functions and exceptions.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<frame::Frame>()?;
    m.add_class::<arrow_export::Table>()?;
    m.add_function(wrap_pyfunction!(api::read, m)?)?;
    m.add_function(wrap_pyfunction!(api::analyze, m)?)?;
    m.add_function(wrap_pyfunction!(api::diagnose, m)?)?;
    m.add_function(wrap_pyfunction!(api::convert, m)?)?;
    m.add_function(wrap_pyfunction!(api::column_names, m)?)?;
    errors::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

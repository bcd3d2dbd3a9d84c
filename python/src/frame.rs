//! `Frame`: a canonical audit frame read by [`crate::api::read`], held in Rust and exported
//! to Python through the Arrow PyCapsule interface, with the report of its read.

use auditframe::AuditFrame;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

use crate::arrow_export::Batches;
use crate::errors::Failure;

/// Audit events in auditframe's canonical schema (one row per event; see the README's
/// column list), with the report of the read that made them. Pass it to `polars.DataFrame`,
/// `pyarrow.table` or DuckDB (Arrow PyCapsule interface), or back to `analyze` /
/// `diagnose` without reading again.
#[pyclass(module = "auditframe._native", frozen)]
pub struct Frame {
    pub(crate) frame: AuditFrame,
    /// The read's fields of the JSON contract.
    pub(crate) report: serde_json::Map<String, serde_json::Value>,
}

impl Frame {
    fn batches(&self) -> PyResult<Batches> {
        let batches = self
            .frame
            .to_record_batches()
            .map_err(|e| Failure::Core(e).into_py())?;
        let schema = match batches.first() {
            Some(b) => b.schema(),
            None => {
                std::sync::Arc::new(auditframe::arrow::canonical_schema(self.frame.projection()))
            }
        };
        Ok(Batches { schema, batches })
    }
}

#[pymethods]
impl Frame {
    /// Exports the rows as an Arrow C stream (the Arrow PyCapsule interface): no copy.
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema;
        self.batches()?.stream_capsule(py)
    }

    /// Exports the schema as an Arrow C schema.
    fn __arrow_c_schema__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        let schema = auditframe::arrow::canonical_schema(self.frame.projection());
        Batches {
            schema: std::sync::Arc::new(schema),
            batches: Vec::new(),
        }
        .schema_capsule(py)
    }

    fn __len__(&self) -> usize {
        self.frame.height()
    }

    /// Column names, in the canonical order.
    #[getter]
    fn columns(&self) -> Vec<String> {
        self.frame
            .projection()
            .columns()
            .map(|c| c.name().to_owned())
            .collect()
    }

    /// The read's report in the JSON contract (`rows_read`, `skipped`,
    /// `skipped_by_reason`, `errors`, …), serialised.
    #[getter]
    fn report_json(&self) -> String {
        serde_json::Value::Object(self.report.clone()).to_string()
    }

    /// Earliest and latest `time_generated`, in ns since the epoch (`None` when empty).
    #[getter]
    fn time_range(&self) -> Option<(i64, i64)> {
        self.frame.time_range()
    }
}

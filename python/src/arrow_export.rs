//! Arrow out to Python through the Arrow PyCapsule interface: a stream capsule
//! (`arrow_array_stream`) over record batches, and a schema capsule (`arrow_schema`). Any
//! consumer of the interface — polars, pyarrow, DuckDB, pandas via pyarrow — imports them
//! without a copy; auditframe itself needs no Python Arrow library.

use std::ffi::CString;

use arrow_array::ffi::FFI_ArrowSchema;
use arrow_array::ffi_stream::FFI_ArrowArrayStream;
use arrow_array::{RecordBatch, RecordBatchIterator};
use arrow_schema::SchemaRef;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

use crate::errors::Failure;

/// Record batches sharing one schema.
#[derive(Debug, Clone)]
pub(crate) struct Batches {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

impl Batches {
    /// A capsule holding an `ArrowArrayStream` over the batches. The consumer moves the
    /// stream out and marks it released; if nobody does, dropping the capsule releases it.
    ///
    /// `requested_schema` is accepted as the protocol asks and not applied: the schema is
    /// the canonical one (consumers cast on their side).
    pub fn stream_capsule<'py>(self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        let reader = RecordBatchIterator::new(self.batches.into_iter().map(Ok), self.schema);
        let stream = FFI_ArrowArrayStream::new(Box::new(reader));
        PyCapsule::new(py, stream, Some(capsule_name("arrow_array_stream")?))
    }

    /// A capsule holding the `ArrowSchema` of the batches.
    pub fn schema_capsule<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        let schema = FFI_ArrowSchema::try_from(self.schema.as_ref())
            .map_err(|e| Failure::Arrow(e.to_string()).into_py())?;
        PyCapsule::new(py, schema, Some(capsule_name("arrow_schema")?))
    }

    /// Rows over all batches.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// Column names, in order.
    pub fn column_names(&self) -> Vec<String> {
        self.schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }
}

fn capsule_name(name: &str) -> PyResult<CString> {
    CString::new(name).map_err(|e| Failure::Arrow(e.to_string()).into_py())
}

/// An Arrow table (one of an analysis's result tables): exported with
/// `__arrow_c_stream__`, so `polars.DataFrame(t)`, `pyarrow.table(t)` or DuckDB read it.
#[pyclass(module = "auditframe._native", frozen)]
pub struct Table {
    data: Batches,
}

impl Table {
    /// A table of one batch.
    pub(crate) fn new(batch: RecordBatch) -> Table {
        Table {
            data: Batches {
                schema: batch.schema(),
                batches: vec![batch],
            },
        }
    }
}

#[pymethods]
impl Table {
    /// Exports the table as an Arrow C stream (the Arrow PyCapsule interface).
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema;
        self.data.clone().stream_capsule(py)
    }

    /// Exports the table's schema as an Arrow C schema.
    fn __arrow_c_schema__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        self.data.schema_capsule(py)
    }

    fn __len__(&self) -> usize {
        self.data.num_rows()
    }

    /// Column names, in order.
    #[getter]
    fn columns(&self) -> Vec<String> {
        self.data.column_names()
    }

    fn __repr__(&self) -> String {
        format!(
            "Table({} rows; {})",
            self.data.num_rows(),
            self.data.column_names().join(", ")
        )
    }
}

//! The fuzz targets' checks: `checks` (records, timestamps, the NDJSON splitter; replayed by
//! `crates/auditframe-ndjson/tests/fuzz_corpus.rs`) and `parquet_checks` (the Parquet reader;
//! replayed by `crates/auditframe-parquet/tests/fuzz_corpus.rs`).

mod checks;
mod parquet_checks;

pub use checks::*;
pub use parquet_checks::*;

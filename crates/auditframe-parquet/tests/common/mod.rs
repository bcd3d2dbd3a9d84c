//! Helpers shared by the Parquet crate's tests.
#![allow(dead_code)]

use std::path::PathBuf;

use auditframe::polars::prelude::{DataType, Int64Chunked, IntoSeries, Series, TimeUnit};
use auditframe::AuditFrame;

pub fn testdata(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(rel)
}

/// A fresh temporary directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("auditframe-parquet-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Reads a testdata input with the NDJSON reader (strict).
pub fn ndjson(rel: &str) -> AuditFrame {
    auditframe_ndjson::ReaderBuilder::new()
        .strict(true)
        .read_path(testdata(rel))
        .unwrap()
        .0
}

/// A frame's columns for comparison: categoricals as strings (dictionaries differ between
/// frames), timestamps as ns, optionally truncated to `trunc_ns`.
pub fn columns(f: &AuditFrame, skip: &[&str], trunc_ns: i64) -> Vec<Series> {
    f.dataframe()
        .columns()
        .iter()
        .filter(|c| !skip.contains(&c.name().as_str()))
        .map(|c| {
            let s = c.as_materialized_series();
            match s.dtype() {
                DataType::Categorical(..) => s.cast(&DataType::String).unwrap(),
                DataType::Datetime(TimeUnit::Nanoseconds, _) => {
                    let ns = s.to_physical_repr();
                    let v: Int64Chunked = ns
                        .i64()
                        .unwrap()
                        .iter()
                        .map(|t| t.map(|t| t - t.rem_euclid(trunc_ns)))
                        .collect();
                    v.with_name(s.name().clone()).into_series()
                }
                _ => s.clone(),
            }
        })
        .collect()
}

/// Asserts that two frames hold the same columns, types and values.
pub fn assert_same(a: &AuditFrame, b: &AuditFrame, skip: &[&str], trunc_ns: i64, what: &str) {
    assert_eq!(a.height(), b.height(), "{what}: heights");
    assert_eq!(a.projection(), b.projection(), "{what}: columns");
    for (x, y) in a.dataframe().columns().iter().zip(b.dataframe().columns()) {
        let same_kind = std::mem::discriminant(x.dtype()) == std::mem::discriminant(y.dtype());
        assert!(
            same_kind,
            "{what}: `{}` is {} vs {}",
            x.name(),
            x.dtype(),
            y.dtype()
        );
    }
    for (x, y) in columns(a, skip, trunc_ns)
        .iter()
        .zip(columns(b, skip, trunc_ns))
    {
        assert!(
            x.equals_missing(&y),
            "{what}: column `{}` differs:\n{x}\n{y}",
            x.name()
        );
    }
}

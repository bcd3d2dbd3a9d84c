//! Replays the committed inputs of the `parquet_reader` fuzz target (`fuzz/seeds/` and
//! `fuzz/regressions/`) through the target's own check, on stable Rust.

#[path = "../../../fuzz/src/parquet_checks.rs"]
mod parquet_checks;

use std::path::Path;

#[test]
fn parquet_reader_corpus() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut files = Vec::new();
    for dir in ["seeds/parquet_reader", "regressions/parquet_reader"] {
        if let Ok(entries) = std::fs::read_dir(fuzz.join(dir)) {
            files.extend(entries.map(|e| e.unwrap().path()));
        }
    }
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    for path in files {
        let Ok(bytes) = std::fs::read(&path) else {
            continue; // a fuzzer beside the test may be minimising the corpus
        };
        let r = std::panic::catch_unwind(|| parquet_checks::check_parquet(&bytes));
        assert!(r.is_ok(), "{} fails", path.display());
    }
}

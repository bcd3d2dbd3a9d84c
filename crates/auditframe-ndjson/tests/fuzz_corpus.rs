//! Replays the committed cargo-fuzz corpus (`fuzz/corpus/<target>/`) through the same checks
//! the fuzz targets run, on stable Rust: every input a fuzzer found interesting, and every
//! crash it ever found (kept as `regress-*` files), stays checked in CI.

#[path = "../../../fuzz/src/checks.rs"]
#[allow(dead_code)]
mod checks;

use std::path::{Path, PathBuf};

use auditframe::Shape;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "empty corpus {}", dir.display());
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

fn replay(target: &str, check: impl Fn(&[u8])) {
    for (path, bytes) in corpus(target) {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&bytes)));
        assert!(result.is_ok(), "{target}: {} fails", path.display());
    }
}

#[test]
fn shape_targets() {
    for (target, shape) in [
        ("shape_native", Shape::Native),
        ("shape_event_list", Shape::EventList),
        ("shape_aks_audit", Shape::AksAudit),
        ("shape_azure_diagnostics", Shape::AzureDiagnostics),
        ("shape_archive", Shape::Archive),
        ("shape_event_hub", Shape::EventHub),
    ] {
        replay(target, |b| checks::check_shape(b, shape));
    }
}

#[test]
fn timestamp_target() {
    replay("timestamp", checks::check_timestamp);
}

#[test]
fn ndjson_splitter_target() {
    replay("ndjson_splitter", checks::check_splitter);
}

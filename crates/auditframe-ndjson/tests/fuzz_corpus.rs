//! Replays the committed cargo-fuzz inputs (`fuzz/seeds/<target>/`) through the same checks
//! the fuzz targets run, on stable Rust: every input a fuzzer found interesting, and every
//! crash it ever found (kept in `fuzz/regressions/`), stays checked in CI.

#[path = "../../../fuzz/src/checks.rs"]
#[allow(dead_code)]
mod checks;

use std::path::{Path, PathBuf};

use auditframe::Shape;

/// The committed inputs of a target: seeds (hand-picked inputs plus the smallest of each
/// campaign's minimised corpus, `fuzz/seeds/<target>`) and the inputs of every crash found
/// (`fuzz/regressions/<target>`). The working corpus (`fuzz/corpus`) is not committed.
fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let dir = fuzz.join("seeds").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    if let Ok(regressions) = std::fs::read_dir(fuzz.join("regressions").join(target)) {
        files.extend(regressions.map(|e| e.unwrap().path()));
    }
    files.sort();
    assert!(!files.is_empty(), "empty corpus {}", dir.display());
    files
        .into_iter()
        // A fuzzer running beside the test may remove files as it minimises the corpus.
        .filter_map(|p| match std::fs::read(&p) {
            Ok(bytes) => Some((p, bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => panic!("{}: {e}", p.display()),
        })
        .collect()
}

fn replay(target: &str, check: impl Fn(&[u8])) {
    for (path, bytes) in corpus(target) {
        if std::env::var_os("FUZZ_REPLAY_VERBOSE").is_some() {
            eprintln!("{target}: {}", path.display());
        }
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

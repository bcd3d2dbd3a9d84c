//! Replays the committed inputs of the `parquet_reader` fuzz target (`fuzz/seeds/` and
//! `fuzz/regressions/`) through the target's own check, on stable Rust.

#[path = "../../../fuzz/src/parquet_checks.rs"]
mod parquet_checks;

use std::path::Path;

/// The Parquet decoder's own panics on corrupt input are caught and reported by the reader;
/// keep them off the test output (any other panic is printed as usual).
fn quiet_decoder_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_decoder = info
                .location()
                .is_some_and(|l| l.file().contains("/parquet-") || l.file().contains("/arrow-"));
            if !in_decoder {
                default(info);
            }
        }));
    });
}

#[test]
fn parquet_reader_corpus() {
    quiet_decoder_panics();
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

/// Inputs on which the `parquet` crate (58.4.1) panics — an assertion on a bit width, a
/// division by zero, a negative column start, out-of-bounds indexing, unknown logical types —
/// found by the `parquet_reader` campaign: each is an error naming the input, never a crash.
#[test]
fn decoder_panics_become_errors() {
    quiet_decoder_panics();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions/parquet_reader");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if !path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("decoder-panic-")
        {
            continue;
        }
        n += 1;
        let bytes = std::fs::read(&path).unwrap();
        match auditframe_parquet::ReaderBuilder::new().read_bytes(bytes, "corrupt.parquet") {
            Err(e @ auditframe_parquet::Error::Parquet { .. }) => {
                let msg = e.to_string();
                assert!(
                    msg.starts_with("corrupt.parquet: not readable as Parquet"),
                    "{}: {msg}",
                    path.display()
                );
            }
            other => panic!("{}: {:?}", path.display(), other.map(|(f, _)| f.height())),
        }
    }
    assert!(n >= 10, "{n} decoder-panic inputs");
}

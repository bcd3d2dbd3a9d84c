#![no_main]
//! Any bytes as a Parquet file (seeded with small canonical, DuckDB and JSON-text tables).
//!
//! The reader catches the Parquet decoder's panics on corrupt input by design and reports
//! them as errors; libfuzzer-sys's panic hook would abort on them before the reader's
//! `catch_unwind` runs, so the hook is replaced by a silent one. A panic that escapes the
//! reader still unwinds into libfuzzer-sys's own `catch_unwind`, which aborts: a crash.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    auditframe_fuzz::check_parquet(data);
});

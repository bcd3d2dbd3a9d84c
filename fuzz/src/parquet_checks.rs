//! The property the `parquet_reader` fuzz target checks, shared with the seed-corpus replay
//! test (`crates/auditframe-parquet/tests/fuzz_corpus.rs`).
//!
//! For any bytes: reading them as a Parquet file returns a frame or an error naming the
//! input — never a panic that escapes the reader (the Parquet decoder's own panics are caught
//! and reported as errors by design). What reads strictly reads the same leniently; what
//! reads at all survives a canonical write and re-read with its rows and columns.

use auditframe_parquet::{Error, ReaderBuilder, WriterBuilder};

const NAME: &str = "fuzz.parquet";

pub fn check_parquet(data: &[u8]) {
    let lenient = ReaderBuilder::new().read_bytes(data.to_vec(), NAME);
    let strict = ReaderBuilder::new()
        .strict(true)
        .read_bytes(data.to_vec(), NAME);
    for r in [&lenient, &strict] {
        if let Err(e) = r {
            let msg = e.to_string();
            assert!(
                msg.starts_with(NAME),
                "error does not name the input: {msg}"
            );
            assert!(!matches!(e, Error::Io { .. }), "I/O error on bytes: {msg}");
        }
    }
    match (&lenient, &strict) {
        (Ok((frame, report)), strict) => {
            assert_eq!(report.parse.rows, frame.height() as u64);
            assert_eq!(report.inputs.len(), 1);
            if let Ok((s, _)) = strict {
                assert_eq!(
                    s.height(),
                    frame.height(),
                    "strict and lenient frames differ"
                );
            } else {
                assert!(
                    report.parse.skipped_total() > 0,
                    "strict failed where lenient skipped nothing"
                );
            }
            let mut buf = Vec::new();
            WriterBuilder::new()
                .write(frame, &mut buf, NAME)
                .unwrap_or_else(|e| panic!("writing a read frame failed: {e}"));
            let (back, _) = ReaderBuilder::new()
                .strict(true)
                .read_bytes(buf, NAME)
                .unwrap_or_else(|e| panic!("re-reading a written frame failed: {e}"));
            assert_eq!(back.height(), frame.height());
            assert_eq!(back.projection(), frame.projection());
            assert_eq!(back.control_plane_logs(), frame.control_plane_logs());
        }
        (Err(_), Ok(_)) => panic!("strict read succeeded where lenient failed"),
        (Err(_), Err(_)) => {}
    }
}

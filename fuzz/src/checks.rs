//! The properties the fuzz targets check, shared with the seed-corpus replay test
//! (`crates/auditframe-ndjson/tests/fuzz_corpus.rs`), so that CI checks the committed corpus
//! on stable Rust without libFuzzer.
//!
//! Every check must hold for *any* input bytes: a failure is a bug in auditframe.

use auditframe::decoder::{sniff_input_shape, strip_bom, FrameBuilder, Framing};
use auditframe::polars::prelude::{DataFrame, DataType};
use auditframe::time::{format_timestamp, parse_timestamp, parse_timestamp_bytes};
use auditframe::{AuditFrame, ParseOptions, ParseReport, Shape};

/// Reads `data` as `shape`, leniently and strictly:
/// - a lenient read never fails;
/// - a strict read succeeds exactly when the lenient read skipped nothing, with the same frame;
/// - otherwise the strict error is the lenient read's first error.
pub fn check_shape(data: &[u8], shape: Shape) {
    let lenient = ParseOptions::new().with_shape(Some(shape));
    let (frame, report) = match AuditFrame::from_slice(data, &lenient) {
        Ok(ok) => ok,
        Err(e) => panic!("lenient read failed: {e}"),
    };
    assert_eq!(report.rows, frame.height() as u64);
    assert!(report.errors.len() as u64 <= report.skipped_total());
    match AuditFrame::from_slice(data, &lenient.clone().with_strict(true)) {
        Ok((strict_frame, strict_report)) => {
            assert_eq!(
                report.skipped_total(),
                0,
                "strict accepted what lenient skipped"
            );
            assert_eq!(strict_report, report);
            assert_frames_equal(frame.dataframe(), strict_frame.dataframe());
        }
        Err(e) => {
            assert!(
                report.skipped_total() > 0,
                "strict failed ({e}) on a clean input"
            );
            assert_eq!(
                report.errors.first().map(|x| x.to_string()),
                Some(e.to_string()),
                "strict error differs from the first lenient error"
            );
        }
    }
}

/// Parses `data` as a timestamp; what parses formats and parses back to the same instant,
/// and the `&str` and `&[u8]` parsers agree.
pub fn check_timestamp(data: &[u8]) {
    let parsed = parse_timestamp_bytes(data);
    if let Ok(s) = std::str::from_utf8(data) {
        assert_eq!(parse_timestamp(s), parsed);
    }
    if let Ok(ns) = parsed {
        let text = format_timestamp(ns);
        assert_eq!(parse_timestamp(&text), Ok(ns), "{text} does not round-trip");
    }
}

/// Splits line-framed `data` into pieces (sizes taken from the first byte) as the NDJSON
/// reader does, parses them separately and appends them: the frame and report equal one
/// parse of the whole input, and so does the reader's own (gzip-sniffing, parallel) path.
pub fn check_splitter(data: &[u8]) {
    let Some((&first, _)) = data.split_first() else {
        return;
    };
    let target = usize::from(first % 64) + 1;
    let opts = ParseOptions::new();
    // The reader splits only line-framed input into chunks (arrays and documents are framed
    // by the value splitter instead): the same condition here.
    let line_framed = Framing::detect(strip_bom(data)) == Framing::Lines;
    let shape = sniff_input_shape(data, usize::MAX);
    let source: std::sync::Arc<str> = "fuzz".into();
    let builder = || {
        let mut b = FrameBuilder::new(&opts, Some(source.clone()));
        if let Some(s) = shape {
            b.set_shape(s);
        }
        b
    };
    if line_framed {
        let mut whole = builder();
        let _ = whole.push_lines(data);
        let (whole_frame, whole_report) = finish(whole);

        let mut joined = builder();
        for piece in auditframe_ndjson::split_on_lines(data, target) {
            let mut b = builder();
            let _ = b.push_lines(piece);
            joined.append(b);
        }
        let (joined_frame, joined_report) = finish(joined);
        assert_eq!(
            joined_report, whole_report,
            "split at {target} changed the report"
        );
        assert_frames_equal(whole_frame.dataframe(), joined_frame.dataframe());
    }

    let reader = auditframe_ndjson::ReaderBuilder::new().chunk_bytes(0);
    match reader.read_slice(data, "fuzz") {
        Ok((frame, report)) => {
            assert_eq!(report.parse.rows, frame.height() as u64);
            let direct = AuditFrame::from_slice(data, &opts);
            if let (Ok((f, r)), false) = (direct, data.starts_with(&[0x1f, 0x8b])) {
                assert_eq!(r.rows, report.parse.rows);
                assert_eq!(r.skipped, report.parse.skipped);
                assert_frames_equal(f.dataframe(), frame.dataframe());
            }
        }
        Err(e) => panic!("lenient reader failed: {e}"),
    }
}

fn finish(b: FrameBuilder) -> (AuditFrame, ParseReport) {
    match b.finish() {
        Ok(ok) => ok,
        Err(e) => panic!("lenient finish failed: {e}"),
    }
}

/// Frames are equal when every column holds the same values (categoricals compared as
/// strings: two builders may number their categories differently).
pub fn assert_frames_equal(a: &DataFrame, b: &DataFrame) {
    assert_eq!(a.shape(), b.shape());
    for (x, y) in a.columns().iter().zip(b.columns()) {
        assert_eq!(x.name(), y.name());
        let (x, y) = match (x.dtype(), y.dtype()) {
            (DataType::Categorical(..), _) | (_, DataType::Categorical(..)) => (
                x.cast(&DataType::String).expect("cast categorical"),
                y.cast(&DataType::String).expect("cast categorical"),
            ),
            _ => (x.clone(), y.clone()),
        };
        assert!(
            x.as_materialized_series()
                .equals_missing(y.as_materialized_series()),
            "column {} differs",
            x.name()
        );
    }
}

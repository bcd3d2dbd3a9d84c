//! Pins the crate root: the items a user meets first. Adding, removing or renaming one is an
//! API change and must show up here (and in the README's *Library* section).

/// Every item of the root, by kind; the `use` makes the build fail when one disappears.
#[allow(unused_imports)]
use auditframe::{
    analysis, analyze, copies, decoder, diagnose, generate, polars, source, storage, time,
    Analysis, AnalysisOptions, AuditFrame, Column, ColumnKind, DiagnoseOptions, DiagnosisPartial,
    DiagnosisReport, Error, ErrorKind, GroupKey, LogLine, ParseOptions, ParseReport, Partial,
    Position, Projection, Result, Shape, SkipReason, TimeSpan, TimeWindow, Timestamp,
};

/// The root's `pub mod` and `pub use` names, read from `src/lib.rs`.
fn root_items() -> Vec<String> {
    let lib = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/lib.rs"))
        .expect("src/lib.rs");
    let mut items = Vec::new();
    let mut in_use = false;
    let mut text = String::new();
    for line in lib.lines().map(str::trim) {
        if let Some(m) = line.strip_prefix("pub mod ") {
            items.push(m.trim_end_matches(';').to_owned());
        } else if line.starts_with("pub use ") || in_use {
            text.push_str(line);
            text.push(' ');
            in_use = !line.ends_with(';');
        }
    }
    for stmt in text.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        let stmt = stmt.trim_start_matches("pub use ");
        match stmt.split_once('{') {
            Some((_, names)) => items.extend(
                names
                    .trim_end_matches('}')
                    .split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned),
            ),
            None => items.push(stmt.rsplit("::").next().unwrap_or(stmt).to_owned()),
        }
    }
    items.sort();
    items
}

#[test]
fn the_crate_root_is_pinned() {
    let mut want = vec![
        // modules
        "analysis",
        "arrow",
        "copies",
        "decoder",
        "diagnose",
        "generate",
        "source",
        "storage",
        "time",
        // the frame and its schema
        "AuditFrame",
        "LogLine",
        "Column",
        "ColumnKind",
        "Projection",
        "polars",
        // parsing
        "ParseOptions",
        "ParseReport",
        "Shape",
        // errors
        "Error",
        "ErrorKind",
        "Position",
        "Result",
        "SkipReason",
        // analyses
        "analyze",
        "Analysis",
        "AnalysisOptions",
        "GroupKey",
        "Partial",
        "TimeWindow",
        // diagnoses
        "diagnose",
        "DiagnoseOptions",
        "DiagnosisPartial",
        "DiagnosisReport",
        // typed time in results
        "TimeSpan",
        "Timestamp",
    ];
    want.sort_unstable();
    assert_eq!(root_items(), want);
    // A small root: what a user needs, not the readers' machinery.
    assert!(want.len() <= 35);
}

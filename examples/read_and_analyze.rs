//! Read an export (a file, `.gz` or directory; the embedded sample without arguments) and
//! run the guide's three queries with the library, no CLI.
//!
//! ```text
//! cargo run --release -p auditframe-examples --example read_and_analyze -- export.json.gz
//! ```

use auditframe::{analyze, AnalysisOptions};
use auditframe_ndjson::ReaderBuilder;

const SAMPLE: &[u8] = include_bytes!("../testdata/default-sample.aks.json.gz");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let opts = AnalysisOptions::default();
    // Parse only what the analyses read.
    let reader = ReaderBuilder::new().projection(opts.projection());
    let (frame, report) = match std::env::args_os().nth(1) {
        Some(path) => reader.read_path(path)?,
        None => reader.read_slice(SAMPLE, "default-sample.aks.json.gz")?,
    };
    println!(
        "{} rows, {} skipped",
        report.parse.rows,
        report.parse.skipped_total()
    );
    let analysis = analyze(&frame, &opts)?;
    for (i, t) in analysis.top.iter().enumerate() {
        println!("{:>2}. {:>6}  {}", i + 1, t.count, t.key);
    }
    Ok(())
}

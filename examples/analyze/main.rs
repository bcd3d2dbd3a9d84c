//! Placeholder until the analyses land: prints a summary of the frame.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let paths: Vec<std::path::PathBuf> = std::env::args().skip(1).map(Into::into).collect();
    let t = std::time::Instant::now();
    let (frame, report) = auditframe_ndjson::ReaderBuilder::new().read_paths(&paths)?;
    let dt = t.elapsed();
    println!(
        "{frame} in {dt:?}; shape {:?}; skipped {:?}; other {}",
        report.parse.shape, report.parse.skipped, report.parse.other_category
    );
    for e in &report.parse.errors {
        println!("  {e}");
    }
    Ok(())
}

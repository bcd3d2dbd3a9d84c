//! Export a frame as Arrow record batches (zero-copy over the C Data Interface), e.g. to
//! hand it to DataFusion, DuckDB or Python.
//!
//! ```text
//! cargo run --release -p auditframe-examples --example arrow_export
//! ```

use auditframe_ndjson::ReaderBuilder;

const SAMPLE: &[u8] = include_bytes!("../testdata/default-sample.aks.json.gz");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (frame, _) = ReaderBuilder::new().read_slice(SAMPLE, "default-sample.aks.json.gz")?;
    let batch = frame.to_record_batch()?;
    println!("{} rows as Arrow; schema:", batch.num_rows());
    for field in batch.schema().fields() {
        println!("  {:<20} {}", field.name(), field.data_type());
    }
    Ok(())
}

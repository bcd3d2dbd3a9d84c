//! Writes deterministic, realistic audit logs in any supported export shape.
//!
//! ```text
//! cargo run --release --example generate -- --events 1000000 --shape native -o /tmp/audit.log
//! cargo run --release --example generate -- --events 10000 --shape aks-audit-strings --gzip -o /tmp/aks.json.gz
//! ```

use std::io::Write;
use std::path::PathBuf;

use auditframe::generate::{Generator, GeneratorOptions};
use auditframe::Shape;
use clap::{Parser, ValueEnum};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum OutShape {
    Native,
    EventList,
    AksAudit,
    /// AKSAudit rows whose dynamic columns are JSON-encoded strings (query API / CLI).
    AksAuditStrings,
    AzureDiagnostics,
    Archive,
    EventHub,
    /// A top-level JSON array of AKSAudit rows (portal / query export).
    JsonArray,
}

#[derive(Parser, Debug)]
#[command(about = "Generate realistic Kubernetes audit logs (seeded, deterministic)")]
struct Args {
    /// Number of audit events.
    #[arg(long, default_value_t = 100_000)]
    events: usize,
    /// Output shape.
    #[arg(long, value_enum, default_value = "native")]
    shape: OutShape,
    /// RNG seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Hours of traffic the events span.
    #[arg(long, default_value_t = 2.0)]
    hours: f64,
    /// Gzip the output.
    #[arg(long)]
    gzip: bool,
    /// Tell the incident story (see `auditframe::generate::story`): an etcd-paging bad
    /// client, a failing webhook with kube-apiserver log lines, the API server guard and a
    /// 429 burst, a CronJob leaking Jobs.
    #[arg(long)]
    story: bool,
    /// Output file (stdout if absent).
    #[arg(short, long)]
    output: Option<PathBuf>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let opts = GeneratorOptions {
        events: args.events,
        seed: args.seed,
        span_ns: (args.hours * 3600.0 * 1e9) as i64,
        story: args.story,
        ..GeneratorOptions::default()
    };
    let mut g = Generator::new(opts);
    let mut out = Vec::with_capacity(args.events * 1100);
    match args.shape {
        OutShape::Native => g.write(Shape::Native, &mut out),
        OutShape::EventList => g.write(Shape::EventList, &mut out),
        OutShape::AksAudit => g.write(Shape::AksAudit, &mut out),
        OutShape::AksAuditStrings => g.write_aks_strings(&mut out),
        OutShape::AzureDiagnostics => g.write(Shape::AzureDiagnostics, &mut out),
        OutShape::Archive => g.write(Shape::Archive, &mut out),
        OutShape::EventHub => g.write(Shape::EventHub, &mut out),
        OutShape::JsonArray => g.write_array(Shape::AksAudit, &mut out),
    }
    let sink: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::fs::File::create(p)?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut sink = std::io::BufWriter::new(sink);
    if args.gzip {
        let mut gz = flate2::write::GzEncoder::new(sink, flate2::Compression::default());
        gz.write_all(&out)?;
        gz.finish()?.flush()?;
    } else {
        sink.write_all(&out)?;
        sink.flush()?;
    }
    eprintln!(
        "wrote {} events, {} bytes (uncompressed)",
        args.events,
        out.len()
    );
    Ok(())
}

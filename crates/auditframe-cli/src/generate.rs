//! `auditframe generate`: deterministic, realistic audit logs in any supported export shape.

use std::io::Write;

use auditframe::generate::{Generator, GeneratorOptions};
use auditframe::Shape;

use crate::args::{GenerateArgs, OutShape};
use crate::Res;

pub(crate) fn run(args: &GenerateArgs) -> Res {
    let opts = GeneratorOptions::default()
        .with_events(args.events)
        .with_seed(args.seed)
        .with_span((args.hours * 3600.0 * 1e9) as i64)
        .with_story(args.story);
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

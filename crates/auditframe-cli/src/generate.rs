//! `auditframe generate`: deterministic, realistic audit logs in any supported export shape.

use std::io::Write;

use std::path::Path;

use auditframe::generate::storage_tree::{write_storage_tree, StorageTreeOptions};
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
    if let Some(dir) = &args.storage_tree {
        return storage_tree(args, &opts, dir);
    }
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

/// `--storage-tree DIR`: the blobs of a storage-account export, written under `dir`.
fn storage_tree(args: &GenerateArgs, opts: &GeneratorOptions, dir: &Path) -> Res {
    let tree = StorageTreeOptions::default()
        .with_clusters(args.clusters)
        .with_admin_copies(args.admin_copies)
        .with_large_body_every(args.large_body_every);
    let summary = write_storage_tree(opts, &tree, |blob| -> std::io::Result<()> {
        let path = dir.join(&blob.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, blob.data)
    })?;
    eprintln!(
        "wrote {} blobs: {} records ({} kube-audit-admin copies, {} cut at {} bytes)",
        summary.blobs,
        summary.records,
        summary.admin_copies,
        summary.cut,
        tree.cut_at()
    );
    Ok(())
}

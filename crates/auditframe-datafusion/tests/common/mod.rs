//! Shared by the integration tests: inputs, and the core's answers to compare with.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use auditframe::copies::CategoryCopies;
use auditframe::generate::storage_tree::{write_storage_tree, StorageTreeOptions};
use auditframe::generate::{Generator, GeneratorOptions};
use auditframe::polars::prelude::DataType;
use auditframe::{
    Analysis, AnalysisOptions, AuditFrame, Column, GroupKey, Projection, Shape, TimeWindow,
};

pub fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(rel)
}

/// Every JSON export shape, `.gz`, and the sample.
pub fn json_inputs() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = [
        "native.json",
        "native.json.gz",
        "event-list.json",
        "aks-audit.json",
        "aks-audit-strings.json",
        "azure-diagnostics.json",
        "archive.json",
        "event-hub.json",
        "json-array.json",
    ]
    .iter()
    .map(|f| testdata(&format!("shapes/{f}")))
    .collect();
    v.push(testdata("default-sample.aks.json.gz"));
    v
}

/// The core's reading of `paths`, as `auditframe analyze` reads them: every column, copies
/// dropped where the inputs may hold both audit categories.
pub fn core_frame(paths: &[PathBuf]) -> AuditFrame {
    let parquet = paths
        .iter()
        .all(|p| auditframe_parquet::is_parquet_input(p));
    let (frame, _) = if parquet {
        auditframe_parquet::ReaderBuilder::new()
            .projection(Projection::all())
            .read_paths(paths)
            .unwrap()
    } else {
        auditframe_ndjson::ReaderBuilder::new()
            .projection(Projection::all())
            .read_paths(paths)
            .unwrap()
    };
    let files: Vec<PathBuf> = paths
        .iter()
        .flat_map(|p| auditframe_ndjson::walk(p).unwrap())
        .collect();
    if parquet || auditframe_ndjson::may_hold_categories(&files) {
        CategoryCopies::drop_copies_in_whole(&frame).unwrap().0
    } else {
        frame
    }
}

pub fn core_analysis(frame: &AuditFrame, opts: &AnalysisOptions) -> Analysis {
    auditframe::analyze(frame, opts).unwrap()
}

/// The newest `time_generated` of a frame, ns.
pub fn newest(frame: &AuditFrame) -> i64 {
    let times = frame
        .column(Column::TimeGenerated)
        .unwrap()
        .cast(&DataType::Int64)
        .unwrap();
    let times = times.i64().unwrap();
    (0..times.len()).filter_map(|i| times.get(i)).max().unwrap()
}

/// Option sets that exercise every filter of the three queries.
pub fn option_sets(frame: &AuditFrame) -> Vec<AnalysisOptions> {
    let minute = 60_000_000_000i64;
    let base = AnalysisOptions::default();
    let top_agent = core_analysis(frame, &base)
        .top
        .first()
        .map(|t| t.key.clone());
    let end = newest(frame);
    vec![
        base.clone(),
        base.clone()
            .with_key(GroupKey::User)
            .with_top(3)
            .with_bin(minute)
            .with_percentiles(vec![99.9, 50.0, 99.0]),
        base.clone()
            .with_stage(Some("ResponseComplete".into()))
            .with_exclude_long_running(true)
            .with_only_key(top_agent),
        base.clone()
            .with_window(TimeWindow::Last(20 * minute))
            .with_bin(7 * minute),
        base.with_window(TimeWindow::Between {
            start: end - 40 * minute,
            end: end - 10 * minute,
        }),
    ]
}

/// `n` native events split over `files` files in `dir`.
pub fn native_files(dir: &Path, n: usize, files: usize, seed: u64) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    let mut data = Vec::new();
    Generator::new(GeneratorOptions::default().with_events(n).with_seed(seed))
        .write(Shape::Native, &mut data);
    let lines: Vec<&[u8]> = data.split_inclusive(|&b| b == b'\n').collect();
    let per = lines.len().div_ceil(files);
    lines
        .chunks(per)
        .enumerate()
        .map(|(i, chunk)| {
            let p = dir.join(format!("audit-{i:02}.log"));
            std::fs::write(&p, chunk.concat()).unwrap();
            p
        })
        .collect()
}

/// A storage-archive tree (two clusters, `kube-audit-admin` copies in other blobs).
pub fn storage_tree(dir: &Path, events: usize) -> PathBuf {
    let _ = std::fs::remove_dir_all(dir);
    let tree = StorageTreeOptions::default()
        .with_clusters(2)
        .with_admin_copies(true);
    write_storage_tree(
        &GeneratorOptions::default().with_events(events),
        &tree,
        |blob| {
            let p = dir.join(&blob.path);
            std::fs::create_dir_all(p.parent().unwrap())?;
            std::fs::write(&p, &blob.data)
        },
    )
    .unwrap();
    dir.to_path_buf()
}

pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("auditframe-df-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The text of `EXPLAIN [ANALYZE] …` for `sql`.
pub async fn explain(ctx: &datafusion::prelude::SessionContext, sql: &str) -> String {
    let plan = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    datafusion::arrow::util::pretty::pretty_format_batches(&plan)
        .unwrap()
        .to_string()
}

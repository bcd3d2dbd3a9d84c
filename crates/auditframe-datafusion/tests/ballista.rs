//! The same answers on a Ballista cluster (an in-process scheduler and executor): the table,
//! its scan and the functions cross the wire through auditframe's codecs.

mod common;

use ::ballista::prelude::SessionContextExt as _;
use auditframe::{AnalysisOptions, DiagnoseOptions, GroupKey};
use auditframe_datafusion::{ballista, guide, register_audit, AuditTableOptions};

use common::*;

/// Ballista's plan (de)serialisation recurses deeply; unoptimised test builds need more than
/// the default 2 MiB of stack (Ballista's own tests raise `RUST_MIN_STACK`).
const STACK: usize = 32 << 20;

#[test]
fn standalone_cluster_gives_the_cores_answers() {
    let run = || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_stack_size(STACK)
            .enable_all()
            .build()
            .unwrap()
            .block_on(standalone_cluster())
    };
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(run)
        .unwrap()
        .join()
        .unwrap();
}

async fn standalone_cluster() {
    let ctx = ballista::standalone_context().await.unwrap();

    // Many files, several partitions: tasks on the executor.
    let dir = temp_dir("ballista-many");
    native_files(&dir, 3000, 5, 21);
    register_audit(
        &ctx,
        "audit",
        std::slice::from_ref(&dir),
        &AuditTableOptions::default(),
    )
    .await
    .unwrap();
    let frame = core_frame(&[dir]);
    for opts in [
        AnalysisOptions::default(),
        AnalysisOptions::default()
            .with_key(GroupKey::User)
            .with_percentiles(vec![50.0, 99.0])
            .with_window(auditframe::TimeWindow::Last(30 * 60_000_000_000)),
    ] {
        let got = guide::analyze(&ctx, "audit", &opts).await.unwrap();
        assert_eq!(got, core_analysis(&frame, &opts), "{opts:?}");
    }

    // A storage tree with admin copies in other blobs: each cluster-hour's blobs are one
    // task, which drops the copies as it reads.
    let tree = storage_tree(&temp_dir("ballista-tree"), 1000);
    register_audit(
        &ctx,
        "tree",
        std::slice::from_ref(&tree),
        &AuditTableOptions::default(),
    )
    .await
    .unwrap();
    let opts = AnalysisOptions::default();
    let got = guide::analyze(&ctx, "tree", &opts).await.unwrap();
    let want = core_analysis(&core_frame(std::slice::from_ref(&tree)), &opts);
    assert_eq!(got, want);
    // Flattened into files that name no cluster or hour: the anti-join runs on the cluster.
    let flat = temp_dir("ballista-flat");
    for (i, b) in auditframe_ndjson::walk(&tree).unwrap().iter().enumerate() {
        std::fs::copy(b, flat.join(format!("part-{i:03}.json"))).unwrap();
    }
    register_audit(&ctx, "flat", &[flat], &AuditTableOptions::default())
        .await
        .unwrap();
    assert_eq!(guide::analyze(&ctx, "flat", &opts).await.unwrap(), want);

    // The LIST detector's query: list_read_type and percentile_exact on the executors.
    let sample = testdata("default-sample.aks.json.gz");
    register_audit(
        &ctx,
        "sample",
        std::slice::from_ref(&sample),
        &AuditTableOptions::default(),
    )
    .await
    .unwrap();
    let d = DiagnoseOptions::default();
    let report = auditframe::diagnose(&core_frame(&[sample]), &d).unwrap();
    let classes = guide::list_read_types(
        &ctx,
        "sample",
        d.list_rules().name(),
        d.uncached_resources(),
    )
    .await
    .unwrap();
    let want: Vec<_> = report
        .list
        .classes
        .iter()
        .map(|c| (c.read_type, c.count, c.latency_sum_ms, c.p99_ms))
        .collect();
    let got: Vec<_> = classes
        .iter()
        .map(|c| (c.read_type, c.count, c.latency_sum_ms, c.p99_ms))
        .collect();
    assert_eq!(got, want);

    // Every JSON export shape, `.gz`, the sample, and canonical Parquet.
    let parquet = temp_dir("ballista-parquet").join("sample.parquet");
    auditframe_parquet::WriterBuilder::new()
        .row_group_rows(1000)
        .write_path(
            &core_frame(&[testdata("default-sample.aks.json.gz")]),
            &parquet,
        )
        .unwrap();
    let mut inputs = json_inputs();
    inputs.push(parquet);
    for (i, input) in inputs.iter().enumerate() {
        let name = format!("shape_{i}");
        register_audit(
            &ctx,
            &name,
            std::slice::from_ref(input),
            &AuditTableOptions::default(),
        )
        .await
        .unwrap();
        let got = guide::analyze(&ctx, &name, &opts).await.unwrap();
        let want = core_analysis(&core_frame(std::slice::from_ref(input)), &opts);
        assert_eq!(got, want, "{input:?} on Ballista");
    }

    // A stock Ballista client cannot ship the table: the codecs are what make it work.
    let stock = datafusion::prelude::SessionContext::standalone()
        .await
        .unwrap();
    register_audit(
        &stock,
        "audit",
        &[testdata("shapes/native.json")],
        &AuditTableOptions::default(),
    )
    .await
    .unwrap();
    let r = match stock.sql("SELECT count(*) FROM audit").await {
        Ok(df) => df.collect().await.map(drop),
        Err(e) => Err(e),
    };
    assert!(r.is_err(), "a stock Ballista session ran an AuditTable");
}

//! The guide's SQL over an `AuditTable` gives the core's answers on every export shape,
//! `.gz`, directories of many files, Parquet, and under every option of the three queries.

mod common;

use std::path::PathBuf;

use auditframe::{AnalysisOptions, DiagnoseOptions, GroupKey};
use auditframe_datafusion::guide;
use auditframe_datafusion::{register_audit, AuditTableOptions};
use datafusion::prelude::{SessionConfig, SessionContext};

use common::*;

/// A context with `partitions` target partitions and `paths` registered as `audit`.
async fn context(paths: &[PathBuf], partitions: usize) -> SessionContext {
    let ctx =
        SessionContext::new_with_config(SessionConfig::new().with_target_partitions(partitions));
    register_audit(&ctx, "audit", paths, &AuditTableOptions::default())
        .await
        .unwrap();
    ctx
}

async fn assert_same_answers(paths: &[PathBuf], partitions: usize) {
    let frame = core_frame(paths);
    assert!(frame.height() > 0, "{paths:?} read no rows");
    let ctx = context(paths, partitions).await;
    for opts in option_sets(&frame) {
        let want = core_analysis(&frame, &opts);
        let got = guide::analyze(&ctx, "audit", &opts).await.unwrap();
        assert_eq!(got, want, "{paths:?} with {opts:?}");
        // The documented three queries, one scan each, agree.
        let three = guide::analyze_by_three_queries(&ctx, "audit", &opts)
            .await
            .unwrap();
        assert_eq!(three, want, "three queries: {paths:?} with {opts:?}");
        // And in the JSON contract `analyze --format json` prints.
        assert_eq!(
            serde_json::to_value(got.contract(None)).unwrap(),
            serde_json::to_value(want.contract(None)).unwrap()
        );
    }
}

#[tokio::test]
async fn every_json_shape_gives_the_cores_answers() {
    for input in json_inputs() {
        assert_same_answers(&[input], 2).await;
    }
}

#[tokio::test]
async fn parquet_gives_the_cores_answers() {
    for f in [
        "native-duckdb.parquet",
        "aks-audit-duckdb.parquet",
        "aks-audit-strings-duckdb.parquet",
    ] {
        assert_same_answers(&[testdata(&format!("parquet/{f}"))], 2).await;
    }
    // A canonical file auditframe wrote, in several row groups.
    let dir = temp_dir("canonical");
    let out = dir.join("sample.parquet");
    let frame = core_frame(&[testdata("default-sample.aks.json.gz")]);
    auditframe_parquet::WriterBuilder::new()
        .row_group_rows(1000)
        .write_path(&frame, &out)
        .unwrap();
    assert_same_answers(&[out], 2).await;
}

#[tokio::test]
async fn many_files_in_parallel_partitions() {
    let dir = temp_dir("many");
    native_files(&dir, 4000, 7, 11);
    // One partition per file, fewer partitions than files, one partition.
    for partitions in [8, 3, 1] {
        assert_same_answers(std::slice::from_ref(&dir), partitions).await;
    }
}

#[tokio::test]
async fn copies_across_blobs_are_dropped_like_analyze() {
    let dir = storage_tree(&temp_dir("tree"), 1500);
    let frame = core_frame(std::slice::from_ref(&dir));
    let opts = AnalysisOptions::default();
    let want = core_analysis(&frame, &opts);
    // A storage tree: the scan drops copies (each cluster-hour's two blobs in one partition).
    for partitions in [4, 1] {
        let ctx = context(std::slice::from_ref(&dir), partitions).await;
        let plan = explain(&ctx, "EXPLAIN SELECT count(*) FROM audit").await;
        assert!(
            plan.contains("drop_copies=true") && !plan.contains("LeftAnti"),
            "{plan}"
        );
        assert_eq!(guide::analyze(&ctx, "audit", &opts).await.unwrap(), want);
    }
    // The same blobs flattened into files whose paths name no cluster or hour: copies may
    // lie in any two files, so an anti-join drops them.
    let flat = temp_dir("flat");
    let blobs: Vec<PathBuf> = auditframe_ndjson::walk(&dir).unwrap();
    for (i, b) in blobs.iter().enumerate() {
        std::fs::copy(b, flat.join(format!("part-{i:03}.json"))).unwrap();
    }
    let ctx = context(std::slice::from_ref(&flat), 4).await;
    let plan = explain(&ctx, "EXPLAIN SELECT count(*) FROM audit").await;
    assert!(
        plan.contains("LeftAnti") && plan.contains("drop_copies=false"),
        "{plan}"
    );
    let got = guide::analyze(&ctx, "audit", &opts).await.unwrap();
    assert_eq!(got, core_analysis(&core_frame(&[flat]), &opts));
    assert_eq!(got, want);
    // Keeping both copies counts the admin copies of writes too.
    let keep = SessionContext::new();
    register_audit(
        &keep,
        "audit",
        &[dir],
        &AuditTableOptions::default().with_keep_copies(true),
    )
    .await
    .unwrap();
    let both = guide::analyze(&keep, "audit", &opts).await.unwrap();
    assert!(both.rows > got.rows, "{} vs {}", both.rows, got.rows);
}

#[tokio::test]
async fn diagnoses_core_queries_equal_diagnose() {
    let sample = testdata("default-sample.aks.json.gz");
    let frame = core_frame(std::slice::from_ref(&sample));
    let ctx = context(&[sample], 2).await;
    let opts = DiagnoseOptions::default();
    let report = auditframe::diagnose(&frame, &opts).unwrap();

    let classes = guide::list_read_types(
        &ctx,
        "audit",
        opts.list_rules().name(),
        opts.uncached_resources(),
    )
    .await
    .unwrap();
    assert!(!classes.is_empty());
    assert_eq!(classes.len(), report.list.classes.len());
    for (got, want) in classes.iter().zip(&report.list.classes) {
        assert_eq!(got.read_type, want.read_type);
        assert_eq!(got.scope, want.scope);
        assert_eq!(got.count, want.count);
        assert_eq!(got.latency_sum_ms, want.latency_sum_ms);
        assert_eq!(got.p99_ms, want.p99_ms);
    }

    let throttled = guide::throttled(&ctx, "audit", opts.key().column(), opts.top())
        .await
        .unwrap();
    assert!(!throttled.is_empty(), "the sample has a 429 burst");
    let want: Vec<(String, u64, u64)> = report
        .throttling
        .by_key
        .iter()
        .map(|k| (k.key.clone(), k.requests, k.throttled))
        .collect();
    assert_eq!(throttled, want);

    // By user too.
    let by_user = DiagnoseOptions::default().with_key(GroupKey::User);
    let report = auditframe::diagnose(&frame, &by_user).unwrap();
    let throttled = guide::throttled(&ctx, "audit", by_user.key().column(), by_user.top())
        .await
        .unwrap();
    let want: Vec<(String, u64, u64)> = report
        .throttling
        .by_key
        .iter()
        .map(|k| (k.key.clone(), k.requests, k.throttled))
        .collect();
    assert_eq!(throttled, want);
}

#[tokio::test]
async fn functions_equal_the_core_in_sql() {
    let ctx = SessionContext::new();
    auditframe_datafusion::functions::register(&ctx);
    let uris = [
        "/api/v1/pods",
        "/api/v1/pods?resourceVersion=0",
        "/api/v1/pods?limit=500&continue=abc",
        "/api/v1/pods?limit=500&resourceVersion=123",
        "/apis/apps/v1/deployments?resourceVersionMatch=Exact&resourceVersion=5",
    ];
    for rules in ["since-1.31", "before-1.31"] {
        let values: Vec<String> = uris.iter().map(|u| format!("('{u}')")).collect();
        let sql = format!(
            "SELECT u, list_read_type(u, '{rules}') FROM (VALUES {}) AS t(u)",
            values.join(", ")
        );
        let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
        use datafusion::arrow::array::AsArray;
        let mut n = 0;
        for b in &batches {
            let u = datafusion::arrow::compute::cast(
                b.column(0),
                &datafusion::arrow::datatypes::DataType::Utf8,
            )
            .unwrap();
            let r = datafusion::arrow::compute::cast(
                b.column(1),
                &datafusion::arrow::datatypes::DataType::Utf8,
            )
            .unwrap();
            for (u, r) in u.as_string::<i32>().iter().zip(r.as_string::<i32>().iter()) {
                let rules = auditframe::diagnose::ListReadRules::from_name(rules).unwrap();
                assert_eq!(
                    r.unwrap(),
                    auditframe::diagnose::classify_list(u.unwrap(), rules).name()
                );
                n += 1;
            }
        }
        assert_eq!(n, uris.len());
    }
    // kusto_bin counts from 0001-01-01: 7-minute bins differ from date_bin's epoch grid.
    let batches = ctx
        .sql(
            "SELECT CAST(kusto_bin(TIMESTAMP '2026-11-20T10:07:59.9Z', '7m') AS BIGINT), \
                    CAST(kusto_bin(TIMESTAMP '2026-11-20T10:07:59.9Z', INTERVAL '5 minutes') AS BIGINT), \
                    CAST(date_bin(INTERVAL '7 minutes', TIMESTAMP '2026-11-20T10:07:59.9Z') AS BIGINT)",
        )
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::Int64Type;
    let b = &batches[0];
    let t = auditframe::time::parse_timestamp("2026-11-20T10:07:59.9Z").unwrap();
    let seven = 7 * 60_000_000_000;
    assert_eq!(
        b.column(0).as_primitive::<Int64Type>().value(0),
        auditframe::analysis::bin_start(t, seven)
    );
    assert_eq!(
        b.column(1).as_primitive::<Int64Type>().value(0),
        auditframe::time::parse_timestamp("2026-11-20T10:05:00Z").unwrap()
    );
    assert_ne!(
        b.column(0).as_primitive::<Int64Type>().value(0),
        b.column(2).as_primitive::<Int64Type>().value(0),
        "7-minute bins: Kusto's origin is not the epoch"
    );
    // Bad arguments are errors, not panics.
    for bad in [
        "SELECT kusto_bin(TIMESTAMP '2026-11-20T10:00:00Z', '0m')",
        "SELECT kusto_bin(TIMESTAMP '2026-11-20T10:00:00Z', INTERVAL '1 month')",
        "SELECT list_read_type('/api', 'since-2.0')",
        "SELECT percentile_exact(v, 101) FROM (VALUES (1)) AS t(v)",
        "SELECT percentile_exact(v, 50) FROM (VALUES ('a')) AS t(v)",
    ] {
        let r = match ctx.sql(bad).await {
            Ok(df) => df.collect().await.map(drop),
            Err(e) => Err(e),
        };
        assert!(r.is_err(), "{bad} should fail");
    }
}

#[tokio::test]
async fn time_filters_prune_parquet_row_groups_and_keep_answers() {
    let dir = temp_dir("prune");
    let out = dir.join("sample.parquet");
    let frame = core_frame(&[testdata("default-sample.aks.json.gz")]);
    auditframe_parquet::WriterBuilder::new()
        .row_group_rows(500)
        .write_path(&frame, &out)
        .unwrap();
    let ctx = context(&[out], 1).await;
    let end = newest(&frame);
    let start = end - 10 * 60_000_000_000;
    let text = explain(
        &ctx,
        &format!("EXPLAIN SELECT count(*) FROM audit WHERE time_generated >= to_timestamp_nanos({start})"),
    )
    .await;
    assert!(
        text.contains(&format!("time_generated=[{start}, {}]", i64::MAX)),
        "{text}"
    );
    let opts =
        AnalysisOptions::default().with_window(auditframe::TimeWindow::Between { start, end });
    let got = guide::analyze(&ctx, "audit", &opts).await.unwrap();
    assert_eq!(got, core_analysis(&frame, &opts));
    assert!(got.rows > 0 && (got.rows as usize) < frame.height());
}

#[tokio::test]
async fn bad_input_is_skipped_and_counted_or_an_error_in_strict_mode() {
    let dir = temp_dir("bad");
    let good = native_files(&dir, 50, 1, 3);
    let mut data = std::fs::read(&good[0]).unwrap();
    data.extend_from_slice(b"{\"kind\":\"Event\",\"verb\":\n");
    std::fs::write(&good[0], &data).unwrap();
    let ctx = SessionContext::new();
    register_audit(&ctx, "audit", &good, &AuditTableOptions::default())
        .await
        .unwrap();
    let text = explain(&ctx, "EXPLAIN ANALYZE SELECT count(*) FROM audit").await;
    assert!(text.contains("skipped_records=1"), "{text}");

    let strict = SessionContext::new();
    register_audit(
        &strict,
        "audit",
        &good,
        &AuditTableOptions::default().with_strict(true),
    )
    .await
    .unwrap();
    let err = strict
        .sql("SELECT count(*) FROM audit")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("audit-00.log:51:"), "{err}");
}

#[tokio::test]
async fn storage_blobs_outside_the_window_or_cluster_are_not_opened() {
    let dir = storage_tree(&temp_dir("tree-prune"), 3000);
    let frame = core_frame(std::slice::from_ref(&dir));
    let ctx = context(std::slice::from_ref(&dir), 2).await;
    let end = newest(&frame);
    let start = end - 30 * 60_000_000_000;
    let filter = format!(
        "cluster = 'aks-fleet-01' AND time_generated BETWEEN to_timestamp_nanos({start}) AND to_timestamp_nanos({end})"
    );
    let text = explain(
        &ctx,
        &format!("EXPLAIN SELECT count(*) FROM audit WHERE {filter}"),
    )
    .await;
    let pruned: Vec<usize> = text
        .match_indices("pruned_files=")
        .filter_map(|(i, _)| {
            text[i + 13..]
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .collect();
    // The rows' scan opens only that cluster's blobs of those hours (the copies' key side of
    // the anti-join reads every blob's three key columns).
    assert!(pruned.iter().any(|&n| n > 0), "{text}");
    // The same rows as the core's: that cluster, that window.
    let one = frame.filter_clusters(&["aks-fleet-01".to_owned()]).unwrap();
    let opts =
        AnalysisOptions::default().with_window(auditframe::TimeWindow::Between { start, end });
    let want = core_analysis(&one, &opts).rows;
    let got = ctx
        .sql(&format!("SELECT count(*) AS n FROM audit WHERE {filter}"))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::Int64Type;
    assert!(want > 0);
    assert_eq!(
        got[0].column(0).as_primitive::<Int64Type>().value(0) as u64,
        want
    );
}

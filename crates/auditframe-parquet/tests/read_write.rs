//! Canonical round trips, projection, time windows, and tables written by other tools.

mod common;

use auditframe::{analyze, diagnose, AnalysisOptions, Column, DiagnoseOptions, Projection};
use auditframe_parquet::{ReaderBuilder, TableLayout, WriterBuilder};
use common::{assert_same, ndjson, temp_dir, testdata};

#[test]
fn canonical_round_trip_is_lossless_for_every_column_and_the_log_lines() {
    let frame = ndjson("default-sample.aks.json.gz");
    assert_eq!(frame.height(), 6000);
    assert_eq!(frame.control_plane_logs().len(), 88);
    let dir = temp_dir("round-trip");
    let path = dir.join("sample.parquet");
    WriterBuilder::new()
        .row_group_rows(1000)
        .write_path(&frame, &path)
        .unwrap();
    let (back, report) = ReaderBuilder::new().strict(true).read_path(&path).unwrap();
    assert_eq!(report.inputs.len(), 1);
    let file = &report.inputs[0];
    let table = file.table.as_ref().unwrap();
    assert_eq!(
        (
            table.layout,
            file.rows,
            table.row_groups,
            table.row_groups_skipped
        ),
        (TableLayout::Canonical, 6000, 6, 0)
    );
    assert_eq!(report.parse.rows, 6000);
    assert_eq!(report.parse.skipped_total(), 0);
    // Every column, with its exact type (ns timestamps, Int64/Int32, Categorical, String).
    assert_eq!(back.dataframe().schema().len(), Column::ALL.len());
    for (a, b) in frame
        .dataframe()
        .columns()
        .iter()
        .zip(back.dataframe().columns())
    {
        match (a.dtype(), b.dtype()) {
            (
                auditframe::polars::prelude::DataType::Categorical(..),
                auditframe::polars::prelude::DataType::Categorical(..),
            ) => {}
            (x, y) => assert_eq!(x, y, "`{}`", a.name()),
        }
    }
    assert_same(&frame, &back, &[], 1, "round trip");
    assert_eq!(back.control_plane_logs(), frame.control_plane_logs());
    // The read frame has dense dictionaries: the analyses and diagnoses agree exactly.
    let o = AnalysisOptions::default();
    assert_eq!(analyze(&back, &o).unwrap(), analyze(&frame, &o).unwrap());
    let d = DiagnoseOptions::default();
    assert_eq!(diagnose(&back, &d).unwrap(), diagnose(&frame, &d).unwrap());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn projection_decodes_only_the_needed_columns() {
    let frame = ndjson("default-sample.aks.json.gz");
    let dir = temp_dir("projection");
    let path = dir.join("sample.parquet");
    WriterBuilder::new().write_path(&frame, &path).unwrap();
    let p = Projection::analyses();
    let (back, report) = ReaderBuilder::new().projection(p).read_path(&path).unwrap();
    let names: Vec<&str> = p.columns().map(Column::name).collect();
    assert_eq!(report.inputs[0].table.as_ref().unwrap().columns_read, names);
    assert_eq!(back.projection(), p);
    let want =
        auditframe::AuditFrame::from_dataframe(frame.dataframe().select(names).unwrap()).unwrap();
    assert_same(&want, &back, &[], 1, "projected");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn time_window_skips_row_groups_by_statistics_and_filters_rows_exactly() {
    let frame = ndjson("default-sample.aks.json.gz");
    let dir = temp_dir("window");
    let path = dir.join("sample.parquet");
    // Row groups of 500 rows of a time-ordered export: 12 groups of ~5 minutes each.
    WriterBuilder::new()
        .row_group_rows(500)
        .write_path(&frame, &path)
        .unwrap();
    let start = auditframe::time::parse_timestamp("2026-11-20T10:20:00Z").unwrap();
    let end = auditframe::time::parse_timestamp("2026-11-20T10:29:59.999Z").unwrap();
    let (back, report) = ReaderBuilder::new()
        .time_window(start, end)
        .read_path(&path)
        .unwrap();
    let f = report.inputs[0].table.as_ref().unwrap();
    assert_eq!(f.row_groups, 12);
    assert!(
        f.row_groups_skipped >= 8,
        "skipped only {} of 12 row groups",
        f.row_groups_skipped
    );
    let want = frame.filter_time(start, end).unwrap();
    assert!(want.height() > 500, "{}", want.height());
    assert_same(&want, &back, &[], 1, "window");
    assert_eq!(back.control_plane_logs(), want.control_plane_logs());
    assert_eq!(report.parse.rows, want.height() as u64);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn directories_are_read_in_path_order_into_one_frame() {
    let frame = ndjson("shapes/native.json");
    let dir = temp_dir("dir");
    let half = frame.height() / 2;
    let df = frame.dataframe();
    let first = auditframe::AuditFrame::from_dataframe(df.slice(0, half)).unwrap();
    let second = auditframe::AuditFrame::from_dataframe(df.slice(half as i64, half)).unwrap();
    std::fs::create_dir_all(dir.join("h=11")).unwrap();
    WriterBuilder::new()
        .write_path(&second, dir.join("h=11/part.parquet"))
        .unwrap();
    WriterBuilder::new()
        .write_path(&first, dir.join("h=10.parquet"))
        .unwrap();
    std::fs::write(dir.join("README.txt"), "not parquet").unwrap();
    let (back, report) = ReaderBuilder::new().read_path(&dir).unwrap();
    assert_eq!(report.inputs.len(), 2);
    assert!(report.inputs[0].name.ends_with("h=10.parquet"));
    assert_same(&frame, &back, &[], 1, "directory");
    std::fs::remove_dir_all(dir).unwrap();
}

/// DuckDB's `read_json` of the 100 native events (see testdata/README.md): structs, a UUID
/// `auditID`, `TIMESTAMP WITH TIME ZONE` (µs) times — the same frame as the NDJSON read.
#[test]
fn duckdb_flattened_native_events_read_like_the_ndjson() {
    let want = ndjson("shapes/native.json");
    for file in ["native-duckdb.parquet", "native-text-times-duckdb.parquet"] {
        let (got, report) = ReaderBuilder::new()
            .strict(true)
            .read_path(testdata(&format!("parquet/{file}")))
            .unwrap();
        assert_eq!(
            report.inputs[0].table.as_ref().unwrap().layout,
            TableLayout::NativeEvents,
            "{file}"
        );
        assert_same(&want, &got, &[], 1, file);
    }
}

/// DuckDB's `read_json` of the `AKSAudit` rows: dynamic columns as structs, and (from the
/// JSON-text sample) as strings. DuckDB keeps µs, so the 7th fractional digit of
/// `TimeGenerated` is lost; latencies are unchanged.
#[test]
fn duckdb_aks_audit_tables_read_like_the_ndjson() {
    for (file, json) in [
        ("aks-audit-duckdb.parquet", "shapes/aks-audit.json"),
        (
            "aks-audit-strings-duckdb.parquet",
            "shapes/aks-audit-strings.json",
        ),
    ] {
        let want = ndjson(json);
        let (got, report) = ReaderBuilder::new()
            .strict(true)
            .read_path(testdata(&format!("parquet/{file}")))
            .unwrap();
        assert_eq!(
            report.inputs[0].table.as_ref().unwrap().layout,
            TableLayout::AksAudit,
            "{file}"
        );
        assert_eq!(got.height(), 100, "{file}");
        assert_same(&want, &got, &[], 1_000, file);
    }
}

#[test]
fn inspect_reads_only_the_footer() {
    let files = ReaderBuilder::new()
        .inspect(testdata("parquet/aks-audit-duckdb.parquet"))
        .unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(
        (files[0].table.as_ref().unwrap().layout, files[0].rows),
        (TableLayout::AksAudit, 100)
    );
}

/// Frames read separately (each with its own dictionaries) appended to one file, as
/// `convert` does block by block.
#[test]
fn frame_writer_appends_frames_with_different_dictionaries() {
    let blocks = ["shapes/native.json", "shapes/aks-audit.json"];
    let frames: Vec<_> = blocks.iter().map(|b| ndjson(b)).collect();
    let mut buf = Vec::new();
    let mut w = WriterBuilder::new()
        .open(&mut buf, Projection::all(), "two-blocks")
        .unwrap();
    for f in &frames {
        w.write(f).unwrap();
    }
    assert_eq!(w.rows(), 200);
    w.finish().unwrap();
    let (back, _) = ReaderBuilder::new().read_bytes(buf, "two-blocks").unwrap();
    let df = back.dataframe();
    let first = auditframe::AuditFrame::from_dataframe(df.slice(0, 100)).unwrap();
    let second = auditframe::AuditFrame::from_dataframe(df.slice(100, 100)).unwrap();
    assert_same(&frames[0], &first, &[], 1, "first block");
    assert_same(&frames[1], &second, &[], 1, "second block");
    // A frame of other columns is refused.
    let mut w = WriterBuilder::new()
        .open(Vec::new(), Projection::analyses(), "x")
        .unwrap();
    assert!(w.write(&frames[0]).is_err());
}

/// Frame by frame (bounded memory): whole row groups per frame, the partial analyses merge to
/// the in-memory answer, and the log lines arrive once.
#[test]
fn for_each_frame_streams_row_groups_and_merges_to_the_in_memory_answer() {
    let frame = ndjson("default-sample.aks.json.gz");
    let dir = temp_dir("stream");
    let path = dir.join("sample.parquet");
    WriterBuilder::new()
        .row_group_rows(700)
        .write_path(&frame, &path)
        .unwrap();
    let o = AnalysisOptions::default();
    let mut acc = auditframe::Partial::default();
    let (mut frames, mut rows, mut logs) = (0, 0, 0);
    let report = ReaderBuilder::new()
        .frame_rows(2000)
        .for_each_frame(std::slice::from_ref(&path), |f, parse| {
            frames += 1;
            rows += f.height();
            logs += f.control_plane_logs().len();
            assert_eq!(parse.rows, f.height() as u64);
            assert!(f.height() <= 2000);
            acc.merge(auditframe::analysis::partial(&f, &o)?);
            Ok(())
        })
        .unwrap();
    // Row groups of ≤ 700 rows, whole groups per frame of ≤ 2000 rows.
    let groups = report.inputs[0].table.as_ref().unwrap().row_groups;
    assert!(groups >= 9, "{groups} row groups");
    assert!(
        (3..groups).contains(&frames),
        "{frames} frames of {groups} groups"
    );
    assert_eq!((rows, logs), (6000, 88));
    assert_eq!(report.parse.rows, 6000);
    assert_eq!(report.inputs.len(), 1);
    assert_eq!(acc.finish(&o).unwrap(), analyze(&frame, &o).unwrap());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn salvaged_rows_keep_their_truncated_flag_through_parquet() {
    let whole = r#"{"time":"2026-11-20T10:00:00Z","category":"kube-audit","properties":{"log":"{\"kind\":\"Event\",\"auditID\":\"a-1\",\"verb\":\"get\",\"stageTimestamp\":\"2026-11-20T10:00:00Z\"}"}}"#;
    let cut = r#"{"time":"2026-11-20T10:00:01Z","category":"kube-audit","properties":{"log":"{\"kind\":\"Event\",\"auditID\":\"a-2\",\"verb\":\"update\",\"requestObject\":{\"data\":\"xx"}}"#;
    let input = format!("{whole}\n{cut}\n");
    let (frame, report) =
        auditframe::AuditFrame::from_slice(input.as_bytes(), &Default::default()).unwrap();
    assert_eq!((frame.height(), report.truncated_rows), (2, 1));
    let dir = temp_dir("truncated");
    let path = dir.join("t.parquet");
    WriterBuilder::new().write_path(&frame, &path).unwrap();
    let (back, report) = ReaderBuilder::new().strict(true).read_path(&path).unwrap();
    assert_eq!(report.parse.truncated_rows, 1);
    let flags = back
        .column(Column::Truncated)
        .unwrap()
        .bool()
        .unwrap()
        .clone();
    assert_eq!((flags.get(0), flags.get(1)), (Some(false), Some(true)));
    assert_same(&frame, &back, &[], 1, "truncated round trip");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_cancelled_read_stops_before_the_next_row_group() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let frame = ndjson("default-sample.aks.json.gz");
    let dir = temp_dir("cancel");
    let path = dir.join("sample.parquet");
    WriterBuilder::new()
        .row_group_rows(1000)
        .write_path(&frame, &path)
        .unwrap();
    let flag = Arc::new(AtomicBool::new(false));
    let reader = ReaderBuilder::new().cancel(flag.clone());
    assert_eq!(reader.read_path(&path).unwrap().0.height(), 6000);
    flag.store(true, Ordering::SeqCst);
    let e = reader.read_path(&path).unwrap_err();
    assert!(matches!(e, auditframe_parquet::Error::Cancelled), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

//! Files, `.gz`, directories, parallel chunking, and positions across chunks.

use std::io::Write;
use std::path::{Path, PathBuf};

use auditframe::generate::{Generator, GeneratorOptions};
use auditframe::polars::prelude::*;
use auditframe::{AuditFrame, ParseOptions, Shape, SkipReason};
use auditframe_ndjson::{Error, ReaderBuilder};

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("auditframe-ndjson-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn generated(shape: Shape, events: usize) -> Vec<u8> {
    let mut buf = Vec::new();
    Generator::new(GeneratorOptions::default().with_events(events).with_seed(3))
        .write(shape, &mut buf);
    buf
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Frames compared column by column (categoricals as strings, since dictionaries differ).
fn assert_same(a: &AuditFrame, b: &AuditFrame) {
    assert_eq!(a.height(), b.height());
    for (x, y) in a.dataframe().columns().iter().zip(b.dataframe().columns()) {
        let (x, y) = (x.as_materialized_series(), y.as_materialized_series());
        let (x, y) = match x.dtype() {
            DataType::Categorical(..) => (
                x.cast(&DataType::String).unwrap(),
                y.cast(&DataType::String).unwrap(),
            ),
            _ => (
                x.to_physical_repr().into_owned(),
                y.to_physical_repr().into_owned(),
            ),
        };
        assert!(x.equals_missing(&y), "column {}", x.name());
    }
}

#[test]
fn parallel_chunks_equal_the_sequential_parse_in_order() {
    let data = generated(Shape::Native, 3000);
    let (want, _) = AuditFrame::from_slice(&data, &ParseOptions::new()).unwrap();
    for (block, chunk) in [(64 << 10, 4 << 10), (1 << 20, 8 << 10), (64 << 20, 1 << 20)] {
        let (got, report) = ReaderBuilder::new()
            .block_bytes(block)
            .chunk_bytes(chunk)
            .read_slice(&data, "mem")
            .unwrap();
        assert_same(&want, &got);
        assert_eq!(report.parse.rows, 3000);
        assert_eq!(report.bytes(), data.len() as u64);
        // The pieces' columns are the frame's chunks (no join copies them: 1 MiB chunks of
        // a 3 MB input are a few pieces), but hundreds of tiny pieces (4 KiB chunks) are
        // coalesced.
        let chunks = |c: &str| got.dataframe().column(c).unwrap().n_chunks();
        for c in ["verb", "latency_ms", "request_received"] {
            match chunk {
                4096 => assert_eq!(chunks(c), 1, "{c}"),
                1048576 => assert!(chunks(c) > 1, "{c}: {} chunks", chunks(c)),
                _ => {}
            }
        }
    }
}

/// An input whose first hundred-odd records match no shape: its shape is still the first
/// matching record's, for every chunk and block, so how the input is cut changes neither
/// its rows nor why a record is skipped (each chunk used to guess its own shape from its
/// own first records: an `AKSAudit` row after a native event became a row in one cut and a
/// shape mismatch in another).
#[test]
fn the_shape_is_the_inputs_however_it_is_cut() {
    let native = String::from_utf8(generated(Shape::Native, 3)).unwrap();
    let aks = r#"{"TimeGenerated":"2026-11-20T10:00:00Z","Verb":"get","Type":"AKSAudit","_ResourceId":"/s/managedClusters/c"}"#;
    let mut input = "not json\n".repeat(150);
    input.push_str(native.lines().next().unwrap());
    input.push('\n');
    for _ in 0..40 {
        input.push_str("not json either\n");
        input.push_str(aks);
        input.push('\n');
        input.push_str(&native);
    }
    let data = input.into_bytes();
    let (want, want_report) = AuditFrame::from_slice(&data, &ParseOptions::new()).unwrap();
    assert_eq!(want_report.shape, Some(Shape::Native));
    assert_eq!(want.height(), 1 + 40 * 3);
    for (block, chunk) in [(64 << 20, 1 << 20), (4 << 10, 512), (64 << 10, 256)] {
        let (got, report) = ReaderBuilder::new()
            .block_bytes(block)
            .chunk_bytes(chunk)
            .read_slice(&data, "mem")
            .unwrap();
        assert_same(&want, &got);
        assert_eq!(
            report.parse.skipped, want_report.skipped,
            "{block} / {chunk}"
        );
    }
}

#[test]
fn error_positions_are_exact_across_chunks_and_blocks() {
    let data = generated(Shape::Native, 2000);
    let mut lines: Vec<&[u8]> = data
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let bad_lines = [3usize, 777, 1500, 1999];
    for &i in &bad_lines {
        lines[i - 1] = b"{\"kind\":\"Event\",\"verb\":";
    }
    let input = lines.join(&b'\n');
    let offsets: Vec<u64> = bad_lines
        .iter()
        .map(|&i| lines[..i - 1].iter().map(|l| l.len() as u64 + 1).sum())
        .collect();
    let (_, r) = ReaderBuilder::new()
        .block_bytes(64 << 10)
        .chunk_bytes(4 << 10)
        .read_slice(&input, "audit.log")
        .unwrap();
    assert_eq!(r.parse.skipped.get(&SkipReason::Json), Some(&4));
    assert_eq!(r.parse.rows, 1996);
    let got: Vec<(u64, u64)> = r
        .parse
        .errors
        .iter()
        .map(|e| e.position().map(|p| (p.line, p.byte)).unwrap())
        .collect();
    let want: Vec<(u64, u64)> = bad_lines
        .iter()
        .map(|&l| l as u64)
        .zip(offsets.iter().copied())
        .collect();
    assert_eq!(got, want);
    assert!(
        r.parse.errors[0].to_string().starts_with("audit.log:3:"),
        "{}",
        r.parse.errors[0]
    );

    // Strict: the first error in input order, also when it is in a later piece than the
    // start and pieces after it fail too (they are parsed at the same time).
    let mut first_ok = lines.clone();
    first_ok[2] = lines[3];
    for (input, first) in [(input, 3), (first_ok.join(&b'\n'), 777)] {
        let err = ReaderBuilder::new()
            .strict(true)
            .block_bytes(64 << 10)
            .chunk_bytes(4 << 10)
            .read_slice(&input, "audit.log")
            .unwrap_err();
        let Error::Parse(e) = err else {
            panic!("{err}")
        };
        assert_eq!(e.position().map(|p| p.line), Some(first));
    }
}

#[test]
fn a_one_pass_read_reports_progress_in_order_up_to_the_whole_input() {
    use std::sync::{Arc, Mutex};
    let data = generated(Shape::AksAudit, 3000);
    let d = tmpdir("progress");
    let path = d.join("a.log");
    std::fs::write(&path, &data).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let (frame, _) = ReaderBuilder::new()
        .block_bytes(256 << 10)
        .chunk_bytes(64 << 10)
        .progress(Arc::new(move |p| {
            s.lock().unwrap().push((p.bytes.unwrap(), p.rows));
        }))
        .read_path(&path)
        .unwrap();
    let seen = seen.lock().unwrap();
    // About one report per block, never going back, the last one the whole input.
    let blocks = data.len().div_ceil(256 << 10);
    assert!(
        seen.len() >= blocks / 2 && seen.len() <= blocks + 1,
        "{} reports for {blocks} blocks",
        seen.len()
    );
    assert!(seen
        .windows(2)
        .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1));
    assert_eq!(
        seen.last(),
        Some(&(data.len() as u64, frame.height() as u64))
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn files_gz_and_directories_in_path_order() {
    let d = tmpdir("dir");
    let native = generated(Shape::Native, 200);
    let aks = generated(Shape::AksAudit, 100);
    std::fs::create_dir_all(d.join("y=2026/m=11/d=20/h=10")).unwrap();
    std::fs::create_dir_all(d.join("y=2026/m=11/d=20/h=11")).unwrap();
    std::fs::write(d.join("y=2026/m=11/d=20/h=11/PT1H.json"), &aks).unwrap();
    std::fs::write(d.join("y=2026/m=11/d=20/h=10/PT1H.json.gz"), gzip(&native)).unwrap();
    std::fs::write(d.join("y=2026/m=11/d=20/h=10/.hidden.json"), b"junk").unwrap();
    std::fs::write(d.join("notes.md"), b"ignored").unwrap();
    let (f, r) = ReaderBuilder::new().read_path(&d).unwrap();
    assert_eq!(f.height(), 300);
    assert_eq!(r.inputs.len(), 2);
    assert!(r.inputs[0].name.ends_with("h=10/PT1H.json.gz"));
    assert_eq!(r.inputs[0].shape, Some(Shape::Native));
    assert_eq!(r.inputs[1].shape, Some(Shape::AksAudit));
    assert_eq!((r.inputs[0].rows, r.inputs[1].rows), (200, 100));
    let shapes = f
        .column(auditframe::Column::SourceShape)
        .unwrap()
        .as_materialized_series()
        .cast(&DataType::String)
        .unwrap();
    assert_eq!(shapes.str().unwrap().get(0), Some("native"));
    assert_eq!(shapes.str().unwrap().get(299), Some("aks_audit"));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn errors_in_second_file_count_lines_from_its_own_start() {
    let d = tmpdir("two");
    std::fs::write(d.join("a.log"), generated(Shape::Native, 50)).unwrap();
    let mut b = generated(Shape::Native, 5);
    b.extend_from_slice(b"not json\n");
    std::fs::write(d.join("b.log"), b).unwrap();
    let (_, r) = ReaderBuilder::new().read_path(&d).unwrap();
    let p = r.parse.errors[0].position().unwrap();
    assert!(p.source.as_deref().unwrap().ends_with("b.log"));
    assert_eq!(p.line, 6);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn truncated_gzip_keeps_what_was_decoded_or_fails_in_strict_mode() {
    let d = tmpdir("gz");
    let gz = gzip(&generated(Shape::Native, 500));
    let p = d.join("cut.json.gz");
    std::fs::write(&p, &gz[..gz.len() * 2 / 3]).unwrap();
    let (f, r) = ReaderBuilder::new().read_path(&p).unwrap();
    assert!(f.height() > 100 && f.height() < 500, "{}", f.height());
    assert!(r.inputs[0].truncated.is_some());
    // The partial last line is counted, never silently dropped.
    assert_eq!(r.parse.skipped.get(&SkipReason::Json), Some(&1));
    let err = ReaderBuilder::new().strict(true).read_path(&p).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(err.to_string().contains("cut.json.gz"));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let err = ReaderBuilder::new()
        .read_path(Path::new("/nonexistent/audit.log"))
        .unwrap_err();
    assert!(
        err.to_string().starts_with("/nonexistent/audit.log:"),
        "{err}"
    );
}

#[test]
fn huge_single_line_is_bounded_and_reported() {
    let mut data = generated(Shape::Native, 3);
    data.extend_from_slice(b"{\"kind\":\"Event\",\"auditID\":\"");
    data.extend(std::iter::repeat_n(b'x', 3 << 20));
    data.extend_from_slice(b"\"}\n");
    data.extend_from_slice(&generated(Shape::Native, 2));
    let (f, r) = ReaderBuilder::new()
        .block_bytes(64 << 10)
        .max_record_bytes(256 << 10)
        .read_slice(&data, "big")
        .unwrap();
    assert_eq!(f.height(), 5);
    assert_eq!(r.parse.skipped.get(&SkipReason::TooLarge), Some(&1));
    assert_eq!(r.parse.errors[0].position().map(|p| p.line), Some(4));
}

#[test]
fn json_array_and_every_shape_through_the_reader() {
    let mut arr = Vec::new();
    Generator::new(GeneratorOptions::default().with_events(700).with_seed(5))
        .write_array(Shape::AksAudit, &mut arr);
    let (f, r) = ReaderBuilder::new().read_slice(&arr, "arr.json").unwrap();
    assert_eq!((f.height(), r.parse.shape), (700, Some(Shape::AksAudit)));
    for shape in Shape::ALL {
        let data = generated(*shape, 400);
        let (f, r) = ReaderBuilder::new()
            .chunk_bytes(8 << 10)
            .read_slice(&data, "x")
            .unwrap();
        assert_eq!((f.height(), r.parse.skipped_total()), (400, 0), "{shape}");
        assert_eq!(r.parse.shape, Some(*shape));
    }
}

#[test]
fn streaming_frames_give_the_same_analysis_and_positions_as_one_frame() {
    use auditframe::analysis::partial;
    use auditframe::{analyze, AnalysisOptions, GroupKey, Partial, TimeWindow};
    let d = tmpdir("stream");
    let mut data = generated(Shape::Native, 6000);
    data.extend_from_slice(b"{broken\n");
    data.extend_from_slice(&generated(Shape::AksAudit, 10)); // shape mismatch, counted
    std::fs::write(d.join("a.log"), &data).unwrap();
    std::fs::write(d.join("b.json.gz"), gzip(&generated(Shape::Native, 3000))).unwrap();
    let mut arr = Vec::new();
    Generator::new(GeneratorOptions::default().with_events(500).with_seed(8))
        .write_array(Shape::AksAudit, &mut arr);
    std::fs::write(d.join("c.json"), &arr).unwrap();

    let reader = ReaderBuilder::new()
        .block_bytes(256 << 10)
        .chunk_bytes(16 << 10);
    let (whole, whole_report) = reader.read_path(&d).unwrap();
    for opts in [
        AnalysisOptions::default(),
        AnalysisOptions::default()
            .with_key(GroupKey::User)
            .with_percentiles(vec![50.0, 99.9])
            .with_exclude_long_running(true),
        AnalysisOptions::default().with_window(TimeWindow::Between {
            start: 1_795_169_000_000_000_000,
            end: 1_795_172_000_000_000_000,
        }),
    ] {
        let mut acc = Partial::default();
        let mut frames = 0;
        let report = reader
            .for_each_frame(std::slice::from_ref(&d), |frame, _| {
                frames += 1;
                acc.merge(partial(&frame, &opts)?);
                Ok(())
            })
            .unwrap();
        assert!(frames > 10, "{frames} frames");
        assert_eq!(acc.finish(&opts).unwrap(), analyze(&whole, &opts).unwrap());
        assert_eq!(report.parse.rows, whole_report.parse.rows);
        assert_eq!(report.parse.skipped, whole_report.parse.skipped);
        assert_eq!(report.parse.errors, whole_report.parse.errors);
        assert_eq!(report.inputs, whole_report.inputs);
    }
    assert_eq!(
        whole_report.parse.errors[0].position().map(|p| p.line),
        Some(6001)
    );
    // Strict mode stops at the first bad record, with its position.
    let err = reader
        .clone()
        .strict(true)
        .for_each_frame(std::slice::from_ref(&d), |_, _| Ok(()))
        .unwrap_err();
    let Error::Parse(e) = err else {
        panic!("{err}")
    };
    assert_eq!(e.position().map(|p| p.line), Some(6001));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_cancelled_read_stops_at_the_next_block_mapped_or_gzipped() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    let data = generated(Shape::Native, 3000);
    let dir = tmpdir("cancel");
    std::fs::write(dir.join("a.json"), &data).unwrap();
    std::fs::write(dir.join("a.json.gz"), gzip(&data)).unwrap();
    for name in ["a.json", "a.json.gz"] {
        let flag = Arc::new(AtomicBool::new(false));
        let blocks = Arc::new(AtomicUsize::new(0));
        let (f, b) = (flag.clone(), blocks.clone());
        // The flag is raised after the first block, as a Ctrl-C handler would from elsewhere.
        let reader = ReaderBuilder::new()
            .block_bytes(64 << 10)
            .progress(Arc::new(move |_| {
                b.fetch_add(1, Ordering::SeqCst);
                f.store(true, Ordering::SeqCst);
            }))
            .cancel(flag.clone());
        let e = reader.read_path(dir.join(name)).unwrap_err();
        assert!(matches!(e, Error::Cancelled), "{name}: {e}");
        assert_eq!(blocks.load(Ordering::SeqCst), 1, "{name}");
        // Streaming stops too, and an unset flag changes nothing.
        let mut frames = 0;
        let e = reader
            .for_each_frame(&[dir.join(name)], |_, _: &auditframe::ParseReport| {
                frames += 1;
                Ok(())
            })
            .unwrap_err();
        assert!(matches!(e, Error::Cancelled), "{name}: {e}");
        assert_eq!(frames, 0, "{name}: a cancelled block is not handed on");
        let (frame, _) = ReaderBuilder::new()
            .block_bytes(64 << 10)
            .cancel(Arc::new(AtomicBool::new(false)))
            .read_path(dir.join(name))
            .unwrap();
        assert_eq!(frame.height(), 3000, "{name}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn audit_id_keys_drop_the_same_copies_as_the_column_across_chunks() {
    use auditframe::copies::{with_copy_key_columns, CategoryCopies};
    use auditframe::{Column, Projection};
    // AzureDiagnostics rows of both categories: every write exported again under
    // kube-audit-admin, later in the file (the copies cross chunks and blocks).
    let text = String::from_utf8(generated(Shape::AzureDiagnostics, 3000)).unwrap();
    let mut data = text.clone();
    for line in text.lines() {
        let read = ["get", "list", "watch"]
            .iter()
            .any(|v| line.contains(&format!(r#"\"verb\":\"{v}\""#)));
        if !read {
            data += &line.replace(
                r#""Category":"kube-audit""#,
                r#""Category":"kube-audit-admin""#,
            );
            data.push('\n');
        }
    }
    let analyses = Projection::analyses();
    let read = |keys: bool| {
        let projection = match keys {
            true => with_copy_key_columns(analyses).without(Column::AuditId),
            false => with_copy_key_columns(analyses),
        };
        let (frame, _) = ReaderBuilder::new()
            .block_bytes(256 << 10)
            .chunk_bytes(16 << 10)
            .projection(projection)
            .copy_keys(keys)
            .read_slice(data.as_bytes(), "mem")
            .unwrap();
        let (frame, copies) = CategoryCopies::drop_copies_in_whole(&frame).unwrap();
        let names: Vec<&str> = analyses.columns().map(|c| c.name()).collect();
        let same_columns = frame.dataframe().select(names).unwrap();
        (
            AuditFrame::from_dataframe(same_columns).unwrap(),
            copies.dropped(),
        )
    };
    let (by_column, dropped) = read(false);
    let (by_keys, dropped_by_keys) = read(true);
    assert!(dropped > 500, "{dropped}");
    assert_eq!(dropped_by_keys, dropped);
    assert_eq!(by_keys.height(), 3000);
    assert_same(&by_column, &by_keys);
}

/// A mapped file drops the page-table entries of each parsed chunk while other chunks are
/// parsed (lines that run across a chunk's end included): the frame is the same as from a
/// plain read of the file and from the bytes.
#[test]
fn mapped_files_read_exactly_while_parsed_chunks_are_dropped() {
    let data = generated(Shape::AksAudit, 3500);
    assert!(
        data.len() > 4 << 20,
        "{} bytes: too few to drop whole chunks",
        data.len()
    );
    let d = tmpdir("mapped-forget");
    let path = d.join("big.log");
    std::fs::write(&path, &data).unwrap();
    let (want, _) = AuditFrame::from_slice(&data, &ParseOptions::new()).unwrap();
    for mmap in [true, false] {
        let (got, report) = ReaderBuilder::new()
            .block_bytes(3 << 20)
            .chunk_bytes(1 << 20)
            .mmap(mmap)
            .read_path(&path)
            .unwrap();
        assert_same(&want, &got);
        assert_eq!(report.parse.rows, 3500, "mmap {mmap}");
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn streamed_frames_of_a_mapped_file_come_in_input_order_and_an_error_stops_them() {
    let data = generated(Shape::AksAudit, 3000);
    let d = tmpdir("stream-order");
    let path = d.join("a.log");
    std::fs::write(&path, &data).unwrap();
    let (want, _) = AuditFrame::from_slice(&data, &ParseOptions::new()).unwrap();
    let reader = ReaderBuilder::new()
        .block_bytes(256 << 10)
        .chunk_bytes(16 << 10);
    // The blocks are parsed ahead of the one handed on: the frames still arrive in order.
    let mut frames: Vec<AuditFrame> = Vec::new();
    reader
        .for_each_frame(std::slice::from_ref(&path), |frame, _| {
            frames.push(frame);
            Ok(())
        })
        .unwrap();
    assert!(frames.len() > 10, "{} frames", frames.len());
    let ids = |f: &AuditFrame| -> Vec<Option<String>> {
        let s = f
            .dataframe()
            .column("audit_id")
            .unwrap()
            .as_materialized_series();
        let s = s.cast(&DataType::String).unwrap();
        s.str()
            .unwrap()
            .iter()
            .map(|v| v.map(str::to_owned))
            .collect()
    };
    let streamed: Vec<Option<String>> = frames.iter().flat_map(ids).collect();
    assert_eq!(streamed.len(), 3000);
    assert_eq!(streamed, ids(&want));
    // An error from the callback ends the read with it; no frame follows.
    let mut calls = 0;
    let err = reader
        .for_each_frame(std::slice::from_ref(&path), |_, _| {
            calls += 1;
            if calls == 3 {
                return Err(Error::Cancelled);
            }
            Ok(())
        })
        .unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err}");
    assert_eq!(calls, 3);
    let _ = std::fs::remove_dir_all(&d);
}

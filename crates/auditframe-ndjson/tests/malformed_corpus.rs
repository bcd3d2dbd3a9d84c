//! The malformed-input corpus: every row of testdata/malformed/README.md's table is checked,
//! so the documented outcomes and the behaviour cannot drift apart.

use std::collections::BTreeMap;
use std::path::PathBuf;

use auditframe::SkipReason;
use auditframe_ndjson::{Error, ReaderBuilder};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/malformed")
}

struct Row {
    file: String,
    rows: u64,
    skips: BTreeMap<String, u64>,
    blank: u64,
    strict: String,
}

fn table() -> Vec<Row> {
    let readme = std::fs::read_to_string(dir().join("README.md")).unwrap();
    readme
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            let skips = cells[3]
                .split_whitespace()
                .filter(|s| *s != "-")
                .map(|kv| {
                    let (k, v) = kv.split_once('=').unwrap();
                    (k.to_owned(), v.parse().unwrap())
                })
                .collect();
            Row {
                file: cells[0].trim_matches('`').to_owned(),
                rows: cells[2].parse().unwrap(),
                skips,
                blank: cells[4].parse().unwrap(),
                strict: cells[5].to_owned(),
            }
        })
        .collect()
}

#[test]
fn every_documented_outcome_holds() {
    let rows = table();
    assert_eq!(rows.len(), 12, "the README table lists every corpus file");
    let on_disk = std::fs::read_dir(dir()).unwrap().filter(|e| {
        let n = e.as_ref().unwrap().file_name();
        let n = n.to_string_lossy();
        n.ends_with(".json") || n.ends_with(".gz")
    });
    assert_eq!(
        on_disk.count(),
        rows.len(),
        "every corpus file is in the table"
    );
    for r in rows {
        let path = dir().join(&r.file);
        let (frame, report) = ReaderBuilder::new().read_path(&path).unwrap();
        let skips: BTreeMap<String, u64> = report
            .parse
            .skipped
            .iter()
            .map(|(k, v)| (k.name().to_owned(), *v))
            .collect();
        assert_eq!(
            (frame.height() as u64, &skips, report.parse.blank_lines),
            (r.rows, &r.skips, r.blank),
            "{}",
            r.file
        );
        // Every skip is also reported with this file's name and a line.
        for e in &report.parse.errors {
            let p = e.position().unwrap();
            assert!(
                p.source.as_deref().unwrap().ends_with(&r.file) && p.line >= 1,
                "{e}"
            );
        }

        let strict = ReaderBuilder::new().strict(true).read_path(&path);
        match (r.strict.as_str(), strict) {
            ("ok", Ok((f, _))) => assert_eq!(f.height() as u64, r.rows, "{}", r.file),
            ("io", Err(Error::Io { path: p, .. })) => assert!(p.ends_with(&r.file)),
            (want, Err(Error::Parse(e))) => {
                let (reason, line) = want.split_once('@').unwrap();
                assert_eq!(
                    e.reason().map(SkipReason::name),
                    Some(reason),
                    "{}: {e}",
                    r.file
                );
                let p = e.position().unwrap();
                assert_eq!(p.line, line.parse::<u64>().unwrap(), "{}: {e}", r.file);
                assert!(e.to_string().contains(&r.file), "{e}");
            }
            (want, got) => panic!(
                "{}: wanted {want}, got {:?}",
                r.file,
                got.map(|(f, _)| f.height())
            ),
        }
    }
}

#[test]
fn a_100_mb_single_line_is_rejected_without_holding_it() {
    let mut data = Vec::with_capacity(101 << 20);
    data.extend_from_slice(br#"{"kind":"Event","auditID":"ok","verb":"get"}"#);
    data.push(b'\n');
    data.extend_from_slice(br#"{"kind":"Event","auditID":""#);
    data.resize(data.len() + (100 << 20), b'x');
    data.extend_from_slice(b"\"}\n");
    data.extend_from_slice(br#"{"kind":"Event","auditID":"ok2","verb":"get"}"#);
    data.push(b'\n');
    let (f, r) = ReaderBuilder::new().read_slice(&data, "huge.json").unwrap();
    assert_eq!(f.height(), 2);
    assert_eq!(r.parse.skipped.get(&SkipReason::TooLarge), Some(&1));
    assert_eq!(r.parse.errors[0].position().map(|p| p.line), Some(2));
    let e = ReaderBuilder::new()
        .strict(true)
        .read_slice(&data, "huge.json")
        .unwrap_err();
    assert!(e.to_string().contains("exceeds the limit"), "{e}");
}

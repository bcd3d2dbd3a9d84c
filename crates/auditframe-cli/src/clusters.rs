//! Rows and files read per cluster, for the run's summary (`"clusters"` in the JSON).

use std::collections::BTreeMap;

use auditframe::polars::prelude as pl;
use auditframe::polars::prelude::SeriesMethods;
use auditframe::{AuditFrame, Column};
use rayon::prelude::*;

/// Per cluster (`None`: rows naming no cluster, e.g. native logs): rows read and the number
/// of input files that held at least one of them.
#[derive(Default)]
pub(crate) struct ClusterTally {
    per: BTreeMap<Option<String>, (u64, u64)>,
    /// Rows per cluster of the file being read.
    file: BTreeMap<Option<String>, u64>,
}

impl ClusterTally {
    /// Counts rows of the file being read: the frame's rows from `skip`, `take` of them.
    pub(crate) fn add(
        &mut self,
        frame: &AuditFrame,
        skip: usize,
        take: usize,
    ) -> auditframe::Result<()> {
        let Ok(col) = frame.column(Column::Cluster) else {
            return Ok(());
        };
        let slice = col.as_materialized_series().slice(skip as i64, take);
        if let Some(counts) = code_counts(&slice)? {
            for (name, n) in counts {
                *self.file.entry(name).or_default() += n;
            }
            return Ok(());
        }
        // Counted per distinct value (a handful), not per row.
        let counts = slice.value_counts(false, false, "n".into(), false)?;
        let names = counts.column(slice.name())?.cast(&pl::DataType::String)?;
        let ns = counts.column("n")?.cast(&pl::DataType::UInt64)?;
        for (name, n) in names.str()?.iter().zip(ns.u64()?.iter()) {
            *self.file.entry(name.map(str::to_owned)).or_default() += n.unwrap_or(0);
        }
        Ok(())
    }

    /// The file being read is done: its clusters count it once each.
    pub(crate) fn end_file(&mut self) {
        for (name, n) in std::mem::take(&mut self.file) {
            let e = self.per.entry(name).or_default();
            e.0 += n;
            e.1 += 1;
        }
    }

    /// Counts a frame holding whole files of `rows_per_file` rows each, in order.
    pub(crate) fn add_files(
        &mut self,
        frame: &AuditFrame,
        rows_per_file: &[u64],
    ) -> auditframe::Result<()> {
        let mut skip = 0usize;
        for &n in rows_per_file {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            self.add(frame, skip, n)?;
            self.end_file();
            skip = skip.saturating_add(n);
        }
        Ok(())
    }

    /// `(cluster, rows, files)`, named clusters first in name order.
    pub(crate) fn rows(&self) -> Vec<(Option<&str>, u64, u64)> {
        let mut v: Vec<_> = self
            .per
            .iter()
            .map(|(k, &(rows, files))| (k.as_deref(), rows, files))
            .collect();
        v.sort_by_key(|(k, _, _)| (k.is_none(), *k));
        v
    }
}

/// Rows per value of a categorical column with a small dictionary, counted by code in one
/// pass over its chunks (polars' `value_counts` hashes every row: ~8 ms on one thread for
/// 1M rows, after the parallel parse). `None` for any other column.
#[allow(clippy::type_complexity)]
fn code_counts(s: &pl::Series) -> auditframe::Result<Option<Vec<(Option<String>, u64)>>> {
    let pl::DataType::Categorical(_, mapping) = s.dtype() else {
        return Ok(None);
    };
    let size = mapping.num_cats_upper_bound();
    if size > 1 << 16 {
        return Ok(None);
    }
    let phys = s.to_physical_repr();
    let Ok(codes) = phys.u32() else {
        return Ok(None);
    };
    // The last slot counts nulls (and any code past the dictionary, which cannot name one).
    // Chunks on all threads: this runs between the parallel parse and the queries.
    let arrs: Vec<_> = codes.downcast_iter().collect();
    let counts = arrs
        .par_iter()
        .map(|arr| {
            let mut counts = vec![0u64; size + 1];
            // The values slice, with the validity looked at only when there are nulls: an
            // iterator of options cost ~15 instructions a row.
            let valid = arr.validity().filter(|v| v.unset_bits() > 0);
            for (i, &c) in arr.values().iter().enumerate() {
                let slot = match valid {
                    Some(v) if !v.get_bit(i) => size,
                    _ => (c as usize).min(size),
                };
                if let Some(n) = counts.get_mut(slot) {
                    *n += 1;
                }
            }
            counts
        })
        .reduce(
            || vec![0u64; size + 1],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                a
            },
        );
    Ok(Some(
        counts
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(c, &n)| {
                let name = u32::try_from(c)
                    .ok()
                    .filter(|_| c < size)
                    .and_then(|c| mapping.cat_to_str(c))
                    .map(str::to_owned);
                (name, n)
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use auditframe::ParseOptions;

    #[test]
    fn rows_and_files_per_cluster() {
        let rec = |c: &str| {
            format!(
                r#"{{"time":"2026-11-20T10:00:00Z","resourceId":"/x/MANAGEDCLUSTERS/{c}","category":"kube-audit","properties":{{"log":"{{\"auditID\":\"a\",\"verb\":\"get\"}}"}}}}"#
            )
        };
        let text = [rec("A"), rec("A"), rec("B"), rec("A")].join("\n");
        let (frame, _) = AuditFrame::from_slice(text.as_bytes(), &ParseOptions::new()).unwrap();
        let mut t = ClusterTally::default();
        // Files of 2, 1 and 1 rows: A in files 1 and 3, B in file 2.
        t.add_files(&frame, &[2, 1, 1]).unwrap();
        assert_eq!(t.rows(), vec![(Some("a"), 3, 2), (Some("b"), 1, 1)]);
    }

    #[test]
    fn counts_by_code_equal_value_counts_across_chunks_and_nulls() {
        use auditframe::decoder::FrameBuilder;
        let rec = |c: &str| {
            format!(
                r#"{{"time":"2026-11-20T10:00:00Z","resourceId":"/x/MANAGEDCLUSTERS/{c}","category":"kube-audit","properties":{{"log":"{{\"auditID\":\"a\",\"verb\":\"get\"}}"}}}}"#
            )
        };
        // A record without a resource ID names no cluster (null); two builders give two
        // chunks, whose dictionaries list the clusters in different orders.
        let unnamed = r#"{"time":"2026-11-20T10:00:00Z","category":"kube-audit","properties":{"log":"{\"auditID\":\"n\",\"verb\":\"get\"}"}}"#;
        let opts = ParseOptions::new();
        let mut all = FrameBuilder::new(&opts, None);
        for lines in [
            [rec("B"), rec("A"), unnamed.to_owned()],
            [rec("A"), unnamed.to_owned(), rec("C")],
        ] {
            let mut b = FrameBuilder::new(&opts, None);
            b.push_lines(lines.join("\n").as_bytes()).unwrap();
            all.append(b);
        }
        let (frame, _) = all.finish().unwrap();
        assert_eq!(frame.height(), 6);
        let col = frame
            .column(Column::Cluster)
            .unwrap()
            .as_materialized_series();
        assert_eq!(col.n_chunks(), 2);
        let mut got = code_counts(col).unwrap().unwrap();
        got.sort();
        assert_eq!(
            got,
            vec![
                (None, 2),
                (Some("a".to_owned()), 2),
                (Some("b".to_owned()), 1),
                (Some("c".to_owned()), 1)
            ]
        );
        let mut t = ClusterTally::default();
        t.add_files(&frame, &[6]).unwrap();
        assert_eq!(
            t.rows(),
            vec![
                (Some("a"), 2, 1),
                (Some("b"), 1, 1),
                (Some("c"), 1, 1),
                (None, 2, 1)
            ]
        );
    }
}

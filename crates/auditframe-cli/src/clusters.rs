//! Rows and files read per cluster, for the run's summary (`"clusters"` in the JSON).

use std::collections::BTreeMap;

use auditframe::{AuditFrame, Column};

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
        // Frames without the column (e.g. read with a projection that leaves it out) count
        // nothing.
        if frame.column(Column::Cluster).is_err() {
            return Ok(());
        }
        for (name, n) in frame.value_counts(Column::Cluster, skip..skip.saturating_add(take))? {
            *self.file.entry(name).or_default() += n;
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
    fn rows_per_cluster_across_chunks_and_nulls() {
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
        // Dictionary order (first seen: b, a, c), then the null rows.
        let got = frame.value_counts(Column::Cluster, 0..6).unwrap();
        let name = |s: &str| Some(s.to_owned());
        assert_eq!(
            got,
            [(name("b"), 1), (name("a"), 2), (name("c"), 1), (None, 2)]
        );
        // A range across the chunk boundary, and one past the end.
        let got = frame.value_counts(Column::Cluster, 2..5).unwrap();
        assert_eq!(got, [(name("a"), 1), (None, 2)]);
        assert_eq!(
            frame.value_counts(Column::Cluster, 5..9).unwrap(),
            [(name("c"), 1)]
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

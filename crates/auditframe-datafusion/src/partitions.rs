//! How a table's files become a scan's partitions: grouped into *copy units* — the files that
//! may hold the two copies of one request — and the units spread over the partitions by size.
//!
//! AKS writes a request exported under both `kube-audit` and `kube-audit-admin` twice, with
//! the same time: in one AzureDiagnostics file, or in the two categories' storage blobs of
//! the same cluster and hour. When every unit lies in one partition, each partition can drop
//! copies as it reads, exactly (auditframe's `CategoryCopies`), in the scan's one pass.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use auditframe::storage::{cluster_of_path, partition_hour};

/// The unit a file belongs to: a storage blob's (cluster, hour), else the file itself.
fn unit_of(path: &Path) -> (Option<(String, i64)>, Option<PathBuf>) {
    match (cluster_of_path(path), partition_hour(path)) {
        (Some(cluster), Some((hour, _))) => (Some((cluster, hour)), None),
        _ => (None, Some(path.to_path_buf())),
    }
}

/// Whether copies can be dropped within units: every file is a storage blob (copies share
/// cluster and hour), or there is one file.
pub(crate) fn copies_stay_in_units(files: &[(PathBuf, u64)]) -> bool {
    files.len() <= 1 || files.iter().all(|(f, _)| unit_of(f).0.is_some())
}

/// `files` split into at most `n` groups of about equal bytes, a copy unit never split
/// (units largest first, each to the lightest group); files sorted within a group, each
/// group with its bytes.
pub(crate) fn partitions(files: &[(PathBuf, u64)], n: usize) -> Vec<(u64, Vec<PathBuf>)> {
    let mut units: BTreeMap<_, (u64, Vec<PathBuf>)> = BTreeMap::new();
    for (path, size) in files {
        let u = units.entry(unit_of(path)).or_default();
        u.0 += size;
        u.1.push(path.clone());
    }
    let mut order: Vec<(u64, Vec<PathBuf>)> = units.into_values().collect();
    order.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let n = n.clamp(1, order.len().max(1));
    let mut groups: Vec<(u64, Vec<PathBuf>)> = vec![(0, Vec::new()); n];
    for (size, paths) in order {
        if let Some(g) = groups.iter_mut().min_by_key(|g| g.0) {
            g.0 += size;
            g.1.extend(paths);
        }
    }
    groups
        .into_iter()
        .map(|(bytes, mut files)| {
            files.sort();
            (bytes, files)
        })
        .filter(|g| !g.1.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(category: &str, cluster: &str, h: u32, size: u64) -> (PathBuf, u64) {
        (
            PathBuf::from(format!(
                "insights-logs-{category}/resourceId=/S/MANAGEDCLUSTERS/{cluster}/y=2026/m=11/d=20/h={h:02}/m=00/PT1H.json"
            )),
            size,
        )
    }

    #[test]
    fn partitions_balance_bytes_and_keep_every_file() {
        let files: Vec<(PathBuf, u64)> = [50, 40, 30, 20, 10, 10]
            .iter()
            .enumerate()
            .map(|(i, s)| (PathBuf::from(format!("f{i}")), *s))
            .collect();
        let groups = partitions(&files, 2);
        let bytes = |g: &Vec<PathBuf>| -> u64 {
            g.iter()
                .map(|p| files.iter().find(|f| &f.0 == p).map_or(0, |f| f.1))
                .sum()
        };
        assert_eq!((bytes(&groups[0].1), bytes(&groups[1].1)), (80, 80));
        assert_eq!((groups[0].0, groups[1].0), (80, 80));
        assert_eq!(groups.iter().flat_map(|g| &g.1).count(), 6);
        assert_eq!(partitions(&files, 100).len(), 6);
        assert_eq!(partitions(&files, 0).len(), 1);
        assert!(!copies_stay_in_units(&files));
        assert!(copies_stay_in_units(&files[..1]));
    }

    #[test]
    fn the_two_categories_of_a_cluster_hour_share_a_partition() {
        let files = vec![
            blob("kube-audit", "A", 9, 100),
            blob("kube-audit-admin", "A", 9, 30),
            blob("kube-audit", "A", 10, 90),
            blob("kube-audit-admin", "A", 10, 30),
            blob("kube-audit", "B", 9, 80),
            blob("kube-audit-admin", "B", 9, 20),
        ];
        assert!(copies_stay_in_units(&files));
        let groups = partitions(&files, 8);
        assert_eq!(groups.len(), 3);
        for (_, g) in &groups {
            assert_eq!(g.len(), 2);
            let unit: Vec<_> = g.iter().map(|p| unit_of(p).0).collect();
            assert_eq!(unit[0], unit[1]);
        }
        assert_eq!(partitions(&files, 2).iter().flat_map(|g| &g.1).count(), 6);
    }
}

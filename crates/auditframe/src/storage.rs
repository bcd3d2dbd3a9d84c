//! Azure storage-account export trees: the hour and the cluster a blob's path names.
//!
//! Diagnostic settings that archive to a storage account write one blob per resource and
//! hour:
//!
//! ```text
//! insights-logs-kube-audit/resourceId=/SUBSCRIPTIONS/<sub>/RESOURCEGROUPS/<rg>/PROVIDERS/
//!   MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/<name>/y=2026/m=11/d=20/h=10/m=00/PT1H.json
//! ```
//!
//! The records of a blob are those whose `time` falls in the hour its path names, so a time
//! window can skip whole files without opening them ([`prune_to_window`]). A file whose path
//! names no hour is always kept.

use std::path::{Path, PathBuf};

use crate::timestamp::days_from_civil;

const HOUR_NS: i64 = 3_600_000_000_000;

/// The hour `[start, end)` (Unix ns, UTC) that a storage export path names with its
/// `y=YYYY/m=MM/d=DD/h=HH` directories, or `None`.
///
/// ```
/// use auditframe::storage::partition_hour;
/// let p = "insights-logs-kube-audit/resourceId=/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/\
///          MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/AKS-1/y=2026/m=11/d=20/h=10/m=00/PT1H.json";
/// let (start, end) = partition_hour(p.as_ref()).unwrap();
/// assert_eq!(start, 1_779_271_200_000_000_000 + 184 * 86_400_000_000_000);
/// assert_eq!(end - start, 3_600_000_000_000);
/// assert_eq!(partition_hour("logs/audit.json".as_ref()), None);
/// ```
pub fn partition_hour(path: &Path) -> Option<(i64, i64)> {
    let parts: Vec<(&str, &str)> = path
        .components()
        .filter_map(|c| c.as_os_str().to_str()?.split_once('='))
        .collect();
    // The last `y=` starts the date: `m=` after it is the month, the second `m=` (minutes)
    // is ignored.
    let at = parts
        .iter()
        .rposition(|(k, _)| k.eq_ignore_ascii_case("y"))?;
    let mut rest = parts.get(at..)?.iter();
    let mut next = |key: &str| -> Option<i64> {
        let (k, v) = rest.next()?;
        k.eq_ignore_ascii_case(key)
            .then(|| v.parse::<i64>().ok())
            .flatten()
    };
    let (y, m, d, h) = (next("y")?, next("m")?, next("d")?, next("h")?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || !(0..=23).contains(&h) {
        return None;
    }
    if !(1970..=2262).contains(&y) {
        return None;
    }
    let start = (days_from_civil(y, m, d) * 24 + h).checked_mul(HOUR_NS)?;
    Some((start, start.checked_add(HOUR_NS)?))
}

/// The managed cluster a storage export path names (`…/MANAGEDCLUSTERS/<name>/…`),
/// lower-cased as the `cluster` column holds it, or `None`.
///
/// ```
/// use auditframe::storage::cluster_of_path;
/// let p = "x/resourceId=/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/AKS-Prod/y=2026/PT1H.json";
/// assert_eq!(cluster_of_path(p.as_ref()).as_deref(), Some("aks-prod"));
/// ```
pub fn cluster_of_path(path: &Path) -> Option<String> {
    let mut it = path.components().map(|c| c.as_os_str().to_str());
    while let Some(c) = it.next() {
        if c.is_some_and(|c| c.eq_ignore_ascii_case("managedclusters")) {
            return it.next().flatten().map(str::to_lowercase);
        }
    }
    None
}

/// Files kept for a time window (`start..=end`, Unix ns) and how many were pruned: a file is
/// pruned only when its path names an hour that lies wholly outside the window.
///
/// ```
/// use std::path::PathBuf;
/// use auditframe::storage::{partition_hour, prune_to_window};
/// let files: Vec<PathBuf> = ["a/y=2026/m=11/d=20/h=09/m=00/PT1H.json",
///                            "a/y=2026/m=11/d=20/h=10/m=00/PT1H.json",
///                            "b/native.log"].iter().map(PathBuf::from).collect();
/// let (ten, _) = partition_hour(files[1].as_ref()).unwrap();
/// let (kept, pruned) = prune_to_window(files, ten + 1, ten + 60_000_000_000);
/// assert_eq!(pruned, 1);
/// assert_eq!(kept.len(), 2);
/// ```
pub fn prune_to_window(files: Vec<PathBuf>, start: i64, end: i64) -> (Vec<PathBuf>, usize) {
    let before = files.len();
    let kept: Vec<PathBuf> = files
        .into_iter()
        .filter(|f| partition_hour(f).is_none_or(|(a, b)| a <= end && b > start))
        .collect();
    let pruned = before - kept.len();
    (kept, pruned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_and_clusters_from_paths() {
        let p = Path::new("r/MANAGEDCLUSTERS/c1/y=2026/m=01/d=01/h=00/m=00/PT1H.json");
        let (a, b) = partition_hour(p).unwrap();
        assert_eq!(a, days_from_civil(2026, 1, 1) * 24 * HOUR_NS);
        assert_eq!(b - a, HOUR_NS);
        assert_eq!(cluster_of_path(p).as_deref(), Some("c1"));
        // Incomplete or out-of-range partitions name no hour.
        for bad in [
            "y=2026/m=01/d=01/PT1H.json",
            "y=2026/m=13/d=01/h=00/PT1H.json",
            "y=2026/m=01/d=01/h=24/PT1H.json",
            "y=2026/d=01/m=01/h=00/PT1H.json",
            "y=abc/m=01/d=01/h=00/PT1H.json",
        ] {
            assert_eq!(partition_hour(Path::new(bad)), None, "{bad}");
        }
        assert_eq!(cluster_of_path(Path::new("a/b/audit.log")), None);
    }

    #[test]
    fn pruning_keeps_overlapping_hours_and_unpartitioned_files() {
        let hour = |h: u32| PathBuf::from(format!("t/y=2026/m=11/d=20/h={h:02}/m=00/PT1H.json"));
        let files: Vec<PathBuf> = (0..24).map(hour).chain([PathBuf::from("x.json")]).collect();
        let (ten, _) = partition_hour(&hour(10)).unwrap();
        // 10:30 to 12:00 exactly: hours 10, 11 and 12 (12:00:00 is in the window).
        let (kept, pruned) = prune_to_window(files, ten + HOUR_NS / 2, ten + 2 * HOUR_NS);
        assert_eq!(pruned, 21);
        assert_eq!(
            kept,
            vec![hour(10), hour(11), hour(12), PathBuf::from("x.json")]
        );
    }
}

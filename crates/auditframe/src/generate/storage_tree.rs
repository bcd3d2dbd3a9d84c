//! A generated storage-account export: one blob per category, cluster and hour, as AKS
//! diagnostic settings write them, with the quirks of real exports — large request bodies
//! whose `properties.log` is cut at 16 KiB, and (optionally) the `kube-audit-admin` copies.

use std::collections::BTreeMap;

use super::write::{native_string_with_body, time_generated};
use super::{push_json_str, push_timestamp, Generator, GeneratorOptions, Rng};
use crate::timestamp::civil_from_days;

const NANOS_PER_HOUR: i64 = 3_600 * 1_000_000_000;

/// Where real exports cut `properties.log`.
pub const STORAGE_LOG_LIMIT: usize = 16 * 1024;

/// How a storage tree is generated; the traffic of each cluster comes from
/// [`GeneratorOptions`] (its events, span and story), seeded per cluster.
#[derive(Debug, Clone)]
pub struct StorageTreeOptions {
    clusters: usize,
    admin_copies: bool,
    large_body_every: u64,
    cut_at: usize,
}

impl Default for StorageTreeOptions {
    fn default() -> Self {
        StorageTreeOptions {
            clusters: 3,
            admin_copies: false,
            large_body_every: 200,
            cut_at: STORAGE_LOG_LIMIT,
        }
    }
}

impl StorageTreeOptions {
    /// Clusters in the tree (`aks-fleet-00`, `aks-fleet-01`, …).
    pub fn clusters(&self) -> usize {
        self.clusters
    }

    /// Sets the number of clusters.
    #[must_use]
    pub fn with_clusters(mut self, n: usize) -> Self {
        self.clusters = n;
        self
    }

    /// Whether every non-read request is also written under `kube-audit-admin`.
    pub fn admin_copies(&self) -> bool {
        self.admin_copies
    }

    /// Sets whether every non-read request is also written under `kube-audit-admin`.
    #[must_use]
    pub fn with_admin_copies(mut self, on: bool) -> Self {
        self.admin_copies = on;
        self
    }

    /// About one write in this many carries a large `requestObject` (20–48 KiB; 0: none).
    pub fn large_body_every(&self) -> u64 {
        self.large_body_every
    }

    /// Sets how often a write carries a large `requestObject` (0: never).
    #[must_use]
    pub fn with_large_body_every(mut self, n: u64) -> Self {
        self.large_body_every = n;
        self
    }

    /// The length `properties.log` is cut to, in bytes (default [`STORAGE_LOG_LIMIT`]).
    pub fn cut_at(&self) -> usize {
        self.cut_at
    }

    /// Sets the length `properties.log` is cut to.
    #[must_use]
    pub fn with_cut_at(mut self, n: usize) -> Self {
        self.cut_at = n;
        self
    }
}

/// One blob of the tree: its path under the container root and its records (NDJSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// `insights-logs-<category>/resourceId=/SUBSCRIPTIONS/…/MANAGEDCLUSTERS/<NAME>/y=…/m=…/d=…/h=…/m=00/PT1H.json`.
    pub path: String,
    /// Its records, one per line.
    pub data: Vec<u8>,
}

/// What a generated tree holds (what a reader of it should find).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StorageTreeSummary {
    /// Blobs written.
    pub blobs: usize,
    /// Records written (admin copies included).
    pub records: u64,
    /// Of them, `kube-audit-admin` copies.
    pub admin_copies: u64,
    /// Records whose `properties.log` was cut (admin copies included).
    pub cut: u64,
}

/// Generates a storage tree, handing each blob to `each` (one cluster's blobs are held at a
/// time). Deterministic for given options.
///
/// ```
/// use auditframe::generate::storage_tree::{write_storage_tree, StorageTreeOptions};
/// use auditframe::generate::GeneratorOptions;
///
/// let mut paths = Vec::new();
/// let tree = StorageTreeOptions::default().with_clusters(2).with_admin_copies(true);
/// let summary = write_storage_tree(&GeneratorOptions::default().with_events(500), &tree, |b| {
///     paths.push(b.path);
///     Ok::<(), std::io::Error>(())
/// })?;
/// assert_eq!(summary.blobs, paths.len());
/// assert!(paths[0].starts_with("insights-logs-kube-audit/resourceId=/SUBSCRIPTIONS/"));
/// assert!(paths.iter().any(|p| p.contains("/MANAGEDCLUSTERS/AKS-FLEET-01/y=2026/m=11/d=20/h=11/m=00/PT1H.json")));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_storage_tree<E>(
    opts: &GeneratorOptions,
    tree: &StorageTreeOptions,
    mut each: impl FnMut(Blob) -> Result<(), E>,
) -> Result<StorageTreeSummary, E> {
    let mut summary = StorageTreeSummary::default();
    for c in 0..tree.clusters {
        let name = format!("AKS-FLEET-{c:02}");
        let resource_id = format!(
            "/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/RG-FLEET/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/{name}"
        );
        let seed = opts.seed ^ (c as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut g = Generator::new(opts.clone().with_seed(seed));
        let mut bodies = Rng::new(seed ^ 0x00B0_D1E5);
        // (category, hour) → records.
        let mut blobs: BTreeMap<(&str, i64), Vec<u8>> = BTreeMap::new();
        while let Some(e) = g.next_event() {
            let read = matches!(e.verb, "get" | "list" | "watch");
            let body =
                (!read && tree.large_body_every > 0 && bodies.below(tree.large_body_every) == 0)
                    .then(|| 20 * 1024 + bodies.below(28 * 1024) as usize);
            let mut log = native_string_with_body(&e, body);
            log.push('\n');
            let cut = log.len() > tree.cut_at;
            if cut {
                let mut at = tree.cut_at;
                while !log.is_char_boundary(at) {
                    at -= 1;
                }
                log.truncate(at);
            }
            let time = time_generated(&e);
            let hour = time.div_euclid(NANOS_PER_HOUR);
            let categories: &[&str] = if tree.admin_copies && !read {
                &["kube-audit", "kube-audit-admin"]
            } else {
                &["kube-audit"]
            };
            for &category in categories {
                let out = blobs.entry((category, hour)).or_default();
                out.extend_from_slice(b"{\"time\":");
                push_timestamp(out, time, 7);
                out.extend_from_slice(b",\"resourceId\":");
                push_json_str(out, &resource_id);
                out.extend_from_slice(b",\"category\":");
                push_json_str(out, category);
                out.extend_from_slice(b",\"operationName\":\"Microsoft.ContainerService/managedClusters/diagnosticLogs/Read\",\"properties\":{\"log\":");
                push_json_str(out, &log);
                out.extend_from_slice(
                    b",\"stream\":\"stdout\",\"pod\":\"kube-apiserver-6b8f9c7d4-x2x9z\"}}\n",
                );
                summary.records += 1;
                summary.admin_copies += u64::from(category == "kube-audit-admin");
                summary.cut += u64::from(cut);
            }
        }
        for ((category, hour), data) in blobs {
            let secs = hour * 3_600;
            let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
            let h = secs.rem_euclid(86_400) / 3_600;
            let path = format!(
                "insights-logs-{category}/resourceId={resource_id}/y={y}/m={m:02}/d={d:02}/h={h:02}/m=00/PT1H.json"
            );
            summary.blobs += 1;
            each(Blob { path, data })?;
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_hold_their_hour_and_cut_logs_end_at_the_limit() {
        let opts = GeneratorOptions::default().with_events(3000);
        let tree = StorageTreeOptions::default()
            .with_clusters(2)
            .with_admin_copies(true)
            .with_large_body_every(20);
        let mut blobs = Vec::new();
        let summary = write_storage_tree(&opts, &tree, |b| {
            blobs.push(b);
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(summary.blobs, blobs.len());
        assert!(summary.cut > 0 && summary.admin_copies > 0);
        let mut records = 0;
        for b in &blobs {
            let hour = crate::storage::partition_hour(std::path::Path::new(&b.path)).unwrap();
            for line in b.data.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
                records += 1;
                let v: serde_json::Value = serde_json::from_slice(line).unwrap();
                let t = crate::time::parse_timestamp(v["time"].as_str().unwrap()).unwrap();
                assert!(t >= hour.0 && t < hour.1, "{} in {}", v["time"], b.path);
                assert!(v["properties"]["log"].as_str().unwrap().len() <= STORAGE_LOG_LIMIT);
            }
        }
        assert_eq!(records, summary.records);
    }
}

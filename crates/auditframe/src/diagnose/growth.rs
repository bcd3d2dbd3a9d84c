//! Cause 3: object growth — successful creates minus deletes per resource type (and
//! namespace), over the window and over time, flagging types on course to pass the guide's
//! 10 000-object threshold, with their top creators.
//!
//! Counted: final-stage events with a 2xx status of `create` (+1) and `delete` (−1) on a
//! resource itself — and `update` / `patch` answered `201 Created` (+1): a PUT of an object
//! that does not exist creates it where the resource allows create-on-update, and so does a
//! server-side apply patch; the API server answers those with 201 instead of 200 — (no subresource: `pods/binding`, `pods/eviction` and
//! `serviceaccounts/token` create nothing stored), except review APIs that are never stored
//! (`tokenreviews`, `subjectaccessreviews`, …) and `dryRun` requests. A `deletecollection`
//! removes an unknown number of objects: such calls are counted beside the net.

use std::collections::HashMap;

use polars::prelude::PlHashMap;

use serde::Serialize;

use super::rows::{is_success, Cols};
use super::DiagnoseOptions;
use crate::analysis::bin_start;
use crate::schema::Column;
use crate::time::{TimeSpan, Timestamp};
use crate::timestamp::NANOS_PER_SECOND;

/// Resources whose `create` is answered without storing anything.
const NOT_STORED: &[&str] = &[
    "tokenreviews",
    "subjectaccessreviews",
    "selfsubjectaccessreviews",
    "localsubjectaccessreviews",
    "selfsubjectrulesreviews",
    "selfsubjectreviews",
];

/// Resources that expire on their own (a TTL in etcd), so deletes never show in audit logs.
const EXPIRE_BY_TTL: &[&str] = &["events"];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    creates: u64,
    deletes: u64,
}

impl Counts {
    fn net(self) -> i64 {
        i64::try_from(self.creates).unwrap_or(i64::MAX)
            - i64::try_from(self.deletes).unwrap_or(i64::MAX)
    }
}

/// The mergeable state of the object-growth diagnosis.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GrowthDetector {
    /// Per (resource, namespace or "").
    cells: HashMap<(String, String), Counts>,
    /// Net change per (resource, bin start).
    series: HashMap<(String, i64), i64>,
    /// Creates per (resource, key).
    creators: HashMap<(String, String), u64>,
    deletecollections: HashMap<String, u64>,
    /// Earliest and latest time of the counted rows (the observed span).
    span: Option<(i64, i64)>,
}

enum Op {
    Create,
    Delete,
    DeleteCollection,
    /// `update` / `patch`: a create when answered `201 Created`, else no change in count.
    Write,
}

/// The status of a write that created its object.
const CREATED: i64 = 201;

impl GrowthDetector {
    fn add(&mut self, c: &Cols, opts: &DiagnoseOptions) {
        let verbs = [
            (c.verb.code_of("create"), Op::Create),
            (c.verb.code_of("delete"), Op::Delete),
            (c.verb.code_of("deletecollection"), Op::DeleteCollection),
            (c.verb.code_of("update"), Op::Write),
            (c.verb.code_of("patch"), Op::Write),
        ];
        let skip: Vec<u32> = NOT_STORED
            .iter()
            .filter_map(|r| c.resource.code_of(r))
            .collect();
        let mut cells: PlHashMap<(u32, u32), Counts> = PlHashMap::default();
        let mut series: PlHashMap<(u32, i64), i64> = PlHashMap::default();
        let mut creators: PlHashMap<(u32, u32), u64> = PlHashMap::default();
        let mut collections: PlHashMap<u32, u64> = PlHashMap::default();
        let mut uri = c.uri.cursor();
        for i in 0..c.height {
            let verb = c.verb.at(i);
            let Some((_, op)) = verbs.iter().find(|(v, _)| *v == Some(verb)) else {
                continue;
            };
            let status = c.status.at(i);
            let op = match op {
                Op::Write if status == Some(CREATED) => &Op::Create,
                Op::Write => continue,
                op => op,
            };
            let resource = c.resource.at(i);
            if resource == c.resource.len
                || c.subresource.at(i) != c.subresource.len
                || skip.contains(&resource)
                || !is_success(status)
                || !c.keep(i)
                || uri
                    .at(i)
                    .is_some_and(|u| memchr::memmem::find(u.as_bytes(), b"dryRun=").is_some())
            {
                continue;
            }
            let t = c.time.at(i);
            if let Some(t) = t {
                self.span = Some(match self.span {
                    None => (t, t),
                    Some((a, b)) => (a.min(t), b.max(t)),
                });
            }
            let delta = match op {
                Op::Write => continue,
                Op::DeleteCollection => {
                    *collections.entry(resource).or_default() += 1;
                    continue;
                }
                Op::Create => {
                    *creators.entry((resource, c.key.at(i))).or_default() += 1;
                    cells
                        .entry((resource, c.namespace.at(i)))
                        .or_default()
                        .creates += 1;
                    1
                }
                Op::Delete => {
                    cells
                        .entry((resource, c.namespace.at(i)))
                        .or_default()
                        .deletes += 1;
                    -1
                }
            };
            if let Some(t) = t {
                *series
                    .entry((resource, bin_start(t, opts.bin_ns)))
                    .or_default() += delta;
            }
        }
        let s = |codes, code| c.key_of(codes, code);
        for ((r, ns), n) in cells {
            let e = self
                .cells
                .entry((s(&c.resource, r), s(&c.namespace, ns)))
                .or_default();
            e.creates += n.creates;
            e.deletes += n.deletes;
        }
        for ((r, b), d) in series {
            *self.series.entry((s(&c.resource, r), b)).or_default() += d;
        }
        for ((r, k), n) in creators {
            *self
                .creators
                .entry((s(&c.resource, r), s(&c.key, k)))
                .or_default() += n;
        }
        for (r, n) in collections {
            *self.deletecollections.entry(s(&c.resource, r)).or_default() += n;
        }
    }

    fn merge_from(&mut self, other: GrowthDetector) {
        for (k, n) in other.cells {
            let e = self.cells.entry(k).or_default();
            e.creates += n.creates;
            e.deletes += n.deletes;
        }
        for (k, d) in other.series {
            *self.series.entry(k).or_default() += d;
        }
        for (k, n) in other.creators {
            *self.creators.entry(k).or_default() += n;
        }
        for (k, n) in other.deletecollections {
            *self.deletecollections.entry(k).or_default() += n;
        }
        self.span = match (self.span, other.span) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (x, y) => x.or(y),
        };
    }

    fn report(self, opts: &DiagnoseOptions) -> GrowthReport {
        let span_ns = self.span.map_or(0, |(a, b)| b.saturating_sub(a));
        let mut per_type: HashMap<String, (Counts, Vec<(String, i64)>)> = HashMap::new();
        for ((resource, ns), n) in self.cells {
            let e = per_type.entry(resource).or_default();
            e.0.creates += n.creates;
            e.0.deletes += n.deletes;
            e.1.push((ns, n.net()));
        }
        let mut creators: HashMap<String, Vec<(String, u64)>> = HashMap::new();
        for ((resource, key), n) in self.creators {
            creators.entry(resource).or_default().push((key, n));
        }
        let hour = 3600 * NANOS_PER_SECOND;
        let mut types: Vec<GrowthType> = per_type
            .into_iter()
            .map(|(resource, (counts, mut namespaces))| {
                let net = counts.net();
                // Scale the observed net change to the horizon (a span under a minute is too
                // short to extrapolate from: the net itself is used).
                let scale = |to: i64| -> f64 {
                    if span_ns < 60 * NANOS_PER_SECOND {
                        net as f64
                    } else {
                        net as f64 * to as f64 / span_ns as f64
                    }
                };
                let projected = scale(opts.growth_horizon_ns);
                let ttl = EXPIRE_BY_TTL.contains(&resource.as_str());
                namespaces.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                namespaces.truncate(opts.top);
                let mut by = creators.remove(&resource).unwrap_or_default();
                by.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                by.truncate(opts.top);
                GrowthType {
                    flagged: !ttl
                        && (net >= opts.growth_threshold
                            || projected >= opts.growth_threshold as f64),
                    note: ttl
                        .then_some("expires by TTL (deletes are not audited); growth overstated"),
                    deletecollection_calls: self
                        .deletecollections
                        .get(&resource)
                        .copied()
                        .unwrap_or(0),
                    resource,
                    creates: counts.creates,
                    deletes: counts.deletes,
                    net,
                    per_hour: scale(hour),
                    projected,
                    top_namespaces: namespaces
                        .into_iter()
                        .map(|(namespace, net)| NamespaceGrowth {
                            namespace: (!namespace.is_empty()).then_some(namespace),
                            net,
                        })
                        .collect(),
                    top_creators: by
                        .into_iter()
                        .map(|(key, creates)| Creator { key, creates })
                        .collect(),
                }
            })
            .collect();
        types.sort_by(|a, b| {
            (b.flagged, b.net)
                .cmp(&(a.flagged, a.net))
                .then_with(|| a.resource.cmp(&b.resource))
        });
        // The series of the flagged types (or the fastest growing when none is), cumulative.
        let shown: Vec<&str> = {
            let flagged: Vec<&str> = types
                .iter()
                .filter(|t| t.flagged)
                .map(|t| t.resource.as_str())
                .collect();
            if flagged.is_empty() {
                types
                    .iter()
                    .filter(|t| t.net > 0)
                    .take(3)
                    .map(|t| t.resource.as_str())
                    .collect()
            } else {
                flagged
            }
        };
        let mut series: Vec<(String, i64, i64)> = self
            .series
            .into_iter()
            .filter(|((r, _), _)| shown.contains(&r.as_str()))
            .map(|((r, b), d)| (r, b, d))
            .collect();
        series.sort();
        let mut running: HashMap<String, i64> = HashMap::new();
        let series = series
            .into_iter()
            .map(|(resource, bin, net)| {
                let cum = running.entry(resource.clone()).or_default();
                *cum += net;
                GrowthBin {
                    bin_start: Timestamp::from_nanos(bin),
                    cumulative: *cum,
                    resource,
                    net,
                }
            })
            .collect();
        types.truncate(opts.top.max(types.iter().filter(|t| t.flagged).count()));
        GrowthReport {
            threshold: opts.growth_threshold,
            horizon: TimeSpan::from_nanos(opts.growth_horizon_ns),
            observed: TimeSpan::from_nanos(span_ns),
            types,
            series,
        }
    }
}

/// Net growth of a type in one namespace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NamespaceGrowth {
    /// `None`: cluster-scoped objects.
    pub namespace: Option<String>,
    /// Creates minus deletes.
    pub net: i64,
}

/// Who created objects of a type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Creator {
    /// User agent or username.
    pub key: String,
    /// Successful creates.
    pub creates: u64,
}

/// Growth of one resource type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GrowthType {
    /// Resource.
    pub resource: String,
    /// Successful creates.
    pub creates: u64,
    /// Successful deletes.
    pub deletes: u64,
    /// Creates minus deletes over the window.
    pub net: i64,
    /// Net change per hour over the observed span.
    pub per_hour: f64,
    /// Net change extrapolated to the horizon.
    pub projected: f64,
    /// Whether `net` or `projected` reaches the threshold.
    pub flagged: bool,
    /// A caveat for this type.
    pub note: Option<&'static str>,
    /// `deletecollection` calls (objects removed unknown).
    pub deletecollection_calls: u64,
    /// Namespaces by net growth.
    pub top_namespaces: Vec<NamespaceGrowth>,
    /// Top creators.
    pub top_creators: Vec<Creator>,
}

/// Net change of a type in one bin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GrowthBin {
    /// Resource.
    pub resource: String,
    /// Bin start (KQL `bin`).
    pub bin_start: Timestamp,
    /// Creates minus deletes in the bin.
    pub net: i64,
    /// Running total since the first bin.
    pub cumulative: i64,
}

/// What the object-growth diagnosis found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GrowthReport {
    /// Objects per type the guide calls too many (10 000 by default).
    pub threshold: i64,
    /// How far growth is extrapolated, e.g. `24h`.
    pub horizon: TimeSpan,
    /// The span the counted events cover, e.g. `2h`.
    pub observed: TimeSpan,
    /// Types, flagged first, then by net growth.
    pub types: Vec<GrowthType>,
    /// Per bin, for the flagged types (or the three fastest growing).
    pub series: Vec<GrowthBin>,
}

impl super::Diagnosis for GrowthDetector {
    const NAME: &'static str = "growth";
    type Report = GrowthReport;

    /// Object growth (Cause 3): creates and deletes per resource, projected counts, creators.
    fn projection(opts: &DiagnoseOptions) -> crate::Projection {
        super::base_projection(opts).union(crate::Projection::of(&[
            Column::StatusCode,
            Column::Verb,
            Column::Resource,
            Column::Subresource,
            Column::Namespace,
            Column::RequestUri,
        ]))
    }

    fn add_frame(&mut self, f: &super::DiagnosisFrame<'_>, opts: &DiagnoseOptions) {
        self.add(f.cols(), opts);
    }

    fn merge(&mut self, other: Self) {
        self.merge_from(other);
    }

    fn finish(self, opts: &DiagnoseOptions) -> GrowthReport {
        self.report(opts)
    }
}

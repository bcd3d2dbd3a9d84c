//! The canonical frame's fixed schema and column projections.

use std::fmt;

/// How a column is stored in the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// `Datetime(ns, UTC)`, physical `i64` nanoseconds since the Unix epoch.
    Timestamp,
    /// `Int64`.
    Int64,
    /// `Int32`.
    Int32,
    /// `Categorical` (dictionary encoded, physical `u32` codes) for low-cardinality strings.
    Categorical,
    /// Plain `String` for high-cardinality strings.
    String,
    /// `Boolean`, never null.
    Boolean,
}

macro_rules! columns {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal : $kind:ident ),* $(,)?) => {
        /// A column of the canonical frame. The names are a public contract.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Column {
            $( $(#[$doc])* $variant ),*
        }

        impl Column {
            /// Every column, in frame order.
            pub const ALL: &'static [Column] = &[$(Column::$variant),*];

            /// The column's name in the frame.
            pub const fn name(self) -> &'static str {
                match self { $(Column::$variant => $name),* }
            }

            /// How the column is stored.
            pub const fn kind(self) -> ColumnKind {
                match self { $(Column::$variant => ColumnKind::$kind),* }
            }
        }
    };
}

columns! {
    /// When the record was written: `TimeGenerated` of Log Analytics rows, `time` of archive
    /// and Event Hub records, `stageTimestamp` of native events (falling back to the legacy
    /// v1beta1 `timestamp`). The time window filters on this column.
    TimeGenerated = "time_generated": Timestamp,
    /// `requestReceivedTimestamp` / `RequestReceivedTime`; null when absent.
    RequestReceived = "request_received": Timestamp,
    /// `stageTimestamp` / `StageReceivedTime`; null when absent.
    StageTimestamp = "stage_timestamp": Timestamp,
    /// KQL `datetime_diff('millisecond', stage_timestamp, request_received)`; null if either is null.
    LatencyMs = "latency_ms": Int64,
    /// `auditID`.
    AuditId = "audit_id": String,
    /// `RequestReceived`, `ResponseStarted`, `ResponseComplete` or `Panic`.
    Stage = "stage": Categorical,
    /// `None`, `Metadata`, `Request` or `RequestResponse`.
    Level = "level": Categorical,
    /// Kubernetes verb (`get`, `list`, `watch`, …) or lower-cased HTTP method for non-resource URLs.
    Verb = "verb": Categorical,
    /// `userAgent`; an absent user agent is the empty string, a real group as in KQL.
    UserAgent = "user_agent": Categorical,
    /// `user.username`.
    Username = "username": Categorical,
    /// `requestURI`.
    RequestUri = "request_uri": String,
    /// The first entry of `sourceIPs`.
    SourceIp = "source_ip": Categorical,
    /// `objectRef.resource`; null for non-resource URLs such as `/healthz`.
    Resource = "resource": Categorical,
    /// `objectRef.subresource`.
    Subresource = "subresource": Categorical,
    /// `objectRef.namespace`.
    Namespace = "namespace": Categorical,
    /// `objectRef.name`.
    Name = "name": String,
    /// `objectRef.apiGroup` (the core group is absent, hence null).
    ApiGroup = "api_group": Categorical,
    /// `objectRef.apiVersion`.
    ApiVersion = "api_version": Categorical,
    /// `responseStatus.code`.
    StatusCode = "status_code": Int32,
    /// The diagnostic category: `kube-audit`, `kube-audit-admin`, or null for native events.
    Category = "category": Categorical,
    /// The record shape the row was read from (see [`Shape::name`](crate::Shape::name)).
    SourceShape = "source_shape": Categorical,
    /// Admission webhooks named in the event's `annotations`, as comma-separated
    /// `kind:webhook` entries in annotation order: `mutating:` (a
    /// `mutation.webhook.admission.k8s.io/round_R_index_I` annotation, written when a
    /// mutating webhook was called, at level Metadata and above), `failed-open-mutating:` and
    /// `failed-open-validating:` (`failed-open.*.webhook.admission.k8s.io/…`: the webhook
    /// call failed and `failurePolicy: Ignore` let the request through). Null when the event
    /// has no such annotation.
    AdmissionWebhooks = "admission_webhooks": String,
    /// The managed cluster a row came from: the name after `/managedClusters/` in the
    /// record's Azure resource ID (`_ResourceId` / `ResourceId` of Log Analytics rows,
    /// `resourceId` of archive and Event Hub records), lower-cased (Azure resource names are
    /// case-insensitive and exports differ in case). Null when the record carries no
    /// resource ID (native audit logs).
    Cluster = "cluster": Categorical,
    /// The record's full Azure resource ID, as written. Null when absent.
    ResourceId = "resource_id": Categorical,
    /// `apiserver.latency.k8s.io/etcd`: time spent in the storage layer (sending to etcd and
    /// receiving the full response), in nanoseconds. Like every `lat_*` column it is read from
    /// the event's `annotations` (Go duration strings such as `"4.730661757s"`), which
    /// kube-apiserver writes only on the `ResponseComplete` event of a request slower than
    /// 500 ms (`writeLatencyToAnnotation` in `k8s.io/apiserver/pkg/endpoints/filters/audit.go`,
    /// Kubernetes ≥ 1.23; a component that took no time is left out, hence null). Null when absent.
    LatEtcdNs = "lat_etcd_ns": Int64,
    /// `apiserver.latency.k8s.io/apf-queue-wait`: time queued by API Priority and Fairness
    /// before the request ran, in nanoseconds (Kubernetes ≥ 1.31).
    LatApfQueueWaitNs = "lat_apf_queue_wait_ns": Int64,
    /// `apiserver.latency.k8s.io/mutating-webhook`: time in mutating admission webhooks, in
    /// nanoseconds (≥ 1.23).
    LatMutatingWebhookNs = "lat_mutating_webhook_ns": Int64,
    /// `apiserver.latency.k8s.io/validating-webhook`: time in validating admission webhooks,
    /// in nanoseconds (≥ 1.23).
    LatValidatingWebhookNs = "lat_validating_webhook_ns": Int64,
    /// `apiserver.latency.k8s.io/decode-response-object`: time decoding what storage returned,
    /// in nanoseconds (≥ 1.29).
    LatDecodeNs = "lat_decode_ns": Int64,
    /// `apiserver.latency.k8s.io/transform-response-object`: time transforming the response
    /// object (e.g. to a Table for kubectl), in nanoseconds (≥ 1.23).
    LatTransformNs = "lat_transform_ns": Int64,
    /// `apiserver.latency.k8s.io/serialize-response-object`: time serialising the response
    /// (JSON or protobuf), in nanoseconds (≥ 1.23).
    LatSerializeNs = "lat_serialize_ns": Int64,
    /// `apiserver.latency.k8s.io/response-write`: time writing the serialised bytes to the
    /// client, in nanoseconds (≥ 1.23).
    LatResponseWriteNs = "lat_response_write_ns": Int64,
    /// `apiserver.latency.k8s.io/total`: the request's latency as the API server measured it
    /// (stage minus received timestamp, at full precision), in nanoseconds. Written as is:
    /// some releases write a bogus negative total (`-2562047h47m16.854775808s`).
    LatTotalNs = "lat_total_ns": Int64,
    /// Whether the row was salvaged from an event text cut short: storage-account exports cut
    /// `properties.log` at 16 KiB, so an event with a large request or response body loses
    /// its end. The members complete before the cut are kept (audit ID, stage, verb, URI,
    /// user, user agent, objectRef, status…); the rest is null — usually both timestamps (Go
    /// writes them after the bodies), so `latency_ms` is null, and `time_generated` is the
    /// record's `time`. False for every whole event. See
    /// [`ParseOptions::with_reject_truncated`](crate::ParseOptions::with_reject_truncated).
    Truncated = "truncated": Boolean,
}

impl Column {
    /// The latency-annotation columns (`lat_*_ns`), with the annotation key each is read from
    /// (after the `apiserver.latency.k8s.io/` prefix).
    pub const LATENCY_ANNOTATIONS: [(Column, &'static str); 9] = [
        (Column::LatEtcdNs, "etcd"),
        (Column::LatApfQueueWaitNs, "apf-queue-wait"),
        (Column::LatMutatingWebhookNs, "mutating-webhook"),
        (Column::LatValidatingWebhookNs, "validating-webhook"),
        (Column::LatDecodeNs, "decode-response-object"),
        (Column::LatTransformNs, "transform-response-object"),
        (Column::LatSerializeNs, "serialize-response-object"),
        (Column::LatResponseWriteNs, "response-write"),
        (Column::LatTotalNs, "total"),
    ];

    /// Whether a canonical table (Parquet or Arrow written by auditframe) may lack this
    /// column: it was added after the first canonical schema, so older files do not have it
    /// and read it as null.
    #[cfg(feature = "arrow")]
    pub(crate) const fn added_after_v1(self) -> bool {
        matches!(
            self,
            Column::Cluster
                | Column::ResourceId
                | Column::LatEtcdNs
                | Column::LatApfQueueWaitNs
                | Column::LatMutatingWebhookNs
                | Column::LatValidatingWebhookNs
                | Column::LatDecodeNs
                | Column::LatTransformNs
                | Column::LatSerializeNs
                | Column::LatResponseWriteNs
                | Column::LatTotalNs
                | Column::Truncated
        )
    }

    /// The prefix of the latency annotation keys.
    pub const LATENCY_ANNOTATION_PREFIX: &'static str = "apiserver.latency.k8s.io/";

    /// Which latency annotation this column holds (its index in
    /// [`Column::LATENCY_ANNOTATIONS`]), if it is one.
    pub fn latency_annotation(self) -> Option<usize> {
        Column::LATENCY_ANNOTATIONS
            .iter()
            .position(|(c, _)| *c == self)
    }
}

impl Column {
    /// Looks a column up by its frame name.
    pub fn from_name(name: &str) -> Option<Column> {
        Column::ALL.iter().copied().find(|c| c.name() == name)
    }

    const fn bit(self) -> u64 {
        1 << (self as u8)
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of columns to materialise. Parsing skips the JSON values of columns that are not
/// projected, so a narrow projection makes reading cheaper, not just the frame smaller.
///
/// ```
/// use auditframe::{Column, Projection};
/// let p = Projection::of(&[Column::UserAgent, Column::LatencyMs]);
/// assert!(p.contains(Column::UserAgent));
/// assert!(!p.contains(Column::AuditId));
/// assert_eq!(Projection::all().len(), Column::ALL.len());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Projection(u64);

impl Projection {
    /// Every column.
    pub const fn all() -> Projection {
        Projection(u64::MAX >> (64 - Column::ALL.len() as u32))
    }

    /// No column (rows are still counted).
    pub const fn none() -> Projection {
        Projection(0)
    }

    /// Exactly these columns.
    pub fn of(columns: &[Column]) -> Projection {
        columns.iter().fold(Projection::none(), |p, &c| p.with(c))
    }

    /// The columns that the three seed analyses (top N, latency series, percentiles) read,
    /// for either grouping key.
    pub fn analyses() -> Projection {
        Projection::of(&[
            Column::TimeGenerated,
            Column::RequestReceived,
            Column::LatencyMs,
            Column::Stage,
            Column::Verb,
            Column::UserAgent,
            Column::Username,
            Column::Resource,
            Column::Subresource,
        ])
    }

    /// The columns that the diagnostics ([`diagnose`](crate::diagnose())) read.
    pub fn diagnostics() -> Projection {
        Projection::of(&[
            Column::TimeGenerated,
            Column::RequestReceived,
            Column::StageTimestamp,
            Column::LatencyMs,
            Column::Stage,
            Column::Verb,
            Column::UserAgent,
            Column::Username,
            Column::RequestUri,
            Column::Resource,
            Column::Subresource,
            Column::Namespace,
            Column::Name,
            Column::StatusCode,
            Column::AdmissionWebhooks,
            Column::AuditId,
        ])
        .union(Projection::latency_annotations())
    }

    /// The `lat_*_ns` columns.
    pub fn latency_annotations() -> Projection {
        Projection::of(&Column::LATENCY_ANNOTATIONS.map(|(c, _)| c))
    }

    /// This projection plus `column`.
    #[must_use]
    pub const fn with(self, column: Column) -> Projection {
        Projection(self.0 | column.bit())
    }

    /// This projection without `column`.
    ///
    /// ```
    /// use auditframe::{Column, Projection};
    /// let p = Projection::analyses().without(Column::Verb);
    /// assert!(!p.contains(Column::Verb) && p.contains(Column::UserAgent));
    /// ```
    #[must_use]
    pub const fn without(self, column: Column) -> Projection {
        Projection(self.0 & !column.bit())
    }

    /// The columns of this projection and of `other`.
    #[must_use]
    pub const fn union(self, other: Projection) -> Projection {
        Projection(self.0 | other.0)
    }

    /// Whether every column of `other` is in this projection.
    pub const fn contains_all(self, other: Projection) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether `column` is projected.
    #[inline]
    pub const fn contains(self, column: Column) -> bool {
        self.0 & column.bit() != 0
    }

    /// Number of projected columns.
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether no column is projected.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The projected columns in frame order.
    pub fn columns(self) -> impl Iterator<Item = Column> {
        Column::ALL
            .iter()
            .copied()
            .filter(move |c| self.contains(*c))
    }
}

impl Default for Projection {
    fn default() -> Self {
        Projection::all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        for &c in Column::ALL {
            assert_eq!(Column::from_name(c.name()), Some(c));
        }
        assert_eq!(Column::from_name("nope"), None);
        assert_eq!(Column::ALL.len(), 34);
    }

    #[test]
    fn projection_sets() {
        let p = Projection::analyses();
        assert_eq!(p.len(), 9);
        assert!(p.contains(Column::LatencyMs));
        assert!(!p.contains(Column::RequestUri));
        assert_eq!(p.columns().next(), Some(Column::TimeGenerated));
        assert!(Projection::none().is_empty());
    }
}

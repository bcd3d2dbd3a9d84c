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
}

impl Column {
    /// Looks a column up by its frame name.
    pub fn from_name(name: &str) -> Option<Column> {
        Column::ALL.iter().copied().find(|c| c.name() == name)
    }

    const fn bit(self) -> u32 {
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
pub struct Projection(u32);

impl Projection {
    /// Every column.
    pub const fn all() -> Projection {
        Projection((1 << Column::ALL.len() as u32) - 1)
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
        ])
    }

    /// This projection plus `column`.
    #[must_use]
    pub const fn with(self, column: Column) -> Projection {
        Projection(self.0 | column.bit())
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
        assert_eq!(Column::ALL.len(), 22);
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

//! Record-shaped Arrow tables: which layout a schema has, which of its columns a projection
//! needs, and decoding its batches into a [`FrameBuilder`].

use std::borrow::Cow;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, SchemaRef};

use super::access::{locate, uuids_as_text, Annotations, FirstStr, Ints32, Located, Strs, Times};
use super::canonical;
use crate::record::{
    add_annotation, apply_dynamic_text, category_of_table, finish_native, is_kept_log_category,
    Dynamic, EventFields, Need,
};
pub use crate::source::TableLayout;
use crate::{
    decoder::FrameBuilder, Column, Error, ErrorKind, LogLine, Projection, Result, Shape, SkipReason,
};

/// Schema-level metadata key that marks a table written by auditframe.
pub const CANONICAL_SCHEMA_KEY: &str = "auditframe:schema";
/// Its value for the current canonical schema.
pub const CANONICAL_SCHEMA_VERSION: &str = "canonical-v1";

/// An Arrow schema recognised as an audit table: its [`TableLayout`], the columns a
/// projection needs, and the decoder for its batches
/// ([`FrameBuilder::push_record_batch`]).
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{RecordBatch, StringArray, TimestampMicrosecondArray};
/// use arrow_schema::{DataType, Field, Schema, TimeUnit};
/// use auditframe::arrow::{ArrowTable, TableLayout};
/// use auditframe::{ParseOptions, Projection};
/// use auditframe::decoder::FrameBuilder;
///
/// // AKSAudit rows as a data-lake export might hold them: dynamic columns as JSON text.
/// let schema = Arc::new(Schema::new(vec![
///     Field::new("TimeGenerated", DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), true),
///     Field::new("Verb", DataType::Utf8, true),
///     Field::new("ObjectRef", DataType::Utf8, true),
/// ]));
/// let batch = RecordBatch::try_new(schema.clone(), vec![
///     Arc::new(TimestampMicrosecondArray::from(vec![1_763_632_800_000_000]).with_timezone("UTC")),
///     Arc::new(StringArray::from(vec!["list"])),
///     Arc::new(StringArray::from(vec![r#"{"resource":"pods","namespace":"default"}"#])),
/// ])?;
/// let table = ArrowTable::detect(schema)?;
/// assert_eq!(table.layout(), TableLayout::AksAudit);
/// assert_eq!(table.columns_for(Projection::analyses()), ["TimeGenerated", "Verb", "ObjectRef"]);
///
/// let mut b = FrameBuilder::new(&ParseOptions::new(), None);
/// b.push_record_batch(&table, &batch, 0)?;
/// let (frame, _report) = b.finish()?;
/// assert_eq!(frame.height(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ArrowTable {
    layout: TableLayout,
    schema: SchemaRef,
}

/// The record fields a layout reads, by column path.
struct Names {
    time_generated: &'static [&'static str],
    legacy_timestamp: &'static [&'static str],
    request_received: &'static [&'static str],
    stage_timestamp: &'static [&'static str],
    audit_id: &'static str,
    stage: &'static str,
    level: &'static str,
    verb: &'static str,
    user_agent: &'static str,
    request_uri: &'static str,
    user: &'static str,
    source_ips: &'static str,
    object_ref: &'static str,
    status: &'static str,
    annotations: &'static str,
}

const AKS: Names = Names {
    time_generated: &["TimeGenerated"],
    legacy_timestamp: &[],
    request_received: &["RequestReceivedTime"],
    stage_timestamp: &["StageReceivedTime"],
    audit_id: "AuditId",
    stage: "Stage",
    level: "Level",
    verb: "Verb",
    user_agent: "UserAgent",
    request_uri: "RequestUri",
    user: "User",
    source_ips: "SourceIps",
    object_ref: "ObjectRef",
    status: "ResponseStatus",
    annotations: "Annotations",
};

const NATIVE: Names = Names {
    // `time_generated` is `stageTimestamp` (then `timestamp`, then `requestReceivedTimestamp`)
    // as for native NDJSON events: see `finish_native`.
    time_generated: &[],
    legacy_timestamp: &["timestamp"],
    request_received: &["requestReceivedTimestamp"],
    stage_timestamp: &["stageTimestamp"],
    audit_id: "auditID",
    stage: "stage",
    level: "level",
    verb: "verb",
    user_agent: "userAgent",
    request_uri: "requestURI",
    user: "user",
    source_ips: "sourceIPs",
    object_ref: "objectRef",
    status: "responseStatus",
    annotations: "annotations",
};

/// `AKSAudit` row columns besides [`AKS`]: table and log-line columns.
const AKS_EXTRA: &[&str] = &["Category", "Type", "Message"];

impl ArrowTable {
    /// Recognises `schema` as one of the [`TableLayout`]s, or explains why none matches.
    pub fn detect(schema: SchemaRef) -> Result<ArrowTable> {
        let has = |n: &str| schema.column_with_name(n).is_some();
        let canonical = schema
            .metadata()
            .get(CANONICAL_SCHEMA_KEY)
            .is_some_and(|v| v.starts_with("canonical"))
            || (has(Column::TimeGenerated.name()) && !has("TimeGenerated"));
        let layout = if canonical {
            TableLayout::Canonical
        } else if has("TimeGenerated")
            && ["AuditId", "Verb", "RequestUri", "StageReceivedTime"]
                .iter()
                .any(|n| has(n))
        {
            TableLayout::AksAudit
        } else if has("verb")
            && ["stageTimestamp", "requestReceivedTimestamp", "timestamp"]
                .iter()
                .any(|n| has(n))
        {
            TableLayout::NativeEvents
        } else {
            let mut names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            names.truncate(12);
            return Err(Error::schema(format!(
                "not an audit table: expected canonical columns (`time_generated`, `verb`, …), \
                 AKSAudit columns (`TimeGenerated` with `Verb`, `AuditId`, `RequestUri` or \
                 `StageReceivedTime`) or audit event fields (`verb` with `stageTimestamp`, \
                 `requestReceivedTimestamp` or `timestamp`); the table has `{}`",
                names.join("`, `")
            )));
        };
        Ok(ArrowTable { layout, schema })
    }

    /// The recognised layout.
    pub fn layout(&self) -> TableLayout {
        self.layout
    }

    /// The table's schema.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The table's top-level columns that reading `projection` needs, in schema order:
    /// the columns to decode (projection pushdown). For the canonical layout every projected
    /// column must exist; see [`ArrowTable::check_projection`].
    pub fn columns_for(&self, projection: Projection) -> Vec<String> {
        let wanted = self.wanted_roots(projection);
        self.schema
            .fields()
            .iter()
            .map(|f| f.name())
            .filter(|n| wanted.contains(n))
            .cloned()
            .collect()
    }

    fn wanted_roots(&self, projection: Projection) -> Vec<String> {
        let need = Need::from_projection(projection);
        let names = match self.layout {
            TableLayout::Canonical => {
                return projection.columns().map(|c| c.name().to_owned()).collect()
            }
            TableLayout::AksAudit => &AKS,
            TableLayout::NativeEvents => &NATIVE,
        };
        let mut out: Vec<&str> = Vec::new();
        let mut add = |on: bool, cols: &[&'static str]| {
            if on {
                out.extend_from_slice(cols);
            }
        };
        // A native event's `time_generated` comes from its stage timestamp (or the legacy
        // `timestamp`, or the received time).
        let native_time = self.layout == TableLayout::NativeEvents && need.time_generated;
        add(need.time_generated, names.time_generated);
        add(native_time, names.legacy_timestamp);
        add(need.request_received || native_time, names.request_received);
        add(need.stage_timestamp || native_time, names.stage_timestamp);
        add(need.audit_id, &[names.audit_id]);
        add(need.stage, &[names.stage]);
        add(need.level, &[names.level]);
        add(need.verb, &[names.verb]);
        add(need.user_agent, &[names.user_agent]);
        add(need.request_uri, &[names.request_uri]);
        add(need.source_ip, &[names.source_ips]);
        add(need.annotations(), &[names.annotations]);
        match self.layout {
            // Category (for the `category` column) and log-line columns of a mixed export.
            TableLayout::AksAudit => {
                out.extend_from_slice(AKS_EXTRA);
                if need.resource_id {
                    out.extend_from_slice(&["_ResourceId", "ResourceId"]);
                }
            }
            _ => out.push("kind"),
        }
        let mut out: Vec<String> = out.into_iter().map(str::to_owned).collect();
        // Containers: the struct (or JSON text) column, or only the needed children when a
        // tool flattened them into `objectRef.resource` / `objectRef_resource` columns.
        let object_ref: Vec<&str> = OBJECT_REF_FIELDS
            .iter()
            .zip([
                need.resource,
                need.subresource,
                need.namespace,
                need.name,
                need.api_group,
                need.api_version,
            ])
            .filter_map(|(f, on)| on.then_some(*f))
            .collect();
        for (root, leaves) in [
            (
                names.user,
                if need.username {
                    vec!["username"]
                } else {
                    vec![]
                },
            ),
            (names.object_ref, object_ref),
            (
                names.status,
                if need.status_code {
                    vec!["code"]
                } else {
                    vec![]
                },
            ),
        ] {
            if leaves.is_empty() {
                continue;
            }
            out.push(root.to_owned());
            for leaf in leaves {
                out.push(format!("{root}.{leaf}"));
                out.push(format!("{root}_{leaf}"));
            }
        }
        out
    }

    /// Checks that a canonical table has every column of `projection` (other layouts take
    /// absent fields as null, as the NDJSON readers do), except the columns added after the
    /// first canonical schema, which older files lack and read as null.
    pub fn check_projection(&self, projection: Projection) -> Result<()> {
        if self.layout != TableLayout::Canonical {
            return Ok(());
        }
        for c in projection.columns() {
            if self.schema.column_with_name(c.name()).is_none() && !c.added_after_v1() {
                return Err(Error::schema(format!(
                    "column `{c}` is missing from the canonical table"
                )));
            }
        }
        Ok(())
    }

    /// The top-level column that holds `time_generated`, when it is an Arrow `Timestamp`
    /// (whose Parquet statistics can then skip row groups outside a time window).
    pub fn time_column(&self) -> Option<(&str, arrow_schema::TimeUnit)> {
        let name = match self.layout {
            TableLayout::Canonical => Column::TimeGenerated.name(),
            TableLayout::AksAudit => "TimeGenerated",
            TableLayout::NativeEvents => "stageTimestamp",
        };
        match self.schema.field_with_name(name).ok()?.data_type() {
            DataType::Timestamp(unit, _) => Some((name, *unit)),
            _ => None,
        }
    }
}

impl FrameBuilder {
    /// Decodes one batch of a table recognised by [`ArrowTable::detect`] (the batch may hold
    /// only the columns of [`ArrowTable::columns_for`]). `first_row` is the 0-based row of
    /// the batch's first row in its input, for error positions. In strict mode returns the
    /// first bad value's error; in lenient mode the row is skipped and counted.
    pub fn push_record_batch(
        &mut self,
        table: &ArrowTable,
        batch: &RecordBatch,
        first_row: u64,
    ) -> Result<()> {
        self.report.records += batch.num_rows() as u64;
        match table.layout {
            TableLayout::Canonical => {
                table.check_projection(self.opts.projection())?;
                self.report.truncated_rows += canonical::push_columns(&mut self.cols, batch)?;
            }
            TableLayout::AksAudit => {
                self.set_shape(Shape::AksAudit);
                self.push_rows(batch, &AKS, Shape::AksAudit, first_row)?
            }
            TableLayout::NativeEvents => {
                self.set_shape(Shape::Native);
                self.push_rows(batch, &NATIVE, Shape::Native, first_row)?
            }
        }
        self.check()
    }

    fn push_rows(
        &mut self,
        batch: &RecordBatch,
        names: &Names,
        shape: Shape,
        first_row: u64,
    ) -> Result<()> {
        let need = self.need;
        let batch = uuids_as_text(batch)?;
        let batch = batch.as_ref();
        let r = RowReaders::new(batch, names, &need, shape)?;
        for i in 0..batch.num_rows() {
            let mut f = EventFields::default();
            match r.fill(i, &need, &mut f) {
                Ok(Row::Event) => self.cols.push(&f, shape),
                Ok(Row::Log(time, category, message)) => {
                    if is_kept_log_category(category) {
                        self.report.log_lines += 1;
                        self.logs.push(LogLine {
                            time_generated: time,
                            category: category.to_owned(),
                            message: message.to_owned(),
                        });
                    } else {
                        self.report.other_category += 1;
                    }
                }
                Err((reason, column, message)) => {
                    let e = Error::new(ErrorKind::Value {
                        reason,
                        source: self.source.clone(),
                        row: first_row + i as u64 + 1,
                        column,
                        message,
                    });
                    self.fail(e);
                    if self.opts.strict() {
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }
}

/// What a row of a record-shaped table is.
enum Row<'a> {
    Event,
    /// An `AKSControlPlane` row in an `AKSAudit`-shaped table: time, category, message.
    Log(Option<i64>, &'a str, &'a str),
}

/// A field that is a struct / list / map, or JSON text.
enum Container<'a, T> {
    Value(T),
    Text(Strs<'a>),
}

impl<'a, T> Container<'a, T> {
    fn at(
        batch: &'a RecordBatch,
        name: &str,
        make: impl FnOnce(&super::access::Found<'a>) -> Result<T>,
        absent: T,
    ) -> Result<Container<'a, T>> {
        match locate(batch, &[name]) {
            Located::Value(f) if super::access::is_string(f.arr.data_type()) => {
                Ok(Container::Text(Strs::new(&f)?))
            }
            Located::Value(f) => Ok(Container::Value(make(&f)?)),
            _ => Ok(Container::Value(absent)),
        }
    }
}

/// Per-batch readers of every field a projection needs.
struct RowReaders<'a> {
    shape: Shape,
    time_generated: Times<'a>,
    legacy_timestamp: Times<'a>,
    request_received: Times<'a>,
    stage_timestamp: Times<'a>,
    kind: Strs<'a>,
    audit_id: Strs<'a>,
    stage: Strs<'a>,
    level: Strs<'a>,
    verb: Strs<'a>,
    user_agent: Strs<'a>,
    request_uri: Strs<'a>,
    username: Strs<'a>,
    user_text: Strs<'a>,
    source_ip: Container<'a, FirstStr<'a>>,
    object_ref: [Strs<'a>; 6],
    object_ref_text: Strs<'a>,
    status: Ints32<'a>,
    /// The status container's column name, for messages.
    status_name: &'static str,
    status_text: Strs<'a>,
    annotations: Container<'a, Annotations<'a>>,
    category: Strs<'a>,
    table_type: Strs<'a>,
    message: Strs<'a>,
    /// `_ResourceId` (or `ResourceId`) of an AKSAudit table.
    resource_id: Strs<'a>,
}

const OBJECT_REF_FIELDS: [&str; 6] = [
    "resource",
    "subresource",
    "namespace",
    "name",
    "apiGroup",
    "apiVersion",
];

/// The JSON text of a container column, when the container is a string column.
fn text_of<'a>(batch: &'a RecordBatch, name: &str, on: bool) -> Result<Strs<'a>> {
    match locate(batch, &[name]) {
        Located::Value(f) if on && super::access::is_string(f.arr.data_type()) => Strs::new(&f),
        _ => Ok(Strs::absent()),
    }
}

fn times<'a>(batch: &'a RecordBatch, names: &[&str], on: bool) -> Result<Times<'a>> {
    match names.first() {
        Some(n) if on => Times::at(batch, &[n]),
        _ => Ok(Times::Absent),
    }
}

fn strs<'a>(batch: &'a RecordBatch, path: &[&str], on: bool) -> Result<Strs<'a>> {
    if on {
        Strs::at(batch, path)
    } else {
        Ok(Strs::absent())
    }
}

impl<'a> RowReaders<'a> {
    fn new(batch: &'a RecordBatch, n: &Names, need: &Need, shape: Shape) -> Result<RowReaders<'a>> {
        let native_time = shape == Shape::Native && need.time_generated;
        let aks = shape == Shape::AksAudit;
        let mut object_ref: [Strs<'a>; 6] = Default::default();
        let want = [
            need.resource,
            need.subresource,
            need.namespace,
            need.name,
            need.api_group,
            need.api_version,
        ];
        for ((slot, field), on) in object_ref.iter_mut().zip(OBJECT_REF_FIELDS).zip(want) {
            *slot = strs(batch, &[n.object_ref, field], on)?;
        }
        Ok(RowReaders {
            shape,
            time_generated: times(batch, n.time_generated, need.time_generated)?,
            legacy_timestamp: times(batch, n.legacy_timestamp, native_time)?,
            request_received: times(
                batch,
                n.request_received,
                need.request_received || native_time,
            )?,
            stage_timestamp: times(
                batch,
                n.stage_timestamp,
                need.stage_timestamp || native_time,
            )?,
            kind: strs(batch, &["kind"], !aks)?,
            audit_id: strs(batch, &[n.audit_id], need.audit_id)?,
            stage: strs(batch, &[n.stage], need.stage)?,
            level: strs(batch, &[n.level], need.level)?,
            verb: strs(batch, &[n.verb], need.verb || aks)?,
            user_agent: strs(batch, &[n.user_agent], need.user_agent)?,
            request_uri: strs(batch, &[n.request_uri], need.request_uri)?,
            username: strs(batch, &[n.user, "username"], need.username)?,
            user_text: text_of(batch, n.user, need.username)?,
            source_ip: if need.source_ip {
                Container::at(batch, n.source_ips, FirstStr::new, FirstStr::Absent)?
            } else {
                Container::Value(FirstStr::Absent)
            },
            object_ref,
            object_ref_text: text_of(batch, n.object_ref, need.object_ref)?,
            status: if need.status_code {
                Ints32::at(batch, &[n.status, "code"])?
            } else {
                Ints32::at(batch, &[])?
            },
            status_name: n.status,
            status_text: text_of(batch, n.status, need.status_code)?,
            annotations: if need.annotations() {
                Container::at(batch, n.annotations, Annotations::new, Annotations::Absent)?
            } else {
                Container::Value(Annotations::Absent)
            },
            category: strs(batch, &["Category"], aks)?,
            table_type: strs(batch, &["Type"], aks)?,
            message: strs(batch, &["Message"], aks)?,
            resource_id: {
                let name = if batch.schema().column_with_name("_ResourceId").is_some() {
                    "_ResourceId"
                } else {
                    "ResourceId"
                };
                let present = batch.schema().column_with_name(name).is_some();
                strs(batch, &[name], aks && need.resource_id && present)?
            },
        })
    }

    /// Reads row `i` into `f`; `Err((reason, column, message))` for a bad value.
    fn fill(
        &self,
        i: usize,
        need: &Need,
        f: &mut EventFields<'a>,
    ) -> std::result::Result<Row<'a>, (SkipReason, String, String)> {
        let ts = |t: &Times<'a>| {
            t.get(i)
                .map_err(|m| (SkipReason::Timestamp, column_of(&m), m))
        };
        let b = |s: &Strs<'a>| s.get(i).map(Cow::Borrowed);
        f.time_generated = ts(&self.time_generated)?;
        f.legacy_timestamp = ts(&self.legacy_timestamp)?;
        f.request_received = ts(&self.request_received)?;
        f.stage_timestamp = ts(&self.stage_timestamp)?;
        f.audit_id = b(&self.audit_id);
        f.stage = b(&self.stage);
        f.level = b(&self.level);
        f.verb = b(&self.verb);
        f.user_agent = b(&self.user_agent);
        f.request_uri = b(&self.request_uri);
        f.username = b(&self.username);
        f.kind = b(&self.kind);
        f.resource_id = b(&self.resource_id);
        if self.shape == Shape::AksAudit {
            // `Category` wins over `Type` (the table name), as in the JSON reader.
            let category = self.category.get(i).or_else(|| self.table_type.get(i));
            // An `AKSControlPlane` row of a mixed export (no verb, a message): a log line.
            if let (None, Some(message)) = (&f.verb, self.message.get(i)) {
                return Ok(Row::Log(f.time_generated, category.unwrap_or(""), message));
            }
            f.category = category.map(|t| category_of_table(Cow::Borrowed(t)));
        }
        let [resource, subresource, namespace, name, api_group, api_version] = &self.object_ref;
        f.resource = b(resource);
        f.subresource = b(subresource);
        f.namespace = b(namespace);
        f.name = b(name);
        f.api_group = b(api_group);
        f.api_version = b(api_version);
        f.status_code = self.status.get(i).map_err(|m| {
            (
                SkipReason::FieldType,
                format!("{}.code", self.status_name),
                m,
            )
        })?;
        match &self.source_ip {
            Container::Value(l) => f.source_ip = l.get(i).map(Cow::Borrowed),
            Container::Text(t) => dynamic(f, Dynamic::SourceIps, t.get(i), need, "SourceIps")?,
        }
        match &self.annotations {
            Container::Value(a) => {
                f.admission_webhooks = None;
                f.latency = Default::default();
                a.try_for_each(i, |k, v| add_annotation(f, need, k, v))
                    .map_err(|m| (SkipReason::FieldType, "Annotations".to_owned(), m))?;
            }
            Container::Text(t) => dynamic(f, Dynamic::Annotations, t.get(i), need, "Annotations")?,
        }
        dynamic(f, Dynamic::User, self.user_text.get(i), need, "User")?;
        dynamic(
            f,
            Dynamic::ObjectRef,
            self.object_ref_text.get(i),
            need,
            "ObjectRef",
        )?;
        dynamic(
            f,
            Dynamic::Status,
            self.status_text.get(i),
            need,
            "ResponseStatus",
        )?;
        match self.shape {
            Shape::AksAudit => {
                if f.category.is_none() {
                    f.category = Some(Cow::Borrowed("kube-audit"));
                }
            }
            _ => {
                f.looks_like_event = true;
                finish_native(f)
                    .map_err(|m| (SkipReason::NotAnEvent, "kind".to_owned(), m.to_owned()))?;
            }
        }
        Ok(Row::Event)
    }
}

/// Parses a dynamic column's JSON text into `f` (the Azure CLI's `"None"` is null).
fn dynamic<'a>(
    f: &mut EventFields<'a>,
    which: Dynamic,
    text: Option<&'a str>,
    need: &Need,
    column: &str,
) -> std::result::Result<(), (SkipReason, String, String)> {
    match text {
        None | Some("None") | Some("") => Ok(()),
        // A bare address rather than a JSON array (CSV-converted tables), as the JSON reader
        // takes it.
        Some(t) if which == Dynamic::SourceIps && !t.trim_start().starts_with('[') => {
            f.source_ip = Some(Cow::Borrowed(t.trim()));
            Ok(())
        }
        Some(t) => apply_dynamic_text(f, which, t, need)
            .map_err(|e| (e.reason, column.to_owned(), e.message)),
    }
}

/// The column named at the start of an accessor's message (`` `name`: … ``).
fn column_of(message: &str) -> String {
    message
        .strip_prefix('`')
        .and_then(|m| m.split_once('`'))
        .map_or_else(String::new, |(c, _)| c.to_owned())
}

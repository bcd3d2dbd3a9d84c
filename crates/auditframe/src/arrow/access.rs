//! Typed, null-aware row readers over Arrow columns: strings of any Arrow string type (plain,
//! large, view, dictionary), timestamps (any unit, or RFC 3339 text), integers, the first
//! element of a string list, and annotation maps — each resolved once per batch, read per row.

use std::borrow::Cow;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_buffer::{ArrowNativeType, NullBuffer, OffsetBuffer};
use arrow_schema::{DataType, TimeUnit};

use crate::timestamp::parse_timestamp;
use crate::{Error, Result};

/// A column found by path: the array and the nulls of every struct level above it.
#[derive(Clone)]
pub(crate) struct Found<'a> {
    pub arr: &'a ArrayRef,
    /// The array's own nulls joined with its parents' (a null struct nulls its children).
    pub nulls: Option<NullBuffer>,
    /// The path as written in messages (`objectRef.resource`).
    pub name: String,
}

/// Where a field of a record lives in a batch.
pub(crate) enum Located<'a> {
    Missing,
    /// The field itself.
    Value(Found<'a>),
    /// A container on the path (e.g. `ObjectRef`) is a string column: JSON text to parse.
    Text,
}

/// Finds `path` in `batch`: nested struct children (`objectRef` → `resource`), else a
/// flattened top-level column named `objectRef.resource` or `objectRef_resource`.
pub(crate) fn locate<'a>(batch: &'a RecordBatch, path: &[&str]) -> Located<'a> {
    let Some((first, rest)) = path.split_first() else {
        return Located::Missing;
    };
    if let Some(arr) = batch.column_by_name(first) {
        let mut cur = Found {
            arr,
            nulls: arr.logical_nulls(),
            name: (*first).to_owned(),
        };
        for seg in rest {
            if is_string(cur.arr.data_type()) {
                return Located::Text;
            }
            let Some(st) = cur.arr.as_struct_opt() else {
                return Located::Missing;
            };
            let Some(child) = st.column_by_name(seg) else {
                return Located::Missing;
            };
            let nulls = NullBuffer::union(cur.nulls.as_ref(), child.logical_nulls().as_ref());
            cur = Found {
                arr: child,
                nulls,
                name: format!("{}.{seg}", cur.name),
            };
        }
        return Located::Value(cur);
    }
    if rest.is_empty() {
        return Located::Missing;
    }
    for sep in [".", "_"] {
        let flat = path.join(sep);
        if let Some(arr) = batch.column_by_name(&flat) {
            return Located::Value(Found {
                arr,
                nulls: arr.logical_nulls(),
                name: flat,
            });
        }
    }
    Located::Missing
}

/// Whether `dt` is an Arrow string type (or a dictionary of strings).
pub(crate) fn is_string(dt: &DataType) -> bool {
    match dt {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => is_string(v),
        _ => false,
    }
}

fn type_error(name: &str, dt: &DataType, expected: &str) -> Error {
    Error::schema(format!(
        "column `{name}` has type {dt}, expected {expected}"
    ))
}

#[inline]
fn is_null(nulls: &Option<NullBuffer>, i: usize) -> bool {
    nulls.as_ref().is_some_and(|n| n.is_null(i))
}

enum StrVals<'a> {
    Utf8(&'a arrow_array::StringArray),
    Large(&'a arrow_array::LargeStringArray),
    View(&'a arrow_array::StringViewArray),
    /// Dictionary keys normalised to `usize`, over the values.
    Dict(Vec<usize>, Box<Strs<'a>>),
}

/// A nullable string column.
pub(crate) struct Strs<'a> {
    nulls: Option<NullBuffer>,
    vals: Option<StrVals<'a>>,
}

impl Default for Strs<'_> {
    fn default() -> Self {
        Strs::absent()
    }
}

impl<'a> Strs<'a> {
    /// A column whose rows are all null.
    pub fn absent() -> Strs<'a> {
        Strs {
            nulls: None,
            vals: None,
        }
    }

    /// Reads `found` as strings; any other type is a schema error naming the column.
    pub fn new(found: &Found<'a>) -> Result<Strs<'a>> {
        let arr = found.arr;
        let vals = match arr.data_type() {
            DataType::Utf8 => StrVals::Utf8(arr.as_string::<i32>()),
            DataType::LargeUtf8 => StrVals::Large(arr.as_string::<i64>()),
            DataType::Utf8View => StrVals::View(arr.as_string_view()),
            DataType::Dictionary(_, v) if is_string(v) => {
                let dict = arr
                    .as_any_dictionary_opt()
                    .ok_or_else(|| type_error(&found.name, arr.data_type(), "a string"))?;
                let values = dict.values();
                if values.is_empty() {
                    // No dictionary values: every key is null (and `normalized_keys` would
                    // panic).
                    return Ok(Strs::absent());
                }
                let inner = Found {
                    arr: values,
                    nulls: values.logical_nulls(),
                    name: found.name.clone(),
                };
                StrVals::Dict(dict.normalized_keys(), Box::new(Strs::new(&inner)?))
            }
            other => return Err(type_error(&found.name, other, "a string")),
        };
        Ok(Strs {
            nulls: found.nulls.clone(),
            vals: Some(vals),
        })
    }

    /// Reads the column at `path` if the batch has it (JSON-text containers read as absent).
    pub fn at(batch: &'a RecordBatch, path: &[&str]) -> Result<Strs<'a>> {
        match locate(batch, path) {
            Located::Value(f) => Strs::new(&f),
            _ => Ok(Strs::absent()),
        }
    }

    /// The value at row `i`.
    #[inline]
    pub fn get(&self, i: usize) -> Option<&'a str> {
        if is_null(&self.nulls, i) {
            return None;
        }
        match self.vals.as_ref()? {
            StrVals::Utf8(a) => (i < a.len()).then(|| a.value(i)),
            StrVals::Large(a) => (i < a.len()).then(|| a.value(i)),
            StrVals::View(a) => (i < a.len()).then(|| a.value(i)),
            StrVals::Dict(keys, values) => values.get(*keys.get(i)?),
        }
    }
}

/// An Arrow `Timestamp` array's values (any unit, any time zone: the values are UTC) and
/// the nanoseconds per unit; `None` for other types.
pub(crate) fn timestamp_values(arr: &ArrayRef) -> Option<(&[i64], i64)> {
    Some(match arr.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => (
            arr.as_primitive::<TimestampSecondType>().values(),
            1_000_000_000,
        ),
        DataType::Timestamp(TimeUnit::Millisecond, _) => (
            arr.as_primitive::<TimestampMillisecondType>().values(),
            1_000_000,
        ),
        DataType::Timestamp(TimeUnit::Microsecond, _) => (
            arr.as_primitive::<TimestampMicrosecondType>().values(),
            1_000,
        ),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            (arr.as_primitive::<TimestampNanosecondType>().values(), 1)
        }
        _ => return None,
    })
}

/// A nullable timestamp column: Arrow `Timestamp` of any unit (and time zone), or RFC 3339
/// text parsed with auditframe's timestamp parser.
pub(crate) enum Times<'a> {
    Absent,
    Ints {
        values: &'a [i64],
        nulls: Option<NullBuffer>,
        /// Nanoseconds per unit.
        factor: i64,
        name: String,
    },
    Text(Strs<'a>, String),
}

impl<'a> Times<'a> {
    pub fn at(batch: &'a RecordBatch, path: &[&str]) -> Result<Times<'a>> {
        let found = match locate(batch, path) {
            Located::Value(f) => f,
            _ => return Ok(Times::Absent),
        };
        let arr = found.arr;
        if let Some((values, factor)) = timestamp_values(arr) {
            return Ok(Times::Ints {
                values,
                nulls: found.nulls,
                factor,
                name: found.name,
            });
        }
        match arr.data_type() {
            dt if is_string(dt) => Ok(Times::Text(Strs::new(&found)?, found.name)),
            dt => Err(type_error(&found.name, dt, "a timestamp or RFC 3339 text")),
        }
    }

    /// The value at row `i` in ns since the epoch; `Err` names the column and the problem.
    #[inline]
    pub fn get(&self, i: usize) -> std::result::Result<Option<i64>, String> {
        match self {
            Times::Absent => Ok(None),
            Times::Ints {
                values,
                nulls,
                factor,
                name,
            } => {
                if is_null(nulls, i) {
                    return Ok(None);
                }
                let Some(&v) = values.get(i) else {
                    return Ok(None);
                };
                v.checked_mul(*factor)
                    .map(Some)
                    .ok_or_else(|| format!("`{name}`: {v} is out of the nanosecond range"))
            }
            Times::Text(s, name) => match s.get(i) {
                None => Ok(None),
                Some(t) => parse_timestamp(t)
                    .map(Some)
                    .map_err(|e| format!("`{name}`: {e}")),
            },
        }
    }
}

/// A nullable integer column (any Arrow integer type, integral floats, or decimal text), read
/// as `i32`.
pub(crate) struct Ints32<'a> {
    found: Option<Found<'a>>,
    text: Strs<'a>,
}

impl<'a> Ints32<'a> {
    pub fn at(batch: &'a RecordBatch, path: &[&str]) -> Result<Ints32<'a>> {
        let found = match locate(batch, path) {
            Located::Value(f) => f,
            _ => {
                return Ok(Ints32 {
                    found: None,
                    text: Strs::absent(),
                })
            }
        };
        let dt = found.arr.data_type();
        if is_string(dt) {
            return Ok(Ints32 {
                text: Strs::new(&found)?,
                found: None,
            });
        }
        if !(dt.is_integer() || dt.is_floating()) {
            return Err(type_error(&found.name, dt, "an integer"));
        }
        Ok(Ints32 {
            found: Some(found),
            text: Strs::absent(),
        })
    }

    /// The value at row `i`; `Err` when it does not fit an `i32`.
    pub fn get(&self, i: usize) -> std::result::Result<Option<i32>, String> {
        let Some(f) = &self.found else {
            return match self.text.get(i) {
                None => Ok(None),
                Some(t) => t
                    .trim()
                    .parse::<i32>()
                    .map(Some)
                    .map_err(|_| format!("`{t}` is not an integer status code")),
            };
        };
        if is_null(&f.nulls, i) || i >= f.arr.len() {
            return Ok(None);
        }
        let a = f.arr;
        let wide: Option<i128> = match a.data_type() {
            DataType::Int8 => Some(a.as_primitive::<Int8Type>().value(i).into()),
            DataType::Int16 => Some(a.as_primitive::<Int16Type>().value(i).into()),
            DataType::Int32 => Some(a.as_primitive::<Int32Type>().value(i).into()),
            DataType::Int64 => Some(a.as_primitive::<Int64Type>().value(i).into()),
            DataType::UInt8 => Some(a.as_primitive::<UInt8Type>().value(i).into()),
            DataType::UInt16 => Some(a.as_primitive::<UInt16Type>().value(i).into()),
            DataType::UInt32 => Some(a.as_primitive::<UInt32Type>().value(i).into()),
            DataType::UInt64 => Some(a.as_primitive::<UInt64Type>().value(i).into()),
            DataType::Float32 => float_int(a.as_primitive::<Float32Type>().value(i).into()),
            DataType::Float64 => float_int(a.as_primitive::<Float64Type>().value(i)),
            _ => None,
        };
        match wide.map(i32::try_from) {
            Some(Ok(v)) => Ok(Some(v)),
            _ => Err(format!("`{}`: value is not an i32 integer", f.name)),
        }
    }
}

fn float_int(v: f64) -> Option<i128> {
    // Integral and well inside i32 (anything else is rejected by the caller's conversion).
    (v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15).then_some(v as i128)
}

/// The first string of a list column (`sourceIPs`), or a plain string column taken as is.
pub(crate) enum FirstStr<'a> {
    Absent,
    List {
        offsets: OffsetBuffer<i32>,
        nulls: Option<NullBuffer>,
        values: Strs<'a>,
    },
    LargeList {
        offsets: OffsetBuffer<i64>,
        nulls: Option<NullBuffer>,
        values: Strs<'a>,
    },
}

impl<'a> FirstStr<'a> {
    /// Reads a list of strings at `found`.
    pub fn new(found: &Found<'a>) -> Result<FirstStr<'a>> {
        let arr = found.arr;
        let values_of = |values: &'a ArrayRef| {
            Strs::new(&Found {
                arr: values,
                nulls: values.logical_nulls(),
                name: format!("{}[]", found.name),
            })
        };
        if let Some(l) = arr.as_list_opt::<i32>() {
            return Ok(FirstStr::List {
                offsets: l.offsets().clone(),
                nulls: found.nulls.clone(),
                values: values_of(l.values())?,
            });
        }
        if let Some(l) = arr.as_list_opt::<i64>() {
            return Ok(FirstStr::LargeList {
                offsets: l.offsets().clone(),
                nulls: found.nulls.clone(),
                values: values_of(l.values())?,
            });
        }
        Err(type_error(
            &found.name,
            arr.data_type(),
            "a list of strings",
        ))
    }

    pub fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            FirstStr::Absent => None,
            FirstStr::List {
                offsets,
                nulls,
                values,
            } => first_of(offsets, nulls, values, i),
            FirstStr::LargeList {
                offsets,
                nulls,
                values,
            } => first_of(offsets, nulls, values, i),
        }
    }
}

fn first_of<'a, O: arrow_array::OffsetSizeTrait>(
    offsets: &OffsetBuffer<O>,
    nulls: &Option<NullBuffer>,
    values: &Strs<'a>,
    i: usize,
) -> Option<&'a str> {
    if is_null(nulls, i) {
        return None;
    }
    let start = offsets.get(i)?.as_usize();
    let end = offsets.get(i + 1)?.as_usize();
    (start < end).then(|| values.get(start)).flatten()
}

/// The annotations of an event: a struct whose field names are the keys (how DuckDB and
/// Spark infer a JSON object), or a `Map<string, string>`.
pub(crate) enum Annotations<'a> {
    Absent,
    /// Only the admission-webhook keys are kept: the other annotations are never read.
    Struct(Vec<(&'a str, Strs<'a>)>),
    Map(Box<MapEntries<'a>>),
}

/// A `Map<string, string>` column's entries.
pub(crate) struct MapEntries<'a> {
    offsets: OffsetBuffer<i32>,
    nulls: Option<NullBuffer>,
    keys: Strs<'a>,
    values: Strs<'a>,
}

/// Whether an annotation key can name an admission webhook (see
/// [`Column::AdmissionWebhooks`](crate::Column::AdmissionWebhooks)) or a latency component
/// (`lat_*_ns`): the only annotations ever read.
fn is_read_key(k: &str) -> bool {
    k.starts_with("mutation.webhook.admission.k8s.io/")
        || k.starts_with("failed-open.")
        || k.starts_with(crate::Column::LATENCY_ANNOTATION_PREFIX)
}

impl<'a> Annotations<'a> {
    pub fn new(found: &Found<'a>) -> Result<Annotations<'a>> {
        let arr = found.arr;
        if let Some(st) = arr.as_struct_opt() {
            let mut keys = Vec::new();
            for (field, col) in st.fields().iter().zip(st.columns()) {
                if !is_read_key(field.name()) {
                    continue;
                }
                let child = Found {
                    arr: col,
                    nulls: NullBuffer::union(found.nulls.as_ref(), col.logical_nulls().as_ref()),
                    name: format!("{}.{}", found.name, field.name()),
                };
                keys.push((field.name().as_str(), Strs::new(&child)?));
            }
            return Ok(Annotations::Struct(keys));
        }
        if let Some(m) = arr.as_map_opt() {
            let strs = |a: &'a ArrayRef, what: &str| {
                Strs::new(&Found {
                    arr: a,
                    nulls: a.logical_nulls(),
                    name: format!("{}.{what}", found.name),
                })
            };
            return Ok(Annotations::Map(Box::new(MapEntries {
                offsets: m.offsets().clone(),
                nulls: found.nulls.clone(),
                keys: strs(m.keys(), "key")?,
                values: strs(m.values(), "value")?,
            })));
        }
        Err(type_error(
            &found.name,
            arr.data_type(),
            "a struct, a map or JSON text",
        ))
    }

    /// Calls `f(key, value)` for each admission-webhook or latency annotation of row `i`,
    /// stopping at the first error.
    pub fn try_for_each<E>(
        &self,
        i: usize,
        mut f: impl FnMut(&'a str, &'a str) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        match self {
            Annotations::Absent => {}
            Annotations::Struct(keys) => {
                for (k, v) in keys {
                    if let Some(v) = v.get(i) {
                        f(k, v)?;
                    }
                }
            }
            Annotations::Map(m) => {
                let MapEntries {
                    offsets,
                    nulls,
                    keys,
                    values,
                } = m.as_ref();
                if is_null(nulls, i) {
                    return Ok(());
                }
                let (Some(start), Some(end)) = (offsets.get(i), offsets.get(i + 1)) else {
                    return Ok(());
                };
                for j in start.as_usize()..end.as_usize() {
                    if let (Some(k), Some(v)) = (keys.get(j), values.get(j)) {
                        if is_read_key(k) {
                            f(k, v)?;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// The batch with its top-level 16-byte fixed-size binary columns (how DuckDB and Spark store
/// a `UUID`, e.g. `auditID`) as hyphenated lower-case text, the way audit events write them.
pub(crate) fn uuids_as_text(batch: &RecordBatch) -> Result<Cow<'_, RecordBatch>> {
    let is_uuid = |dt: &DataType| matches!(dt, DataType::FixedSizeBinary(16));
    if !batch.columns().iter().any(|c| is_uuid(c.data_type())) {
        return Ok(Cow::Borrowed(batch));
    }
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (f, c) in batch.schema().fields().iter().zip(batch.columns()) {
        match c
            .as_fixed_size_binary_opt()
            .filter(|_| is_uuid(c.data_type()))
        {
            Some(bin) => {
                let text: arrow_array::StringArray = bin.iter().map(|v| v.map(uuid_text)).collect();
                fields.push(arrow_schema::Field::new(f.name(), DataType::Utf8, true));
                columns.push(Arc::new(text) as ArrayRef);
            }
            None => {
                fields.push(f.as_ref().clone());
                columns.push(c.clone());
            }
        }
    }
    let schema = Arc::new(arrow_schema::Schema::new(fields));
    RecordBatch::try_new(schema, columns)
        .map(Cow::Owned)
        .map_err(|e| Error::schema(format!("arrow: {e}")))
}

fn uuid_text(b: &[u8]) -> String {
    let mut s = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        for nibble in [byte >> 4, byte & 15] {
            s.push(char::from_digit(nibble.into(), 16).unwrap_or('0'));
        }
    }
    s
}

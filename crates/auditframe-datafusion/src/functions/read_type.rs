//! `list_read_type(request_uri [, rules])`.

use std::sync::Arc;

use auditframe::diagnose::{classify_list, ListReadRules};
use datafusion::arrow::array::StringArray;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::{coerce_text, strings};

/// `list_read_type(request_uri [, rules])`: `cache` or `etcd`, where the apiserver serves a
/// LIST with this request URI from, by the core's rule
/// ([`classify_list`](auditframe::diagnose::classify_list)); `rules` is `since-1.31`
/// (default: consistent reads from the cache) or `before-1.31`. Null for a null URI.
///
/// The LIST detector also counts LISTs of resources named with `--uncached-resources` as
/// etcd reads; in SQL, write that as a `CASE` on `resource`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ListReadType {
    signature: Signature,
}

impl ListReadType {
    /// The function.
    pub fn new() -> ListReadType {
        ListReadType {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for ListReadType {
    fn default() -> Self {
        ListReadType::new()
    }
}

impl ScalarUDFImpl for ListReadType {
    fn name(&self) -> &str {
        "list_read_type"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> DfResult<Vec<DataType>> {
        match arg_types {
            [uri] => Ok(vec![coerce_text(uri, "list_read_type's request_uri")?]),
            [uri, rules] => Ok(vec![
                coerce_text(uri, "list_read_type's request_uri")?,
                coerce_text(rules, "list_read_type's rules")?,
            ]),
            _ => Err(DataFusionError::Plan(
                "list_read_type(request_uri [, rules]) takes one or two arguments".into(),
            )),
        }
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let rules = match args.args.get(1) {
            None => ListReadRules::default(),
            Some(ColumnarValue::Scalar(s)) => rules_of(s)?,
            Some(ColumnarValue::Array(_)) => {
                return Err(DataFusionError::Execution(
                    "list_read_type's rules must be a constant".into(),
                ))
            }
        };
        let Some(uri) = args.args.first() else {
            return Err(DataFusionError::Internal(
                "list_read_type without arguments".into(),
            ));
        };
        let uris = uri.to_array(args.number_rows)?;
        let out: StringArray = strings(&uris)?
            .map(|u| u.map(|u| classify_list(u, rules).name()))
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

fn rules_of(s: &ScalarValue) -> DfResult<ListReadRules> {
    match s.try_as_str() {
        Some(Some(name)) => ListReadRules::from_name(name).ok_or_else(|| {
            DataFusionError::Execution(format!(
                "list_read_type: unknown rules {name:?} (since-1.31 or before-1.31)"
            ))
        }),
        Some(None) => Ok(ListReadRules::default()),
        None => Err(DataFusionError::Execution(
            "list_read_type's rules must be a string".into(),
        )),
    }
}

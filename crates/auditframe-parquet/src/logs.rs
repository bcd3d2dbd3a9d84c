//! Control-plane log lines ([`LogLine`]) kept beside the rows: a canonical Parquet file
//! stores them as JSON in the footer's key-value metadata under [`LOGS_KEY`], so that a
//! converted export still answers the webhook-failure diagnosis.

use auditframe::LogLine;
use parquet::file::metadata::KeyValue;
use serde::{Deserialize, Serialize};

/// Footer metadata key holding the control-plane log lines (a JSON array of
/// `{"time_generated": ns|null, "category": "…", "message": "…"}`).
pub const LOGS_KEY: &str = "auditframe:control_plane_logs";

#[derive(Serialize, Deserialize)]
struct Line<'a> {
    time_generated: Option<i64>,
    #[serde(borrow)]
    category: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    message: std::borrow::Cow<'a, str>,
}

/// The metadata entry for `logs`, or `None` when there are none.
pub(crate) fn logs_metadata(logs: &[LogLine]) -> Result<Option<KeyValue>, serde_json::Error> {
    if logs.is_empty() {
        return Ok(None);
    }
    let lines: Vec<Line<'_>> = logs
        .iter()
        .map(|l| Line {
            time_generated: l.time_generated,
            category: l.category.as_str().into(),
            message: l.message.as_str().into(),
        })
        .collect();
    Ok(Some(KeyValue::new(
        LOGS_KEY.to_owned(),
        serde_json::to_string(&lines)?,
    )))
}

/// The log lines stored in a file's metadata (none when the key is absent).
pub(crate) fn read_logs(kv: Option<&Vec<KeyValue>>) -> Result<Vec<LogLine>, String> {
    let Some(text) = kv
        .into_iter()
        .flatten()
        .find(|k| k.key == LOGS_KEY)
        .and_then(|k| k.value.as_deref())
    else {
        return Ok(Vec::new());
    };
    let lines: Vec<Line<'_>> =
        serde_json::from_str(text).map_err(|e| format!("metadata `{LOGS_KEY}`: {e}"))?;
    Ok(lines
        .into_iter()
        .map(|l| LogLine {
            time_generated: l.time_generated,
            category: l.category.into_owned(),
            message: l.message.into_owned(),
        })
        .collect())
}

//! The columns the diagnoses read, loaded once per frame, and the row filter they share.

use polars::prelude as pl;
use polars_arrow::array::PrimitiveArray;

use super::DiagnoseOptions;
use crate::analysis::columns::{Codes, Ints, Strs};
use crate::schema::{Column, Projection};
use crate::{AuditFrame, Result, TimeWindow};

/// Columns of one frame, as physical arrays.
pub(crate) struct Cols {
    pub time: Ints,
    pub latency: Ints,
    /// `stage_timestamp`: when a request completed (`time_generated` for a frame without the
    /// column, such as Parquet converted with fewer columns).
    pub stage_time: Ints,
    pub status: Ints,
    pub stage: Codes,
    pub verb: Codes,
    pub key: Codes,
    pub username: Codes,
    pub user_agent: Codes,
    pub resource: Codes,
    pub subresource: Codes,
    pub namespace: Codes,
    pub uri: Strs,
    pub name: Strs,
    pub webhooks: Strs,
    /// `audit_id` (all null when not needed).
    pub audit_id: Strs,
    /// The `lat_*_ns` columns in [`Column::LATENCY_ANNOTATIONS`] order (empty when not needed).
    pub lat: [Ints; 9],
    /// `request_received` (empty when not needed).
    pub received: Ints,
    /// The code of `ResponseComplete` in `stage` (`None`: no row has it).
    pub complete: Option<u32>,
    /// Inclusive bounds on `time_generated`, when a window applies.
    pub window: Option<(i64, i64)>,
    pub height: usize,
}

impl Cols {
    /// Loads the columns of `needed` (the optional ones only if the frame has them).
    pub fn load(frame: &AuditFrame, opts: &DiagnoseOptions, needed: Projection) -> Result<Cols> {
        let p = frame.projection();
        let want = |c: Column| needed.contains(c);
        // Optional: a frame read without them still gets the other diagnoses.
        let optional = |c: Column| want(c) && p.contains(c);
        // The column's range is needed only to resolve `Last`.
        let last = matches!(opts.window, TimeWindow::Last(_));
        let time = Ints::load(frame, Column::TimeGenerated, last)?;
        let window = opts.window.bounds(time.min_max.map(|(_, hi)| hi));
        let stage = Codes::load(frame, Column::Stage)?;
        let complete = stage.code_of("ResponseComplete");
        let status = if want(Column::StatusCode) {
            let s = frame.column(Column::StatusCode)?.as_materialized_series();
            let s = s.cast(&pl::DataType::Int64)?.rechunk();
            let arr = s.i64()?.downcast_iter().next().cloned();
            Ints::of(arr.unwrap_or_else(|| PrimitiveArray::from_vec(Vec::new())))
        } else {
            Ints::of(PrimitiveArray::from_vec(Vec::new()))
        };
        let key = opts.key.column();
        Ok(Cols {
            latency: Ints::load_if(frame, Column::LatencyMs, want(Column::LatencyMs), false)?,
            stage_time: if optional(Column::StageTimestamp) {
                Ints::load(frame, Column::StageTimestamp, false)?
            } else {
                time.clone()
            },
            status,
            stage,
            verb: Codes::load_if(frame, Column::Verb, want(Column::Verb))?,
            key: Codes::load_if(frame, key, true)?,
            username: Codes::load_if(frame, Column::Username, optional(Column::Username))?,
            user_agent: Codes::load_if(frame, Column::UserAgent, optional(Column::UserAgent))?,
            resource: Codes::load_if(frame, Column::Resource, want(Column::Resource))?,
            subresource: Codes::load_if(frame, Column::Subresource, want(Column::Subresource))?,
            namespace: Codes::load_if(frame, Column::Namespace, want(Column::Namespace))?,
            uri: Strs::load_if(frame, Column::RequestUri, want(Column::RequestUri))?,
            name: Strs::load_if(frame, Column::Name, want(Column::Name))?,
            webhooks: Strs::load_if(
                frame,
                Column::AdmissionWebhooks,
                optional(Column::AdmissionWebhooks),
            )?,
            audit_id: Strs::load_if(frame, Column::AuditId, optional(Column::AuditId))?,
            lat: Column::LATENCY_ANNOTATIONS
                .map(|(c, _)| Ints::load_if(frame, c, optional(c), false))
                .into_iter()
                .collect::<Result<Vec<Ints>>>()?
                .try_into()
                .map_err(|_| crate::Error::invalid("latency annotation columns"))?,
            received: Ints::load_if(
                frame,
                Column::RequestReceived,
                optional(Column::RequestReceived),
                false,
            )?,
            complete,
            window,
            time,
            height: frame.height(),
        })
    }

    /// Whether row `i` is one request's final event inside the window: stage
    /// `ResponseComplete` (or no stage at all), so that a request counts once.
    #[inline]
    pub fn keep(&self, i: usize) -> bool {
        let stage = self.stage.at(i);
        if stage != self.stage.len && Some(stage) != self.complete {
            return false;
        }
        // Without a window the time column is not read at all.
        self.window.is_none() || self.in_window(self.time.at(i))
    }

    /// Whether a time is inside the window (rows without a time only when there is none).
    #[inline]
    pub fn in_window(&self, t: Option<i64>) -> bool {
        match (self.window, t) {
            (None, _) => true,
            (Some((a, b)), Some(t)) => a <= t && t <= b,
            (Some(_), None) => false,
        }
    }

    /// The string of a code of `c` (`None` for the null code).
    #[inline]
    pub fn str_of_code<'a>(&'a self, c: &'a Codes, code: u32) -> Option<&'a str> {
        (code != c.len).then(|| c.name(code))
    }

    /// The string of a code as an owned key of a string-keyed partial (`""` for null).
    pub fn key_of(&self, c: &Codes, code: u32) -> String {
        self.str_of_code(c, code).unwrap_or("").to_owned()
    }

    /// The string of a categorical cell (`None` for null).
    #[inline]
    pub fn str_of<'a>(&'a self, c: &'a Codes, i: usize) -> Option<&'a str> {
        let code = c.at(i);
        (code != c.len).then(|| c.name(code))
    }
}

/// Whether an HTTP status is a success (2xx).
#[inline]
pub(crate) fn is_success(code: Option<i64>) -> bool {
    matches!(code, Some(200..=299))
}

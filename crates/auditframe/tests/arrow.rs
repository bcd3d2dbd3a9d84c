//! `AuditFrame` ↔ arrow-rs `RecordBatch` (feature `arrow`): lossless both ways, zero-copy
//! where the layouts agree, every layout of record-shaped tables.
#![cfg(feature = "arrow")]

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampNanosecondType, UInt32Type};
use arrow_schema::DataType as ArrowType;
use auditframe::arrow::{canonical_schema, dataframe_to_record_batch, ArrowTable, TableLayout};
use auditframe::generate::{Generator, GeneratorOptions};
use auditframe::polars::prelude::DataType;
use auditframe::{analyze, AnalysisOptions, AuditFrame, Column, ParseOptions, Projection, Shape};

fn story_frame(events: usize, projection: Projection) -> AuditFrame {
    let mut g = Generator::new(
        GeneratorOptions::default()
            .with_events(events)
            .with_seed(5)
            .with_story(true),
    );
    let mut buf = Vec::new();
    g.write(Shape::AksAudit, &mut buf);
    let opts = ParseOptions::new()
        .with_strict(true)
        .with_projection(projection);
    AuditFrame::from_slice(&buf, &opts).unwrap().0
}

/// Columns as comparable series: categoricals as strings.
fn same(a: &AuditFrame, b: &AuditFrame) {
    assert_eq!(a.height(), b.height());
    assert_eq!(a.projection(), b.projection());
    for (x, y) in a.dataframe().columns().iter().zip(b.dataframe().columns()) {
        let (x, y) = (x.as_materialized_series(), y.as_materialized_series());
        match (x.dtype(), y.dtype()) {
            (DataType::Categorical(..), DataType::Categorical(..)) => {
                let x = x.cast(&DataType::String).unwrap();
                let y = y.cast(&DataType::String).unwrap();
                assert!(x.equals_missing(&y), "`{}`", x.name());
            }
            (dx, dy) => {
                assert_eq!(dx, dy, "`{}`", x.name());
                assert!(x.equals_missing(y), "`{}`", x.name());
            }
        }
    }
}

#[test]
fn frame_to_record_batch_and_back_is_lossless_and_shares_buffers() {
    let frame = story_frame(3000, Projection::all());
    let batch = frame.to_record_batch().unwrap();
    assert_eq!(batch.num_rows(), 3000);
    assert_eq!(
        batch.schema().as_ref(),
        &canonical_schema(Projection::all())
    );
    // Types of the canonical Arrow schema.
    let ty = |c: Column| {
        batch
            .schema()
            .field_with_name(c.name())
            .unwrap()
            .data_type()
            .clone()
    };
    assert_eq!(
        ty(Column::TimeGenerated),
        ArrowType::Timestamp(arrow_schema::TimeUnit::Nanosecond, Some("UTC".into()))
    );
    assert_eq!(ty(Column::StatusCode), ArrowType::Int32);
    assert_eq!(ty(Column::AuditId), ArrowType::Utf8View);
    assert!(
        matches!(ty(Column::Verb), ArrowType::Dictionary(k, v) if *k == ArrowType::UInt32 && *v == ArrowType::Utf8)
    );

    // Zero-copy: the Arrow arrays point into polars' buffers.
    let df = frame.dataframe();
    let col = |c: Column| {
        batch
            .column(batch.schema().index_of(c.name()).unwrap())
            .clone()
    };
    let polars_latency = df.column("latency_ms").unwrap().i64().unwrap().clone();
    let polars_latency = polars_latency
        .downcast_iter()
        .next()
        .unwrap()
        .values()
        .as_ptr();
    assert_eq!(
        col(Column::LatencyMs)
            .as_primitive::<Int64Type>()
            .values()
            .as_ptr(),
        polars_latency
    );
    let phys = df
        .column("time_generated")
        .unwrap()
        .as_materialized_series()
        .to_physical_repr();
    let polars_time = phys
        .i64()
        .unwrap()
        .downcast_iter()
        .next()
        .unwrap()
        .values()
        .as_ptr();
    assert_eq!(
        col(Column::TimeGenerated)
            .as_primitive::<TimestampNanosecondType>()
            .values()
            .as_ptr(),
        polars_time
    );
    let verb = col(Column::Verb);
    let verb = verb.as_dictionary::<UInt32Type>();
    let codes = df
        .column("verb")
        .unwrap()
        .as_materialized_series()
        .to_physical_repr();
    let codes_ptr = codes
        .u32()
        .unwrap()
        .downcast_iter()
        .next()
        .unwrap()
        .values()
        .as_ptr();
    assert_eq!(verb.keys().values().as_ptr(), codes_ptr);

    // And back.
    let back = AuditFrame::from_record_batches(std::slice::from_ref(&batch)).unwrap();
    same(&frame, &back);
    let o = AnalysisOptions::default();
    assert_eq!(analyze(&back, &o).unwrap(), analyze(&frame, &o).unwrap());
}

#[test]
fn chunked_frames_become_several_batches_and_merge_back_into_dense_dictionaries() {
    let whole = story_frame(1200, Projection::analyses());
    let mut df = whole.dataframe().slice(0, 500);
    df.vstack_mut(&whole.dataframe().slice(500, 700)).unwrap();
    let frame = AuditFrame::from_dataframe(df).unwrap();
    let batches = frame.to_record_batches().unwrap();
    assert_eq!(batches.len(), 2);
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 1200);
    let back = AuditFrame::from_record_batches(&batches).unwrap();
    same(&frame, &back);
    // One dense dictionary per column over both batches.
    let agents = back
        .column(Column::UserAgent)
        .unwrap()
        .as_materialized_series();
    let DataType::Categorical(_, mapping) = agents.dtype() else {
        panic!("{}", agents.dtype())
    };
    let distinct = agents.n_unique().unwrap();
    assert_eq!(mapping.num_cats_upper_bound(), distinct);
    let single = frame.to_record_batch().unwrap();
    assert_eq!(single.num_rows(), 1200);
}

#[test]
fn empty_frames_and_results_convert() {
    let frame = story_frame(0, Projection::all());
    let batches = frame.to_record_batches().unwrap();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].num_rows(), 0);
    let back = AuditFrame::from_record_batches(&batches).unwrap();
    assert_eq!(back.height(), 0);
    assert!(AuditFrame::from_record_batches(&[]).is_err());

    let frame = story_frame(2000, Projection::analyses());
    let a = analyze(&frame, &AnalysisOptions::default()).unwrap();
    let top = dataframe_to_record_batch(&a.top_dataframe().unwrap()).unwrap();
    assert_eq!(top.num_rows(), a.top.len());
    assert_eq!(top.column(0).as_string_view().value(0), a.top[0].key);
    assert_eq!(
        top.column(1)
            .as_primitive::<arrow_array::types::UInt64Type>()
            .value(0),
        a.top[0].count
    );
    let p = dataframe_to_record_batch(&a.percentiles_dataframe().unwrap()).unwrap();
    assert_eq!(p.num_rows(), a.percentile_rows.len());
    let series = dataframe_to_record_batch(&a.latency_dataframe().unwrap()).unwrap();
    assert!(matches!(
        series.schema().field(1).data_type(),
        ArrowType::Timestamp(..)
    ));
}

#[test]
fn layouts_are_detected_from_column_names() {
    use arrow_schema::{Field, Schema};
    use std::sync::Arc;
    let s = |names: &[&str]| {
        Arc::new(Schema::new(
            names
                .iter()
                .map(|n| Field::new(*n, ArrowType::Utf8, true))
                .collect::<Vec<_>>(),
        ))
    };
    let layout = |names: &[&str]| ArrowTable::detect(s(names)).map(|t| t.layout());
    assert_eq!(
        layout(&["time_generated", "verb"]).unwrap(),
        TableLayout::Canonical
    );
    assert_eq!(
        layout(&["TimeGenerated", "Verb"]).unwrap(),
        TableLayout::AksAudit
    );
    assert_eq!(
        layout(&["verb", "stageTimestamp"]).unwrap(),
        TableLayout::NativeEvents
    );
    let e = layout(&["TimeGenerated", "Message", "Category"]).unwrap_err();
    assert!(e.to_string().contains("not an audit table"), "{e}");
}

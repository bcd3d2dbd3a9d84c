//! Property tests: any generated export, any row-group size, any projection and any time
//! window read back from Parquet exactly as the frame it was written from (filtered by the
//! naive reference, `AuditFrame::filter_time`, for windows).

mod common;

use auditframe::generate::{Generator, GeneratorOptions};
use auditframe::{AuditFrame, Column, ParseOptions, Projection, Shape};
use auditframe_parquet::{ReaderBuilder, WriterBuilder};
use common::assert_same;
use proptest::prelude::*;

fn frame(events: usize, seed: u64, story: bool) -> AuditFrame {
    let mut g = Generator::new(
        GeneratorOptions::default()
            .with_events(events)
            .with_seed(seed)
            .with_story(story)
            .with_span(3600 * 1_000_000_000),
    );
    let mut buf = Vec::new();
    g.write(Shape::AksAudit, &mut buf);
    AuditFrame::from_slice(&buf, &ParseOptions::new().with_strict(true))
        .unwrap()
        .0
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn parquet_round_trip_with_any_row_groups_projection_and_window(
        events in 0usize..400,
        seed in 0u64..1000,
        story in any::<bool>(),
        row_group_rows in 1usize..120,
        columns in proptest::collection::vec(any::<bool>(), Column::ALL.len()),
        window in proptest::option::of((0i64..3700, 0i64..3700)),
    ) {
        let full = frame(events, seed, story);
        let mut buf = Vec::new();
        WriterBuilder::new()
            .row_group_rows(row_group_rows)
            .write(&full, &mut buf, "p")
            .unwrap();
        let projection = Projection::of(
            &Column::ALL
                .iter()
                .zip(&columns)
                .filter_map(|(c, on)| on.then_some(*c))
                .collect::<Vec<_>>(),
        );
        let mut reader = ReaderBuilder::new().strict(true).projection(projection);
        let mut want = full.clone();
        if let Some((a, b)) = window {
            let t0 = 1_795_168_800_000_000_000i64; // the generator's start
            let (start, end) = (t0 + a.min(b) * 1_000_000_000, t0 + a.max(b) * 1_000_000_000);
            reader = reader.time_window(start, end);
            want = want.filter_time(start, end).unwrap();
        }
        let (got, report) = reader.read_bytes(buf, "p").unwrap();
        // The reader's projection, plus `time_generated` for a window.
        let mut p = projection;
        if window.is_some() {
            p = p.with(Column::TimeGenerated);
        }
        let names: Vec<&str> = p.columns().map(Column::name).collect();
        let want = AuditFrame::from_dataframe(want.dataframe().select(names).unwrap())
            .unwrap()
            .with_control_plane_logs(want.control_plane_logs().to_vec());
        assert_same(&want, &got, &[], 1, "round trip");
        prop_assert_eq!(got.control_plane_logs(), want.control_plane_logs());
        let f = report.inputs[0].table.as_ref().unwrap();
        prop_assert_eq!(f.row_groups, events.div_ceil(row_group_rows));
        if window.is_none() {
            prop_assert_eq!(f.row_groups_skipped, 0);
        }
    }
}

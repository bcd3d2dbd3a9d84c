//! `--chart`: an SVG timechart of the latency series, like KQL's `render timechart`.

use std::path::Path;

use auditframe::time::format_timestamp_secs;
use auditframe::Analysis;
use plotters::prelude::*;

const PALETTE: &[RGBColor] = &[
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

fn short(key: &str) -> String {
    let k = if key.is_empty() { "\"\"" } else { key };
    if k.chars().count() > 48 {
        format!("{}…", k.chars().take(47).collect::<String>())
    } else {
        k.to_owned()
    }
}

/// One line per top-N key; time on x (bin starts), average latency on y (log scale when the
/// series span more than two orders of magnitude, as agent latencies usually do).
pub(crate) fn write_svg(
    path: &Path,
    a: &Analysis,
    top: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let keys: Vec<&str> = a.top.iter().take(top).map(|t| t.key.as_str()).collect();
    let points: Vec<_> = a
        .latency
        .iter()
        .filter(|p| keys.contains(&p.key.as_str()))
        .collect();
    let (x0, x1) = match (
        points.iter().map(|p| p.bin_start.nanos()).min(),
        points.iter().map(|p| p.bin_start.nanos()).max(),
    ) {
        (Some(a), Some(b)) => (a, b.max(a + 1)),
        _ => return Err("no latency points to chart".into()),
    };
    let ys = points.iter().map(|p| p.avg_ms);
    let ymax = ys.clone().fold(f64::MIN, f64::max).max(1.0);
    // Log scale needs a positive floor: averages under 0.5 ms (or negative ones, which
    // clock skew can give) are drawn at 0.5 ms.
    let ymin = ys.fold(f64::MAX, f64::min).max(0.5);
    let log = ymax / ymin > 100.0;
    let to_min = |t: i64| (t - x0) as f64 / 60e9;
    let xmax = to_min(x1).max(1.0);

    let root = SVGBackend::new(path, (1200, 700)).into_drawing_area();
    root.fill(&WHITE)?;
    let title = format!(
        "Average latency per {} ({} bins)",
        a.group_by,
        super::humanize(a.bin_ns)
    );
    let mut builder = ChartBuilder::on(&root);
    builder
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(70);
    let x_fmt = |m: &f64| {
        format_timestamp_secs(x0 + (*m * 60e9) as i64)
            .get(11..16)
            .unwrap_or("")
            .to_owned()
    };
    let y_desc = if log {
        "avg latency, ms (log scale)"
    } else {
        "avg latency, ms"
    };
    let x_desc = format!("request received (UTC), from {}", format_timestamp_secs(x0));
    macro_rules! draw {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_desc(x_desc.as_str())
                .y_desc(y_desc)
                .x_label_formatter(&x_fmt)
                .x_labels(12)
                .draw()?;
            for (i, key) in keys.iter().enumerate() {
                let color = PALETTE[i % PALETTE.len()];
                let series: Vec<(f64, f64)> = points
                    .iter()
                    .filter(|p| p.key == *key)
                    .map(|p| {
                        (
                            to_min(p.bin_start.nanos()),
                            if log { p.avg_ms.max(ymin) } else { p.avg_ms },
                        )
                    })
                    .collect();
                chart
                    .draw_series(LineSeries::new(series, color.stroke_width(2)))?
                    .label(format!("#{} {}", i + 1, short(key)))
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                    });
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()?;
        }};
    }
    if log {
        draw!(builder.build_cartesian_2d(0f64..xmax, (ymin * 0.8..ymax * 1.25).log_scale())?);
    } else {
        draw!(builder.build_cartesian_2d(0f64..xmax, 0f64..ymax * 1.1)?);
    }
    root.present()?;
    Ok(())
}

//! `--plot FILE.svg`: the latency distributions (percentile against milliseconds), one line
//! per series, drawn with plotters' SVG backend.

use super::record::{Series, SERIES};
use anyhow::{anyhow, Context};
use hdrhistogram::Histogram;
use plotters::prelude::*;
use std::path::Path;

/// Points per line.
const STEPS: u32 = 200;

/// (percentile, milliseconds) points of one histogram: evenly spaced, plus the tail.
fn points(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    let tail = [0.99, 0.995, 0.999, 0.9999, 1.0];
    let even = (0..STEPS).map(|i| f64::from(i) / f64::from(STEPS));
    let mut qs: Vec<f64> = even.chain(tail).collect();
    qs.sort_by(f64::total_cmp);
    qs.dedup();
    qs.into_iter()
        .map(|q| (q * 100.0, h.value_at_quantile(q) as f64 / 1000.0))
        .collect()
}

/// Writes the SVG; series without samples are left out.
pub(super) fn write(path: &Path, series: &Series, title: &str) -> anyhow::Result<()> {
    draw(path, series, title)
        .map_err(|e| anyhow!("{e}"))
        .with_context(|| format!("cannot write --plot {}", path.display()))
}

fn draw(path: &Path, series: &Series, title: &str) -> Result<(), Box<dyn std::error::Error>> {
    let lines: Vec<(&str, Vec<(f64, f64)>)> = SERIES
        .iter()
        .zip(series.all())
        .filter(|(_, h)| !h.is_empty())
        .map(|((_, label), h)| (*label, points(h)))
        .collect();
    let top = lines
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(_, ms)| *ms))
        .fold(0.0_f64, f64::max)
        .max(0.001)
        * 1.05;
    let root = SVGBackend::new(path, (960, 540)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0_f64..100.0_f64, 0.0_f64..top)?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("latency (ms)")
        .draw()?;
    let colors = [BLUE, RED, GREEN];
    for ((label, pts), color) in lines.into_iter().zip(colors) {
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

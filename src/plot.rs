//! Charts of training runs: cost per epoch (left) and accuracy per epoch (right), for the
//! training, validation and test sets, from one run or several to compare (one colour per run;
//! training solid, validation dashed, test with dots), drawn with plotters into a PNG.

use crate::error::{Error, Result};
use crate::render::chart_backend::ChartBackend;
use crate::train::EpochReport;
use plotters::prelude::*;
use serde::Deserialize;
use std::path::Path;

/// One line of a `--metrics` file: the fields a chart uses (others are ignored).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct MetricsLine {
    pub epoch: usize,
    #[serde(default)]
    pub train_cost: Option<f64>,
    #[serde(default)]
    pub train_accuracy: Option<f64>,
    #[serde(default)]
    pub validation_cost: Option<f64>,
    #[serde(default)]
    pub validation_accuracy: Option<f64>,
    #[serde(default)]
    pub test_cost: Option<f64>,
    #[serde(default)]
    pub test_accuracy: Option<f64>,
}

impl From<&EpochReport> for MetricsLine {
    fn from(r: &EpochReport) -> Self {
        MetricsLine {
            epoch: r.epoch,
            train_cost: r.train_cost,
            train_accuracy: r.train_accuracy,
            validation_cost: r.validation_cost,
            validation_accuracy: r.validation_accuracy,
            test_cost: r.test_cost,
            test_accuracy: r.test_accuracy,
        }
    }
}

/// A run to draw: its legend name and its epochs; for a sweep the members' median per epoch,
/// with the band from their lowest to their highest value.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub label: String,
    pub lines: Vec<MetricsLine>,
    /// (lowest, highest) per epoch over the members of a sweep.
    pub band: Option<(Vec<MetricsLine>, Vec<MetricsLine>)>,
}

impl Run {
    pub fn new(label: String, lines: Vec<MetricsLine>) -> Self {
        Run {
            label,
            lines,
            band: None,
        }
    }

    /// A sweep's members as one run: per epoch, each value's median over the members that
    /// measured it, and the band from its lowest to its highest.
    pub fn sweep(label: String, members: &[Vec<MetricsLine>]) -> Self {
        let epochs = members
            .iter()
            .flat_map(|m| m.iter().map(|l| l.epoch))
            .max()
            .unwrap_or(0);
        let (mut mid, mut lo, mut hi) = (Vec::new(), Vec::new(), Vec::new());
        type Field = fn(&mut MetricsLine) -> &mut Option<f64>;
        let fields: [Field; 6] = [
            |l| &mut l.train_cost,
            |l| &mut l.train_accuracy,
            |l| &mut l.validation_cost,
            |l| &mut l.validation_accuracy,
            |l| &mut l.test_cost,
            |l| &mut l.test_accuracy,
        ];
        for epoch in 1..=epochs {
            let at: Vec<MetricsLine> = members
                .iter()
                .filter_map(|m| m.iter().find(|l| l.epoch == epoch).cloned())
                .collect();
            if at.is_empty() {
                continue;
            }
            let empty = MetricsLine {
                epoch,
                ..MetricsLine::default()
            };
            let (mut a, mut b, mut c) = (empty.clone(), empty.clone(), empty);
            for f in fields {
                let mut values: Vec<f64> = at.iter().filter_map(|l| *f(&mut l.clone())).collect();
                values.sort_by(f64::total_cmp);
                if let (Some(&min), Some(&max)) = (values.first(), values.last()) {
                    let n = values.len();
                    let median = if n % 2 == 1 {
                        values[n / 2]
                    } else {
                        0.5 * (values[n / 2 - 1] + values[n / 2])
                    };
                    *f(&mut a) = Some(median);
                    *f(&mut b) = Some(min);
                    *f(&mut c) = Some(max);
                }
            }
            mid.push(a);
            lo.push(b);
            hi.push(c);
        }
        Run {
            label,
            lines: mid,
            band: Some((lo, hi)),
        }
    }
}

/// The default picture size in pixels.
pub const DEFAULT_SIZE: (u32, u32) = (1200, 500);

/// The colour of run `i` (matplotlib's "tab10" cycle), as RGB.
pub fn run_color(i: usize) -> (u8, u8, u8) {
    const TAB10: [(u8, u8, u8); 10] = [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (127, 127, 127),
        (188, 189, 34),
        (23, 190, 207),
    ];
    TAB10[i % TAB10.len()]
}

/// Reads a `--metrics` file (JSON Lines; blank lines are skipped).
pub fn read_metrics(path: &Path) -> Result<Vec<MetricsLine>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut lines = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let parsed: MetricsLine = serde_json::from_str(line).map_err(|e| {
            Error::bad_data(
                path,
                format!(
                    "line {}: not a metrics line written by `train --metrics` ({e})",
                    n + 1
                ),
            )
        })?;
        lines.push(parsed);
    }
    if lines.is_empty() {
        return Err(Error::bad_data(path, "holds no epochs"));
    }
    Ok(lines)
}

#[derive(Clone, Copy)]
enum Set {
    Train,
    Validation,
    Test,
}

impl Set {
    const ALL: [Set; 3] = [Set::Train, Set::Validation, Set::Test];

    fn name(self) -> &'static str {
        match self {
            Set::Train => "training",
            Set::Validation => "validation",
            Set::Test => "test",
        }
    }

    fn cost(self, l: &MetricsLine) -> Option<f64> {
        match self {
            Set::Train => l.train_cost,
            Set::Validation => l.validation_cost,
            Set::Test => l.test_cost,
        }
    }

    /// Accuracy in percent.
    fn accuracy(self, l: &MetricsLine) -> Option<f64> {
        match self {
            Set::Train => l.train_accuracy,
            Set::Validation => l.validation_accuracy,
            Set::Test => l.test_accuracy,
        }
        .map(|a| a * 100.0)
    }
}

type Getter = fn(Set, &MetricsLine) -> Option<f64>;

/// Draws `runs` into an RGB8 buffer of `size` pixels.
pub fn render(runs: &[Run], size: (u32, u32)) -> Result<Vec<u8>> {
    let (w, h) = size;
    if !(200..=8000).contains(&w) || !(150..=8000).contains(&h) {
        return Err(Error::config(format!(
            "a plot must be 200..=8000 pixels wide and 150..=8000 high, not {w}x{h}"
        )));
    }
    let mut buffer = vec![255u8; w as usize * h as usize * 3];
    draw_into(&mut buffer, runs, size)
        .map_err(|e| Error::internal(format!("cannot draw the plot: {e}")))?;
    Ok(buffer)
}

/// Draws `runs` and writes the PNG to `path` atomically.
pub fn draw(runs: &[Run], path: &Path, size: (u32, u32)) -> Result<()> {
    let rgb = render(runs, size)?;
    crate::render::write_png(path, &rgb, size)
}

fn draw_into(
    buffer: &mut [u8],
    runs: &[Run],
    size: (u32, u32),
) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let root = ChartBackend::new(buffer, size).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(size.0 / 2);
    panel(&left, runs, "cost per epoch", Set::cost, false)?;
    panel(&right, runs, "accuracy per epoch (%)", Set::accuracy, true)?;
    root.present()?;
    Ok(())
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    runs: &[Run],
    title: &str,
    value: Getter,
    accuracy: bool,
) -> std::result::Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    let points = |run: &Run, set: Set| -> Vec<(f64, f64)> {
        run.lines
            .iter()
            .filter_map(|l| value(set, l).map(|v| (l.epoch as f64, v)))
            .filter(|(_, v)| v.is_finite())
            .collect()
    };
    let band_points = |lines: &[MetricsLine], set: Set| -> Vec<(f64, f64)> {
        lines
            .iter()
            .filter_map(|l| value(set, l).map(|v| (l.epoch as f64, v)))
            .filter(|(_, v)| v.is_finite())
            .collect()
    };
    let mut all: Vec<(f64, f64)> = runs
        .iter()
        .flat_map(|r| Set::ALL.iter().flat_map(move |&s| points(r, s)))
        .collect();
    for run in runs {
        if let Some((lo, hi)) = &run.band {
            for set in Set::ALL {
                all.extend(band_points(lo, set));
                all.extend(band_points(hi, set));
            }
        }
    }
    let max_epoch = all.iter().map(|p| p.0).fold(1.0, f64::max);
    let (lo, hi) = all
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p.1), hi.max(p.1))
        });
    let (y0, y1) = if all.is_empty() {
        (0.0, 1.0)
    } else if accuracy {
        ((lo - 2.0).max(0.0).floor(), 100.0)
    } else {
        (0.0, if hi > 0.0 { hi * 1.08 } else { 1.0 })
    };
    let x_range = if max_epoch <= 1.0 {
        0.5..1.5
    } else {
        1.0..max_epoch
    };
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x_range, y0..y1)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .x_labels(10.min(max_epoch as usize + 1))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| {
            if accuracy {
                format!("{y:.1}")
            } else {
                format!("{y:.3}")
            }
        })
        .label_style(("sans-serif", 15))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    let mut any = false;
    for (i, run) in runs.iter().enumerate() {
        let (r, g, b) = run_color(i);
        let color = RGBColor(r, g, b);
        if let Some((lo, hi)) = &run.band {
            for set in Set::ALL {
                let mut outline = band_points(lo, set);
                let mut top = band_points(hi, set);
                top.reverse();
                outline.extend(top);
                if outline.len() > 2 {
                    chart.draw_series(std::iter::once(Polygon::new(outline, color.mix(0.18))))?;
                }
            }
        }
        for set in Set::ALL {
            let p = points(run, set);
            if p.is_empty() {
                continue;
            }
            any = true;
            let label = if runs.len() == 1 && run.band.is_none() {
                set.name().to_string()
            } else {
                format!("{}: {}", run.label, set.name())
            };
            let style = color.stroke_width(2);
            let series = match set {
                Set::Train => chart.draw_series(LineSeries::new(p, style))?,
                Set::Validation => chart.draw_series(DashedLineSeries::new(p, 8, 5, style))?,
                Set::Test => {
                    chart.draw_series(LineSeries::new(p.clone(), color.stroke_width(1)))?;
                    chart.draw_series(p.into_iter().map(|c| Circle::new(c, 3, color.filled())))?
                }
            };
            series.label(label).legend(move |(x, y)| match set {
                Set::Train => {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)).into_dyn()
                }
                Set::Validation => plotters::element::DashedPathElement::new(
                    vec![(x, y), (x + 20, y)],
                    5,
                    3,
                    color.stroke_width(2),
                )
                .into_dyn(),
                Set::Test => Circle::new((x + 10, y), 3, color.filled()).into_dyn(),
            });
        }
    }
    if any {
        chart
            .configure_series_labels()
            .position(if accuracy {
                SeriesLabelPosition::LowerRight
            } else {
                SeriesLabelPosition::UpperRight
            })
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .label_font(("sans-serif", 14))
            .draw()?;
    }
    Ok(())
}

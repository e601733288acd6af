//! `gpu-mlp plot`: cost and accuracy per epoch from `--metrics` files, several runs on one
//! chart.

use crate::cli::PlotArgs;
use crate::error::{Error, Result};
use crate::plot::{self, Run};

pub fn run(args: &PlotArgs) -> Result<()> {
    if let Some(labels) = &args.labels {
        if labels.len() != args.metrics.len() {
            return Err(Error::config(format!(
                "--labels names {} runs but {} metrics files were given",
                labels.len(),
                args.metrics.len()
            )));
        }
    }
    let mut outputs = crate::outputs::Outputs::new();
    for m in &args.metrics {
        outputs = outputs.reads("METRICS.jsonl", Some(m));
    }
    outputs.writes("--output", Some(&args.output)).check()?;
    let runs = args
        .metrics
        .iter()
        .enumerate()
        .map(|(i, path)| {
            let label = match &args.labels {
                Some(l) => l[i].clone(),
                None => path.file_stem().map_or_else(
                    || path.display().to_string(),
                    |s| s.to_string_lossy().into(),
                ),
            };
            Ok(Run {
                label,
                lines: plot::read_metrics(path)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    plot::draw(&runs, &args.output, (args.width, args.height))?;
    let epochs: usize = runs.iter().map(|r| r.lines.len()).sum();
    println!(
        "plotted {} run(s), {epochs} epochs, into {}",
        runs.len(),
        args.output.display()
    );
    Ok(())
}

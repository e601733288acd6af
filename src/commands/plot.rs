//! `gpu-mlp plot`: cost and accuracy per epoch from `--metrics` files, several runs on one
//! chart; a sweep's metrics directory is one run, its members' median with their range as a
//! band.

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
            if path.is_dir() {
                return sweep_run(label, path);
            }
            Ok(Run::new(label, plot::read_metrics(path)?))
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

/// The members' metrics files (*.jsonl) of a sweep's `--metrics` directory, as one run.
fn sweep_run(label: String, dir: &std::path::Path) -> Result<Run> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut files: Vec<std::path::PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::config(format!(
            "{}: no *.jsonl metrics files in the directory (a sweep's --metrics DIR holds one per member)",
            dir.display()
        )));
    }
    let members = files
        .iter()
        .map(|f| plot::read_metrics(f))
        .collect::<Result<Vec<_>>>()?;
    Ok(Run::sweep(
        format!(
            "{label} (median of {} members, and their range)",
            members.len()
        ),
        &members,
    ))
}

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
    // Without -o the chart goes beside the first metrics file: run.jsonl → run.png.
    let output = match &args.output {
        Some(o) => {
            outputs = outputs.writes("--output", Some(o));
            o.clone()
        }
        None => {
            let first = &args.metrics[0];
            let default = match first.is_dir() {
                true => first.with_file_name(format!("{}.png", file_name(first))),
                false => first.with_extension("png"),
            };
            outputs = outputs.writes_default("-o/--output", &default);
            default
        }
    };
    outputs.check()?;
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
    plot::draw(&runs, &output, (args.width, args.height))?;
    let epochs: usize = runs.iter().map(|r| r.lines.len()).sum();
    println!(
        "plotted {} run(s), {}, into {}",
        runs.len(),
        crate::words::count(epochs, "epoch"),
        output.display()
    );
    Ok(())
}

/// A path's last component ("metrics" for "out/metrics/"), or "plot" where it has none.
fn file_name(path: &std::path::Path) -> String {
    path.components()
        .next_back()
        .and_then(|c| match c {
            std::path::Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
            _ => None,
        })
        .unwrap_or_else(|| "plot".into())
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

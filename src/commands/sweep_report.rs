//! `gpu-mlp sweep-report`: the shards of a sweep, merged into the table one unsharded run
//! prints.

use crate::cli::SweepReportArgs;
use crate::error::{Error, Result};
use crate::sweep::results::SweepReport;
use std::path::PathBuf;

pub fn run(args: &SweepReportArgs) -> Result<()> {
    let mut files: Vec<PathBuf> = Vec::new();
    for path in &args.paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|e| Error::io(path, e))?;
            let mut found: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("sweep-results") && n.ends_with(".json"))
                })
                .collect();
            if found.is_empty() {
                return Err(Error::config(format!(
                    "{}: no sweep-results*.json in the directory (give the --save or --metrics directory of a sweep)",
                    path.display()
                )));
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    let reports = files
        .iter()
        .map(|f| SweepReport::read(f).map(|r| (f.display().to_string(), r)))
        .collect::<Result<Vec<_>>>()?;
    let merged = SweepReport::merge(reports)?;
    if args.json {
        let json = serde_json::to_string(&merged)
            .map_err(|e| Error::internal(format!("cannot encode the sweep's results: {e}")))?;
        println!("{json}");
    } else {
        print!("{}", merged.table());
    }
    if merged.results.len() < merged.members {
        eprintln!(
            "sweep-report: {} of the sweep's {} members reported; the other shards' results are missing",
            merged.results.len(),
            merged.members
        );
    }
    Ok(())
}

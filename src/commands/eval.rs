//! `gpu-mlp eval`: a saved model's accuracy on a split, with per-class counts.

use super::make_backend;
use crate::backend::Split;
use crate::checkpoint::Checkpoint;
use crate::cli::EvalArgs;
use crate::config::{OptimizerKind, ShapeFrom};
use crate::data;
use crate::error::{Error, Result};
use crate::evaluation::{error_indices, Confusion};
use crate::render::grid::{self, GridLayout, Tile};
use serde_json::json;
use std::sync::Arc;

pub fn run(args: &EvalArgs) -> Result<()> {
    if args.errors_max == 0 {
        return Err(Error::config("--errors-max must be at least 1"));
    }
    crate::outputs::Outputs::new()
        .reads("--model", Some(&args.model))
        .writes("--errors", args.errors.as_deref())
        .check()?;
    let ck = Checkpoint::load(&args.model)?;
    let source = super::model_data::source(&args.data, &args.model, ck.data.as_ref())?;
    let (splits, found) = data::load_recorded(&source, args.data.sizes())?;
    let splits = Arc::new(splits);
    ck.network.validate_from(
        splits.inputs(),
        splits.classes,
        ShapeFrom::Checkpoint(&args.model),
    )?;
    // After the shape check: data of another shape is that error, which says more.
    super::model_data::check(&args.model, ck.data.as_ref(), &found, args.any_data)?;
    if splits.get(args.split).is_empty() {
        let flag = match args.split {
            Split::Train => "--train-size",
            Split::Validation => "--validation-size",
            Split::Test => "--test-size",
        };
        return Err(Error::config(format!(
            "--split {} has no images ({flag} is 0); there is nothing to evaluate",
            args.split.name()
        )));
    }
    let mut backend = make_backend(
        &args.device,
        &ck.network,
        ck.params.clone(),
        OptimizerKind::Sgd,
        splits.clone(),
        1,
    )?;
    let set = splits.get(args.split);
    let spinner = crate::progress::spinner(format!(
        "evaluating {} {} images",
        set.len(),
        args.split.name()
    ));
    let e = backend.evaluate(args.split)?;
    spinner.finish_and_clear();
    let labels = &set.labels;
    let classes = *ck.network.layers.last().unwrap_or(&0);
    let mut count = vec![0usize; classes];
    let mut correct = vec![0usize; classes];
    for (&label, &pred) in labels.iter().zip(&e.predictions) {
        let l = label as usize;
        if l < classes {
            count[l] += 1;
            correct[l] += usize::from(pred == label);
        }
    }
    let confusion = Confusion::new(classes, labels, &e.predictions);
    let errors = match &args.errors {
        Some(path) => Some(write_error_grid(
            path,
            set,
            &e.predictions,
            args.errors_max,
        )?),
        None => None,
    };
    let cost = if e.count > 0 {
        e.cost_sum / e.count as f64
    } else {
        0.0
    };
    if args.json {
        let per_class: Vec<_> = (0..classes)
            .map(|c| {
                json!({
                    "class": c,
                    "count": count[c],
                    "correct": correct[c],
                    "accuracy": if count[c] > 0 { correct[c] as f64 / count[c] as f64 } else { 0.0 },
                })
            })
            .collect();
        let mut out = json!({
            "model": args.model.display().to_string(),
            "split": args.split.name(),
            "accuracy": e.accuracy(),
            "correct": e.correct,
            "count": e.count,
            "cost": cost,
            "per_class": per_class,
        });
        if args.confusion {
            out["confusion"] = json!(confusion.counts);
        }
        if let (Some(path), Some(shown)) = (&args.errors, errors) {
            out["errors"] = json!({
                "path": path.display().to_string(),
                "misclassified": e.count - e.correct,
                "shown": shown,
            });
        }
        println!("{out}");
    } else {
        println!(
            "{} accuracy: {:.2}% ({}/{}), mean cost {:.4}, on {}",
            args.split.name(),
            e.accuracy() * 100.0,
            e.correct,
            e.count,
            cost,
            backend.describe()
        );
        for c in 0..classes {
            if count[c] > 0 {
                println!(
                    "  class {c}: {:.2}% ({}/{})",
                    correct[c] as f64 * 100.0 / count[c] as f64,
                    correct[c],
                    count[c]
                );
            }
        }
        if args.confusion {
            print!("{}", confusion.table());
        }
        match (&args.errors, errors) {
            (Some(path), Some(0)) => {
                println!("no misclassified images: {} not written", path.display())
            }
            (Some(path), Some(shown)) => println!(
                "wrote {shown} of {} misclassified images to {}",
                e.count - e.correct,
                path.display()
            ),
            _ => {}
        }
    }
    Ok(())
}

/// Renders the first `max` misclassified images of `set`, captioned "truth→prediction", into a
/// PNG; returns how many it shows.
fn write_error_grid(
    path: &std::path::Path,
    set: &crate::data::Dataset,
    predictions: &[u8],
    max: usize,
) -> Result<usize> {
    let tiles: Vec<Tile> = error_indices(&set.labels, predictions)
        .into_iter()
        .take(max)
        .map(|i| {
            Tile::from_gray(
                set.image(i),
                format!("{}→{}", set.labels[i], predictions[i]),
            )
        })
        .collect();
    if tiles.is_empty() {
        return Ok(0);
    }
    if set.rows != set.cols {
        return Err(Error::config(format!(
            "--errors draws square images; these are {}x{}",
            set.rows, set.cols
        )));
    }
    let layout = GridLayout::for_tiles(tiles.len(), set.rows as u32);
    let (rgb, size) = grid::render(&tiles, &layout)?;
    crate::render::write_png(path, &rgb, size)?;
    Ok(tiles.len())
}

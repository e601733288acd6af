//! `gpu-mlp eval`: a saved model's accuracy on a split, with per-class counts.

use super::make_backend;
use crate::checkpoint::Checkpoint;
use crate::cli::EvalArgs;
use crate::config::OptimizerKind;
use crate::data;
use crate::error::Result;
use serde_json::json;
use std::sync::Arc;

pub fn run(args: &EvalArgs) -> Result<()> {
    let ck = Checkpoint::load(&args.model)?;
    let splits = Arc::new(data::load(&args.data.source(), args.data.sizes())?);
    ck.network.validate(splits.inputs(), splits.classes)?;
    let mut backend = make_backend(
        &args.device,
        &ck.network,
        ck.params.clone(),
        OptimizerKind::Sgd,
        splits.clone(),
        1,
    )?;
    let e = backend.evaluate(args.split)?;
    let labels = &splits.get(args.split).labels;
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
        let out = json!({
            "model": args.model.display().to_string(),
            "split": args.split.name(),
            "accuracy": e.accuracy(),
            "correct": e.correct,
            "count": e.count,
            "cost": cost,
            "per_class": per_class,
        });
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
    }
    Ok(())
}

//! `gpu-mlp gradcheck`: backprop against f64 central differences on real samples.

use crate::cli::GradcheckArgs;
use crate::data;
use crate::error::{Error, Result};

pub fn run(args: &GradcheckArgs) -> Result<()> {
    if args.samples == 0 || args.samples > 1000 {
        return Err(Error::config(format!(
            "--samples must be in 1..=1000, found {}",
            args.samples
        )));
    }
    if args.hidden.len() > 8 || args.hidden.iter().any(|&h| h == 0 || h > 256) {
        return Err(Error::config(format!(
            "--hidden takes at most 8 widths, each in 1..=256, found {:?}",
            args.hidden
        )));
    }
    let mut sizes = args.data.sizes();
    sizes.train = sizes.train.max(args.samples);
    let splits = data::load(&args.data.source(), sizes)?;
    let set = &splits.train;
    let n = args.samples.min(set.len());
    let inputs: Vec<Vec<f64>> = (0..n)
        .map(|i| set.image(i).iter().map(|&p| p as f64 / 255.0).collect())
        .collect();
    let rows = crate::gradcheck::check(
        &inputs,
        &set.labels[..n],
        &args.hidden,
        splits.classes,
        args.seed,
    );
    if args.json {
        let s = serde_json::to_string_pretty(&rows)
            .map_err(|e| Error::internal(format!("cannot encode JSON: {e}")))?;
        println!("{s}");
        return Ok(());
    }
    let mut layers = vec![splits.inputs()];
    layers.extend(&args.hidden);
    layers.push(splits.classes);
    println!(
        "gradient check: network {:?}, {n} MNIST samples, f64 backprop vs central differences (h = 1e-4)",
        layers
    );
    println!(
        "{:<8} {:<14} {:>5} {:>14} {:>14}",
        "output", "cost", "layer", "max rel err W", "max rel err b"
    );
    for r in &rows {
        println!(
            "{:<8} {:<14} {:>5} {:>14.3e} {:>14.3e}",
            format!("{:?}", r.output).to_lowercase(),
            format!("{:?}", r.cost).to_lowercase(),
            r.layer,
            r.weight,
            r.bias
        );
    }
    let worst = rows
        .iter()
        .map(|r| r.weight.max(r.bias))
        .fold(0.0, f64::max);
    println!("largest relative error: {worst:.3e}");
    Ok(())
}

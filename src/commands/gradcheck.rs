//! `gpu-mlp gradcheck`: backprop against f64 central differences on real samples.

use crate::cli::GradcheckArgs;
use crate::data;
use crate::error::{Error, Result};
use crate::gradcheck;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// A check expected to take longer than this many seconds is announced, with its estimate.
const LONG_SECONDS: f64 = 10.0;

/// Seconds as "40 s", "12 min" or "3.5 h".
fn duration(seconds: f64) -> String {
    if seconds < 120.0 {
        format!("{seconds:.0} s")
    } else if seconds < 7200.0 {
        format!("{:.0} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

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
    let labels = &set.labels[..n];
    let (hidden, classes) = (&args.hidden, splits.classes);
    // Each parameter costs two evaluations of the cost over the samples: say up front how long
    // that will take when it is more than a moment, and show a bar on a terminal.
    let total = gradcheck::parameters_checked(splits.inputs(), hidden, classes);
    let estimate = 2.0
        * total as f64
        * gradcheck::seconds_per_cost(&inputs, labels, hidden, classes, args.seed);
    if estimate > LONG_SECONDS {
        eprintln!(
            "gradcheck: {total} parameter checks (4 output/cost pairs), each 2 cost evaluations over {n} samples: about {}; fewer --hidden units or --samples check faster",
            duration(estimate)
        );
    }
    let bar = if estimate > LONG_SECONDS && std::io::stderr().is_terminal() {
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("parameters checked [{bar:30}] {pos}/{len} ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let rows =
        gradcheck::check_with_progress(&inputs, labels, hidden, classes, args.seed, &mut |done| {
            if done % 64 == 0 {
                bar.set_position(done as u64);
            }
        });
    bar.finish_and_clear();
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

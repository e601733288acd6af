//! The per-sample output kernels against the f64 reference, for each output/cost pair: δᴸ
//! (output_delta.wgsl) and the evaluation's cost and prediction (evaluate.wgsl).
//!
//! Bounds: δᴸ and the cost take O(classes) exp and one division in f32, a few ulp per term:
//! 1e-6 + 1e-5·|δ| for δᴸ, 1e-5·(1 + |C|)·classes for the cost. The prediction: the reference's
//! arg-max, or any index whose reference activation is within twice δ's bound of the largest
//! (each of the two may be off by that bound in opposite directions), so that two outputs a
//! few ulp apart may come out either way on a GPU whose exp or division rounds differently.

use super::compare::{plant, Comparison};
use super::data::{rng, uniform};
use super::{reference, Check, Session};
use crate::config::{Cost, Output};
use crate::error::Result;
use crate::gpu::kernels::Pipeline;
use rand::Rng;

/// (rows, classes) of the output checks.
const SHAPES: [(usize, usize); 5] = [(1, 1), (7, 10), (100, 7), (30, 30), (1025, 100)];
const QUICK_SHAPES: [(usize, usize); 3] = [(1, 1), (7, 10), (100, 7)];

/// The four output/cost pairs.
pub(crate) const PAIRS: [(Output, Cost); 4] = [
    (Output::Sigmoid, Cost::Quadratic),
    (Output::Sigmoid, Cost::CrossEntropy),
    (Output::Softmax, Cost::Quadratic),
    (Output::Softmax, Cost::CrossEntropy),
];

fn delta_bound(want: f64) -> f64 {
    1e-6 + 1e-5 * want.abs()
}

/// z [rows, classes] (one row of equal outputs, a tie) and labels.
fn inputs(rng: &mut rand_chacha::ChaCha8Rng, rows: usize, classes: usize) -> (Vec<f32>, Vec<u8>) {
    let mut z = uniform(rng, rows * classes, 4.0);
    z[..classes].iter_mut().for_each(|v| *v = 0.25);
    let labels = (0..rows)
        .map(|_| rng.random_range(0..classes) as u8)
        .collect();
    (z, labels)
}

fn shapes(s: &Session) -> &'static [(usize, usize)] {
    if s.plan.quick {
        &QUICK_SHAPES
    } else {
        &SHAPES
    }
}

/// δᴸ for each output/cost pair.
pub(crate) fn output_delta(s: &mut Session) -> Result<Vec<Check>> {
    let mut rng = rng(4);
    let mut checks = Vec::new();
    for (output, cost) in PAIRS {
        let pipeline = Pipeline::OutputDelta(output, cost);
        for &(rows, classes) in shapes(s) {
            let (z, labels) = inputs(&mut rng, rows, classes);
            let mut got = s.probe().output_delta(output, cost, &z, &labels, classes)?;
            plant(s.planted(), &pipeline.name(), &mut got);
            let mut c = Comparison::default();
            for r in 0..rows {
                let row = &z[r * classes..(r + 1) * classes];
                let want = reference::output_row(output, cost, row, labels[r] as usize);
                for (j, &w) in want.delta.iter().enumerate() {
                    let at = || format!("[{r}, {j}] (label {})", labels[r]);
                    c.add(at, got[r * classes + j] as f64, w, delta_bound(w));
                }
            }
            let shape = format!("{rows}x{classes}");
            checks.push(c.finish("output_delta", pipeline.name(), shape, vec![pipeline]));
        }
    }
    Ok(checks)
}

/// The evaluation's per-sample cost and prediction for each output/cost pair.
pub(crate) fn evaluate(s: &mut Session) -> Result<Vec<Check>> {
    let mut rng = rng(7);
    let mut checks = Vec::new();
    for (output, cost) in PAIRS {
        let pipeline = Pipeline::Evaluate(output, cost);
        let name = pipeline.name();
        for &(rows, classes) in shapes(s) {
            let (z, labels) = inputs(&mut rng, rows, classes);
            let (mut costs, predictions) =
                s.probe().evaluate(output, cost, &z, &labels, classes)?;
            plant(s.planted(), &name, &mut costs);
            let mut cost_check = Comparison::default();
            let mut prediction_check = Comparison::default();
            for r in 0..rows {
                let row = &z[r * classes..(r + 1) * classes];
                let want = reference::output_row(output, cost, row, labels[r] as usize);
                let bound = 1e-5 * (1.0 + want.cost.abs()) * classes as f64;
                cost_check.add(|| format!("row {r}"), costs[r] as f64, want.cost, bound);
                let a = &want.activation;
                let best = reference::arg_max(a);
                let p = predictions[r] as usize;
                // The activation the GPU's pick has in the reference (NaN: no such class).
                let picked = a.get(p).copied().unwrap_or(f64::NAN);
                let at = || format!("row {r}: predicted {p}, the reference's arg-max {best}");
                prediction_check.add(at, picked, a[best], 2.0 * delta_bound(a[best]));
            }
            let shape = format!("{rows}x{classes}");
            checks.push(cost_check.finish(
                "evaluate",
                name.clone(),
                format!("{shape} cost"),
                vec![pipeline],
            ));
            checks.push(prediction_check.finish(
                "evaluate",
                name.clone(),
                format!("{shape} prediction"),
                vec![pipeline],
            ));
        }
    }
    Ok(checks)
}

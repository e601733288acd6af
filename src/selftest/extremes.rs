//! Numerical safety on the GPU: weighted inputs |z| up to 1e4, where a naive e^{z} overflows
//! f32 at z ≈ 88.7 and a naive ln a reaches ln 0, through each kernel that computes σ, softmax
//! or a cost (the hidden layers' σ epilogue, δᴸ, the evaluation's cost), held against the CPU
//! path's functions (which tests/numerics.rs holds against f64). A driver whose exp or log
//! misbehaves at the extremes (fast-math, an overflow WGSL leaves indeterminate) fails here.
//!
//! Bounds: σ and the cost within 1e-5·max(1, |value|), δᴸ within 1e-6: f32 rounding of O(1)
//! values. An infinite or NaN result fails any bound.

use super::compare::{plant, Comparison};
use super::output::PAIRS;
use super::{Check, Session};
use crate::cpu::activation::{cost, output_delta_in_place, sigmoid, softmax_in_place};
use crate::error::Result;
use crate::gpu::kernels::Pipeline;
use crate::gpu::multiply::{has_lanes, Multiply};
use crate::model::Layer;

/// Weighted inputs from harmless to far past f32's e^z overflow, both signs.
pub const EXTREMES: [f32; 13] = [
    -1e4, -5e3, -1e3, -100.0, -88.8, -20.0, 0.0, 20.0, 88.8, 100.0, 1e3, 5e3, 1e4,
];

/// Rows of z for a 4-class output: one class far ahead, two tied at the top, all far
/// negative, mixed signs at the extremes, and ordinary values.
pub const EXTREME_ROWS: [[f32; 4]; 6] = [
    [1e4, -1e4, 0.0, 5.0],
    [1e4, 1e4, -1e4, -1e4],
    [-1e4, -1e4, -1e4, -9_999.0],
    [-1e4, 1e4, 88.8, -88.8],
    [0.5, -0.25, 2.0, 1.0],
    [1e3, -1e3, 100.0, -100.0],
];

fn relative(want: f64) -> f64 {
    1e-5 * want.abs().max(1.0)
}

/// σ(z) from the hidden layers' epilogue (a 1-input layer whose weights are the extremes, so
/// z = w), δᴸ and the cost on every extreme row and label, for every output and cost.
pub(crate) fn extremes(s: &mut Session) -> Result<Vec<Check>> {
    let mut checks = Vec::new();
    let layer = Layer {
        inputs: 1,
        outputs: EXTREMES.len(),
        weight: EXTREMES.to_vec(),
        bias: vec![0.0; EXTREMES.len()],
    };
    let mut multiplies = vec![Multiply::Tiled, Multiply::Blocked];
    if has_lanes(s.ctx) {
        multiplies.push(Multiply::Lanes);
    }
    for multiply in multiplies {
        let pipeline = Pipeline::Forward {
            hidden: true,
            multiply,
        };
        let mut got = s.probe().forward(multiply, true, &[1.0], 1, &layer)?;
        plant(s.planted(), &pipeline.name(), &mut got);
        let mut c = Comparison::default();
        for (&g, &z) in got.iter().zip(&EXTREMES) {
            let want = sigmoid(z) as f64;
            c.add(|| format!("σ({z})"), g as f64, want, relative(want));
        }
        let shape = "σ(z), |z| up to 1e4".to_string();
        checks.push(c.finish("extremes", pipeline.name(), shape, vec![pipeline]));
    }
    let z: Vec<f32> = EXTREME_ROWS.iter().flatten().copied().collect();
    let rows = EXTREME_ROWS.len();
    for (output, c) in PAIRS {
        let (delta_pipeline, cost_pipeline) = (
            Pipeline::OutputDelta(output, c),
            Pipeline::Evaluate(output, c),
        );
        let mut deltas = Comparison::default();
        let mut costs = Comparison::default();
        for label in 0..4u8 {
            let labels = vec![label; rows];
            let mut delta = s.probe().output_delta(output, c, &z, &labels, 4)?;
            plant(s.planted(), &delta_pipeline.name(), &mut delta);
            let (mut got_costs, _) = s.probe().evaluate(output, c, &z, &labels, 4)?;
            plant(s.planted(), &cost_pipeline.name(), &mut got_costs);
            for (r, zr) in EXTREME_ROWS.iter().enumerate() {
                let mut a = *zr;
                match output {
                    crate::config::Output::Sigmoid => a.iter_mut().for_each(|v| *v = sigmoid(*v)),
                    crate::config::Output::Softmax => softmax_in_place(&mut a),
                }
                let want_cost = cost(output, c, zr, &a, label as usize) as f64;
                let at = || format!("z = {zr:?}, label {label}");
                costs.add(at, got_costs[r] as f64, want_cost, relative(want_cost));
                let mut want = a;
                output_delta_in_place(output, c, &mut want, label as usize);
                for (j, w) in want.iter().enumerate() {
                    let at = || format!("δ[{j}] at z = {zr:?}, label {label}");
                    deltas.add(at, delta[r * 4 + j] as f64, *w as f64, 1e-6);
                }
            }
        }
        let shape = format!("{rows}x4, |z| up to 1e4, every label");
        checks.push(deltas.finish(
            "extremes",
            delta_pipeline.name(),
            shape.clone(),
            vec![delta_pipeline],
        ));
        checks.push(costs.finish(
            "extremes",
            cost_pipeline.name(),
            format!("{shape}, cost"),
            vec![cost_pipeline],
        ));
    }
    Ok(checks)
}

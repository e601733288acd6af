//! What each kernel should compute, in a few lines of f64 host arithmetic each, with Σ|terms|
//! of every sum (what the dot-product bound scales with).

use crate::config::{Cost, OptimizerKind, Output, StepHyper};
use crate::model::Layer;

pub(crate) fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// A sum and the sum of its terms' absolute values.
#[derive(Clone, Copy, Default)]
pub(crate) struct Sum {
    pub value: f64,
    pub abs: f64,
}

impl Sum {
    fn add(&mut self, term: f64) {
        self.value += term;
        self.abs += term.abs();
    }
}

/// z[r, j] = Σ_k a[r, k]·W[j, k] + b_j over `rows` rows of `a` [rows, in].
pub(crate) fn forward(a: &[f32], rows: usize, layer: &Layer) -> Vec<Sum> {
    let (i, o) = (layer.inputs, layer.outputs);
    let mut out = Vec::with_capacity(rows * o);
    for r in 0..rows {
        for j in 0..o {
            let mut s = Sum::default();
            s.add(layer.bias[j] as f64);
            for k in 0..i {
                s.add(a[r * i + k] as f64 * layer.weight[j * i + k] as f64);
            }
            out.push(s);
        }
    }
    out
}

/// (δ_next·W)[r, k] over `rows` rows of δ_next [rows, out]; the kernel then multiplies by
/// a(1 − a).
pub(crate) fn backprop(delta_next: &[f32], rows: usize, layer: &Layer) -> Vec<Sum> {
    let (i, o) = (layer.inputs, layer.outputs);
    let mut out = Vec::with_capacity(rows * i);
    for r in 0..rows {
        for k in 0..i {
            let mut s = Sum::default();
            for j in 0..o {
                s.add(delta_next[r * o + j] as f64 * layer.weight[j * i + k] as f64);
            }
            out.push(s);
        }
    }
    out
}

/// Σ_r δ[r, j]·a_prev[r, k] for every weight (W's order), then Σ_r δ[r, j] for every bias.
pub(crate) fn gradient(delta: &[f32], previous: &[f32], rows: usize, layer: &Layer) -> Vec<Sum> {
    let (i, o) = (layer.inputs, layer.outputs);
    let mut out = Vec::with_capacity(o * i + o);
    for j in 0..o {
        for k in 0..i {
            let mut s = Sum::default();
            for r in 0..rows {
                s.add(delta[r * o + j] as f64 * previous[r * i + k] as f64);
            }
            out.push(s);
        }
    }
    for j in 0..o {
        let mut s = Sum::default();
        for r in 0..rows {
            s.add(delta[r * o + j] as f64);
        }
        out.push(s);
    }
    out
}

/// One parameter's update from its gradient g (L2 term included) and current value w, as
/// update number `t`: the new value and the new optimizer slots.
pub(crate) fn update(hyper: &StepHyper, t: u64, g: f64, w: f32, slots: &[f32]) -> (f64, Vec<f64>) {
    let o = hyper.optimizer;
    let eta = hyper.eta as f64;
    match o.kind {
        OptimizerKind::Sgd => (w as f64 - eta * g, vec![]),
        OptimizerKind::Momentum => {
            let v = o.momentum as f64 * slots[0] as f64 - eta * g;
            (w as f64 + v, vec![v])
        }
        OptimizerKind::Adam => {
            let (b1, b2) = (o.beta1 as f64, o.beta2 as f64);
            let m1 = b1 * slots[0] as f64 + (1.0 - b1) * g;
            let m2 = b2 * slots[1] as f64 + (1.0 - b2) * g * g;
            // Both backends take 1 − βᵗ in f32 (as the CPU reference does); in f64 it differs
            // by up to ~2e-5 relative for β₂ = 0.999, t = 3 (cancellation), so the reference
            // uses the same f32 value.
            let (c1, c2) = hyper.bias_corrections(t);
            let (mh, vh) = (m1 / c1 as f64, m2 / c2 as f64);
            (
                w as f64 - eta * mh / (vh.sqrt() + o.epsilon as f64),
                vec![m1, m2],
            )
        }
        OptimizerKind::Adagrad => {
            let s = slots[0] as f64 + g * g;
            (
                w as f64 - eta * g / (s.sqrt() + o.adagrad_epsilon as f64),
                vec![s],
            )
        }
        OptimizerKind::Rmsprop => {
            let rho = o.rho as f64;
            let v = rho * slots[0] as f64 + (1.0 - rho) * g * g;
            (
                w as f64 - eta * g / (v.sqrt() + o.rmsprop_epsilon as f64),
                vec![v],
            )
        }
    }
}

/// Which of optimizer `kind`'s slots hold a mean or sum of squares (never negative).
pub(crate) fn squares_slot(kind: OptimizerKind, slot: usize) -> bool {
    matches!(
        (kind, slot),
        (OptimizerKind::Adam, 1) | (OptimizerKind::Adagrad, 0) | (OptimizerKind::Rmsprop, 0)
    )
}

/// One row's output: δᴸ, the cost and the activations a.
pub(crate) struct OutputRow {
    pub delta: Vec<f64>,
    pub cost: f64,
    pub activation: Vec<f64>,
}

/// δᴸ, the cost and the activations of one row z with label `label`.
pub(crate) fn output_row(output: Output, cost: Cost, z: &[f32], label: usize) -> OutputRow {
    let z: Vec<f64> = z.iter().map(|&v| v as f64).collect();
    let max = z.iter().cloned().fold(f64::MIN, f64::max);
    let sum: f64 = z.iter().map(|v| (v - max).exp()).sum();
    let a: Vec<f64> = match output {
        Output::Sigmoid => z.iter().map(|&v| sigmoid(v)).collect(),
        Output::Softmax => z.iter().map(|v| (v - max).exp() / sum).collect(),
    };
    let y = |j: usize| if j == label { 1.0 } else { 0.0 };
    let delta: Vec<f64> = match (output, cost) {
        (Output::Sigmoid, Cost::Quadratic) => (0..a.len())
            .map(|j| (a[j] - y(j)) * a[j] * (1.0 - a[j]))
            .collect(),
        (_, Cost::CrossEntropy) => (0..a.len()).map(|j| a[j] - y(j)).collect(),
        (Output::Softmax, Cost::Quadratic) => {
            let dot: f64 = (0..a.len()).map(|k| a[k] * (a[k] - y(k))).sum();
            (0..a.len()).map(|j| a[j] * ((a[j] - y(j)) - dot)).collect()
        }
    };
    let c = match (output, cost) {
        (_, Cost::Quadratic) => (0..a.len()).map(|j| 0.5 * (y(j) - a[j]).powi(2)).sum(),
        (Output::Sigmoid, Cost::CrossEntropy) => (0..a.len())
            .map(|j| z[j].max(0.0) + (-z[j].abs()).exp().ln_1p() - y(j) * z[j])
            .sum(),
        (Output::Softmax, Cost::CrossEntropy) => -(z[label] - max - sum.ln()),
    };
    OutputRow {
        delta,
        cost: c,
        activation: a,
    }
}

/// The arg-max of `a`, the lowest index winning ties.
pub(crate) fn arg_max(a: &[f64]) -> usize {
    let mut best = 0;
    for j in 1..a.len() {
        if a[j] > a[best] {
            best = j;
        }
    }
    best
}

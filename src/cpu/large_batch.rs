//! One SGD step for a mini-batch larger than [`super::small_batch::MAX_ROWS`], through gemm,
//! with the update folded into the weight-gradient product: gemm computes dst ← α·dst + β·A·B,
//! so with dst = W, A·B = δᵀ·A_prev (BP4), α = 1 − ηλ/n and β = −η/m it writes
//!   W ← (1 − ηλ/n)·W − (η/m)·Σ_samples δ aᵀ,
//! which is the SGD rule w ← w − η(∂C/∂w / m + (λ/n)w) of `optimizer.rs` rearranged. The
//! gradient is never stored and W is read and written once, by the product itself, instead of
//! once more by a separate update pass. (The rounding differs from the separate pass by a few
//! ulp of each weight; the test below bounds it.) The forward pass is the reference's with the
//! hidden layers' σ in vector lanes.

use super::activation::activate_output;
use super::backprop::{deltas, LayerRef, Workspace};
use super::isa::Isa;
use super::layer_refs;
use super::matmul::{gemm, MatRef};
use super::optimizer::UpdateRule;
use super::small_batch::sigmoid_all;
use crate::config::{Cost, OptimizerKind, Output};
use crate::model::Params;

/// Forward, (BP1), (BP2), then per layer the fused W update and the bias update, for the
/// `labels.len()` input rows already in `ws.acts[0]`.
pub fn sgd_step(
    params: &mut Params,
    output: Output,
    cost: Cost,
    labels: &[u8],
    ws: &mut Workspace<f32>,
    rule: &UpdateRule,
    threads: usize,
) {
    assert_eq!(
        rule.kind,
        OptimizerKind::Sgd,
        "large_batch::sgd_step is SGD's"
    );
    let m = labels.len();
    {
        let layers = layer_refs(params);
        forward_f32(&layers, output, ws, m, threads);
        deltas(&layers, output, cost, labels, ws, threads);
    }
    let keep = 1.0 - rule.c.eta * rule.c.decay;
    let scale = -rule.c.eta * rule.c.inv_rows;
    let bias_rule = rule.without_decay();
    let mut bias_grad = Vec::new();
    for (l, layer) in params.layers.iter_mut().enumerate() {
        let (k, n) = (layer.inputs, layer.outputs);
        let delta = &ws.deltas[l][..m * n];
        let a_prev = MatRef::row_major(&ws.acts[l][..m * k], m, k);
        let delta_t = MatRef::row_major(delta, m, n).t();
        gemm(
            &mut layer.weight,
            Some(keep),
            delta_t,
            a_prev,
            scale,
            threads,
        );
        // (BP3) ∂C/∂b = Σ_rows δ, then the reference's update of b.
        bias_grad.clear();
        bias_grad.resize(n, 0.0f32);
        for row in delta.chunks_exact(n) {
            bias_grad.iter_mut().zip(row).for_each(|(g, &d)| *g += d);
        }
        bias_rule.apply(&mut layer.bias, &bias_grad, &mut []);
    }
}

/// The reference's forward pass (z = a·Wᵀ + b through gemm, from rows of b), with the hidden
/// layers' σ in vector lanes (`small_batch::sigmoid_all`) instead of one scalar e^x at a time.
fn forward_f32(
    layers: &[LayerRef<f32>],
    output: Output,
    ws: &mut Workspace<f32>,
    m: usize,
    threads: usize,
) {
    let isa = Isa::detected();
    let last = layers.len() - 1;
    for (l, layer) in layers.iter().enumerate() {
        let (before, after) = ws.acts.split_at_mut(l + 1);
        let a_prev = MatRef::row_major(&before[l][..m * layer.inputs], m, layer.inputs);
        let z = &mut after[0][..m * layer.outputs];
        for row in z.chunks_exact_mut(layer.outputs) {
            row.copy_from_slice(layer.bias);
        }
        let w = MatRef::row_major(layer.weight, layer.outputs, layer.inputs);
        gemm(z, Some(1.0), a_prev, w.t(), 1.0, threads);
        if l == last {
            ws.z_out[..z.len()].copy_from_slice(z);
            for row in z.chunks_exact_mut(layer.outputs) {
                activate_output(output, row);
            }
        } else {
            sigmoid_all(isa, z);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Optimizer, StepHyper};
    use crate::cpu::backprop::{backward, Gradients};
    use crate::model::Layer;

    /// The fused step against the reference's (the same forward pass, backward into a
    /// gradient, then UpdateRule::apply): both compute the same products, so each weight differs only in how
    /// the update's few operations round. The reference rounds g·(1/m), (λ/n)w, their sum,
    /// η·g and w − ηg; the fused form rounds 1 − ηλ/n, η/m and gemm's α·w + β·Σ: each rounding
    /// errs by at most u of its result, so the two stay within 8u·(|w| + η|Σ|/m + ηλ/n·|w|).
    #[test]
    fn the_fused_update_matches_the_separate_update_within_its_rounding() {
        let sizes = [23, 17, 6];
        let m = 100;
        let u = f64::from(f32::EPSILON) / 2.0;
        for (output, cost) in [
            (Output::Sigmoid, Cost::Quadratic),
            (Output::Softmax, Cost::CrossEntropy),
        ] {
            let start = Params {
                layers: sizes
                    .windows(2)
                    .enumerate()
                    .map(|(l, s)| Layer {
                        inputs: s[0],
                        outputs: s[1],
                        weight: (0..s[0] * s[1])
                            .map(|i| ((i + 3 * l) as f32 * 0.37).sin() * 0.5)
                            .collect(),
                        bias: (0..s[1]).map(|j| (j as f32 * 1.1).cos()).collect(),
                    })
                    .collect(),
            };
            let labels: Vec<u8> = (0..m).map(|r| (r % 6) as u8).collect();
            let input: Vec<f32> = (0..m * sizes[0])
                .map(|i| ((i * 31) % 256) as f32 / 255.0)
                .collect();
            let hyper = StepHyper {
                eta: 0.5,
                lambda: 5.0,
                n_train: 1000,
                batch_size: m,
                optimizer: Optimizer::default(),
            };
            let rule = UpdateRule::new(&hyper, m, 1);

            let mut fused = start.clone();
            let mut ws = Workspace::new(&sizes, m);
            ws.input_mut(m).copy_from_slice(&input);
            sgd_step(&mut fused, output, cost, &labels, &mut ws, &rule, 2);

            let mut reference = start.clone();
            let mut ws = Workspace::new(&sizes, m);
            ws.input_mut(m).copy_from_slice(&input);
            let mut grads = Gradients::zeros(&sizes);
            {
                // the same forward pass (its vector σ is tested in small_batch.rs)
                let layers = layer_refs(&reference);
                forward_f32(&layers, output, &mut ws, m, 2);
                backward(&layers, output, cost, &labels, &mut ws, &mut grads, 2);
            }
            for (l, layer) in reference.layers.iter_mut().enumerate() {
                rule.apply(&mut layer.weight, &grads.weight[l], &mut []);
                rule.without_decay()
                    .apply(&mut layer.bias, &grads.bias[l], &mut []);
            }
            let (eta, inv_m, decay) = (
                f64::from(rule.c.eta),
                f64::from(rule.c.inv_rows),
                f64::from(rule.c.decay),
            );
            for l in 0..sizes.len() - 1 {
                let (f, r, w0, g) = (
                    &fused.layers[l],
                    &reference.layers[l],
                    &start.layers[l].weight,
                    &grads.weight[l],
                );
                for i in 0..w0.len() {
                    let w = f64::from(w0[i]);
                    let bound = 8.0
                        * u
                        * (w.abs() + eta * f64::from(g[i]).abs() * inv_m + eta * decay * w.abs());
                    let diff = (f64::from(f.weight[i]) - f64::from(r.weight[i])).abs();
                    assert!(
                        diff <= bound,
                        "{output:?}/{cost:?} layer {l} W[{i}]: fused {}, reference {}, bound {bound}",
                        f.weight[i],
                        r.weight[i]
                    );
                }
                assert_eq!(
                    f.bias, r.bias,
                    "layer {l}: the bias update is the reference's"
                );
            }
        }
    }
}

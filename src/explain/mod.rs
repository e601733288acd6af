//! `gpu-mlp explain`: one training step of a network on one sample, in numbers, in the order
//! the texts teach it: the forward pass zˡ = Wˡaˡ⁻¹ + bˡ, aˡ = σ(zˡ); the cost C; the output
//! error δᴸ = ∇ₐC ⊙ σ'(zᴸ) (BP1); each δˡ = ((Wˡ⁺¹)ᵀδˡ⁺¹) ⊙ σ'(zˡ) (BP2); ∂C/∂bˡ = δˡ (BP3)
//! and ∂C/∂Wˡ = δˡ(aˡ⁻¹)ᵀ (BP4), each gradient beside its central finite difference; then the
//! update.
//!
//! Nothing here computes backpropagation itself: z, a, δ and the gradients come from the CPU
//! reference's own backprop core (`cpu::backprop`, run in f64 as `gradcheck` runs it, and in
//! f32 for the step training would take), the finite differences from `gradcheck`, and the
//! update from `cpu::optimizer`. What this module adds is the factors it prints beside each
//! equation (∇ₐC, σ'(z), (Wˡ⁺¹)ᵀδˡ⁺¹), the cost for any target y, and the bookkeeping.
//!
//! The backprop core takes a class label; `pass.rs` says how a target y that is not one-hot
//! goes through it.

mod device;
mod format;
mod numbers;
mod pass;
mod text;

pub use device::{on_device, DeviceComparison};
pub use text::print;

use crate::config::{Cost, NetworkConfig, Optimizer, OptimizerKind, Output, StepHyper};
use crate::cpu::backprop::{forward, Workspace};
use crate::cpu::optimizer::UpdateRule;
use crate::error::{Error, Result};
use crate::gradcheck::{central_difference, relative_errors, Params64, H};
use crate::model::{OptimizerState, Params};
use numbers::{cost_for_target, layer_refs, matrix, output_factors, transposed_product};
use pass::{backprop, every_z, Pass};
use serde::Serialize;
use std::collections::BTreeMap;

/// Networks with at most this many weights are printed in full; larger ones as per-layer
/// norms and largest entries.
pub const MAX_PRINTED_WEIGHTS: usize = 300;
/// How many of the largest entries the summary of a large network lists per quantity.
pub const LARGEST: usize = 5;

/// The sample of the step: the input a¹ and the target y (f32, as the network holds them).
#[derive(Clone, Debug, Serialize)]
pub struct Sample {
    pub input: Vec<f32>,
    pub target: Vec<f32>,
    /// The class when y is one-hot.
    pub label: Option<usize>,
    /// Where it came from ("--input/--target", "training image 7").
    pub source: String,
}

impl Sample {
    /// A sample from explicit values; `label` is found when `target` is one-hot.
    pub fn new(input: Vec<f32>, target: Vec<f32>, source: String) -> Self {
        let ones: Vec<usize> = (0..target.len()).filter(|&j| target[j] == 1.0).collect();
        let one_hot = ones.len() == 1 && target.iter().all(|&y| y == 0.0 || y == 1.0);
        Sample {
            label: one_hot.then(|| ones[0]),
            input,
            target,
            source,
        }
    }
}

/// Which gradient entries get a finite-difference estimate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Estimates {
    /// Every weight and bias.
    All,
    /// The [`LARGEST`] largest |∂C/∂W| and |∂C/∂b| of each layer.
    Largest,
}

/// The numbers of one layer, l counted as the texts count: the input is layer 1.
#[derive(Clone, Debug, Serialize)]
pub struct LayerStep {
    /// The layer's number l (2 for the first weight layer).
    pub l: usize,
    /// The checkpoint's name for its parameters ("layers.0").
    pub tensor: String,
    pub inputs: usize,
    pub outputs: usize,
    /// "sigmoid" (hidden layers, a sigmoid output) or "softmax".
    pub activation: String,
    /// Wˡ [outputs][inputs] and bˡ before the step.
    pub weight: Vec<Vec<f32>>,
    pub bias: Vec<f32>,
    /// zˡ = Wˡaˡ⁻¹ + bˡ and aˡ.
    pub z: Vec<f64>,
    pub a: Vec<f64>,
    /// δˡ, from BP1 (the output layer) or BP2.
    pub delta: Vec<f64>,
    /// BP1: ∇ₐC; BP2: (Wˡ⁺¹)ᵀδˡ⁺¹.
    pub delta_first_factor: Vec<f64>,
    /// σ'(zˡ) = aˡ(1 − aˡ); for a softmax output, the Jacobian's diagonal aᴸ(1 − aᴸ) (its
    /// off-diagonal terms −a_j a_k enter δᴸ too).
    pub sigma_prime: Vec<f64>,
    /// ∂C/∂Wˡ [outputs][inputs] (BP4) and ∂C/∂bˡ (BP3).
    pub grad_weight: Vec<Vec<f64>>,
    pub grad_bias: Vec<f64>,
    /// Their central finite differences (f64, h = 1e-4) and the relative differences, `null`
    /// where not estimated.
    pub fd_weight: Vec<Vec<Option<f64>>>,
    pub fd_bias: Vec<Option<f64>>,
    pub relative_difference_weight: Vec<Vec<Option<f64>>>,
    pub relative_difference_bias: Vec<Option<f64>>,
    /// Wˡ and bˡ after the step, as training computes them (f32).
    pub weight_after: Vec<Vec<f32>>,
    pub bias_after: Vec<f32>,
    /// The optimizer's state after the step, by its checkpoint name ("velocity", "m", ...).
    pub state_after: BTreeMap<String, StateTensors>,
}

/// One optimizer state tensor of a layer.
#[derive(Clone, Debug, Serialize)]
pub struct StateTensors {
    pub weight: Vec<Vec<f32>>,
    pub bias: Vec<f32>,
}

/// Everything `explain` prints, and its `--json`.
#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    pub layers: Vec<usize>,
    pub output: Output,
    pub cost_function: Cost,
    pub sample: Sample,
    pub optimizer: OptimizerKind,
    /// The optimizer's constants (μ, β₁, β₂, ρ and the ε's).
    pub constants: Optimizer,
    pub eta: f32,
    pub lambda: f32,
    /// n in the L2 term λ/n.
    pub n_train: usize,
    /// This step's update number t (Adam's bias corrections use it).
    pub update: u64,
    /// C(a, y) before the step, and of the same sample after it.
    pub cost: f64,
    pub cost_after: f64,
    /// "every entry", or which entries were estimated (networks of more than
    /// [`MAX_PRINTED_WEIGHTS`] weights, unless `--full`).
    pub finite_differences: String,
    /// The step h of the central differences.
    pub h: f64,
    pub max_relative_difference: f64,
    pub printed_in_full: bool,
    /// Where the optimizer state came from (fresh, or the checkpoint's).
    pub state_source: String,
    /// Layer after layer, from l = 2 to L.
    pub steps: Vec<LayerStep>,
    /// The same step on a GPU, when `--backend` named one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceComparison>,
    /// The f32 numbers of the step (for the device comparison; not printed).
    #[serde(skip)]
    pub f32_step: Option<F32Step>,
}

/// The step in f32, as training computes it: what a GPU's result is held against.
#[derive(Clone, Debug)]
pub struct F32Step {
    /// aˡ of every layer (acts[0] the input) and zᴸ.
    pub acts: Vec<Vec<f32>>,
    pub z_out: Vec<f32>,
    pub deltas: Vec<Vec<f32>>,
    pub cost: f32,
    pub params_after: Params,
    pub state_after: OptimizerState,
}

/// Checks that the sample fits the network and its output/cost.
pub fn check_sample(net: &NetworkConfig, sample: &Sample) -> Result<()> {
    let (inputs, outputs) = (net.layers[0], *net.layers.last().unwrap_or(&0));
    if sample.input.len() != inputs {
        return Err(Error::config(format!(
            "--input has {} values but the network ({}) has {inputs} inputs",
            sample.input.len(),
            net.layers_string()
        )));
    }
    if sample.target.len() != outputs {
        return Err(Error::config(format!(
            "--target has {} values but the network ({}) has {outputs} outputs",
            sample.target.len(),
            net.layers_string()
        )));
    }
    if let Some(v) = sample
        .input
        .iter()
        .chain(&sample.target)
        .find(|v| !v.is_finite())
    {
        return Err(Error::config(format!(
            "--input and --target must be finite numbers, found {v}"
        )));
    }
    if sample.label.is_none() && outputs > 255 {
        return Err(Error::config(format!(
            "--target that is not one-hot needs at most 255 outputs, the network has {outputs}"
        )));
    }
    let sum: f64 = sample.target.iter().map(|&y| y as f64).sum();
    if (net.output, net.cost) == (Output::Softmax, Cost::CrossEntropy) && (sum - 1.0).abs() > 1e-6 {
        return Err(Error::config(format!(
            "--target of a softmax output with the cross-entropy (log-likelihood) cost must sum to 1, found {sum}; δᴸ = a − y holds only then"
        )));
    }
    Ok(())
}

/// One training step of `params` (with optimizer state `state`) on `sample`, with the step's
/// constants `hyper` (its batch size is taken as 1), every number of it in f64 and the step
/// itself in f32.
pub fn explain(
    net: &NetworkConfig,
    params: &Params,
    state: &OptimizerState,
    sample: &Sample,
    hyper: &StepHyper,
    estimates: Estimates,
) -> Result<Explanation> {
    check_sample(net, sample)?;
    params.check_shape(&net.layers, "the parameters")?;
    state.check_shape(&net.layers, hyper.optimizer.kind)?;
    let widen = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
    let (x, y) = (widen(&sample.input), widen(&sample.target));
    let mut p64 = Params64::from_params(params);
    let refs = p64.refs(&net.layers);
    let Pass {
        acts,
        z_out,
        deltas,
        grads,
    } = backprop(net, &refs, &x, &y, sample.label);
    let zs = every_z(net, &refs, &x);
    let cost = cost_for_target(net, &z_out, &acts[acts.len() - 1], &y);
    let last = net.layers.len() - 2;
    let (grad_a, out_sigma) = output_factors(net, &acts[last + 1], &y);
    drop(refs);

    // Finite differences of C(θ) for the same sample, through the same forward pass.
    let mut ws = Workspace::<f64>::new(&net.layers, 1);
    let mut cost_of = |p: &Params64| {
        ws.input_mut(1).copy_from_slice(&x);
        forward(&p.refs(&net.layers), net.output, &mut ws, 1, 1);
        cost_for_target(net, &ws.z_out, ws.output(1), &y)
    };
    let chosen = |g: &[f64]| -> Vec<bool> {
        match estimates {
            Estimates::All => vec![true; g.len()],
            Estimates::Largest => {
                let mut order: Vec<usize> = (0..g.len()).collect();
                order.sort_by(|&a, &b| g[b].abs().total_cmp(&g[a].abs()));
                let mut pick = vec![false; g.len()];
                order.iter().take(LARGEST).for_each(|&i| pick[i] = true);
                pick
            }
        }
    };
    let mut estimate = |is_weight: bool, l: usize, g: &[f64], p: &mut Params64| {
        let pick = chosen(g);
        let fd: Vec<Option<f64>> = (0..g.len())
            .map(|i| pick[i].then(|| central_difference(p, is_weight, l, i, &mut cost_of)))
            .collect();
        let (a, n): (Vec<f64>, Vec<f64>) = g
            .iter()
            .zip(&fd)
            .filter_map(|(&a, n)| n.map(|n| (a, n)))
            .unzip();
        let mut rel = relative_errors(&a, &n).into_iter();
        let rel: Vec<Option<f64>> = fd.iter().map(|n| n.and_then(|_| rel.next())).collect();
        (fd, rel)
    };

    // The step in f32, as training takes it.
    let refs32 = layer_refs(params);
    let Pass {
        acts: acts32,
        z_out: z32,
        deltas: deltas32,
        grads: grads32,
    } = backprop(net, &refs32, &sample.input, &sample.target, sample.label);
    let t = state.step + 1;
    let rule = UpdateRule::new(hyper, 1, t);
    let mut after = params.clone();
    let mut state_after = state.clone();
    state_after.step = t;
    for (l, layer) in after.layers.iter_mut().enumerate() {
        let mut w_slots: Vec<&mut [f32]> = Vec::new();
        let mut b_slots: Vec<&mut [f32]> = Vec::new();
        for slot in state_after.slots.iter_mut() {
            let s = &mut slot.layers[l];
            w_slots.push(&mut s.weight);
            b_slots.push(&mut s.bias);
        }
        rule.apply(&mut layer.weight, &grads32.weight[l], &mut w_slots);
        rule.without_decay()
            .apply(&mut layer.bias, &grads32.bias[l], &mut b_slots);
    }
    let cost_after = {
        let p = Params64::from_params(&after);
        let mut ws = Workspace::<f64>::new(&net.layers, 1);
        ws.input_mut(1).copy_from_slice(&x);
        forward(&p.refs(&net.layers), net.output, &mut ws, 1, 1);
        cost_for_target(net, &ws.z_out, ws.output(1), &y)
    };
    let cost32 =
        numbers::cost_for_target(net, &widen(&z32), &widen(&acts32[acts32.len() - 1]), &y) as f32;

    let names = hyper.optimizer.kind.slot_names();
    let mut steps = Vec::new();
    let mut max_rel = 0.0f64;
    for (l, layer) in params.layers.iter().enumerate() {
        let (fd_w, rel_w) = estimate(true, l, &grads.weight[l], &mut p64);
        let (fd_b, rel_b) = estimate(false, l, &grads.bias[l], &mut p64);
        for r in rel_w.iter().chain(&rel_b).flatten() {
            max_rel = max_rel.max(*r);
        }
        let a = &acts[l + 1];
        let sigma_prime: Vec<f64> = if l == last {
            out_sigma.clone()
        } else {
            a.iter().map(|&a| a * (1.0 - a)).collect()
        };
        let first = if l == last {
            grad_a.clone()
        } else {
            let up = &params.layers[l + 1];
            transposed_product(up, &deltas[l + 1])
        };
        let cols = layer.inputs;
        let state_after_l = names
            .iter()
            .zip(&state_after.slots)
            .map(|(name, slot)| {
                let s = &slot.layers[l];
                let t = StateTensors {
                    weight: matrix(&s.weight, cols),
                    bias: s.bias.clone(),
                };
                (name.to_string(), t)
            })
            .collect();
        steps.push(LayerStep {
            l: l + 2,
            tensor: format!("layers.{l}"),
            inputs: layer.inputs,
            outputs: layer.outputs,
            activation: if l == last && net.output == Output::Softmax {
                "softmax".into()
            } else {
                "sigmoid".into()
            },
            weight: matrix(&layer.weight, cols),
            bias: layer.bias.clone(),
            z: zs[l].clone(),
            a: a.clone(),
            delta: deltas[l].clone(),
            delta_first_factor: first,
            sigma_prime,
            grad_weight: matrix(&grads.weight[l], cols),
            grad_bias: grads.bias[l].clone(),
            fd_weight: matrix(&fd_w, cols),
            fd_bias: fd_b,
            relative_difference_weight: matrix(&rel_w, cols),
            relative_difference_bias: rel_b,
            weight_after: matrix(&after.layers[l].weight, cols),
            bias_after: after.layers[l].bias.clone(),
            state_after: state_after_l,
        });
    }
    Ok(Explanation {
        layers: net.layers.clone(),
        output: net.output,
        cost_function: net.cost,
        sample: sample.clone(),
        optimizer: hyper.optimizer.kind,
        constants: hyper.optimizer,
        eta: hyper.eta,
        lambda: hyper.lambda,
        n_train: hyper.n_train,
        update: t,
        cost,
        cost_after,
        finite_differences: match estimates {
            Estimates::All => "every entry".into(),
            Estimates::Largest => format!(
                "the {LARGEST} largest |∂C/∂W| and the {LARGEST} largest |∂C/∂b| of each layer"
            ),
        },
        h: H,
        max_relative_difference: max_rel,
        printed_in_full: estimates == Estimates::All,
        state_source: "fresh (zeros)".into(),
        steps,
        device: None,
        f32_step: Some(F32Step {
            acts: acts32,
            z_out: z32,
            deltas: deltas32,
            cost: cost32,
            params_after: after,
            state_after,
        }),
    })
}

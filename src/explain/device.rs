//! `explain --backend`: the same step on a GPU, held against the CPU's f32 numbers of it.
//!
//! The step runs through the per-layer kernels, each one alone on host data (the probe,
//! `gpu::probe`, which the self-test uses too): the forward product of each layer (its a, and
//! z at the output), δᴸ from output_delta (BP1) and the cost from evaluate, each δˡ from
//! backprop (BP2), and each layer's gradient product with the optimizer's update (BP3, BP4 and
//! the update, in one kernel). Each kernel's result is read back and compared, and the next
//! kernel starts from the GPU's own numbers, as training chains them. These are the kernels
//! training runs for any network; for small networks training may take the fused kernels
//! instead, which keep z, a and δ in workgroup memory and hand back only the parameters, so
//! they could not show the equations one by one (tests/fused.rs holds them against the CPU).
//!
//! output_delta and evaluate read a class label: for a target that is not one-hot, the GPU
//! chain starts from the CPU's δᴸ and the cost is not compared.

use super::format::sup;
use super::{F32Step, Sample};
use crate::config::{NetworkConfig, StepHyper};
use crate::error::Result;
use crate::gpu::kernels::Pipeline;
use crate::gpu::multiply::{has_lanes, prefer_tiled, Multiply};
use crate::gpu::probe::Probe;
use crate::gpu::GpuContext;
use crate::model::{Layer, OptimizerState, Params};
use serde::Serialize;

/// One quantity of the step, on the GPU against the CPU.
#[derive(Clone, Debug, Serialize)]
pub struct Quantity {
    pub what: String,
    /// The pipeline that computed it.
    pub kernel: String,
    /// max |gpu − cpu| over its entries.
    pub max_abs: f64,
    /// max |gpu − cpu| / max |cpu| over its entries.
    pub max_rel: f64,
}

/// The step on a GPU against the CPU's f32 step.
#[derive(Clone, Debug, Serialize)]
pub struct DeviceComparison {
    pub heading: String,
    pub adapter: String,
    pub quantities: Vec<Quantity>,
    pub max_abs: f64,
    pub max_rel: f64,
    /// The quantity with the largest difference.
    pub worst: String,
}

fn quantity(what: String, kernel: String, gpu: &[f32], cpu: &[f32]) -> Quantity {
    let max_abs = gpu
        .iter()
        .zip(cpu)
        .map(|(&g, &c)| (g as f64 - c as f64).abs())
        .fold(0.0, f64::max);
    let scale = cpu.iter().map(|c| c.abs() as f64).fold(0.0, f64::max);
    Quantity {
        what,
        kernel,
        max_abs,
        max_rel: if scale > 0.0 {
            max_abs / scale
        } else {
            max_abs
        },
    }
}

fn flat(l: &Layer) -> Vec<f32> {
    [l.weight.as_slice(), l.bias.as_slice()].concat()
}

/// Runs the step of `params` (state `state`) on `sample` on `ctx` and compares every result
/// with `cpu`, the CPU's f32 step of the same (`explain`'s `f32_step`).
pub fn on_device(
    ctx: &GpuContext,
    net: &NetworkConfig,
    params: &Params,
    state: &OptimizerState,
    sample: &Sample,
    hyper: &StepHyper,
    cpu: &F32Step,
) -> Result<DeviceComparison> {
    let mut probe = Probe::new(ctx);
    let tiled = prefer_tiled(ctx);
    let lanes = has_lanes(ctx);
    let general = Multiply::general(tiled, lanes);
    let last = params.layers.len() - 1;
    let classes = *net.layers.last().unwrap_or(&0);
    let mut q = Vec::new();
    let mut acts = vec![sample.input.clone()];
    let mut z = Vec::new();
    for (l, layer) in params.layers.iter().enumerate() {
        let multiply = Multiply::forward(tiled, lanes, layer.inputs);
        let hidden = l != last;
        let out = probe.forward(multiply, hidden, &acts[l], 1, layer)?;
        let kernel = Pipeline::Forward { hidden, multiply }.name();
        if hidden {
            let what = format!("a{} (forward, σ)", sup(l + 2));
            q.push(quantity(what, kernel, &out, &cpu.acts[l + 1]));
            acts.push(out);
        } else {
            let what = format!("z{} (forward)", sup(l + 2));
            q.push(quantity(what, kernel, &out, &cpu.z_out));
            z = out;
        }
    }
    let mut deltas = vec![Vec::new(); params.layers.len()];
    let top = sup(last + 2);
    deltas[last] = match sample.label {
        Some(label) => {
            let labels = [label as u8];
            let d = probe.output_delta(net.output, net.cost, &z, &labels, classes)?;
            let kernel = Pipeline::OutputDelta(net.output, net.cost).name();
            q.push(quantity(
                format!("δ{top} (BP1)"),
                kernel,
                &d,
                &cpu.deltas[last],
            ));
            let (costs, _) = probe.evaluate(net.output, net.cost, &z, &labels, classes)?;
            let kernel = Pipeline::Evaluate(net.output, net.cost).name();
            q.push(quantity("cost C".into(), kernel, &costs, &[cpu.cost]));
            d
        }
        None => cpu.deltas[last].clone(),
    };
    for l in (0..last).rev() {
        let d = probe.backprop(
            general,
            &deltas[l + 1],
            1,
            &params.layers[l + 1],
            &acts[l + 1],
        )?;
        let kernel = Pipeline::Backprop(general).name();
        q.push(quantity(
            format!("δ{} (BP2)", sup(l + 2)),
            kernel,
            &d,
            &cpu.deltas[l],
        ));
        deltas[l] = d;
    }
    let t = state.step + 1;
    for (l, layer) in params.layers.iter().enumerate() {
        let slots: Vec<Layer> = state.slots.iter().map(|s| s.layers[l].clone()).collect();
        let gradient = Multiply::gradient(tiled, lanes, layer.inputs);
        let (new, new_slots) =
            probe.update(gradient, &deltas[l], &acts[l], 1, layer, &slots, hyper, t)?;
        let kernel = Pipeline::Update(gradient, hyper.optimizer.kind).name();
        let s = sup(l + 2);
        let what = format!("W{s}, b{s} after the update (BP3, BP4)");
        q.push(quantity(
            what,
            kernel.clone(),
            &flat(&new),
            &flat(&cpu.params_after.layers[l]),
        ));
        let names = hyper.optimizer.kind.slot_names();
        for ((name, g), c) in names.iter().zip(&new_slots).zip(&cpu.state_after.slots) {
            let what = format!("{name} of W{s}, b{s}");
            q.push(quantity(
                what,
                kernel.clone(),
                &flat(g),
                &flat(&c.layers[l]),
            ));
        }
    }
    let worst = q
        .iter()
        .max_by(|a, b| a.max_abs.total_cmp(&b.max_abs))
        .map(|w| w.what.clone())
        .unwrap_or_default();
    let max_abs = q.iter().map(|x| x.max_abs).fold(0.0, f64::max);
    let max_rel = q.iter().map(|x| x.max_rel).fold(0.0, f64::max);
    let adapter = ctx.info().line();
    let mut heading = format!(
        "The same step on the GPU ({adapter}), through the per-layer kernels one at a time, against the CPU's f32 numbers:"
    );
    if sample.label.is_none() {
        heading += "\n  (the target is not one-hot: output_delta and evaluate read a class label, so the GPU starts from the CPU's δᴸ)";
    }
    Ok(DeviceComparison {
        heading,
        adapter,
        quantities: q,
        max_abs,
        max_rel,
        worst,
    })
}

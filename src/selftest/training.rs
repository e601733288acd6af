//! Whole training against the CPU path: one full training step for every output, cost and
//! optimizer combination; determinism (the same short run twice, and with the data, the
//! products and the command buffers split differently, gives the same bits); and a short
//! end-to-end run whose accuracy must match the CPU path's.

use super::compare::{plant, Comparison};
use super::data::{self, random_splits};
use super::output::PAIRS;
use super::{Check, Session};
use crate::backend::{Backend, Split};
use crate::config::{Cost, Init, NetworkConfig, Optimizer, OptimizerKind, Output, StepHyper};
use crate::cpu::CpuBackend;
use crate::data::{epoch_order, Splits};
use crate::error::Result;
use crate::gpu::kernels::{Pipeline, OPTIMIZERS};
use crate::gpu::multiply::{has_lanes, prefer_tiled, Multiply};
use crate::gpu::{GpuBackend, GpuOptions};
use crate::model::Params;

pub(crate) fn net(layers: &[usize], output: Output, cost: Cost, init: Init) -> NetworkConfig {
    NetworkConfig {
        layers: layers.to_vec(),
        output,
        cost,
        init,
    }
}

pub(crate) fn hyper(
    kind: OptimizerKind,
    eta: f32,
    lambda: f32,
    n_train: usize,
    batch: usize,
) -> StepHyper {
    StepHyper {
        eta,
        lambda,
        n_train,
        batch_size: batch,
        optimizer: Optimizer {
            kind,
            ..Optimizer::default()
        },
    }
}

/// Whether the tiled (true) or blocked (false) multiplies are checked: both, or in the quick
/// plan only the ones the adapter trains with.
pub(crate) fn multiplies(s: &Session) -> Vec<bool> {
    if s.plan.quick {
        vec![prefer_tiled(s.ctx)]
    } else {
        vec![true, false]
    }
}

/// The path's name in the checks' names: "tiled", or "blocked" for the direct multiplies of
/// CPU drivers (with or without subgroups).
pub(crate) fn multiply_name(tiled: bool) -> &'static str {
    Multiply::general(tiled, false).name()
}

/// The pipelines a network of `layers` trains with (for the report of a failed check).
fn pipelines(s: &Session, net: &NetworkConfig, kind: OptimizerKind, tiled: bool) -> Vec<Pipeline> {
    let lanes = has_lanes(s.ctx);
    let general = Multiply::general(tiled, lanes);
    let mut list = vec![Pipeline::Gather];
    let last = net.layers.len() - 2;
    for (l, (inputs, _)) in net.shapes().enumerate() {
        let multiply = Multiply::forward(tiled, lanes, inputs);
        let forward = Pipeline::Forward {
            hidden: l != last,
            multiply,
        };
        if !list.contains(&forward) {
            list.push(forward);
        }
    }
    if net.output == Output::Sigmoid && net.layers.len() > 2 {
        // Training computes δᴸ in the output layer's forward epilogue (record.rs).
        let (inputs, _) = net.shapes().last().unwrap_or((0, 0));
        let multiply = Multiply::forward(tiled, lanes, inputs);
        list.push(Pipeline::ForwardDelta(multiply, net.cost));
    } else {
        list.push(Pipeline::OutputDelta(net.output, net.cost));
    }
    list.push(Pipeline::Backprop(general));
    for (inputs, _) in net.shapes() {
        let update = Pipeline::Update(Multiply::gradient(tiled, lanes, inputs), kind);
        if !list.contains(&update) {
            list.push(update);
        }
    }
    list.push(Pipeline::Evaluate(net.output, net.cost));
    list
}

/// Adds every parameter of `got` against `want` with the bound `rel`·(1 + |want|).
pub(crate) fn add_params(c: &mut Comparison, what: &str, got: &Params, want: &Params, rel: f64) {
    for (l, (g, w)) in got.layers.iter().zip(&want.layers).enumerate() {
        for (x, (a, b)) in g.weight.iter().zip(&w.weight).enumerate() {
            let at = || {
                format!(
                    "{what} layer {l} weight [{}, {}]",
                    x / g.inputs,
                    x % g.inputs
                )
            };
            c.add(at, *a as f64, *b as f64, rel * (1.0 + b.abs() as f64));
        }
        for (j, (a, b)) in g.bias.iter().zip(&w.bias).enumerate() {
            let at = || format!("{what} layer {l} bias {j}");
            c.add(at, *a as f64, *b as f64, rel * (1.0 + b.abs() as f64));
        }
    }
}

/// Perturbs one weight of `params` when the plan plants an error in check `name`.
pub(crate) fn plant_params(s: &Session, name: &str, params: &mut Params) {
    if let Some(layer) = params.layers.last_mut() {
        plant(s.planted(), name, &mut layer.weight);
    }
}

/// Two "epochs" of one step each (13 samples, in reverse order) on both backends from the same
/// parameters, then parameters, optimizer state and a test-set evaluation compared. 7 inputs,
/// 30 hidden, 10 outputs: nothing a multiple of the 16-wide tile, and a batch of 13 rows;
/// λ = 0.1 exercises the L2 term; two steps exercise Adam's t, the momentum and the sums of
/// squares of AdaGrad and RMSprop.
///
/// Bound: both paths sum the same f32 products in different orders and the GPU's exp may
/// differ by a few ulp; two steps of η = 0.5 on O(1) values keep the difference within ~1e-5
/// relative. 1e-4·(1 + |value|) leaves margin and is still far below any real error (a wrong δ
/// or update shows up at 1e-2 and above). The cost sum (f64 over per-sample f32 costs): 1e-4
/// relative.
fn step(
    s: &Session,
    output: Output,
    cost: Cost,
    kind: OptimizerKind,
    tiled: bool,
) -> Result<Check> {
    let data = random_splits(7, 40, 7, 10);
    let net = net(&[7, 30, 10], output, cost, Init::Scaled);
    let params = Params::init(&net, 11);
    let order: Vec<u32> = (0..13).rev().collect();
    // RMSprop's first step moves each weight by up to η/√(1−ρ) = 10η: η = 0.05 keeps its
    // steps as large as the others' at η = 0.5.
    let eta = if kind == OptimizerKind::Rmsprop {
        0.05
    } else {
        0.5
    };
    let h = hyper(kind, eta, 0.1, 40, 13);
    let mut cpu = CpuBackend::new(&net, params.clone(), kind, data.clone(), 13, 1)?;
    let options = GpuOptions {
        tiled: Some(tiled),
        ..GpuOptions::default()
    };
    let mut gpu = GpuBackend::with_options(s.ctx, &net, params, kind, &data, options)?;
    for _ in 0..2 {
        cpu.train_batches(&order, &h)?;
        gpu.train_batches(&order, &h)?;
    }
    let name = format!("step {output:?}/{cost:?}/{kind:?}").to_lowercase();
    let mut got = gpu.params()?;
    plant_params(s, &name, &mut got);
    let mut c = Comparison::default();
    add_params(&mut c, "parameters", &got, &cpu.params()?, 1e-4);
    let (sc, sg) = (cpu.optimizer_state()?, gpu.optimizer_state()?);
    c.add(
        || "update count".into(),
        sg.step as f64,
        sc.step as f64,
        0.0,
    );
    for (slot, (g, w)) in sg.slots.iter().zip(&sc.slots).enumerate() {
        add_params(&mut c, &format!("optimizer slot {slot}"), g, w, 1e-4);
    }
    let (ec, eg) = (cpu.evaluate(Split::Test)?, gpu.evaluate(Split::Test)?);
    c.add(
        || "test samples".into(),
        eg.count as f64,
        ec.count as f64,
        0.0,
    );
    let bound = 1e-4 * (1.0 + ec.cost_sum.abs());
    c.add(|| "test cost".into(), eg.cost_sum, ec.cost_sum, bound);
    let shape = format!("7-30-10, batch 13, 2 steps, {}", multiply_name(tiled));
    Ok(c.finish("step", name, shape, pipelines(s, &net, kind, tiled)))
}

/// One full training step for each output/cost/optimizer combination.
pub(crate) fn steps(s: &mut Session) -> Result<Vec<Check>> {
    let mut checks = Vec::new();
    for tiled in multiplies(s) {
        for (output, cost) in PAIRS {
            for kind in OPTIMIZERS {
                checks.push(step(s, output, cost, kind, tiled)?);
            }
        }
    }
    Ok(checks)
}

/// The short run of the determinism checks: 300 random 100-pixel samples, 100-30-10
/// softmax/cross-entropy, Adam with λ = 1, batch 7 (the last batch short), two epochs.
fn short_run(s: &Session, options: GpuOptions) -> Result<Params> {
    short_run_of(s, options, Output::Softmax)
}

/// The same with `output` (and the cross-entropy cost).
fn short_run_of(s: &Session, options: GpuOptions, output: Output) -> Result<Params> {
    let data = random_splits(3, 300, 100, 10);
    let net = net(&[100, 30, 10], output, Cost::CrossEntropy, Init::Scaled);
    let h = hyper(OptimizerKind::Adam, 0.01, 1.0, 300, 7);
    let params = Params::init(&net, 5);
    let mut gpu =
        GpuBackend::with_options(s.ctx, &net, params, OptimizerKind::Adam, &data, options)?;
    for epoch in 0..2 {
        gpu.train_batches(&epoch_order(300, 9, epoch), &h)?;
    }
    gpu.params()
}

/// `b` must equal `a` bit for bit (the short run's softmax network).
fn same_bits(s: &Session, name: String, shape: String, a: &Params, b: Params) -> Check {
    same_bits_of(s, name, shape, Output::Softmax, a, b)
}

/// The same for the short run with `output`.
fn same_bits_of(
    s: &Session,
    name: String,
    shape: String,
    output: Output,
    a: &Params,
    mut b: Params,
) -> Check {
    plant_params(s, &name, &mut b);
    let mut c = Comparison::default();
    for (l, (x, y)) in a.layers.iter().zip(&b.layers).enumerate() {
        let pairs = x
            .weight
            .iter()
            .chain(&x.bias)
            .zip(y.weight.iter().chain(&y.bias));
        for (i, (p, q)) in pairs.enumerate() {
            // Equal bits: no error; equal values of other bits (±0): a failure all the same.
            let got = match (p.to_bits() == q.to_bits(), p == q) {
                (true, _) => *p as f64,
                (false, true) => f64::NAN,
                (false, false) => *q as f64,
            };
            c.add(|| format!("layer {l} parameter {i}"), got, *p as f64, 0.0);
        }
    }
    let net = net(&[100, 30, 10], output, Cost::CrossEntropy, Init::Scaled);
    let tiled = prefer_tiled(s.ctx);
    c.finish(
        "determinism",
        name,
        shape,
        pipelines(s, &net, OptimizerKind::Adam, tiled),
    )
}

/// Every reduction runs in a fixed order in one invocation (no float atomics), so the same run
/// gives the same bits: twice from the same seed; with the data set split over four bindings
/// (80 images a binding); with every product split over dispatches of at most 2,000
/// multiply-adds; with one step per command buffer; with one step per gather (input_slots.rs);
/// and, for a sigmoid output, with δᴸ in a dispatch of its own instead of the output layer's
/// forward epilogue.
pub(crate) fn determinism(s: &mut Session) -> Result<Vec<Check>> {
    let shape = "100-30-10, batch 7, 2 epochs of Adam".to_string();
    let mut checks = Vec::new();
    for tiled in multiplies(s) {
        let options = GpuOptions {
            tiled: Some(tiled),
            ..GpuOptions::default()
        };
        let (a, b) = (short_run(s, options)?, short_run(s, options)?);
        let name = format!("same seed twice ({})", multiply_name(tiled));
        checks.push(same_bits(s, name, shape.clone(), &a, b));
    }
    let reference = short_run(s, GpuOptions::default())?;
    let variants = [
        (
            "data over 4 bindings",
            GpuOptions {
                max_binding_bytes: Some(80 * 100),
                ..GpuOptions::default()
            },
        ),
        (
            "products over several dispatches",
            GpuOptions {
                max_dispatch_macs: 2000,
                ..GpuOptions::default()
            },
        ),
        (
            "one step per command buffer",
            GpuOptions {
                steps_per_submit: 1,
                ..GpuOptions::default()
            },
        ),
        (
            "one step per gather",
            GpuOptions {
                gather_steps: 1,
                ..GpuOptions::default()
            },
        ),
    ];
    let count = if s.plan.quick { 1 } else { variants.len() };
    for (what, options) in variants.into_iter().take(count) {
        let b = short_run(s, options)?;
        checks.push(same_bits(s, what.to_string(), shape.clone(), &reference, b));
    }
    if !s.plan.quick {
        // A sigmoid output: δᴸ in the output layer's forward epilogue or in its own dispatch.
        let options = GpuOptions {
            output_delta_in_forward: false,
            ..GpuOptions::default()
        };
        let a = short_run_of(s, GpuOptions::default(), Output::Sigmoid)?;
        let b = short_run_of(s, options, Output::Sigmoid)?;
        let what = "output error in its own dispatch".to_string();
        let shape = "100-30-10 sigmoid, batch 7, 2 epochs of Adam".to_string();
        checks.push(same_bits_of(s, what, shape, Output::Sigmoid, &a, b));
    }
    Ok(checks)
}

/// The training images of the end-to-end run.
pub(crate) const END_TO_END_TRAIN: usize = 2000;
/// The test images it is evaluated on.
pub(crate) const END_TO_END_TEST: usize = 10_000;
/// How far apart (percentage points of test accuracy) the two paths may end.
pub(crate) const END_TO_END_BOUND: f64 = 0.2;

/// One epoch of 784-30-10 (sigmoid/quadratic, scaled init, η = 3, batch 10) on 2,000 training
/// images on both paths from the same seed and order, then the test accuracy of each on 10,000
/// images. The two paths round differently and 200 steps let the differences grow a little
/// (after 100 steps of the textbook network the weights differ by ~7e-7, BENCHMARKS.md), so
/// only images whose two best outputs are that close can be classified differently: 0.2
/// points (20 images) is far more than a correct path moves, and any real error (a wrong δ, a
/// skipped bias, a misread batch) misses by whole points.
pub(crate) fn end_to_end(s: &mut Session) -> Result<Vec<Check>> {
    let data = data::end_to_end(END_TO_END_TRAIN, END_TO_END_TEST);
    let net = net(
        &[784, 30, 10],
        Output::Sigmoid,
        Cost::Quadratic,
        Init::Scaled,
    );
    let n = data.splits.train.len();
    if let Some(note) = &data.note {
        eprintln!("selftest: the end-to-end run uses {note}");
    }
    Ok(vec![accuracy_check(s, &net, &data.splits, n, data.origin)?])
}

fn accuracy_check(
    s: &Session,
    net: &NetworkConfig,
    splits: &std::sync::Arc<Splits>,
    n: usize,
    origin: &str,
) -> Result<Check> {
    // A 784-30-10 sigmoid/quadratic network, as the end-to-end run trains.
    let kind = OptimizerKind::Sgd;
    let params = Params::init(net, 1);
    let h = hyper(kind, 3.0, 0.0, n, 10);
    let order = epoch_order(n, 1, 0);
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    let mut cpu = CpuBackend::new(net, params.clone(), kind, splits.clone(), 10, threads)?;
    let mut gpu = GpuBackend::new(s.ctx, net, params, kind, splits)?;
    cpu.train_batches(&order, &h)?;
    gpu.train_batches(&order, &h)?;
    let (ec, eg) = (cpu.evaluate(Split::Test)?, gpu.evaluate(Split::Test)?);
    let (ac, mut ag) = (100.0 * ec.accuracy(), 100.0 * eg.accuracy());
    if s.planted() == Some("end_to_end") {
        ag -= 5.0;
    }
    let mut c = Comparison::default();
    let at = || format!("test accuracy (%) after one epoch, on {} images", ec.count);
    c.add(at, ag, ac, END_TO_END_BOUND);
    let shape = format!("{n} {origin} images, 1 epoch: gpu {ag:.2}%, cpu {ac:.2}%");
    let tiled = prefer_tiled(s.ctx);
    Ok(c.finish(
        "end_to_end",
        "end_to_end".into(),
        shape,
        pipelines(s, net, kind, tiled),
    ))
}

//! The fused small-network kernels (src/gpu/fused/) against the CPU path: two epochs of whole
//! training on awkward shapes, each output/cost pair and optimizer, and members trained
//! together against their solo runs, bit for bit.

use super::compare::Comparison;
use super::data::random_splits;
use super::members::add_params_bits;
use super::output::PAIRS;
use super::training::{add_params, plant_params};
use super::{Check, Session};
use crate::backend::{Backend, Members, Split};
use crate::config::{Cost, Init, NetworkConfig, Optimizer, OptimizerKind, Output, StepHyper};
use crate::cpu::CpuBackend;
use crate::data::{epoch_order, Splits};
use crate::error::{Error, Result};
use crate::gpu::fused::fused_plan;
use crate::gpu::kernels::OPTIMIZERS;
use crate::gpu::FusedBackend;
use crate::model::Params;
use std::sync::Arc;

/// The shapes checked: widths 1, 7, 30, 100 and 256, inputs a multiple of 4 and not, one to
/// three weight layers, batches 1, 7, 10, 16 and 64, the last batch of each epoch shorter where
/// the set does not divide (layers, batch, training samples). Four shapes per optimizer, in
/// the order of [`OPTIMIZERS`]: the last eight are AdaGrad's and RMSprop's.
const SHAPES: [(&[usize], usize, usize); 20] = [
    (&[7, 30, 10], 7, 23),
    (&[7, 1, 10], 1, 9),
    (&[7, 7, 10], 7, 30),
    (&[16, 30, 10], 10, 45),
    (&[12, 100, 10], 10, 33),
    (&[8, 30, 10], 64, 70),
    (&[7, 30, 7, 10], 10, 25),
    (&[20, 100, 30, 10], 16, 64),
    (&[9, 10], 7, 20),
    (&[4, 7, 1, 10], 10, 21),
    (&[13, 256, 10], 7, 16),
    (&[784, 30, 10], 10, 35),
    (&[7, 1, 10], 7, 23),
    (&[16, 30, 7, 10], 10, 45),
    (&[13, 256, 10], 1, 9),
    (&[9, 10], 64, 70),
    (&[12, 100, 10], 7, 30),
    (&[4, 7, 1, 10], 10, 25),
    (&[20, 100, 30, 10], 16, 64),
    (&[784, 30, 10], 10, 21),
];

fn net(layers: &[usize], output: Output, cost: Cost) -> NetworkConfig {
    NetworkConfig {
        layers: layers.to_vec(),
        output,
        cost,
        init: Init::Scaled,
    }
}

/// The step constants of a check. Adam divides the gradient by its own running magnitude, so a
/// weight moves by about η·g/(|g| + ε): where a sum over the batch cancels to |g| ~ ε (1e-8 by
/// default) the update is a ratio of rounding-level numbers. Adam runs with η = 0.01 and
/// ε = 1e-4, which bounds what an absolute gradient error δg does to a weight by η·δg/ε per
/// step; SGD and momentum with η = 0.5. AdaGrad (g/(√Σg² + ε)) and RMSprop (g/(√v + ε))
/// divide by the gradient's magnitude the same way and run as Adam does, each with its ε at
/// 1e-4.
fn hyper(kind: OptimizerKind, n_train: usize, batch: usize) -> StepHyper {
    let adaptive = matches!(
        kind,
        OptimizerKind::Adam | OptimizerKind::Adagrad | OptimizerKind::Rmsprop
    );
    let epsilon = if adaptive { 1e-4 } else { 1e-8 };
    StepHyper {
        eta: if adaptive { 0.01 } else { 0.5 },
        lambda: 0.1,
        n_train,
        batch_size: batch,
        optimizer: Optimizer {
            kind,
            epsilon,
            adagrad_epsilon: if adaptive {
                1e-4
            } else {
                Optimizer::default().adagrad_epsilon
            },
            rmsprop_epsilon: if adaptive {
                1e-4
            } else {
                Optimizer::default().rmsprop_epsilon
            },
            ..Optimizer::default()
        },
    }
}

/// A fused backend for `members` starting points, or an error saying why the shape does not fit.
pub(crate) fn fused(
    s: &Session,
    net: &NetworkConfig,
    kind: OptimizerKind,
    batch: usize,
    members: &[Params],
    data: &Splits,
) -> Result<FusedBackend> {
    let shape = fused_plan(s.ctx, net, batch, data).map_err(|why| {
        Error::Gpu(format!(
            "{} with batch {batch} does not fit the fused kernels here: {why}",
            net.layers_string()
        ))
    })?;
    FusedBackend::new(s.ctx, net, shape, members, kind, data)
}

/// Two epochs on the CPU and through the fused kernels from the same parameters, then the
/// parameters, the optimizer state and the test cost compared.
///
/// Bound: both paths sum the same f32 products in different orders (the fused kernel four k at
/// a time in order, the CPU's gemm in its blocks) and the GPU's exp may differ by a few ulp;
/// over the few steps here, of η = 0.5 on O(1) values, the difference stays within ~1e-5
/// relative. 1e-4·(1 + |value|) leaves margin and is still far below a real error (a wrong δ, a
/// missing barrier or a wrong index shows up at 1e-2 and above).
fn against_cpu(
    s: &Session,
    shape: (&[usize], usize, usize),
    output: Output,
    cost: Cost,
    kind: OptimizerKind,
    seed: u64,
) -> Result<Check> {
    let (layers, batch, n) = shape;
    let classes = *layers.last().unwrap_or(&1);
    let data: Arc<Splits> = random_splits(seed, n, layers[0], classes);
    let net = net(layers, output, cost);
    let params = Params::init(&net, seed + 1);
    let h = hyper(kind, n, batch);
    let mut cpu = CpuBackend::new(&net, params.clone(), kind, data.clone(), batch, 1)?;
    let mut gpu = fused(s, &net, kind, batch, std::slice::from_ref(&params), &data)?;
    for epoch in 0..2 {
        let order = epoch_order(n, seed, epoch);
        cpu.train_batches(&order, &h)?;
        Backend::train_batches(&mut gpu, &order, &h)?;
    }
    let name = format!("fused {output:?}/{cost:?}/{kind:?}").to_lowercase();
    let mut got = Backend::params(&mut gpu)?;
    plant_params(s, &name, &mut got);
    let mut c = Comparison::default();
    add_params(&mut c, "parameters", &got, &cpu.params()?, 1e-4);
    let (sc, sg) = (cpu.optimizer_state()?, Backend::optimizer_state(&mut gpu)?);
    c.add(
        || "update count".into(),
        sg.step as f64,
        sc.step as f64,
        0.0,
    );
    for (slot, (g, w)) in sg.slots.iter().zip(&sc.slots).enumerate() {
        add_params(&mut c, &format!("optimizer slot {slot}"), g, w, 1e-4);
    }
    let (ec, eg) = (
        cpu.evaluate(Split::Test)?,
        Backend::evaluate(&mut gpu, Split::Test)?,
    );
    let bound = 1e-4 * (1.0 + ec.cost_sum.abs());
    c.add(|| "test cost".into(), eg.cost_sum, ec.cost_sum, bound);
    let widths = layers
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join("-");
    Ok(c.finish(
        "fused",
        name,
        format!("{widths}, batch {batch}, {n} samples, 2 epochs"),
        Vec::new(),
    ))
}

/// Three members (their own parameters, orders and η) trained together must be, bit for bit,
/// the solo runs of each.
fn members_are_solo_runs(s: &Session) -> Result<Check> {
    let layers = [12, 30, 10];
    let data = random_splits(5, 50, 12, 10);
    let net = net(&layers, Output::Softmax, Cost::CrossEntropy);
    let kind = OptimizerKind::Momentum;
    let seeds = [1u64, 2, 3];
    let params: Vec<Params> = seeds.iter().map(|&seed| Params::init(&net, seed)).collect();
    let hypers: Vec<StepHyper> = [0.1f32, 0.2, 0.5]
        .iter()
        .map(|&eta| StepHyper {
            eta,
            ..hyper(kind, 50, 8)
        })
        .collect();
    let mut group = fused(s, &net, kind, 8, &params, &data)?;
    for epoch in 0..2 {
        let orders: Vec<Vec<u32>> = seeds
            .iter()
            .map(|&seed| epoch_order(50, seed, epoch))
            .collect();
        let refs: Vec<&[u32]> = orders.iter().map(Vec::as_slice).collect();
        Members::train_batches(&mut group, &refs, &hypers, &[true; 3])?;
    }
    let name = "fused members = solo runs".to_string();
    let mut c = Comparison::default();
    for m in 0..seeds.len() {
        let mut solo = fused(s, &net, kind, 8, &params[m..m + 1], &data)?;
        for epoch in 0..2 {
            Backend::train_batches(&mut solo, &epoch_order(50, seeds[m], epoch), &hypers[m])?;
        }
        let want = Backend::params(&mut solo)?;
        let mut got = Members::params(&mut group, m)?;
        plant_params(s, &name, &mut got);
        add_params_bits(&mut c, &format!("member {m}"), &got, &want);
    }
    Ok(c.finish(
        "fused",
        name,
        "12-30-10, 3 members, batch 8, 2 epochs of momentum".into(),
        Vec::new(),
    ))
}

/// Long dispatches are what the kernel is for, and where a driver may fail it: llvmpipe ends
/// every loop of a shader once it has run 65,535 trips (src/gpu/fused/trainer/loop_budget.rs).
/// 60 steps of 784-30-10 trained in dispatches as long as the trainer lets them be (60, or the
/// loop budget's cap) must be,
/// bit for bit, the same steps one per dispatch; and an evaluation of 4,001 samples (tiles of
/// up to 64, as many per dispatch as the pace and the budget allow) must score what the CPU
/// scores with the same parameters. Bound for the evaluation: the CPU's cost bound of
/// `against_cpu`, and a prediction may flip only where two outputs tie to within the last bits
/// (none in 1,000 samples); a dispatch cut short gets thousands wrong.
fn long_dispatches(s: &Session) -> Result<Check> {
    let layers = [784, 30, 10];
    let data = random_splits(7, 8000, 784, 10);
    let net = net(&layers, Output::Sigmoid, Cost::Quadratic);
    let kind = OptimizerKind::Sgd;
    let params = Params::init(&net, 8);
    let h = hyper(kind, 8000, 10);
    let order = epoch_order(8000, 7, 0);
    let run = |steps: usize| -> Result<(Params, FusedBackend)> {
        let mut gpu = fused(s, &net, kind, 10, std::slice::from_ref(&params), &data)?;
        gpu.fix_steps_per_dispatch(Some(steps));
        Backend::train_batches(&mut gpu, &order[..600], &h)?;
        Ok((Backend::params(&mut gpu)?, gpu))
    };
    let (want, _) = run(1)?;
    let (mut got, mut gpu) = run(60)?;
    let name = "fused long dispatches".to_string();
    plant_params(s, &name, &mut got);
    let mut c = Comparison::default();
    let steps = 60.min(gpu.max_steps_per_dispatch());
    add_params_bits(&mut c, &format!("{steps} steps a dispatch"), &got, &want);
    let eg = Backend::evaluate(&mut gpu, Split::Test)?;
    let mut cpu = CpuBackend::new(&net, got, kind, data.clone(), 10, 1)?;
    let ec = cpu.evaluate(Split::Test)?;
    let bound = 1e-4 * (1.0 + ec.cost_sum.abs());
    c.add(|| "test cost".into(), eg.cost_sum, ec.cost_sum, bound);
    let flipped = eg.predictions_differing(&ec);
    c.add(
        || "test predictions that differ".into(),
        flipped as f64,
        0.0,
        ec.count as f64 / 1000.0,
    );
    Ok(c.finish(
        "fused",
        name,
        "784-30-10, batch 10, 60 steps; 4,001 samples evaluated".into(),
        Vec::new(),
    ))
}

/// Every output/cost pair with every optimizer, each on its own awkward shape (quick: the first
/// four), long dispatches, and members against their solo runs.
pub(crate) fn fused_checks(s: &mut Session) -> Result<Vec<Check>> {
    let count = if s.plan.quick { 4 } else { SHAPES.len() };
    let mut checks = Vec::with_capacity(count + 2);
    for (i, shape) in SHAPES.iter().take(count).enumerate() {
        let (output, cost) = PAIRS[i % PAIRS.len()];
        let kind = OPTIMIZERS[(i / PAIRS.len()) % OPTIMIZERS.len()];
        checks.push(against_cpu(s, *shape, output, cost, kind, 10 + i as u64)?);
    }
    checks.push(long_dispatches(s)?);
    checks.push(members_are_solo_runs(s)?);
    Ok(checks)
}

//! The fused small-network kernels held against the CPU reference, and the promises of
//! training several members at once: a member computes exactly what it computes alone (the
//! same bits), a stopped member stays as it is, and two runs give the same bits.

mod gpu_support;

use gpu_mlp::backend::{Backend, Members, Split};
use gpu_mlp::config::{Cost, OptimizerKind, Output, StepHyper};
use gpu_mlp::cpu::CpuBackend;
use gpu_mlp::data::{epoch_order, Splits};
use gpu_mlp::gpu::fused::fused_plan;
use gpu_mlp::gpu::{FusedBackend, GpuContext};
use gpu_mlp::model::Params;
use gpu_support::*;
use std::sync::Arc;

#[allow(clippy::too_many_arguments)]
fn fused(
    ctx: &GpuContext,
    layers: &[usize],
    output: Output,
    cost: Cost,
    kind: OptimizerKind,
    batch: usize,
    params: &[Params],
    data: &Splits,
) -> FusedBackend {
    let net = net(layers, output, cost);
    let shape = fused_plan(ctx, &net, batch, data).expect("the network fits the fused path");
    FusedBackend::new(ctx, &net, shape, params, kind, data).unwrap()
}

/// Two epochs on the CPU and through the fused kernels from the same parameters, then the
/// parameters, the optimizer state and a test-set evaluation compared.
///
/// Tolerance: both paths sum the same f32 products in different orders (the fused kernel four
/// k at a time in order, the CPU's gemm in its blocks) and the GPU's exp may differ by a few
/// ulp; over the few steps here, of η = 0.5 on O(1) values, that keeps the difference within
/// ~1e-5 relative. 1e-4 leaves margin and is still far below a real error (a wrong δ, a
/// missing barrier or a wrong index shows up at 1e-2 and above). Adam divides the gradient by
/// its own running magnitude: a weight moves by about η·g/(|g| + ε), so where a sum over the
/// batch cancels to |g| ~ ε (1e-8 by default) the update is a ratio of rounding-level numbers
/// (seen: g = 2.2e-8 against 2.0e-8 moved one weight 2e-4 apart). The Adam cases run with
/// η = 0.01 and ε = 1e-4, which bounds what an absolute gradient error δg does to a weight by
/// η·δg/ε per step, well inside the tolerance for δg ~ 1e-9. AdaGrad (g/(√Σg² + ε)) and
/// RMSprop (g/(√v + ε)) divide the same way and run the same way.
#[allow(clippy::too_many_arguments)]
fn against_cpu(
    layers: &[usize],
    output: Output,
    cost: Cost,
    kind: OptimizerKind,
    batch: usize,
    n: usize,
    seed: u64,
) {
    let Some(ctx) = context() else { return };
    let classes = *layers.last().unwrap();
    let data = random_splits(seed, n, layers[0], classes);
    let net = net(layers, output, cost);
    let params = Params::init(&net, seed + 1);
    let adaptive = matches!(
        kind,
        OptimizerKind::Adam | OptimizerKind::Adagrad | OptimizerKind::Rmsprop
    );
    let mut h = hyper(kind, if adaptive { 0.01 } else { 0.5 }, 0.1, n, batch);
    if adaptive {
        h.optimizer.epsilon = 1e-4;
        h.optimizer.adagrad_epsilon = 1e-4;
        h.optimizer.rmsprop_epsilon = 1e-4;
    }
    let mut cpu = CpuBackend::new(&net, params.clone(), kind, data.clone(), batch, 1).unwrap();
    let mut gpu = fused(
        &ctx,
        layers,
        output,
        cost,
        kind,
        batch,
        std::slice::from_ref(&params),
        &data,
    );
    for epoch in 0..2 {
        let order = epoch_order(n, seed, epoch);
        cpu.train_batches(&order, &h).unwrap();
        Backend::train_batches(&mut gpu, &order, &h).unwrap();
    }
    let what = format!("{layers:?} {output:?}/{cost:?}/{kind:?} batch {batch}");
    let (pc, pg) = (cpu.params().unwrap(), Backend::params(&mut gpu).unwrap());
    for (l, (a, b)) in pg.layers.iter().zip(&pc.layers).enumerate() {
        let (dw, db) = (max_rel(&a.weight, &b.weight), max_rel(&a.bias, &b.bias));
        assert!(
            dw < 1e-4 && db < 1e-4,
            "{what} layer {l}: |ΔW| {dw}, |Δb| {db}"
        );
    }
    let (sc, sg) = (
        cpu.optimizer_state().unwrap(),
        Backend::optimizer_state(&mut gpu).unwrap(),
    );
    assert_eq!(sc.step, sg.step, "{what}");
    for (c, g) in sc.slots.iter().zip(&sg.slots) {
        for (a, b) in g.layers.iter().zip(&c.layers) {
            let (dw, db) = (max_rel(&a.weight, &b.weight), max_rel(&a.bias, &b.bias));
            assert!(dw < 1e-4 && db < 1e-4, "{what} optimizer state: {dw}, {db}");
        }
    }
    let (ec, eg) = (
        cpu.evaluate(Split::Test).unwrap(),
        Backend::evaluate(&mut gpu, Split::Test).unwrap(),
    );
    assert_eq!(ec.count, eg.count);
    // Costs are summed in f64 over per-sample f32 costs: 1e-4 relative.
    assert!(
        (ec.cost_sum - eg.cost_sum).abs() <= 1e-4 * (1.0 + ec.cost_sum.abs()),
        "{what}: cost {} vs {}",
        ec.cost_sum,
        eg.cost_sum
    );
}

const ALL_OUTPUTS: [(Output, Cost); 4] = [
    (Output::Sigmoid, Cost::Quadratic),
    (Output::Sigmoid, Cost::CrossEntropy),
    (Output::Softmax, Cost::Quadratic),
    (Output::Softmax, Cost::CrossEntropy),
];
const ALL_OPTIMIZERS: [OptimizerKind; 5] = OptimizerKind::ALL;

/// Every output/cost pair with every optimizer (SGD, momentum, Adam, AdaGrad, RMSprop), each on
/// its own awkward shape: widths 1, 7, 30, 100 and 256, inputs a multiple of 4 and not, one to
/// three weight layers, batches of 1, 7, 10 and 64, and the last batch of each epoch shorter
/// where the set does not divide.
#[test]
fn every_output_cost_and_optimizer_on_awkward_shapes_matches_the_cpu() {
    let shapes: [(&[usize], usize, usize); 20] = [
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
        // (A width of 256 with a batch of 64 needs 137 KiB of workgroup memory: per-layer.)
        (&[784, 30, 10], 10, 35),
        // AdaGrad and RMSprop, on four more shapes each.
        (&[7, 1, 10], 7, 23),
        (&[16, 30, 7, 10], 10, 45),
        (&[13, 256, 10], 1, 9),
        (&[9, 10], 64, 70),
        (&[12, 100, 10], 7, 30),
        (&[4, 7, 1, 10], 10, 25),
        (&[20, 100, 30, 10], 16, 64),
        (&[784, 30, 10], 10, 21),
    ];
    for (i, (layers, batch, n)) in shapes.into_iter().enumerate() {
        let (output, cost) = ALL_OUTPUTS[i % 4];
        let kind = ALL_OPTIMIZERS[i / 4];
        against_cpu(layers, output, cost, kind, batch, n, 10 + i as u64);
    }
}

/// Members of one group compute exactly what each computes alone: three members with their
/// own parameters, orders and η train together, and each one's parameters and optimizer state
/// are the bits of its solo run.
#[test]
fn members_are_bit_identical_to_their_solo_runs() {
    let Some(ctx) = context() else { return };
    let layers = [12, 30, 10];
    let data: Arc<Splits> = random_splits(5, 50, 12, 10);
    let netc = net(&layers, Output::Softmax, Cost::CrossEntropy);
    let kind = OptimizerKind::Adam;
    let seeds = [1u64, 2, 3];
    let etas = [0.01f32, 0.02, 0.05];
    let params: Vec<Params> = seeds.iter().map(|&s| Params::init(&netc, s)).collect();
    let hypers: Vec<StepHyper> = etas.iter().map(|&e| hyper(kind, e, 0.5, 50, 8)).collect();
    let mut group = fused(
        &ctx,
        &layers,
        netc.output,
        netc.cost,
        kind,
        8,
        &params,
        &data,
    );
    for epoch in 0..2 {
        let orders: Vec<Vec<u32>> = seeds.iter().map(|&s| epoch_order(50, s, epoch)).collect();
        let refs: Vec<&[u32]> = orders.iter().map(Vec::as_slice).collect();
        Members::train_batches(&mut group, &refs, &hypers, &[true; 3]).unwrap();
    }
    for m in 0..3 {
        let mut solo = fused(
            &ctx,
            &layers,
            netc.output,
            netc.cost,
            kind,
            8,
            &params[m..m + 1],
            &data,
        );
        for epoch in 0..2 {
            let order = epoch_order(50, seeds[m], epoch);
            Backend::train_batches(&mut solo, &order, &hypers[m]).unwrap();
        }
        assert_eq!(
            Members::params(&mut group, m).unwrap(),
            Backend::params(&mut solo).unwrap(),
            "member {m}"
        );
        assert_eq!(
            Members::optimizer_state(&mut group, m).unwrap(),
            Backend::optimizer_state(&mut solo).unwrap(),
            "member {m}'s optimizer state"
        );
        let evals = Members::evaluate(&mut group, Split::Validation).unwrap();
        assert_eq!(
            evals[m],
            Backend::evaluate(&mut solo, Split::Validation).unwrap()
        );
    }
}

/// A member that is not active keeps its parameters and state while the others train, and
/// two runs from the same start give the same bits.
#[test]
fn inactive_members_stay_and_runs_repeat() {
    let Some(ctx) = context() else { return };
    let layers = [7, 30, 10];
    let data = random_splits(9, 40, 7, 10);
    let netc = net(&layers, Output::Sigmoid, Cost::Quadratic);
    let kind = OptimizerKind::Momentum;
    let params: Vec<Params> = (0..2).map(|s| Params::init(&netc, s)).collect();
    let h = hyper(kind, 0.5, 0.0, 40, 10);
    let run = || {
        let mut group = fused(
            &ctx,
            &layers,
            netc.output,
            netc.cost,
            kind,
            10,
            &params,
            &data,
        );
        let order = epoch_order(40, 4, 0);
        Members::train_batches(&mut group, &[&order, &order], &[h, h], &[true, false]).unwrap();
        (
            Members::params(&mut group, 0).unwrap(),
            Members::params(&mut group, 1).unwrap(),
            Members::optimizer_state(&mut group, 1).unwrap(),
        )
    };
    let (a0, a1, s1) = run();
    assert_eq!(a1, params[1], "the inactive member's parameters changed");
    assert_eq!(s1.step, 0);
    assert!(s1
        .slots
        .iter()
        .all(|s| s.layers.iter().all(|l| l.weight.iter().all(|&v| v == 0.0))));
    assert_ne!(a0, params[0], "the active member did not train");
    let (b0, _, _) = run();
    assert_eq!(a0, b0, "two runs from the same start differ");
}

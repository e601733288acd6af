//! The fused small-network kernels held against the CPU reference, and the promises of
//! training several members at once: a member computes exactly what it computes alone (the
//! same bits), a stopped member stays as it is, two runs give the same bits, and a dropped
//! command buffer is an error.

mod gpu_support;

use gpu_mlp::backend::{Backend, Split};
use gpu_mlp::config::{Cost, NetworkConfig, OptimizerKind, Output};
use gpu_mlp::cpu::CpuBackend;
use gpu_mlp::data::{epoch_order, Splits};
use gpu_mlp::gpu::fused::fused_plan;
use gpu_mlp::gpu::{FusedBackend, GpuContext};
use gpu_mlp::model::Params;
use gpu_support::*;

fn fused(
    ctx: &GpuContext,
    net: &NetworkConfig,
    kind: OptimizerKind,
    batch: usize,
    params: &[Params],
    data: &Splits,
) -> FusedBackend {
    let shape = fused_plan(ctx, net, batch, data).expect("the network fits the fused path");
    FusedBackend::new(ctx, net, shape, params, kind, data).unwrap()
}

/// Every output/cost pair with every optimizer, each on its own awkward shape (widths 1, 7,
/// 30, 100, 256; batches 1, 7, 10, 16, 64; the last batch shorter), two epochs against the CPU
/// path; and members trained together bit for bit their solo runs: the self-test's fused
/// family (src/selftest/fused.rs, where the bounds are argued), with its full plan.
#[test]
fn fused_kernels_match_the_cpu_and_members_their_solo_runs() {
    family("fused");
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
    let group = || fused(&ctx, &netc, kind, 10, &params, &data);
    check_inactive_member_stays(group, &params, h, 40);
}

/// A command buffer the driver drops (here: left unsubmitted) is an error naming it, not an
/// epoch silently left untrained.
#[test]
fn a_dropped_command_buffer_is_an_error() {
    let Some(ctx) = context() else { return };
    let layers = [7, 30, 10];
    let data = random_splits(4, 40, 7, 10);
    let netc = net(&layers, Output::Sigmoid, Cost::Quadratic);
    let params = Params::init(&netc, 3);
    let h = hyper(OptimizerKind::Sgd, 0.5, 0.0, 40, 10);
    let mut gpu = fused(
        &ctx,
        &netc,
        OptimizerKind::Sgd,
        10,
        std::slice::from_ref(&params),
        &data,
    );
    let order = epoch_order(40, 1, 0);
    Backend::train_batches(&mut gpu, &order, &h).unwrap();
    // The first of the run's command buffers is dropped; the later ones (if any) run.
    gpu.drop_next_submit();
    let e = Backend::train_batches(&mut gpu, &order, &h)
        .unwrap_err()
        .to_string();
    assert!(e.contains("dropped a command buffer"), "{e}");
}

/// How the steps of a run are cut into dispatches must not change the bits: a run in
/// dispatches of as many steps as the trainer lets one hold (up to 100) gives the parameters
/// of the same run at one step per dispatch, on shapes whose steps cost different numbers of
/// loop trips. On lavapipe this held only up to a threshold (the 34th step of a dispatch for
/// 784-30-10 at batch 10, the 21st for 784-100-10, the 85th at batch 7, the 28th at batch
/// 20): llvmpipe's budget of loop trips per run of a shader, which the trainer now probes
/// (src/gpu/fused/trainer/loop_budget.rs).
#[test]
fn steps_per_dispatch_do_not_change_the_bits() {
    let Some(ctx) = context() else { return };
    let n = 1000;
    let data = random_splits(5, n, 784, 10);
    for (layers, batch) in [
        (vec![784, 30, 10], 10),
        (vec![784, 100, 10], 10),
        (vec![784, 30, 10], 7),
        (vec![784, 30, 10], 20),
        (vec![784, 64, 32, 10], 16),
    ] {
        let netc = net(&layers, Output::Sigmoid, Cost::Quadratic);
        let params = Params::init(&netc, 1);
        let h = hyper(OptimizerKind::Sgd, 3.0, 0.0, n, batch);
        let run = |steps: usize| {
            let mut gpu = fused(
                &ctx,
                &netc,
                OptimizerKind::Sgd,
                batch,
                std::slice::from_ref(&params),
                &data,
            );
            gpu.fix_steps_per_dispatch(Some(steps));
            let order = epoch_order(n, 1, 0);
            Backend::train_batches(&mut gpu, &order, &h).unwrap();
            Backend::params(&mut gpu).unwrap()
        };
        let one = run(1);
        let got = run(100);
        let differ: Vec<usize> = one
            .layers
            .iter()
            .zip(&got.layers)
            .map(|(a, b)| {
                a.weight
                    .iter()
                    .zip(&b.weight)
                    .chain(a.bias.iter().zip(&b.bias))
                    .filter(|(x, y)| x.to_bits() != y.to_bits())
                    .count()
            })
            .collect();
        assert!(
            differ.iter().all(|&d| d == 0),
            "{layers:?} at batch {batch}, long dispatches: {differ:?} parameters per layer differ from one step per dispatch"
        );
    }
}

/// A dispatch past the driver's loop budget is an error, not garbage: with the probed cap
/// lifted, 100 steps of 784-30-10 in one dispatch run out of llvmpipe's budget (from the 34th
/// step) and training fails saying so; where the adapter has no such budget they run and
/// give the bits of one step per dispatch.
#[test]
fn a_dispatch_past_the_loop_budget_is_an_error() {
    let Some(ctx) = context() else { return };
    let layers = [784, 30, 10];
    let n = 1000;
    let data = random_splits(5, n, 784, 10);
    let netc = net(&layers, Output::Sigmoid, Cost::Quadratic);
    let params = Params::init(&netc, 1);
    let h = hyper(OptimizerKind::Sgd, 3.0, 0.0, n, 10);
    let order = epoch_order(n, 1, 0);
    let run = |steps: usize, lift: bool| {
        let mut gpu = fused(
            &ctx,
            &netc,
            OptimizerKind::Sgd,
            10,
            std::slice::from_ref(&params),
            &data,
        );
        if lift {
            gpu.lift_loop_budget();
        }
        gpu.fix_steps_per_dispatch(Some(steps));
        Backend::train_batches(&mut gpu, &order, &h)
            .and_then(|()| Backend::params(&mut gpu))
            .map_err(|e| e.to_string())
    };
    let one = run(1, false).unwrap();
    let long = run(100, true);
    if ctx.describe().contains("llvmpipe") {
        let e = long.unwrap_err();
        assert!(e.contains("ended the fused kernel's loops early"), "{e}");
    } else {
        assert!(
            long.unwrap() == one,
            "100 steps a dispatch changed the bits"
        );
    }
}

/// An evaluation of many tiles (10,001 samples, 313 tiles of 32 on lavapipe) scores what the
/// CPU scores. Before the loop budget was probed, `eval --kernels fused` put every tile in
/// one dispatch and lavapipe scored 20% where the CPU scored 83%. The tolerance: the fused
/// kernel sums each z in the CPU's order of k but four at a time, so outputs differ in the
/// last bits and a prediction can flip only where two outputs tie to within them: at most 1
/// in 1,000 samples here, against the thousands a cut-short dispatch gets wrong.
#[test]
fn a_long_evaluation_scores_what_the_cpu_scores() {
    let Some(ctx) = context() else { return };
    let layers = [784, 30, 10];
    let data = random_splits(6, 20_000, 784, 10);
    let netc = net(&layers, Output::Sigmoid, Cost::Quadratic);
    let params = Params::init(&netc, 2);
    let mut gpu = fused(
        &ctx,
        &netc,
        OptimizerKind::Sgd,
        10,
        std::slice::from_ref(&params),
        &data,
    );
    let mut cpu = CpuBackend::new(&netc, params, OptimizerKind::Sgd, data.clone(), 10, 1).unwrap();
    let (g, c) = (
        Backend::evaluate(&mut gpu, Split::Test).unwrap(),
        cpu.evaluate(Split::Test).unwrap(),
    );
    assert_eq!(g.count, c.count);
    let flipped = g.predictions_differing(&c);
    assert!(
        flipped * 1000 <= c.count,
        "{flipped} of {} predictions differ",
        c.count
    );
    let rel = (g.cost_sum - c.cost_sum).abs() / c.cost_sum.abs().max(1e-12);
    assert!(
        rel <= 1e-4,
        "cost sums {} and {} differ by {rel:e}",
        g.cost_sum,
        c.cost_sum
    );
}

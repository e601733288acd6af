//! Members of a sweep's group trained by the per-layer GPU kernels in the same dispatches (the
//! path of networks too large for the fused kernels): each member is its solo run bit for bit,
//! a stopped member stays as it is, and a sweep split over several groups (as one too large
//! for the device's bindings is) trains each member exactly as one group does.

mod gpu_support;

use gpu_mlp::backend::{Members, Stacked};
use gpu_mlp::config::{Cost, OptimizerKind, Output};
use gpu_mlp::data::epoch_order;
use gpu_mlp::gpu::{GpuBackend, GpuOptions};
use gpu_mlp::model::Params;
use gpu_support::*;

/// Three members (own seeds, η, λ; Adam), one stopped for an epoch, products split over
/// several dispatches, with both multiplies, each against its solo run: the self-test's
/// members family (src/selftest/members.rs) with its full plan. The bound is 0.
#[test]
fn per_layer_members_are_their_solo_runs() {
    family("members");
}

/// A member that is not active keeps its parameters, Adam's moments and t while the others
/// train; two runs from the same start give the same bits.
#[test]
fn inactive_members_stay_and_runs_repeat() {
    let Some(ctx) = context() else { return };
    let (n, batch) = (40, 10);
    let data = random_splits(9, n, 7, 10);
    let net = net(&[7, 30, 10], Output::Sigmoid, Cost::Quadratic);
    let kind = OptimizerKind::Adam;
    let params: Vec<Params> = (0..2).map(|s| Params::init(&net, s)).collect();
    let h = hyper(kind, 0.01, 0.0, n, batch);
    let group =
        || GpuBackend::group(&ctx, &net, &params, kind, &data, GpuOptions::default()).unwrap();
    check_inactive_member_stays(group, &params, h, n);
}

/// Five members as one group and as groups of 2, 2 and 1 behind `Stacked` end with the same
/// parameters and evaluations, member by member.
#[test]
fn a_sweep_split_over_groups_trains_each_member_the_same() {
    let Some(ctx) = context() else { return };
    let (n, batch) = (45, 8);
    let data = random_splits(2, n, 12, 10);
    let net = net(&[12, 20, 10], Output::Softmax, Cost::CrossEntropy);
    let kind = OptimizerKind::Momentum;
    let params: Vec<Params> = (0..5).map(|s| Params::init(&net, 10 + s)).collect();
    let hypers: Vec<_> = (0..5)
        .map(|m| hyper(kind, 0.1 * (m + 1) as f32, 0.5, n, batch))
        .collect();
    let options = GpuOptions::default();
    let group = |p: &[Params]| -> Box<dyn Members> {
        Box::new(GpuBackend::group(&ctx, &net, p, kind, &data, options).unwrap())
    };
    let mut whole = group(&params);
    let mut split = Stacked(vec![
        group(&params[0..2]),
        group(&params[2..4]),
        group(&params[4..5]),
    ]);
    assert_eq!(split.count(), 5);
    for epoch in 0..2 {
        let orders: Vec<Vec<u32>> = (0..5).map(|m| epoch_order(n, m, epoch)).collect();
        let refs: Vec<&[u32]> = orders.iter().map(Vec::as_slice).collect();
        let active = [true, true, epoch == 0, true, true];
        whole.train_batches(&refs, &hypers, &active).unwrap();
        split.train_batches(&refs, &hypers, &active).unwrap();
    }
    let (a, b) = (
        whole.evaluate(gpu_mlp::backend::Split::Test).unwrap(),
        split.evaluate(gpu_mlp::backend::Split::Test).unwrap(),
    );
    for m in 0..5 {
        assert_eq!(
            whole.params(m).unwrap(),
            split.params(m).unwrap(),
            "member {m}"
        );
        assert_eq!(a[m].predictions, b[m].predictions, "member {m}");
        assert_eq!(
            a[m].cost_sum.to_bits(),
            b[m].cost_sum.to_bits(),
            "member {m}"
        );
    }
}

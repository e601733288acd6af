//! Members of a sweep's group trained by the per-layer kernels in the same dispatches (one z
//! layer of every grid each): each must be, bit for bit, its solo run — parameters, optimizer
//! state, Adam's t and its evaluation — with its own parameters, order, η and λ, while one of
//! them stops for an epoch, and with the products and the epochs split.

use super::compare::Comparison;
use super::data::random_splits;
use super::training::{hyper, multiplies, multiply_name, net, plant_params};
use super::{Check, Session};
use crate::backend::{Backend, Evaluation, Members, Split};
use crate::config::{Cost, Init, OptimizerKind, Output, StepHyper};
use crate::data::epoch_order;
use crate::error::Result;
use crate::gpu::{GpuBackend, GpuOptions};
use crate::model::Params;

/// Adds every value of `got` against `want` with a bound of 0: a different bit pattern of
/// equal value (±0) fails too.
pub(crate) fn add_bits(c: &mut Comparison, what: &str, got: &[f32], want: &[f32]) {
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        let value = if a.to_bits() == b.to_bits() {
            *b as f64
        } else {
            f64::NAN
        };
        c.add(|| format!("{what} {i}"), value, *b as f64, 0.0);
    }
    if got.len() != want.len() {
        c.add(
            || format!("{what}: length"),
            f64::NAN,
            want.len() as f64,
            0.0,
        );
    }
}

/// Every weight and bias of `got` against `want`, bit for bit.
pub(crate) fn add_params_bits(c: &mut Comparison, what: &str, got: &Params, want: &Params) {
    for (l, (g, w)) in got.layers.iter().zip(&want.layers).enumerate() {
        let flat = |p: &crate::model::Layer| p.weight.iter().chain(&p.bias).copied().collect();
        let (g, w): (Vec<f32>, Vec<f32>) = (flat(g), flat(w));
        add_bits(c, &format!("{what} layer {l} parameter"), &g, &w);
    }
}

fn add_evaluation(c: &mut Comparison, what: &str, got: &Evaluation, want: &Evaluation) {
    let bits = |v: f64| if v.is_finite() { v } else { f64::NAN };
    let same = got.cost_sum.to_bits() == want.cost_sum.to_bits();
    let cost = if same { bits(want.cost_sum) } else { f64::NAN };
    c.add(|| format!("{what} test cost"), cost, want.cost_sum, 0.0);
    let predictions = got.predictions == want.predictions;
    let value = if predictions { 0.0 } else { f64::NAN };
    c.add(|| format!("{what} test predictions"), value, 0.0, 0.0);
}

/// Three members of 12-37-9 (softmax, cross-entropy, Adam) with their own seeds, η and λ,
/// 2 epochs of batches of 7 over 50 samples (the last batch of one), member 1 stopped in the
/// second epoch; the group's products split into dispatches of at most 2,000 multiply-adds and
/// its epochs into runs of 3 steps (as a large group's are). Each member against its solo run
/// with the default options.
pub(crate) fn members(s: &mut Session) -> Result<Vec<Check>> {
    let (n, batch) = (50, 7);
    let layers = [12, 37, 9];
    let data = random_splits(6, n, 12, 9);
    let net = net(&layers, Output::Softmax, Cost::CrossEntropy, Init::Scaled);
    let kind = OptimizerKind::Adam;
    let seeds = [1u64, 2, 3];
    let hypers: Vec<StepHyper> = [(0.01f32, 0.0f32), (0.02, 1.0), (0.005, 0.5)]
        .iter()
        .map(|&(eta, lambda)| hyper(kind, eta, lambda, n, batch))
        .collect();
    let params: Vec<Params> = seeds.iter().map(|&seed| Params::init(&net, seed)).collect();
    let active = [[true, true, true], [true, false, true]];
    let mut checks = Vec::new();
    for tiled in multiplies(s) {
        let options = GpuOptions {
            tiled: Some(tiled),
            ..GpuOptions::default()
        };
        let split = GpuOptions {
            max_dispatch_macs: 2000,
            steps_per_run: Some(3),
            ..options
        };
        let mut group = GpuBackend::group(s.ctx, &net, &params, kind, &data, split)?;
        for (epoch, active) in active.iter().enumerate() {
            let orders: Vec<Vec<u32>> = seeds
                .iter()
                .map(|&seed| epoch_order(n, seed, epoch))
                .collect();
            let refs: Vec<&[u32]> = orders.iter().map(Vec::as_slice).collect();
            Members::train_batches(&mut group, &refs, &hypers, active)?;
        }
        let evaluations = Members::evaluate(&mut group, Split::Test)?;
        let name = format!("per-layer members = solo runs ({})", multiply_name(tiled));
        let mut c = Comparison::default();
        for m in 0..seeds.len() {
            let mut solo =
                GpuBackend::with_options(s.ctx, &net, params[m].clone(), kind, &data, options)?;
            for (epoch, active) in active.iter().enumerate() {
                if active[m] {
                    let order = epoch_order(n, seeds[m], epoch);
                    Backend::train_batches(&mut solo, &order, &hypers[m])?;
                }
            }
            let what = format!("member {m}");
            let mut got = Members::params(&mut group, m)?;
            plant_params(s, &name, &mut got);
            add_params_bits(&mut c, &what, &got, &Backend::params(&mut solo)?);
            let got = Members::optimizer_state(&mut group, m)?;
            let want = Backend::optimizer_state(&mut solo)?;
            let t = if got.step == want.step { 0.0 } else { f64::NAN };
            c.add(|| format!("{what} Adam's t"), t, 0.0, 0.0);
            for (k, (g, w)) in got.slots.iter().zip(&want.slots).enumerate() {
                add_params_bits(&mut c, &format!("{what} slot {k}"), g, w);
            }
            let want = Backend::evaluate(&mut solo, Split::Test)?;
            add_evaluation(&mut c, &what, &evaluations[m], &want);
        }
        checks.push(c.finish(
            "members",
            name,
            "12-37-9, 3 members, batch 7, 2 epochs of Adam".into(),
            Vec::new(),
        ));
    }
    Ok(checks)
}

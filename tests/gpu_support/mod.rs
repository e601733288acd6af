//! Helpers shared by the GPU tests: opening an adapter (a test FAILS when none is found under
//! `CI=true`, and is skipped with a note otherwise) and small data sets.
#![allow(dead_code)]

use gpu_mlp::backend::Members;
use gpu_mlp::config::{Cost, Init, NetworkConfig, Optimizer, OptimizerKind, Output, StepHyper};
use gpu_mlp::data::epoch_order;
use gpu_mlp::data::{Dataset, Splits};
use gpu_mlp::gpu::{GpuApi, GpuContext};
use gpu_mlp::model::Params;
use gpu_mlp::selftest::{self, Check, Plan};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

#[path = "../common/mod.rs"]
mod common;
#[allow(unused_imports)]
pub use common::{gpu_mlp, mnist_subset};

/// The adapter the GPU tests run on, or `None` (the test returns early) when there is none
/// and CI is not set.
pub fn context() -> Option<GpuContext> {
    let ci = std::env::var("CI")
        .map(|v| v == "true" || v == "1")
        .unwrap_or(false);
    match GpuContext::find(GpuApi::Auto, None) {
        Ok(Some(ctx)) => Some(ctx),
        Ok(None) if ci => panic!(
            "CI=true but no GPU adapter was found (install mesa-vulkan-drivers for llvmpipe)"
        ),
        Ok(None) => {
            eprintln!("note: no GPU adapter found; skipping this GPU test");
            None
        }
        Err(e) if ci => panic!("CI=true but the GPU adapter could not be opened: {e}"),
        Err(e) => {
            eprintln!("note: the GPU adapter could not be opened ({e}); skipping this GPU test");
            None
        }
    }
}

/// Random images of `pixels` pixels and labels below `classes`.
pub fn random_set(rng: &mut ChaCha8Rng, n: usize, pixels: usize, classes: usize) -> Dataset {
    Dataset {
        rows: 1,
        cols: pixels,
        images: (0..n * pixels).map(|_| rng.random::<u8>()).collect(),
        labels: (0..n).map(|_| rng.random_range(0..classes) as u8).collect(),
    }
}

pub fn random_splits(seed: u64, n: usize, pixels: usize, classes: usize) -> Arc<Splits> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut train = random_set(&mut rng, n, pixels, classes);
    // Make sure the largest label is present so `classes` comes out right.
    train.labels[0] = (classes - 1) as u8;
    Arc::new(Splits {
        validation: random_set(&mut rng, n / 2 + 1, pixels, classes),
        test: random_set(&mut rng, n / 2 + 1, pixels, classes),
        train,
        classes,
    })
}

pub fn net(layers: &[usize], output: Output, cost: Cost) -> NetworkConfig {
    NetworkConfig {
        layers: layers.to_vec(),
        output,
        cost,
        init: Init::Scaled,
    }
}

pub fn hyper(
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

/// Largest |x − y| / (1 + |y|) over two equally long slices.
pub fn max_rel(x: &[f32], y: &[f32]) -> f32 {
    assert_eq!(x.len(), y.len());
    x.iter()
        .zip(y)
        .map(|(a, b)| (a - b).abs() / (1.0 + b.abs()))
        .fold(0.0, f32::max)
}

/// Runs the self-test family `name` (src/selftest/) on the test adapter with the full plan and
/// fails, listing every failed check, unless each one passed. Returns the checks.
pub fn family(name: &str) -> Vec<Check> {
    family_with(name, &Plan::default())
}

pub fn family_with(name: &str, plan: &Plan) -> Vec<Check> {
    let Some(ctx) = context() else {
        return Vec::new();
    };
    let checks = selftest::run_family(&ctx, name, plan)
        .unwrap_or_else(|e| panic!("the {name} checks could not run: {e}"));
    assert!(!checks.is_empty(), "the {name} family ran no check");
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| !c.passed)
        .map(selftest::check_line)
        .collect();
    assert!(
        failed.is_empty() || plan.plant.is_some(),
        "{} of {} {name} checks failed:\n{}",
        failed.len(),
        checks.len(),
        failed.join("\n")
    );
    checks
}

/// Two members from `params` (built by `group`), the second inactive, trained over one epoch
/// of `n` samples with `h`: the inactive member keeps its parameters, its optimizer's slots
/// and t; the active one trains; a second run from the same start gives the same bits.
pub fn check_inactive_member_stays<G: Members>(
    group: impl Fn() -> G,
    params: &[Params],
    h: StepHyper,
    n: usize,
) {
    let run = || {
        let mut group = group();
        let order = epoch_order(n, 4, 0);
        group
            .train_batches(&[&order, &order], &[h, h], &[true, false])
            .unwrap();
        (
            group.params(0).unwrap(),
            group.params(1).unwrap(),
            group.optimizer_state(1).unwrap(),
        )
    };
    let (a0, a1, s1) = run();
    assert_eq!(a1, params[1], "the inactive member's parameters changed");
    assert_eq!(s1.step, 0, "the inactive member's t moved");
    assert!(
        s1.slots
            .iter()
            .all(|s| s.layers.iter().all(|l| l.weight.iter().all(|&v| v == 0.0))),
        "the inactive member's optimizer slots moved"
    );
    assert_ne!(a0, params[0], "the active member did not train");
    let (b0, _, _) = run();
    assert_eq!(a0, b0, "two runs from the same start differ");
}

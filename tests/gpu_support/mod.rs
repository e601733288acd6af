//! Helpers shared by the GPU tests: opening an adapter (a test FAILS when none is found under
//! `CI=true`, and is skipped with a note otherwise) and small data sets.
#![allow(dead_code)]

use gpu_mlp::config::{Cost, Init, NetworkConfig, Optimizer, OptimizerKind, Output, StepHyper};
use gpu_mlp::data::{Dataset, Splits};
use gpu_mlp::gpu::{GpuApi, GpuContext};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

#[path = "../common/mod.rs"]
mod common;
#[allow(unused_imports)]
pub use common::mnist_subset;

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

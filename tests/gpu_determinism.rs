//! Same seed, same adapter → the same GPU weights, bit for bit: every reduction runs in a
//! fixed order in one invocation (no float atomics), so there is no tolerance here.

mod gpu_support;

use gpu_mlp::backend::Backend;
use gpu_mlp::config::{Cost, OptimizerKind, Output};
use gpu_mlp::data::epoch_order;
use gpu_mlp::gpu::{GpuBackend, GpuOptions};
use gpu_mlp::model::Params;
use gpu_support::*;

fn train_twice(options: GpuOptions) -> (Params, Params) {
    let ctx = context().expect("checked by the caller");
    let data = random_splits(3, 300, 100, 10);
    let net = net(&[100, 30, 10], Output::Softmax, Cost::CrossEntropy);
    let h = hyper(OptimizerKind::Adam, 0.01, 1.0, 300, 7);
    let run = || {
        let mut gpu = GpuBackend::with_options(
            &ctx,
            &net,
            Params::init(&net, 5),
            OptimizerKind::Adam,
            &data,
            options,
        )
        .unwrap();
        for epoch in 0..2 {
            gpu.train_batches(&epoch_order(300, 9, epoch), &h).unwrap();
        }
        gpu.params().unwrap()
    };
    (run(), run())
}

#[test]
fn same_seed_same_weights() {
    if context().is_none() {
        return;
    }
    for tiled in [true, false] {
        let (a, b) = train_twice(GpuOptions {
            tiled: Some(tiled),
            ..GpuOptions::default()
        });
        assert!(
            a == b,
            "two runs from the same seed differ (tiled: {tiled})"
        );
    }
}

/// The data set split over several bindings (80 images a binding: 4 bindings for 300 images)
/// must train exactly as the one-binding upload: the gather reads the same bytes.
#[test]
fn split_bindings_train_identically() {
    if context().is_none() {
        return;
    }
    let one = train_twice(GpuOptions::default()).0;
    // 100-pixel images are 25 words (100 bytes); 80 images a binding → 4 bindings of 300.
    let split = train_twice(GpuOptions {
        max_binding_bytes: Some(80 * 100),
        ..GpuOptions::default()
    })
    .0;
    assert!(
        one == split,
        "splitting the images over bindings changed the result"
    );
}

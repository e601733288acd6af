//! Every kernel alone against f64 host arithmetic, on shapes that are not multiples of the
//! 16-wide tile (1, 7, 30, 100, 784, 1025 in every position), for every multiply variant in
//! every transpose form it is used in: the kernel families of the self-test (src/selftest/
//! kernels.rs and output.rs, where each bound is argued), run with its full plan. These are the
//! checks `gpu-mlp selftest` runs on a user's GPU; here they run on the test adapter.

mod gpu_support;

use gpu_mlp::selftest::{Plan, FAMILIES};
use gpu_support::*;

/// The gather through the shuffled order, over one binding and over four.
#[test]
fn gather_through_order_and_split_bindings() {
    family("gather");
}

/// z = A·Wᵀ + b and σ(z), through the tiled, blocked and vec4-blocked multiplies.
#[test]
fn forward_with_bias_and_sigmoid_epilogue() {
    family("forward");
}

/// δ = (δ_next·W) ⊙ a(1 − a), through the tiled and blocked multiplies.
#[test]
fn backprop_transposed_product_with_sigmoid_prime() {
    family("backprop");
}

/// Σ δᵀ·a_prev, Σ δ and each optimizer's update (update number 3, λ > 0).
#[test]
fn outer_product_and_updates() {
    family("update");
}

/// The three products split over several dispatches, as products beyond the per-dispatch
/// bound are in training.
#[test]
fn products_split_over_dispatches() {
    family("split_dispatches");
}

/// δᴸ for each output/cost pair.
#[test]
fn output_delta_for_every_output_and_cost() {
    family("output_delta");
}

/// Cost and prediction for each output/cost pair; the prediction may be either of two
/// outputs whose reference values are within the bound (a GPU's exp can order them either way).
#[test]
fn evaluate_for_every_output_and_cost() {
    family("evaluate");
}

/// A planted error (one result of forward_hidden_tiled perturbed before the comparison) fails
/// exactly the checks of that pipeline, and the failure names the element and both values.
#[test]
fn a_planted_error_fails_the_right_kernel() {
    let plan = Plan {
        quick: true,
        plant: Some("forward_hidden_tiled".into()),
    };
    let checks = family_with("forward", &plan);
    if checks.is_empty() {
        return;
    }
    for c in &checks {
        assert_eq!(c.passed, c.name != "forward_hidden_tiled", "{c:?}");
    }
    let failure = checks
        .iter()
        .find(|c| !c.passed)
        .and_then(|c| c.failure.clone())
        .expect("a failed check says why");
    assert!(
        failure.contains("1 of ") && failure.contains("gpu ") && failure.contains("cpu reference"),
        "{failure}"
    );
}

/// Every family of the self-test is run by a test of this suite (here, tests/cpu_vs_gpu.rs,
/// tests/gpu_determinism.rs, tests/numerics.rs, tests/fused.rs or tests/gpu_members.rs): a
/// family added to the self-test without a test here fails.
#[test]
fn every_family_has_a_test() {
    let sources = [
        include_str!("gpu_kernels.rs"),
        include_str!("cpu_vs_gpu.rs"),
        include_str!("gpu_determinism.rs"),
        include_str!("numerics.rs"),
        include_str!("fused.rs"),
        include_str!("gpu_members.rs"),
    ]
    .concat();
    for f in &FAMILIES {
        let call = format!("family(\"{}\")", f.name);
        assert!(sources.contains(&call), "no test calls {call}");
    }
}

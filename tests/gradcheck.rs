//! Backprop's gradients equal central finite differences, for every output/cost pair.

use gpu_mlp::data::{self, Source, SplitSizes};
use gpu_mlp::gradcheck::{check, max_relative_error};

/// The bound: `gradcheck`'s own threshold (its argument is at `gradcheck::THRESHOLD`).
const BOUND: f64 = gpu_mlp::gradcheck::THRESHOLD;

#[test]
fn backprop_matches_finite_differences_on_real_samples() {
    let sizes = SplitSizes {
        train: 4,
        validation: 0,
        test: Some(1),
    };
    let s = data::load(&Source::Mnist, sizes).unwrap();
    let inputs: Vec<Vec<f64>> = (0..4)
        .map(|i| s.train.image(i).iter().map(|&p| p as f64 / 255.0).collect())
        .collect();
    let rows = check(&inputs, &s.train.labels[..4], &[8, 6], 10, 7);
    assert_eq!(
        rows.len(),
        4 * 3,
        "four output/cost pairs, three layers each"
    );
    for r in &rows {
        assert!(r.weight < BOUND && r.bias < BOUND, "{r:?}");
    }
}

/// The measure is able to fail: a gradient off by 1% in one entry is reported as ~1e-2.
#[test]
fn a_wrong_gradient_is_detected() {
    let numeric = vec![0.5, -0.25, 1e-3, 0.0];
    let mut analytic = numeric.clone();
    assert!(max_relative_error(&analytic, &numeric) < 1e-12);
    analytic[1] *= 1.01;
    let e = max_relative_error(&analytic, &numeric);
    assert!((e - 0.0099).abs() < 1e-3, "{e}");
}

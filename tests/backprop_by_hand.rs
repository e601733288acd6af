//! A 2-2-1 network whose forward values and gradients are worked out by hand.
//!
//! Input x = (1, 0.5). W¹ = [[1, −2], [0.5, −1]], b¹ = (0, 0), so
//!   z¹ = (1·1 − 2·0.5, 0.5·1 − 1·0.5) = (0, 0),  a¹ = σ(0) = (0.5, 0.5),  σ'(z¹) = 0.25.
//! W² = [[2, −1]], b² = (−0.5), so
//!   z² = 2·0.5 − 1·0.5 − 0.5 = 0,  a² = 0.5,  σ'(z²) = 0.25.
//! One output unit, label 0, so y = 1.
//!
//! Quadratic cost: C = ½(0.5 − 1)² = 0.125.
//!   (BP1) δ² = (a² − y)·σ'(z²) = (−0.5)(0.25) = −0.125
//!   (BP2) δ¹ = (W²)ᵀδ² ⊙ σ'(z¹) = (2, −1)(−0.125) ⊙ 0.25 = (−0.0625, 0.03125)
//!   (BP3) ∂C/∂b² = −0.125;  ∂C/∂b¹ = (−0.0625, 0.03125)
//!   (BP4) ∂C/∂W² = δ²(a¹)ᵀ = (−0.0625, −0.0625)
//!         ∂C/∂W¹ = δ¹xᵀ = [[−0.0625, −0.03125], [0.03125, 0.015625]]
//! Cross-entropy cost: C = −ln 0.5 = 0.693147…, δ² = a² − y = −0.5, and every gradient above
//! is 4× larger (δ¹ = (−0.25, 0.125), ∂C/∂W² = (−0.25, −0.25), ...).
//! Every value is a short binary fraction, so f32 gets them exactly.

use gpu_mlp::config::{Cost, Output};
use gpu_mlp::cpu::activation::cost;
use gpu_mlp::cpu::backprop::{backward, forward, Gradients, LayerRef, Workspace};

const W1: [f32; 4] = [1.0, -2.0, 0.5, -1.0];
const B1: [f32; 2] = [0.0, 0.0];
const W2: [f32; 2] = [2.0, -1.0];
const B2: [f32; 1] = [-0.5];

fn layers() -> Vec<LayerRef<'static, f32>> {
    vec![
        LayerRef {
            inputs: 2,
            outputs: 2,
            weight: &W1,
            bias: &B1,
        },
        LayerRef {
            inputs: 2,
            outputs: 1,
            weight: &W2,
            bias: &B2,
        },
    ]
}

fn run(c: Cost, inputs: &[[f32; 2]]) -> (Workspace<f32>, Gradients<f32>) {
    let m = inputs.len();
    let mut ws = Workspace::<f32>::new(&[2, 2, 1], m);
    for (row, x) in ws.input_mut(m).chunks_exact_mut(2).zip(inputs) {
        row.copy_from_slice(x);
    }
    let mut g = Gradients::zeros(&[2, 2, 1]);
    forward(&layers(), Output::Sigmoid, &mut ws, m, 1);
    backward(
        &layers(),
        Output::Sigmoid,
        c,
        &vec![0u8; m],
        &mut ws,
        &mut g,
        1,
    );
    (ws, g)
}

#[test]
fn forward_values_match_the_hand_computation() {
    let (ws, _) = run(Cost::Quadratic, &[[1.0, 0.5]]);
    assert_eq!(ws.acts[1][..2], [0.5, 0.5]);
    assert_eq!(ws.output(1), [0.5]);
    assert_eq!(ws.z_out[0], 0.0);
    assert_eq!(
        cost(
            Output::Sigmoid,
            Cost::Quadratic,
            &ws.z_out[..1],
            ws.output(1),
            0
        ),
        0.125
    );
    let ce = cost(
        Output::Sigmoid,
        Cost::CrossEntropy,
        &ws.z_out[..1],
        ws.output(1),
        0,
    );
    assert!((ce - std::f32::consts::LN_2).abs() < 1e-7, "{ce}");
}

#[test]
fn quadratic_gradients_match_the_hand_computation() {
    let (ws, g) = run(Cost::Quadratic, &[[1.0, 0.5]]);
    assert_eq!(ws.deltas[1][..1], [-0.125]);
    assert_eq!(ws.deltas[0][..2], [-0.0625, 0.03125]);
    assert_eq!(g.bias[1], [-0.125]);
    assert_eq!(g.bias[0], [-0.0625, 0.03125]);
    assert_eq!(g.weight[1], [-0.0625, -0.0625]);
    assert_eq!(g.weight[0], [-0.0625, -0.03125, 0.03125, 0.015625]);
}

#[test]
fn cross_entropy_gradients_match_the_hand_computation() {
    let (_, g) = run(Cost::CrossEntropy, &[[1.0, 0.5]]);
    assert_eq!(g.bias[1], [-0.5]);
    assert_eq!(g.bias[0], [-0.25, 0.125]);
    assert_eq!(g.weight[1], [-0.25, -0.25]);
    assert_eq!(g.weight[0], [-0.25, -0.125, 0.125, 0.0625]);
}

/// A second sample x = (0, 0) gives z¹ = b¹ = 0 and z² = 0 again, so the same δ's; its
/// ∂C/∂W¹ = δ¹·0 = 0. The batch sums are therefore twice every bias and W² gradient and the
/// same ∂C/∂W¹: the mini-batch is summed, not averaged, before the update.
#[test]
fn gradients_are_summed_over_the_batch() {
    let (_, g) = run(Cost::Quadratic, &[[1.0, 0.5], [0.0, 0.0]]);
    assert_eq!(g.bias[1], [-0.25]);
    assert_eq!(g.bias[0], [-0.125, 0.0625]);
    assert_eq!(g.weight[1], [-0.125, -0.125]);
    assert_eq!(g.weight[0], [-0.0625, -0.03125, 0.03125, 0.015625]);
}

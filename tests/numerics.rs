//! Numerical safety: σ, softmax, the costs and the output error δᴸ stay finite and correct for
//! weighted inputs |z| up to 1e4 (where a naive e^{z} overflows f32 at z ≈ 88.7 and a naive
//! ln a reaches ln 0), held against the same functions evaluated in f64, on the CPU path and
//! in each GPU kernel that computes them (the hidden layers' σ epilogue, the output error and
//! the evaluation's cost), whose results must also match the CPU's. Also the whole backward
//! pass of a small network whose weighted inputs reach ±1e4.

mod gpu_support;

use gpu_mlp::config::{Cost, Output};
use gpu_mlp::cpu::activation::{cost, output_delta_in_place, sigmoid, softmax_in_place};
use gpu_mlp::cpu::backprop::{backward, forward, Gradients, LayerRef, Workspace};

/// Weighted inputs from harmless to far past f32's e^z overflow, both signs, and rows of z for
/// a 4-class output: one class far ahead, two tied at the top, all far negative, mixed signs
/// at the extremes, ordinary values. The self-test's (src/selftest/extremes.rs), which runs
/// the GPU kernels on them.
use gpu_mlp::selftest::{EXTREMES, EXTREME_ROWS};

fn extreme_rows() -> Vec<[f32; 4]> {
    EXTREME_ROWS.to_vec()
}

/// The f64 truth for one row and label: (a, cost) for each output and cost, written the plain
/// way, which is exact enough in f64 for these values once the max is subtracted.
fn truth(output: Output, c: Cost, z: &[f32], label: usize) -> (Vec<f64>, f64) {
    let z: Vec<f64> = z.iter().map(|&v| v as f64).collect();
    let a: Vec<f64> = match output {
        Output::Sigmoid => z
            .iter()
            .map(|&v| {
                if v >= 0.0 {
                    1.0 / (1.0 + (-v).exp())
                } else {
                    v.exp() / (1.0 + v.exp())
                }
            })
            .collect(),
        Output::Softmax => {
            let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = z.iter().map(|v| (v - max).exp()).sum();
            z.iter().map(|v| (v - max).exp() / sum).collect()
        }
    };
    let y = |j: usize| if j == label { 1.0 } else { 0.0 };
    let cost = match (c, output) {
        (Cost::Quadratic, _) => {
            0.5 * a
                .iter()
                .enumerate()
                .map(|(j, v)| (v - y(j)).powi(2))
                .sum::<f64>()
        }
        // −[y ln a + (1−y) ln(1−a)] with ln σ(z) = −softplus(−z), ln(1 − σ(z)) = −softplus(z).
        (Cost::CrossEntropy, Output::Sigmoid) => {
            let softplus = |x: f64| x.max(0.0) + (-x.abs()).exp().ln_1p();
            z.iter()
                .enumerate()
                .map(|(j, &v)| y(j) * softplus(-v) + (1.0 - y(j)) * softplus(v))
                .sum()
        }
        (Cost::CrossEntropy, Output::Softmax) => {
            let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = z.iter().map(|v| (v - max).exp()).sum();
            sum.ln() - (z[label] - max)
        }
    };
    (a, cost)
}

fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= 1e-5 * want.abs().max(1.0)
}

#[test]
fn sigmoid_is_finite_and_matches_f64_for_extreme_z() {
    for z in EXTREMES {
        let a = sigmoid(z);
        let (want, _) = truth(Output::Sigmoid, Cost::Quadratic, &[z], 0);
        assert!(a.is_finite() && (0.0..=1.0).contains(&a), "σ({z}) = {a}");
        assert!(
            close(a as f64, want[0]),
            "σ({z}) = {a}, f64 says {}",
            want[0]
        );
    }
}

/// Every output/cost pair on every extreme row and every label: the activations, the cost and
/// δᴸ are finite and match f64.
#[test]
fn outputs_costs_and_output_errors_are_finite_and_match_f64() {
    for output in [Output::Sigmoid, Output::Softmax] {
        for c in [Cost::Quadratic, Cost::CrossEntropy] {
            for z in extreme_rows() {
                for label in 0..4 {
                    let mut a = z;
                    match output {
                        Output::Sigmoid => a.iter_mut().for_each(|v| *v = sigmoid(*v)),
                        Output::Softmax => softmax_in_place(&mut a),
                    }
                    let got_cost = cost(output, c, &z, &a, label);
                    let (want_a, want_cost) = truth(output, c, &z, label);
                    let what = format!("{output:?}/{c:?} z={z:?} label={label}");
                    for (g, w) in a.iter().zip(&want_a) {
                        assert!(
                            g.is_finite() && close(*g as f64, *w),
                            "{what}: a={a:?}, f64 {want_a:?}"
                        );
                    }
                    assert!(got_cost.is_finite(), "{what}: cost {got_cost}");
                    assert!(
                        close(got_cost as f64, want_cost),
                        "{what}: cost {got_cost}, f64 {want_cost}"
                    );
                    let mut delta = a;
                    output_delta_in_place(output, c, &mut delta, label);
                    assert!(delta.iter().all(|d| d.is_finite()), "{what}: δ {delta:?}");
                }
            }
        }
    }
}

/// A 2-3-4 network whose weights drive every weighted input to ±1e4: forward and backward
/// give finite activations, cost and gradients for every output and cost.
#[test]
fn backprop_through_saturated_layers_stays_finite() {
    let w1: Vec<f32> = vec![5e3, 5e3, -5e3, -5e3, 5e3, -5e3];
    let b1 = vec![0.0f32; 3];
    let w2: Vec<f32> = (0..12)
        .map(|i| if i % 2 == 0 { 5e3 } else { -5e3 })
        .collect();
    let b2 = vec![1e4f32, -1e4, 0.0, 0.0];
    let layers = [
        LayerRef {
            inputs: 2,
            outputs: 3,
            weight: &w1,
            bias: &b1,
        },
        LayerRef {
            inputs: 3,
            outputs: 4,
            weight: &w2,
            bias: &b2,
        },
    ];
    for output in [Output::Sigmoid, Output::Softmax] {
        for c in [Cost::Quadratic, Cost::CrossEntropy] {
            let mut ws = Workspace::<f32>::new(&[2, 3, 4], 2);
            ws.input_mut(2).copy_from_slice(&[1.0, 1.0, 1.0, 0.0]);
            forward(&layers, output, &mut ws, 2, 1);
            assert!(
                ws.z_out[..8].iter().any(|z| z.abs() >= 1e4),
                "{:?}",
                &ws.z_out[..8]
            );
            for (r, label) in [0usize, 3].into_iter().enumerate() {
                let z = &ws.z_out[r * 4..r * 4 + 4];
                let a = &ws.output(2)[r * 4..r * 4 + 4];
                let cst = cost(output, c, z, a, label);
                assert!(cst.is_finite(), "{output:?}/{c:?}: cost {cst}");
            }
            let mut grads = Gradients::<f32>::zeros(&[2, 3, 4]);
            backward(&layers, output, c, &[0, 3], &mut ws, &mut grads, 1);
            let all = grads.weight.iter().chain(&grads.bias).flatten();
            assert!(
                all.clone().all(|g| g.is_finite()),
                "{output:?}/{c:?}: {:?}",
                all.collect::<Vec<_>>()
            );
        }
    }
}

/// The GPU kernels on the same values: the hidden layers' σ epilogue, then the output error
/// and the evaluation's cost on every extreme row and label, for every output and cost. Each
/// result is finite and matches the CPU's to f32 rounding: the self-test's `extremes` family
/// (src/selftest/extremes.rs), whose values are the ones above.
#[test]
fn gpu_kernels_are_finite_and_match_the_cpu_for_extreme_z() {
    gpu_support::family("extremes");
}

//! Every kernel alone against a few lines of host arithmetic in f64, on shapes that are not
//! multiples of the 16-wide tile (1, 7, 30, 100, 784, 1025 in every position), for both the
//! tiled and the register-blocked multiply.
//!
//! Tolerances: a length-K f32 dot product summed in any order is within K·2⁻²⁴·Σ|a_k b_k| of
//! the exact value (plus one rounding of the result); the tests allow twice that plus 1e-6
//! absolute for the GPU's exp/division (a few ulp). Anything wrong (a transposed index, a
//! missing bias, a skipped tile) is off by O(1).

mod gpu_support;

use gpu_mlp::config::{Cost, Optimizer, OptimizerKind, Output, StepHyper};
use gpu_mlp::data::Dataset;
use gpu_mlp::gpu::probe::Probe;
use gpu_mlp::gpu::GpuContext;
use gpu_mlp::model::Layer;
use gpu_support::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// (rows, inputs, outputs) of the multiply tests.
const SHAPES: [(usize, usize, usize); 6] = [
    (1, 1, 1),
    (7, 784, 30),
    (30, 7, 100),
    (100, 1025, 7),
    (13, 100, 1025),
    (1025, 30, 1),
];

fn randn(rng: &mut ChaCha8Rng, n: usize, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|_| (rng.random::<f32>() * 2.0 - 1.0) * scale)
        .collect()
}

fn layer(rng: &mut ChaCha8Rng, inputs: usize, outputs: usize) -> Layer {
    Layer {
        inputs,
        outputs,
        weight: randn(rng, inputs * outputs, 0.5),
        bias: randn(rng, outputs, 0.5),
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// |got − want| within the dot-product bound for length `k` and Σ|a b| = `abs`.
fn close(got: f32, want: f64, k: usize, abs: f64) -> bool {
    let tol = 2.0 * (k as f64 + 1.0) * 2f64.powi(-24) * abs + 1e-6 + 2e-7 * want.abs();
    (got as f64 - want).abs() <= tol
}

fn probes(ctx: &GpuContext, output: Output, cost: Cost, kind: OptimizerKind) -> Vec<Probe> {
    [true, false]
        .iter()
        .map(|&tiled| Probe::new(ctx, output, cost, kind, tiled).unwrap())
        .collect()
}

#[test]
fn forward_with_bias_and_sigmoid_epilogue() {
    let Some(ctx) = context() else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for probe in probes(&ctx, Output::Sigmoid, Cost::Quadratic, OptimizerKind::Sgd) {
        for &(rows, i, o) in &SHAPES {
            let a = randn(&mut rng, rows * i, 1.0);
            let l = layer(&mut rng, i, o);
            let hidden = probe.forward(&a, rows, &l, true).unwrap();
            let z = probe.forward(&a, rows, &l, false).unwrap();
            for r in 0..rows {
                for j in 0..o {
                    let (mut s, mut abs) = (l.bias[j] as f64, l.bias[j].abs() as f64);
                    for k in 0..i {
                        let p = a[r * i + k] as f64 * l.weight[j * i + k] as f64;
                        s += p;
                        abs += p.abs();
                    }
                    assert!(
                        close(z[r * o + j], s, i, abs),
                        "z[{r},{j}] of {rows}x{i}->{o}: {} vs {s}",
                        z[r * o + j]
                    );
                    // σ' ≤ 1/4: the z bound carries over.
                    assert!(
                        close(hidden[r * o + j], sigmoid(s), i, abs),
                        "σ(z)[{r},{j}] of {rows}x{i}->{o}"
                    );
                }
            }
        }
    }
}

#[test]
fn backprop_transposed_product_with_sigmoid_prime() {
    let Some(ctx) = context() else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for probe in probes(&ctx, Output::Sigmoid, Cost::Quadratic, OptimizerKind::Sgd) {
        for &(rows, i, o) in &SHAPES {
            let d = randn(&mut rng, rows * o, 1.0);
            let act: Vec<f32> = (0..rows * i).map(|_| rng.random::<f32>()).collect();
            let l = layer(&mut rng, i, o);
            let got = probe.backprop(&d, rows, &l, &act).unwrap();
            for r in 0..rows {
                for k in 0..i {
                    let (mut s, mut abs) = (0.0f64, 0.0f64);
                    for j in 0..o {
                        let p = d[r * o + j] as f64 * l.weight[j * i + k] as f64;
                        s += p;
                        abs += p.abs();
                    }
                    let a = act[r * i + k] as f64;
                    let want = s * a * (1.0 - a);
                    assert!(
                        close(got[r * i + k], want, o, abs),
                        "δ[{r},{k}] of {rows}x{o}->{i}"
                    );
                }
            }
        }
    }
}

/// The gradient Σ δᵀ·a_prev, Σ δ and each optimizer's update, as update number 3 (so Adam's
/// bias corrections are not trivial), with λ > 0.
#[test]
fn outer_product_and_updates() {
    let Some(ctx) = context() else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for kind in [
        OptimizerKind::Sgd,
        OptimizerKind::Momentum,
        OptimizerKind::Adam,
    ] {
        let h = StepHyper {
            eta: 0.3,
            lambda: 2.0,
            n_train: 1000,
            batch_size: 0,
            optimizer: Optimizer {
                kind,
                ..Optimizer::default()
            },
        };
        let o_ = h.optimizer;
        for probe in probes(&ctx, Output::Sigmoid, Cost::Quadratic, kind) {
            for &(rows, i, o) in &SHAPES {
                let d = randn(&mut rng, rows * o, 1.0);
                let prev: Vec<f32> = (0..rows * i).map(|_| rng.random::<f32>()).collect();
                let l = layer(&mut rng, i, o);
                let slots: Vec<Layer> = (0..kind.state_slots())
                    .map(|s| {
                        let mut x = layer(&mut rng, i, o);
                        if s == 1 {
                            // Adam's second moment is non-negative.
                            x.weight
                                .iter_mut()
                                .chain(x.bias.iter_mut())
                                .for_each(|v| *v = v.abs() * 0.1);
                        }
                        x
                    })
                    .collect();
                let t = 3;
                let (new, new_slots) = probe.update(&d, &prev, rows, &l, &slots, &h, t).unwrap();
                let m = rows as f64;
                let decay = h.lambda as f64 / h.n_train as f64;
                let check = |index: usize,
                             is_bias: bool,
                             sum: f64,
                             abs: f64,
                             w: f32,
                             got: f32,
                             got_slots: Vec<f32>,
                             old_slots: Vec<f32>| {
                    let g = sum / m + if is_bias { 0.0 } else { decay * w as f64 };
                    let eta = h.eta as f64;
                    let (want, want_slots): (f64, Vec<f64>) = match kind {
                        OptimizerKind::Sgd => (w as f64 - eta * g, vec![]),
                        OptimizerKind::Momentum => {
                            let v = o_.momentum as f64 * old_slots[0] as f64 - eta * g;
                            (w as f64 + v, vec![v])
                        }
                        OptimizerKind::Adam => {
                            let (b1, b2) = (o_.beta1 as f64, o_.beta2 as f64);
                            let m1 = b1 * old_slots[0] as f64 + (1.0 - b1) * g;
                            let m2 = b2 * old_slots[1] as f64 + (1.0 - b2) * g * g;
                            // Both backends take 1 − βᵗ in f32 (as the CPU reference does); in
                            // f64 it differs by up to ~2e-5 relative for β₂ = 0.999, t = 3
                            // (cancellation), so the reference uses the same f32 value.
                            let mh = m1 / (1.0 - o_.beta1.powi(t as i32)) as f64;
                            let vh = m2 / (1.0 - o_.beta2.powi(t as i32)) as f64;
                            (
                                w as f64 - eta * mh / (vh.sqrt() + o_.epsilon as f64),
                                vec![m1, m2],
                            )
                        }
                    };
                    // The gradient's error (dot-product bound over m, scaled by η/m) plus a
                    // few ulp of the update arithmetic; Adam divides by √v̂, which can amplify
                    // the gradient's relative error by up to ~1, hence the relative term.
                    let tol =
                        2.0 * (rows as f64 + 1.0) * 2f64.powi(-24) * abs / m * (1.0 + eta) * 10.0
                            + 2e-6 * (1.0 + want.abs());
                    assert!((got as f64 - want).abs() <= tol, "{kind:?} param {index} (bias: {is_bias}) of {rows}x{i}->{o}: {got} vs {want}");
                    for (s, (&gs, ws)) in got_slots.iter().zip(want_slots).enumerate() {
                        assert!(
                            (gs as f64 - ws).abs() <= tol + 2e-6 * ws.abs(),
                            "{kind:?} slot {s} at {index}: {gs} vs {ws}"
                        );
                    }
                };
                for j in 0..o {
                    for k in 0..i {
                        let (mut s, mut abs) = (0.0f64, 0.0f64);
                        for r in 0..rows {
                            let p = d[r * o + j] as f64 * prev[r * i + k] as f64;
                            s += p;
                            abs += p.abs();
                        }
                        let x = j * i + k;
                        check(
                            x,
                            false,
                            s,
                            abs,
                            l.weight[x],
                            new.weight[x],
                            new_slots.iter().map(|q| q.weight[x]).collect(),
                            slots.iter().map(|q| q.weight[x]).collect(),
                        );
                    }
                    let s: f64 = (0..rows).map(|r| d[r * o + j] as f64).sum();
                    let abs: f64 = (0..rows).map(|r| d[r * o + j].abs() as f64).sum();
                    check(
                        j,
                        true,
                        s,
                        abs,
                        l.bias[j],
                        new.bias[j],
                        new_slots.iter().map(|q| q.bias[j]).collect(),
                        slots.iter().map(|q| q.bias[j]).collect(),
                    );
                }
            }
        }
    }
}

/// Host δᴸ and cost of one row in f64.
fn host_output(output: Output, cost: Cost, z: &[f32], label: usize) -> (Vec<f64>, f64, usize) {
    let z: Vec<f64> = z.iter().map(|&v| v as f64).collect();
    let max = z.iter().cloned().fold(f64::MIN, f64::max);
    let sum: f64 = z.iter().map(|v| (v - max).exp()).sum();
    let a: Vec<f64> = match output {
        Output::Sigmoid => z.iter().map(|&v| sigmoid(v)).collect(),
        Output::Softmax => z.iter().map(|v| (v - max).exp() / sum).collect(),
    };
    let y = |j: usize| if j == label { 1.0 } else { 0.0 };
    let delta: Vec<f64> = match (output, cost) {
        (Output::Sigmoid, Cost::Quadratic) => (0..a.len())
            .map(|j| (a[j] - y(j)) * a[j] * (1.0 - a[j]))
            .collect(),
        (_, Cost::CrossEntropy) => (0..a.len()).map(|j| a[j] - y(j)).collect(),
        (Output::Softmax, Cost::Quadratic) => {
            let dot: f64 = (0..a.len()).map(|k| a[k] * (a[k] - y(k))).sum();
            (0..a.len()).map(|j| a[j] * ((a[j] - y(j)) - dot)).collect()
        }
    };
    let c = match (output, cost) {
        (_, Cost::Quadratic) => (0..a.len()).map(|j| 0.5 * (y(j) - a[j]).powi(2)).sum(),
        (Output::Sigmoid, Cost::CrossEntropy) => (0..a.len())
            .map(|j| z[j].max(0.0) + (-z[j].abs()).exp().ln_1p() - y(j) * z[j])
            .sum(),
        (Output::Softmax, Cost::CrossEntropy) => -(z[label] - max - sum.ln()),
    };
    let mut best = 0;
    for j in 1..a.len() {
        if a[j] > a[best] {
            best = j;
        }
    }
    (delta, c, best)
}

#[test]
fn output_delta_and_evaluate_for_every_output_and_cost() {
    let Some(ctx) = context() else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for output in [Output::Sigmoid, Output::Softmax] {
        for cost in [Cost::Quadratic, Cost::CrossEntropy] {
            let probe = Probe::new(&ctx, output, cost, OptimizerKind::Sgd, true).unwrap();
            for &(rows, classes) in &[(1usize, 1usize), (7, 10), (100, 7), (30, 30), (1025, 100)] {
                let mut z = randn(&mut rng, rows * classes, 4.0);
                // A row of equal outputs: the lowest index wins the tie.
                z[..classes].iter_mut().for_each(|v| *v = 0.25);
                let labels: Vec<u8> = (0..rows)
                    .map(|_| rng.random_range(0..classes) as u8)
                    .collect();
                let delta = probe.output_delta(&z, &labels, classes).unwrap();
                let (costs, predictions) = probe.evaluate(&z, &labels, classes).unwrap();
                for r in 0..rows {
                    let row = &z[r * classes..(r + 1) * classes];
                    let (want, c, best) = host_output(output, cost, row, labels[r] as usize);
                    for j in 0..classes {
                        // O(classes) exp and one division in f32: a few ulp per term.
                        let tol = 1e-6 + 1e-5 * want[j].abs();
                        assert!(
                            (delta[r * classes + j] as f64 - want[j]).abs() <= tol,
                            "{output:?}/{cost:?} δ[{r},{j}]: {} vs {}",
                            delta[r * classes + j],
                            want[j]
                        );
                    }
                    assert!(
                        (costs[r] as f64 - c).abs() <= 1e-5 * (1.0 + c.abs()) * classes as f64,
                        "{output:?}/{cost:?} cost[{r}]: {} vs {c}",
                        costs[r]
                    );
                    assert_eq!(
                        predictions[r] as usize, best,
                        "{output:?} prediction of row {r}"
                    );
                }
            }
        }
    }
}

/// The gather is exact: u8 · (1/255) in f32 is one rounding on both sides.
#[test]
fn gather_through_order_and_split_bindings() {
    let Some(ctx) = context() else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let probe = Probe::new(
        &ctx,
        Output::Sigmoid,
        Cost::Quadratic,
        OptimizerKind::Sgd,
        true,
    )
    .unwrap();
    for &(n, pixels) in &[(1usize, 1usize), (30, 7), (100, 30), (40, 784), (9, 1025)] {
        let set: Dataset = random_set(&mut rng, n, pixels, 10);
        let mut order: Vec<u32> = (0..n as u32).rev().collect();
        order.rotate_left(n / 3);
        let image_bytes = pixels.div_ceil(4) as u64 * 4;
        // One binding for all, and the smallest binding that keeps within four.
        for binding in [1 << 27, image_bytes * n.div_ceil(4) as u64] {
            let offset = n / 4;
            let rows = n - offset;
            let got = probe.gather(&set, &order, offset, rows, binding).unwrap();
            for r in 0..rows {
                let image = set.image(order[offset + r] as usize);
                for p in 0..pixels {
                    assert_eq!(
                        got[r * pixels + p],
                        image[p] as f32 * (1.0 / 255.0),
                        "{n}x{pixels} row {r} pixel {p}"
                    );
                }
            }
        }
    }
}

use super::*;
use crate::config::{Optimizer, StepHyper};
use crate::cpu::activation::sigmoid;
use crate::cpu::backprop::{backward, forward, Gradients, Workspace};
use crate::cpu::simd::sigmoid_error;
use crate::model::Layer;

/// u = 2⁻²⁴, the unit roundoff of f32: one correctly rounded operation on exact inputs
/// errs by at most u relative to its result.
const U: f64 = f32::EPSILON as f64 / 2.0;

/// Every instruction set this processor can run, the portable one included.
fn isas() -> Vec<Isa> {
    let mut v = vec![Isa::Portable];
    if matches!(Isa::detected(), Isa::Avx2Fma | Isa::Avx512) && cfg!(target_arch = "x86_64") {
        v.push(Isa::Avx2Fma);
    }
    if Isa::detected() == Isa::Avx512 && cfg!(target_arch = "x86_64") {
        v.push(Isa::Avx512);
    }
    v
}

fn values(len: usize, salt: f32, scale: f32) -> Vec<f32> {
    (0..len)
        .map(|i| ((i as f32 + salt) * 0.7310).sin() * scale)
        .collect()
}

/// Shapes (m, k, n) with every tail the tiles have: rows not a multiple of 4, outputs not
/// a multiple of 3 or 4, widths below one vector, between one and two, and above.
const SHAPES: [(usize, usize, usize); 7] = [
    (1, 1, 1),
    (10, 784, 30),
    (10, 30, 10),
    (7, 37, 19),
    (13, 100, 10),
    (64, 17, 5),
    (3, 5, 33),
];

/// z = Σ_p a·w + b against an f64 sum of the same f32 values, within the bound for an
/// f32 sum of k products plus the bias in any order, (k+1)·u·(Σ|a·w| + |b|) + u·|z| (the
/// γ bound to first order; the terms of order u² are far below the margin the + u·|z|
/// leaves). With σ, the hidden layer gets the scalar σ of that z to within `sigmoid_error`.
#[test]
fn forward_layer_is_within_the_dot_product_bound_of_f64() {
    for isa in isas() {
        for (m, k, n) in SHAPES {
            let a = values(m * k, 0.3, 1.0);
            let w = values(n * k, 1.7, 0.2);
            let b = values(n, 2.9, 1.0);
            let mut z = vec![f32::NAN; m * n];
            forward_layer(isa, m, &a, &w, &b, &mut z, false);
            let mut s = vec![f32::NAN; m * n];
            forward_layer(isa, m, &a, &w, &b, &mut s, true);
            for r in 0..m {
                for j in 0..n {
                    let terms = (0..k).map(|p| f64::from(a[r * k + p]) * f64::from(w[j * k + p]));
                    let exact = terms.clone().sum::<f64>() + f64::from(b[j]);
                    let size = terms.map(f64::abs).sum::<f64>() + f64::from(b[j]).abs();
                    let bound = (k as f64 + 1.0) * U * size + U * exact.abs();
                    let got = f64::from(z[r * n + j]);
                    assert!(
                        (got - exact).abs() <= bound,
                        "{isa:?} m={m} k={k} n={n}: z[{r}][{j}] = {got}, f64 {exact}, bound {bound}"
                    );
                    let want = sigmoid(z[r * n + j]);
                    assert!(
                        (s[r * n + j] - want).abs() <= sigmoid_error(want),
                        "{isa:?} σ at [{r}][{j}]: {} vs the scalar σ's {want}",
                        s[r * n + j]
                    );
                }
            }
        }
    }
}

/// The vector σ against the scalar one, within `sigmoid_error` (its argument is in
/// simd.rs), over the whole range and the edges of e^x's: where it overflows (z < −88.7),
/// where it leaves the normal floats (z > 87.3), and ±∞; NaN stays NaN.
#[test]
fn vector_sigmoid_is_within_its_bound_of_the_scalar_sigmoid() {
    let mut zs: Vec<f32> = (-24_000..=24_000).map(|i| i as f32 * 0.005).collect();
    zs.extend([
        0.0,
        -0.0,
        87.2,
        87.4,
        88.0,
        88.5,
        88.8,
        89.5,
        103.0,
        1e30,
        f32::MAX,
        f32::INFINITY,
    ]);
    let neg: Vec<f32> = zs.iter().map(|z| -z).collect();
    zs.extend(neg);
    for isa in isas() {
        let mut s = zs.clone();
        let m = s.len(); // not a multiple of 8 or 16: the σ pass has a partial tail
        let w = vec![1.0f32];
        let b = vec![0.0f32];
        // a 1-input, 1-output layer with w = 1, b = 0 gives z = a exactly
        let mut out = vec![0.0f32; m];
        forward_layer(isa, m, &s[..m], &w, &b, &mut out, true);
        s[..m].copy_from_slice(&out);
        for (&z, &got) in zs[..m].iter().zip(&s[..m]) {
            let want = sigmoid(z);
            assert!(
                (got - want).abs() <= sigmoid_error(want),
                "{isa:?} σ({z}) = {got}, the scalar σ {want}"
            );
        }
        let mut nan = vec![0.0f32; 1];
        forward_layer(isa, 1, &[f32::NAN], &w, &b, &mut nan, true);
        assert!(nan[0].is_nan(), "{isa:?} σ(NaN) = {}", nan[0]);
    }
}

/// δ = (Σ_j δ_up·W) ⊙ a(1 − a) against f64 from the same f32 values: the sum of n_up
/// products errs by at most n_up·u·Σ|δ_up·W| (first order), and the two products and the
/// 1 − a add u each relative to |S|·a·(1 − a): (n_up + 3)·u·Σ|δ_up·W|·a(1 − a), and + 1
/// for the second-order terms.
#[test]
fn delta_layer_is_within_the_dot_product_bound_of_f64() {
    for isa in isas() {
        for (m, n, n_up) in SHAPES {
            let d_up = values(m * n_up, 0.1, 0.5);
            let w_up = values(n_up * n, 4.2, 0.3);
            // activations in (0, 1), as σ makes them
            let a: Vec<f32> = values(m * n, 3.3, 1.0)
                .iter()
                .map(|v| 0.5 + 0.49 * v)
                .collect();
            let mut d = vec![f32::NAN; m * n];
            delta_layer(isa, m, &d_up, &w_up, &a, &mut d);
            for r in 0..m {
                for q in 0..n {
                    let terms = (0..n_up)
                        .map(|j| f64::from(d_up[r * n_up + j]) * f64::from(w_up[j * n + q]));
                    let av = f64::from(a[r * n + q]);
                    let exact = terms.clone().sum::<f64>() * av * (1.0 - av);
                    let size = terms.map(f64::abs).sum::<f64>() * av * (1.0 - av);
                    let bound = (n_up as f64 + 4.0) * U * size;
                    let got = f64::from(d[r * n + q]);
                    assert!(
                        (got - exact).abs() <= bound,
                        "{isa:?} m={m} n_up={n_up} n={n}: δ[{r}][{q}] = {got}, f64 {exact}, bound {bound}"
                    );
                }
            }
        }
    }
}

/// w ← w − η(Σ_r δ·a/m + (λ/n)·w) against f64 from the same f32 values of η, 1/m, λ/n:
/// the sum of m products errs by at most m·u·Σ|δ·a|; keep = 1 − ηλ/n (two roundings),
/// scale = −η/m, keep·w and the final FMA add u each of their results, so
/// |error| ≤ η/m·(m + 2)·u·Σ|δ·a| + 4u·|w| + u·|w'|.
#[test]
fn sgd_update_is_within_the_bound_of_f64() {
    let hyper = StepHyper {
        eta: 0.5,
        lambda: 5.0,
        n_train: 1000,
        batch_size: 10,
        optimizer: Optimizer::default(),
    };
    for isa in isas() {
        for (m, k, n) in SHAPES {
            let rule = UpdateRule::new(&hyper, m, 1);
            let delta = values(m * n, 0.9, 0.4);
            let a = values(m * k, 5.1, 1.0);
            let w0 = values(n * k, 6.6, 1.0);
            let mut w = w0.clone();
            sgd_update_layer(isa, m, &delta, &a, &mut w, &rule);
            let (eta, inv_m, decay) = (
                f64::from(rule.c.eta),
                f64::from(rule.c.inv_rows),
                f64::from(rule.c.decay),
            );
            for j in 0..n {
                for p in 0..k {
                    let terms =
                        (0..m).map(|r| f64::from(delta[r * n + j]) * f64::from(a[r * k + p]));
                    let wv = f64::from(w0[j * k + p]);
                    let g = terms.clone().sum::<f64>() * inv_m + decay * wv;
                    let exact = wv - eta * g;
                    let size = terms.map(f64::abs).sum::<f64>();
                    let bound = eta * inv_m * (m as f64 + 2.0) * U * size
                        + 4.0 * U * wv.abs()
                        + U * exact.abs();
                    let got = f64::from(w[j * k + p]);
                    assert!(
                        (got - exact).abs() <= bound,
                        "{isa:?} m={m} k={k} n={n}: w[{j}][{p}] = {got}, f64 {exact}, bound {bound}"
                    );
                }
            }
        }
    }
}

/// The whole fused step against the reference's (gemm forward and backward, then
/// UpdateRule::apply) for every output and cost, on a network with every tile tail:
/// the two differ only in the order of the forward sums (each within (k+1)·u of exact,
/// above), which one step of η = 0.5 on O(1) values carries into the weights at ~1e-6;
/// 1e-5 relative to 1 + |w| leaves margin and is far below a wrong term (≥ 1e-3).
#[test]
fn a_fused_step_tracks_the_reference_step() {
    let sizes = [37, 19, 5];
    let (pixels, count) = (37, 70);
    let set = Dataset {
        rows: 1,
        cols: pixels,
        images: (0..pixels * count)
            .map(|i| ((i * 37) % 256) as u8)
            .collect(),
        labels: (0..count).map(|i| (i % 5) as u8).collect(),
    };
    let hyper = StepHyper {
        eta: 0.5,
        lambda: 5.0,
        n_train: count,
        batch_size: 13,
        optimizer: Optimizer::default(),
    };
    let start = Params {
        layers: sizes
            .windows(2)
            .enumerate()
            .map(|(l, s)| Layer {
                inputs: s[0],
                outputs: s[1],
                weight: values(s[0] * s[1], l as f32, 0.4),
                bias: values(s[1], 10.0 + l as f32, 0.5),
            })
            .collect(),
    };
    for isa in isas() {
        for (output, cost) in [
            (Output::Sigmoid, Cost::Quadratic),
            (Output::Sigmoid, Cost::CrossEntropy),
            (Output::Softmax, Cost::CrossEntropy),
            (Output::Softmax, Cost::Quadratic),
        ] {
            for m in [1, 13, MAX_ROWS] {
                let batch: Vec<u32> = (0..m as u32).map(|i| (i * 7) % count as u32).collect();
                let rule = UpdateRule::new(&hyper, m, 1);
                let mut fused = start.clone();
                SmallBatch::with_isa(&sizes, isa)
                    .sgd_step(&mut fused, output, cost, &set, &batch, &rule);

                let mut reference = start.clone();
                let mut ws = Workspace::new(&sizes, MAX_ROWS);
                let scale = 1.0f32 / 255.0;
                for (row, &i) in ws.input_mut(m).chunks_exact_mut(pixels).zip(&batch) {
                    for (v, &px) in row.iter_mut().zip(set.image(i as usize)) {
                        *v = f32::from(px) * scale;
                    }
                }
                let labels: Vec<u8> = batch.iter().map(|&i| set.labels[i as usize]).collect();
                let mut grads = Gradients::zeros(&sizes);
                {
                    let layers = crate::cpu::layer_refs(&reference);
                    forward(&layers, output, &mut ws, m, 1);
                    backward(&layers, output, cost, &labels, &mut ws, &mut grads, 1);
                }
                for (l, layer) in reference.layers.iter_mut().enumerate() {
                    rule.apply(&mut layer.weight, &grads.weight[l], &mut []);
                    rule.without_decay()
                        .apply(&mut layer.bias, &grads.bias[l], &mut []);
                }
                for (l, (f, r)) in fused.layers.iter().zip(&reference.layers).enumerate() {
                    for (what, x, y) in [("W", &f.weight, &r.weight), ("b", &f.bias, &r.bias)] {
                        for (i, (&x, &y)) in x.iter().zip(y).enumerate() {
                            assert!(
                                (x - y).abs() <= 1e-5 * (1.0 + y.abs()),
                                "{isa:?} {output:?}/{cost:?} m={m} layer {l} {what}[{i}]: fused {x}, reference {y}"
                            );
                        }
                    }
                }
            }
        }
    }
}

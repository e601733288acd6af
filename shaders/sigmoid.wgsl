// The logistic function and its derivative:
//   σ(z) = 1 / (1 + e^{−z}),   σ'(z) = σ(z)(1 − σ(z)) = a(1 − a).
// σ is computed from e^{−|z|}, which lies in (0, 1] for every z, so no exp overflows, whatever
// the driver makes of an overflow (WGSL leaves it indeterminate): for z ≥ 0 σ = 1/(1 + e^{−z}),
// for z < 0 σ = e^{z}/(1 + e^{z}). Finite for every finite z (tests/numerics.rs, |z| ≤ 1e4).
// A library fragment: the forward and backward epilogues, the output error and the evaluation
// include it.

fn sigmoid(z: f32) -> f32 {
    let e = exp(-abs(z));
    return select(e / (1.0 + e), 1.0 / (1.0 + e), z >= 0.0);
}

fn sigmoid_prime_from_activation(a: f32) -> f32 {
    return a * (1.0 - a);
}

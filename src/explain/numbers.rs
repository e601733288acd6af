//! The few numbers `explain` prints that the backprop core does not hand out: the cost for
//! any target y, the two factors of BP1 and BP2, and matrix views.

use crate::config::{Cost, NetworkConfig, Output};
use crate::model::Layer;

pub use crate::cpu::layer_refs;

/// C(a, y) of one sample for any target y (the library's `cpu::activation::cost` takes a class
/// label), in the same stable forms:
/// - quadratic: ½‖y − a‖²;
/// - cross-entropy, sigmoid: Σ_j [max(z_j, 0) − z_j y_j + ln(1 + e^{−|z_j|})], which is
///   −Σ_j [y_j ln a_j + (1−y_j) ln(1−a_j)];
/// - cross-entropy, softmax: Σ_j y_j (ln Σ_k e^{z_k} − z_j), which is −Σ_j y_j ln a_j.
pub fn cost_for_target(net: &NetworkConfig, z: &[f64], a: &[f64], y: &[f64]) -> f64 {
    match (net.cost, net.output) {
        (Cost::Quadratic, _) => 0.5 * a.iter().zip(y).map(|(a, y)| (a - y) * (a - y)).sum::<f64>(),
        (Cost::CrossEntropy, Output::Sigmoid) => z
            .iter()
            .zip(y)
            .map(|(&z, &y)| z.max(0.0) - z * y + (-z.abs()).exp().ln_1p())
            .sum(),
        (Cost::CrossEntropy, Output::Softmax) => {
            let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let lse = max + z.iter().map(|&v| (v - max).exp()).sum::<f64>().ln();
            z.iter().zip(y).map(|(&z, &y)| y * (lse - z)).sum()
        }
    }
}

/// BP1's factors at the output: ∇ₐC and σ'(zᴸ) = aᴸ(1 − aᴸ) (for a softmax output the
/// diagonal of its Jacobian ∂a_j/∂z_k = a_j(δ_jk − a_k)).
/// - quadratic: ∇ₐC = a − y;
/// - cross-entropy, sigmoid: ∇ₐC = −y/a + (1 − y)/(1 − a) = (a − y)/(a(1 − a));
/// - cross-entropy, softmax (−Σ y ln a): ∇ₐC = −y/a.
pub fn output_factors(net: &NetworkConfig, a: &[f64], y: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let grad: Vec<f64> = a
        .iter()
        .zip(y)
        .map(|(&a, &y)| match (net.cost, net.output) {
            (Cost::Quadratic, _) => a - y,
            (Cost::CrossEntropy, Output::Sigmoid) => -y / a + (1.0 - y) / (1.0 - a),
            (Cost::CrossEntropy, Output::Softmax) => -y / a,
        })
        .collect();
    let sigma_prime = a.iter().map(|&a| a * (1.0 - a)).collect();
    (grad, sigma_prime)
}

/// BP2's first factor (Wˡ⁺¹)ᵀδˡ⁺¹ for the layer above (`up`, W shaped [outputs][inputs]).
pub fn transposed_product(up: &Layer, delta_up: &[f64]) -> Vec<f64> {
    (0..up.inputs)
        .map(|k| {
            (0..up.outputs)
                .map(|j| up.weight[j * up.inputs + k] as f64 * delta_up[j])
                .sum()
        })
        .collect()
}

/// A row-major vector as the rows of a matrix of `cols` columns.
pub fn matrix<T: Clone>(v: &[T], cols: usize) -> Vec<Vec<T>> {
    v.chunks(cols.max(1)).map(<[T]>::to_vec).collect()
}

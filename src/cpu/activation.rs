//! The neuron's nonlinearities, the costs and the output error δᴸ, for one sample's row.

use super::Real;
use crate::config::{Cost, Output};

/// σ(z) = 1/(1 + e^{−z}); finite for every finite z (e^{−z} overflows to ∞ and gives 0).
#[inline]
pub fn sigmoid<T: Real>(z: T) -> T {
    T::one() / (T::one() + (-z).exp())
}

/// Softmax in place: a_j = e^{z_j − max z} / Σ_k e^{z_k − max z} (max-subtracted, so no
/// overflow).
pub fn softmax_in_place<T: Real>(row: &mut [T]) {
    let max = row.iter().copied().fold(T::neg_infinity(), T::max);
    let mut sum = T::zero();
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        sum = sum + *v;
    }
    let inv = T::one() / sum;
    row.iter_mut().for_each(|v| *v = *v * inv);
}

/// Applies the output activation to a row of z.
pub fn activate_output<T: Real>(output: Output, row: &mut [T]) {
    match output {
        Output::Sigmoid => row.iter_mut().for_each(|v| *v = sigmoid(*v)),
        Output::Softmax => softmax_in_place(row),
    }
}

/// C(a, y) for one sample, y the one-hot vector of `label`, computed from z where that is the
/// stable way:
/// - quadratic: ½‖y − a‖²;
/// - cross-entropy, sigmoid: Σ_j [max(z_j,0) − z_j y_j + ln(1 + e^{−|z_j|})], which equals
///   −Σ_j [y_j ln a_j + (1−y_j) ln(1−a_j)] without taking ln of 0;
/// - cross-entropy, softmax (log-likelihood): −ln a_y = ln Σ_k e^{z_k − max} − (z_y − max).
pub fn cost<T: Real>(output: Output, cost: Cost, z: &[T], a: &[T], label: usize) -> T {
    let y = |j: usize| if j == label { T::one() } else { T::zero() };
    match (cost, output) {
        (Cost::Quadratic, _) => {
            let half = T::from(0.5).unwrap_or_else(T::zero);
            a.iter()
                .enumerate()
                .map(|(j, &aj)| (aj - y(j)) * (aj - y(j)))
                .fold(T::zero(), |s, v| s + v)
                * half
        }
        (Cost::CrossEntropy, Output::Sigmoid) => z
            .iter()
            .enumerate()
            .map(|(j, &zj)| zj.max(T::zero()) - zj * y(j) + (-zj.abs()).exp().ln_1p())
            .fold(T::zero(), |s, v| s + v),
        (Cost::CrossEntropy, Output::Softmax) => {
            let max = z.iter().copied().fold(T::neg_infinity(), T::max);
            let sum = z.iter().fold(T::zero(), |s, &v| s + (v - max).exp());
            sum.ln() - (z[label] - max)
        }
    }
}

/// Equation 1, δᴸ = ∇ₐC ⊙ σ'(zᴸ), for one sample, in place over the output activations `a`:
/// - quadratic, sigmoid: (a − y) ⊙ a(1 − a);
/// - cross-entropy, sigmoid: a − y (σ' cancels against ∇ₐC);
/// - cross-entropy, softmax: a − y;
/// - quadratic, softmax: δ_j = a_j((a−y)_j − Σ_k a_k (a−y)_k), the softmax Jacobian applied
///   to ∇ₐC = a − y.
pub fn output_delta_in_place<T: Real>(output: Output, cost: Cost, a: &mut [T], label: usize) {
    let y = |j: usize| if j == label { T::one() } else { T::zero() };
    match (cost, output) {
        (Cost::Quadratic, Output::Sigmoid) => a
            .iter_mut()
            .enumerate()
            .for_each(|(j, v)| *v = (*v - y(j)) * *v * (T::one() - *v)),
        (Cost::CrossEntropy, _) => a.iter_mut().enumerate().for_each(|(j, v)| *v = *v - y(j)),
        (Cost::Quadratic, Output::Softmax) => {
            let dot = a
                .iter()
                .enumerate()
                .fold(T::zero(), |s, (j, &v)| s + v * (v - y(j)));
            a.iter_mut()
                .enumerate()
                .for_each(|(j, v)| *v = *v * ((*v - y(j)) - dot));
        }
    }
}

/// Index of the largest value; the lowest index wins a tie (as the GPU kernel does).
pub fn argmax<T: Real>(row: &[T]) -> usize {
    let mut best = 0;
    for (j, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = j;
        }
    }
    best
}

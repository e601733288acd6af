//! Backpropagation over a whole mini-batch at once, as matrices (batch-major: the activations
//! of m samples form an m × n row-major matrix, so Z = A·Wᵀ + b).
//!
//! Forward:  zˡ = Wˡ aˡ⁻¹ + bˡ,  aˡ = σ(zˡ)   (the output layer uses sigmoid or softmax)
//! Backward, the four equations in the textbook's order:
//!   (BP1) δᴸ = ∇ₐC ⊙ σ'(zᴸ)
//!   (BP2) δˡ = ((Wˡ⁺¹)ᵀ δˡ⁺¹) ⊙ σ'(zˡ),  σ'(z) = σ(z)(1 − σ(z)) = a(1 − a)
//!   (BP3) ∂C/∂bˡ = δˡ                  summed over the mini-batch
//!   (BP4) ∂C/∂Wˡ = δˡ (aˡ⁻¹)ᵀ            summed over the mini-batch: an outer-product sum

use super::activation::{activate_output, output_delta_in_place, sigmoid};
use super::matmul::{gemm, MatRef};
use super::Real;
use crate::config::{Cost, Output};

/// One layer's parameters, borrowed: W is `outputs × inputs`, row-major.
#[derive(Clone, Copy)]
pub struct LayerRef<'a, T> {
    pub inputs: usize,
    pub outputs: usize,
    pub weight: &'a [T],
    pub bias: &'a [T],
}

/// The activations and errors of one mini-batch, allocated once for the largest batch.
pub struct Workspace<T> {
    capacity: usize,
    /// acts[0] is the input batch; acts[l] holds aˡ (m × width of layer l).
    pub acts: Vec<Vec<T>>,
    /// deltas[l] holds δ of weight layer l (m × its outputs).
    pub deltas: Vec<Vec<T>>,
    /// zᴸ of the output layer, kept for computing the cost stably.
    pub z_out: Vec<T>,
}

impl<T: Real> Workspace<T> {
    pub fn new(sizes: &[usize], capacity: usize) -> Self {
        Workspace {
            capacity,
            acts: sizes
                .iter()
                .map(|&n| vec![T::zero(); n * capacity])
                .collect(),
            deltas: sizes[1..]
                .iter()
                .map(|&n| vec![T::zero(); n * capacity])
                .collect(),
            z_out: vec![T::zero(); sizes.last().copied().unwrap_or(0) * capacity],
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The input rows of the batch, to be filled by the caller (m × inputs).
    pub fn input_mut(&mut self, m: usize) -> &mut [T] {
        let n = self.acts[0].len() / self.capacity;
        &mut self.acts[0][..m * n]
    }

    /// The output activations aᴸ of the first m samples.
    pub fn output(&self, m: usize) -> &[T] {
        let last = &self.acts[self.acts.len() - 1];
        &last[..m * (last.len() / self.capacity)]
    }
}

/// Gradients summed over a mini-batch, one (∂C/∂W, ∂C/∂b) pair per layer.
pub struct Gradients<T> {
    pub weight: Vec<Vec<T>>,
    pub bias: Vec<Vec<T>>,
}

impl<T: Real> Gradients<T> {
    pub fn zeros(sizes: &[usize]) -> Self {
        Gradients {
            weight: sizes
                .windows(2)
                .map(|w| vec![T::zero(); w[0] * w[1]])
                .collect(),
            bias: sizes[1..].iter().map(|&n| vec![T::zero(); n]).collect(),
        }
    }
}

/// Forward pass of the first `m` input rows in `ws.acts[0]`: fills every aˡ and `ws.z_out`.
pub fn forward<T: Real>(
    layers: &[LayerRef<T>],
    output: Output,
    ws: &mut Workspace<T>,
    m: usize,
    threads: usize,
) {
    assert!(m <= ws.capacity, "batch larger than the workspace");
    let last = layers.len() - 1;
    for (l, layer) in layers.iter().enumerate() {
        let (before, after) = ws.acts.split_at_mut(l + 1);
        let a_prev = MatRef::row_major(&before[l][..m * layer.inputs], m, layer.inputs);
        let z = &mut after[0][..m * layer.outputs];
        // z = a·Wᵀ + b: start from b in every row, then add the product.
        for row in z.chunks_exact_mut(layer.outputs) {
            row.copy_from_slice(layer.bias);
        }
        let w_t = MatRef::row_major(layer.weight, layer.outputs, layer.inputs).t();
        gemm(z, Some(T::one()), a_prev, w_t, T::one(), threads);
        if l == last {
            ws.z_out[..z.len()].copy_from_slice(z);
            for row in z.chunks_exact_mut(layer.outputs) {
                activate_output(output, row);
            }
        } else {
            z.iter_mut().for_each(|v| *v = sigmoid(*v));
        }
    }
}

/// Backward pass after [`forward`] on the same `m` samples with labels `labels`: writes the
/// gradients of C summed over the batch into `grads`.
pub fn backward<T: Real>(
    layers: &[LayerRef<T>],
    output: Output,
    cost: Cost,
    labels: &[u8],
    ws: &mut Workspace<T>,
    grads: &mut Gradients<T>,
    threads: usize,
) {
    let m = labels.len();
    let last = layers.len() - 1;

    // (BP1) δᴸ = ∇ₐC ⊙ σ'(zᴸ), row by row from aᴸ and the label.
    let n_out = layers[last].outputs;
    let delta_out = &mut ws.deltas[last][..m * n_out];
    delta_out.copy_from_slice(&ws.acts[last + 1][..m * n_out]);
    for (row, &label) in delta_out.chunks_exact_mut(n_out).zip(labels) {
        output_delta_in_place(output, cost, row, label as usize);
    }

    // (BP2) δˡ = (δˡ⁺¹ Wˡ⁺¹) ⊙ aˡ(1 − aˡ), from the top hidden layer down (batch-major form of
    // (Wˡ⁺¹)ᵀδˡ⁺¹). The input layer needs no δ.
    for l in (0..last).rev() {
        let upper = &layers[l + 1];
        let (lower_d, upper_d) = ws.deltas.split_at_mut(l + 1);
        let delta_up = MatRef::row_major(&upper_d[0][..m * upper.outputs], m, upper.outputs);
        let w_up = MatRef::row_major(upper.weight, upper.outputs, upper.inputs);
        let delta = &mut lower_d[l][..m * upper.inputs];
        gemm(delta, None, delta_up, w_up, T::one(), threads);
        let a = &ws.acts[l + 1][..m * upper.inputs];
        delta
            .iter_mut()
            .zip(a)
            .for_each(|(d, &a)| *d = *d * a * (T::one() - a));
    }

    for (l, layer) in layers.iter().enumerate() {
        let delta = &ws.deltas[l][..m * layer.outputs];
        // (BP3) ∂C/∂bˡ = Σ_samples δˡ.
        let gb = &mut grads.bias[l];
        gb.iter_mut().for_each(|v| *v = T::zero());
        for row in delta.chunks_exact(layer.outputs) {
            gb.iter_mut().zip(row).for_each(|(g, &d)| *g = *g + d);
        }
        // (BP4) ∂C/∂Wˡ = Σ_samples δˡ (aˡ⁻¹)ᵀ = δᵀ·A_prev, an (outputs × inputs) product.
        let delta_t = MatRef::row_major(delta, m, layer.outputs).t();
        let a_prev = MatRef::row_major(&ws.acts[l][..m * layer.inputs], m, layer.inputs);
        gemm(
            &mut grads.weight[l],
            None,
            delta_t,
            a_prev,
            T::one(),
            threads,
        );
    }
}

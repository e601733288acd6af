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
    /// Scratch for one layer's zᵀ (outputs × m), see [`forward`].
    z_t: Vec<T>,
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
            z_t: vec![
                T::zero();
                sizes[1..].iter().copied().max().unwrap_or(0) * capacity.min(SMALL_BATCH)
            ],
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

/// A layer with at least [`LARGE_WEIGHTS`] weights computes a batch of up to this many rows
/// as zᵀ = W·aᵀ (see [`forward`]).
const SMALL_BATCH: usize = 64;

/// See [`SMALL_BATCH`]. network2's first layer (78,400 weights) is above it; the nielsen
/// preset's layers (23,520 and 300) stay on z = a·Wᵀ, which keeps their arithmetic, and so the
/// accuracies recorded for them, exactly as they were. (They would gain about 6%: see
/// BENCHMARKS.md.)
const LARGE_WEIGHTS: usize = 1 << 15;

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
        let w = MatRef::row_major(layer.weight, layer.outputs, layer.inputs);
        if m <= SMALL_BATCH && layer.weight.len() >= LARGE_WEIGHTS {
            // zᵀ = W·aᵀ, then z = (zᵀ)ᵀ + b. Computed in this orientation, gemm reads W where
            // it lies; for z = a·Wᵀ it copies all of W into its packed layout on every
            // mini-batch (network2's epoch: about 8% faster this way, see BENCHMARKS.md).
            let z_t = &mut ws.z_t[..m * layer.outputs];
            gemm(z_t, None, w, a_prev.t(), T::one(), threads);
            for (r, row) in z.chunks_exact_mut(layer.outputs).enumerate() {
                for (j, (v, &b)) in row.iter_mut().zip(layer.bias).enumerate() {
                    *v = z_t[j * m + r] + b;
                }
            }
        } else {
            // z = a·Wᵀ + b: start from b in every row, then add the product.
            for row in z.chunks_exact_mut(layer.outputs) {
                row.copy_from_slice(layer.bias);
            }
            gemm(z, Some(T::one()), a_prev, w.t(), T::one(), threads);
        }
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
    deltas(layers, output, cost, labels, ws, threads);
    gradients(layers, ws, grads, labels.len(), threads);
}

/// (BP1) and (BP2) after [`forward`] on the same samples: fills every δˡ in `ws.deltas`.
pub fn deltas<T: Real>(
    layers: &[LayerRef<T>],
    output: Output,
    cost: Cost,
    labels: &[u8],
    ws: &mut Workspace<T>,
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
}

/// (BP3) and (BP4) from the δˡ that [`deltas`] left in `ws` for `m` samples.
fn gradients<T: Real>(
    layers: &[LayerRef<T>],
    ws: &Workspace<T>,
    grads: &mut Gradients<T>,
    m: usize,
    threads: usize,
) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Both orientations of the forward product (zᵀ = W·aᵀ for a large layer and a small batch,
    /// z = a·Wᵀ otherwise) compute z = W·a + b: each z is held against an f64 sum to within
    /// the standard bound for an f32 dot product of length k, (k+1)·u·(Σ|wᵢaᵢ| + |b|) + u·|z|
    /// (u = 2⁻²⁴), which no correct summation order can exceed.
    #[test]
    fn forward_products_agree_with_f64_in_both_orientations() {
        let (k, n) = (784, 100);
        assert!(k * n >= LARGE_WEIGHTS);
        let weight: Vec<f32> = (0..n * k)
            .map(|i| ((i as f32) * 0.7).sin() * 0.05)
            .collect();
        let bias: Vec<f32> = (0..n).map(|j| ((j as f32) * 1.3).cos()).collect();
        let layer = [LayerRef {
            inputs: k,
            outputs: n,
            weight: &weight,
            bias: &bias,
        }];
        // A workspace larger than the batch, as in training (its last batch) and evaluation.
        let mut ws = Workspace::new(&[k, n], 100);
        for m in [1, 10, SMALL_BATCH, SMALL_BATCH + 1, 100] {
            let input: Vec<f32> = (0..m * k).map(|i| ((i % 256) as f32) / 255.0).collect();
            ws.input_mut(m).copy_from_slice(&input);
            forward(&layer, Output::Sigmoid, &mut ws, m, 1);
            let u = f64::from(f32::EPSILON) / 2.0;
            for r in 0..m {
                for j in 0..n {
                    let terms =
                        (0..k).map(|p| f64::from(weight[j * k + p]) * f64::from(input[r * k + p]));
                    let exact: f64 = terms.clone().sum::<f64>() + f64::from(bias[j]);
                    let magnitude: f64 =
                        terms.map(f64::abs).sum::<f64>() + f64::from(bias[j]).abs();
                    let bound = (k as f64 + 1.0) * u * magnitude + u * exact.abs();
                    let got = f64::from(ws.z_out[r * n + j]);
                    assert!(
                        (got - exact).abs() <= bound,
                        "m={m} z[{r}][{j}] = {got}, f64 {exact}, bound {bound}"
                    );
                }
            }
        }
    }
}

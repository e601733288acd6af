// Epilogue of the output layer's forward product: the weighted input z = W·a + b, batch-major
// Z[i,j] = Σ_k A[i,k]·W[j,k] + b_j, kept as z so the output error and the evaluation can apply
// σ or the max-subtracted softmax (and compute the cost stably from z). b_j sits at out·in + j.

@group(1) @binding(3) var<storage, read_write> weighted_out: array<f32>;

fn epilogue(row: u32, col: u32, acc: f32) {
    weighted_out[c_first() + row * dims.n + col] = acc + mat_b_at(dims.n * dims.k + col);
}

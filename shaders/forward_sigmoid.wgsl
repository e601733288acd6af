// Epilogue of a hidden layer's forward product: z = W·a + b and a = σ(z) in the same pass,
// batch-major: A_out[i,j] = σ(Σ_k A_in[i,k]·W[j,k] + b_j). The layer's parameter buffer holds
// W [out,in] row-major followed by b [out], so b_j sits at out·in + j of mat_b.

@group(1) @binding(3) var<storage, read_write> activation_out: array<f32>;

fn epilogue(row: u32, col: u32, acc: f32) {
    let z = acc + mat_b_at(dims.n * dims.k + col);
    activation_out[c_first() + row * dims.n + col] = sigmoid(z);
}

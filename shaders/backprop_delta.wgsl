// Epilogue of the backward product: the error of a hidden layer,
//   δˡ = (δˡ⁺¹·Wˡ⁺¹) ⊙ σ'(zˡ) = (δˡ⁺¹·Wˡ⁺¹) ⊙ aˡ(1 − aˡ),
// batch-major δ[i,k] = (Σ_j δ_next[i,j]·W[j,k]) · a[i,k](1 − a[i,k]).

@group(1) @binding(3) var<storage, read> activation: array<f32>;
@group(1) @binding(4) var<storage, read_write> delta_out: array<f32>;

fn epilogue(row: u32, col: u32, acc: f32) {
    let index = c_first() + row * dims.n + col;
    delta_out[index] = acc * sigmoid_prime_from_activation(activation[index]);
}

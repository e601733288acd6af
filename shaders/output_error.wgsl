// BP1, the output error δᴸ = ∂C/∂z of one sample for each output/cost pair:
//   quadratic + sigmoid:      δ_j = (a_j − y_j)·a_j(1 − a_j)
//   cross-entropy + sigmoid:  δ_j = a_j − y_j
//   cross-entropy + softmax:  δ_j = a_j − y_j
//   quadratic + softmax:      δ_j = a_j·((a − y)_j − Σ_k a_k(a − y)_k)
// y is the one-hot vector of `label`. A library fragment after output_activation.wgsl: the
// including kernel defines `z_at(i)` (where z lives) and `set_delta(i, δ)` (where δ goes),
// both over elements base .. base+n.

// δ_j of a sigmoid output a_j = σ(z_j) with target y_j: it needs no other output of the row,
// so the output layer's forward product computes it in its epilogue while training
// (forward_output_delta.wgsl); output_error_row computes it with the same operations.
fn sigmoid_output_delta(a: f32, y: f32) -> f32 {
    if (COST_CROSS_ENTROPY) {
        return a - y;
    }
    return (a - y) * sigmoid_prime_from_activation(a);
}

fn output_error_row(base: u32, n: u32, label: u32) {
    let stats = row_stats(base, n);
    if (!OUTPUT_SOFTMAX) {
        for (var j = 0u; j < n; j = j + 1u) {
            let a = output_at(z_at(base + j), stats);
            set_delta(base + j, sigmoid_output_delta(a, one_hot(j, label)));
        }
    } else if (COST_CROSS_ENTROPY) {
        for (var j = 0u; j < n; j = j + 1u) {
            set_delta(base + j, output_at(z_at(base + j), stats) - one_hot(j, label));
        }
    } else {
        var dot = 0.0;
        for (var j = 0u; j < n; j = j + 1u) {
            let a = output_at(z_at(base + j), stats);
            dot = dot + a * (a - one_hot(j, label));
        }
        for (var j = 0u; j < n; j = j + 1u) {
            let a = output_at(z_at(base + j), stats);
            set_delta(base + j, a * ((a - one_hot(j, label)) - dot));
        }
    }
}

// BP1, the output error δᴸ = ∂C/∂z of one sample for each output/cost pair:
//   quadratic + sigmoid:      δ_j = (a_j − y_j)·a_j(1 − a_j)
//   cross-entropy + sigmoid:  δ_j = a_j − y_j
//   cross-entropy + softmax:  δ_j = a_j − y_j
//   quadratic + softmax:      δ_j = a_j·((a − y)_j − Σ_k a_k(a − y)_k)
// y is the one-hot vector of `label`. A library fragment after output_activation.wgsl: the
// including kernel defines `z_at(i)` (where z lives) and `set_delta(i, δ)` (where δ goes),
// both over elements base .. base+n.

fn output_error_row(base: u32, n: u32, label: u32) {
    let stats = row_stats(base, n);
    if (COST_CROSS_ENTROPY) {
        for (var j = 0u; j < n; j = j + 1u) {
            set_delta(base + j, output_at(z_at(base + j), stats) - one_hot(j, label));
        }
    } else if (OUTPUT_SOFTMAX) {
        var dot = 0.0;
        for (var j = 0u; j < n; j = j + 1u) {
            let a = output_at(z_at(base + j), stats);
            dot = dot + a * (a - one_hot(j, label));
        }
        for (var j = 0u; j < n; j = j + 1u) {
            let a = output_at(z_at(base + j), stats);
            set_delta(base + j, a * ((a - one_hot(j, label)) - dot));
        }
    } else {
        for (var j = 0u; j < n; j = j + 1u) {
            let a = output_at(z_at(base + j), stats);
            set_delta(base + j, (a - one_hot(j, label)) * sigmoid_prime_from_activation(a));
        }
    }
}

// The output layer's activation, computed from its weighted input z (elements base .. base+n
// of the including kernel's z, read through the `z_at(i)` it defines):
//   sigmoid: a_j = σ(z_j)
//   softmax: a_j = e^{z_j − max z} / Σ_k e^{z_k − max z}   (max-subtracted, so e^x never overflows)
// A library fragment for output_error.wgsl and output_cost.wgsl; OUTPUT_SOFTMAX selects the
// function and COST_CROSS_ENTROPY the cost when the pipeline is built.

override OUTPUT_SOFTMAX: bool = false;
override COST_CROSS_ENTROPY: bool = false;

struct RowStats {
    // max_k z_k
    max_z: f32,
    // Σ_k e^{z_k − max z} (softmax only)
    sum_exp: f32,
}

fn row_stats(base: u32, n: u32) -> RowStats {
    var max_z = z_at(base);
    for (var j = 1u; j < n; j = j + 1u) {
        max_z = max(max_z, z_at(base + j));
    }
    var sum_exp = 0.0;
    if (OUTPUT_SOFTMAX) {
        for (var j = 0u; j < n; j = j + 1u) {
            sum_exp = sum_exp + exp(z_at(base + j) - max_z);
        }
    }
    return RowStats(max_z, sum_exp);
}

fn output_at(z: f32, stats: RowStats) -> f32 {
    if (OUTPUT_SOFTMAX) {
        return exp(z - stats.max_z) / stats.sum_exp;
    }
    return sigmoid(z);
}

fn one_hot(j: u32, label: u32) -> f32 {
    return select(0.0, 1.0, j == label);
}

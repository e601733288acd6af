// Evaluation of one batch of a split, one invocation per sample: the cost without the L2 term
//   quadratic:                C = ½‖y − a‖²
//   cross-entropy + sigmoid:  C = Σ_j [softplus(z_j) − y_j·z_j]
//                               (= −Σ[y ln a + (1−y) ln(1−a)], computed stably from z;
//                                softplus(z) = max(z, 0) + ln(1 + e^{−|z|}))
//   cross-entropy + softmax:  C = −ln a_y = −(z_y − max z − ln Σ_k e^{z_k − max z})
// and the prediction arg-max_j a_j (the lowest index wins ties). Each sample's cost and
// prediction land at its index in the split; the host sums the costs in f64 in index order,
// so the total is deterministic.

// OutputDims and its binding come from output_dims.wgsl, prepended by kernels.rs.
@group(1) @binding(1) var<storage, read> weighted: array<f32>;
@group(1) @binding(2) var<storage, read> labels: array<u32>;
@group(1) @binding(3) var<storage, read_write> costs: array<f32>;
@group(1) @binding(4) var<storage, read_write> predictions: array<u32>;

fn softplus(z: f32) -> f32 {
    return max(z, 0.0) + log(1.0 + exp(-abs(z)));
}

@compute @workgroup_size(ROW_GROUP, 1, 1)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let row = id.x;
    if (row >= step.rows) {
        return;
    }
    let n = out_dims.n;
    let base = row * n;
    let sample = step.order_offset + row;
    let label = labels[sample];
    let stats = row_stats(base, n);
    var cost = 0.0;
    var best = 0u;
    var best_a = output_at(weighted[base], stats);
    for (var j = 0u; j < n; j = j + 1u) {
        let z = weighted[base + j];
        let a = output_at(z, stats);
        let y = one_hot(j, label);
        if (a > best_a) {
            best_a = a;
            best = j;
        }
        if (COST_CROSS_ENTROPY) {
            if (!OUTPUT_SOFTMAX) {
                cost = cost + softplus(z) - y * z;
            }
        } else {
            cost = cost + 0.5 * (y - a) * (y - a);
        }
    }
    if (COST_CROSS_ENTROPY && OUTPUT_SOFTMAX) {
        cost = -(weighted[base + label] - stats.max_z - log(stats.sum_exp));
    }
    costs[sample] = cost;
    predictions[sample] = best;
}

// The output error δᴸ = ∂C/∂z for each output/cost pair, one invocation per sample (row):
//   quadratic + sigmoid:      δ_j = (a_j − y_j)·a_j(1 − a_j)
//   cross-entropy + sigmoid:  δ_j = a_j − y_j
//   cross-entropy + softmax:  δ_j = a_j − y_j
//   quadratic + softmax:      δ_j = a_j·((a − y)_j − Σ_k a_k(a − y)_k)
// y is the one-hot vector of the sample's label; the sample is order[order_offset + row].

// OutputDims and its binding come from output_dims.wgsl, prepended by kernels.rs.
@group(1) @binding(1) var<storage, read> weighted: array<f32>;
@group(1) @binding(2) var<storage, read> labels: array<u32>;
@group(1) @binding(3) var<storage, read> order: array<u32>;
@group(1) @binding(4) var<storage, read_write> delta_out: array<f32>;

@compute @workgroup_size(ROW_GROUP, 1, 1)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let row = id.x;
    if (row >= step.rows) {
        return;
    }
    let n = out_dims.n;
    let base = row * n;
    var sample = step.order_offset + row;
    if (step.sequential == 0u) {
        sample = order[sample];
    }
    let label = labels[sample];
    let stats = row_stats(base, n);
    if (COST_CROSS_ENTROPY) {
        for (var j = 0u; j < n; j = j + 1u) {
            delta_out[base + j] = output_at(weighted[base + j], stats) - one_hot(j, label);
        }
    } else if (OUTPUT_SOFTMAX) {
        var dot = 0.0;
        for (var j = 0u; j < n; j = j + 1u) {
            let a = output_at(weighted[base + j], stats);
            dot = dot + a * (a - one_hot(j, label));
        }
        for (var j = 0u; j < n; j = j + 1u) {
            let a = output_at(weighted[base + j], stats);
            delta_out[base + j] = a * ((a - one_hot(j, label)) - dot);
        }
    } else {
        for (var j = 0u; j < n; j = j + 1u) {
            let a = output_at(weighted[base + j], stats);
            delta_out[base + j] = (a - one_hot(j, label)) * sigmoid_prime_from_activation(a);
        }
    }
}

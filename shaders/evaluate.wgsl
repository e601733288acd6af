// Evaluation of one batch of a split, one invocation per sample: its cost and prediction
// (output_cost.wgsl) land at its index in the split; the host sums the costs in f64 in index
// order, so the total is deterministic.

// OutputDims and its binding come from output_dims.wgsl, prepended by kernels.rs.
@group(1) @binding(1) var<storage, read> weighted: array<f32>;
@group(1) @binding(2) var<storage, read> labels: array<u32>;
@group(1) @binding(3) var<storage, read_write> costs: array<f32>;
@group(1) @binding(4) var<storage, read_write> predictions: array<u32>;

fn z_at(i: u32) -> f32 {
    return weighted[i];
}

@compute @workgroup_size(ROW_GROUP, 1, 1)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    begin_member(id.z);
    let row = id.x;
    if (row >= step.rows) {
        return;
    }
    let sample = step.order_offset + row;
    let outcome = row_outcome(member * out_dims.z_stride + row * out_dims.n, out_dims.n, labels[sample]);
    let at = member * out_dims.eval_stride + sample;
    costs[at] = outcome.cost;
    predictions[at] = outcome.prediction;
}

// The output error δᴸ of one mini-batch (output_error.wgsl), one invocation per sample (row);
// the sample is order[order_offset + row] (training) or order_offset + row (sequential).

// OutputDims and its binding come from output_dims.wgsl, prepended by kernels.rs.
@group(1) @binding(1) var<storage, read> weighted: array<f32>;
@group(1) @binding(2) var<storage, read> labels: array<u32>;
@group(1) @binding(3) var<storage, read> order: array<u32>;
@group(1) @binding(4) var<storage, read_write> delta_out: array<f32>;

fn z_at(i: u32) -> f32 {
    return weighted[i];
}

fn set_delta(i: u32, delta: f32) {
    delta_out[i] = delta;
}

@compute @workgroup_size(ROW_GROUP, 1, 1)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    begin_member(id.z);
    let row = id.x;
    if (row >= step.rows) {
        return;
    }
    var sample = step.order_offset + row;
    if (step.sequential == 0u) {
        sample = order[sample];
    }
    output_error_row(member * out_dims.z_stride + row * out_dims.n, out_dims.n, labels[sample]);
}

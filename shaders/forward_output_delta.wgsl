// Epilogue of the output layer's forward product while training, for a sigmoid output: the
// weighted input z = W·a + b (as forward_linear.wgsl stores it) and BP1's output error in the
// same pass,
//   δᴸ_j = (a_j − y_j)·σ'(z_j) (quadratic cost) or a_j − y_j (cross-entropy),  a_j = σ(z_j),
// through output_error.wgsl's sigmoid_output_delta. A sigmoid output's δ_j needs only its own
// z_j, so the step needs no output_delta dispatch (on llvmpipe each dispatch has a fixed cost
// larger than that kernel's work). The operations are output_delta.wgsl's on the same z, so
// the bits are its. Row i's sample is order[order_offset + i] (training) or order_offset + i
// (sequential). b_j sits at out·in + j of mat_b.

@group(1) @binding(3) var<storage, read_write> weighted_out: array<f32>;
@group(1) @binding(4) var<storage, read> labels: array<u32>;
@group(1) @binding(5) var<storage, read> order: array<u32>;
@group(1) @binding(6) var<storage, read_write> delta_out: array<f32>;

// What output_error.wgsl's library reads and writes (its row function is not called here).
fn z_at(i: u32) -> f32 {
    return weighted_out[i];
}

fn set_delta(i: u32, delta: f32) {
    delta_out[i] = delta;
}

fn epilogue(row: u32, col: u32, acc: f32) {
    let z = acc + mat_b_at(dims.n * dims.k + col);
    let at = c_first() + row * dims.n + col;
    weighted_out[at] = z;
    var sample = step.order_offset + row;
    if (step.sequential == 0u) {
        sample = order[sample];
    }
    set_delta(at, sigmoid_output_delta(sigmoid(z), one_hot(col, labels[sample])));
}

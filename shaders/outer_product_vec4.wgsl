// The store fragment of the gradient product on the blocked path when the layer's input count
// is a multiple of 4 (it takes the place of blocked_store.wgsl and outer_product.wgsl): the
// same outer-product accumulation and update as outer_product.wgsl,
//   ∂C/∂W[j,k] = Σ_i δ[i,j]·a_prev[i,k],   ∂C/∂b[j] = Σ_i δ[i,j]   (the ones column, k = in),
//   g = (1/m)·Σ∂C/∂W + (λ/n)·W   for weights,   g = (1/m)·Σ∂C/∂b   for biases,
// handed to the optimizer's update(index, g, w), four parameters per call (`alias Param =
// vec4<f32>`, param_vec4.wgsl): W[j, k..k+3] for four columns of a row, b[j..j+3] for four rows.
// On llvmpipe every load and store is a loop over the SIMD lanes, so a vec4 parameter and its
// optimizer slots cost a quarter of the loops four f32 ones do; each float gets the same
// operations in the same order, so the bits are outer_product.wgsl's.
//
// Why the vec4s are whole: W [out, in] rows start at multiples of in, a multiple of 4, and the
// block's columns at multiples of 4, so W[j, col0..col0+3] is one vec4 of params; b [out]
// starts at out·in, a multiple of 4, and a block's rows at multiples of 8. The biases of a
// block's last rows may run past `out` into the floats that round the layer to a whole vec4
// (layout.rs's layer_bytes): no parameter lives there, and nothing reads them back.
// A frozen member (step.frozen) is left as it is.

@group(1) @binding(3) var<storage, read_write> params: array<vec4<f32>>;

// W[row, col0..col0+3] from their sums over the mini-batch.
fn update_weights(row: u32, col0: u32, sum: vec4<f32>) {
    let at = (c_first() + row * (dims.n - 1u) + col0) / 4u;
    let w = params[at];
    params[at] = update(at, weight_gradient(sum, w), w);
}

// b[row0..row0+3] from their sums over the mini-batch.
fn update_biases(row0: u32, sum: vec4<f32>) {
    let at = (c_first() + dims.m * (dims.n - 1u) + row0) / 4u;
    let w = params[at];
    params[at] = update(at, bias_gradient(sum), w);
}

// The weights of row `row` in columns col0..col0+7 (lo and hi), those inside the M rows and the
// n − 1 weight columns.
fn update_row(row: u32, col0: u32, m: u32, inputs: u32, lo: vec4<f32>, hi: vec4<f32>) {
    if (row >= m) {
        return;
    }
    if (col0 < inputs) {
        update_weights(row, col0, lo);
    }
    if (col0 + 4u < inputs) {
        update_weights(row, col0 + 4u, hi);
    }
}

// The update of an 8x8 block from (row0, col0): row r's columns col0..col0+3 in r_lo,
// col0+4..col0+7 in r_hi. The ones column (col = n − 1, a multiple of 4) is the first column
// of r_lo or of r_hi.
fn store_block(
    row0: u32, col0: u32, m: u32, n: u32,
    r0_lo: vec4<f32>, r0_hi: vec4<f32>, r1_lo: vec4<f32>, r1_hi: vec4<f32>,
    r2_lo: vec4<f32>, r2_hi: vec4<f32>, r3_lo: vec4<f32>, r3_hi: vec4<f32>,
    r4_lo: vec4<f32>, r4_hi: vec4<f32>, r5_lo: vec4<f32>, r5_hi: vec4<f32>,
    r6_lo: vec4<f32>, r6_hi: vec4<f32>, r7_lo: vec4<f32>, r7_hi: vec4<f32>,
) {
    if (step.frozen != 0u) {
        return;
    }
    let inputs = n - 1u;
    update_row(row0, col0, m, inputs, r0_lo, r0_hi);
    update_row(row0 + 1u, col0, m, inputs, r1_lo, r1_hi);
    update_row(row0 + 2u, col0, m, inputs, r2_lo, r2_hi);
    update_row(row0 + 3u, col0, m, inputs, r3_lo, r3_hi);
    update_row(row0 + 4u, col0, m, inputs, r4_lo, r4_hi);
    update_row(row0 + 5u, col0, m, inputs, r5_lo, r5_hi);
    update_row(row0 + 6u, col0, m, inputs, r6_lo, r6_hi);
    update_row(row0 + 7u, col0, m, inputs, r7_lo, r7_hi);
    var ones_lo: vec4<f32>;
    var ones_hi: vec4<f32>;
    if (col0 == inputs) {
        ones_lo = vec4<f32>(r0_lo.x, r1_lo.x, r2_lo.x, r3_lo.x);
        ones_hi = vec4<f32>(r4_lo.x, r5_lo.x, r6_lo.x, r7_lo.x);
    } else if (col0 + 4u == inputs) {
        ones_lo = vec4<f32>(r0_hi.x, r1_hi.x, r2_hi.x, r3_hi.x);
        ones_hi = vec4<f32>(r4_hi.x, r5_hi.x, r6_hi.x, r7_hi.x);
    } else {
        return;
    }
    update_biases(row0, ones_lo);
    if (row0 + 4u < m) {
        update_biases(row0 + 4u, ones_hi);
    }
}

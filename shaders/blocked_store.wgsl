// How the register-blocked multiplies (matmul_blocked.wgsl, matmul_blocked_k4.wgsl) hand their
// results to the epilogue: one `epilogue(row, col, acc)` call per result inside the M x N
// result, row by row, with no dynamically indexed local array (llvmpipe would keep one in
// memory). outer_product_vec4.wgsl replaces this fragment for the vec4 update.

// The epilogue of four consecutive results v of row `row`, from column col0.
fn store4(row: u32, col0: u32, v: vec4<f32>, m: u32, n: u32) {
    if (row >= m) {
        return;
    }
    if (col0 < n) {
        epilogue(row, col0, v.x);
    }
    if (col0 + 1u < n) {
        epilogue(row, col0 + 1u, v.y);
    }
    if (col0 + 2u < n) {
        epilogue(row, col0 + 2u, v.z);
    }
    if (col0 + 3u < n) {
        epilogue(row, col0 + 3u, v.w);
    }
}

// The epilogue of an 8x8 block from (row0, col0): row r's columns col0..col0+3 in r_lo,
// col0+4..col0+7 in r_hi.
fn store_block(
    row0: u32, col0: u32, m: u32, n: u32,
    r0_lo: vec4<f32>, r0_hi: vec4<f32>, r1_lo: vec4<f32>, r1_hi: vec4<f32>,
    r2_lo: vec4<f32>, r2_hi: vec4<f32>, r3_lo: vec4<f32>, r3_hi: vec4<f32>,
    r4_lo: vec4<f32>, r4_hi: vec4<f32>, r5_lo: vec4<f32>, r5_hi: vec4<f32>,
    r6_lo: vec4<f32>, r6_hi: vec4<f32>, r7_lo: vec4<f32>, r7_hi: vec4<f32>,
) {
    store4(row0, col0, r0_lo, m, n);
    store4(row0, col0 + 4u, r0_hi, m, n);
    store4(row0 + 1u, col0, r1_lo, m, n);
    store4(row0 + 1u, col0 + 4u, r1_hi, m, n);
    store4(row0 + 2u, col0, r2_lo, m, n);
    store4(row0 + 2u, col0 + 4u, r2_hi, m, n);
    store4(row0 + 3u, col0, r3_lo, m, n);
    store4(row0 + 3u, col0 + 4u, r3_hi, m, n);
    store4(row0 + 4u, col0, r4_lo, m, n);
    store4(row0 + 4u, col0 + 4u, r4_hi, m, n);
    store4(row0 + 5u, col0, r5_lo, m, n);
    store4(row0 + 5u, col0 + 4u, r5_hi, m, n);
    store4(row0 + 6u, col0, r6_lo, m, n);
    store4(row0 + 6u, col0 + 4u, r6_hi, m, n);
    store4(row0 + 7u, col0, r7_lo, m, n);
    store4(row0 + 7u, col0 + 4u, r7_hi, m, n);
}

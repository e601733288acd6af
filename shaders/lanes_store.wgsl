// How the subgroup multiplies (matmul_lanes.wgsl, matmul_lanes_k4.wgsl) hand their results to
// the epilogue: a lane owns columns col, col + LANES, col + 2·LANES, ... of each of its rows,
// and each result inside the M x N result gets one `epilogue(row, col, acc)` call, with no
// dynamically indexed local array (llvmpipe would keep one in memory). The blocked multiplies'
// counterpart is blocked_store.wgsl.

// The epilogue of a lane's two results of row `row`, columns col and col + LANES.
fn store2(row: u32, col: u32, v: vec2<f32>, m: u32, n: u32) {
    if (row >= m) {
        return;
    }
    if (col < n) {
        epilogue(row, col, v.x);
    }
    if (col + LANES < n) {
        epilogue(row, col + LANES, v.y);
    }
}

// The epilogue of a lane's four results of row `row`, columns col + LANES·c for c = 0..3.
fn store4(row: u32, col: u32, v: vec4<f32>, m: u32, n: u32) {
    store2(row, col, v.xy, m, n);
    store2(row, col + 2u * LANES, v.zw, m, n);
}

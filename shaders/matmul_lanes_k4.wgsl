// The forward multiply for software adapters with subgroups of LANES invocations (llvmpipe's
// SIMD width: 8 on 256-bit), when K is a multiple of 4:
//   C[M,N] = Σ_k A[m,k]·B[n,k]   (A [M,K] row-major, B [N,K] row-major: both run along k),
//   then epilogue(m, n, C[m,n]) for every m < M, n < N (the contract is in matmul_common.wgsl).
// Every sum is the one matmul_blocked_k4.wgsl computes, in its order: acc += dot(A[m, 4t..4t+3],
// B[n, 4t..4t+3]) for t = 0, 1, ..., so the results are the same bits. What changes is who loads
// what. On llvmpipe every storage load is a loop over the SIMD lanes, while a subgroup broadcast
// is a shuffle of one register; so here each lane loads one row of A and shares it:
//   - a workgroup is one subgroup; it covers LANES rows of C (row0 ..) and LANES·LANE_COLS_K4
//     columns (col0 ..);
//   - per four k, lane l loads A[row0 + l, 4t..4t+3] and its LANE_COLS_K4 rows of B,
//     B[col0 + l + LANES·c, 4t..4t+3], then takes row r's A vec4 from lane r by
//     subgroupBroadcast and adds its dot with each of its B vec4s to acc(r, c);
//   - so a lane makes 5 vec4 loads per four k for 32 dot products, where matmul_blocked_k4's
//     4x4 block makes 8 for 16.
// Rows past M and columns past N load clamped (in-range) rows, and their results are never
// written. Every lane reaches every broadcast (no early return): the broadcasts need the whole
// subgroup.

@group(1) @binding(1) var<storage, read> mat_a: array<vec4<f32>>;
@group(1) @binding(2) var<storage, read> mat_b: array<vec4<f32>>;

// The loop below is unrolled by hand for 8 lanes and 4 columns per lane.
const_assert LANES == 8u;
const_assert LANE_COLS_K4 == 4u;

// Element i of B's buffer read as floats (the epilogue's bias).
fn mat_b_at(i: u32) -> f32 {
    let at = b_first() + i;
    return mat_b[at / 4u][at % 4u];
}

// acc(r, ·) += (dot(a, w0), dot(a, w1), dot(a, w2), dot(a, w3)).
fn dots(acc: vec4<f32>, a: vec4<f32>, w: mat4x4<f32>) -> vec4<f32> {
    return acc + vec4<f32>(dot(a, w[0]), dot(a, w[1]), dot(a, w[2]), dot(a, w[3]));
}

@compute @workgroup_size(LANES, 1, 1)
fn main(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    begin_member(group.z);
    let m = dim_or_rows(dims.m);
    let n = dims.n;
    let k4 = dims.k / 4u;
    let row0 = (group.y + chunk.group_offset) * LANES;
    let col0 = group.x * LANES * LANE_COLS_K4;
    let col = col0 + lane;
    // The member's blocks start on a multiple of 4 floats (their strides are).
    var ia = min(row0 + lane, m - 1u) * (dims.lda / 4u) + a_first() / 4u;
    let lb = dims.ldb / 4u;
    let b0 = b_first() / 4u;
    var ib = vec4<u32>(
        min(col, n - 1u) * lb + b0,
        min(col + LANES, n - 1u) * lb + b0,
        min(col + 2u * LANES, n - 1u) * lb + b0,
        min(col + 3u * LANES, n - 1u) * lb + b0,
    );
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    var acc4 = vec4<f32>(0.0);
    var acc5 = vec4<f32>(0.0);
    var acc6 = vec4<f32>(0.0);
    var acc7 = vec4<f32>(0.0);
    for (var t = 0u; t < k4; t = t + 1u) {
        let a = mat_a[ia];
        let w = mat4x4<f32>(mat_b[ib.x], mat_b[ib.y], mat_b[ib.z], mat_b[ib.w]);
        acc0 = dots(acc0, subgroupBroadcast(a, 0u), w);
        acc1 = dots(acc1, subgroupBroadcast(a, 1u), w);
        acc2 = dots(acc2, subgroupBroadcast(a, 2u), w);
        acc3 = dots(acc3, subgroupBroadcast(a, 3u), w);
        acc4 = dots(acc4, subgroupBroadcast(a, 4u), w);
        acc5 = dots(acc5, subgroupBroadcast(a, 5u), w);
        acc6 = dots(acc6, subgroupBroadcast(a, 6u), w);
        acc7 = dots(acc7, subgroupBroadcast(a, 7u), w);
        ia = ia + 1u;
        ib = ib + vec4<u32>(1u);
    }
    store4(row0, col, acc0, m, n);
    store4(row0 + 1u, col, acc1, m, n);
    store4(row0 + 2u, col, acc2, m, n);
    store4(row0 + 3u, col, acc3, m, n);
    store4(row0 + 4u, col, acc4, m, n);
    store4(row0 + 5u, col, acc5, m, n);
    store4(row0 + 6u, col, acc6, m, n);
    store4(row0 + 7u, col, acc7, m, n);
}

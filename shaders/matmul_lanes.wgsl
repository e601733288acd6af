// The direct multiply for software adapters with subgroups of LANES invocations, with the
// same bindings, flags and epilogue as matmul_blocked.wgsl (composed after
// matmul_operands.wgsl; the contract is in matmul_common.wgsl):
//   C[M,N] = Σ_k A(m,k)·B(k,n),   then epilogue(m, n, C[m,n]) for every m < M, n < N,
// in every transpose form (TRANS_A, TRANS_B, B_ONES_COLUMN). Every sum is the one
// matmul_blocked.wgsl computes, in its order: acc += A(m,t)·B(t,n) for t = 0, 1, ..., so the
// results are the same bits. What changes is who loads what. On llvmpipe every storage load is
// a loop over the SIMD lanes, while a subgroup broadcast is a shuffle of one register, and the
// products this kernel is for are small (a 10-row batch against 10 or 30 columns), so
// matmul_blocked's 8x8 blocks leave most of each SIMD row idle and pay 16 loads per t anyway.
// Here:
//   - a workgroup is one subgroup; it covers LANES rows of C (row0 ..) and LANES·LANE_COLS
//     columns (col0 ..); lane l owns columns col0 + l and col0 + l + LANES;
//   - per t, lane l loads A(row0 + l, t) and B(t, ·) of its two columns, then takes row r's A
//     from lane r by subgroupBroadcast and adds its products with the two B values to acc(r, ·);
//   - so a subgroup makes 3 loads per t for 128 multiply-adds.
// Rows past M and columns past N load clamped (in-range) values, and their results are never
// written. Every lane reaches every broadcast (no early return before the loop): the
// broadcasts need the whole subgroup.

// The loop below is unrolled by hand for 8 lanes and 2 columns per lane.
const_assert LANES == 8u;
const_assert LANE_COLS == 2u;

// acc(r, ·) += a·(b0, b1).
fn madd2(acc: vec2<f32>, a: f32, b: vec2<f32>) -> vec2<f32> {
    return acc + a * b;
}

@compute @workgroup_size(LANES, 1, 1)
fn main(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    begin_member(group.z);
    let m = dim_or_rows(dims.m);
    let n = dims.n;
    let k = dim_or_rows(dims.k);
    let row0 = (group.y + chunk.group_offset) * LANES;
    let col = group.x * LANES * LANE_COLS + lane;
    // The columns B stores: with B_ONES_COLUMN the last column of C is Σ_k A(m,k).
    let stored = select(n, n - 1u, B_ONES_COLUMN);
    let last_col = max(stored, 1u) - 1u;
    var ia = a_base(min(row0 + lane, m - 1u));
    var ib0 = b_base(min(col, last_col));
    var ib1 = b_base(min(col + LANES, last_col));
    // Which of the lane's columns is the ones column: it loads B (clamped) but uses 1.
    let ones = (vec2<u32>(col, col + LANES) == vec2<u32>(n - 1u)) & vec2<bool>(B_ONES_COLUMN);
    let sa = a_step();
    let sb = b_step();
    var acc0 = vec2<f32>(0.0);
    var acc1 = vec2<f32>(0.0);
    var acc2 = vec2<f32>(0.0);
    var acc3 = vec2<f32>(0.0);
    var acc4 = vec2<f32>(0.0);
    var acc5 = vec2<f32>(0.0);
    var acc6 = vec2<f32>(0.0);
    var acc7 = vec2<f32>(0.0);
    for (var t = 0u; t < k; t = t + 1u) {
        let a = mat_a[ia];
        let b = select(vec2<f32>(mat_b[ib0], mat_b[ib1]), vec2<f32>(1.0), ones);
        acc0 = madd2(acc0, subgroupBroadcast(a, 0u), b);
        acc1 = madd2(acc1, subgroupBroadcast(a, 1u), b);
        acc2 = madd2(acc2, subgroupBroadcast(a, 2u), b);
        acc3 = madd2(acc3, subgroupBroadcast(a, 3u), b);
        acc4 = madd2(acc4, subgroupBroadcast(a, 4u), b);
        acc5 = madd2(acc5, subgroupBroadcast(a, 5u), b);
        acc6 = madd2(acc6, subgroupBroadcast(a, 6u), b);
        acc7 = madd2(acc7, subgroupBroadcast(a, 7u), b);
        ia = ia + sa;
        ib0 = ib0 + sb;
        ib1 = ib1 + sb;
    }
    store2(row0, col, acc0, m, n);
    store2(row0 + 1u, col, acc1, m, n);
    store2(row0 + 2u, col, acc2, m, n);
    store2(row0 + 3u, col, acc3, m, n);
    store2(row0 + 4u, col, acc4, m, n);
    store2(row0 + 5u, col, acc5, m, n);
    store2(row0 + 6u, col, acc6, m, n);
    store2(row0 + 7u, col, acc7, m, n);
}

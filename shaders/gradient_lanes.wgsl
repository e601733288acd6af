// The gradient product for software adapters with subgroups of LANES invocations, when the
// layer's input count is a multiple of 4 (composed after matmul_operands_b4.wgsl, before
// outer_product_vec4.wgsl, the update's store fragment):
//   G[M,N] = δᵀ·[A_prev | 1],   G(j, k) = Σ_t δ[t, j]·A_prev[t, k],   G(j, in) = Σ_t δ[t, j]
// (TRANS_A and B_ONES_COLUMN are set: A(j, t) = δ[t, j] at a_first() + j + t·lda, B(t, k) =
// A_prev[t, k] at b_first() + k + t·ldb). Every sum is the one matmul_blocked.wgsl computes
// with the same operands, in its order: acc += δ[t, j]·A_prev[t, k·] for t = 0, 1, ..., so the
// results and the update are the same bits. What changes is who loads δ. On llvmpipe every
// storage load is a loop over the SIMD lanes, while a subgroup broadcast is a shuffle of one
// register; so here each lane loads one row's δ and shares it:
//   - a workgroup is one subgroup; it covers BLOCK rows of G (row0 ..) and LANES·BLOCK
//     columns; lane l owns the BLOCK columns from col0 = (group.x·LANES + l)·BLOCK, as one
//     invocation of matmul_blocked.wgsl does;
//   - per t, lane l loads δ[t, row0 + l] and its block's two vec4s of A_prev, then takes row
//     r's δ from lane r by subgroupBroadcast and adds δ·(the two vec4s) to row r's accumulators;
//   - so per t a lane makes 3 loads where matmul_blocked's invocation makes 10 (8 of δ).
// Rows past M and columns past N load clamped (in-range) values, and their results are never
// written. Every lane reaches every broadcast (no early return before the loop): the
// broadcasts need the whole subgroup.

// The loop below is unrolled by hand for 8 rows, as the store fragment's 8x8 block is.
const_assert BLOCK == 8u;
const_assert LANES == 8u;

@compute @workgroup_size(LANES, 1, 1)
fn main(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    begin_member(group.z);
    let m = dim_or_rows(dims.m);
    let n = dims.n;
    let k = dim_or_rows(dims.k);
    let row0 = (group.y + chunk.group_offset) * BLOCK;
    let col0 = (group.x * LANES + lane) * BLOCK;
    // The columns B stores: the last column of G is the ones column, Σ_t δ[t, j].
    let stored = n - 1u;
    let last_col = max(stored, 1u) - 1u;
    // This lane's row of δ to share, and its block's columns of A_prev (clamped).
    var ia = a_first() + min(row0 + lane, m - 1u);
    let cols = col0 + vec4<u32>(0u, 1u, 2u, 3u);
    let cols_hi = col0 + vec4<u32>(4u, 5u, 6u, 7u);
    var ib_lo = b_first() + min(cols, vec4<u32>(last_col));
    var ib_hi = b_first() + min(cols_hi, vec4<u32>(last_col));
    let ones_lo = cols == vec4<u32>(n - 1u);
    let ones_hi = cols_hi == vec4<u32>(n - 1u);
    let sb = vec4<u32>(dims.ldb);
    var acc0_lo = vec4<f32>(0.0);
    var acc0_hi = vec4<f32>(0.0);
    var acc1_lo = vec4<f32>(0.0);
    var acc1_hi = vec4<f32>(0.0);
    var acc2_lo = vec4<f32>(0.0);
    var acc2_hi = vec4<f32>(0.0);
    var acc3_lo = vec4<f32>(0.0);
    var acc3_hi = vec4<f32>(0.0);
    var acc4_lo = vec4<f32>(0.0);
    var acc4_hi = vec4<f32>(0.0);
    var acc5_lo = vec4<f32>(0.0);
    var acc5_hi = vec4<f32>(0.0);
    var acc6_lo = vec4<f32>(0.0);
    var acc6_hi = vec4<f32>(0.0);
    var acc7_lo = vec4<f32>(0.0);
    var acc7_hi = vec4<f32>(0.0);
    for (var t = 0u; t < k; t = t + 1u) {
        let b_lo = select(load_b4(ib_lo), vec4<f32>(1.0), ones_lo);
        let b_hi = select(load_b4(ib_hi), vec4<f32>(1.0), ones_hi);
        let d = mat_a[ia];
        let a0 = subgroupBroadcast(d, 0u);
        let a1 = subgroupBroadcast(d, 1u);
        let a2 = subgroupBroadcast(d, 2u);
        let a3 = subgroupBroadcast(d, 3u);
        let a4 = subgroupBroadcast(d, 4u);
        let a5 = subgroupBroadcast(d, 5u);
        let a6 = subgroupBroadcast(d, 6u);
        let a7 = subgroupBroadcast(d, 7u);
        acc0_lo = acc0_lo + a0 * b_lo;
        acc0_hi = acc0_hi + a0 * b_hi;
        acc1_lo = acc1_lo + a1 * b_lo;
        acc1_hi = acc1_hi + a1 * b_hi;
        acc2_lo = acc2_lo + a2 * b_lo;
        acc2_hi = acc2_hi + a2 * b_hi;
        acc3_lo = acc3_lo + a3 * b_lo;
        acc3_hi = acc3_hi + a3 * b_hi;
        acc4_lo = acc4_lo + a4 * b_lo;
        acc4_hi = acc4_hi + a4 * b_hi;
        acc5_lo = acc5_lo + a5 * b_lo;
        acc5_hi = acc5_hi + a5 * b_hi;
        acc6_lo = acc6_lo + a6 * b_lo;
        acc6_hi = acc6_hi + a6 * b_hi;
        acc7_lo = acc7_lo + a7 * b_lo;
        acc7_hi = acc7_hi + a7 * b_hi;
        ia = ia + dims.lda;
        ib_lo = ib_lo + sb;
        ib_hi = ib_hi + sb;
    }
    if (row0 >= m || col0 >= n) {
        return;
    }
    // The block goes to the update through outer_product_vec4.wgsl's store fragment.
    store_block(
        row0, col0, m, n,
        acc0_lo, acc0_hi, acc1_lo, acc1_hi, acc2_lo, acc2_hi, acc3_lo, acc3_hi,
        acc4_lo, acc4_hi, acc5_lo, acc5_hi, acc6_lo, acc6_hi, acc7_lo, acc7_hi,
    );
}

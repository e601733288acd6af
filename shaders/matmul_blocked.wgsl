// Register-blocked direct multiply for CPU drivers, with the same bindings, flags and epilogue
// as matmul.wgsl (the contract is in matmul_common.wgsl):
//   C[M,N] = Σ_k A(m,k)·B(k,n),   then epilogue(m, n, C[m,n]) for every m < M, n < N.
// Each invocation computes a BLOCK x BLOCK block of C with no workgroup memory: per k it loads
// BLOCK values of A and BLOCK of B and does BLOCK² multiply-adds. On llvmpipe every
// storage-buffer load is a loop over the SIMD lanes with a branch per lane, whatever the
// addresses, so the cost of a multiply is its number of loads. Rows and columns past the edge
// are clamped for loading and never written. The sum over k runs in one fixed order in one
// invocation: no atomics, so results are the same bits run after run on the same adapter.

// The block below is unrolled by hand for 8x8 (two vec4 per row, eight rows).
const_assert BLOCK == 8u;

@compute @workgroup_size(BLOCKED_GROUP, 1, 1)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    begin_member(id.z);
    let m = dim_or_rows(dims.m);
    let n = dims.n;
    let k = dim_or_rows(dims.k);
    // x runs over blocks of columns, y over blocks of rows.
    let row0 = (id.y + chunk.group_offset) * BLOCK;
    let col0 = id.x * BLOCK;
    if (row0 >= m || col0 >= n) {
        return;
    }
    // The columns B stores: with B_ONES_COLUMN the last column of C is Σ_k A(m,k).
    let stored = select(n, n - 1u, B_ONES_COLUMN);
    let last_col = max(stored, 1u) - 1u;
    // Rows past M and columns past the stored ones are clamped: loaded, never written.
    let rows = min(row0 + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(m - 1u));
    let rows_hi = min(row0 + vec4<u32>(4u, 5u, 6u, 7u), vec4<u32>(m - 1u));
    let cols = col0 + vec4<u32>(0u, 1u, 2u, 3u);
    let cols_hi = col0 + vec4<u32>(4u, 5u, 6u, 7u);
    var ia_lo = a_base4(rows);
    var ia_hi = a_base4(rows_hi);
    var ib_lo = b_base4(min(cols, vec4<u32>(last_col)));
    var ib_hi = b_base4(min(cols_hi, vec4<u32>(last_col)));
    // Which of the block's columns is the ones column: it loads B (clamped) but uses 1.
    var ones_lo = vec4<bool>(false);
    var ones_hi = vec4<bool>(false);
    if (B_ONES_COLUMN) {
        ones_lo = cols == vec4<u32>(n - 1u);
        ones_hi = cols_hi == vec4<u32>(n - 1u);
    }
    let sa = vec4<u32>(a_step());
    let sb = vec4<u32>(b_step());
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
        // B's four columns from col0 (and from col0 + 4): load_b4 is the operand fragment's.
        let b_lo = select(load_b4(ib_lo), vec4<f32>(1.0), ones_lo);
        let b_hi = select(load_b4(ib_hi), vec4<f32>(1.0), ones_hi);
        let a0 = mat_a[ia_lo.x];
        let a1 = mat_a[ia_lo.y];
        let a2 = mat_a[ia_lo.z];
        let a3 = mat_a[ia_lo.w];
        let a4 = mat_a[ia_hi.x];
        let a5 = mat_a[ia_hi.y];
        let a6 = mat_a[ia_hi.z];
        let a7 = mat_a[ia_hi.w];
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
        ia_lo = ia_lo + sa;
        ia_hi = ia_hi + sa;
        ib_lo = ib_lo + sb;
        ib_hi = ib_hi + sb;
    }
    // The block goes to the epilogue through the store fragment (blocked_store.wgsl, or
    // outer_product_vec4.wgsl for the vec4 update).
    store_block(
        row0, col0, m, n,
        acc0_lo, acc0_hi, acc1_lo, acc1_hi, acc2_lo, acc2_hi, acc3_lo, acc3_hi,
        acc4_lo, acc4_hi, acc5_lo, acc5_hi, acc6_lo, acc6_hi, acc7_lo, acc7_hi,
    );
}

fn a_base4(rows: vec4<u32>) -> vec4<u32> {
    return vec4<u32>(a_base(rows.x), a_base(rows.y), a_base(rows.z), a_base(rows.w));
}

fn b_base4(cols: vec4<u32>) -> vec4<u32> {
    return vec4<u32>(b_base(cols.x), b_base(cols.y), b_base(cols.z), b_base(cols.w));
}

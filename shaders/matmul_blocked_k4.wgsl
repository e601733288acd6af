// Register-blocked forward multiply for CPU drivers when K is a multiple of 4, loading A and B
// four k at a time as vec4:
//   C[M,N] = Σ_k A[m,k]·B[n,k]   (A [M,K] row-major, B [N,K] row-major: both run along k),
//   then epilogue(m, n, C[m,n]) for every m < M, n < N (the contract is in matmul_common.wgsl).
// This is the forward product Z = A·Wᵀ of matmul_blocked.wgsl (TRANS_B) with K, lda and ldb
// multiples of 4, so row starts are vec4-aligned; it ignores the transpose flags. Each
// invocation computes a BLOCK_K4 x BLOCK_K4 block of C: per four k it loads 4 vec4 of A and 4
// of B (8 load instructions for 64 multiply-adds; on llvmpipe each load instruction is a
// per-lane loop, so fewer, wider loads are cheaper). Products are summed in k order,
// (k, k+1, k+2, k+3) as one dot product per step.

@group(1) @binding(1) var<storage, read> mat_a: array<vec4<f32>>;
@group(1) @binding(2) var<storage, read> mat_b: array<vec4<f32>>;

// The block below is unrolled by hand for 4x4 (four rows of one vec4).
const_assert BLOCK_K4 == 4u;

// Element i of B's buffer read as floats (the epilogue's bias).
fn mat_b_at(i: u32) -> f32 {
    let at = b_first() + i;
    return mat_b[at / 4u][at % 4u];
}

@compute @workgroup_size(BLOCKED_GROUP, 1, 1)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    begin_member(id.z);
    let m = dim_or_rows(dims.m);
    let n = dims.n;
    let k4 = dims.k / 4u;
    let row0 = (id.y + chunk.group_offset) * BLOCK_K4;
    let col0 = id.x * BLOCK_K4;
    if (row0 >= m || col0 >= n) {
        return;
    }
    let la = dims.lda / 4u;
    let lb = dims.ldb / 4u;
    // The member's blocks start on a multiple of 4 floats (their strides are).
    var ia = vec4<u32>(row0, min(row0 + 1u, m - 1u), min(row0 + 2u, m - 1u), min(row0 + 3u, m - 1u)) * la + vec4<u32>(a_first() / 4u);
    var ib = vec4<u32>(col0, min(col0 + 1u, n - 1u), min(col0 + 2u, n - 1u), min(col0 + 3u, n - 1u)) * lb + vec4<u32>(b_first() / 4u);
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var t = 0u; t < k4; t = t + 1u) {
        let b0 = mat_b[ib.x];
        let b1 = mat_b[ib.y];
        let b2 = mat_b[ib.z];
        let b3 = mat_b[ib.w];
        let a0 = mat_a[ia.x];
        let a1 = mat_a[ia.y];
        let a2 = mat_a[ia.z];
        let a3 = mat_a[ia.w];
        acc0 = acc0 + vec4<f32>(dot(a0, b0), dot(a0, b1), dot(a0, b2), dot(a0, b3));
        acc1 = acc1 + vec4<f32>(dot(a1, b0), dot(a1, b1), dot(a1, b2), dot(a1, b3));
        acc2 = acc2 + vec4<f32>(dot(a2, b0), dot(a2, b1), dot(a2, b2), dot(a2, b3));
        acc3 = acc3 + vec4<f32>(dot(a3, b0), dot(a3, b1), dot(a3, b2), dot(a3, b3));
        ia = ia + vec4<u32>(1u);
        ib = ib + vec4<u32>(1u);
    }
    store4(row0, col0, acc0, m, n);
    store4(row0 + 1u, col0, acc1, m, n);
    store4(row0 + 2u, col0, acc2, m, n);
    store4(row0 + 3u, col0, acc3, m, n);
}

// Tiled matrix multiply through workgroup memory, for real GPUs:
//   C[M,N] = Σ_k A(m,k)·B(k,n),   then epilogue(m, n, C[m,n]) for every m < M, n < N
// (the contract, the shapes and the transpose flags are in matmul_common.wgsl). The three
// products of backpropagation, batch-major (rows are samples):
//   forward   Z[m,out] = A[m,in]·Wᵀ      (B = W [out,in], TRANS_B)
//   backward  D[m,in]  = δ[m,out]·W      (B = W [out,in])
//   gradient  G[out,in] = δᵀ·A_prev      (A = δ [m,out], TRANS_A)
// The sum over k runs in one fixed order in one invocation: no atomics, so results are the
// same bits run after run on the same adapter.

// Each workgroup computes a TILE x TILE tile of C with TILED_SIDE x TILED_SIDE invocations,
// each invocation a 2x2 block (few invocations per workgroup: fewer, fatter invocations make
// each barrier cheaper), and walks K in slices of TILE_K staged through workgroup memory.
const_assert TILE == 2u * TILED_SIDE;
const GROUP: u32 = TILED_SIDE * TILED_SIDE;
// Values of each staged tile each invocation loads.
const LOADS: u32 = TILE * TILE_K / GROUP;
const_assert LOADS * GROUP == TILE * TILE_K;

// tile_a[r][t] = A(row0 + r, k0 + t); tile_b[t][c] = B(k0 + t, col0 + c).
var<workgroup> tile_a: array<array<f32, TILE_K>, TILE>;
var<workgroup> tile_b: array<array<f32, TILE>, TILE_K>;

fn load_a(row: u32, kk: u32, m: u32, k: u32) -> f32 {
    if (row >= m || kk >= k) {
        return 0.0;
    }
    if (TRANS_A) {
        return mat_a[a_first() + kk * dims.lda + row];
    }
    return mat_a[a_first() + row * dims.lda + kk];
}

fn load_b(kk: u32, col: u32, n: u32, k: u32) -> f32 {
    if (col >= n || kk >= k) {
        return 0.0;
    }
    if (B_ONES_COLUMN && col == n - 1u) {
        return 1.0;
    }
    if (TRANS_B) {
        return mat_b[b_first() + col * dims.ldb + kk];
    }
    return mat_b[b_first() + kk * dims.ldb + col];
}

@compute @workgroup_size(TILED_SIDE, TILED_SIDE, 1)
fn main(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    begin_member(group.z);
    let m = dim_or_rows(dims.m);
    let n = dims.n;
    let k = dim_or_rows(dims.k);
    let row0 = (group.y + chunk.group_offset) * TILE;
    let col0 = group.x * TILE;
    let r = 2u * local.y;
    let c = 2u * local.x;
    var acc00 = 0.0;
    var acc01 = 0.0;
    var acc10 = 0.0;
    var acc11 = 0.0;
    for (var k0 = 0u; k0 < k; k0 = k0 + TILE_K) {
        // TILE·TILE_K values of each tile, LOADS per invocation.
        for (var i = 0u; i < LOADS; i = i + 1u) {
            let at = lane + GROUP * i;
            let ar = at / TILE_K;
            let ak = at % TILE_K;
            tile_a[ar][ak] = load_a(row0 + ar, k0 + ak, m, k);
            let bk = at / TILE;
            let bc = at % TILE;
            tile_b[bk][bc] = load_b(k0 + bk, col0 + bc, n, k);
        }
        workgroupBarrier();
        for (var t = 0u; t < TILE_K; t = t + 1u) {
            let a0 = tile_a[r][t];
            let a1 = tile_a[r + 1u][t];
            let b0 = tile_b[t][c];
            let b1 = tile_b[t][c + 1u];
            acc00 = acc00 + a0 * b0;
            acc01 = acc01 + a0 * b1;
            acc10 = acc10 + a1 * b0;
            acc11 = acc11 + a1 * b1;
        }
        workgroupBarrier();
    }
    let row = row0 + r;
    let col = col0 + c;
    if (row < m && col < n) {
        epilogue(row, col, acc00);
    }
    if (row < m && col + 1u < n) {
        epilogue(row, col + 1u, acc01);
    }
    if (row + 1u < m && col < n) {
        epilogue(row + 1u, col, acc10);
    }
    if (row + 1u < m && col + 1u < n) {
        epilogue(row + 1u, col + 1u, acc11);
    }
}

// Tiled matrix multiply through workgroup memory, with a pluggable epilogue:
//   C[M,N] = Σ_k A(m,k)·B(k,n),   then epilogue(m, n, C[m,n]) for every m < M, n < N.
// A is stored [M,K] row-major (leading dimension lda), or [K,M] when TRANS_A: Aᵀ is read in
// place, never copied. B is stored [K,N] (ldb), or [N,K] when TRANS_B. With B_ONES_COLUMN, B
// has one more column than it stores, n = N−1, made of ones, so Σ_k A(m,k) (the bias
// gradient Σ δ) comes out of the same pass as the weight gradient.
// The three products of backpropagation, batch-major (rows are samples):
//   forward   Z[m,out] = A[m,in]·Wᵀ      (B = W [out,in], TRANS_B)
//   backward  D[m,in]  = δ[m,out]·W      (B = W [out,in])
//   gradient  G[out,in] = δᵀ·A_prev      (A = δ [m,out], TRANS_A)
// A dimension given as 0 means "the step's batch size m" (step.rows).
// The sum over k runs in one fixed order in one invocation: no atomics, so results are the
// same bits run after run on the same adapter.

// Dims and its binding come from matmul_dims.wgsl, prepended by kernels.rs.
@group(1) @binding(1) var<storage, read> mat_a: array<f32>;
@group(1) @binding(2) var<storage, read> mat_b: array<f32>;

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override B_ONES_COLUMN: bool = false;

// Each workgroup computes a 16x16 tile of C with 8x8 invocations, each invocation a 2x2 block
// (few invocations per workgroup: on a CPU driver such as llvmpipe every barrier switches
// between the workgroup's SIMD rows, so fewer, fatter invocations are much cheaper), and walks
// K in slices of 32 staged through workgroup memory.
const TILE: u32 = 16u;
const TILE_K: u32 = 32u;
const GROUP: u32 = 64u;

// tile_a[r][t] = A(row0 + r, k0 + t); tile_b[t][c] = B(k0 + t, col0 + c).
var<workgroup> tile_a: array<array<f32, 32>, 16>;
var<workgroup> tile_b: array<array<f32, 16>, 32>;

// Element i of B's buffer (the forward epilogues read the bias through it).
fn mat_b_at(i: u32) -> f32 {
    return mat_b[i];
}

fn dim_or_rows(d: u32) -> u32 {
    return select(d, step.rows, d == 0u);
}

fn load_a(row: u32, kk: u32, m: u32, k: u32) -> f32 {
    if (row >= m || kk >= k) {
        return 0.0;
    }
    if (TRANS_A) {
        return mat_a[kk * dims.lda + row];
    }
    return mat_a[row * dims.lda + kk];
}

fn load_b(kk: u32, col: u32, n: u32, k: u32) -> f32 {
    if (col >= n || kk >= k) {
        return 0.0;
    }
    if (B_ONES_COLUMN && col == n - 1u) {
        return 1.0;
    }
    if (TRANS_B) {
        return mat_b[col * dims.ldb + kk];
    }
    return mat_b[kk * dims.ldb + col];
}

@compute @workgroup_size(8, 8, 1)
fn main(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let m = dim_or_rows(dims.m);
    let n = dims.n;
    let k = dim_or_rows(dims.k);
    let row0 = group.y * TILE;
    let col0 = group.x * TILE;
    let r = 2u * local.y;
    let c = 2u * local.x;
    var acc00 = 0.0;
    var acc01 = 0.0;
    var acc10 = 0.0;
    var acc11 = 0.0;
    for (var k0 = 0u; k0 < k; k0 = k0 + TILE_K) {
        // 512 values of each tile, 8 per invocation.
        for (var i = 0u; i < 8u; i = i + 1u) {
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

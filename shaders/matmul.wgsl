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

struct Dims {
    m: u32,
    n: u32,
    k: u32,
    lda: u32,
    ldb: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(1) @binding(0) var<uniform> dims: Dims;
@group(1) @binding(1) var<storage, read> mat_a: array<f32>;
@group(1) @binding(2) var<storage, read> mat_b: array<f32>;

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override B_ONES_COLUMN: bool = false;

const TILE: u32 = 16u;

var<workgroup> tile_a: array<array<f32, 16>, 16>;
var<workgroup> tile_b: array<array<f32, 16>, 16>;

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

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>) {
    let m = dim_or_rows(dims.m);
    let n = dims.n;
    let k = dim_or_rows(dims.k);
    let row = group.y * TILE + local.y;
    let col = group.x * TILE + local.x;
    var acc = 0.0;
    for (var k0 = 0u; k0 < k; k0 = k0 + TILE) {
        // Thread (y, x) loads A(row0 + y, k0 + x) and B(k0 + y, col0 + x).
        tile_a[local.y][local.x] = load_a(row, k0 + local.x, m, k);
        tile_b[local.y][local.x] = load_b(k0 + local.y, col, n, k);
        workgroupBarrier();
        for (var t = 0u; t < TILE; t = t + 1u) {
            acc = acc + tile_a[local.y][t] * tile_b[t][local.x];
        }
        workgroupBarrier();
    }
    if (row < m && col < n) {
        epilogue(row, col, acc);
    }
}

// Register-blocked direct multiply for CPU drivers, with the same bindings, flags and epilogue
// as matmul.wgsl:
//   C[M,N] = Σ_k A(m,k)·B(k,n),   then epilogue(m, n, C[m,n]) for every m < M, n < N.
// Each invocation computes a 4x4 block of C with no workgroup memory: per k it loads 4 values
// of A and 4 of B and does 16 multiply-adds. On llvmpipe every storage-buffer load is a loop
// over the SIMD lanes with a branch per lane, whatever the addresses, so the cost of a multiply
// is its number of loads; a 4x4 block needs a quarter of the loads of one output per
// invocation. Rows and columns past the edge are clamped for loading and never written.
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

// Rows and columns of C per invocation (kernels.rs's BLOCK).
const BLOCK: u32 = 4u;

// Element i of B's buffer (the forward epilogues read the bias through it).
fn mat_b_at(i: u32) -> f32 {
    return mat_b[i];
}

fn dim_or_rows(d: u32) -> u32 {
    return select(d, step.rows, d == 0u);
}

// Where A(row, 0) sits; A(row, t) is at a_base(row) + t·a_step().
fn a_base(row: u32) -> u32 {
    if (TRANS_A) {
        return row;
    }
    return row * dims.lda;
}

fn a_step() -> u32 {
    if (TRANS_A) {
        return dims.lda;
    }
    return 1u;
}

// Where B(0, col) sits; B(t, col) is at b_base(col) + t·b_step().
fn b_base(col: u32) -> u32 {
    if (TRANS_B) {
        return col * dims.ldb;
    }
    return col;
}

fn b_step() -> u32 {
    if (TRANS_B) {
        return 1u;
    }
    return dims.ldb;
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let m = dim_or_rows(dims.m);
    let n = dims.n;
    let k = dim_or_rows(dims.k);
    // x runs over blocks of columns, y over blocks of rows.
    let row0 = id.y * BLOCK;
    let col0 = id.x * BLOCK;
    if (row0 >= m || col0 >= n) {
        return;
    }
    // The columns B stores: with B_ONES_COLUMN the last column of C is Σ_k A(m,k).
    let stored = select(n, n - 1u, B_ONES_COLUMN);
    let last_col = max(stored, 1u) - 1u;
    var ia = vec4<u32>(
        a_base(row0),
        a_base(min(row0 + 1u, m - 1u)),
        a_base(min(row0 + 2u, m - 1u)),
        a_base(min(row0 + 3u, m - 1u)),
    );
    var ib = vec4<u32>(
        b_base(min(col0, last_col)),
        b_base(min(col0 + 1u, last_col)),
        b_base(min(col0 + 2u, last_col)),
        b_base(min(col0 + 3u, last_col)),
    );
    // Which of the block's columns is the ones column: it loads B (clamped) but uses 1.
    var ones = vec4<bool>(false);
    if (B_ONES_COLUMN) {
        ones = vec4<u32>(col0, col0 + 1u, col0 + 2u, col0 + 3u) == vec4<u32>(n - 1u);
    }
    let sa = a_step();
    let sb = b_step();
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var t = 0u; t < k; t = t + 1u) {
        let loaded = vec4<f32>(mat_b[ib.x], mat_b[ib.y], mat_b[ib.z], mat_b[ib.w]);
        let b = select(loaded, vec4<f32>(1.0), ones);
        acc0 = acc0 + mat_a[ia.x] * b;
        acc1 = acc1 + mat_a[ia.y] * b;
        acc2 = acc2 + mat_a[ia.z] * b;
        acc3 = acc3 + mat_a[ia.w] * b;
        ia = ia + vec4<u32>(sa);
        ib = ib + vec4<u32>(sb);
    }
    store_row(row0, col0, acc0, m, n);
    store_row(row0 + 1u, col0, acc1, m, n);
    store_row(row0 + 2u, col0, acc2, m, n);
    store_row(row0 + 3u, col0, acc3, m, n);
}

// The epilogue of the block's row `row` (columns col0..col0+3) inside the M x N result. No
// dynamically indexed local array: llvmpipe would keep one in memory.
fn store_row(row: u32, col0: u32, acc: vec4<f32>, m: u32, n: u32) {
    if (row >= m) {
        return;
    }
    epilogue(row, col0, acc.x);
    if (col0 + 1u < n) {
        epilogue(row, col0 + 1u, acc.y);
    }
    if (col0 + 2u < n) {
        epilogue(row, col0 + 2u, acc.z);
    }
    if (col0 + 3u < n) {
        epilogue(row, col0 + 3u, acc.w);
    }
}

// Direct matrix multiply, one invocation per output and no workgroup memory, with the same
// bindings, flags and epilogue as matmul.wgsl:
//   C[M,N] = Σ_k A(m,k)·B(k,n),   then epilogue(m, n, C[m,n]).
// On a CPU driver (llvmpipe) workgroup barriers cost more than the reuse they buy, so this is
// the multiply used there; real GPUs use the tiled one.

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

fn dim_or_rows(d: u32) -> u32 {
    return select(d, step.rows, d == 0u);
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let m = dim_or_rows(dims.m);
    let n = dims.n;
    let k = dim_or_rows(dims.k);
    // x runs over columns, y over rows (dispatch ceil(N/64) x M).
    let row = id.y;
    let col = id.x;
    if (row >= m || col >= n) {
        return;
    }
    var acc = 0.0;
    if (B_ONES_COLUMN && col == n - 1u) {
        for (var t = 0u; t < k; t = t + 1u) {
            acc = acc + select(mat_a[row * dims.lda + t], mat_a[t * dims.lda + row], TRANS_A);
        }
    } else {
        for (var t = 0u; t < k; t = t + 1u) {
            let a = select(mat_a[row * dims.lda + t], mat_a[t * dims.lda + row], TRANS_A);
            let b = select(mat_b[t * dims.ldb + col], mat_b[col * dims.ldb + t], TRANS_B);
            acc = acc + a * b;
        }
    }
    epilogue(row, col, acc);
}

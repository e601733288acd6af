// The shapes of one product C[M,N] = Σ_k A(m,k)·B(k,n), shared by every multiply variant
// (matmul.wgsl, matmul_blocked.wgsl, matmul_blocked_k4.wgsl): M, N, K and the leading
// dimensions of A and B. A dimension given as 0 means "the step's batch size" (step.rows).

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

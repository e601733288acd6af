// What every multiply variant shares (matmul.wgsl, matmul_blocked.wgsl, matmul_blocked_k4.wgsl,
// and on adapters with subgroups of LANES matmul_lanes.wgsl, matmul_lanes_k4.wgsl,
// gradient_lanes.wgsl):
// the product's shapes, the transpose flags and the batch-size convention.
//
// The composition contract. A multiply pipeline is this fragment, one multiply variant and one
// epilogue fragment (kernels.rs composes them; WGSL has no #include):
//   - the multiply computes C[M,N] = Σ_k A(m,k)·B(k,n), each sum in one fixed order in one
//     invocation (no atomics: the same bits run after run on the same adapter), and calls
//         fn epilogue(row: u32, col: u32, acc: f32)
//     once for every row < M, col < N with acc = C[row, col]
//     (the blocked multiplies hand their blocks to `store_block`, which blocked_store.wgsl
//     turns into those calls; for the vec4 gradient multiplies, matmul_blocked.wgsl and
//     gradient_lanes.wgsl, outer_product_vec4.wgsl takes blocked_store.wgsl's place and
//     updates the parameters four at a time instead; the subgroup multiplies call `epilogue`
//     themselves);
//   - the epilogue fragment defines `epilogue` (forward_sigmoid.wgsl, forward_linear.wgsl,
//     backprop_delta.wgsl, outer_product.wgsl), declares its own bindings from @binding(3) on,
//     and may read B's buffer through `mat_b_at(i)` (the forward epilogues read the bias there);
//   - outer_product.wgsl's epilogue turns the gradient into g and stores
//         fn update(index: u32, g: Param, w: Param) -> Param   (Param: f32 here, param_scalar.wgsl)
//     the new value of a parameter whose current value is w, which the optimizer fragment
//     defines (update_sgd.wgsl, update_momentum.wgsl, update_adam.wgsl, update_adagrad.wgsl,
//     update_rmsprop.wgsl; it keeps its own state at index of its slots, bindings 4 and 5).
//   - a multiply may run as several dispatches of whole workgroup rows (src/gpu/chunks.rs):
//     workgroup row y of a dispatch is row y + chunk.group_offset of the product's grid
//     (step.wgsl), so each result is still one invocation's sum in the same order.
// Bindings of group 1: 0 the Dims below, 1 A, 2 B (declared by the variant: as f32 in
// matmul_operands.wgsl, B as vec4 in matmul_operands_b4.wgsl, both as vec4 in
// matmul_blocked_k4.wgsl and matmul_lanes_k4.wgsl), 3.. the epilogue's.
// Where the member's blocks of A, B and the epilogue's buffers start.
fn a_first() -> u32 {
    return member * dims.a_stride;
}

fn b_first() -> u32 {
    return member * dims.b_stride;
}

fn c_first() -> u32 {
    return member * dims.c_stride;
}
// Constants such as TILE and BLOCK come from src/gpu/layout.rs (prepended by kernels.rs).

// The shapes of C[M,N] = Σ_k A(m,k)·B(k,n) and the leading dimensions of A and B
// (src/gpu/layout.rs's MatDims). A dimension given as 0 means "the step's batch size" m.
// Member `member` of a group finds its A, B and the epilogue's buffers at floats
// member·a_stride, member·b_stride and member·c_stride of theirs (step_binding.wgsl).
struct Dims {
    m: u32,
    n: u32,
    k: u32,
    lda: u32,
    ldb: u32,
    a_stride: u32,
    b_stride: u32,
    c_stride: u32,
}

@group(1) @binding(0) var<uniform> dims: Dims;

// A is stored [M,K] row-major, or [K,M] when TRANS_A (Aᵀ read in place, never copied); B is
// stored [K,N], or [N,K] when TRANS_B. With B_ONES_COLUMN, B has one more column than it
// stores, n = N−1, made of ones, so Σ_k A(m,k) (the bias gradient Σδ) comes out of the same
// pass as the weight gradient. Set per pipeline by kernels.rs.
override TRANS_A: bool = false;
override TRANS_B: bool = false;
override B_ONES_COLUMN: bool = false;

fn dim_or_rows(d: u32) -> u32 {
    return select(d, group_rows(), d == 0u);
}

// Where the direct multiplies (matmul_blocked.wgsl, matmul_lanes.wgsl) find A and B in every
// transpose form.
// Where A(row, 0) sits; A(row, t) is at a_base(row) + t·a_step().
fn a_base(row: u32) -> u32 {
    if (TRANS_A) {
        return a_first() + row;
    }
    return a_first() + row * dims.lda;
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
        return b_first() + col * dims.ldb;
    }
    return b_first() + col;
}

fn b_step() -> u32 {
    if (TRANS_B) {
        return 1u;
    }
    return dims.ldb;
}

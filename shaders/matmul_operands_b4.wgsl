// The operands of matmul_blocked.wgsl (and gradient_lanes.wgsl) for the gradient product G = δᵀ·[A_prev | 1] when the
// layer's input count is a multiple of 4: A one f32 at a time, B (A_prev, [rows, inputs]
// row-major, not transposed) four consecutive columns in one vec4 load. On llvmpipe every load
// instruction is a loop over the SIMD lanes, so one vec4 load costs about what one f32 load
// does: the block's 8 columns of B take 2 loads per k instead of 8.
//
// Why one vec4 is the four columns: the member's block of B starts on a multiple of 4 floats
// (its stride is, layout.rs's member_stride), ldb = inputs is a multiple of 4 and a block's
// first column col0 is a multiple of 4, so B(t, col0) sits at a multiple of 4 and
// B(t, col0 + 3) in the same row. Where the columns are clamped (a block past the stored
// columns: the ones column and beyond), the vec4 holds other floats of A_prev, which the block
// multiplies into results it never writes, exactly as the f32 operands' clamped loads do.

@group(1) @binding(1) var<storage, read> mat_a: array<f32>;
@group(1) @binding(2) var<storage, read> mat_b: array<vec4<f32>>;

// B at the four consecutive indices from at.x (at.y, at.z, at.w are at.x + 1, + 2, + 3 for
// every column that is written).
fn load_b4(at: vec4<u32>) -> vec4<f32> {
    return mat_b[at.x / 4u];
}

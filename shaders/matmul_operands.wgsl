// The operands A and B of matmul.wgsl and matmul_blocked.wgsl, read one f32 at a time
// (matmul_blocked_k4.wgsl declares them as vec4 instead).

@group(1) @binding(1) var<storage, read> mat_a: array<f32>;
@group(1) @binding(2) var<storage, read> mat_b: array<f32>;

// Element i of the member's block of B's buffer (the forward epilogues read the bias through it).
fn mat_b_at(i: u32) -> f32 {
    return mat_b[b_first() + i];
}

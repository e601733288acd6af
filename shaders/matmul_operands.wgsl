// The operands A and B of matmul.wgsl, matmul_blocked.wgsl and matmul_lanes.wgsl, read one f32
// at a time (matmul_operands_b4.wgsl reads B four floats at a time; matmul_blocked_k4.wgsl and
// matmul_lanes_k4.wgsl declare both as vec4).

@group(1) @binding(1) var<storage, read> mat_a: array<f32>;
@group(1) @binding(2) var<storage, read> mat_b: array<f32>;

// Element i of the member's block of B's buffer (the forward epilogues read the bias through it).
fn mat_b_at(i: u32) -> f32 {
    return mat_b[b_first() + i];
}

// B at the four indices `at` (four columns of the block in matmul_blocked.wgsl).
fn load_b4(at: vec4<u32>) -> vec4<f32> {
    return vec4<f32>(mat_b[at.x], mat_b[at.y], mat_b[at.z], mat_b[at.w]);
}

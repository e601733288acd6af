// The output layer's width n, shared by the per-sample output kernels (output_delta.wgsl,
// evaluate.wgsl); the host's copy is OutputDims in src/gpu/layout.rs.

struct OutputDims {
    n: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(1) @binding(0) var<uniform> out_dims: OutputDims;

// The output layer's width n, shared by the per-sample output kernels (output_delta.wgsl,
// evaluate.wgsl); the host's copy is OutputDims in src/gpu/layout.rs.

// Member `member` finds its z and δᴸ at floats member·z_stride of their buffers, and its
// costs and predictions at member·eval_stride.
struct OutputDims {
    n: u32,
    z_stride: u32,
    eval_stride: u32,
    _pad0: u32,
}

@group(1) @binding(0) var<uniform> out_dims: OutputDims;

// The optimizer fragments (update_*.wgsl) and gradient.wgsl are written over `Param`, the
// unit one update call computes. Here it is one parameter: the per-element epilogue
// (outer_product.wgsl) and the fused kernels update one float per call.
alias Param = f32;

// The optimizer fragments (update_*.wgsl) and gradient.wgsl are written over `Param`, the
// unit one update call computes. Here it is four consecutive parameters (outer_product_vec4.wgsl):
// every operation is componentwise, so each float gets the same operations in the same order as
// with `alias Param = f32` (param_scalar.wgsl), and an optimizer slot's `index` counts vec4s.
alias Param = vec4<f32>;

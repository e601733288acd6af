// The step's gradient of the regularised mean cost, from the sum over the mini-batch
// (BP3 and BP4 summed over its m samples):
//   weights: g = (1/m)·Σ∂C/∂W + (λ/n)·W      biases: g = (1/m)·Σ∂C/∂b   (not regularised)
// A library fragment over `Param` (param_scalar.wgsl, param_vec4.wgsl): outer_product.wgsl's
// and outer_product_vec4.wgsl's epilogues and the fused kernel hand g to the optimizer's
// update(index, g, w).

fn weight_gradient(sum: Param, w: Param) -> Param {
    return sum * step.inv_rows + step.decay * w;
}

fn bias_gradient(sum: Param) -> Param {
    return sum * step.inv_rows;
}

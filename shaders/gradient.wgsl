// The step's gradient of the regularised mean cost, from the sum over the mini-batch
// (BP3 and BP4 summed over its m samples):
//   weights: g = (1/m)·Σ∂C/∂W + (λ/n)·W      biases: g = (1/m)·Σ∂C/∂b   (not regularised)
// A library fragment: outer_product.wgsl's epilogue and the fused kernel hand g to the
// optimizer's update(index, g, w).

fn weight_gradient(sum: f32, w: f32) -> f32 {
    return sum * step.inv_rows + step.decay * w;
}

fn bias_gradient(sum: f32) -> f32 {
    return sum * step.inv_rows;
}

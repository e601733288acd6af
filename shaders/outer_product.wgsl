// Epilogue of the gradient product: the outer-product accumulation over the mini-batch
//   ∂C/∂W[j,k] = Σ_i δ[i,j]·a_prev[i,k],   ∂C/∂b[j] = Σ_i δ[i,j]   (the ones column, k = in),
// turned into the step's gradient (gradient.wgsl)
//   g = (1/m)·Σ∂C/∂W + (λ/n)·W   for weights,   g = (1/m)·Σ∂C/∂b   for biases (not regularised),
// and handed with the current value w = params[index] to the optimizer's `update(index, g, w)`
// (update_sgd / update_momentum / update_adam), whose result is the new value, in the same pass, so the gradient never goes
// through memory and each parameter is read once. Parameters are W [out,in]
// row-major then b [out], each member's block of params and of the optimizer's slots at
// member·c_stride; M = out, N = in + 1. A frozen member (step.frozen) is left as it is.

@group(1) @binding(3) var<storage, read_write> params: array<f32>;

fn epilogue(row: u32, col: u32, acc: f32) {
    if (step.frozen != 0u) {
        return;
    }
    let inputs = dims.n - 1u;
    var index: u32;
    var w: f32;
    var g: f32;
    if (col < inputs) {
        index = c_first() + row * inputs + col;
        w = params[index];
        g = weight_gradient(acc, w);
    } else {
        index = c_first() + dims.m * inputs + row;
        w = params[index];
        g = bias_gradient(acc);
    }
    params[index] = update(index, g, w);
}

// Plain gradient descent with the L2 term already in g:  W ← W − η·g  (w: the current W[index];
// returns the new one; `Param` is one float or four, param_scalar.wgsl).

fn update(index: u32, g: Param, w: Param) -> Param {
    return w - step.eta * g;
}

// Plain gradient descent with the L2 term already in g:  W ← W − η·g.

fn update(index: u32, g: f32) {
    params[index] = params[index] - step.eta * g;
}

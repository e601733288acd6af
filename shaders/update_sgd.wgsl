// Plain gradient descent with the L2 term already in g:  W ← W − η·g  (w: the current W[index]).

fn update(index: u32, g: f32, w: f32) {
    params[index] = w - step.eta * g;
}

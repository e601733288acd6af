// Plain gradient descent with the L2 term already in g:  W ← W − η·g  (w: the current W[index];
// returns the new one).

fn update(index: u32, g: f32, w: f32) -> f32 {
    return w - step.eta * g;
}

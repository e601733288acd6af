// Momentum:  v ← μ·v − η·g,   W ← W + v  (w: the current W[index]; returns the new one).

@group(1) @binding(4) var<storage, read_write> velocity: array<f32>;

fn update(index: u32, g: f32, w: f32) -> f32 {
    let v = step.momentum * velocity[index] - step.eta * g;
    velocity[index] = v;
    return w + v;
}

// Momentum:  v ← μ·v − η·g,   W ← W + v  (w: the current W[index]; returns the new one).

@group(1) @binding(4) var<storage, read_write> velocity: array<Param>;

fn update(index: u32, g: Param, w: Param) -> Param {
    let v = step.momentum * velocity[index] - step.eta * g;
    velocity[index] = v;
    return w + v;
}

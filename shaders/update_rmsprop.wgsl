// RMSprop (PyTorch's torch.optim.RMSprop: not centered, no momentum, ε outside the square
// root), the L2 term already in g:
//   v ← ρ·v + (1−ρ)·g²,   W ← W − η·g / (√v + ε)   (w: the current W[index]; returns the new
//   one). The operations are those of the CPU's update rule (src/cpu/optimizer.rs), in its
//   order.

@group(1) @binding(4) var<storage, read_write> mean_square: array<Param>;

fn update(index: u32, g: Param, w: Param) -> Param {
    let v = mean_square[index] * step.rho + (1.0 - step.rho) * g * g;
    mean_square[index] = v;
    return w - step.eta * g / (sqrt(v) + step.epsilon);
}

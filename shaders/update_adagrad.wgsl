// AdaGrad (PyTorch's torch.optim.Adagrad with lr_decay 0 and initial accumulator 0), the L2
// term already in g:
//   s ← s + g²,   W ← W − η·g / (√s + ε)   (w: the current W[index]; returns the new one).
// The operations are those of the CPU's update rule (src/cpu/optimizer.rs), in its order.

@group(1) @binding(4) var<storage, read_write> sum_of_squares: array<Param>;

fn update(index: u32, g: Param, w: Param) -> Param {
    let s = sum_of_squares[index] + g * g;
    sum_of_squares[index] = s;
    return w - step.eta * g / (sqrt(s) + step.epsilon);
}

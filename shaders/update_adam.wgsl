// Adam, t counted from 1 and already in the step's bias corrections:
//   m ← β₁m + (1−β₁)g,   v ← β₂v + (1−β₂)g²,
//   W ← W − η · (m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε)   (w: the current W[index]; returns the
//   new one).

@group(1) @binding(4) var<storage, read_write> moment1: array<Param>;
@group(1) @binding(5) var<storage, read_write> moment2: array<Param>;

fn update(index: u32, g: Param, w: Param) -> Param {
    let m = step.beta1 * moment1[index] + (1.0 - step.beta1) * g;
    let v = step.beta2 * moment2[index] + (1.0 - step.beta2) * g * g;
    moment1[index] = m;
    moment2[index] = v;
    let m_hat = m / step.bias_correction1;
    let v_hat = v / step.bias_correction2;
    return w - step.eta * m_hat / (sqrt(v_hat) + step.epsilon);
}

//! The parameter update, per element, with g the gradient of the regularised mean cost:
//! g = (1/m)Σ∂C/∂w + (λ/n)w for weights, g = (1/m)Σ∂C/∂b for biases (not regularised).
//!   SGD:      w ← w − ηg                       (= (1 − ηλ/n)w − (η/m)Σ∂C/∂w)
//!   momentum: v ← μv − ηg;  w ← w + v
//!   Adam:     m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  w ← w − η m̂/(√v̂ + ε),
//!             m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ), t counting updates from 1.

use crate::config::{OptimizerKind, StepHyper};

/// The constants of one update step.
#[derive(Clone, Copy, Debug)]
pub struct UpdateRule {
    pub kind: OptimizerKind,
    pub eta: f32,
    /// 1/m for this mini-batch.
    pub inv_m: f32,
    /// λ/n for weights, 0 for biases.
    pub decay: f32,
    pub momentum: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub epsilon: f32,
    /// 1 − β₁ᵗ and 1 − β₂ᵗ for this step's t.
    pub bias_correction1: f32,
    pub bias_correction2: f32,
}

impl UpdateRule {
    /// The rule for update number `t` (1-based) of a batch of `m` samples.
    pub fn new(hyper: &StepHyper, m: usize, t: u64) -> Self {
        let o = hyper.optimizer;
        let (bias_correction1, bias_correction2) = hyper.bias_corrections(t);
        UpdateRule {
            kind: o.kind,
            eta: hyper.eta,
            inv_m: 1.0 / m as f32,
            decay: hyper.decay(),
            momentum: o.momentum,
            beta1: o.beta1,
            beta2: o.beta2,
            epsilon: o.epsilon,
            bias_correction1,
            bias_correction2,
        }
    }

    /// The same rule without the L2 term (for biases).
    pub fn without_decay(self) -> Self {
        UpdateRule { decay: 0.0, ..self }
    }

    /// Updates `param` from the summed gradient `grad`, with `slots` the optimizer's state for
    /// these elements (none for SGD, velocity for momentum, m and v for Adam).
    pub fn apply(&self, param: &mut [f32], grad: &[f32], slots: &mut [&mut [f32]]) {
        match (self.kind, slots) {
            (OptimizerKind::Sgd, _) => {
                for (w, &gs) in param.iter_mut().zip(grad) {
                    let g = gs * self.inv_m + self.decay * *w;
                    *w -= self.eta * g;
                }
            }
            (OptimizerKind::Momentum, [v]) => {
                for ((w, &gs), v) in param.iter_mut().zip(grad).zip(v.iter_mut()) {
                    let g = gs * self.inv_m + self.decay * *w;
                    *v = self.momentum * *v - self.eta * g;
                    *w += *v;
                }
            }
            (OptimizerKind::Adam, [m1, m2]) => {
                let inv_c1 = 1.0 / self.bias_correction1;
                let inv_c2 = 1.0 / self.bias_correction2;
                for (((w, &gs), m1), m2) in param
                    .iter_mut()
                    .zip(grad)
                    .zip(m1.iter_mut())
                    .zip(m2.iter_mut())
                {
                    let g = gs * self.inv_m + self.decay * *w;
                    *m1 = self.beta1 * *m1 + (1.0 - self.beta1) * g;
                    *m2 = self.beta2 * *m2 + (1.0 - self.beta2) * g * g;
                    *w -= self.eta * (*m1 * inv_c1) / ((*m2 * inv_c2).sqrt() + self.epsilon);
                }
            }
            (kind, slots) => unreachable!(
                "optimizer {kind:?} given {} state slots; OptimizerState::new sizes them",
                slots.len()
            ),
        }
    }
}

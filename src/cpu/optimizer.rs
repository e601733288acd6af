//! The parameter update, per element, with g the gradient of the regularised mean cost:
//! g = (1/m)Σ∂C/∂w + (λ/n)w for weights, g = (1/m)Σ∂C/∂b for biases (not regularised).
//!   SGD:      w ← w − ηg                       (= (1 − ηλ/n)w − (η/m)Σ∂C/∂w)
//!   momentum: v ← μv − ηg;  w ← w + v
//!   Adam:     m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  w ← w − η m̂/(√v̂ + ε),
//!             m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ), t counting updates from 1.
//!   AdaGrad:  s ← s + g²;  w ← w − ηg/(√s + ε)                   (s starts at 0)
//!   RMSprop:  v ← ρv + (1−ρ)g²;  w ← w − ηg/(√v + ε)             (v starts at 0)
//! AdaGrad and RMSprop are written in the order of PyTorch's own operations
//! (`state_sum.addcmul_(grad, grad)`, `square_avg.mul_(alpha).addcmul_(grad, grad, 1 − alpha)`,
//! `param.addcdiv_(grad, avg, −lr)` with avg = √state + ε), so that in f32 they round as
//! `torch.optim.Adagrad` and `torch.optim.RMSprop` do (tests/optimizers_pytorch.rs).

use crate::config::{OptimizerKind, StepConstants, StepHyper};

/// One update step: the optimizer's kind and the step's constants.
#[derive(Clone, Copy, Debug)]
pub struct UpdateRule {
    pub kind: OptimizerKind,
    pub c: StepConstants,
}

impl UpdateRule {
    /// The rule for update number `t` (1-based) of a batch of `m` samples.
    pub fn new(hyper: &StepHyper, m: usize, t: u64) -> Self {
        UpdateRule {
            kind: hyper.optimizer.kind,
            c: hyper.constants(m, t),
        }
    }

    /// The same rule without the L2 term (for biases).
    pub fn without_decay(self) -> Self {
        UpdateRule {
            c: StepConstants {
                decay: 0.0,
                ..self.c
            },
            ..self
        }
    }

    /// Updates `param` from the summed gradient `grad`, with `slots` the optimizer's state for
    /// these elements (none for SGD, velocity for momentum, m and v for Adam, the sum of
    /// squares for AdaGrad, the mean square for RMSprop).
    pub fn apply(&self, param: &mut [f32], grad: &[f32], slots: &mut [&mut [f32]]) {
        let c = &self.c;
        match (self.kind, slots) {
            (OptimizerKind::Sgd, _) => {
                for (w, &gs) in param.iter_mut().zip(grad) {
                    let g = gs * c.inv_rows + c.decay * *w;
                    *w -= c.eta * g;
                }
            }
            (OptimizerKind::Momentum, [v]) => {
                for ((w, &gs), v) in param.iter_mut().zip(grad).zip(v.iter_mut()) {
                    let g = gs * c.inv_rows + c.decay * *w;
                    *v = c.momentum * *v - c.eta * g;
                    *w += *v;
                }
            }
            (OptimizerKind::Adam, [m1, m2]) => {
                let inv_c1 = 1.0 / c.bias_correction1;
                let inv_c2 = 1.0 / c.bias_correction2;
                for (((w, &gs), m1), m2) in param
                    .iter_mut()
                    .zip(grad)
                    .zip(m1.iter_mut())
                    .zip(m2.iter_mut())
                {
                    let g = gs * c.inv_rows + c.decay * *w;
                    *m1 = c.beta1 * *m1 + (1.0 - c.beta1) * g;
                    *m2 = c.beta2 * *m2 + (1.0 - c.beta2) * g * g;
                    *w -= c.eta * (*m1 * inv_c1) / ((*m2 * inv_c2).sqrt() + c.epsilon);
                }
            }
            (OptimizerKind::Adagrad, [s]) => {
                for ((w, &gs), s) in param.iter_mut().zip(grad).zip(s.iter_mut()) {
                    let g = gs * c.inv_rows + c.decay * *w;
                    *s += g * g;
                    *w -= c.eta * g / (s.sqrt() + c.epsilon);
                }
            }
            (OptimizerKind::Rmsprop, [v]) => {
                for ((w, &gs), v) in param.iter_mut().zip(grad).zip(v.iter_mut()) {
                    let g = gs * c.inv_rows + c.decay * *w;
                    *v = *v * c.rho + (1.0 - c.rho) * g * g;
                    *w -= c.eta * g / (v.sqrt() + c.epsilon);
                }
            }
            (kind, slots) => unreachable!(
                "optimizer {kind:?} given {} state slots; OptimizerState::new sizes them",
                slots.len()
            ),
        }
    }
}

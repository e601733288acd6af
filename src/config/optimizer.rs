//! The update rules and their constants. Each rule is applied to the gradient of the regularised
//! mean cost, g = (1/m)Σ∂C/∂W + (λ/n)W (biases: no λ term); `cpu::optimizer` has the
//! arithmetic, shaders/update_*.wgsl the same on the GPU.
//!
//! AdaGrad and RMSprop are PyTorch's `torch.optim.Adagrad` and `torch.optim.RMSprop` exactly,
//! with their defaults (Adagrad: lr_decay 0, initial_accumulator_value 0, ε = 1e-10; RMSprop:
//! α = ρ = 0.99, ε = 1e-8 added outside the square root, momentum 0, not centered), and
//! λ/n playing the part of their `weight_decay` (added to the gradient before the state).

use crate::error::Result;
use serde::{Deserialize, Serialize};

/// The update rule applied to the mini-batch gradient g = (1/m)Σ∂C/∂W + (λ/n)W.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerKind {
    /// W ← W − ηg, i.e. W ← (1 − ηλ/n)W − (η/m)Σ∂C/∂W.
    Sgd,
    /// v ← μv − ηg; W ← W + v.
    Momentum,
    /// m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; W ← W − η m̂/(√v̂ + ε).
    Adam,
    /// s ← s + g²; W ← W − ηg/(√s + ε) (Duchi et al.; PyTorch's Adagrad).
    Adagrad,
    /// v ← ρv + (1−ρ)g²; W ← W − ηg/(√v + ε) (Hinton's RMSprop; PyTorch's RMSprop).
    Rmsprop,
}

impl OptimizerKind {
    /// How many state tensors of the parameters' shape the optimizer keeps.
    pub fn state_slots(self) -> usize {
        match self {
            OptimizerKind::Sgd => 0,
            OptimizerKind::Momentum | OptimizerKind::Adagrad | OptimizerKind::Rmsprop => 1,
            OptimizerKind::Adam => 2,
        }
    }

    /// The names of its state tensors, as checkpoints store them (`optimizer.NAME.layers.N.*`);
    /// AdaGrad's and RMSprop's are PyTorch's names for the same state.
    pub fn slot_names(self) -> &'static [&'static str] {
        match self {
            OptimizerKind::Sgd => &[],
            OptimizerKind::Momentum => &["velocity"],
            OptimizerKind::Adam => &["m", "v"],
            OptimizerKind::Adagrad => &["sum"],
            OptimizerKind::Rmsprop => &["square_avg"],
        }
    }

    /// Every kind, in the order `--optimizer` lists them.
    pub const ALL: [OptimizerKind; 5] = [
        OptimizerKind::Sgd,
        OptimizerKind::Momentum,
        OptimizerKind::Adam,
        OptimizerKind::Adagrad,
        OptimizerKind::Rmsprop,
    ];
}

/// RMSprop's ρ by default: PyTorch's α = 0.99.
pub const DEFAULT_RHO: f32 = 0.99;
/// AdaGrad's ε by default: PyTorch's 1e-10.
pub const DEFAULT_ADAGRAD_EPSILON: f32 = 1e-10;
/// RMSprop's ε by default: PyTorch's 1e-8.
pub const DEFAULT_RMSPROP_EPSILON: f32 = 1e-8;

/// The optimizer and its constants.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(into = "OptimizerRecord", from = "OptimizerRecord")]
pub struct Optimizer {
    pub kind: OptimizerKind,
    /// Momentum coefficient μ.
    pub momentum: f32,
    pub beta1: f32,
    pub beta2: f32,
    /// Adam's ε.
    pub epsilon: f32,
    /// RMSprop's decay ρ of the mean square (PyTorch's `alpha`).
    pub rho: f32,
    /// AdaGrad's ε.
    pub adagrad_epsilon: f32,
    /// RMSprop's ε.
    pub rmsprop_epsilon: f32,
}

impl Default for Optimizer {
    fn default() -> Self {
        Optimizer {
            kind: OptimizerKind::Sgd,
            momentum: 0.9,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            rho: DEFAULT_RHO,
            adagrad_epsilon: DEFAULT_ADAGRAD_EPSILON,
            rmsprop_epsilon: DEFAULT_RMSPROP_EPSILON,
        }
    }
}

impl Optimizer {
    /// The ε of this optimizer's update (Adam's, AdaGrad's or RMSprop's; SGD and momentum have
    /// none and get Adam's, which they never read).
    pub fn update_epsilon(&self) -> f32 {
        match self.kind {
            OptimizerKind::Adagrad => self.adagrad_epsilon,
            OptimizerKind::Rmsprop => self.rmsprop_epsilon,
            _ => self.epsilon,
        }
    }

    /// Checks every constant against its range (`config::ranges`; each message names its
    /// flag).
    pub fn validate(&self) -> Result<()> {
        use super::ranges;
        ranges::MOMENTUM.check(self.momentum, None)?;
        ranges::BETA1.check(self.beta1, None)?;
        ranges::BETA2.check(self.beta2, None)?;
        ranges::ADAM_EPSILON.check(self.epsilon, None)?;
        ranges::RHO.check(self.rho, None)?;
        ranges::ADAGRAD_EPSILON.check(self.adagrad_epsilon, None)?;
        ranges::RMSPROP_EPSILON.check(self.rmsprop_epsilon, None)
    }

    /// Every real constant, for the checkpoint's finiteness check.
    pub fn numbers(&self) -> [f32; 7] {
        [
            self.momentum,
            self.beta1,
            self.beta2,
            self.epsilon,
            self.rho,
            self.adagrad_epsilon,
            self.rmsprop_epsilon,
        ]
    }
}

/// How an [`Optimizer`] is written in a checkpoint's `train_config`: the five fields it always
/// had, then AdaGrad's and RMSprop's constants only where the run uses them or they differ
/// from their defaults. So the configuration of an SGD, momentum or Adam run reads exactly as
/// before these optimizers existed (its checkpoint keeps the same bytes), and an older
/// checkpoint, which lacks them, reads with the defaults.
#[derive(Serialize, Deserialize)]
struct OptimizerRecord {
    kind: OptimizerKind,
    momentum: f32,
    beta1: f32,
    beta2: f32,
    epsilon: f32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rho: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    adagrad_epsilon: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rmsprop_epsilon: Option<f32>,
}

impl From<Optimizer> for OptimizerRecord {
    fn from(o: Optimizer) -> Self {
        let kept = |used: bool, value: f32, default: f32| {
            (used || value.to_bits() != default.to_bits()).then_some(value)
        };
        let rmsprop = o.kind == OptimizerKind::Rmsprop;
        OptimizerRecord {
            kind: o.kind,
            momentum: o.momentum,
            beta1: o.beta1,
            beta2: o.beta2,
            epsilon: o.epsilon,
            rho: kept(rmsprop, o.rho, DEFAULT_RHO),
            adagrad_epsilon: kept(
                o.kind == OptimizerKind::Adagrad,
                o.adagrad_epsilon,
                DEFAULT_ADAGRAD_EPSILON,
            ),
            rmsprop_epsilon: kept(rmsprop, o.rmsprop_epsilon, DEFAULT_RMSPROP_EPSILON),
        }
    }
}

impl From<OptimizerRecord> for Optimizer {
    fn from(r: OptimizerRecord) -> Self {
        Optimizer {
            kind: r.kind,
            momentum: r.momentum,
            beta1: r.beta1,
            beta2: r.beta2,
            epsilon: r.epsilon,
            rho: r.rho.unwrap_or(DEFAULT_RHO),
            adagrad_epsilon: r.adagrad_epsilon.unwrap_or(DEFAULT_ADAGRAD_EPSILON),
            rmsprop_epsilon: r.rmsprop_epsilon.unwrap_or(DEFAULT_RMSPROP_EPSILON),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An SGD, momentum or Adam configuration serialises to exactly the JSON it had before
    /// AdaGrad and RMSprop were added (so their checkpoints keep their bytes); the new
    /// optimizers write their constants, and every form reads back to the same value.
    #[test]
    fn older_optimizers_serialise_as_before_and_all_round_trip() {
        let before = r#"{"kind":"adam","momentum":0.9,"beta1":0.9,"beta2":0.999,"epsilon":1e-8}"#;
        let adam = Optimizer {
            kind: OptimizerKind::Adam,
            ..Optimizer::default()
        };
        assert_eq!(serde_json::to_string(&adam).unwrap(), before);
        let old: Optimizer = serde_json::from_str(before).unwrap();
        assert_eq!(
            old, adam,
            "a checkpoint from before reads with the defaults"
        );
        for kind in OptimizerKind::ALL {
            let o = Optimizer {
                kind,
                ..Optimizer::default()
            };
            let json = serde_json::to_string(&o).unwrap();
            let news = ["rho", "adagrad_epsilon", "rmsprop_epsilon"];
            let written: Vec<_> = news.iter().filter(|k| json.contains(*k)).collect();
            match kind {
                OptimizerKind::Adagrad => assert_eq!(written, [&"adagrad_epsilon"]),
                OptimizerKind::Rmsprop => assert_eq!(written, [&"rho", &"rmsprop_epsilon"]),
                _ => assert!(written.is_empty(), "{json}"),
            }
            assert_eq!(serde_json::from_str::<Optimizer>(&json).unwrap(), o);
        }
        let changed = Optimizer {
            rho: 0.9,
            ..Optimizer::default()
        };
        let json = serde_json::to_string(&changed).unwrap();
        assert!(
            json.contains("\"rho\":0.9"),
            "a non-default value is kept: {json}"
        );
        assert_eq!(serde_json::from_str::<Optimizer>(&json).unwrap(), changed);
    }
}

//! What a run is: the network's shape and the training schedule. Pure data with validation; it
//! knows nothing of the CLI, the data files or the backends.

mod bounds;
mod optimizer;
mod presets;
pub mod ranges;

pub use optimizer::{Optimizer, OptimizerKind};
pub use presets::{BenchConfig, Preset};

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The output layer's activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Output {
    /// a = σ(z) per unit.
    Sigmoid,
    /// a_j = e^{z_j} / Σ_k e^{z_k}.
    Softmax,
}

/// The cost function C(a, y) for one sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Cost {
    /// C = ½‖y − a‖².
    Quadratic,
    /// Sigmoid output: C = −Σ_j [y_j ln a_j + (1−y_j) ln(1−a_j)].
    /// Softmax output: the log-likelihood C = −ln a_y.
    CrossEntropy,
}

/// How the initial weights are drawn. Biases are always N(0, 1), as in the textbook.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Init {
    /// W ~ N(0, 1).
    Normal,
    /// W ~ N(0, 1/n_in).
    Scaled,
}

/// How η changes over the epochs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Schedule {
    Constant,
    /// η ← η·factor every `every` epochs.
    Step {
        every: usize,
        factor: f32,
    },
    /// η ← η/divisor when validation accuracy has not improved for `patience` epochs; training
    /// stops once η has been divided `max_divisions` times (the textbook's halt at η/128).
    Plateau {
        patience: usize,
        divisor: f32,
        max_divisions: usize,
    },
}

/// The network: layer sizes and the functions at its ends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkConfig {
    /// Layer widths from input to output, e.g. [784, 30, 10].
    pub layers: Vec<usize>,
    pub output: Output,
    pub cost: Cost,
    pub init: Init,
}

/// The largest width a layer may have. 65,536 units keep every per-layer buffer of a batch
/// within 32-bit indexing on the GPU and within memory on a small machine.
pub const MAX_LAYER_WIDTH: usize = 65_536;

/// The most layers (input and output included) a network may have.
pub const MAX_LAYERS: usize = 1_000;

/// The most weights and biases a network may have: 2²⁸, 1 GiB of f32 per copy. Training holds
/// up to four copies (parameters, gradients and Adam's two moments), so this keeps a run that
/// passes validation within the memory of an ordinary machine instead of aborting on an
/// allocation.
pub const MAX_PARAMETERS: usize = 1 << 28;

/// The most activations one mini-batch may hold: batch size × the sum of the layer widths,
/// 2²⁸ (1 GiB of f32; the backward pass keeps as many errors δ again).
pub const MAX_BATCH_ACTIVATIONS: usize = 1 << 28;

/// Where a network's shape came from, so that a message about it names what the user gave.
#[derive(Clone, Copy, Debug)]
pub enum ShapeFrom<'a> {
    /// The `--layers` flag (or the preset it defaults to).
    Flag,
    /// A checkpoint the command reads (`eval --model`, ...): there is no --layers to change.
    Checkpoint(&'a std::path::Path),
}

impl NetworkConfig {
    /// Checks the shape on its own, and against the data's input and class counts.
    pub fn validate(&self, inputs: usize, classes: usize) -> Result<()> {
        self.validate_from(inputs, classes, ShapeFrom::Flag)
    }

    /// [`NetworkConfig::validate`], with messages that name where the shape came from.
    pub fn validate_from(&self, inputs: usize, classes: usize, from: ShapeFrom) -> Result<()> {
        let layers = self.layers_string();
        let (what, fix) = match from {
            ShapeFrom::Flag => (
                "--layers".to_string(),
                format!("use --layers {inputs},...,{classes}"),
            ),
            ShapeFrom::Checkpoint(p) => (
                format!("the network {layers} of checkpoint {}", p.display()),
                "use it on the kind of data it was trained on (--dataset, --data-dir)".to_string(),
            ),
        };
        if self.layers.len() < 2 || self.layers.len() > MAX_LAYERS {
            return Err(Error::config(format!(
                "{what} needs at least an input and an output size and at most {MAX_LAYERS} sizes, found {} sizes",
                self.layers.len()
            )));
        }
        for (i, &w) in self.layers.iter().enumerate() {
            if w == 0 || w > MAX_LAYER_WIDTH {
                return Err(Error::config(format!(
                    "{what}: layer {i} has width {w}; each width must be in 1..={MAX_LAYER_WIDTH}"
                )));
            }
        }
        let parameters = self.parameter_count();
        if parameters > MAX_PARAMETERS {
            return Err(Error::config(format!(
                "{what} has {parameters} weights and biases, more than the {MAX_PARAMETERS} (1 GiB of f32) gpu-mlp trains; use narrower or fewer hidden layers"
            )));
        }
        let first = self.layers[0];
        let last = *self.layers.last().unwrap_or(&0);
        if first != inputs {
            return Err(Error::config(format!(
                "{what} starts with {first} inputs but the data's images have {inputs} pixels; {fix}"
            )));
        }
        if last != classes {
            return Err(Error::config(format!(
                "{what} ends with {last} outputs but the data has {classes} classes; {fix}"
            )));
        }
        Ok(())
    }

    /// Weights and biases in all layers (saturating: a count past `usize::MAX` reads as it).
    pub fn parameter_count(&self) -> usize {
        self.shapes().fold(0usize, |sum, (i, o)| {
            sum.saturating_add(i.saturating_mul(o).saturating_add(o))
        })
    }

    /// Activations one sample holds in a forward pass: the sum of the layer widths.
    pub fn activations_per_sample(&self) -> usize {
        self.layers.iter().fold(0usize, |s, &w| s.saturating_add(w))
    }

    /// (inputs, outputs) of each weight layer.
    pub fn shapes(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.layers.windows(2).map(|w| (w[0], w[1]))
    }

    /// The textual form used by `--layers`: "784,30,10".
    pub fn layers_string(&self) -> String {
        self.layers
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// What each epoch evaluates and reports (the textbook's monitor_* flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Monitor {
    pub train_cost: bool,
    pub train_accuracy: bool,
    pub validation_cost: bool,
    pub validation_accuracy: bool,
    pub test_cost: bool,
    pub test_accuracy: bool,
}

impl Default for Monitor {
    fn default() -> Self {
        Monitor {
            train_cost: true,
            train_accuracy: false,
            validation_cost: false,
            validation_accuracy: true,
            test_cost: false,
            test_accuracy: true,
        }
    }
}

/// The hyper-parameters of a training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub network: NetworkConfig,
    /// Learning rate η of the first epoch; from then on the current η is the training state's
    /// (`train::TrainingState::eta`), which the schedule changes.
    pub eta: f32,
    /// L2 regularisation λ (weight decay factor 1 − ηλ/n).
    pub lambda: f32,
    /// Mini-batch size m.
    pub batch_size: usize,
    pub epochs: usize,
    pub optimizer: Optimizer,
    pub schedule: Schedule,
    /// Stop when validation accuracy has not improved for this many epochs.
    pub early_stop: Option<usize>,
    pub seed: u64,
    pub monitor: Monitor,
}

impl TrainConfig {
    /// The constants of one epoch's steps at learning rate `eta` on `n_train` samples.
    pub fn step_hyper(&self, eta: f32, n_train: usize) -> StepHyper {
        StepHyper {
            eta,
            lambda: self.lambda,
            n_train,
            batch_size: self.batch_size,
            optimizer: self.optimizer,
        }
    }

    /// Checks every number against its range; `n_train` is the training-set size.
    pub fn validate(&self, n_train: usize) -> Result<()> {
        if n_train == 0 {
            return Err(Error::config(
                "--train-size must be at least 1 (the run trains on the first N training images)",
            ));
        }
        ranges::ETA.check(self.eta, None)?;
        ranges::LAMBDA.check(self.lambda, None)?;
        if self.batch_size == 0 || self.batch_size > n_train {
            return Err(Error::config(format!(
                "--batch-size must be in 1..={n_train} (the training-set size), found {}",
                self.batch_size
            )));
        }
        let per_sample = self.network.activations_per_sample();
        if self.batch_size.saturating_mul(per_sample) > MAX_BATCH_ACTIVATIONS {
            return Err(Error::config(format!(
                "--batch-size {} with --layers {} holds {} × {per_sample} activations per mini-batch, more than {MAX_BATCH_ACTIVATIONS} (1 GiB of f32); use --batch-size {} or less",
                self.batch_size,
                self.network.layers_string(),
                self.batch_size,
                (MAX_BATCH_ACTIVATIONS / per_sample.max(1)).max(1)
            )));
        }
        if self.epochs > 1_000_000 {
            return Err(Error::config(format!(
                "--epochs must be at most 1000000, found {}",
                self.epochs
            )));
        }
        self.optimizer.validate()?;
        match self.schedule {
            Schedule::Constant => {}
            Schedule::Step { every, factor } => {
                if every == 0 {
                    return Err(Error::config(
                        "--schedule step needs --step-every >= 1, found 0",
                    ));
                }
                ranges::DECAY.check(factor, None)?;
            }
            Schedule::Plateau {
                patience, divisor, ..
            } => {
                if patience == 0 {
                    return Err(Error::config(
                        "--schedule plateau needs --patience >= 1, found 0",
                    ));
                }
                ranges::DIVISOR.check(divisor, None)?;
            }
        }
        if self.early_stop == Some(0) {
            return Err(Error::config("--early-stop must be at least 1 epoch"));
        }
        self.check_schedule_path()
    }
}

/// The constants of one epoch's steps handed to a backend: everything the update rule needs
/// besides the batch size m and the update count t of each step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepHyper {
    /// η for this epoch, after the schedule.
    pub eta: f32,
    pub lambda: f32,
    /// Training-set size n (the L2 term is ηλ/n).
    pub n_train: usize,
    pub batch_size: usize,
    pub optimizer: Optimizer,
}

/// The numbers one update step applies (10), in the order both backends hold them: the CPU's
/// update rule (`cpu::optimizer::UpdateRule`) carries them, and so does the GPU's per-step
/// record (`gpu::layout::StepRecord`, shaders/step.wgsl's `Step`), byte for byte.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct StepConstants {
    /// η.
    pub eta: f32,
    /// 1/m for this mini-batch of m samples.
    pub inv_rows: f32,
    /// λ/n, the L2 term's factor in g = (1/m)Σ∂C/∂W + (λ/n)W (0 for biases).
    pub decay: f32,
    /// Momentum's μ.
    pub momentum: f32,
    pub beta1: f32,
    pub beta2: f32,
    /// The optimizer's ε: Adam's, AdaGrad's or RMSprop's ([`Optimizer::update_epsilon`]).
    pub epsilon: f32,
    /// Adam's bias corrections 1 − β₁ᵗ and 1 − β₂ᵗ for this step's t.
    pub bias_correction1: f32,
    pub bias_correction2: f32,
    /// RMSprop's ρ.
    pub rho: f32,
}

/// xⁿ in f32 by repeated squaring, one rounding per multiply in a fixed order: the same bits
/// wherever it is called. `f32::powi` is not: its precision is unspecified, and where x and n
/// are known when compiling, LLVM folds it at higher precision. 1 − 0.999³ cancels, so one
/// ulp of 0.999³ is 2e-5 of Adam's bias correction, and a member, its solo run and the
/// self-test's reference must all see the same value. (The squaring order is compiler-rt's
/// `__powisf2`, which `powi` called at run time before.)
pub fn power(x: f32, mut n: u32) -> f32 {
    let (mut result, mut base) = (1.0f32, x);
    loop {
        if n & 1 == 1 {
            result *= base;
        }
        n >>= 1;
        if n == 0 {
            return result;
        }
        base *= base;
    }
}

impl StepHyper {
    /// The L2 term's factor λ/n in g = (1/m)Σ∂C/∂W + (λ/n)W (0 for an empty training set).
    pub fn decay(&self) -> f32 {
        if self.n_train == 0 {
            0.0
        } else {
            self.lambda / self.n_train as f32
        }
    }

    /// Adam's bias corrections (1 − β₁ᵗ, 1 − β₂ᵗ) for update number `t` (from 1), in f32 as
    /// both backends apply them.
    pub fn bias_corrections(&self, t: u64) -> (f32, f32) {
        let t = t.min(i32::MAX as u64) as u32;
        let o = &self.optimizer;
        (1.0 - power(o.beta1, t), 1.0 - power(o.beta2, t))
    }

    /// The constants of update number `t` (from 1) over a mini-batch of `rows` samples.
    pub fn constants(&self, rows: usize, t: u64) -> StepConstants {
        let o = self.optimizer;
        let (bias_correction1, bias_correction2) = self.bias_corrections(t);
        StepConstants {
            eta: self.eta,
            inv_rows: 1.0 / rows as f32,
            decay: self.decay(),
            momentum: o.momentum,
            beta1: o.beta1,
            beta2: o.beta2,
            epsilon: o.update_epsilon(),
            bias_correction1,
            bias_correction2,
            rho: o.rho,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::power;
    use std::hint::black_box;

    /// `power` is the product of its factors in squaring order, whether its arguments are known
    /// when compiling or only at run time (black_box hides them), so Adam's bias corrections
    /// are the same bits in every caller.
    #[test]
    fn power_is_repeated_squaring_at_run_time_and_compile_time() {
        let b = black_box(0.999f32);
        assert_eq!(power(b, black_box(3)).to_bits(), (b * (b * b)).to_bits());
        assert_eq!(power(0.999, 3).to_bits(), power(b, black_box(3)).to_bits());
        let b4 = (b * b) * (b * b);
        assert_eq!(power(b, black_box(5)).to_bits(), (b * b4).to_bits());
        assert_eq!(power(b, 0), 1.0);
        assert!((power(0.9, 1_000_000) - 0.0).abs() < f32::MIN_POSITIVE);
    }
}

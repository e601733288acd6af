//! Flag values that are each in range but whose products overflow f32: refused before training,
//! because a run that went on would save state that cannot be read back (∞ is written to JSON
//! as `null`, and the checkpoint reader refuses non-finite weights and optimizer state).
//!
//! Two bounds, both against f32's largest value F = 3.4028235e38:
//! - The schedule: η after every change the run can make must stay finite. A step schedule
//!   multiplies η by --decay every --step-every epochs, so over --epochs it reaches
//!   η·decay^⌊epochs/every⌋, computed here in f32 exactly as the epoch loop computes it.
//! - The first update. With n the training-set size, w the largest |parameter| at the start
//!   (the initial draw, or the resumed weights) and the data term of the gradient at most 1 per
//!   element (|∂C/∂w| = |δ·a| with a ∈ [0, 1] and |δ| ≤ 1 at the output for both costs), the
//!   gradient g = (1/m)Σ∂C/∂w + (λ/n)w has |g| ≤ 1 + (λ/n)w. SGD and momentum form η·g and
//!   w − η·g; Adam forms g² in its second moment (its step η·m̂/(√v̂+ε) is at most η), AdaGrad
//!   and RMSprop g² in their sums (their first steps, η·g/(√s+ε), are at most η/√(1−ρ)). Each
//!   must be below F.

use super::{OptimizerKind, Schedule, TrainConfig};
use crate::error::{Error, Result};

/// f32's largest finite value, as f64.
const F: f64 = f32::MAX as f64;

/// A flag's value as a user would write it: 1e30 rather than thirty-one digits.
fn num(v: f32) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-4..1e7).contains(&a) {
        format!("{v:e}")
    } else {
        v.to_string()
    }
}

impl TrainConfig {
    /// Refuses a step schedule whose η overflows f32 within the run's epochs.
    pub(super) fn check_schedule_path(&self) -> Result<()> {
        let Schedule::Step { every, factor } = self.schedule else {
            return Ok(());
        };
        if factor <= 1.0 || every == 0 {
            return Ok(());
        }
        let mut eta = self.eta;
        for k in 1..=self.epochs / every {
            eta *= factor;
            if !eta.is_finite() {
                return Err(Error::config(format!(
                    "--decay {} with --step-every {every} takes η from {} past f32's largest value (3.4e38) by epoch {}, within --epochs {}; use a --decay of at most 1 or fewer epochs",
                    num(factor),
                    num(self.eta),
                    k * every,
                    self.epochs
                )));
            }
        }
        Ok(())
    }

    /// Refuses η and λ whose first update overflows f32 (the module's bound), for `n_train`
    /// training images and parameters whose largest magnitude is `max_abs_param`.
    pub fn check_first_step(&self, n_train: usize, max_abs_param: f32) -> Result<()> {
        let hyper = self.step_hyper(self.eta, n_train);
        let decay = hyper.decay() as f64;
        let w = max_abs_param as f64;
        let g = 1.0 + decay * w;
        let eta = self.eta as f64;
        let (product, what, lambda_bound) = match self.optimizer.kind {
            OptimizerKind::Adam => (
                g * g,
                "Adam's second moment squares the gradient: (1 + λw/n)²",
                (F.sqrt() - 1.0) / w.max(f64::MIN_POSITIVE),
            ),
            OptimizerKind::Adagrad => (
                g * g,
                "AdaGrad's sum of squares squares the gradient: (1 + λw/n)²",
                (F.sqrt() - 1.0) / w.max(f64::MIN_POSITIVE),
            ),
            OptimizerKind::Rmsprop => (
                g * g,
                "RMSprop's mean square squares the gradient: (1 + λw/n)²",
                (F.sqrt() - 1.0) / w.max(f64::MIN_POSITIVE),
            ),
            OptimizerKind::Sgd | OptimizerKind::Momentum => (
                w + eta * g,
                "the step adds η·(1 + λw/n) to weights of up to w",
                ((F - w) / eta - 1.0) / w.max(f64::MIN_POSITIVE),
            ),
        };
        if product.is_finite() && product < F {
            return Ok(());
        }
        let lambda_max = lambda_bound * n_train as f64;
        let lambda_hint = if self.lambda > 0.0 && lambda_max > 0.0 {
            format!("; --lambda must be at most {lambda_max:.3e} here")
        } else {
            String::new()
        };
        Err(Error::config(format!(
            "--eta {} with --lambda {} over {n_train} training images overflows f32 in the first update: {what} = {product:.3e} with w = {w:.3} (the largest |parameter|), above f32's largest value 3.4e38{lambda_hint}",
            num(self.eta),
            num(self.lambda)
        )))
    }

    /// Whether training needs the validation set evaluated every epoch (early stopping and the
    /// plateau schedule watch its accuracy).
    pub fn needs_validation(&self) -> bool {
        self.early_stop.is_some() || matches!(self.schedule, Schedule::Plateau { .. })
    }

    /// [`TrainConfig::validate`] for `n_train` training images, and a validation set of
    /// `n_validation` images for the flags that need one.
    pub fn validate_data(&self, n_train: usize, n_validation: usize) -> Result<()> {
        self.validate(n_train)?;
        if n_validation == 0 && self.needs_validation() {
            let flag = if self.early_stop.is_some() {
                "--early-stop"
            } else {
                "--schedule plateau"
            };
            return Err(Error::config(format!(
                "{flag} watches validation accuracy, but --validation-size is 0; give a validation set (e.g. --validation-size 10000)"
            )));
        }
        Ok(())
    }
}

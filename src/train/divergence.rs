//! When a run has diverged: the rule the epoch loop applies after every epoch, before anything
//! of that epoch is saved, so that a diverged state never replaces a good checkpoint.
//!
//! A run has diverged after an epoch when any of these holds:
//! 1. **Not finite.** A weight, a bias or a monitored cost is NaN or ±∞.
//! 2. **Saturated.** A weight or bias has |value| > [`SATURATED`] = 2¹⁵. Inputs are pixel/255
//!    and hidden activations lie in [0, 1], so such a weight on the faintest pixel (1/255)
//!    alone moves z by more than 128, where σ(z) is exactly 0 or 1 in f32 (σ reaches 1 at
//!    z ≈ 17 and underflows below z ≈ −104) and σ' is 0: the unit passes no gradient, so
//!    training cannot bring it back. Trained networks here stay far below: the largest |w|
//!    measured over 60 epochs of nielsen, network2 (λ = 0), softmax, momentum and Adam runs was
//!    13; `--eta 1e6` passes 2¹⁵ in its first epoch.
//! 3. **Collapsed.** The validation accuracy, measured on at least [`MIN_COLLAPSE_SET`] images,
//!    is at chance, ≤ c + (1 − c)/20 for c = 1/classes (14.5% for 10 classes), after the best
//!    validation accuracy so far (this run's or, on resume, the checkpoint's) was well above
//!    it, ≥ c + (1 − c)/5 (28%). A network that predicts one class scores about c; one that
//!    learned something and fell back there has been destroyed by its updates. Measured on
//!    500 images the two thresholds lie 6.7 binomial standard errors apart for 10 classes
//!    (3.4 for 2), so sampling noise does not carry a healthy network across them. One epoch suffices: waiting for more would first
//!    save the collapsed state over the checkpoint.
//!
//! The error is [`Error::Diverged`] (exit code 4): the run stops, and the checkpoint keeps the
//! last state saved before the epoch that diverged.

use crate::error::Error;
use crate::model::Params;
use std::path::Path;

/// The largest |weight| or |bias| a healthy network has (2¹⁵; the module explains why).
pub const SATURATED: f32 = 32_768.0;

/// The fewest validation images the collapse rule judges by.
pub const MIN_COLLAPSE_SET: usize = 500;

/// Checks the parameters after epoch `epoch` (1-based), trained at `eta`.
pub fn check_params(params: &Params, epoch: usize, eta: f32) -> Result<(), Error> {
    if !params.is_finite() {
        return Err(diverged(epoch, "the weights became NaN or infinite", eta));
    }
    let largest = params.max_abs();
    if largest > SATURATED {
        return Err(diverged(
            epoch,
            &format!(
                "the weights saturated: the largest |weight| is {largest:.3e}, beyond {SATURATED} (2^15), where every sigmoid they feed is stuck at 0 or 1"
            ),
            eta,
        ));
    }
    Ok(())
}

/// Checks a monitored cost of epoch `epoch`.
pub fn check_cost(cost: f64, what: &str, epoch: usize, eta: f32) -> Result<(), Error> {
    if cost.is_finite() {
        Ok(())
    } else {
        Err(diverged(
            epoch,
            &format!("the {what} cost became NaN or infinite"),
            eta,
        ))
    }
}

/// The validation accuracy of epoch `epoch`, over `count` images, against the best so far
/// (`best` at epoch `best_epoch`), for a network with `classes` outputs.
pub fn check_collapse(
    accuracy: f64,
    count: usize,
    best: Option<(f64, usize)>,
    classes: usize,
    epoch: usize,
    eta: f32,
) -> Result<(), Error> {
    let Some((best, best_epoch)) = best else {
        return Ok(());
    };
    if count < MIN_COLLAPSE_SET || classes < 2 {
        return Ok(());
    }
    let chance = 1.0 / classes as f64;
    let at_chance = chance + (1.0 - chance) / 20.0;
    let well_above = chance + (1.0 - chance) / 5.0;
    if best >= well_above && accuracy <= at_chance {
        return Err(diverged(
            epoch,
            &format!(
                "validation accuracy collapsed to {:.2}%, chance level for {classes} classes, after {:.2}% in epoch {best_epoch}",
                accuracy * 100.0,
                best * 100.0
            ),
            eta,
        ));
    }
    Ok(())
}

fn diverged(epoch: usize, what: &str, eta: f32) -> Error {
    Error::Diverged(format!(
        "training diverged in epoch {epoch}: {what}; try a smaller --eta (this run used {eta})"
    ))
}

/// Adds to a divergence error what the `--save` checkpoint holds now: the epoch this run last
/// saved, or the file as it was before the run.
pub fn with_checkpoint_note(e: Error, save: Option<&Path>, saved_epoch: Option<usize>) -> Error {
    match (e, save) {
        (Error::Diverged(m), Some(path)) => Error::Diverged(match saved_epoch {
            Some(n) => format!(
                "{m}; {} keeps epoch {n}, the last state saved before it",
                path.display()
            ),
            None => format!(
                "{m}; nothing was saved: {} is as it was before this run",
                path.display()
            ),
        }),
        (e, _) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The collapse rule fires only for a fall to chance after being well above it, on a set
    /// large enough to tell.
    #[test]
    fn collapse_needs_a_fall_from_well_above_chance_on_enough_images() {
        let c = |acc, count, best| check_collapse(acc, count, best, 10, 5, 1.0).is_err();
        assert!(c(0.10, 1000, Some((0.708, 3))));
        assert!(c(0.145, 500, Some((0.28, 3))));
        // Not well above before, not at chance now, or too few images to tell.
        assert!(!c(0.10, 1000, Some((0.27, 3))));
        assert!(!c(0.10, 1000, None));
        assert!(!c(0.15, 1000, Some((0.9, 3))));
        assert!(!c(0.10, 499, Some((0.9, 3))));
        // Two classes: chance is 50%.
        assert!(check_collapse(0.52, 1000, Some((0.9, 1)), 2, 2, 1.0).is_err());
        assert!(check_collapse(0.53, 1000, Some((0.9, 1)), 2, 2, 1.0).is_ok());
    }
}

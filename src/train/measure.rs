//! What an epoch measured: the monitored sets' costs and accuracies, and whether the run
//! diverged. Shared by the solo loop and the members' loop, so a member's report is exactly
//! its solo run's.

use super::{divergence, EpochReport, TrainingState};
use crate::backend::{Evaluation, Split};
use crate::config::TrainConfig;
use crate::error::Result;
use crate::model::Params;

/// The report of the epoch just trained (`state` is still before it), from the parameters and
/// an evaluation of each split the run monitors (or needs: the validation set for early
/// stopping and the plateau schedule). An [`crate::Error::Diverged`] when the epoch diverged
/// by the rule of [`super::divergence`]. `eval_seconds` is left 0 for the caller to fill.
pub fn measure(
    cfg: &TrainConfig,
    state: &TrainingState,
    seconds: f64,
    params: &Params,
    mut evaluate: impl FnMut(Split) -> Result<Evaluation>,
) -> Result<EpochReport> {
    let epoch = state.epoch + 1;
    divergence::check_params(params, epoch, state.eta)?;
    let classes = params.layers.last().map_or(0, |l| l.outputs);
    let needs_validation = cfg.needs_validation();
    let l2 = 0.5 * cfg.lambda as f64 * params.weight_norm_sq();
    let mut report = EpochReport {
        epoch: state.epoch + 1,
        eta: state.eta,
        train_cost: None,
        train_accuracy: None,
        validation_cost: None,
        validation_accuracy: None,
        test_cost: None,
        test_accuracy: None,
        seconds,
        eval_seconds: 0.0,
    };
    let m = &cfg.monitor;
    for (split, want_cost, want_acc) in [
        (Split::Train, m.train_cost, m.train_accuracy),
        (
            Split::Validation,
            m.validation_cost,
            m.validation_accuracy || needs_validation,
        ),
        (Split::Test, m.test_cost, m.test_accuracy),
    ] {
        if !(want_cost || want_acc) {
            continue;
        }
        let e = evaluate(split)?;
        if e.count == 0 {
            continue;
        }
        let cost = e.cost_sum / e.count as f64 + l2 / e.count as f64;
        divergence::check_cost(cost, split.name(), epoch, state.eta)?;
        if split == Split::Validation {
            let best = state
                .best_validation_accuracy
                .map(|b| (b, state.best_epoch));
            divergence::check_collapse(e.accuracy(), e.count, best, classes, epoch, state.eta)?;
        }
        let (c, a) = match split {
            Split::Train => (&mut report.train_cost, &mut report.train_accuracy),
            Split::Validation => (&mut report.validation_cost, &mut report.validation_accuracy),
            Split::Test => (&mut report.test_cost, &mut report.test_accuracy),
        };
        *c = want_cost.then_some(cost);
        *a = want_acc.then_some(e.accuracy());
    }
    Ok(report)
}

/// The splits `cfg` evaluates after an epoch.
pub(crate) fn splits_needed(cfg: &TrainConfig) -> Vec<Split> {
    let m = &cfg.monitor;
    let validation = m.validation_cost || m.validation_accuracy || cfg.needs_validation();
    [
        (Split::Train, m.train_cost || m.train_accuracy),
        (Split::Validation, validation),
        (Split::Test, m.test_cost || m.test_accuracy),
    ]
    .into_iter()
    .filter(|&(_, wanted)| wanted)
    .map(|(s, _)| s)
    .collect()
}

//! What an epoch measured: the monitored sets' costs and accuracies, and whether the run
//! diverged. Shared by the solo loop and the members' loop, so a member's report is exactly
//! its solo run's.

use super::{EpochReport, TrainingState};
use crate::backend::{Evaluation, Split};
use crate::config::{Schedule, TrainConfig};
use crate::error::Result;
use crate::model::Params;

/// The report of the epoch just trained (`state` is still before it), from the parameters and
/// an evaluation of each split the run monitors (or needs: the validation set for early
/// stopping and the plateau schedule). `Ok(Err(what))` when the run diverged: `what` became
/// NaN or infinite. `eval_seconds` is left 0 for the caller to fill.
pub fn measure(
    cfg: &TrainConfig,
    state: &TrainingState,
    seconds: f64,
    params: &Params,
    mut evaluate: impl FnMut(Split) -> Result<Evaluation>,
) -> Result<std::result::Result<EpochReport, String>> {
    if !params.is_finite() {
        return Ok(Err("the weights".into()));
    }
    let needs_validation =
        cfg.early_stop.is_some() || matches!(cfg.schedule, Schedule::Plateau { .. });
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
        if !cost.is_finite() {
            return Ok(Err(format!("the {} cost", split.name())));
        }
        let (c, a) = match split {
            Split::Train => (&mut report.train_cost, &mut report.train_accuracy),
            Split::Validation => (&mut report.validation_cost, &mut report.validation_accuracy),
            Split::Test => (&mut report.test_cost, &mut report.test_accuracy),
        };
        *c = want_cost.then_some(cost);
        *a = want_acc.then_some(e.accuracy());
    }
    Ok(Ok(report))
}

/// The splits `cfg` evaluates after an epoch.
pub(crate) fn splits_needed(cfg: &TrainConfig) -> Vec<Split> {
    let m = &cfg.monitor;
    let validation = m.validation_cost
        || m.validation_accuracy
        || cfg.early_stop.is_some()
        || matches!(cfg.schedule, Schedule::Plateau { .. });
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

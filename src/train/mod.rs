//! The epoch loop: shuffling, monitoring and the divergence guard (`divergence`: NaN, saturated
//! weights, accuracy collapsed to chance), with the run's state
//! (`state`: epoch, current η, best so far, the schedule and early stopping) moved on after each
//! epoch. It drives any [`Backend`] and knows nothing of the terminal.

pub mod divergence;
pub mod header;
mod measure;
pub mod members;
mod overrides;
mod state;

pub use divergence::with_checkpoint_note;
pub use measure::measure;
pub use state::{StopReason, TrainingState};

use crate::backend::Backend;
use crate::config::TrainConfig;
use crate::data::epoch_order;
use crate::error::Result;
use serde::Serialize;
use std::time::Instant;

/// What one epoch measured. Accuracies are fractions in [0, 1]; costs are the mean cost per
/// sample plus the L2 term ½(λ/n)Σ‖w‖² (n the evaluated set's size), as the textbook reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EpochReport {
    pub epoch: usize,
    pub eta: f32,
    pub train_cost: Option<f64>,
    pub train_accuracy: Option<f64>,
    pub validation_cost: Option<f64>,
    pub validation_accuracy: Option<f64>,
    pub test_cost: Option<f64>,
    pub test_accuracy: Option<f64>,
    /// Seconds spent training (the mini-batch updates), evaluation excluded.
    pub seconds: f64,
    /// Seconds spent evaluating the monitored sets.
    pub eval_seconds: f64,
}

impl EpochReport {
    /// One human-readable line.
    pub fn line(&self, epochs: usize) -> String {
        let mut parts = vec![format!("epoch {:>3}/{epochs}", self.epoch)];
        let pct = |a: f64| format!("{:.2}%", a * 100.0);
        if let Some(c) = self.train_cost {
            parts.push(format!("train cost {c:.4}"));
        }
        if let Some(a) = self.train_accuracy {
            parts.push(format!("train {}", pct(a)));
        }
        if let Some(c) = self.validation_cost {
            parts.push(format!("validation cost {c:.4}"));
        }
        if let Some(a) = self.validation_accuracy {
            parts.push(format!("validation {}", pct(a)));
        }
        if let Some(c) = self.test_cost {
            parts.push(format!("test cost {c:.4}"));
        }
        if let Some(a) = self.test_accuracy {
            parts.push(format!("test {}", pct(a)));
        }
        parts.push(format!("η {}", self.eta));
        parts.push(format!("{:.2} s", self.seconds));
        parts.join("  ")
    }
}

/// The result of [`train`].
#[derive(Clone, Debug)]
pub struct Outcome {
    pub reports: Vec<EpochReport>,
    pub state: TrainingState,
    pub stop: StopReason,
}

/// Trains from `state` up to `cfg.epochs` epochs. After each epoch `on_epoch` sees the report,
/// the updated state and the backend (to print, save metrics or write a checkpoint); an
/// error from it stops training.
pub fn train<F>(
    cfg: &TrainConfig,
    backend: &mut dyn Backend,
    n_train: usize,
    mut state: TrainingState,
    mut on_epoch: F,
) -> Result<Outcome>
where
    F: FnMut(&EpochReport, &TrainingState, &mut dyn Backend) -> Result<()>,
{
    let mut reports = Vec::new();
    let mut stop = StopReason::Completed;
    while state.epoch < cfg.epochs {
        let epoch = state.epoch;
        let hyper = cfg.step_hyper(state.eta, n_train);
        let order = epoch_order(n_train, cfg.seed, epoch);
        let t0 = Instant::now();
        backend.train_batches(&order, &hyper)?;
        let seconds = t0.elapsed().as_secs_f64();

        let t1 = Instant::now();
        let params = backend.params()?;
        let mut report = measure(cfg, &state, seconds, &params, |split| {
            backend.evaluate(split)
        })?;
        report.eval_seconds = t1.elapsed().as_secs_f64();

        stop = state.finish_epoch(cfg, n_train, &report);
        on_epoch(&report, &state, backend)?;
        reports.push(report);
        if stop != StopReason::Completed {
            break;
        }
    }
    Ok(Outcome {
        reports,
        state,
        stop,
    })
}

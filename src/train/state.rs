//! Where a training run stands after an epoch — the epoch count, the schedule's current η, the
//! best validation accuracy so far — and how one epoch's result moves it on. Enough to continue a
//! run exactly: checkpoints store it (metadata `progress`) beside the run's configuration.

use super::EpochReport;
use crate::config::{Schedule, TrainConfig};
use serde::{Deserialize, Serialize};

/// The state of the epoch loop. `TrainConfig::eta` is the η a run starts with; from then on
/// the current η lives here alone, where the schedule changes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingState {
    /// Epochs completed.
    pub epoch: usize,
    /// η for the next epoch (after any schedule change).
    pub eta: f32,
    /// Best validation accuracy so far and the epoch (1-based) it came at.
    pub best_validation_accuracy: Option<f64>,
    pub best_epoch: usize,
    /// The test accuracy of that epoch, where the test set is monitored (absent in older
    /// checkpoints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_test_accuracy: Option<f64>,
    /// The last epoch's validation and test accuracies, where measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_validation_accuracy: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_test_accuracy: Option<f64>,
    /// Epochs since validation accuracy last improved.
    pub epochs_without_improvement: usize,
    /// How often the plateau schedule has divided η.
    pub eta_divisions: usize,
    /// How many training images the run trains on, so that a resume with other data flags is
    /// refused rather than silently continued on other data (absent in older checkpoints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_size: Option<usize>,
}

/// Why training ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    /// All requested epochs ran.
    Completed,
    /// Validation accuracy did not improve for `--early-stop` epochs.
    EarlyStop,
    /// The plateau schedule divided η as often as allowed.
    EtaExhausted,
}

impl TrainingState {
    /// The state before the first epoch.
    pub fn start(cfg: &TrainConfig) -> Self {
        TrainingState {
            epoch: 0,
            eta: cfg.eta,
            best_validation_accuracy: None,
            best_epoch: 0,
            best_test_accuracy: None,
            last_validation_accuracy: None,
            last_test_accuracy: None,
            epochs_without_improvement: 0,
            eta_divisions: 0,
            train_size: None,
        }
    }

    /// Continues a saved run under `cfg`, the saved configuration `saved_cfg` with the flags
    /// given on resume on top, and says what the flags change, one line each
    /// (`train::overrides`). An η equal to the saved run's own is no override, so re-running
    /// the original command with `--resume` keeps the schedule's current η; a different η
    /// replaces it. Every other setting comes from `cfg` anyway; a flag equal to the
    /// checkpoint's value changes nothing and is not reported.
    pub fn resume(
        saved: TrainingState,
        saved_cfg: &TrainConfig,
        cfg: &TrainConfig,
    ) -> (Self, Vec<String>) {
        let mut state = saved;
        let mut notes = Vec::new();
        if cfg.eta != saved_cfg.eta {
            notes.push(format!(
                "η: checkpoint {}, overridden by --eta {}",
                state.eta, cfg.eta
            ));
            state.eta = cfg.eta;
        }
        notes.extend(super::overrides::overrides(saved_cfg, cfg));
        (state, notes)
    }

    /// True when the epoch just finished is the best so far.
    pub fn improved(&self) -> bool {
        self.best_epoch == self.epoch && self.epoch > 0
    }

    /// Moves the state past epoch `self.epoch + 1`, which trained on `n_train` images and
    /// measured `report`: tracks the best epoch by validation accuracy (when it was
    /// evaluated), applies the schedule to η and says whether training stops here.
    pub fn finish_epoch(
        &mut self,
        cfg: &TrainConfig,
        n_train: usize,
        report: &EpochReport,
    ) -> StopReason {
        self.epoch += 1;
        self.train_size = Some(n_train);
        self.last_validation_accuracy = report.validation_accuracy;
        self.last_test_accuracy = report.test_accuracy;
        if let Some(acc) = report.validation_accuracy {
            if self.best_validation_accuracy.is_none_or(|b| acc > b) {
                self.best_validation_accuracy = Some(acc);
                self.best_epoch = self.epoch;
                self.best_test_accuracy = report.test_accuracy;
                self.epochs_without_improvement = 0;
            } else {
                self.epochs_without_improvement += 1;
            }
        }
        let mut stop = StopReason::Completed;
        match cfg.schedule {
            Schedule::Constant => {}
            Schedule::Step { every, factor } => {
                if self.epoch.is_multiple_of(every) {
                    self.eta *= factor;
                }
            }
            Schedule::Plateau {
                patience,
                divisor,
                max_divisions,
            } => {
                if self.epochs_without_improvement >= patience {
                    self.eta /= divisor;
                    self.eta_divisions += 1;
                    self.epochs_without_improvement = 0;
                    if self.eta_divisions > max_divisions {
                        stop = StopReason::EtaExhausted;
                    }
                }
            }
        }
        if let Some(patience) = cfg.early_stop {
            if stop == StopReason::Completed && self.epochs_without_improvement >= patience {
                stop = StopReason::EarlyStop;
            }
        }
        stop
    }
}

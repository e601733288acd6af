//! The epoch loop of a group of members: each member's epoch is exactly its solo run's (the
//! same order from its seed, the same step constants from its state, the same report), and the
//! members train together through one [`Members`] backend. A member that stops (early stopping,
//! the plateau schedule's end) or diverges drops out; the others go on.

use super::measure::{measure, splits_needed};
use super::{EpochReport, StopReason, TrainingState};
use crate::backend::{Evaluation, Members, Split};
use crate::config::TrainConfig;
use crate::data::epoch_order;
use crate::error::{Error, Result};
use std::time::Instant;

/// One member's run: its configuration and where it stands.
#[derive(Clone, Debug)]
pub struct MemberRun {
    pub cfg: TrainConfig,
    pub state: TrainingState,
    /// Why it stopped before its last epoch, once it has.
    pub stop: Option<StopReason>,
    /// What diverged, once something did.
    pub diverged: Option<String>,
    /// This process's reports of it (not those before a resume).
    pub reports: Vec<EpochReport>,
}

impl MemberRun {
    pub fn new(cfg: TrainConfig, state: TrainingState) -> Self {
        MemberRun {
            cfg,
            state,
            stop: None,
            diverged: None,
            reports: Vec::new(),
        }
    }

    /// Still training: epochs left, not stopped, not diverged.
    pub fn active(&self) -> bool {
        self.stop.is_none() && self.diverged.is_none() && self.state.epoch < self.cfg.epochs
    }
}

/// Trains every active member of `runs` to its last epoch on `backend` (member m of the
/// backend is `runs[m]`); after each member's epoch `on_epoch` sees the member's index, its run
/// (state and reports updated) and the backend, and after each epoch of the group
/// `after_epoch` sees every run. Active members must stand at one epoch.
pub fn train_members<F, G>(
    runs: &mut [MemberRun],
    backend: &mut dyn Members,
    n_train: usize,
    mut on_epoch: F,
    mut after_epoch: G,
) -> Result<()>
where
    F: FnMut(usize, &MemberRun, &mut dyn Members) -> Result<()>,
    G: FnMut(&[MemberRun]) -> Result<()>,
{
    if runs.len() != backend.count() {
        return Err(Error::internal(format!(
            "{} member runs on a backend of {} members",
            runs.len(),
            backend.count()
        )));
    }
    loop {
        let active: Vec<bool> = runs.iter().map(MemberRun::active).collect();
        let Some(first) = active.iter().position(|&a| a) else {
            return Ok(());
        };
        let epoch = runs[first].state.epoch;
        if runs
            .iter()
            .zip(&active)
            .any(|(r, &a)| a && r.state.epoch != epoch)
        {
            return Err(Error::internal(
                "the active members of a group stand at different epochs",
            ));
        }
        let orders: Vec<Vec<u32>> = runs
            .iter()
            .zip(&active)
            .map(|(r, &a)| {
                // An inactive member trains on nothing; its order only keeps the lengths equal.
                let seed = if a { r.cfg.seed } else { runs[first].cfg.seed };
                epoch_order(n_train, seed, epoch)
            })
            .collect();
        let order_refs: Vec<&[u32]> = orders.iter().map(Vec::as_slice).collect();
        let hypers: Vec<_> = runs
            .iter()
            .map(|r| r.cfg.step_hyper(r.state.eta, n_train))
            .collect();
        let t0 = Instant::now();
        backend.train_batches(&order_refs, &hypers, &active)?;
        let seconds = t0.elapsed().as_secs_f64();

        let t1 = Instant::now();
        let mut wanted: Vec<Split> = Vec::new();
        for (r, &a) in runs.iter().zip(&active) {
            if a {
                for s in splits_needed(&r.cfg) {
                    if !wanted.contains(&s) {
                        wanted.push(s);
                    }
                }
            }
        }
        let mut evaluations: Vec<(Split, Vec<Evaluation>)> = Vec::new();
        for split in wanted {
            evaluations.push((split, backend.evaluate(split)?));
        }
        let eval_seconds = t1.elapsed().as_secs_f64();
        for m in 0..runs.len() {
            if !active[m] {
                continue;
            }
            let params = backend.params(m)?;
            let run = &mut runs[m];
            let measured = measure(&run.cfg, &run.state, seconds, &params, |split| {
                evaluations
                    .iter()
                    .find(|(s, _)| *s == split)
                    .and_then(|(_, e)| e.get(m).cloned())
                    .ok_or_else(|| Error::internal(format!("no {} evaluation", split.name())))
            });
            let mut report = match measured {
                Ok(report) => report,
                // A member that diverged drops out; the others go on.
                Err(Error::Diverged(why)) => {
                    run.diverged = Some(why);
                    continue;
                }
                Err(e) => return Err(e),
            };
            report.eval_seconds = eval_seconds;
            let stop = run.state.finish_epoch(&run.cfg, n_train, &report);
            if stop != StopReason::Completed {
                run.stop = Some(stop);
            }
            run.reports.push(report);
            on_epoch(m, &runs[m], backend)?;
        }
        after_epoch(runs)?;
    }
}

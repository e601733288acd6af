//! The one small trait through which the trainer drives either backend. The CPU reference
//! (`cpu`) and the GPU backend (`gpu`) implement it and never import each other; tests hold one
//! against the other.

use crate::config::StepHyper;
use crate::error::{Error, Result};
use crate::model::{OptimizerState, Params};

/// Which of the three data sets an evaluation reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Split {
    Train,
    Validation,
    Test,
}

impl Split {
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Validation => "validation",
            Split::Test => "test",
        }
    }
}

/// The result of running a whole split through the network.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// Σ C(a, y) over the split's samples, without the L2 term.
    pub cost_sum: f64,
    /// Samples whose arg-max output equals the label.
    pub correct: usize,
    pub count: usize,
    /// The arg-max class of each sample, in the split's order.
    pub predictions: Vec<u8>,
}

impl Evaluation {
    /// The evaluation of an empty split.
    pub fn empty() -> Self {
        Evaluation {
            cost_sum: 0.0,
            correct: 0,
            count: 0,
            predictions: Vec::new(),
        }
    }

    /// How many samples this evaluation and `other`, of the same split, predict differently.
    pub fn predictions_differing(&self, other: &Evaluation) -> usize {
        self.predictions
            .iter()
            .zip(&other.predictions)
            .filter(|(a, b)| a != b)
            .count()
    }

    pub fn accuracy(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.correct as f64 / self.count as f64
        }
    }
}

/// A trainer backend. It owns the network's parameters, the optimizer state and whatever copy
/// of the data it needs; the trainer hands it the epoch's sample order and the step constants.
pub trait Backend {
    /// A short description, e.g. "cpu (2 threads)" or "vulkan: llvmpipe (LLVM 15.0.7, 256 bits)".
    fn describe(&self) -> String;

    /// Mini-batch updates over `order`, a list of training-set indices: consecutive chunks of
    /// `hyper.batch_size` form the mini-batches (the last one may be shorter and then has its
    /// own m). The training loop hands over a whole epoch's order at once; the progress bar
    /// hands it over in slices of whole mini-batches, which make the same updates. Both
    /// backends first check the order with [`check_batches`].
    fn train_batches(&mut self, order: &[u32], hyper: &StepHyper) -> Result<()>;

    /// Runs every sample of `split` through the network.
    fn evaluate(&mut self, split: Split) -> Result<Evaluation>;

    /// The current parameters (a copy; on a GPU, a readback).
    fn params(&mut self) -> Result<Params>;

    /// The current optimizer state.
    fn optimizer_state(&mut self) -> Result<OptimizerState>;

    /// Replaces parameters and optimizer state (resuming from a checkpoint).
    fn load_state(&mut self, params: &Params, state: &OptimizerState) -> Result<()>;

    /// Seconds per call of each kernel of a training step, where the backend can time its
    /// kernels (a GPU with timestamp queries); `None` otherwise.
    fn kernel_timings(&self) -> Option<Vec<(String, f64)>> {
        None
    }

    /// GPU dispatches recorded so far; `None` for the CPU.
    fn dispatches(&self) -> Option<u64> {
        None
    }
}

/// The contract of [`Backend::train_batches`], checked the same way by every backend: a
/// mini-batch of at least one sample, and an order of at most `n_train` indices (one epoch),
/// each inside the training set of `n_train` images.
pub fn check_batches(order: &[u32], n_train: usize, batch_size: usize) -> Result<()> {
    if batch_size == 0 {
        return Err(Error::config("--batch-size must be at least 1"));
    }
    if order.len() > n_train {
        return Err(Error::config(format!(
            "the epoch's order lists {} samples but the training set has {n_train}",
            order.len()
        )));
    }
    if let Some(bad) = order.iter().find(|&&i| i as usize >= n_train) {
        return Err(Error::config(format!(
            "the epoch's order names sample {bad} but the training set has {n_train}"
        )));
    }
    Ok(())
}

/// Several networks of one shape (layer sizes, batch size, output, cost and optimizer kind)
/// trained side by side, each with its own parameters, sample order and step constants: a
/// group of a sweep. Member m computes exactly what one [`Backend`] given m's parameters,
/// orders and constants computes, bit for bit on the same backend and adapter.
pub trait Members {
    /// A short description of where the members train.
    fn describe(&self) -> String;

    /// How many members.
    fn count(&self) -> usize;

    /// For each member m with `active[m]`, mini-batch updates over `orders[m]` with constants
    /// `hypers[m]`, as [`Backend::train_batches`]; every order has the same length and every
    /// hyper the same batch size. Inactive members are left as they are.
    fn train_batches(
        &mut self,
        orders: &[&[u32]],
        hypers: &[StepHyper],
        active: &[bool],
    ) -> Result<()>;

    /// Every member's evaluation of `split`.
    fn evaluate(&mut self, split: Split) -> Result<Vec<Evaluation>>;

    /// Member `m`'s parameters.
    fn params(&mut self, m: usize) -> Result<Params>;

    /// Member `m`'s optimizer state.
    fn optimizer_state(&mut self, m: usize) -> Result<OptimizerState>;

    /// Replaces member `m`'s parameters and optimizer state.
    fn load_state(&mut self, m: usize, params: &Params, state: &OptimizerState) -> Result<()>;

    /// GPU dispatches recorded so far; `None` for the CPU.
    fn dispatches(&self) -> Option<u64> {
        None
    }

    /// Seconds per call of each GPU kernel, timed over the first steps of the last epoch (as
    /// [`Backend::kernel_timings`]); `None` for the CPU and adapters without timestamps.
    fn kernel_timings(&self) -> Option<Vec<(String, f64)>> {
        None
    }
}

/// That `m` names one of a group's `members`.
pub fn check_member(m: usize, members: usize) -> Result<()> {
    if m < members {
        Ok(())
    } else {
        Err(Error::internal(format!(
            "member {m} of a group of {members}"
        )))
    }
}

/// A group of one driven as one [`Backend`] (a solo run on the GPU): each call is the one
/// member's, and a group of any other size is an internal error.
pub mod solo {
    use super::{Evaluation, Members, Split};
    use crate::config::StepHyper;
    use crate::error::{Error, Result};
    use crate::model::{OptimizerState, Params};

    fn only_member(group: &dyn Members) -> Result<()> {
        match group.count() {
            1 => Ok(()),
            m => Err(Error::internal(format!(
                "a group of {m} members driven as one backend"
            ))),
        }
    }

    /// [`super::Backend::train_batches`].
    pub fn train_batches(group: &mut dyn Members, order: &[u32], hyper: &StepHyper) -> Result<()> {
        only_member(group)?;
        group.train_batches(&[order], std::slice::from_ref(hyper), &[true])
    }

    /// [`super::Backend::evaluate`].
    pub fn evaluate(group: &mut dyn Members, split: Split) -> Result<Evaluation> {
        only_member(group)?;
        group
            .evaluate(split)?
            .pop()
            .ok_or_else(|| Error::internal("no evaluation of the one member"))
    }

    /// [`super::Backend::params`].
    pub fn params(group: &mut dyn Members) -> Result<Params> {
        only_member(group)?;
        group.params(0)
    }

    /// [`super::Backend::optimizer_state`].
    pub fn optimizer_state(group: &mut dyn Members) -> Result<OptimizerState> {
        only_member(group)?;
        group.optimizer_state(0)
    }

    /// [`super::Backend::load_state`].
    pub fn load_state(
        group: &mut dyn Members,
        params: &Params,
        state: &OptimizerState,
    ) -> Result<()> {
        only_member(group)?;
        group.load_state(0, params, state)
    }
}

/// The checks every [`Members::train_batches`] makes first: one order, one set of constants
/// and one flag per member, orders of one length, one batch size, and each order as
/// [`check_batches`] wants it.
pub fn check_member_batches(
    members: usize,
    orders: &[&[u32]],
    hypers: &[StepHyper],
    active: &[bool],
    n_train: usize,
) -> Result<()> {
    if orders.len() != members || hypers.len() != members || active.len() != members {
        return Err(Error::internal(format!(
            "{members} members were given {} orders, {} step constants and {} flags",
            orders.len(),
            hypers.len(),
            active.len()
        )));
    }
    let len = orders.first().map_or(0, |o| o.len());
    let batch = hypers.first().map_or(1, |h| h.batch_size);
    if orders.iter().any(|o| o.len() != len) || hypers.iter().any(|h| h.batch_size != batch) {
        return Err(Error::internal(
            "the members of a group need orders of one length and one batch size",
        ));
    }
    for order in orders {
        check_batches(order, n_train, batch)?;
    }
    Ok(())
}

/// Members split over several groups, each trained as one (a sweep larger than one group of
/// the per-layer GPU kernels holds): member m of the whole is member m − (members before its
/// group) of its group.
pub struct Stacked(pub Vec<Box<dyn Members>>);

impl Stacked {
    /// The group member `m` is in, and its index there.
    fn locate(&mut self, m: usize) -> Result<(&mut Box<dyn Members>, usize)> {
        let mut first = 0;
        for g in self.0.iter_mut() {
            let count = g.count();
            if m < first + count {
                return Ok((g, m - first));
            }
            first += count;
        }
        Err(Error::internal(format!("member {m} of {first}")))
    }
}

impl Members for Stacked {
    fn describe(&self) -> String {
        match self.0.first() {
            Some(g) if self.0.len() == 1 => g.describe(),
            Some(g) => format!("{}, in {} groups", g.describe(), self.0.len()),
            None => "no members".into(),
        }
    }

    fn count(&self) -> usize {
        self.0.iter().map(|g| g.count()).sum()
    }

    fn train_batches(
        &mut self,
        orders: &[&[u32]],
        hypers: &[StepHyper],
        active: &[bool],
    ) -> Result<()> {
        let total = self.count();
        if orders.len() != total || hypers.len() != total || active.len() != total {
            return Err(Error::internal(
                "one order, step constants and flag per member",
            ));
        }
        let mut first = 0;
        for g in self.0.iter_mut() {
            let r = first..first + g.count();
            g.train_batches(&orders[r.clone()], &hypers[r.clone()], &active[r.clone()])?;
            first = r.end;
        }
        Ok(())
    }

    fn evaluate(&mut self, split: Split) -> Result<Vec<Evaluation>> {
        let mut all = Vec::with_capacity(self.count());
        for g in self.0.iter_mut() {
            all.extend(g.evaluate(split)?);
        }
        Ok(all)
    }

    fn params(&mut self, m: usize) -> Result<Params> {
        let (g, i) = self.locate(m)?;
        g.params(i)
    }

    fn optimizer_state(&mut self, m: usize) -> Result<OptimizerState> {
        let (g, i) = self.locate(m)?;
        g.optimizer_state(i)
    }

    fn load_state(&mut self, m: usize, params: &Params, state: &OptimizerState) -> Result<()> {
        let (g, i) = self.locate(m)?;
        g.load_state(i, params, state)
    }

    fn dispatches(&self) -> Option<u64> {
        self.0.iter().map(|g| g.dispatches()).sum()
    }

    /// The first group's: every group runs the same kernels, the last one maybe with fewer
    /// members.
    fn kernel_timings(&self) -> Option<Vec<(String, f64)>> {
        self.0.first().and_then(|g| g.kernel_timings())
    }
}

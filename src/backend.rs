//! The one small trait through which the trainer drives either backend. The CPU reference
//! (`cpu`) and the GPU backend (`gpu`) implement it and never import each other; tests hold one
//! against the other.

use crate::config::StepHyper;
use crate::error::Result;
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

    /// One epoch of mini-batch updates. `order` lists training-set indices; consecutive chunks
    /// of `hyper.batch_size` form the mini-batches (the last one may be shorter and then has its
    /// own m).
    fn train_epoch(&mut self, order: &[u32], hyper: &StepHyper) -> Result<()>;

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
}

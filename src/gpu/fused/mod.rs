//! The fused path for small networks: one workgroup runs a member's whole training step —
//! gather, forward, δᴸ, backward, update — with activations and errors in workgroup memory, and
//! loops over a chunk of steps inside one dispatch, so an epoch of the nielsen preset is a
//! handful of dispatches instead of 35,000. Several members of one shape train in the same
//! dispatches, one workgroup each.
//!
//! - `shape`: whether a network takes this path, and the constants its kernels are built with;
//! - `pipelines`: the training and evaluation pipelines;
//! - `trainer`: [`FusedBackend`], the members' buffers and the dispatch loops;
//! - this file: the [`Backend`] (one member) and [`Members`] implementations.

mod pipelines;
pub(crate) mod shape;
mod trainer;

pub use shape::FusedShape;
pub use trainer::FusedBackend;

use crate::backend::{solo, Backend, Evaluation, Members, Split};
use crate::config::{NetworkConfig, StepHyper};
use crate::data::Splits;
use crate::error::Result;
use crate::gpu::context::GpuContext;
use crate::model::{OptimizerState, Params};
use shape::{plan, FusedNeeds};

#[cfg(test)]
pub(crate) use pipelines::{example_specs, SHADER_FILES};

/// The fused shape for `net` trained in batches of `batch` on `data` with this adapter, or why
/// it takes the per-layer kernels (one line, for `--verbose`). Never depends on how many
/// members train together.
pub fn fused_plan(
    ctx: &GpuContext,
    net: &NetworkConfig,
    batch: usize,
    data: &Splits,
) -> std::result::Result<FusedShape, String> {
    let limits = ctx.device.limits();
    let words = data.inputs().div_ceil(4).max(1) as u64;
    let largest = [&data.train, &data.validation, &data.test]
        .iter()
        .map(|s| s.len() as u64 * words * 4)
        .max()
        .unwrap_or(0);
    let needs = FusedNeeds {
        workgroup_bytes: limits.max_compute_workgroup_storage_size as u64,
        max_binding: limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size),
        largest_set_bytes: largest,
        invocations: limits.max_compute_invocations_per_workgroup,
        storage_buffers: limits.max_storage_buffers_per_shader_stage,
    };
    plan(&net.layers, batch, data.inputs(), ctx.is_software(), &needs)
}

fn split_index(split: Split) -> usize {
    match split {
        Split::Train => 0,
        Split::Validation => 1,
        Split::Test => 2,
    }
}

impl FusedBackend {
    /// One member, as the [`Backend`] of a solo run.
    pub fn solo(
        ctx: &GpuContext,
        net: &NetworkConfig,
        shape: FusedShape,
        params: Params,
        optimizer: crate::config::OptimizerKind,
        data: &Splits,
    ) -> Result<FusedBackend> {
        FusedBackend::new(ctx, net, shape, &[params], optimizer, data)
    }

    /// Dispatches recorded so far.
    pub fn dispatch_count(&self) -> u64 {
        self.dispatches
    }

    /// Test hook: the next command buffer is not submitted, as a driver that drops one (Metal
    /// after a GPU timeout) leaves it; training must then fail rather than go on.
    #[doc(hidden)]
    pub fn drop_next_submit(&mut self) {
        self.drop_next_submit = true;
    }

    /// Test hook: `Some(n)` puts n steps in every training dispatch (the last of a run fewer;
    /// at most what the adapter's loop budget lets one hold) instead of about
    /// `DISPATCH_SECONDS` of them; `None` paces them by time again.
    #[doc(hidden)]
    pub fn fix_steps_per_dispatch(&mut self, steps: Option<usize>) {
        self.fixed_steps = steps;
    }

    /// The most training steps one dispatch may hold here (what the loop budget of a software
    /// adapter allows; 10,000 elsewhere).
    pub fn max_steps_per_dispatch(&self) -> usize {
        self.max_steps
    }

    /// Test hook: forget the loop budget probed on a software adapter, so that a dispatch may
    /// hold more steps than the driver runs whole (each must then fail, not give garbage).
    #[doc(hidden)]
    pub fn lift_loop_budget(&mut self) {
        self.max_steps = trainer::MAX_PER_DISPATCH;
        self.max_tiles = trainer::MAX_PER_DISPATCH;
    }

    fn check_member(&self, m: usize) -> Result<()> {
        crate::backend::check_member(m, self.members)
    }
}

impl Members for FusedBackend {
    fn describe(&self) -> String {
        format!("{} (fused)", self.ctx.describe())
    }

    fn count(&self) -> usize {
        self.members
    }

    fn dispatches(&self) -> Option<u64> {
        Some(self.dispatches)
    }

    fn train_batches(
        &mut self,
        orders: &[&[u32]],
        hypers: &[StepHyper],
        active: &[bool],
    ) -> Result<()> {
        self.train_members(orders, hypers, active)
    }

    fn evaluate(&mut self, split: Split) -> Result<Vec<Evaluation>> {
        self.evaluate_members(split_index(split))
    }

    fn params(&mut self, m: usize) -> Result<Params> {
        self.check_member(m)?;
        self.read_member(m, None)
    }

    fn optimizer_state(&mut self, m: usize) -> Result<OptimizerState> {
        self.check_member(m)?;
        let slots = (0..self.optimizer.state_slots())
            .map(|s| self.read_member(m, Some(s)))
            .collect::<Result<Vec<_>>>()?;
        Ok(OptimizerState {
            step: self.updates[m],
            slots,
        })
    }

    fn load_state(&mut self, m: usize, params: &Params, state: &OptimizerState) -> Result<()> {
        self.check_member(m)?;
        params.check_shape(&self.net.layers, "the loaded parameters")?;
        state.check_shape(&self.net.layers, self.optimizer)?;
        self.write_member(m, None, params);
        for (s, slot) in state.slots.iter().enumerate() {
            self.write_member(m, Some(s), slot);
        }
        self.updates[m] = state.step;
        self.ctx.wait("loading the parameters")
    }
}

impl Backend for FusedBackend {
    fn describe(&self) -> String {
        Members::describe(self)
    }

    fn dispatches(&self) -> Option<u64> {
        Some(self.dispatches)
    }

    fn train_batches(&mut self, order: &[u32], hyper: &StepHyper) -> Result<()> {
        solo::train_batches(self, order, hyper)
    }

    fn evaluate(&mut self, split: Split) -> Result<Evaluation> {
        solo::evaluate(self, split)
    }

    fn params(&mut self) -> Result<Params> {
        solo::params(self)
    }

    fn optimizer_state(&mut self) -> Result<OptimizerState> {
        solo::optimizer_state(self)
    }

    fn load_state(&mut self, params: &Params, state: &OptimizerState) -> Result<()> {
        solo::load_state(self, params, state)
    }
}

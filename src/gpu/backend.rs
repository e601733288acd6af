//! The [`Backend`] (one network) and [`Members`] (a group of a sweep) traits for
//! [`GpuBackend`]: training hands `record.rs` one step record per member and mini-batch;
//! evaluation runs a split through in batches and reads back one cost and one prediction per
//! sample and member.

use super::buffers;
use super::layout::StepRecord;
use super::timing::PROFILED_STEPS;
use super::trainer::{split_index, GpuBackend};
use crate::backend::{check_member_batches, solo, Backend, Evaluation, Members, Split};
use crate::config::StepHyper;
use crate::error::Result;
use crate::model::{OptimizerState, Params};

impl GpuBackend {
    /// Trains every member over its order (all of one length). A member not `active` gets
    /// records that leave it as it is (`frozen`); it still takes its share of every dispatch,
    /// with the rows the others have.
    fn train_members(
        &mut self,
        orders: &[&[u32]],
        hypers: &[StepHyper],
        active: &[bool],
    ) -> Result<()> {
        let members = self.bufs.members;
        let n_train = self.bufs.sets[0].len;
        check_member_batches(members, orders, hypers, active, n_train)?;
        let len = orders.first().map_or(0, |o| o.len());
        if len == 0 || !active.iter().any(|&a| a) {
            return Ok(());
        }
        let batch = hypers[0].batch_size.min(len);
        let steps = len.div_ceil(batch);
        let window = self.steps_per_run();
        self.ensure_capacity(batch, steps.min(window))?;
        for (m, order) in orders.iter().enumerate() {
            if active[m] {
                let at = (m * n_train * 4) as u64;
                self.ctx
                    .queue
                    .write_buffer(&self.bufs.order, at, bytemuck::cast_slice(order));
            }
        }
        for first in (0..steps).step_by(window) {
            let last = (first + window).min(steps);
            let mut records = Vec::with_capacity((last - first) * members);
            for s in first..last {
                let rows = batch.min(len - s * batch);
                for (m, hyper) in hypers.iter().enumerate() {
                    // Adam's t counts updates from 1.
                    let t = self.updates[m] + s as u64 + 1;
                    let record = StepRecord::training(hyper, rows, m * n_train + s * batch, t);
                    records.push(StepRecord {
                        frozen: u32::from(!active[m]),
                        ..record
                    });
                }
            }
            let profiled = if first == 0 { PROFILED_STEPS } else { 0 };
            self.run_steps(&records, 0, true, profiled)?;
        }
        for (m, a) in active.iter().enumerate() {
            if *a {
                self.updates[m] += steps as u64;
            }
        }
        Ok(())
    }

    /// Every member's evaluation of set `set`.
    fn evaluate_members(&mut self, set: usize) -> Result<Vec<Evaluation>> {
        let members = self.bufs.members;
        let n = self.bufs.sets[set].len;
        if n == 0 {
            let none = || Evaluation {
                cost_sum: 0.0,
                correct: 0,
                count: 0,
                predictions: Vec::new(),
            };
            return Ok((0..members).map(|_| none()).collect());
        }
        let rows = self.bufs.rows;
        let batches = n.div_ceil(rows);
        let window = self.steps_per_run();
        for first in (0..batches).step_by(window) {
            let last = (first + window).min(batches);
            let mut records = Vec::with_capacity((last - first) * members);
            for b in first..last {
                let record = StepRecord::sequential(rows.min(n - b * rows), b * rows);
                records.extend(std::iter::repeat_n(record, members));
            }
            self.run_steps(&records, set, false, 0)?;
        }
        let e = &self.bufs.eval;
        let stride = (self.bufs.eval_stride * 4) as u64;
        let bytes = n as u64 * 4;
        let mut sources = Vec::with_capacity(2 * members);
        for m in 0..members as u64 {
            sources.push((&e.costs, m * stride, bytes));
            sources.push((&e.predictions, m * stride, bytes));
        }
        let data = buffers::read_back_ranges(&self.ctx, &sources)?;
        let labels = &self.bufs.sets[set].host_labels;
        Ok(data
            .chunks_exact(2)
            .map(|pair| {
                let costs = buffers::to_f32(&pair[0]);
                let predictions: Vec<u8> =
                    buffers::to_u32(&pair[1]).iter().map(|&p| p as u8).collect();
                let cost_sum = costs.iter().map(|&c| c as f64).sum();
                let correct = predictions
                    .iter()
                    .zip(labels)
                    .filter(|(p, l)| p == l)
                    .count();
                Evaluation {
                    cost_sum,
                    correct,
                    count: n,
                    predictions,
                }
            })
            .collect())
    }

    /// The most steps one run writes into the step buffer at once (an epoch of more runs as
    /// several, with the same results): the buffer stays within the device's largest buffer,
    /// its dynamic offsets within u32, and its host copy within 64 MiB, whatever the members.
    fn steps_per_run(&self) -> usize {
        let bytes = self
            .ctx
            .device
            .limits()
            .max_buffer_size
            .min(u32::MAX as u64)
            .min(64 << 20);
        let fit = (bytes / self.bufs.step_stride).max(1) as usize;
        self.options.steps_per_run.unwrap_or(fit).clamp(1, fit)
    }

    fn check_member(&self, m: usize) -> Result<()> {
        crate::backend::check_member(m, self.bufs.members)
    }

    fn member_state(&self, m: usize) -> Result<OptimizerState> {
        self.check_member(m)?;
        let slots = (0..self.optimizer.state_slots())
            .map(|s| self.read_layers(m, Some(s)))
            .collect::<Result<Vec<_>>>()?;
        Ok(OptimizerState {
            step: self.updates[m],
            slots,
        })
    }

    fn load_member(&mut self, m: usize, params: &Params, state: &OptimizerState) -> Result<()> {
        self.check_member(m)?;
        let sizes = self.sizes();
        params.check_shape(&sizes, "the loaded parameters")?;
        state.check_shape(&sizes, self.optimizer)?;
        self.write_layers(m, params, &state.slots);
        self.updates[m] = state.step;
        self.ctx.wait("loading the parameters")
    }
}

impl Backend for GpuBackend {
    fn kernel_timings(&self) -> Option<Vec<(String, f64)>> {
        GpuBackend::kernel_timings(self)
    }

    fn describe(&self) -> String {
        self.ctx.describe()
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

impl Members for GpuBackend {
    fn describe(&self) -> String {
        format!("{} (members in the same dispatches)", self.ctx.describe())
    }

    fn count(&self) -> usize {
        self.bufs.members
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
        self.read_layers(m, None)
    }

    fn optimizer_state(&mut self, m: usize) -> Result<OptimizerState> {
        self.member_state(m)
    }

    fn load_state(&mut self, m: usize, params: &Params, state: &OptimizerState) -> Result<()> {
        self.load_member(m, params, state)
    }

    fn dispatches(&self) -> Option<u64> {
        Some(self.dispatches)
    }

    fn kernel_timings(&self) -> Option<Vec<(String, f64)>> {
        GpuBackend::kernel_timings(self)
    }
}

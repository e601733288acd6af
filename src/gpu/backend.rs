//! The [`Backend`] trait for [`GpuBackend`]: training hands `record.rs` one step record per
//! mini-batch; evaluation runs a split through in batches and reads back one cost and one
//! prediction per sample.

use super::buffers;
use super::layout::StepRecord;
use super::timing::PROFILED_STEPS;
use super::trainer::{split_index, GpuBackend};
use crate::backend::{check_batches, Backend, Evaluation, Split};
use crate::config::StepHyper;
use crate::error::Result;
use crate::model::{OptimizerState, Params};

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
        check_batches(order, self.bufs.sets[0].len, hyper.batch_size)?;
        if order.is_empty() {
            return Ok(());
        }
        let batch = hyper.batch_size.min(order.len());
        let steps = order.len().div_ceil(batch);
        self.ensure_capacity(batch, steps)?;
        self.ctx
            .queue
            .write_buffer(&self.bufs.order, 0, bytemuck::cast_slice(order));
        let records: Vec<StepRecord> = (0..steps)
            .map(|s| {
                let rows = batch.min(order.len() - s * batch);
                // Adam's t counts updates from 1.
                StepRecord::training(hyper, rows, s * batch, self.updates + s as u64 + 1)
            })
            .collect();
        self.run_steps(&records, 0, true, PROFILED_STEPS)?;
        self.updates += records.len() as u64;
        Ok(())
    }

    fn evaluate(&mut self, split: Split) -> Result<Evaluation> {
        let set = split_index(split);
        let n = self.bufs.sets[set].len;
        if n == 0 {
            return Ok(Evaluation {
                cost_sum: 0.0,
                correct: 0,
                count: 0,
                predictions: Vec::new(),
            });
        }
        let rows = self.bufs.rows;
        let records: Vec<StepRecord> = (0..n.div_ceil(rows))
            .map(|b| StepRecord::sequential(rows.min(n - b * rows), b * rows))
            .collect();
        self.run_steps(&records, set, false, 0)?;
        let e = &self.bufs.eval[set];
        let data = buffers::read_back(
            &self.ctx,
            &[(&e.costs, n as u64 * 4), (&e.predictions, n as u64 * 4)],
        )?;
        let costs = buffers::to_f32(&data[0]);
        let predictions: Vec<u8> = buffers::to_u32(&data[1]).iter().map(|&p| p as u8).collect();
        let cost_sum = costs.iter().map(|&c| c as f64).sum();
        let correct = predictions
            .iter()
            .zip(&self.bufs.sets[set].host_labels)
            .filter(|(p, l)| p == l)
            .count();
        Ok(Evaluation {
            cost_sum,
            correct,
            count: n,
            predictions,
        })
    }

    fn params(&mut self) -> Result<Params> {
        self.read_layers(None)
    }

    fn optimizer_state(&mut self) -> Result<OptimizerState> {
        let slots = (0..self.optimizer.state_slots())
            .map(|s| self.read_layers(Some(s)))
            .collect::<Result<Vec<_>>>()?;
        Ok(OptimizerState {
            step: self.updates,
            slots,
        })
    }

    fn load_state(&mut self, params: &Params, state: &OptimizerState) -> Result<()> {
        let sizes = self.sizes();
        params.check_shape(&sizes, "the loaded parameters")?;
        state.check_shape(&sizes, self.optimizer)?;
        self.write_layers(params, &state.slots);
        self.updates = state.step;
        self.ctx.wait("loading the parameters")
    }
}

//! How many training steps and evaluation tiles one fused dispatch may hold on a software
//! adapter, probed on the adapter itself.
//!
//! llvmpipe (Mesa's gallivm, which lavapipe and the GL llvmpipe driver share) gives each run
//! of a shader one budget of 65,535 loop trips, shared by every loop in it
//! (`LP_MAX_TGSI_LOOP_ITERATIONS`; `lp_exec_endloop` in gallivm/lp_bld_ir_common.c takes one
//! off at the end of every trip and leaves the loop once none is left). Once it is spent,
//! every loop ends after its current trip, without an error, and the rest of the run
//! computes garbage. The budget belongs to one SIMD row of invocations (8 lanes with 256-bit
//! vectors); a trip counts while any lane of the row loops. The fused kernels loop over many
//! steps or tiles in one run, so a long dispatch runs out. Measured on Mesa 22.3.6 (LLVM 15):
//! - 784-30-10 at batch 10 (workgroups of 32) went wrong from the 34th step of a dispatch,
//!   and from the 23rd once a loop of 1,000 trips was added to each step;
//! - `eval --kernels fused` of 10,000 samples in one dispatch scored 20% where the CPU
//!   scored 83%.
//!
//! What a step costs depends on which loops the driver unrolls, which no count of the
//! kernel's source predicts: one that takes every loop as run is ten times too high. So
//! `probe_loop_budget` asks the driver. It dispatches 1, 2, 4, … steps (then tiles) to one
//! workgroup, on the zeroed parameters before the members' are written, until one comes back
//! cut short (`loops_ran_whole` in fused_common.wgsl sees it), runs about
//! twice [`DISPATCH_SECONDS`] (the pace never asks for more; the first dispatch, which also
//! carries the pipeline's first use, is not timed), or reaches [`MAX_PER_DISPATCH`]. The last
//! count that ran whole is the cap: a power of two, so up to half the budget goes unused (at
//! worst twice the dispatches; on lavapipe dispatches of 8–12 steps measured as fast as ones
//! of 32, BENCHMARKS.md), where a bisection would cost more probing than it saves. A step's
//! trips do not depend on the data, only on its rows, and the probe's steps have the most
//! rows a step has. Every later dispatch checks its own loops too (`run_chunks`), so a driver
//! with a budget that no probe ran on is an error, not garbage.

use super::*;
use crate::gpu::submits::FIRST_STEP_TIMEOUT;

impl FusedBackend {
    /// Sets `max_steps` and `max_tiles` to what this adapter's loop budget lets one dispatch
    /// run. Leaves the parameters and optimizer slots zeroed, as they were.
    pub(super) fn probe_loop_budget(&mut self) -> Result<()> {
        let began = Instant::now();
        let record = StepRecord {
            rows: self.shape.rows as u32,
            ..StepRecord::default()
        };
        // Member 0's workgroup alone, as if it were the only member: record s is step s's.
        let steps = self.probe(
            None,
            MAX_PER_DISPATCH,
            |k| FusedChunk::new(0, k, 1, 0),
            &record,
        )?;
        if steps == 0 {
            return Err(self.over_budget("one training step", self.shape.rows));
        }
        self.max_steps = steps;
        self.clear_parameters();
        // The largest set has the most tiles: no evaluation asks more of one dispatch.
        let (set, len) = self
            .sets
            .iter()
            .enumerate()
            .map(|(i, s)| (i, s.set.len))
            .max_by_key(|&(i, len)| (len, std::cmp::Reverse(i)))
            .unwrap_or((0, 0));
        let tiles = len.div_ceil(self.eval_shape.rows).min(MAX_PER_DISPATCH);
        if tiles > 0 {
            let fit = self.probe(Some(set), tiles, |k| FusedChunk::new(0, k, 1, len), &record)?;
            if fit == 0 {
                return Err(self.over_budget("evaluating one tile", self.eval_shape.rows));
            }
            // A probe that held for every tile of the largest set caps nothing.
            self.max_tiles = if fit >= tiles { MAX_PER_DISPATCH } else { fit };
        }
        if std::env::var_os("GPU_MLP_TRACE").is_some() {
            eprintln!(
                "fused: the loop budget holds {} steps and {} tiles a dispatch (probed in {:.3} s)",
                self.max_steps,
                self.max_tiles,
                began.elapsed().as_secs_f64()
            );
        }
        Ok(())
    }

    /// The most items (1, 2, 4, …, at most `limit`) one dispatch of member 0's workgroup ran
    /// whole; 0 if not even one.
    fn probe(
        &mut self,
        eval: Option<usize>,
        limit: usize,
        chunk: impl Fn(usize) -> FusedChunk,
        record: &StepRecord,
    ) -> Result<usize> {
        let mut held = 0;
        let mut k = 1;
        loop {
            if eval.is_none() {
                let records = vec![*record; k];
                self.ensure_capacity(records.len(), 1);
                self.ctx
                    .queue
                    .write_buffer(&self.records, 0, bytemuck::cast_slice(&records));
            }
            let began = Instant::now();
            if !self.probe_dispatch(eval, chunk(k))? {
                return Ok(held);
            }
            held = k;
            if std::env::var_os("GPU_MLP_TRACE").is_some() {
                eprintln!(
                    "fused: probe of {k} {} ran whole in {:.4} s",
                    if eval.is_some() { "tiles" } else { "steps" },
                    began.elapsed().as_secs_f64()
                );
            }
            // The first dispatch also carries the pipeline's first use (llvmpipe compiles
            // then): its time says nothing. Past twice the pace's aim (a margin for a busy
            // machine) no dispatch will ask for more.
            let slow = k > 1 && began.elapsed().as_secs_f64() >= 2.0 * DISPATCH_SECONDS;
            if k >= limit || slow {
                return Ok(held);
            }
            k = (2 * k).min(limit);
        }
    }

    /// Runs `chunk` on member 0's workgroup alone; whether its loops ran whole (an error if
    /// it did not run at all).
    fn probe_dispatch(&mut self, eval: Option<usize>, chunk: FusedChunk) -> Result<bool> {
        let cut = self.dispatch_chunks(&[chunk], eval, 1, FIRST_STEP_TIMEOUT, 1)?;
        Ok(cut[0] == 0)
    }

    /// Zeroes the parameters and the optimizer slots (a probe trained member 0 on them).
    fn clear_parameters(&self) {
        let mut encoder = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("fused clear"),
            });
        for buffer in std::iter::once(&self.params).chain(&self.slots) {
            encoder.clear_buffer(buffer, 0, None);
        }
        self.ctx.queue.submit([encoder.finish()]);
    }

    fn over_budget(&self, what: &str, rows: usize) -> Error {
        Error::Gpu(format!(
            "on {}, {what} of {rows} rows of the {} network takes more loop trips than the driver runs in one shader (llvmpipe: 65,535), so the fused kernels cannot run it here; use --kernels per-layer",
            self.ctx.describe(),
            self.net.layers_string(),
        ))
    }
}

//! Recording steps: the list of dispatches one step makes (a product too large for one
//! dispatch split into several, `chunks.rs`), and the loop that writes a batch of step
//! records, records their dispatches into command buffers of bounded duration (the first few
//! in timed passes when profiling), each ending in its submit mark, submits them, waits once
//! with a timeout and checks the marks (`submits.rs`).

use super::chunks::{self, ChunkTable};
use super::groups::Groups;
use super::input_slots::{InputSlots, SlotPlan};
use super::layout::{StepRecord, ROW_GROUP, STEP_BYTES};
use super::multiply::{groups_of, Multiply};
use super::timing::Profiler;
use super::trainer::GpuBackend;
use crate::error::Result;

/// One dispatch of a step.
pub(super) struct Dispatch<'a> {
    pub name: &'static str,
    pub layer: usize,
    pub pipeline: &'a wgpu::ComputePipeline,
    pub group: &'a wgpu::BindGroup,
    pub workgroups: [u32; 3],
    /// The first workgroup row of its product's grid that the dispatch covers (`chunks.rs`).
    pub group_offset: u32,
}

/// Where a step's first layer finds its input batch (`input_slots.rs`).
#[derive(Clone, Copy, Debug)]
pub(super) enum Input {
    /// Gathered by the step's own first dispatch, from row 0 of each member's block.
    Own,
    /// In slot `slot` of the groups' input slots. `gather` > 0: the step's first dispatch
    /// gathers the batches of `gather` steps from this one on, of at most `rows` rows.
    Slot {
        slot: usize,
        gather: usize,
        rows: usize,
    },
}

/// Records `dispatches` into `pass`, all reading the step's records at byte `offset` of the step
/// buffer bound by `step`, each its chunk record from `chunks`. The one place a dispatch is
/// encoded.
fn encode(
    pass: &mut wgpu::ComputePass<'_>,
    step: &wgpu::BindGroup,
    offset: u32,
    chunks: &ChunkTable,
    dispatches: &[Dispatch<'_>],
) -> Result<u64> {
    for d in dispatches {
        pass.set_bind_group(0, step, &[offset, chunks.dynamic_offset(d.group_offset)?]);
        pass.set_pipeline(d.pipeline);
        pass.set_bind_group(1, d.group, &[]);
        pass.dispatch_workgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
    }
    Ok(dispatches.len() as u64)
}

impl GpuBackend {
    /// The dispatches of one step over `rows` samples of set `set`: training (forward,
    /// backward, update) or evaluation (forward, evaluate), its first layer's input as
    /// `input` says. Each covers every member, one z layer of its grid each.
    pub(super) fn step_dispatches<'a>(
        &'a self,
        rows: usize,
        set: usize,
        training: bool,
        input: Input,
    ) -> Result<Vec<Dispatch<'a>>> {
        let k = &self.kernels;
        let g = &self.groups;
        let layers = &self.bufs.layers;
        let last = layers.len() - 1;
        let members = self.bufs.members as u32;
        let rowwise = [groups_of(rows, ROW_GROUP), 1, members];
        // A dispatch does every member's share of its product: the bound on its work is split
        // between them (where a product is split changes no result, chunks.rs).
        let max_macs = (self.options.max_dispatch_macs / members as u64).max(1);
        // A product C[M,N] (sums of K) through `multiply`: one dispatch per chunk of its grid.
        let product = |list: &mut Vec<Dispatch<'a>>, d: Dispatch<'a>, multiply: Multiply, mnk| {
            let (m, n, k) = mnk;
            for c in chunks::split(multiply, m, n, k, max_macs) {
                list.push(Dispatch {
                    workgroups: [c.grid[0], c.grid[1], members],
                    group_offset: c.group_offset,
                    ..d
                });
            }
        };
        let (gathered, gather_rows, slot) = match input {
            Input::Own => (1, rows, None),
            Input::Slot { slot, gather, rows } => {
                let slots = g.input_slots.as_ref().ok_or_else(|| {
                    crate::error::Error::internal("a step in a slot before the slots were built")
                })?;
                (gather, rows, Some((slots, slot)))
            }
        };
        // Layer l's forward and gradient bind groups: layer 0's of the step's slot.
        let forward_group = |l: usize| match slot {
            Some((s, j)) if l == 0 => &s.forward[j],
            _ => &g.forward[l],
        };
        let update_group = |l: usize| match slot {
            Some((s, j)) if l == 0 => &s.update[j],
            _ => &g.update[l],
        };
        let mut list = Vec::new();
        if gathered > 0 {
            list.push(Dispatch {
                name: "gather",
                layer: 0,
                pipeline: &k.gather.pipeline,
                group: &g.gather[set],
                // One workgroup per (step, member, sample) (gather.wgsl).
                workgroups: [1, gather_rows as u32, members * gathered as u32],
                group_offset: 0,
            });
        }
        // Training with a sigmoid output: δᴸ in the output layer's forward epilogue.
        let folded = match (&g.forward_delta, k.forward_delta(layers[last].forward)) {
            (Some(group), Some(kernel)) if training && self.options.output_delta_in_forward => {
                Some((group, kernel))
            }
            _ => None,
        };
        for (l, layer) in layers.iter().enumerate() {
            let hidden = l != last;
            let d = match folded {
                Some((group, kernel)) if !hidden => Dispatch {
                    name: "forward_output_delta",
                    layer: l,
                    pipeline: &kernel.pipeline,
                    group,
                    workgroups: [0; 3],
                    group_offset: 0,
                },
                _ => Dispatch {
                    name: if hidden {
                        "forward_hidden"
                    } else {
                        "forward_output"
                    },
                    layer: l,
                    pipeline: &k.forward(hidden, layer.forward)?.pipeline,
                    group: forward_group(l),
                    workgroups: [0; 3],
                    group_offset: 0,
                },
            };
            // Z[rows, out] = A[rows, in]·Wᵀ
            let mnk = (rows, layer.outputs, layer.inputs);
            product(&mut list, d, layer.forward, mnk);
        }
        if !training {
            list.push(Dispatch {
                name: "evaluate",
                layer: last,
                pipeline: &k.evaluate.pipeline,
                group: &g.evaluate[set],
                workgroups: rowwise,
                group_offset: 0,
            });
            return Ok(list);
        }
        if folded.is_none() {
            list.push(Dispatch {
                name: "output_delta",
                layer: last,
                pipeline: &k.output_delta.pipeline,
                group: &g.output_delta,
                workgroups: rowwise,
                group_offset: 0,
            });
        }
        let general = k.general();
        for (l, layer) in layers.iter().enumerate().rev() {
            if let Some(group) = &g.backprop[l] {
                let d = Dispatch {
                    name: "backprop",
                    layer: l,
                    pipeline: &k.backprop.pipeline,
                    group,
                    workgroups: [0; 3],
                    group_offset: 0,
                };
                // D[rows, in] = δ[rows, out]·W
                product(&mut list, d, general, (rows, layer.inputs, layer.outputs));
            }
            let d = Dispatch {
                name: "update",
                layer: l,
                pipeline: &k.update(layer.gradient)?.pipeline,
                group: update_group(l),
                workgroups: [0; 3],
                group_offset: 0,
            };
            // G[out, in + 1] = δᵀ·[A_prev | 1], summed over the rows
            product(
                &mut list,
                d,
                layer.gradient,
                (layer.outputs, layer.inputs + 1, rows),
            );
        }
        Ok(list)
    }

    /// How many steps' batches one gather fills in a training run of batches of `rows` rows
    /// from set `set` (1: each step gathers its own), with the slots' bind groups built and
    /// the set's gather told where the slots are.
    fn input_slots(&mut self, rows: usize, set: usize) -> Result<usize> {
        let limits = self.ctx.device.limits();
        let plan = SlotPlan::new(
            rows,
            self.bufs.rows,
            self.bufs.layers[0].inputs,
            limits.min_storage_buffer_offset_alignment as u64,
            self.bufs.members,
            limits.max_compute_workgroups_per_dimension,
        );
        let plan = SlotPlan {
            count: plan.count.min(self.options.gather_steps.max(1)),
            ..plan
        };
        if plan.count == 1 {
            return Ok(1);
        }
        if self.groups.input_slots.as_ref().map(|s| s.plan) != Some(plan) {
            let slots = InputSlots::new(&self.ctx, &self.kernels, &self.bufs, plan)?;
            self.groups.input_slots = Some(slots);
        }
        self.bufs.sets[set].set_slot_rows(&self.ctx, plan.slot_rows);
        Ok(plan.count)
    }

    /// Writes the chunk record of every dispatch the steps of `records` make into the chunk table
    /// (once per distinct batch size), building group 0 again if the table grew.
    fn include_chunks(&mut self, records: &[StepRecord], set: usize, training: bool) -> Result<()> {
        let mut rows: Vec<u32> = Vec::new();
        for r in records {
            if !rows.contains(&r.rows) {
                rows.push(r.rows);
            }
        }
        let mut offsets = Vec::new();
        for r in rows {
            let list = self.step_dispatches(r as usize, set, training, Input::Own)?;
            offsets.extend(list.iter().map(|d| d.group_offset));
        }
        if self.bufs.chunks.include(&self.ctx, offsets) {
            self.groups = Groups::new(&self.ctx, &self.kernels, &self.bufs)?;
        }
        Ok(())
    }

    /// Writes `records` (each step's members' records side by side: step s of member m is
    /// `records[s·members + m]`, every member's of one step with the same rows) into the step
    /// buffer and records the steps into command buffers of about `submits::SUBMIT_SECONDS` of
    /// work (at most `steps_per_submit` steps), each ending in its submit mark; the first
    /// `profiled` steps get one timed pass per dispatch. Waits once at the end, with a
    /// timeout, and checks that every command buffer ran (`submits.rs`).
    pub(super) fn run_steps(
        &mut self,
        records: &[StepRecord],
        set: usize,
        training: bool,
        profiled: usize,
    ) -> Result<()> {
        let members = self.bufs.members;
        if !records.len().is_multiple_of(members) {
            return Err(crate::error::Error::internal(format!(
                "{} step records for {members} members",
                records.len()
            )));
        }
        self.ensure_capacity(self.bufs.rows, records.len() / members)?;
        self.include_chunks(records, set, training)?;
        let (mut run, records) = self.begin_run(records, members, training);
        let stride = self.bufs.step_stride as usize;
        let record = STEP_BYTES as usize;
        let mut bytes = vec![0u8; records.len() / members * stride];
        for (i, r) in records.iter().enumerate() {
            let at = i / members * stride + i % members * record;
            bytes[at..at + record].copy_from_slice(bytemuck::bytes_of(r));
        }
        // One record per step from here on: member 0's, whose rows every member shares.
        let records: Vec<StepRecord> = records.iter().step_by(members).copied().collect();
        if !bytes.is_empty() {
            self.ctx.queue.write_buffer(&self.bufs.steps, 0, &bytes);
        }
        // Training: the batches of up to `slots` steps a gather (input_slots.rs).
        let widest = records.iter().map(|r| r.rows as usize).max();
        let slots = match widest {
            Some(rows) if training => self.input_slots(rows, set)?,
            _ => 1,
        };
        let input = |s: usize| {
            if slots == 1 {
                return Input::Own;
            }
            let slot = s % slots;
            let gather = if slot == 0 {
                slots.min(records.len() - s)
            } else {
                0
            };
            let rows = records[s..s + gather].iter().map(|r| r.rows as usize);
            Input::Slot {
                slot,
                gather,
                rows: rows.max().unwrap_or(0),
            }
        };
        let profiled = if self.ctx.timestamps && self.options.profile {
            profiled.min(records.len())
        } else {
            0
        };
        let mut profiler = match records.first() {
            Some(first) if profiled > 0 => {
                let per_step = self
                    .step_dispatches(first.rows as usize, set, training, input(0))?
                    .len();
                Some(Profiler::new(&self.ctx, profiled * per_step))
            }
            _ => None,
        };
        let mut dispatched = 0;
        while let Some(steps) = self.next_submit(&run) {
            let (start, end) = (steps.start, steps.end);
            let step = &self.groups.step;
            let chunks = &self.bufs.chunks;
            let mut encoder =
                self.ctx
                    .device
                    .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                        label: Some("steps"),
                    });
            // The first `profiled` steps: each dispatch in a pass of its own, timestamped.
            let timed_end = end.min(profiled.max(start));
            if let Some(p) = profiler.as_mut() {
                for (s, r) in records.iter().enumerate().take(timed_end).skip(start) {
                    for d in self.step_dispatches(r.rows as usize, set, training, input(s))? {
                        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                            label: Some(d.name),
                            timestamp_writes: p.next_writes(format!("{}[{}]", d.name, d.layer)),
                        });
                        dispatched += encode(&mut pass, step, (s * stride) as u32, chunks, &[d])?;
                    }
                }
            }
            // The rest: one pass for all of them, and the command buffer's mark last.
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("steps"),
                    timestamp_writes: None,
                });
                for (s, r) in records.iter().enumerate().take(end).skip(timed_end) {
                    let list = self.step_dispatches(r.rows as usize, set, training, input(s))?;
                    dispatched += encode(&mut pass, step, (s * stride) as u32, chunks, &list)?;
                }
                let mark = [self.submit_mark()];
                dispatched += encode(&mut pass, step, ((end - 1) * stride) as u32, chunks, &mark)?;
            }
            if let Some(p) = profiler.as_mut() {
                if end >= profiled {
                    p.resolve(&mut encoder);
                }
            }
            self.submit(&mut run, encoder, steps)?;
        }
        self.finish_run(run)?;
        self.dispatches += dispatched;
        if let Some(p) = profiler {
            self.timings = Some(p.read(&self.ctx)?);
        }
        Ok(())
    }
}

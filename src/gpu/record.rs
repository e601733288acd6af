//! Recording steps: the list of dispatches one step makes, and the loop that writes a batch of
//! step records, records their dispatches into command buffers (the first few in timed passes
//! when profiling), submits them and waits once.

use super::layout::{StepRecord, ROW_GROUP, STEP_BYTES};
use super::multiply::groups_of;
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
}

/// Records `dispatches` into `pass`, all reading the step record at byte `offset` of the step
/// buffer bound by `step`. The one place a dispatch is encoded.
fn encode(
    pass: &mut wgpu::ComputePass<'_>,
    step: &wgpu::BindGroup,
    offset: u32,
    dispatches: &[Dispatch<'_>],
) {
    pass.set_bind_group(0, step, &[offset]);
    for d in dispatches {
        pass.set_pipeline(d.pipeline);
        pass.set_bind_group(1, d.group, &[]);
        pass.dispatch_workgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
    }
}

impl GpuBackend {
    /// The dispatches of one step over `rows` samples of set `set`: training (forward,
    /// backward, update) or evaluation (forward, evaluate).
    pub(super) fn step_dispatches(
        &self,
        rows: usize,
        set: usize,
        training: bool,
    ) -> Result<Vec<Dispatch<'_>>> {
        let k = &self.kernels;
        let g = &self.groups;
        let layers = &self.bufs.layers;
        let last = layers.len() - 1;
        let rowwise = [groups_of(rows, ROW_GROUP), 1, 1];
        let mut list = vec![Dispatch {
            name: "gather",
            layer: 0,
            pipeline: &k.gather.pipeline,
            group: &g.gather[set],
            workgroups: [
                groups_of(self.bufs.sets[set].words_per_image, ROW_GROUP),
                rows as u32,
                1,
            ],
        }];
        for (l, layer) in layers.iter().enumerate() {
            let hidden = l != last;
            list.push(Dispatch {
                name: if hidden {
                    "forward_hidden"
                } else {
                    "forward_output"
                },
                layer: l,
                pipeline: &k.forward(hidden, layer.forward)?.pipeline,
                group: &g.forward[l],
                workgroups: layer.forward.grid(rows, layer.outputs),
            });
        }
        if !training {
            list.push(Dispatch {
                name: "evaluate",
                layer: last,
                pipeline: &k.evaluate.pipeline,
                group: &g.evaluate[set],
                workgroups: rowwise,
            });
            return Ok(list);
        }
        list.push(Dispatch {
            name: "output_delta",
            layer: last,
            pipeline: &k.output_delta.pipeline,
            group: &g.output_delta,
            workgroups: rowwise,
        });
        let general = k.general();
        for (l, layer) in layers.iter().enumerate().rev() {
            if let Some(group) = &g.backprop[l] {
                list.push(Dispatch {
                    name: "backprop",
                    layer: l,
                    pipeline: &k.backprop.pipeline,
                    group,
                    workgroups: general.grid(rows, layer.inputs),
                });
            }
            list.push(Dispatch {
                name: "update",
                layer: l,
                pipeline: &k.update.pipeline,
                group: &g.update[l],
                workgroups: general.grid(layer.outputs, layer.inputs + 1),
            });
        }
        Ok(list)
    }

    /// Writes `records` into the step buffer and records them, `steps_per_submit` to a command
    /// buffer; the first `profiled` steps get one timed pass per dispatch. Waits once at the end.
    pub(super) fn run_steps(
        &mut self,
        records: &[StepRecord],
        set: usize,
        training: bool,
        profiled: usize,
    ) -> Result<()> {
        self.ensure_capacity(self.bufs.rows, records.len())?;
        let stride = self.bufs.step_stride as usize;
        let mut bytes = vec![0u8; records.len() * stride];
        for (i, r) in records.iter().enumerate() {
            bytes[i * stride..i * stride + STEP_BYTES as usize]
                .copy_from_slice(bytemuck::bytes_of(r));
        }
        if !bytes.is_empty() {
            self.ctx.queue.write_buffer(&self.bufs.steps, 0, &bytes);
        }
        let profiled = if self.ctx.timestamps && self.options.profile {
            profiled.min(records.len())
        } else {
            0
        };
        let mut profiler = match records.first() {
            Some(first) if profiled > 0 => {
                let per_step = self
                    .step_dispatches(first.rows as usize, set, training)?
                    .len();
                Some(Profiler::new(&self.ctx, profiled * per_step))
            }
            _ => None,
        };
        let per_submit = self.options.steps_per_submit.max(1);
        let trace = std::env::var_os("GPU_MLP_TRACE").is_some();
        let began = std::time::Instant::now();
        let step = &self.groups.step;
        for start in (0..records.len()).step_by(per_submit) {
            let end = (start + per_submit).min(records.len());
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
                    for d in self.step_dispatches(r.rows as usize, set, training)? {
                        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                            label: Some(d.name),
                            timestamp_writes: p.next_writes(format!("{}[{}]", d.name, d.layer)),
                        });
                        encode(&mut pass, step, (s * stride) as u32, &[d]);
                    }
                }
            }
            // The rest: one pass for all of them.
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("steps"),
                    timestamp_writes: None,
                });
                for (s, r) in records.iter().enumerate().take(end).skip(timed_end) {
                    let list = self.step_dispatches(r.rows as usize, set, training)?;
                    encode(&mut pass, step, (s * stride) as u32, &list);
                }
            }
            if let Some(p) = profiler.as_mut() {
                if end >= profiled {
                    p.resolve(&mut encoder);
                }
            }
            self.ctx.queue.submit([encoder.finish()]);
            self.ctx.check("recording the steps")?;
        }
        let recorded = began.elapsed();
        self.ctx
            .wait(if training { "training" } else { "evaluating" })?;
        if trace {
            eprintln!(
                "gpu: {} steps recorded and submitted in {:.3} s, done after {:.3} s",
                records.len(),
                recorded.as_secs_f64(),
                began.elapsed().as_secs_f64()
            );
        }
        if let Some(p) = profiler {
            self.timings = Some(p.read(&self.ctx)?);
        }
        Ok(())
    }
}

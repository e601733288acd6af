//! [`FusedBackend`]: one or more members of one small network on the device, trained by the
//! fused kernels. All members' parameters share one buffer (member m's block at
//! m·member_floats), each optimizer slot another of the same layout; member m's sample order
//! sits at m·n_train of the order buffer. An epoch is a handful of dispatches: each covers a
//! chunk of steps for every member (one workgroup each), sized to about
//! [`DISPATCH_SECONDS`] of work so a display GPU's watchdog never fires, and on a software
//! adapter to no more steps than its loop budget lets one dispatch run (`loop_budget`).
//! The seconds a step (or an evaluation tile) takes are learnt as the per-layer path learns
//! them ([`Pacer`]): the first two dispatches of a kind are waited for and timed one by one
//! (the first also carries the pipelines' first use and the data's upload), and every run
//! after them updates the figure.

use super::pipelines::FusedPipelines;
use super::shape::FusedShape;
use crate::backend::Evaluation;
use crate::config::{NetworkConfig, OptimizerKind, StepHyper};
use crate::data::Splits;
use crate::error::{Error, Result};
use crate::gpu::buffers;
use crate::gpu::context::GpuContext;
use crate::gpu::dataset::DeviceSet;
use crate::gpu::kernels::bind;
use crate::gpu::layout::{FusedChunk, StepRecord, STEP_BYTES};
use crate::gpu::submits::{Pacer, StepKind, SUBMIT_SECONDS};
use crate::model::{Layer, Params};
use std::time::{Duration, Instant};

mod loop_budget;
mod members;

/// Seconds of work one dispatch aims at: well inside the ~2 s watchdog of display GPUs
/// (Windows TDR) and short enough that a dropped or hung dispatch is noticed quickly.
pub(crate) const DISPATCH_SECONDS: f64 = 0.05;
/// The most steps (or evaluation tiles) one dispatch holds.
pub(super) const MAX_PER_DISPATCH: usize = 10_000;
/// The most dispatches one command buffer holds.
const MAX_DISPATCHES_PER_SUBMIT: usize = 256;

/// A data set for the fused kernels: its images in one binding, its labels, and where the
/// members' costs and predictions of it land.
struct FusedSet {
    set: DeviceSet,
    costs: wgpu::Buffer,
    predictions: wgpu::Buffer,
    group: wgpu::BindGroup,
}

/// Members of one small network, trained by the fused kernels.
pub struct FusedBackend {
    pub(super) ctx: GpuContext,
    pub(super) net: NetworkConfig,
    pub(super) optimizer: OptimizerKind,
    pub(super) members: usize,
    pub(super) shape: FusedShape,
    eval_shape: FusedShape,
    pipes: FusedPipelines,
    params: wgpu::Buffer,
    slots: Vec<wgpu::Buffer>,
    orders: wgpu::Buffer,
    /// Two u32 per member: the dispatches it finished and those the driver cut short
    /// (fused_common.wgsl's `mark_done`).
    marks: wgpu::Buffer,
    sets: Vec<FusedSet>,
    records: wgpu::Buffer,
    records_capacity: usize,
    chunks: wgpu::Buffer,
    chunks_capacity: usize,
    chunk_stride: u64,
    train_group: wgpu::BindGroup,
    chunk_group: wgpu::BindGroup,
    /// Updates each member has taken (Adam's t of its last step).
    pub(super) updates: Vec<u64>,
    /// Seconds per training step and per evaluation tile, learnt.
    pacer: Pacer,
    /// The most training steps and evaluation tiles one dispatch may hold: on a software
    /// adapter, what its loop budget lets run (probed by `loop_budget`).
    pub(super) max_steps: usize,
    pub(super) max_tiles: usize,
    /// Dispatches recorded so far (for `bench --json`).
    pub(super) dispatches: u64,
    /// Test hook: leave the next command buffer unsubmitted, as a driver that drops one does.
    pub(super) drop_next_submit: bool,
    /// Test hook: this many steps in every training dispatch instead of a time's worth.
    pub(super) fixed_steps: Option<usize>,
}

impl FusedBackend {
    /// Uploads the data and one parameter set per member, and builds the pipelines of `shape`
    /// (from [`super::fused_plan`]).
    pub fn new(
        ctx: &GpuContext,
        net: &NetworkConfig,
        shape: FusedShape,
        params: &[Params],
        optimizer: OptimizerKind,
        data: &Splits,
    ) -> Result<FusedBackend> {
        net.validate(data.inputs(), data.classes)?;
        for (m, p) in params.iter().enumerate() {
            p.check_shape(&net.layers, &format!("member {m}'s initial parameters"))?;
        }
        let members = params.len();
        if members == 0 {
            return Err(Error::internal("a fused group of no members"));
        }
        let ctx = ctx.clone();
        let limits = ctx.device.limits();
        let eval_shape = shape.evaluation(limits.max_compute_workgroup_storage_size as u64);
        let pipes = FusedPipelines::new(&ctx, &shape, &eval_shape, net.output, net.cost, optimizer);
        let member_floats = shape.member_floats();
        let param_bytes = (members * member_floats * 4) as u64;
        buffers::check_binding(
            &ctx,
            &format!("the parameters of {members} members"),
            param_bytes,
        )?;
        let params_buffer = buffers::storage_zeroed(&ctx, "fused params", param_bytes);
        let slots: Vec<wgpu::Buffer> = (0..optimizer.state_slots())
            .map(|_| buffers::storage_zeroed(&ctx, "fused optimizer slot", param_bytes))
            .collect();
        let binding = limits.max_storage_buffer_binding_size;
        let n_train = data.train.len();
        let orders = buffers::storage_zeroed(&ctx, "fused orders", (members * n_train * 4) as u64);
        let marks = buffers::storage_zeroed(&ctx, "fused marks", (members * 8) as u64);
        let chunk_stride = (std::mem::size_of::<FusedChunk>() as u64)
            .max(limits.min_uniform_buffer_offset_alignment as u64);
        let (records, records_capacity) = (Self::records_buffer(&ctx, 64), 64);
        let (chunks, chunks_capacity) = (Self::chunks_buffer(&ctx, 16, chunk_stride), 16);
        let mut sets = Vec::with_capacity(3);
        for (name, set) in [
            ("training", &data.train),
            ("validation", &data.validation),
            ("test", &data.test),
        ] {
            let set = DeviceSet::upload(&ctx, name, set, binding)?;
            if set.chunks.len() != 1 {
                return Err(Error::internal(format!(
                    "the {name} set needs {} bindings; the fused kernels read one",
                    set.chunks.len()
                )));
            }
            let outputs =
                |label| buffers::storage_zeroed(&ctx, label, (members * set.len * 4) as u64);
            let (costs, predictions) = (outputs("fused costs"), outputs("fused predictions"));
            let group = bind(
                &ctx,
                &pipes.eval,
                "fused eval",
                &[
                    &params_buffer,
                    &set.labels,
                    &set.chunks[0],
                    &costs,
                    &predictions,
                    &marks,
                ],
            );
            sets.push(FusedSet {
                set,
                costs,
                predictions,
                group,
            });
        }
        let (train_group, chunk_group) = Self::groups(
            &ctx,
            &pipes,
            [&records, &orders, &params_buffer],
            &slots,
            &sets[0].set,
            &marks,
            &chunks,
        );
        let mut backend = FusedBackend {
            ctx,
            net: net.clone(),
            optimizer,
            members,
            shape,
            eval_shape,
            pipes,
            marks,
            params: params_buffer,
            slots,
            orders,
            sets,
            records,
            records_capacity,
            chunks,
            chunks_capacity,
            chunk_stride,
            train_group,
            chunk_group,
            updates: vec![0; members],
            pacer: Pacer::default(),
            max_steps: MAX_PER_DISPATCH,
            max_tiles: MAX_PER_DISPATCH,
            dispatches: 0,
            drop_next_submit: false,
            fixed_steps: None,
        };
        if backend.ctx.is_software() {
            // On the zeroed parameters, which the members' then replace.
            backend.probe_loop_budget()?;
        }
        for (m, p) in params.iter().enumerate() {
            backend.write_member(m, None, p);
        }
        backend.ctx.wait("uploading the data and parameters")?;
        Ok(backend)
    }

    fn records_buffer(ctx: &GpuContext, capacity: usize) -> wgpu::Buffer {
        ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("fused step records"),
            size: capacity as u64 * STEP_BYTES,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    fn chunks_buffer(ctx: &GpuContext, capacity: usize, stride: u64) -> wgpu::Buffer {
        ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("fused chunks"),
            size: capacity as u64 * stride,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    /// The training bind group (records, orders, params, the slots, labels, images) and
    /// the chunk group.
    fn groups(
        ctx: &GpuContext,
        pipes: &FusedPipelines,
        head: [&wgpu::Buffer; 3],
        slots: &[wgpu::Buffer],
        train: &DeviceSet,
        marks: &wgpu::Buffer,
        chunks: &wgpu::Buffer,
    ) -> (wgpu::BindGroup, wgpu::BindGroup) {
        let mut list: Vec<&wgpu::Buffer> = head.to_vec();
        list.extend(slots.iter());
        list.extend([&train.labels, &train.chunks[0], marks]);
        let train_group = bind(ctx, &pipes.train, "fused train", &list);
        let chunk_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("fused chunk"),
            layout: &pipes.chunk_layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: chunks,
                    offset: 0,
                    size: wgpu::BufferSize::new(std::mem::size_of::<FusedChunk>() as u64),
                }),
            }],
        });
        (train_group, chunk_group)
    }

    /// Grows the record and chunk buffers; the bind groups over them are built again.
    fn ensure_capacity(&mut self, records: usize, chunks: usize) {
        if records <= self.records_capacity && chunks <= self.chunks_capacity {
            return;
        }
        if records > self.records_capacity {
            self.records_capacity = records.next_power_of_two();
            self.records = Self::records_buffer(&self.ctx, self.records_capacity);
        }
        if chunks > self.chunks_capacity {
            self.chunks_capacity = chunks.next_power_of_two();
            self.chunks = Self::chunks_buffer(&self.ctx, self.chunks_capacity, self.chunk_stride);
        }
        (self.train_group, self.chunk_group) = Self::groups(
            &self.ctx,
            &self.pipes,
            [&self.records, &self.orders, &self.params],
            &self.slots,
            &self.sets[0].set,
            &self.marks,
            &self.chunks,
        );
    }

    /// Trains every member over its order (all of one length); members not `active` get
    /// records of no rows and stay as they are.
    pub(super) fn train_members(
        &mut self,
        orders: &[&[u32]],
        hypers: &[StepHyper],
        active: &[bool],
    ) -> Result<()> {
        let n_train = self.sets[0].set.len;
        crate::backend::check_member_batches(self.members, orders, hypers, active, n_train)?;
        let len = orders.first().map_or(0, |o| o.len());
        if len == 0 {
            return Ok(());
        }
        let batch = hypers[0].batch_size.min(len);
        if batch > self.shape.rows {
            return Err(Error::internal(format!(
                "the fused kernels were built for batches of {}, not {batch}",
                self.shape.rows
            )));
        }
        let steps = len.div_ceil(batch);
        for (m, order) in orders.iter().enumerate() {
            if active[m] {
                let at = (m * n_train * 4) as u64;
                self.ctx
                    .queue
                    .write_buffer(&self.orders, at, bytemuck::cast_slice(order));
            }
        }
        let mut records = Vec::with_capacity(steps * self.members);
        for s in 0..steps {
            let rows = batch.min(len - s * batch);
            for (m, hyper) in hypers.iter().enumerate() {
                records.push(if active[m] {
                    let t = self.updates[m] + s as u64 + 1;
                    StepRecord::training(hyper, rows, m * n_train + s * batch, t)
                } else {
                    StepRecord::default()
                });
            }
        }
        self.ensure_capacity(records.len(), 1);
        self.ctx
            .queue
            .write_buffer(&self.records, 0, bytemuck::cast_slice(&records));
        let members = self.members;
        let fixed = self.fixed_steps;
        let chunk = |first, count| FusedChunk::new(first, count, members, 0);
        self.run_paced((true, batch as u32), steps, fixed, None, chunk)?;
        for (m, a) in active.iter().enumerate() {
            if *a {
                self.updates[m] += steps as u64;
            }
        }
        Ok(())
    }

    /// Runs `total` steps (`eval` None) or tiles of evaluation set `eval`, of `kind`, in
    /// dispatches of `fixed` of them or of about [`DISPATCH_SECONDS`] of work, within the
    /// loop budget: while the kind is being calibrated one dispatch at a time, each waited
    /// for and timed; then the rest in one run of command buffers of about
    /// [`SUBMIT_SECONDS`], which the pace learns from too. `chunk(first, count)` is the
    /// dispatch of items first .. first+count.
    fn run_paced(
        &mut self,
        kind: StepKind,
        total: usize,
        fixed: Option<usize>,
        eval: Option<usize>,
        chunk: impl Fn(usize, usize) -> FusedChunk,
    ) -> Result<()> {
        let cap = if eval.is_some() {
            self.max_tiles
        } else {
            self.max_steps
        };
        let mut done = 0;
        while done < total {
            let per = fixed
                .unwrap_or_else(|| self.pacer.steps_within(kind, DISPATCH_SECONDS, cap))
                .clamp(1, cap);
            let end = if self.pacer.calibrating(kind) {
                (done + per).min(total)
            } else {
                total
            };
            let chunks: Vec<FusedChunk> = (done..end)
                .step_by(per)
                .map(|first| chunk(first, per.min(end - first)))
                .collect();
            let per_submit = self.pacer.seconds_per_step(kind).map_or(1, |s| {
                ((SUBMIT_SECONDS / (s * per as f64).max(1e-9)) as usize)
                    .clamp(1, MAX_DISPATCHES_PER_SUBMIT)
            });
            let timeout = self.pacer.timeout(kind, end - done);
            let began = Instant::now();
            self.run_chunks(&chunks, eval, per_submit, timeout)?;
            let seconds = began.elapsed().as_secs_f64();
            self.pacer.learn(kind, end - done, seconds);
            if std::env::var_os("GPU_MLP_TRACE").is_some() {
                eprintln!(
                    "fused: {} {kind:?} items in {} dispatches of {per}, {per_submit} per command buffer, {seconds:.3} s",
                    end - done,
                    chunks.len(),
                );
            }
            done = end;
        }
        Ok(())
    }

    /// [`Self::dispatch_chunks`] for every member, counted for `bench --json`; a dispatch the
    /// driver cut short is an error.
    fn run_chunks(
        &mut self,
        chunks: &[FusedChunk],
        eval: Option<usize>,
        per_submit: usize,
        timeout: Duration,
    ) -> Result<()> {
        let cut = self.dispatch_chunks(chunks, eval, per_submit, timeout, self.members)?;
        self.dispatches += chunks.len() as u64;
        match cut.iter().enumerate().find(|&(_, &c)| c > 0) {
            None => Ok(()),
            Some((m, c)) => Err(Error::Gpu(format!(
                "{} on {}: the driver ended the fused kernel's loops early in {c} of member {m}'s {} dispatches (a budget of loop trips per run of a shader, as llvmpipe's 65,535), so the results are wrong (on a software adapter the probed cap was too high: GPU_MLP_TRACE=1 prints it); use --kernels per-layer",
                what_of(eval),
                self.ctx.describe(),
                chunks.len()
            ))),
        }
    }

    /// Writes `chunks` into the chunk buffer and records one dispatch of the training pipeline
    /// (`eval` None) or of the evaluation pipeline over set `eval` per chunk, over the
    /// workgroups of members 0 .. `workgroups`, `per_submit` to a command buffer; waits once,
    /// at most `timeout`. A dispatch that did not run is an error; returns, per member, the
    /// dispatches whose loops the driver cut short.
    fn dispatch_chunks(
        &mut self,
        chunks: &[FusedChunk],
        eval: Option<usize>,
        per_submit: usize,
        timeout: Duration,
        workgroups: usize,
    ) -> Result<Vec<u32>> {
        let what = what_of(eval);
        if chunks.is_empty() {
            return Ok(vec![0; workgroups]);
        }
        self.ensure_capacity(0, chunks.len());
        let stride = self.chunk_stride as usize;
        let mut bytes = vec![0u8; chunks.len() * stride];
        for (i, c) in chunks.iter().enumerate() {
            bytes[i * stride..i * stride + std::mem::size_of::<FusedChunk>()]
                .copy_from_slice(bytemuck::bytes_of(c));
        }
        self.ctx.queue.write_buffer(&self.chunks, 0, &bytes);
        let (pipeline, group) = match eval {
            None => (&self.pipes.train.pipeline, &self.train_group),
            Some(set) => (&self.pipes.eval.pipeline, &self.sets[set].group),
        };
        // The marks start at 0: a member whose dispatches all ran counts every one.
        self.ctx
            .queue
            .write_buffer(&self.marks, 0, &vec![0u8; workgroups * 8]);
        let began = Instant::now();
        // Command buffers of about SUBMIT_SECONDS of work each, so that no submission runs
        // long enough for a watchdog to kill it (src/gpu/submits.rs).
        for (n, group_of) in chunks.chunks(per_submit).enumerate() {
            let mut encoder =
                self.ctx
                    .device
                    .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                        label: Some("fused"),
                    });
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("fused"),
                    timestamp_writes: None,
                });
                pass.set_pipeline(pipeline);
                pass.set_bind_group(1, group, &[]);
                for i in 0..group_of.len() {
                    let at = n * per_submit + i;
                    pass.set_bind_group(0, &self.chunk_group, &[(at * stride) as u32]);
                    pass.dispatch_workgroups(workgroups as u32, 1, 1);
                }
            }
            if std::mem::take(&mut self.drop_next_submit) {
                drop(encoder);
            } else {
                self.ctx.queue.submit([encoder.finish()]);
            }
            self.ctx.check(what)?;
        }
        self.ctx.wait_within(what, timeout)?;
        let end = chunks.len() as u32;
        let data = buffers::read_back(&self.ctx, &[(&self.marks, (workgroups * 8) as u64)])?;
        let marks = buffers::to_u32(&data[0]);
        let mut cut = Vec::with_capacity(workgroups);
        for (m, counts) in marks.chunks_exact(2).enumerate() {
            let finished = counts[0];
            if finished != end {
                return Err(Error::Gpu(format!(
                    "{what} on {}: member {m} finished {finished} of its {end} dispatches after {:.1} s; the driver dropped a command buffer (a GPU timeout?) and its work did not run",
                    self.ctx.describe(),
                    began.elapsed().as_secs_f64()
                )));
            }
            cut.push(counts[1]);
        }
        Ok(cut)
    }

    /// Every member's evaluation of data set `set` (0 train, 1 validation, 2 test).
    pub(super) fn evaluate_members(&mut self, set: usize) -> Result<Vec<Evaluation>> {
        let n = self.sets[set].set.len;
        if n == 0 {
            return Ok(vec![Evaluation::empty(); self.members]);
        }
        let rows = self.eval_shape.rows;
        let tiles = n.div_ceil(rows);
        let members = self.members;
        let chunk = |first, count| FusedChunk::new(first, count, members, n);
        self.run_paced((false, rows as u32), tiles, None, Some(set), chunk)?;
        let s = &self.sets[set];
        let bytes = (self.members * n * 4) as u64;
        let data = buffers::read_back(&self.ctx, &[(&s.costs, bytes), (&s.predictions, bytes)])?;
        let costs = buffers::to_f32(&data[0]);
        let predictions = buffers::to_u32(&data[1]);
        Ok((0..self.members)
            .map(|m| {
                let range = m * n..(m + 1) * n;
                let predictions: Vec<u8> = predictions[range.clone()]
                    .iter()
                    .map(|&p| p as u8)
                    .collect();
                let correct = predictions
                    .iter()
                    .zip(&s.set.host_labels)
                    .filter(|(p, l)| p == l)
                    .count();
                Evaluation {
                    cost_sum: costs[range].iter().map(|&c| c as f64).sum(),
                    correct,
                    count: n,
                    predictions,
                }
            })
            .collect())
    }
}

/// What a run of the training (`eval` None) or evaluation pipeline is, for messages.
fn what_of(eval: Option<usize>) -> &'static str {
    if eval.is_some() {
        "evaluating"
    } else {
        "training"
    }
}

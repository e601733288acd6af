//! [`GpuBackend`]: the network's parameters, optimizer state and the three data sets on the
//! device, and the buffers of one mini-batch. An epoch uploads only its permutation and one
//! small record per step; `record.rs` records every step into a few command buffers and waits
//! once; `backend.rs` implements the [`crate::backend::Backend`] trait on top.
//!
//! One step, for L weight layers (acts[0] = X, acts[l+1] = output of layer l, deltas[l] = δ of
//! layer l's output):
//!   gather         acts[0] = images[order[..]] / 255
//!   forward l      acts[l+1] = σ(acts[l]·W_lᵀ + b_l)     (the output layer keeps z)
//!   output_delta   deltas[L−1] = δᴸ(z, y)
//!   for l = L−1 .. 0:
//!     backprop l   deltas[l−1] = (deltas[l]·W_l) ⊙ acts[l](1 − acts[l])   (before W_l changes)
//!     update l     W_l, b_l ← optimizer(δᵀ·acts[l], Σδ)
//! that is 2L + 1 + (L − 1) + 1 = 3L + 1 dispatches (7 for 784-30-10).
//!
//! Several members of one shape (a group of a sweep) train in the same dispatches: every
//! buffer but the data sets holds one block per member, [`member_stride`] floats apart, each
//! dispatch's grid has one z layer per member, and each step has one record per member
//! (its η, λ, Adam's t, where its order sits). A member computes exactly what it would alone:
//! the same kernels, the same sums in the same order, only at its own offsets.

use super::buffers;
use super::chunks::{ChunkTable, MAX_DISPATCH_MACS};
use super::context::GpuContext;
use super::dataset::DeviceSet;
use super::group_sizes;
use super::groups::Groups;
use super::kernels::Kernels;
use super::layout::{
    layer_bytes, layer_from_floats, member_stride, step_stride, steps_buffer, MatDims, OutputDims,
    STEP_BYTES,
};
use super::multiply::{prefer_tiled, Multiply};
use super::submits::{marks_buffer, Pacer, Serials};
use crate::backend::Split;
use crate::config::{NetworkConfig, OptimizerKind};
use crate::data::Splits;
use crate::error::{Error, Result};
use crate::model::Params;

/// Knobs that tests and benchmarks may turn; the defaults are what the CLI uses.
#[derive(Clone, Copy, Debug)]
pub struct GpuOptions {
    /// The largest storage binding to put a data set in (default: the device's limit). Smaller
    /// values force the multi-binding path.
    pub max_binding_bytes: Option<u64>,
    /// Rows per evaluation batch.
    pub eval_rows: usize,
    /// The most steps one command buffer holds; it holds about `submits::SUBMIT_SECONDS` of
    /// work when that is fewer.
    pub steps_per_submit: usize,
    /// Time each kernel of the first few steps of an epoch with timestamp queries (when the
    /// adapter has them).
    pub profile: bool,
    /// Force the tiled (`Some(true)`) or register-blocked (`Some(false)`) multiply; `None` picks what
    /// suits the adapter.
    pub tiled: Option<bool>,
    /// The most multiply-adds one dispatch may do (`chunks.rs`); a larger product runs as
    /// several dispatches with the same results.
    pub max_dispatch_macs: u64,
    /// Replaces the time a run of steps may take before the device is called hung
    /// (`submits.rs`); for tests.
    #[doc(hidden)]
    pub hang_timeout: Option<std::time::Duration>,
    /// Leaves the command buffer of this number (from 0) of every run of steps unsubmitted, as
    /// a driver that drops one would; for tests.
    #[doc(hidden)]
    pub drop_submit: Option<usize>,
    /// Replaces the most steps one run writes into the step buffer at once (`backend.rs`'s
    /// `steps_per_run`); for tests.
    #[doc(hidden)]
    pub steps_per_run: Option<usize>,
    /// The most steps whose batches one gather dispatch fills (`input_slots.rs`; 1: each
    /// step its own gather, as before); the same bits either way.
    pub gather_steps: usize,
    /// With a sigmoid output and a hidden layer, compute δᴸ in the output layer's forward
    /// epilogue while training rather than in a dispatch of its own; the same bits either way.
    /// (A network with no hidden layer keeps the dispatch: its one layer's input binding
    /// moves with input_slots.rs.)
    pub output_delta_in_forward: bool,
}

impl Default for GpuOptions {
    fn default() -> Self {
        GpuOptions {
            max_binding_bytes: None,
            eval_rows: 1000,
            steps_per_submit: 1000,
            profile: true,
            tiled: None,
            max_dispatch_macs: MAX_DISPATCH_MACS,
            hang_timeout: None,
            drop_submit: None,
            steps_per_run: None,
            gather_steps: super::input_slots::GATHER_STEPS,
            output_delta_in_forward: true,
        }
    }
}

/// One weight layer on the device: W [out,in] then b [out] in one buffer (one block per
/// member, `stride` floats apart), the optimizer's slots in the same layout, and the shapes of
/// its three products.
pub(super) struct DeviceLayer {
    pub inputs: usize,
    pub outputs: usize,
    pub stride: usize,
    /// The multiply of the forward product, chosen once: its pipeline and grid follow.
    pub forward: Multiply,
    /// The multiply of the gradient product (and update), chosen once.
    pub gradient: Multiply,
    pub params: wgpu::Buffer,
    pub slots: Vec<wgpu::Buffer>,
    pub forward_dims: wgpu::Buffer,
    pub backprop_dims: wgpu::Buffer,
    pub gradient_dims: wgpu::Buffer,
}

impl DeviceLayer {
    fn floats(&self) -> usize {
        self.outputs * self.inputs + self.outputs
    }
}

/// Evaluation outputs of a split: a cost and a prediction per sample and member, members
/// `DeviceBuffers::eval_stride` apart (room for the largest split).
pub(super) struct EvalOutputs {
    pub costs: wgpu::Buffer,
    pub predictions: wgpu::Buffer,
}

/// Every buffer the kernels bind, sized once they are known.
pub(super) struct DeviceBuffers {
    pub layers: Vec<DeviceLayer>,
    /// Train, validation, test, in [`split_index`] order.
    pub sets: Vec<DeviceSet>,
    /// Where every set's evaluation lands (read back before the next one runs).
    pub eval: EvalOutputs,
    /// Each member's order for the epoch, member m's from element m·(training set size).
    pub order: wgpu::Buffer,
    /// Floats between members' evaluation outputs.
    pub eval_stride: usize,
    pub output_dims: wgpu::Buffer,
    /// Rows the activation and error buffers hold per member.
    pub rows: usize,
    /// Members: blocks of every buffer but the data sets, z layers of every grid.
    pub members: usize,
    pub acts: Vec<wgpu::Buffer>,
    pub deltas: Vec<wgpu::Buffer>,
    /// The step records, one per member, each step's `step_stride` bytes from the last, room
    /// for `steps_capacity` steps.
    pub steps: wgpu::Buffer,
    pub steps_capacity: usize,
    pub step_stride: u64,
    /// One submit mark per step record (`submits.rs`).
    pub marks: wgpu::Buffer,
    /// The chunk records of split dispatches (`chunks.rs`).
    pub chunks: ChunkTable,
}

/// The GPU backend.
pub struct GpuBackend {
    pub(super) ctx: GpuContext,
    pub(super) kernels: Kernels,
    pub(super) options: GpuOptions,
    pub(super) optimizer: OptimizerKind,
    pub(super) bufs: DeviceBuffers,
    pub(super) groups: Groups,
    /// Updates each member has taken so far (Adam's t of its last step).
    pub(super) updates: Vec<u64>,
    pub(super) timings: Option<Vec<(String, f64)>>,
    /// Dispatches recorded so far (`bench --json` reports them per epoch).
    pub(super) dispatches: u64,
    /// How many steps a command buffer holds and how long to wait (`submits.rs`).
    pub(super) pacer: Pacer,
    pub(super) serials: Serials,
}

pub(super) fn split_index(split: Split) -> usize {
    match split {
        Split::Train => 0,
        Split::Validation => 1,
        Split::Test => 2,
    }
}

impl GpuBackend {
    /// Uploads `params` and the three data sets and builds the pipelines for `net`.
    pub fn new(
        ctx: &GpuContext,
        net: &NetworkConfig,
        params: Params,
        optimizer: OptimizerKind,
        data: &Splits,
    ) -> Result<GpuBackend> {
        GpuBackend::with_options(ctx, net, params, optimizer, data, GpuOptions::default())
    }

    pub fn with_options(
        ctx: &GpuContext,
        net: &NetworkConfig,
        params: Params,
        optimizer: OptimizerKind,
        data: &Splits,
        options: GpuOptions,
    ) -> Result<GpuBackend> {
        GpuBackend::group(ctx, net, &[params], optimizer, data, options)
    }

    /// Members of one network shape with their own initial `params`, trained in the same
    /// dispatches (the [`crate::backend::Members`] of a sweep's group).
    pub fn group(
        ctx: &GpuContext,
        net: &NetworkConfig,
        params: &[Params],
        optimizer: OptimizerKind,
        data: &Splits,
        options: GpuOptions,
    ) -> Result<GpuBackend> {
        net.validate(data.inputs(), data.classes)?;
        for p in params {
            p.check_shape(&net.layers, "the initial parameters")?;
        }
        let members = params.len();
        let z = ctx.device.limits().max_compute_workgroups_per_dimension as usize;
        if members == 0 || members > z {
            return Err(Error::internal(format!(
                "a group of {members} members (one grid holds 1 to {z})"
            )));
        }
        let ctx = ctx.clone();
        let tiled = options.tiled.unwrap_or_else(|| prefer_tiled(&ctx));
        let kernels = Kernels::new(&ctx, net.output, net.cost, optimizer, tiled)?;
        let binding = group_sizes::binding_bytes(&ctx, &options);
        let sets = vec![
            DeviceSet::upload(&ctx, "training", &data.train, binding)?,
            DeviceSet::upload(&ctx, "validation", &data.validation, binding)?,
            DeviceSet::upload(&ctx, "test", &data.test, binding)?,
        ];
        let what = |s: String| match members {
            1 => s,
            m => format!("{m} members' {s}"),
        };
        let mut layers = Vec::new();
        for (l, layer) in params[0].layers.iter().enumerate() {
            let (i, o) = (layer.inputs, layer.outputs);
            let stride = member_stride(o * i + o);
            let bytes = (members * stride * 4) as u64;
            buffers::check_binding(&ctx, &what(format!("{o}x{i} layer")), bytes)?;
            let mut init = Vec::with_capacity(bytes as usize);
            for p in params {
                init.extend_from_slice(&layer_bytes(&p.layers[l]));
                init.resize(init.len().next_multiple_of(stride * 4), 0);
            }
            let dims = |d: MatDims| buffers::uniform_init(&ctx, "dims", bytemuck::bytes_of(&d));
            layers.push(DeviceLayer {
                inputs: i,
                outputs: o,
                stride,
                forward: kernels.forward_multiply(i),
                gradient: kernels.gradient_multiply(i),
                params: buffers::storage_init(&ctx, "params", &init),
                slots: (0..optimizer.state_slots())
                    .map(|_| buffers::storage_zeroed(&ctx, "optimizer slot", bytes))
                    .collect(),
                forward_dims: dims(MatDims::forward(i, o)),
                backprop_dims: dims(MatDims::backprop(i, o)),
                gradient_dims: dims(MatDims::gradient(i, o)),
            });
        }
        let eval_stride = member_stride(sets.iter().map(|s| s.len).max().unwrap_or(0));
        let eval_bytes = (members * eval_stride * 4) as u64;
        buffers::check_binding(&ctx, &what("evaluation outputs".into()), eval_bytes)?;
        let eval = EvalOutputs {
            costs: buffers::storage_zeroed(&ctx, "costs", eval_bytes),
            predictions: buffers::storage_zeroed(&ctx, "predictions", eval_bytes),
        };
        let output_dims = buffers::uniform_init(
            &ctx,
            "output dims",
            bytemuck::bytes_of(&OutputDims::new(0, 0, 0)),
        );
        let order_bytes = (members * sets[0].len * 4) as u64;
        buffers::check_binding(&ctx, &what("sample orders".into()), order_bytes)?;
        let order = buffers::storage_zeroed(&ctx, "order", order_bytes);
        let widest = net.layers.iter().copied().max().unwrap_or(1);
        let eval_rows = group_sizes::eval_rows(options.eval_rows, binding, members, widest);
        let (acts, deltas) = batch_buffers(&ctx, &net.layers, eval_rows, members)?;
        let step_stride = step_stride(&ctx, members);
        let steps_capacity = 64;
        let bufs = DeviceBuffers {
            steps: steps_buffer(&ctx, steps_capacity, step_stride),
            steps_capacity,
            step_stride,
            marks: marks_buffer(&ctx, steps_capacity),
            chunks: ChunkTable::new(&ctx),
            layers,
            sets,
            eval,
            eval_stride,
            order,
            output_dims,
            rows: eval_rows,
            members,
            acts,
            deltas,
        };
        let groups = Groups::new(&ctx, &kernels, &bufs)?;
        let mut backend = GpuBackend {
            ctx,
            kernels,
            options,
            optimizer,
            bufs,
            groups,
            updates: vec![0; members],
            timings: None,
            dispatches: 0,
            pacer: Pacer::default(),
            serials: Serials::default(),
        };
        backend.write_strides();
        backend.ctx.wait("uploading the data and parameters")?;
        Ok(backend)
    }

    /// Writes where each member's blocks sit into the products' dims, the output dims and
    /// the gather dims, for activation buffers of `bufs.rows` rows.
    fn write_strides(&mut self) {
        let sizes = self.sizes();
        let rows = self.bufs.rows;
        let act = |i: usize| member_stride(rows * sizes[i]);
        let b = &mut self.bufs;
        let queue = &self.ctx.queue;
        for (l, layer) in b.layers.iter().enumerate() {
            let (i, o, p) = (layer.inputs, layer.outputs, layer.stride);
            // acts[l] is layer l's input, acts[l + 1] and deltas[l] its output.
            let dims = [
                (
                    &layer.forward_dims,
                    MatDims::forward(i, o).with_strides(act(l), p, act(l + 1)),
                ),
                (
                    &layer.backprop_dims,
                    MatDims::backprop(i, o).with_strides(act(l + 1), p, act(l)),
                ),
                (
                    &layer.gradient_dims,
                    MatDims::gradient(i, o).with_strides(act(l + 1), act(l), p),
                ),
            ];
            for (buffer, d) in dims {
                queue.write_buffer(buffer, 0, bytemuck::bytes_of(&d));
            }
        }
        let last = sizes.len() - 1;
        let output = OutputDims::new(sizes[last], act(last), b.eval_stride);
        queue.write_buffer(&b.output_dims, 0, bytemuck::bytes_of(&output));
        let records_per_step = (b.step_stride / STEP_BYTES) as usize;
        for set in &mut b.sets {
            set.set_batch_stride(&self.ctx, act(0), b.members, records_per_step);
        }
    }

    /// Seconds per call of each kernel of a step, from the timestamp queries of the last
    /// epoch's first steps; `None` where the adapter has no timestamp queries.
    pub fn kernel_timings(&self) -> Option<Vec<(String, f64)>> {
        self.timings.clone()
    }

    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    /// The layer widths of the network on the device, e.g. [784, 30, 10].
    pub(super) fn sizes(&self) -> Vec<usize> {
        let layers = &self.bufs.layers;
        layers
            .iter()
            .map(|l| l.inputs)
            .take(1)
            .chain(layers.iter().map(|l| l.outputs))
            .collect()
    }

    /// Grows the activation and error buffers to hold `rows` samples and the step buffer to
    /// hold `steps` records; the bind groups are built again over the new buffers.
    pub(super) fn ensure_capacity(&mut self, rows: usize, steps: usize) -> Result<()> {
        if rows <= self.bufs.rows && steps <= self.bufs.steps_capacity {
            return Ok(());
        }
        if rows > self.bufs.rows {
            let sizes = self.sizes();
            let (acts, deltas) = batch_buffers(&self.ctx, &sizes, rows, self.bufs.members)?;
            let b = &mut self.bufs;
            (b.acts, b.deltas, b.rows) = (acts, deltas, rows);
            self.write_strides();
        }
        let b = &mut self.bufs;
        if steps > b.steps_capacity {
            b.steps_capacity = steps.next_power_of_two();
            b.steps = steps_buffer(&self.ctx, b.steps_capacity, b.step_stride);
            b.marks = marks_buffer(&self.ctx, b.steps_capacity);
        }
        self.groups = Groups::new(&self.ctx, &self.kernels, &self.bufs)?;
        Ok(())
    }

    /// Writes member `m`'s `params` (and, with `slots`, its optimizer state) into the layers'
    /// buffers.
    pub(super) fn write_layers(&self, m: usize, params: &Params, slots: &[Params]) {
        for (l, layer) in self.bufs.layers.iter().enumerate() {
            let at = (m * layer.stride * 4) as u64;
            let queue = &self.ctx.queue;
            queue.write_buffer(&layer.params, at, &layer_bytes(&params.layers[l]));
            for (s, slot) in layer.slots.iter().zip(slots) {
                queue.write_buffer(s, at, &layer_bytes(&slot.layers[l]));
            }
        }
    }

    /// Member `m`'s parameters (`slot` None) or optimizer slot `slot`, read back.
    pub(super) fn read_layers(&self, m: usize, slot: Option<usize>) -> Result<Params> {
        let layers = &self.bufs.layers;
        let mut sources: Vec<(&wgpu::Buffer, u64, u64)> = Vec::with_capacity(layers.len());
        for l in layers {
            let buffer = match slot {
                None => &l.params,
                Some(s) => l
                    .slots
                    .get(s)
                    .ok_or_else(|| Error::internal(format!("optimizer slot {s} does not exist")))?,
            };
            sources.push((buffer, (m * l.stride * 4) as u64, l.floats() as u64 * 4));
        }
        let data = buffers::read_back_ranges(&self.ctx, &sources)?;
        let layers = layers
            .iter()
            .zip(data)
            .map(|(l, bytes)| layer_from_floats(l.inputs, l.outputs, &buffers::to_f32(&bytes)))
            .collect();
        Ok(Params { layers })
    }
}

/// The activation buffers (one per width in `sizes`) and error buffers (one per weight layer)
/// of a mini-batch of `rows` samples for each of `members`.
fn batch_buffers(
    ctx: &GpuContext,
    sizes: &[usize],
    rows: usize,
    members: usize,
) -> Result<(Vec<wgpu::Buffer>, Vec<wgpu::Buffer>)> {
    let bytes = |w: usize| (members * member_stride(rows * w) * 4) as u64;
    for &w in sizes {
        let what = match members {
            1 => format!("a batch of {rows} rows of a {w}-unit layer"),
            m => format!("{m} members' batches of {rows} rows of a {w}-unit layer"),
        };
        buffers::check_binding(ctx, &what, bytes(w))?;
    }
    let limit = ctx.device.limits().max_compute_workgroups_per_dimension as usize;
    if rows > limit {
        return Err(Error::Gpu(format!(
            "a batch of {rows} rows exceeds {}'s {limit} workgroups per dimension; use a smaller batch",
            ctx.info.name
        )));
    }
    let buffer = |label, w: usize| buffers::storage_zeroed(ctx, label, bytes(w));
    Ok((
        sizes.iter().map(|&w| buffer("activations", w)).collect(),
        sizes[1..].iter().map(|&w| buffer("deltas", w)).collect(),
    ))
}

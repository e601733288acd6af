//! The GPU [`Backend`]: parameters, optimizer state and the three data sets live on the device;
//! an epoch uploads only its permutation and one small record per step, records every step
//! into a few command buffers, and waits once.
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

use super::buffers;
use super::context::GpuContext;
use super::dataset::DeviceSet;
use super::kernels::{self, groups_of, Kernels, ROW_GROUP, STEP_BYTES};
use super::timing::Profiler;
use crate::backend::{Backend, Evaluation, Split};
use crate::config::{NetworkConfig, OptimizerKind, StepHyper};
use crate::data::Splits;
use crate::error::{Error, Result};
use crate::model::{Layer, OptimizerState, Params};

/// step.wgsl's `Step`.
#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct StepRecord {
    pub rows: u32,
    pub order_offset: u32,
    pub sequential: u32,
    pub _pad0: u32,
    pub eta: f32,
    pub inv_rows: f32,
    pub decay: f32,
    pub momentum: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub epsilon: f32,
    pub bias_correction1: f32,
    pub bias_correction2: f32,
    pub _pad1: [u32; 3],
}

impl StepRecord {
    /// The record of update number `t` (from 1) over `rows` samples starting at
    /// `order_offset` of the epoch's order.
    pub fn training(hyper: &StepHyper, rows: usize, order_offset: usize, t: u64) -> Self {
        let o = hyper.optimizer;
        let (bias_correction1, bias_correction2) = hyper.bias_corrections(t);
        StepRecord {
            rows: rows as u32,
            order_offset: order_offset as u32,
            sequential: 0,
            eta: hyper.eta,
            inv_rows: 1.0 / rows as f32,
            decay: hyper.decay(),
            momentum: o.momentum,
            beta1: o.beta1,
            beta2: o.beta2,
            epsilon: o.epsilon,
            bias_correction1,
            bias_correction2,
            ..StepRecord::default()
        }
    }
}

/// matmul.wgsl's `Dims`.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct MatDims {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    pub lda: u32,
    pub ldb: u32,
    pub _pad: [u32; 3],
}

/// output_delta.wgsl's and evaluate.wgsl's `OutputDims`.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct OutputDims {
    pub n: u32,
    pub _pad: [u32; 3],
}

/// Knobs that tests and benchmarks may turn; the defaults are what the CLI uses.
#[derive(Clone, Copy, Debug)]
pub struct GpuOptions {
    /// The largest storage binding to put a data set in (default: the device's limit). Smaller
    /// values force the multi-binding path.
    pub max_binding_bytes: Option<u64>,
    /// Rows per evaluation batch.
    pub eval_rows: usize,
    /// Steps recorded into one command buffer.
    pub steps_per_submit: usize,
    /// Time each kernel of the first few steps of an epoch with timestamp queries (when the
    /// adapter has them).
    pub profile: bool,
    /// Force the tiled (`Some(true)`) or register-blocked (`Some(false)`) multiply; `None` picks what
    /// suits the adapter.
    pub tiled: Option<bool>,
}

impl Default for GpuOptions {
    fn default() -> Self {
        GpuOptions {
            max_binding_bytes: None,
            eval_rows: 1000,
            steps_per_submit: 1000,
            profile: true,
            tiled: None,
        }
    }
}

/// One weight layer on the device: W [out,in] then b [out] in one buffer, and the optimizer's
/// slots in the same layout.
struct DeviceLayer {
    inputs: usize,
    outputs: usize,
    params: wgpu::Buffer,
    slots: Vec<wgpu::Buffer>,
    forward_dims: wgpu::Buffer,
    backprop_dims: wgpu::Buffer,
    update_dims: wgpu::Buffer,
}

impl DeviceLayer {
    fn floats(&self) -> usize {
        self.outputs * self.inputs + self.outputs
    }
}

/// Evaluation outputs of one split: a cost and a prediction per sample.
struct EvalOutputs {
    costs: wgpu::Buffer,
    predictions: wgpu::Buffer,
}

/// Bind groups; rebuilt when the activation buffers grow.
struct Groups {
    step: wgpu::BindGroup,
    gather: Vec<wgpu::BindGroup>,
    forward: Vec<wgpu::BindGroup>,
    backprop: Vec<Option<wgpu::BindGroup>>,
    update: Vec<wgpu::BindGroup>,
    output_delta: wgpu::BindGroup,
    evaluate: Vec<wgpu::BindGroup>,
}

/// One dispatch of a step.
pub(crate) struct Dispatch<'a> {
    pub name: &'static str,
    pub layer: usize,
    pub pipeline: &'a wgpu::ComputePipeline,
    pub group: &'a wgpu::BindGroup,
    pub workgroups: [u32; 3],
}

/// The GPU backend.
pub struct GpuBackend {
    ctx: GpuContext,
    kernels: Kernels,
    options: GpuOptions,
    optimizer: OptimizerKind,
    layers: Vec<DeviceLayer>,
    /// Train, validation, test, in [`split_index`] order.
    sets: Vec<DeviceSet>,
    eval: Vec<EvalOutputs>,
    order: wgpu::Buffer,
    output_dims: wgpu::Buffer,
    rows_capacity: usize,
    acts: Vec<wgpu::Buffer>,
    deltas: Vec<wgpu::Buffer>,
    steps: wgpu::Buffer,
    steps_capacity: usize,
    step_stride: u64,
    groups: Groups,
    updates: u64,
    timings: Option<Vec<(String, f64)>>,
}

fn split_index(split: Split) -> usize {
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
        net.validate(data.inputs(), data.classes)?;
        check_shape(net, &params, "the initial parameters")?;
        let ctx = ctx.clone();
        let tiled = options.tiled.unwrap_or_else(|| kernels::prefer_tiled(&ctx));
        let kernels = Kernels::new(&ctx, net.output, net.cost, optimizer, tiled)?;
        let limits = ctx.device.limits();
        let binding = options
            .max_binding_bytes
            .unwrap_or(limits.max_storage_buffer_binding_size)
            .min(limits.max_storage_buffer_binding_size)
            .min(limits.max_buffer_size);
        let sets = vec![
            DeviceSet::upload(&ctx, "training", &data.train, binding)?,
            DeviceSet::upload(&ctx, "validation", &data.validation, binding)?,
            DeviceSet::upload(&ctx, "test", &data.test, binding)?,
        ];
        let mut layers = Vec::new();
        for layer in &params.layers {
            let bytes = (layer.weight.len() + layer.bias.len()) as u64 * 4;
            buffers::check_binding(
                &ctx,
                &format!("a {}x{} layer", layer.outputs, layer.inputs),
                bytes,
            )?;
            let (i, o) = (layer.inputs as u32, layer.outputs as u32);
            let dims = |d: MatDims| buffers::uniform_init(&ctx, "dims", bytemuck::bytes_of(&d));
            layers.push(DeviceLayer {
                inputs: layer.inputs,
                outputs: layer.outputs,
                params: buffers::storage_init(&ctx, "params", &layer_bytes(layer)),
                slots: (0..optimizer.state_slots())
                    .map(|_| {
                        buffers::storage_zeroed(&ctx, "optimizer slot", bytes.next_multiple_of(16))
                    })
                    .collect(),
                // Z[m,out] = A[m,in]·Wᵀ: B = W stored [N=out, K=in].
                forward_dims: dims(MatDims {
                    m: 0,
                    n: o,
                    k: i,
                    lda: i,
                    ldb: i,
                    _pad: [0; 3],
                }),
                // D[m,in] = δ[m,out]·W: B = W stored [K=out, N=in].
                backprop_dims: dims(MatDims {
                    m: 0,
                    n: i,
                    k: o,
                    lda: o,
                    ldb: i,
                    _pad: [0; 3],
                }),
                // G[out,in+1] = δᵀ·[A_prev | 1]: A = δ stored [K=m, M=out].
                update_dims: dims(MatDims {
                    m: o,
                    n: i + 1,
                    k: 0,
                    lda: o,
                    ldb: i,
                    _pad: [0; 3],
                }),
            });
        }
        let eval = sets
            .iter()
            .map(|s| EvalOutputs {
                costs: buffers::storage_zeroed(&ctx, "costs", s.len as u64 * 4),
                predictions: buffers::storage_zeroed(&ctx, "predictions", s.len as u64 * 4),
            })
            .collect();
        let classes = params.layers.last().map_or(0, |l| l.outputs) as u32;
        let output_dims = buffers::uniform_init(
            &ctx,
            "output dims",
            bytemuck::bytes_of(&OutputDims {
                n: classes,
                _pad: [0; 3],
            }),
        );
        let order = buffers::storage_zeroed(&ctx, "order", sets[0].len as u64 * 4);
        let step_stride = STEP_BYTES.max(limits.min_uniform_buffer_offset_alignment as u64);
        let steps_capacity = 64;
        let steps = steps_buffer(&ctx, steps_capacity, step_stride);
        let widest = net.layers.iter().copied().max().unwrap_or(1).max(1);
        let eval_rows = options
            .eval_rows
            .max(1)
            .min((binding / (4 * widest as u64)).max(1) as usize);
        let mut backend = GpuBackend {
            groups: placeholder_groups(&ctx, &kernels, &steps),
            ctx,
            kernels,
            options,
            optimizer,
            layers,
            sets,
            eval,
            order,
            output_dims,
            rows_capacity: 0,
            acts: Vec::new(),
            deltas: Vec::new(),
            steps,
            steps_capacity,
            step_stride,
            updates: 0,
            timings: None,
        };
        backend.ensure_rows(eval_rows)?;
        backend.ctx.wait("uploading the data and parameters")?;
        Ok(backend)
    }

    /// Seconds per call of each kernel of a step, from the timestamp queries of the last
    /// epoch's first steps; `None` where the adapter has no timestamp queries.
    pub fn kernel_timings(&self) -> Option<Vec<(String, f64)>> {
        self.timings.clone()
    }

    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    /// Grows the activation and error buffers to hold `rows` samples.
    fn ensure_rows(&mut self, rows: usize) -> Result<()> {
        if rows <= self.rows_capacity {
            return Ok(());
        }
        let widths: Vec<usize> = std::iter::once(self.layers[0].inputs)
            .chain(self.layers.iter().map(|l| l.outputs))
            .collect();
        for &w in &widths {
            buffers::check_binding(
                &self.ctx,
                &format!("a batch of {rows} rows of a {w}-unit layer"),
                (rows * w * 4) as u64,
            )?;
        }
        let limit = self
            .ctx
            .device
            .limits()
            .max_compute_workgroups_per_dimension as usize;
        if rows > limit {
            return Err(Error::Gpu(format!(
                "a batch of {rows} rows exceeds {}'s {limit} workgroups per dimension; use a smaller batch",
                self.ctx.info.name
            )));
        }
        self.acts = widths
            .iter()
            .map(|&w| buffers::storage_zeroed(&self.ctx, "activations", (rows * w * 4) as u64))
            .collect();
        self.deltas = widths[1..]
            .iter()
            .map(|&w| buffers::storage_zeroed(&self.ctx, "deltas", (rows * w * 4) as u64))
            .collect();
        self.rows_capacity = rows;
        self.rebuild_groups();
        Ok(())
    }

    /// Grows the per-step record buffer to hold `steps` records.
    fn ensure_steps(&mut self, steps: usize) {
        if steps <= self.steps_capacity {
            return;
        }
        self.steps_capacity = steps.next_power_of_two();
        self.steps = steps_buffer(&self.ctx, self.steps_capacity, self.step_stride);
        self.rebuild_groups();
    }

    fn rebuild_groups(&mut self) {
        let ctx = &self.ctx;
        let k = &self.kernels;
        let last = self.layers.len() - 1;
        let step = step_group(ctx, k, &self.steps);
        let gather = self
            .sets
            .iter()
            .map(|s| {
                kernels::bind(
                    ctx,
                    &k.gather,
                    "gather",
                    &[
                        &s.dims,
                        &self.order,
                        &self.acts[0],
                        s.chunk(0),
                        s.chunk(1),
                        s.chunk(2),
                        s.chunk(3),
                    ],
                )
            })
            .collect();
        let forward = self
            .layers
            .iter()
            .enumerate()
            .map(|(l, layer)| {
                let kernel = k.forward(l != last, layer.inputs);
                kernels::bind(
                    ctx,
                    kernel,
                    "forward",
                    &[
                        &layer.forward_dims,
                        &self.acts[l],
                        &layer.params,
                        &self.acts[l + 1],
                    ],
                )
            })
            .collect();
        let backprop = self
            .layers
            .iter()
            .enumerate()
            .map(|(l, layer)| {
                (l > 0).then(|| {
                    kernels::bind(
                        ctx,
                        &k.backprop,
                        "backprop",
                        &[
                            &layer.backprop_dims,
                            &self.deltas[l],
                            &layer.params,
                            &self.acts[l],
                            &self.deltas[l - 1],
                        ],
                    )
                })
            })
            .collect();
        let update = self
            .layers
            .iter()
            .enumerate()
            .map(|(l, layer)| {
                let mut list: Vec<&wgpu::Buffer> = vec![
                    &layer.update_dims,
                    &self.deltas[l],
                    &self.acts[l],
                    &layer.params,
                ];
                list.extend(layer.slots.iter());
                kernels::bind(ctx, &k.update, "update", &list)
            })
            .collect();
        let output_delta = kernels::bind(
            ctx,
            &k.output_delta,
            "output delta",
            &[
                &self.output_dims,
                &self.acts[last + 1],
                &self.sets[0].labels,
                &self.order,
                &self.deltas[last],
            ],
        );
        let evaluate = self
            .sets
            .iter()
            .zip(&self.eval)
            .map(|(s, e)| {
                kernels::bind(
                    ctx,
                    &k.evaluate,
                    "evaluate",
                    &[
                        &self.output_dims,
                        &self.acts[last + 1],
                        &s.labels,
                        &e.costs,
                        &e.predictions,
                    ],
                )
            })
            .collect();
        self.groups = Groups {
            step,
            gather,
            forward,
            backprop,
            update,
            output_delta,
            evaluate,
        };
    }

    /// The dispatches of one step over `rows` samples of set `set`: training (forward,
    /// backward, update) or evaluation (forward, evaluate).
    fn step_dispatches(&self, rows: usize, set: usize, training: bool) -> Vec<Dispatch<'_>> {
        let k = &self.kernels;
        let g = &self.groups;
        let last = self.layers.len() - 1;
        let mut list = vec![Dispatch {
            name: "gather",
            layer: 0,
            pipeline: &k.gather.pipeline,
            group: &g.gather[set],
            workgroups: [
                groups_of(self.sets[set].words_per_image, ROW_GROUP),
                rows as u32,
                1,
            ],
        }];
        for (l, layer) in self.layers.iter().enumerate() {
            let name = if l == last {
                "forward_output"
            } else {
                "forward_hidden"
            };
            let kernel = k.forward(l != last, layer.inputs);
            list.push(Dispatch {
                name,
                layer: l,
                pipeline: &kernel.pipeline,
                group: &g.forward[l],
                workgroups: k.forward_grid(rows, layer.inputs, layer.outputs),
            });
        }
        if !training {
            list.push(Dispatch {
                name: "evaluate",
                layer: last,
                pipeline: &k.evaluate.pipeline,
                group: &g.evaluate[set],
                workgroups: [groups_of(rows, ROW_GROUP), 1, 1],
            });
            return list;
        }
        list.push(Dispatch {
            name: "output_delta",
            layer: last,
            pipeline: &k.output_delta.pipeline,
            group: &g.output_delta,
            workgroups: [groups_of(rows, ROW_GROUP), 1, 1],
        });
        for (l, layer) in self.layers.iter().enumerate().rev() {
            if let Some(group) = &g.backprop[l] {
                list.push(Dispatch {
                    name: "backprop",
                    layer: l,
                    pipeline: &k.backprop.pipeline,
                    group,
                    workgroups: k.matmul_grid(rows, layer.inputs),
                });
            }
            list.push(Dispatch {
                name: "update",
                layer: l,
                pipeline: &k.update.pipeline,
                group: &g.update[l],
                workgroups: k.matmul_grid(layer.outputs, layer.inputs + 1),
            });
        }
        list
    }

    /// Writes `records` into the step buffer and records them, `steps_per_submit` to a command
    /// buffer; the first `profiled` steps get one timed pass per dispatch. Waits once at the end.
    fn run_steps(
        &mut self,
        records: &[StepRecord],
        set: usize,
        training: bool,
        profiled: usize,
    ) -> Result<()> {
        self.ensure_steps(records.len());
        let stride = self.step_stride as usize;
        let mut bytes = vec![0u8; records.len() * stride];
        for (i, r) in records.iter().enumerate() {
            bytes[i * stride..i * stride + STEP_BYTES as usize]
                .copy_from_slice(bytemuck::bytes_of(r));
        }
        if !bytes.is_empty() {
            self.ctx.queue.write_buffer(&self.steps, 0, &bytes);
        }
        let profiled = if self.ctx.timestamps && self.options.profile {
            profiled.min(records.len())
        } else {
            0
        };
        let mut profiler = if profiled > 0 {
            let per_step = self
                .step_dispatches(records[0].rows as usize, set, training)
                .len();
            Some(Profiler::new(&self.ctx, profiled * per_step))
        } else {
            None
        };
        let per_submit = self.options.steps_per_submit.max(1);
        let trace = std::env::var_os("GPU_MLP_TRACE").is_some();
        let began = std::time::Instant::now();
        let mut start = 0;
        while start < records.len() {
            let end = (start + per_submit).min(records.len());
            let mut encoder =
                self.ctx
                    .device
                    .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                        label: Some("steps"),
                    });
            let mut s = start;
            if let Some(p) = profiler.as_mut() {
                while s < end && s < profiled {
                    let offset = (s * stride) as u32;
                    for d in self.step_dispatches(records[s].rows as usize, set, training) {
                        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                            label: Some(d.name),
                            timestamp_writes: p.next_writes(format!("{}[{}]", d.name, d.layer)),
                        });
                        pass.set_bind_group(0, &self.groups.step, &[offset]);
                        pass.set_pipeline(d.pipeline);
                        pass.set_bind_group(1, d.group, &[]);
                        pass.dispatch_workgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
                    }
                    s += 1;
                }
            }
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("steps"),
                    timestamp_writes: None,
                });
                for (i, r) in records.iter().enumerate().take(end).skip(s) {
                    pass.set_bind_group(0, &self.groups.step, &[(i * stride) as u32]);
                    for d in self.step_dispatches(r.rows as usize, set, training) {
                        pass.set_pipeline(d.pipeline);
                        pass.set_bind_group(1, d.group, &[]);
                        pass.dispatch_workgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
                    }
                }
            }
            if let Some(p) = profiler.as_mut() {
                if end >= profiled {
                    p.resolve(&mut encoder);
                }
            }
            self.ctx.queue.submit([encoder.finish()]);
            self.ctx.check("recording the steps")?;
            start = end;
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

    fn read_layers(&self, slot: Option<usize>) -> Result<Params> {
        let sources: Vec<(&wgpu::Buffer, u64)> = self
            .layers
            .iter()
            .map(|l| {
                let buffer = match slot {
                    None => &l.params,
                    Some(s) => &l.slots[s],
                };
                (buffer, l.floats() as u64 * 4)
            })
            .collect();
        let data = buffers::read_back(&self.ctx, &sources)?;
        let layers = self
            .layers
            .iter()
            .zip(data)
            .map(|(l, bytes)| {
                let floats = buffers::to_f32(&bytes);
                let w = l.outputs * l.inputs;
                Layer {
                    inputs: l.inputs,
                    outputs: l.outputs,
                    weight: floats[..w].to_vec(),
                    bias: floats[w..].to_vec(),
                }
            })
            .collect();
        Ok(Params { layers })
    }
}

/// W then b as bytes, zero-padded to a multiple of 16 so that a vec4 view of the buffer
/// (matmul_blocked_k4.wgsl) reaches the last bias.
pub(crate) fn layer_bytes(layer: &Layer) -> Vec<u8> {
    let mut bytes = Vec::with_capacity((layer.weight.len() + layer.bias.len() + 3) * 4);
    bytes.extend_from_slice(bytemuck::cast_slice(&layer.weight));
    bytes.extend_from_slice(bytemuck::cast_slice(&layer.bias));
    bytes.resize(bytes.len().next_multiple_of(16), 0);
    bytes
}

fn check_shape(net: &NetworkConfig, params: &Params, what: &str) -> Result<()> {
    let ok = params.sizes() == net.layers
        && params
            .layers
            .iter()
            .all(|l| l.weight.len() == l.inputs * l.outputs && l.bias.len() == l.outputs);
    if ok {
        Ok(())
    } else {
        Err(Error::config(format!(
            "{what} have layer sizes {:?} but the network is {}",
            params.sizes(),
            net.layers_string()
        )))
    }
}

pub(crate) fn steps_buffer(ctx: &GpuContext, capacity: usize, stride: u64) -> wgpu::Buffer {
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("step records"),
        size: capacity as u64 * stride,
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

pub(crate) fn step_group(ctx: &GpuContext, k: &Kernels, steps: &wgpu::Buffer) -> wgpu::BindGroup {
    ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("step"),
        layout: &k.step_layout,
        entries: &[wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: steps,
                offset: 0,
                size: wgpu::BufferSize::new(STEP_BYTES),
            }),
        }],
    })
}

fn placeholder_groups(ctx: &GpuContext, k: &Kernels, steps: &wgpu::Buffer) -> Groups {
    let step = step_group(ctx, k, steps);
    let output_delta = step_group(ctx, k, steps);
    Groups {
        step,
        gather: Vec::new(),
        forward: Vec::new(),
        backprop: Vec::new(),
        update: Vec::new(),
        output_delta,
        evaluate: Vec::new(),
    }
}

impl Backend for GpuBackend {
    fn kernel_timings(&self) -> Option<Vec<(String, f64)>> {
        GpuBackend::kernel_timings(self)
    }

    fn describe(&self) -> String {
        self.ctx.describe()
    }

    fn train_epoch(&mut self, order: &[u32], hyper: &StepHyper) -> Result<()> {
        let n = self.sets[0].len;
        if order.len() > n {
            return Err(Error::config(format!(
                "the epoch's order lists {} samples but the training set has {n}",
                order.len()
            )));
        }
        if let Some(bad) = order.iter().find(|&&i| i as usize >= n) {
            return Err(Error::config(format!(
                "the epoch's order names sample {bad} but the training set has {n}"
            )));
        }
        if hyper.batch_size == 0 {
            return Err(Error::config("--batch-size must be at least 1"));
        }
        if order.is_empty() {
            return Ok(());
        }
        let batch = hyper.batch_size.min(order.len());
        self.ensure_rows(batch)?;
        self.ctx
            .queue
            .write_buffer(&self.order, 0, bytemuck::cast_slice(order));
        let records: Vec<StepRecord> = (0..order.len().div_ceil(batch))
            .map(|s| {
                let rows = batch.min(order.len() - s * batch);
                // Adam's t counts updates from 1.
                StepRecord::training(hyper, rows, s * batch, self.updates + s as u64 + 1)
            })
            .collect();
        self.run_steps(&records, 0, true, crate::gpu::timing::PROFILED_STEPS)?;
        self.updates += records.len() as u64;
        Ok(())
    }

    fn evaluate(&mut self, split: Split) -> Result<Evaluation> {
        let set = split_index(split);
        let n = self.sets[set].len;
        if n == 0 {
            return Ok(Evaluation {
                cost_sum: 0.0,
                correct: 0,
                count: 0,
                predictions: Vec::new(),
            });
        }
        let rows = self.rows_capacity;
        let records: Vec<StepRecord> = (0..n.div_ceil(rows))
            .map(|b| StepRecord {
                rows: rows.min(n - b * rows) as u32,
                order_offset: (b * rows) as u32,
                sequential: 1,
                ..StepRecord::default()
            })
            .collect();
        self.run_steps(&records, set, false, 0)?;
        let e = &self.eval[set];
        let data = buffers::read_back(
            &self.ctx,
            &[(&e.costs, n as u64 * 4), (&e.predictions, n as u64 * 4)],
        )?;
        let costs = buffers::to_f32(&data[0]);
        let predictions: Vec<u8> = buffers::to_u32(&data[1]).iter().map(|&p| p as u8).collect();
        let cost_sum = costs.iter().map(|&c| c as f64).sum();
        let correct = predictions
            .iter()
            .zip(&self.sets[set].host_labels)
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
        let sizes: Vec<usize> = std::iter::once(self.layers[0].inputs)
            .chain(self.layers.iter().map(|l| l.outputs))
            .collect();
        let net_shape = |p: &Params| {
            p.sizes() == sizes
                && p.layers
                    .iter()
                    .all(|l| l.weight.len() == l.inputs * l.outputs && l.bias.len() == l.outputs)
        };
        if !net_shape(params) {
            return Err(Error::config(format!(
                "the loaded parameters have layer sizes {:?} but the network is {sizes:?}",
                params.sizes()
            )));
        }
        if state.slots.len() != self.optimizer.state_slots() || !state.slots.iter().all(net_shape) {
            return Err(Error::config(format!(
                "the loaded optimizer state has {} slot(s) of sizes {:?}; {:?} needs {} of sizes {sizes:?}",
                state.slots.len(),
                state.slots.iter().map(Params::sizes).collect::<Vec<_>>(),
                self.optimizer,
                self.optimizer.state_slots()
            )));
        }
        for (l, layer) in self.layers.iter().enumerate() {
            self.ctx
                .queue
                .write_buffer(&layer.params, 0, &layer_bytes(&params.layers[l]));
            for (s, slot) in layer.slots.iter().enumerate() {
                self.ctx
                    .queue
                    .write_buffer(slot, 0, &layer_bytes(&state.slots[s].layers[l]));
            }
        }
        self.updates = state.step;
        self.ctx.wait("loading the parameters")
    }
}

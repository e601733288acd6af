//! Runs one kernel alone on host data and reads its result back: how the kernel tests hold
//! each shader against a few lines of host arithmetic. Not used by training.

use super::buffers;
use super::context::GpuContext;
use super::dataset::DeviceSet;
use super::kernels::{self, Kernel, Kernels};
use super::layout::{
    layer_bytes, layer_from_floats, step_group, step_stride, steps_buffer, MatDims, OutputDims,
    StepRecord, IMAGE_BINDINGS, ROW_GROUP,
};
use super::multiply::groups_of;
use crate::config::{Cost, OptimizerKind, Output, StepHyper};
use crate::data::Dataset;
use crate::error::Result;
use crate::model::Layer;

/// The pipelines of one output/cost/optimizer/multiply choice, ready to run alone.
pub struct Probe {
    ctx: GpuContext,
    kernels: Kernels,
}

fn f32_bytes(x: &[f32]) -> &[u8] {
    bytemuck::cast_slice(x)
}

impl Probe {
    pub fn new(
        ctx: &GpuContext,
        output: Output,
        cost: Cost,
        optimizer: OptimizerKind,
        tiled: bool,
    ) -> Result<Probe> {
        Ok(Probe {
            ctx: ctx.clone(),
            kernels: Kernels::new(ctx, output, cost, optimizer, tiled)?,
        })
    }

    fn run(
        &self,
        kernel: &Kernel,
        buffers: &[&wgpu::Buffer],
        record: StepRecord,
        grid: [u32; 3],
    ) -> Result<()> {
        let steps = steps_buffer(&self.ctx, 1, step_stride(&self.ctx));
        self.ctx
            .queue
            .write_buffer(&steps, 0, bytemuck::bytes_of(&record));
        let step = step_group(&self.ctx, &self.kernels.step_layout, &steps);
        let group = kernels::bind(&self.ctx, kernel, "probe", buffers);
        let mut encoder = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("probe"),
            });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            pass.set_pipeline(&kernel.pipeline);
            pass.set_bind_group(0, &step, &[0]);
            pass.set_bind_group(1, &group, &[]);
            pass.dispatch_workgroups(grid[0], grid[1], grid[2]);
        }
        self.ctx.queue.submit([encoder.finish()]);
        self.ctx.wait("running a probe kernel")
    }

    fn read(&self, buffer: &wgpu::Buffer, floats: usize) -> Result<Vec<f32>> {
        let bytes = buffers::read_back(&self.ctx, &[(buffer, floats as u64 * 4)])?;
        Ok(buffers::to_f32(&bytes[0]))
    }

    /// The forward product of `layer` over `rows` rows of `input` [rows, in]: σ(A·Wᵀ + b) for a
    /// hidden layer, A·Wᵀ + b (z) for the output layer.
    pub fn forward(
        &self,
        input: &[f32],
        rows: usize,
        layer: &Layer,
        hidden: bool,
    ) -> Result<Vec<f32>> {
        let dims = MatDims::forward(layer.inputs, layer.outputs);
        let dims = buffers::uniform_init(&self.ctx, "dims", bytemuck::bytes_of(&dims));
        let a = buffers::storage_init(&self.ctx, "a", f32_bytes(input));
        let w = buffers::storage_init(&self.ctx, "params", &layer_bytes(layer));
        let out = buffers::storage_zeroed(&self.ctx, "out", (rows * layer.outputs * 4) as u64);
        let multiply = self.kernels.forward_multiply(layer.inputs);
        let kernel = self.kernels.forward(hidden, multiply)?;
        let grid = multiply.grid(rows, layer.outputs);
        self.run(
            kernel,
            &[&dims, &a, &w, &out],
            StepRecord::sequential(rows, 0),
            grid,
        )?;
        self.read(&out, rows * layer.outputs)
    }

    /// δ [rows, in] = (δ_next [rows, out] · W) ⊙ a(1 − a) with `activation` [rows, in].
    pub fn backprop(
        &self,
        delta_next: &[f32],
        rows: usize,
        layer: &Layer,
        activation: &[f32],
    ) -> Result<Vec<f32>> {
        let dims = MatDims::backprop(layer.inputs, layer.outputs);
        let dims = buffers::uniform_init(&self.ctx, "dims", bytemuck::bytes_of(&dims));
        let d = buffers::storage_init(&self.ctx, "delta next", f32_bytes(delta_next));
        let w = buffers::storage_init(&self.ctx, "params", &layer_bytes(layer));
        let act = buffers::storage_init(&self.ctx, "activation", f32_bytes(activation));
        let out = buffers::storage_zeroed(&self.ctx, "delta", (rows * layer.inputs * 4) as u64);
        let grid = self.kernels.general().grid(rows, layer.inputs);
        self.run(
            &self.kernels.backprop,
            &[&dims, &d, &w, &act, &out],
            StepRecord::sequential(rows, 0),
            grid,
        )?;
        self.read(&out, rows * layer.inputs)
    }

    /// One update of `layer` (and its optimizer `slots`) from δ [rows, out] and the previous
    /// activations [rows, in], as update number `t`. Returns the new layer and slots.
    #[allow(clippy::too_many_arguments)]
    pub fn update(
        &self,
        delta: &[f32],
        previous: &[f32],
        rows: usize,
        layer: &Layer,
        slots: &[Layer],
        hyper: &StepHyper,
        t: u64,
    ) -> Result<(Layer, Vec<Layer>)> {
        let dims = MatDims::gradient(layer.inputs, layer.outputs);
        let dims = buffers::uniform_init(&self.ctx, "dims", bytemuck::bytes_of(&dims));
        let d = buffers::storage_init(&self.ctx, "delta", f32_bytes(delta));
        let prev = buffers::storage_init(&self.ctx, "previous", f32_bytes(previous));
        let params = buffers::storage_init(&self.ctx, "params", &layer_bytes(layer));
        let slot_buffers: Vec<wgpu::Buffer> = slots
            .iter()
            .map(|s| buffers::storage_init(&self.ctx, "slot", &layer_bytes(s)))
            .collect();
        let mut list = vec![&dims, &d, &prev, &params];
        list.extend(slot_buffers.iter());
        let grid = self.kernels.general().grid(layer.outputs, layer.inputs + 1);
        self.run(
            &self.kernels.update,
            &list,
            StepRecord::training(hyper, rows, 0, t),
            grid,
        )?;
        let floats = layer.outputs * layer.inputs + layer.outputs;
        let split = |v: Vec<f32>| layer_from_floats(layer.inputs, layer.outputs, &v);
        let new_layer = split(self.read(&params, floats)?);
        let new_slots = slot_buffers
            .iter()
            .map(|b| self.read(b, floats).map(split))
            .collect::<Result<Vec<_>>>()?;
        Ok((new_layer, new_slots))
    }

    /// The uniform and inputs of the per-sample output kernels: OutputDims, z [rows, classes]
    /// and the labels as u32.
    fn output_inputs(
        &self,
        z: &[f32],
        labels: &[u8],
        classes: usize,
    ) -> (wgpu::Buffer, wgpu::Buffer, wgpu::Buffer) {
        let dims = OutputDims::new(classes);
        let dims = buffers::uniform_init(&self.ctx, "dims", bytemuck::bytes_of(&dims));
        let zb = buffers::storage_init(&self.ctx, "z", f32_bytes(z));
        let lb: Vec<u32> = labels.iter().map(|&l| l as u32).collect();
        let lb = buffers::storage_init(&self.ctx, "labels", bytemuck::cast_slice(&lb));
        (dims, zb, lb)
    }

    /// δᴸ [rows, classes] from z [rows, classes] and one label per row.
    pub fn output_delta(&self, z: &[f32], labels: &[u8], classes: usize) -> Result<Vec<f32>> {
        let rows = labels.len();
        let (dims, zb, lb) = self.output_inputs(z, labels, classes);
        let order = buffers::storage_zeroed(&self.ctx, "order", 4);
        let out = buffers::storage_zeroed(&self.ctx, "delta", (rows * classes * 4) as u64);
        let grid = [groups_of(rows, ROW_GROUP), 1, 1];
        self.run(
            &self.kernels.output_delta,
            &[&dims, &zb, &lb, &order, &out],
            StepRecord::sequential(rows, 0),
            grid,
        )?;
        self.read(&out, rows * classes)
    }

    /// Per-row cost and prediction from z [rows, classes] and the labels.
    pub fn evaluate(
        &self,
        z: &[f32],
        labels: &[u8],
        classes: usize,
    ) -> Result<(Vec<f32>, Vec<u32>)> {
        let rows = labels.len();
        let (dims, zb, lb) = self.output_inputs(z, labels, classes);
        let costs = buffers::storage_zeroed(&self.ctx, "costs", rows as u64 * 4);
        let predictions = buffers::storage_zeroed(&self.ctx, "predictions", rows as u64 * 4);
        let grid = [groups_of(rows, ROW_GROUP), 1, 1];
        self.run(
            &self.kernels.evaluate,
            &[&dims, &zb, &lb, &costs, &predictions],
            StepRecord::sequential(rows, 0),
            grid,
        )?;
        let bytes = buffers::read_back(
            &self.ctx,
            &[(&costs, rows as u64 * 4), (&predictions, rows as u64 * 4)],
        )?;
        Ok((buffers::to_f32(&bytes[0]), buffers::to_u32(&bytes[1])))
    }

    /// The batch X [rows, pixels] gathered from `set` through `order[offset..offset+rows]`, with
    /// the images split over bindings of at most `max_binding_bytes`.
    pub fn gather(
        &self,
        set: &Dataset,
        order: &[u32],
        offset: usize,
        rows: usize,
        max_binding_bytes: u64,
    ) -> Result<Vec<f32>> {
        let device_set = DeviceSet::upload(&self.ctx, "probe", set, max_binding_bytes)?;
        let order_buffer = buffers::storage_init(&self.ctx, "order", bytemuck::cast_slice(order));
        let pixels = set.pixels();
        let out = buffers::storage_zeroed(&self.ctx, "batch", (rows * pixels * 4) as u64);
        // A training record (sequential = 0): rows are read through `order`.
        let record = StepRecord {
            rows: rows as u32,
            order_offset: offset as u32,
            ..StepRecord::default()
        };
        let grid = [
            groups_of(device_set.words_per_image, ROW_GROUP),
            rows as u32,
            1,
        ];
        let mut list = vec![&device_set.dims, &order_buffer, &out];
        list.extend((0..IMAGE_BINDINGS as usize).map(|i| device_set.chunk(i)));
        self.run(&self.kernels.gather, &list, record, grid)?;
        self.read(&out, rows * pixels)
    }
}

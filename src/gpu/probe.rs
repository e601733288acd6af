//! Runs one kernel alone on host data and reads its result back: how the self-test
//! (`crate::selftest`, and the kernel tests through it) holds each shader against a few lines
//! of host arithmetic. Any pipeline can be probed, whichever multiply variant an adapter trains
//! with; the products go through the same chunking (`chunks.rs`) as training. Not used by
//! training.

use super::buffers;
use super::chunks::{self, ChunkTable, MAX_DISPATCH_MACS};
use super::context::GpuContext;
use super::dataset::DeviceSet;
use super::kernels::{self, Kernel, Pipeline};
use super::layout::{
    layer_bytes, layer_from_floats, step_group, step_stride, steps_buffer, MatDims, OutputDims,
    StepRecord, IMAGE_BINDINGS, ROW_GROUP,
};
use super::multiply::{groups_of, Multiply};
use crate::config::{Cost, OptimizerKind, Output, StepHyper};
use crate::data::Dataset;
use crate::error::Result;
use crate::model::Layer;

/// Built pipelines, kept for the probe's lifetime, and the chunk records its dispatches use.
pub(crate) struct Probe {
    ctx: GpuContext,
    step_layout: wgpu::BindGroupLayout,
    kernels: Vec<(Pipeline, Kernel)>,
    chunks: ChunkTable,
    max_dispatch_macs: u64,
}

fn f32_bytes(x: &[f32]) -> &[u8] {
    bytemuck::cast_slice(x)
}

/// The dispatches of one kernel: each its chunk's first workgroup row and its grid.
type Grid = Vec<(u32, [u32; 3])>;

fn whole(grid: [u32; 3]) -> Grid {
    vec![(0, grid)]
}

impl Probe {
    pub fn new(ctx: &GpuContext) -> Probe {
        Probe {
            ctx: ctx.clone(),
            step_layout: kernels::step_layout(ctx),
            kernels: Vec::new(),
            chunks: ChunkTable::new(ctx),
            max_dispatch_macs: MAX_DISPATCH_MACS,
        }
    }

    /// Splits the products into dispatches of at most `macs` multiply-adds, as training does
    /// with products beyond [`MAX_DISPATCH_MACS`].
    pub fn set_max_dispatch_macs(&mut self, macs: u64) {
        self.max_dispatch_macs = macs.max(1);
    }

    /// How many dispatches the product M×N×K through `m` takes.
    pub fn dispatches(&self, m: Multiply, rows: usize, n: usize, k: usize) -> usize {
        chunks::split(m, rows, n, k, self.max_dispatch_macs).len()
    }

    fn product(&self, m: Multiply, rows: usize, n: usize, k: usize) -> Grid {
        chunks::split(m, rows, n, k, self.max_dispatch_macs)
            .into_iter()
            .map(|c| (c.group_offset, c.grid))
            .collect()
    }

    /// The index of `pipeline` among the built ones, building it first.
    fn kernel(&mut self, pipeline: Pipeline) -> Result<usize> {
        if let Some(i) = self.kernels.iter().position(|(p, _)| *p == pipeline) {
            return Ok(i);
        }
        let kernel = kernels::build(&self.ctx, &self.step_layout, pipeline);
        self.ctx
            .check(&format!("building the {} pipeline", pipeline.name()))?;
        self.kernels.push((pipeline, kernel));
        Ok(self.kernels.len() - 1)
    }

    fn run(
        &mut self,
        pipeline: Pipeline,
        buffers: &[&wgpu::Buffer],
        record: StepRecord,
        grid: Grid,
    ) -> Result<()> {
        let k = self.kernel(pipeline)?;
        // The step group is built below, over the table's buffer as it is then.
        self.chunks.include(&self.ctx, grid.iter().map(|g| g.0));
        let kernel = &self.kernels[k].1;
        let steps = steps_buffer(&self.ctx, 1, step_stride(&self.ctx, 1));
        self.ctx
            .queue
            .write_buffer(&steps, 0, bytemuck::bytes_of(&record));
        let stride = step_stride(&self.ctx, 1);
        let step = step_group(
            &self.ctx,
            &self.step_layout,
            &steps,
            1,
            stride,
            &self.chunks.buffer,
        );
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
            pass.set_bind_group(1, &group, &[]);
            for (offset, g) in grid {
                pass.set_bind_group(0, &step, &[0, self.chunks.dynamic_offset(offset)?]);
                pass.dispatch_workgroups(g[0], g[1], g[2]);
            }
        }
        self.ctx.queue.submit([encoder.finish()]);
        self.ctx
            .wait(&format!("running the {} kernel", pipeline.name()))
    }

    fn read(&self, buffer: &wgpu::Buffer, floats: usize) -> Result<Vec<f32>> {
        let bytes = buffers::read_back(&self.ctx, &[(buffer, floats as u64 * 4)])?;
        Ok(buffers::to_f32(&bytes[0]))
    }

    /// The forward product of `layer` through `multiply` over `rows` rows of `input`
    /// [rows, in]: σ(A·Wᵀ + b) for a hidden layer, A·Wᵀ + b (z) for the output layer.
    pub fn forward(
        &mut self,
        multiply: Multiply,
        hidden: bool,
        input: &[f32],
        rows: usize,
        layer: &Layer,
    ) -> Result<Vec<f32>> {
        let dims = MatDims::forward(layer.inputs, layer.outputs);
        let dims = buffers::uniform_init(&self.ctx, "dims", bytemuck::bytes_of(&dims));
        let a = buffers::storage_init(&self.ctx, "a", f32_bytes(input));
        let w = buffers::storage_init(&self.ctx, "params", &layer_bytes(layer));
        let out = buffers::storage_zeroed(&self.ctx, "out", (rows * layer.outputs * 4) as u64);
        let grid = self.product(multiply, rows, layer.outputs, layer.inputs);
        self.run(
            Pipeline::Forward { hidden, multiply },
            &[&dims, &a, &w, &out],
            StepRecord::sequential(rows, 0),
            grid,
        )?;
        self.read(&out, rows * layer.outputs)
    }

    /// δ [rows, in] = (δ_next [rows, out] · W) ⊙ a(1 − a) with `activation` [rows, in].
    pub fn backprop(
        &mut self,
        multiply: Multiply,
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
        let grid = self.product(multiply, rows, layer.inputs, layer.outputs);
        self.run(
            Pipeline::Backprop(multiply),
            &[&dims, &d, &w, &act, &out],
            StepRecord::sequential(rows, 0),
            grid,
        )?;
        self.read(&out, rows * layer.inputs)
    }

    /// One update of `layer` (and its optimizer `slots`) from δ [rows, out] and the previous
    /// activations [rows, in], as update number `t`, through `multiply`. Returns the new layer
    /// and slots.
    #[allow(clippy::too_many_arguments)]
    pub fn update(
        &mut self,
        multiply: Multiply,
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
        let grid = self.product(multiply, layer.outputs, layer.inputs + 1, rows);
        let kind: OptimizerKind = hyper.optimizer.kind;
        self.run(
            Pipeline::Update(multiply, kind),
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
        let dims = OutputDims::new(classes, 0, 0);
        let dims = buffers::uniform_init(&self.ctx, "dims", bytemuck::bytes_of(&dims));
        let zb = buffers::storage_init(&self.ctx, "z", f32_bytes(z));
        let lb: Vec<u32> = labels.iter().map(|&l| l as u32).collect();
        let lb = buffers::storage_init(&self.ctx, "labels", bytemuck::cast_slice(&lb));
        (dims, zb, lb)
    }

    /// δᴸ [rows, classes] from z [rows, classes] and one label per row.
    pub fn output_delta(
        &mut self,
        output: Output,
        cost: Cost,
        z: &[f32],
        labels: &[u8],
        classes: usize,
    ) -> Result<Vec<f32>> {
        let rows = labels.len();
        let (dims, zb, lb) = self.output_inputs(z, labels, classes);
        let order = buffers::storage_zeroed(&self.ctx, "order", 4);
        let out = buffers::storage_zeroed(&self.ctx, "delta", (rows * classes * 4) as u64);
        self.run(
            Pipeline::OutputDelta(output, cost),
            &[&dims, &zb, &lb, &order, &out],
            StepRecord::sequential(rows, 0),
            whole([groups_of(rows, ROW_GROUP), 1, 1]),
        )?;
        self.read(&out, rows * classes)
    }

    /// Per-row cost and prediction from z [rows, classes] and the labels.
    pub fn evaluate(
        &mut self,
        output: Output,
        cost: Cost,
        z: &[f32],
        labels: &[u8],
        classes: usize,
    ) -> Result<(Vec<f32>, Vec<u32>)> {
        let rows = labels.len();
        let (dims, zb, lb) = self.output_inputs(z, labels, classes);
        let costs = buffers::storage_zeroed(&self.ctx, "costs", rows as u64 * 4);
        let predictions = buffers::storage_zeroed(&self.ctx, "predictions", rows as u64 * 4);
        self.run(
            Pipeline::Evaluate(output, cost),
            &[&dims, &zb, &lb, &costs, &predictions],
            StepRecord::sequential(rows, 0),
            whole([groups_of(rows, ROW_GROUP), 1, 1]),
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
        &mut self,
        set: &Dataset,
        order: &[u32],
        offset: usize,
        rows: usize,
        max_binding_bytes: u64,
    ) -> Result<Vec<f32>> {
        let device_set = DeviceSet::upload(&self.ctx, "probe", set, max_binding_bytes)?;
        let order_buffer = buffers::storage_init(&self.ctx, "order", bytemuck::cast_slice(order));
        let pixels = set.pixels();
        // Whole vec4s: gather.wgsl views the batch as vec4<f32>.
        let bytes = ((rows * pixels * 4) as u64).next_multiple_of(16);
        let out = buffers::storage_zeroed(&self.ctx, "batch", bytes);
        // A training record (sequential = 0): rows are read through `order`.
        let record = StepRecord {
            rows: rows as u32,
            order_offset: offset as u32,
            ..StepRecord::default()
        };
        let grid = [1, rows as u32, 1];
        let mut list = vec![&device_set.dims, &order_buffer, &out];
        list.extend((0..IMAGE_BINDINGS as usize).map(|i| device_set.chunk(i)));
        self.run(Pipeline::Gather, &list, record, whole(grid))?;
        self.read(&out, rows * pixels)
    }
}

//! The compute pipelines, each composed from the WGSL files in `shaders/`: a kernel file, the
//! library fragments it calls (σ, the output activation) and, for the tiled multiply, the
//! epilogue that makes it a forward, backward or gradient-and-update pass. WGSL has no
//! `#include`, so a pipeline's source is the concatenation of its fragments.

use super::context::GpuContext;
use crate::config::{Cost, OptimizerKind, Output};
use crate::error::Result;

const STEP: &str = include_str!("../../shaders/step.wgsl");
const SIGMOID: &str = include_str!("../../shaders/sigmoid.wgsl");
const MATMUL_TILED: &str = include_str!("../../shaders/matmul.wgsl");
const MATMUL_DIRECT: &str = include_str!("../../shaders/matmul_direct.wgsl");
const FORWARD_SIGMOID: &str = include_str!("../../shaders/forward_sigmoid.wgsl");
const FORWARD_LINEAR: &str = include_str!("../../shaders/forward_linear.wgsl");
const BACKPROP_DELTA: &str = include_str!("../../shaders/backprop_delta.wgsl");
const OUTER_PRODUCT: &str = include_str!("../../shaders/outer_product.wgsl");
const UPDATE_SGD: &str = include_str!("../../shaders/update_sgd.wgsl");
const UPDATE_MOMENTUM: &str = include_str!("../../shaders/update_momentum.wgsl");
const UPDATE_ADAM: &str = include_str!("../../shaders/update_adam.wgsl");
const OUTPUT_ACTIVATION: &str = include_str!("../../shaders/output_activation.wgsl");
const OUTPUT_DELTA: &str = include_str!("../../shaders/output_delta.wgsl");
const EVALUATE: &str = include_str!("../../shaders/evaluate.wgsl");
const GATHER: &str = include_str!("../../shaders/gather.wgsl");

/// Side of the multiply's square output tile (matmul.wgsl's TILE).
pub(crate) const TILE: u32 = 16;
/// Invocations per workgroup of matmul_direct.wgsl (along N).
pub(crate) const DIRECT_GROUP: u32 = 64;
/// Invocations per workgroup of the row-wise kernels (gather, output_delta, evaluate).
pub(crate) const ROW_GROUP: u32 = 64;

/// How a binding of group 1 is used.
#[derive(Clone, Copy)]
pub(crate) enum Slot {
    Uniform,
    Read,
    ReadWrite,
}

/// A pipeline and the layout of its own bind group (group 1).
pub(crate) struct Kernel {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
}

/// Every pipeline a network needs.
pub(crate) struct Kernels {
    /// Group 0: the per-step record, read at a dynamic offset.
    pub step_layout: wgpu::BindGroupLayout,
    pub gather: Kernel,
    pub forward_hidden: Kernel,
    pub forward_output: Kernel,
    pub backprop: Kernel,
    pub update: Kernel,
    pub output_delta: Kernel,
    pub evaluate: Kernel,
    pub tiled: bool,
}

/// Which multiply suits an adapter. On a CPU driver (llvmpipe) each workgroup barrier switches
/// between the workgroup's SIMD rows and costs more than the reuse it buys: measured on
/// lavapipe with 2 cores, the direct multiply trains 784-30-10 about twice as fast. Real GPUs
/// get the tiled one.
pub(crate) fn prefer_tiled(ctx: &GpuContext) -> bool {
    !ctx.is_software()
}

impl Kernels {
    /// Workgroups for a multiply with an M x N result.
    pub fn matmul_grid(&self, m: usize, n: usize) -> [u32; 3] {
        if self.tiled {
            [groups_of(n, TILE), groups_of(m, TILE), 1]
        } else {
            [groups_of(n, DIRECT_GROUP), m.max(1) as u32, 1]
        }
    }
}

/// ⌈n / size⌉, at least 1.
pub(crate) fn groups_of(n: usize, size: u32) -> u32 {
    (n as u32).div_ceil(size).max(1)
}

/// The size of the per-step record (step.wgsl's `Step`).
pub(crate) const STEP_BYTES: u64 = 64;

impl Kernels {
    /// `tiled`: the workgroup-memory multiply (matmul.wgsl) rather than the direct one
    /// (matmul_direct.wgsl); see [`prefer_tiled`].
    pub fn new(
        ctx: &GpuContext,
        output: Output,
        cost: Cost,
        opt: OptimizerKind,
        tiled: bool,
    ) -> Result<Self> {
        let device = &ctx.device;
        let step_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("step"),
            entries: &[wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: true,
                    min_binding_size: wgpu::BufferSize::new(STEP_BYTES),
                },
                count: None,
            }],
        });
        let b = |v: bool| if v { 1.0 } else { 0.0 };
        let out_consts = [
            ("OUTPUT_SOFTMAX", b(output == Output::Softmax)),
            ("COST_CROSS_ENTROPY", b(cost == Cost::CrossEntropy)),
        ];
        use Slot::*;
        let matmul = if tiled { MATMUL_TILED } else { MATMUL_DIRECT };
        let (update_src, update_slots): (&str, &[Slot]) = match opt {
            OptimizerKind::Sgd => (UPDATE_SGD, &[Uniform, Read, Read, ReadWrite]),
            OptimizerKind::Momentum => (
                UPDATE_MOMENTUM,
                &[Uniform, Read, Read, ReadWrite, ReadWrite],
            ),
            OptimizerKind::Adam => (
                UPDATE_ADAM,
                &[Uniform, Read, Read, ReadWrite, ReadWrite, ReadWrite],
            ),
        };
        let k = Kernels {
            gather: kernel(
                ctx,
                &step_layout,
                "gather",
                &[GATHER],
                &[],
                &[Uniform, Read, ReadWrite, Read, Read, Read, Read],
            ),
            forward_hidden: kernel(
                ctx,
                &step_layout,
                "forward_hidden",
                &[SIGMOID, matmul, FORWARD_SIGMOID],
                &[("TRANS_B", 1.0)],
                &[Uniform, Read, Read, ReadWrite],
            ),
            forward_output: kernel(
                ctx,
                &step_layout,
                "forward_output",
                &[matmul, FORWARD_LINEAR],
                &[("TRANS_B", 1.0)],
                &[Uniform, Read, Read, ReadWrite],
            ),
            backprop: kernel(
                ctx,
                &step_layout,
                "backprop",
                &[SIGMOID, matmul, BACKPROP_DELTA],
                &[],
                &[Uniform, Read, Read, Read, ReadWrite],
            ),
            update: kernel(
                ctx,
                &step_layout,
                "update",
                &[matmul, OUTER_PRODUCT, update_src],
                &[("TRANS_A", 1.0), ("B_ONES_COLUMN", 1.0)],
                update_slots,
            ),
            output_delta: kernel(
                ctx,
                &step_layout,
                "output_delta",
                &[SIGMOID, OUTPUT_ACTIVATION, OUTPUT_DELTA],
                &out_consts,
                &[Uniform, Read, Read, Read, ReadWrite],
            ),
            evaluate: kernel(
                ctx,
                &step_layout,
                "evaluate",
                &[SIGMOID, OUTPUT_ACTIVATION, EVALUATE],
                &out_consts,
                &[Uniform, Read, Read, ReadWrite, ReadWrite],
            ),
            step_layout,
            tiled,
        };
        ctx.wait("building the compute pipelines")?;
        Ok(k)
    }
}

/// Builds one pipeline from `STEP` + `fragments`, specialised by `constants`.
pub(crate) fn kernel(
    ctx: &GpuContext,
    step_layout: &wgpu::BindGroupLayout,
    name: &str,
    fragments: &[&str],
    constants: &[(&str, f64)],
    slots: &[Slot],
) -> Kernel {
    let device = &ctx.device;
    let mut source = String::from(STEP);
    for f in fragments {
        source.push('\n');
        source.push_str(f);
    }
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(name),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let entries: Vec<wgpu::BindGroupLayoutEntry> = slots
        .iter()
        .enumerate()
        .map(|(i, s)| wgpu::BindGroupLayoutEntry {
            binding: i as u32,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: match s {
                    Slot::Uniform => wgpu::BufferBindingType::Uniform,
                    Slot::Read => wgpu::BufferBindingType::Storage { read_only: true },
                    Slot::ReadWrite => wgpu::BufferBindingType::Storage { read_only: false },
                },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        })
        .collect();
    let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(name),
        entries: &entries,
    });
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(name),
        bind_group_layouts: &[Some(step_layout), Some(&layout)],
        immediate_size: 0,
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(name),
        layout: Some(&pipeline_layout),
        module: &module,
        entry_point: Some("main"),
        compilation_options: wgpu::PipelineCompilationOptions {
            constants,
            zero_initialize_workgroup_memory: false,
        },
        cache: None,
    });
    Kernel { pipeline, layout }
}

/// A bind group for `kernel` over `buffers`, bound in order to bindings 0, 1, ...
pub(crate) fn bind(
    ctx: &GpuContext,
    kernel: &Kernel,
    label: &str,
    buffers: &[&wgpu::Buffer],
) -> wgpu::BindGroup {
    let entries: Vec<wgpu::BindGroupEntry> = buffers
        .iter()
        .enumerate()
        .map(|(i, b)| wgpu::BindGroupEntry {
            binding: i as u32,
            resource: b.as_entire_binding(),
        })
        .collect();
    ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(label),
        layout: &kernel.layout,
        entries: &entries,
    })
}

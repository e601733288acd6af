//! The compute pipelines, each composed from the WGSL files in `shaders/`: a kernel file, the
//! library fragments it calls (σ, the output activation) and, for the tiled multiply, the
//! epilogue that makes it a forward, backward or gradient-and-update pass. WGSL has no
//! `#include`, so a pipeline's source is the concatenation of its fragments.

use super::context::GpuContext;
use crate::config::{Cost, OptimizerKind, Output};
use crate::error::Result;

const STEP: &str = include_str!("../../shaders/step.wgsl");
const SIGMOID: &str = include_str!("../../shaders/sigmoid.wgsl");
const MATMUL_TILED: &str = concat!(
    include_str!("../../shaders/matmul_dims.wgsl"),
    include_str!("../../shaders/matmul.wgsl")
);
const MATMUL_BLOCKED: &str = concat!(
    include_str!("../../shaders/matmul_dims.wgsl"),
    include_str!("../../shaders/matmul_blocked.wgsl")
);
const MATMUL_BLOCKED_K4: &str = concat!(
    include_str!("../../shaders/matmul_dims.wgsl"),
    include_str!("../../shaders/matmul_blocked_k4.wgsl")
);
const FORWARD_SIGMOID: &str = include_str!("../../shaders/forward_sigmoid.wgsl");
const FORWARD_LINEAR: &str = include_str!("../../shaders/forward_linear.wgsl");
const BACKPROP_DELTA: &str = include_str!("../../shaders/backprop_delta.wgsl");
const OUTER_PRODUCT: &str = include_str!("../../shaders/outer_product.wgsl");
const UPDATE_SGD: &str = include_str!("../../shaders/update_sgd.wgsl");
const UPDATE_MOMENTUM: &str = include_str!("../../shaders/update_momentum.wgsl");
const UPDATE_ADAM: &str = include_str!("../../shaders/update_adam.wgsl");
const OUTPUT_ACTIVATION: &str = include_str!("../../shaders/output_activation.wgsl");
const OUTPUT_DELTA: &str = concat!(
    include_str!("../../shaders/output_dims.wgsl"),
    include_str!("../../shaders/output_delta.wgsl")
);
const EVALUATE: &str = concat!(
    include_str!("../../shaders/output_dims.wgsl"),
    include_str!("../../shaders/evaluate.wgsl")
);
const GATHER: &str = include_str!("../../shaders/gather.wgsl");

/// Side of the multiply's square output tile (matmul.wgsl's TILE).
pub(crate) const TILE: u32 = 16;
/// Rows and columns of the result per invocation of matmul_blocked.wgsl (its BLOCK_ROWS and
/// BLOCK_COLS).
pub(crate) const BLOCK: u32 = 8;
/// Rows and columns of the result per invocation of matmul_blocked_k4.wgsl (its BLOCK).
pub(crate) const BLOCK_K4: u32 = 4;
/// Invocations per workgroup of matmul_blocked.wgsl and matmul_blocked_k4.wgsl (along N):
/// two 256-bit SIMD rows. With 8x8 and 4x4 blocks the small products have only a few dozen
/// invocations, and small workgroups spread them over llvmpipe's threads. Measured on lavapipe
/// (2 shared cores): 16 trains 784-30-10 ~1.1x and 784-100-10 ~1.06x as fast as 64; 8 is
/// within noise of 16; 784-1024-1024-10 is the same for 8, 16 and 64.
pub(crate) const BLOCKED_GROUP: u32 = 16;
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
    /// The forward passes through matmul_blocked_k4.wgsl, for layers whose input count is a
    /// multiple of 4; only where the blocked multiply is used (not tiled).
    pub forward_hidden_k4: Option<Kernel>,
    pub forward_output_k4: Option<Kernel>,
    pub backprop: Kernel,
    pub update: Kernel,
    pub output_delta: Kernel,
    pub evaluate: Kernel,
    pub tiled: bool,
}

/// Which multiply suits an adapter. On a CPU driver (llvmpipe) each workgroup barrier switches
/// between the workgroup's SIMD rows and costs more than the reuse it buys, and every
/// storage-buffer load is a per-lane loop, so the register-blocked multiply without workgroup
/// memory (matmul_blocked.wgsl) wins there: on lavapipe with 2 cores it trains 784-30-10 about
/// twice as fast as a one-output-per-invocation multiply, itself about twice as fast as the
/// tiled one. Real GPUs get the tiled one.
pub(crate) fn prefer_tiled(ctx: &GpuContext) -> bool {
    !ctx.is_software()
}

impl Kernels {
    /// The forward pass of a layer with `inputs` inputs: a hidden one (σ epilogue) or the
    /// output one (z), through the vec4 multiply where it applies.
    pub fn forward(&self, hidden: bool, inputs: usize) -> &Kernel {
        let k4 = if hidden {
            &self.forward_hidden_k4
        } else {
            &self.forward_output_k4
        };
        match k4 {
            Some(k) if inputs.is_multiple_of(4) => k,
            _ if hidden => &self.forward_hidden,
            _ => &self.forward_output,
        }
    }

    /// Workgroups for the forward pass of [`Kernels::forward`] over `rows` rows of a layer.
    pub fn forward_grid(&self, rows: usize, inputs: usize, outputs: usize) -> [u32; 3] {
        if !self.tiled && inputs.is_multiple_of(4) {
            blocked_grid(rows, outputs, BLOCK_K4)
        } else {
            self.matmul_grid(rows, outputs)
        }
    }

    /// Workgroups for a multiply with an M x N result.
    pub fn matmul_grid(&self, m: usize, n: usize) -> [u32; 3] {
        if self.tiled {
            [groups_of(n, TILE), groups_of(m, TILE), 1]
        } else {
            blocked_grid(m, n, BLOCK)
        }
    }
}

/// Workgroups of BLOCKED_GROUP invocations, each computing a `block` x `block` piece of an
/// M x N result.
fn blocked_grid(m: usize, n: usize, block: u32) -> [u32; 3] {
    let blocks = (n as u32).div_ceil(block) as usize;
    [groups_of(blocks, BLOCKED_GROUP), groups_of(m, block), 1]
}

/// ⌈n / size⌉, at least 1.
pub(crate) fn groups_of(n: usize, size: u32) -> u32 {
    (n as u32).div_ceil(size).max(1)
}

/// The size of the per-step record (step.wgsl's `Step`).
pub(crate) const STEP_BYTES: u64 = 64;

impl Kernels {
    /// `tiled`: the workgroup-memory multiply (matmul.wgsl) rather than the register-blocked
    /// one (matmul_blocked.wgsl); see [`prefer_tiled`].
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
        let matmul = if tiled { MATMUL_TILED } else { MATMUL_BLOCKED };
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
            forward_hidden_k4: (!tiled).then(|| {
                kernel(
                    ctx,
                    &step_layout,
                    "forward_hidden_k4",
                    &[SIGMOID, MATMUL_BLOCKED_K4, FORWARD_SIGMOID],
                    &[],
                    &[Uniform, Read, Read, ReadWrite],
                )
            }),
            forward_output_k4: (!tiled).then(|| {
                kernel(
                    ctx,
                    &step_layout,
                    "forward_output_k4",
                    &[MATMUL_BLOCKED_K4, FORWARD_LINEAR],
                    &[],
                    &[Uniform, Read, Read, ReadWrite],
                )
            }),
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

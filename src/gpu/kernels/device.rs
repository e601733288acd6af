//! The wgpu objects made from the pipeline specs: each [`Kernel`] (pipeline, bind group layout
//! and binding numbers), the set a network needs ([`Kernels`]), and the bind groups.

use super::*;

/// A pipeline, the layout of its own bind group (group 1) and that group's binding numbers.
pub(crate) struct Kernel {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
    bindings: Vec<u32>,
}

/// Every pipeline a network needs.
pub(crate) struct Kernels {
    /// Group 0: the per-step record and the dispatch's chunk, each at a dynamic offset.
    pub step_layout: wgpu::BindGroupLayout,
    pub gather: Kernel,
    /// The forward passes, hidden (σ epilogue) or output (z), for each multiply in use.
    forward: Vec<(bool, Multiply, Kernel)>,
    /// With a sigmoid output: the output layer's forward product with δᴸ in its epilogue, for
    /// each multiply in use (training's; evaluation keeps `forward`'s).
    forward_delta: Vec<(Multiply, Kernel)>,
    pub backprop: Kernel,
    /// The gradient products and the optimizer's update, for each multiply in use.
    update: Vec<(Multiply, Kernel)>,
    pub output_delta: Kernel,
    pub evaluate: Kernel,
    /// The end-of-submit mark (`submits.rs`).
    pub submit_mark: Kernel,
    /// True where the tiled multiply is used (see `multiply::prefer_tiled`).
    pub tiled: bool,
    /// True where the products use the subgroup kernels (see `multiply::has_lanes`).
    pub lanes: bool,
}

/// The layout of group 0 of every pipeline: binding 0 the step's records, one per member
/// (step.wgsl's `Step`, read-only storage), binding 1 the dispatch's chunk (`Chunk`,
/// uniform), both at dynamic offsets.
pub(crate) fn step_layout(ctx: &GpuContext) -> wgpu::BindGroupLayout {
    let entry = |binding, size, ty| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty,
            has_dynamic_offset: true,
            min_binding_size: wgpu::BufferSize::new(size),
        },
        count: None,
    };
    ctx.device
        .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("step"),
            entries: &[
                entry(
                    0,
                    STEP_BYTES,
                    wgpu::BufferBindingType::Storage { read_only: true },
                ),
                entry(1, CHUNK_BYTES, wgpu::BufferBindingType::Uniform),
            ],
        })
}

impl Kernels {
    /// The pipelines for a network's output, cost and optimizer; `tiled`: the workgroup-memory
    /// multiply rather than the register-blocked ones.
    pub fn new(
        ctx: &GpuContext,
        output: Output,
        cost: Cost,
        opt: OptimizerKind,
        tiled: bool,
    ) -> Result<Self> {
        let step_layout = step_layout(ctx);
        let build = |p: Pipeline| build(ctx, &step_layout, p);
        let lanes = has_lanes(ctx);
        let general = Multiply::general(tiled, lanes);
        let mut forward = Vec::new();
        for &multiply in Multiply::used(tiled, lanes) {
            for hidden in [true, false] {
                forward.push((
                    hidden,
                    multiply,
                    build(Pipeline::Forward { hidden, multiply }),
                ));
            }
        }
        let forward_delta = match output {
            Output::Sigmoid => Multiply::used(tiled, lanes)
                .iter()
                .map(|&m| (m, build(Pipeline::ForwardDelta(m, cost))))
                .collect(),
            Output::Softmax => Vec::new(),
        };
        let k = Kernels {
            gather: build(Pipeline::Gather),
            forward,
            forward_delta,
            backprop: build(Pipeline::Backprop(general)),
            update: Multiply::gradients(tiled, lanes)
                .iter()
                .map(|&m| (m, build(Pipeline::Update(m, opt))))
                .collect(),
            output_delta: build(Pipeline::OutputDelta(output, cost)),
            evaluate: build(Pipeline::Evaluate(output, cost)),
            submit_mark: build(Pipeline::SubmitMark),
            step_layout,
            tiled,
            lanes,
        };
        ctx.wait("building the compute pipelines")?;
        Ok(k)
    }

    /// The multiply of the backward and gradient products.
    pub fn general(&self) -> Multiply {
        Multiply::general(self.tiled, self.lanes)
    }

    /// The multiply of the gradient product of a layer with `inputs` inputs.
    pub fn gradient_multiply(&self, inputs: usize) -> Multiply {
        Multiply::gradient(self.tiled, self.lanes, inputs)
    }

    /// The gradient-and-update pipeline through `m`.
    pub fn update(&self, m: Multiply) -> Result<&Kernel> {
        self.update
            .iter()
            .find(|(v, _)| *v == m)
            .map(|(_, k)| k)
            .ok_or_else(|| {
                Error::internal(format!(
                    "no update pipeline for the {} multiply was built",
                    m.name()
                ))
            })
    }

    /// The multiply of the forward product of a layer with `inputs` inputs.
    pub fn forward_multiply(&self, inputs: usize) -> Multiply {
        Multiply::forward(self.tiled, self.lanes, inputs)
    }

    /// The output layer's forward pipeline with δᴸ in its epilogue through `m`, where the
    /// output is a sigmoid.
    pub fn forward_delta(&self, m: Multiply) -> Option<&Kernel> {
        self.forward_delta
            .iter()
            .find(|(v, _)| *v == m)
            .map(|(_, k)| k)
    }

    /// The forward pipeline of a hidden layer (σ epilogue) or the output layer (z) through `m`.
    pub fn forward(&self, hidden: bool, m: Multiply) -> Result<&Kernel> {
        self.forward
            .iter()
            .find(|(h, v, _)| *h == hidden && *v == m)
            .map(|(_, _, k)| k)
            .ok_or_else(|| {
                Error::internal(format!(
                    "no forward pipeline for the {} multiply was built",
                    m.name()
                ))
            })
    }
}

/// Builds `pipeline` with `step_layout` as its group 0.
pub(crate) fn build(
    ctx: &GpuContext,
    step_layout: &wgpu::BindGroupLayout,
    pipeline: Pipeline,
) -> Kernel {
    kernel(ctx, step_layout, &pipeline.spec())
}

/// The layout of a group 0 with one uniform binding read at a dynamic offset, at least
/// `min_bytes` long (the fused kernels' chunk).
pub(crate) fn dynamic_uniform_layout(
    ctx: &GpuContext,
    label: &str,
    min_bytes: u64,
) -> wgpu::BindGroupLayout {
    ctx.device
        .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(label),
            entries: &[wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: true,
                    min_binding_size: wgpu::BufferSize::new(min_bytes),
                },
                count: None,
            }],
        })
}

/// Builds one pipeline from its [`Spec`], with `group0` as its bind group 0.
pub(crate) fn kernel(ctx: &GpuContext, group0: &wgpu::BindGroupLayout, spec: &Spec) -> Kernel {
    let device = &ctx.device;
    let name = spec.name.as_str();
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(name),
        source: wgpu::ShaderSource::Wgsl(spec.source.as_str().into()),
    });
    let entries: Vec<wgpu::BindGroupLayoutEntry> = spec
        .slots
        .iter()
        .map(|&(binding, s)| wgpu::BindGroupLayoutEntry {
            binding,
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
        bind_group_layouts: &[Some(group0), Some(&layout)],
        immediate_size: 0,
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(name),
        layout: Some(&pipeline_layout),
        module: &module,
        entry_point: Some("main"),
        compilation_options: wgpu::PipelineCompilationOptions {
            constants: &spec.constants,
            zero_initialize_workgroup_memory: false,
        },
        cache: None,
    });
    Kernel {
        pipeline,
        layout,
        bindings: spec.slots.iter().map(|&(b, _)| b).collect(),
    }
}

/// A bind group for `kernel` over `buffers`, bound in order to the bindings of its spec.
pub(crate) fn bind(
    ctx: &GpuContext,
    kernel: &Kernel,
    label: &str,
    buffers: &[&wgpu::Buffer],
) -> wgpu::BindGroup {
    let views = buffers.iter().map(|b| b.as_entire_buffer_binding());
    bind_views(ctx, kernel, label, views.collect())
}

/// The same over parts of buffers (`views`: a buffer, an offset and a size each).
pub(crate) fn bind_views(
    ctx: &GpuContext,
    kernel: &Kernel,
    label: &str,
    views: Vec<wgpu::BufferBinding<'_>>,
) -> wgpu::BindGroup {
    let entries: Vec<wgpu::BindGroupEntry> = views
        .into_iter()
        .zip(&kernel.bindings)
        .map(|(view, &binding)| wgpu::BindGroupEntry {
            binding,
            resource: wgpu::BindingResource::Buffer(view),
        })
        .collect();
    ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(label),
        layout: &kernel.layout,
        entries: &entries,
    })
}

//! The bind groups of every dispatch: which buffers each kernel reads and writes, in the order
//! of its shader's bindings. Built once the buffers exist, and again whenever they are
//! replaced by larger ones.

use super::context::GpuContext;
use super::input_slots::InputSlots;
use super::kernels::{bind, bind_views, Kernels};
use super::layout::{step_group, IMAGE_BINDINGS};
use super::trainer::DeviceBuffers;
use crate::error::Result;

pub(super) struct Groups {
    /// Group 0 of every kernel: the step's records and the chunk, at dynamic offsets.
    pub step: wgpu::BindGroup,
    /// Per data set (train, validation, test): its images into acts[0].
    pub gather: Vec<wgpu::BindGroup>,
    /// Per layer.
    pub forward: Vec<wgpu::BindGroup>,
    /// Per layer; none for the first (no error is propagated to the input).
    pub backprop: Vec<Option<wgpu::BindGroup>>,
    /// Per layer: the gradient product and the optimizer's update.
    pub update: Vec<wgpu::BindGroup>,
    pub output_delta: wgpu::BindGroup,
    /// The output layer's forward product with δᴸ in its epilogue (training with a sigmoid
    /// output, in place of its forward and output_delta dispatches), where the network has a
    /// hidden layer (layer 0's binding of the inputs moves with input_slots.rs; the output
    /// layer's does not).
    pub forward_delta: Option<wgpu::BindGroup>,
    /// Per data set.
    pub evaluate: Vec<wgpu::BindGroup>,
    /// The submit marks.
    pub submit_mark: wgpu::BindGroup,
    /// Layer 0's bind groups for each slot of the batches one gather fills, once a run has
    /// asked for them (`input_slots.rs`).
    pub input_slots: Option<InputSlots>,
}

impl Groups {
    pub fn new(ctx: &GpuContext, k: &Kernels, b: &DeviceBuffers) -> Result<Groups> {
        let last = b.layers.len() - 1;
        let output = &b.acts[last + 1];
        let gather = b
            .sets
            .iter()
            .map(|s| {
                let mut list = vec![&s.dims, &b.order, &b.acts[0]];
                list.extend((0..IMAGE_BINDINGS as usize).map(|i| s.chunk(i)));
                bind(ctx, &k.gather, "gather", &list)
            })
            .collect();
        let mut forward = Vec::with_capacity(b.layers.len());
        for l in 0..b.layers.len() {
            let input = b.acts[l].as_entire_buffer_binding();
            forward.push(forward_group(ctx, k, b, l, input)?);
        }
        let backprop = b
            .layers
            .iter()
            .enumerate()
            .map(|(l, layer)| {
                (l > 0).then(|| {
                    bind(
                        ctx,
                        &k.backprop,
                        "backprop",
                        &[
                            &layer.backprop_dims,
                            &b.deltas[l],
                            &layer.params,
                            &b.acts[l],
                            &b.deltas[l - 1],
                        ],
                    )
                })
            })
            .collect();
        let mut update = Vec::with_capacity(b.layers.len());
        for l in 0..b.layers.len() {
            let input = b.acts[l].as_entire_buffer_binding();
            update.push(update_group(ctx, k, b, l, input)?);
        }
        let output_delta = bind(
            ctx,
            &k.output_delta,
            "output delta",
            &[
                &b.output_dims,
                output,
                &b.sets[0].labels,
                &b.order,
                &b.deltas[last],
            ],
        );
        let forward_delta = match k.forward_delta(b.layers[last].forward) {
            Some(kernel) if last > 0 => {
                let layer = &b.layers[last];
                Some(bind(
                    ctx,
                    kernel,
                    "forward output delta",
                    &[
                        &layer.forward_dims,
                        &b.acts[last],
                        &layer.params,
                        output,
                        &b.sets[0].labels,
                        &b.order,
                        &b.deltas[last],
                    ],
                ))
            }
            _ => None,
        };
        let e = &b.eval;
        let evaluate = b
            .sets
            .iter()
            .map(|s| {
                bind(
                    ctx,
                    &k.evaluate,
                    "evaluate",
                    &[&b.output_dims, output, &s.labels, &e.costs, &e.predictions],
                )
            })
            .collect();
        Ok(Groups {
            step: step_group(
                ctx,
                &k.step_layout,
                &b.steps,
                b.members,
                b.step_stride,
                &b.chunks.buffer,
            ),
            submit_mark: bind(ctx, &k.submit_mark, "submit marks", &[&b.marks]),
            gather,
            forward,
            backprop,
            update,
            output_delta,
            forward_delta,
            evaluate,
            input_slots: None,
        })
    }
}

/// Layer `l`'s forward bind group, its input activations bound as `input`: all of acts[l], or
/// one slot of acts[0] (input_slots.rs).
pub(super) fn forward_group(
    ctx: &GpuContext,
    k: &Kernels,
    b: &DeviceBuffers,
    l: usize,
    input: wgpu::BufferBinding<'_>,
) -> Result<wgpu::BindGroup> {
    let layer = &b.layers[l];
    let kernel = k.forward(l + 1 != b.layers.len(), layer.forward)?;
    let views = vec![
        layer.forward_dims.as_entire_buffer_binding(),
        input,
        layer.params.as_entire_buffer_binding(),
        b.acts[l + 1].as_entire_buffer_binding(),
    ];
    Ok(bind_views(ctx, kernel, "forward", views))
}

/// Layer `l`'s gradient-and-update bind group, its input activations bound as `input`.
pub(super) fn update_group(
    ctx: &GpuContext,
    k: &Kernels,
    b: &DeviceBuffers,
    l: usize,
    input: wgpu::BufferBinding<'_>,
) -> Result<wgpu::BindGroup> {
    let layer = &b.layers[l];
    let mut views = vec![
        layer.gradient_dims.as_entire_buffer_binding(),
        b.deltas[l].as_entire_buffer_binding(),
        input,
        layer.params.as_entire_buffer_binding(),
    ];
    views.extend(layer.slots.iter().map(|s| s.as_entire_buffer_binding()));
    Ok(bind_views(ctx, k.update(layer.gradient)?, "update", views))
}

//! The two fused pipelines of a network: training steps (fused_train.wgsl) and evaluation
//! tiles (fused_eval.wgsl), each composed from the layout constants, the shape's generated
//! constants and the library fragments the per-layer kernels use too.

use super::shape::FusedShape;
use crate::config::{Cost, OptimizerKind, Output};
use crate::gpu::context::GpuContext;
use crate::gpu::kernels::{
    dynamic_uniform_layout, kernel, update_fragment, Kernel, Slot, Spec, GRADIENT,
    OUTPUT_ACTIVATION, OUTPUT_COST, OUTPUT_ERROR, PARAM_SCALAR, SIGMOID, STEP_SOURCE,
};
use crate::gpu::layout::{wgsl_constants, FusedChunk};

const FUSED_COMMON: &str = include_str!("../../../shaders/fused_common.wgsl");
const FUSED_TRAIN: &str = include_str!("../../../shaders/fused_train.wgsl");
const FUSED_EVAL: &str = include_str!("../../../shaders/fused_eval.wgsl");

/// The fused shader files, by name (the layout tests check them).
#[cfg(test)]
pub(crate) const SHADER_FILES: [(&str, &str); 3] = [
    ("fused_common.wgsl", FUSED_COMMON),
    ("fused_train.wgsl", FUSED_TRAIN),
    ("fused_eval.wgsl", FUSED_EVAL),
];

fn source(shape: &FusedShape, fragments: &[&str]) -> String {
    let mut s = wgsl_constants();
    s.push_str(&shape.wgsl_constants());
    for f in fragments {
        s.push('\n');
        s.push_str(f);
    }
    s
}

fn output_constants(output: Output, cost: Cost) -> Vec<(&'static str, f64)> {
    let b = |v: bool| if v { 1.0 } else { 0.0 };
    vec![
        ("OUTPUT_SOFTMAX", b(output == Output::Softmax)),
        ("COST_CROSS_ENTROPY", b(cost == Cost::CrossEntropy)),
    ]
}

/// Training: bindings 1 records, 2 order, 3 params, 4.. the optimizer's slots, 6 labels,
/// 7 images, 10 marks.
pub(crate) fn train_spec(
    shape: &FusedShape,
    output: Output,
    cost: Cost,
    opt: OptimizerKind,
) -> Spec {
    use Slot::*;
    let mut slots = vec![(1, Read), (2, Read), (3, ReadWrite)];
    slots.extend((0..opt.state_slots() as u32).map(|s| (4 + s, ReadWrite)));
    slots.extend([(6, Read), (7, Read), (10, ReadWrite)]);
    Spec {
        name: format!("fused_train_{opt:?}").to_lowercase(),
        source: source(
            shape,
            &[
                STEP_SOURCE,
                SIGMOID,
                OUTPUT_ACTIVATION,
                OUTPUT_ERROR,
                PARAM_SCALAR,
                GRADIENT,
                FUSED_COMMON,
                FUSED_TRAIN,
                update_fragment(opt),
            ],
        ),
        constants: output_constants(output, cost),
        slots,
    }
}

/// Evaluation: bindings 3 params, 6 labels, 7 images, 8 costs, 9 predictions, 10 marks.
pub(crate) fn eval_spec(shape: &FusedShape, output: Output, cost: Cost) -> Spec {
    use Slot::*;
    Spec {
        name: "fused_eval".into(),
        source: source(
            shape,
            &[
                SIGMOID,
                OUTPUT_ACTIVATION,
                OUTPUT_COST,
                FUSED_COMMON,
                FUSED_EVAL,
            ],
        ),
        constants: output_constants(output, cost),
        slots: vec![
            (3, Read),
            (6, Read),
            (7, Read),
            (8, ReadWrite),
            (9, ReadWrite),
            (10, ReadWrite),
        ],
    }
}

/// The specs of a few networks, for the layout tests.
#[cfg(test)]
pub(crate) fn example_specs() -> Vec<Spec> {
    let mut specs = Vec::new();
    for (widths, software) in [
        (&[784usize, 30, 10][..], true),
        (&[7, 30, 20, 10][..], false),
    ] {
        let shape = FusedShape::training(widths, 10, widths[0], software);
        for opt in OptimizerKind::ALL {
            specs.push(train_spec(&shape, Output::Softmax, Cost::CrossEntropy, opt));
        }
        specs.push(eval_spec(
            &shape.evaluation(32768),
            Output::Sigmoid,
            Cost::Quadratic,
        ));
    }
    specs
}

/// The pipelines, and the layout of their group 0 (the chunk, at a dynamic offset).
pub(crate) struct FusedPipelines {
    pub chunk_layout: wgpu::BindGroupLayout,
    pub train: Kernel,
    pub eval: Kernel,
}

impl FusedPipelines {
    pub fn new(
        ctx: &GpuContext,
        train: &FusedShape,
        eval: &FusedShape,
        output: Output,
        cost: Cost,
        opt: OptimizerKind,
    ) -> Self {
        let chunk_layout =
            dynamic_uniform_layout(ctx, "fused chunk", std::mem::size_of::<FusedChunk>() as u64);
        FusedPipelines {
            train: kernel(ctx, &chunk_layout, &train_spec(train, output, cost, opt)),
            eval: kernel(ctx, &chunk_layout, &eval_spec(eval, output, cost)),
            chunk_layout,
        }
    }
}

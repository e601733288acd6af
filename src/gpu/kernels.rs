//! The compute pipelines, each composed from the WGSL files in `shaders/`: the constants from
//! `layout.rs`, the step record, the library fragments a kernel calls (σ, the output
//! activation) and, for a multiply, matmul_common.wgsl + the variant ([`Multiply`]) + the
//! epilogue that makes it a forward, backward or gradient-and-update pass (the contract is at
//! the top of matmul_common.wgsl). WGSL has no `#include`, so a pipeline's source is the
//! concatenation of its fragments ([`compose`]).

use super::context::GpuContext;
use super::layout::{wgsl_constants, CHUNK_BYTES, STEP_BYTES};
use super::multiply::{has_lanes, Multiply};
use crate::config::{Cost, OptimizerKind, Output};
use crate::error::{Error, Result};

pub(crate) const STEP_SOURCE: &str = include_str!("../../shaders/step.wgsl");
const STEP_BINDING: &str = include_str!("../../shaders/step_binding.wgsl");
pub(crate) const GRADIENT: &str = include_str!("../../shaders/gradient.wgsl");
pub(crate) const SIGMOID: &str = include_str!("../../shaders/sigmoid.wgsl");
const MATMUL_COMMON: &str = include_str!("../../shaders/matmul_common.wgsl");
const FORWARD_SIGMOID: &str = include_str!("../../shaders/forward_sigmoid.wgsl");
const FORWARD_LINEAR: &str = include_str!("../../shaders/forward_linear.wgsl");
const FORWARD_OUTPUT_DELTA: &str = include_str!("../../shaders/forward_output_delta.wgsl");
const BACKPROP_DELTA: &str = include_str!("../../shaders/backprop_delta.wgsl");
const OUTER_PRODUCT: &str = include_str!("../../shaders/outer_product.wgsl");
const OUTER_PRODUCT_VEC4: &str = include_str!("../../shaders/outer_product_vec4.wgsl");
pub(crate) const PARAM_SCALAR: &str = include_str!("../../shaders/param_scalar.wgsl");
const PARAM_VEC4: &str = include_str!("../../shaders/param_vec4.wgsl");
const UPDATE_SGD: &str = include_str!("../../shaders/update_sgd.wgsl");
const UPDATE_MOMENTUM: &str = include_str!("../../shaders/update_momentum.wgsl");
const UPDATE_ADAM: &str = include_str!("../../shaders/update_adam.wgsl");
const UPDATE_ADAGRAD: &str = include_str!("../../shaders/update_adagrad.wgsl");
const UPDATE_RMSPROP: &str = include_str!("../../shaders/update_rmsprop.wgsl");
pub(crate) const OUTPUT_ACTIVATION: &str = include_str!("../../shaders/output_activation.wgsl");
const OUTPUT_DIMS: &str = include_str!("../../shaders/output_dims.wgsl");
pub(crate) const OUTPUT_ERROR: &str = include_str!("../../shaders/output_error.wgsl");
pub(crate) const OUTPUT_COST: &str = include_str!("../../shaders/output_cost.wgsl");
const OUTPUT_DELTA: &str = include_str!("../../shaders/output_delta.wgsl");
const EVALUATE: &str = include_str!("../../shaders/evaluate.wgsl");
const GATHER: &str = include_str!("../../shaders/gather.wgsl");
const SUBMIT_MARK: &str = include_str!("../../shaders/submit_mark.wgsl");

/// Every shader file but the multiply variants' (which `multiply.rs` holds), by name.
#[cfg(test)]
pub(crate) const SHADER_FILES: [(&str, &str); 26] = [
    ("step.wgsl", STEP_SOURCE),
    ("step_binding.wgsl", STEP_BINDING),
    ("gradient.wgsl", GRADIENT),
    ("output_error.wgsl", OUTPUT_ERROR),
    ("output_cost.wgsl", OUTPUT_COST),
    ("sigmoid.wgsl", SIGMOID),
    ("matmul_common.wgsl", MATMUL_COMMON),
    ("forward_sigmoid.wgsl", FORWARD_SIGMOID),
    ("forward_linear.wgsl", FORWARD_LINEAR),
    ("forward_output_delta.wgsl", FORWARD_OUTPUT_DELTA),
    ("backprop_delta.wgsl", BACKPROP_DELTA),
    ("outer_product.wgsl", OUTER_PRODUCT),
    ("outer_product_vec4.wgsl", OUTER_PRODUCT_VEC4),
    ("param_scalar.wgsl", PARAM_SCALAR),
    ("param_vec4.wgsl", PARAM_VEC4),
    ("update_sgd.wgsl", UPDATE_SGD),
    ("update_momentum.wgsl", UPDATE_MOMENTUM),
    ("update_adam.wgsl", UPDATE_ADAM),
    ("update_adagrad.wgsl", UPDATE_ADAGRAD),
    ("update_rmsprop.wgsl", UPDATE_RMSPROP),
    ("output_activation.wgsl", OUTPUT_ACTIVATION),
    ("output_dims.wgsl", OUTPUT_DIMS),
    ("output_delta.wgsl", OUTPUT_DELTA),
    ("evaluate.wgsl", EVALUATE),
    ("gather.wgsl", GATHER),
    ("submit_mark.wgsl", SUBMIT_MARK),
];

/// How a binding of group 1 is used.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Slot {
    Uniform,
    Read,
    ReadWrite,
}

/// What one pipeline is made of: its whole WGSL source, the values of its `override`
/// constants, and its group-1 bindings (binding number and use), in the order buffers are
/// handed to [`bind`].
pub(crate) struct Spec {
    pub name: String,
    pub source: String,
    pub constants: Vec<(&'static str, f64)>,
    pub slots: Vec<(u32, Slot)>,
}

/// Bindings 0, 1, ... used as `slots` say.
pub(crate) fn consecutive(slots: &[Slot]) -> Vec<(u32, Slot)> {
    slots
        .iter()
        .enumerate()
        .map(|(i, &s)| (i as u32, s))
        .collect()
}

/// A per-layer pipeline's whole WGSL source: the layout constants, the step record and its
/// bindings (step_binding.wgsl), then `fragments`.
pub(crate) fn compose(fragments: &[&str]) -> String {
    let mut source = wgsl_constants();
    for f in [STEP_SOURCE, STEP_BINDING].iter().chain(fragments) {
        source.push('\n');
        source.push_str(f);
    }
    source
}

use Slot::*;

/// The end-of-submit mark (submits.rs): its one binding is the marks buffer.
fn submit_mark_spec() -> Spec {
    Spec {
        name: "submit_mark".into(),
        source: compose(&[SUBMIT_MARK]),
        constants: vec![],
        slots: consecutive(&[ReadWrite]),
    }
}

fn gather_spec() -> Spec {
    Spec {
        name: "gather".into(),
        source: compose(&[GATHER]),
        constants: vec![],
        slots: consecutive(&[Uniform, Read, ReadWrite, Read, Read, Read, Read]),
    }
}

/// A multiply through `m` followed by `epilogue` (and the library fragments `library` before
/// it).
fn multiply_spec(
    name: String,
    m: Multiply,
    library: &[&'static str],
    epilogue: &[&'static str],
    constants: Vec<(&'static str, f64)>,
    slots: Vec<Slot>,
) -> Spec {
    let mut fragments = library.to_vec();
    fragments.push(MATMUL_COMMON);
    fragments.extend_from_slice(m.sources());
    fragments.extend_from_slice(epilogue);
    Spec {
        name,
        source: compose(&fragments),
        constants,
        slots: consecutive(&slots),
    }
}

/// A layer's forward pass through `m`: a hidden layer (σ epilogue) or the output layer (z).
fn forward_spec(hidden: bool, m: Multiply) -> Spec {
    let (what, library, epilogue): (&str, &[&str], &str) = if hidden {
        ("hidden", &[SIGMOID], FORWARD_SIGMOID)
    } else {
        ("output", &[], FORWARD_LINEAR)
    };
    multiply_spec(
        format!("forward_{what}_{}", m.name()),
        m,
        library,
        &[epilogue],
        vec![("TRANS_B", 1.0)],
        vec![Uniform, Read, Read, ReadWrite],
    )
}

/// The output layer's forward product while training with a sigmoid output: z and δᴸ in one
/// pass (forward_output_delta.wgsl); its slots are dims, A, B, z, labels, order, δ.
fn forward_delta_spec(m: Multiply, cost: Cost) -> Spec {
    let cross_entropy = if cost == Cost::CrossEntropy { 1.0 } else { 0.0 };
    multiply_spec(
        format!("forward_output_delta_{cost:?}_{}", m.name()).to_lowercase(),
        m,
        &[SIGMOID, OUTPUT_ACTIVATION, OUTPUT_ERROR],
        &[FORWARD_OUTPUT_DELTA],
        vec![("TRANS_B", 1.0), ("COST_CROSS_ENTROPY", cross_entropy)],
        vec![Uniform, Read, Read, ReadWrite, Read, Read, ReadWrite],
    )
}

fn backprop_spec(m: Multiply) -> Spec {
    multiply_spec(
        format!("backprop_{}", m.name()),
        m,
        &[SIGMOID],
        &[BACKPROP_DELTA],
        vec![],
        vec![Uniform, Read, Read, Read, ReadWrite],
    )
}

/// The optimizer's `update(index, g, w) -> Param` fragment (its state slots at bindings 4, 5;
/// `Param` is f32 or vec4, param_scalar.wgsl or param_vec4.wgsl).
pub(crate) fn update_fragment(opt: OptimizerKind) -> &'static str {
    match opt {
        OptimizerKind::Sgd => UPDATE_SGD,
        OptimizerKind::Momentum => UPDATE_MOMENTUM,
        OptimizerKind::Adam => UPDATE_ADAM,
        OptimizerKind::Adagrad => UPDATE_ADAGRAD,
        OptimizerKind::Rmsprop => UPDATE_RMSPROP,
    }
}

fn update_spec(m: Multiply, opt: OptimizerKind) -> Spec {
    let update = update_fragment(opt);
    let mut slots = vec![Uniform, Read, Read, ReadWrite];
    slots.extend(std::iter::repeat_n(ReadWrite, opt.state_slots()));
    // The vec4 gradient multiply updates four parameters per call, the others one.
    let (param, epilogue) = match m {
        Multiply::GradientVec4 | Multiply::GradientLanes => (PARAM_VEC4, OUTER_PRODUCT_VEC4),
        _ => (PARAM_SCALAR, OUTER_PRODUCT),
    };
    multiply_spec(
        format!("update_{opt:?}_{}", m.name()).to_lowercase(),
        m,
        &[],
        &[param, GRADIENT, epilogue, update],
        vec![("TRANS_A", 1.0), ("B_ONES_COLUMN", 1.0)],
        slots,
    )
}

/// A per-sample output kernel: `fragments` after σ, the output activation and OutputDims.
fn output_spec(name: &str, fragments: [&'static str; 2], output: Output, cost: Cost) -> Spec {
    let b = |v: bool| if v { 1.0 } else { 0.0 };
    let mut all = vec![SIGMOID, OUTPUT_ACTIVATION, OUTPUT_DIMS];
    all.extend(fragments);
    Spec {
        name: format!("{name}_{output:?}_{cost:?}").to_lowercase(),
        source: compose(&all),
        constants: vec![
            ("OUTPUT_SOFTMAX", b(output == Output::Softmax)),
            ("COST_CROSS_ENTROPY", b(cost == Cost::CrossEntropy)),
        ],
        slots: consecutive(&[Uniform, Read, Read, Read, ReadWrite]),
    }
}

/// δᴸ from z and the labels (read through the order): its slots are dims, z, labels, order, δ.
fn output_delta_spec(output: Output, cost: Cost) -> Spec {
    output_spec("output_delta", [OUTPUT_ERROR, OUTPUT_DELTA], output, cost)
}

/// Cost and prediction per sample: dims, z, labels, costs, predictions.
fn evaluate_spec(output: Output, cost: Cost) -> Spec {
    let mut spec = output_spec("evaluate", [OUTPUT_COST, EVALUATE], output, cost);
    spec.slots[3].1 = ReadWrite;
    spec
}

/// Every pipeline gpu-mlp builds, by what it computes: the one name for a pipeline that the
/// trainer, the probe (`probe.rs`) and the self-test's reports share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pipeline {
    Gather,
    /// A layer's forward product: hidden (σ epilogue) or the output layer (z).
    Forward {
        hidden: bool,
        multiply: Multiply,
    },
    /// The output layer's forward product and, for a sigmoid output, δᴸ in the same pass.
    ForwardDelta(Multiply, Cost),
    Backprop(Multiply),
    /// The gradient product and the optimizer's update.
    Update(Multiply, OptimizerKind),
    OutputDelta(Output, Cost),
    Evaluate(Output, Cost),
    SubmitMark,
}

impl Pipeline {
    pub fn spec(self) -> Spec {
        match self {
            Pipeline::Gather => gather_spec(),
            Pipeline::Forward { hidden, multiply } => forward_spec(hidden, multiply),
            Pipeline::ForwardDelta(m, cost) => forward_delta_spec(m, cost),
            Pipeline::Backprop(m) => backprop_spec(m),
            Pipeline::Update(m, opt) => update_spec(m, opt),
            Pipeline::OutputDelta(output, cost) => output_delta_spec(output, cost),
            Pipeline::Evaluate(output, cost) => evaluate_spec(output, cost),
            Pipeline::SubmitMark => submit_mark_spec(),
        }
    }

    /// The pipeline's name, e.g. "forward_hidden_tiled", "update_adam_blocked".
    pub fn name(self) -> String {
        self.spec().name
    }

    /// What a bug report quotes of the pipeline: its name, its `override` constants and its
    /// whole WGSL source as compiled.
    pub fn source(self) -> String {
        let spec = self.spec();
        let mut text = format!("// pipeline {}\n", spec.name);
        for (name, value) in &spec.constants {
            text += &format!("// override {name} = {value}\n");
        }
        text + &spec.source
    }

    /// Every pipeline gpu-mlp can build, for every multiply, optimizer, output and cost.
    #[cfg(test)]
    pub fn all() -> Vec<Pipeline> {
        let mut all = vec![Pipeline::Gather, Pipeline::SubmitMark];
        for output in [Output::Sigmoid, Output::Softmax] {
            for cost in [Cost::Quadratic, Cost::CrossEntropy] {
                all.push(Pipeline::OutputDelta(output, cost));
                all.push(Pipeline::Evaluate(output, cost));
            }
        }
        for m in Multiply::ALL {
            if !m.is_gradient_only() {
                for hidden in [true, false] {
                    all.push(Pipeline::Forward {
                        hidden,
                        multiply: m,
                    });
                }
                for cost in [Cost::Quadratic, Cost::CrossEntropy] {
                    all.push(Pipeline::ForwardDelta(m, cost));
                }
            }
            if matches!(m, Multiply::Tiled | Multiply::Blocked | Multiply::Lanes) {
                all.push(Pipeline::Backprop(m));
            }
            if !m.is_forward_only() {
                for opt in OPTIMIZERS {
                    all.push(Pipeline::Update(m, opt));
                }
            }
        }
        all
    }
}

/// Every optimizer kind.
pub(crate) const OPTIMIZERS: [OptimizerKind; 5] = OptimizerKind::ALL;

/// The spec of every pipeline gpu-mlp can build (the layout and limits tests check them all).
#[cfg(test)]
pub(crate) fn pipeline_specs() -> Vec<Spec> {
    Pipeline::all().into_iter().map(Pipeline::spec).collect()
}

/// The name and composed source of every pipeline gpu-mlp can build, for every optimizer and
/// multiply (the layout tests parse them all).
#[cfg(test)]
pub(crate) fn pipeline_sources() -> Vec<(String, String)> {
    let mut specs = pipeline_specs();
    specs.extend(crate::gpu::fused::example_specs());
    specs.into_iter().map(|s| (s.name, s.source)).collect()
}

mod device;
pub(crate) use device::*;

//! The self-test: the CPU reference judges the GPU it runs on. One implementation of every
//! check, run by `gpu-mlp selftest` on the user's adapter and by the test suite
//! (tests/gpu_kernels.rs, tests/cpu_vs_gpu.rs, tests/gpu_determinism.rs call the families
//! below), so that a check added here is in both.
//!
//! The checks come in families ([`FAMILIES`]), one function each, in files by kind:
//! `kernels.rs` (each kernel alone on awkward shapes), `output.rs` (δᴸ and the evaluation for
//! each output/cost pair), `extremes.rs` (the same at weighted inputs up to ±1e4), `training.rs` (a full step per combination, determinism, a short
//! end-to-end run). Each check compares element by element against f64 host arithmetic or the
//! CPU path, with the bound argued where it is defined (`compare.rs` has the multiply bound),
//! and names the first result outside its bound. `report.rs` prints them, as lines, JSON or a
//! report file for a bug report.
//!
//! `fused.rs` holds the fused small-network kernels against the CPU. Adding a family is a
//! function returning its checks and one row in [`FAMILIES`].

mod compare;
mod data;
mod extremes;
mod fused;
mod kernels;
mod members;
mod output;
mod reference;
mod report;
mod training;

pub use extremes::{EXTREMES, EXTREME_ROWS};
pub use report::{check_line, AdapterReport, LimitUsed, Report};

use crate::error::Result;
use crate::gpu::kernels::Pipeline;
use crate::gpu::probe::Probe;
use crate::gpu::GpuContext;
use std::time::Instant;

/// How much to check.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// The smaller set: three shapes per kernel instead of five or six, and the training
    /// checks with the adapter's own multiply only.
    pub quick: bool,
    /// Perturbs one result of every check of this name before it is compared: how the tests
    /// show that a wrong result is caught, named and fails the run.
    pub plant: Option<String>,
}

/// The outcome of one check.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Check {
    /// The family it belongs to ([`FAMILIES`]).
    pub family: &'static str,
    /// What was checked: for a kernel, the pipeline's name ("forward_hidden_tiled").
    pub name: String,
    /// The shape it ran on, and anything else that tells its runs apart.
    pub shape: String,
    /// The error of the result that came closest to its bound (or went furthest past it), and
    /// that bound.
    pub max_error: f64,
    pub bound: f64,
    pub passed: bool,
    /// For a failure: how many results were outside their bounds, and where the first was,
    /// with the GPU's and the reference's values.
    pub failure: Option<String>,
    /// The pipelines the check ran (the report quotes their sources).
    #[serde(skip)]
    pub(crate) pipelines: Vec<Pipeline>,
}

/// A family of checks.
pub struct Family {
    pub name: &'static str,
    /// What it checks, as the report file lists it.
    pub about: &'static str,
    run: fn(&mut Session) -> Result<Vec<Check>>,
}

/// Every family, in the order they run.
pub const FAMILIES: [Family; 13] = [
    Family {
        name: "gather",
        about: "the batch gather through the shuffled order, over one and four bindings",
        run: kernels::gather,
    },
    Family {
        name: "forward",
        about: "every multiply variant's forward product, with the σ and linear epilogues",
        run: kernels::forward,
    },
    Family {
        name: "backprop",
        about: "the backward product δ·W with the σ' epilogue",
        run: kernels::backprop,
    },
    Family {
        name: "update",
        about: "the gradient product δᵀ·A and each update rule (SGD, momentum, Adam)",
        run: kernels::update,
    },
    Family {
        name: "split_dispatches",
        about: "the products split over several dispatches, as large products are",
        run: kernels::split_dispatches,
    },
    Family {
        name: "output_delta",
        about: "δᴸ for each output/cost pair",
        run: output::output_delta,
    },
    Family {
        name: "evaluate",
        about: "the evaluation's cost and prediction for each output/cost pair",
        run: output::evaluate,
    },
    Family {
        name: "extremes",
        about: "σ, δᴸ and the costs stay finite and right for weighted inputs up to ±1e4",
        run: extremes::extremes,
    },
    Family {
        name: "step",
        about: "a full training step for every output/cost/optimizer, against the CPU step",
        run: training::steps,
    },
    Family {
        name: "determinism",
        about: "the same short run gives the same bits, however it is split",
        run: training::determinism,
    },
    Family {
        name: "fused",
        about: "the fused small-network kernels: two epochs per output/cost/optimizer on awkward shapes against the CPU, and members trained together bit for bit their solo runs",
        run: fused::fused_checks,
    },
    Family {
        name: "members",
        about: "members of a group trained by the per-layer kernels in the same dispatches: each bit for bit its solo run (parameters, optimizer state, evaluation), one stopped for an epoch",
        run: members::members,
    },
    Family {
        name: "end_to_end",
        about: "one epoch on 2,000 images: test accuracy within 0.2 points of the CPU path's",
        run: training::end_to_end,
    },
];

/// What the checks on one adapter share: the device, the plan and one probe (so pipelines are
/// built once).
pub(crate) struct Session<'a> {
    pub ctx: &'a GpuContext,
    pub plan: &'a Plan,
    probe: Option<Probe>,
}

impl Session<'_> {
    pub fn probe(&mut self) -> &mut Probe {
        self.probe.get_or_insert_with(|| Probe::new(self.ctx))
    }

    pub fn planted(&self) -> Option<&str> {
        self.plan.plant.as_deref()
    }
}

/// Runs the family called `name` on `ctx`. An error (the device lost, a pipeline refused) is
/// returned as it is; the CLI turns it into a failed check.
pub fn run_family(ctx: &GpuContext, name: &str, plan: &Plan) -> Result<Vec<Check>> {
    let family = FAMILIES
        .iter()
        .find(|f| f.name == name)
        .ok_or_else(|| crate::Error::internal(format!("no self-test family {name:?}")))?;
    let mut session = Session {
        ctx,
        plan,
        probe: None,
    };
    (family.run)(&mut session)
}

/// Runs every family on `ctx`, handing each check to `seen` as it completes. A family that
/// fails with an error becomes one failed check carrying the error, and the others still run.
pub fn run_all(ctx: &GpuContext, plan: &Plan, mut seen: impl FnMut(&Check)) -> AdapterReport {
    let began = Instant::now();
    let mut session = Session {
        ctx,
        plan,
        probe: None,
    };
    let mut checks = Vec::new();
    for family in &FAMILIES {
        let found = match (family.run)(&mut session) {
            Ok(list) => list,
            Err(e) => vec![Check {
                family: family.name,
                name: family.name.to_string(),
                shape: "-".into(),
                max_error: f64::NAN,
                bound: 0.0,
                passed: false,
                failure: Some(format!("the family could not run: {e}")),
                pipelines: Vec::new(),
            }],
        };
        for check in found {
            seen(&check);
            checks.push(check);
        }
    }
    AdapterReport::new(ctx, plan, checks, began.elapsed().as_secs_f64())
}

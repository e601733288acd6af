//! `gpu-mlp compare`: the same seed, configuration and sample order on the CPU reference and
//! on the GPU, reporting how far the parameters drift apart (after 1 step, after k steps and
//! after the epochs asked for), each path's test accuracy, seconds per epoch, how many times
//! faster or slower the GPU path is, and a verdict against the stated tolerance ([`Tolerance`]).
//! The η schedule is not applied: every epoch uses the configured η on both paths.
//!
//! Some configurations amplify rounding: a large η on a wide, saturated network (784-256-10
//! from N(0,1) at η = 3) turns a 1-ulp difference into 0.08 after 100 steps on the CPU path
//! alone. Two correct paths then disagree by more than any rounding tolerance, so `compare`
//! also measures that ([`Sensitivity`]: the CPU path against itself from every parameter one
//! ulp up) and, where it exceeds the tolerance and the first step agrees, says INCONCLUSIVE
//! rather than FAIL.

use crate::backend::{Backend, Split};
use crate::config::TrainConfig;
use crate::cpu::CpuBackend;
use crate::data::{epoch_order, Splits};
use crate::error::{Error, Result};
use crate::gpu::{GpuBackend, GpuContext};
use crate::model::Params;
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;

/// The largest |ΔW| and |Δb| of one layer between the two paths.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerDiff {
    pub layer: usize,
    pub max_abs_dw: f32,
    pub max_abs_db: f32,
}

/// The parameter differences at one point of training.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Checkpoint {
    /// Updates taken by each path.
    pub steps: u64,
    pub layers: Vec<LayerDiff>,
}

impl Checkpoint {
    /// The largest |ΔW| or |Δb| of any layer (NaN if any is NaN).
    pub fn max_abs(&self) -> f32 {
        self.layers
            .iter()
            .map(|d| nan_max(d.max_abs_dw, d.max_abs_db))
            .fold(0.0, nan_max)
    }
}

/// The larger of `a` and `b`, NaN if either is: a NaN difference must never pass.
fn nan_max(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        f32::NAN
    } else {
        a.max(b)
    }
}

/// One path's results over the epochs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PathReport {
    pub backend: String,
    /// Test accuracy after the last epoch, in [0, 1].
    pub test_accuracy: f64,
    /// Wall seconds of each epoch's training (evaluation excluded).
    pub epoch_seconds: Vec<f64>,
    /// The median of `epoch_seconds`.
    pub seconds_per_epoch: f64,
}

/// How far apart the two paths may be for `compare` to say they agree. Both compute in f32 and
/// round differently (the CPU's gemm sums in another order than the shaders), so the weights
/// drift apart by rounding alone: ~2e-7 after one step of nielsen and ~7e-7 after 100
/// (BENCHMARKS.md), far below `max_abs_after_k_steps`; a real error (a wrong δ, a skipped bias,
/// a misread batch) moves weights by η·δ, ~1e-2 and up, in one step. Over whole epochs the
/// drift grows until a few images with two nearly equal outputs are classified differently,
/// a small fraction of a point; a wrong path misses by whole points.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Tolerance {
    /// Largest |ΔW| or |Δb| after 1 step and after k steps.
    pub max_abs_after_k_steps: f32,
    /// Largest difference of test accuracy after the epochs, in percentage points.
    pub test_accuracy_points: f64,
}

/// The tolerance `compare` states and judges by.
pub const TOLERANCE: Tolerance = Tolerance {
    max_abs_after_k_steps: 1e-3,
    test_accuracy_points: 1.0,
};

/// How much this configuration amplifies rounding: the CPU path against itself, started from
/// every parameter moved one ulp up, over the same steps and epochs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Sensitivity {
    /// Largest |ΔW| or |Δb| after the k steps.
    pub max_abs_after_k_steps: f32,
    /// Difference of test accuracy after the epochs, in percentage points.
    pub test_accuracy_points: f64,
}

/// `compare`'s verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every difference within the tolerance.
    Pass,
    /// A difference beyond the tolerance that the configuration's own sensitivity does not
    /// explain.
    Fail,
    /// The paths agree after one step, but the configuration amplifies rounding beyond the
    /// tolerance (its [`Sensitivity`]), so the later differences say nothing either way.
    Inconclusive,
}

/// What `compare` prints (as a table or as JSON).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CompareReport {
    pub network: String,
    pub batch_size: usize,
    pub epochs: usize,
    pub after_one_step: Checkpoint,
    pub after_k_steps: Checkpoint,
    pub after_epochs: Checkpoint,
    pub cpu: PathReport,
    pub gpu: PathReport,
    /// CPU seconds per epoch / GPU seconds per epoch.
    pub speedup: f64,
    /// GPU kernel seconds per call, where the adapter has timestamp queries.
    pub gpu_kernel_seconds: Option<Vec<(String, f64)>>,
    pub tolerance: Tolerance,
    /// The CPU path against itself one ulp apart.
    pub sensitivity: Sensitivity,
    /// True when the paths agree within `tolerance`.
    pub agree: bool,
    pub verdict: Verdict,
}

impl CompareReport {
    /// The largest |ΔW| or |Δb| after 1 step and after k steps.
    pub fn max_abs_early(&self) -> f32 {
        nan_max(self.after_one_step.max_abs(), self.after_k_steps.max_abs())
    }

    /// The difference of the two paths' test accuracies, in percentage points.
    pub fn accuracy_points_apart(&self) -> f64 {
        100.0 * (self.cpu.test_accuracy - self.gpu.test_accuracy).abs()
    }

    /// "the GPU path is 19× slower than the CPU path" (or faster, or as fast).
    pub fn speed_sentence(&self) -> String {
        let (cpu, gpu) = (self.cpu.seconds_per_epoch, self.gpu.seconds_per_epoch);
        if cpu.is_nan() || gpu.is_nan() || cpu <= 0.0 || gpu <= 0.0 {
            return "the epochs were too short to time".to_string();
        }
        let (ratio, how) = if gpu > cpu {
            (gpu / cpu, "slower")
        } else {
            (cpu / gpu, "faster")
        };
        let times = if ratio >= 10.0 {
            format!("{ratio:.0}")
        } else {
            format!("{ratio:.1}")
        };
        if times == "1.0" {
            "the GPU path is as fast as the CPU path".to_string()
        } else {
            format!("the GPU path is {times}× {how} than the CPU path")
        }
    }
}

fn diff(cpu: &mut dyn Backend, gpu: &mut dyn Backend, steps: u64) -> Result<Checkpoint> {
    let (a, b) = (cpu.params()?, gpu.params()?);
    Ok(Checkpoint {
        steps,
        layers: a
            .max_abs_diff(&b)
            .into_iter()
            .enumerate()
            .map(|(layer, (max_abs_dw, max_abs_db))| LayerDiff {
                layer,
                max_abs_dw,
                max_abs_db,
            })
            .collect(),
    })
}

/// `p` with every parameter moved one ulp up (towards +∞).
fn one_ulp_up(p: &Params) -> Params {
    let mut q = p.clone();
    for layer in &mut q.layers {
        for x in layer.weight.iter_mut().chain(layer.bias.iter_mut()) {
            *x = x.next_up();
        }
    }
    q
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs the comparison: `k_steps` (≥ 1) for the step checkpoint, `cfg.epochs` (≥ 1) epochs for
/// the rest; `threads` for the CPU path.
pub fn compare(
    cfg: &TrainConfig,
    data: Arc<Splits>,
    ctx: &GpuContext,
    k_steps: usize,
    threads: usize,
) -> Result<CompareReport> {
    let n = data.train.len();
    cfg.network.validate(data.inputs(), data.classes)?;
    cfg.validate(n)?;
    if k_steps == 0 {
        return Err(Error::config("--steps must be at least 1"));
    }
    let epochs = cfg.epochs.max(1);
    let net = &cfg.network;
    let kind = cfg.optimizer.kind;
    let hyper = cfg.step_hyper(cfg.eta, n);
    let start = Params::init(net, cfg.seed);
    let cpu_from =
        |params: Params| CpuBackend::new(net, params, kind, data.clone(), cfg.batch_size, threads);
    let fresh = |params: Params| -> Result<(CpuBackend, GpuBackend)> {
        let cpu = cpu_from(params.clone())?;
        let gpu = GpuBackend::new(ctx, net, params, kind, &data)?;
        Ok((cpu, gpu))
    };

    // 1 step, then k − 1 more, over the first k batches of epoch 0's order.
    let order = epoch_order(n, cfg.seed, 0);
    let b = cfg.batch_size;
    let k_end = (k_steps * b).min(n);
    let (mut cpu, mut gpu) = fresh(start.clone())?;
    cpu.train_batches(&order[..b], &hyper)?;
    gpu.train_batches(&order[..b], &hyper)?;
    let after_one_step = diff(&mut cpu, &mut gpu, 1)?;
    if k_end > b {
        cpu.train_batches(&order[b..k_end], &hyper)?;
        gpu.train_batches(&order[b..k_end], &hyper)?;
    }
    let after_k_steps = diff(&mut cpu, &mut gpu, k_end.div_ceil(b) as u64)?;
    let mut nudged = cpu_from(one_ulp_up(&start))?;
    nudged.train_batches(&order[..k_end], &hyper)?;
    let sensitive_k = diff(&mut cpu, &mut nudged, after_k_steps.steps)?.max_abs();

    // Whole epochs from the same start, timed.
    let mut nudged = cpu_from(one_ulp_up(&start))?;
    let (mut cpu, mut gpu) = fresh(start)?;
    let (mut cpu_s, mut gpu_s) = (Vec::new(), Vec::new());
    for epoch in 0..epochs {
        let order = epoch_order(n, cfg.seed, epoch);
        let t = Instant::now();
        cpu.train_batches(&order, &hyper)?;
        cpu_s.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        gpu.train_batches(&order, &hyper)?;
        gpu_s.push(t.elapsed().as_secs_f64());
        nudged.train_batches(&order, &hyper)?;
    }
    let steps = (epochs * n.div_ceil(b)) as u64;
    let after_epochs = diff(&mut cpu, &mut gpu, steps)?;
    let cpu_report = PathReport {
        backend: cpu.describe(),
        test_accuracy: cpu.evaluate(Split::Test)?.accuracy(),
        seconds_per_epoch: median(cpu_s.clone()),
        epoch_seconds: cpu_s,
    };
    let sensitivity = Sensitivity {
        max_abs_after_k_steps: sensitive_k,
        test_accuracy_points: 100.0
            * (cpu_report.test_accuracy - nudged.evaluate(Split::Test)?.accuracy()).abs(),
    };
    let gpu_report = PathReport {
        backend: gpu.describe(),
        test_accuracy: gpu.evaluate(Split::Test)?.accuracy(),
        seconds_per_epoch: median(gpu_s.clone()),
        epoch_seconds: gpu_s,
    };
    let speedup = if gpu_report.seconds_per_epoch > 0.0 {
        cpu_report.seconds_per_epoch / gpu_report.seconds_per_epoch
    } else {
        0.0
    };
    Ok(CompareReport {
        network: net.layers_string(),
        batch_size: b,
        epochs,
        after_one_step,
        after_k_steps,
        after_epochs,
        cpu: cpu_report,
        gpu: gpu_report,
        speedup,
        gpu_kernel_seconds: gpu.kernel_timings(),
        tolerance: TOLERANCE,
        sensitivity,
        agree: false,
        verdict: Verdict::Fail,
    }
    .judged())
}

impl CompareReport {
    /// The report with `agree` and `verdict` set from its numbers, its tolerance and its
    /// sensitivity (NaN never agrees).
    pub fn judged(mut self) -> Self {
        let t = &self.tolerance;
        self.agree = self.max_abs_early() <= t.max_abs_after_k_steps
            && self.accuracy_points_apart() <= t.test_accuracy_points;
        // One step from the same start amplifies nothing: it must agree whatever the
        // configuration.
        let first_step_agrees = self.after_one_step.max_abs() <= t.max_abs_after_k_steps;
        let amplifies = self.sensitivity.max_abs_after_k_steps > t.max_abs_after_k_steps
            || self.sensitivity.test_accuracy_points > t.test_accuracy_points;
        self.verdict = if self.agree {
            Verdict::Pass
        } else if first_step_agrees && amplifies {
            Verdict::Inconclusive
        } else {
            Verdict::Fail
        };
        self
    }
}

impl std::fmt::Display for CompareReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "network {}, batch {}, {} epoch{}",
            self.network,
            self.batch_size,
            self.epochs,
            if self.epochs == 1 { "" } else { "s" }
        )?;
        let epochs = format!(
            "after {} epoch{} ({} steps)",
            self.epochs,
            if self.epochs == 1 { "" } else { "s" },
            self.after_epochs.steps
        );
        let rows: Vec<(String, &LayerDiff)> = [
            ("after 1 step".to_string(), &self.after_one_step),
            (
                format!("after {} steps", self.after_k_steps.steps),
                &self.after_k_steps,
            ),
            (epochs, &self.after_epochs),
        ]
        .into_iter()
        .flat_map(|(name, c)| c.layers.iter().map(move |d| (name.clone(), d)))
        .collect();
        let first = "max |cpu - gpu|";
        let w = rows
            .iter()
            .map(|(n, _)| n.len())
            .fold(first.len(), usize::max);
        writeln!(
            f,
            "{first:<w$}  {:>5}  {:>10}  {:>10}",
            "layer", "|dW|", "|db|"
        )?;
        for (name, d) in &rows {
            writeln!(
                f,
                "{name:<w$}  {:>5}  {:>10.3e}  {:>10.3e}",
                d.layer, d.max_abs_dw, d.max_abs_db
            )?;
        }
        let w = self
            .cpu
            .backend
            .chars()
            .count()
            .max(self.gpu.backend.chars().count());
        for p in [&self.cpu, &self.gpu] {
            let pad = w - p.backend.chars().count();
            writeln!(
                f,
                "{}{:pad$}  test accuracy {:>6.2}%  {:>8.3} s/epoch of training",
                p.backend,
                "",
                100.0 * p.test_accuracy,
                p.seconds_per_epoch
            )?;
        }
        writeln!(f, "speed: {}", self.speed_sentence())?;
        let t = &self.tolerance;
        let sens = &self.sensitivity;
        writeln!(
            f,
            "sensitivity: the CPU path from every parameter 1 ulp up differs from itself by {:.2e} after {} steps and {:.2} points of test accuracy",
            sens.max_abs_after_k_steps, self.after_k_steps.steps, sens.test_accuracy_points
        )?;
        let verdict = match self.verdict {
            Verdict::Pass => "PASS, the paths agree",
            Verdict::Fail => "FAIL, the paths disagree",
            Verdict::Inconclusive => {
                "INCONCLUSIVE, the paths agree after 1 step but this configuration amplifies \
                 rounding beyond the tolerance (the sensitivity line), so the later differences \
                 say nothing either way; a smaller η or a scaled init tests more"
            }
        };
        write!(
            f,
            "verdict: {verdict} (tolerance: |dW|, |db| ≤ {:.0e} after 1 and {} steps, found {:.2e}; \
             test accuracies within {} point{}, found {:.2})",
            t.max_abs_after_k_steps,
            self.after_k_steps.steps,
            self.max_abs_early(),
            t.test_accuracy_points,
            if t.test_accuracy_points == 1.0 {
                ""
            } else {
                "s"
            },
            self.accuracy_points_apart()
        )
    }
}

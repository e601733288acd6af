//! The flags of `train`, and of `compare` and `bench`, which train too: the network and its
//! hyper-parameters ([`HyperArgs`], resolved on top of a preset or a resumed run's
//! configuration), and what a training run writes.

use super::values::{whole, LayerList, SeedList, Shard, Typed};
use super::{DataArgs, DeviceArgs};
use crate::config::ranges::{self, Range};
use crate::config::{
    BenchConfig, Cost, Init, Monitor, OptimizerKind, Output, Preset, Schedule, TrainConfig,
};
use crate::error::{Error, Result};
use crate::sweep::plan::{Dims, Plan};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// The learning-rate schedule's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScheduleChoice {
    Constant,
    /// η ← η·decay every --step-every epochs.
    Step,
    /// η ← η/divisor when validation accuracy has not improved for --patience epochs.
    Plateau,
}

/// What each epoch evaluates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MonitorItem {
    TrainCost,
    TrainAccuracy,
    ValidationCost,
    ValidationAccuracy,
    TestCost,
    TestAccuracy,
}

/// The network and its training hyper-parameters, shared by `train` and `compare`.
#[derive(Debug, Clone, Args)]
pub struct HyperArgs {
    /// Start from a textbook configuration; any flag given overrides it.
    #[arg(long, value_enum, default_value = "nielsen", help_heading = "Network")]
    pub preset: Preset,
    /// Layer widths from input to output; several networks, separated by colons, make a sweep
    /// (784,30,10:784,100,10) [default: 784,30,10 (nielsen), 784,100,10 (network2)].
    #[arg(long, value_name = "N,N,...[:N,N,...]", help_heading = "Network")]
    pub layers: Option<LayerList>,
    /// Output activation [default: sigmoid].
    #[arg(long, value_enum, help_heading = "Network")]
    pub output: Option<Output>,
    /// Cost function (cross-entropy on softmax is the log-likelihood) [default: quadratic
    /// (nielsen), cross-entropy (network2)].
    #[arg(long, value_enum, help_heading = "Network")]
    pub cost: Option<Cost>,
    /// Weight initialisation: N(0,1) or N(0,1/n_in) [default: normal (nielsen), scaled (network2)].
    #[arg(long, value_enum, help_heading = "Network")]
    pub init: Option<Init>,
    /// Learning rate η; a comma list makes a sweep [default: 3.0 (nielsen), 0.5 (network2)].
    /// With --lambda it must keep the first update within f32 (largest value F = 3.4e38), or
    /// the run could only save state that does not read back: with n training images and w the
    /// largest initial |weight|, w + η·(1 + λw/n) < F for sgd and momentum.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "ETA[,ETA...]",
        help_heading = "Optimisation"
    )]
    pub eta: Option<Vec<Typed<f32>>>,
    /// L2 regularisation λ; weights decay by 1 − ηλ/n; a comma list makes a sweep [default: 0
    /// (nielsen), 5.0 (network2)]. Bounded as --eta says; for adam (1 + λw/n)² < F, since its
    /// second moment squares the gradient.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "LAMBDA[,...]",
        help_heading = "Optimisation"
    )]
    pub lambda: Option<Vec<Typed<f32>>>,
    /// Mini-batch size: 1 is online learning, the training-set size is full-batch gradient
    /// descent; a comma list makes a sweep [default: 10].
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "M[,M...]",
        help_heading = "Optimisation"
    )]
    pub batch_size: Option<Vec<Typed<usize>>>,
    /// Epochs to train [default: 30].
    #[arg(long, help_heading = "Schedule", value_parser = whole::<usize>)]
    pub epochs: Option<usize>,
    /// Update rule [default: sgd].
    #[arg(long, value_enum, help_heading = "Optimisation")]
    pub optimizer: Option<OptimizerKind>,
    /// Momentum coefficient μ; a comma list makes a sweep [default: 0.9].
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "MU[,MU...]",
        help_heading = "Optimisation"
    )]
    pub momentum: Option<Vec<Typed<f32>>>,
    /// Adam's β₁; a comma list makes a sweep [default: 0.9].
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "B1[,B1...]",
        help_heading = "Optimisation"
    )]
    pub beta1: Option<Vec<Typed<f32>>>,
    /// Adam's β₂; a comma list makes a sweep [default: 0.999].
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "B2[,B2...]",
        help_heading = "Optimisation"
    )]
    pub beta2: Option<Vec<Typed<f32>>>,
    /// Adam's ε; a comma list makes a sweep [default: 1e-8].
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "EPS[,EPS...]",
        help_heading = "Optimisation"
    )]
    pub adam_epsilon: Option<Vec<Typed<f32>>>,
    /// RMSprop's decay ρ of the mean square g² (PyTorch's `alpha`); a comma list makes a sweep
    /// [default: 0.99].
    #[arg(long, value_delimiter = ',', value_name = "RHO[,RHO...]")]
    pub rho: Option<Vec<Typed<f32>>>,
    /// AdaGrad's ε, added to √s as in PyTorch; a comma list makes a sweep [default: 1e-10].
    #[arg(long, value_delimiter = ',', value_name = "EPS[,EPS...]")]
    pub adagrad_epsilon: Option<Vec<Typed<f32>>>,
    /// RMSprop's ε, added to √v (outside the square root, as in PyTorch); a comma list makes a
    /// sweep [default: 1e-8].
    #[arg(long, value_delimiter = ',', value_name = "EPS[,EPS...]")]
    pub rmsprop_epsilon: Option<Vec<Typed<f32>>>,
    /// Learning-rate schedule [default: constant].
    #[arg(long, value_enum, help_heading = "Schedule")]
    pub schedule: Option<ScheduleChoice>,
    /// Step schedule: epochs between decays [default: 10].
    #[arg(long, help_heading = "Schedule", value_parser = whole::<usize>)]
    pub step_every: Option<usize>,
    /// Step schedule: factor applied to η [default: 0.5]. A factor above 1 must not take η
    /// past f32's largest value within --epochs.
    #[arg(long, help_heading = "Schedule")]
    pub decay: Option<Typed<f32>>,
    /// Plateau schedule: epochs without a better validation accuracy before dividing η
    /// [default: 10].
    #[arg(long, help_heading = "Schedule", value_parser = whole::<usize>)]
    pub patience: Option<usize>,
    /// Plateau schedule: divisor of η [default: 2].
    #[arg(long, help_heading = "Schedule")]
    pub divisor: Option<Typed<f32>>,
    /// Plateau schedule: stop after this many divisions (7 halvings: η/128) [default: 7].
    #[arg(long, help_heading = "Schedule", value_parser = whole::<usize>)]
    pub max_divisions: Option<usize>,
    /// Stop when validation accuracy has not improved for N epochs [default: off].
    #[arg(long, value_name = "N", help_heading = "Schedule", value_parser = whole::<usize>)]
    pub early_stop: Option<usize>,
    /// Seed for initialisation and shuffling; the same seed gives the same weights. Several
    /// seeds (commas and ranges: --seeds 1-24) make a sweep [default: 1].
    #[arg(
        long,
        visible_alias = "seeds",
        value_name = "S[,A-B...]",
        help_heading = "Optimisation"
    )]
    pub seed: Option<SeedList>,
    /// What each epoch reports, comma-separated
    /// [default: train-cost,validation-accuracy,test-accuracy].
    #[arg(long, value_enum, value_delimiter = ',', help_heading = "Reporting")]
    pub monitor: Option<Vec<MonitorItem>>,
}

#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub hyper: HyperArgs,
    /// Write one JSON object per epoch (JSON Lines) to PATH; for a sweep, a directory with one
    /// file per member, named by its flags.
    #[arg(long, value_name = "PATH", help_heading = "Output files")]
    pub metrics: Option<PathBuf>,
    /// Save the trained model (safetensors) to PATH, atomically; for a sweep, a directory
    /// that gets every member's checkpoint (named by its flags) and the sweep's record.
    #[arg(long, value_name = "PATH", help_heading = "Output files")]
    pub save: Option<PathBuf>,
    /// Also keep the best model by validation accuracy (of the run, or of every member of a
    /// sweep) in PATH, written whenever it improves.
    #[arg(long, value_name = "PATH", help_heading = "Output files")]
    pub save_best: Option<PathBuf>,
    /// The most members a sweep may have (the product of the lists' lengths).
    #[arg(long, value_name = "N", default_value_t = crate::sweep::plan::DEFAULT_MAX_MEMBERS, help_heading = "Sweeps", value_parser = whole::<usize>)]
    pub max_members: usize,
    /// Train only shard I of N of a sweep: members I, I+N, I+2N, … (I from 0), so that a
    /// scheduler (a Slurm array, GNU parallel) spreads the sweep; `gpu-mlp sweep-report`
    /// merges the shards' results.
    #[arg(long, value_name = "I/N", help_heading = "Sweeps")]
    pub shard: Option<Shard>,
    /// Also write the --save checkpoint every N epochs, so a killed run can resume (a sweep
    /// resumed with --resume DIR keeps writing into DIR).
    #[arg(long, value_name = "N", help_heading = "Output files", value_parser = whole::<usize>)]
    pub checkpoint_every: Option<usize>,
    /// Continue the run saved in this checkpoint (its configuration, optimizer state and
    /// schedule; flags given override), or the sweep saved in this directory. --epochs is the
    /// total, counting the epochs already run.
    #[arg(long, value_name = "PATH", help_heading = "Output files")]
    pub resume: Option<PathBuf>,
    /// Print only the final summary (no progress bar, no line per epoch).
    #[arg(long, help_heading = "Reporting")]
    pub quiet: bool,
    /// How epochs are reported on stdout: text (a progress bar on a terminal, else one line per
    /// epoch) or json (one JSON object per epoch, then a JSON summary).
    #[arg(long, value_enum, default_value = "text", help_heading = "Reporting")]
    pub log_format: LogFormat,
    /// The same as --log-format json (for a sweep: a JSON object per member's epoch, then the
    /// results table and its distributions as one JSON object).
    #[arg(long, help_heading = "Reporting", conflicts_with = "log_format")]
    pub json: bool,
    /// Draw cost and accuracy per epoch into this PNG when training ends.
    #[arg(long, value_name = "PATH.png", help_heading = "Output files")]
    pub plot: Option<PathBuf>,
    /// Write TensorBoard event files (cost, accuracy, η and seconds per epoch) under DIR: a new
    /// directory per run, named by its start time, holding one run directory per sweep member
    /// (view with `tensorboard --logdir DIR`).
    #[arg(long, value_name = "DIR", help_heading = "Output files")]
    pub tensorboard: Option<PathBuf>,
    /// With --resume: continue on the data given even where none of its files are those the
    /// checkpoint was trained on (such data is refused otherwise).
    #[arg(long, help_heading = "Data")]
    pub any_data: bool,
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub device: DeviceArgs,
}

impl TrainArgs {
    /// Whether epochs are reported as JSON (--log-format json or --json).
    pub fn json_log(&self) -> bool {
        self.json || self.log_format == LogFormat::Json
    }
}

impl HyperArgs {
    /// The one configuration the flags name, for a command that trains one network: `base`
    /// (the preset, or the resumed run's) with every given flag on top. A flag listing several
    /// values is an error here.
    pub fn resolve(&self, base: TrainConfig) -> Result<TrainConfig> {
        let plan = self.plan(base, 1)?;
        plan.members
            .into_iter()
            .next()
            .map(|m| m.cfg)
            .ok_or_else(|| Error::internal("a plan of no members"))
    }

    /// Every configuration the flags name: the cross product of the values each listing flag
    /// gives, on top of `base` with every other flag, at most `max_members`.
    pub fn plan(&self, base: TrainConfig, max_members: usize) -> Result<Plan> {
        let fixed = self.resolve_fixed(base)?;
        self.check_ranges()?;
        let typed = |v: &Option<Vec<Typed<f32>>>| -> Vec<(String, f32)> {
            v.iter()
                .flatten()
                .map(|t| (t.text.clone(), t.value))
                .collect()
        };
        let dims = Dims {
            layers: self.layers.clone().map(|l| l.0).unwrap_or_default(),
            batch_size: self
                .batch_size
                .iter()
                .flatten()
                .map(|t| (t.text.clone(), t.value))
                .collect(),
            eta: typed(&self.eta),
            lambda: typed(&self.lambda),
            momentum: typed(&self.momentum),
            beta1: typed(&self.beta1),
            beta2: typed(&self.beta2),
            adam_epsilon: typed(&self.adam_epsilon),
            rho: typed(&self.rho),
            adagrad_epsilon: typed(&self.adagrad_epsilon),
            rmsprop_epsilon: typed(&self.rmsprop_epsilon),
            seed: self.seed.clone().map(|s| s.0).unwrap_or_default(),
        };
        if max_members == 1 {
            if let Some(flag) = dims.swept().first() {
                return Err(Error::config(format!(
                    "--{flag} lists several values, but this command trains one network; give one value"
                )));
            }
        }
        Plan::cross(&fixed, &dims, max_members)
    }

    /// Holds every value the real-valued flags give to its range (`config::ranges`), quoting
    /// it as typed: `--momentum 0.99999999` is "found 0.99999999", not the f32 it rounds to.
    fn check_ranges(&self) -> Result<()> {
        let lists: [(&Range, &Option<Vec<Typed<f32>>>); 9] = [
            (&ranges::ETA, &self.eta),
            (&ranges::LAMBDA, &self.lambda),
            (&ranges::MOMENTUM, &self.momentum),
            (&ranges::BETA1, &self.beta1),
            (&ranges::BETA2, &self.beta2),
            (&ranges::ADAM_EPSILON, &self.adam_epsilon),
            (&ranges::RHO, &self.rho),
            (&ranges::ADAGRAD_EPSILON, &self.adagrad_epsilon),
            (&ranges::RMSPROP_EPSILON, &self.rmsprop_epsilon),
        ];
        let single: [(&Range, &Option<Typed<f32>>); 2] = [
            (&ranges::DECAY, &self.decay),
            (&ranges::DIVISOR, &self.divisor),
        ];
        let values = lists
            .into_iter()
            .flat_map(|(r, v)| v.iter().flatten().map(move |t| (r, t)))
            .chain(
                single
                    .into_iter()
                    .flat_map(|(r, v)| v.iter().map(move |t| (r, t))),
            );
        for (range, t) in values {
            range.check(t.value, Some(&t.text))?;
        }
        Ok(())
    }

    /// `base` with every flag that a sweep cannot list on top.
    fn resolve_fixed(&self, base: TrainConfig) -> Result<TrainConfig> {
        let mut c = base;
        if let Some(v) = self.output {
            c.network.output = v;
        }
        if let Some(v) = self.cost {
            c.network.cost = v;
        }
        if let Some(v) = self.init {
            c.network.init = v;
        }
        c.epochs = self.epochs.unwrap_or(c.epochs);
        c.optimizer.kind = self.optimizer.unwrap_or(c.optimizer.kind);
        let step_given = self.step_every.is_some() || self.decay.is_some();
        let plateau_given =
            self.patience.is_some() || self.divisor.is_some() || self.max_divisions.is_some();
        let kind = self.schedule.unwrap_or(match c.schedule {
            Schedule::Constant => ScheduleChoice::Constant,
            Schedule::Step { .. } => ScheduleChoice::Step,
            Schedule::Plateau { .. } => ScheduleChoice::Plateau,
        });
        c.schedule = match kind {
            ScheduleChoice::Constant => {
                if step_given || plateau_given {
                    return Err(Error::config(
                        "--step-every/--decay/--patience/--divisor/--max-divisions need --schedule step or plateau",
                    ));
                }
                Schedule::Constant
            }
            ScheduleChoice::Step => {
                if plateau_given {
                    return Err(Error::config(
                        "--patience/--divisor/--max-divisions need --schedule plateau, not step",
                    ));
                }
                let (every, factor) = match c.schedule {
                    Schedule::Step { every, factor } => (every, factor),
                    _ => (10, 0.5),
                };
                Schedule::Step {
                    every: self.step_every.unwrap_or(every),
                    factor: self.decay.as_ref().map_or(factor, |t| t.value),
                }
            }
            ScheduleChoice::Plateau => {
                if step_given {
                    return Err(Error::config(
                        "--step-every/--decay need --schedule step, not plateau",
                    ));
                }
                let (p, d, m) = match c.schedule {
                    Schedule::Plateau {
                        patience,
                        divisor,
                        max_divisions,
                    } => (patience, divisor, max_divisions),
                    _ => (10, 2.0, 7),
                };
                Schedule::Plateau {
                    patience: self.patience.unwrap_or(p),
                    divisor: self.divisor.as_ref().map_or(d, |t| t.value),
                    max_divisions: self.max_divisions.unwrap_or(m),
                }
            }
        };
        if self.early_stop.is_some() {
            c.early_stop = self.early_stop;
        }
        if let Some(items) = &self.monitor {
            let has = |i: MonitorItem| items.contains(&i);
            c.monitor = Monitor {
                train_cost: has(MonitorItem::TrainCost),
                train_accuracy: has(MonitorItem::TrainAccuracy),
                validation_cost: has(MonitorItem::ValidationCost),
                validation_accuracy: has(MonitorItem::ValidationAccuracy),
                test_cost: has(MonitorItem::TestCost),
                test_accuracy: has(MonitorItem::TestAccuracy),
            };
        }
        Ok(c)
    }
}

/// How `train` reports epochs on stdout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// A progress bar on a terminal; one line per epoch otherwise.
    Text,
    /// One JSON object per epoch (the --metrics line), then one summary object.
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct CompareArgs {
    /// The network and hyper-parameters, as for `train`; --epochs defaults to 1 here.
    #[command(flatten)]
    pub hyper: HyperArgs,
    /// Compare the weights after this many steps, besides after 1 step and at the end.
    #[arg(long, default_value_t = 100, help_heading = "Comparison", value_parser = whole::<usize>)]
    pub steps: usize,
    /// Print one JSON object.
    #[arg(long, help_heading = "Comparison")]
    pub json: bool,
    #[command(flatten)]
    pub data: DataArgs,
    /// The GPU side of the comparison (`cpu` and `auto` both pick the best adapter).
    #[command(flatten)]
    pub device: DeviceArgs,
}

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Configurations to time, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "nielsen,network2,wide"
    )]
    pub configs: Vec<BenchConfig>,
    /// Timed epochs per configuration (the median is reported).
    #[arg(long, default_value_t = 3, value_parser = whole::<usize>)]
    pub runs: usize,
    /// Train this many members of each configuration together (seeds 1..=N), as a sweep does,
    /// and report seconds per epoch of them all and per member-epoch.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = whole::<usize>)]
    pub members: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// No progress bar while timing (it is shown on a terminal otherwise).
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub device: DeviceArgs,
}

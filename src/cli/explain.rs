//! The flags of `explain`: which network, which sample, the step's constants, and where to
//! run it.

use super::{BackendChoice, DataArgs};
use crate::backend::Split;
use crate::config::{Cost, Init, OptimizerKind, Output};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// The network: any checkpoint (its parameters; from `train --save` also its optimizer
    /// state, current η, λ and optimizer, which flags given override) [default: a fresh
    /// network, see --layers].
    #[arg(long, value_name = "PATH", conflicts_with_all = ["layers", "seed", "weights", "output", "cost", "init"])]
    pub model: Option<PathBuf>,
    /// A fresh network of these widths, from input to output [default: 784,30,10].
    #[arg(long, value_delimiter = ',', value_name = "N,N,...")]
    pub layers: Option<Vec<usize>>,
    /// The fresh network's initial weights: their seed, as for `train` [default: 1].
    #[arg(long, value_name = "S", conflicts_with = "weights")]
    pub seed: Option<u64>,
    /// The fresh network's weights, chosen: each layer's W row by row (W[j][k] connects input
    /// k to unit j), layers separated by colons, e.g. 0.15,0.2,0.25,0.3:0.4,0.45,0.5,0.55 for
    /// --layers 2,2,2.
    #[arg(long, value_name = "W,...[:W,...]", allow_hyphen_values = true)]
    pub weights: Option<String>,
    /// With --weights: each layer's biases, layers separated by colons [default: all 0].
    #[arg(
        long,
        value_name = "B,...[:B,...]",
        allow_hyphen_values = true,
        requires = "weights"
    )]
    pub biases: Option<String>,
    /// The fresh network's output activation [default: sigmoid].
    #[arg(long, value_enum)]
    pub output: Option<Output>,
    /// The fresh network's cost [default: quadratic].
    #[arg(long, value_enum)]
    pub cost: Option<Cost>,
    /// The fresh network's weight initialisation (with --seed) [default: normal].
    #[arg(long, value_enum)]
    pub init: Option<Init>,
    /// The sample's input x = a¹, one value per input unit.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "X,...",
        allow_hyphen_values = true,
        requires = "target",
        conflicts_with = "sample"
    )]
    pub input: Option<Vec<f32>>,
    /// The sample's target y, one value per output unit (any values; a softmax output with
    /// cross-entropy needs them to sum to 1).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "Y,...",
        allow_hyphen_values = true,
        requires = "input"
    )]
    pub target: Option<Vec<f32>>,
    /// Image N (from 0) of --split as training reads it (pixel/255), with its label as a one-hot
    /// target [default: 0, unless --input is given].
    #[arg(long, value_name = "N")]
    pub sample: Option<usize>,
    /// The split --sample reads.
    #[arg(long, value_enum, default_value = "train")]
    pub split: Split,
    /// Learning rate η [default: the checkpoint's current η, else 3.0 (nielsen)].
    #[arg(long)]
    pub eta: Option<f32>,
    /// L2 regularisation λ (the weights' gradient gains (λ/n)W, n = --train-size) [default:
    /// the checkpoint's, else 0].
    #[arg(long)]
    pub lambda: Option<f32>,
    /// Update rule [default: the checkpoint's, else sgd].
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerKind>,
    /// Momentum coefficient μ [default: 0.9].
    #[arg(long)]
    pub momentum: Option<f32>,
    /// Adam's β₁ [default: 0.9].
    #[arg(long)]
    pub beta1: Option<f32>,
    /// Adam's β₂ [default: 0.999].
    #[arg(long)]
    pub beta2: Option<f32>,
    /// Adam's ε [default: 1e-8].
    #[arg(long)]
    pub adam_epsilon: Option<f32>,
    /// RMSprop's ρ [default: 0.99].
    #[arg(long)]
    pub rho: Option<f32>,
    /// AdaGrad's ε [default: 1e-10].
    #[arg(long)]
    pub adagrad_epsilon: Option<f32>,
    /// RMSprop's ε [default: 1e-8].
    #[arg(long)]
    pub rmsprop_epsilon: Option<f32>,
    /// Print every entry and estimate every gradient entry by finite differences, however
    /// large the network (otherwise networks of more than 300 weights get norms and their
    /// largest entries).
    #[arg(long)]
    pub full: bool,
    /// Print one JSON object with every number, layer after layer.
    #[arg(long)]
    pub json: bool,
    /// Also run the step on this backend (the per-layer GPU kernels one at a time) and print
    /// the largest difference from the CPU's numbers.
    #[arg(long, value_enum, default_value = "cpu")]
    pub backend: BackendChoice,
    /// Pick the GPU adapter whose name contains this text (see `gpu-mlp devices`).
    #[arg(long, value_name = "NAME")]
    pub adapter: Option<String>,
    /// The data --sample reads, and n (--train-size) in the L2 term λ/n.
    #[command(flatten)]
    pub data: DataArgs,
}

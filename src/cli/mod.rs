//! The command line (clap derive): one struct of flags per subcommand (`train.rs` for the ones
//! that train, `tools.rs` for the rest) and the flag groups they share. `train.rs` also resolves
//! the flags into a [`crate::config::TrainConfig`] on top of a preset or a resumed run.

mod explain;
mod hints;
mod tools;
mod train;
pub mod values;

pub use explain::ExplainArgs;
pub use tools::*;
pub use train::*;

use crate::data::{Source, SplitSizes};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use values::whole;

pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  unexpected internal error
  2  bad flag or configuration (the message names the flag)
  3  unreadable or malformed file (data set, checkpoint), or an output path that cannot or
     must not be written (not a regular file, missing directory, held by another run)
  4  training diverged (NaN or infinite values, saturated weights, accuracy collapsed to
     chance) or its state would not read back; nothing was saved over the last good checkpoint
  5  GPU problem (no adapter for the backend asked for, device limits, device lost, a hang)
  6  selftest: the GPU computed a result the CPU reference does not accept (see its FAIL lines);
     gradcheck: backprop's gradients are above the threshold it prints
  7  download: the network is unreachable (DNS or connection failure on every mirror), or no
     mirror served a good copy
  130  train stopped by Ctrl-C (SIGINT): the last finished epoch was saved where --save was
     given, and the message says how to resume (a second Ctrl-C exits at once)
  141  stdout was closed early (e.g. piped into `head`): output stops, quietly
  143  train stopped by SIGTERM, as by Ctrl-C";

/// A command-line error of clap's (an unknown flag, a bad value, a missing argument) as one line,
/// like every other error: its message and tips joined, without the usage block (the usage is
/// for `--help`). `None` for `--help` and `--version`, which are not errors.
pub fn one_line_usage_error(e: &clap::Error) -> Option<String> {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        return None;
    }
    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        return Some("no subcommand given (see --help for the list)".to_string());
    }
    let text = e.render().to_string();
    let mut line = String::new();
    for part in text
        .lines()
        .take_while(|l| !l.starts_with("Usage:"))
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
    {
        if !line.is_empty() {
            line += if line.ends_with(':') { " " } else { "; " };
        }
        line += part;
    }
    let mut line = line.strip_prefix("error: ").unwrap_or(&line).to_string();
    if let Some(hint) = hints::for_error(e) {
        line = format!("{line}; {hint}");
    }
    Some(format!("{line} (see --help)"))
}

/// gpu-mlp: train multilayer perceptrons with backpropagation on the GPU (wgpu + WGSL) or the
/// CPU reference, on MNIST-format data.
#[derive(Debug, Parser)]
#[command(name = "gpu-mlp", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a network and report each epoch.
    Train(Box<TrainArgs>),
    /// Evaluate a saved model on a data split.
    Eval(EvalArgs),
    /// Check backprop's gradients against f64 central finite differences.
    Gradcheck(GradcheckArgs),
    /// One training step of a network on one sample, in numbers: the forward pass, the cost,
    /// BP1–BP4 with each gradient beside its finite difference, and the update.
    Explain(Box<ExplainArgs>),
    /// Measure seconds per training epoch for the benchmark configurations.
    Bench(BenchArgs),
    /// List the GPU adapters wgpu finds, with the limits that matter for training.
    Devices(DevicesArgs),
    /// Check that gpu-mlp computes the right thing on your GPU: every kernel, a training step
    /// of every kind, determinism and a short run, each held against the CPU reference.
    Selftest(SelftestArgs),
    /// Train the same network on the CPU and the GPU and compare weights, accuracy and speed.
    Compare(Box<CompareArgs>),
    /// Write the textbook's expanded training set (each image and its four one-pixel shifts:
    /// MNIST's 50,000 become 250,000) as IDX files for `train --data-dir`.
    ExpandData(ExpandArgs),
    /// Draw cost and accuracy per epoch from one or more --metrics files into a PNG.
    Plot(PlotArgs),
    /// Render the first layer's weights as images, one per hidden unit.
    ShowWeights(ShowWeightsArgs),
    /// Classify your own PNG/JPEG images of digits, made to look like MNIST first.
    Predict(PredictArgs),
    /// Download a data set's four IDX files from its public mirrors, checking their MD5s.
    Download(DownloadArgs),
    /// Merge the results of a sweep's shards (their directories or results files) into the
    /// table one unsharded run prints.
    SweepReport(SweepReportArgs),
    /// Write a saved model in another format (ONNX).
    Export(ExportArgs),
    /// Print a shell completion script (e.g. `gpu-mlp completions bash > ~/.local/share/bash-completion/completions/gpu-mlp`).
    Completions(CompletionsArgs),
}

/// The backend that runs the passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    /// The CPU reference.
    Cpu,
    Vulkan,
    Metal,
    Dx12,
    Gl,
    /// The best hardware GPU if there is one, else the CPU reference (a software adapter such
    /// as llvmpipe only when asked for: by API, e.g. vulkan, or with --adapter).
    Auto,
}

/// Which data set to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DatasetChoice {
    /// MNIST, shipped in data/mnist.
    Mnist,
    /// Fashion-MNIST from /usr/share/datasets/fashion-mnist (apt-get install dataset-fashion-mnist).
    FashionMnist,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Data")]
pub struct DataArgs {
    /// Data set to train and evaluate on [default: mnist; for `eval` and `train --resume`, the
    /// one the model was trained on].
    #[arg(long, value_enum)]
    pub dataset: Option<DatasetChoice>,
    /// Read the four standard IDX files (train-images-idx3-ubyte[.gz], ...) from DIR instead
    /// [default for `eval` and `train --resume`: the directory the model was trained on, where
    /// it was not a known data set].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Training images: the first N of the training file.
    #[arg(long, default_value_t = 50_000, value_parser = whole::<usize>)]
    pub train_size: usize,
    /// Validation images: the last N of the training file.
    #[arg(long, default_value_t = 10_000, value_parser = whole::<usize>)]
    pub validation_size: usize,
    /// Test images: the first N of the t10k file [default: all of them].
    #[arg(long, value_parser = whole::<usize>)]
    pub test_size: Option<usize>,
}

impl DataArgs {
    pub fn source(&self) -> Source {
        match (&self.data_dir, self.dataset) {
            (Some(d), _) => Source::Dir(d.clone()),
            (None, None | Some(DatasetChoice::Mnist)) => Source::Mnist,
            (None, Some(DatasetChoice::FashionMnist)) => Source::FashionMnist,
        }
    }

    pub fn sizes(&self) -> SplitSizes {
        SplitSizes {
            train: self.train_size,
            validation: self.validation_size,
            test: self.test_size,
        }
    }
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Backend")]
pub struct DeviceArgs {
    /// Backend: the CPU reference, a wgpu API, or auto (a hardware GPU, else the CPU).
    #[arg(long, value_enum, default_value = "auto")]
    pub backend: BackendChoice,
    /// Pick the GPU adapter whose name contains this text (see `gpu-mlp devices`).
    #[arg(long, value_name = "NAME")]
    pub adapter: Option<String>,
    /// CPU threads for the reference's matrix products [default: all cores].
    #[arg(long, value_parser = whole::<usize>)]
    pub threads: Option<usize>,
    /// GPU kernels: the fused small-network kernels where the network fits them (every width
    /// after the input ≤ 256, batch ≤ 64, the tile in the adapter's workgroup memory), else the
    /// per-layer ones; or either one forced (`fused` fails where the network does not fit).
    #[arg(long, value_enum, default_value = "auto")]
    pub kernels: KernelChoice,
    /// Say which kernels were chosen and why.
    #[arg(long)]
    pub verbose: bool,
}

/// Which GPU kernels train the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KernelChoice {
    /// Fused where the network fits, per-layer otherwise; per-layer on a software adapter
    /// (llvmpipe), where they measured faster (BENCHMARKS.md).
    Auto,
    /// One workgroup per network runs whole steps, many steps per dispatch.
    Fused,
    /// One dispatch per layer and pass (7 per step for 784-30-10).
    PerLayer,
}

//! The flags of the subcommands that do not train: evaluation, inspection, data and export.

use super::values::whole;
use super::{BackendChoice, DataArgs, DatasetChoice, DeviceArgs};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Clone, Args)]
pub struct ExpandArgs {
    /// Directory to write the four IDX files to (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Data set to expand.
    #[arg(long, value_enum, default_value = "mnist")]
    pub dataset: DatasetChoice,
    /// Expand the four standard IDX files in DIR instead.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The last N training images are copied unchanged (to validate on) instead of expanded.
    #[arg(long, default_value_t = 10_000, value_parser = whole::<usize>)]
    pub validation_size: usize,
}

#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// The checkpoint to evaluate (written by `train --save`).
    #[arg(long, value_name = "PATH")]
    pub model: PathBuf,
    /// Which split to evaluate.
    #[arg(long, value_enum, default_value = "test")]
    pub split: crate::backend::Split,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also print the confusion matrix (rows: true class, columns: predicted class).
    #[arg(long)]
    pub confusion: bool,
    /// Render the misclassified images into a PNG grid, each labelled "truth→prediction".
    #[arg(long, value_name = "PATH.png")]
    pub errors: Option<PathBuf>,
    /// At most this many images in the --errors grid (the first ones in the split's order).
    #[arg(long, default_value_t = 100, value_name = "N", value_parser = whole::<usize>)]
    pub errors_max: usize,
    /// Evaluate on the data given even where none of its files are those the model was trained
    /// on (the checkpoint records them; without this flag such data is refused).
    #[arg(long)]
    pub any_data: bool,
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub device: DeviceArgs,
}

#[derive(Debug, Clone, Args)]
pub struct GradcheckArgs {
    /// Hidden-layer widths of the small network checked.
    #[arg(long, value_delimiter = ',', default_value = "8,6", value_parser = whole::<usize>)]
    pub hidden: Vec<usize>,
    /// Real training samples the cost is summed over.
    #[arg(long, default_value_t = 4, value_parser = whole::<usize>)]
    pub samples: usize,
    /// Seed for the network's initial weights.
    #[arg(long, default_value_t = 7, value_parser = whole::<u64>)]
    pub seed: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Debug, Clone, Args)]
pub struct DevicesArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct SelftestArgs {
    /// Check the adapters of this backend [default: every adapter `gpu-mlp devices` lists];
    /// auto: the one `--backend auto` trains on.
    #[arg(long, value_enum)]
    pub backend: Option<BackendChoice>,
    /// Check only the adapters whose name contains this text.
    #[arg(long, value_name = "NAME")]
    pub adapter: Option<String>,
    /// A smaller set of checks: three shapes per kernel, the training checks with the
    /// adapter's own multiply only.
    #[arg(long)]
    pub quick: bool,
    /// Print one JSON object instead of lines.
    #[arg(long)]
    pub json: bool,
    /// Also write a report to attach to a bug report: the adapter, the failing checks,
    /// gpu-mlp's version and the shader source of every failing pipeline.
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
    /// Perturb one result of the checks of this name (a test of the self-test itself).
    #[arg(long, value_name = "CHECK", hide = true)]
    pub plant_error: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct PlotArgs {
    /// Metrics files written by `train --metrics` (JSON Lines), or a sweep's metrics directory
    /// (its members' median and range); several are drawn together.
    #[arg(required = true, value_name = "METRICS.jsonl|DIR")]
    pub metrics: Vec<PathBuf>,
    /// The PNG to write [default: the first metrics file's path with the extension .png (a
    /// sweep directory's path plus .png), which must not exist yet].
    #[arg(short, long, value_name = "PATH.png")]
    pub output: Option<PathBuf>,
    /// Legend names for the runs, comma-separated, in the order of the files [default: the
    /// file names without extension].
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    pub labels: Option<Vec<String>>,
    /// Image width in pixels.
    #[arg(long, default_value_t = 1200, value_parser = whole::<u32>)]
    pub width: u32,
    /// Image height in pixels.
    #[arg(long, default_value_t = 500, value_parser = whole::<u32>)]
    pub height: u32,
}

#[derive(Debug, Clone, Args)]
pub struct ShowWeightsArgs {
    /// The checkpoint (written by `train --save`).
    #[arg(long, value_name = "PATH")]
    pub model: PathBuf,
    /// The PNG to write [default: the model's path with -weights.png for its extension, which
    /// must not exist yet].
    #[arg(short, long, value_name = "PATH.png")]
    pub output: Option<PathBuf>,
    /// At most this many hidden units (the first ones).
    #[arg(long, default_value_t = 100, value_name = "N", value_parser = whole::<usize>)]
    pub max_units: usize,
}

#[derive(Debug, Clone, Args)]
pub struct PredictArgs {
    /// The checkpoint (written by `train --save`).
    #[arg(long, value_name = "PATH")]
    pub model: PathBuf,
    /// PNG or JPEG images, one digit each, any size; dark ink on light paper or the reverse.
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<PathBuf>,
    /// Print one JSON object per image (JSON Lines) instead of text. A prediction whose
    /// probability is below 0.5 is marked uncertain (in JSON: "uncertain": true).
    #[arg(long)]
    pub json: bool,
    /// Also write each image as the network sees it (28x28, MNIST-style) into DIR.
    #[arg(long, value_name = "DIR")]
    pub save_preprocessed: Option<PathBuf>,
}

/// A data set `download` knows the mirrors and checksums of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DownloadSet {
    Mnist,
    FashionMnist,
}

#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Exit codes: 0 the four files are there and match their checksums; 2 a bad flag; \
3 --dir or a file in it cannot be written; 7 the network is unreachable (DNS or connection failure \
on every mirror) or no mirror served a good copy."
)]
pub struct DownloadArgs {
    /// Which data set.
    #[arg(value_enum)]
    pub dataset: DownloadSet,
    /// Where to put the four .gz files [default: data/mnist or data/fashion-mnist].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Try this base URL first (the four file names are appended); repeatable.
    #[arg(long, value_name = "URL")]
    pub mirror: Vec<String>,
    /// Use only the --mirror URLs, not the data set's public mirrors.
    #[arg(long, requires = "mirror")]
    pub only_mirrors: bool,
    /// Seconds without progress before a transfer counts as broken; also bounds each file's
    /// time on a mirror: this many seconds plus 1 s per 16 KiB of the file (a mirror slower
    /// than that on average is given up).
    #[arg(long, default_value_t = 30, value_name = "SECONDS", value_parser = whole::<u64>)]
    pub timeout: u64,
}

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// The checkpoint (written by `train --save`).
    #[arg(long, value_name = "PATH")]
    pub model: PathBuf,
    /// Write an ONNX model (Gemm + Sigmoid/Softmax; input "input" [N, 784] of pixel/255,
    /// output "output" [N, classes]).
    #[arg(long, value_name = "PATH.onnx")]
    pub onnx: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell to write the completion script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Clone, Args)]
pub struct SweepReportArgs {
    /// Sweep directories (`--save DIR` or `--metrics DIR` of each shard) or results files
    /// (sweep-results*.json) to merge.
    #[arg(required = true, value_name = "DIR|FILE")]
    pub paths: Vec<PathBuf>,
    /// Print the merged report as JSON instead of the table.
    #[arg(long)]
    pub json: bool,
}

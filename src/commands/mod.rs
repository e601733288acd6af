//! What each subcommand does, on top of the library. `main` only parses and maps errors.

mod bench;
mod eval;
mod expand;
mod gradcheck;
mod metrics_file;
mod train;

use crate::backend::Backend;
use crate::cli::{BackendChoice, Cli, Command, DeviceArgs};
use crate::config::{NetworkConfig, OptimizerKind};
use crate::cpu::CpuBackend;
use crate::data::Splits;
use crate::error::{Error, Result};
use crate::model::Params;
use std::sync::Arc;

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train(a) => train::run(&a),
        Command::Eval(a) => eval::run(&a),
        Command::Gradcheck(a) => gradcheck::run(&a),
        Command::Bench(a) => bench::run(&a),
        Command::Devices => Err(gpu_missing()),
        Command::Compare(_) => Err(gpu_missing()),
        Command::ExpandData(a) => expand::run(&a),
    }
}

fn gpu_missing() -> Error {
    Error::Gpu("the GPU backend is not part of this build yet; use --backend cpu".to_string())
}

/// Threads for the CPU reference: the flag, else every core. Configures rayon's pool once.
pub fn threads(flag: Option<usize>) -> Result<usize> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let n = flag.unwrap_or(cores);
    if n == 0 || n > 1024 {
        return Err(Error::config(format!(
            "--threads must be in 1..=1024, found {n}"
        )));
    }
    // Only the first call configures the global pool; later calls keep it.
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global();
    Ok(n)
}

/// Builds the backend asked for, with `params` and a fresh optimizer state.
pub fn make_backend(
    device: &DeviceArgs,
    net: &NetworkConfig,
    params: Params,
    optimizer: OptimizerKind,
    data: Arc<Splits>,
    batch_size: usize,
) -> Result<Box<dyn Backend>> {
    match device.backend {
        BackendChoice::Cpu | BackendChoice::Auto => {
            let threads = threads(device.threads)?;
            Ok(Box::new(CpuBackend::new(
                net, params, optimizer, data, batch_size, threads,
            )?))
        }
        _ => Err(gpu_missing()),
    }
}

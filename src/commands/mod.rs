//! What each subcommand does, on top of the library. `main` only parses and maps errors.

mod bench;
mod compare;
mod completions;
mod devices;
mod download;
mod eval;
mod expand;
mod explain;
mod export;
mod gradcheck;
mod interrupted;
mod metrics_file;
mod model_data;
mod plot;
mod predict;
mod selftest;
mod show_weights;
mod sweep;
mod sweep_best;
mod sweep_report;
mod train;

use crate::backend::Backend;
use crate::cli::{BackendChoice, Cli, Command, DeviceArgs, KernelChoice};
use crate::config::{NetworkConfig, OptimizerKind};
use crate::cpu::CpuBackend;
use crate::data::Splits;
use crate::error::{Error, Result};
use crate::gpu::{GpuApi, GpuBackend, GpuContext};
use crate::model::Params;
use std::sync::Arc;

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train(a) => train::run(&a),
        Command::Eval(a) => eval::run(&a),
        Command::Gradcheck(a) => gradcheck::run(&a),
        Command::Explain(a) => explain::run(&a),
        Command::Bench(a) => bench::run(&a),
        Command::Devices(a) => devices::run(&a),
        Command::Selftest(a) => selftest::run(&a),
        Command::Compare(a) => compare::run(&a),
        Command::ExpandData(a) => expand::run(&a),
        Command::Plot(a) => plot::run(&a),
        Command::ShowWeights(a) => show_weights::run(&a),
        Command::Predict(a) => predict::run(&a),
        Command::Download(a) => download::run(&a),
        Command::Export(a) => export::run(&a),
        Command::SweepReport(a) => sweep_report::run(&a),
        Command::Completions(a) => completions::run(&a),
    }
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

/// The wgpu API a backend choice names; `None` for the CPU.
pub fn gpu_api(choice: BackendChoice) -> Option<GpuApi> {
    match choice {
        BackendChoice::Cpu => None,
        BackendChoice::Vulkan => Some(GpuApi::Vulkan),
        BackendChoice::Metal => Some(GpuApi::Metal),
        BackendChoice::Dx12 => Some(GpuApi::Dx12),
        BackendChoice::Gl => Some(GpuApi::Gl),
        BackendChoice::Auto => Some(GpuApi::Auto),
    }
}

/// The GPU context for a backend choice, `Ok(None)` for the CPU path. With `announce` (the
/// human-readable output modes) it first prints the line every run starts with on stdout:
/// which path it took and why (and, on a software adapter, that the CPU path is faster);
/// stderr stays for errors, one line each. `auto` takes the best hardware GPU that opens, else
/// the CPU; a software adapter only when asked for, by API (`--backend vulkan`) or `--adapter`.
pub fn gpu_context(
    choice: BackendChoice,
    adapter: Option<&str>,
    announce: bool,
) -> Result<Option<GpuContext>> {
    let (ctx, line) = choose_backend(choice, adapter)?;
    if announce {
        println!("{line}");
        if let Some(note) = ctx.as_ref().and_then(software_note) {
            println!("{note}");
        }
    }
    Ok(ctx)
}

/// The context of [`gpu_context`] and its "backend: …" line, printing only the adapters
/// `auto` could not open.
fn choose_backend(
    choice: BackendChoice,
    adapter: Option<&str>,
) -> Result<(Option<GpuContext>, String)> {
    let api = match gpu_api(choice) {
        None => {
            return Ok((
                None,
                "backend: cpu (asked for with --backend cpu)".to_string(),
            ))
        }
        Some(api) => api,
    };
    if api != GpuApi::Auto {
        let ctx = GpuContext::new(api, adapter)?;
        let line = format!(
            "backend: {} (asked for with --backend {}{})",
            ctx.describe(),
            api.name(),
            adapter.map_or(String::new(), |a| format!(" --adapter {a}"))
        );
        return Ok((Some(ctx), line));
    }
    let choice = GpuContext::open_auto(adapter)?;
    for reason in &choice.skipped {
        eprintln!("backend auto: {reason}; trying the next adapter");
    }
    let line = match (&choice.context, adapter) {
        (Some(c), Some(a)) => format!("backend: {} (--backend auto --adapter {a})", c.describe()),
        (Some(c), None) => format!(
            "backend: {} (--backend auto: the best hardware GPU)",
            c.describe()
        ),
        (None, _) => format!("backend: cpu ({})", why_cpu(&choice)),
    };
    Ok((choice.context, line))
}

/// Why `auto` took the CPU path: no hardware adapter (or none that opens), and the software
/// ones it passed over with how to ask for them.
fn why_cpu(choice: &crate::gpu::AutoChoice) -> String {
    let mut why = if choice.skipped.is_empty() {
        "no hardware GPU adapter".to_string()
    } else {
        "no hardware GPU adapter opens".to_string()
    };
    match choice.software.first() {
        Some((name, api)) => {
            let short = name.split_whitespace().next().unwrap_or(name);
            why += &format!(
                "; {short}, a software adapter slower than the CPU path, skipped — ask for it \
                 with --backend {api} or --adapter {short}"
            )
        }
        None if choice.skipped.is_empty() => why = "no GPU adapter found".to_string(),
        None => {}
    }
    why
}

/// On a software adapter (the shaders run on this machine's CPU): a line saying that the CPU
/// path is faster here.
pub fn software_note(ctx: &GpuContext) -> Option<String> {
    ctx.is_software().then(|| {
        format!(
            "note: {} is a software adapter (the shaders run on this machine's CPU); the CPU \
             path, --backend cpu, is faster on this machine",
            ctx.info().name
        )
    })
}

/// The fused shape when the GPU path takes the fused kernels, `None` for the per-layer ones:
/// as `--kernels` says, and with `--verbose` a line on stderr saying which and why.
pub fn gpu_kernels(
    device: &DeviceArgs,
    ctx: &GpuContext,
    net: &NetworkConfig,
    batch_size: usize,
    data: &Splits,
) -> Result<Option<crate::gpu::fused::FusedShape>> {
    let plan = crate::gpu::fused::fused_plan(ctx, net, batch_size, data);
    let chosen = match (device.kernels, plan) {
        (KernelChoice::PerLayer, _) => {
            if device.verbose {
                eprintln!("kernels: per-layer (asked for with --kernels per-layer)");
            }
            None
        }
        (KernelChoice::Auto, Ok(_)) if ctx.is_software() => {
            if device.verbose {
                eprintln!(
                    "kernels: per-layer (the network fits the fused kernels, but {} is a software adapter, where the per-layer ones are faster; --kernels fused to take them)",
                    ctx.info().name
                );
            }
            None
        }
        (_, Ok(shape)) => {
            if device.verbose {
                eprintln!(
                    "kernels: fused (the network fits: {} bytes of the adapter's {} of workgroup memory)",
                    shape.workgroup_bytes(true),
                    ctx.info().max_compute_workgroup_storage_size
                );
            }
            Some(shape)
        }
        (KernelChoice::Fused, Err(why)) => {
            return Err(Error::config(format!(
                "--kernels fused: {} does not fit the fused kernels: {why}",
                net.layers_string()
            )))
        }
        (KernelChoice::Auto, Err(why)) => {
            if device.verbose {
                eprintln!("kernels: per-layer (not fused: {why})");
            }
            None
        }
    };
    Ok(chosen)
}

/// The adapter line (`selftest` prints the same) of the device a backend choice runs on,
/// opened quietly, or what stands in for it on the CPU.
pub fn adapter_line(device: &DeviceArgs) -> Result<String> {
    let adapter = device.adapter.as_deref();
    Ok(match gpu_api(device.backend) {
        None => "adapter: none (--backend cpu, the CPU reference)".to_string(),
        Some(GpuApi::Auto) => match GpuContext::open_auto(adapter)?.context {
            Some(ctx) => ctx.info().line(),
            None => {
                "adapter: none (--backend auto found no hardware GPU that opens: the CPU reference)"
                    .to_string()
            }
        },
        Some(api) => GpuContext::new(api, adapter)?.info().line(),
    })
}

/// The members of one sweep group (one shape and batch size), each starting from its
/// `params`, on the device `ctx` opened for the sweep or the CPU: the fused kernels train them
/// together where the network fits, the per-layer ones in the same dispatches (as many groups
/// as the device's bindings need) where it does not, and on the CPU one member per thread.
pub fn make_members(
    device: &DeviceArgs,
    ctx: Option<&GpuContext>,
    net: &NetworkConfig,
    params: Vec<Params>,
    optimizer: OptimizerKind,
    data: Arc<Splits>,
    batch_size: usize,
) -> Result<Box<dyn crate::backend::Members>> {
    match ctx {
        Some(ctx) => match gpu_kernels(device, ctx, net, batch_size, &data)? {
            Some(shape) => Ok(Box::new(crate::gpu::FusedBackend::new(
                ctx, net, shape, &params, optimizer, &data,
            )?)),
            None => {
                let options = crate::gpu::GpuOptions::default();
                let capacity = GpuBackend::group_capacity(ctx, net, batch_size, &data, &options);
                let groups = params
                    .chunks(capacity)
                    .map(|p| {
                        GpuBackend::group(ctx, net, p, optimizer, &data, options)
                            .map(|b| Box::new(b) as Box<dyn crate::backend::Members>)
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Box::new(crate::backend::Stacked(groups)))
            }
        },
        None => {
            let threads = threads(device.threads)?;
            let n_train = data.train.len();
            let members = params
                .into_iter()
                .map(|p| CpuBackend::new(net, p, optimizer, data.clone(), batch_size, 1))
                .collect::<Result<Vec<_>>>()?;
            Ok(Box::new(crate::cpu::members::CpuMembers::new(
                members, threads, n_train,
            )))
        }
    }
}

/// Builds the backend asked for, with `params` and a fresh optimizer state; `announce` as for
/// [`gpu_context`].
pub fn make_backend(
    device: &DeviceArgs,
    net: &NetworkConfig,
    params: Params,
    optimizer: OptimizerKind,
    data: Arc<Splits>,
    batch_size: usize,
    announce: bool,
) -> Result<Box<dyn Backend>> {
    match gpu_context(device.backend, device.adapter.as_deref(), announce)? {
        Some(ctx) => match gpu_kernels(device, &ctx, net, batch_size, &data)? {
            Some(shape) => Ok(Box::new(crate::gpu::FusedBackend::solo(
                &ctx, net, shape, params, optimizer, &data,
            )?)),
            None => Ok(Box::new(GpuBackend::new(
                &ctx, net, params, optimizer, &data,
            )?)),
        },
        None => {
            let threads = threads(device.threads)?;
            Ok(Box::new(CpuBackend::new(
                net, params, optimizer, data, batch_size, threads,
            )?))
        }
    }
}

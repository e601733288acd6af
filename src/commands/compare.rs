//! `gpu-mlp compare`: the same seed and flags on the CPU reference and the GPU.

use super::{gpu_context, threads};
use crate::cli::{BackendChoice, CompareArgs};
use crate::compare::compare;
use crate::data;
use crate::error::{Error, Result};
use crate::gpu::GpuContext;
use std::sync::Arc;

pub fn run(args: &CompareArgs) -> Result<()> {
    let mut cfg = args.hyper.resolve(args.hyper.preset.config())?;
    if args.hyper.epochs.is_none() {
        cfg.epochs = 1;
    }
    let splits = Arc::new(data::load(&args.data.source(), args.data.sizes())?);
    // compare measures the GPU path against the CPU, so `auto` (and `cpu`) take the best
    // adapter there is, a software one included.
    let filter = args.device.adapter.as_deref();
    let ctx = match args.device.backend {
        BackendChoice::Cpu | BackendChoice::Auto => {
            let choice = GpuContext::open_best(filter);
            for reason in &choice.skipped {
                eprintln!("backend auto: {reason}; trying the next adapter");
            }
            choice.context.ok_or_else(|| {
                Error::Gpu(
                    "compare needs a GPU adapter and none was found (for a software one: apt-get install -y mesa-vulkan-drivers)"
                        .to_string(),
                )
            })?
        }
        other => gpu_context(other, filter, !args.json)?
            .ok_or_else(|| Error::internal("a GPU backend gave no GPU context"))?,
    };
    let report = compare(
        &cfg,
        splits,
        &ctx,
        args.steps,
        threads(args.device.threads)?,
    )?;
    if args.json {
        let s = serde_json::to_string(&report)
            .map_err(|e| Error::internal(format!("cannot encode JSON: {e}")))?;
        println!("{s}");
    } else {
        println!("{report}");
    }
    Ok(())
}

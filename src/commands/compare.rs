//! `gpu-mlp compare`: the same seed and flags on the CPU reference and the GPU.

use super::{gpu_context, threads};
use crate::cli::{BackendChoice, CompareArgs};
use crate::compare::compare;
use crate::data;
use crate::error::{Error, Result};
use std::sync::Arc;

pub fn run(args: &CompareArgs) -> Result<()> {
    let mut cfg = args.hyper.resolve(args.hyper.preset.config())?;
    if args.hyper.epochs.is_none() {
        cfg.epochs = 1;
    }
    let splits = Arc::new(data::load(&args.data.source(), args.data.sizes())?);
    let choice = match args.device.backend {
        BackendChoice::Cpu => BackendChoice::Auto,
        other => other,
    };
    let ctx = gpu_context(choice, args.device.adapter.as_deref())?.ok_or_else(|| {
        Error::Gpu(
            "compare needs a GPU adapter and none was found (for a software one: apt-get install -y mesa-vulkan-drivers)"
                .to_string(),
        )
    })?;
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
        print!("{report}");
    }
    Ok(())
}

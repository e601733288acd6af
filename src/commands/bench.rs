//! `gpu-mlp bench`: seconds per training epoch for the benchmark configurations.

use super::make_backend;
use crate::cli::BenchArgs;
use crate::data::{self, epoch_order};
use crate::error::{Error, Result};
use crate::model::Params;
use crate::progress::{epoch_bar, LogMode, ProgressBackend};
use indicatif::{ProgressBar, ProgressDrawTarget};
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;

pub fn run(args: &BenchArgs) -> Result<()> {
    if args.runs == 0 || args.runs > 1000 {
        return Err(Error::config(format!(
            "--runs must be in 1..=1000, found {}",
            args.runs
        )));
    }
    // The adapter line `selftest` prints: a speed figure is tied to an adapter that passed.
    if !args.json {
        println!("{}", super::adapter_line(&args.device)?);
    }
    if args.members == 0 || args.members > 1024 {
        return Err(Error::config(format!(
            "--members must be in 1..=1024, found {}",
            args.members
        )));
    }
    let splits = Arc::new(data::load(&args.data.source(), args.data.sizes())?);
    let n = splits.train.len();
    let processor = crate::cpu::isa::processor_model().unwrap_or_else(|| "unknown".into());
    let isa = crate::cpu::isa::Isa::detected().name();
    if !args.json {
        // What the CPU path's kernels run on; a GPU backend's line below names its adapter.
        println!("processor: {processor}; CPU kernels: {isa}");
    }
    let mut results = Vec::new();
    if args.members > 1 {
        for &config in &args.configs {
            results.push(members(args, config, &splits, &processor, isa)?);
        }
        if args.json {
            println!("{}", serde_json::Value::Array(results));
        }
        return Ok(());
    }
    for &config in &args.configs {
        let cfg = config.config();
        cfg.network.validate(splits.inputs(), splits.classes)?;
        cfg.validate(n)?;
        let mut backend = make_backend(
            &args.device,
            &cfg.network,
            Params::init(&cfg.network, cfg.seed),
            cfg.optimizer.kind,
            splits.clone(),
            cfg.batch_size,
            !args.json,
        )?;
        let hyper = cfg.step_hyper(cfg.eta, n);
        let mut times = Vec::with_capacity(args.runs);
        // The bar is the same one `train` shows, so the timings say what it costs.
        let show = LogMode::for_stdout(args.quiet, args.json) == LogMode::Bar;
        let bar = if show {
            epoch_bar(ProgressDrawTarget::stdout_with_hz(
                crate::progress::REDRAWS_PER_SECOND,
            ))
        } else {
            ProgressBar::hidden()
        };
        bar.set_message(config.name());
        let mut shown = ProgressBackend::new(backend.as_mut(), bar.clone(), 0, args.runs);
        let driven: &mut dyn crate::backend::Backend =
            if show { &mut shown } else { shown.inner_mut() };
        for run in 0..args.runs {
            let order = epoch_order(n, cfg.seed, run);
            let t = Instant::now();
            driven.train_batches(&order, &hyper)?;
            // A readback makes sure the device finished the epoch before the clock stops.
            let params = driven.params()?;
            times.push(t.elapsed().as_secs_f64());
            if !params.is_finite() {
                return Err(Error::Diverged(format!("bench {} diverged", config.name())));
            }
        }
        bar.finish_and_clear();
        let mut sorted = times.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[sorted.len() / 2];
        if !args.json {
            println!(
                "{:<9} {:<18} batch {:>3}: median {:.3} s/epoch over {} of {n} images ({}) [runs: {}]",
                config.name(),
                cfg.network.layers_string(),
                cfg.batch_size,
                median,
                crate::words::count(args.runs, "epoch"),
                backend.describe(),
                times.iter().map(|t| format!("{t:.3}")).collect::<Vec<_>>().join(", ")
            );
        }
        let kernels = backend.kernel_timings();
        let dispatches = backend.dispatches().map(|d| d / args.runs as u64);
        if let (Some(d), false) = (dispatches, args.json) {
            println!("    {d} dispatches per epoch");
        }
        if let (Some(k), false) = (&kernels, args.json) {
            for (name, secs) in k {
                println!("    {name:<28} {:>10.1} µs per call", secs * 1e6);
            }
        }
        results.push(json!({
            "config": config.name(),
            "layers": cfg.network.layers,
            "batch_size": cfg.batch_size,
            "members": 1,
            "backend": backend.describe(),
            "processor": processor,
            "cpu_kernels": isa,
            "train_images": n,
            "seconds_per_epoch": median,
            "seconds_per_member_epoch": median,
            "runs": times,
            "dispatches_per_epoch": dispatches,
            "kernel_seconds_per_call": kernels.map(|k| k.into_iter().collect::<std::collections::BTreeMap<_, _>>()),
        }));
    }
    if args.json {
        println!("{}", serde_json::Value::Array(results));
    }
    Ok(())
}

/// `--members N`: N members of `config` (seeds from the configuration's), trained together as a
/// sweep's group is, for `--runs` epochs.
fn members(
    args: &BenchArgs,
    config: crate::config::BenchConfig,
    splits: &Arc<crate::data::Splits>,
    processor: &str,
    isa: &str,
) -> Result<serde_json::Value> {
    let n = splits.train.len();
    let cfg = config.config();
    cfg.network.validate(splits.inputs(), splits.classes)?;
    cfg.validate(n)?;
    let seeds: Vec<u64> = (0..args.members as u64).map(|m| cfg.seed + m).collect();
    let ctx = super::gpu_context(
        args.device.backend,
        args.device.adapter.as_deref(),
        !args.json,
    )?;
    let mut backend = super::make_members(
        &args.device,
        ctx.as_ref(),
        &cfg.network,
        seeds
            .iter()
            .map(|&s| Params::init(&cfg.network, s))
            .collect(),
        cfg.optimizer.kind,
        splits.clone(),
        cfg.batch_size,
    )?;
    let hypers = vec![cfg.step_hyper(cfg.eta, n); seeds.len()];
    let active = vec![true; seeds.len()];
    let mut times = Vec::with_capacity(args.runs);
    for run in 0..args.runs {
        let orders: Vec<Vec<u32>> = seeds.iter().map(|&s| epoch_order(n, s, run)).collect();
        let refs: Vec<&[u32]> = orders.iter().map(Vec::as_slice).collect();
        let t = Instant::now();
        backend.train_batches(&refs, &hypers, &active)?;
        // A readback makes sure the device finished the epoch before the clock stops.
        let params = backend.params(0)?;
        times.push(t.elapsed().as_secs_f64());
        if !params.is_finite() {
            return Err(Error::Diverged(format!("bench {} diverged", config.name())));
        }
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let per_member = median / seeds.len() as f64;
    let dispatches = backend.dispatches().map(|d| d / args.runs as u64);
    let kernels = backend.kernel_timings();
    if !args.json {
        println!(
            "{:<9} {:<18} batch {:>3}: {} members, median {:.3} s/epoch, {:.3} s per member-epoch over {} of {n} images ({}){} [runs: {}]",
            config.name(),
            cfg.network.layers_string(),
            cfg.batch_size,
            seeds.len(),
            median,
            per_member,
            crate::words::count(args.runs, "epoch"),
            backend.describe(),
            dispatches.map_or(String::new(), |d| format!(", {d} dispatches per epoch")),
            times.iter().map(|t| format!("{t:.3}")).collect::<Vec<_>>().join(", ")
        );
        for (name, secs) in kernels.iter().flatten() {
            println!(
                "    {name:<28} {:>10.1} µs per call (all members)",
                secs * 1e6
            );
        }
    }
    Ok(json!({
        "config": config.name(),
        "layers": cfg.network.layers,
        "batch_size": cfg.batch_size,
        "members": seeds.len(),
        "backend": backend.describe(),
        "processor": processor,
        "cpu_kernels": isa,
        "train_images": n,
        "seconds_per_epoch": median,
        "seconds_per_member_epoch": per_member,
        "runs": times,
        "dispatches_per_epoch": dispatches,
        "kernel_seconds_per_call": kernels.map(|k| k.into_iter().collect::<std::collections::BTreeMap<_, _>>()),
    }))
}

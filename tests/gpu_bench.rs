//! Seconds per epoch of the GPU backend on the three benchmark networks (ignored by default;
//! run with `cargo test --release --test gpu_bench -- --ignored --nocapture`). Each prints the
//! seconds of every epoch, their median and the per-kernel timestamps where the adapter has
//! them. `GPU_BENCH_EPOCHS` sets the number of epochs (default 3); `GPU_BENCH_TRAIN` trains on
//! fewer images (the time is then also scaled to 50,000); `GPU_BENCH_TILED=1`/`0` forces the
//! tiled or the register-blocked multiply.

mod gpu_support;

use gpu_mlp::backend::{Backend, Split};
use gpu_mlp::config::{Cost, Init, NetworkConfig, OptimizerKind, Output};
use gpu_mlp::data::epoch_order;
use gpu_mlp::gpu::GpuBackend;
use gpu_mlp::model::Params;
use gpu_support::*;
use std::time::Instant;

fn bench(layers: &[usize], output: Output, cost: Cost, init: Init, eta: f32, batch: usize) {
    let Some(ctx) = context() else { return };
    let epochs: usize = std::env::var("GPU_BENCH_EPOCHS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let n: usize = std::env::var("GPU_BENCH_TRAIN")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let tiled = std::env::var("GPU_BENCH_TILED").ok().map(|v| v == "1");
    let data = mnist_subset(n, 10_000, 10_000);
    let net = NetworkConfig {
        layers: layers.to_vec(),
        output,
        cost,
        init,
    };
    let options = gpu_mlp::gpu::GpuOptions {
        tiled,
        ..Default::default()
    };
    let params = Params::init(&net, 1);
    let mut gpu =
        GpuBackend::with_options(&ctx, &net, params, OptimizerKind::Sgd, &data, options).unwrap();
    let h = hyper(OptimizerKind::Sgd, eta, 0.0, n, batch);
    let mut times = Vec::new();
    for epoch in 0..epochs {
        let order = epoch_order(n, 1, epoch);
        let t = Instant::now();
        gpu.train_batches(&order, &h).unwrap();
        let s = t.elapsed().as_secs_f64() * 50_000.0 / n as f64;
        let t = Instant::now();
        let e = gpu.evaluate(Split::Test).unwrap();
        println!(
            "{} batch {batch}: epoch {epoch}: {s:.2} s train (per 50,000), {:.2} s test eval, accuracy {:.2}%",
            net.layers_string(),
            t.elapsed().as_secs_f64(),
            100.0 * e.accuracy()
        );
        times.push(s);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{} batch {batch}: median {:.2} s per epoch on {}",
        net.layers_string(),
        times[times.len() / 2],
        ctx.describe()
    );
    if let Some(k) = gpu.kernel_timings() {
        for (name, s) in k {
            println!("  {name:<20} {:>10.1} µs per call", s * 1e6);
        }
    }
}

#[test]
#[ignore]
fn nielsen_784_30_10_batch_10() {
    bench(
        &[784, 30, 10],
        Output::Sigmoid,
        Cost::Quadratic,
        Init::Normal,
        3.0,
        10,
    );
}

#[test]
#[ignore]
fn wide_784_100_10_batch_10() {
    bench(
        &[784, 100, 10],
        Output::Sigmoid,
        Cost::Quadratic,
        Init::Normal,
        3.0,
        10,
    );
}

#[test]
#[ignore]
fn deep_784_1024_1024_10_batch_256() {
    bench(
        &[784, 1024, 1024, 10],
        Output::Softmax,
        Cost::CrossEntropy,
        Init::Scaled,
        0.1,
        256,
    );
}

/// The same dispatches per step as the textbook network (5, and a gather every 32 steps) on a
/// 16-16-10 network: what a step costs when there is next to no arithmetic (per-dispatch
/// overhead).
#[test]
#[ignore]
fn overhead_16_16_10_batch_10() {
    let Some(ctx) = context() else { return };
    let data = random_splits(1, 50_000, 16, 10);
    let net = net(&[16, 16, 10], Output::Sigmoid, Cost::Quadratic);
    let mut gpu =
        GpuBackend::new(&ctx, &net, Params::init(&net, 1), OptimizerKind::Sgd, &data).unwrap();
    let h = hyper(OptimizerKind::Sgd, 3.0, 0.0, 50_000, 10);
    let order = epoch_order(50_000, 1, 0);
    let t = Instant::now();
    gpu.train_batches(&order, &h).unwrap();
    println!(
        "16,16,10 batch 10: {:.2} s per epoch",
        t.elapsed().as_secs_f64()
    );
}

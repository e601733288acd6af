//! GPU faults become error values with a message, never a panic or an abort: a network or a
//! data set larger than the device's bindings says which limit it hit and what to do, and a
//! lost device (destroyed under the backend, as a driver reset would) is reported by whatever
//! call comes next. Runs on lavapipe in CI.

mod gpu_support;

use gpu_mlp::backend::{Backend, Split};
use gpu_mlp::config::{Cost, Init, NetworkConfig, OptimizerKind, Output};
use gpu_mlp::error::Error;
use gpu_mlp::gpu::{GpuBackend, GpuOptions};
use gpu_mlp::model::Params;
use gpu_support::{context, mnist_subset};
use std::process::Command;

fn net(layers: &[usize]) -> NetworkConfig {
    NetworkConfig {
        layers: layers.to_vec(),
        output: Output::Softmax,
        cost: Cost::CrossEntropy,
        init: Init::Scaled,
    }
}

fn gpu_message(e: Error) -> String {
    match e {
        Error::Gpu(m) => m,
        other => panic!("expected a GPU error, found {other:?}"),
    }
}

/// A 65,536-unit layer over 784 inputs needs a 197 MiB weight buffer; lavapipe binds 128 MiB.
#[test]
fn a_layer_larger_than_a_binding_names_the_limit() {
    let Some(ctx) = context() else { return };
    let limit = ctx.info().max_storage_buffer_binding_size;
    let width = (limit / (4 * 785) + 1) as usize;
    if width > gpu_mlp::config::MAX_LAYER_WIDTH {
        eprintln!("note: this adapter binds {limit} bytes; no allowed layer exceeds that");
        return;
    }
    let data = mnist_subset(100, 10, 10);
    let n = net(&[784, width, 10]);
    let e = GpuBackend::new(&ctx, &n, Params::init(&n, 1), OptimizerKind::Sgd, &data)
        .err()
        .expect("a layer beyond the binding limit must be refused");
    let m = gpu_message(e);
    assert!(
        m.contains("binds at most") && m.contains("narrower layers"),
        "{m}"
    );
}

/// The same through the command line: exit code 5 and one line, no panic.
#[test]
fn the_cli_reports_a_network_too_large_for_the_device() {
    let Some(ctx) = context() else { return };
    let limit = ctx.info().max_storage_buffer_binding_size;
    let width = (limit / (4 * 785) + 1) as usize;
    if width > gpu_mlp::config::MAX_LAYER_WIDTH {
        return;
    }
    let layers = format!("784,{width},10");
    let out = Command::new(env!("CARGO_BIN_EXE_gpu-mlp"))
        // The adapter the test opened, by API and name (`auto` would pass over a software one).
        .args([
            "train",
            "--backend",
            &ctx.info().backend,
            "--adapter",
            &ctx.info().name,
        ])
        .args(["--layers", &layers])
        .args([
            "--train-size",
            "100",
            "--validation-size",
            "10",
            "--test-size",
            "10",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .rfind(|l| l.starts_with("error: "))
        .unwrap_or_default();
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(line.contains("binds at most"), "{err}");
}

/// A training set that would need more bindings than the kernels read from says so and
/// suggests --train-size (the binding is shrunk to 64 KiB to provoke it with 1,000 images).
#[test]
fn a_data_set_beyond_the_bindings_names_the_limit() {
    let Some(ctx) = context() else { return };
    let data = mnist_subset(1000, 10, 10);
    let n = net(&[784, 30, 10]);
    let options = GpuOptions {
        max_binding_bytes: Some(64 << 10),
        ..GpuOptions::default()
    };
    let e = GpuBackend::with_options(
        &ctx,
        &n,
        Params::init(&n, 1),
        OptimizerKind::Sgd,
        &data,
        options,
    )
    .err()
    .expect("a set needing more bindings than supported must be refused");
    let m = gpu_message(e);
    assert!(
        m.contains("storage bindings") && m.contains("--train-size"),
        "{m}"
    );
}

/// The device is destroyed under a working backend: training, evaluating and reading the
/// parameters each return an error naming the device, and nothing panics.
#[test]
fn a_lost_device_is_an_error_not_a_crash() {
    let Some(ctx) = context() else { return };
    let data = mnist_subset(200, 50, 50);
    let n = net(&[784, 16, 10]);
    let mut backend =
        GpuBackend::new(&ctx, &n, Params::init(&n, 1), OptimizerKind::Adam, &data).unwrap();
    let hyper = gpu_support::hyper(OptimizerKind::Adam, 1e-3, 0.0, data.train.len(), 10);
    let order: Vec<u32> = (0..data.train.len() as u32).collect();
    backend.train_batches(&order, &hyper).unwrap();
    ctx.simulate_device_loss();
    let results = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        [
            backend.train_batches(&order, &hyper).err(),
            backend.evaluate(Split::Test).err(),
            backend.params().err(),
        ]
    }))
    .expect("no panic after device loss");
    // The first call after the loss learns of it, and says what to do.
    let first = results[0]
        .as_ref()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        first.contains("device was lost") && first.contains("--resume"),
        "{first}"
    );
    for (what, e) in ["train_batches", "evaluate", "params"].iter().zip(results) {
        let m = gpu_message(e.unwrap_or_else(|| panic!("{what} succeeded on a lost device")));
        assert!(
            m.contains(&ctx.info().name) && m.contains("device was lost"),
            "{what}: {m}"
        );
        eprintln!("{what}: {m}");
    }
}

/// A command buffer the driver drops without an error (on Metal, wgpu counts one that ended in
/// an error, such as the GPU timeout, as completed) makes the run of steps fail with an error
/// saying so, on every backend: here one is left unsubmitted, and the missing submit mark is
/// found. The same options without the drop train.
#[test]
fn a_dropped_command_buffer_is_an_error() {
    let Some(ctx) = context() else { return };
    let data = mnist_subset(300, 10, 10);
    let n = net(&[784, 16, 10]);
    let hyper = gpu_support::hyper(OptimizerKind::Sgd, 0.5, 0.0, data.train.len(), 10);
    let order: Vec<u32> = (0..data.train.len() as u32).collect();
    let options = GpuOptions {
        steps_per_submit: 4,
        ..GpuOptions::default()
    };
    for drop in [None, Some(2)] {
        let options = GpuOptions {
            drop_submit: drop,
            ..options
        };
        let mut backend = GpuBackend::with_options(
            &ctx,
            &n,
            Params::init(&n, 1),
            OptimizerKind::Sgd,
            &data,
            options,
        )
        .unwrap();
        let result = backend.train_batches(&order, &hyper);
        match drop {
            None => result.unwrap(),
            Some(_) => {
                let m = gpu_message(result.expect_err("a dropped command buffer is an error"));
                assert!(
                    m.contains("did not run (the first: number 3,")
                        && m.contains("counts as completed")
                        && m.contains(&ctx.info().name),
                    "{m}"
                );
            }
        }
    }
}

/// A wait that runs out of time reports the device as hung, naming it, instead of waiting
/// forever (the timeout is shortened to a nanosecond; a 500-row step of 784-256-10 takes far
/// longer).
#[test]
fn a_hang_is_an_error() {
    let Some(ctx) = context() else { return };
    let data = mnist_subset(1000, 10, 10);
    let n = net(&[784, 256, 10]);
    let hyper = gpu_support::hyper(OptimizerKind::Sgd, 0.5, 0.0, data.train.len(), 500);
    let order: Vec<u32> = (0..data.train.len() as u32).collect();
    let options = GpuOptions {
        hang_timeout: Some(std::time::Duration::from_nanos(1)),
        ..GpuOptions::default()
    };
    let mut backend = GpuBackend::with_options(
        &ctx,
        &n,
        Params::init(&n, 1),
        OptimizerKind::Sgd,
        &data,
        options,
    )
    .unwrap();
    let m = gpu_message(backend.train_batches(&order, &hyper).expect_err("a hang"));
    assert!(
        m.contains("did not finish within")
            && m.contains("looks hung")
            && m.contains(&ctx.info().name),
        "{m}"
    );
}

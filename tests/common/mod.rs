//! Helpers shared by the integration tests.
#![allow(dead_code)]

use gpu_mlp::data::{self, Source, SplitSizes, Splits};
use std::process::{Command, Output};
use std::sync::Arc;

/// The first `train` training images, the last `validation` and the first `test` of t10k.
pub fn mnist_subset(train: usize, validation: usize, test: usize) -> Arc<Splits> {
    let sizes = SplitSizes {
        train,
        validation,
        test: Some(test),
    };
    Arc::new(data::load(&Source::Mnist, sizes).expect("the shipped MNIST in data/mnist"))
}

/// Runs the built `gpu-mlp` binary from the crate root with `args`.
pub fn gpu_mlp(args: &[&str]) -> Output {
    // Mesa's lavapipe prints "error: XDG_RUNTIME_DIR is invalid or not set" when loaded in an
    // environment without one (CI's); that line is the driver's, not ours, so give it one.
    Command::new(env!("CARGO_BIN_EXE_gpu-mlp"))
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run gpu-mlp")
}

/// The command's stdout, after asserting it succeeded (its stderr is the failure message).
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A temporary path as the `&str` a command line takes.
pub fn s(p: &std::path::Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

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

/// Runs `gpu-mlp` like [`gpu_mlp`], but kills it and fails the test if it has not finished
/// within `seconds` (an output that blocks, such as a fifo opened for writing, must not hang
/// the suite).
pub fn gpu_mlp_within(args: &[&str], seconds: u64) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gpu-mlp"))
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run gpu-mlp");
    let start = std::time::Instant::now();
    while child.try_wait().expect("wait for gpu-mlp").is_none() {
        if start.elapsed().as_secs() >= seconds {
            let _ = child.kill();
            let _ = child.wait();
            panic!("gpu-mlp {args:?} did not finish within {seconds} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.wait_with_output().expect("collect gpu-mlp's output")
}

/// The SHA-256 of a file's bytes, in hex.
pub fn sha256(path: &std::path::Path) -> String {
    use sha2::Digest;
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Asserts a failure of one line on stderr, starting with "error:", with `code` and containing
/// each of `needles`; returns the line.
pub fn one_line_failure(out: &Output, code: i32, needles: &[&str]) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    for n in needles {
        assert!(err.contains(n), "expected {n:?} in: {err}");
    }
    err
}

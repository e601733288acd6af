//! The command line end to end on a small subset, and every kind of bad input: one line on
//! stderr naming the problem, a non-zero exit, no panic, nothing half-written left behind.

mod common;
use common::gpu_mlp;

use std::path::Path;
use std::process::Output;

const SMALL: [&str; 6] = [
    "--train-size",
    "1000",
    "--validation-size",
    "500",
    "--test-size",
    "500",
];

fn train(extra: &[&str]) -> Output {
    let mut args = vec!["train", "--backend", "cpu"];
    args.extend(SMALL);
    args.extend(extra);
    gpu_mlp(&args)
}

/// The failure is one line starting with "error:", containing `needle`, with exit code `code`,
/// and no panic.
fn assert_fails(out: &Output, code: i32, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(
        err.starts_with("error: ") && err.contains(needle),
        "expected {needle:?} in: {err}"
    );
}

#[test]
fn train_save_metrics_then_eval() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    let metrics = dir.path().join("m.jsonl");
    let out = train(&[
        "--preset",
        "network2",
        "--epochs",
        "2",
        "--save",
        model.to_str().unwrap(),
        "--metrics",
        metrics.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("epoch   2/2") && stdout.contains("completed after 2 epochs"),
        "{stdout}"
    );

    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&metrics)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["epoch"], i + 1);
        for key in [
            "train_cost",
            "validation_accuracy",
            "test_accuracy",
            "seconds",
        ] {
            assert!(l[key].is_number(), "{key} in {l}");
        }
        let acc = l["test_accuracy"].as_f64().unwrap();
        assert!((0.5..=1.0).contains(&acc), "{acc}");
    }

    let out = gpu_mlp(&[
        "eval",
        "--model",
        model.to_str().unwrap(),
        "--json",
        "--test-size",
        "500",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["count"], 500);
    let per_class = v["per_class"].as_array().unwrap();
    assert_eq!(per_class.len(), 10);
    let total: u64 = per_class.iter().map(|c| c["count"].as_u64().unwrap()).sum();
    let correct: u64 = per_class
        .iter()
        .map(|c| c["correct"].as_u64().unwrap())
        .sum();
    assert_eq!((total, correct), (500, v["correct"].as_u64().unwrap()));
    // eval reproduces the accuracy the last epoch reported on the same 500 test images.
    assert_eq!(
        v["accuracy"].as_f64().unwrap(),
        lines[1]["test_accuracy"].as_f64().unwrap()
    );
}

#[test]
fn resume_extends_a_saved_run() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    let m = model.to_str().unwrap();
    assert!(train(&["--epochs", "1", "--save", m]).status.success());
    let out = train(&["--resume", m, "--epochs", "2", "--save", m]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("epoch   2/2") && !stdout.contains("epoch   1/2"),
        "{stdout}"
    );
}

#[test]
fn help_shows_defaults_presets_and_exit_codes() {
    let out = gpu_mlp(&["train", "--help"]);
    let h = String::from_utf8_lossy(&out.stdout);
    for s in [
        "[default: nielsen]",
        "[default: 3.0 (nielsen), 0.5 (network2)]",
        "[default: auto]",
        "[default: 50000]",
    ] {
        assert!(h.contains(s), "{s} missing from train --help");
    }
    let out = gpu_mlp(&["--help"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Exit codes:"));
}

#[test]
fn gradcheck_prints_errors_below_bound() {
    let out = gpu_mlp(&["gradcheck", "--json"]);
    assert!(out.status.success());
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 12);
    assert!(rows.iter().all(|r| r["weight"].as_f64().unwrap() < 1e-4));
}

#[test]
fn bad_flags_name_the_flag() {
    assert_fails(&train(&["--layers", "784,30,5"]), 2, "data has 10 classes");
    assert_fails(&train(&["--layers", "100,30,10"]), 2, "have 784 pixels");
    assert_fails(&train(&["--eta", "0"]), 2, "--eta must be");
    assert_fails(&train(&["--eta=-1"]), 2, "--eta must be");
    assert_fails(
        &train(&["--batch-size", "0"]),
        2,
        "--batch-size must be in 1..=1000",
    );
    assert_fails(
        &train(&["--batch-size", "1001"]),
        2,
        "--batch-size must be in 1..=1000",
    );
    assert_fails(&train(&["--threads", "0"]), 2, "--threads");
    assert_fails(
        &gpu_mlp(&["train", "--train-size", "60000"]),
        2,
        "--train-size 60000",
    );
}

#[test]
fn missing_and_malformed_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    assert_fails(&train(&["--data-dir", d]), 3, "train-images-idx3-ubyte");
    // Malformed data: a label file in place of the image file.
    for (name, src) in [
        ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
        ("train-labels-idx1-ubyte.gz", "train-labels-idx1-ubyte.gz"),
        ("t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz"),
        ("t10k-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
    ] {
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("data/mnist")
                .join(src),
            dir.path().join(name),
        )
        .unwrap();
    }
    assert_fails(&train(&["--data-dir", d]), 3, "expected 0x00000803");
    let missing = dir.path().join("nope.safetensors");
    assert_fails(
        &gpu_mlp(&["eval", "--model", missing.to_str().unwrap()]),
        3,
        "nope.safetensors",
    );
}

#[test]
fn corrupt_checkpoints_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    let m = model.to_str().unwrap();
    assert!(train(&["--epochs", "1", "--save", m]).status.success());
    let good = std::fs::read(&model).unwrap();
    let bad = dir.path().join("bad.safetensors");
    let b = bad.to_str().unwrap();
    std::fs::write(&bad, &good[..good.len() / 2]).unwrap();
    assert_fails(
        &gpu_mlp(&["eval", "--model", b]),
        3,
        "not a safetensors file",
    );
    std::fs::write(&bad, b"garbage").unwrap();
    assert_fails(&gpu_mlp(&["eval", "--model", b]), 3, "checkpoint");
    assert_fails(&train(&["--resume", b]), 3, "checkpoint");
}

/// A run that diverges stops with a message suggesting a smaller η, and does not replace a
/// good checkpoint with a NaN one.
#[test]
fn divergence_stops_and_keeps_the_good_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    let m = model.to_str().unwrap();
    assert!(train(&["--epochs", "1", "--save", m]).status.success());
    let good = std::fs::read(&model).unwrap();
    let out = train(&[
        "--epochs",
        "1",
        "--eta",
        "1e38",
        "--output",
        "softmax",
        "--cost",
        "cross-entropy",
        "--save",
        m,
    ]);
    assert_fails(&out, 4, "smaller --eta");
    assert_eq!(std::fs::read(&model).unwrap(), good);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary files left: {leftovers:?}");
}

#[test]
fn gpu_backend_without_adapter_or_build_is_a_clear_error() {
    // Either the GPU path runs, or it fails with exit code 5 and a message; never a panic.
    let mut args = vec!["train", "--backend", "dx12", "--epochs", "1"];
    args.extend(SMALL);
    let out = gpu_mlp(&args);
    if !out.status.success() {
        assert_fails(&out, 5, "no dx12 adapter");
    }
}

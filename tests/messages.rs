//! Messages name the right thing: the flag the user gave (not another one it implies), the
//! checkpoint rather than a flag the command does not take; clap's errors are one line like
//! every other error; an empty split or a validation set that a flag needs but is absent is an
//! error; `predict` reports each image in its place; a gradient check that will take long
//! says so before it starts.

mod common;
use common::{gpu_mlp, gpu_mlp_within, one_line_failure, s};

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn model(dir: &Path) -> std::path::PathBuf {
    let m = dir.join("m.safetensors");
    let out = gpu_mlp(&[
        "train",
        "--train-size",
        "1000",
        "--validation-size",
        "500",
        "--test-size",
        "100",
        "--epochs",
        "1",
        "--save",
        s(&m),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    m
}

/// A training set of size 0 is named as such, not as a batch-size range of 1..=0; flags that
/// watch validation accuracy without a validation set are refused; a step flag with the
/// plateau schedule (or the reverse) is refused rather than ignored.
#[test]
fn train_names_the_flag_at_fault() {
    let cases: [(&[&str], &[&str]); 5] = [
        (&["--train-size", "0"], &["--train-size must be at least 1"]),
        (
            &["--early-stop", "3", "--validation-size", "0"],
            &["--early-stop", "--validation-size is 0"],
        ),
        (
            &["--schedule", "plateau", "--validation-size", "0"],
            &["--schedule plateau", "--validation-size is 0"],
        ),
        (
            &["--schedule", "plateau", "--decay", "0.5"],
            &["--decay", "--schedule step"],
        ),
        (
            &["--schedule", "step", "--patience", "3"],
            &["--patience", "--schedule plateau"],
        ),
    ];
    for (args, needles) in cases {
        let mut all = vec!["train", "--epochs", "1"];
        all.extend(args);
        let out = gpu_mlp(&all);
        let err = one_line_failure(&out, 2, needles);
        assert!(!err.contains("--batch-size"), "{err}");
    }
}

/// clap's own errors are one line starting with "error:", without the usage block, exit 2;
/// --help still shows the usage.
#[test]
fn usage_errors_are_one_line() {
    for (args, needle) in [
        (&["train", "--lamda", "1"][..], "--lambda"),
        (&["train", "--eta", "abc"], "--eta"),
        (&["eval"], "--model"),
        (&["frobnicate"], "frobnicate"),
        (&[], "subcommand"),
    ] {
        let err = one_line_failure(&gpu_mlp(args), 2, &[needle, "--help"]);
        assert!(!err.contains("Usage:"), "{err}");
    }
    let help = gpu_mlp(&["train", "--help"]);
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("Usage:"));
}

/// eval's errors about the model's shape name the checkpoint, not --layers (which eval does
/// not take); evaluating an empty split is an error naming its size flag.
#[test]
fn eval_names_the_checkpoint_and_refuses_an_empty_split() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    // A data set of 2x2-pixel images (4 inputs) and 3 classes, against a 784-input model.
    let data = dir.path().join("tiny");
    std::fs::create_dir(&data).unwrap();
    let images = |n: u32| {
        let mut b = [0x0803u32, n, 2, 2]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect::<Vec<u8>>();
        b.extend((0..n * 4).map(|i| i as u8));
        b
    };
    let labels = |n: u32| {
        let mut b = [0x0801u32, n]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect::<Vec<u8>>();
        b.extend((0..n).map(|i| (i % 3) as u8));
        b
    };
    std::fs::write(data.join("train-images-idx3-ubyte"), images(20)).unwrap();
    std::fs::write(data.join("train-labels-idx1-ubyte"), labels(20)).unwrap();
    std::fs::write(data.join("t10k-images-idx3-ubyte"), images(5)).unwrap();
    std::fs::write(data.join("t10k-labels-idx1-ubyte"), labels(5)).unwrap();
    let out = gpu_mlp(&[
        "eval",
        "--model",
        s(&m),
        "--data-dir",
        s(&data),
        "--train-size",
        "10",
        "--validation-size",
        "10",
    ]);
    let err = one_line_failure(&out, 2, &["checkpoint", "784", "4 pixels"]);
    assert!(!err.contains("--layers"), "{err}");

    let out = gpu_mlp(&[
        "eval",
        "--model",
        s(&m),
        "--split",
        "validation",
        "--validation-size",
        "0",
        "--train-size",
        "100",
    ]);
    one_line_failure(&out, 2, &["--split validation", "--validation-size is 0"]);
}

/// `predict good.png bad.png` prints the good image's result and then the error for the bad
/// one, and exits with the bad file's code.
#[test]
fn predict_reports_each_image_in_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let good = dir.path().join("good.png");
    let img = image::GrayImage::from_fn(28, 28, |x, y| {
        image::Luma([if (10..18).contains(&x) && (4..24).contains(&y) {
            0
        } else {
            255
        }])
    });
    img.save(&good).unwrap();
    let bad = dir.path().join("bad.png");
    std::fs::write(&bad, b"not a picture").unwrap();
    let out = gpu_mlp(&["predict", "--model", s(&m), s(&good), s(&bad), s(&good)]);
    assert_eq!(out.status.code(), Some(3));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stdout.matches("good.png: ").count(), 2, "{stdout}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains("bad.png"),
        "{stderr}"
    );
    assert!(lines[1].contains("1 of 3 images"), "{stderr}");
    // One image alone fails with its own error only.
    one_line_failure(
        &gpu_mlp(&["predict", "--model", s(&m), s(&bad)]),
        3,
        &["bad.png"],
    );
}

/// A gradient check that would take minutes says so, with its estimate, before it starts
/// (the process is stopped once it has).
#[test]
fn a_long_gradient_check_says_so_up_front() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gpu-mlp"))
        .args(["gradcheck", "--hidden", "256,256", "--samples", "200"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let start = Instant::now();
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(b"\n") && start.elapsed() < Duration::from_secs(60) {
        match stderr.read(&mut byte) {
            Ok(1) => seen.push(byte[0]),
            _ => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let line = String::from_utf8_lossy(&seen);
    assert!(
        line.starts_with("gradcheck: ") && line.contains("about") && line.contains("--samples"),
        "{line}"
    );
    // A small check says nothing of the kind.
    let out = gpu_mlp_within(&["gradcheck"], 60);
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

//! Every number a user gives has a checked range: out of it, the command fails at once with
//! exit code 2 and one line naming the flag, never a panic, an overflow or an allocation
//! that takes the machine down.

use std::process::{Command, Output};

fn gpu_mlp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gpu-mlp"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run gpu-mlp")
}

fn train(extra: &[&str]) -> Output {
    let mut args = vec![
        "train",
        "--backend",
        "cpu",
        "--train-size",
        "1000",
        "--validation-size",
        "100",
        "--test-size",
        "100",
        "--epochs",
        "1",
    ];
    args.extend(extra);
    gpu_mlp(&args)
}

fn assert_refused(out: &Output, flag: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{flag}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains(flag), "expected {flag} named in: {err}");
}

#[test]
fn training_numbers_out_of_range_name_their_flag() {
    let max = usize::MAX.to_string();
    let deep = format!("784,{}10", "1,".repeat(1000));
    let cases: Vec<(Vec<&str>, &str)> = vec![
        // Sizes whose sum overflowed and crashed in an index before.
        (
            vec!["--train-size", &max, "--validation-size", "2"],
            "--train-size",
        ),
        (vec!["--validation-size", &max], "--validation-size"),
        (vec!["--test-size", "10001"], "--test-size"),
        (vec!["--layers", "784,0,10"], "--layers"),
        (vec!["--layers", "784,65537,10"], "--layers"),
        // 65,536² weights: 17 GB per copy, refused before any allocation.
        (vec!["--layers", "784,65536,65536,10"], "--layers"),
        (vec!["--layers", &deep], "--layers"),
        (vec!["--batch-size", "0"], "--batch-size"),
        (vec!["--batch-size", "1001"], "--batch-size"),
        (vec!["--epochs", "1000001"], "--epochs"),
        (vec!["--eta", "0"], "--eta"),
        (vec!["--eta", "NaN"], "--eta"),
        (vec!["--eta", "inf"], "--eta"),
        (vec!["--lambda=-1"], "--lambda"),
        (vec!["--lambda", "inf"], "--lambda"),
        (vec!["--momentum", "1"], "--momentum"),
        (vec!["--beta1", "1"], "--beta1"),
        (vec!["--beta2=-0.1"], "--beta2"),
        (vec!["--adam-epsilon", "0"], "--adam-epsilon"),
        (vec!["--rho", "1"], "--rho"),
        (vec!["--rho=-0.5"], "--rho"),
        (vec!["--adagrad-epsilon", "0"], "--adagrad-epsilon"),
        (vec!["--rmsprop-epsilon", "inf"], "--rmsprop-epsilon"),
        (vec!["--threads", "0"], "--threads"),
        (vec!["--threads", "1025"], "--threads"),
        (vec!["--threads", "99999999999999999999999"], "--threads"),
        (
            vec!["--schedule", "step", "--step-every", "0"],
            "--step-every",
        ),
        (vec!["--schedule", "step", "--decay", "0"], "--decay"),
        (
            vec!["--schedule", "plateau", "--patience", "0"],
            "--patience",
        ),
        (vec!["--schedule", "plateau", "--divisor", "1"], "--divisor"),
        (vec!["--early-stop", "0"], "--early-stop"),
        (
            vec!["--save", "x.safetensors", "--checkpoint-every", "0"],
            "--checkpoint-every",
        ),
        (vec!["--seed=-1"], "--seed"),
    ];
    for (args, flag) in cases {
        assert_refused(&train(&args), flag);
    }
    // 50,000 samples of 66,330 activations in one mini-batch: 13 GB, refused up front.
    let out = gpu_mlp(&["train", "--layers", "784,65536,10", "--batch-size", "50000"]);
    assert_refused(&out, "--batch-size");
}

#[test]
fn other_commands_check_their_numbers() {
    assert_refused(&gpu_mlp(&["gradcheck", "--samples", "0"]), "--samples");
    assert_refused(&gpu_mlp(&["gradcheck", "--hidden", "300"]), "--hidden");
    assert_refused(
        &gpu_mlp(&["gradcheck", "--hidden", &"4,".repeat(9)[..17]]),
        "--hidden",
    );
    assert_refused(&gpu_mlp(&["bench", "--runs", "0"]), "--runs");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    assert_refused(
        &gpu_mlp(&["expand-data", "--out", out, "--validation-size", "60001"]),
        "--validation-size",
    );
}

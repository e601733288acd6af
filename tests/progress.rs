//! What training shows while it runs: the progress bar on a terminal (run under a pseudo-
//! terminal made by `script`), plain lines otherwise, JSON Lines with --log-format json, only
//! the summary with --quiet; and that the bar's way of following an epoch (handing the backend
//! slices of whole mini-batches) trains exactly the same weights.

mod common;
use common::gpu_mlp;

use gpu_mlp::backend::Backend;
use gpu_mlp::config::{OptimizerKind, StepHyper};
use gpu_mlp::cpu::CpuBackend;
use gpu_mlp::data::epoch_order;
use gpu_mlp::model::Params;
use gpu_mlp::progress::ProgressBackend;
use std::process::Command;

const TRAIN: [&str; 10] = [
    "train",
    "--epochs",
    "2",
    "--train-size",
    "1000",
    "--validation-size",
    "500",
    "--test-size",
    "500",
    "--backend=cpu",
];

#[test]
fn slices_of_whole_batches_train_the_same_weights_as_one_call() {
    let data = common::mnist_subset(1000, 100, 100);
    for (preset, kind) in [
        (gpu_mlp::config::Preset::Network2, OptimizerKind::Sgd),
        (gpu_mlp::config::Preset::Network2, OptimizerKind::Adam),
    ] {
        let mut cfg = preset.config();
        cfg.optimizer.kind = kind;
        let hyper = StepHyper {
            eta: if kind == OptimizerKind::Adam {
                0.001
            } else {
                cfg.eta
            },
            lambda: cfg.lambda,
            n_train: 1000,
            // 1000 is not a multiple of 30: the epoch's last batch is a short one.
            batch_size: 30,
            optimizer: cfg.optimizer,
        };
        let make = || {
            CpuBackend::new(
                &cfg.network,
                Params::init(&cfg.network, 3),
                kind,
                data.clone(),
                30,
                1,
            )
            .unwrap()
        };
        let (mut plain, mut sliced_inner) = (make(), make());
        let mut sliced =
            ProgressBackend::new(&mut sliced_inner, indicatif::ProgressBar::hidden(), 0, 2)
                // One mini-batch per call: the most slicing there can be.
                .with_slice_seconds(0.0);
        for epoch in 0..2 {
            let order = epoch_order(1000, 3, epoch);
            plain.train_batches(&order, &hyper).unwrap();
            sliced.train_batches(&order, &hyper).unwrap();
        }
        assert_eq!(
            plain.params().unwrap(),
            sliced.params().unwrap(),
            "{kind:?}: weights differ"
        );
        assert_eq!(
            plain.optimizer_state().unwrap(),
            sliced.optimizer_state().unwrap()
        );
    }
}

#[test]
fn without_a_terminal_each_epoch_is_one_plain_line() {
    let out = gpu_mlp(&TRAIN);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(!stdout.contains('\x1b'), "no terminal escapes: {stdout:?}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        5,
        "backend, header, 2 epochs, summary: {stdout}"
    );
    assert_eq!(lines[0], "backend: cpu (asked for with --backend cpu)");
    assert!(lines[2].starts_with("epoch   1/2") && lines[3].starts_with("epoch   2/2"));
}

#[test]
fn quiet_prints_only_the_summary() {
    let mut args = TRAIN.to_vec();
    args.push("--quiet");
    let out = gpu_mlp(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.starts_with("completed after 2 epochs"), "{stdout}");
}

#[test]
fn json_log_lines_are_the_metrics_lines() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = dir.path().join("m.jsonl");
    let mut args = TRAIN.to_vec();
    args.extend([
        "--log-format",
        "json",
        "--metrics",
        metrics.to_str().unwrap(),
    ]);
    let out = gpu_mlp(&args);
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("every stdout line is JSON"))
        .collect();
    assert_eq!(lines.len(), 3, "two epochs and a summary");
    let file: Vec<serde_json::Value> = std::fs::read_to_string(&metrics)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(&lines[..2], &file[..]);
    assert_eq!(lines[2]["stop"], "completed");
    assert_eq!(lines[2]["epochs"], 2);
    assert_eq!(lines[2]["test_accuracy"], file[1]["test_accuracy"]);
}

/// Runs `gpu-mlp ARGS` with stdout on a pseudo-terminal (util-linux `script`); None when
/// `script` is not installed.
fn on_a_terminal(args: &[&str]) -> Option<String> {
    let line = std::iter::once(env!("CARGO_BIN_EXE_gpu-mlp"))
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("TERM", "xterm")
        .env("COLUMNS", "160")
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn on_a_terminal_a_bar_shows_rate_eta_and_cost() {
    // Enough work per epoch (network2 on 10,000 images) for the bar to be drawn mid-epoch.
    let args = [
        "train",
        "--preset",
        "network2",
        "--epochs",
        "2",
        "--train-size",
        "10000",
        "--validation-size",
        "500",
        "--test-size",
        "500",
    ];
    let Some(screen) = on_a_terminal(&args) else {
        eprintln!("skipped: util-linux `script` is not installed, so no pseudo-terminal");
        return;
    };
    assert!(screen.contains("epoch 1/2 ["), "bar prefix: {screen:?}");
    assert!(
        screen.contains(" samples/s") && screen.contains("ETA ") && screen.contains(", run "),
        "rate, the epoch's ETA and the run's: {screen:?}"
    );
    assert!(
        screen.contains("val "),
        "latest validation accuracy: {screen:?}"
    );
    // The finished epochs' lines are printed above the bar, as without a terminal.
    assert!(screen.contains("epoch   2/2"), "{screen:?}");
    assert!(screen.contains("completed after 2 epochs"), "{screen:?}");
}

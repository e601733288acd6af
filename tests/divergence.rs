//! Nothing is written that cannot be read back, and divergence is more than NaN: a checkpoint
//! whose state the reader would refuse is not written (the old file keeps its SHA-256, exit
//! code 4); flag values whose first update overflows f32 are refused before training (exit 2);
//! weights that saturate, or a validation accuracy that collapses to chance after being well
//! above it, stop the run with exit code 4 before the state is saved over a good checkpoint.

mod common;
use common::{gpu_mlp_within, one_line_failure, s, sha256};

use gpu_mlp::checkpoint::Checkpoint;
use std::path::{Path, PathBuf};
use std::process::Output;

fn train(extra: &[&str]) -> Output {
    let mut args = vec![
        "train",
        "--backend",
        "cpu",
        "--train-size",
        "1000",
        "--validation-size",
        "500",
        "--test-size",
        "100",
    ];
    args.extend(extra);
    gpu_mlp_within(&args, 120)
}

/// A checkpoint of 3 epochs (about 60% validation accuracy), with its SHA-256.
fn good_checkpoint(dir: &Path) -> (PathBuf, String) {
    let ck = dir.join("good.safetensors");
    let out = train(&["--epochs", "3", "--save", s(&ck)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sha = sha256(&ck);
    (ck, sha)
}

fn no_hidden_files(dir: &Path) {
    let hidden: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "left behind: {hidden:?}");
}

/// Each kind of state the reader refuses — a NaN weight, an infinite optimizer moment, an
/// infinite η in the progress, a NaN best accuracy, an infinite schedule constant — makes
/// `save` refuse with a divergence error, and the file it would have replaced is unchanged.
#[test]
fn state_that_would_not_read_back_is_not_saved() {
    let dir = tempfile::tempdir().unwrap();
    let (ck, sha) = good_checkpoint(dir.path());
    let good = Checkpoint::load(&ck).unwrap();
    type Damage = fn(&mut Checkpoint);
    let damages: [(&str, Damage); 5] = [
        ("weights", |c| c.params.layers[0].weight[7] = f32::NAN),
        ("optimizer", |c| {
            c.optimizer = Some((
                gpu_mlp::config::OptimizerKind::Momentum,
                gpu_mlp::model::OptimizerState {
                    step: 1,
                    slots: vec![{
                        let mut v = c.params.clone();
                        v.layers[1].bias[0] = f32::INFINITY;
                        v
                    }],
                },
            ))
        }),
        ("progress", |c| {
            c.train.as_mut().unwrap().1.eta = f32::INFINITY
        }),
        ("progress", |c| {
            c.train.as_mut().unwrap().1.best_validation_accuracy = Some(f64::NAN)
        }),
        ("train_config", |c| {
            c.train.as_mut().unwrap().0.schedule = gpu_mlp::config::Schedule::Step {
                every: 1,
                factor: f32::INFINITY,
            }
        }),
    ];
    for (what, damage) in damages {
        let mut bad = good.clone();
        damage(&mut bad);
        let e = bad.save(&ck).unwrap_err();
        let m = e.to_string();
        assert_eq!(e.exit_code(), 4, "{what}: {m}");
        assert!(
            m.contains("read back") && m.contains("previous content"),
            "{m}"
        );
        assert_eq!(sha256(&ck), sha, "{what}: the old checkpoint changed");
    }
    no_hidden_files(dir.path());
}

/// The same from the command line: Adam with a λ just inside the first-step bound makes its
/// second moment overflow in later steps; the run ends with exit 4 and the good checkpoint at
/// that path keeps its SHA-256.
#[test]
fn a_run_whose_state_overflows_keeps_the_old_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (ck, sha) = good_checkpoint(dir.path());
    let out = train(&[
        "--epochs",
        "2",
        "--optimizer",
        "adam",
        "--lambda",
        "1e21",
        "--eta",
        "100",
        "--save",
        s(&ck),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains("would not read back") && err.contains("optimizer state"),
        "{err}"
    );
    assert_eq!(sha256(&ck), sha);
    no_hidden_files(dir.path());
}

/// Flag values whose products overflow f32 in the first update, or whose step schedule takes
/// η past f32 within the run, are refused before any epoch, naming the flag and the bound.
#[test]
fn flag_values_that_overflow_f32_are_refused_before_training() {
    let cases: [(&[&str], &[&str]); 3] = [
        (
            &["--optimizer", "adam", "--lambda", "1e30"],
            &["--lambda", "second moment", "3.4e38"],
        ),
        (
            &["--eta", "1e38", "--lambda", "1000"],
            &["--eta", "--lambda", "3.4e38"],
        ),
        (
            &[
                "--schedule",
                "step",
                "--step-every",
                "1",
                "--decay",
                "3e38",
                "--epochs",
                "3",
            ],
            &["--decay", "3e38", "by epoch 1"],
        ),
    ];
    for (args, needles) in cases {
        let out = train(args);
        one_line_failure(&out, 2, needles);
        assert!(!String::from_utf8_lossy(&out.stdout).contains("epoch"));
    }
    // Just inside the bound, Adam's λ is accepted (and the writer guards what follows).
    let out = train(&[
        "--epochs",
        "1",
        "--optimizer",
        "adam",
        "--lambda",
        "1e20",
        "--eta",
        "0.001",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `--eta 1e6` stays finite but saturates the weights in its first epoch: exit 4 naming the
/// saturation, and the checkpoint at --save keeps its SHA-256.
#[test]
fn saturated_weights_stop_the_run_and_keep_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (ck, sha) = good_checkpoint(dir.path());
    for extra in [
        &["--eta", "1e6"][..],
        &["--eta", "1e6", "--preset", "network2", "--lambda", "0"],
    ] {
        let mut args = vec!["--epochs", "3", "--save", s(&ck), "--checkpoint-every", "1"];
        args.extend(extra);
        one_line_failure(
            &train(&args),
            4,
            &["saturated", "smaller --eta", "as it was"],
        );
        assert_eq!(sha256(&ck), sha, "{extra:?}");
    }
}

/// Resuming a good checkpoint with an η far too large sends validation accuracy to chance in
/// one epoch while the weights stay moderate: exit 4 naming the collapse and the best epoch,
/// and the checkpoint keeps its SHA-256 although --checkpoint-every 1 would have saved.
#[test]
fn a_collapse_to_chance_stops_the_run_and_keeps_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (ck, sha) = good_checkpoint(dir.path());
    let c = s(&ck);
    let out = train(&[
        "--resume",
        c,
        "--save",
        c,
        "--checkpoint-every",
        "1",
        "--epochs",
        "6",
        "--eta",
        "100",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    let last = err.lines().last().unwrap_or("");
    assert!(
        last.contains("collapsed") && last.contains("chance") && last.contains("in epoch 3"),
        "{err}"
    );
    assert!(
        err.contains("η: checkpoint 3, overridden by --eta 100"),
        "{err}"
    );
    assert_eq!(sha256(&ck), sha);
    // The same resume with the checkpoint's own η trains on normally.
    let out = train(&["--resume", c, "--save", c, "--epochs", "4"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

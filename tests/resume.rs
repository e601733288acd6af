//! Resume keeps the schedule: re-running the original command with `--resume` added continues
//! with the checkpoint's schedule position and gives the bits of an uninterrupted run (a step
//! schedule, so η has moved); every flag equal to the checkpoint's configuration is no
//! override and is not reported, and each real override is reported in one line.

mod common;
use common::{gpu_mlp, s, sha256};

/// The original command (momentum, η 0.5 halved every epoch) with `extra` flags added, or,
/// for a flag it already has, in place of its value there.
fn original(save: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "train",
        "--backend",
        "cpu",
        "--quiet",
        "--train-size",
        "1000",
        "--validation-size",
        "500",
        "--test-size",
        "100",
        "--optimizer",
        "momentum",
        "--eta",
        "0.5",
        "--schedule",
        "step",
        "--step-every",
        "1",
        "--decay",
        "0.5",
        "--seed",
        "3",
        "--save",
        save,
    ];
    for pair in extra.chunks(2) {
        match args.iter().position(|a| *a == pair[0]) {
            Some(i) => args[i + 1] = pair[1],
            None => args.extend(pair),
        }
    }
    gpu_mlp(&args)
}

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn rerunning_the_original_command_with_resume_gives_the_uninterrupted_bits() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.safetensors");
    ok(&original(s(&whole), &["--epochs", "4"]));

    // Interrupted after 2 epochs (η is 0.125 there), then the original command again with
    // --resume added.
    let ck = dir.path().join("ck.safetensors");
    let c = s(&ck);
    ok(&original(c, &["--epochs", "2"]));
    let eta = |path| {
        gpu_mlp::checkpoint::Checkpoint::load(path)
            .unwrap()
            .train
            .unwrap()
            .1
            .eta
    };
    assert_eq!(eta(&ck), 0.125);
    let partial = dir.path().join("partial.safetensors");
    std::fs::copy(&ck, &partial).unwrap();
    let notes = ok(&original(c, &["--epochs", "4", "--resume", c]));
    assert_eq!(notes, "", "flags equal to the checkpoint's are no override");
    assert_eq!(
        sha256(&ck),
        sha256(&whole),
        "resumed run differs from the uninterrupted one"
    );

    // Real overrides, each reported in one line; the others stay silent.
    let p = s(&partial);
    let notes = ok(&original(
        c,
        &[
            "--epochs",
            "3",
            "--resume",
            p,
            "--decay",
            "0.25",
            "--momentum",
            "0.8",
        ],
    ));
    let lines: Vec<&str> = notes.lines().collect();
    assert_eq!(
        lines,
        [
            "momentum: checkpoint 0.9, overridden by --momentum 0.8",
            "decay: checkpoint 0.5, overridden by --decay 0.25",
        ],
        "{notes}"
    );
    let notes = ok(&original(
        c,
        &["--epochs", "3", "--resume", p, "--eta", "0.2"],
    ));
    assert_eq!(
        notes.trim_end(),
        "η: checkpoint 0.125, overridden by --eta 0.2"
    );
    assert_eq!(eta(&ck), 0.2 * 0.5);
    let notes = ok(&gpu_mlp(&[
        "train",
        "--quiet",
        "--train-size",
        "1000",
        "--validation-size",
        "500",
        "--test-size",
        "100",
        "--epochs",
        "3",
        "--resume",
        p,
        "--save",
        c,
        "--schedule",
        "constant",
    ]));
    assert_eq!(
        notes.trim_end(),
        "schedule: checkpoint step (×0.5 every 1 epoch), overridden by --schedule constant"
    );
}

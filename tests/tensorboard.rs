//! `train --tensorboard DIR` (issue 11, item 6): event files TensorBoard reads, one run
//! directory per run and per sweep member, every scalar the `--metrics` line's number. The
//! framing and messages are checked here in Rust (both CRCs of every record, the first event's
//! file version, step = epoch, each tag's value against the metrics file as an f32); and the
//! files are read back with the `tensorboard` package's EventAccumulator
//! (tests/python/tensorboard_scalars.py), which uses $GPU_MLP_PYTHON (default python3) and is
//! skipped without the package, unless GPU_MLP_REQUIRE_PYTHON=1 (as .ci/run sets), when it
//! fails instead.

mod common;
use common::{gpu_mlp, ok, s};

use gpu_mlp::tensorboard::{read_events, TAGS};
use std::path::{Path, PathBuf};
use std::process::Command;

const SMALL: [&str; 6] = [
    "--train-size",
    "500",
    "--validation-size",
    "100",
    "--test-size",
    "100",
];

/// The entries of `dir`, sorted.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// The one event file in a run directory.
fn event_file(run: &Path) -> PathBuf {
    let files = entries(run);
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_str().unwrap().to_string();
    assert!(name.starts_with("events.out.tfevents."), "{name}");
    files[0].clone()
}

/// Checks an event file against a metrics file: the version first, then one summary per
/// metrics line at step = epoch, whose values are the line's numbers as f32, tag for tag.
fn assert_matches_metrics(events: &Path, metrics: &Path) -> usize {
    let events = read_events(events).unwrap();
    assert_eq!(events[0].file_version.as_deref(), Some("brain.Event:2"));
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(metrics)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 1 + lines.len());
    let mut n = 0;
    for (event, line) in events[1..].iter().zip(&lines) {
        assert_eq!(event.step, line["epoch"].as_i64().unwrap());
        let values = &event.summary.as_ref().unwrap().value;
        let expected: Vec<(&str, f32)> = TAGS
            .iter()
            .filter_map(|(tag, key)| line[*key].as_f64().map(|v| (*tag, v as f32)))
            .collect();
        let got: Vec<(&str, f32)> = values
            .iter()
            .map(|v| (v.tag.as_str(), v.simple_value.unwrap()))
            .collect();
        assert_eq!(got, expected, "epoch {}", event.step);
        n += got.len();
    }
    n
}

/// The Python interpreter with tensorboard and numpy, or None (skip) when missing and not
/// required.
fn python() -> Option<String> {
    let python = std::env::var("GPU_MLP_PYTHON").unwrap_or_else(|_| "python3".into());
    let required = std::env::var("GPU_MLP_REQUIRE_PYTHON").is_ok_and(|v| v == "1");
    let found = Command::new(&python)
        .args(["-c", "import numpy, tensorboard"])
        .output()
        .is_ok_and(|o| o.status.success());
    match (found, required) {
        (true, _) => Some(python),
        (false, true) => {
            panic!("GPU_MLP_REQUIRE_PYTHON=1 but {python} cannot import numpy and tensorboard")
        }
        (false, false) => {
            eprintln!(
                "skipped: {python} cannot import numpy and tensorboard \
                 (pip install numpy tensorboard, or set GPU_MLP_PYTHON)"
            );
            None
        }
    }
}

/// TensorBoard's EventAccumulator reads every (run directory, metrics file) pair back to the
/// metrics' numbers.
fn tensorboard_agrees(pairs: &[(PathBuf, PathBuf)]) {
    let Some(python) = python() else { return };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/tensorboard_scalars.py");
    let mut cmd = Command::new(python);
    cmd.arg(script);
    for (run, metrics) in pairs {
        cmd.arg(run).arg(metrics);
    }
    let out = cmd.output().expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert_eq!(stdout.lines().count(), pairs.len(), "{stdout}");
    eprintln!("{stdout}");
}

/// A run with every set monitored writes one run directory holding one event file whose
/// scalars are the metrics file's; a resumed run continues at the next step in a directory of
/// its own, and leaves the first run's file as it was.
#[test]
fn run_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let (board, metrics, ck) = (
        tmp.path().join("tb"),
        tmp.path().join("m.jsonl"),
        tmp.path().join("m.safetensors"),
    );
    let monitor =
        "train-cost,train-accuracy,validation-cost,validation-accuracy,test-cost,test-accuracy";
    let mut args = vec!["train", "--epochs", "2", "--quiet", "--monitor", monitor];
    args.extend(SMALL);
    args.extend([
        "--tensorboard",
        s(&board),
        "--metrics",
        s(&metrics),
        "--save",
        s(&ck),
    ]);
    let out = ok(&gpu_mlp(&args));
    let runs = entries(&board);
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert!(
        out.contains(&format!("TensorBoard run {}", runs[0].display())),
        "{out}"
    );
    let first = event_file(&runs[0]);
    assert_eq!(assert_matches_metrics(&first, &metrics), 2 * 9);
    let first_bytes = std::fs::read(&first).unwrap();

    let resumed_metrics = tmp.path().join("resumed.jsonl");
    let mut args = vec!["train", "--resume", s(&ck), "--epochs", "3", "--quiet"];
    args.extend(SMALL);
    args.extend(["--tensorboard", s(&board), "--metrics", s(&resumed_metrics)]);
    ok(&gpu_mlp(&args));
    let runs = entries(&board);
    assert_eq!(runs.len(), 2, "a directory per run: {runs:?}");
    assert_eq!(std::fs::read(&first).unwrap(), first_bytes);
    let second = runs.iter().find(|r| !first.starts_with(r)).unwrap();
    let events = read_events(&event_file(second)).unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].step, 3, "the resumed epoch's step");
    tensorboard_agrees(&[(runs[0].clone(), metrics)]);
}

/// A sweep writes one run directory per member, named as its checkpoint and metrics file
/// are, inside one directory for the invocation; each member's scalars are its metrics'.
#[test]
fn sweep_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let (board, metrics) = (tmp.path().join("tb"), tmp.path().join("metrics"));
    let mut args = vec!["train", "--epochs", "2", "--eta", "0.5,2", "--quiet"];
    args.extend(SMALL);
    args.extend(["--tensorboard", s(&board), "--metrics", s(&metrics)]);
    ok(&gpu_mlp(&args));
    let sessions = entries(&board);
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let members = entries(&sessions[0]);
    let names: Vec<_> = members
        .iter()
        .map(|m| m.file_name().unwrap().to_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["eta-0.5", "eta-2"]);
    let mut pairs = Vec::new();
    for (member, name) in members.iter().zip(&names) {
        let m = metrics.join(format!("{name}.jsonl"));
        // train-cost, validation and test accuracy, η, two timings: 6 per epoch.
        assert_eq!(assert_matches_metrics(&event_file(member), &m), 2 * 6);
        pairs.push((member.clone(), m));
    }
    tensorboard_agrees(&pairs);
}

/// A --tensorboard path that is a file is refused before training, naming the flag, and
/// the file is left as it was.
#[test]
fn tensorboard_path_that_is_a_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("notes.txt");
    std::fs::write(&file, "mine").unwrap();
    let mut args = vec!["train", "--epochs", "1", "--quiet"];
    args.extend(SMALL);
    args.extend(["--tensorboard", s(&file)]);
    common::one_line_failure(&gpu_mlp(&args), 3, &["--tensorboard", "not a directory"]);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
}

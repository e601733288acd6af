//! Crash-safe sweeps: a sweep saving a checkpoint per member every epoch, killed with SIGKILL
//! at random moments (inside checkpoint writes too) and resumed with `--resume DIR` after each
//! kill, ends with every member's checkpoint byte for byte the one of a sweep never
//! interrupted, the same results table, and each member's metrics listing every epoch once.
#![cfg(target_os = "linux")]

use gpu_mlp::fs::WRITE_PAUSE_ENV;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const EPOCHS: u64 = 4;
const MEMBERS: [&str; 3] = ["seed-1", "seed-2", "seed-3"];

/// The sweep: three seeds, momentum and a step schedule (so optimizer state and η must
/// survive), a checkpoint per member every epoch.
fn command(dir: &Path, metrics: &Path, resume: bool) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gpu-mlp"));
    c.args([
        "train",
        "--backend",
        "cpu",
        "--quiet",
        "--train-size",
        "2000",
        "--validation-size",
        "300",
        "--test-size",
        "300",
        "--epochs",
        "4",
        "--optimizer",
        "momentum",
        "--eta",
        "0.5",
        "--schedule",
        "step",
        "--step-every",
        "2",
        "--decay",
        "0.5",
        "--seeds",
        "1-3",
        "--checkpoint-every",
        "1",
        "--metrics",
    ])
    .arg(metrics)
    .arg(if resume { "--resume" } else { "--save" })
    .arg(dir)
    .current_dir(env!("CARGO_MANIFEST_DIR"))
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    c
}

fn epochs_logged(path: &Path) -> Vec<u64> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["epoch"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

#[test]
fn a_sweep_killed_at_random_moments_resumes_to_the_same_bits() {
    let tmp = tempfile::tempdir().unwrap();
    let (reference, ref_metrics) = (tmp.path().join("reference"), tmp.path().join("ref-metrics"));
    let t = Instant::now();
    let out = command(&reference, &ref_metrics, false)
        .env(WRITE_PAUSE_ENV, "15")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let whole = t.elapsed();
    let table = String::from_utf8_lossy(&out.stdout).into_owned();

    let (dir, metrics) = (tmp.path().join("killed"), tmp.path().join("metrics"));
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (mut kills, mut log) = (0, Vec::new());
    let mut last = String::new();
    for attempt in 0..30 {
        let resume = dir.join("sweep.json").exists();
        let mut child = command(&dir, &metrics, resume)
            .env(WRITE_PAUSE_ENV, "15")
            .spawn()
            .unwrap();
        // Each attempt is killed somewhere in the first half of what is left, at the latest.
        let delay = whole.mul_f64(rng.random_range(0.05..0.5));
        let start = Instant::now();
        let finished = loop {
            if let Some(status) = child.try_wait().unwrap() {
                let out = child.wait_with_output().unwrap();
                assert!(status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                last = String::from_utf8_lossy(&out.stdout).into_owned();
                break true;
            }
            if start.elapsed() >= delay {
                child.kill().unwrap();
                child.wait().unwrap();
                break false;
            }
            thread::sleep(Duration::from_micros(500));
        };
        log.push(format!(
            "attempt {attempt} ({}): {}",
            if resume { "resumed" } else { "fresh" },
            if finished { "finished" } else { "killed" }
        ));
        if finished {
            break;
        }
        kills += 1;
    }
    if !last.contains("members") {
        let out = command(&dir, &metrics, true).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        last = String::from_utf8_lossy(&out.stdout).into_owned();
    }
    let log = log.join("\n");
    println!("{log}\n{kills} kills");
    assert!(kills >= 5, "the kills must happen, found {kills}:\n{log}");
    for m in MEMBERS {
        let file = format!("{m}.safetensors");
        assert!(
            std::fs::read(dir.join(&file)).unwrap()
                == std::fs::read(reference.join(&file)).unwrap(),
            "{m}'s checkpoint differs from the uninterrupted sweep's:\n{log}"
        );
        let want: Vec<u64> = (1..=EPOCHS).collect();
        assert_eq!(
            epochs_logged(&metrics.join(format!("{m}.jsonl"))),
            want,
            "{m}"
        );
    }
    assert_eq!(last, table, "the results table differs");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// What writers killed mid-write left beside a sweep's files (`.NAME.tmp-PID`, their process
/// gone) is removed when the sweep is resumed, also for members that had finished and whose
/// files the resumed run never writes again, and a best checkpoint's though this run does not
/// ask for one; a live process's temporary file stays, and so does a hidden file of the same
/// form beside a name the sweep does not write (the user's).
#[test]
fn a_resumed_sweep_removes_what_killed_writers_left() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, metrics) = (tmp.path().join("sweep"), tmp.path().join("metrics"));
    let run = |resume: bool| {
        let out = command(&dir, &metrics, resume).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(false);
    // A process id no process has any more.
    let mut gone = Command::new("true").spawn().unwrap();
    gone.wait().unwrap();
    let pid = gone.id();
    let left = [
        dir.join(format!(".seed-2.safetensors.tmp-{pid}")),
        dir.join(format!(".sweep.json.tmp-{pid}")),
        dir.join(format!(".sweep-results.json.tmp-{pid}")),
        metrics.join(format!(".seed-3.jsonl.tmp-{pid}")),
        dir.join(format!(".seed-1.best.safetensors.tmp-{pid}")),
    ];
    let users = dir.join(format!(".notes.txt.tmp-{pid}"));
    // This test's own process runs: a writer that is still writing.
    let live = dir.join(format!(".seed-1.safetensors.tmp-{}", std::process::id()));
    for f in left.iter().chain([&users, &live]) {
        std::fs::write(f, b"half a file").unwrap();
    }
    run(true);
    for f in &left {
        assert!(!f.exists(), "{} was left", f.display());
    }
    assert!(users.exists(), "the user's {} was removed", users.display());
    assert!(
        live.exists(),
        "a live writer's {} was removed",
        live.display()
    );
}

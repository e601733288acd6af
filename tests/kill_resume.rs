//! Crash-safe training: a `train --checkpoint-every 1` run killed with SIGKILL at random moments
//! (some while it reads the data or trains, some while a checkpoint is half-written) and
//! resumed with `--resume` after each kill ends with exactly the weights, optimizer state and
//! schedule position of a run that was never interrupted, and at every moment after the first
//! save the checkpoint path held a checkpoint that parses, whose epoch never went backwards;
//! the `--metrics` log lists every epoch exactly once.
#![cfg(target_os = "linux")]

use gpu_mlp::checkpoint::Checkpoint;
use gpu_mlp::fs::WRITE_PAUSE_ENV;
use gpu_mlp::model::Params;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const EPOCHS: usize = 6;

/// Flags every attempt passes: where the data comes from and where the checkpoint goes.
fn every_attempt(ck: &Path) -> Vec<String> {
    let mut v: Vec<String> = [
        "train",
        "--backend",
        "cpu",
        "--threads",
        "2",
        "--quiet",
        "--train-size",
        "2000",
        "--validation-size",
        "500",
        "--test-size",
        "500",
        "--checkpoint-every",
        "1",
        "--save",
    ]
    .map(String::from)
    .to_vec();
    v.push(ck.display().to_string());
    v.push("--metrics".to_string());
    v.push(ck.with_extension("jsonl").display().to_string());
    v
}

/// The run's configuration, given only when it starts fresh; a resumed run takes it from the
/// checkpoint. Momentum and a step schedule make the optimizer state and η part of what must
/// survive.
const FRESH: [&str; 14] = [
    "--epochs",
    "6",
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
    "--seed",
    "11",
];

fn spawn(ck: &Path) -> Child {
    let mut args = every_attempt(ck);
    if ck.exists() {
        args.extend(["--resume".to_string(), ck.display().to_string()]);
    } else {
        args.extend(FRESH.map(String::from));
    }
    Command::new(env!("CARGO_BIN_EXE_gpu-mlp"))
        .args(&args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        // Half-way through each checkpoint's temporary file, pause, so that kills can land
        // inside a write.
        .env(WRITE_PAUSE_ENV, "15")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start gpu-mlp")
}

fn temporaries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().contains(".tmp-"))
                .collect()
        })
        .unwrap_or_default()
}

fn finish(child: Child) {
    let out = child.wait_with_output().expect("wait for gpu-mlp");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn bits(p: &Params) -> Vec<u32> {
    p.layers
        .iter()
        .flat_map(|l| l.weight.iter().chain(&l.bias))
        .map(|v| v.to_bits())
        .collect()
}

/// Watches `path` until told to stop: every time it exists it must parse as a checkpoint, and
/// the epoch it records must never decrease. Returns (reads, epochs seen in order) or the
/// first failure.
fn watch(
    path: PathBuf,
    stop: Arc<AtomicBool>,
) -> thread::JoinHandle<Result<(usize, Vec<usize>), String>> {
    thread::spawn(move || {
        let mut reads = 0;
        let mut epochs: Vec<usize> = Vec::new();
        let mut appeared = false;
        while !stop.load(Ordering::Relaxed) {
            match std::fs::read(&path) {
                Ok(bytes) => {
                    appeared = true;
                    let ck = Checkpoint::from_bytes(&bytes, &path)
                        .map_err(|e| format!("unreadable checkpoint after {reads} reads: {e}"))?;
                    let epoch = ck.train.map(|(_, p)| p.epoch).ok_or("no progress saved")?;
                    if epochs.last().is_some_and(|&last| epoch < last) {
                        return Err(format!(
                            "checkpoint went back from epoch {epochs:?} to {epoch}"
                        ));
                    }
                    if epochs.last() != Some(&epoch) {
                        epochs.push(epoch);
                    }
                    reads += 1;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !appeared => {}
                Err(e) => return Err(format!("checkpoint vanished after it appeared: {e}")),
            }
            thread::sleep(Duration::from_micros(200));
        }
        Ok((reads, epochs))
    })
}

/// The median of `seconds + eval_seconds` over a metrics file's epochs.
fn median_epoch_seconds(metrics: &Path) -> f64 {
    let mut v: Vec<f64> = std::fs::read_to_string(metrics)
        .unwrap()
        .lines()
        .map(|l| {
            let r: serde_json::Value = serde_json::from_str(l).unwrap();
            r["seconds"].as_f64().unwrap() + r["eval_seconds"].as_f64().unwrap()
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// When an attempt is killed.
#[derive(Clone, Copy, Debug)]
enum Kill {
    /// Never: the run goes to its end.
    Never,
    /// As soon as the n-th checkpoint write (1-based) has its temporary file half-written.
    InWrite(usize),
    /// `delay` after the j-th checkpoint write has finished (j = 0: after the start), i.e. at
    /// a random moment while the data loads or an epoch trains or evaluates.
    After(usize, Duration),
}

/// What happened to one attempt.
struct Attempt {
    killed: bool,
    /// The temporary file was there, half-written, when the kill came and stayed after it.
    in_write: bool,
    /// When each checkpoint write began, from the start.
    write_starts: Vec<Duration>,
}

/// Runs `child` to its end or to the moment `kill` names, watching its temporary file.
fn drive(mut child: Child, tmp: &Path, kill: Kill) -> Attempt {
    let start = Instant::now();
    let mut write_starts = Vec::new();
    // When each write ended (the temporary file was renamed), the start counting as write 0.
    let mut write_ends = vec![start];
    let mut writing = false;
    loop {
        let now_writing = tmp.exists();
        if now_writing && !writing {
            write_starts.push(start.elapsed());
        }
        if !now_writing && writing {
            write_ends.push(Instant::now());
        }
        writing = now_writing;
        let due = match kill {
            Kill::Never => false,
            Kill::InWrite(n) => writing && write_starts.len() == n,
            Kill::After(j, delay) => write_ends.get(j).is_some_and(|t| t.elapsed() >= delay),
        };
        if due {
            child.kill().unwrap();
            child.wait().unwrap();
            return Attempt {
                killed: true,
                in_write: writing && tmp.exists(),
                write_starts,
            };
        }
        if child.try_wait().unwrap().is_some() {
            finish(child);
            return Attempt {
                killed: false,
                in_write: false,
                write_starts,
            };
        }
        thread::sleep(Duration::from_micros(250));
    }
}

#[test]
fn sigkill_at_random_moments_then_resume_gives_identical_weights() {
    let dir = tempfile::tempdir().unwrap();

    // The uninterrupted run, timed to aim the kills: how long the start takes (reading the
    // data) and how long an epoch takes.
    let reference = dir.path().join("reference.safetensors");
    let child = spawn(&reference);
    let ref_tmp = dir
        .path()
        .join(format!(".reference.safetensors.tmp-{}", child.id()));
    let timing = drive(child, &ref_tmp, Kill::Never);
    // The times only aim the kills. The watcher polls, so on a loaded machine it can miss a
    // whole (15 ms) write; the epoch's length therefore comes from the run's own metrics
    // (training plus evaluation seconds), and the start-up from the first write it saw.
    assert!(
        !timing.write_starts.is_empty(),
        "no checkpoint write was seen"
    );
    let epoch = Duration::from_secs_f64(median_epoch_seconds(&reference.with_extension("jsonl")));
    let startup = timing.write_starts[0].saturating_sub(epoch);
    let want = Checkpoint::load(&reference).unwrap();

    let work = dir.path().join("killed");
    std::fs::create_dir(&work).unwrap();
    let ck = work.join("ck.safetensors");
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = watch(ck.clone(), stop.clone());

    // Each attempt gets about one epoch further than the last at most, so a run takes several
    // kills.
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let mut log = vec![format!("start-up {startup:?}, epoch {epoch:?}")];
    let (mut kills, mut kills_in_write, mut resumed_mid_run) = (0, 0, 0);
    for attempt in 0..40 {
        let resumes_from = Checkpoint::load(&ck)
            .ok()
            .and_then(|c| c.train)
            .map(|(_, p)| p.epoch);
        if resumes_from.is_some_and(|e| e > 0 && e < EPOCHS) {
            resumed_mid_run += 1;
        }
        let kill = if attempt % 2 == 1 {
            Kill::InWrite(rng.random_range(1..=2))
        } else {
            // While the data loads, the first epoch trains or its checkpoint is written; or
            // in the first half of the second epoch.
            let j = rng.random_range(0..=1);
            let span = if j == 0 { startup + epoch } else { epoch / 2 };
            Kill::After(j, span.mul_f64(rng.random_range(0.0..1.0)))
        };
        let child = spawn(&ck);
        let tmp = work.join(format!(".ck.safetensors.tmp-{}", child.id()));
        let a = drive(child, &tmp, kill);
        log.push(format!(
            "attempt {attempt}: from epoch {resumes_from:?}, {kill:?}: {}",
            match (a.killed, a.in_write) {
                (false, _) => "finished",
                (true, true) => "killed inside a write",
                (true, false) => "killed",
            }
        ));
        if !a.killed {
            break;
        }
        kills += 1;
        kills_in_write += usize::from(a.in_write);
    }
    // Whatever is left runs to the end undisturbed.
    finish(spawn(&ck));
    stop.store(true, Ordering::Relaxed);
    let (reads, epochs) = watcher.join().unwrap().unwrap_or_else(|e| panic!("{e}"));
    let log = log.join("\n");
    println!("{log}\n{kills} kills, {kills_in_write} inside a write, {resumed_mid_run} resumes mid-run, {reads} reads, epochs seen {epochs:?}");

    assert!(kills >= 5, "the kills must happen, found {kills}:\n{log}");
    assert!(
        kills_in_write >= 3,
        "kills inside a write: {kills_in_write}:\n{log}"
    );
    assert!(
        resumed_mid_run >= 3,
        "resumes from a mid-run checkpoint: {resumed_mid_run}:\n{log}"
    );
    assert!(reads > 0 && epochs.last() == Some(&EPOCHS), "{epochs:?}");

    let got = Checkpoint::load(&ck).unwrap();
    assert_eq!(got.network, want.network);
    assert_eq!(bits(&got.params), bits(&want.params), "weights differ");
    let (kind, state) = got.optimizer.clone().unwrap();
    let (want_kind, want_state) = want.optimizer.clone().unwrap();
    assert_eq!((kind, state.step), (want_kind, want_state.step));
    for (a, b) in state.slots.iter().zip(&want_state.slots) {
        assert_eq!(bits(a), bits(b), "optimizer state differs");
    }
    assert_eq!(got.train, want.train, "configuration or progress differs");
    // The metrics file lists each epoch once, in order, as the uninterrupted run's does.
    let epochs_logged = |path: &Path| -> Vec<u64> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["epoch"]
                    .as_u64()
                    .unwrap()
            })
            .collect()
    };
    let want_epochs: Vec<u64> = (1..=EPOCHS as u64).collect();
    assert_eq!(
        epochs_logged(&reference.with_extension("jsonl")),
        want_epochs
    );
    assert_eq!(epochs_logged(&ck.with_extension("jsonl")), want_epochs);
    assert!(
        temporaries(&work).is_empty(),
        "temporary files left by killed writes were not cleaned up: {:?}",
        temporaries(&work)
    );
}

/// A resume reads the data from flags again; given other sizes it would silently continue on
/// other data. The checkpoint records the training-set size and the resume refuses another.
#[test]
fn resuming_on_other_data_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck.safetensors");
    let c = ck.to_str().unwrap();
    let run = |train_size: &str, extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_gpu-mlp"))
            .args([
                "train",
                "--backend",
                "cpu",
                "--quiet",
                "--train-size",
                train_size,
            ])
            .args([
                "--validation-size",
                "100",
                "--test-size",
                "100",
                "--save",
                c,
            ])
            .args(extra)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap()
    };
    assert!(run("1000", &["--epochs", "1"]).status.success());
    let out = run("900", &["--resume", c, "--epochs", "2"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--train-size 900 differs") && err.contains("--train-size 1000"),
        "{err}"
    );
    assert!(run("1000", &["--resume", c, "--epochs", "2"])
        .status
        .success());
}

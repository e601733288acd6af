//! Every run leaves a result or says why not. Ctrl-C typed on a real terminal (a pseudo-terminal
//! of 80 columns, `tests/python/on_a_pty.py`) stops `train` inside the epoch in progress,
//! clears the bar, saves the last finished epoch to --save and prints "interrupted after epoch
//! N; … resume with: CMD", exiting 130; running CMD ends with the very bytes (SHA-256) of the
//! checkpoint of a run never interrupted. SIGTERM does the same with 143, for one run and for a
//! sweep (resumed from its directory); a second signal exits at once, leaving the previous
//! file (here none) in place of a half-written one; without --save the run says nothing was
//! saved, and a run that completes without --save says how to keep the model.
#![cfg(target_os = "linux")]

mod common;

use common::{gpu_mlp, s, sha256};
use gpu_mlp::checkpoint::Checkpoint;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A run of four epochs of a third of a second or more each on the CPU (784-300-10 on 12,000
/// images),
/// with momentum and a step schedule so that the optimizer state and η must survive too.
const RUN: [&str; 24] = [
    "train",
    "--backend",
    "cpu",
    "--threads",
    "2",
    "--layers",
    "784,300,10",
    "--train-size",
    "12000",
    "--validation-size",
    "500",
    "--test-size",
    "500",
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
    "--seed",
];

fn run_args(ck: &Path) -> Vec<&str> {
    let mut v = RUN.to_vec();
    v.extend(["11", "--save", s(ck)]);
    v
}

/// The epoch a checkpoint holds.
fn epoch_of(ck: &Path) -> usize {
    let ck = Checkpoint::load(ck).expect("a readable checkpoint");
    ck.train.expect("training state").1.epoch
}

/// The command a message offers after "resume with: ", run through the shell as a user would
/// paste it.
fn run_resume_command(message: &str) -> Output {
    let line = message
        .lines()
        .find_map(|l| {
            l.split_once("resume with: ")
                .map(|(_, c)| c.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no resume command in {message:?}"));
    Command::new("sh")
        .args(["-c", &line])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("run the resume command")
}

/// `python3` (or $GPU_MLP_PYTHON): the standard library's pty module drives the terminal.
fn python() -> String {
    std::env::var("GPU_MLP_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

/// Text as a terminal shows it, escape sequences (colours, line clearing) removed; `\r`
/// starts a new segment, as each redraw of the bar overwrites the line.
fn segments(screen: &str) -> Vec<String> {
    let mut plain = String::new();
    let mut chars = screen.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
        .split(['\r', '\n'])
        .filter(|l| !l.trim().is_empty())
        .map(String::from)
        .collect()
}

#[test]
fn ctrl_c_on_a_terminal_saves_the_last_epoch_and_resumes_to_the_same_bits() {
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("reference.safetensors");
    let ck = dir.path().join("ck.safetensors");
    let out = gpu_mlp(&run_args(&reference));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut cmd = vec![env!("CARGO_BIN_EXE_gpu-mlp")];
    cmd.extend(run_args(&ck));
    // Ctrl-C as soon as the bar shows epoch 3: inside it, which lasts far longer than the key
    // takes to arrive.
    let out = Command::new(python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/on_a_pty.py"
        ))
        .args(&cmd)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("TRIGGER", "epoch 3/4 [")
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("TERM", "xterm")
        .output()
        .expect("python3 runs the pty driver");
    let status = String::from_utf8_lossy(&out.stderr);
    let screen = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(status.trim(), "exit 130", "{screen}");
    let lines = segments(&screen);
    let message = lines
        .iter()
        .find(|l| l.contains("interrupted"))
        .unwrap_or_else(|| panic!("no message: {screen:?}"));
    assert!(
        message.starts_with("interrupted after epoch 2 (SIGINT); saved "),
        "{message}"
    );
    // Stopped inside epoch 3: it never finished, and the file holds epoch 2.
    assert!(!screen.contains("epoch   3/4"), "{screen}");
    assert_eq!(epoch_of(&ck), 2);
    // The bar was drawn, fits 80 columns, and shows the epoch's ETA and the whole run's.
    // (A line printed above the bar is padded to whole terminal lines, so the bar is what
    // follows the last "epoch k/N [" of a segment.)
    let bars: Vec<&str> = lines
        .iter()
        .filter(|l| l.contains(" ETA "))
        .filter_map(|l| {
            let open = l.rfind(" [")?;
            let start = l[..open].rfind("epoch ")?;
            // The terminal echoes the key itself as "^C" after whatever is on the line.
            Some(l[start..].trim_end().trim_end_matches("^C"))
        })
        .collect();
    assert!(!bars.is_empty(), "no bar: {screen:?}");
    for bar in &bars {
        assert!(
            bar.chars().count() <= 80,
            "{} columns: {bar:?}",
            bar.chars().count()
        );
        assert!(bar.contains(", run "), "no run ETA: {bar:?}");
    }
    // The bar is cleared: the message starts its own line, nothing of the bar after it.
    assert!(
        screen.trim_end().ends_with(message.trim_end()),
        "{screen:?}"
    );

    let resumed = run_resume_command(message);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert_eq!(epoch_of(&ck), 4);
    assert_eq!(
        sha256(&ck),
        sha256(&reference),
        "resumed run differs from the uninterrupted one"
    );
}

/// Spawns `gpu-mlp ARGS` with stdout piped (plain lines), waits for a stdout line containing
/// `after`, sends each of `signals` (`kill` options, `gap` apart), and returns its output with
/// the time from the last signal to its end.
fn signalled(
    args: &[&str],
    envs: &[(&str, &str)],
    after: &str,
    signals: &[&str],
    gap: Duration,
) -> (Output, Duration) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gpu-mlp"))
        .args(args)
        .envs(envs.iter().copied())
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run gpu-mlp");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            panic!("ended before {after:?}: {seen}");
        }
        seen += &line;
        if line.contains(after) {
            break;
        }
    }
    let pid = child.id().to_string();
    let mut last = Instant::now();
    for (i, sig) in signals.iter().enumerate() {
        if i > 0 {
            std::thread::sleep(gap);
        }
        let ok = Command::new("kill")
            .args([*sig, pid.as_str()])
            .status()
            .unwrap();
        assert!(ok.success());
        last = Instant::now();
    }
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let mut out = child.wait_with_output().unwrap();
    out.stdout = (seen + &rest).into_bytes();
    (out, last.elapsed())
}

#[test]
fn sigterm_saves_the_last_epoch_and_exits_143() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck.safetensors");
    let (out, _) = signalled(
        &run_args(&ck),
        &[],
        "epoch   1/4",
        &["-TERM"],
        Duration::ZERO,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    let message = stderr.lines().last().unwrap_or_default();
    assert!(
        message.starts_with("interrupted after epoch 1 (SIGTERM); saved ")
            && message.contains(" resume with: "),
        "{stderr}"
    );
    assert_eq!(epoch_of(&ck), 1);
}

#[test]
fn a_second_signal_exits_at_once_without_a_half_written_file() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck.safetensors");
    // The interrupt's save pauses 20 s half-way; the second signal must not wait for it.
    let (out, after_second) = signalled(
        &run_args(&ck),
        &[(gpu_mlp::fs::WRITE_PAUSE_ENV, "20000")],
        "epoch   1/4",
        &["-INT", "-INT"],
        Duration::from_millis(1500),
    );
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        after_second < Duration::from_secs(10),
        "took {after_second:?}"
    );
    assert!(!ck.exists(), "the half-written checkpoint took the path");
}

#[test]
fn without_save_an_interrupt_says_nothing_was_saved() {
    let mut args = RUN.to_vec();
    args.push("11");
    let (out, _) = signalled(&args, &[], "epoch   1/4", &["-INT"], Duration::ZERO);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted after epoch 1 (SIGINT); nothing was saved (give --save PATH"),
        "{stderr}"
    );
}

#[test]
fn a_sweep_stops_at_an_epoch_and_resumes_from_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = dir.path().join("sweep");
    let reference = dir.path().join("reference");
    let mut args: Vec<&str> = RUN[..RUN.len() - 1].to_vec();
    args.extend(["--seeds", "1-2", "--save"]);
    let mut full = args.clone();
    full.push(s(&reference));
    let out = gpu_mlp(&full);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    args.push(s(&sweep));
    let (out, _) = signalled(&args, &[], "epoch   1/4", &["-TERM"], Duration::ZERO);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    let message = stderr.lines().last().unwrap_or_default();
    assert!(message.starts_with("interrupted after epoch "), "{stderr}");
    let epoch: usize = message["interrupted after epoch ".len()..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{message}"));
    assert!((1..4).contains(&epoch), "{message}");
    for seed in ["seed-1", "seed-2"] {
        assert_eq!(epoch_of(&sweep.join(format!("{seed}.safetensors"))), epoch);
    }
    assert!(message.contains("resume with: ") && message.contains("--resume"));
    let resumed = run_resume_command(message);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    for seed in ["seed-1", "seed-2"] {
        let name = format!("{seed}.safetensors");
        assert_eq!(
            sha256(&sweep.join(&name)),
            sha256(&reference.join(&name)),
            "{seed}"
        );
    }
}

#[test]
fn a_run_without_save_says_how_to_keep_the_model() {
    let out = gpu_mlp(&[
        "train",
        "--backend",
        "cpu",
        "--epochs",
        "1",
        "--train-size",
        "500",
        "--validation-size",
        "100",
        "--test-size",
        "100",
    ]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.lines().last(),
        Some(
            "note: the model was not saved; add --save model.safetensors to keep it (then \
             `gpu-mlp eval --model model.safetensors`, `predict`, or `train --resume`)"
        ),
        "{stderr}"
    );
    // With --save, the summary names the file instead, and there is no note.
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("m.safetensors");
    let out = gpu_mlp(&[
        "train",
        "--backend",
        "cpu",
        "--epochs",
        "1",
        "--train-size",
        "500",
        "--validation-size",
        "100",
        "--test-size",
        "100",
        "--save",
        s(&ck),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("; saved {}", ck.display())),
        "{stdout}"
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("not saved"));
}

//! Every output goes through one writer with one set of rules, checked before any work: a path
//! that is a device, a fifo, a socket or a directory is refused (and left as it was); a
//! symbolic link is written through and stays a link; an existing file's permission bits are
//! kept; a broken hard link is reported; two outputs of one run on one file, or an output on
//! an input, are refused before training; a missing directory or a name too long is found
//! before epoch 1, while a legal 250-byte name works.
//!
//! The special files are the test's own, in a temporary directory: a fifo (`mkfifo`), a socket,
//! a directory, and a character device made with `mknod` as the null device (1, 3), so that
//! even a write through it would go nowhere; where `mknod` is not allowed (not root) that case
//! is skipped with a note. The real /dev/null and /dev/full are never touched.
#![cfg(unix)]

mod common;
use common::{gpu_mlp, gpu_mlp_within, one_line_failure, s, sha256};

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;

/// A small, fast training run (784-30-10 on 1,000 images, one epoch unless `extra` says).
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
    if !extra.contains(&"--epochs") {
        args.extend(["--epochs", "1"]);
    }
    args.extend(extra);
    gpu_mlp_within(&args, 60)
}

fn trained(dir: &Path) -> PathBuf {
    let model = dir.join("model.safetensors");
    let out = train(&["--save", s(&model)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    model
}

/// No epoch ran: nothing on stdout says "epoch".
fn assert_no_epoch_ran(out: &Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("epoch"), "training ran: {stdout}");
}

/// The special files this machine lets the test make, with what each is called in messages.
fn special_files(dir: &Path) -> Vec<(PathBuf, &'static str)> {
    let mut v = Vec::new();
    let fifo = dir.join("fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        v.push((fifo, "fifo"));
    } else {
        eprintln!("note: mkfifo failed; the fifo case is skipped");
    }
    let socket = dir.join("socket");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    std::mem::forget(listener);
    v.push((socket, "socket"));
    let subdir = dir.join("subdir");
    std::fs::create_dir(&subdir).unwrap();
    v.push((subdir, "directory"));
    let device = dir.join("null-device");
    let made = std::process::Command::new("mknod")
        .arg(&device)
        .args(["c", "1", "3"])
        .stderr(std::process::Stdio::null())
        .status();
    if made.is_ok_and(|s| s.success()) {
        v.push((device, "character device"));
    } else {
        eprintln!(
            "note: mknod is not allowed here (not root); the character-device case is skipped"
        );
    }
    v
}

fn kind_of(path: &Path) -> &'static str {
    let t = std::fs::symlink_metadata(path).unwrap().file_type();
    if t.is_fifo() {
        "fifo"
    } else if t.is_socket() {
        "socket"
    } else if t.is_dir() {
        "directory"
    } else if t.is_char_device() {
        "character device"
    } else {
        "other"
    }
}

/// Each output of each command onto each special file: refused at once (exit 3, one line
/// naming the flag and what the path is), before any training, without blocking on a fifo,
/// and the special file is still what it was.
#[test]
fn outputs_onto_devices_fifos_sockets_and_directories_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(dir.path());
    let m = s(&model);
    let metrics = dir.path().join("m.jsonl");
    std::fs::write(&metrics, "{\"epoch\":1,\"eta\":3.0,\"seconds\":0.1}\n").unwrap();
    for (special, kind) in special_files(dir.path()) {
        let p = s(&special);
        let cases: Vec<(Vec<&str>, &str)> = vec![
            (vec!["--save", p], "--save"),
            (vec!["--metrics", p], "--metrics"),
            (vec!["--plot", p], "--plot"),
        ];
        for (args, flag) in cases {
            let out = train(&args);
            one_line_failure(&out, 3, &[flag, kind, "not a regular file"]);
            assert_no_epoch_ran(&out);
        }
        let others: Vec<(Vec<&str>, &str)> = vec![
            (vec!["eval", "--model", m, "--errors", p], "--errors"),
            (vec!["show-weights", "--model", m, "-o", p], "--output"),
            (vec!["export", "--model", m, "--onnx", p], "--onnx"),
            (vec!["plot", s(&metrics), "-o", p], "--output"),
        ];
        for (args, flag) in others {
            one_line_failure(&gpu_mlp_within(&args, 60), 3, &[flag, kind]);
        }
        assert_eq!(kind_of(&special), kind, "{} changed", special.display());
    }
}

/// The writer itself (not only the pre-flight check) refuses a fifo without opening it.
#[test]
fn the_writer_refuses_a_fifo_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    if !std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success())
    {
        eprintln!("note: mkfifo failed; skipped");
        return;
    }
    let e = gpu_mlp::fs::write_atomically(&fifo, b"x").unwrap_err();
    assert!(e.to_string().contains("fifo"), "{e}");
    assert_eq!(e.exit_code(), 3);
    assert_eq!(kind_of(&fifo), "fifo");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "temporary files left: {left:?}");
}

/// A symbolic link (and a chain of two) is written through: the file it names gets the new
/// content and keeps its permission bits, the link stays a link; a dangling link creates the
/// file it names.
#[test]
fn symlinks_are_written_through_and_permission_bits_kept() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.safetensors");
    std::fs::write(&real, b"old").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = dir.path().join("link.safetensors");
    let chain = dir.path().join("chain.safetensors");
    std::os::unix::fs::symlink("real.safetensors", &link).unwrap();
    std::os::unix::fs::symlink(&link, &chain).unwrap();
    let out = train(&["--save", s(&chain)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for l in [&link, &chain] {
        assert!(std::fs::symlink_metadata(l)
            .unwrap()
            .file_type()
            .is_symlink());
    }
    assert!(gpu_mlp::checkpoint::Checkpoint::load(&real).is_ok());
    assert_eq!(std::fs::metadata(&real).unwrap().mode() & 0o7777, 0o640);

    // Permission bits of plain files, for each kind of output.
    let metrics = dir.path().join("metrics.jsonl");
    let plot = dir.path().join("plot.png");
    for (p, mode) in [(&metrics, 0o600), (&plot, 0o604)] {
        std::fs::write(p, b"old").unwrap();
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let out = train(&["--metrics", s(&metrics), "--plot", s(&plot)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::metadata(&metrics).unwrap().mode() & 0o7777, 0o600);
    assert_eq!(std::fs::metadata(&plot).unwrap().mode() & 0o7777, 0o604);
    assert!(std::fs::read_to_string(&metrics)
        .unwrap()
        .contains("\"epoch\":1"));

    let dangling = dir.path().join("dangling.png");
    std::os::unix::fs::symlink("made-through-link.png", &dangling).unwrap();
    let out = train(&["--plot", s(&dangling)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("made-through-link.png").is_file());
    assert!(std::fs::symlink_metadata(&dangling)
        .unwrap()
        .file_type()
        .is_symlink());
}

/// Replacing a file with another hard link is said on stderr; the other name keeps the old
/// content (the policy: break the link and say so).
#[test]
fn a_broken_hard_link_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(dir.path());
    let other = dir.path().join("backup.safetensors");
    std::fs::hard_link(&model, &other).unwrap();
    let before = sha256(&other);
    let out = train(&["--save", s(&model), "--seed", "2"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("note:") && err.contains("2 hard links"),
        "{err}"
    );
    assert_eq!(
        sha256(&other),
        before,
        "the other name must keep the old content"
    );
    assert_ne!(sha256(&model), before);
}

/// Two outputs of one run on one file, through the same name or a link, or an output on the
/// checkpoint being resumed, are refused (exit 2) before training, naming both flags.
#[test]
fn colliding_outputs_are_refused_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(dir.path());
    let before = sha256(&model);
    let x = dir.path().join("x");
    let alias = dir.path().join("alias");
    std::os::unix::fs::symlink("x", &alias).unwrap();
    let cases: Vec<(Vec<&str>, [&str; 2])> = vec![
        (vec!["--save", s(&x), "--plot", s(&x)], ["--save", "--plot"]),
        (
            vec!["--metrics", s(&x), "--save", s(&x)],
            ["--save", "--metrics"],
        ),
        (
            vec!["--save", s(&x), "--plot", s(&alias)],
            ["--save", "--plot"],
        ),
        (
            vec![
                "--resume",
                s(&model),
                "--metrics",
                s(&model),
                "--epochs",
                "2",
            ],
            ["--metrics", "--resume"],
        ),
    ];
    for (args, flags) in cases {
        let out = train(&args);
        one_line_failure(&out, 2, &flags);
        assert_no_epoch_ran(&out);
        assert!(!x.exists(), "{args:?} wrote {}", x.display());
    }
    assert_eq!(sha256(&model), before);
    // Saving over the checkpoint being resumed is what --resume is for.
    let out = train(&["--resume", s(&model), "--save", s(&model), "--epochs", "2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Path failures are found before epoch 1, naming the flag: a missing directory, a file where
/// the directory should be, a trailing slash, a name longer than a file name may be; a legal
/// 250-byte name (too long for the old `.NAME.tmp-PID`) is saved, and resumed from.
#[test]
fn path_failures_are_found_before_epoch_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain");
    std::fs::write(&file, b"").unwrap();
    let long = "n".repeat(256);
    let cases: Vec<(PathBuf, &str)> = vec![
        (dir.path().join("missing/ck.safetensors"), "does not exist"),
        (file.join("ck.safetensors"), "not a directory"),
        (dir.path().join("newdir/"), "names no file"),
        (dir.path().join(&long), "too long"),
    ];
    for (path, needle) in cases {
        for flag in ["--save", "--metrics", "--plot"] {
            let out = train(&["--epochs", "30", flag, s(&path)]);
            one_line_failure(&out, 3, &[flag, needle]);
            assert_no_epoch_ran(&out);
        }
    }
    let legal = dir.path().join("l".repeat(250));
    let out = train(&[
        "--save",
        s(&legal),
        "--metrics",
        s(&legal.with_extension("j")),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = train(&["--resume", s(&legal), "--save", s(&legal), "--epochs", "2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hidden: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "hidden files left: {hidden:?}");
}

/// A directory the process cannot create files in is found before epoch 1. Root writes into
/// any directory whatever its mode, so as root a read-only tmpfs is mounted instead; where
/// neither is possible the case is skipped with a note.
#[test]
fn an_unwritable_directory_is_found_before_epoch_1() {
    let dir = tempfile::tempdir().unwrap();
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    let root = std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false);
    let mounted = root
        && std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs"])
            .arg(&ro)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if !root {
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    } else if !mounted {
        eprintln!("note: running as root without permission to mount a read-only tmpfs; skipped");
        return;
    }
    let out = train(&["--epochs", "30", "--save", s(&ro.join("ck.safetensors"))]);
    if mounted {
        let _ = std::process::Command::new("umount").arg(&ro).status();
    } else {
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    one_line_failure(&out, 3, &["--save", "cannot create files in"]);
    assert_no_epoch_ran(&out);
}

/// The commands that fill a directory refuse one that is a file, and expand-data refuses to
/// write into the directory it reads.
#[test]
fn output_directories_are_checked_too() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain");
    std::fs::write(&file, b"").unwrap();
    one_line_failure(
        &gpu_mlp(&["expand-data", "--out", s(&file)]),
        3,
        &["--out", "not a directory"],
    );
    one_line_failure(
        &gpu_mlp(&[
            "download",
            "mnist",
            "--only-mirrors",
            "--mirror",
            "http://127.0.0.1:9",
            "--dir",
            s(&file),
        ]),
        3,
        &["--dir", "not a directory"],
    );
    let mnist = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist");
    one_line_failure(
        &gpu_mlp(&["expand-data", "--data-dir", s(&mnist), "--out", s(&mnist)]),
        2,
        &["--out", "read from"],
    );
}

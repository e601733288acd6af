//! Sweeps from the command line: every member is exactly its solo run (the same checkpoint
//! bytes, on the CPU and on the GPU), the shards of a sweep merged by `sweep-report` print the
//! unsharded run's table (GNU parallel runs the shards where it is installed), and bad lists
//! and directories are refused with the flag named.

#[path = "common/mod.rs"]
mod common;

use common::{gpu_mlp, ok, s};
use std::path::Path;

/// A small, quick configuration: the nielsen preset on 2,000 images for 2 epochs.
const SMALL: [&str; 8] = [
    "--preset",
    "nielsen",
    "--epochs",
    "2",
    "--train-size",
    "2000",
    "--validation-size",
    "500",
];

fn train(extra: &[&str]) -> std::process::Output {
    let mut args = vec!["train", "--quiet", "--test-size", "500"];
    args.extend_from_slice(&SMALL);
    args.extend_from_slice(extra);
    gpu_mlp(&args)
}

fn bytes(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Two members of a sweep over seeds and η are byte for byte the checkpoints of the solo runs
/// with their flags (weights, optimizer state and progress), on `backend`. The sweep writes its
/// checkpoints and metrics into one directory, as a user naturally would.
fn members_are_their_solo_runs(backend: &str, extra: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let sweep = dir.path().join("sweep");
    let mut args = vec!["--backend", backend, "--seeds", "1-3", "--eta", "3,0.5"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--save", s(&sweep), "--metrics", s(&sweep)]);
    let table = ok(&train(&args));
    assert!(table.contains("over 6 of 6 members"), "{table}");
    for (seed, eta) in [("1", "3"), ("3", "0.5")] {
        let solo = dir.path().join(format!("solo-{seed}-{eta}.safetensors"));
        let mut args = vec!["--backend", backend, "--seed", seed, "--eta", eta];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--save", s(&solo)]);
        ok(&train(&args));
        let member = sweep.join(format!("eta-{eta}_seed-{seed}.safetensors"));
        let metrics = sweep.join(format!("eta-{eta}_seed-{seed}.jsonl"));
        assert_eq!(
            std::fs::read_to_string(&metrics).unwrap().lines().count(),
            2,
            "{}: one line per epoch",
            metrics.display()
        );
        assert!(
            bytes(&member) == bytes(&solo),
            "{backend}: member seed {seed} η {eta} differs from its solo run"
        );
    }
}

#[test]
fn cpu_members_are_their_solo_runs() {
    members_are_their_solo_runs("cpu", &[]);
}

/// The same on the GPU (lavapipe in CI), where the members of a group train in the same
/// dispatches of the fused kernels, and of the per-layer kernels (one z layer of each grid per
/// member).
#[test]
fn gpu_members_are_their_solo_runs() {
    if gpu_mlp(&["devices"]).stdout.is_empty() && std::env::var("CI").is_err() {
        eprintln!("note: no GPU adapter; skipping");
        return;
    }
    members_are_their_solo_runs("vulkan", &["--kernels", "fused"]);
    members_are_their_solo_runs("vulkan", &["--kernels", "per-layer"]);
}

/// Member results are the same on the CPU whether a member trains alone or beside others (the
/// reference's results do not depend on its thread count).
#[test]
fn cpu_results_do_not_depend_on_threads() {
    let dir = tempfile::tempdir().unwrap();
    let run = |threads: &str, name: &str| {
        let path = dir.path().join(name);
        ok(&train(&[
            "--threads",
            threads,
            "--layers",
            "784,300,10",
            "--batch-size",
            "200",
            "--save",
            s(&path),
        ]));
        bytes(&path)
    };
    assert!(run("1", "one.safetensors") == run("2", "two.safetensors"));
}

/// Two shards merged by sweep-report print exactly the unsharded run's table; with GNU
/// parallel installed (CI installs it) the shards run under it, as the README shows.
#[test]
fn shards_merge_into_the_unsharded_table() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole");
    let table = ok(&train(&["--seeds", "1-5", "--save", s(&whole)]));
    let shard_dir = |i: usize| dir.path().join(format!("shard-{i}"));
    let parallel = std::process::Command::new("parallel")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if parallel {
        let mut cmd = vec![
            env!("CARGO_BIN_EXE_gpu-mlp"),
            "train",
            "--quiet",
            "--test-size",
            "500",
        ];
        cmd.extend_from_slice(&SMALL);
        let base = dir.path().join("shard-");
        let line = format!(
            "{} --seeds 1-5 --shard {{}}/2 --save {}{{}}",
            cmd.join(" "),
            s(&base)
        );
        let out = std::process::Command::new("parallel")
            .args(["--halt", "now,fail=1", &line, ":::", "0", "1"])
            .env("XDG_RUNTIME_DIR", std::env::temp_dir())
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("run parallel");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        assert!(
            std::env::var("CI").is_err(),
            "CI=true but GNU parallel is not installed"
        );
        for i in 0..2 {
            let shard = format!("{i}/2");
            ok(&train(&[
                "--seeds",
                "1-5",
                "--shard",
                &shard,
                "--save",
                s(&shard_dir(i)),
            ]));
        }
    }
    let merged = ok(&gpu_mlp(&[
        "sweep-report",
        s(&shard_dir(0)),
        s(&shard_dir(1)),
    ]));
    assert_eq!(merged, table);
    // One shard alone is reported as such, not as the whole sweep.
    let one = gpu_mlp(&["sweep-report", s(&shard_dir(1))]);
    assert!(ok(&one).contains("over 2 of 5 members"));
    assert!(String::from_utf8_lossy(&one.stderr).contains("2 of the sweep's 5 members"));
}

/// Each bad input gets one line naming the flag, and exit code 2.
#[test]
fn bad_lists_and_directories_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = dir.path().join("sweep");
    ok(&train(&["--seeds", "1-2", "--save", s(&sweep)]));
    let max = "--max-members";
    let missing = dir.path().join("no-such-sweep");
    let cases: [(Vec<&str>, &str); 9] = [
        (vec!["--seeds", ""], "--seed"),
        (vec!["--seeds", "5-2"], "backwards"),
        (vec!["--eta", "0.5,,3"], "--eta"),
        (vec!["--seeds", "1-10000", "--eta", "1,2"], max),
        (vec!["--seeds", "1-3", "--shard", "3/2"], "--shard"),
        (vec!["--seeds", "1-3", "--shard", "0/0"], "at least 1"),
        (vec!["--seeds", "1-3", "--resume", s(&missing)], "--resume"),
        (
            vec!["--seeds", "1-3", "--resume", s(&sweep)],
            "another sweep",
        ),
        (vec!["--seeds", "1-2", "--save", s(&sweep)], "--resume"),
    ];
    for (args, needle) in cases {
        let out = train(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

/// `--json` is `--log-format json`: a sweep prints the same JSON lines (every member's epochs,
/// then the results and their distributions) with either flag, the last one the results.
#[test]
fn json_is_log_format_json() {
    let run = |flag: &[&str]| {
        let mut args = vec![
            "train",
            "--backend",
            "cpu",
            "--test-size",
            "500",
            "--seeds",
            "1-2",
        ];
        args.extend_from_slice(&SMALL);
        args.extend_from_slice(flag);
        ok(&gpu_mlp(&args)).to_string()
    };
    // Every line is JSON; the seconds an epoch took are the only fields that may differ.
    let lines = |out: String| -> Vec<serde_json::Value> {
        out.lines()
            .map(|l| {
                let mut v: serde_json::Value =
                    serde_json::from_str(l).expect("every stdout line is JSON");
                if let Some(o) = v.as_object_mut() {
                    o.remove("seconds");
                    o.remove("eval_seconds");
                }
                v
            })
            .collect()
    };
    let json = lines(run(&["--json"]));
    assert_eq!(json, lines(run(&["--log-format", "json"])));
    assert_eq!(
        json.len(),
        2 * 2 + 1,
        "two members' two epochs, then the results"
    );
    let results = &json[4];
    assert_eq!(
        results["results"].as_array().map(Vec::len),
        Some(2),
        "{results}"
    );
    assert!(results["final_test"]["median"].is_number(), "{results}");
}

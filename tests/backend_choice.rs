//! Honest about speed: `--backend auto` (the default) takes a hardware GPU when there is one
//! and the CPU path otherwise, never a software adapter unless asked for (by API or
//! `--adapter`); `--adapter NAME` that matches nothing is an error listing the adapters; the
//! first line of a run (stdout) names the path and why, and a software adapter gets a line
//! saying the CPU path is faster. `compare` states the speed ratio and a verdict against its stated
//! tolerance; `gradcheck` its threshold and PASS. A GPU command run without XDG_RUNTIME_DIR
//! prints nothing about it (a private one is made for the process and removed after).

mod common;

use common::gpu_mlp;
use gpu_mlp::compare::{
    Checkpoint, CompareReport, LayerDiff, PathReport, Sensitivity, Verdict, TOLERANCE,
};
use std::process::Command;

/// One short epoch, with the backend flags appended.
fn train(backend: &[&str]) -> std::process::Output {
    let mut args = vec![
        "train",
        "--epochs",
        "1",
        "--train-size",
        "200",
        "--validation-size",
        "50",
        "--test-size",
        "50",
    ];
    args.extend(backend);
    gpu_mlp(&args)
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `CI=true`: the software adapter must be there (mesa-vulkan-drivers); otherwise a test that
/// needs it is skipped.
fn have_llvmpipe() -> bool {
    let found = gpu_mlp::gpu::list_devices()
        .iter()
        .any(|d| d.name.contains("llvmpipe") && d.backend == "vulkan");
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        found || !ci,
        "CI=true but lavapipe (llvmpipe) is not installed"
    );
    if !found {
        eprintln!("note: no llvmpipe adapter; skipping");
    }
    found
}

#[test]
fn auto_is_the_default_and_passes_over_software_adapters() {
    let hardware = gpu_mlp::gpu::list_devices()
        .into_iter()
        .find(|d| d.device_type != "cpu" && d.backend != "gl");
    for out in [train(&[]), train(&["--backend", "auto"])] {
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        let first = text.lines().next().unwrap_or_default().to_string();
        let header = text.lines().nth(1).unwrap_or_default();
        match &hardware {
            Some(d) => {
                assert!(
                    first.contains(&d.name) && first.contains("the best hardware GPU"),
                    "{first}"
                );
            }
            None => {
                assert!(
                    first.starts_with("backend: cpu (no hardware GPU adapter"),
                    "{first}"
                );
                assert!(
                    header.starts_with("training 784,30,10 (") && header.contains(" with cpu ("),
                    "{header}"
                );
                if have_llvmpipe() {
                    assert_eq!(
                        first,
                        "backend: cpu (no hardware GPU adapter; llvmpipe, a software adapter \
                         slower than the CPU path, skipped — ask for it with --backend vulkan or \
                         --adapter llvmpipe)"
                    );
                    assert!(!text.contains("software adapter (the shaders"), "{text}");
                }
            }
        }
    }
}

#[test]
fn a_software_adapter_when_asked_for_by_name_or_api_with_a_line_that_the_cpu_is_faster() {
    if !have_llvmpipe() {
        return;
    }
    for (flags, why) in [
        (
            &["--backend", "auto", "--adapter", "llvmpipe"][..],
            "(--backend auto --adapter llvmpipe)",
        ),
        (
            &["--backend", "vulkan"][..],
            "(asked for with --backend vulkan)",
        ),
    ] {
        let out = train(flags);
        let err = stdout(&out);
        assert!(out.status.success(), "{}", stderr(&out));
        let lines: Vec<&str> = err.lines().collect();
        assert!(
            lines[0].starts_with("backend: vulkan: llvmpipe") && lines[0].ends_with(why),
            "{err}"
        );
        assert!(
            lines[1].starts_with("note: llvmpipe")
                && lines[1].ends_with("the CPU path, --backend cpu, is faster on this machine"),
            "{err}"
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains(" with vulkan: llvmpipe"));
    }
    // The CPU path asked for says so, and nothing about software adapters.
    let out = train(&["--backend", "cpu"]);
    assert_eq!(
        stdout(&out).lines().next(),
        Some("backend: cpu (asked for with --backend cpu)")
    );
    // --quiet keeps stdout to the summary, and stderr says nothing either.
    let out = train(&["--backend", "vulkan", "--quiet"]);
    assert!(
        stdout(&out).starts_with("completed after 1 epoch"),
        "{}",
        stdout(&out)
    );
    assert!(!stderr(&out).contains("backend:"), "{}", stderr(&out));
}

#[test]
fn auto_with_an_adapter_that_is_not_there_is_an_error_naming_the_adapters() {
    let out = train(&["--backend", "auto", "--adapter", "nonexistent"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(err.starts_with("error: --adapter \"nonexistent\": no Vulkan, Metal or DX12 adapter whose name contains \"nonexistent\""), "{err}");
    for d in gpu_mlp::gpu::list_devices() {
        assert!(err.contains(&d.short()), "{} not listed: {err}", d.short());
    }
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("epoch"),
        "it must not train"
    );
}

/// A report with the given drift and times, for the verdict and the speed sentence.
fn report(drift: f32, cpu_s: f64, gpu_s: f64, accuracies: (f64, f64)) -> CompareReport {
    let at = |steps| Checkpoint {
        steps,
        layers: vec![LayerDiff {
            layer: 0,
            max_abs_dw: drift,
            max_abs_db: drift / 2.0,
        }],
    };
    let path = |backend: &str, test_accuracy, s| PathReport {
        backend: backend.to_string(),
        test_accuracy,
        epoch_seconds: vec![s],
        seconds_per_epoch: s,
    };
    CompareReport {
        network: "784,30,10".into(),
        batch_size: 10,
        epochs: 1,
        after_one_step: at(1),
        after_k_steps: at(100),
        after_epochs: at(5000),
        cpu: path("cpu", accuracies.0, cpu_s),
        gpu: path("a long GPU adapter name", accuracies.1, gpu_s),
        speedup: cpu_s / gpu_s,
        gpu_kernel_seconds: None,
        tolerance: TOLERANCE,
        sensitivity: Sensitivity {
            max_abs_after_k_steps: 2e-7,
            test_accuracy_points: 0.0,
        },
        agree: true,
        verdict: Verdict::Pass,
    }
    .judged()
}

#[test]
fn compare_states_the_speed_ratio_and_a_verdict_against_its_tolerance() {
    let ok = report(7e-7, 0.2, 3.8, (0.9112, 0.9109));
    let text = ok.to_string();
    assert!(
        text.contains("\nspeed: the GPU path is 19× slower than the CPU path\n"),
        "{text}"
    );
    assert!(
        text.ends_with(
            "verdict: PASS, the paths agree (tolerance: |dW|, |db| ≤ 1e-3 after 1 and 100 steps, \
         found 7.00e-7; test accuracies within 1 point, found 0.03)"
        ),
        "{text}"
    );
    assert!(report(7e-7, 1.0, 0.25, (0.9, 0.9))
        .to_string()
        .contains("the GPU path is 4.0× faster"));
    // Columns line up: the two paths' figures start at one column, the table's too.
    let col = |l: &str, what: &str| l.find(what).unwrap_or_else(|| panic!("{what} in {l}"));
    let paths: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("test accuracy"))
        .collect();
    assert_eq!(
        col(paths[0], "test accuracy"),
        col(paths[1], "test accuracy"),
        "{text}"
    );
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("after ")).collect();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r.len() == rows[0].len()), "{text}");
    // Beyond either bound the verdict is FAIL, and NaN never passes.
    for bad in [
        report(2e-3, 0.2, 3.8, (0.9, 0.9)),
        report(1e-7, 0.2, 3.8, (0.91, 0.89)),
        report(f32::NAN, 0.2, 3.8, (0.9, 0.9)),
    ] {
        assert!(!bad.agree);
        assert_eq!(bad.verdict, Verdict::Fail);
        assert!(bad
            .to_string()
            .contains("verdict: FAIL, the paths disagree"));
    }
}

/// A configuration that amplifies rounding (the CPU path against itself 1 ulp apart drifts
/// past the tolerance) makes later differences inconclusive, but never the first step's: a
/// path wrong in its first step fails whatever the sensitivity.
#[test]
fn compare_is_inconclusive_only_where_the_configuration_amplifies_rounding() {
    let sensitive = Sensitivity {
        max_abs_after_k_steps: 0.08,
        test_accuracy_points: 3.0,
    };
    let mut drifted = report(0.1, 0.2, 3.8, (0.34, 0.29));
    drifted.after_one_step.layers[0].max_abs_dw = 2.4e-7;
    drifted.after_one_step.layers[0].max_abs_db = 1.2e-7;
    let calm = drifted.clone().judged();
    assert_eq!(
        calm.verdict,
        Verdict::Fail,
        "not sensitive: the drift is a failure"
    );
    let chaotic = CompareReport {
        sensitivity: sensitive,
        ..drifted.clone()
    }
    .judged();
    assert!(!chaotic.agree);
    assert_eq!(chaotic.verdict, Verdict::Inconclusive);
    let text = chaotic.to_string();
    assert!(text.contains("verdict: INCONCLUSIVE"), "{text}");
    assert!(
        text.contains("sensitivity: the CPU path from every parameter 1 ulp up differs from itself by 8.00e-2 after 100 steps and 3.00 points"),
        "{text}"
    );
    let wrong_first_step = CompareReport {
        sensitivity: sensitive,
        ..report(0.1, 0.2, 3.8, (0.34, 0.29))
    }
    .judged();
    assert_eq!(wrong_first_step.verdict, Verdict::Fail);
    let json = serde_json::to_string(&chaotic).unwrap();
    assert!(json.contains("\"verdict\":\"inconclusive\""), "{json}");
}

#[test]
fn compare_on_the_gpu_ends_with_its_verdict() {
    if !have_llvmpipe() {
        return;
    }
    let out = gpu_mlp(&[
        "compare",
        "--train-size",
        "500",
        "--validation-size",
        "50",
        "--test-size",
        "200",
        "--steps",
        "10",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", stderr(&out));
    let speed = text
        .lines()
        .find(|l| l.starts_with("speed: the GPU path is "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        speed.ends_with("slower than the CPU path")
            || speed.ends_with("faster than the CPU path")
            || speed.ends_with("as fast as the CPU path"),
        "{speed}"
    );
    let last = text.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(
            "verdict: PASS, the paths agree (tolerance: |dW|, |db| ≤ 1e-3 after 1 and 10 steps"
        ),
        "{text}"
    );
}

#[test]
fn gradcheck_prints_its_threshold_and_pass() {
    let out = gpu_mlp(&["gradcheck", "--samples", "2", "--hidden", "4"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", stderr(&out));
    let worst = text
        .lines()
        .filter(|l| l.starts_with("sigmoid") || l.starts_with("softmax"))
        .flat_map(|l| {
            l.split_whitespace()
                .rev()
                .take(2)
                .map(|v| v.parse::<f64>().unwrap())
                .collect::<Vec<_>>()
        })
        .fold(0.0, f64::max);
    let last = text.lines().last().unwrap_or_default();
    assert_eq!(
        last,
        format!("PASS: largest relative error {worst:.3e} ≤ threshold 1e-4"),
        "{text}"
    );
}

/// Without XDG_RUNTIME_DIR (CI's, cron's, sudo's environment) Mesa would print "error:
/// XDG_RUNTIME_DIR is invalid or not set"; gpu-mlp gives the process a private one, and the
/// temporary directory it was made in is empty again afterwards.
#[test]
fn a_gpu_command_without_xdg_runtime_dir_prints_nothing_about_it() {
    if !have_llvmpipe() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for value in [None, Some("relative/dir")] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gpu-mlp"));
        cmd.args([
            "train",
            "--backend",
            "vulkan",
            "--epochs",
            "1",
            "--train-size",
            "100",
            "--validation-size",
            "10",
            "--test-size",
            "10",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("TMPDIR", tmp.path())
        .env_remove("XDG_RUNTIME_DIR");
        if let Some(v) = value {
            cmd.env("XDG_RUNTIME_DIR", v);
        }
        let out = cmd.output().unwrap();
        let err = stderr(&out);
        assert!(out.status.success(), "{err}");
        assert!(!err.contains("XDG_RUNTIME_DIR"), "{err}");
        assert!(
            stdout(&out).starts_with("backend: vulkan: llvmpipe"),
            "{}",
            stdout(&out)
        );
        let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}

//! `gpu-mlp selftest` as a user runs it: on lavapipe every check passes and the count is
//! printed; a planted error (one result perturbed before its comparison) fails the run with
//! exit code 6, FAIL naming the kernel, the element and both values, and a report file
//! with the adapter, the version and the failing pipeline's WGSL. `--quick` keeps CI short; the
//! full set runs through the thin callers in tests/gpu_kernels.rs, cpu_vs_gpu.rs,
//! gpu_determinism.rs and numerics.rs.

mod gpu_support;

use gpu_support::{context, gpu_mlp};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every check passes on the test adapter; the adapter line, the limits and the verdict with
/// the count of checks are printed.
#[test]
fn every_check_passes_on_lavapipe() {
    if context().is_none() {
        return;
    }
    let out = gpu_mlp(&["selftest", "--backend", "vulkan", "--quick"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}\n{stdout}", text(&out.stderr));
    assert!(stdout.starts_with("adapter: "), "{stdout}");
    assert!(stdout.contains("backend vulkan") && stdout.contains("limits used: "));
    assert!(!stdout.contains("FAIL"), "{stdout}");
    let lines = stdout.lines().filter(|l| l.starts_with("  PASS  ")).count();
    let verdict = stdout
        .lines()
        .find(|l| l.starts_with("PASS: "))
        .unwrap_or_else(|| panic!("no verdict in {stdout}"));
    assert!(
        verdict.starts_with(&format!("PASS: {lines} of {lines} checks passed on ")),
        "{verdict} after {lines} PASS lines"
    );
    assert!(lines > 50, "{lines} checks");
    for family in [
        "gather",
        "forward_hidden_blocked_k4",
        "update_adam_tiled",
        "end_to_end",
    ] {
        assert!(stdout.contains(&format!("  PASS  {family} ")), "{family}");
    }
    // Where the Vulkan adapter is a software one with subgroups of exactly 8 (lavapipe on
    // 256-bit SIMD), as `devices --json` reports it, the subgroup products run and are held to
    // the CPU reference and to the bits of the products they replace.
    let devices: serde_json::Value =
        serde_json::from_slice(&gpu_mlp(&["devices", "--json"]).stdout).expect("devices --json");
    let lanes = devices.as_array().into_iter().flatten().any(|d| {
        d["backend"] == "vulkan"
            && d["device_type"] == "cpu"
            && d["subgroups"] == serde_json::json!([8, 8])
    });
    if lanes {
        for name in [
            "forward_hidden_lanes_k4",
            "forward_hidden_lanes_k4==blocked_k4",
            "forward_hidden_lanes==blocked",
            "backprop_lanes==backprop_blocked",
            "update_adam_lanes==blocked",
            "update_adam_gradient_lanes",
            "update_adam_gradient_lanes==gradient_vec4",
        ] {
            assert!(
                stdout.contains(&format!("  PASS  {name} ")),
                "{name}\n{stdout}"
            );
        }
    } else {
        assert!(!stdout.contains("_lanes"), "{stdout}");
    }
    assert!(stdout.trim_end().ends_with(&format!(
        "verdict: PASS ({lines} checks on 1 adapter(s), 0 failed)"
    )));
}

/// A planted error in forward_hidden_tiled, with `--json` and `--report`: exit code 6
/// (documented in --help), a one-line error naming the kernel; in the JSON, failed checks of
/// that kernel only, each with the first differing element and both values; and a report file
/// with what a bug report needs, the FAIL lines as the text output prints them and the failing
/// pipeline's WGSL.
#[test]
fn a_planted_error_fails_with_the_kernel_named() {
    if context().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.txt");
    let out = gpu_mlp(&[
        "selftest",
        "--backend",
        "vulkan",
        "--quick",
        "--json",
        "--plant-error",
        "forward_hidden_tiled",
        "--report",
        report.to_str().unwrap(),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    let error = stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_default();
    assert!(
        error.contains("selftest failed") && error.contains("forward_hidden_tiled"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["passed"], false);
    assert!(v["verdict"].as_str().unwrap().starts_with("verdict: FAIL"));
    let checks = v["adapters"][0]["checks"].as_array().unwrap();
    let failed: Vec<&serde_json::Value> = checks.iter().filter(|c| c["passed"] == false).collect();
    assert!(!failed.is_empty());
    for c in &failed {
        assert_eq!(c["name"], "forward_hidden_tiled", "{c}");
        let why = c["failure"].as_str().unwrap();
        assert!(
            why.contains("results outside their bounds; the first: ")
                && why.contains(": gpu ")
                && why.contains(", cpu reference "),
            "{why}"
        );
    }
    assert!(checks.iter().all(|c| c["bound"].is_number()));
    let report = std::fs::read_to_string(&report).expect("the report was written");
    for needle in [
        concat!("gpu-mlp ", env!("CARGO_PKG_VERSION"), " selftest report"),
        "backend:      vulkan",
        "driver:",
        "limits used: max_storage_buffers_per_shader_stage ",
        "verdict: FAIL",
        "  FAIL  forward_hidden_tiled ",
        "---- WGSL of forward_hidden_tiled ----",
        "fn epilogue(row: u32, col: u32, acc: f32)",
        "// override TRANS_B = 1",
    ] {
        assert!(
            report.contains(needle),
            "{needle:?} not in the report:\n{report}"
        );
    }
    assert!(!report.contains("WGSL of forward_output_tiled"), "{report}");
}

/// The CPU has nothing to check against itself: a bad flag (exit 2), one line.
#[test]
fn the_cpu_backend_is_refused() {
    let out = gpu_mlp(&["selftest", "--backend", "cpu"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("error: --backend cpu"), "{stderr}");
}

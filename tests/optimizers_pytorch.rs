//! AdaGrad and RMSprop are PyTorch's `torch.optim.Adagrad` and `torch.optim.RMSprop`: given the
//! same gradients, gpu-mlp's CPU update rule (`cpu::optimizer::UpdateRule`, which the GPU's
//! update kernels are held against by the self-test's `update` family) and a numpy
//! transcription of PyTorch's documented update, run in float32
//! (tests/python/torch_optimizers.py; PyTorch itself is too large for CI, the script also runs
//! the real `torch.optim` classes where torch can be imported), agree to f32 rounding.
//!
//! Uses $GPU_MLP_PYTHON (default python3) with numpy; skipped when it is missing unless
//! GPU_MLP_REQUIRE_PYTHON=1 (CI sets both).

use gpu_mlp::config::{Optimizer, OptimizerKind, StepHyper};
use gpu_mlp::cpu::optimizer::UpdateRule;
use serde_json::json;
use std::path::Path;
use std::process::Command;

/// Steps in each case.
const STEPS: usize = 40;
/// Parameters in each case.
const N: usize = 64;

/// Parameter i's starting value: magnitudes from 1e-3 to 3, both signs, one exact 0.
fn start(i: usize) -> f32 {
    if i == 0 {
        return 0.0;
    }
    let sign = if i.is_multiple_of(3) { -1.0 } else { 1.0 };
    sign * 10f32.powf(-3.0 + 3.5 * (i as f32 / N as f32)) * (1.0 + (i as f32 * 0.37).sin() * 0.3)
}

/// The summed gradient of parameter i at step t (from 0) over a mini-batch: magnitudes from
/// 1e-7 to 10 that drift and change sign, exact zeros for a few parameters at the start
/// (AdaGrad's and RMSprop's state is still 0 there, so g/(√s + ε) is 0/ε) and for one
/// parameter always.
fn summed_gradient(i: usize, t: usize) -> f32 {
    if i == 1 || (i % 7 == 2 && t < 3) {
        return 0.0;
    }
    let scale = 10f32.powf(-7.0 + 8.0 * ((i * 37 % N) as f32 / N as f32));
    let phase = (i as f32 * 0.91 + t as f32 * 0.43).sin();
    let drift = 1.0 + 0.5 * ((t as f32 * 0.17 + i as f32).cos());
    scale * phase * drift * 7.0
}

/// One case: the optimizer, η, ρ, ε, λ/n and the mini-batch size m.
struct Case {
    kind: OptimizerKind,
    eta: f32,
    rho: f32,
    epsilon: f32,
    lambda: f32,
    n_train: usize,
    rows: usize,
}

/// Runs gpu-mlp's update rule over the case and returns what the Python check reads: the
/// constants as gpu-mlp holds them (f32), the start, the mean gradient (1/m)Σ∂C/∂w of each
/// step as gpu-mlp computes it (PyTorch's `p.grad`), and gpu-mlp's parameters and state after
/// each step.
fn run(case: &Case) -> serde_json::Value {
    let mut o = Optimizer {
        kind: case.kind,
        rho: case.rho,
        ..Optimizer::default()
    };
    match case.kind {
        OptimizerKind::Adagrad => o.adagrad_epsilon = case.epsilon,
        _ => o.rmsprop_epsilon = case.epsilon,
    }
    let hyper = StepHyper {
        eta: case.eta,
        lambda: case.lambda,
        n_train: case.n_train,
        batch_size: case.rows,
        optimizer: o,
    };
    let mut w: Vec<f32> = (0..N).map(start).collect();
    let w0 = w.clone();
    let mut state = vec![0.0f32; N];
    let (mut grads, mut params, mut states) = (Vec::new(), Vec::new(), Vec::new());
    for t in 0..STEPS {
        let rule = UpdateRule::new(&hyper, case.rows, t as u64 + 1);
        let summed: Vec<f32> = (0..N).map(|i| summed_gradient(i, t)).collect();
        grads.push(
            summed
                .iter()
                .map(|g| g * rule.c.inv_rows)
                .collect::<Vec<f32>>(),
        );
        rule.apply(&mut w, &summed, &mut [&mut state]);
        params.push(w.clone());
        states.push(state.clone());
    }
    let c = UpdateRule::new(&hyper, case.rows, 1).c;
    json!({
        "kind": format!("{:?}", case.kind).to_lowercase(),
        "lr": c.eta,
        "alpha": c.rho,
        "eps": c.epsilon,
        "weight_decay": c.decay,
        "params0": w0,
        "grads": grads,
        "params": params,
        "state": states,
    })
}

/// The Python interpreter with numpy, or None (skip) when it is missing and not required.
fn python() -> Option<String> {
    let python = std::env::var("GPU_MLP_PYTHON").unwrap_or_else(|_| "python3".into());
    let required = std::env::var("GPU_MLP_REQUIRE_PYTHON").is_ok_and(|v| v == "1");
    let found = Command::new(&python)
        .args(["-c", "import numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    match (found, required) {
        (true, _) => Some(python),
        (false, true) => panic!("GPU_MLP_REQUIRE_PYTHON=1 but {python} cannot import numpy"),
        (false, false) => {
            eprintln!(
                "skipped: {python} cannot import numpy (pip install numpy, or set GPU_MLP_PYTHON)"
            );
            None
        }
    }
}

/// AdaGrad and RMSprop, each with its defaults, with L2 (PyTorch's weight_decay = λ/n) and
/// mini-batches of 1 and 10, and RMSprop with ρ = 0.9 and a large ε, agree with PyTorch's update
/// to f32 rounding, both one step at a time from gpu-mlp's own state and over 40 steps run
/// independently (the bounds are stated and argued in the script).
#[test]
fn adagrad_and_rmsprop_agree_with_pytorch() {
    let Some(python) = python() else { return };
    let cases = [
        (OptimizerKind::Adagrad, 0.01, 0.99, 1e-10, 0.0, 1),
        (OptimizerKind::Adagrad, 0.5, 0.99, 1e-10, 5.0, 10),
        (OptimizerKind::Adagrad, 0.1, 0.99, 1e-3, 1.0, 7),
        (OptimizerKind::Rmsprop, 0.01, 0.99, 1e-8, 0.0, 1),
        (OptimizerKind::Rmsprop, 0.001, 0.99, 1e-8, 5.0, 10),
        (OptimizerKind::Rmsprop, 0.01, 0.9, 1e-3, 1.0, 7),
    ];
    let cases: Vec<serde_json::Value> = cases
        .into_iter()
        .map(|(kind, eta, rho, epsilon, lambda, rows)| {
            run(&Case {
                kind,
                eta,
                rho,
                epsilon,
                lambda,
                n_train: 50,
                rows,
            })
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("updates.json");
    std::fs::write(&path, json!({ "cases": cases }).to_string()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/torch_optimizers.py");
    let out = Command::new(&python)
        .arg(script)
        .arg(&path)
        .output()
        .expect("run python");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["cases"], 6, "{report}");
    assert_eq!(report["comparisons"], 6 * STEPS * N * 2 * 2, "{report}");
    eprintln!("{report}");
}

/// The check can fail: gpu-mlp's RMSprop with ε inside the square root (√(v + ε), as
/// TensorFlow's RMSprop has it), or AdaGrad with an accumulator starting at 0.1 (TensorFlow's
/// default), is refused by the script.
#[test]
fn the_pytorch_check_catches_a_different_definition() {
    let Some(python) = python() else { return };
    let mut changed = run(&Case {
        kind: OptimizerKind::Rmsprop,
        eta: 0.01,
        rho: 0.99,
        epsilon: 1e-3,
        lambda: 0.0,
        n_train: 50,
        rows: 1,
    });
    // Redo gpu-mlp's side with ε inside the square root.
    let (lr, alpha, eps) = (0.01f32, 0.99f32, 1e-3f32);
    let mut w: Vec<f32> = (0..N).map(start).collect();
    let mut v = vec![0.0f32; N];
    let mut params = Vec::new();
    for t in 0..STEPS {
        for i in 0..N {
            let g = summed_gradient(i, t);
            v[i] = v[i] * alpha + (1.0 - alpha) * g * g;
            w[i] -= lr * g / (v[i] + eps).sqrt();
        }
        params.push(w.clone());
    }
    changed["params"] = json!(params);
    // And AdaGrad with its sum of squares starting at 0.1.
    let mut adagrad = run(&Case {
        kind: OptimizerKind::Adagrad,
        eta: 0.01,
        rho: 0.99,
        epsilon: 1e-10,
        lambda: 0.0,
        n_train: 50,
        rows: 1,
    });
    let mut w: Vec<f32> = (0..N).map(start).collect();
    let mut s = vec![0.1f32; N];
    let (mut params, mut states) = (Vec::new(), Vec::new());
    for t in 0..STEPS {
        for i in 0..N {
            let g = summed_gradient(i, t);
            s[i] += g * g;
            w[i] -= 0.01 * g / (s[i].sqrt() + 1e-10);
        }
        params.push(w.clone());
        states.push(s.clone());
    }
    adagrad["params"] = json!(params);
    adagrad["state"] = json!(states);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/torch_optimizers.py");
    let dir = tempfile::tempdir().unwrap();
    for (what, case) in [
        ("ε inside the root", changed),
        ("accumulator from 0.1", adagrad),
    ] {
        let path = dir.path().join("updates.json");
        std::fs::write(&path, json!({ "cases": [case] }).to_string()).unwrap();
        let out = Command::new(&python)
            .arg(&script)
            .arg(&path)
            .output()
            .expect("run python");
        assert!(!out.status.success(), "{what} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("disagree") && !stderr.contains("Traceback"),
            "{what}: {stderr}"
        );
    }
}

//! `gpu-mlp explain` shows the right numbers: every gradient it prints (and z, a, δ, C and the
//! updated parameters) is held against values derived in this file by hand, from the chain
//! rule written out for the network, not through the library's backprop; its finite-difference
//! column against central differences computed here in f64; and, on a GPU, the step there
//! against the CPU's.

mod gpu_support;

use gpu_support::{context, gpu_mlp};
use serde_json::Value;

/// README's 2-2-2 network, without its sample.
const MAZUR_NET: [&str; 10] = [
    "--layers",
    "2,2,2",
    "--weights",
    "0.15,0.2,0.25,0.3:0.4,0.45,0.5,0.55",
    "--biases",
    "0.35,0.35:0.6,0.6",
    "--input",
    "0.05,0.1",
    "--eta",
    "0.5",
];

fn explain_json(args: &[&str]) -> Value {
    let mut all = vec!["explain", "--json"];
    all.extend(args);
    let out = gpu_mlp(&all);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// A JSON number that gpu-mlp holds as f32, widened as gpu-mlp widens it.
fn f32s(v: &Value) -> Vec<f64> {
    f64s(v).iter().map(|&x| x as f32 as f64).collect()
}

fn matrix(v: &Value, f: fn(&Value) -> Vec<f64>) -> Vec<Vec<f64>> {
    v.as_array().unwrap().iter().map(f).collect()
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// The network as the test sees it: W (rows = units) and b per layer.
#[derive(Clone)]
struct Net {
    w: Vec<Vec<Vec<f64>>>,
    b: Vec<Vec<f64>>,
    softmax: bool,
    cross_entropy: bool,
}

/// The forward pass by hand: (z, a) of every layer.
fn forward(net: &Net, x: &[f64]) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let (mut zs, mut acts) = (Vec::new(), vec![x.to_vec()]);
    for (l, (w, b)) in net.w.iter().zip(&net.b).enumerate() {
        let a_in = acts.last().unwrap();
        let z: Vec<f64> = w
            .iter()
            .zip(b)
            .map(|(row, bj)| row.iter().zip(a_in).map(|(wk, ak)| wk * ak).sum::<f64>() + bj)
            .collect();
        let a = if l == net.w.len() - 1 && net.softmax {
            let e: Vec<f64> = z.iter().map(|v| v.exp()).collect();
            let s: f64 = e.iter().sum();
            e.iter().map(|v| v / s).collect()
        } else {
            z.iter().map(|&v| sigmoid(v)).collect()
        };
        zs.push(z);
        acts.push(a);
    }
    (zs, acts)
}

/// C for target y, from its definition.
fn cost(net: &Net, x: &[f64], y: &[f64]) -> f64 {
    let (_, acts) = forward(net, x);
    let a = acts.last().unwrap();
    match (net.cross_entropy, net.softmax) {
        (false, _) => 0.5 * a.iter().zip(y).map(|(a, y)| (y - a).powi(2)).sum::<f64>(),
        (true, false) => -a
            .iter()
            .zip(y)
            .map(|(a, y)| y * a.ln() + (1.0 - y) * (1.0 - a).ln())
            .sum::<f64>(),
        (true, true) => -a.iter().zip(y).map(|(a, y)| y * a.ln()).sum::<f64>(),
    }
}

/// The four equations by hand: δ of every layer, then ∂C/∂W = δ a_inᵀ and ∂C/∂b = δ.
#[allow(clippy::type_complexity)]
fn by_hand(net: &Net, x: &[f64], y: &[f64]) -> (Vec<Vec<f64>>, Vec<Vec<Vec<f64>>>, Vec<Vec<f64>>) {
    let (_, acts) = forward(net, x);
    let n = net.w.len();
    let out = &acts[n];
    // BP1.
    let top: Vec<f64> = match (net.cross_entropy, net.softmax) {
        (true, _) => out.iter().zip(y).map(|(a, y)| a - y).collect(),
        (false, false) => out
            .iter()
            .zip(y)
            .map(|(a, y)| (a - y) * a * (1.0 - a))
            .collect(),
        (false, true) => {
            // δ_j = Σ_k (∂a_k/∂z_j)(a_k − y_k), ∂a_k/∂z_j = a_k(δ_kj − a_j).
            (0..out.len())
                .map(|j| {
                    (0..out.len())
                        .map(|k| {
                            let jac = out[k] * (if k == j { 1.0 } else { 0.0 } - out[j]);
                            jac * (out[k] - y[k])
                        })
                        .sum()
                })
                .collect()
        }
    };
    let mut deltas = vec![Vec::new(); n];
    deltas[n - 1] = top;
    // BP2.
    for l in (0..n - 1).rev() {
        let a = &acts[l + 1];
        deltas[l] = (0..a.len())
            .map(|k| {
                let back: f64 = (0..deltas[l + 1].len())
                    .map(|j| net.w[l + 1][j][k] * deltas[l + 1][j])
                    .sum();
                back * a[k] * (1.0 - a[k])
            })
            .collect();
    }
    // BP4 and BP3.
    let gw = (0..n)
        .map(|l| {
            deltas[l]
                .iter()
                .map(|d| acts[l].iter().map(|a| d * a).collect())
                .collect()
        })
        .collect();
    let gb = deltas.clone();
    (deltas, gw, gb)
}

fn close(what: &str, got: f64, want: f64, rel: f64) {
    let bound = rel * want.abs().max(1e-12);
    assert!(
        (got - want).abs() <= bound,
        "{what}: explain printed {got}, by hand {want} (bound {bound:e})"
    );
}

/// Holds one `explain --json` against the hand derivation: z, a, C, every δ, every ∂C/∂W and
/// ∂C/∂b, every finite difference against central differences of `cost` computed here with
/// the printed h, every relative difference, and the SGD update W − η∂C/∂W in f32.
fn check(json: &Value, softmax: bool, cross_entropy: bool) -> Net {
    let steps = json["steps"].as_array().unwrap();
    let net = Net {
        w: steps.iter().map(|s| matrix(&s["weight"], f32s)).collect(),
        b: steps.iter().map(|s| f32s(&s["bias"])).collect(),
        softmax,
        cross_entropy,
    };
    let x = f32s(&json["sample"]["input"]);
    let y = f32s(&json["sample"]["target"]);
    let (zs, acts) = forward(&net, &x);
    let (deltas, gw, gb) = by_hand(&net, &x, &y);
    close(
        "C",
        json["cost"].as_f64().unwrap(),
        cost(&net, &x, &y),
        1e-12,
    );
    let h = json["h"].as_f64().unwrap();
    let eta = json["eta"].as_f64().unwrap() as f32;
    let mut compared = 0;
    for (l, s) in steps.iter().enumerate() {
        let name = |q: &str, i: usize| format!("layer {} {q}[{i}]", l + 2);
        for (i, v) in f64s(&s["z"]).iter().enumerate() {
            close(&name("z", i), *v, zs[l][i], 1e-12);
        }
        for (i, v) in f64s(&s["a"]).iter().enumerate() {
            close(&name("a", i), *v, acts[l + 1][i], 1e-12);
        }
        for (i, v) in f64s(&s["delta"]).iter().enumerate() {
            close(&name("δ", i), *v, deltas[l][i], 1e-10);
        }
        // The factors printed beside BP1 and BP2: ∇ₐC (output) or (Wˡ⁺¹)ᵀδˡ⁺¹, and
        // σ'(z) = a(1 − a) (for a softmax, its Jacobian's diagonal).
        let a = &acts[l + 1];
        let first: Vec<f64> = if l == steps.len() - 1 {
            a.iter()
                .zip(&y)
                .map(|(&a, &y)| match (cross_entropy, softmax) {
                    (false, _) => a - y,
                    (true, false) => -y / a + (1.0 - y) / (1.0 - a),
                    (true, true) => -y / a,
                })
                .collect()
        } else {
            (0..a.len())
                .map(|k| {
                    (0..deltas[l + 1].len())
                        .map(|j| net.w[l + 1][j][k] * deltas[l + 1][j])
                        .sum()
                })
                .collect()
        };
        for (i, v) in f64s(&s["delta_first_factor"]).iter().enumerate() {
            close(&name("BP1/BP2 first factor", i), *v, first[i], 1e-10);
        }
        for (i, v) in f64s(&s["sigma_prime"]).iter().enumerate() {
            close(&name("σ'", i), *v, a[i] * (1.0 - a[i]), 1e-12);
        }
        let (g, fd, rel) = (
            matrix(&s["grad_weight"], f64s),
            matrix(&s["fd_weight"], f64s),
            matrix(&s["relative_difference_weight"], f64s),
        );
        let (gbias, fdb, relb) = (
            f64s(&s["grad_bias"]),
            f64s(&s["fd_bias"]),
            f64s(&s["relative_difference_bias"]),
        );
        let after = matrix(&s["weight_after"], f32s);
        let after_b = f32s(&s["bias_after"]);
        // The finite differences here: (C(θ+h) − C(θ−h))/2h with this file's C.
        let central = |is_weight: bool, j: usize, k: usize| {
            let mut up = net.clone();
            let mut down = net.clone();
            if is_weight {
                up.w[l][j][k] += h;
                down.w[l][j][k] -= h;
            } else {
                up.b[l][j] += h;
                down.b[l][j] -= h;
            }
            (cost(&up, &x, &y) - cost(&down, &x, &y)) / (2.0 * h)
        };
        let scale = g
            .iter()
            .flatten()
            .chain(&fd.concat())
            .fold(0.0f64, |m, v| m.max(v.abs()));
        let scale_b = gbias.iter().chain(&fdb).fold(0.0f64, |m, v| m.max(v.abs()));
        for j in 0..g.len() {
            for k in 0..g[j].len() {
                let at = format!("layer {} ∂C/∂W[{j}][{k}]", l + 2);
                close(&at, g[j][k], gw[l][j][k], 1e-10);
                // Two f64 evaluations of C in different orders differ by ~1e-16·C; divided by
                // 2h that is ~1e-12 absolute.
                let mine = central(true, j, k);
                assert!(
                    (fd[j][k] - mine).abs() <= 1e-11,
                    "{at}: fd {} here {mine}",
                    fd[j][k]
                );
                let floor = (scale * 1e-6).max(f64::MIN_POSITIVE);
                let want =
                    (g[j][k] - fd[j][k]).abs() / g[j][k].abs().max(fd[j][k].abs()).max(floor);
                // (The JSON's numbers read back within an ulp, ~1e-17 here, so the ratio of a
                // difference of ~1e-11 is reproduced to ~1e-15.)
                assert!(
                    (rel[j][k] - want).abs() <= 1e-14,
                    "{at}: relative difference {} here {want}",
                    rel[j][k]
                );
                let w = net.w[l][j][k] as f32;
                let stepped = w - eta * gw[l][j][k] as f32;
                close(
                    &format!("{at} after the step"),
                    after[j][k],
                    stepped as f64,
                    1e-6,
                );
                compared += 1;
            }
            let at = format!("layer {} ∂C/∂b[{j}]", l + 2);
            close(&at, gbias[j], gb[l][j], 1e-10);
            let mine = central(false, j, 0);
            assert!(
                (fdb[j] - mine).abs() <= 1e-11,
                "{at}: fd {} here {mine}",
                fdb[j]
            );
            let floor = (scale_b * 1e-6).max(f64::MIN_POSITIVE);
            let want = (gbias[j] - fdb[j]).abs() / gbias[j].abs().max(fdb[j].abs()).max(floor);
            assert!(
                (relb[j] - want).abs() <= 1e-14,
                "{at}: relative difference {} here {want}",
                relb[j]
            );
            let stepped = net.b[l][j] as f32 - eta * gb[l][j] as f32;
            close(
                &format!("{at} after the step"),
                after_b[j],
                stepped as f64,
                1e-6,
            );
            compared += 1;
        }
    }
    assert_eq!(
        compared,
        json["layers"]
            .as_array()
            .unwrap()
            .windows(2)
            .map(|w| {
                let (i, o) = (w[0].as_u64().unwrap(), w[1].as_u64().unwrap());
                (i * o + o) as usize
            })
            .sum::<usize>()
    );
    net
}

/// The 2-2-2 network of README's "one step by hand" (Matt Mazur's worked example: sigmoid
/// units, quadratic cost, η = 0.5): every printed number against the hand derivation, and the
/// example's own published results, E = 0.298371109, ∂E/∂w₅ = 0.082167041, w₅ → 0.35891648,
/// w₁ → 0.149780716 (to the 1e-7 that the f32 parameters allow).
#[test]
fn the_two_two_two_step_agrees_with_the_hand_derivation_and_the_worked_example() {
    let mut args = MAZUR_NET.to_vec();
    args.extend(["--target", "0.01,0.99"]);
    let json = explain_json(&args);
    check(&json, false, false);
    let close7 = |what: &str, got: f64, want: f64| {
        assert!(
            (got - want).abs() < 1e-7,
            "{what}: {got} vs the example's {want}"
        );
    };
    let s = &json["steps"];
    close7("E", json["cost"].as_f64().unwrap(), 0.298371109);
    close7(
        "∂E/∂w5",
        s[1]["grad_weight"][0][0].as_f64().unwrap(),
        0.082167041,
    );
    close7(
        "w5+",
        s[1]["weight_after"][0][0].as_f64().unwrap(),
        0.35891648,
    );
    close7(
        "w1+",
        s[0]["weight_after"][0][0].as_f64().unwrap(),
        0.149780716,
    );
    assert!(json["max_relative_difference"].as_f64().unwrap() < 1e-7);
    assert_eq!(json["printed_in_full"], true);
}

/// The one-weight example of README (the texts' y = w·x with w = 1, x = 2, quadratic cost,
/// η = 0.1) on the closest network gpu-mlp has, one sigmoid unit (1-1, bias 0): a = σ(2),
/// δ = (a − y)·σ'(z), ∂C/∂w = δ·x, every printed number against the hand derivation, and the
/// step's numbers written out here: C = ½σ(2)² = 0.3879017, ∂C/∂w = 0.1849561,
/// w → 0.9815044, cost after 0.383562.
#[test]
fn the_one_weight_example_agrees_with_the_hand_derivation() {
    let json = explain_json(&[
        "--layers",
        "1,1",
        "--weights",
        "1",
        "--biases",
        "0",
        "--input",
        "2",
        "--target",
        "0",
        "--eta",
        "0.1",
    ]);
    check(&json, false, false);
    let a = sigmoid(2.0);
    let dw = a * a * (1.0 - a) * 2.0;
    close("C", json["cost"].as_f64().unwrap(), 0.5 * a * a, 1e-12);
    close(
        "C (printed)",
        json["cost"].as_f64().unwrap(),
        0.3879017,
        1e-6,
    );
    let s = &json["steps"][0];
    close("∂C/∂w", s["grad_weight"][0][0].as_f64().unwrap(), dw, 1e-10);
    close("∂C/∂w (printed)", dw, 0.1849561, 1e-6);
    close(
        "w after",
        s["weight_after"][0][0].as_f64().unwrap(),
        0.9815044,
        1e-7,
    );
    close(
        "C after",
        json["cost_after"].as_f64().unwrap(),
        0.383562,
        1e-6,
    );
}

/// AdaGrad's and RMSprop's step from fresh state, by hand from the hand gradients g: AdaGrad
/// s = g², W ← W − ηg/(√s + ε); RMSprop v = (1 − ρ)g², W ← W − ηg/(√v + ε); the printed
/// state and updated parameters against them, with ρ and ε as the f32 the step holds (1e-6
/// relative: the f32 step rounds g and each operation, a few 1e-7).
#[test]
fn adagrad_and_rmsprop_steps_agree_with_the_hand_derivation() {
    for (optimizer, slot, rho, eps) in [
        ("adagrad", "sum", 0.0f64, 1e-10f32 as f64),
        ("rmsprop", "square_avg", 0.99f32 as f64, 1e-8f32 as f64),
    ] {
        let mut args = MAZUR_NET.to_vec();
        args.extend(["--target", "0.01,0.99", "--optimizer", optimizer]);
        let json = explain_json(&args);
        let net = net_of(&json);
        let x = f32s(&json["sample"]["input"]);
        let y = f32s(&json["sample"]["target"]);
        let (_, gw, gb) = by_hand(&net, &x, &y);
        let eta = json["eta"].as_f64().unwrap();
        let keep = if optimizer == "adagrad" {
            1.0
        } else {
            1.0 - rho
        };
        for (l, s) in json["steps"].as_array().unwrap().iter().enumerate() {
            let state_w = matrix(&s["state_after"][slot]["weight"], f32s);
            let state_b = f32s(&s["state_after"][slot]["bias"]);
            let after_w = matrix(&s["weight_after"], f32s);
            let after_b = f32s(&s["bias_after"]);
            let mut entries: Vec<(f64, f64, f64, f64)> = Vec::new();
            for j in 0..gw[l].len() {
                for k in 0..gw[l][j].len() {
                    entries.push((net.w[l][j][k], gw[l][j][k], state_w[j][k], after_w[j][k]));
                }
                entries.push((net.b[l][j], gb[l][j], state_b[j], after_b[j]));
            }
            for (i, (w, g, state, after)) in entries.into_iter().enumerate() {
                let want_state = keep * g * g;
                let want = w - eta * g / (want_state.sqrt() + eps);
                let at = format!("{optimizer} layer {} entry {i}", l + 2);
                close(&format!("{at} state"), state, want_state, 1e-6);
                close(&format!("{at} after"), after, want, 1e-6);
            }
        }
    }
}

/// The network an `explain --json` printed (its W and b before the step), sigmoid/quadratic.
fn net_of(json: &Value) -> Net {
    let steps = json["steps"].as_array().unwrap();
    Net {
        w: steps.iter().map(|s| matrix(&s["weight"], f32s)).collect(),
        b: steps.iter().map(|s| f32s(&s["bias"])).collect(),
        softmax: false,
        cross_entropy: false,
    }
}

/// The other output/cost pairs and a deeper network: a 3-4-3-2 softmax network with the
/// log-likelihood on a target that is a distribution (not one-hot: the library's backprop is
/// combined over the classes), a softmax with the quadratic cost (the Jacobian is not
/// diagonal), and a sigmoid/cross-entropy one on a one-hot target, each against the hand
/// derivation.
#[test]
fn every_output_and_cost_agrees_with_the_hand_derivation() {
    let base = [
        "--layers",
        "3,4,3,2",
        "--seed",
        "5",
        "--init",
        "scaled",
        "--input",
        "0.2,-0.7,1.3",
        "--eta",
        "0.3",
    ];
    for (output, cost, target, softmax, ce) in [
        ("softmax", "cross-entropy", "0.25,0.75", true, true),
        ("softmax", "quadratic", "0.9,0.2", true, false),
        ("sigmoid", "cross-entropy", "0,1", false, true),
        ("sigmoid", "quadratic", "1,0", false, false),
    ] {
        let mut args = base.to_vec();
        args.extend(["--output", output, "--cost", cost, "--target", target]);
        let json = explain_json(&args);
        check(&json, softmax, ce);
    }
}

/// A network too large to print (784-30-10) is summarised and says so; --json still gives
/// every z, a, δ and gradient, and the finite differences of the 5 largest gradient entries of
/// each layer, which agree with backprop.
#[test]
fn a_large_network_is_summarised() {
    let out = gpu_mlp(&[
        "explain",
        "--sample",
        "7",
        "--train-size",
        "100",
        "--validation-size",
        "10",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("more than the 300 printed in full"), "{text}");
    assert!(
        text.contains("BP1") && text.contains("BP2") && text.contains("BP4"),
        "{text}"
    );
    let json = explain_json(&[
        "--sample",
        "7",
        "--train-size",
        "100",
        "--validation-size",
        "10",
    ]);
    assert_eq!(json["printed_in_full"], false);
    for s in json["steps"].as_array().unwrap() {
        let fd: Vec<&Value> = s["fd_weight"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r.as_array().unwrap())
            .collect();
        assert_eq!(
            fd.len(),
            s["inputs"].as_u64().unwrap() as usize * s["outputs"].as_u64().unwrap() as usize
        );
        assert_eq!(fd.iter().filter(|v| v.is_number()).count(), 5);
        assert_eq!(
            s["fd_bias"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|v| v.is_number())
                .count(),
            5
        );
        assert_eq!(
            s["delta"].as_array().unwrap().len(),
            s["outputs"].as_u64().unwrap() as usize
        );
    }
    assert!(json["max_relative_difference"].as_f64().unwrap() < 1e-6);
    assert_eq!(json["sample"]["source"], "train image 7 (label 3)");
}

/// Bad input is one line naming the flag: an input of the wrong width, a softmax/log-likelihood
/// target that is not a distribution, --weights of the wrong length.
#[test]
fn bad_samples_and_weights_name_their_flag() {
    for (args, needle) in [
        (
            vec!["--layers", "2,2", "--input", "1,2,3", "--target", "0,1"],
            "--input",
        ),
        (
            vec![
                "--layers",
                "2,2",
                "--output",
                "softmax",
                "--cost",
                "cross-entropy",
                "--input",
                "1,2",
                "--target",
                "0.5,0.6",
            ],
            "--target",
        ),
        (
            vec![
                "--layers",
                "2,2",
                "--weights",
                "1,2,3",
                "--input",
                "1,2",
                "--target",
                "0,1",
            ],
            "--weights",
        ),
        (
            vec![
                "--layers",
                "2,2",
                "--weights",
                "1,2,3,x",
                "--input",
                "1,2",
                "--target",
                "0,1",
            ],
            "--weights",
        ),
        (
            vec![
                "--sample",
                "99",
                "--train-size",
                "10",
                "--validation-size",
                "10",
            ],
            "--sample",
        ),
    ] {
        let mut all = vec!["explain"];
        all.extend(&args);
        let out = gpu_mlp(&all);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.starts_with("error: ") && err.contains(needle),
            "{args:?}: {err}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
}

/// `--backend vulkan` runs the step through the GPU's per-layer kernels and each result is
/// within f32 rounding of the CPU's: the products here are of length ≤ 2, so every number
/// agrees to a few ulp (2e-7 relative to the largest entry; an error in a kernel is ≥ 1e-3).
#[test]
fn the_gpu_step_matches_the_cpu() {
    if context().is_none() {
        return;
    }
    for optimizer in ["sgd", "adam", "rmsprop", "adagrad", "momentum"] {
        let mut args = MAZUR_NET.to_vec();
        args.extend([
            "--backend",
            "vulkan",
            "--optimizer",
            optimizer,
            "--target",
            "0,1",
        ]);
        let json = explain_json(&args);
        let d = &json["device"];
        let quantities = d["quantities"].as_array().unwrap();
        let slots = if optimizer == "sgd" {
            0
        } else if optimizer == "adam" {
            2
        } else {
            1
        };
        // a², z³, δ³, C, δ², then each layer's update and its state slots.
        assert_eq!(quantities.len(), 5 + 2 * (1 + slots), "{optimizer}: {d}");
        for q in quantities {
            assert!(q["max_rel"].as_f64().unwrap() < 1e-6, "{optimizer}: {q}");
        }
    }
}

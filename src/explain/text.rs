//! The text of `explain`: the step in the texts' order, each equation named as in README's
//! table with its numbers, matrices as matrices, each gradient entry beside its finite
//! difference; for a network too large to print, per-layer norms and largest entries.

use super::format::{
    blocks, by_size, column, fd, index, matrix, num, rel, row, strings32, strings64, summary, sup,
    DIGITS,
};
use super::{Explanation, LayerStep, LARGEST, MAX_PRINTED_WEIGHTS};
use crate::config::{Cost, OptimizerKind, Output};

fn activation_name(e: &Explanation) -> &'static str {
    match e.output {
        Output::Sigmoid => "sigmoid",
        Output::Softmax => "softmax",
    }
}

fn cost_equation(e: &Explanation, top: usize) -> String {
    let a = format!("a{}", sup(top));
    match (e.cost_function, e.output) {
        (Cost::Quadratic, _) => format!("C = ½‖y − {a}‖²"),
        (Cost::CrossEntropy, Output::Sigmoid) => {
            format!("C = −Σⱼ [yⱼ ln {a}ⱼ + (1 − yⱼ) ln(1 − {a}ⱼ)]")
        }
        (Cost::CrossEntropy, Output::Softmax) => format!("C = −Σⱼ yⱼ ln {a}ⱼ"),
    }
}

fn header(e: &Explanation) {
    let top = e.layers.len();
    let net: Vec<String> = e.layers.iter().map(usize::to_string).collect();
    println!(
        "explain: one training step of the {} network ({} output, {} cost) on {}",
        net.join("-"),
        activation_name(e),
        match e.cost_function {
            Cost::Quadratic => "quadratic",
            Cost::CrossEntropy => "cross-entropy",
        },
        e.sample.source
    );
    println!(
        "  Layers are numbered as in the texts: the input is layer 1 (x = a¹) and L = {top} the output;\n  Wˡ and bˡ (checkpoint tensors layers.(l−2)) lead into layer l. The parameters and the sample\n  are the network's f32 numbers; all computed from them is in f64, printed to {DIGITS} significant\n  digits (--json has every digit)."
    );
    println!();
    let vector = |name: &str, v: &[f32]| {
        if e.printed_in_full || v.len() <= 30 {
            println!("  {name:<6} = {}", row(&strings32(v), 11));
        } else {
            let wide: Vec<f64> = v.iter().map(|&x| x as f64).collect();
            let nonzero = v.iter().filter(|&&x| x != 0.0).count();
            let text = summary(name, &wide, None, 2);
            println!("  {name}: {} values, {nonzero} not 0; {text}", v.len());
        }
    };
    vector("x", &e.sample.input);
    vector("y", &e.sample.target);
    println!("  optimizer state before the step: {}", e.state_source);
}

/// "1 input", "2 inputs".
fn plural(n: usize, word: &str) -> String {
    format!("{n} {}", plural_word(n, word))
}

/// `word` with an "s" unless n is 1.
fn plural_word(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_string()
    } else {
        format!("{word}s")
    }
}

fn forward_full(s: &LayerStep, top: usize) {
    let l = sup(s.l);
    let below = sup(s.l - 1);
    let kind = if s.l == top { "output" } else { "hidden" };
    println!(
        "  layer {} ({kind}, {} → {} {})",
        s.l,
        plural(s.inputs, "input"),
        s.outputs,
        plural_word(s.outputs, &format!("{} unit", s.activation))
    );
    let w: Vec<Vec<String>> = s.weight.iter().map(|r| strings32(r)).collect();
    for line in blocks(
        4,
        &[
            (format!("W{l}"), matrix(&w)),
            (format!("b{l}"), column(&strings32(&s.bias))),
        ],
    ) {
        println!("{line}");
    }
    let zlabel = format!("z{l} = W{l}a{below} + b{l}");
    let alabel = if s.activation == "softmax" {
        format!("a{l} = softmax(z{l})")
    } else {
        format!("a{l} = σ(z{l})")
    };
    let w = zlabel.chars().count().max(alabel.chars().count());
    println!("    {zlabel:<w$} = {}", row(&strings64(&s.z), 4 + w + 3));
    println!("    {alabel:<w$} = {}", row(&strings64(&s.a), 4 + w + 3));
}

fn forward_summary(s: &LayerStep, top: usize) {
    let l = sup(s.l);
    let kind = if s.l == top { "output" } else { "hidden" };
    println!(
        "  layer {} ({kind}, {} → {} {}): z{l} = W{l}a{} + b{l}, a{l} = {}(z{l})",
        s.l,
        s.inputs,
        s.outputs,
        plural_word(s.outputs, &format!("{} unit", s.activation)),
        sup(s.l - 1),
        if s.activation == "softmax" {
            "softmax"
        } else {
            "σ"
        }
    );
    println!("    {}", summary(&format!("z{l}"), &s.z, None, 4));
    println!("    {}", summary(&format!("a{l}"), &s.a, None, 4));
}

/// The lines of one "name = formula = [values]" factor, aligned at `w`.
fn factor(label: &str, values: &[f64], w: usize) {
    println!(
        "       {label:<w$} = {}",
        row(&strings64(values), 7 + w + 3)
    );
}

fn backward(e: &Explanation, full: bool) {
    let top = e.layers.len();
    println!();
    println!("Backward pass: the output error, then each layer's error from the one above");
    for s in e.steps.iter().rev() {
        let l = sup(s.l);
        let labels: [String; 3] = if s.l == top {
            println!("  BP1  δ{l} = ∇ₐC ⊙ σ'(z{l})");
            let grad = match (e.cost_function, e.output) {
                (Cost::Quadratic, _) => format!("∇ₐC = a{l} − y"),
                (Cost::CrossEntropy, Output::Sigmoid) => {
                    format!("∇ₐC = (a{l} − y)/(a{l}(1 − a{l}))")
                }
                (Cost::CrossEntropy, Output::Softmax) => format!("∇ₐC = −y/a{l}"),
            };
            let sigma = if e.output == Output::Softmax {
                format!("∂aⱼ/∂zⱼ = a{l}(1 − a{l})")
            } else {
                format!("σ'(z{l}) = a{l}(1 − a{l})")
            };
            let delta = match (e.cost_function, e.output) {
                (Cost::CrossEntropy, _) => format!("δ{l} = a{l} − y (σ' cancels)"),
                (Cost::Quadratic, Output::Softmax) => {
                    format!("δ{l}ⱼ = a{l}ⱼ(∇ⱼC − Σₖ a{l}ₖ∇ₖC)")
                }
                (Cost::Quadratic, Output::Sigmoid) => format!("δ{l}"),
            };
            [grad, sigma, delta]
        } else {
            let up = sup(s.l + 1);
            println!("  BP2  δ{l} = ((W{up})ᵀδ{up}) ⊙ σ'(z{l})");
            [
                format!("(W{up})ᵀδ{up}"),
                format!("σ'(z{l}) = a{l}(1 − a{l})"),
                format!("δ{l}"),
            ]
        };
        if full {
            let w = labels.iter().map(|s| s.chars().count()).max().unwrap_or(0);
            factor(&labels[0], &s.delta_first_factor, w);
            factor(&labels[1], &s.sigma_prime, w);
            factor(&labels[2], &s.delta, w);
        } else {
            println!("       {}", summary(&format!("δ{l}"), &s.delta, None, 7));
        }
    }
    if e.output == Output::Softmax && e.cost_function == Cost::Quadratic && full {
        println!("       (a softmax output's Jacobian is not diagonal: ∂aⱼ/∂zₖ = aⱼ(δⱼₖ − aₖ))");
    }
}

fn gradients(e: &Explanation, full: bool) {
    println!();
    println!(
        "Gradients, each entry beside its central finite difference (C(θ+h) − C(θ−h))/2h, h = {:e}, in f64,",
        e.h
    );
    println!("and their relative difference |a − b|/max(|a|, |b|)");
    for s in e.steps.iter().rev() {
        let l = sup(s.l);
        let below = sup(s.l - 1);
        let cols = s.inputs;
        if full {
            println!("  BP3  ∂C/∂b{l} = δ{l}");
            for line in blocks(
                7,
                &[
                    (String::new(), column(&strings64(&s.grad_bias))),
                    (
                        "finite difference".into(),
                        column(&s.fd_bias.iter().map(|&x| fd(x)).collect::<Vec<_>>()),
                    ),
                    (
                        "relative difference".into(),
                        column(
                            &s.relative_difference_bias
                                .iter()
                                .map(|&x| rel(x))
                                .collect::<Vec<_>>(),
                        ),
                    ),
                ],
            ) {
                println!("{line}");
            }
            println!("  BP4  ∂C/∂W{l} = δ{l}(a{below})ᵀ");
            let cells =
                |m: &[Vec<f64>]| -> Vec<Vec<String>> { m.iter().map(|r| strings64(r)).collect() };
            let fds: Vec<Vec<String>> = s
                .fd_weight
                .iter()
                .map(|r| r.iter().map(|&x| fd(x)).collect())
                .collect();
            let rels: Vec<Vec<String>> = s
                .relative_difference_weight
                .iter()
                .map(|r| r.iter().map(|&x| rel(x)).collect())
                .collect();
            for line in blocks(
                7,
                &[
                    (String::new(), matrix(&cells(&s.grad_weight))),
                    ("finite difference".into(), matrix(&fds)),
                    ("relative difference".into(), matrix(&rels)),
                ],
            ) {
                println!("{line}");
            }
        } else {
            let flat: Vec<f64> = s.grad_weight.concat();
            let name_b = format!("∂C/∂b{l}");
            let name_w = format!("∂C/∂W{l}");
            println!("  BP3  {name_b} = δ{l}");
            println!("       {}", summary(&name_b, &s.grad_bias, None, 7));
            println!("  BP4  {name_w} = δ{l}(a{below})ᵀ");
            println!("       {}", summary(&name_w, &flat, Some(cols), 7));
            println!("       the largest entries and their finite differences:");
            let fd_w: Vec<Option<f64>> = s.fd_weight.concat();
            let rel_w: Vec<Option<f64>> = s.relative_difference_weight.concat();
            let entries = |name: &str,
                           g: &[f64],
                           fds: &[Option<f64>],
                           rels: &[Option<f64>],
                           cols| {
                for i in by_size(g).into_iter().filter(|&i| fds[i].is_some()) {
                    println!(
                        "         {:<22} = {:>14}   finite difference {:>14}   relative difference {}",
                        format!("{name}{}", index(i, cols)),
                        num(g[i]),
                        fd(fds[i]),
                        rel(rels[i])
                    );
                }
            };
            entries(&name_w, &flat, &fd_w, &rel_w, Some(cols));
            entries(
                &name_b,
                &s.grad_bias,
                &s.fd_bias,
                &s.relative_difference_bias,
                None,
            );
        }
    }
    println!(
        "  largest relative difference between backprop and the finite differences: {:.1e}",
        e.max_relative_difference
    );
}

fn update_rule(e: &Explanation) -> String {
    let o = &e.constants;
    match e.optimizer {
        OptimizerKind::Sgd => "SGD: W ← W − ηg".into(),
        OptimizerKind::Momentum => format!("momentum: v ← μv − ηg, W ← W + v; μ = {}", o.momentum),
        OptimizerKind::Adam => format!(
            "Adam: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², W ← W − η·m̂/(√v̂ + ε), m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ);\n  β₁ = {}, β₂ = {}, ε = {:e}, t = {}",
            o.beta1, o.beta2, o.epsilon, e.update
        ),
        OptimizerKind::Adagrad => format!(
            "AdaGrad: s ← s + g², W ← W − ηg/(√s + ε); ε = {:e}",
            o.adagrad_epsilon
        ),
        OptimizerKind::Rmsprop => format!(
            "RMSprop: v ← ρv + (1−ρ)g², W ← W − ηg/(√v + ε); ρ = {}, ε = {:e}",
            o.rho, o.rmsprop_epsilon
        ),
    }
}

fn update(e: &Explanation, full: bool) {
    println!();
    let decay = if e.n_train == 0 {
        0.0
    } else {
        e.lambda as f64 / e.n_train as f64
    };
    println!("Update, as training computes it (f32): {}", update_rule(e));
    println!(
        "  with g = ∂C/∂W + (λ/n)W for weights and g = ∂C/∂b for biases (one sample: m = 1); η = {}, λ = {}, n = {}, λ/n = {}",
        e.eta,
        e.lambda,
        e.n_train,
        num(decay)
    );
    for s in &e.steps {
        let l = sup(s.l);
        if full {
            let w: Vec<Vec<String>> = s.weight_after.iter().map(|r| strings32(r)).collect();
            let mut parts = vec![
                (format!("W{l}"), matrix(&w)),
                (format!("b{l}"), column(&strings32(&s.bias_after))),
            ];
            for (name, t) in &s.state_after {
                let m: Vec<Vec<String>> = t.weight.iter().map(|r| strings32(r)).collect();
                parts.push((format!("{name} (W{l})"), matrix(&m)));
                parts.push((format!("{name} (b{l})"), column(&strings32(&t.bias))));
            }
            for line in blocks(2, &parts) {
                println!("{line}");
            }
        } else {
            let change: Vec<f64> = s
                .weight_after
                .concat()
                .iter()
                .zip(s.weight.concat())
                .map(|(&a, b)| a as f64 - b as f64)
                .collect();
            let name = format!("ΔW{l}");
            println!("  layer {}, ΔW{l} = W{l} after − W{l} before:", s.l);
            println!("    {}", summary(&name, &change, Some(s.inputs), 4));
            for (name, t) in &s.state_after {
                let v: Vec<f64> = t.weight.concat().iter().map(|&x| x as f64).collect();
                println!(
                    "    {}",
                    summary(&format!("{name}(W{l})"), &v, Some(s.inputs), 4)
                );
            }
        }
    }
    println!(
        "The same sample's cost after the step: C = {} (before: {})",
        num(e.cost_after),
        num(e.cost)
    );
}

fn device(e: &Explanation) {
    let Some(d) = &e.device else { return };
    println!();
    println!("{}", d.heading);
    for q in &d.quantities {
        println!(
            "  {:<34} largest difference {:>9.2e}  (relative {:.1e})  {}",
            q.what, q.max_abs, q.max_rel, q.kernel
        );
    }
    println!(
        "  largest difference from the CPU's numbers: {:.2e} (relative {:.1e}), in {}",
        d.max_abs, d.max_rel, d.worst
    );
}

/// Prints `e` as text.
pub fn print(e: &Explanation) {
    let full = e.printed_in_full;
    header(e);
    if !full {
        let weights: usize = e.steps.iter().map(|s| s.inputs * s.outputs).sum();
        println!();
        println!(
            "  This network has {weights} weights, more than the {MAX_PRINTED_WEIGHTS} printed in full: each quantity is shown by its norm and\n  its {LARGEST} largest entries, and the finite differences are of the {LARGEST} largest gradient entries of each layer\n  (--full prints and estimates every entry; --json gives every number)."
        );
    }
    let top = e.layers.len();
    println!();
    println!("Forward pass: zˡ = Wˡaˡ⁻¹ + bˡ, aˡ = σ(zˡ)");
    for s in &e.steps {
        if full {
            forward_full(s, top);
        } else {
            forward_summary(s, top);
        }
    }
    println!("Cost: {} = {}", cost_equation(e, top), num(e.cost));
    backward(e, full);
    gradients(e, full);
    update(e, full);
    device(e);
}

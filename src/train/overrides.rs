//! What a resumed run changes: the flags given on resume whose values differ from the
//! checkpoint's configuration, one line each. A flag equal to the checkpoint's own value is no
//! override, so re-running the original command with `--resume` added changes nothing and
//! reports nothing. `--epochs` (the total, counting epochs already run), `--monitor` and
//! `--init` (the weights come from the checkpoint) are not overrides of the run's course.

use crate::config::{Schedule, TrainConfig};

/// One line per setting `cfg` changes from `saved`, in the form
/// "λ: checkpoint 5, overridden by --lambda 0.5". The current η is reported by
/// [`crate::train::TrainingState::resume`], which knows the schedule's position.
pub fn overrides(saved: &TrainConfig, cfg: &TrainConfig) -> Vec<String> {
    let mut lines = Vec::new();
    let mut differ = |what: &str, flag: &str, old: String, new: String| {
        if old != new {
            lines.push(format!(
                "{what}: checkpoint {old}, overridden by {flag} {new}"
            ));
        }
    };
    differ(
        "output",
        "--output",
        kebab(&saved.network.output),
        kebab(&cfg.network.output),
    );
    differ(
        "cost",
        "--cost",
        kebab(&saved.network.cost),
        kebab(&cfg.network.cost),
    );
    differ(
        "λ",
        "--lambda",
        saved.lambda.to_string(),
        cfg.lambda.to_string(),
    );
    differ(
        "batch size",
        "--batch-size",
        saved.batch_size.to_string(),
        cfg.batch_size.to_string(),
    );
    differ(
        "seed",
        "--seed",
        saved.seed.to_string(),
        cfg.seed.to_string(),
    );
    let (o, n) = (&saved.optimizer, &cfg.optimizer);
    if o.kind != n.kind {
        differ(
            "optimizer",
            "--optimizer",
            kebab(&o.kind),
            format!("{} (its state starts from zero)", kebab(&n.kind)),
        );
    }
    differ(
        "momentum",
        "--momentum",
        o.momentum.to_string(),
        n.momentum.to_string(),
    );
    differ("β₁", "--beta1", o.beta1.to_string(), n.beta1.to_string());
    differ("β₂", "--beta2", o.beta2.to_string(), n.beta2.to_string());
    differ(
        "Adam's ε",
        "--adam-epsilon",
        o.epsilon.to_string(),
        n.epsilon.to_string(),
    );
    differ("RMSprop's ρ", "--rho", o.rho.to_string(), n.rho.to_string());
    differ(
        "AdaGrad's ε",
        "--adagrad-epsilon",
        o.adagrad_epsilon.to_string(),
        n.adagrad_epsilon.to_string(),
    );
    differ(
        "RMSprop's ε",
        "--rmsprop-epsilon",
        o.rmsprop_epsilon.to_string(),
        n.rmsprop_epsilon.to_string(),
    );
    match (saved.schedule, cfg.schedule) {
        (
            Schedule::Step {
                every: e0,
                factor: f0,
            },
            Schedule::Step { every, factor },
        ) => {
            differ(
                "step every",
                "--step-every",
                e0.to_string(),
                every.to_string(),
            );
            differ("decay", "--decay", f0.to_string(), factor.to_string());
        }
        (
            Schedule::Plateau {
                patience: p0,
                divisor: d0,
                max_divisions: m0,
            },
            Schedule::Plateau {
                patience,
                divisor,
                max_divisions,
            },
        ) => {
            differ(
                "patience",
                "--patience",
                p0.to_string(),
                patience.to_string(),
            );
            differ("divisor", "--divisor", d0.to_string(), divisor.to_string());
            differ(
                "max divisions",
                "--max-divisions",
                m0.to_string(),
                max_divisions.to_string(),
            );
        }
        (old, new) => differ(
            "schedule",
            "--schedule",
            schedule_text(old),
            schedule_text(new),
        ),
    }
    differ(
        "early stop",
        "--early-stop",
        saved.early_stop.map_or("off".into(), |n| n.to_string()),
        cfg.early_stop.map_or("off".into(), |n| n.to_string()),
    );
    lines
}

fn kebab<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn schedule_text(s: Schedule) -> String {
    match s {
        Schedule::Constant => "constant".into(),
        Schedule::Step { every, factor } => format!(
            "step (×{factor} every {})",
            crate::words::count(every, "epoch")
        ),
        Schedule::Plateau {
            patience,
            divisor,
            max_divisions,
        } => format!(
            "plateau (÷{divisor} after {} without improvement, at most {max_divisions} times)",
            crate::words::count(patience, "epoch")
        ),
    }
}

//! "did you mean --eta?" for the names other tools give gpu-mlp's flags. Clap suggests a flag
//! close in spelling to an unknown one (`--epoch` → `--epochs`); these are the ones too far in
//! spelling for that but the same in meaning (`--lr` → `--eta`). They are hints, not aliases:
//! a silent alias would accept `--lr` in one place and leave `--eta` the name in every message,
//! checkpoint and file name, so the user learns the flag's name the first time.

/// Other tools' names for a flag, and gpu-mlp's name with what it is.
const OTHER_NAMES: &[(&[&str], &str, &str)] = &[
    (
        &["lr", "learning-rate", "learning_rate", "step-size", "alpha"],
        "eta",
        "the learning rate η",
    ),
    (
        &[
            "weight-decay",
            "weight_decay",
            "wd",
            "l2",
            "reg",
            "regularization",
            "regularisation",
        ],
        "lambda",
        "L2 regularisation λ",
    ),
    (
        &[
            "num-epochs",
            "n-epochs",
            "nepochs",
            "max-epochs",
            "iterations",
            "iters",
        ],
        "epochs",
        "the number of epochs",
    ),
    (
        &[
            "batch",
            "bs",
            "batchsize",
            "mini-batch-size",
            "minibatch-size",
            "minibatch",
        ],
        "batch-size",
        "the mini-batch size",
    ),
    (
        &[
            "hidden",
            "hidden-size",
            "hidden-layers",
            "hidden-units",
            "arch",
            "architecture",
            "sizes",
        ],
        "layers",
        "all layer widths, input to output: --layers 784,100,10",
    ),
    (&["mu"], "momentum", "momentum's μ"),
    (&["eps", "epsilon", "adam-eps"], "adam-epsilon", "Adam's ε"),
    (
        &["random-seed", "rng-seed", "manual-seed"],
        "seed",
        "the seed of initialisation and shuffling",
    ),
    (
        &["device", "gpu", "cuda", "accelerator"],
        "backend",
        "cpu, vulkan, metal, dx12, gl or auto",
    ),
    (
        &["jobs", "workers", "num-threads", "nthreads"],
        "threads",
        "the CPU threads",
    ),
    (
        &["data", "data-path", "dataset-dir", "data-root"],
        "data-dir",
        "the directory of the four IDX files",
    ),
    (
        &[
            "out",
            "output-file",
            "checkpoint",
            "model-out",
            "save-model",
        ],
        "save",
        "the checkpoint to write",
    ),
    (
        &["log", "log-file", "history"],
        "metrics",
        "the JSON Lines file of one object per epoch",
    ),
    (
        &["model", "checkpoint-path", "load"],
        "resume",
        "continue a saved run",
    ),
    (&["optim", "solver"], "optimizer", "sgd, momentum or adam"),
    (
        &["lr-schedule", "scheduler", "lr-scheduler"],
        "schedule",
        "constant, step or plateau",
    ),
    (
        &["weights", "checkpoint", "ckpt", "load"],
        "model",
        "the checkpoint to read",
    ),
];

/// The hint for `unknown` (a long flag as typed, with or without `--` and `=value`) where
/// `has(name)` says whether the subcommand has the long flag `--name`: "did you mean --eta (the
/// learning rate η)?", or None.
pub fn other_name(unknown: &str, has: impl Fn(&str) -> bool) -> Option<String> {
    let name = unknown.trim_start_matches('-');
    let name = name.split('=').next().unwrap_or(name).to_ascii_lowercase();
    OTHER_NAMES
        .iter()
        .filter(|(others, _, _)| others.contains(&name.as_str()))
        .find(|(_, ours, _)| has(ours))
        .map(|(_, ours, what)| format!("did you mean --{ours} ({what})?"))
}

/// The hint for clap's unknown-argument error `e`, which clap has no close spelling for, with
/// the subcommand's flags taken from the full command line definition.
pub fn for_error(e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if e.kind() != ErrorKind::UnknownArgument || e.get(ContextKind::SuggestedArg).is_some() {
        return None;
    }
    let Some(ContextValue::String(unknown)) = e.get(ContextKind::InvalidArg) else {
        return None;
    };
    // The usage line names the subcommand: "Usage: gpu-mlp train [OPTIONS]".
    let usage = match e.get(ContextKind::Usage) {
        Some(ContextValue::StyledStr(s)) => s.to_string(),
        _ => String::new(),
    };
    let sub = usage
        .split_whitespace()
        .skip_while(|w| !w.ends_with("gpu-mlp"))
        .nth(1)
        .unwrap_or("");
    let cmd = <super::Cli as clap::CommandFactory>::command();
    let sub = cmd.find_subcommand(sub)?;
    other_name(unknown, |flag| {
        sub.get_arguments().any(|a| {
            a.get_long() == Some(flag) || a.get_all_aliases().is_some_and(|all| all.contains(&flag))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each other name points at a flag of gpu-mlp's train where train has it, and at nothing
    /// where the subcommand lacks the flag.
    #[test]
    fn other_names_point_at_the_flag_the_subcommand_has() {
        let train = ["eta", "lambda", "batch-size", "layers", "save", "resume"];
        let has = |f: &str| train.contains(&f);
        assert_eq!(
            other_name("--lr", has).as_deref(),
            Some("did you mean --eta (the learning rate η)?")
        );
        assert!(other_name("--learning-rate=0.1", has)
            .unwrap()
            .contains("--eta"));
        assert!(other_name("--weight-decay", has)
            .unwrap()
            .contains("--lambda"));
        // "--model" is train's --resume, and eval's --model.
        assert!(other_name("--model", has).unwrap().contains("--resume"));
        assert!(other_name("--ckpt", |f| f == "model")
            .unwrap()
            .contains("--model"));
        assert_eq!(other_name("--lr", |f| f == "model"), None);
        assert_eq!(other_name("--frobnicate", has), None);
    }
}

//! Flags as a user types them: every numeric flag takes a negative number and refuses it with
//! its range (not clap's "unexpected argument '-1'"), numbers are quoted as typed, other tools'
//! names for a flag get "did you mean", and `--help` groups the flags under headings.

mod common;
use clap::{CommandFactory, Parser};
use common::{gpu_mlp, one_line_failure};
use gpu_mlp::cli::values::{join_negative_values, LayerList, SeedList, Shard, Typed};
use std::any::TypeId;
use std::path::PathBuf;

/// Every flag of every subcommand whose value is a number (or numbers: lists, seeds, shards)
/// takes "-1" as its value, as the binary parses its command line (negative values joined to
/// their flag), rather than as an unknown flag; asked of clap's own definition, so that a
/// numeric flag of a new value type fails here until it is listed.
#[test]
fn every_numeric_flag_takes_a_negative_value() {
    let cli = gpu_mlp::cli::Cli::command();
    let numeric = [
        TypeId::of::<usize>(),
        TypeId::of::<u64>(),
        TypeId::of::<u32>(),
        TypeId::of::<f32>(),
        TypeId::of::<Typed<f32>>(),
        TypeId::of::<Typed<usize>>(),
        TypeId::of::<LayerList>(),
        TypeId::of::<SeedList>(),
        TypeId::of::<Shard>(),
    ];
    let not_numeric = [TypeId::of::<PathBuf>(), TypeId::of::<String>()];
    let mut checked = 0;
    for sub in cli.get_subcommands() {
        for arg in sub.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if !arg.get_action().takes_values() || !arg.get_possible_values().is_empty() {
                continue;
            }
            let ty = arg.get_value_parser().type_id();
            if not_numeric.iter().any(|t| ty == *t) {
                continue;
            }
            assert!(
                numeric.iter().any(|t| ty == *t),
                "{} --{long}: a value type this test does not know; add it to a list",
                sub.get_name()
            );
            let flag = format!("--{long}");
            let line = join_negative_values(["gpu-mlp", sub.get_name(), &flag, "-1"]);
            let e = gpu_mlp::cli::Cli::try_parse_from(line)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                !e.contains("unexpected argument"),
                "{} {flag} -1: {e}",
                sub.get_name()
            );
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} numeric flags found");
}

/// A negative number reaches each flag's own check, and the refusal (exit 2, one line) says the
/// range and quotes the value as typed, lists and exponents included.
#[test]
fn negative_numbers_reach_the_range_checks() {
    let train = |extra: &[&str]| {
        let mut args = vec!["train"];
        if !extra.contains(&"--train-size") {
            args.extend(["--train-size", "100"]);
        }
        args.extend_from_slice(extra);
        gpu_mlp(&args)
    };
    let cases: [(&[&str], &str); 11] = [
        (
            &["--eta", "-1"],
            "--eta must be a finite number > 0, found -1",
        ),
        (
            &["--eta", "0.1,-1"],
            "--eta must be a finite number > 0, found -1",
        ),
        (
            &["--lambda", "-5"],
            "--lambda must be a finite number >= 0, found -5",
        ),
        (
            &["--optimizer", "adam", "--adam-epsilon", "-1e-8"],
            "--adam-epsilon must be a finite number > 0, found -1e-8",
        ),
        (
            &["--schedule", "step", "--decay", "-0.5"],
            "--decay must be a finite number > 0 (the step schedule's factor), found -0.5",
        ),
        (
            &["--schedule", "plateau", "--divisor", "-2"],
            "--divisor must be a finite number > 1 (the plateau schedule's divisor), found -2",
        ),
        (
            &["--epochs", "-3"],
            "'--epochs <EPOCHS>': must be a whole number >= 0, found -3",
        ),
        (
            &["--batch-size", "10,-1"],
            "'--batch-size <M[,M...]>': must be a whole number >= 0, found -1",
        ),
        (&["--seed", "-1"], "a seed is a whole number >= 0"),
        (
            &["--lambda", "-1e-3,0.5"],
            "--lambda must be a finite number >= 0, found -1e-3",
        ),
        (
            &["--train-size", "-100"],
            "'--train-size <TRAIN_SIZE>': must be a whole number >= 0, found -100",
        ),
    ];
    for (args, needle) in cases {
        let line = one_line_failure(&train(args), 2, &[needle]);
        assert!(!line.contains("unexpected argument"), "{args:?}: {line}");
    }
    let line = one_line_failure(
        &gpu_mlp(&[
            "show-weights",
            "--model",
            "m.safetensors",
            "--max-units",
            "-2",
        ]),
        2,
        &["--max-units", "must be a whole number >= 0, found -2"],
    );
    assert!(!line.contains("unexpected argument"), "{line}");
    // A flag missing its value is still named as such, not taken for a negative number.
    one_line_failure(
        &gpu_mlp(&["train", "--eta", "--epochs", "3"]),
        2,
        &["a value is required for '--eta"],
    );
}

/// A value is quoted as the user typed it: 0.99999999 is in [0, 1) as typed, and the message
/// says that f32 rounds it to 1 (the value training would have used), rather than "found 1".
#[test]
fn numbers_are_quoted_as_typed() {
    let out = gpu_mlp(&[
        "train",
        "--train-size",
        "100",
        "--optimizer",
        "momentum",
        "--momentum",
        "0.99999999",
    ]);
    one_line_failure(
        &out,
        2,
        &["--momentum must be in [0, 1), found 0.99999999 (f32, the precision training runs in, rounds it to 1)"],
    );
    let out = gpu_mlp(&["train", "--train-size", "100", "--beta2", "1.000"]);
    one_line_failure(&out, 2, &["--beta2 must be in [0, 1), found 1.000"]);
}

/// Other tools' names for a flag get "did you mean" the flag the subcommand has (a hint: the
/// command still fails, exit 2); close misspellings get clap's own suggestion.
#[test]
fn other_names_and_misspellings_get_a_suggestion() {
    let cases: [(&[&str], &str); 6] = [
        (
            &["train", "--lr", "0.1"],
            "did you mean --eta (the learning rate η)?",
        ),
        (&["train", "--learning-rate=0.1"], "did you mean --eta"),
        (&["train", "--weight-decay", "5"], "did you mean --lambda"),
        (&["train", "--hidden", "30"], "did you mean --layers"),
        (&["eval", "--ckpt", "m.safetensors"], "did you mean --model"),
        (&["train", "--epoch", "3"], "'--epochs'"),
    ];
    for (args, needle) in cases {
        one_line_failure(&gpu_mlp(args), 2, &[needle]);
    }
    // No hint for a flag the subcommand does not have under any name.
    let line = one_line_failure(&gpu_mlp(&["eval", "--lr", "0.1"]), 2, &["--lr"]);
    assert!(!line.contains("did you mean"), "{line}");
}

/// `train --help` puts each flag under its heading: network, optimisation, schedule, data,
/// output files, backend (and reporting, sweeps); `eval --help` has the data and backend ones.
#[test]
fn help_groups_flags_under_headings() {
    let out = gpu_mlp(&["train", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    // The heading each flag's line falls under.
    let heading_of = |flag: &str| -> Option<String> {
        let mut heading = None;
        for line in help.lines() {
            if !line.starts_with(' ') && line.ends_with(':') {
                heading = Some(line.trim_end_matches(':').to_string());
            }
            let trimmed = line.trim_start();
            if trimmed.starts_with(&format!("{flag} ")) || trimmed == flag {
                return heading;
            }
        }
        None
    };
    let expect = [
        ("--layers", "Network"),
        ("--cost", "Network"),
        ("--eta", "Optimisation"),
        ("--lambda", "Optimisation"),
        ("--batch-size", "Optimisation"),
        ("--epochs", "Schedule"),
        ("--schedule", "Schedule"),
        ("--early-stop", "Schedule"),
        ("--train-size", "Data"),
        ("--data-dir", "Data"),
        ("--save", "Output files"),
        ("--metrics", "Output files"),
        ("--resume", "Output files"),
        ("--backend", "Backend"),
        ("--threads", "Backend"),
        ("--monitor", "Reporting"),
        ("--shard", "Sweeps"),
    ];
    for (flag, heading) in expect {
        assert_eq!(
            heading_of(flag).as_deref(),
            Some(heading),
            "{flag} in train --help:\n{help}"
        );
    }
    let out = gpu_mlp(&["eval", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("\nData:\n") && help.contains("\nBackend:\n"),
        "{help}"
    );
}

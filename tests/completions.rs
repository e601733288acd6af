//! `gpu-mlp completions SHELL`: scripts that the shells accept and that know the subcommands
//! and flags; and `--help` lists the exit codes.

use std::process::Command;

fn completions(shell: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_gpu-mlp"))
        .args(["completions", shell])
        .output()
        .unwrap();
    assert!(out.status.success(), "{shell}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn bash_completion_is_valid_bash_and_knows_every_subcommand() {
    let script = completions("bash");
    for word in [
        "train",
        "eval",
        "plot",
        "predict",
        "download",
        "export",
        "show-weights",
        "completions",
        "--log-format",
        "--confusion",
        "--onnx",
    ] {
        assert!(script.contains(word), "{word} missing");
    }
    // bash -n parses without running; bash is part of every Debian system.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gpu-mlp.bash");
    std::fs::write(&path, &script).unwrap();
    let check = Command::new("bash").arg("-n").arg(&path).output().unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn zsh_and_fish_completions_name_the_commands() {
    let zsh = completions("zsh");
    assert!(
        zsh.starts_with("#compdef gpu-mlp"),
        "{}",
        &zsh[..40.min(zsh.len())]
    );
    assert!(zsh.contains("'download:") && zsh.contains("fashion-mnist"));
    let fish = completions("fish");
    assert!(fish.contains("complete -c gpu-mlp") && fish.contains("show-weights"));
}

#[test]
fn help_documents_exit_codes() {
    let out = Command::new(env!("CARGO_BIN_EXE_gpu-mlp"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for code in [
        "0  success",
        "2  bad flag",
        "3  unreadable",
        "5  GPU problem",
    ] {
        assert!(help.contains(code), "{code} missing from --help");
    }
}

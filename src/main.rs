//! The `gpu-mlp` binary: parse the command line, run it, turn an error into one line on stderr
//! and the exit code documented in `--help`.

use clap::Parser;
use gpu_mlp::cli::Cli;
use gpu_mlp::Error;

/// The status a shell reports for a process that SIGPIPE ended (128 + 13): what `gpu-mlp`
/// exits with when its stdout is closed early (`gpu-mlp train … | head -1`).
const BROKEN_PIPE_EXIT: i32 = 141;

fn main() {
    // Negative numbers after a flag (`--eta -1`) are joined to it, so that they reach the
    // range checks rather than being taken for unknown flags.
    let args = gpu_mlp::cli::values::join_negative_values(std::env::args_os());
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => match gpu_mlp::cli::one_line_usage_error(&e) {
            // --help and --version print as clap prints them.
            None => e.exit(),
            Some(line) => {
                eprintln!("error: {line}");
                std::process::exit(e.exit_code());
            }
        },
    };
    // Rust ignores SIGPIPE, so `println!` to a closed pipe panics; that panic is taken as the
    // reader having had enough: no message, the command unwinds (its locks and temporary files
    // are cleaned up as on any other return) and the process exits 141.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !is_broken_pipe(info.payload()) {
            default_hook(info);
        }
    }));
    // Before wgpu (or any thread) starts: a private XDG_RUNTIME_DIR where there is none, so
    // that Mesa's drivers do not complain about it; removed when `runtime_dir` drops.
    let runtime_dir = gpu_mlp::runtime_dir::ensure();
    let run = std::panic::AssertUnwindSafe(|| gpu_mlp::commands::run(cli));
    let code = match std::panic::catch_unwind(run) {
        Ok(Ok(())) => 0,
        // Its message (what was saved, how to resume) is not an error's.
        Ok(Err(e @ Error::Interrupted { .. })) => {
            eprintln!("{e}");
            e.exit_code()
        }
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
        Err(payload) if is_broken_pipe(payload.as_ref()) => BROKEN_PIPE_EXIT,
        Err(payload) => {
            drop(runtime_dir);
            std::panic::resume_unwind(payload)
        }
    };
    drop(runtime_dir);
    std::process::exit(code);
}

/// True for the panic `println!` raises when stdout is a pipe whose reader has gone.
fn is_broken_pipe(payload: &(dyn std::any::Any + Send)) -> bool {
    let text = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("");
    text.starts_with("failed printing to stdout") && text.contains("Broken pipe")
}

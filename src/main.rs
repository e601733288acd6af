//! The `gpu-mlp` binary: parse the command line, run it, turn an error into one line on stderr
//! and the exit code documented in `--help`.

use clap::Parser;
use gpu_mlp::cli::Cli;

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
    if let Err(e) = gpu_mlp::commands::run(cli) {
        eprintln!("error: {e}");
        std::process::exit(e.exit_code());
    }
}

//! The `gpu-mlp` binary: parse the command line, run it, turn an error into one line on stderr
//! and the exit code documented in `--help`.

use clap::Parser;
use gpu_mlp::cli::Cli;

fn main() {
    let cli = match Cli::try_parse() {
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
